//! A signing package that differs from what a device approved never reaches its round 2
//! (design §3.2, §4.2): no package travels between signers; each builds it from the proposal
//! it approved, and the session id binds that proposal and every member's acceptance of it.
//! Over real nodes, a cheating initiator (a raw peer with a committee member's identity)
//! shows device A one proposal and device B another that differs in the message, the signer
//! set, the key, the epoch or the tweak: A refuses the start that carries B's acceptance,
//! names the initiator, and never runs a round. The same start with B's acceptance of A's
//! proposal is taken, so the refusal is the difference and nothing else.

mod common;

use std::time::Duration;

use common::*;
use tessera_core::Ed25519;
use tessera_p2p::{Draft, Kind, Proposal, Request, Response, Writer};

/// Sign parameters (design §7.3): suite 0 (ed25519), the signers' identifiers, the message,
/// and optionally a derivation path (purpose 2).
fn params(ids: &[u16], message: &[u8], path: Option<&[u32]>) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(0);
    w.u16(ids.len() as u16);
    for i in ids {
        w.u16(*i);
    }
    w.u32(message.len() as u32);
    w.raw(message);
    if let Some(path) = path {
        w.u8(2);
        w.u8(path.len() as u8);
        for i in path {
            w.u32(*i);
        }
    }
    w.finish()
}

async fn ask(
    raw: &mut RawPeer,
    to: &tessera_cli::device::jobs::Device<Ed25519>,
    r: &Request,
) -> Response {
    let bytes = raw
        .request(
            to.node().peer_id(),
            &to.node().addresses()[0],
            r.encode().to_vec(),
        )
        .await
        .expect("an answer");
    Response::decode(&bytes).unwrap()
}

async fn accepted(
    raw: &mut RawPeer,
    to: &tessera_cli::device::jobs::Device<Ed25519>,
    p: &Proposal,
) -> ([u8; 32], [u8; 64]) {
    match ask(raw, to, &Request::Propose(p.encode())).await {
        Response::Accepted { nonce, signature } => (nonce, signature),
        other => panic!("the proposal is accepted: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_for_another_package_is_refused_before_any_round() {
    // Devices with seeds 1..=4 make two 2-of-4 keys; device 1 then stops, and a raw peer
    // with its identity plays the initiator (identifier 1). A is device 2, B device 3.
    let mut devices = cluster::<Ed25519>(4, quick_limits()).await;
    let mut served = serve(&devices[1..], 1);
    let all: Vec<_> = devices.iter().collect();
    let key = *devices[0].keygen(peers(&all), 2).await.unwrap().key_id();
    let other_key = *devices[0].keygen(peers(&all), 2).await.unwrap().key_id();
    reports(&mut served, 6).await;
    let roster = peers(&all);
    drop(all);
    drop(devices.remove(0));
    let (a, b) = (&devices[0], &devices[1]);
    let mut raw = RawPeer::new(1, 1 << 20);

    let draft = |params: Vec<u8>, key_id: [u8; 32], epoch: u64, signers: &[usize]| Proposal {
        draft: Draft {
            kind: Kind::Sign,
            params,
            key_id,
            epoch,
            roster: signers.iter().map(|i| roster[*i]).collect(),
        },
        nonce: [9; 32],
    };
    let approved = draft(
        params(&[1, 2, 3], b"pay 1 BTC to A's choice", None),
        key,
        0,
        &[0, 1, 2],
    );
    let others = [
        (
            "message",
            draft(
                params(&[1, 2, 3], b"pay 9 BTC to the thief", None),
                key,
                0,
                &[0, 1, 2],
            ),
        ),
        (
            "signer set",
            draft(
                params(&[1, 2, 3, 4], b"pay 1 BTC to A's choice", None),
                key,
                0,
                &[0, 1, 2, 3],
            ),
        ),
        (
            "key",
            draft(
                params(&[1, 2, 3], b"pay 1 BTC to A's choice", None),
                other_key,
                0,
                &[0, 1, 2],
            ),
        ),
        (
            "epoch",
            draft(
                params(&[1, 2, 3], b"pay 1 BTC to A's choice", None),
                key,
                1,
                &[0, 1, 2],
            ),
        ),
        (
            "tweak",
            draft(
                params(&[1, 2, 3], b"pay 1 BTC to A's choice", Some(&[0, 7])),
                key,
                0,
                &[0, 1, 2],
            ),
        ),
    ];
    for (k, (field, differs)) in others.iter().enumerate() {
        // A proposal is taken once: each attempt with a fresh initiator nonce.
        let nonce = [20 + k as u8; 32];
        let approved = Proposal {
            nonce,
            ..approved.clone()
        };
        let differs = &Proposal {
            nonce,
            ..differs.clone()
        };
        assert_ne!(approved.digest(), differs.digest(), "{field}");
        let ours = accepted(&mut raw, a, &approved).await;
        let theirs = accepted(&mut raw, b, differs).await;
        // The only acceptance of B the initiator holds is of the other proposal.
        let start = start_of(1, &approved, &[ours, theirs]);
        let answer = ask(&mut raw, a, &Request::Start(start)).await;
        assert!(
            matches!(&answer, Response::Refused(why) | Response::Rejected(why) if why.contains("did not sign")),
            "{field}: the start is refused: {answer:?}"
        );
        // A's session ends before its protocol starts, naming the initiator.
        let (i, r) = reports(&mut served, 1).await.remove(0);
        let err = r.err().expect("no session completes");
        assert_eq!(i, 1, "{field}: only A was started");
        assert!(err.to_string().contains("did not start"), "{field}: {err}");
        assert_eq!(err.blamed(), vec![roster[0]], "{field}: {err}");
    }
    // Nothing else ran on A or B.
    if let Ok(Some((i, r))) = tokio::time::timeout(Duration::from_secs(2), served.recv()).await {
        panic!("device {i} ran a session: {:?}", r.err());
    }

    // The control: B's acceptance of the approved proposal makes the same start good, and
    // the session starts (and then fails on the silent initiator, naming it).
    let fresh = Proposal {
        nonce: [10; 32],
        ..approved.clone()
    };
    let ours = accepted(&mut raw, a, &fresh).await;
    let theirs = accepted(&mut raw, b, &fresh).await;
    let answer = ask(
        &mut raw,
        a,
        &Request::Start(start_of(1, &fresh, &[ours, theirs])),
    )
    .await;
    assert_eq!(answer, Response::Ack);
    let (i, r) = reports(&mut served, 1).await.remove(0);
    let err = r.err().expect("the session fails without its initiator");
    assert!(err.blamed().contains(&roster[0]), "device {i}: {err}");
}
