//! Misbehaving dealers and new parties, through the harness for every suite (design §3.3):
//! each culprit is named individually with the strength of the evidence, the errors are
//! typed, and nothing panics. Epoch e stays active everywhere.

#[macro_use]
mod common;

use std::sync::Arc;

use common::*;
use ff::Field as _;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{
    protocol::{Header, Kind},
    sim::{short_signed_payloads, Envelope, Outcome, Report},
    Blame, Ciphersuite, Culprit, Ed25519, Ed25519Identity, Evidence, Fault, IdentitySigner,
    PartyIndex, Protocol, RandomizedIdentity, Secp256k1, Taproot,
};
use tessera_keygen::dkg::round1::signed_part;
use tessera_keygen::CONFIRM_PURPOSE;
use tessera_reshare::{ReshareError, ReshareParams, ReshareParty, DEAL_PURPOSE};

all_suites! {
    wrong_constant_term_is_named_individually => wrong_constant_term;
    offsetting_constant_terms_are_both_named => offsetting_constant_terms;
    bad_share_is_accused_by_its_receiver => bad_share;
    equivocating_dealer_is_proven => equivocation;
    tampered_old_data_is_proven => tampered_old_data;
    wrong_commitment_count_is_proven => wrong_commitment_count;
    garbage_never_panics => garbage;
    bad_confirmation_is_named => bad_confirmation;
    false_echo_is_accused => false_echo;
    joiner_expecting_another_key_gets_nothing => joiner_expects_another_key;
    invalid_parameters_are_refused => invalid_parameters;
    short_signed_deal_is_refused => short_signed_deal;
    randomized_deal_signatures_change_nothing => randomized_deals;
    randomized_confirmations_change_nothing => randomized_confirmations;
}

/// A 2-of-3 key refreshed by dealers 0 and 1 into {0, 1, 2} plus a joiner (3-of-4).
struct World<C: Ciphersuite> {
    old: Vec<Device<C>>,
    joiner: Device<C>,
    params: ReshareParams,
}

impl<C: Ciphersuite> World<C> {
    fn new(seed: u64) -> Self {
        let old = dkg::<C>(2, 3, seed);
        let joiner = joiner::<C>(90, *old[0].share().key_package().public().group_key());
        let params = params(
            &[&old[0], &old[1], &old[2]],
            &[&old[0], &old[1], &old[2], &joiner],
            3,
            7,
        );
        World {
            old,
            joiner,
            params,
        }
    }

    fn everyone(&self) -> Vec<&Device<C>> {
        self.old.iter().chain([&self.joiner]).collect()
    }

    fn run(
        &self,
        router: impl FnMut(Envelope) -> Vec<Envelope> + 'static,
    ) -> Report<ReshareParty<C>> {
        let report = run(&self.params, &self.everyone(), 3, router);
        // Whatever happened, nobody moved on: epoch 0 is active at every old device.
        assert!(report.outcomes.iter().all(|o| o.done().is_none()));
        for d in &self.old {
            assert_eq!(d.share().epoch(), 0);
        }
        report
    }

    /// Identity of device `i` of the session roster.
    fn signer(&self, i: PartyIndex) -> Arc<Ed25519Identity> {
        let key = self.params.devices()[usize::from(i)];
        self.everyone()
            .into_iter()
            .find(|d| d.key() == key)
            .unwrap()
            .identity
            .clone()
    }

    /// Device 1's identity key, signing with a fresh nonce each time: another valid
    /// signature over the same bytes on every call.
    fn randomized(&self) -> RandomizedIdentity {
        let signer = RandomizedIdentity::from_seed(&[2; 32]);
        assert_eq!(signer.identity(), self.signer(1).identity());
        signer
    }

    /// A deal re-signed by its sender after `edit` changed its signed bytes.
    fn resign(&self, from: PartyIndex, payload: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
        let mut unsigned = payload[..payload.len() - 64].to_vec();
        edit(&mut unsigned);
        let context = self.params.context(C::SUITE);
        let sig = self
            .signer(from)
            .sign(DEAL_PURPOSE, &signed_part(&context, from, &unsigned));
        unsigned.extend_from_slice(&sig);
        unsigned
    }
}

fn round(e: &Envelope) -> (Kind, u8) {
    let (h, _) = Header::decode(&e.payload).unwrap();
    (h.kind, h.round)
}

/// Where a deal's commitments start.
fn commitments_at(payload: &[u8]) -> usize {
    let len = u32::from_be_bytes(payload[Header::LEN..Header::LEN + 4].try_into().unwrap());
    Header::LEN + 4 + len as usize + 2
}

/// Adds `k·G` to the commitment point at `index` of a deal.
fn shift_point<C: Ciphersuite>(unsigned: &mut [u8], index: usize, k: i64) {
    let at = commitments_at(unsigned) + index * C::WIRE_POINT_LEN;
    let p = C::read_wire_point(&unsigned[at..at + C::WIRE_POINT_LEN]).unwrap();
    let s = C::Scalar::from(k.unsigned_abs());
    let s = if k < 0 { -s } else { s };
    let mut out = Vec::new();
    C::write_wire_point(&(p + C::mul_base(&s)), &mut out).unwrap();
    unsigned[at..at + C::WIRE_POINT_LEN].copy_from_slice(&out);
}

/// The culprits every failed device names.
fn failures<C: Ciphersuite>(report: &Report<ReshareParty<C>>) -> Vec<Vec<Culprit>> {
    report
        .outcomes
        .iter()
        .filter_map(|o| o.failed().map(|e| e.culprits().to_vec()))
        .collect()
}

fn wrong_constant_term<C: Ciphersuite>() {
    let w = World::<C>::new(1);
    // Device 1 deals a polynomial whose constant term is off by G, to everyone alike.
    let dealer = 1;
    let tamper = World::<C>::new(1);
    let report = w.run(move |mut e| {
        if e.from == dealer && round(&e) == (Kind::Reshare, 1) {
            e.payload = tamper.resign(dealer, &e.payload, |u| shift_point::<C>(u, 0, 1));
        }
        vec![e]
    });
    let named = failures(&report);
    assert!(!named.is_empty());
    for culprits in named {
        assert_eq!(culprits.len(), 1);
        assert_eq!(culprits[0].party, dealer);
        assert!(matches!(culprits[0].fault, Fault::Inconsistent(_)));
        assert!(culprits[0].evidence.is_proven());
    }
}

fn offsetting_constant_terms<C: Ciphersuite>() {
    // Dealers 0 and 2 shift their constant terms by +G and -G: the sum is still P, but each
    // is named on its own.
    let w = World::<C>::new(2);
    let tamper = World::<C>::new(2);
    let report = w.run(move |mut e| {
        if round(&e) == (Kind::Reshare, 1) && (e.from == 0 || e.from == 2) {
            let k = if e.from == 0 { 1 } else { -1 };
            e.payload = tamper.resign(e.from, &e.payload, |u| shift_point::<C>(u, 0, k));
        }
        vec![e]
    });
    // The culprits cannot see their own deals tampered; everyone else names both.
    for device in [1, 3] {
        let culprits = report.outcomes[device]
            .failed()
            .expect("aborts")
            .culprits()
            .to_vec();
        let parties: Vec<PartyIndex> = culprits.iter().map(|c| c.party).collect();
        assert_eq!(parties, vec![0, 2]);
        assert!(culprits.iter().all(|c| c.evidence.is_proven()));
    }
}

fn bad_share<C: Ciphersuite>() {
    let w = World::<C>::new(3);
    // Dealer 2's share to the joiner (device 3) is off by one.
    let report = w.run(|mut e| {
        if e.from == 2 && e.to == 3 && round(&e) == (Kind::Reshare, 2) {
            let at = Header::LEN;
            let s = C::deserialize_scalar(&e.payload[at..at + 32]).unwrap() + C::Scalar::ONE;
            e.payload[at..at + 32].copy_from_slice(&C::serialize_scalar(&s));
        }
        vec![e]
    });
    let joiner = report.outcomes[3].failed().expect("the joiner aborts");
    assert_eq!(
        joiner.culprits(),
        &[Culprit {
            party: 2,
            fault: Fault::BadShare,
            evidence: Evidence::AccusedBy(3),
        }]
    );
}

fn equivocation<C: Ciphersuite>() {
    // Dealer 0 sends the joiner a deal with another (validly signed) D_01.
    for seed in 0..5 {
        let w = World::<C>::new(4);
        let tamper = World::<C>::new(4);
        let report = run(&w.params, &w.everyone(), seed, move |mut e| {
            if e.from == 0 && e.to == 3 && round(&e) == (Kind::Reshare, 1) {
                e.payload = tamper.resign(0, &e.payload, |u| shift_point::<C>(u, 1, 5));
            }
            vec![e]
        });
        assert!(report.outcomes.iter().all(|o| o.done().is_none()));
        let proofs: Vec<Culprit> = failures(&report)
            .into_iter()
            .flatten()
            .filter(|c| c.fault == Fault::Equivocation)
            .collect();
        assert!(!proofs.is_empty(), "someone proves the equivocation");
        for c in proofs {
            assert_eq!(c.party, 0);
            let Evidence::Proven(messages) = &c.evidence else {
                panic!("equivocation is proven")
            };
            assert_eq!(messages.len(), 2);
            assert_ne!(messages[0], messages[1]);
            let context = w.params.context(C::SUITE);
            for m in messages {
                let (unsigned, sig) = m.split_at(m.len() - 64);
                assert!(w.old[0].key().verify(
                    DEAL_PURPOSE,
                    &signed_part(&context, 0, unsigned),
                    sig
                ));
            }
        }
        // Nobody blames an honest device.
        for c in failures(&report).into_iter().flatten() {
            assert_eq!(c.party, 0, "{c}");
        }
    }
}

fn tampered_old_data<C: Ciphersuite>() {
    let w = World::<C>::new(5);
    let tamper = World::<C>::new(5);
    // Dealer 1 sends old public data with one verifying share changed (the last byte of the
    // encoding before the certificate would be a point byte; flip the threshold instead).
    let report = w.run(move |mut e| {
        if e.from == 1 && round(&e) == (Kind::Reshare, 1) {
            e.payload = tamper.resign(1, &e.payload, |u| u[Header::LEN + 4 + 1] ^= 1);
        }
        vec![e]
    });
    let named = failures(&report);
    assert!(!named.is_empty());
    for culprits in named {
        assert_eq!(culprits.len(), 1);
        assert_eq!(culprits[0].party, 1);
        assert!(matches!(culprits[0].fault, Fault::Inconsistent(_)));
        assert!(culprits[0].evidence.is_proven());
    }
}

fn wrong_commitment_count<C: Ciphersuite>() {
    let w = World::<C>::new(6);
    let tamper = World::<C>::new(6);
    let report = w.run(move |mut e| {
        if e.from == 2 && round(&e) == (Kind::Reshare, 1) {
            e.payload = tamper.resign(2, &e.payload, |u| {
                let at = commitments_at(u);
                u[at - 2..at].copy_from_slice(&2u16.to_be_bytes());
                u.truncate(at + 2 * C::WIRE_POINT_LEN);
            });
        }
        vec![e]
    });
    for culprits in failures(&report) {
        assert_eq!(culprits.len(), 1);
        assert_eq!(culprits[0].party, 2);
        assert_eq!(
            culprits[0].fault,
            Fault::CommitmentCount {
                expected: 3,
                got: 2
            }
        );
        assert!(culprits[0].evidence.is_proven());
    }
}

fn garbage<C: Ciphersuite>() {
    // Every round's messages from device 1, cut short, extended or overwritten: typed errors,
    // never a panic, and never a new epoch. A garbage certificate relay (round 5) is optional
    // help and ignored: the reshare completes.
    for (kind, r) in [
        (Kind::Reshare, 1),
        (Kind::Reshare, 2),
        (Kind::Reshare, 4),
        (Kind::Reshare, 7),
        (Kind::Reshare, 8),
        (Kind::Reshare, 5),
    ] {
        for edit in 0..4u8 {
            let w = World::<C>::new(7);
            let router = move |mut e: Envelope| {
                if e.from == 1 && round(&e) == (kind, r) {
                    match edit {
                        0 => e.payload.truncate(Header::LEN + 3),
                        1 => e.payload.extend_from_slice(&[0xff; 7]),
                        2 => e.payload[Header::LEN..].iter_mut().for_each(|b| *b = 0xee),
                        _ => e.payload.truncate(Header::LEN),
                    }
                }
                vec![e]
            };
            if r == 5 {
                let report = run(&w.params, &w.everyone(), 3, router);
                assert!(report.outcomes.iter().all(|o| o.done().is_some()));
            } else {
                let report = w.run(router);
                assert!(report
                    .outcomes
                    .iter()
                    .any(|o| matches!(o, Outcome::Failed(_))));
            }
        }
    }
}

fn joiner_expects_another_key<C: Ciphersuite>() {
    let w = World::<C>::new(8);
    let other = dkg::<C>(2, 3, 80);
    let mut params = w.params.clone();
    params.group_key = C::serialize_point(other[0].share().key_package().public().group_key())
        .unwrap()
        .as_ref()
        .to_vec();
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut joiner = ReshareParty::<C>::joiner(
        params,
        w.joiner.identity.clone(),
        w.joiner.persist(),
        &mut rng,
    )
    .unwrap();
    // The joiner's view of the session differs from the dealers': their deals do not verify
    // for it, and it never accepts a share.
    let dealers = parties::<C>(&w.params, &w.everyone(), 9);
    let mut refused = 0;
    for (i, mut d) in dealers.into_iter().enumerate().take(3) {
        for out in tessera_core::Protocol::start(&mut d).unwrap() {
            let r = tessera_core::Protocol::receive(&mut joiner, i as PartyIndex, &out.payload);
            if let Err(e) = r {
                assert!(matches!(e, ReshareError::Misbehaviour(_)));
                refused += 1;
                break;
            }
        }
        if refused > 0 {
            break;
        }
    }
    assert_eq!(refused, 1);
    assert!(w.joiner.record.lock().unwrap().pending().is_none());
}

fn invalid_parameters<C: Ciphersuite>() {
    let w = World::<C>::new(9);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let build = |p: ReshareParams, rng: &mut ChaCha20Rng| {
        ReshareParty::<C>::dealer(
            p,
            &mut w.old[0].record.lock().unwrap(),
            w.old[0].identity.clone(),
            w.old[0].persist(),
            rng,
        )
    };
    let mut p = w.params.clone();
    p.new_threshold = 1;
    assert!(matches!(
        build(p, &mut rng),
        Err(ReshareError::Parameters(_))
    ));
    let mut p = w.params.clone();
    p.new_threshold = 5;
    assert!(matches!(
        build(p, &mut rng),
        Err(ReshareError::Parameters(_))
    ));
    let mut p = w.params.clone();
    p.dealers.truncate(1);
    assert!(matches!(
        build(p, &mut rng),
        Err(ReshareError::Parameters(_))
    ));
    let mut p = w.params.clone();
    p.dealers.swap(0, 1);
    assert!(matches!(
        build(p, &mut rng),
        Err(ReshareError::Parameters(_))
    ));
    let mut p = w.params.clone();
    p.old_key_id[0] ^= 1;
    assert!(matches!(
        build(p, &mut rng),
        Err(ReshareError::Parameters(_))
    ));
    let mut p = w.params.clone();
    p.new_roster[1] = p.new_roster[0];
    assert!(matches!(
        build(p, &mut rng),
        Err(ReshareError::Parameters(_))
    ));
    // A 3-of-5 key cannot be reshared by two dealers.
    let old = dkg::<C>(3, 5, 10);
    let p = params(&[&old[0], &old[1]], &[&old[0], &old[1], &old[2]], 2, 3);
    let r = ReshareParty::<C>::dealer(
        p,
        &mut old[0].record.lock().unwrap(),
        old[0].identity.clone(),
        old[0].persist(),
        &mut rng,
    );
    assert!(matches!(r, Err(ReshareError::Parameters(_))));
}

fn bad_confirmation<C: Ciphersuite>() {
    let w = World::<C>::new(10);
    // The joiner's confirmation is corrupted on its way to device 0 only.
    let report = w.run(|mut e| {
        if e.from == 3 && e.to == 0 && round(&e) == (Kind::Reshare, 4) {
            e.payload[Header::LEN] ^= 1;
        }
        vec![e]
    });
    let named = report.outcomes[0].failed().expect("device 0 aborts");
    assert_eq!(
        named.culprits(),
        &[Culprit {
            party: 3,
            fault: Fault::BadConfirmation,
            evidence: Evidence::AccusedBy(0),
        }]
    );
}

fn false_echo<C: Ciphersuite>() {
    let w = World::<C>::new(11);
    // Dealer 2 tells the joiner it saw other deals than it did.
    let report = w.run(|mut e| {
        if e.from == 2 && e.to == 3 && round(&e) == (Kind::Reshare, 2) {
            let at = Header::LEN + 32;
            e.payload[at] ^= 1;
        }
        vec![e]
    });
    let named = report.outcomes[3].failed().expect("the joiner aborts");
    assert_eq!(
        named.culprits(),
        &[Culprit {
            party: 2,
            fault: Fault::FalseEcho,
            evidence: Evidence::AccusedBy(3),
        }]
    );
}

/// Every device of an honest run finished; returns the key id each one certified.
fn all_finished<C: Ciphersuite>(report: &Report<ReshareParty<C>>) -> Vec<[u8; 32]> {
    report
        .outcomes
        .iter()
        .map(|o| match o {
            Outcome::Done(out) => out.transition.certificate.key_id,
            other => panic!("every device finishes: {other:?}"),
        })
        .collect()
}

fn short_signed_deal<C: Ciphersuite>() {
    // Device 1's deal cut to every shorter length and signed again with its real key: each
    // is refused with a typed error naming device 1, never a panic.
    let w = World::<C>::new(12);
    let honest = run(&w.params, &w.everyone(), 3, |e| vec![e]);
    let (_, deal) = honest
        .sent
        .iter()
        .find(|(from, o)| *from == 1 && Header::decode(&o.payload).is_ok_and(|(h, _)| h.round == 1))
        .expect("device 1 deals");
    let context = w.params.context(C::SUITE);
    let signer = w.randomized();
    let payloads = short_signed_payloads(&deal.payload, |unsigned| {
        signer.sign(DEAL_PURPOSE, &signed_part(&context, 1, unsigned))
    });
    assert!(payloads.iter().any(|p| p.len() == Header::LEN + 63));
    for payload in payloads {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (id, persist) = (w.joiner.identity.clone(), w.joiner.persist());
        let mut joiner =
            ReshareParty::<C>::joiner(w.params.clone(), id, persist, &mut rng).unwrap();
        joiner.start().unwrap();
        let e = joiner
            .receive(1, &payload)
            .err()
            .unwrap_or_else(|| panic!("a {}-byte deal is refused", payload.len()));
        let culprits = e.culprits();
        assert_eq!(culprits.len(), 1, "{} bytes: {e}", payload.len());
        assert_eq!(culprits[0].party, 1, "{} bytes: {e}", payload.len());
    }
}

fn randomized_deals<C: Ciphersuite>() {
    // Dealer 1 shows the joiner its deal under another valid signature: what it signed is the
    // same, so the echoes agree and the reshare completes with one key id everywhere.
    let w = World::<C>::new(13);
    let (signer, context) = (w.randomized(), w.params.context(C::SUITE));
    let report = run(&w.params, &w.everyone(), 3, move |mut e| {
        if e.from == 1 && e.to == 3 && round(&e) == (Kind::Reshare, 1) {
            let unsigned = &e.payload[..e.payload.len() - 64];
            let sig = signer.sign(DEAL_PURPOSE, &signed_part(&context, 1, unsigned));
            assert_ne!(sig, e.payload[e.payload.len() - 64..]);
            e.payload = [unsigned, &sig].concat();
        }
        vec![e]
    });
    let key_ids = all_finished(&report);
    assert!(key_ids.iter().all(|k| *k == key_ids[0]));
}

fn randomized_confirmations<C: Ciphersuite>() {
    // New party 1 confirms to the joiner with another valid signature over the same key id.
    // The certificates differ between devices, but what they certify does not: the test
    // signature (over the key id) completes and every device commits the new epoch.
    let w = World::<C>::new(14);
    let honest = run(&w.params, &w.everyone(), 3, |e| vec![e]);
    let key_id = all_finished(&honest)[0];
    let signer = w.randomized();
    let report = run(&w.params, &w.everyone(), 3, move |mut e| {
        if e.from == 1 && e.to == 3 && round(&e) == (Kind::Reshare, 4) {
            e.payload.truncate(Header::LEN);
            e.payload
                .extend_from_slice(&signer.sign(CONFIRM_PURPOSE, &key_id));
        }
        vec![e]
    });
    assert!(all_finished(&report).iter().all(|k| *k == key_id));
    let everyone = w.everyone();
    commit(&w.params, &everyone, report);
    for d in everyone {
        assert_eq!(d.share().epoch(), 1);
    }
}
