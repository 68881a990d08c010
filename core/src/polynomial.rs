//! Secret polynomials for Shamir sharing (RFC 9591 Appendix C.1).

use zeroize::{Zeroize, ZeroizeOnDrop};

use ff::Field as _;

use crate::{
    error::Error, feldman::Commitment, identifier::Identifier, secret::SecretScalar,
    suite::Ciphersuite,
};

/// A polynomial `f(x) = a_0 + a_1 x + … + a_{t-1} x^{t-1}` with secret coefficients; `a_0` is
/// the shared secret. Zeroized on drop, never printed.
pub struct SecretPolynomial<C: Ciphersuite> {
    coefficients: Vec<C::Scalar>,
}

impl<C: Ciphersuite> SecretPolynomial<C> {
    /// A polynomial of degree `threshold - 1` with constant term `secret` and random other
    /// coefficients (RFC 9591 Appendix C.1 `secret_share_shard`).
    pub fn random(
        secret: &SecretScalar<C>,
        threshold: u16,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<Self, Error> {
        if threshold < 2 {
            return Err(Error::InvalidThreshold {
                threshold: threshold.into(),
                participants: 0,
            });
        }
        let mut coefficients = Vec::with_capacity(threshold.into());
        coefficients.push(*secret.expose_secret());
        for _ in 1..threshold {
            coefficients.push(*SecretScalar::<C>::random(rng).expose_secret());
        }
        Ok(Self { coefficients })
    }

    /// A polynomial with the given coefficients, constant term first (used to replay
    /// reference vectors).
    pub fn from_coefficients(coefficients: Vec<SecretScalar<C>>) -> Self {
        Self {
            coefficients: coefficients.iter().map(|c| *c.expose_secret()).collect(),
        }
    }

    /// The number of coefficients (the threshold t).
    pub fn threshold(&self) -> usize {
        self.coefficients.len()
    }

    /// `f(id)` by Horner's rule.
    pub fn evaluate(&self, id: Identifier) -> SecretScalar<C> {
        let x = id.to_scalar::<C>();
        let mut acc = C::Scalar::ZERO;
        for c in self.coefficients.iter().rev() {
            acc = acc * x + c;
        }
        SecretScalar::new(acc)
    }

    /// The Feldman commitment `(a_0·G, …, a_{t-1}·G)` (RFC 9591 Appendix C.2 `vss_commit`).
    pub fn commit(&self) -> Commitment<C> {
        Commitment::from_points(self.coefficients.iter().map(C::mul_base).collect())
    }
}

impl<C: Ciphersuite> Zeroize for SecretPolynomial<C> {
    fn zeroize(&mut self) {
        self.coefficients.iter_mut().for_each(Zeroize::zeroize);
    }
}

impl<C: Ciphersuite> Drop for SecretPolynomial<C> {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl<C: Ciphersuite> ZeroizeOnDrop for SecretPolynomial<C> {}

impl<C: Ciphersuite> core::fmt::Debug for SecretPolynomial<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "SecretPolynomial(t = {}, <redacted>)",
            self.coefficients.len()
        )
    }
}
