//! Device identity keys (design §3): every device has a long-term Ed25519 key, which is also
//! its libp2p key, so its PeerId names it. Protocol messages others must be able to hold a
//! sender to are signed with it under tessera's own domain prefix, never libp2p's.
//!
//! The protocols take the signer as a trait object ([`IdentitySigner`]) so they stay sans-IO:
//! the key may live in a keystore, a libp2p `Keypair` or a hardware token.

use core::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use zeroize::Zeroizing;

/// The prefix of every identity signature, before the purpose.
const DOMAIN: &[u8] = b"tessera/v1/identity-signature/";

/// Length of an identity signature.
pub const SIGNATURE_LEN: usize = 64;

/// The libp2p PeerId of an Ed25519 key is the identity multihash (code 0x00, length 36) of
/// the key's protobuf encoding (field 1 KeyType = Ed25519 (1), field 2 Data = 32 bytes).
const PEER_ID_PREFIX: [u8; 6] = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20];

/// A device's public identity: a 32-byte Ed25519 public key.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct IdentityKey(#[serde(with = "hex32")] [u8; 32]);

impl IdentityKey {
    /// Wraps a public key after checking it decodes as an Ed25519 point.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, IdentityError> {
        VerifyingKey::from_bytes(&bytes).map_err(|_| IdentityError::BadKey)?;
        Ok(Self(bytes))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The libp2p PeerId bytes (identity multihash of the protobuf-encoded key).
    pub fn peer_id_bytes(&self) -> [u8; 38] {
        let mut out = [0u8; 38];
        out[..6].copy_from_slice(&PEER_ID_PREFIX);
        out[6..].copy_from_slice(&self.0);
        out
    }

    /// Reads a PeerId's bytes back into the key it names.
    pub fn from_peer_id_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        if bytes.len() != 38 || bytes[..6] != PEER_ID_PREFIX {
            return Err(IdentityError::NotEd25519PeerId);
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&bytes[6..]);
        Self::from_bytes(key)
    }

    /// Verifies `signature` over `message` for `purpose`. Strict Ed25519 verification
    /// (`verify_strict`: no small-order keys or R, canonical s).
    pub fn verify(&self, purpose: &str, message: &[u8], signature: &[u8]) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&self.0) else {
            return false;
        };
        let Ok(sig) = <[u8; SIGNATURE_LEN]>::try_from(signature) else {
            return false;
        };
        key.verify_strict(
            &signed_bytes(purpose, message),
            &Signature::from_bytes(&sig),
        )
        .is_ok()
    }
}

impl fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityKey({})", hex::encode(&self.0[..8]))
    }
}

impl fmt::Display for IdentityKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The bytes an identity signature covers: domain, purpose, a separator, the message.
fn signed_bytes(purpose: &str, message: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(DOMAIN.len() + purpose.len() + 1 + message.len());
    out.extend_from_slice(DOMAIN);
    out.extend_from_slice(purpose.as_bytes());
    out.push(0);
    out.extend_from_slice(message);
    out
}

/// Signs with a device's identity key. Implemented by [`Ed25519Identity`] and, in the p2p
/// layer, by the node's libp2p keypair.
pub trait IdentitySigner: Send + Sync {
    /// The public identity.
    fn identity(&self) -> IdentityKey;
    /// An Ed25519 signature over tessera's domain prefix, `purpose` and `message`.
    fn sign(&self, purpose: &str, message: &[u8]) -> [u8; SIGNATURE_LEN];
}

/// An in-memory Ed25519 identity key (zeroized on drop by ed25519-dalek).
pub struct Ed25519Identity {
    key: SigningKey,
}

impl Ed25519Identity {
    /// A fresh identity from 32 random bytes.
    pub fn random(rng: &mut (impl rand_core::CryptoRng + ?Sized)) -> Self {
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut *seed);
        Self::from_seed(&seed)
    }

    /// The identity with this 32-byte secret seed (RFC 8032 private key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self {
            key: SigningKey::from_bytes(seed),
        }
    }
}

impl IdentitySigner for Ed25519Identity {
    fn identity(&self) -> IdentityKey {
        IdentityKey(self.key.verifying_key().to_bytes())
    }

    fn sign(&self, purpose: &str, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.key.sign(&signed_bytes(purpose, message)).to_bytes()
    }
}

impl fmt::Debug for Ed25519Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ed25519Identity")
            .field("identity", &self.identity())
            .finish_non_exhaustive()
    }
}

/// An identity that signs each message with a fresh nonce (feature `sim`, for tests): every
/// signature is a valid, strictly verifying Ed25519 signature, but signing one message twice
/// gives two different signatures. An honest signer's signatures are deterministic (RFC 8032);
/// a dishonest one can do this, so nothing may tell messages apart by signature bytes.
#[cfg(feature = "sim")]
pub struct RandomizedIdentity {
    secret: curve25519_dalek::Scalar,
    prefix: Zeroizing<[u8; 32]>,
    public: IdentityKey,
    counter: std::sync::atomic::AtomicU64,
}

#[cfg(feature = "sim")]
impl RandomizedIdentity {
    /// The identity of the RFC 8032 seed `seed` (the same key as [`Ed25519Identity::from_seed`]).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        use sha2::{Digest, Sha512};
        let h = Zeroizing::new(<[u8; 64]>::from(Sha512::digest(seed)));
        let mut clamped = [0u8; 32];
        clamped.copy_from_slice(&h[..32]);
        let secret = curve25519_dalek::Scalar::from_bytes_mod_order(
            curve25519_dalek::scalar::clamp_integer(clamped),
        );
        let mut prefix = Zeroizing::new([0u8; 32]);
        prefix.copy_from_slice(&h[32..]);
        Self {
            secret,
            prefix,
            public: Ed25519Identity::from_seed(seed).identity(),
            counter: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

#[cfg(feature = "sim")]
impl Drop for RandomizedIdentity {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

#[cfg(feature = "sim")]
impl IdentitySigner for RandomizedIdentity {
    fn identity(&self) -> IdentityKey {
        self.public
    }

    /// RFC 8032 §5.1.6 with the nonce `r` hashed from a per-call counter instead of the
    /// message, so each call gives another valid signature.
    fn sign(&self, purpose: &str, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        use curve25519_dalek::{EdwardsPoint, Scalar};
        use sha2::{Digest, Sha512};
        let count = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let wide = |parts: &[&[u8]]| {
            let mut h = Sha512::new();
            parts.iter().for_each(|p| h.update(p));
            Scalar::from_bytes_mod_order_wide(&h.finalize().into())
        };
        let r = wide(&[&*self.prefix, &count.to_be_bytes()]);
        let big_r = EdwardsPoint::mul_base(&r).compress();
        let m = signed_bytes(purpose, message);
        let k = wide(&[big_r.as_bytes(), self.public.as_bytes(), &m]);
        let s = r + k * self.secret;
        let mut out = [0u8; SIGNATURE_LEN];
        out[..32].copy_from_slice(big_r.as_bytes());
        out[32..].copy_from_slice(s.as_bytes());
        out
    }
}

/// Identity key errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Bytes that are not an Ed25519 public key.
    #[error("not an Ed25519 public key")]
    BadKey,
    /// A PeerId that does not embed an Ed25519 key.
    #[error("PeerId does not embed an Ed25519 key")]
    NotEd25519PeerId,
}

mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&s, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

    #[test]
    fn signatures_bind_purpose_and_message() {
        let id = Ed25519Identity::random(&mut ChaCha20Rng::seed_from_u64(1));
        let key = id.identity();
        let sig = id.sign("dkg/round1", b"hello");
        assert!(key.verify("dkg/round1", b"hello", &sig));
        assert!(!key.verify("dkg/confirm", b"hello", &sig));
        assert!(!key.verify("dkg/round1", b"hellO", &sig));
        assert!(!key.verify("dkg/round1", b"hello", &sig[..63]));
        let other = Ed25519Identity::random(&mut ChaCha20Rng::seed_from_u64(2)).identity();
        assert!(!other.verify("dkg/round1", b"hello", &sig));
    }

    #[test]
    fn peer_id_roundtrip() {
        let key = Ed25519Identity::from_seed(&[9; 32]).identity();
        let pid = key.peer_id_bytes();
        assert_eq!(IdentityKey::from_peer_id_bytes(&pid).unwrap(), key);
        assert!(IdentityKey::from_peer_id_bytes(&pid[1..]).is_err());
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(serde_json::from_str::<IdentityKey>(&json).unwrap(), key);
    }

    #[cfg(feature = "sim")]
    #[test]
    fn randomized_signatures_differ_and_verify() {
        let seed = [0x17; 32];
        let randomized = RandomizedIdentity::from_seed(&seed);
        let key = Ed25519Identity::from_seed(&seed).identity();
        assert_eq!(randomized.identity(), key);
        let (a, b) = (randomized.sign("p", b"m"), randomized.sign("p", b"m"));
        assert_ne!(a, b);
        assert!(key.verify("p", b"m", &a) && key.verify("p", b"m", &b));
        assert!(!key.verify("p", b"n", &a));
    }

    #[test]
    fn debug_shows_no_secret() {
        let id = Ed25519Identity::from_seed(&[0x42; 32]);
        assert!(!format!("{id:?}").contains("4242"));
    }
}
