//! Share verification and aggregation (RFC 9591 §5.3, §5.4), verifying the group signature
//! first and each share only when that fails.

use std::collections::BTreeMap;

use tessera_core::{lagrange::lagrange_coefficients, Ciphersuite, Identifier, PublicKeyPackage};

use crate::{
    error::SignError,
    package::{Binding, SigningPackage},
    request::{SessionKey, SigningRequest},
    round2::SignatureShare,
    signature::{verify_prepared, Signature},
};

/// The coordinator's side of a signing session.
pub struct Aggregator<C: Ciphersuite> {
    session: SessionKey<C>,
    /// Tweaked verifying shares `m·Y_i + c·G` of the signers, in identifier order.
    verifying_shares: Vec<C::Point>,
    /// Whether [`Aggregator::aggregate`] checks every share even when the signature is valid.
    every_share: bool,
}

impl<C: Ciphersuite> Aggregator<C> {
    /// Prepares to aggregate for `request` under the group's public key: checks the signer
    /// set and derives Q and the signers' tweaked verifying shares.
    pub fn new(public: &PublicKeyPackage<C>, request: SigningRequest) -> Result<Self, SignError> {
        let session = SessionKey::new(public, request)?;
        let verifying_shares = session
            .signers()
            .iter()
            .map(|id| Ok(session.tweak().apply_to_point(public.verifying_share(*id)?)))
            .collect::<Result<_, tessera_core::Error>>()?;
        Ok(Self {
            session,
            verifying_shares,
            every_share: false,
        })
    }

    /// Makes [`Aggregator::aggregate`] check every share against its verifying share (RFC
    /// 9591 §5.4) before it accepts the signature: a valid signature then also proves that
    /// each signer's share works, as a reshare's test signature must (design §3.3 step 4).
    pub fn checking_every_share(mut self) -> Self {
        self.every_share = true;
        self
    }

    /// The checked request and derived key.
    pub fn session(&self) -> &SessionKey<C> {
        &self.session
    }

    /// RFC 9591 §5.4 `verify_signature_share` for one signer.
    pub fn verify_share(
        &self,
        package: &SigningPackage<C>,
        id: Identifier,
        share: &SignatureShare<C>,
    ) -> Result<(), SignError> {
        self.session.check_package(package)?;
        let binding = self.binding(package);
        let index = self
            .session
            .signers()
            .binary_search(&id)
            .map_err(|_| SignError::UnexpectedShares(vec![id]))?;
        let lambdas = lagrange_coefficients::<C>(self.session.signers())?;
        if self.share_is_valid(&binding, package, index, &lambdas[index], share) {
            Ok(())
        } else {
            Err(SignError::InvalidShares { culprits: vec![id] })
        }
    }

    /// RFC 9591 §5.3 `aggregate`: `z = Σ z_i`, then the group signature is verified; only if it
    /// fails is every share checked, and all culprits are named.
    pub fn aggregate(
        &self,
        package: &SigningPackage<C>,
        shares: &BTreeMap<Identifier, SignatureShare<C>>,
    ) -> Result<Signature<C>, SignError> {
        self.session.check_package(package)?;
        let signers = self.session.signers();
        let missing: Vec<Identifier> = signers
            .iter()
            .filter(|id| !shares.contains_key(id))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(SignError::MissingShares(missing));
        }
        let extra: Vec<Identifier> = shares
            .keys()
            .filter(|id| signers.binary_search(id).is_err())
            .copied()
            .collect();
        if !extra.is_empty() {
            return Err(SignError::UnexpectedShares(extra));
        }
        let binding = self.binding(package);
        let z = shares.values().map(|s| *s.z()).sum();
        let signature = Signature::new(binding.group_commitment, z);
        if !self.every_share
            && verify_prepared(self.session.output_key(), &signature, &binding.challenge)
        {
            return Ok(signature);
        }
        let lambdas = lagrange_coefficients::<C>(signers)?;
        let culprits: Vec<Identifier> = signers
            .iter()
            .enumerate()
            .filter(|&(i, id)| !self.share_is_valid(&binding, package, i, &lambdas[i], &shares[id]))
            .map(|(_, id)| *id)
            .collect();
        if culprits.is_empty() {
            if verify_prepared(self.session.output_key(), &signature, &binding.challenge) {
                return Ok(signature);
            }
            Err(SignError::InvalidSignature)
        } else {
            Err(SignError::InvalidShares { culprits })
        }
    }

    fn binding(&self, package: &SigningPackage<C>) -> Binding<C> {
        Binding::new(
            self.session.output_key(),
            self.session.output_key_bytes(),
            package,
        )
    }

    /// `z_i·G == R_i + (c·λ_i)·Y_i` with `R_i` the (possibly negated) commitment share.
    fn share_is_valid(
        &self,
        binding: &Binding<C>,
        package: &SigningPackage<C>,
        index: usize,
        lambda: &C::Scalar,
        share: &SignatureShare<C>,
    ) -> bool {
        let id = self.session.signers()[index];
        let r_i = binding.commitment_share(index, &package.commitments()[&id]);
        let lhs = C::mul_base_add_vartime(
            share.z(),
            &-(binding.challenge * lambda),
            &self.verifying_shares[index],
        );
        lhs == r_i
    }
}
