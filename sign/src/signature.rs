//! Group signatures and their verification (RFC 9591 §5.3 output; BIP-340 for taproot;
//! RFC 8032 for ed25519).

use tessera_core::{Ciphersuite, Ed25519, EncodingError, Secp256k1, Suite, Taproot};

use crate::error::VerifyError;

/// A Schnorr signature `(R, z)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Signature<C: Ciphersuite> {
    r: C::Point,
    z: C::Scalar,
}

impl<C: Ciphersuite> Signature<C> {
    pub(crate) fn new(r: C::Point, z: C::Scalar) -> Self {
        Self { r, z }
    }

    /// The commitment R.
    pub fn r(&self) -> &C::Point {
        &self.r
    }

    /// The response z.
    pub fn z(&self) -> &C::Scalar {
        &self.z
    }

    /// The suite's signature encoding: 64 bytes (ed25519, taproot) or 65 (secp256k1).
    pub fn to_bytes(&self) -> Result<Vec<u8>, EncodingError> {
        C::serialize_signature(&self.r, &self.z)
    }

    /// Decodes a signature strictly.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, EncodingError> {
        C::deserialize_signature(bytes).map(|(r, z)| Self { r, z })
    }
}

/// Verifies `signature` on `message` under `key`: `z·G == R + c·Q` with
/// `c = H2(R ‖ Q ‖ message)`. For taproot the key is taken x-only (even y), as BIP-340 does.
pub fn verify<C: Ciphersuite>(
    key: &C::Point,
    message: &[u8],
    signature: &Signature<C>,
) -> Result<(), VerifyError> {
    let key = if C::has_even_y(key) { *key } else { -*key };
    let challenge = C::challenge(&signature.r, &key, message);
    if verify_prepared(&key, signature, &challenge) {
        Ok(())
    } else {
        Err(VerifyError::Mismatch)
    }
}

/// The verification equation with the challenge already computed: `z·G − c·Q == R`.
pub(crate) fn verify_prepared<C: Ciphersuite>(
    key: &C::Point,
    signature: &Signature<C>,
    challenge: &C::Scalar,
) -> bool {
    (!C::BIP340 || C::has_even_y(&signature.r))
        && C::mul_base_add_vartime(&signature.z, &-*challenge, key) == signature.r
}

/// Verifies encoded inputs for a suite chosen at run time (the `tessera verify` command).
pub fn verify_bytes(
    suite: Suite,
    public_key: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<(), VerifyError> {
    fn run<C: Ciphersuite>(pk: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), VerifyError> {
        let key = C::deserialize_verifying_key(pk).map_err(VerifyError::Key)?;
        let sig = Signature::<C>::from_bytes(sig).map_err(VerifyError::Malformed)?;
        verify::<C>(&key, msg, &sig)
    }
    match suite {
        Suite::Ed25519 => run::<Ed25519>(public_key, message, signature),
        Suite::Secp256k1 => run::<Secp256k1>(public_key, message, signature),
        Suite::Taproot => run::<Taproot>(public_key, message, signature),
    }
}
