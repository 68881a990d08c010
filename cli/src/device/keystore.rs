//! A home's keys on disk (design §5; the commit rules of design §3.1 step 4 and §3.3 step 4).
//!
//! `keys/<name>/` holds, for each epoch the device has a share of:
//! - `epoch-<e>.json`: the public part ([`PublicKeyShare`]): readable without the passphrase.
//!   Without a certificate the epoch is **pending**; with one (which must verify over the key
//!   id recomputed from the data, against the roster's PeerIds) it is **active**.
//! - `epoch-<e>.share`: the secret share, sealed with the home's data key
//!   ([`crate::device::sealed`]) under the header `suite ‖ key id ‖ epoch (u64 BE) ‖ party id
//!   (u16 BE)`.
//!
//! The share file is written before the public file, both before the confirmation leaves the
//! device ([`Keystore::save_pending`]); activation rewrites the public file with the
//! certificate ([`Keystore::activate`]); an old epoch is erased only after the next one is
//! active ([`Keystore::erase`]). Every write is atomic, so a crash leaves each file whole.
//! Listing keys never decrypts anything.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    sync::Arc,
};

use tessera_core::{
    Ciphersuite, Identifier, IdentitySigner, KeyPackage, PublicKeyPackage, SecretScalar, Suite,
};
use tessera_keygen::{Certificate, KeyShare, PendingKeyShare, PublicKeyShare};
use tessera_reshare::Transition;

use crate::device::{
    error::StoreError,
    files,
    keyring::DataKey,
    sealed::{self, Kind},
};

/// One epoch of a key, as its public file says (no secret read).
#[derive(Debug, Clone)]
pub struct Epoch {
    /// The epoch number.
    pub epoch: u64,
    /// Its public part (certificate present: active; absent: pending).
    pub public: PublicKeyShare,
}

impl Epoch {
    /// Whether the epoch is active (it has a certificate, checked when it was read).
    pub fn is_active(&self) -> bool {
        self.public.certificate.is_some()
    }
}

/// The one transition a device takes part in from an epoch of a key (design §3.3 step 4),
/// recorded by the reshare session's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// `epoch-<e>.session`: the session whose share of epoch e this device staged (and
    /// confirmed).
    Staged,
    /// `epoch-<e>.dealing`: the session this device deals in from its active epoch e.
    Dealing,
    /// `epoch-<e>.confirmed`: this device's confirmation of its pending share of epoch e may
    /// have left (written just before it is sent, design §5.7); it holds the key id.
    Confirmed,
}

impl Mark {
    fn suffix(self) -> &'static str {
        match self {
            Mark::Staged => "session",
            Mark::Dealing => "dealing",
            Mark::Confirmed => "confirmed",
        }
    }
}

/// A share read back from disk and checked.
pub enum Stored<C: Ciphersuite> {
    /// Confirmed, waiting for its certificate.
    Pending(PendingKeyShare<C>),
    /// Certified.
    Active(KeyShare<C>),
}

/// The keys of one home.
#[derive(Debug, Clone)]
pub struct Keystore {
    dir: PathBuf,
}

impl Keystore {
    /// The keys under `home/keys`.
    pub fn new(home: &Path) -> Self {
        Keystore {
            dir: home.join("keys"),
        }
    }

    fn key_dir(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn public_path(&self, name: &str, epoch: u64) -> PathBuf {
        self.key_dir(name).join(format!("epoch-{epoch}.json"))
    }

    fn share_path(&self, name: &str, epoch: u64) -> PathBuf {
        self.key_dir(name).join(format!("epoch-{epoch}.share"))
    }

    fn mark_path(&self, name: &str, epoch: u64, mark: Mark) -> PathBuf {
        self.key_dir(name)
            .join(format!("epoch-{epoch}.{}", mark.suffix()))
    }

    fn tombstone_path(&self, name: &str, epoch: u64) -> PathBuf {
        self.key_dir(name).join(format!("epoch-{epoch}.erasing"))
    }

    /// Finishes every erase of key `name` that a crash cut short (its tombstone is there).
    pub fn finish_erasures(&self, name: &str) -> Result<(), StoreError> {
        let dir = self.key_dir(name);
        let entries = std::fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let cut_short: Vec<u64> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_prefix("epoch-")?
                    .strip_suffix(".erasing")?
                    .parse()
                    .ok()
            })
            .collect();
        for epoch in cut_short {
            self.erase(name, epoch)?;
        }
        Ok(())
    }

    fn transition_path(&self, name: &str, epoch: u64) -> PathBuf {
        self.key_dir(name).join(format!("epoch-{epoch}.transition"))
    }

    /// Records `session` as this device's one transition `mark` at epoch `epoch` of key
    /// `name` (design §3.3 step 4): written before the share it stages or the first deal
    /// leaves, so a restarted node keeps the one-transition rule.
    pub fn mark(
        &self,
        name: &str,
        epoch: u64,
        mark: Mark,
        session: &[u8; 32],
    ) -> Result<(), StoreError> {
        files::create_dir(&self.dir)?;
        files::create_dir(&self.key_dir(name))?;
        files::write_atomic(
            &self.mark_path(name, epoch, mark),
            hex::encode(session).as_bytes(),
        )
    }

    /// The session of a `mark` at epoch `epoch` of key `name`, if one is recorded.
    pub fn marked(
        &self,
        name: &str,
        epoch: u64,
        mark: Mark,
    ) -> Result<Option<[u8; 32]>, StoreError> {
        let path = self.mark_path(name, epoch, mark);
        if !path.exists() {
            return Ok(None);
        }
        let text = files::read(&path)?;
        let mut session = [0; 32];
        hex::decode_to_slice(text.trim_ascii(), &mut session)
            .map_err(|_| StoreError::corrupt(&path, "not a session id"))?;
        Ok(Some(session))
    }

    /// Removes a `mark` (its transition committed, or the user abandoned it).
    pub fn unmark(&self, name: &str, epoch: u64, mark: Mark) -> Result<(), StoreError> {
        files::erase(&self.mark_path(name, epoch, mark))
    }

    /// Keeps the certified `transition` that made epoch `epoch` of key `name`, before that
    /// epoch is activated: a node restarted mid-commit finishes it from here, and relays it to
    /// devices that missed it.
    pub fn save_transition(
        &self,
        name: &str,
        epoch: u64,
        transition: &Transition,
    ) -> Result<(), StoreError> {
        let path = self.transition_path(name, epoch);
        let bytes = serde_json::to_vec_pretty(transition)
            .map_err(|_| StoreError::corrupt(&path, "unencodable"))?;
        files::write_atomic(&path, &bytes)
    }

    /// The transition that made epoch `epoch` of key `name`, if kept (unverified: the caller
    /// verifies it against the epoch it succeeds).
    pub fn transition(&self, name: &str, epoch: u64) -> Result<Option<Transition>, StoreError> {
        let path = self.transition_path(name, epoch);
        if !path.exists() {
            return Ok(None);
        }
        serde_json::from_slice(&files::read(&path)?)
            .map(Some)
            .map_err(|_| StoreError::corrupt(&path, "not a transition"))
    }

    /// The names of the keys in the home, sorted.
    pub fn names(&self) -> Result<Vec<String>, StoreError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io(&self.dir, e)),
        };
        let mut names: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        names.sort();
        Ok(names)
    }

    /// The epochs of key `name`, oldest first, each public file checked: an active epoch's
    /// certificate must verify over the data.
    pub fn epochs(&self, name: &str) -> Result<Vec<Epoch>, StoreError> {
        let dir = self.key_dir(name);
        let entries = std::fs::read_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
        let mut epochs = BTreeMap::new();
        for entry in entries.filter_map(Result::ok) {
            let file = entry.file_name().into_string().unwrap_or_default();
            let Some(epoch) = file
                .strip_prefix("epoch-")
                .and_then(|f| f.strip_suffix(".json"))
                .and_then(|e| e.parse::<u64>().ok())
            else {
                continue;
            };
            let path = entry.path();
            let public: PublicKeyShare = serde_json::from_slice(&files::read(&path)?)
                .map_err(|_| StoreError::corrupt(&path, "not a key's public data"))?;
            if public.epoch != epoch {
                return Err(StoreError::corrupt(&path, "it names another epoch"));
            }
            if public.certificate.is_some() {
                public
                    .verify()
                    .map_err(|_| StoreError::corrupt(&path, "its certificate does not verify"))?;
            }
            epochs.insert(epoch, Epoch { epoch, public });
        }
        Ok(epochs.into_values().collect())
    }

    /// The name and epoch of the stored epoch whose key id is `key_id`.
    pub fn find(&self, key_id: &[u8; 32]) -> Result<Option<(String, u64)>, StoreError> {
        for name in self.names()? {
            if let Some(e) = self
                .epochs(&name)?
                .iter()
                .find(|e| &e.public.key_id == key_id)
            {
                return Ok(Some((name, e.epoch)));
            }
        }
        Ok(None)
    }

    /// The name of the key whose group key is `group_key` (encoded), if one is stored.
    pub fn find_group(&self, group_key: &[u8]) -> Result<Option<String>, StoreError> {
        for name in self.names()? {
            if self
                .epochs(&name)?
                .iter()
                .any(|e| e.public.group_key == group_key)
            {
                return Ok(Some(name));
            }
        }
        Ok(None)
    }

    /// `hint` if no key has that name (and it is a valid name), else `hint-2`, `hint-3`, …
    pub fn free_name(&self, hint: &str) -> String {
        let hint = if crate::device::peers::check_name(hint).is_ok() {
            hint
        } else {
            "key"
        };
        if !self.exists(hint) {
            return hint.to_string();
        }
        // Room for a suffix within the 32 characters of a name.
        let base = &hint[..hint.len().min(26)];
        (2..)
            .map(|i| format!("{base}-{i}"))
            .find(|n| !self.exists(n))
            .unwrap_or_default()
    }

    /// Whether a key of this name exists.
    pub fn exists(&self, name: &str) -> bool {
        self.key_dir(name).is_dir()
    }

    /// Writes a pending share of key `name` (share file first, then its public file), before
    /// its confirmation is sent.
    pub fn save_pending<C: Ciphersuite>(
        &self,
        key: &DataKey,
        name: &str,
        pending: &PendingKeyShare<C>,
    ) -> Result<(), StoreError> {
        files::create_dir(&self.dir)?;
        files::create_dir(&self.key_dir(name))?;
        let public = pending.public();
        // Never over another share this device may have confirmed.
        let existing = self.public_path(name, public.epoch);
        if existing.exists() {
            let stored: Option<PublicKeyShare> =
                serde_json::from_slice(&files::read(&existing)?).ok();
            if stored.is_none_or(|s| s.key_id != public.key_id) {
                return Err(StoreError::corrupt(
                    &existing,
                    "another share of this epoch is stored there",
                ));
            }
        }
        let secret = pending.key_package().signing_share().to_bytes();
        let sealed = sealed::seal(key, Kind::Share, &share_header(&public), &*secret)?;
        files::write_atomic(&self.share_path(name, public.epoch), &sealed)?;
        self.write_public(name, &public)
    }

    /// Writes a repaired share of key `name` (design §3.4): the sealed share file, then the
    /// public file with its certificate, which must verify. Only for a share checked against
    /// its verifying share, replacing a lost or damaged one.
    pub fn save_active<C: Ciphersuite>(
        &self,
        key: &DataKey,
        name: &str,
        share: &KeyShare<C>,
    ) -> Result<(), StoreError> {
        files::create_dir(&self.dir)?;
        files::create_dir(&self.key_dir(name))?;
        let public = share.public();
        let path = self.public_path(name, public.epoch);
        public
            .verify()
            .map_err(|_| StoreError::corrupt(&path, "the certificate does not verify"))?;
        let secret = share.key_package().signing_share().to_bytes();
        let sealed = sealed::seal(key, Kind::Share, &share_header(&public), &*secret)?;
        files::write_atomic(&self.share_path(name, public.epoch), &sealed)?;
        self.write_public(name, &public)
    }

    /// Activates the pending epoch `epoch` of key `name` with `certificate`, which must verify
    /// over the stored data.
    pub fn activate(
        &self,
        name: &str,
        epoch: u64,
        certificate: &Certificate,
    ) -> Result<(), StoreError> {
        let path = self.public_path(name, epoch);
        let mut public = self
            .epochs(name)?
            .into_iter()
            .find(|e| e.epoch == epoch)
            .ok_or_else(|| StoreError::corrupt(&path, "no such epoch"))?
            .public;
        public.certificate = Some(certificate.clone());
        public
            .verify()
            .map_err(|_| StoreError::corrupt(&path, "the certificate does not verify"))?;
        self.write_public(name, &public)
    }

    fn write_public(&self, name: &str, public: &PublicKeyShare) -> Result<(), StoreError> {
        let path = self.public_path(name, public.epoch);
        let bytes = serde_json::to_vec_pretty(public)
            .map_err(|_| StoreError::corrupt(&path, "unencodable"))?;
        files::write_atomic(&path, &bytes)
    }

    /// Erases epoch `epoch` of key `name`: the share file is overwritten and removed, then
    /// the public file and the epoch's marks and transition. Only after the next epoch is
    /// active, or on the user's word.
    pub fn erase(&self, name: &str, epoch: u64) -> Result<(), StoreError> {
        // A tombstone first: an erase cut short by a crash is finished at the next start
        // ([`Keystore::finish_erasures`]) rather than leaving a public file whose share is
        // gone, which would stop the node.
        let tombstone = self.tombstone_path(name, epoch);
        files::write_atomic(&tombstone, b"")?;
        files::erase(&self.share_path(name, epoch))?;
        files::erase(&self.public_path(name, epoch))?;
        for mark in [Mark::Staged, Mark::Dealing, Mark::Confirmed] {
            files::erase(&self.mark_path(name, epoch, mark))?;
        }
        files::erase(&self.transition_path(name, epoch))?;
        files::erase(&tombstone)?;
        let dir = self.key_dir(name);
        if std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false)
        {
            std::fs::remove_dir(&dir).map_err(|e| StoreError::io(&dir, e))?;
            files::sync_dir(&self.dir)?;
        }
        Ok(())
    }

    /// Reads epoch `epoch` of key `name` back: decrypts its share, checks `s_i·G == Y_i`
    /// against the public data, and rebuilds the pending share (its key id recomputed from
    /// the data) or, with a certificate, the active one.
    pub fn load<C: Ciphersuite>(
        &self,
        key: &DataKey,
        name: &str,
        epoch: &Epoch,
        signer: &dyn IdentitySigner,
    ) -> Result<Stored<C>, StoreError> {
        let public = &epoch.public;
        let path = self.share_path(name, epoch.epoch);
        if public.suite != C::SUITE {
            return Err(StoreError::corrupt(&path, "the key is of another suite"));
        }
        let bytes = files::read_secret(&path)?;
        let secret = sealed::open(key, &path, &bytes, Kind::Share, &share_header(public))?;
        let share = SecretScalar::<C>::from_bytes(&secret)
            .map_err(|_| StoreError::corrupt(&path, "the share does not decode"))?;
        let package = Arc::new(public_package::<C>(public).ok_or_else(|| {
            StoreError::corrupt(&self.public_path(name, epoch.epoch), "invalid public data")
        })?);
        let id = Identifier::new(public.identifier)
            .map_err(|_| StoreError::corrupt(&path, "invalid identifier"))?;
        let key_package = KeyPackage::new(id, share, package)
            .map_err(|_| StoreError::Mismatch { path: path.clone() })?;
        let pending = PendingKeyShare::new(
            key_package,
            public.roster.clone(),
            public.commitments_digest,
            public.epoch,
            signer,
        )
        .map_err(|_| StoreError::corrupt(&path, "the share is not this device's"))?;
        if pending.key_id() != &public.key_id {
            return Err(StoreError::corrupt(
                &path,
                "the data does not match its key id",
            ));
        }
        match &public.certificate {
            None => Ok(Stored::Pending(pending)),
            Some(c) => pending
                .activate(c)
                .map(Stored::Active)
                .map_err(|_| StoreError::corrupt(&path, "the certificate does not verify")),
        }
    }
}

/// The header a share file is sealed under: its slot.
fn share_header(public: &PublicKeyShare) -> Vec<u8> {
    let mut h = Vec::with_capacity(1 + 32 + 8 + 2);
    h.push(match public.suite {
        Suite::Ed25519 => 1,
        Suite::Secp256k1 => 2,
        Suite::Taproot => 3,
    });
    h.extend_from_slice(&public.key_id);
    h.extend_from_slice(&public.epoch.to_be_bytes());
    h.extend_from_slice(&public.identifier.to_be_bytes());
    h
}

/// The group's public data of a stored share, decoded strictly and checked consistent.
pub fn public_package<C: Ciphersuite>(public: &PublicKeyShare) -> Option<PublicKeyPackage<C>> {
    let group_key = C::deserialize_point(&public.group_key).ok()?;
    let shares = public
        .verifying_shares
        .iter()
        .enumerate()
        .map(|(i, y)| {
            let id = Identifier::new(u16::try_from(i + 1).ok()?).ok()?;
            Some((id, C::deserialize_point(&y.0).ok()?))
        })
        .collect::<Option<BTreeMap<_, _>>>()?;
    PublicKeyPackage::new(group_key, shares, public.threshold, public.chain_code).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{files, keyring};
    use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
    use std::os::unix::fs::PermissionsExt;
    use tessera_core::{Ed25519, Ed25519Identity, Taproot};
    use tessera_keygen::{dealer, CONFIRM_PURPOSE};

    /// A 2-of-3 key's pending shares, each with its device identity, and the certificate.
    fn key<C: Ciphersuite>() -> (Vec<(PendingKeyShare<C>, Ed25519Identity)>, Certificate) {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let (packages, _) =
            dealer::split::<C>(&SecretScalar::random(&mut rng), 2, 3, &mut rng).unwrap();
        let ids: Vec<Ed25519Identity> = (1..=3u8)
            .map(|i| Ed25519Identity::from_seed(&[i; 32]))
            .collect();
        let roster: Vec<_> = ids.iter().map(|i| i.identity()).collect();
        let pending: Vec<_> = packages
            .into_iter()
            .zip(ids)
            .map(|(k, id)| {
                (
                    PendingKeyShare::new(k, roster.clone(), [9; 32], 0, &id).unwrap(),
                    id,
                )
            })
            .collect();
        let key_id = *pending[0].0.key_id();
        let certificate = Certificate {
            key_id,
            signatures: pending
                .iter()
                .map(|(_, id)| id.sign(CONFIRM_PURPOSE, &key_id))
                .collect(),
        };
        (pending, certificate)
    }

    fn scratch(name: &str) -> (PathBuf, DataKey) {
        std::env::set_var(keyring::INSECURE_TEST_KDF, "1");
        let dir =
            std::env::temp_dir().join(format!("tessera-keystore-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        files::create_dir(&dir).unwrap();
        let key = keyring::create(&dir.join("keyring.json"), b"pw").unwrap();
        (dir, key)
    }

    fn round_trip<C: Ciphersuite>() {
        let (dir, data_key) = scratch(C::SUITE.name());
        let store = Keystore::new(&dir);
        let (shares, certificate) = key::<C>();
        let (pending, identity) = &shares[1];
        store.save_pending(&data_key, "vault", pending).unwrap();
        let epochs = store.epochs("vault").unwrap();
        assert_eq!(epochs.len(), 1);
        assert!(!epochs[0].is_active());
        assert!(matches!(
            store.load::<C>(&data_key, "vault", &epochs[0], identity).unwrap(),
            Stored::Pending(p) if p.key_id() == pending.key_id()
        ));
        // A certificate over another key does not activate it.
        let mut wrong = certificate.clone();
        wrong.signatures[0][3] ^= 1;
        assert!(store.activate("vault", 0, &wrong).is_err());
        store.activate("vault", 0, &certificate).unwrap();
        let epochs = store.epochs("vault").unwrap();
        assert!(epochs[0].is_active());
        let Stored::Active(active) = store
            .load::<C>(&data_key, "vault", &epochs[0], identity)
            .unwrap()
        else {
            panic!("active");
        };
        assert_eq!(
            active.key_package().signing_share(),
            pending.key_package().signing_share()
        );
        // Another device's share sealed into this slot does not open: the header differs.
        let other = Keystore::new(&dir.join("other"));
        other
            .save_pending(&data_key, "vault", &shares[2].0)
            .unwrap();
        std::fs::copy(other.share_path("vault", 0), store.share_path("vault", 0)).unwrap();
        assert!(matches!(
            store.load::<C>(&data_key, "vault", &epochs[0], identity),
            Err(StoreError::Corrupt { .. })
        ));
        // Readable by others: refused.
        store.save_pending(&data_key, "vault", pending).unwrap();
        let path = store.share_path("vault", 0);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            store.load::<C>(&data_key, "vault", &epochs[0], identity),
            Err(StoreError::Permissions { .. })
        ));
        store.erase("vault", 0).unwrap();
        assert!(!store.exists("vault"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// An erase cut short after the share file went (a crash) is finished at the next start:
    /// the public file whose share is gone does not stay to stop the node.
    #[test]
    fn an_erase_cut_short_is_finished() {
        let (dir, data_key) = scratch("erasing");
        let store = Keystore::new(&dir);
        let (shares, _) = key::<Ed25519>();
        store
            .save_pending(&data_key, "vault", &shares[0].0)
            .unwrap();
        store.mark("vault", 0, Mark::Confirmed, &[1; 32]).unwrap();
        files::write_atomic(&store.tombstone_path("vault", 0), b"").unwrap();
        files::erase(&store.share_path("vault", 0)).unwrap();
        store.finish_erasures("vault").unwrap();
        assert!(!store.exists("vault"), "nothing of the epoch is left");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shares_round_trip_and_refuse_foreign_slots() {
        round_trip::<Ed25519>();
        round_trip::<Taproot>();
    }
}
