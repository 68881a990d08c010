//! A peer cannot make a node hold more than its budgets (design §4): a raw peer opens as many
//! sessions as the node lets it and floods them with maximum-size frames for a bounded time,
//! while the node signs with an honest device.

mod common;

use std::time::{Duration, Instant};

use common::{cluster, peers, reports, serve, standard_verify, start_of, RawPeer};
use tessera_core::{
    protocol::{Header, Kind},
    Ciphersuite, Ed25519, SessionId,
};
use tessera_p2p::{Draft, Limits, Multiaddr, PeerId, Proposal, Request, Response};

/// How long the flood lasts.
const FLOOD: Duration = Duration::from_secs(10);
/// The raw peer's identity seed.
const RAW: u8 = 3;

/// The resident memory of this process (every node of the test runs in it), in bytes.
fn resident() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib << 10
}

/// What the flood achieved.
#[derive(Debug, Default)]
struct Flooded {
    sessions: usize,
    taken: usize,
    sent: usize,
}

/// Opens sessions on the node at `addr` until it refuses one, then sends each of them frames
/// of `max` bytes into a new (kind, round) every time, until `until`.
async fn flood(
    mut raw: RawPeer,
    node: PeerId,
    addr: Multiaddr,
    max: usize,
    until: Instant,
) -> Flooded {
    let mut out = Flooded::default();
    let mut sessions: Vec<SessionId> = Vec::new();
    for tag in 0u32.. {
        let p = Proposal {
            draft: Draft {
                kind: Kind::Sign,
                params: tag.to_be_bytes().to_vec(),
                key_id: [0; 32],
                epoch: 0,
                roster: vec![raw.peer_id(), node],
            },
            nonce: [tag as u8; 32],
        };
        let propose = Request::Propose(p.encode()).encode().to_vec();
        let answer = raw.request(node, &addr, propose).await.unwrap();
        let Ok(Response::Accepted { nonce, signature }) = Response::decode(&answer) else {
            break;
        };
        let start = start_of(RAW, &p, &[(nonce, signature)]);
        let started = Request::Start(start.clone()).encode().to_vec();
        let answer = raw.request(node, &addr, started).await.unwrap();
        if Response::decode(&answer) != Ok(Response::Ack) {
            break;
        }
        sessions.push(start.session());
    }
    out.sessions = sessions.len();
    let kinds = [Kind::Sign, Kind::Keygen, Kind::Certify, Kind::Reshare];
    let keys = kinds
        .iter()
        .flat_map(|k| (1..=u8::MAX).map(move |r| (*k, r)));
    for (kind, round) in keys {
        if Instant::now() >= until {
            break;
        }
        // One frame of the maximum size into every session.
        let batch = sessions
            .iter()
            .map(|session| {
                let mut payload = Header {
                    kind,
                    session: *session,
                    round,
                }
                .encode();
                // The request's tag byte and the header fill the rest of the frame.
                payload.resize(max - 1, 0xa5);
                Request::Message(payload.into()).encode().to_vec()
            })
            .collect::<Vec<_>>();
        for chunk in batch.chunks(16) {
            let answers = raw.requests(node, &addr, chunk.to_vec()).await;
            out.sent += chunk.len();
            out.taken += answers
                .iter()
                .filter(|a| {
                    a.as_ref().ok().and_then(|b| Response::decode(b).ok()) == Some(Response::Ack)
                })
                .count();
            if Instant::now() >= until {
                break;
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_flooding_every_session_it_can_open_stays_in_its_budget_while_signing_goes_on() {
    let limits = Limits::default();
    let devices = cluster::<Ed25519>(2, limits.clone()).await;
    let (victim, honest) = (devices[0].clone(), &devices[1]);
    let mut served = serve(std::slice::from_ref(honest), 1);
    let both = peers(&[&victim, honest]);
    let share = victim.keygen(both.clone(), 2).await.unwrap();
    reports(&mut served, 1).await;

    let raw = RawPeer::new(RAW, 1 << 20);
    victim.node().allow(raw.peer_id(), Vec::new());
    let (node, addr) = (
        victim.node().peer_id(),
        victim.node().addresses()[0].clone(),
    );
    let before = resident();
    let until = Instant::now() + FLOOD;
    let flooding = tokio::spawn(flood(raw, node, addr, limits.max_message, until));

    // The bound documented for one peer, and room for what the allocator keeps and the raw
    // peer's own buffers (both in this process).
    let allowed = limits.peer_memory_bound() + (64 << 20);
    let (mut peak, mut held) = (0, 0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let message = b"signed while flooded";
    let signing = {
        let (victim, both, key) = (victim.clone(), both.clone(), *share.key_id());
        tokio::spawn(async move { victim.sign(&key, both, message).await })
    };
    while !flooding.is_finished() {
        peak = peak.max(resident().saturating_sub(before));
        held = held.max(victim.node().held_bytes());
        if peak > allowed {
            flooding.abort();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        peak <= allowed,
        "the node grew by {} MiB under the flood (bound {} MiB)",
        peak >> 20,
        allowed >> 20
    );
    let flooded = flooding.await.unwrap();
    eprintln!(
        "flood: {flooded:?}, peak growth {} MiB, held at most {} KiB",
        peak >> 20,
        held >> 10
    );
    // What the node counts: the raw peer's budget, and the honest signing's few messages.
    assert!(held <= limits.max_peer_bytes + (64 << 10), "{held}");
    assert!(flooded.sessions <= limits.max_sessions_per_peer);
    let signed = tokio::time::timeout(Duration::from_secs(60), signing)
        .await
        .expect("signing ends within a minute")
        .unwrap()
        .expect("the honest signing completes");
    let key = Ed25519::serialize_verifying_key(&signed.output_key).unwrap();
    let sig = signed.signature.to_bytes().unwrap();
    assert!(standard_verify(Ed25519::SUITE, &key, message, &sig));
    assert!(flooded.sessions > 0 && flooded.sent > flooded.taken);
}
