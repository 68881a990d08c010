//! The device's [`ShareStore`]: the job layer's persistence steps written to the home's
//! keystore (design §3.1 step 4, §3.3 step 4, §5). A pending share is on disk before its
//! confirmation leaves; activation writes the certificate, then erases the previous epoch; a
//! retired epoch is erased.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use crate::device::jobs::ShareStore;
use tessera_core::{Ciphersuite, SessionId};
use tessera_keygen::{KeyShare, PendingKeyShare};

use crate::device::{keyring::DataKey, relay::Relays, Keystore, Mark};
use tessera_reshare::Transition;

/// The home's keystore as the jobs' store, with the names of the keys it holds by key id.
pub struct DiskStore {
    keystore: Keystore,
    data_key: Arc<DataKey>,
    /// Key id → local name, for every epoch stored (what approvals show).
    names: Arc<Mutex<HashMap<[u8; 32], String>>>,
    /// What this device relays to peers that missed the end of a session.
    relays: Arc<Relays>,
}

impl DiskStore {
    /// A store writing to `keystore` with `data_key`; `names` is kept up to date.
    pub fn new(
        keystore: Keystore,
        data_key: Arc<DataKey>,
        names: Arc<Mutex<HashMap<[u8; 32], String>>>,
        relays: Arc<Relays>,
    ) -> Self {
        DiskStore {
            keystore,
            data_key,
            names,
            relays,
        }
    }

    fn name_of(&self, key_id: &[u8; 32]) -> Result<String, String> {
        if let Some(n) = self.names.lock().ok().and_then(|n| n.get(key_id).cloned()) {
            return Ok(n);
        }
        self.keystore
            .find(key_id)
            .map_err(|e| e.to_string())?
            .map(|(n, _)| n)
            .ok_or_else(|| "the key is not in the keystore".into())
    }

    fn remember(&self, key_id: [u8; 32], name: &str) {
        if let Ok(mut n) = self.names.lock() {
            n.insert(key_id, name.to_string());
        }
    }

    fn save<C: Ciphersuite>(&self, name: &str, pending: &PendingKeyShare<C>) -> Result<(), String> {
        self.keystore
            .save_pending(&self.data_key, name, pending)
            .map_err(|e| e.to_string())?;
        self.remember(*pending.key_id(), name);
        Ok(())
    }
}

impl<C: Ciphersuite> ShareStore<C> for DiskStore {
    fn keygen(
        &self,
        name: &str,
        session: &SessionId,
        pending: &PendingKeyShare<C>,
    ) -> Result<(), String> {
        let name = self.keystore.free_name(name);
        self.save(&name, pending)?;
        self.keystore
            .mark(&name, pending.epoch(), Mark::Staged, session)
            .map_err(|e| e.to_string())
    }

    fn reshare(&self, session: &SessionId, pending: &PendingKeyShare<C>) -> Result<(), String> {
        let group_key = pending.public().group_key;
        let name = match self
            .keystore
            .find_group(&group_key)
            .map_err(|e| e.to_string())?
        {
            Some(name) => name,
            None => self
                .keystore
                .free_name(&format!("key-{}", &hex::encode(&group_key)[2..10])),
        };
        // The share first (which refuses a slot holding another share), then its mark: a
        // share without the mark is kept at the next start whatever happened (design §5.7).
        self.save(&name, pending)?;
        self.keystore
            .mark(&name, pending.epoch(), Mark::Staged, session)
            .map_err(|e| e.to_string())
    }

    fn confirming(&self, key_id: &[u8; 32], epoch: u64) -> Result<(), String> {
        let name = self.name_of(key_id)?;
        self.keystore
            .mark(&name, epoch, Mark::Confirmed, key_id)
            .map_err(|e| e.to_string())
    }

    fn dealing(&self, key_id: &[u8; 32], epoch: u64, session: &SessionId) -> Result<(), String> {
        let name = self.name_of(key_id)?;
        self.keystore
            .mark(&name, epoch, Mark::Dealing, session)
            .map_err(|e| e.to_string())
    }

    fn activated(
        &self,
        share: &KeyShare<C>,
        transition: Option<&Transition>,
    ) -> Result<(), String> {
        let name = self.name_of(share.key_id())?;
        let epoch = share.epoch();
        // The transition before the certificate: a crash between the two leaves a pending
        // epoch that the next start activates from the kept transition.
        if let Some(t) = transition {
            self.keystore
                .save_transition(&name, epoch, t)
                .map_err(|e| e.to_string())?;
        }
        self.keystore
            .activate(&name, epoch, share.certificate())
            .map_err(|e| e.to_string())?;
        for mark in [Mark::Staged, Mark::Confirmed] {
            self.keystore
                .unmark(&name, epoch, mark)
                .map_err(|e| e.to_string())?;
        }
        for older in self.keystore.epochs(&name).map_err(|e| e.to_string())? {
            if older.epoch < epoch {
                self.keystore
                    .erase(&name, older.epoch)
                    .map_err(|e| e.to_string())?;
            }
        }
        self.relays.keep_certificate(share.certificate());
        self.relays.keep_public(&share.public());
        if let Some(t) = transition {
            self.relays.keep_transition(t);
        }
        Ok(())
    }

    fn retired(&self, key_id: &[u8; 32], epoch: u64) -> Result<(), String> {
        let name = self.name_of(key_id)?;
        // No longer in the committee: its public data is not this device's to relay.
        if let Ok(epochs) = self.keystore.epochs(&name) {
            if let Some(e) = epochs.iter().find(|e| e.epoch == epoch) {
                self.relays.forget_public(&e.public.group_key);
            }
        }
        self.keystore.erase(&name, epoch).map_err(|e| e.to_string())
    }
}
