//! `tessera keys list|show|xpub|derive|resolve`: the keys this device holds a share of, from their public files
//! only (design §5): nothing is decrypted and no passphrase is asked. An address is shown only
//! for an active key (design §3.1 step 4).

use crate::device::jobs::peer_of;
use serde_json::{json, Value};

use super::{Context, Failure};
use crate::{
    device::{
        address::{address, verifying_key, Network},
        peers::Peers,
        Epoch, Keystore,
    },
    output::Output,
};

/// `tessera keys …`
#[derive(clap::Subcommand)]
pub enum Command {
    /// One line per key: name, suite, threshold, epoch and state.
    List,
    /// Everything about one key: committee, epochs, group key, key id, fingerprint, address.
    Show {
        /// The key's name.
        name: String,
        /// The Bitcoin network of a taproot key's address.
        #[arg(long, value_enum, default_value = "mainnet")]
        network: Network,
    },
    /// A taproot key's extended public key (the internal key P and the DKG's chain code) and
    /// a Taproot descriptor for a watch-only wallet.
    Xpub {
        /// The key's name.
        name: String,
        /// The Bitcoin network (xpub or tpub).
        #[arg(long, value_enum, default_value = "mainnet")]
        network: Network,
    },
    /// A taproot key's child at an unhardened BIP-32 path (e.g. m/0/5): its internal key and
    /// its BIP-86 address, as a watch-only wallet derives them from the xpub.
    Derive {
        /// The key's name.
        name: String,
        /// The path, m/i/j/… with every i below 2^31.
        path: String,
        /// The Bitcoin network of the address.
        #[arg(long, value_enum, default_value = "mainnet")]
        network: Network,
    },
    /// The operator's way out of a transition that will never complete: give up this
    /// device's pending epoch (its staged share is erased) and its dealing mark, so another
    /// reshare can run; epoch 0 drops a keygen whose certificate never came. Only when it
    /// completed nowhere, or this device's new share is not needed.
    Resolve {
        /// The key's name.
        name: String,
        /// The pending epoch to give up.
        #[arg(long, value_name = "EPOCH")]
        abandon: u64,
    },
}

/// The active epoch of key `name`, from its public files.
fn active(keys: &Keystore, name: &str) -> Result<Epoch, Failure> {
    if !keys.exists(name) {
        return Err(Failure::usage(format!(
            "unknown key {name:?} (see `tessera keys list`)"
        )));
    }
    keys.epochs(name)?
        .into_iter()
        .rev()
        .find(Epoch::is_active)
        .ok_or_else(|| Failure::usage(format!("key {name:?} is not active yet")))
}

/// The state word of an epoch.
fn state(e: &Epoch) -> &'static str {
    if e.is_active() {
        "active"
    } else {
        "pending"
    }
}

/// The epoch to describe a key by: its newest active one, else its newest.
fn current(epochs: &[Epoch]) -> Option<&Epoch> {
    epochs
        .iter()
        .rev()
        .find(|e| e.is_active())
        .or(epochs.last())
}

/// A key as JSON: its current epoch's public data, the committee by local names, every
/// epoch's state, and, if active, the key signatures verify under and its address.
pub fn describe(
    name: &str,
    epochs: &[Epoch],
    peers: &Peers,
    network: Network,
) -> Result<Value, Failure> {
    let e = current(epochs).ok_or_else(|| Failure::usage(format!("key {name:?} has no epoch")))?;
    let p = &e.public;
    // This device holds the roster position of its share's identifier.
    let mine = usize::from(p.identifier).checked_sub(1);
    let committee: Vec<Value> = p
        .roster
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let peer = peer_of(k).map(|p| p.to_string()).unwrap_or_default();
            let local = if Some(i) == mine {
                Some("this device".to_string())
            } else {
                peer_of(k).and_then(|id| peers.name_of(&id).map(str::to_string))
            };
            json!({ "name": local, "peer_id": peer })
        })
        .collect();
    let mut v = json!({
        "name": name,
        "suite": p.suite,
        "threshold": p.threshold,
        "parties": p.roster.len(),
        "epoch": e.epoch,
        "state": state(e),
        "epochs": epochs.iter().map(|e| json!({ "epoch": e.epoch, "state": state(e) })).collect::<Vec<_>>(),
        "group_key": hex::encode(&p.group_key),
        "key_id": hex::encode(p.key_id),
        "fingerprint": p.fingerprint,
        "identifier": p.identifier,
        "committee": committee,
    });
    if e.is_active() {
        let bad = |err: crate::device::address::AddressError| Failure::usage(err.to_string());
        v["verifying_key"] =
            hex::encode(verifying_key(p.suite, &p.group_key, &p.chain_code).map_err(bad)?).into();
        v["address"] = address(p.suite, &p.group_key, network).map_err(bad)?.into();
    }
    Ok(v)
}

/// Runs `tessera keys …`.
pub fn run(command: &Command, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    let keys = Keystore::new(home.root());
    let peers = Peers::load(home.root())?;
    match command {
        Command::List => {
            let mut all = Vec::new();
            for name in keys.names()? {
                all.push(describe(
                    &name,
                    &keys.epochs(&name)?,
                    &peers,
                    Network::Mainnet,
                )?);
            }
            out.line(
                || {
                    if all.is_empty() {
                        return "no keys (create one with tessera keygen)".into();
                    }
                    all.iter()
                        .map(|k| {
                            format!(
                                "{}  {}  {}-of-{}  epoch {} {}",
                                k["name"].as_str().unwrap_or_default(),
                                k["suite"].as_str().unwrap_or_default(),
                                k["threshold"],
                                k["parties"],
                                k["epoch"],
                                k["state"].as_str().unwrap_or_default()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                },
                || json!({ "keys": all }),
            );
        }
        Command::Show { name, network } => {
            if !keys.exists(name) {
                return Err(Failure::usage(format!(
                    "unknown key {name:?} (see `tessera keys list`)"
                )));
            }
            let v = describe(name, &keys.epochs(name)?, &peers, *network)?;
            out.line(|| text(&v), || v.clone());
        }
        Command::Xpub { name, network } => {
            let e = active(&keys, name)?;
            let p = &e.public;
            let x = crate::device::address::xpub(p.suite, &p.group_key, &p.chain_code, *network)
                .map_err(|err| Failure::usage(err.to_string()))?;
            let descriptor = |chain| {
                crate::device::address::descriptor(&x, chain)
                    .map_err(|err| Failure::usage(err.to_string()))
            };
            let (receive, change) = (descriptor(0)?, descriptor(1)?);
            out.line(
                || format!("xpub        {x}\ndescriptor  {receive}\nchange      {change}"),
                || json!({ "name": name, "xpub": x.to_string(), "descriptor": receive, "change_descriptor": change }),
            );
        }
        Command::Derive {
            name,
            path,
            network,
        } => {
            let e = active(&keys, name)?;
            let p = &e.public;
            let indexes = crate::device::control::parse_path(path)
                .map_err(|err| Failure::usage(err.to_string()))?;
            let (internal, address) = crate::device::address::derive(
                p.suite,
                &p.group_key,
                &p.chain_code,
                &indexes,
                *network,
            )
            .map_err(|err| Failure::usage(err.to_string()))?;
            out.line(
                || format!("path          {path}\ninternal key  {internal}\naddress       {address}"),
                || json!({ "name": name, "path": path, "internal_key": internal.to_string(), "address": address }),
            );
        }
        Command::Resolve { name, abandon } => {
            if !keys.exists(name) {
                return Err(Failure::usage(format!(
                    "unknown key {name:?} (see `tessera keys list`)"
                )));
            }
            let request = crate::device::control::Request::Abandon {
                key: name.clone(),
                epoch: *abandon,
            };
            let v = super::dispatch(ctx, &home, &request, out)?;
            out.line(
                || format!("{name}: the transition to epoch {abandon} is abandoned"),
                || v.clone(),
            );
        }
    }
    Ok(())
}

/// `keys show` for humans.
pub fn text(v: &Value) -> String {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let mut lines = vec![
        format!("key          {}", s("name")),
        format!("suite        {}", s("suite")),
        format!("threshold    {}-of-{}", v["threshold"], v["parties"]),
        format!("epoch        {} ({})", v["epoch"], s("state")),
        format!("group key    {}", s("group_key")),
        format!("key id       {}", s("key_id")),
        format!("fingerprint  {}", s("fingerprint")),
    ];
    if let Some(a) = v["address"].as_str() {
        lines.push(format!("address      {a}"));
        lines.push(format!("verifies     {}", s("verifying_key")));
    } else {
        lines.push("address      (none until the key is active)".into());
    }
    lines.push("committee".into());
    for (i, m) in v["committee"].as_array().into_iter().flatten().enumerate() {
        let local = m["name"].as_str().unwrap_or("(unknown peer)");
        lines.push(format!(
            "  {}  {local}  {}",
            i + 1,
            m["peer_id"].as_str().unwrap_or_default()
        ));
    }
    for e in v["epochs"].as_array().into_iter().flatten() {
        lines.push(format!(
            "epoch {} {}",
            e["epoch"],
            e["state"].as_str().unwrap_or_default()
        ));
    }
    lines.join("\n")
}
