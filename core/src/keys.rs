//! Key material: the group's public key package and one participant's key package.

use std::collections::BTreeMap;

use crate::{
    error::Error, identifier::Identifier, lagrange::lagrange_coefficients, secret::SecretScalar,
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
    /// verifying share are valid non-identity points, and that the first `threshold` verifying
    /// shares interpolate to the group key.
    pub fn new(
        group_key: C::Point,
        verifying_shares: BTreeMap<Identifier, C::Point>,
        threshold: u16,
        chain_code: [u8; 32],
    ) -> Result<Self, Error> {
        check_threshold(threshold.into(), verifying_shares.len())?;
        C::serialize_point(&group_key)?;
        for y in verifying_shares.values() {
            C::serialize_point(y)?;
        }
        let package = Self {
            group_key,
            verifying_shares,
            threshold,
            chain_code,
        };
        let ids: Vec<Identifier> = package
            .verifying_shares
            .keys()
            .copied()
            .take(threshold.into())
            .collect();
        let lambdas = lagrange_coefficients::<C>(&ids)?;
        let points: Vec<C::Point> = ids.iter().map(|id| package.verifying_shares[id]).collect();
        if C::multiscalar_mul_vartime(&lambdas, &points) != package.group_key {
            return Err(Error::InconsistentGroupKey);
        }
        Ok(package)
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
    public: PublicKeyPackage<C>,
}

impl<C: Ciphersuite> KeyPackage<C> {
    /// Builds a key package after checking `s_i·G == Y_i`.
    pub fn new(
        identifier: Identifier,
        signing_share: SecretScalar<C>,
        public: PublicKeyPackage<C>,
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
