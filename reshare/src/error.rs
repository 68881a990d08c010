//! Typed errors of resharing and of a device's epoch record.

use tessera_core::{protocol::describe, Blame, Culprit};
use tessera_keygen::KeygenError;
use tessera_sign::SignProtocolError;

/// Why a reshare party stopped without moving to the new epoch. Epoch e is untouched: the
/// old shares still sign.
///
/// No variant carries secret material: culprits are named by device index (the session
/// roster, [`crate::ReshareParams::devices`]) with the evidence against them (design §3:
/// *proven* by signed messages, or *accused by j*).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReshareError {
    /// Parameters out of range or inconsistent with the key material.
    #[error("invalid parameters: {0}")]
    Parameters(String),
    /// Other parties misbehaved; every culprit is named.
    #[error("aborted: {}", describe(.0))]
    Misbehaviour(Vec<Culprit>),
    /// The new share could not be persisted, so it was not confirmed.
    #[error("the pending share could not be persisted: {0}")]
    Persist(String),
    /// The key material of the new epoch failed a check.
    #[error("new epoch: {0}")]
    Key(#[from] KeygenError),
    /// The test signature by all new parties failed.
    #[error("test signature: {0}")]
    TestSignature(#[from] SignProtocolError),
    /// A message arrived after this party had already finished or failed.
    #[error("the party has already finished")]
    Finished,
}

impl ReshareError {
    /// One culprit.
    pub(crate) fn culprit(
        party: tessera_core::PartyIndex,
        fault: tessera_core::Fault,
        evidence: tessera_core::Evidence,
    ) -> Self {
        ReshareError::Misbehaviour(vec![Culprit {
            party,
            fault,
            evidence,
        }])
    }
}

impl Blame for ReshareError {
    fn culprits(&self) -> &[Culprit] {
        match self {
            ReshareError::Misbehaviour(c) => c,
            // The test signature's roster is the new committee in order: its indices are the
            // new parties' device indices.
            ReshareError::TestSignature(e) => e.culprits(),
            ReshareError::Key(e) => e.culprits(),
            _ => &[],
        }
    }
}

impl From<tessera_core::Error> for ReshareError {
    fn from(e: tessera_core::Error) -> Self {
        ReshareError::Parameters(e.to_string())
    }
}

/// Why a device's epoch record refused an operation (design §3.3 step 4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpochError {
    /// The epoch asked for has been replaced by a newer active one.
    #[error("epoch {asked} is superseded: epoch {active} is active")]
    Superseded {
        /// The epoch asked for.
        asked: u64,
        /// The active epoch.
        active: u64,
    },
    /// The device holds no active share of that epoch.
    #[error("no active share of epoch {0}")]
    NoShare(u64),
    /// Another transition from this epoch is pending.
    #[error("another reshare of this key from epoch {0} is pending; abandon it first")]
    TransitionPending(u64),
    /// A commitment that does not verify or does not fit this key.
    #[error("the new epoch's commitment does not verify: {0}")]
    Commitment(&'static str),
    /// A pending share of another key or epoch.
    #[error("the pending share does not follow the active epoch")]
    NotNext,
    /// The device holds no active share of the key.
    #[error("this device holds no active share of the key")]
    NoActiveShare,
    /// The session names another epoch than the active one.
    #[error("the session names another epoch than the active epoch {0}")]
    NotActive(u64),
    /// A transition that does not succeed this device's epoch of the key.
    #[error("the transition does not succeed this device's epoch of the key")]
    NotSuccessor,
}
