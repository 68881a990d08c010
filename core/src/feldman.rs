//! Feldman verifiable secret sharing (RFC 9591 Appendix C.2; Feldman 1987).

use group::Group as _;

use crate::{
    error::Error,
    identifier::Identifier,
    protocol::{Culprit, Evidence, Fault, PartyIndex},
    secret::SecretScalar,
    suite::Ciphersuite,
};

/// Public commitments `(a_0·G, …, a_{t-1}·G)` to a sharing polynomial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commitment<C: Ciphersuite> {
    points: Vec<C::Point>,
}

impl<C: Ciphersuite> Commitment<C> {
    /// Wraps coefficient commitments, constant term first.
    pub fn from_points(points: Vec<C::Point>) -> Self {
        Self { points }
    }

    /// The coefficient commitments, constant term first.
    pub fn points(&self) -> &[C::Point] {
        &self.points
    }

    /// The committed constant term `a_0·G`.
    pub fn constant(&self) -> Option<&C::Point> {
        self.points.first()
    }

    /// Checks that the commitment has exactly `threshold` coefficients.
    pub fn check_threshold(&self, threshold: usize) -> Result<(), Error> {
        if self.points.len() == threshold {
            Ok(())
        } else {
            Err(Error::CommitmentLength {
                expected: threshold,
                got: self.points.len(),
            })
        }
    }

    /// `f(id)·G = Σ_k id^k · C_k`, by Horner's rule with small-integer multiplications: an
    /// identifier has at most 16 bits, so each step costs ~16 doublings instead of a full
    /// 256-bit scalar multiplication.
    pub fn evaluate(&self, id: Identifier) -> C::Point {
        let mut acc = C::Point::identity();
        for c in self.points.iter().rev() {
            acc = mul_small::<C>(&acc, id.get()) + c;
        }
        acc
    }

    /// Feldman's check `share·G == f(id)·G` (RFC 9591 Appendix C.2 `vss_verify`).
    pub fn verify_share(&self, id: Identifier, share: &SecretScalar<C>) -> bool {
        C::mul_base(share.expose_secret()) == self.evaluate(id)
    }

    /// `Σ_i C_i`, coefficient by coefficient: the commitment to `Σ_i f_i` (the commitments
    /// must all have the same length, as the protocols check on receipt).
    pub fn sum<'a>(commitments: impl IntoIterator<Item = &'a Commitment<C>>) -> Commitment<C> {
        let mut sum: Vec<C::Point> = Vec::new();
        for c in commitments {
            if sum.is_empty() {
                sum = c.points.clone();
            } else {
                sum.iter_mut().zip(&c.points).for_each(|(s, p)| *s += p);
            }
        }
        Commitment { points: sum }
    }
}

/// The batched Feldman check of a party that received one share from each of several
/// dealers (design §3.1 step 3, §3.3 step 3): `total·G == expected`, where `total = Σ_i f_i(id)`
/// is the party's final share and `expected` the summed commitment evaluated at `id`. The sum
/// is what matters: shares whose errors cancel still give the right total. Only if the sum
/// fails is each share checked against its dealer's commitment; returns each dealer whose
/// share is wrong as a culprit of a bad share, accused by the receiving party `by` (the shares
/// came privately, so only it can vouch for them).
pub fn share_sum_culprits<C: Ciphersuite>(
    id: Identifier,
    by: PartyIndex,
    total: &SecretScalar<C>,
    expected: &C::Point,
    received: &[(PartyIndex, &Commitment<C>, &SecretScalar<C>)],
) -> Vec<Culprit> {
    if C::mul_base(total.expose_secret()) == *expected {
        return Vec::new();
    }
    received
        .iter()
        .filter(|(_, commitment, share)| !commitment.verify_share(id, share))
        .map(|(p, _, _)| Culprit {
            party: *p,
            fault: Fault::BadShare,
            evidence: Evidence::AccusedBy(by),
        })
        .collect()
}

/// `k·P` for a public 16-bit `k`, by left-to-right double-and-add from `k`'s top bit
/// (variable time: `k` and `P` are public). Identifier 100 costs 6 doublings and 2 additions.
pub fn mul_small<C: Ciphersuite>(p: &C::Point, k: u16) -> C::Point {
    if k == 0 {
        return C::Point::identity();
    }
    let top = 15 - k.leading_zeros();
    let mut acc = *p;
    for bit in (0..top).rev() {
        acc = acc.double();
        if (k >> bit) & 1 == 1 {
            acc += p;
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{polynomial::SecretPolynomial, Ed25519, Secp256k1};
    use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

    fn roundtrip<C: Ciphersuite>() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let secret = SecretScalar::<C>::random(&mut rng);
        let f = SecretPolynomial::<C>::random(&secret, 4, &mut rng).unwrap();
        let com = f.commit();
        assert!(com.check_threshold(4).is_ok());
        for id in [1u16, 2, 77, 65535] {
            let id = Identifier::new(id).unwrap();
            let share = f.evaluate(id);
            assert!(com.verify_share(id, &share));
            let wrong = SecretScalar::<C>::new(*share.expose_secret() + C::Scalar::from(1u64));
            assert!(!com.verify_share(id, &wrong));
        }
        let p = C::mul_base(&C::Scalar::from(12345u64));
        for k in [0u16, 1, 2, 3, 100, 255, 256, 32768, 65535] {
            assert_eq!(mul_small::<C>(&p, k), p * C::Scalar::from(u64::from(k)));
        }
    }

    #[test]
    fn shares_verify_against_commitments() {
        roundtrip::<Ed25519>();
        roundtrip::<Secp256k1>();
    }
}
