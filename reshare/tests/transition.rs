//! Relayed transitions under attack (design §3.3 step 4, must): a transition is applied only
//! to the epoch it names as its predecessor, every field it carries is bound by the
//! certificate, and its test signature is one no ordinary signing session can produce. None of
//! the forgeries below retires a share or activates one.

#[macro_use]
mod common;

use std::sync::{Arc, Mutex};

use common::*;
use ff::Field as _;
use tessera_core::{protocol::Header, Ciphersuite, Ed25519, IdentitySigner, Secp256k1, Taproot};
use tessera_keygen::{Certificate, CONFIRM_PURPOSE};
use tessera_reshare::{Committed, KeyRecord, Transition};

all_suites! {
    replayed_transition_changes_nothing => replayed;
    transition_of_another_lineage_changes_nothing => other_lineage;
    ordinary_signature_makes_no_transition => ordinary_signature;
    edited_transition_changes_nothing => edited;
}

/// `device` refuses `transition`, and still holds `epoch` (and its staged share, if any).
fn refuses<C: Ciphersuite>(device: &Device<C>, transition: &Transition, epoch: u64) {
    let staged_before = device.record.lock().unwrap().pending().map(|(s, _)| *s);
    let result = device.record.lock().unwrap().commit(transition);
    assert!(result.is_err(), "the transition is refused: {result:?}");
    assert_eq!(device.share().epoch(), epoch);
    let staged_after = device.record.lock().unwrap().pending().map(|(s, _)| *s);
    assert_eq!(staged_before, staged_after);
}

fn replayed<C: Ciphersuite>() {
    // Epoch 0 → 1 → 2 over one committee; then device 0 stages a share of a reshare to epoch
    // 3 whose certificate it never sees. Replaying either earlier transition (the old attack
    // edited its epoch to the victim's + 1) erases nothing.
    let devices = dkg::<C>(2, 3, 21);
    let all: Vec<&Device<C>> = devices.iter().collect();
    let first = reshare(&all[..2], &all, 2, 1);
    let second = reshare(&all[1..], &all, 2, 2);
    let p = params(&all[..2], &all, 2, 3);
    let report = run(&p, &all, 3, |e| {
        let to_zero_late = e.to == 0 && Header::decode(&e.payload).unwrap().0.round >= 4;
        if to_zero_late {
            vec![]
        } else {
            vec![e]
        }
    });
    assert!(report.outcomes[0].done().is_none());
    assert!(devices[0].record.lock().unwrap().pending().is_some());
    for transition in [&first, &second] {
        for d in &devices {
            refuses(d, transition, 2);
        }
    }
}

fn other_lineage<C: Ciphersuite>() {
    // The shares of epoch 0 are copied to other records (a backup restored elsewhere), and
    // both copies are reshared apart: two lineages of one group key, both at epoch 1. A
    // transition from lineage B's epoch 1 says nothing about lineage A's epoch 1.
    let devices = dkg::<C>(2, 3, 22);
    let twins: Vec<Device<C>> = devices
        .iter()
        .map(|d| Device {
            identity: d.identity.clone(),
            record: Arc::new(Mutex::new(KeyRecord::new(d.share()))),
        })
        .collect();
    let a: Vec<&Device<C>> = devices.iter().collect();
    let b: Vec<&Device<C>> = twins.iter().collect();
    reshare(&a[..2], &a, 2, 1);
    let group_key = *devices[0].share().key_package().public().group_key();
    let j = joiner::<C>(50, group_key);
    reshare(&b[..2], &[b[0], b[1], b[2], &j], 3, 2);
    let b_next = reshare(&b, &[b[0], b[1], &j], 2, 3);
    for d in &devices {
        assert_eq!(d.share().key_package().public().group_key(), &group_key);
        refuses(d, &b_next, 1);
    }
}

fn ordinary_signature<C: Ciphersuite>() {
    // An attacker makes up a transition from the victim's active epoch to a committee of its
    // own keys, certifies it with them, and gets the real committee to sign the test message
    // as an ordinary raw message. It does not verify as a test signature.
    let devices = dkg::<C>(2, 3, 23);
    let victim = &devices[0];
    let share = victim.share();
    let public = share.key_package().public();
    let fakes: Vec<_> = (0..2u8).map(|i| identity(200 + i)).collect();
    let mut forged = Transition {
        old_key_id: *share.key_id(),
        run_digest: [7; 32],
        threshold: 2,
        roster: fakes.iter().map(|f| f.identity()).collect(),
        // On a line through P: Y_1 = G, Y_2 = 2·G − P.
        verifying_shares: [
            C::mul_base(&C::Scalar::ONE),
            C::mul_base(&C::Scalar::from(2u64)) - public.group_key(),
        ]
        .iter()
        .map(|y| C::serialize_point(y).unwrap().as_ref().to_vec())
        .collect(),
        certificate: Certificate {
            key_id: [0; 32],
            signatures: Vec::new(),
        },
        test_signature: Vec::new(),
    };
    let key_id = forged
        .key_id::<C>(public.group_key(), public.chain_code(), 1)
        .unwrap();
    forged.certificate = Certificate {
        key_id,
        signatures: fakes
            .iter()
            .map(|f| f.sign(CONFIRM_PURPOSE, &key_id))
            .collect(),
    };
    let keys: Vec<_> = devices[..2]
        .iter()
        .map(|d| (d.share().key_package().clone(), d.identity.clone()))
        .collect();
    forged.test_signature = sign(&keys, &forged.test_message(), 5).expect("a raw signature");
    for d in &devices {
        refuses(d, &forged, 0);
    }
}

fn edited<C: Ciphersuite>() {
    // Devices 0 and 1 move the key to {0, 1, joiner}; device 2 took no part and gets the
    // transition relayed. Any edited field makes it refuse; the real one retires it.
    let devices = dkg::<C>(2, 3, 24);
    let group_key = *devices[0].share().key_package().public().group_key();
    let j = joiner::<C>(51, group_key);
    let real = reshare(
        &[&devices[0], &devices[1]],
        &[&devices[0], &devices[1], &j],
        2,
        4,
    );
    let edits: [fn(&mut Transition); 9] = [
        |t| t.old_key_id[0] ^= 1,
        |t| t.run_digest[0] ^= 1,
        |t| t.threshold = 3,
        |t| t.roster.swap(0, 1),
        |t| t.verifying_shares.swap(0, 1),
        |t| t.certificate.signatures[0][5] ^= 1,
        |t| t.certificate.key_id[0] ^= 1,
        |t| t.test_signature[40] ^= 1,
        |t| t.test_signature.truncate(10),
    ];
    for edit in edits {
        let mut t = real.clone();
        edit(&mut t);
        refuses(&devices[2], &t, 0);
    }
    let committed = devices[2].record.lock().unwrap().commit(&real).unwrap();
    assert_eq!(committed, Committed::Retired);
    assert!(!devices[2].has_share());
    // Applied once, the transition has nothing left to act on.
    assert!(devices[2].record.lock().unwrap().commit(&real).is_err());
}
