//! The one tweak function (design §2, taproot key model, must).
//!
//! A key share stores the *untweaked* group key P and untweaked shares. Everything that uses
//! the key (address, signer, aggregator, verifier) derives the final key Q here and nowhere
//! else, accumulating the tweaks in the order of BIP-445 ("FROST signing for BIP-340",
//! tweak accumulation):
//!
//! 1. plain tweaks from an unhardened BIP-32 path: `P_k = P_{k-1} + t_k·G`, no negation
//!    (BIP-32 `CKDpub`, on the 33-byte key with its parity);
//! 2. for taproot, one x-only TapTweak (BIP-341 `taproot_tweak_pubkey`): the internal key is
//!    made even-y, `t = hash_TapTweak(x(P) ‖ merkle_root)` with an empty root for BIP-86,
//!    `Q = P + t·G`;
//! 3. for taproot, even-y of the output key Q (BIP-340).
//!
//! The result is an affine map `x ↦ m·x + c` with `m = ±1` that sends the group secret to the
//! secret of Q. Because Lagrange coefficients over any signer set sum to one, applying the same
//! map to every share `s_i ↦ m·s_i + c` (and `Y_i ↦ m·Y_i + c·G`) gives shares of Q's secret,
//! so FROST then runs unchanged over Q.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha512;

use ff::Field as _;
use group::Group as _;

use crate::{
    error::Error,
    hash::tagged_hash,
    secret::SecretScalar,
    suite::{Ciphersuite, Suite},
};

/// BIP-341 TapTweak choice for the taproot suite.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum TaprootTweak {
    /// No TapTweak: sign for the raw (even-y) key. For reference vectors and non-Taproot uses;
    /// wallets should use [`TaprootTweak::Bip86`] (BIP-341 recommends committing to an
    /// unspendable script path), as `tessera` does.
    #[default]
    None,
    /// BIP-86: commit to an empty script tree, `t = hash_TapTweak(x(P))`.
    Bip86,
    /// Commit to a script tree with this merkle root, `t = hash_TapTweak(x(P) ‖ root)`.
    MerkleRoot(#[serde(with = "hex32")] [u8; 32]),
}

/// What a signer approves about the key: an unhardened derivation path and, for taproot, the
/// TapTweak. Never a tweak scalar: each party derives the scalars itself (design §3.2).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Tweak {
    /// BIP-32 child numbers, each below 2^31.
    pub derivation: Vec<u32>,
    /// The BIP-341 tweak (taproot only).
    pub taproot: TaprootTweak,
}

impl Tweak {
    /// No tweak at all: Q = P (made even-y for taproot).
    pub fn none() -> Self {
        Self::default()
    }

    /// The BIP-86 key-path-only output key of the root key.
    pub fn bip86() -> Self {
        Self {
            derivation: Vec::new(),
            taproot: TaprootTweak::Bip86,
        }
    }

    /// A canonical byte encoding, for transcripts and request digests.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 4 * self.derivation.len() + 33);
        out.extend_from_slice(&(self.derivation.len() as u32).to_be_bytes());
        for i in &self.derivation {
            out.extend_from_slice(&i.to_be_bytes());
        }
        match &self.taproot {
            TaprootTweak::None => out.push(0),
            TaprootTweak::Bip86 => out.push(1),
            TaprootTweak::MerkleRoot(root) => {
                out.push(2);
                out.extend_from_slice(root);
            }
        }
        out
    }
}

/// The longest derivation path accepted (BIP-32 depth is one byte).
pub const MAX_DERIVATION_DEPTH: usize = 255;

/// A derived tweak: the affine map `x ↦ m·x + c` (`m = ±1`) from the untweaked group secret
/// to the secret of the output key Q, and Q itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyTweak<C: Ciphersuite> {
    negate: bool,
    offset: C::Scalar,
    offset_point: C::Point,
    output_key: C::Point,
    chain_code: [u8; 32],
}

impl<C: Ciphersuite> KeyTweak<C> {
    /// Derives the tweak of `tweak` for the untweaked group key `group_key` with `chain_code`.
    pub fn derive(
        group_key: &C::Point,
        chain_code: &[u8; 32],
        tweak: &Tweak,
    ) -> Result<Self, Error> {
        let mut state = Self {
            negate: false,
            offset: C::Scalar::ZERO,
            offset_point: C::Point::identity(),
            output_key: *group_key,
            chain_code: *chain_code,
        };
        if !tweak.derivation.is_empty() && C::SUITE == Suite::Ed25519 {
            return Err(Error::TweakUnsupported(C::SUITE));
        }
        // BIP-32 serializes depth in one byte; a longer path is an attack on our time.
        if tweak.derivation.len() > MAX_DERIVATION_DEPTH {
            return Err(Error::DerivationTooDeep(tweak.derivation.len()));
        }
        for &index in &tweak.derivation {
            state.bip32_child(index)?;
        }
        match (&tweak.taproot, C::BIP340) {
            (TaprootTweak::None, _) => {}
            (TaprootTweak::Bip86, true) => state.tap_tweak(&[])?,
            (TaprootTweak::MerkleRoot(root), true) => state.tap_tweak(root)?,
            (_, false) => return Err(Error::TweakUnsupported(C::SUITE)),
        }
        if C::BIP340 {
            state.make_even_y();
        }
        state.offset_point = C::mul_base(&state.offset);
        Ok(state)
    }

    /// The output key Q that signatures verify under.
    pub fn output_key(&self) -> &C::Point {
        &self.output_key
    }

    /// The chain code after derivation (for an extended public key of the child).
    pub fn chain_code(&self) -> &[u8; 32] {
        &self.chain_code
    }

    /// `m·s + c`: a signing share of Q's secret from a signing share of P's.
    pub fn apply_to_share(&self, share: &SecretScalar<C>) -> SecretScalar<C> {
        let s = *share.expose_secret();
        // `negate` depends only on public key parities, so branching on it leaks nothing.
        let signed = if self.negate { -s } else { s };
        SecretScalar::new(signed + self.offset)
    }

    /// `m·Y + c·G`: a verifying share for Q from a verifying share for P.
    pub fn apply_to_point(&self, y: &C::Point) -> C::Point {
        let signed = if self.negate { -*y } else { *y };
        signed + self.offset_point
    }

    /// BIP-32 `CKDpub` on the current key: `I = HMAC-SHA512(chain, ser_P(K) ‖ ser_32(i))`,
    /// `t = parse_256(I_L)`, `K' = K + t·G`, chain' = `I_R`.
    fn bip32_child(&mut self, index: u32) -> Result<(), Error> {
        if index >= 0x8000_0000 {
            return Err(Error::HardenedDerivation(index));
        }
        let key = C::serialize_point(&self.output_key)?;
        let mut mac = <Hmac<Sha512> as KeyInit>::new_from_slice(&self.chain_code)
            .expect("HMAC accepts keys of any length");
        mac.update(key.as_ref());
        mac.update(&index.to_be_bytes());
        let out = mac.finalize().into_bytes();
        let t = C::deserialize_scalar(&out[..32]).map_err(|_| Error::InvalidDerivation)?;
        self.add(t)?;
        self.chain_code.copy_from_slice(&out[32..]);
        Ok(())
    }

    /// BIP-341 `taproot_tweak_pubkey`: even-y internal key, then `+ hash_TapTweak(x ‖ root)·G`.
    fn tap_tweak(&mut self, merkle_root: &[u8]) -> Result<(), Error> {
        self.make_even_y();
        let key = C::serialize_point(&self.output_key)?;
        let t = tagged_hash(b"TapTweak", &[&key.as_ref()[1..], merkle_root]);
        let t = C::deserialize_scalar(&t).map_err(|_| Error::InvalidDerivation)?;
        self.add(t)
    }

    fn add(&mut self, t: C::Scalar) -> Result<(), Error> {
        self.output_key += C::mul_base(&t);
        self.offset += t;
        C::serialize_point(&self.output_key).map_err(|_| Error::InvalidDerivation)?;
        Ok(())
    }

    fn make_even_y(&mut self) {
        if !C::has_even_y(&self.output_key) {
            self.output_key = -self.output_key;
            self.offset = -self.offset;
            self.negate = !self.negate;
        }
    }
}

/// Serde helper: 32 bytes as hex.
mod hex32 {
    use serde::{de::Error, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = String::deserialize(d)?;
        let v = hex::decode(&s).map_err(D::Error::custom)?;
        v.try_into()
            .map_err(|_| D::Error::custom("expected 32 bytes of hex"))
    }
}

#[cfg(test)]
mod tests;
