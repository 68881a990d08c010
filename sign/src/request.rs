//! What a signer approves before round 1 (design §3.2 step 1) and its checked form.

use std::collections::BTreeSet;

use tessera_core::{
    hash::transcript_hash, Ciphersuite, Identifier, KeyTweak, PublicKeyPackage, Tweak,
};

use crate::{error::SignError, package::SigningPackage};

/// A signing request: everything a signer's policy approves before it commits to nonces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningRequest {
    /// Unique per signing session; binds nonces and commitments to this session.
    pub session_id: [u8; 32],
    /// The message to sign (for Bitcoin, the BIP-341 sighash).
    pub message: Vec<u8>,
    /// Derivation path and TapTweak: each party derives Q itself.
    pub tweak: Tweak,
    /// The signer set S.
    pub signers: BTreeSet<Identifier>,
}

/// A [`SigningRequest`] checked against the group's public key: `|S| >= t`, `S ⊆ committee`,
/// the tweak derived, and the request digest that nonces are bound to.
#[derive(Clone, Debug)]
pub struct SessionKey<C: Ciphersuite> {
    request: SigningRequest,
    signers: Vec<Identifier>,
    threshold: u16,
    tweak: KeyTweak<C>,
    output_key_bytes: C::PointBytes,
    digest: [u8; 32],
}

impl<C: Ciphersuite> SessionKey<C> {
    /// Checks `request` against `public` and derives the output key Q.
    pub fn new(public: &PublicKeyPackage<C>, request: SigningRequest) -> Result<Self, SignError> {
        if let Some(&outsider) = request
            .signers
            .iter()
            .find(|id| !public.verifying_shares().contains_key(id))
        {
            return Err(SignError::NotInCommittee(outsider));
        }
        if request.signers.len() < usize::from(public.threshold()) {
            return Err(SignError::NotEnoughSigners {
                got: request.signers.len(),
                threshold: public.threshold(),
            });
        }
        let tweak = KeyTweak::derive(public.group_key(), public.chain_code(), &request.tweak)?;
        let output_key_bytes = C::serialize_point(tweak.output_key())?;
        let signers: Vec<Identifier> = request.signers.iter().copied().collect();
        let signer_bytes: Vec<u8> = signers.iter().flat_map(|i| i.get().to_be_bytes()).collect();
        let digest = transcript_hash(
            "tessera/frost/signing-request/v1",
            &[
                C::SUITE.name().as_bytes(),
                &request.session_id,
                &request.message,
                &request.tweak.encode(),
                &signer_bytes,
                output_key_bytes.as_ref(),
            ],
        );
        Ok(Self {
            request,
            signers,
            threshold: public.threshold(),
            tweak,
            output_key_bytes,
            digest,
        })
    }

    /// The approved request.
    pub fn request(&self) -> &SigningRequest {
        &self.request
    }

    /// The signer set, sorted.
    pub fn signers(&self) -> &[Identifier] {
        &self.signers
    }

    /// The key's threshold.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// The derived tweak.
    pub fn tweak(&self) -> &KeyTweak<C> {
        &self.tweak
    }

    /// The output key Q that the signature will verify under.
    pub fn output_key(&self) -> &C::Point {
        self.tweak.output_key()
    }

    /// `SerializeElement(Q)`: what the binding factors encode.
    pub fn output_key_bytes(&self) -> &C::PointBytes {
        &self.output_key_bytes
    }

    /// The digest binding session id, message, tweak, signer set and Q.
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Design §3.2 step 3: the package signs the approved message with exactly the approved
    /// signer set.
    pub(crate) fn check_package(&self, package: &SigningPackage<C>) -> Result<(), SignError> {
        if package.message() != self.request.message.as_slice() {
            return Err(SignError::MessageMismatch);
        }
        if !package.commitments().keys().eq(self.signers.iter()) {
            return Err(SignError::SignerSetMismatch);
        }
        Ok(())
    }
}
