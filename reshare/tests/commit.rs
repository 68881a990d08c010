//! The two-phase epoch commit (design §3.3 step 4, must), through the harness for every
//! suite: an abort before the certificate leaves epoch e intact and signing; a certificate
//! or test signature that reaches only some devices is relayed and all end on e+1; two
//! concurrent reshares from one epoch cannot both complete; epoch e is refused once e+1 is
//! active.

#[macro_use]
mod common;

use common::*;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{
    protocol::{Header, Kind},
    sim::{Envelope, Outcome},
    Ciphersuite, Ed25519, Secp256k1, Taproot,
};
use tessera_reshare::{Committed, EpochError, ReshareError, ReshareParty};

all_suites! {
    abort_before_certificate_keeps_epoch => abort_before_certificate;
    certificate_and_test_signature_are_relayed => relayed;
    concurrent_reshares_cannot_both_complete => concurrent;
    stalled_transition_blocks_until_abandoned => stalled_then_abandoned;
    superseded_epoch_is_refused => superseded;
    reshares_to_disjoint_committees_cannot_both_complete => disjoint_committees;
    new_party_activates_from_a_relayed_test_signature => withheld_test_share;
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
    commit(&params, &everyone, report);
    check_epoch(&new, 2, &p, 1);
    assert!(!old[0].has_share() && !old[2].has_share());
}

fn concurrent<C: Ciphersuite>() {
    // Two reshares of epoch 0 to the same committee by disjoint dealers, both built before
    // either runs. Each device takes part in the first it meets: B's dealers will not stage
    // A's shares, A's devices will not stage B's. Neither completes; epoch 0 still signs, and
    // once the user abandons both, a new reshare completes.
    let old = dkg::<C>(2, 4, 3);
    let p = *old[0].share().key_package().public().group_key();
    let all: Vec<&Device<C>> = old.iter().collect();
    let a = params(&all[..2], &all, 2, 40);
    let b = params(&all[2..], &all, 2, 41);
    let parties_b = parties(&b, &all, 41);
    let report_a = run(&a, &all, 40, |e| vec![e]);
    let report_b = tessera_core::sim::Simulation::new(parties_b).run();
    for o in report_a.outcomes.iter().chain(&report_b.outcomes) {
        assert!(o.done().is_none(), "{o:?}");
    }
    for (i, o) in report_a.outcomes.iter().enumerate().skip(2) {
        assert!(
            matches!(o.failed(), Some(ReshareError::Persist(_))),
            "A at {i}: {o:?}"
        );
    }
    for (i, o) in report_b.outcomes.iter().enumerate().take(2) {
        assert!(
            matches!(o.failed(), Some(ReshareError::Persist(_))),
            "B at {i}: {o:?}"
        );
    }
    epoch_zero_signs(&all, 2);
    for d in &old {
        let mut r = d.record.lock().unwrap();
        assert!(r.abandon(&[40; 32]) || r.abandon(&[41; 32]));
    }
    reshare(&all[1..3], &all, 3, 42);
    check_epoch(&all, 3, &p, 1);
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
    for d in &old {
        let mut r = d.record.lock().unwrap();
        let staged = r.pending().unwrap().1.clone();
        assert!(matches!(
            r.stage([51; 32], staged),
            Err(EpochError::TransitionPending(0))
        ));
    }
    // Its dealers refuse to deal in B at all.
    for d in &old[..2] {
        let refused = ReshareParty::dealer(
            b.clone(),
            &mut d.record.lock().unwrap(),
            d.identity.clone(),
            d.persist(),
            &mut ChaCha20Rng::seed_from_u64(51),
        );
        assert!(matches!(refused, Err(ReshareError::Parameters(_))));
    }
    for d in &old {
        assert!(d.record.lock().unwrap().abandon(&[50; 32]));
    }
    let report_b = run(&b, &all, 51, |e| vec![e]);
    commit(&b, &all, report_b);
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
    // Applying the same transition twice is refused: it succeeds epoch 0, not epoch 1.
    let mut r = old[0].record.lock().unwrap();
    assert_eq!(r.commit(&transition), Err(EpochError::NotSuccessor));
    drop(r);
    // A device that only dealt retires with the transition relayed to it; a tampered one
    // never verifies.
    let old = dkg::<C>(2, 3, 6);
    let transition = reshare(&[&old[0], &old[1]], &[&old[1], &old[2]], 2, 61);
    assert!(!old[0].has_share());
    let offline = dkg::<C>(2, 3, 6);
    let mut r = offline[0].record.lock().unwrap();
    let mut bad = transition.clone();
    bad.test_signature[40] ^= 1;
    assert!(matches!(r.commit(&bad), Err(EpochError::Commitment(_))));
    assert_eq!(r.commit(&transition), Ok(Committed::Retired));
}

fn disjoint_committees<C: Ciphersuite>() {
    // Dealers 0 and 1 move the key to {a, b}; a second reshare of epoch 0 by the same
    // dealers to {c, d} shares no new party with the first, so no joiner can refuse it: the
    // dealers do, while the first is under way and after it completes.
    let old = dkg::<C>(2, 3, 7);
    let p = *old[0].share().key_package().public().group_key();
    let [a, b, c, d] = [70, 71, 72, 73].map(|seed| joiner::<C>(seed, p));
    let first = params(&[&old[0], &old[1]], &[&a, &b], 2, 70);
    let second = params(&[&old[0], &old[1]], &[&c, &d], 2, 71);
    let everyone = [&a, &b, &old[0], &old[1]];
    let parties_first = parties(&first, &everyone, 70);
    for dealer in &old[..2] {
        let refused = ReshareParty::dealer(
            second.clone(),
            &mut dealer.record.lock().unwrap(),
            dealer.identity.clone(),
            dealer.persist(),
            &mut ChaCha20Rng::seed_from_u64(71),
        );
        assert!(
            matches!(refused, Err(ReshareError::Parameters(_))),
            "dealing in both"
        );
    }
    let report = tessera_core::sim::Simulation::new(parties_first).run();
    commit(&first, &everyone, report);
    check_epoch(&[&a, &b], 2, &p, 1);
    // The dealers retired: they hold nothing to deal from any more.
    assert!(!old[0].has_share() && !old[1].has_share());
}

fn withheld_test_share<C: Ciphersuite>() {
    // 2-of-3 → 4-of-4 with a joiner (t' = |N|: a new party left behind would freeze the key).
    // New party 1 withholds its test-signature share (reshare round 8) from the joiner, so the
    // joiner's own test signing cannot complete; the others' relayed test signature carries
    // it to epoch 1 with everyone else.
    let old = dkg::<C>(2, 3, 8);
    let p = *old[0].share().key_package().public().group_key();
    let j = joiner::<C>(80, p);
    let all = [&old[0], &old[1], &old[2], &j];
    let session = params(&all[..2], &all, 4, 80);
    let withheld = |e: &Envelope| e.from == 1 && e.to == 3 && round(e) == (Kind::Reshare, 8);
    let report = run(&session, &all, 80, move |e| {
        if withheld(&e) {
            vec![]
        } else {
            vec![e]
        }
    });
    commit(&session, &all, report);
    check_epoch(&all, 4, &p, 1);

    // With the relays lost too, the joiner still waits in the test signature, and names the
    // device that withheld its share (what a round deadline reports), and nobody else.
    let old = dkg::<C>(2, 3, 9);
    let p = *old[0].share().key_package().public().group_key();
    let j = joiner::<C>(81, p);
    let all = [&old[0], &old[1], &old[2], &j];
    let session = params(&all[..2], &all, 4, 81);
    let report = run(&session, &all, 81, move |e| {
        let relay_to_joiner = e.to == 3 && round(&e) == (Kind::Reshare, 6);
        if withheld(&e) || relay_to_joiner {
            vec![]
        } else {
            vec![e]
        }
    });
    assert!(report.outcomes[..3].iter().all(|o| o.done().is_some()));
    match &report.outcomes[3] {
        Outcome::Waiting(from) => assert_eq!(from, &vec![1]),
        other => panic!("the joiner waits for device 1: {other:?}"),
    }
    assert!(j.record.lock().unwrap().pending().is_some());
}
