//! Faults over real swarms: an outsider, a silent member, a member restarted mid-session,
//! a refusing policy. Every one ends in a typed error naming the peer, within the deadline,
//! with nothing stored.

mod common;

use std::{sync::Arc, time::Duration};

use common::*;
use tessera_cli::device::jobs::{identities, Device, JobError, Served};
use tessera_core::Ed25519;
use tessera_p2p::{Decision, NodeConfig, PeerId, ProposeError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outsider_is_refused_and_reaches_no_protocol() {
    let committee = cluster::<Ed25519>(3, quick_limits()).await;
    let mut served = serve(&committee, 0);
    // The outsider knows the committee and allows it, but the committee does not allow it.
    let outsider = device::<Ed25519>(9, quick_limits()).await;
    for d in &committee {
        outsider
            .node()
            .allow(d.node().peer_id(), d.node().addresses().to_vec());
    }
    let mut roster = peers(&committee.iter().collect::<Vec<_>>());
    roster.push(outsider.node().peer_id());
    let err = outsider.keygen(roster, 2).await.unwrap_err();
    assert!(
        matches!(err, JobError::Propose(ProposeError::Unreachable { .. })),
        "{err}"
    );
    // A raw peer outside the allow-list cannot even deliver bytes.
    let mut raw = RawPeer::new(10, 1 << 16);
    let target = &committee[0];
    let sent = raw
        .request(
            target.node().peer_id(),
            &target.node().addresses()[0],
            vec![3; 40],
        )
        .await;
    assert!(sent.is_err(), "the connection is refused: {sent:?}");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), served.recv())
            .await
            .is_err(),
        "no session reached a committee member"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_member_is_named_when_the_deadline_passes() {
    let devices = cluster::<Ed25519>(4, quick_limits()).await;
    // Device 3 accepts the session (its node's policy does) but never runs its party.
    let mut served = serve(&devices[1..3], 1);
    let silent = devices[3].node().peer_id();
    let all: Vec<_> = devices.iter().collect();
    let started = std::time::Instant::now();
    let mut outcomes = vec![(0, devices[0].keygen(peers(&all), 2).await.map(|_| ()))];
    for (i, r) in reports(&mut served, 2).await {
        outcomes.push((i, r.map(|_| ())));
    }
    assert_only_named(outcomes, silent);
    // Within the deadline plus the time to tell everyone.
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(devices
        .iter()
        .all(|d| d.node().peer_id() == silent || no_keys(d)));
}

/// Every device failed naming `culprit` and nobody else: whoever timed out first named it
/// and told the others, who may have stopped on that abort (naming whom it named) before
/// their own deadline.
fn assert_only_named(outcomes: Vec<(usize, Result<(), JobError>)>, culprit: PeerId) {
    for (i, r) in outcomes {
        let Err(e) = r else {
            panic!("device {i} should have aborted")
        };
        assert_eq!(e.blamed(), vec![culprit], "device {i}: {e}");
    }
}

fn no_keys(d: &Arc<Device<Ed25519>>) -> bool {
    d.key_count() == 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_restarted_mid_session_aborts_it_for_everyone() {
    let devices = cluster::<Ed25519>(4, quick_limits()).await;
    let mut served = serve(&devices[1..3], 1);
    let all: Vec<_> = devices.iter().collect();
    let roster = peers(&all);
    let restarted_peer = devices[3].node().peer_id();
    let address = devices[3].node().addresses()[0].clone();
    // Device 3 takes the session, then crashes: its node and session are gone.
    let crashing = devices[3].clone();
    let crash = tokio::spawn(async move {
        let session = crashing.node().next_session().await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(session);
        crashing
    });
    let keygen = {
        let d = devices[0].clone();
        tokio::spawn(async move { d.keygen(roster, 2).await })
    };
    let crashed = crash.await.unwrap();
    drop(devices);
    drop(crashed); // the last handle: the node stops
                   // It comes back on the same address with the same identity and no memory of the session.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (keypair, identity) = identities(&[4; 32]).unwrap();
    let mut config = NodeConfig::new(keypair, tessera_p2p::accept_all());
    config.listen = vec![address];
    config.limits = quick_limits();
    let back = Device::<Ed25519>::start(config, identity).await.unwrap();
    assert_eq!(back.node().peer_id(), restarted_peer);

    let err = keygen.await.unwrap().unwrap_err();
    assert!(matches!(err, JobError::Run { .. }), "a run error: {err}");
    let blamed = err.blamed();
    assert!(blamed.is_empty() || blamed == vec![restarted_peer], "{err}");
    for (i, r) in reports(&mut served, 2).await {
        assert!(r.is_err(), "device {i} must not finish");
    }
    assert_eq!(back.key_count(), 0, "the restarted device stored nothing");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), back.node().next_session())
            .await
            .is_err(),
        "the restarted device has no session"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_policy_stops_the_session_before_it_starts() {
    let mut devices = cluster::<Ed25519>(2, quick_limits()).await;
    let (keypair, identity) = identities(&[3; 32]).unwrap();
    let config = NodeConfig::new(
        keypair,
        Arc::new(|_, _| Decision::Refuse("not approved".into())),
    );
    devices.push(Arc::new(Device::start(config, identity).await.unwrap()));
    introduce(&devices);
    let mut served = serve(&devices[1..], 1);
    let all: Vec<_> = devices.iter().collect();
    let err = devices[0].keygen(peers(&all), 2).await.unwrap_err();
    let JobError::Propose(ProposeError::Refused { peer, reason }) = err else {
        panic!("expected a refusal, got {err}")
    };
    assert_eq!(
        (peer, reason.as_str()),
        (devices[2].node().peer_id(), "not approved")
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), served.recv())
            .await
            .is_err(),
        "device 1 accepted, but the session never started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keygen_share_confirmed_before_a_failed_certification_is_kept_pending() {
    let devices = cluster::<Ed25519>(3, quick_limits()).await;
    let mut served = serve(&devices[1..2], 1);
    // Device 2 runs the DKG and then disappears before the certification.
    let quit = dkg_then_quit(devices[2].clone(), 3, 2);
    let all: Vec<_> = devices.iter().collect();
    let err = devices[0].keygen(peers(&all), 2).await.unwrap_err();
    assert!(err.to_string().contains("kept pending"), "{err}");
    quit.await.unwrap();
    let (_, other) = reports(&mut served, 1).await.remove(0);
    assert!(other.is_err());
    for d in &devices[..2] {
        assert_eq!(d.key_count(), 0, "nothing active without the certificate");
        assert_eq!(
            d.pending_keygens().len(),
            1,
            "but the confirmed share is kept"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_dealer_is_named_and_the_old_epoch_still_signs() {
    let devices = cluster::<Ed25519>(5, quick_limits()).await;
    let all: Vec<_> = devices.iter().collect();
    // Device 1 serves the keygen, then stays silent; device 4 joins at the reshare.
    let mut served = serve(&devices[2..], 2);
    let keygen_1 = {
        let d = devices[1].clone();
        tokio::spawn(async move { d.serve_next().await })
    };
    let share = devices[0].keygen(peers(&all[..4]), 2).await.unwrap();
    assert!(matches!(
        keygen_1.await.unwrap(),
        Some(Ok(Served::Keygen(_)))
    ));
    reports(&mut served, 2).await;

    let silent = devices[1].node().peer_id();
    let reshared = devices[0]
        .reshare(share.key_id(), &peers(&all[..2]), &peers(&all[2..]), 2)
        .await;
    let mut outcomes = vec![(0, reshared.map(|_| ()))];
    for (i, r) in reports(&mut served, 3).await {
        outcomes.push((i, r.map(|_| ())));
    }
    // Only the dealer is owed anything in round 1: the joiners are never named.
    assert_only_named(outcomes, silent);
    // The joining device staged nothing, so it keeps nothing; nobody has a staged share. The
    // dealer keeps the session as its one transition from epoch 0 (it cannot tell on its own
    // that the reshare did not complete elsewhere) until the user abandons it.
    assert_eq!(devices[4].key_count(), 0);
    assert!(devices[1..].iter().all(|d| d.staged_reshares().is_empty()));
    let dealt = devices[0].staged_reshares();
    assert_eq!(dealt.len(), 1);
    assert!(devices[0].abandon_reshare(&dealt[0]));
    assert!(devices[0].staged_reshares().is_empty());
    // Epoch 0 is intact: devices 0 and 2 still sign with it.
    let out = devices[0]
        .sign(share.key_id(), peers(&[all[0], all[2]]), b"still here")
        .await;
    assert!(out.is_ok(), "{:?}", out.err());
}
