//! Property tests: for random 2 <= t <= n <= 20 any t-subset signs and a tampered share is
//! named; arbitrary bytes fed to every decoder give typed errors, never a panic.

mod common;

use common::{ids, run_rounds};
use proptest::prelude::*;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{Ciphersuite, Ed25519, Secp256k1, Suite, Taproot, Tweak};
use tessera_keygen::dealer::split_random;
use tessera_sign::{
    verify, verify_bytes, SignError, Signature, SignatureShare, SigningCommitments,
};

/// (t, n, a t-subset of 1..=n as a permutation prefix, which share to tamper, seed)
fn shape() -> impl Strategy<Value = (u16, u16, Vec<u16>, usize, u64)> {
    (2u16..=20)
        .prop_flat_map(|n| (2..=n, Just(n)))
        .prop_flat_map(|(t, n)| {
            (
                Just(t),
                Just(n),
                Just((1..=n).collect::<Vec<u16>>()).prop_shuffle(),
                0..usize::from(t),
                any::<u64>(),
            )
        })
        .prop_map(|(t, n, perm, victim, seed)| {
            let mut subset = perm[..usize::from(t)].to_vec();
            subset.sort_unstable();
            (t, n, subset, victim, seed)
        })
}

fn signs_and_names_tamperer<C: Ciphersuite>(
    t: u16,
    n: u16,
    subset: &[u16],
    victim: usize,
    seed: u64,
) -> Result<(), TestCaseError> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (keys, public) = split_random::<C>(t, n, &mut rng).unwrap();
    let tweak = if C::BIP340 {
        Tweak::bip86()
    } else {
        Tweak::none()
    };
    let signers = ids(subset);
    let mut s = run_rounds(&keys, &public, &signers, b"prop", tweak, &mut rng).unwrap();
    let sig = s.aggregator.aggregate(&s.package, &s.shares).unwrap();
    prop_assert!(verify::<C>(s.aggregator.session().output_key(), b"prop", &sig).is_ok());

    let id = signers[victim];
    let z = C::deserialize_scalar(&s.shares[&id].to_bytes()).unwrap() + C::Scalar::from(3u64);
    s.shares.insert(
        id,
        SignatureShare::from_bytes(&C::serialize_scalar(&z)).unwrap(),
    );
    prop_assert_eq!(
        s.aggregator.aggregate(&s.package, &s.shares).unwrap_err(),
        SignError::InvalidShares { culprits: vec![id] }
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn ed25519_any_subset_signs((t, n, subset, victim, seed) in shape()) {
        signs_and_names_tamperer::<Ed25519>(t, n, &subset, victim, seed)?;
    }

    #[test]
    fn secp256k1_any_subset_signs((t, n, subset, victim, seed) in shape()) {
        signs_and_names_tamperer::<Secp256k1>(t, n, &subset, victim, seed)?;
    }

    #[test]
    fn taproot_any_subset_signs((t, n, subset, victim, seed) in shape()) {
        signs_and_names_tamperer::<Taproot>(t, n, &subset, victim, seed)?;
    }
}

fn decoders_never_panic<C: Ciphersuite>(bytes: &[u8]) {
    let _ = C::deserialize_point(bytes);
    let _ = C::deserialize_scalar(bytes);
    let _ = C::deserialize_verifying_key(bytes);
    let _ = C::deserialize_signature(bytes);
    let _ = Signature::<C>::from_bytes(bytes);
    let _ = SignatureShare::<C>::from_bytes(bytes);
    let (a, b) = bytes.split_at(bytes.len() / 2);
    let _ = SigningCommitments::<C>::from_bytes(a, b);
    let _ = tessera_core::Identifier::deserialize::<C>(bytes);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_give_errors_not_panics(bytes in proptest::collection::vec(any::<u8>(), 0..140)) {
        decoders_never_panic::<Ed25519>(&bytes);
        decoders_never_panic::<Secp256k1>(&bytes);
        decoders_never_panic::<Taproot>(&bytes);
        for suite in Suite::ALL {
            let (a, b) = bytes.split_at(bytes.len() / 3);
            let _ = verify_bytes(suite, a, b"m", b);
        }
    }

    /// Right-length random strings: points almost never decode; when they do they round-trip.
    #[test]
    fn right_length_points_decode_strictly(body in any::<[u8; 32]>(), tag in 0u8..=255) {
        if let Ok(p) = Ed25519::deserialize_point(&body) {
            prop_assert_eq!(Ed25519::serialize_point(&p).unwrap(), body);
        }
        let mut sec1 = [0u8; 33];
        sec1[0] = tag;
        sec1[1..].copy_from_slice(&body);
        match Secp256k1::deserialize_point(&sec1) {
            Ok(p) => prop_assert_eq!(Secp256k1::serialize_point(&p).unwrap(), sec1),
            Err(e) => prop_assert_eq!(
                e == tessera_core::EncodingError::BadTag,
                !(2..=3).contains(&tag)
            ),
        }
    }
}
