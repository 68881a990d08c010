//! Round one: nonces and commitments (RFC 9591 §5.1).

use core::fmt;

use ff::Field as _;
use subtle::ConstantTimeEq as _;
use tessera_core::{hash::transcript_hash, Ciphersuite, EncodingError, SecretScalar};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// RFC 9591 §4.1 `nonce_generate(secret)` with the 32 random bytes given:
/// `H3(random_bytes ‖ SerializeScalar(secret))`.
///
/// The serialized secret is never copied into a buffer that outlives this call.
pub fn nonce_generate<C: Ciphersuite>(
    random_bytes: &[u8; 32],
    secret: &SecretScalar<C>,
) -> SecretScalar<C> {
    let secret_bytes = secret.to_bytes();
    SecretScalar::new(C::h3(&[random_bytes, &*secret_bytes]))
}

/// The random input to `nonce_generate`, hedged as design §3.2 asks:
/// `H(OS randomness ‖ label ‖ request digest)`, where the digest binds the session id,
/// message, tweak, signer set and output key Q. A broken OS RNG then still gives distinct
/// nonces for distinct requests.
pub(crate) fn hedged_randomness(
    rng: &mut (impl rand_core::CryptoRng + ?Sized),
    label: &[u8],
    request_digest: &[u8; 32],
) -> Zeroizing<[u8; 32]> {
    let mut os = Zeroizing::new([0u8; 32]);
    rng.fill_bytes(&mut *os);
    Zeroizing::new(transcript_hash(
        "tessera/frost/nonce-hedge/v1",
        &[&*os, label, request_digest],
    ))
}

/// A signer's public commitments `(D_i, E_i) = (d_i·G, e_i·G)`.
///
/// The canonical encodings are kept beside the points, so the commitment list is hashed
/// without re-encoding.
#[derive(Clone, Copy, Debug)]
pub struct SigningCommitments<C: Ciphersuite> {
    hiding: C::Point,
    binding: C::Point,
    hiding_bytes: C::PointBytes,
    binding_bytes: C::PointBytes,
}

impl<C: Ciphersuite> SigningCommitments<C> {
    /// Decodes commitments received from a peer, strictly (non-identity, canonical,
    /// prime-order).
    pub fn from_bytes(hiding: &[u8], binding: &[u8]) -> Result<Self, EncodingError> {
        // Strict decoding accepts only a point's one canonical encoding, so the bytes given are
        // its `SerializeElement` (no re-encoding, which costs an inversion on secp256k1).
        let canonical = |b: &[u8]| {
            C::PointBytes::try_from(b).map_err(|_| EncodingError::Length {
                expected: C::POINT_LEN,
                got: b.len(),
            })
        };
        Ok(Self {
            hiding: C::deserialize_point(hiding)?,
            binding: C::deserialize_point(binding)?,
            hiding_bytes: canonical(hiding)?,
            binding_bytes: canonical(binding)?,
        })
    }

    fn from_points(hiding: C::Point, binding: C::Point) -> Result<Self, EncodingError> {
        Ok(Self {
            hiding,
            binding,
            hiding_bytes: C::serialize_point(&hiding)?,
            binding_bytes: C::serialize_point(&binding)?,
        })
    }

    /// `D_i`.
    pub fn hiding(&self) -> &C::Point {
        &self.hiding
    }

    /// `E_i`.
    pub fn binding(&self) -> &C::Point {
        &self.binding
    }

    /// `SerializeElement(D_i)`.
    pub fn hiding_bytes(&self) -> &[u8] {
        self.hiding_bytes.as_ref()
    }

    /// `SerializeElement(E_i)`.
    pub fn binding_bytes(&self) -> &[u8] {
        self.binding_bytes.as_ref()
    }
}

impl<C: Ciphersuite> PartialEq for SigningCommitments<C> {
    fn eq(&self, other: &Self) -> bool {
        self.hiding_bytes == other.hiding_bytes && self.binding_bytes == other.binding_bytes
    }
}

impl<C: Ciphersuite> Eq for SigningCommitments<C> {}

/// A signer's secret nonces `(d_i, e_i)` for one signing request.
///
/// Held only in memory: not `Clone`, `Copy` or `Serialize`, zeroized on drop, and consumed by
/// value by [`Signer::sign`](crate::Signer::sign), so that signing twice with one pair of
/// nonces does not compile. They are bound to the request they were drawn for.
///
/// ```compile_fail
/// # fn f<C: tessera_core::Ciphersuite>(n: tessera_sign::SigningNonces<C>) {
/// let copy = n.clone(); // SigningNonces is not Clone
/// # }
/// ```
pub struct SigningNonces<C: Ciphersuite> {
    hiding: SecretScalar<C>,
    binding: SecretScalar<C>,
    commitments: SigningCommitments<C>,
    request_digest: [u8; 32],
}

impl<C: Ciphersuite> SigningNonces<C> {
    /// Derives nonces from the two random inputs and the signing share (RFC 9591 §5.1
    /// `commit`). Fails only if a nonce is zero (probability ~2^-252).
    pub(crate) fn generate(
        signing_share: &SecretScalar<C>,
        hiding_randomness: &[u8; 32],
        binding_randomness: &[u8; 32],
        request_digest: [u8; 32],
    ) -> Result<Self, EncodingError> {
        let hiding = nonce_generate(hiding_randomness, signing_share);
        let binding = nonce_generate(binding_randomness, signing_share);
        let commitments = SigningCommitments::from_points(
            C::mul_base(hiding.expose_secret()),
            C::mul_base(binding.expose_secret()),
        )?;
        Ok(Self {
            hiding,
            binding,
            commitments,
            request_digest,
        })
    }

    /// Wiped nonces with these nonces' public commitments: what the place real nonces are
    /// moved out of is overwritten with, so no copy of them stays behind there. They never
    /// sign (their request binding is wiped too).
    pub(crate) fn wiped(&self) -> Self {
        Self {
            hiding: SecretScalar::new(C::Scalar::ZERO),
            binding: SecretScalar::new(C::Scalar::ZERO),
            commitments: self.commitments,
            request_digest: [0; 32],
        }
    }

    /// The public commitments to these nonces.
    pub fn commitments(&self) -> &SigningCommitments<C> {
        &self.commitments
    }

    pub(crate) fn hiding(&self) -> &SecretScalar<C> {
        &self.hiding
    }

    pub(crate) fn binding(&self) -> &SecretScalar<C> {
        &self.binding
    }

    pub(crate) fn request_digest(&self) -> &[u8; 32] {
        &self.request_digest
    }

    /// Whether either nonce is zero (wiped), in constant time.
    pub(crate) fn is_wiped(&self) -> bool {
        let zero = C::Scalar::ZERO;
        bool::from(
            self.hiding.expose_secret().ct_eq(&zero) | self.binding.expose_secret().ct_eq(&zero),
        )
    }
}

impl<C: Ciphersuite> Zeroize for SigningNonces<C> {
    /// Wipes the nonces and unbinds them from their request, so wiped nonces can never sign
    /// (a zero nonce would reveal the share).
    fn zeroize(&mut self) {
        self.hiding.zeroize();
        self.binding.zeroize();
        self.request_digest.zeroize();
    }
}

// The fields zeroize themselves on drop.
impl<C: Ciphersuite> ZeroizeOnDrop for SigningNonces<C> {}

impl<C: Ciphersuite> fmt::Debug for SigningNonces<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningNonces")
            .field("commitments", &self.commitments)
            .finish_non_exhaustive()
    }
}
