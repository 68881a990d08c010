//! Key material: the group's public key package and one participant's key package.

use std::collections::BTreeMap;

use std::sync::Arc;

use ff::Field as _;
use group::Group as _;

use crate::{
    error::Error,
    feldman::Commitment,
    identifier::Identifier,
    lagrange::{batch_invert, node_products},
    secret::SecretScalar,
    suite::Ciphersuite,
};

/// What everyone in the group knows: the *untweaked* group key P (design §2, taproot key
/// model: parity kept), every participant's verifying share `Y_i = s_i·G`, the threshold, and
/// the chain code for BIP-32 style derivation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKeyPackage<C: Ciphersuite> {
    group_key: C::Point,
    verifying_shares: BTreeMap<Identifier, C::Point>,
    threshold: u16,
    chain_code: [u8; 32],
}

impl<C: Ciphersuite> PublicKeyPackage<C> {
    /// Builds a package after checking `2 <= threshold <= n`, that the group key and every
    /// verifying share pass strict decoding (non-identity, prime order), and that all of them
    /// lie on one polynomial of degree below the threshold ([`check_consistency`]).
    pub fn new(
        group_key: C::Point,
        verifying_shares: BTreeMap<Identifier, C::Point>,
        threshold: u16,
        chain_code: [u8; 32],
    ) -> Result<Self, Error> {
        check_threshold(threshold.into(), verifying_shares.len())?;
        check_consistency::<C>(&group_key, &verifying_shares, threshold)?;
        Ok(Self {
            group_key,
            verifying_shares,
            threshold,
            chain_code,
        })
    }

    /// The package of a group whose shares are `f(1..=participants)` for the polynomial
    /// committed in `commitment` (a DKG's summed commitment): `P = C_0` and each `Y_i` by
    /// small-identifier Horner ([`Commitment::evaluate`]). Consistent by construction, so no
    /// consistency check is needed; the points must come from strict decoding, and none of
    /// the derived ones may be the identity.
    pub fn from_commitment(
        commitment: &Commitment<C>,
        participants: u16,
        chain_code: [u8; 32],
    ) -> Result<Self, Error> {
        let threshold = commitment.points().len();
        check_threshold(threshold, participants.into())?;
        let group_key = *commitment.constant().ok_or(Error::InvalidThreshold {
            threshold,
            participants: participants.into(),
        })?;
        let verifying_shares = (1..=participants)
            .map(|i| {
                let id = Identifier::new(i)?;
                Ok((id, commitment.evaluate(id)))
            })
            .collect::<Result<BTreeMap<_, _>, Error>>()?;
        let identity = core::iter::once(&group_key)
            .chain(verifying_shares.values())
            .any(|p| bool::from(p.is_identity()));
        if identity {
            return Err(crate::EncodingError::Identity.into());
        }
        Ok(Self {
            group_key,
            verifying_shares,
            // check_threshold above bounds threshold by participants, a u16.
            threshold: threshold as u16,
            chain_code,
        })
    }

    /// The untweaked group key P.
    pub fn group_key(&self) -> &C::Point {
        &self.group_key
    }

    /// All verifying shares, by identifier.
    pub fn verifying_shares(&self) -> &BTreeMap<Identifier, C::Point> {
        &self.verifying_shares
    }

    /// `Y_id`, if `id` is in the committee.
    pub fn verifying_share(&self, id: Identifier) -> Result<&C::Point, Error> {
        self.verifying_shares
            .get(&id)
            .ok_or(Error::UnknownIdentifier(id))
    }

    /// The threshold t.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// The chain code for BIP-32 style derivation.
    pub fn chain_code(&self) -> &[u8; 32] {
        &self.chain_code
    }
}

/// One participant's key: its identifier, its secret signing share `s_i`, and the group's
/// public data. The secret share is zeroized on drop and never printed.
#[derive(Clone)]
pub struct KeyPackage<C: Ciphersuite> {
    identifier: Identifier,
    signing_share: SecretScalar<C>,
    public: Arc<PublicKeyPackage<C>>,
}

impl<C: Ciphersuite> KeyPackage<C> {
    /// Builds a key package after checking `s_i·G == Y_i`. The public package is shared, so
    /// n key packages of one group hold one copy of it.
    pub fn new(
        identifier: Identifier,
        signing_share: SecretScalar<C>,
        public: Arc<PublicKeyPackage<C>>,
    ) -> Result<Self, Error> {
        let y = public.verifying_share(identifier)?;
        if C::mul_base(signing_share.expose_secret()) != *y {
            return Err(Error::ShareMismatch(identifier));
        }
        Ok(Self {
            identifier,
            signing_share,
            public,
        })
    }

    /// This participant's identifier.
    pub fn identifier(&self) -> Identifier {
        self.identifier
    }

    /// The secret signing share `s_i`.
    pub fn signing_share(&self) -> &SecretScalar<C> {
        &self.signing_share
    }

    /// The group's public data.
    pub fn public(&self) -> &PublicKeyPackage<C> {
        &self.public
    }

    /// This key package moved to the key `P + τ·G` by the public offset `τ`: `s_i + τ`, every
    /// `Y_i + τ·G`. The shares stay on one polynomial (its constant term moves by `τ`), so the
    /// package is consistent by construction. Used for a key bound to one purpose that no
    /// signing request can name, such as a reshare's test signature (design §3.3 step 4).
    pub fn offset(&self, tau: &C::Scalar) -> Result<Self, Error> {
        let shift = C::mul_base(tau);
        let moved = |p: &C::Point| {
            let q = *p + shift;
            if bool::from(q.is_identity()) {
                Err(Error::from(crate::EncodingError::Identity))
            } else {
                Ok(q)
            }
        };
        let public = PublicKeyPackage {
            group_key: moved(&self.public.group_key)?,
            verifying_shares: self
                .public
                .verifying_shares
                .iter()
                .map(|(id, y)| Ok((*id, moved(y)?)))
                .collect::<Result<_, Error>>()?,
            threshold: self.public.threshold,
            chain_code: self.public.chain_code,
        };
        Ok(Self {
            identifier: self.identifier,
            signing_share: SecretScalar::new(*self.signing_share.expose_secret() + tau),
            public: Arc::new(public),
        })
    }
}

impl<C: Ciphersuite> zeroize::Zeroize for KeyPackage<C> {
    fn zeroize(&mut self) {
        self.signing_share.zeroize();
    }
}

// The signing share zeroizes itself on drop; the rest is public.
impl<C: Ciphersuite> zeroize::ZeroizeOnDrop for KeyPackage<C> {}

impl<C: Ciphersuite> core::fmt::Debug for KeyPackage<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyPackage")
            .field("identifier", &self.identifier)
            .field("signing_share", &self.signing_share)
            .field("public", &self.public)
            .finish()
    }
}

/// Checks that `(0, P), (x_1, Y_1), …, (x_n, Y_n)` lie on one polynomial of degree below
/// `threshold` "in the exponent", after strict re-decoding of every point.
///
/// Such n+1 values form a Reed–Solomon codeword of dimension t exactly when they are orthogonal
/// to the dual code, whose words are `(v_i·g(x_i))` with `v_i = Π_{j≠i} (x_i − x_j)^{-1}` and
/// `deg g <= n − t` (the SCRAPE check, Cascudo–David 2017 §4). tessera checks the dual word
/// `g(x) = Σ_k (ρ·x)^k`, with ρ hashed from all the points, by one multiscalar
/// multiplication; a package that is not a codeword passes with probability at most
/// `(n − t)/q`.
pub fn check_consistency<C: Ciphersuite>(
    group_key: &C::Point,
    verifying_shares: &BTreeMap<Identifier, C::Point>,
    threshold: u16,
) -> Result<(), Error> {
    let points: Vec<C::Point> = core::iter::once(*group_key)
        .chain(verifying_shares.values().copied())
        .collect();
    let mut transcript = Vec::with_capacity(points.len() * C::POINT_LEN + 2);
    transcript.extend_from_slice(&threshold.to_be_bytes());
    for (id, p) in core::iter::once(None)
        .chain(verifying_shares.keys().map(Some))
        .zip(&points)
    {
        // Strict: what was built in memory must also survive the decoder's checks.
        let bytes = C::serialize_point(p)?;
        C::deserialize_point(bytes.as_ref())?;
        transcript.extend_from_slice(&id.map_or(0, |i| i.get()).to_be_bytes());
        transcript.extend_from_slice(bytes.as_ref());
    }
    let xs: Vec<C::Scalar> = core::iter::once(C::Scalar::ZERO)
        .chain(verifying_shares.keys().map(|id| id.to_scalar::<C>()))
        .collect();
    let mut weights = node_products::<C>(&xs);
    batch_invert::<C>(&mut weights);
    let rho = C::hash_to_scalar(b"tessera/keys/consistency/v1", &[&transcript]);
    let degree = verifying_shares.len() - usize::from(threshold);
    for (w, x) in weights.iter_mut().zip(&xs) {
        let y = rho * x;
        let g = (0..=degree).fold(C::Scalar::ZERO, |acc, _| acc * y + C::Scalar::ONE);
        *w *= g;
    }
    if bool::from(C::multiscalar_mul_vartime(&weights, &points).is_identity()) {
        Ok(())
    } else {
        Err(Error::InconsistentGroupKey)
    }
}

/// Checks `2 <= threshold <= participants <= 65535`.
pub fn check_threshold(threshold: usize, participants: usize) -> Result<(), Error> {
    if (2..=participants).contains(&threshold) && participants <= usize::from(u16::MAX) {
        Ok(())
    } else {
        Err(Error::InvalidThreshold {
            threshold,
            participants,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{polynomial::SecretPolynomial, Ed25519, Secp256k1};
    use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

    /// Group key and verifying shares of a random t-of-n sharing.
    fn sharing<C: Ciphersuite>(
        t: u16,
        n: u16,
        seed: u64,
    ) -> (C::Point, BTreeMap<Identifier, C::Point>) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let f =
            SecretPolynomial::<C>::random(&SecretScalar::random(&mut rng), t, &mut rng).unwrap();
        let shares = (1..=n)
            .map(|i| {
                let id = Identifier::new(i).unwrap();
                (id, C::mul_base(f.evaluate(id).expose_secret()))
            })
            .collect();
        (*f.commit().constant().unwrap(), shares)
    }

    fn rejects_any_inconsistency<C: Ciphersuite>() {
        for (t, n) in [(2, 2), (2, 3), (3, 5), (5, 9)] {
            let (p, shares) = sharing::<C>(t, n, u64::from(t * n));
            assert!(PublicKeyPackage::<C>::new(p, shares.clone(), t, [0; 32]).is_ok());
            // A threshold lower than the polynomial's degree + 1 is caught.
            if t > 2 {
                assert_eq!(
                    PublicKeyPackage::<C>::new(p, shares.clone(), t - 1, [0; 32]),
                    Err(Error::InconsistentGroupKey)
                );
            }
            // Any one share replaced, including those past the first t, or the group key.
            for id in shares.keys() {
                let mut bad = shares.clone();
                bad.insert(*id, shares[id] + C::mul_base(&C::Scalar::ONE));
                assert_eq!(
                    PublicKeyPackage::<C>::new(p, bad, t, [0; 32]),
                    Err(Error::InconsistentGroupKey),
                    "share {id} of {t}-of-{n}"
                );
            }
            let wrong_key = p + C::mul_base(&C::Scalar::ONE);
            assert_eq!(
                PublicKeyPackage::<C>::new(wrong_key, shares, t, [0; 32]),
                Err(Error::InconsistentGroupKey)
            );
        }
    }

    fn offset_moves_every_share<C: Ciphersuite>() {
        let mut rng = ChaCha20Rng::seed_from_u64(77);
        let f =
            SecretPolynomial::<C>::random(&SecretScalar::random(&mut rng), 2, &mut rng).unwrap();
        let shares: BTreeMap<_, _> = (1..=3)
            .map(|i| {
                let id = Identifier::new(i).unwrap();
                (id, C::mul_base(f.evaluate(id).expose_secret()))
            })
            .collect();
        let p = *f.commit().constant().unwrap();
        let public = Arc::new(PublicKeyPackage::<C>::new(p, shares, 2, [3; 32]).unwrap());
        let id = Identifier::new(2).unwrap();
        let key = KeyPackage::new(id, f.evaluate(id), public).unwrap();
        let tau = C::Scalar::from(12345u64);
        let moved = key.offset(&tau).unwrap();
        let shift = C::mul_base(&tau);
        assert_eq!(*moved.public().group_key(), p + shift);
        assert_eq!(moved.public().chain_code(), &[3; 32]);
        // Still one polynomial, and the moved secret matches the moved verifying share.
        let again = PublicKeyPackage::<C>::new(
            *moved.public().group_key(),
            moved.public().verifying_shares().clone(),
            2,
            [3; 32],
        );
        assert_eq!(again.as_ref(), Ok(moved.public()));
        assert!(
            KeyPackage::new(id, moved.signing_share().clone(), Arc::new(again.unwrap())).is_ok()
        );
    }

    #[test]
    fn offset_packages_stay_consistent() {
        offset_moves_every_share::<Ed25519>();
        offset_moves_every_share::<Secp256k1>();
    }

    #[test]
    fn inconsistent_packages_are_rejected() {
        rejects_any_inconsistency::<Ed25519>();
        rejects_any_inconsistency::<Secp256k1>();
    }

    #[test]
    fn torsion_points_are_rejected() {
        let (p, mut shares) = sharing::<Ed25519>(2, 3, 1);
        let order8 = curve25519_dalek::edwards::CompressedEdwardsY(
            hex::decode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
                .unwrap()
                .try_into()
                .unwrap(),
        )
        .decompress()
        .unwrap();
        let id = Identifier::new(3).unwrap();
        shares.insert(id, shares[&id] + order8);
        assert_eq!(
            PublicKeyPackage::<Ed25519>::new(p, shares, 2, [0; 32]),
            Err(Error::Encoding(crate::EncodingError::NotPrimeOrder))
        );
    }
}
