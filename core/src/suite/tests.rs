//! Encoding tests for all suites: round trips and strict rejection.

use super::*;
use crate::{Ed25519, Secp256k1, Taproot};
use ff::Field;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

fn h(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn round_trips<C: Ciphersuite>() {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for _ in 0..20 {
        let s = C::Scalar::random(&mut rng);
        assert_eq!(C::deserialize_scalar(&C::serialize_scalar(&s)).unwrap(), s);
        let p = C::mul_base(&s);
        let b = C::serialize_point(&p).unwrap();
        assert_eq!(b.as_ref().len(), C::POINT_LEN);
        assert_eq!(C::deserialize_point(b.as_ref()).unwrap(), p);
    }
    assert_eq!(
        C::serialize_point(&C::Point::identity()),
        Err(EncodingError::Identity)
    );
    // The group order itself (and all-ones) is not a canonical scalar.
    assert_eq!(
        C::deserialize_scalar(&[0xff; 32]),
        Err(EncodingError::NonCanonicalScalar)
    );
    for len in [0, 31, 33, 64] {
        assert!(matches!(
            C::deserialize_scalar(&vec![0u8; len]),
            Err(EncodingError::Length { .. })
        ));
    }
    assert!(C::deserialize_point(&[]).is_err());
}

use group::Group;

#[test]
fn encodings_round_trip() {
    round_trips::<Ed25519>();
    round_trips::<Secp256k1>();
    round_trips::<Taproot>();
}

#[test]
fn ed25519_rejects_non_canonical_small_order_and_identity() {
    // The identity (0, 1).
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert_eq!(
        Ed25519::deserialize_point(&identity),
        Err(EncodingError::Identity)
    );
    // y = p + 1 encodes the identity non-canonically.
    let mut noncanon = h("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    assert_eq!(
        Ed25519::deserialize_point(&noncanon),
        Err(EncodingError::NonCanonicalPoint)
    );
    // (0, -1): a point of order 2.
    noncanon = h("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
    assert_eq!(
        Ed25519::deserialize_point(&noncanon),
        Err(EncodingError::NotPrimeOrder)
    );
    // A point of order 8.
    let order8 = h("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
    assert_eq!(
        Ed25519::deserialize_point(&order8),
        Err(EncodingError::NotPrimeOrder)
    );
    // The base point plus a point of order 8 is on the curve but not in the subgroup.
    let g = curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
    let t = curve25519_dalek::edwards::CompressedEdwardsY::from_slice(&order8)
        .unwrap()
        .decompress()
        .unwrap();
    let mixed = (g + t).compress().to_bytes();
    assert_eq!(
        Ed25519::deserialize_point(&mixed),
        Err(EncodingError::NotPrimeOrder)
    );
    // y = 2 is not on the curve.
    let mut off = [0u8; 32];
    off[0] = 2;
    assert_eq!(
        Ed25519::deserialize_point(&off),
        Err(EncodingError::NotOnCurve)
    );
    // The group order L is not canonical.
    let l = h("edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010");
    assert_eq!(
        Ed25519::deserialize_scalar(&l),
        Err(EncodingError::NonCanonicalScalar)
    );
}

#[test]
fn secp256k1_rejects_bad_tags_off_curve_and_overflow() {
    let g = Secp256k1::serialize_point(&Secp256k1::mul_base(&k256::Scalar::ONE)).unwrap();
    let mut bad = g;
    bad[0] = 0x04;
    assert_eq!(
        Secp256k1::deserialize_point(&bad),
        Err(EncodingError::BadTag)
    );
    bad[0] = 0x00;
    assert_eq!(
        Secp256k1::deserialize_point(&bad),
        Err(EncodingError::BadTag)
    );
    // x = p is not a field element.
    let x_eq_p = h("02fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");
    assert_eq!(
        Secp256k1::deserialize_point(&x_eq_p),
        Err(EncodingError::NotOnCurve)
    );
    // x = 5 has no y on secp256k1 (5^3 + 7 = 132 is not a square mod p).
    let mut x5 = [0u8; 33];
    x5[0] = 2;
    x5[32] = 5;
    assert_eq!(
        Secp256k1::deserialize_point(&x5),
        Err(EncodingError::NotOnCurve)
    );
    // The group order n.
    let n = h("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
    assert_eq!(
        Secp256k1::deserialize_scalar(&n),
        Err(EncodingError::NonCanonicalScalar)
    );
}

#[test]
fn taproot_verifying_keys_are_x_only_and_even() {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let mut seen_odd = false;
    for _ in 0..16 {
        let p = Taproot::mul_base(&k256::Scalar::random(&mut rng));
        seen_odd |= !Taproot::has_even_y(&p);
        let full = Taproot::serialize_point(&p).unwrap();
        let from33 = Taproot::deserialize_verifying_key(&full).unwrap();
        let from32 = Taproot::deserialize_verifying_key(&full[1..]).unwrap();
        assert_eq!(from33, from32);
        assert!(Taproot::has_even_y(&from32));
        assert_eq!(
            Taproot::serialize_verifying_key(&p).unwrap(),
            full[1..].to_vec()
        );
    }
    assert!(seen_odd, "the sample must include odd-y keys");
}

#[test]
fn suite_names_parse() {
    for s in Suite::ALL {
        assert_eq!(s.name().parse::<Suite>().unwrap(), s);
    }
    assert!("ed448".parse::<Suite>().is_err());
}

fn wire_points_roundtrip_and_reject<C: Ciphersuite>() {
    let p = C::mul_base(&C::Scalar::from(987_654_321u64));
    let mut out = Vec::new();
    C::write_wire_point(&p, &mut out).unwrap();
    assert_eq!(out.len(), C::WIRE_POINT_LEN);
    assert_eq!(C::read_wire_point(&out).unwrap(), p);
    assert!(C::read_wire_point(&out[1..]).is_err());
    let mut bad = out.clone();
    bad[C::WIRE_POINT_LEN - 1] ^= 1;
    assert!(C::read_wire_point(&bad).is_err());
    bad.fill(0xff);
    assert!(C::read_wire_point(&bad).is_err());
    assert_eq!(
        C::write_wire_point(&C::Point::identity(), &mut Vec::new()),
        Err(EncodingError::Identity)
    );
}

#[test]
fn wire_points() {
    wire_points_roundtrip_and_reject::<Ed25519>();
    wire_points_roundtrip_and_reject::<Secp256k1>();
    wire_points_roundtrip_and_reject::<Taproot>();
    // Ed25519: a point with a torsion component decodes to its prime-order part times 8
    // over 8, and y >= p is refused.
    let p = Ed25519::mul_base(&curve25519_dalek::Scalar::from(3u8));
    let mut enc = Vec::new();
    Ed25519::write_wire_point(&p, &mut enc).unwrap();
    let r = curve25519_dalek::edwards::CompressedEdwardsY::from_slice(&enc)
        .unwrap()
        .decompress()
        .unwrap();
    let torsion = curve25519_dalek::constants::EIGHT_TORSION[1];
    let tampered = (r + torsion).compress().to_bytes();
    assert_eq!(Ed25519::read_wire_point(&tampered).unwrap(), p);
    let mut high = [0xffu8; 32];
    high[31] = 0x7f;
    assert_eq!(
        Ed25519::read_wire_point(&high),
        Err(EncodingError::NonCanonicalPoint)
    );
    let small = curve25519_dalek::constants::EIGHT_TORSION[2]
        .compress()
        .to_bytes();
    assert_eq!(
        Ed25519::read_wire_point(&small),
        Err(EncodingError::Identity)
    );
    // The uncompressed encoding must carry the 0x04 tag.
    let p = Secp256k1::mul_base(&k256::Scalar::from(5u64));
    let mut out = Vec::new();
    Secp256k1::write_wire_point(&p, &mut out).unwrap();
    out[0] = 0x02;
    assert_eq!(Secp256k1::read_wire_point(&out), Err(EncodingError::BadTag));
}
