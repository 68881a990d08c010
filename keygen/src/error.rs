//! Typed errors of key generation and certification.

use tessera_core::{protocol::describe, Blame, Culprit, PartyIndex};

/// Why a DKG or certification party stopped without a usable key.
///
/// No variant carries secret material: culprits are named by roster index with the evidence
/// against them (design §3: *proven* by signed messages, or *accused by j*).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeygenError {
    /// Parameters out of range or inconsistent (t, n, roster, own identity).
    #[error("invalid parameters: {0}")]
    Parameters(String),
    /// Other parties misbehaved; every culprit is named.
    #[error("aborted: {}", describe(.0))]
    Misbehaviour(Vec<Culprit>),
    /// A certificate that does not verify against the roster and key id.
    #[error("certificate does not verify: {0}")]
    Certificate(&'static str),
    /// A message arrived after this party had already finished or failed.
    #[error("the party has already finished")]
    Finished,
}

impl KeygenError {
    /// One culprit.
    pub(crate) fn culprit(
        party: PartyIndex,
        fault: tessera_core::Fault,
        evidence: tessera_core::Evidence,
    ) -> Self {
        KeygenError::Misbehaviour(vec![Culprit {
            party,
            fault,
            evidence,
        }])
    }
}

impl Blame for KeygenError {
    fn culprits(&self) -> &[Culprit] {
        match self {
            KeygenError::Misbehaviour(c) => c,
            _ => &[],
        }
    }
}

impl From<tessera_core::Error> for KeygenError {
    fn from(e: tessera_core::Error) -> Self {
        KeygenError::Parameters(e.to_string())
    }
}
