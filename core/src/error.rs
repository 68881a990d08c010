//! Typed errors of the core layer.

use crate::{identifier::Identifier, suite::Suite};

/// Why a byte string is not a valid scalar, point or signature of a suite.
///
/// Decoding is strict in the sense of RFC 9591 §4 (`DeserializeScalar`,
/// `DeserializeElement`): canonical encodings only, points on the curve and in the
/// prime-order subgroup, never the identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    /// The input has the wrong length.
    #[error("expected {expected} bytes, got {got}")]
    Length {
        /// Length the suite requires.
        expected: usize,
        /// Length that was given.
        got: usize,
    },
    /// A scalar not below the group order.
    #[error("scalar is not canonical (not below the group order)")]
    NonCanonicalScalar,
    /// A point whose encoding is not the canonical one.
    #[error("point encoding is not canonical")]
    NonCanonicalPoint,
    /// Bytes that do not decode to a point on the curve.
    #[error("point is not on the curve")]
    NotOnCurve,
    /// The identity element, which no protocol message may carry.
    #[error("point is the identity element")]
    Identity,
    /// A point with a small-order component.
    #[error("point is not in the prime-order subgroup")]
    NotPrimeOrder,
    /// A SEC1 tag other than 0x02 or 0x03.
    #[error("point encoding has an invalid tag byte")]
    BadTag,
}

/// Errors of the core layer other than decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A value failed strict decoding.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// Identifier 0 or out of range.
    #[error("identifier must be between 1 and 65535")]
    InvalidIdentifier,
    /// The same identifier appears twice in a set that must be distinct.
    #[error("identifier {0} appears more than once")]
    DuplicateIdentifier(Identifier),
    /// An identifier that is not part of the set it is looked up in.
    #[error("identifier {0} is not in the set")]
    UnknownIdentifier(Identifier),
    /// Threshold or committee size out of range.
    #[error("threshold {threshold} of {participants} is out of range (need 2 <= t <= n <= 65535)")]
    InvalidThreshold {
        /// Requested threshold t.
        threshold: usize,
        /// Requested committee size n.
        participants: usize,
    },
    /// A secret share that does not match its public verifying share.
    #[error("signing share of {0} does not match its verifying share")]
    ShareMismatch(Identifier),
    /// A Feldman commitment with the wrong number of coefficients.
    #[error("commitment has {got} coefficients, expected {expected}")]
    CommitmentLength {
        /// Expected number (the threshold).
        expected: usize,
        /// Number given.
        got: usize,
    },
    /// Group key and verifying shares that do not lie on one polynomial of degree below t.
    #[error("the verifying shares and group key are not consistent with the threshold")]
    InconsistentGroupKey,
    /// A tweak that this suite does not support.
    #[error("{0} keys do not support this tweak")]
    TweakUnsupported(Suite),
    /// BIP-32 hardened derivation needs the private key and cannot be done on a group key.
    #[error(
        "derivation index {0} is hardened; only unhardened paths can be derived from a group key"
    )]
    HardenedDerivation(u32),
    /// A derivation path longer than BIP-32's 255 levels.
    #[error("derivation path has {0} levels; at most 255 are allowed")]
    DerivationTooDeep(usize),
    /// A derivation or tweak step produced an invalid scalar or the identity (probability ~2^-127).
    #[error("derivation produced an invalid key; use the next index")]
    InvalidDerivation,
}
