//! Participant identifiers (RFC 9591 §2: non-zero scalars; tessera uses 1..=65535).

use core::{fmt, num::NonZeroU16};

use crate::{
    error::{EncodingError, Error},
    suite::Ciphersuite,
};

/// A participant's identifier: an integer in 1..=65535, used as the Shamir evaluation point.
///
/// Encoded as a scalar of the suite (`SerializeScalar`, RFC 9591 §4), so little-endian for
/// ed25519 and big-endian for the secp256k1 suites.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "u16", into = "u16")]
pub struct Identifier(NonZeroU16);

impl Identifier {
    /// The identifier `value`; 0 is rejected.
    pub fn new(value: u16) -> Result<Self, Error> {
        NonZeroU16::new(value)
            .map(Self)
            .ok_or(Error::InvalidIdentifier)
    }

    /// The identifier from a wider integer; 0 and values above 65535 are rejected.
    pub fn from_u64(value: u64) -> Result<Self, Error> {
        u16::try_from(value)
            .map_err(|_| Error::InvalidIdentifier)
            .and_then(Self::new)
    }

    /// The integer value.
    pub fn get(self) -> u16 {
        self.0.get()
    }

    /// The identifier as a scalar of suite `C`.
    pub fn to_scalar<C: Ciphersuite>(self) -> C::Scalar {
        C::Scalar::from(u64::from(self.get()))
    }

    /// `SerializeScalar(identifier)` in suite `C`'s byte order.
    pub fn serialize<C: Ciphersuite>(self) -> [u8; 32] {
        C::serialize_scalar(&self.to_scalar::<C>())
    }

    /// Decodes an identifier serialized as a scalar of suite `C`; values above 65535 are
    /// rejected.
    pub fn deserialize<C: Ciphersuite>(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != 32 {
            return Err(EncodingError::Length {
                expected: 32,
                got: bytes.len(),
            }
            .into());
        }
        // The value sits in the two low-order bytes: at the front (little-endian suites) or
        // the back (big-endian suites). Whichever reading re-serializes to the input is it.
        [
            u16::from_le_bytes([bytes[0], bytes[1]]),
            u16::from_be_bytes([bytes[30], bytes[31]]),
        ]
        .into_iter()
        .filter_map(|v| Self::new(v).ok())
        .find(|id| id.serialize::<C>()[..] == bytes[..])
        .ok_or(Error::InvalidIdentifier)
    }
}

impl TryFrom<u16> for Identifier {
    type Error = Error;
    fn try_from(value: u16) -> Result<Self, Error> {
        Self::new(value)
    }
}

impl From<Identifier> for u16 {
    fn from(id: Identifier) -> u16 {
        id.get()
    }
}

impl fmt::Display for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.get())
    }
}

impl fmt::Debug for Identifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Identifier({})", self.get())
    }
}

/// Checks that `ids` are strictly increasing (sorted and distinct).
pub(crate) fn check_sorted_distinct(ids: &[Identifier]) -> Result<(), Error> {
    for w in ids.windows(2) {
        if w[0] >= w[1] {
            return Err(if w[0] == w[1] {
                Error::DuplicateIdentifier(w[0])
            } else {
                Error::InvalidIdentifier
            });
        }
    }
    Ok(())
}
