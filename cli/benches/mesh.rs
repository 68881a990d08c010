//! Mesh benchmarks over real swarms on 127.0.0.1 (TCP, noise, yamux), release build:
//!
//! - `latency`: 3-of-5 signing end to end (proposal, acceptances, start, both FROST rounds
//!   with signed commitments and echo) after the connections are up; p50 and p99 over 300
//!   signatures, sequential.
//! - `throughput`: 3-of-5 signatures from 16 concurrent sessions (rotating initiators and
//!   signer sets); signatures per second over 1,000.
//! - `relay`: the same 3-of-5 signing p50 twice in one run: devices that dial each other
//!   directly, and devices that reach each other only through an in-process relay node
//!   (hole punching off, so every message crosses the relay); 200 signatures each.
//! - `keygen100`: a 67-of-100 keygen (DKG and certification) among 100 nodes in this one
//!   process, connections dialed in paced batches first; total wall time.
//!
//! `cargo bench -p tessera-p2p --bench mesh` runs latency and throughput for ed25519 and
//! taproot; `cargo bench -p tessera-p2p --bench mesh -- keygen100` runs the 100-node keygen.
//! These are wall-clock measurements of a distributed system, reported as percentiles, so
//! the bench has its own harness rather than criterion's.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use tessera_cli::device::jobs::{identities, Device};
use tessera_core::{Ciphersuite, Ed25519, Taproot};
use tessera_p2p::{accept_all, Limits, NodeConfig, PeerId};

/// Devices and their serve loops; dropping it stops them all.
struct Mesh<C: Ciphersuite> {
    devices: Vec<Arc<Device<C>>>,
    loops: Vec<tokio::task::JoinHandle<()>>,
}

impl<C: Ciphersuite> Drop for Mesh<C> {
    fn drop(&mut self) {
        self.loops.iter().for_each(|l| l.abort());
    }
}

async fn devices<C: Ciphersuite>(n: usize, first_seed: u8) -> Mesh<C> {
    devices_via::<C>(n, first_seed, None).await
}

/// `devices`, reached only through the relay at `relay` when one is given.
async fn devices_via<C: Ciphersuite>(
    n: usize,
    first_seed: u8,
    relay: Option<&tessera_p2p::Multiaddr>,
) -> Mesh<C> {
    let limits = Limits {
        idle_timeout: Duration::from_secs(600),
        round_timeout: Duration::from_secs(120),
        request_timeout: Duration::from_secs(60),
        ..Limits::default()
    };
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut seed = [first_seed; 32];
        seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let (keypair, identity) = identities(&seed).unwrap();
        let mut config = NodeConfig::new(keypair, accept_all());
        config.limits = limits.clone();
        config.relay = relay.cloned();
        config.hole_punching = false;
        out.push(Arc::new(Device::start(config, identity).await.unwrap()));
    }
    for a in &out {
        for b in &out {
            if a.node().peer_id() != b.node().peer_id() {
                let mut at = b.node().addresses().to_vec();
                if relay.is_some() {
                    at.retain(|x| tessera_p2p::Link::of(x) == tessera_p2p::Link::Relayed);
                }
                a.node().allow(b.node().peer_id(), at);
            }
        }
    }
    // Paced dials: each node dials the nodes after it, at most `BATCH` dials in flight.
    const BATCH: usize = 64;
    let pairs: Vec<(usize, usize)> = (0..n)
        .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
        .collect();
    for chunk in pairs.chunks(BATCH) {
        let dials = chunk.iter().map(|&(i, j)| {
            let (a, b) = (out[i].clone(), out[j].node().peer_id());
            async move { a.node().connect(b).await }
        });
        for r in futures::future::join_all(dials).await {
            r.unwrap();
        }
    }
    // Serve loops for everyone; the initiator of a session serves it itself.
    let loops = out
        .iter()
        .map(|d| {
            let d = d.clone();
            tokio::spawn(async move { while d.serve_next().await.is_some() {} })
        })
        .collect();
    Mesh {
        devices: out,
        loops,
    }
}

fn peers<C: Ciphersuite>(devices: &[Arc<Device<C>>], which: &[usize]) -> Vec<PeerId> {
    which.iter().map(|&i| devices[i].node().peer_id()).collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let k = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[k]
}

async fn latency<C: Ciphersuite>() {
    let mesh = devices::<C>(5, 1).await;
    let devices = &mesh.devices;
    let all = peers(devices, &[0, 1, 2, 3, 4]);
    let share = devices[0].keygen(all, 3).await.unwrap();
    let signers = peers(devices, &[0, 2, 4]);
    let msg = b"latency";
    for _ in 0..20 {
        devices[0]
            .sign(share.key_id(), signers.clone(), msg)
            .await
            .unwrap();
    }
    let mut times = Vec::with_capacity(300);
    for _ in 0..300 {
        let t = Instant::now();
        devices[0]
            .sign(share.key_id(), signers.clone(), msg)
            .await
            .unwrap();
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "mesh/latency/3-of-5/{:9} p50 {:6.2} ms  p99 {:6.2} ms  (300 signatures, sequential)",
        C::SUITE.name(),
        percentile(&times, 0.50).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
    );
}

/// p50 of 200 sequential 3-of-5 signatures on `mesh`, after 20 to warm up, and how device 0
/// reaches the others.
async fn sign_p50<C: Ciphersuite>(mesh: &Mesh<C>) -> (Duration, Vec<&'static str>) {
    let devices = &mesh.devices;
    let share = devices[0]
        .keygen(peers(devices, &[0, 1, 2, 3, 4]), 3)
        .await
        .unwrap();
    let signers = peers(devices, &[0, 2, 4]);
    let mut times = Vec::with_capacity(200);
    for i in 0..220 {
        let t = Instant::now();
        devices[0]
            .sign(share.key_id(), signers.clone(), b"relay")
            .await
            .unwrap();
        if i >= 20 {
            times.push(t.elapsed());
        }
    }
    times.sort();
    let mut links: Vec<&'static str> = devices[0]
        .node()
        .links()
        .await
        .iter()
        .flat_map(|(_, l)| l.iter().map(|k| k.name()))
        .collect();
    links.sort_unstable();
    links.dedup();
    (percentile(&times, 0.50), links)
}

async fn relay<C: Ciphersuite>() {
    let direct = devices::<C>(5, 7).await;
    let (d, d_links) = sign_p50(&direct).await;
    drop(direct);
    let (key, _) = identities(&[99; 32]).unwrap();
    let node = tessera_p2p::relay_node::RelayNode::start(
        key,
        &["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        Default::default(),
    )
    .await
    .unwrap();
    let at = node.addresses()[0]
        .clone()
        .with(tessera_p2p::Protocol::P2p(node.peer_id()));
    let relayed = devices_via::<C>(5, 8, Some(&at)).await;
    let (r, r_links) = sign_p50(&relayed).await;
    println!(
        "mesh/relay/3-of-5/{:9} direct p50 {:6.2} ms ({})  through the relay p50 {:6.2} ms ({})  (200 signatures each)",
        C::SUITE.name(),
        d.as_secs_f64() * 1e3,
        d_links.join("+"),
        r.as_secs_f64() * 1e3,
        r_links.join("+"),
    );
}

async fn throughput<C: Ciphersuite>() {
    const SESSIONS: usize = 16;
    const TOTAL: usize = 1000;
    let mesh = devices::<C>(5, 2).await;
    let devices = mesh.devices.clone();
    let all = peers(&devices, &[0, 1, 2, 3, 4]);
    let share = devices[0].keygen(all, 3).await.unwrap();
    // Every device knows the key by the same id once its serve loop stored it.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let key_id = *share.key_id();
    let started = Instant::now();
    let workers = (0..SESSIONS).map(|w| {
        let devices = devices.clone();
        tokio::spawn(async move {
            for k in (w..TOTAL).step_by(SESSIONS) {
                let first = k % 5;
                let signers = peers(&devices, &[first, (first + 1) % 5, (first + 3) % 5]);
                devices[first]
                    .sign(&key_id, signers, b"throughput")
                    .await
                    .unwrap();
            }
        })
    });
    for w in futures::future::join_all(workers).await {
        w.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "mesh/throughput/3-of-5/{:9} {:6.0} signatures/s  ({TOTAL} signatures, {SESSIONS} concurrent sessions, {secs:.2} s)",
        C::SUITE.name(),
        TOTAL as f64 / secs,
    );
}

async fn keygen100<C: Ciphersuite>() {
    let started = Instant::now();
    let mesh = devices::<C>(100, 3).await;
    let devices = &mesh.devices;
    let connected = started.elapsed();
    let all: Vec<usize> = (0..100).collect();
    let t = Instant::now();
    devices[0].keygen(peers(devices, &all), 67).await.unwrap();
    let keygen = t.elapsed();
    println!(
        "mesh/keygen/67-of-100/{:9} keygen {:6.2} s  (100 nodes, one process; start and paced dials before it: {:.2} s; total {:.2} s)",
        C::SUITE.name(),
        keygen.as_secs_f64(),
        connected.as_secs_f64(),
        started.elapsed().as_secs_f64(),
    );
}

fn main() {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants =
        |name: &str| filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        if wants("latency") {
            latency::<Ed25519>().await;
            latency::<Taproot>().await;
        }
        if wants("relay") {
            relay::<Ed25519>().await;
            relay::<Taproot>().await;
        }
        if wants("throughput") {
            throughput::<Ed25519>().await;
            throughput::<Taproot>().await;
        }
        // The 100-node run takes a while: only when asked for by name.
        if filters.iter().any(|f| "keygen100".contains(f.as_str())) {
            keygen100::<Taproot>().await;
            keygen100::<Ed25519>().await;
        }
    });
}
