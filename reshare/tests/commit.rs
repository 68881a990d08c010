//! The two-phase epoch commit (design §3.3 step 4, must), through the harness for every
//! suite: an abort before the certificate leaves epoch e intact and signing; a certificate
//! or test signature that reaches only some devices is relayed and all end on e+1; two
//! concurrent reshares from one epoch cannot both complete; epoch e is refused once e+1 is
//! active.

#[macro_use]
mod common;

use common::*;
use tessera_core::{
    protocol::{Header, Kind},
    sim::Envelope,
    Ciphersuite, Ed25519, Secp256k1, Taproot,
};
use tessera_reshare::{Committed, EpochError, ReshareError};

all_suites! {
    abort_before_certificate_keeps_epoch => abort_before_certificate;
    certificate_and_test_signature_are_relayed => relayed;
    concurrent_reshares_cannot_both_complete => concurrent;
    stalled_transition_blocks_until_abandoned => stalled_then_abandoned;
    superseded_epoch_is_refused => superseded;
}

fn round(e: &Envelope) -> (Kind, u8) {
    let (h, _) = Header::decode(&e.payload).unwrap();
    (h.kind, h.round)
}

/// Epoch 0 still works at `devices`: each holds it, and the first t sign.
fn epoch_zero_signs<C: Ciphersuite>(devices: &[&Device<C>], t: usize) {
    for d in devices {
        let r = d.record.lock().unwrap();
        assert_eq!(r.share_for(0).unwrap().epoch(), 0);
    }
    let keys: Vec<_> = devices
        .iter()
        .take(t)
        .map(|d| (d.share().key_package().clone(), d.identity.clone()))
        .collect();
    assert!(sign(&keys, b"still epoch 0", 1).is_some());
}

fn abort_before_certificate<C: Ciphersuite>() {
    // Device 1 goes silent from one round on: its deals, its shares, or its confirmation
    // (it crashed after persisting its pending share).
    for r in [1, 2, 4] {
        let old = dkg::<C>(2, 3, 1);
        let p = *old[0].share().key_package().public().group_key();
        let j = joiner::<C>(30, p);
        let new = [&old[0], &old[1], &old[2], &j];
        let everyone: Vec<&Device<C>> = new.to_vec();
        let params = params(&[&old[0], &old[1]], &new, 3, 2);
        let report = run(&params, &everyone, 1, move |e| {
            let (_, at) = round(&e);
            if e.from == 1 && at >= r {
                vec![]
            } else {
                vec![e]
            }
        });
        assert!(
            report.outcomes.iter().all(|o| o.done().is_none()),
            "round {r}"
        );
        epoch_zero_signs(&[&old[0], &old[1], &old[2]], 2);
        assert!(!j.has_share());
    }
}

fn relayed<C: Ciphersuite>() {
    // 3-of-5 → 2-of-3: devices 0 and 2 deal and leave. Device 4 (the third new party) gets
    // no confirmation at all, and the old-only devices get the test signature from one new
    // party only: the relays carry them, and everyone ends on epoch 1.
    let old = dkg::<C>(3, 5, 2);
    let p = *old[0].share().key_package().public().group_key();
    let new = [&old[1], &old[3], &old[4]];
    let params = params(&[&old[0], &old[1], &old[2]], &new, 2, 3);
    let everyone: Vec<&Device<C>> = old.iter().collect();
    // Session roster: new parties 0..3 (devices 1, 3, 4), then old-only 3, 4 (devices 0, 2).
    let report = run(&params, &everyone, 2, |e| {
        let r = round(&e);
        let to_third = e.to == 2 && r == (Kind::Reshare, 4);
        let test_to_old = e.to >= 3 && r == (Kind::Reshare, 6) && e.from != 0;
        if to_third || test_to_old {
            vec![]
        } else {
            vec![e]
        }
    });
    let transition = commit(&params, &everyone, report);
    assert_eq!(transition.epoch, 1);
    check_epoch(&new, 2, &p, 1);
    assert!(!old[0].has_share() && !old[2].has_share());
}

fn concurrent<C: Ciphersuite>() {
    // Two reshares of epoch 0 over the same committee, built before either runs.
    let old = dkg::<C>(2, 3, 3);
    let all: Vec<&Device<C>> = old.iter().collect();
    let a = params(&all[..2], &all, 2, 40);
    let b = params(&all[1..], &all, 2, 41);
    let parties_b = parties(&b, &all, 41);
    let report_a = run(&a, &all, 40, |e| vec![e]);
    // B runs after A staged everywhere: no device confirms B.
    let report_b = tessera_core::sim::Simulation::new(parties_b).run();
    for o in &report_b.outcomes {
        assert!(
            matches!(o.failed(), Some(ReshareError::Persist(_))),
            "{o:?}"
        );
    }
    commit(&a, &all, report_a);
    for d in &old {
        assert_eq!(d.share().epoch(), 1);
    }
}

fn stalled_then_abandoned<C: Ciphersuite>() {
    // A stalls after every device staged (no confirmation arrives anywhere); B is refused
    // while A is pending; once the user abandons A, a new session completes.
    let old = dkg::<C>(2, 3, 4);
    let p = *old[0].share().key_package().public().group_key();
    let all: Vec<&Device<C>> = old.iter().collect();
    let a = params(&all[..2], &all, 2, 50);
    let report_a = run(&a, &all, 50, |e| {
        if round(&e) == (Kind::Reshare, 4) {
            vec![]
        } else {
            vec![e]
        }
    });
    assert!(report_a.outcomes.iter().all(|o| o.done().is_none()));
    for d in &old {
        assert!(d.record.lock().unwrap().pending().is_some());
    }
    epoch_zero_signs(&all, 2);
    let b = params(&all[..2], &all, 2, 51);
    let report_b = run(&b, &all, 51, |e| vec![e]);
    assert!(report_b.outcomes.iter().all(|o| o.done().is_none()));
    for d in &old {
        let mut r = d.record.lock().unwrap();
        let staged = r.pending().unwrap().1.clone();
        assert!(matches!(
            r.stage([51; 32], staged),
            Err(EpochError::TransitionPending(0))
        ));
    }
    for d in &old {
        assert!(d.record.lock().unwrap().abandon(&[50; 32]));
    }
    reshare(&all[..2], &all, 2, 52);
    check_epoch(&all, 2, &p, 1);
}

fn superseded<C: Ciphersuite>() {
    let old = dkg::<C>(2, 3, 5);
    let all: Vec<&Device<C>> = old.iter().collect();
    let transition = reshare(&all[1..], &all, 2, 60);
    for d in &old {
        let r = d.record.lock().unwrap();
        assert!(matches!(
            r.share_for(0),
            Err(EpochError::Superseded {
                asked: 0,
                active: 1
            })
        ));
        assert_eq!(r.share_for(1).unwrap().epoch(), 1);
        assert!(matches!(r.share_for(2), Err(EpochError::NoShare(2))));
    }
    // Applying the same transition twice is refused; a tampered one never verifies.
    let mut r = old[0].record.lock().unwrap();
    assert!(r.commit(&transition).is_err());
    let mut bad = transition.clone();
    bad.test_signature[40] ^= 1;
    assert!(matches!(r.commit(&bad), Err(EpochError::Commitment(_))));
    drop(r);
    // A device that only dealt retires with the transition relayed to it.
    let old = dkg::<C>(2, 3, 6);
    let transition = reshare(&[&old[0], &old[1]], &[&old[1], &old[2]], 2, 61);
    assert!(!old[0].has_share());
    let offline = dkg::<C>(2, 3, 6);
    assert_eq!(
        offline[0].record.lock().unwrap().commit(&transition),
        Ok(Committed::Retired)
    );
}
