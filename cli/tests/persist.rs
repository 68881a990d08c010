//! Persist before confirming (design §3.1 step 4, §3.3 step 4, must), over real swarms: a
//! device whose store fails sends no confirmation and nothing activates anywhere; and a
//! device full of keygens that never completed names the peers that left them waiting.

mod common;

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use common::*;
use tessera_cli::device::jobs::{JobError, ShareStore};
use tessera_core::{Ed25519, SessionId};
use tessera_keygen::PendingKeyShare;

/// A store that refuses every share, counting what it was asked to keep.
#[derive(Default)]
struct FullDisk {
    asked: AtomicUsize,
}

impl ShareStore<Ed25519> for FullDisk {
    fn keygen(&self, _: &str, _: &SessionId, _: &PendingKeyShare<Ed25519>) -> Result<(), String> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Err("no space left on device".into())
    }

    fn reshare(&self, _: &SessionId, _: &PendingKeyShare<Ed25519>) -> Result<(), String> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        Err("no space left on device".into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keygen_share_that_cannot_be_kept_is_not_confirmed() {
    let disk = Arc::new(FullDisk::default());
    let mut devices = cluster::<Ed25519>(2, quick_limits()).await;
    devices.push(device_with_store::<Ed25519>(3, quick_limits(), disk.clone()).await);
    introduce(&devices);
    let mut served = serve(&devices[1..], 1);
    let all: Vec<_> = devices.iter().collect();
    let err = devices[0].keygen(peers(&all), 2).await.unwrap_err();
    let mut outcomes = vec![(0, Err(err))];
    outcomes.extend(reports(&mut served, 2).await);
    assert_eq!(
        disk.asked.load(Ordering::SeqCst),
        1,
        "asked once, after the DKG"
    );
    for (i, outcome) in &outcomes {
        match (i, outcome) {
            (2, Err(JobError::Persist(why))) => assert!(why.contains("no space"), "{why}"),
            (2, other) => panic!(
                "device 2 fails to keep its share: {:?}",
                other.as_ref().err()
            ),
            (_, Err(e)) => assert!(e.to_string().contains("could not keep its share"), "{e}"),
            (_, Ok(_)) => panic!("device {i} has no certificate without device 2"),
        }
    }
    // Device 2 confirmed nothing, so no certificate exists: nobody holds an active key. The
    // others confirmed, so they keep their pending shares.
    assert!(devices.iter().all(|d| d.key_count() == 0));
    assert!(devices[2].pending_keygens().is_empty());
    assert!(devices[..2].iter().all(|d| d.pending_keygens().len() == 1));
}

/// A store that keeps shares but cannot record that a confirmation is about to leave.
struct NoConfirmedMark;

impl ShareStore<Ed25519> for NoConfirmedMark {
    fn keygen(&self, _: &str, _: &SessionId, _: &PendingKeyShare<Ed25519>) -> Result<(), String> {
        Ok(())
    }

    fn reshare(&self, _: &SessionId, _: &PendingKeyShare<Ed25519>) -> Result<(), String> {
        Ok(())
    }

    fn confirming(&self, _: &[u8; 32], _: u64) -> Result<(), String> {
        Err("read-only file system".into())
    }
}

/// Design §5.7: a device that cannot record its confirmation sends none, and nothing of the
/// session after it either (not even the certificate it could relay with its own signature
/// in it), so no device holds a key whose share this device might later discard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmation_that_cannot_be_recorded_is_not_sent() {
    let mut devices = cluster::<Ed25519>(2, quick_limits()).await;
    devices.push(device_with_store::<Ed25519>(3, quick_limits(), Arc::new(NoConfirmedMark)).await);
    introduce(&devices);
    let mut served = serve(&devices[1..], 1);
    let all: Vec<_> = devices.iter().collect();
    let first = devices[0].keygen(peers(&all), 2).await;
    assert!(
        first.is_err(),
        "no certificate without device 2's confirmation"
    );
    let outcomes = reports(&mut served, 2).await;
    assert!(outcomes.iter().all(|(_, o)| o.is_err()));
    assert!(devices.iter().all(|d| d.key_count() == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reshare_share_that_cannot_be_kept_is_not_confirmed() {
    let disk = Arc::new(FullDisk::default());
    let mut devices = cluster::<Ed25519>(3, quick_limits()).await;
    devices.push(device_with_store::<Ed25519>(4, quick_limits(), disk.clone()).await);
    introduce(&devices);
    let all: Vec<_> = devices.iter().collect();
    let mut served = serve(&devices[1..], 1);
    let share = devices[0].keygen(peers(&all[..3]), 2).await.unwrap();
    reports(&mut served, 2).await;
    // Devices 0 and 1 deal to {1, 2, 3}; device 3, joining, cannot keep its new share.
    let result = devices[0]
        .reshare(share.key_id(), &peers(&all[..2]), &peers(&all[1..]), 2)
        .await;
    assert!(result.is_err());
    let outcomes = reports(&mut served, 3).await;
    assert_eq!(disk.asked.load(Ordering::SeqCst), 1);
    assert!(
        matches!(&outcomes[2].1, Err(e) if e.to_string().contains("persisted")),
        "{:?}",
        outcomes[2].1.as_ref().err()
    );
    assert!(outcomes.iter().all(|(_, o)| o.is_err()));
    // Nothing moved: device 3 holds nothing, epoch 0 still signs.
    assert_eq!(devices[3].key_count(), 0);
    assert!(devices[3].staged_reshares().is_empty());
    let out = devices[0]
        .sign(share.key_id(), peers(&[all[0], all[2]]), b"epoch 0")
        .await;
    assert!(out.is_ok(), "{:?}", out.err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygens_left_waiting_name_the_peer_that_never_confirmed() {
    let devices = cluster::<Ed25519>(3, quick_limits()).await;
    let devices: Vec<_> = devices
        .into_iter()
        .map(|d| {
            Arc::try_unwrap(d)
                .ok()
                .expect("one owner")
                .with_pending_keygen_limit(1)
        })
        .map(Arc::new)
        .collect();
    let mut served = serve(&devices[1..2], 1);
    let quit = dkg_then_quit(devices[2].clone(), 3, 2);
    let all: Vec<_> = devices.iter().collect();
    assert!(devices[0].keygen(peers(&all[..3]), 2).await.is_err());
    quit.await.unwrap();
    reports(&mut served, 1).await;
    // The limit is reached: the next keygen is refused, naming device 2.
    let quitter = devices[2].node().peer_id();
    let err = devices[0].keygen(peers(&all[..2]), 2).await.unwrap_err();
    match &err {
        JobError::Run { reason, .. } => {
            assert_eq!(err.blamed(), vec![quitter]);
            assert!(reason.contains(&quitter.to_string()), "{reason}");
        }
        other => panic!("a refusal naming the peer: {other}"),
    }
    // Device 1 is as full, and refuses the same way.
    let (_, other) = reports(&mut served, 1).await.remove(0);
    assert!(
        matches!(&other, Err(e @ JobError::Run { .. }) if e.blamed() == vec![quitter]),
        "{:?}",
        other.as_ref().err()
    );
}
