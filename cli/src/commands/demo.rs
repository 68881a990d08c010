//! `tessera demo`: the whole story on one machine, over real libp2p nodes on loopback.
//!
//! For each suite: n + 1 nodes start with fresh Ed25519 identities on 127.0.0.1 (TCP, noise,
//! yamux) and allow one another; the first n run the distributed key generation and certify
//! the key (design §3.1); t of them sign a message (design §3.2); a standard verifier checks
//! the signature; t old parties reshare the key to a new committee (parties 2..n and the
//! new node) with a new threshold (design §3.3); t' of the new committee sign again under the
//! unchanged key, and the standard verifier checks it. Every step runs the sans-IO protocols
//! through `tessera-p2p`'s session layer and driver, exactly as separate devices would.

use std::{sync::Arc, time::Instant};

use crate::device::jobs::{identities, Device, Served};
use rand_core::{Rng, UnwrapErr};
use serde_json::{json, Value};
use tessera_core::{Ciphersuite, Ed25519, Secp256k1, Suite, Taproot};
use tessera_p2p::{accept_all, NodeConfig, PeerId};
use tessera_reshare::Committed;

use crate::output::{Output, FAILED, OK, USAGE};

/// Arguments of `tessera demo`.
#[derive(clap::Args)]
pub struct Args {
    /// ed25519, secp256k1, taproot, or all.
    #[arg(long, default_value = "all")]
    suite: String,
    /// Number of parties n of the first committee.
    #[arg(long, default_value_t = 5)]
    parties: u16,
    /// Threshold t (signers needed).
    #[arg(long, default_value_t = 3)]
    threshold: u16,
}

type Rng64 = UnwrapErr<getrandom::SysRng>;

/// Prints one step as soon as it is done (progress while the nodes work). With `--json`, the
/// step's structured `fields` (hex values) join `suite`, `step`, `ok`, `ms` and `detail`.
fn report(
    out: &Output,
    suite: Suite,
    name: &str,
    ok: bool,
    detail: &str,
    started: Instant,
    fields: Value,
) {
    let millis = started.elapsed().as_secs_f64() * 1000.0;
    out.line(
        || {
            format!(
                "[{:9}] {:9} {:4} {:8.2} ms  {}",
                suite.name(),
                name,
                if ok { "ok" } else { "FAIL" },
                millis,
                detail
            )
        },
        || {
            let mut v = json!({ "suite": suite.name(), "step": name, "ok": ok, "ms": millis, "detail": detail });
            if let (Some(v), Value::Object(extra)) = (v.as_object_mut(), fields) {
                v.extend(extra);
            }
            v
        },
    );
}

/// Most parties the demo runs (n + 1 nodes in one process).
const MAX_PARTIES: u16 = 100;

/// Runs the demo; returns the exit code.
pub fn run(args: &Args, out: &Output) -> u8 {
    let suites: Vec<Suite> = if args.suite == "all" {
        Suite::ALL.to_vec()
    } else {
        match args.suite.parse() {
            Ok(s) => vec![s],
            Err(e) => return out.error(USAGE, &format!("{e} (or all)")),
        }
    };
    let (t, n) = (args.threshold, args.parties);
    if let Err(e) = tessera_core::keys::check_threshold(t.into(), n.into()) {
        return out.error(USAGE, &e.to_string());
    }
    if n > MAX_PARTIES {
        return out.error(
            USAGE,
            &format!("the demo runs at most {MAX_PARTIES} parties"),
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return out.error(FAILED, &format!("cannot start the runtime: {e}")),
    };
    let mut all_ok = true;
    for suite in suites {
        all_ok &= runtime.block_on(async {
            match suite {
                Suite::Ed25519 => story::<Ed25519>(t, n, out).await,
                Suite::Secp256k1 => story::<Secp256k1>(t, n, out).await,
                Suite::Taproot => story::<Taproot>(t, n, out).await,
            }
        });
    }
    if all_ok {
        OK
    } else {
        FAILED
    }
}

/// The new committee and threshold of the reshare: parties 2..n and the new node, with t + 1
/// (or t - 1 when t = n, or t when neither is possible).
fn new_shape(t: u16, n: u16) -> u16 {
    if t < n {
        t + 1
    } else if t > 2 {
        t - 1
    } else {
        t
    }
}

/// Picks `k` distinct entries of `from` at random.
fn pick(from: &[PeerId], k: u16, rng: &mut Rng64) -> Vec<PeerId> {
    let mut v = from.to_vec();
    for i in (1..v.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        v.swap(i, j);
    }
    v.truncate(usize::from(k));
    v
}

/// Collects what `k` serving devices report, one line of failure if any failed.
async fn served<C: Ciphersuite>(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(usize, Result<Served<C>, String>)>,
    k: usize,
) -> Result<Vec<(usize, Served<C>)>, String> {
    let mut out = Vec::with_capacity(k);
    for _ in 0..k {
        match rx.recv().await {
            Some((i, Ok(s))) => out.push((i, s)),
            Some((i, Err(e))) => return Err(format!("node {i}: {e}")),
            None => return Err("the serving nodes stopped".into()),
        }
    }
    Ok(out)
}

/// The story for one suite; true if every step passed.
async fn story<C: Ciphersuite>(t: u16, n: u16, out: &Output) -> bool {
    let mut all_ok = true;
    let mut step = |name, ok: bool, detail: String, started: Instant, fields: Value| {
        report(out, C::SUITE, name, ok, &detail, started, fields);
        all_ok &= ok;
        ok
    };
    let mut rng: Rng64 = UnwrapErr(getrandom::SysRng);
    let message = b"tessera demo: pay 0.1 to the cold wallet".to_vec();

    // Nodes: n for the first committee and one that joins at the reshare.
    let started = Instant::now();
    let mut devices: Vec<Arc<Device<C>>> = Vec::new();
    for _ in 0..=n {
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let device = match identities(&seed) {
            Ok((keypair, identity)) => {
                Device::start(NodeConfig::new(keypair, accept_all()), identity).await
            }
            Err(e) => Err(e),
        };
        match device {
            Ok(d) => devices.push(Arc::new(d)),
            Err(e) => {
                step("nodes", false, e.to_string(), started, json!({}));
                return false;
            }
        }
    }
    for a in &devices {
        for b in &devices {
            if a.node().peer_id() != b.node().peer_id() {
                a.node()
                    .allow(b.node().peer_id(), b.node().addresses().to_vec());
            }
        }
    }
    let peers: Vec<PeerId> = devices.iter().map(|d| d.node().peer_id()).collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for (i, d) in devices.iter().enumerate().skip(1) {
        let (d, tx) = (d.clone(), tx.clone());
        tokio::spawn(async move {
            while let Some(r) = d.serve_next().await {
                if tx.send((i, r.map_err(|e| e.to_string()))).is_err() {
                    break;
                }
            }
        });
    }
    step(
        "nodes",
        true,
        format!(
            "{} nodes on 127.0.0.1 (TCP, noise, yamux), fresh Ed25519 identities",
            n + 1
        ),
        started,
        json!({}),
    );

    // Keygen, initiated by node 0.
    let started = Instant::now();
    let committee = peers[..usize::from(n)].to_vec();
    let share = match devices[0].keygen(committee, t).await {
        Ok(s) => s,
        Err(e) => {
            step("keygen", false, e.to_string(), started, json!({}));
            return false;
        }
    };
    let others = served(&mut rx, usize::from(n) - 1).await;
    let group_key = *share.key_package().public().group_key();
    let same = others.as_ref().is_ok_and(|v| {
        v.iter().all(|(_, s)| {
            matches!(s, Served::Keygen(k) if k.key_package().public().group_key() == &group_key)
        })
    });
    let group_key_hex = hex::encode(
        C::serialize_point(&group_key)
            .map(|b| b.as_ref().to_vec())
            .unwrap_or_default(),
    );
    let detail = match &others {
        Err(e) => e.clone(),
        Ok(_) if !same => "the nodes ended with different keys".into(),
        Ok(_) => format!("{t}-of-{n} DKG certified by all {n}, group key {group_key_hex}"),
    };
    if !step(
        "keygen",
        same,
        detail,
        started,
        json!({ "group_key": group_key_hex }),
    ) {
        return false;
    }

    // Sign with t of the first committee (node 0 among them, as the initiator).
    let mut signers = vec![peers[0]];
    signers.extend(pick(&peers[1..usize::from(n)], t - 1, &mut rng));
    let Some(key) = sign_and_verify(
        &mut step,
        &devices[0],
        share.key_id(),
        signers,
        &message,
        &mut rx,
        "sign",
        "verify",
    )
    .await
    else {
        return false;
    };

    // Reshare: the first t parties deal to parties 2..n and the new node, threshold t'.
    let started = Instant::now();
    let t2 = new_shape(t, n);
    let dealers = peers[..usize::from(t)].to_vec();
    let new_committee = peers[1..].to_vec();
    let reshared = devices[0]
        .reshare(share.key_id(), &dealers, &new_committee, t2)
        .await;
    let others = served(&mut rx, new_committee.len()).await;
    let ok = matches!(reshared, Ok((Committed::Retired, _)))
        && others.as_ref().is_ok_and(|v| {
            v.iter()
                .all(|(_, s)| matches!(s, Served::Reshare(Committed::Activated(1), _)))
        });
    let detail = match (&reshared, &others) {
        (Err(e), _) => e.to_string(),
        (_, Err(e)) => e.clone(),
        _ if !ok => "not every node moved to epoch 1".into(),
        _ => format!(
            "{t} dealers → {t2}-of-{} (nodes 2..{} and the new node {}), epoch 1 certified by \
             all; node 1 retired",
            new_committee.len(),
            n,
            n + 1
        ),
    };
    if !step("reshare", ok, detail, started, json!({})) {
        return false;
    }

    // The new committee signs under the unchanged key (the new node initiates).
    let new_share = match devices[usize::from(n)].share_by_group_key(&group_key) {
        Some(s) => s,
        None => {
            step(
                "sign",
                false,
                "the new node holds no share".into(),
                Instant::now(),
                json!({}),
            );
            return false;
        }
    };
    let mut signers = vec![peers[usize::from(n)]];
    signers.extend(pick(&peers[1..usize::from(n)], t2 - 1, &mut rng));
    let Some(key2) = sign_and_verify(
        &mut step,
        &devices[usize::from(n)],
        new_share.key_id(),
        signers,
        &message,
        &mut rx,
        "sign-e1",
        "verify-e1",
    )
    .await
    else {
        return false;
    };
    step(
        "same-key",
        key == key2,
        "both signatures verify under one public key".into(),
        Instant::now(),
        json!({ "verifying_key": hex::encode(&key2) }),
    );
    all_ok
}

/// One signing session from `initiator` and the standard verification of its signature;
/// returns the key it verifies under.
#[allow(clippy::too_many_arguments)]
async fn sign_and_verify<C: Ciphersuite>(
    step: &mut impl FnMut(&'static str, bool, String, Instant, Value) -> bool,
    initiator: &Device<C>,
    key_id: &[u8; 32],
    signers: Vec<PeerId>,
    message: &[u8],
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(usize, Result<Served<C>, String>)>,
    sign_name: &'static str,
    verify_name: &'static str,
) -> Option<Vec<u8>> {
    let started = Instant::now();
    let k = signers.len();
    let out = match initiator.sign(key_id, signers, message).await {
        Ok(o) => o,
        Err(e) => {
            step(sign_name, false, e.to_string(), started, json!({}));
            return None;
        }
    };
    let others = served(rx, k - 1).await;
    let signature = out.signature.to_bytes().unwrap_or_default();
    let key = C::serialize_verifying_key(&out.output_key).unwrap_or_default();
    let ok = others.is_ok();
    let detail = match &others {
        Err(e) => e.clone(),
        Ok(_) => format!("{k} signers: {}", hex::encode(&signature)),
    };
    let fields = json!({
        "message": hex::encode(message),
        "signature": hex::encode(&signature),
        "verifying_key": hex::encode(&key),
    });
    if !step(sign_name, ok, detail, started, fields.clone()) {
        return None;
    }
    let started = Instant::now();
    let (ok, verifier) = standard_verify(C::SUITE, &key, message, &signature);
    step(
        verify_name,
        ok,
        format!("{verifier}, key {}", hex::encode(&key)),
        started,
        fields,
    );
    ok.then_some(key)
}

/// Verifies with a verifier that is not tessera's own where one exists.
fn standard_verify(suite: Suite, key: &[u8], msg: &[u8], sig: &[u8]) -> (bool, &'static str) {
    match suite {
        Suite::Ed25519 => {
            let ok = <[u8; 32]>::try_from(key)
                .ok()
                .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok())
                .zip(ed25519_dalek::Signature::from_slice(sig).ok())
                .is_some_and(|(k, s)| k.verify_strict(msg, &s).is_ok());
            (ok, "ed25519-dalek verify_strict (RFC 8032)")
        }
        Suite::Taproot => {
            let ok = k256::schnorr::VerifyingKey::from_slice(key)
                .ok()
                .zip(k256::schnorr::Signature::try_from(sig).ok())
                .is_some_and(|(k, s)| k.verify_raw(msg, &s).is_ok());
            (ok, "k256 BIP-340 verifier, BIP-86 output key")
        }
        Suite::Secp256k1 => (
            tessera_sign::verify_bytes(suite, key, msg, sig).is_ok(),
            "RFC 9591 verification (no external verifier exists for this encoding)",
        ),
    }
}
