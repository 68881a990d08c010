//! The DKG of design §3.1 through the simulation harness, for every suite: honest runs,
//! certification and relay, and every kind of blame the issue names.

mod common;

use common::*;
use ff::Field as _;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{
    lagrange::lagrange_coefficient,
    protocol::Header,
    sim::{Envelope, Simulation},
    Blame, Ciphersuite, Culprit, Ed25519, Evidence, Fault, Identifier, IdentitySigner, Protocol,
    Secp256k1, Taproot,
};
use tessera_keygen::{dkg::Dkg, KeyShare, KeygenError, PendingKeyShare};

fn pending_all<C: Ciphersuite>(t: u16, n: u16, seed: u64) -> Vec<PendingKeyShare<C>> {
    let report = run::<C>(t, n, seed, |e| vec![e]);
    report.all_done().expect("every party finishes")
}

fn activate_all<C: Ciphersuite>(pending: &[PendingKeyShare<C>]) -> Vec<KeyShare<C>> {
    let certs = certify(pending, |e| vec![e])
        .all_done()
        .expect("all certify");
    pending
        .iter()
        .zip(&certs)
        .map(|(p, c)| p.activate(c).unwrap())
        .collect()
}

/// Any t shares interpolate to the discrete log of the group key.
fn assert_shares_reconstruct<C: Ciphersuite>(shares: &[KeyShare<C>], t: usize) {
    let public = shares[0].key_package().public().clone();
    for window in shares.windows(t) {
        let ids: Vec<Identifier> = window
            .iter()
            .map(|s| s.key_package().identifier())
            .collect();
        let mut secret = C::Scalar::ZERO;
        for s in window {
            let id = s.key_package().identifier();
            let l = lagrange_coefficient::<C>(id, &ids).unwrap();
            secret += l * s.key_package().signing_share().expose_secret();
        }
        assert_eq!(C::mul_base(&secret), *public.group_key());
    }
    // t - 1 shares do not.
    let few = &shares[..t - 1];
    let ids: Vec<Identifier> = few.iter().map(|s| s.key_package().identifier()).collect();
    let mut partial = C::Scalar::ZERO;
    for s in few {
        let l = lagrange_coefficient::<C>(s.key_package().identifier(), &ids).unwrap();
        partial += l * s.key_package().signing_share().expose_secret();
    }
    assert_ne!(C::mul_base(&partial), *public.group_key());
}

fn honest<C: Ciphersuite>() {
    for (t, n, seed) in [(2u16, 3u16, 1u64), (3, 5, 2), (4, 4, 3)] {
        let pending = pending_all::<C>(t, n, seed);
        let key_id = *pending[0].key_id();
        assert!(pending.iter().all(|p| p.key_id() == &key_id));
        let shares = activate_all(&pending);
        for s in &shares {
            assert_eq!(s.epoch(), 0);
            assert_eq!(s.key_package().public(), shares[0].key_package().public());
            let public = s.public();
            public.verify().unwrap();
            let json = serde_json::to_string(&public).unwrap();
            let back: tessera_keygen::PublicKeyShare = serde_json::from_str(&json).unwrap();
            assert_eq!(back, public);
            back.verify().unwrap();
            // No secret in Debug.
            let dbg = format!("{s:?}");
            let secret_hex = hex::encode(*s.key_package().signing_share().to_bytes());
            assert!(!dbg.contains(&secret_hex));
        }
        assert_shares_reconstruct(&shares, usize::from(t));
    }
}

fn tampered_public_data_fails_verification<C: Ciphersuite>() {
    let shares = activate_all(&pending_all::<C>(2, 3, 9));
    let mut public = shares[1].public();
    public.threshold = 3;
    assert!(public.verify().is_err());
    let mut public = shares[1].public();
    public.verifying_shares.swap(0, 1);
    assert!(public.verify().is_err());
    let mut public = shares[1].public();
    public.certificate.as_mut().unwrap().signatures[2][5] ^= 1;
    assert!(public.verify().is_err());
    let mut public = shares[1].public();
    public.fingerprint = "0000-0000-0000-0000".into();
    assert!(public.verify().is_err());
    let mut public = shares[1].public();
    public.identifier = 4;
    assert!(public.verify().is_err());
    // Party 1's record checks out for party 1's identity only.
    let ids = identities(3);
    let public = shares[1].public();
    public.verify_member(&ids[1].identity()).unwrap();
    assert!(public.verify_member(&ids[0].identity()).is_err());
}

fn duplicates_and_reordering_are_harmless<C: Ciphersuite>() {
    let report = run::<C>(3, 5, 4, |e| vec![e.clone(), e]);
    assert!(report.all_done().is_some());
}

/// Every honest party's error, with the culprits it names.
fn culprits_at<C: Ciphersuite>(
    report: tessera_core::sim::Report<Dkg<C>>,
    honest: &[usize],
) -> Vec<Vec<Culprit>> {
    honest
        .iter()
        .map(|&i| match &report.outcomes[i] {
            tessera_core::sim::Outcome::Failed(e) => e.culprits().to_vec(),
            other => panic!("party {i} should have failed, got {other:?}"),
        })
        .collect()
}

fn only_culprit(c: &[Culprit], party: u16, fault: impl Fn(&Fault) -> bool, proven: bool) {
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!(c[0].party, party);
    assert!(fault(&c[0].fault), "{:?}", c[0].fault);
    assert_eq!(c[0].evidence.is_proven(), proven, "{:?}", c[0].evidence);
}

fn wrong_share_is_accused_by_receiver<C: Ciphersuite>() {
    // Party 1 sends party 0 a share off by one.
    let report = run::<C>(2, 3, 5, |mut e| {
        if e.from == 1 && e.to == 0 && round_of(&e) == 2 {
            let at = Header::LEN;
            let s = C::deserialize_scalar(&e.payload[at..at + 32]).unwrap() + C::Scalar::ONE;
            e.payload[at..at + 32].copy_from_slice(&C::serialize_scalar(&s));
        }
        vec![e]
    });
    let c = match &report.outcomes[0] {
        tessera_core::sim::Outcome::Failed(e) => e.culprits().to_vec(),
        other => panic!("party 0 should have failed, got {other:?}"),
    };
    only_culprit(&c, 1, |f| *f == Fault::BadShare, false);
    assert_eq!(c[0].evidence, Evidence::AccusedBy(0));
    // Parties 1 and 2 finished with pending shares, but party 0 never confirms: their
    // certification waits forever and nothing activates.
    let pending: Vec<PendingKeyShare<C>> = report
        .outcomes
        .into_iter()
        .skip(1)
        .map(|o| o.into_done().expect("parties 1 and 2 finish"))
        .collect();
    let parties = pending
        .iter()
        .map(|p| tessera_keygen::certify::Certify::new(p, SESSION))
        .collect();
    let certs = Simulation::new(parties).run();
    assert!(certs.outcomes.iter().all(|o| o.done().is_none()));
}

fn bad_proof_is_proven<C: Ciphersuite>() {
    let report = run::<C>(2, 3, 6, move |mut e| {
        if e.from == 1 && round_of(&e) == 1 {
            // Flip μ (the 32 bytes before the signature) to another valid scalar, re-sign.
            let end = e.payload.len() - 64;
            let mu = C::deserialize_scalar(&e.payload[end - 32..end]).unwrap() + C::Scalar::ONE;
            let mut unsigned = e.payload[..end].to_vec();
            unsigned[end - 32..].copy_from_slice(&C::serialize_scalar(&mu));
            e.payload = resign::<C>(&unsigned, 2, 3, 1);
        }
        vec![e]
    });
    for c in culprits_at(report, &[0, 2]) {
        only_culprit(&c, 1, |f| *f == Fault::BadProof, true);
    }
}

fn equivocation_is_proven_by_two_signed_messages<C: Ciphersuite>() {
    // Party 1 runs a second instance (other randomness) and shows its round-1 message to
    // party 2 only.
    let (mut twin, _) = parties::<C>(2, 3, 77);
    let other = twin.remove(1).start().unwrap().remove(0).payload.clone();
    // Under every delivery order both honest parties end with the proof; neither waits.
    for seed in 7..27 {
        let other = other.clone();
        let report = run::<C>(2, 3, seed, move |mut e| {
            if e.from == 1 && e.to == 2 && round_of(&e) == 1 {
                e.payload = other.clone();
            }
            vec![e]
        });
        for c in culprits_at(report, &[0, 2]) {
            only_culprit(&c, 1, |f| *f == Fault::Equivocation, true);
            let Evidence::Proven(messages) = &c[0].evidence else {
                unreachable!()
            };
            assert_eq!(messages.len(), 2);
            assert_ne!(messages[0], messages[1]);
        }
    }
}

fn false_echo_is_accused<C: Ciphersuite>() {
    // Party 1 reports a wrong echo hash to party 0 only.
    let report = run::<C>(2, 3, 8, |mut e| {
        if e.from == 1 && e.to == 0 && round_of(&e) == 2 {
            let last = e.payload.len() - 1;
            e.payload[last] ^= 1;
        }
        vec![e]
    });
    let c = culprits_at(report, &[0]);
    only_culprit(&c[0], 1, |f| *f == Fault::FalseEcho, false);
}

fn wrong_commitment_count_is_proven<C: Ciphersuite>() {
    // Party 1 believes t = 3.
    let ids = identities(3);
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let mut liar = Dkg::<C>::new(params(3, &ids), 1, ids[1].clone(), &mut rng).unwrap();
    let liar_msg = liar.start().unwrap().remove(0).payload.clone();
    // Signed by party 1 within the real 2-of-3 parameters, so the wrong count is proven.
    let liar_msg = resign::<C>(&liar_msg[..liar_msg.len() - 64], 2, 3, 1);
    let report = run::<C>(2, 3, 10, move |mut e| {
        if e.from == 1 && round_of(&e) == 1 {
            e.payload = liar_msg.clone();
        }
        vec![e]
    });
    for c in culprits_at(report, &[0, 2]) {
        only_culprit(
            &c,
            1,
            |f| {
                *f == Fault::CommitmentCount {
                    expected: 2,
                    got: 3,
                }
            },
            true,
        );
    }
}

fn different_repeat_and_unknown_sender<C: Ciphersuite>() {
    // A different repeat of a round-2 message.
    let report = run::<C>(2, 3, 11, |e| {
        if e.from == 2 && e.to == 0 && round_of(&e) == 2 {
            let mut other = e.clone();
            let last = other.payload.len() - 1;
            other.payload[last] ^= 0x80;
            return vec![e, other];
        }
        vec![e]
    });
    let c = culprits_at(report, &[0]);
    assert!(c[0].iter().any(|c| c.party == 2), "{c:?}");

    // A sender outside the roster.
    let report = run::<C>(2, 3, 12, |mut e| {
        if e.from == 1 && e.to == 0 {
            e.from = 9;
        }
        vec![e]
    });
    let c = culprits_at(report, &[0]);
    only_culprit(&c[0], 9, |f| *f == Fault::UnknownSender, false);
}

fn other_session_and_round<C: Ciphersuite>() {
    let report = run::<C>(2, 3, 13, |mut e| {
        if e.from == 1 && e.to == 0 {
            e.payload[5] ^= 1; // inside the session id
        }
        vec![e]
    });
    only_culprit(
        &culprits_at(report, &[0])[0],
        1,
        |f| *f == Fault::WrongSession,
        false,
    );

    let report = run::<C>(2, 3, 14, |mut e| {
        if e.from == 2 && e.to == 1 {
            e.payload[Header::LEN - 1] = 7;
        }
        vec![e]
    });
    only_culprit(
        &culprits_at(report, &[1])[0],
        2,
        |f| *f == Fault::WrongRound(7),
        false,
    );
}

fn invalid_encodings<C: Ciphersuite>() {
    // A commitment point that does not decode, validly signed: proven.
    let report = run::<C>(2, 3, 15, move |mut e| {
        if e.from == 2 && round_of(&e) == 1 {
            let end = e.payload.len() - 64;
            let mut unsigned = e.payload[..end].to_vec();
            let at = Header::LEN + 2;
            unsigned[at..at + C::WIRE_POINT_LEN].fill(0xff);
            e.payload = resign::<C>(&unsigned, 2, 3, 2);
        }
        vec![e]
    });
    for c in culprits_at(report, &[0, 1]) {
        only_culprit(&c, 2, |f| matches!(f, Fault::Encoding(_)), true);
    }

    // A non-canonical share scalar: accused.
    let report = run::<C>(2, 3, 16, |mut e| {
        if e.from == 0 && e.to == 1 && round_of(&e) == 2 {
            e.payload[Header::LEN..Header::LEN + 32].fill(0xff);
        }
        vec![e]
    });
    only_culprit(
        &culprits_at(report, &[1])[0],
        0,
        |f| matches!(f, Fault::Encoding(_)),
        false,
    );

    // A round-1 message whose signature does not verify: accused.
    let report = run::<C>(2, 3, 17, |mut e| {
        if e.from == 0 && e.to == 2 && round_of(&e) == 1 {
            e.payload[Header::LEN + 3] ^= 1;
        }
        vec![e]
    });
    only_culprit(
        &culprits_at(report, &[2])[0],
        0,
        |f| *f == Fault::BadSignature,
        false,
    );
}

fn garbage_never_panics<C: Ciphersuite>() {
    let mut rng = ChaCha20Rng::seed_from_u64(18);
    use rand_chacha::rand_core::Rng as _;
    for len in [0usize, 1, 33, 34, 35, 100, 300] {
        for round in 0u8..5 {
            let (mut ps, _) = parties::<C>(2, 3, 19);
            let mut payload = vec![0u8; len];
            rng.fill_bytes(&mut payload);
            if len >= Header::LEN {
                let h = Header {
                    kind: tessera_core::protocol::Kind::Keygen,
                    session: SESSION,
                    round,
                };
                payload[..Header::LEN].copy_from_slice(&h.encode());
            }
            let err = ps[0].receive(1, &payload).err();
            assert!(err.is_some(), "len {len} round {round}");
            assert!(!err.unwrap().culprits().is_empty());
        }
    }
}

fn parameters_out_of_range<C: Ciphersuite>() {
    let ids = identities(3);
    let mut rng = ChaCha20Rng::seed_from_u64(20);
    for t in [0u16, 1, 4] {
        let err = Dkg::<C>::new(params(t, &ids), 0, ids[0].clone(), &mut rng)
            .err()
            .unwrap();
        assert!(matches!(err, KeygenError::Parameters(_)), "{err}");
        assert!(err.to_string().contains("out of range"), "{err}");
    }
    let err = Dkg::<C>::new(params(2, &ids), 1, ids[0].clone(), &mut rng)
        .err()
        .unwrap();
    assert!(matches!(err, KeygenError::Parameters(_)));
    let mut p = params(2, &ids);
    p.roster[2] = p.roster[0];
    assert!(Dkg::<C>::new(p, 0, ids[0].clone(), &mut rng).is_err());
    let one = identities(1);
    assert!(Dkg::<C>::new(params(2, &one), 0, one[0].clone(), &mut rng).is_err());
}

fn bad_confirmation_is_named_and_nothing_activates<C: Ciphersuite>() {
    let pending = pending_all::<C>(2, 3, 21);
    // Party 1 sends a bad confirmation and relays nothing.
    let report = certify(&pending, |mut e| {
        if e.from == 1 && round_of(&e) == 2 {
            return vec![];
        }
        if e.from == 1 && round_of(&e) == 1 {
            let last = e.payload.len() - 1;
            e.payload[last] ^= 1;
        }
        vec![e]
    });
    for (i, o) in report.outcomes.iter().enumerate() {
        if i == 1 {
            continue;
        }
        let e = o.failed().expect("no certificate without party 1");
        assert_eq!(e.culprits()[0].party, 1);
        assert_eq!(e.culprits()[0].fault, Fault::BadConfirmation);
    }
}

fn withheld_confirmation_is_relayed<C: Ciphersuite>() {
    let pending = pending_all::<C>(3, 5, 22);
    // Party 4 withholds its confirmation from parties 0 and 1; relays still flow.
    let report = certify(&pending, |e| {
        if e.from == 4 && round_of(&e) == 1 && e.to <= 1 {
            return vec![];
        }
        vec![e]
    });
    let certs = report.all_done().expect("the relay completes everyone");
    for (p, c) in pending.iter().zip(&certs) {
        p.activate(c).unwrap();
    }

    // Party 4 also sends party 0 a garbage relay first: it is ignored, and the valid relay
    // that follows still activates party 0.
    let report = certify(&pending, |e| {
        if e.from == 4 && e.to == 0 && round_of(&e) == 1 {
            let mut garbage = e.clone();
            garbage.payload[Header::LEN - 1] = 2;
            return vec![garbage];
        }
        vec![e]
    });
    assert!(report.all_done().is_some());

    // The same, but relays to 0 and 1 are lost too: they keep their pending shares and
    // activate once a certificate reaches them later.
    let report = certify(&pending, |e| {
        if e.to <= 1 && (e.from == 4 || round_of(&e) == 2) {
            return vec![];
        }
        vec![e]
    });
    assert!(report.outcomes[0].done().is_none() && report.outcomes[1].done().is_none());
    let cert = report.outcomes[2].done().unwrap().clone();
    let late = pending[0].activate(&cert).unwrap();
    assert_eq!(late.key_id(), pending[0].key_id());
    // A certificate for another key never activates.
    let other = pending_all::<C>(3, 5, 23);
    assert!(other[0].activate(&cert).is_err());
}

macro_rules! per_suite {
    ($($name:ident),* $(,)?) => {
        mod ed25519 { $(#[test] fn $name() { super::$name::<super::Ed25519>() })* }
        mod secp256k1 { $(#[test] fn $name() { super::$name::<super::Secp256k1>() })* }
        mod taproot { $(#[test] fn $name() { super::$name::<super::Taproot>() })* }
    };
}

per_suite!(
    honest,
    tampered_public_data_fails_verification,
    duplicates_and_reordering_are_harmless,
    wrong_share_is_accused_by_receiver,
    bad_proof_is_proven,
    equivocation_is_proven_by_two_signed_messages,
    false_echo_is_accused,
    wrong_commitment_count_is_proven,
    different_repeat_and_unknown_sender,
    other_session_and_round,
    invalid_encodings,
    garbage_never_panics,
    parameters_out_of_range,
    bad_confirmation_is_named_and_nothing_activates,
    withheld_confirmation_is_relayed,
);

#[test]
fn simulation_reports_waiting_parties() {
    // Dropping every message from party 2 leaves the others waiting, not failed.
    let (parties, _) = parties::<Ed25519>(2, 3, 30);
    let report = Simulation::new(parties)
        .router(|e: Envelope| if e.from == 2 { vec![] } else { vec![e] })
        .run();
    assert!(report
        .outcomes
        .iter()
        .all(|o| o.done().is_none() && o.failed().is_none()));
}
