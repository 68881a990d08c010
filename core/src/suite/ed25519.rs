//! FROST(Ed25519, SHA-512), RFC 9591 §6.1, on curve25519-dalek.

use curve25519_dalek::{
    edwards::CompressedEdwardsY,
    traits::{IsIdentity, VartimeMultiscalarMul},
    EdwardsPoint, Scalar,
};
use sha2::{Digest, Sha512};

use super::{check_len, Ciphersuite, Suite};
use crate::error::EncodingError;

/// `8⁻¹ mod L`.
fn inverse_of_eight() -> Scalar {
    Scalar::from(8u8).invert()
}

/// Whether the 255-bit y of a compressed Edwards point (little-endian, sign bit cleared) is
/// below p = 2^255 − 19, i.e. not in `[2^255 − 19, 2^255)`.
fn y_is_canonical(b: &[u8; 32]) -> bool {
    !(b[31] & 0x7f == 0x7f && b[1..31].iter().all(|&x| x == 0xff) && b[0] >= 0xed)
}

/// FROST(Ed25519, SHA-512): signatures verify under RFC 8032 Ed25519.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Ed25519;

/// `H(contextString ‖ tag ‖ m)` reduced from 64 little-endian bytes (RFC 9591 §6.1 H1, H3).
fn hash_to_scalar(tag: &[u8], parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    h.update(Ed25519::CONTEXT);
    h.update(tag);
    for p in parts {
        h.update(p);
    }
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

fn hash_to_digest(tag: &[u8], m: &[u8]) -> [u8; 64] {
    let mut h = Sha512::new();
    h.update(Ed25519::CONTEXT);
    h.update(tag);
    h.update(m);
    h.finalize().into()
}

impl Ciphersuite for Ed25519 {
    type Scalar = Scalar;
    type Point = EdwardsPoint;
    type PointBytes = [u8; 32];
    type Digest = [u8; 64];

    const SUITE: Suite = Suite::Ed25519;
    const CONTEXT: &'static [u8] = b"FROST-ED25519-SHA512-v1";
    const POINT_LEN: usize = 32;
    const SIGNATURE_LEN: usize = 64;

    fn serialize_scalar(s: &Scalar) -> [u8; 32] {
        s.to_bytes()
    }

    fn deserialize_scalar(bytes: &[u8]) -> Result<Scalar, EncodingError> {
        check_len(bytes, 32)?;
        let mut b = [0u8; 32];
        b.copy_from_slice(bytes);
        Option::from(Scalar::from_canonical_bytes(b)).ok_or(EncodingError::NonCanonicalScalar)
    }

    fn serialize_point(p: &EdwardsPoint) -> Result<[u8; 32], EncodingError> {
        if p.is_identity() {
            return Err(EncodingError::Identity);
        }
        Ok(p.compress().to_bytes())
    }

    /// RFC 9591 §6.1 `DeserializeElement`: canonical, on the curve, not the identity, and in
    /// the prime-order subgroup.
    fn deserialize_point(bytes: &[u8]) -> Result<EdwardsPoint, EncodingError> {
        check_len(bytes, 32)?;
        let compressed =
            CompressedEdwardsY::from_slice(bytes).map_err(|_| EncodingError::Length {
                expected: 32,
                got: bytes.len(),
            })?;
        let p = compressed.decompress().ok_or(EncodingError::NotOnCurve)?;
        // dalek accepts y >= p and a set sign bit on x = 0; only the canonical form round-trips.
        if p.compress() != compressed {
            return Err(EncodingError::NonCanonicalPoint);
        }
        if p.is_identity() {
            return Err(EncodingError::Identity);
        }
        if !p.is_torsion_free() {
            return Err(EncodingError::NotPrimeOrder);
        }
        Ok(p)
    }

    /// tessera's wire encoding sends `R = 8⁻¹·P` (mod L), compressed; the receiver takes
    /// `P = 8·R`. Multiplying by the cofactor lands every curve point in the prime-order
    /// subgroup, so decoding needs three doublings where `DeserializeElement` needs a full
    /// multiplication by L: the difference that decides a large DKG's cost. The 8 encodings
    /// `R + T` (T of order 8) of one P are not told apart here; a party that sends different
    /// ones to different parties fails the echo check like any equivocator.
    fn write_wire_point(p: &EdwardsPoint, out: &mut Vec<u8>) -> Result<(), EncodingError> {
        if p.is_identity() {
            return Err(EncodingError::Identity);
        }
        out.extend_from_slice((p * inverse_of_eight()).compress().as_bytes());
        Ok(())
    }

    /// Decodes `8·R`: 32 bytes, `y < p` (checked on the bytes), on the curve, and not the
    /// identity after clearing the cofactor (which also rejects every encoding with x = 0).
    fn read_wire_point(bytes: &[u8]) -> Result<EdwardsPoint, EncodingError> {
        check_len(bytes, 32)?;
        let mut b = [0u8; 32];
        b.copy_from_slice(bytes);
        if !y_is_canonical(&b) {
            return Err(EncodingError::NonCanonicalPoint);
        }
        let p = CompressedEdwardsY(b)
            .decompress()
            .ok_or(EncodingError::NotOnCurve)?
            .mul_by_cofactor();
        if p.is_identity() {
            return Err(EncodingError::Identity);
        }
        Ok(p)
    }

    fn mul_base(s: &Scalar) -> EdwardsPoint {
        EdwardsPoint::mul_base(s)
    }

    fn multiscalar_mul_vartime(scalars: &[Scalar], points: &[EdwardsPoint]) -> EdwardsPoint {
        EdwardsPoint::vartime_multiscalar_mul(scalars, points)
    }

    fn mul_base_add_vartime(a: &Scalar, b: &Scalar, p: &EdwardsPoint) -> EdwardsPoint {
        EdwardsPoint::vartime_double_scalar_mul_basepoint(b, p, a)
    }

    fn hash_to_scalar(tag: &[u8], parts: &[&[u8]]) -> Scalar {
        hash_to_scalar(tag, parts)
    }

    fn h4(m: &[u8]) -> [u8; 64] {
        hash_to_digest(b"msg", m)
    }

    fn h5(m: &[u8]) -> [u8; 64] {
        hash_to_digest(b"com", m)
    }

    /// RFC 9591 §6.1 H2 is plain SHA-512 without the context string, so that group
    /// signatures are RFC 8032 Ed25519 signatures.
    fn challenge(r: &EdwardsPoint, key: &EdwardsPoint, msg: &[u8]) -> Scalar {
        let mut h = Sha512::new();
        h.update(r.compress().as_bytes());
        h.update(key.compress().as_bytes());
        h.update(msg);
        Scalar::from_bytes_mod_order_wide(&h.finalize().into())
    }

    fn serialize_signature(r: &EdwardsPoint, z: &Scalar) -> Result<Vec<u8>, EncodingError> {
        let mut out = Self::serialize_point(r)?.to_vec();
        out.extend_from_slice(&z.to_bytes());
        Ok(out)
    }

    fn deserialize_signature(bytes: &[u8]) -> Result<(EdwardsPoint, Scalar), EncodingError> {
        check_len(bytes, 64)?;
        Ok((
            Self::deserialize_point(&bytes[..32])?,
            Self::deserialize_scalar(&bytes[32..])?,
        ))
    }
}
