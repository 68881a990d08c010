//! Tweak tests: BIP-32 vector 2 (odd-y master), BIP-341/340 parity handling.

use super::*;
use crate::{Ed25519, Secp256k1, Taproot};

use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

fn arr32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// BIP-32 test vector 2, chain m → m/0 (public derivation). The master key has odd y.
#[test]
fn bip32_vector_2_public_derivation() {
    let master = Secp256k1::deserialize_point(
        &hex::decode("03cbcaa9c98c877a26977d00825c956a238e8dddfbd322cce4f74b0b5bd6ace4a7").unwrap(),
    )
    .unwrap();
    let chain = arr32("60499f801b896d83179a4374aeb7822aaeaceaa0db1f85ee3e904c4defbd9689");
    let tweak = Tweak {
        derivation: vec![0],
        taproot: TaprootTweak::None,
    };
    let kt = KeyTweak::<Secp256k1>::derive(&master, &chain, &tweak).unwrap();
    assert_eq!(
        hex::encode(Secp256k1::serialize_point(kt.output_key()).unwrap()),
        "02fc9e5af0ac8d9b3cecfe2a888e2117ba3d089d8585886c9c826b6b22a98d12ea"
    );
    assert_eq!(
        *kt.chain_code(),
        arr32("f0909affaa7ee7abe5dd4e100598d4dc53cd709d5a5c2cac40e7412f232f7c9c")
    );
    // The same map sends the master private key to the child private key.
    let sk = SecretScalar::<Secp256k1>::from_bytes(&arr32(
        "4b03d6fc340455b363f51020ad3ecca4f0850280cf436c70c727923f6db46c3e",
    ))
    .unwrap();
    assert_eq!(
        hex::encode(*kt.apply_to_share(&sk).to_bytes()),
        "abe74a98f6c7eabee0428f53798f0ab8aa1bd37873999041703c742f15ac7e1e"
    );
}

#[test]
fn hardened_and_unsupported_tweaks_are_refused() {
    let p = Secp256k1::mul_base(&k256::Scalar::from(3u64));
    let hardened = Tweak {
        derivation: vec![0x8000_0000],
        taproot: TaprootTweak::None,
    };
    assert_eq!(
        KeyTweak::<Secp256k1>::derive(&p, &[0; 32], &hardened),
        Err(Error::HardenedDerivation(0x8000_0000))
    );
    assert_eq!(
        KeyTweak::<Secp256k1>::derive(&p, &[0; 32], &Tweak::bip86()),
        Err(Error::TweakUnsupported(Suite::Secp256k1))
    );
    let e = Ed25519::mul_base(&curve25519_dalek::Scalar::from(3u64));
    let path = Tweak {
        derivation: vec![1],
        taproot: TaprootTweak::None,
    };
    assert_eq!(
        KeyTweak::<Ed25519>::derive(&e, &[0; 32], &path),
        Err(Error::TweakUnsupported(Suite::Ed25519))
    );
}

/// For random keys of both parities, every tweak combination keeps the invariant
/// `Q = m·P + c·G`, Q is even-y, and the share map commutes with `·G`.
#[test]
fn taproot_tweak_is_consistent_for_odd_and_even_keys() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let tweaks = [
        Tweak::none(),
        Tweak::bip86(),
        Tweak {
            derivation: vec![0, 7],
            taproot: TaprootTweak::Bip86,
        },
        Tweak {
            derivation: vec![1],
            taproot: TaprootTweak::MerkleRoot([0x42; 32]),
        },
    ];
    let (mut odd_p, mut odd_child, mut odd_q) = (0, 0, 0);
    for _ in 0..24 {
        let x = SecretScalar::<Taproot>::random(&mut rng);
        let p = Taproot::mul_base(x.expose_secret());
        odd_p += usize::from(!Taproot::has_even_y(&p));
        for tweak in &tweaks {
            let kt = KeyTweak::<Taproot>::derive(&p, &[9; 32], tweak).unwrap();
            assert!(Taproot::has_even_y(kt.output_key()));
            let q_secret = kt.apply_to_share(&x);
            assert_eq!(
                Taproot::mul_base(q_secret.expose_secret()),
                *kt.output_key()
            );
            assert_eq!(kt.apply_to_point(&p), *kt.output_key());
            // Before the final even-y step, count odd intermediate keys.
            if !tweak.derivation.is_empty() {
                let plain = Tweak {
                    derivation: tweak.derivation.clone(),
                    taproot: TaprootTweak::None,
                };
                let child = KeyTweak::<Secp256k1>::derive(&p, &[9; 32], &plain).unwrap();
                odd_child += usize::from(!Taproot::has_even_y(child.output_key()));
            }
            if tweak.taproot != TaprootTweak::None {
                let mut pre = KeyTweak::<Taproot> {
                    negate: false,
                    offset: k256::Scalar::ZERO,
                    offset_point: p,
                    output_key: p,
                    chain_code: [9; 32],
                };
                for &i in &tweak.derivation {
                    pre.bip32_child(i).unwrap();
                }
                pre.tap_tweak(match &tweak.taproot {
                    TaprootTweak::MerkleRoot(r) => r,
                    _ => &[],
                })
                .unwrap();
                odd_q += usize::from(!Taproot::has_even_y(&pre.output_key));
            }
        }
    }
    assert!(
        odd_p > 0 && odd_child > 0 && odd_q > 0,
        "{odd_p} {odd_child} {odd_q}"
    );
}

#[test]
fn tweak_encoding_is_injective_on_examples() {
    let a = Tweak::none().encode();
    let b = Tweak::bip86().encode();
    let c = Tweak {
        derivation: vec![0],
        taproot: TaprootTweak::None,
    }
    .encode();
    assert!(a != b && b != c && a != c);
}

#[test]
fn derivation_depth_is_capped() {
    let p = Secp256k1::mul_base(&k256::Scalar::from(3u64));
    let deep = Tweak {
        derivation: vec![1; MAX_DERIVATION_DEPTH + 1],
        taproot: TaprootTweak::None,
    };
    assert_eq!(
        KeyTweak::<Secp256k1>::derive(&p, &[0; 32], &deep),
        Err(Error::DerivationTooDeep(MAX_DERIVATION_DEPTH + 1))
    );
}
