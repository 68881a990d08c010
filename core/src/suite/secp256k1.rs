//! FROST(secp256k1, SHA-256), RFC 9591 §6.5, and its BIP-340 variant FROST(secp256k1,
//! SHA-256-TR) as defined by the ZF `frost-secp256k1-tr` ciphersuite, both on k256.
//!
//! The two suites share the group, the encodings and H1/H3/H4/H5 (with different context
//! strings); the taproot suite replaces H2 by the BIP-340 challenge, normalises keys and
//! group commitments to even y, and encodes signatures as 64-byte BIP-340 signatures.

mod msm;

use k256::{
    elliptic_curve::{
        ops::{MulByGeneratorVartime, Reduce},
        point::{AffineCoordinates, DecompressPoint},
        subtle::Choice,
    },
    hash2curve::{hash_to_field, ExpandMsgXmd, MapToCurve},
    AffinePoint, FieldBytes, ProjectivePoint, Scalar,
};
use sha2::{Digest, Sha256};

use super::{check_len, Ciphersuite, Suite};
use crate::{error::EncodingError, hash::tagged_hash};

/// FROST(secp256k1, SHA-256), RFC 9591 §6.5: 65-byte `R ‖ z` signatures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Secp256k1;

/// FROST(secp256k1, SHA-256-TR): 64-byte BIP-340 signatures that verify as Taproot key-path
/// spends (design §2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Taproot;

fn serialize_scalar(s: &Scalar) -> [u8; 32] {
    s.to_bytes().into()
}

fn deserialize_scalar(bytes: &[u8]) -> Result<Scalar, EncodingError> {
    check_len(bytes, 32)?;
    let repr = FieldBytes::try_from(bytes).map_err(|_| EncodingError::Length {
        expected: 32,
        got: bytes.len(),
    })?;
    Option::from(<Scalar as ff::PrimeField>::from_repr(repr))
        .ok_or(EncodingError::NonCanonicalScalar)
}

fn serialize_point(p: &ProjectivePoint) -> Result<[u8; 33], EncodingError> {
    if bool::from(group::Group::is_identity(p)) {
        return Err(EncodingError::Identity);
    }
    let bytes = <ProjectivePoint as group::GroupEncoding>::to_bytes(p);
    let mut out = [0u8; 33];
    out.copy_from_slice(&bytes);
    Ok(out)
}

/// SEC1 compressed decoding: tag 0x02/0x03, `x < p`, `x` on the curve. secp256k1 has
/// cofactor 1, so every curve point is in the prime-order group; the identity has no
/// 33-byte encoding.
fn deserialize_point(bytes: &[u8]) -> Result<ProjectivePoint, EncodingError> {
    check_len(bytes, 33)?;
    let odd = match bytes[0] {
        0x02 => 0u8,
        0x03 => 1u8,
        _ => return Err(EncodingError::BadTag),
    };
    let x = FieldBytes::try_from(&bytes[1..]).map_err(|_| EncodingError::NotOnCurve)?;
    let affine: Option<AffinePoint> = AffinePoint::decompress(&x, Choice::from(odd)).into();
    affine
        .map(ProjectivePoint::from)
        .ok_or(EncodingError::NotOnCurve)
}

/// GLV + wNAF Straus with batch-affine column sums and a Jacobian Horner pass (see [`msm`]).
fn multiscalar_mul_vartime(scalars: &[Scalar], points: &[ProjectivePoint]) -> ProjectivePoint {
    msm::multiscalar_mul_vartime(scalars, points)
}

/// RFC 9591 §6.5 H1/H3: `hash_to_field(m, 1)` with `expand_message_xmd(SHA-256)`, DST
/// `contextString ‖ tag`, L = 48 (RFC 9380 §5.2).
fn hash_to_scalar(context: &[u8], tag: &[u8], parts: &[&[u8]]) -> Scalar {
    let [s] = hash_to_field::<
        1,
        ExpandMsgXmd<Sha256>,
        <k256::Secp256k1 as MapToCurve>::SecurityLevel,
        Scalar,
        <k256::Secp256k1 as MapToCurve>::Length,
    >(parts, &[context, tag])
    // expand_message_xmd fails only for an empty DST or an output longer than 65535 bytes;
    // the DST here is a non-empty constant and the output is 48 bytes.
    .expect("constant DST and 48-byte output are within RFC 9380 limits");
    s
}

/// RFC 9591 §6.5 H4/H5: `SHA-256(contextString ‖ tag ‖ m)`.
fn hash_to_digest(context: &[u8], tag: &[u8], m: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(context);
    h.update(tag);
    h.update(m);
    h.finalize().into()
}

fn x_only(p: &ProjectivePoint) -> [u8; 32] {
    p.to_affine().x().into()
}

/// Uncompressed SEC1 (`0x04 ‖ x ‖ y`), tessera's wire encoding of secp256k1 points.
fn write_wire_point(p: &ProjectivePoint, out: &mut Vec<u8>) -> Result<(), EncodingError> {
    if bool::from(group::Group::is_identity(p)) {
        return Err(EncodingError::Identity);
    }
    let a = p.to_affine();
    out.push(0x04);
    out.extend_from_slice(&a.x());
    out.extend_from_slice(&a.y());
    Ok(())
}

/// Strict decoding of uncompressed SEC1: tag 0x04, `x, y < p`, `y² = x³ + 7`. The identity
/// has no such encoding, and secp256k1 has cofactor 1.
fn read_wire_point(bytes: &[u8]) -> Result<ProjectivePoint, EncodingError> {
    check_len(bytes, 65)?;
    if bytes[0] != 0x04 {
        return Err(EncodingError::BadTag);
    }
    let coordinate =
        |b: &[u8]| FieldBytes::try_from(b).map_err(|_| EncodingError::NonCanonicalPoint);
    let (x, y) = (coordinate(&bytes[1..33])?, coordinate(&bytes[33..])?);
    Option::<AffinePoint>::from(AffinePoint::from_coordinates(&x, &y))
        .map(ProjectivePoint::from)
        .ok_or(EncodingError::NotOnCurve)
}

/// Implements the parts the two suites share, delegating to the free functions above.
macro_rules! secp256k1_common {
    () => {
        type Scalar = Scalar;
        type Point = ProjectivePoint;
        type PointBytes = [u8; 33];
        type Digest = [u8; 32];
        const POINT_LEN: usize = 33;

        fn serialize_scalar(s: &Scalar) -> [u8; 32] {
            serialize_scalar(s)
        }
        fn deserialize_scalar(bytes: &[u8]) -> Result<Scalar, EncodingError> {
            deserialize_scalar(bytes)
        }
        fn serialize_point(p: &ProjectivePoint) -> Result<[u8; 33], EncodingError> {
            serialize_point(p)
        }
        fn deserialize_point(bytes: &[u8]) -> Result<ProjectivePoint, EncodingError> {
            deserialize_point(bytes)
        }
        const WIRE_POINT_LEN: usize = 65;
        fn write_wire_point(p: &ProjectivePoint, out: &mut Vec<u8>) -> Result<(), EncodingError> {
            write_wire_point(p, out)
        }
        fn read_wire_point(bytes: &[u8]) -> Result<ProjectivePoint, EncodingError> {
            read_wire_point(bytes)
        }
        fn mul_base(s: &Scalar) -> ProjectivePoint {
            ProjectivePoint::mul_by_generator(s)
        }
        fn multiscalar_mul_vartime(
            scalars: &[Scalar],
            points: &[ProjectivePoint],
        ) -> ProjectivePoint {
            multiscalar_mul_vartime(scalars, points)
        }
        fn mul_base_add_vartime(a: &Scalar, b: &Scalar, p: &ProjectivePoint) -> ProjectivePoint {
            ProjectivePoint::mul_by_generator_and_mul_add_vartime(a, b, p)
        }
        fn hash_to_scalar(tag: &[u8], parts: &[&[u8]]) -> Scalar {
            hash_to_scalar(Self::CONTEXT, tag, parts)
        }
        fn h4(m: &[u8]) -> [u8; 32] {
            hash_to_digest(Self::CONTEXT, b"msg", m)
        }
        fn h5(m: &[u8]) -> [u8; 32] {
            hash_to_digest(Self::CONTEXT, b"com", m)
        }
    };
}

impl Ciphersuite for Secp256k1 {
    secp256k1_common!();

    const SUITE: Suite = Suite::Secp256k1;
    const CONTEXT: &'static [u8] = b"FROST-secp256k1-SHA256-v1";
    const SIGNATURE_LEN: usize = 65;

    /// RFC 9591 §6.5 H2: `hash_to_field(R ‖ PK ‖ msg)` with DST `contextString ‖ "chal"`.
    fn challenge(r: &ProjectivePoint, key: &ProjectivePoint, msg: &[u8]) -> Scalar {
        let r = <ProjectivePoint as group::GroupEncoding>::to_bytes(r);
        let key = <ProjectivePoint as group::GroupEncoding>::to_bytes(key);
        hash_to_scalar(Self::CONTEXT, b"chal", &[&r, &key, msg])
    }

    fn serialize_signature(r: &ProjectivePoint, z: &Scalar) -> Result<Vec<u8>, EncodingError> {
        let mut out = serialize_point(r)?.to_vec();
        out.extend_from_slice(&serialize_scalar(z));
        Ok(out)
    }

    fn deserialize_signature(bytes: &[u8]) -> Result<(ProjectivePoint, Scalar), EncodingError> {
        check_len(bytes, 65)?;
        Ok((
            deserialize_point(&bytes[..33])?,
            deserialize_scalar(&bytes[33..])?,
        ))
    }
}

/// `lift_x` of BIP-340: the point with x coordinate `x` and even y.
fn lift_x(x: &[u8]) -> Result<ProjectivePoint, EncodingError> {
    let mut bytes = [0u8; 33];
    bytes[0] = 0x02;
    bytes[1..].copy_from_slice(x);
    deserialize_point(&bytes)
}

impl Ciphersuite for Taproot {
    secp256k1_common!();

    const SUITE: Suite = Suite::Taproot;
    const CONTEXT: &'static [u8] = b"FROST-secp256k1-SHA256-TR-v1";
    const SIGNATURE_LEN: usize = 64;
    const BIP340: bool = true;

    /// BIP-340: `int(hash_BIP0340/challenge(x(R) ‖ x(P) ‖ m)) mod n`; R and P are even-y here.
    fn challenge(r: &ProjectivePoint, key: &ProjectivePoint, msg: &[u8]) -> Scalar {
        let digest = tagged_hash(b"BIP0340/challenge", &[&x_only(r), &x_only(key), msg]);
        <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(digest))
    }

    fn has_even_y(p: &ProjectivePoint) -> bool {
        !bool::from(p.to_affine().y_is_odd())
    }

    /// BIP-340 signature `x(R) ‖ z`; R must already be even-y.
    fn serialize_signature(r: &ProjectivePoint, z: &Scalar) -> Result<Vec<u8>, EncodingError> {
        let mut out = serialize_point(r)?[1..].to_vec();
        out.extend_from_slice(&serialize_scalar(z));
        Ok(out)
    }

    fn deserialize_signature(bytes: &[u8]) -> Result<(ProjectivePoint, Scalar), EncodingError> {
        check_len(bytes, 64)?;
        Ok((lift_x(&bytes[..32])?, deserialize_scalar(&bytes[32..])?))
    }

    fn deserialize_verifying_key(bytes: &[u8]) -> Result<ProjectivePoint, EncodingError> {
        match bytes.len() {
            32 => lift_x(bytes),
            33 => deserialize_point(bytes).map(|p| if Self::has_even_y(&p) { p } else { -p }),
            got => Err(EncodingError::Length { expected: 32, got }),
        }
    }

    fn serialize_verifying_key(p: &ProjectivePoint) -> Result<Vec<u8>, EncodingError> {
        Ok(serialize_point(p)?[1..].to_vec())
    }
}
