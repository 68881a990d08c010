//! Round-1 identity signatures under attack (design §3, §3.1 step 2): a signed payload too
//! short to hold a round-1 body gets a typed error, never a panic; and a sender that signs
//! one message twice with different (valid) signatures cannot make honest parties disagree,
//! since echoes and equivocation are judged on the signed content, not signature bytes.

mod common;

use common::*;
use tessera_core::{
    protocol::Header, sim::short_signed_payloads, Blame, Ciphersuite, Ed25519, Fault,
    IdentitySigner, Protocol, RandomizedIdentity, Secp256k1, Taproot,
};
use tessera_keygen::dkg::round1::{signed_part, PURPOSE};

/// The length of a valid t-of-n round-1 payload: header, count, t points, R, μ, signature.
fn round1_len<C: Ciphersuite>(t: u16) -> usize {
    Header::LEN + 2 + (usize::from(t) + 1) * C::WIRE_POINT_LEN + 32 + 64
}

/// Party 1's identity, signing with a fresh nonce each time.
fn randomized() -> RandomizedIdentity {
    RandomizedIdentity::from_seed(&[2; 32])
}

/// Signs `unsigned` as party 1 of the 2-of-3 test session with a randomized signature.
fn sign_randomized<C: Ciphersuite>(signer: &RandomizedIdentity, unsigned: &[u8]) -> Vec<u8> {
    let context = params(2, &identities(3)).context(C::SUITE);
    [
        unsigned,
        &signer.sign(PURPOSE, &signed_part(&context, 1, unsigned)),
    ]
    .concat()
}

fn short_signed_round1<C: Ciphersuite>() {
    let (mut senders, _) = parties::<C>(2, 3, 40);
    let real = senders.remove(1).start().unwrap().remove(0).payload.clone();
    assert_eq!(real.len(), round1_len::<C>(2));
    let context = params(2, &identities(3)).context(C::SUITE);
    let signer = randomized();
    let payloads = short_signed_payloads(&real, |unsigned| {
        signer.sign(PURPOSE, &signed_part(&context, 1, unsigned))
    });
    assert!(payloads.iter().any(|p| p.len() == Header::LEN + 63));
    for payload in payloads {
        let len = payload.len();
        let (mut receivers, _) = parties::<C>(2, 3, 41);
        let honest = &mut receivers[0];
        honest.start().unwrap();
        let e = honest
            .receive(1, &payload)
            .err()
            .unwrap_or_else(|| panic!("a {len}-byte round 1 is refused"));
        let culprits = e.culprits();
        assert_eq!(culprits.len(), 1, "{len} bytes: {e}");
        assert_eq!(culprits[0].party, 1);
        assert!(
            matches!(
                culprits[0].fault,
                Fault::Malformed(_) | Fault::CommitmentCount { .. } | Fault::BadSignature
            ),
            "{len} bytes: {e}"
        );
    }
}

fn randomized_round1_signatures<C: Ciphersuite>() {
    // Party 1 sends party 2 its round-1 message with another valid signature over the same
    // content. Nothing differs that party 1 signed: the run completes with one key.
    for seed in 42..46 {
        let signer = randomized();
        let report = run::<C>(2, 3, seed, move |mut e| {
            if e.from == 1 && e.to == 2 && round_of(&e) == 1 {
                let resigned = sign_randomized::<C>(&signer, &e.payload[..e.payload.len() - 64]);
                assert_ne!(resigned, e.payload);
                e.payload = resigned;
            }
            vec![e]
        });
        let pending = report
            .all_done()
            .expect("a re-signed broadcast changes nothing");
        assert!(pending.iter().all(|p| p.key_id() == pending[0].key_id()));
    }
}

macro_rules! per_suite {
    ($($name:ident),* $(,)?) => {
        mod ed25519 { $(#[test] fn $name() { super::$name::<super::Ed25519>() })* }
        mod secp256k1 { $(#[test] fn $name() { super::$name::<super::Secp256k1>() })* }
        mod taproot { $(#[test] fn $name() { super::$name::<super::Taproot>() })* }
    };
}

per_suite!(short_signed_round1, randomized_round1_signatures);
