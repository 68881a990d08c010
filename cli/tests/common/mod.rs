//! Shared helpers for the device tests over real nodes: devices on 127.0.0.1 that know each
//! other, serve loops, a standard verifier; the raw peer lives in `tessera_p2p::testing`.
#![allow(dead_code)]

pub mod homes;
pub mod wallet;

use std::{sync::Arc, time::Duration};

use libp2p::PeerId;
use tessera_cli::device::jobs::{identities, Device, JobError, Served};
use tessera_core::{Ciphersuite, Suite};
use tessera_p2p::{accept_all, Limits, NodeConfig};
use tokio::sync::mpsc;

#[allow(unused_imports)]
pub use tessera_p2p::testing::{quick_limits, start_of, RawPeer};

/// A device with identity seed `seed`.
pub async fn device<C: Ciphersuite>(seed: u8, limits: Limits) -> Arc<Device<C>> {
    let (keypair, identity) = identities(&[seed; 32]).unwrap();
    let mut config = NodeConfig::new(keypair, accept_all());
    config.limits = limits;
    Arc::new(Device::start(config, identity).await.unwrap())
}

/// Devices with seeds 1..=n; every one allows and knows the addresses of every other.
pub async fn cluster<C: Ciphersuite>(n: u8, limits: Limits) -> Vec<Arc<Device<C>>> {
    let mut devices = Vec::new();
    for seed in 1..=n {
        devices.push(device::<C>(seed, limits.clone()).await);
    }
    introduce(&devices);
    devices
}

/// Every device allows every other.
pub fn introduce<C: Ciphersuite>(devices: &[Arc<Device<C>>]) {
    for a in devices {
        for b in devices {
            if a.node().peer_id() != b.node().peer_id() {
                a.node()
                    .allow(b.node().peer_id(), b.node().addresses().to_vec());
            }
        }
    }
}

/// The PeerIds of some devices.
pub fn peers<C: Ciphersuite>(devices: &[&Arc<Device<C>>]) -> Vec<PeerId> {
    devices.iter().map(|d| d.node().peer_id()).collect()
}

/// What a serving device reported.
pub type Report<C> = (usize, Result<Served<C>, JobError>);

/// Runs a serve loop on each of `devices` (index i reported as `first + i`).
pub fn serve<C: Ciphersuite>(
    devices: &[Arc<Device<C>>],
    first: usize,
) -> mpsc::UnboundedReceiver<Report<C>>
where
    C::Point: Send,
{
    let (tx, rx) = mpsc::unbounded_channel();
    for (i, d) in devices.iter().enumerate() {
        let (d, tx) = (d.clone(), tx.clone());
        tokio::spawn(async move {
            while let Some(r) = d.serve_next().await {
                if tx.send((first + i, r)).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// The next `n` reports, waiting at most a minute for each.
pub async fn reports<C: Ciphersuite>(
    rx: &mut mpsc::UnboundedReceiver<Report<C>>,
    n: usize,
) -> Vec<Report<C>> {
    let mut out = Vec::new();
    for _ in 0..n {
        let r = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("a report within a minute")
            .expect("serve loops running");
        out.push(r);
    }
    out.sort_by_key(|(i, _)| *i);
    out
}

/// Verifies with a verifier that is not tessera's own where one exists.
pub fn standard_verify(suite: Suite, key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    match suite {
        Suite::Ed25519 => <[u8; 32]>::try_from(key)
            .ok()
            .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok())
            .zip(ed25519_dalek::Signature::from_slice(sig).ok())
            .is_some_and(|(k, s)| k.verify_strict(msg, &s).is_ok()),
        Suite::Taproot => k256::schnorr::VerifyingKey::from_slice(key)
            .ok()
            .zip(k256::schnorr::Signature::try_from(sig).ok())
            .is_some_and(|(k, s)| k.verify_raw(msg, &s).is_ok()),
        Suite::Secp256k1 => tessera_sign::verify_bytes(suite, key, msg, sig).is_ok(),
    }
}

/// A device with identity seed `seed` that keeps its shares in `store` before confirming.
pub async fn device_with_store<C: Ciphersuite>(
    seed: u8,
    limits: Limits,
    store: Arc<dyn tessera_cli::device::jobs::ShareStore<C>>,
) -> Arc<Device<C>> {
    let (keypair, identity) = identities(&[seed; 32]).unwrap();
    let mut config = NodeConfig::new(keypair, accept_all());
    config.limits = limits;
    Arc::new(
        Device::start(config, identity)
            .await
            .unwrap()
            .with_store(store),
    )
}

/// Device `seed` takes the next session (a t-of-n keygen), runs the DKG with its own
/// protocol code and disappears before the certification: it never confirms.
pub fn dkg_then_quit<C: Ciphersuite>(
    device: Arc<Device<C>>,
    seed: u8,
    threshold: u16,
) -> tokio::task::JoinHandle<()> {
    use tessera_core::IdentitySigner;
    use tessera_keygen::dkg::{Dkg, DkgParams};
    tokio::spawn(async move {
        let mut session = device.node().next_session().await.unwrap();
        let (_, identity) = identities(&[seed; 32]).unwrap();
        let roster = session
            .roster()
            .iter()
            .map(|p| tessera_cli::device::jobs::identity_of(p).unwrap())
            .collect();
        let params = DkgParams {
            session: *session.id(),
            threshold,
            roster,
        };
        assert!(params.roster.contains(&identity.identity()));
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let dkg = Dkg::<C>::new(params, session.me(), Arc::new(identity), &mut rng).unwrap();
        tessera_p2p::run(dkg, &mut session).await.unwrap();
        drop(session);
    })
}

/// Every file and folder under `dir` with its bytes and permission bits: what a refused
/// command must leave exactly as it was.
pub fn snapshot(
    dir: &std::path::Path,
) -> std::collections::BTreeMap<std::path::PathBuf, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let meta = std::fs::metadata(&p).unwrap();
            let mode = meta.permissions().mode();
            // Folders are walked; sockets (a running node's control socket) have no bytes.
            let bytes = if meta.is_dir() {
                stack.push(p.clone());
                Vec::new()
            } else if meta.is_file() {
                std::fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            out.insert(p, (bytes, mode));
        }
    }
    out
}
