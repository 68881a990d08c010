//! The three ciphersuites of design §2.
//!
//! | suite | standard | scalars | points | signature |
//! |---|---|---|---|---|
//! | [`Ed25519`] | RFC 9591 §6.1 FROST(Ed25519, SHA-512) | 32 B little-endian | 32 B compressed Edwards | 64 B `R ‖ z` |
//! | [`Secp256k1`] | RFC 9591 §6.5 FROST(secp256k1, SHA-256) | 32 B big-endian | 33 B SEC1 compressed | 65 B `R ‖ z` |
//! | [`Taproot`] | FROST(secp256k1, SHA-256-TR): BIP-340 challenge, even-y | as secp256k1 | as secp256k1, x-only on output | 64 B BIP-340 |

use core::{fmt, hash::Hash, str::FromStr};

use ff::PrimeField;
use group::Group;
use subtle::ConditionallySelectable;
use zeroize::Zeroize;

use crate::error::EncodingError;

mod ed25519;
mod secp256k1;

pub use ed25519::Ed25519;
pub use secp256k1::{Secp256k1, Taproot};

/// A FROST ciphersuite: a prime-order group, its encodings, and the hash functions H1..H5 of
/// RFC 9591 §6.
///
/// Every decoding function is strict: it rejects non-canonical encodings, points off the curve
/// or outside the prime-order subgroup, and the identity (RFC 9591 §4, `DeserializeElement`).
pub trait Ciphersuite:
    Copy + Clone + fmt::Debug + Default + PartialEq + Eq + Hash + Send + Sync + 'static
{
    /// Scalars modulo the group order.
    type Scalar: PrimeField + Zeroize;
    /// Group elements.
    type Point: Group<Scalar = Self::Scalar> + ConditionallySelectable;
    /// `SerializeElement` output (32 or 33 bytes).
    type PointBytes: AsRef<[u8]>
        + for<'a> TryFrom<&'a [u8]>
        + Copy
        + Eq
        + fmt::Debug
        + Send
        + Sync
        + 'static;
    /// H4/H5 output.
    type Digest: AsRef<[u8]> + Copy;

    /// The runtime name of this suite.
    const SUITE: Suite;
    /// RFC 9591 `contextString`.
    const CONTEXT: &'static [u8];
    /// Length of `SerializeElement` output.
    const POINT_LEN: usize;
    /// Length of an encoded group signature.
    const SIGNATURE_LEN: usize;
    /// BIP-340 mode: keys and group commitments are normalised to even y, signatures carry an
    /// x-only R (design §2, taproot).
    const BIP340: bool = false;

    /// `SerializeScalar`.
    fn serialize_scalar(s: &Self::Scalar) -> [u8; 32];
    /// `DeserializeScalar`: exactly 32 bytes, canonical.
    fn deserialize_scalar(bytes: &[u8]) -> Result<Self::Scalar, EncodingError>;
    /// `SerializeElement`; the identity has no encoding.
    fn serialize_point(p: &Self::Point) -> Result<Self::PointBytes, EncodingError>;
    /// `DeserializeElement`, strict.
    fn deserialize_point(bytes: &[u8]) -> Result<Self::Point, EncodingError>;

    /// Length of a point in tessera's own protocol messages (DKG and resharing commitments).
    const WIRE_POINT_LEN: usize = Self::POINT_LEN;
    /// Appends `p` in tessera's wire encoding. It is `SerializeElement` unless a suite has a
    /// cheaper strict encoding to decode: secp256k1 uses 65-byte uncompressed SEC1, whose
    /// decoding checks the curve equation instead of taking a square root, which matters when
    /// a party decodes n·t commitment points.
    fn write_wire_point(p: &Self::Point, out: &mut Vec<u8>) -> Result<(), EncodingError> {
        out.extend_from_slice(Self::serialize_point(p)?.as_ref());
        Ok(())
    }
    /// Strict decoding of [`Ciphersuite::write_wire_point`]'s encoding: canonical, on the
    /// curve, prime order, not the identity.
    fn read_wire_point(bytes: &[u8]) -> Result<Self::Point, EncodingError> {
        Self::deserialize_point(bytes)
    }

    /// `s·G`, constant time in `s`.
    fn mul_base(s: &Self::Scalar) -> Self::Point;
    /// `Σ s_i·P_i` in variable time: only for public scalars and points.
    fn multiscalar_mul_vartime(scalars: &[Self::Scalar], points: &[Self::Point]) -> Self::Point;
    /// `a·G + b·P` in variable time: only for public scalars and points (verification).
    fn mul_base_add_vartime(a: &Self::Scalar, b: &Self::Scalar, p: &Self::Point) -> Self::Point;

    /// The suite's hash to a scalar under domain `contextString ‖ tag`, over the
    /// concatenation of `parts` (RFC 9591 §6.1 / §6.5 construction of H1 and H3). tessera's own
    /// uses pass tags that start with `tessera/`, so they never meet the RFC's tags.
    fn hash_to_scalar(tag: &[u8], parts: &[&[u8]]) -> Self::Scalar;
    /// H1 (binding factors): `parts` are concatenated to form the RFC's input `m`.
    fn h1(parts: &[&[u8]]) -> Self::Scalar {
        Self::hash_to_scalar(b"rho", parts)
    }
    /// H3 (nonces).
    fn h3(parts: &[&[u8]]) -> Self::Scalar {
        Self::hash_to_scalar(b"nonce", parts)
    }
    /// H4 (message).
    fn h4(m: &[u8]) -> Self::Digest;
    /// H5 (commitment list).
    fn h5(m: &[u8]) -> Self::Digest;
    /// The challenge `c = H2(R ‖ PK ‖ msg)` with the suite's encodings of `R` and `PK`
    /// (RFC 9591 §4.6 `compute_challenge`; BIP-340 §Default Signing for taproot).
    fn challenge(r: &Self::Point, key: &Self::Point, msg: &[u8]) -> Self::Scalar;

    /// Whether `p` has an even y coordinate (BIP-340). Always true outside BIP-340 suites.
    fn has_even_y(_p: &Self::Point) -> bool {
        true
    }

    /// Encodes a group signature `(R, z)`.
    fn serialize_signature(r: &Self::Point, z: &Self::Scalar) -> Result<Vec<u8>, EncodingError>;
    /// Decodes a group signature strictly.
    fn deserialize_signature(bytes: &[u8]) -> Result<(Self::Point, Self::Scalar), EncodingError>;
    /// Decodes a public key as a verifier takes it. Taproot accepts the 32-byte x-only key and
    /// the 33-byte compressed key, and returns the even-y point BIP-340 verifies against.
    fn deserialize_verifying_key(bytes: &[u8]) -> Result<Self::Point, EncodingError> {
        Self::deserialize_point(bytes)
    }
    /// Encodes a public key as a verifier takes it (x-only for taproot).
    fn serialize_verifying_key(p: &Self::Point) -> Result<Vec<u8>, EncodingError> {
        Self::serialize_point(p).map(|b| b.as_ref().to_vec())
    }
}

/// The runtime name of a ciphersuite, as written on the command line and in files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    /// FROST(Ed25519, SHA-512).
    Ed25519,
    /// FROST(secp256k1, SHA-256).
    Secp256k1,
    /// FROST(secp256k1, SHA-256-TR): BIP-340 / Taproot.
    Taproot,
}

impl Suite {
    /// All suites, in a fixed order.
    pub const ALL: [Suite; 3] = [Suite::Ed25519, Suite::Secp256k1, Suite::Taproot];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Suite::Ed25519 => "ed25519",
            Suite::Secp256k1 => "secp256k1",
            Suite::Taproot => "taproot",
        }
    }
}

impl fmt::Display for Suite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown suite name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown suite `{0}` (expected ed25519, secp256k1 or taproot)")]
pub struct UnknownSuite(pub String);

impl FromStr for Suite {
    type Err = UnknownSuite;
    fn from_str(s: &str) -> Result<Self, UnknownSuite> {
        match s.to_ascii_lowercase().as_str() {
            "ed25519" => Ok(Suite::Ed25519),
            "secp256k1" => Ok(Suite::Secp256k1),
            "taproot" | "secp256k1-tr" => Ok(Suite::Taproot),
            _ => Err(UnknownSuite(s.to_string())),
        }
    }
}

/// Checks that `bytes` has exactly `expected` bytes.
pub(crate) fn check_len(bytes: &[u8], expected: usize) -> Result<(), EncodingError> {
    if bytes.len() == expected {
        Ok(())
    } else {
        Err(EncodingError::Length {
            expected,
            got: bytes.len(),
        })
    }
}

#[cfg(test)]
mod tests;
