//! `SignBatch`: several messages, each under its own child key, signed in one session for
//! every suite; a broken item or envelope names its sender, and no payload panics.

mod common;

use std::{collections::BTreeSet, sync::Arc};

use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{
    protocol::{Header, Kind},
    sim::{Outcome, Simulation},
    Blame, Ciphersuite, Ed25519Identity, Fault, Identifier, IdentityKey, IdentitySigner,
    KeyPackage, PartyIndex, Protocol, PublicKeyPackage, SessionId, Tweak,
};
use tessera_keygen::dealer::split_random;
use tessera_sign::{
    batch::item_session, SessionKey, SignBatch, SignBatchError, SignItem, SigningRequest,
};

const SESSION: SessionId = [9; 32];

struct World<C: Ciphersuite> {
    keys: Vec<KeyPackage<C>>,
    public: PublicKeyPackage<C>,
    identities: Vec<Arc<Ed25519Identity>>,
    roster: Vec<(Identifier, IdentityKey)>,
    items: Vec<SignItem>,
}

impl<C: Ciphersuite> World<C> {
    /// Signers 1 and 3 of a 2-of-3 key, three messages: the key itself and two children
    /// (Ed25519 has no children: three messages under the key).
    fn new() -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let (all, public) = split_random::<C>(2, 3, &mut rng).unwrap();
        let keys = vec![all[0].clone(), all[2].clone()];
        let identities: Vec<_> = (0..2)
            .map(|_| Arc::new(Ed25519Identity::random(&mut rng)))
            .collect();
        let roster = keys
            .iter()
            .zip(&identities)
            .map(|(k, i)| (k.identifier(), i.identity()))
            .collect();
        let tweak = |derivation: Vec<u32>| Tweak {
            derivation: if C::SUITE == tessera_core::Suite::Ed25519 {
                Vec::new()
            } else {
                derivation
            },
            ..if C::BIP340 {
                Tweak::bip86()
            } else {
                Tweak::none()
            }
        };
        let items = vec![
            SignItem {
                message: b"input 0".to_vec(),
                tweak: tweak(vec![]),
            },
            SignItem {
                message: b"input 1".to_vec(),
                tweak: tweak(vec![0, 5]),
            },
            SignItem {
                message: b"input 0".to_vec(),
                tweak: tweak(vec![1, 2]),
            },
        ];
        Self {
            keys,
            public,
            identities,
            roster,
            items,
        }
    }

    fn party(&self, i: usize) -> SignBatch<C> {
        SignBatch::new(
            &self.keys[i],
            SESSION,
            self.roster.iter().map(|(id, _)| *id).collect(),
            self.items.clone(),
            self.roster.clone(),
            self.identities[i].clone() as Arc<dyn IdentitySigner>,
            &mut ChaCha20Rng::seed_from_u64(i as u64),
        )
        .unwrap()
    }

    fn simulation(&self) -> Simulation<SignBatch<C>> {
        Simulation::new(vec![self.party(0), self.party(1)])
    }

    /// The output key item `i` must verify under, derived independently of the batch.
    fn output_key(&self, i: usize) -> C::Point {
        let request = SigningRequest {
            session_id: item_session(&SESSION, i as u16),
            message: self.items[i].message.clone(),
            tweak: self.items[i].tweak.clone(),
            signers: self
                .roster
                .iter()
                .map(|(id, _)| *id)
                .collect::<BTreeSet<_>>(),
        };
        *SessionKey::new(&self.public, request).unwrap().output_key()
    }
}

fn every_item_is_signed_under_its_own_key<C: Ciphersuite>() {
    let world = World::<C>::new();
    for seed in 0..4 {
        let report = world.simulation().reorder(seed).run();
        let outputs: Vec<_> = report.outcomes.iter().filter_map(Outcome::done).collect();
        assert_eq!(outputs.len(), 2, "both signers finish");
        assert_eq!(outputs[0], outputs[1]);
        assert_eq!(outputs[0].len(), world.items.len());
        for (i, out) in outputs[0].iter().enumerate() {
            assert_eq!(out.output_key, world.output_key(i));
            tessera_sign::verify::<C>(&out.output_key, &world.items[i].message, &out.signature)
                .unwrap();
        }
        // No signature is shared between items, nor a key where the paths differ.
        if C::SUITE != tessera_core::Suite::Ed25519 {
            assert_ne!(outputs[0][0].output_key, outputs[0][1].output_key);
        }
        assert_ne!(outputs[0][0].signature, outputs[0][2].signature);
    }
}

/// The offset of item `item`'s message inside a batch message.
fn item_at(payload: &[u8], item: usize) -> (usize, usize) {
    let mut at = Header::LEN + 2;
    for _ in 0..item {
        let len = u32::from_be_bytes(payload[at..at + 4].try_into().unwrap()) as usize;
        at += 4 + len;
    }
    let len = u32::from_be_bytes(payload[at..at + 4].try_into().unwrap()) as usize;
    (at + 4, len)
}

fn a_tampered_share_in_one_item_names_its_signer<C: Ciphersuite>() {
    let world = World::<C>::new();
    let report = world
        .simulation()
        .router(|mut e| {
            // Signer 1's round-2 share of item 1, as signer 0 receives it.
            if e.from == 1 && e.round() == Some(2) {
                let (at, _) = item_at(&e.payload, 1);
                e.payload[at + Header::LEN + 2] ^= 1;
            }
            vec![e]
        })
        .run();
    let Some(SignBatchError::Item { item, error }) = report.outcomes[0].failed() else {
        panic!("signer 0 must fail on item 1");
    };
    assert_eq!(*item, 1);
    assert_eq!(error.culprits().len(), 1);
    assert_eq!(error.culprits()[0].party, 1);
}

fn a_broken_envelope_names_its_sender<C: Ciphersuite>() {
    let world = World::<C>::new();
    let real = {
        let mut p = world.party(1);
        p.start().unwrap().remove(0).payload.clone()
    };
    let mut wrong_count = real.clone();
    wrong_count[Header::LEN + 1] = 2;
    let mut trailing = real.clone();
    trailing.push(0);
    let mut wrong_session = real.clone();
    wrong_session[2] ^= 1;
    let mut overlong = real.clone();
    overlong[Header::LEN + 2] = 0xff;
    // Item 1 left out of a round-1 message: items fed one at a time would leave the lockstep.
    let (at, len) = item_at(&real, 1);
    let mut missing = real[..at - 4].to_vec();
    missing.extend_from_slice(&0u32.to_be_bytes());
    missing.extend_from_slice(&real[at + len..]);
    // Round-1 items in a message that says round 2, and a round that does not exist.
    let mut wrong_round = real.clone();
    wrong_round[Header::LEN - 1] = 2;
    let mut no_round = real.clone();
    no_round[Header::LEN - 1] = 5;
    for (payload, fault) in [
        (wrong_count, "count"),
        (trailing, "parse"),
        (overlong, "parse"),
        (wrong_session, "session"),
        (missing, "one message of its round per item"),
        (wrong_round, "one message of its round per item"),
        (no_round, "one message of its round per item"),
    ] {
        let mut party = world.party(0);
        party.start().unwrap();
        let error = party.receive(1, &payload).unwrap_err();
        assert_eq!(error.culprits().len(), 1, "{fault}: {error}");
        assert_eq!(error.culprits()[0].party, 1);
        let described = error.to_string();
        match fault {
            "session" => assert_eq!(error.culprits()[0].fault, Fault::WrongSession),
            _ => assert!(described.contains(fault), "{described}"),
        }
        assert!(matches!(
            party.receive(1, &real),
            Err(SignBatchError::Finished)
        ));
    }
    // A message from itself or outside the roster.
    let mut party = world.party(0);
    for from in [0 as PartyIndex, 2] {
        assert_eq!(
            party.receive(from, &real).unwrap_err().culprits()[0].fault,
            Fault::UnknownSender
        );
        party = world.party(0);
    }
}

fn no_payload_panics<C: Ciphersuite>() {
    let world = World::<C>::new();
    let real = world.party(1).start().unwrap().remove(0).payload.clone();
    let header = Header {
        kind: Kind::Sign,
        session: SESSION,
        round: 1,
    }
    .encode();
    let mut payloads: Vec<Vec<u8>> = (0..real.len()).map(|n| real[..n].to_vec()).collect();
    for count in [0u16, 3, 0xffff] {
        let mut p = header.clone();
        p.extend_from_slice(&count.to_be_bytes());
        p.extend_from_slice(&u32::MAX.to_be_bytes());
        payloads.push(p);
    }
    for payload in payloads {
        let mut party = world.party(0);
        party.start().unwrap();
        assert!(party.receive(1, &payload).is_err());
    }
}

fn counts_are_bounded<C: Ciphersuite>() {
    let world = World::<C>::new();
    let build = |items: Vec<SignItem>| {
        SignBatch::<C>::new(
            &world.keys[0],
            SESSION,
            world.roster.iter().map(|(id, _)| *id).collect(),
            items,
            world.roster.clone(),
            world.identities[0].clone() as Arc<dyn IdentitySigner>,
            &mut ChaCha20Rng::seed_from_u64(0),
        )
    };
    assert!(matches!(build(vec![]), Err(SignBatchError::Count(0))));
    let many = vec![world.items[0].clone(); tessera_sign::batch::MAX_ITEMS + 1];
    assert!(matches!(build(many), Err(SignBatchError::Count(_))));
    let mut hardened = world.items.clone();
    hardened[2].tweak.derivation = vec![0x8000_0000];
    assert!(matches!(
        build(hardened),
        Err(SignBatchError::Item { item: 2, .. })
    ));
}

all_suites! {
    batch_signs_every_item => every_item_is_signed_under_its_own_key;
    batch_tampered_share => a_tampered_share_in_one_item_names_its_signer;
    batch_broken_envelope => a_broken_envelope_names_its_sender;
    batch_no_payload_panics => no_payload_panics;
    batch_counts_are_bounded => counts_are_bounded;
}
