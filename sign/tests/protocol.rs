//! `SignParty` as a sans-IO protocol, run through core's simulation harness for every suite:
//! honest sessions under reordering and duplication, and every way a peer can break a session
//! ending in a typed error that names it.

mod common;

use std::sync::Arc;

use rand_chacha::{
    rand_core::{Rng as _, SeedableRng},
    ChaCha20Rng,
};
use tessera_core::{
    protocol::{Header, Kind},
    sim::{Envelope, Outcome, Report, Simulation},
    Blame, Ciphersuite, Culprit, Ed25519Identity, Evidence, Fault, Identifier, IdentityKey,
    IdentitySigner, KeyPackage, PartyIndex, Protocol, Step, Suite, Tweak,
};
use tessera_keygen::dealer::split_random;
use tessera_sign::{
    protocol::{is_proven_equivocation, round1_signature_valid, ROUND1_PURPOSE},
    SessionKey, SignError, SignOutput, SignParty, SignProtocolError, SigningRequest,
};

const MESSAGE: &[u8] = b"tessera protocol test";
/// Round-1 layout after the header: identifier (2 bytes), then the hiding commitment.
const HIDING_AT: usize = Header::LEN + 2;
/// Round-2 layout after the header: identifier (2 bytes), then z (32 bytes), then the echo.
const Z_AT: usize = Header::LEN + 2;
const ECHO_AT: usize = Z_AT + 32;

/// Everything a session's parties are built from, so tests can rebuild a party exactly.
struct World<C: Ciphersuite> {
    keys: Vec<KeyPackage<C>>,
    request: SigningRequest,
    identities: Vec<Arc<Ed25519Identity>>,
    roster: Vec<(Identifier, IdentityKey)>,
    output_key: C::Point,
}

impl<C: Ciphersuite> World<C> {
    /// A t-of-n key from the trusted dealer, signed by `signers` (BIP-86 for taproot).
    fn new(t: u16, n: u16, signers: &[u16], seed: u64) -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let (all_keys, public) = split_random::<C>(t, n, &mut rng).unwrap();
        let ids: Vec<Identifier> = signers
            .iter()
            .map(|&i| Identifier::new(i).unwrap())
            .collect();
        let mut session_id = [0u8; 32];
        rng.fill_bytes(&mut session_id);
        let request = SigningRequest {
            session_id,
            message: MESSAGE.to_vec(),
            tweak: if C::BIP340 {
                Tweak::bip86()
            } else {
                Tweak::none()
            },
            signers: ids.iter().copied().collect(),
        };
        let identities: Vec<_> = ids
            .iter()
            .map(|_| Arc::new(Ed25519Identity::random(&mut rng)))
            .collect();
        let roster = ids
            .iter()
            .zip(&identities)
            .map(|(id, k)| (*id, k.identity()))
            .collect();
        let keys = ids
            .iter()
            .map(|id| {
                all_keys
                    .iter()
                    .find(|k| k.identifier() == *id)
                    .unwrap()
                    .clone()
            })
            .collect();
        let output_key = *SessionKey::new(&public, request.clone())
            .unwrap()
            .output_key();
        Self {
            keys,
            request,
            identities,
            roster,
            output_key,
        }
    }

    /// Party `i` (roster index), its nonce RNG seeded from `seed`.
    fn party(&self, i: usize, seed: u64) -> SignParty<C> {
        SignParty::new(
            &self.keys[i],
            self.request.clone(),
            self.roster.clone(),
            self.identities[i].clone(),
            &mut ChaCha20Rng::seed_from_u64(seed ^ ((i as u64) << 32)),
        )
        .unwrap()
    }

    fn parties(&self, seed: u64) -> Vec<SignParty<C>> {
        (0..self.keys.len()).map(|i| self.party(i, seed)).collect()
    }

    fn simulation(&self, seed: u64) -> Simulation<SignParty<C>> {
        Simulation::new(self.parties(seed))
    }

    fn identity_key(&self, party: PartyIndex) -> IdentityKey {
        self.roster[usize::from(party)].1
    }

    /// `message` with its content kept and a fresh round-1 signature by party `by`.
    fn resign(&self, by: PartyIndex, mut content: Vec<u8>) -> Vec<u8> {
        let signature = self.identities[usize::from(by)].sign(ROUND1_PURPOSE, &content);
        content.extend_from_slice(&signature);
        content
    }

    /// Party `by`'s round-1 `message` with another valid hiding commitment, validly signed:
    /// what an equivocating party sends.
    fn equivocate(&self, by: PartyIndex, message: &[u8]) -> Vec<u8> {
        let mut content = message[..message.len() - 64].to_vec();
        let other = C::serialize_point(&C::mul_base(&C::Scalar::from(3u64))).unwrap();
        content[HIDING_AT..HIDING_AT + C::POINT_LEN].copy_from_slice(other.as_ref());
        self.resign(by, content)
    }

    /// Checks a signature with tessera's verifier and, per suite, an independent one.
    fn check(&self, out: &SignOutput<C>) {
        assert_eq!(out.output_key, self.output_key);
        tessera_sign::verify::<C>(&out.output_key, MESSAGE, &out.signature).unwrap();
        let key = C::serialize_verifying_key(&out.output_key).unwrap();
        let sig = out.signature.to_bytes().unwrap();
        match C::SUITE {
            Suite::Ed25519 => {
                let vk = ed25519_dalek::VerifyingKey::from_bytes(&key.try_into().unwrap()).unwrap();
                let sig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
                vk.verify_strict(MESSAGE, &sig).unwrap();
            }
            Suite::Taproot => {
                let vk = k256::schnorr::VerifyingKey::from_slice(&key).unwrap();
                let sig = k256::schnorr::Signature::try_from(sig.as_slice()).unwrap();
                vk.verify_raw(MESSAGE, &sig).unwrap();
            }
            Suite::Secp256k1 => {}
        }
    }

    /// Every finished party holds the same valid signature; returns how many finished.
    fn check_done(&self, report: &Report<SignParty<C>>) -> usize {
        let done: Vec<&SignOutput<C>> = report.outcomes.iter().filter_map(Outcome::done).collect();
        for out in &done {
            self.check(out);
            assert_eq!(out.signature, done[0].signature);
        }
        done.len()
    }
}

/// The single culprit of a failed party's message error.
fn culprit<C: Ciphersuite>(report: &Report<SignParty<C>>, party: usize) -> Culprit {
    match &report.outcomes[party] {
        Outcome::Failed(SignProtocolError::Message(c)) => c.clone(),
        other => panic!("party {party}: expected a message error, got {other:?}"),
    }
}

/// Which parties failed.
fn failed<C: Ciphersuite>(report: &Report<SignParty<C>>) -> Vec<usize> {
    (0..report.outcomes.len())
        .filter(|&i| report.outcomes[i].failed().is_some())
        .collect()
}

fn accused(party: PartyIndex, fault: Fault, by: PartyIndex) -> Culprit {
    Culprit {
        party,
        fault,
        evidence: Evidence::AccusedBy(by),
    }
}

fn sessions_sign_under_reordering<C: Ciphersuite>() {
    let shapes: [(u16, u16, &[u16]); 5] = [
        (2, 3, &[1, 3]),
        (2, 3, &[1, 2, 3]),
        (3, 5, &[2, 4, 5]),
        (3, 5, &[1, 2, 3, 5]),
        (3, 5, &[1, 2, 3, 4, 5]),
    ];
    for (t, n, signers) in shapes {
        for seed in 0..4 {
            let world = World::<C>::new(t, n, signers, seed);
            let report = world.simulation(seed).reorder(seed).run();
            assert_eq!(
                world.check_done(&report),
                signers.len(),
                "{t}-of-{n} {signers:?}"
            );
            // Two broadcasts per party.
            assert_eq!(report.sent.len(), 2 * signers.len());
        }
    }
}

fn duplicates_are_harmless<C: Ciphersuite>() {
    let world = World::<C>::new(3, 5, &[1, 2, 4, 5], 7);
    for seed in 0..3 {
        let report = world
            .simulation(seed)
            .router(|e: Envelope| vec![e.clone(), e.clone(), e])
            .reorder(seed)
            .run();
        assert_eq!(world.check_done(&report), 4);
    }
}

fn a_tampered_share_names_its_signer<C: Ciphersuite>() {
    let world = World::<C>::new(3, 5, &[1, 3, 4, 5], 11);
    let bad: PartyIndex = 2;
    let run = |order: Option<u64>| {
        let sim = world.simulation(11).router(move |mut e: Envelope| {
            if e.from == bad && e.round() == Some(2) {
                let z = C::serialize_scalar(&C::Scalar::from(7u64));
                e.payload[Z_AT..Z_AT + 32].copy_from_slice(&z);
            }
            vec![e]
        });
        match order {
            Some(seed) => sim.reorder(seed).run(),
            None => sim.run(),
        }
    };
    // In sending order every share comes after round 1: the tampering signer got honest
    // shares and signed; everyone else names it alone.
    let report = run(None);
    assert_eq!(world.check_done(&report), 1);
    assert!(report.outcomes[usize::from(bad)].done().is_some());
    assert_eq!(failed(&report), [0, 1, 3]);
    // Reordered, a party that completes round 1 last signs and aggregates in one step; its
    // share still goes out after its error (`Protocol::parting`), so every honest party
    // names exactly the tampering signer and none is left waiting.
    for seed in [None, Some(1), Some(2), Some(3), Some(4), Some(5)] {
        let report = run(seed);
        assert_eq!(world.check_done(&report), 1);
        assert_eq!(failed(&report), [0, 1, 3]);
        for party in failed(&report) {
            let party = PartyIndex::try_from(party).unwrap();
            match &report.outcomes[usize::from(party)] {
                Outcome::Failed(e @ SignProtocolError::BadShares(_)) => {
                    assert_eq!(
                        e.culprits(),
                        [accused(bad, Fault::BadSignatureShare, party)]
                    );
                }
                other => panic!("party {party}: {other:?}"),
            }
        }
    }
}

/// Runs `world`'s session with party `by`'s round-1 message to `to` equivocated: delivered
/// as sent and equivocated (`keep`) or only equivocated; in sending order or reordered.
fn equivocation_run<C: Ciphersuite>(
    world: &Arc<World<C>>,
    by: PartyIndex,
    to: PartyIndex,
    keep: bool,
    order: Option<u64>,
) -> Report<SignParty<C>> {
    let w = Arc::clone(world);
    let sim = world.simulation(13).router(move |e: Envelope| {
        if e.from != by || e.to != to || e.round() != Some(1) {
            return vec![e];
        }
        let mut forged = e.clone();
        forged.payload = w.equivocate(by, &e.payload);
        if keep {
            vec![e, forged]
        } else {
            vec![forged]
        }
    });
    match order {
        Some(seed) => sim.reorder(seed).run(),
        None => sim.run(),
    }
}

/// Checks a culprit is `by`, for equivocation, with checkable signed evidence.
fn assert_proven_equivocation<C: Ciphersuite>(world: &World<C>, c: &Culprit, by: PartyIndex) {
    assert_eq!((c.party, &c.fault), (by, &Fault::Equivocation));
    let Evidence::Proven(messages) = &c.evidence else {
        panic!("equivocation without proof: {c}");
    };
    assert_eq!(messages.len(), 2);
    assert!(is_proven_equivocation(&world.identity_key(by), messages));
    // The proof is the equivocator's alone: it convinces nobody under another key.
    assert!(!is_proven_equivocation(
        &world.identity_key((by + 1) % 3),
        messages
    ));
}

fn a_different_signed_repeat_is_proven_equivocation<C: Ciphersuite>() {
    let world = Arc::new(World::<C>::new(2, 3, &[1, 2, 3], 13));
    let (by, to) = (1, 2);
    // In sending order, the recipient sees both versions before it can finish and shows the
    // proof to everyone: all abort naming the equivocator, nobody waits.
    let report = equivocation_run(&world, by, to, true, None);
    assert_eq!(failed(&report), [0, 1, 2]);
    for party in 0..3 {
        assert_proven_equivocation(&world, &culprit(&report, party), by);
    }

    // In any order: whoever fails names the equivocator with proof, whoever finishes holds a
    // valid signature, and nobody is left waiting.
    let mut failures = 0;
    for seed in 0..8 {
        let report = equivocation_run(&world, by, to, true, Some(seed));
        for party in failed(&report) {
            assert_proven_equivocation(&world, &culprit(&report, party), by);
            failures += 1;
        }
        assert_eq!(
            world.check_done(&report) + failed(&report).len(),
            3,
            "seed {seed}"
        );
    }
    assert!(failures > 0);
}

fn split_views_are_caught_by_the_echo<C: Ciphersuite>() {
    let world = Arc::new(World::<C>::new(2, 3, &[1, 2, 3], 17));
    let (by, to) = (0, 2);
    for seed in 0..8 {
        // `to` sees only the equivocated version, the others only the original.
        let report = equivocation_run(&world, by, to, false, Some(seed));
        // Nobody signs; `to` may wait (the others found out first and never sent it their
        // shares), but whoever fails names the equivocator with proof.
        assert_eq!(world.check_done(&report), 0, "seed {seed}");
        assert!(!failed(&report).is_empty());
        for party in failed(&report) {
            assert_proven_equivocation(&world, &culprit(&report, party), by);
        }
    }
}

/// Runs a 2-of-3 session in which the first round-1 message from party 1 to party 2 goes
/// through `change`; returns the session's world and the culprit party 2 names. Nobody else
/// fails.
fn first_message_changed<C: Ciphersuite>(
    change: impl Fn(&World<C>, &mut Envelope) + 'static,
) -> (Arc<World<C>>, Culprit) {
    let world = Arc::new(World::<C>::new(2, 3, &[1, 2, 3], 19));
    let mut changed = false;
    let w = Arc::clone(&world);
    let report = world
        .simulation(19)
        .router(move |mut e: Envelope| {
            if !changed && e.from == 1 && e.to == 2 {
                changed = true;
                change(&w, &mut e);
            }
            vec![e]
        })
        .run();
    assert_eq!(failed(&report), [2]);
    world.check_done(&report);
    let c = culprit(&report, 2);
    (world, c)
}

fn foreign_messages_name_their_sender<C: Ciphersuite>() {
    let case = |change: fn(&World<C>, &mut Envelope)| first_message_changed::<C>(change).1;
    // Another session, another protocol, a round that does not come now.
    assert_eq!(
        case(|_, e| e.payload[5] ^= 1),
        accused(1, Fault::WrongSession, 2)
    );
    assert_eq!(
        case(|_, e| e.payload[0] = Kind::Keygen as u8),
        accused(1, Fault::WrongProtocol, 2)
    );
    assert_eq!(
        case(|_, e| e.payload[Header::LEN - 1] = 7),
        accused(1, Fault::WrongRound(7), 2)
    );
    assert_eq!(
        case(|_, e| e.payload[Header::LEN - 1] = 0),
        accused(1, Fault::WrongRound(0), 2)
    );
    // A sender outside the roster (a transport bug), and the recipient itself.
    assert_eq!(case(|_, e| e.from = 9), accused(9, Fault::UnknownSender, 2));
    assert_eq!(case(|_, e| e.from = 2), accused(2, Fault::UnknownSender, 2));
    // Garbage, a short message, a body of the wrong length.
    assert_eq!(
        case(|_, e| e.payload = vec![0xEE; 100]),
        accused(1, Fault::Malformed("unknown protocol kind"), 2)
    );
    assert_eq!(
        case(|_, e| e.payload.truncate(Header::LEN - 1)),
        accused(1, Fault::Malformed("message shorter than its header"), 2)
    );
    assert_eq!(
        case(|_, e| e.payload.truncate(Header::LEN + 10)),
        accused(
            1,
            Fault::Malformed("round-1 message of the wrong length"),
            2
        )
    );
    // Content that its identity signature does not cover.
    assert_eq!(
        case(|_, e| e.payload[HIDING_AT + 3] ^= 1),
        accused(1, Fault::BadSignature, 2)
    );
    // Signed by someone else (party 0).
    assert_eq!(
        case(|w, e| {
            let content = e.payload[..e.payload.len() - 64].to_vec();
            e.payload = w.resign(0, content);
        }),
        accused(1, Fault::BadSignature, 2)
    );
}

/// Checks a culprit is party 1 for `fault`, proven by its one signed message.
fn assert_proven_single<C: Ciphersuite>(
    (world, c): (Arc<World<C>>, Culprit),
    fault: fn(&Fault) -> bool,
) {
    assert_eq!(c.party, 1);
    assert!(fault(&c.fault), "{c}");
    let Evidence::Proven(messages) = &c.evidence else {
        panic!("not proven: {c}");
    };
    assert_eq!(messages.len(), 1);
    assert!(round1_signature_valid(&world.identity_key(1), &messages[0]));
}

fn signed_bad_content_is_proven<C: Ciphersuite>() {
    // A validly signed point that does not decode.
    assert_proven_single(
        first_message_changed::<C>(|w, e| {
            let mut content = e.payload[..e.payload.len() - 64].to_vec();
            content[HIDING_AT..HIDING_AT + C::POINT_LEN].fill(0xFF);
            e.payload = w.resign(1, content);
        }),
        |f| matches!(f, Fault::Encoding(_)),
    );
    // A validly signed message that names another identifier.
    assert_proven_single(
        first_message_changed::<C>(|w, e| {
            let mut content = e.payload[..e.payload.len() - 64].to_vec();
            content[Header::LEN..Header::LEN + 2].copy_from_slice(&3u16.to_be_bytes());
            e.payload = w.resign(1, content);
        }),
        |f| matches!(f, Fault::Inconsistent(_)),
    );
}

/// A 2-of-3 session driven by hand: party 0 started, and every party's honest round-1 and
/// round-2 messages (from a run of the same parties, which draw the same nonces).
struct Manual<C: Ciphersuite> {
    world: World<C>,
    round1: Vec<Vec<u8>>,
    round2: Vec<Vec<u8>>,
}

const SEED: u64 = 23;

impl<C: Ciphersuite> Manual<C> {
    fn new() -> Self {
        let world = World::<C>::new(2, 3, &[1, 2, 3], SEED);
        let report = world.simulation(SEED).run();
        assert_eq!(world.check_done(&report), 3);
        let of_round = |r: u8| -> Vec<Vec<u8>> {
            (0..3)
                .map(|p| {
                    let (_, out) = report
                        .sent
                        .iter()
                        .find(|(from, o)| *from == p && o.payload[Header::LEN - 1] == r)
                        .unwrap();
                    out.payload.clone()
                })
                .collect()
        };
        let (round1, round2) = (of_round(1), of_round(2));
        Self {
            world,
            round1,
            round2,
        }
    }

    /// Party 0 as in the honest run, started.
    fn party0(&self) -> SignParty<C> {
        let mut p = self.world.party(0, SEED);
        let out = p.start().unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].payload, self.round1[0]);
        p
    }

    /// Party 0 holding every round-1 message (it has sent its share).
    fn party0_signed(&self) -> SignParty<C> {
        let mut p = self.party0();
        assert!(matches!(p.receive(1, &self.round1[1]), Ok(Step::Continue(o)) if o.is_empty()));
        match p.receive(2, &self.round1[2]) {
            Ok(Step::Continue(o)) => assert_eq!(o[0].payload, self.round2[0]),
            other => panic!("{other:?}"),
        }
        p
    }
}

fn message_error(result: Result<Step<SignOutput<impl Ciphersuite>>, SignProtocolError>) -> Culprit {
    match result {
        Err(SignProtocolError::Message(c)) => c,
        other => panic!("expected a message error, got {other:?}"),
    }
}

fn round_two_checks<C: Ciphersuite>() {
    let m = Manual::<C>::new();

    // A share that comes before its recipient has all of round 1 waits, then counts.
    let mut p = m.party0();
    assert!(matches!(p.receive(1, &m.round1[1]), Ok(Step::Continue(o)) if o.is_empty()));
    assert!(matches!(p.receive(1, &m.round2[1]), Ok(Step::Continue(o)) if o.is_empty()));
    assert!(matches!(p.receive(1, &m.round2[1]), Ok(Step::Continue(o)) if o.is_empty()));
    assert!(matches!(p.receive(2, &m.round1[2]), Ok(Step::Continue(o)) if o.len() == 1));
    match p.receive(2, &m.round2[2]) {
        Ok(Step::Done(out, output)) => {
            assert!(out.is_empty());
            m.world.check(&output);
        }
        other => panic!("{other:?}"),
    }
    // The session is over, and it never signs again.
    assert_eq!(
        p.receive(2, &m.round2[2]).unwrap_err(),
        SignProtocolError::Finished
    );
    assert_eq!(p.start().unwrap_err(), SignProtocolError::AlreadyStarted);

    // Round 2 before the recipient has even started is more than a round ahead.
    let mut fresh = m.world.party(0, SEED);
    assert_eq!(
        message_error(fresh.receive(1, &m.round2[1])),
        accused(1, Fault::WrongRound(2), 0)
    );
    assert_eq!(
        fresh.start().unwrap_err(),
        SignProtocolError::AlreadyStarted
    );
    // Round 1 before the recipient started is taken.
    let mut fresh = m.world.party(0, SEED);
    assert!(matches!(fresh.receive(1, &m.round1[1]), Ok(Step::Continue(o)) if o.is_empty()));
    assert!(matches!(fresh.receive(2, &m.round1[2]), Ok(Step::Continue(o)) if o.is_empty()));
    let out = fresh.start().unwrap();
    assert_eq!(
        out.iter().map(|o| &o.payload).collect::<Vec<_>>(),
        [&m.round1[0], &m.round2[0]]
    );

    // A different repeat of a share.
    let mut changed = m.round2[1].clone();
    changed[Z_AT..Z_AT + 32].copy_from_slice(&C::serialize_scalar(&C::Scalar::from(5u64)));
    let mut p = m.party0_signed();
    assert!(p.receive(1, &m.round2[1]).is_ok());
    assert_eq!(
        message_error(p.receive(1, &changed)),
        accused(1, Fault::ConflictingRepeat, 0)
    );

    // A z that is not a canonical scalar, a share under another identifier, a short message.
    let mut bad_z = m.round2[1].clone();
    bad_z[Z_AT..Z_AT + 32].fill(0xFF);
    let mut other_id = m.round2[1].clone();
    other_id[Header::LEN..Header::LEN + 2].copy_from_slice(&1u16.to_be_bytes());
    let short = m.round2[1][..ECHO_AT].to_vec();
    for (message, fault) in [
        (
            bad_z,
            Fault::Encoding(tessera_core::EncodingError::NonCanonicalScalar),
        ),
        (
            other_id,
            Fault::Inconsistent("round-2 message names another identifier than the sender's"),
        ),
        (
            short,
            Fault::Malformed("round-2 message of the wrong length"),
        ),
    ] {
        let culprit = message_error(m.party0_signed().receive(1, &message));
        assert_eq!(
            (culprit.party, culprit.evidence),
            (1, Evidence::AccusedBy(0))
        );
        match (&culprit.fault, &fault) {
            // The suites name a non-canonical scalar alike, but check only the kind.
            (Fault::Encoding(_), Fault::Encoding(_)) => {}
            (got, want) => assert_eq!(got, want),
        }
    }

    // An echo entry that its author never signed is the echoing sender's fault, whether the
    // share comes before or after its recipient has all of round 1.
    let mut false_echo = m.round2[1].clone();
    let entry2 = ECHO_AT + 2 * m.round1[0].len();
    false_echo[entry2 + HIDING_AT + 1] ^= 1;
    assert_eq!(
        message_error(m.party0_signed().receive(1, &false_echo)),
        accused(1, Fault::FalseEcho, 0)
    );
    let mut p = m.party0();
    assert!(p.receive(1, &m.round1[1]).is_ok());
    assert!(p.receive(1, &false_echo).is_ok());
    assert_eq!(
        message_error(p.receive(2, &m.round1[2])),
        accused(1, Fault::FalseEcho, 0)
    );

    // An echo entry its author did sign differently proves that author equivocated.
    let mut echo_equivocation = m.round2[1].clone();
    let forged = m.world.equivocate(2, &m.round1[2]);
    echo_equivocation[entry2..entry2 + forged.len()].copy_from_slice(&forged);
    let c = message_error(m.party0_signed().receive(1, &echo_equivocation));
    assert_proven_equivocation(&m.world, &c, 2);
}

/// Truncations, bit flips and random bytes: never a panic; every error names the sender.
fn no_panic_on_any_payload<C: Ciphersuite>() {
    let m = Manual::<C>::new();
    let mut rng = ChaCha20Rng::seed_from_u64(29);
    let check = |p: &mut SignParty<C>, payload: &[u8]| {
        if let Err(e) = p.receive(1, payload) {
            assert!(!e.culprits().is_empty(), "{e}");
            assert!(e.culprits().iter().all(|c| c.party == 1), "{e}");
        }
    };
    let mut inputs: Vec<(bool, Vec<u8>)> = Vec::new();
    for (signed, honest) in [(false, &m.round1[1]), (true, &m.round2[1])] {
        for len in 0..honest.len() {
            inputs.push((signed, honest[..len].to_vec()));
        }
        for _ in 0..150 {
            let mut mutated = honest.clone();
            let at = rng.next_u32() as usize % mutated.len();
            mutated[at] ^= 1 + (rng.next_u32() % 255) as u8;
            inputs.push((signed, mutated));
        }
        for _ in 0..50 {
            let mut random = vec![0u8; rng.next_u32() as usize % (honest.len() + 8)];
            rng.fill_bytes(&mut random);
            // Half of them behind a valid header, to reach the body checks.
            if rng.next_u32() % 2 == 0 && random.len() >= Header::LEN {
                random[..Header::LEN].copy_from_slice(&honest[..Header::LEN]);
            }
            inputs.push((signed, random));
        }
    }
    for (after_round1, payload) in inputs {
        let mut p = if after_round1 {
            m.party0_signed()
        } else {
            m.party0()
        };
        check(&mut p, &payload);
    }
}

fn construction_checks<C: Ciphersuite>() {
    let w = World::<C>::new(2, 3, &[1, 3], 31);
    let mut rng = ChaCha20Rng::seed_from_u64(31);
    let build = |roster: Vec<(Identifier, IdentityKey)>, i: usize, rng: &mut ChaCha20Rng| {
        SignParty::new(
            &w.keys[i],
            w.request.clone(),
            roster,
            w.identities[i].clone(),
            rng,
        )
        .map(|_| ())
    };
    let roster_error = Err(SignProtocolError::Roster(
        "the roster is not the approved signer set in identifier order",
    ));
    let mut swapped = w.roster.clone();
    swapped.swap(0, 1);
    assert_eq!(build(swapped, 0, &mut rng), roster_error);
    assert_eq!(build(w.roster[..1].to_vec(), 0, &mut rng), roster_error);
    let mut same_key = w.roster.clone();
    same_key[1].1 = same_key[0].1;
    assert_eq!(
        build(same_key, 0, &mut rng),
        Err(SignProtocolError::Roster(
            "two signers have the same identity key"
        ))
    );
    let mut wrong_identity = w.roster.clone();
    wrong_identity[0].1 = Ed25519Identity::from_seed(&[1; 32]).identity();
    assert_eq!(
        build(wrong_identity, 0, &mut rng),
        Err(SignProtocolError::Roster(
            "this party's identity key is not at its roster position"
        ))
    );
    // A key outside the signer set.
    let (others, _) = split_random::<C>(2, 3, &mut rng).unwrap();
    let outsider = SignParty::new(
        &others[1],
        w.request.clone(),
        w.roster.clone(),
        w.identities[0].clone(),
        &mut rng,
    );
    assert!(matches!(
        outsider,
        Err(SignProtocolError::Sign(SignError::NotASigner(_)))
    ));
    assert!(build(w.roster.clone(), 1, &mut rng).is_ok());

    // Debug shows who, never the share.
    let party = w.party(0, 1);
    let debug = format!("{party:?}");
    let share = C::serialize_scalar(w.keys[0].signing_share().expose_secret());
    let hex: String = share.iter().map(|b| format!("{b:02x}")).collect();
    assert!(debug.contains("SignParty"));
    assert!(!debug.contains(&hex) && !debug.contains(&format!("{share:?}")));
}

all_suites! {
    two_of_three_and_three_of_five_sign_under_reordering => sessions_sign_under_reordering;
    duplicated_messages_are_harmless => duplicates_are_harmless;
    tampered_share_names_exactly_its_signer => a_tampered_share_names_its_signer;
    different_signed_repeat_is_proven_equivocation => a_different_signed_repeat_is_proven_equivocation;
    split_round_one_views_are_proven_by_the_echo => split_views_are_caught_by_the_echo;
    foreign_and_garbage_messages_name_their_sender => foreign_messages_name_their_sender;
    signed_bad_content_is_proven_by_the_message => signed_bad_content_is_proven;
    round_two_repeats_encodings_and_echoes => round_two_checks;
    no_payload_panics => no_panic_on_any_payload;
    construction_checks_the_roster => construction_checks;
}
