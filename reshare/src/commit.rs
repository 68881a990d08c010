//! The two-phase commit of a reshare (design §3.3 step 4, must).
//!
//! 1. Each new party persists its pending share, then broadcasts its confirmation: an identity
//!    signature over the new epoch's key id ([`crate::transcript`]). The |N| confirmations
//!    are the new epoch's [`Certificate`]; whoever completes it relays it to every device.
//! 2. With the certificate, all new parties produce a **test signature** under the unchanged
//!    group key over `domain ‖ certificate hash`, each share checked against its new verifying
//!    share ([`tessera_sign::SignParty::checking_every_share`]): every new share works. The
//!    test signature is relayed to every device.
//!
//! The certificate and test signature together are the [`Transition`]. A new party activates
//! epoch e+1 only with it; an old party erases epoch e only after verifying it
//! ([`crate::KeyRecord::commit`]).

use tessera_core::{Ciphersuite, IdentityKey};
use tessera_keygen::{Certificate, PendingKeyShare};
use tessera_sign::Signature;

use crate::{error::EpochError, transcript::test_message};

/// The proof that a reshare moved a key to a new epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    /// The new epoch, e+1.
    pub epoch: u64,
    /// The new epoch's key id, which every new party confirmed.
    pub key_id: [u8; 32],
    /// The new committee, in order.
    pub roster: Vec<IdentityKey>,
    /// The confirmations of all |N| new parties.
    pub certificate: Certificate,
    /// The test signature by all new parties, under the group key.
    pub test_signature: Vec<u8>,
}

impl Transition {
    /// The message the test signature signs.
    pub fn test_message(&self) -> Vec<u8> {
        test_message(&self.key_id, &self.certificate.signatures)
    }

    /// Checks the certificate against the new roster and key id, and the test signature under
    /// `group_key` (untweaked; taproot verifies BIP-340 style under its x-only form).
    pub fn verify<C: Ciphersuite>(&self, group_key: &C::Point) -> Result<(), EpochError> {
        self.certificate
            .verify(&self.roster, &self.key_id)
            .map_err(|_| EpochError::Commitment("the certificate does not verify"))?;
        self.verify_test_signature::<C>(group_key)
    }

    /// Checks only the test signature under `group_key` (for a certificate already checked).
    pub fn verify_test_signature<C: Ciphersuite>(
        &self,
        group_key: &C::Point,
    ) -> Result<(), EpochError> {
        let signature = Signature::<C>::from_bytes(&self.test_signature)
            .map_err(|_| EpochError::Commitment("the test signature does not parse"))?;
        tessera_sign::verify::<C>(group_key, &self.test_message(), &signature)
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
