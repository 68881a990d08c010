//! A device's share of a group key (design §3.1 step 4, §5): pending until a certificate
//! proves every party confirmed the same transcript, then active.
//!
//! The public part ([`PublicKeyShare`]) serializes with serde and is authenticated by the
//! certificate: its key id is recomputed from the fields themselves
//! ([`PublicKeyShare::verify`]). The secret share never appears in `Debug`, logs or errors;
//! writing it to disk encrypted is the keystore's job.

use core::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tessera_core::{Ciphersuite, IdentityKey, IdentitySigner, KeyPackage, PartyIndex, Suite};

use crate::{
    error::KeygenError,
    transcript::{epoch_key_id, key_id, roster_fingerprint, KeyTranscript},
};

/// The purpose string of a confirmation signature.
pub const CONFIRM_PURPOSE: &str = "dkg/confirm";

/// A party's identity-key signature over a key id: "I hold a pending share of this key".
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Confirmation {
    /// The confirming party's roster index.
    pub party: PartyIndex,
    /// Its signature over [`CONFIRM_PURPOSE`] and the key id.
    pub signature: [u8; 64],
}

impl fmt::Debug for Confirmation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Confirmation(party {})", self.party)
    }
}

/// The confirmations of all n parties over one key id (design §3.1 step 4).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Certificate {
    /// The key id every party signed.
    #[serde(with = "hex::serde")]
    pub key_id: [u8; 32],
    /// One signature per roster entry, in roster order.
    #[serde(with = "sig_list")]
    pub signatures: Vec<[u8; 64]>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Certificate(key {}, {} signatures)",
            hex::encode(&self.key_id[..8]),
            self.signatures.len()
        )
    }
}

impl Certificate {
    /// Checks one signature per roster entry over `key_id`, each by that entry's identity key.
    /// Anyone holding the roster's PeerIds (which embed the Ed25519 keys) can run this.
    pub fn verify(&self, roster: &[IdentityKey], key_id: &[u8; 32]) -> Result<(), KeygenError> {
        if &self.key_id != key_id {
            return Err(KeygenError::Certificate("it certifies another key"));
        }
        if self.signatures.len() != roster.len() {
            return Err(KeygenError::Certificate("wrong number of signatures"));
        }
        let all_valid = roster
            .iter()
            .zip(&self.signatures)
            .all(|(key, sig)| key.verify(CONFIRM_PURPOSE, key_id, sig));
        if all_valid {
            Ok(())
        } else {
            Err(KeygenError::Certificate("a signature does not verify"))
        }
    }
}

/// Who holds the key and how it was made: everything about a share except the secret.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct KeyMetadata {
    pub suite: Suite,
    pub roster: Arc<Vec<IdentityKey>>,
    pub commitments_digest: [u8; 32],
    pub key_id: [u8; 32],
    pub epoch: u64,
}

/// A share whose DKG finished at this party, confirmed by it but not yet certified.
///
/// Persist it (encrypted) **before** sending the confirmation (design §3.1 step 4, must), and
/// never delete it on your own after sending: another party may already have activated.
#[derive(Clone)]
pub struct PendingKeyShare<C: Ciphersuite> {
    pub(crate) key: KeyPackage<C>,
    pub(crate) meta: KeyMetadata,
    pub(crate) confirmation: Confirmation,
}

/// An active share: its certificate shows all n parties confirmed the same transcript.
#[derive(Clone)]
pub struct KeyShare<C: Ciphersuite> {
    key: KeyPackage<C>,
    meta: KeyMetadata,
    certificate: Certificate,
}

impl<C: Ciphersuite> PendingKeyShare<C> {
    /// The pending share of a finished key-producing protocol (a DKG, or a reshare moving the
    /// key to `epoch`), with this party's confirmation signed by `signer`. The key id is
    /// computed here from the key's public data, the roster and `commitments_digest` (the
    /// digest of the protocol's transcript), so a pending share always confirms exactly the
    /// data it holds. The signer's identity must be at the key's roster position.
    pub fn new(
        key: KeyPackage<C>,
        roster: Vec<IdentityKey>,
        commitments_digest: [u8; 32],
        epoch: u64,
        signer: &dyn IdentitySigner,
    ) -> Result<Self, KeygenError> {
        let party = key.identifier().get() - 1;
        if key.public().verifying_shares().len() != roster.len() {
            return Err(KeygenError::Parameters(
                "the roster and the key have different sizes".into(),
            ));
        }
        if roster.get(usize::from(party)) != Some(&signer.identity()) {
            return Err(KeygenError::Parameters(
                "the signer's identity is not at the key's roster position".into(),
            ));
        }
        let key_id = epoch_key_id(key.public(), &roster, &commitments_digest, epoch)?;
        let signature = signer.sign(CONFIRM_PURPOSE, &key_id);
        Ok(PendingKeyShare {
            key,
            meta: KeyMetadata {
                suite: C::SUITE,
                roster: Arc::new(roster),
                commitments_digest,
                key_id,
                epoch,
            },
            confirmation: Confirmation { party, signature },
        })
    }

    /// The epoch this share is for.
    pub fn epoch(&self) -> u64 {
        self.meta.epoch
    }

    /// This party's confirmation, to send once the pending share is persisted.
    pub fn confirmation(&self) -> Confirmation {
        self.confirmation
    }

    /// The key id (transcript hash) the confirmations sign.
    pub fn key_id(&self) -> &[u8; 32] {
        &self.meta.key_id
    }

    /// The ordered roster.
    pub fn roster(&self) -> &[IdentityKey] {
        &self.meta.roster
    }

    /// The key material (secret share and group public data).
    pub fn key_package(&self) -> &KeyPackage<C> {
        &self.key
    }

    /// The public part, without a certificate.
    pub fn public(&self) -> PublicKeyShare {
        PublicKeyShare::new(&self.key, &self.meta, None)
    }

    /// Activates the share with a certificate over its key id. On failure the pending share is
    /// untouched: keep it, another party may relay a valid certificate later.
    pub fn activate(&self, certificate: &Certificate) -> Result<KeyShare<C>, KeygenError> {
        certificate.verify(&self.meta.roster, &self.meta.key_id)?;
        Ok(KeyShare {
            key: self.key.clone(),
            meta: self.meta.clone(),
            certificate: certificate.clone(),
        })
    }
}

impl<C: Ciphersuite> KeyShare<C> {
    /// The key material for signing.
    pub fn key_package(&self) -> &KeyPackage<C> {
        &self.key
    }

    /// The certificate that made this share active.
    pub fn certificate(&self) -> &Certificate {
        &self.certificate
    }

    /// The key id.
    pub fn key_id(&self) -> &[u8; 32] {
        &self.meta.key_id
    }

    /// The ordered roster.
    pub fn roster(&self) -> &[IdentityKey] {
        &self.meta.roster
    }

    /// The epoch (0 after the DKG; resharing moves it on).
    pub fn epoch(&self) -> u64 {
        self.meta.epoch
    }

    /// The public part, with the certificate.
    pub fn public(&self) -> PublicKeyShare {
        PublicKeyShare::new(&self.key, &self.meta, Some(self.certificate.clone()))
    }
}

impl<C: Ciphersuite> fmt::Debug for PendingKeyShare<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingKeyShare")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

impl<C: Ciphersuite> fmt::Debug for KeyShare<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyShare")
            .field("public", &self.public())
            .finish_non_exhaustive()
    }
}

/// The public part of a share: readable without the passphrase, authenticated by the
/// certificate (design §5). Points are hex in the suite's encoding; the group key is the
/// untweaked P with its parity (33 bytes for secp256k1 and taproot, design §2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicKeyShare {
    /// The ciphersuite.
    pub suite: Suite,
    /// This party's identifier (roster index + 1).
    pub identifier: u16,
    /// The threshold t.
    pub threshold: u16,
    /// The untweaked group key P.
    #[serde(with = "hex::serde")]
    pub group_key: Vec<u8>,
    /// Verifying shares of identifiers 1..=n, in order.
    pub verifying_shares: Vec<HexBytes>,
    /// The ordered roster of identity keys (PeerIds).
    pub roster: Vec<IdentityKey>,
    /// The BIP-32 chain code fixed by the DKG transcript.
    #[serde(with = "hex::serde")]
    pub chain_code: [u8; 32],
    /// Digest of every party's round-1 commitments (part of the transcript).
    #[serde(with = "hex::serde")]
    pub commitments_digest: [u8; 32],
    /// The key id: the transcript hash the confirmations sign.
    #[serde(with = "hex::serde")]
    pub key_id: [u8; 32],
    /// A short hash of the roster and threshold, for humans to compare across devices.
    pub fingerprint: String,
    /// The epoch.
    pub epoch: u64,
    /// The certificate, once active.
    pub certificate: Option<Certificate>,
}

/// Bytes serialized as hex.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HexBytes(#[serde(with = "hex::serde")] pub Vec<u8>);

impl PublicKeyShare {
    fn new<C: Ciphersuite>(
        key: &KeyPackage<C>,
        meta: &KeyMetadata,
        certificate: Option<Certificate>,
    ) -> Self {
        let public = key.public();
        // Points in a PublicKeyPackage passed strict decoding or came out of the DKG's checks,
        // so none is the identity and every one has an encoding.
        let enc = |p: &C::Point| {
            C::serialize_point(p)
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default()
        };
        PublicKeyShare {
            suite: meta.suite,
            identifier: key.identifier().get(),
            threshold: public.threshold(),
            group_key: enc(public.group_key()),
            verifying_shares: public
                .verifying_shares()
                .values()
                .map(|p| HexBytes(enc(p)))
                .collect(),
            roster: meta.roster.to_vec(),
            chain_code: *public.chain_code(),
            commitments_digest: meta.commitments_digest,
            key_id: meta.key_id,
            fingerprint: roster_fingerprint(&meta.roster, public.threshold()),
            epoch: meta.epoch,
            certificate,
        }
    }

    /// Recomputes the key id and fingerprint from the fields, checks the identifier, and
    /// checks the certificate over the key id: the public metadata is then exactly what every
    /// identity of **this roster** confirmed. The roster itself is the trust anchor: a file
    /// writer can build a self-consistent record for a roster of its own keys, so also check
    /// that the roster is the one the user approved (its fingerprint) and that this device is
    /// in it ([`PublicKeyShare::verify_member`]).
    pub fn verify(&self) -> Result<(), KeygenError> {
        if self.identifier == 0 || usize::from(self.identifier) > self.roster.len() {
            return Err(KeygenError::Certificate(
                "the identifier is not in the roster",
            ));
        }
        if self.fingerprint != roster_fingerprint(&self.roster, self.threshold) {
            return Err(KeygenError::Certificate(
                "the fingerprint does not match the roster",
            ));
        }
        let transcript = KeyTranscript {
            suite: self.suite,
            threshold: self.threshold,
            roster: &self.roster,
            commitments_digest: &self.commitments_digest,
            group_key: &self.group_key,
            verifying_shares: self
                .verifying_shares
                .iter()
                .map(|v| v.0.as_slice())
                .collect(),
            chain_code: &self.chain_code,
            epoch: self.epoch,
        };
        if key_id(&transcript) != self.key_id {
            return Err(KeygenError::Certificate(
                "the public data does not match its key id",
            ));
        }
        match &self.certificate {
            Some(c) => c.verify(&self.roster, &self.key_id),
            None => Err(KeygenError::Certificate("the share has no certificate")),
        }
    }

    /// [`PublicKeyShare::verify`], and that `me` holds this share's roster position.
    pub fn verify_member(&self, me: &IdentityKey) -> Result<(), KeygenError> {
        self.verify()?;
        if self.roster.get(usize::from(self.identifier) - 1) == Some(me) {
            Ok(())
        } else {
            Err(KeygenError::Certificate(
                "this device is not at the share's roster position",
            ))
        }
    }
}

mod sig_list {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[[u8; 64]], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(hex::encode))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 64]>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .map(|s| {
                let mut out = [0u8; 64];
                hex::decode_to_slice(s, &mut out).map_err(serde::de::Error::custom)?;
                Ok(out)
            })
            .collect()
    }
}
