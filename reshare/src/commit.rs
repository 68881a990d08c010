//! The two-phase commit of a reshare (design §3.3 step 4, must).
//!
//! 1. Each new party persists its pending share, then broadcasts its confirmation: an identity
//!    signature over the new epoch's key id ([`crate::transcript`]). The |N| confirmations
//!    are the new epoch's [`Certificate`]; whoever completes it relays it to every device.
//! 2. With the certificate, all new parties produce a **test signature** over `domain ‖ new
//!    key id`, each share checked against its new verifying share
//!    ([`tessera_sign::SignParty::checking_every_share`]): every new share works. It is made
//!    under the test key `P + τ·G` (τ hashed from the new key id), with every share moved by
//!    τ, so that no ordinary signing session, which can only ask for keys derived from P by
//!    BIP-32 and TapTweak hashes, can produce one. The test signature is relayed to every
//!    device.
//!
//! The certificate and test signature together are the [`Transition`]. A new party activates
//! epoch e+1 only with it; an old party erases epoch e only after verifying it
//! ([`crate::KeyRecord::commit`]).

use std::collections::BTreeMap;

use tessera_core::{Ciphersuite, Identifier, IdentityKey, PublicKeyPackage};
use tessera_keygen::{epoch_key_id, Certificate, PendingKeyShare};
use tessera_sign::Signature;

use crate::{
    error::EpochError,
    transcript::{digest, test_key_offset, test_message},
};

/// The proof that a reshare moved a key from one epoch to the next, as relayed to devices
/// that did not finish the session themselves (design §3.3 step 4, must).
///
/// It carries no epoch number and no key id of its own: a device recomputes both from its
/// active epoch and the signed data here ([`Transition::verify`]), so a transition applies only
/// to the epoch it names as its predecessor.
///
/// It is kept and relayed as JSON (hex fields); everything in it is checked by
/// [`Transition::verify`] before it is used.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Transition {
    /// The key id of the epoch this transition succeeds.
    #[serde(with = "hex::serde")]
    pub old_key_id: [u8; 32],
    /// The digest of the reshare run: session id, dealers' old identifiers, commitments.
    #[serde(with = "hex::serde")]
    pub run_digest: [u8; 32],
    /// The new threshold t'.
    pub threshold: u16,
    /// The new committee, in order.
    pub roster: Vec<IdentityKey>,
    /// The new verifying shares of identifiers 1..=|N|, in the suite's point encoding.
    #[serde(with = "hex_list")]
    pub verifying_shares: Vec<Vec<u8>>,
    /// The confirmations of all |N| new parties over the new key id.
    pub certificate: Certificate,
    /// The test signature by all new parties, under the test key (see [`Transition::verify`]).
    #[serde(with = "hex::serde")]
    pub test_signature: Vec<u8>,
}

/// A list of byte strings as a list of hex strings.
mod hex_list {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(v: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        v.iter().map(hex::encode).collect::<Vec<_>>().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|h| hex::decode(h).map_err(serde::de::Error::custom))
            .collect()
    }
}

impl Transition {
    /// The message the test signature signs: a domain and the certified key id.
    pub fn test_message(&self) -> Vec<u8> {
        test_message(&self.certificate.key_id)
    }

    /// The key id of the new epoch `epoch`, if this transition succeeds an epoch of the key
    /// `group_key` with `chain_code` whose key id is [`Transition::old_key_id`]: recomputed
    /// from the new public data here, whose verifying shares must decode strictly and lie on
    /// one polynomial of degree below t' with the group key.
    pub fn key_id<C: Ciphersuite>(
        &self,
        group_key: &C::Point,
        chain_code: &[u8; 32],
        epoch: u64,
    ) -> Result<[u8; 32], EpochError> {
        if self.verifying_shares.len() != self.roster.len() {
            return Err(EpochError::Commitment(
                "the new roster and verifying shares differ in size",
            ));
        }
        let shares = self
            .verifying_shares
            .iter()
            .enumerate()
            .map(|(i, y)| {
                let id = u16::try_from(i + 1)
                    .ok()
                    .and_then(|i| Identifier::new(i).ok())
                    .ok_or(EpochError::Commitment("the new roster is too large"))?;
                let y = C::deserialize_point(y)
                    .map_err(|_| EpochError::Commitment("a new verifying share is invalid"))?;
                Ok((id, y))
            })
            .collect::<Result<BTreeMap<_, _>, EpochError>>()?;
        let public = PublicKeyPackage::<C>::new(*group_key, shares, self.threshold, *chain_code)
            .map_err(|_| EpochError::Commitment("the new verifying shares are inconsistent"))?;
        let digest = digest(&self.old_key_id, &self.run_digest);
        epoch_key_id(&public, &self.roster, &digest, epoch)
            .map_err(|_| EpochError::Commitment("the new public data does not encode"))
    }

    /// Verifies this transition as the step to epoch `epoch` of the key `group_key` with
    /// `chain_code`, and returns the new key id: the certificate must carry every new party's
    /// confirmation of the recomputed key id ([`Transition::key_id`]), and the test signature
    /// must verify under the test key `P + τ·G`, τ hashed from that key id, which no ordinary
    /// signing request can name. The caller checks that [`Transition::old_key_id`] is its own
    /// active epoch's.
    pub fn verify<C: Ciphersuite>(
        &self,
        group_key: &C::Point,
        chain_code: &[u8; 32],
        epoch: u64,
    ) -> Result<[u8; 32], EpochError> {
        let key_id = self.key_id::<C>(group_key, chain_code, epoch)?;
        self.certificate
            .verify(&self.roster, &key_id)
            .map_err(|_| EpochError::Commitment("the certificate does not verify"))?;
        self.verify_test_signature::<C>(group_key)?;
        Ok(key_id)
    }

    /// Checks only the test signature under the test key of `group_key` (for a certificate
    /// already checked).
    pub(crate) fn verify_test_signature<C: Ciphersuite>(
        &self,
        group_key: &C::Point,
    ) -> Result<(), EpochError> {
        let signature = Signature::<C>::from_bytes(&self.test_signature)
            .map_err(|_| EpochError::Commitment("the test signature does not parse"))?;
        let test_key = *group_key + C::mul_base(&test_key_offset::<C>(&self.certificate.key_id));
        tessera_sign::verify::<C>(&test_key, &self.test_message(), &signature)
            .map_err(|_| EpochError::Commitment("the test signature does not verify"))
    }
}

/// What a finished reshare gives a device.
pub struct ReshareOutput<C: Ciphersuite> {
    /// The certificate and test signature of the new epoch.
    pub transition: Transition,
    /// A new party's share of the new epoch, already persisted as pending; activate it with
    /// the transition ([`crate::KeyRecord::commit`]). `None` for a device that only dealt.
    pub pending: Option<PendingKeyShare<C>>,
}

impl<C: Ciphersuite> core::fmt::Debug for ReshareOutput<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ReshareOutput")
            .field("transition", &self.transition)
            .field("new_share", &self.pending.is_some())
            .finish()
    }
}
