use super::*;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{lagrange::lagrange_coefficients, Secp256k1, Taproot};

fn reconstructs<C: Ciphersuite>(t: u16, n: u16) {
    let mut rng = ChaCha20Rng::seed_from_u64(u64::from(t) * 100 + u64::from(n));
    let secret = SecretScalar::<C>::random(&mut rng);
    let (keys, public) = split(&secret, t, n, &mut rng).unwrap();
    assert_eq!(keys.len(), usize::from(n));
    assert_eq!(*public.group_key(), C::mul_base(secret.expose_secret()));
    // Interpolates the shares of `ids` (a prefix of `window`) at zero.
    let interpolate = |window: &[KeyPackage<C>], ids: &[Identifier]| -> C::Scalar {
        let l = lagrange_coefficients::<C>(ids).unwrap();
        window
            .iter()
            .zip(&l)
            .map(|(k, l)| *k.signing_share().expose_secret() * l)
            .sum()
    };
    // Any t shares interpolate to the secret; t-1 shares do not.
    for window in keys.windows(usize::from(t)) {
        let ids: Vec<Identifier> = window.iter().map(|k| k.identifier()).collect();
        assert_eq!(interpolate(window, &ids), *secret.expose_secret());
        assert_ne!(
            interpolate(window, &ids[..ids.len() - 1]),
            *secret.expose_secret()
        );
    }
}

#[test]
fn any_t_shares_reconstruct() {
    reconstructs::<Ed25519>(2, 3);
    reconstructs::<Secp256k1>(3, 5);
    reconstructs::<Taproot>(4, 7);
}

#[test]
fn thresholds_out_of_range_are_refused() {
    let mut rng = ChaCha20Rng::seed_from_u64(0);
    for (t, n) in [(1, 3), (0, 3), (4, 3), (2, 1)] {
        assert!(matches!(
            split_random::<Secp256k1>(t, n, &mut rng),
            Err(Error::InvalidThreshold { .. })
        ));
    }
}

/// Design §2 (must): the group key of a split seed is the seed's RFC 8032 public key.
#[test]
fn ed25519_seed_split_keeps_the_rfc8032_public_key() {
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    for seed in [[0u8; 32], [0x5a; 32], [0xff; 32]] {
        let (_, public) = split_ed25519_seed(&seed, 2, 3, &mut rng).unwrap();
        let expected = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        assert_eq!(
            Ed25519::serialize_point(public.group_key()).unwrap(),
            expected.to_bytes()
        );
    }
}

#[test]
fn chain_code_is_random_not_a_function_of_the_key() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let secret = SecretScalar::<Taproot>::random(&mut rng);
    let (keys, a) = split(&secret, 2, 3, &mut rng).unwrap();
    let (_, b) = split(&secret, 2, 3, &mut rng).unwrap();
    assert_eq!(a.group_key(), b.group_key());
    assert_ne!(a.chain_code(), b.chain_code());
    assert!(keys
        .iter()
        .all(|k| k.public().chain_code() == a.chain_code()));
}
