//! Round two: the signature share (RFC 9591 §5.2), with the signer-side checks of design
//! §3.2 step 3.

use tessera_core::{
    lagrange::lagrange_coefficient, Ciphersuite, EncodingError, Identifier, KeyPackage,
    SecretScalar,
};

use crate::{
    error::SignError,
    package::{Binding, SigningPackage},
    request::{SessionKey, SigningRequest},
    round1::{hedged_randomness, SigningCommitments, SigningNonces},
};

/// A signature share `z_i`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureShare<C: Ciphersuite> {
    z: C::Scalar,
}

impl<C: Ciphersuite> SignatureShare<C> {
    /// Decodes a share strictly (canonical scalar).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EncodingError> {
        C::deserialize_scalar(bytes).map(|z| Self { z })
    }

    /// `SerializeScalar(z_i)`.
    pub fn to_bytes(&self) -> [u8; 32] {
        C::serialize_scalar(&self.z)
    }

    pub(crate) fn z(&self) -> &C::Scalar {
        &self.z
    }
}

/// One participant's side of a signing session: its key with the approved tweak applied.
pub struct Signer<C: Ciphersuite> {
    identifier: Identifier,
    signing_share: SecretScalar<C>,
    session: SessionKey<C>,
    /// Round one ran: a signer commits once per request. With a broken RNG, a second commit
    /// for the same request would repeat the nonces under a different package.
    committed: bool,
}

impl<C: Ciphersuite> Signer<C> {
    /// Prepares to sign the approved `request` with `key`: checks the signer set against the
    /// committee and threshold, that this party is in it, and derives Q and the tweaked share.
    pub fn new(key: &KeyPackage<C>, request: SigningRequest) -> Result<Self, SignError> {
        let identifier = key.identifier();
        if !request.signers.contains(&identifier) {
            return Err(SignError::NotASigner(identifier));
        }
        let session = SessionKey::new(key.public(), request)?;
        let signing_share = session.tweak().apply_to_share(key.signing_share());
        Ok(Self {
            identifier,
            signing_share,
            session,
            committed: false,
        })
    }

    /// This signer's identifier.
    pub fn identifier(&self) -> Identifier {
        self.identifier
    }

    /// The checked request and derived key.
    pub fn session(&self) -> &SessionKey<C> {
        &self.session
    }

    /// Round one (RFC 9591 §5.1): hedged nonces and their commitments. Once per signer: a
    /// retry is a new request with a new session id (design §3.2 step 4).
    pub fn commit(
        &mut self,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<(SigningNonces<C>, SigningCommitments<C>), SignError> {
        self.mark_committed()?;
        loop {
            let hiding = hedged_randomness(rng, b"hiding", self.session.digest());
            let binding = hedged_randomness(rng, b"binding", self.session.digest());
            // Only a zero nonce (probability ~2^-252) fails; draw again then.
            if let Ok(nonces) = self.nonces_from(&hiding, &binding) {
                let commitments = *nonces.commitments();
                return Ok((nonces, commitments));
            }
        }
    }

    /// Round one with caller-given `nonce_generate` randomness, to replay reference vectors.
    /// Reusing randomness for two requests leaks the signing share.
    #[cfg(feature = "vectors")]
    pub fn commit_with_randomness(
        &mut self,
        hiding_randomness: &[u8; 32],
        binding_randomness: &[u8; 32],
    ) -> Result<(SigningNonces<C>, SigningCommitments<C>), SignError> {
        self.mark_committed()?;
        let nonces = self.nonces_from(hiding_randomness, binding_randomness)?;
        let commitments = *nonces.commitments();
        Ok((nonces, commitments))
    }

    fn mark_committed(&mut self) -> Result<(), SignError> {
        if std::mem::replace(&mut self.committed, true) {
            return Err(SignError::AlreadyCommitted);
        }
        Ok(())
    }

    fn nonces_from(
        &self,
        hiding: &[u8; 32],
        binding: &[u8; 32],
    ) -> Result<SigningNonces<C>, EncodingError> {
        SigningNonces::generate(&self.signing_share, hiding, binding, *self.session.digest())
    }

    /// Round two (RFC 9591 §5.2 `sign`). Consumes the nonces. Before computing anything it
    /// checks (design §3.2 step 3) that the nonces belong to this request, that the package
    /// carries the approved message and exactly the approved signer set, and that this party's
    /// own commitment is present and unchanged.
    pub fn sign(
        &self,
        nonces: SigningNonces<C>,
        package: &SigningPackage<C>,
    ) -> Result<SignatureShare<C>, SignError> {
        if nonces.is_wiped() {
            return Err(SignError::NoncesWiped);
        }
        if nonces.request_digest() != self.session.digest() {
            return Err(SignError::NoncesFromAnotherRequest);
        }
        self.session.check_package(package)?;
        let own = package
            .commitments()
            .get(&self.identifier)
            .ok_or(SignError::MissingOwnCommitment)?;
        if own != nonces.commitments() {
            return Err(SignError::OwnCommitmentChanged);
        }
        let binding = Binding::new(
            self.session.output_key(),
            self.session.output_key_bytes(),
            package,
        );
        let index = self
            .session
            .signers()
            .binary_search(&self.identifier)
            .map_err(|_| SignError::NotASigner(self.identifier))?;
        let rho = binding.factors[index].1;
        let lambda = lagrange_coefficient::<C>(self.identifier, self.session.signers())?;
        // z_i = d_i + e_i·ρ_i + λ_i·s_i·c, with (d_i, e_i) negated when BIP-340 made R even.
        let nonce = SecretScalar::<C>::new(
            *nonces.hiding().expose_secret() + *nonces.binding().expose_secret() * rho,
        );
        let nonce = if binding.negated {
            SecretScalar::new(-*nonce.expose_secret())
        } else {
            nonce
        };
        let key_part = SecretScalar::<C>::new(
            lambda * *self.signing_share.expose_secret() * binding.challenge,
        );
        Ok(SignatureShare {
            z: *nonce.expose_secret() + key_part.expose_secret(),
        })
    }
}

impl<C: Ciphersuite> zeroize::Zeroize for Signer<C> {
    fn zeroize(&mut self) {
        self.signing_share.zeroize();
    }
}

// The tweaked signing share zeroizes itself on drop; the rest is public.
impl<C: Ciphersuite> zeroize::ZeroizeOnDrop for Signer<C> {}

impl<C: Ciphersuite> core::fmt::Debug for Signer<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Signer")
            .field("identifier", &self.identifier)
            .field("signing_share", &self.signing_share)
            .finish_non_exhaustive()
    }
}
