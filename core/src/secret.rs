//! The zeroizing wrapper for secret scalars.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::suite::Ciphersuite;

/// A secret scalar: a signing share, a nonce, a polynomial coefficient.
///
/// Wiped from memory when dropped, compared in constant time, and never printed: its
/// `Debug` shows only the type name.
pub struct SecretScalar<C: Ciphersuite>(C::Scalar);

impl<C: Ciphersuite> SecretScalar<C> {
    /// Wraps `value`. The caller should not keep other copies of it.
    pub fn new(value: C::Scalar) -> Self {
        Self(value)
    }

    /// A uniformly random non-zero scalar.
    pub fn random(rng: &mut (impl rand_core::CryptoRng + ?Sized)) -> Self {
        loop {
            let s = <C::Scalar as ff::Field>::random(&mut *rng);
            if !bool::from(ff::Field::is_zero(&s)) {
                return Self(s);
            }
        }
    }

    /// Decodes a canonical scalar of suite `C` (RFC 9591 `DeserializeScalar`).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, crate::EncodingError> {
        C::deserialize_scalar(bytes).map(Self)
    }

    /// `self + other`, as a new secret (the operands stay as they are).
    pub fn add(&self, other: &Self) -> Self {
        Self(self.0 + other.0)
    }

    /// The scalar itself. Use it only for arithmetic; never log or persist it unencrypted.
    pub fn expose_secret(&self) -> &C::Scalar {
        &self.0
    }

    /// `SerializeScalar` of the secret. The returned bytes are secret too: zeroize them.
    pub fn to_bytes(&self) -> zeroize::Zeroizing<[u8; 32]> {
        zeroize::Zeroizing::new(C::serialize_scalar(&self.0))
    }
}

impl<C: Ciphersuite> Clone for SecretScalar<C> {
    fn clone(&self) -> Self {
        Self(self.0)
    }
}

impl<C: Ciphersuite> Zeroize for SecretScalar<C> {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl<C: Ciphersuite> Drop for SecretScalar<C> {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl<C: Ciphersuite> ZeroizeOnDrop for SecretScalar<C> {}

impl<C: Ciphersuite> PartialEq for SecretScalar<C> {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl<C: Ciphersuite> Eq for SecretScalar<C> {}

impl<C: Ciphersuite> fmt::Debug for SecretScalar<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretScalar(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ed25519, Secp256k1};

    #[test]
    fn debug_never_shows_the_value() {
        let s = SecretScalar::<Secp256k1>::new(k256::Scalar::from(0xdead_beef_u64));
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("dead") && !shown.contains("DEAD"),
            "{shown}"
        );
        let e = SecretScalar::<Ed25519>::new(curve25519_dalek::Scalar::from(0xdead_beef_u64));
        assert_eq!(format!("{e:?}"), "SecretScalar(<redacted>)");
    }

    #[test]
    fn zeroize_clears_the_value() {
        let mut s = SecretScalar::<Secp256k1>::new(k256::Scalar::from(7u64));
        s.zeroize();
        assert_eq!(*s.expose_secret(), k256::Scalar::ZERO);
    }
}
