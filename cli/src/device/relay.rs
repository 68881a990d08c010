//! Relay on reconnection (design §3.1 step 4, §3.3 step 4): a device that confirmed a share
//! but missed the end of its session (offline, killed, or cut off) asks its peers for what
//! completes it, and any device that has it answers.
//!
//! - A keygen's pending share waits for the key's [`Certificate`]: asked by key id.
//! - A reshare's staged share, or a dealing mark, waits for the certified [`Transition`]:
//!   asked by the new key id (a new party knows it from its staged share) or the old one (a
//!   dealer that is leaving knows only that).
//!
//! Answers are public data and are verified by the asker before anything changes
//! ([`Device::activate`](crate::device::jobs::Device::activate),
//! [`Device::commit_reshare`](crate::device::jobs::Device::commit_reshare)): a peer that
//! answers with something else changes nothing. Questions and answers are JSON:
//! `{"certificate": HEX}` or `{"transition": HEX}`; the answer is the certificate or the
//! transition as the keystore keeps it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use serde::{Deserialize, Serialize};
use tessera_keygen::Certificate;
use tessera_p2p::Answerer;
use tessera_reshare::Transition;

/// What a device asks its peers.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Question {
    /// The certificate of the key with this key id.
    Certificate(#[serde(with = "hex::serde")] [u8; 32]),
    /// The transition to, or from, the epoch with this key id.
    Transition(#[serde(with = "hex::serde")] [u8; 32]),
    /// The public data (with its certificate) of the active epoch of the key with this group
    /// key: what a device that lost its whole home repairs its share against (design §3.4).
    Public(#[serde(with = "hex::serde")] Vec<u8>),
}

impl Question {
    /// The question's bytes on the wire.
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// The certificates and transitions this device can relay, by question.
#[derive(Default)]
pub struct Relays {
    answers: Mutex<HashMap<Question, Vec<u8>>>,
}

impl Relays {
    /// Keeps `certificate` to relay.
    pub fn keep_certificate(&self, certificate: &Certificate) {
        if let Ok(bytes) = serde_json::to_vec(certificate) {
            self.put(Question::Certificate(certificate.key_id), bytes);
        }
    }

    /// Keeps `transition` to relay, asked by its old or its new key id.
    pub fn keep_transition(&self, transition: &Transition) {
        if let Ok(bytes) = serde_json::to_vec(transition) {
            self.put(Question::Transition(transition.old_key_id), bytes.clone());
            self.put(Question::Transition(transition.certificate.key_id), bytes);
        }
    }

    /// Keeps an active epoch's public data to relay, asked by its group key.
    pub fn keep_public(&self, public: &tessera_keygen::PublicKeyShare) {
        if let Ok(bytes) = serde_json::to_vec(public) {
            self.put(Question::Public(public.group_key.clone()), bytes);
        }
    }

    /// Stops relaying the public data of the key `group_key` (this device left it).
    pub fn forget_public(&self, group_key: &[u8]) {
        if let Ok(mut a) = self.answers.lock() {
            a.remove(&Question::Public(group_key.to_vec()));
        }
    }

    fn put(&self, question: Question, answer: Vec<u8>) {
        if let Ok(mut a) = self.answers.lock() {
            a.insert(question, answer);
        }
    }

    /// The node's answerer: a question this device can answer gets its answer.
    pub fn answerer(self: &Arc<Self>) -> Answerer {
        let relays = self.clone();
        Arc::new(move |_, bytes: &[u8]| {
            let question: Question = serde_json::from_slice(bytes).ok()?;
            relays.answers.lock().ok()?.get(&question).cloned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_p2p::PeerId;

    #[test]
    fn answers_only_what_it_keeps() {
        let relays = Arc::new(Relays::default());
        let certificate = Certificate {
            key_id: [7; 32],
            signatures: vec![[1; 64]],
        };
        relays.keep_certificate(&certificate);
        let answer = relays.answerer();
        let peer = PeerId::random();
        let got = answer(&peer, &Question::Certificate([7; 32]).encode()).unwrap();
        assert_eq!(
            serde_json::from_slice::<Certificate>(&got).unwrap(),
            certificate
        );
        assert!(answer(&peer, &Question::Certificate([8; 32]).encode()).is_none());
        assert!(answer(&peer, &Question::Transition([7; 32]).encode()).is_none());
        assert!(answer(&peer, b"{not json").is_none());
    }
}
