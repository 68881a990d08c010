//! `tessera node`: serve the sessions known peers propose (design §4, §6). One node per
//! home; while it runs, the other commands hand it their work over the control socket, and
//! proposals that need a person are shown here and decided here (`y ID` / `n ID`) or with
//! `tessera approve`.

use std::{collections::HashSet, io::BufRead, sync::Arc, time::Duration};

use serde_json::json;

use super::{Context, Failure};
use crate::{
    device::{
        address::Network,
        approval::{Request, Rules, SpendRule},
        control,
        node::{NodeFailure, Options, Runtime},
        Home, Keystore,
    },
    output::Output,
};

/// What may be approved without a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Auto {
    /// Keygen proposals (no funds are at risk until a key is funded).
    Keygen,
}

/// Arguments of `tessera node`.
#[derive(clap::Args)]
pub struct Args {
    /// Listen on these addresses instead of the home's (repeatable).
    #[arg(long, value_name = "MULTIADDR")]
    listen: Vec<String>,
    /// Approve these proposals without asking (signing is approved automatically only under
    /// the home's policy.json; a reshare never is).
    #[arg(long, value_enum)]
    auto_approve: Vec<Auto>,
    /// Allow signing raw messages at all (blind signing). Each still needs a person or the
    /// policy file.
    #[arg(long)]
    allow_blind_signing: bool,
    /// Join, by a reshare, only the key with this group key (hex, as `tessera keys show`
    /// prints it on a device that holds it; repeatable). Each reshare is still approved by a
    /// person; a proposal to join any other key is refused.
    #[arg(long, value_name = "HEX")]
    expect_key: Vec<String>,
    /// Seconds a proposal waits for a person before it expires.
    #[arg(long, default_value_t = 600)]
    approval_timeout: u64,
    /// The Bitcoin network this device signs PSBTs for; a PSBT proposed for another is
    /// refused.
    #[arg(long, value_enum, default_value = "mainnet")]
    network: Network,
    /// Serve Prometheus metrics at http://ADDR/metrics (for example 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<std::net::SocketAddr>,
}

/// The options of a node: the rules from flags and the home's policy file.
pub fn options(
    home: &Home,
    auto_keygen: bool,
    blind: bool,
    ttl: u64,
    listen: &[String],
) -> Result<Options, Failure> {
    let (auto_sign_keys, spend) = policy(home)?;
    Ok(Options {
        listen: super::multiaddrs(listen)?,
        rules: Rules {
            auto_keygen,
            blind_signing: blind,
            auto_sign_keys,
            expect_keys: Vec::new(),
            spend,
        },
        approval_ttl: Duration::from_secs(ttl),
        limits: Default::default(),
        skip_damaged: None,
        network: Network::Mainnet,
        metrics: None,
    })
}

/// What the home's `policy.json` approves without a person (design §6.2):
///
/// ```json
/// {"sign": {"keys": [NAME, …]},
///  "spend": [{"key": NAME, "allow": [ADDRESS, …], "max_per_tx": SAT, "max_per_day": SAT}, …]}
/// ```
///
/// `sign.keys`: keys whose raw-message signing is approved (with `--allow-blind-signing`);
/// `spend`: keys whose PSBTs paying only allow-listed addresses within the limits are.
/// Both are optional. Returns the raw-signing key ids and the spend rules.
fn policy(home: &Home) -> Result<(Vec<String>, Vec<SpendRule>), Failure> {
    let path = home.path("policy.json");
    if !path.exists() {
        return Ok((Vec::new(), Vec::new()));
    }
    let bad = |what: &str| {
        Failure::usage(format!(
            "{}: {what} (expected {{\"sign\": {{\"keys\": [NAME, …]}}, \"spend\": [{{\"key\": NAME, \"allow\": [ADDRESS, …], \"max_per_tx\": SAT, \"max_per_day\": SAT}}]}})",
            path.display()
        ))
    };
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).map_err(|e| bad(&e.to_string()))?)
            .map_err(|e| bad(&e.to_string()))?;
    let keys = Keystore::new(home.root());
    let key_ids = |name: &str| -> Result<Vec<String>, Failure> {
        Ok(keys
            .epochs(name)
            .map_err(|_| Failure::usage(format!("{}: unknown key {name:?}", path.display())))?
            .iter()
            .map(|e| hex::encode(e.public.key_id))
            .collect())
    };
    let mut ids = Vec::new();
    let mut raw_keys = Vec::new();
    if let Some(names) = v.get("sign").map(|s| {
        s["keys"]
            .as_array()
            .ok_or_else(|| bad("sign.keys is not a list"))
    }) {
        for name in names? {
            let name = name
                .as_str()
                .ok_or_else(|| bad("a key name is not a string"))?;
            ids.extend(key_ids(name)?);
            raw_keys.push(name);
        }
    }
    let mut rules = Vec::new();
    if let Some(spend) = v.get("spend") {
        for rule in spend.as_array().ok_or_else(|| bad("spend is not a list"))? {
            let key = rule["key"]
                .as_str()
                .ok_or_else(|| bad("a spend rule has no key"))?;
            // Raw signing of a key would sign any sighash without reading the transaction.
            if raw_keys.contains(&key) {
                return Err(bad(&format!(
                    "key {key:?} is in sign.keys and has a spend rule: raw signing would bypass the rule"
                )));
            }
            let allow = rule["allow"]
                .as_array()
                .ok_or_else(|| bad("a spend rule has no allow list"))?
                .iter()
                .map(|a| a.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad("an allowed address is not a string"))?;
            let limit = |field: &str| {
                rule[field]
                    .as_u64()
                    .ok_or_else(|| bad(&format!("a spend rule has no {field} (satoshi)")))
            };
            rules.push(SpendRule {
                key: key.to_string(),
                key_ids: key_ids(key)?,
                allow,
                max_per_tx: limit("max_per_tx")?,
                max_per_day: limit("max_per_day")?,
            });
        }
    }
    Ok((ids, rules))
}

/// A failure of the node as the command's.
pub fn failure(e: NodeFailure) -> Failure {
    Failure {
        code: control::code_of(&e),
        message: e.to_string(),
    }
}

/// A request as the node's terminal and `approve --list` show it.
pub fn show(r: &Request) -> String {
    let name =
        |m: &crate::device::approval::Member| m.name.clone().unwrap_or_else(|| m.peer_id.clone());
    let committee: Vec<String> = r.committee.iter().map(name).collect();
    let mut text = format!(
        "approval {}: {} of key {} (epoch {}) proposed by {}; committee {}",
        r.id,
        r.protocol,
        r.key.as_deref().unwrap_or("(new)"),
        r.epoch,
        name(&r.initiator),
        committee.join(", ")
    );
    if let Some(t) = r.threshold {
        text.push_str(&format!("; threshold {t}"));
    }
    if let Some(f) = &r.fingerprint {
        text.push_str(&format!("; fingerprint {f}"));
    }
    if let Some(p) = &r.path {
        text.push_str(&format!("; child key {p}"));
    }
    if let (true, Some(lost)) = (r.protocol == "repair", r.committee.last()) {
        text.push_str(&format!("; the repaired share goes to {}", name(lost)));
    }
    if let Some(k) = &r.group_key {
        text.push_str(&format!("; group key {k}"));
    }
    if let Some(tx) = &r.transaction {
        for line in crate::device::transaction::lines(tx) {
            text.push_str(&format!("\n  {line}"));
        }
    } else if let (Some(m), Some(h)) = (&r.message, &r.message_sha256) {
        text.push_str(&format!("; message {m} (sha256 {h})"));
    }
    text.push_str(&format!(
        "\n  approve: y {0} (or tessera approve {0}); refuse: n {0}",
        r.id
    ));
    text
}

/// Runs `tessera node`.
pub fn run(args: &Args, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    let mut opts = options(
        &home,
        args.auto_approve.contains(&Auto::Keygen),
        args.allow_blind_signing,
        args.approval_timeout,
        &args.listen,
    )?;
    for key in &args.expect_key {
        if hex::decode(key).is_err() {
            return Err(Failure::usage(format!("--expect-key {key:?} is not hex")));
        }
    }
    opts.rules.expect_keys = args.expect_key.clone();
    opts.network = args.network;
    let exporter = args.metrics.map(|_| {
        let (exporter, metrics) = crate::device::metrics::Exporter::new();
        opts.metrics = Some(metrics);
        Arc::new(exporter)
    });
    let passphrase = ctx.passphrase("Passphrase: ", false)?;
    let rt = super::runtime()?;
    rt.block_on(async {
        let runtime = Arc::new(Runtime::start(home, passphrase.as_bytes(), opts).await.map_err(failure)?);
        if let (Some(exporter), Some(at)) = (exporter, args.metrics) {
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .map_err(|e| Failure::usage(format!("metrics address {at}: {e}")))?;
            tokio::spawn(exporter.serve(listener, runtime.clone()));
        }
        drop(passphrase);
        // The control socket first: once "ready" is printed, commands reach this node.
        let listener = control::bind(runtime.home().root())?;
        tokio::spawn(control::serve(listener, runtime.clone()));
        let addresses: Vec<String> = runtime.addresses().iter().map(|a| a.to_string()).collect();
        out.line(
            || format!("node {} listening on {}\nready", runtime.peer_id(), addresses.join(", ")),
            || json!({ "peer_id": runtime.peer_id().to_string(), "addresses": addresses, "ready": true }),
        );
        tokio::spawn(runtime.clone().serve());
        // Decisions typed at this terminal: `y ID` or `n ID`.
        let typed = runtime.clone();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines().map_while(Result::ok) {
                let mut words = line.split_whitespace();
                let decision = match words.next() {
                    Some("y" | "yes") => true,
                    Some("n" | "no") => false,
                    _ => continue,
                };
                if let Some(id) = words.next() {
                    match typed.resolve(id, decision) {
                        Ok(_) => eprintln!("{} {id}", if decision { "approved" } else { "refused" }),
                        Err(e) => eprintln!("error: {e}"),
                    }
                }
            }
        });
        let mut shown = HashSet::new();
        let mut tick = tokio::time::interval(Duration::from_millis(300));
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| Failure::usage(format!("signals: {e}")))?;
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    for r in runtime.waiting() {
                        if shown.insert(r.id.clone()) {
                            out.line(|| show(&r), || json!({ "approval": r }));
                        }
                    }
                }
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => break,
            }
        }
        let _ = std::fs::remove_file(control::socket_path(runtime.home().root()));
        Ok(())
    })
}
