//! Typed signing errors. Culprits are named by identifier.

use tessera_core::{
    protocol::{describe, Blame, Culprit},
    EncodingError, Identifier,
};

fn list(ids: &[Identifier]) -> String {
    ids.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a signing step refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    /// A core-layer error (identifiers, tweaks, key consistency).
    #[error(transparent)]
    Core(#[from] tessera_core::Error),
    /// An input that failed strict decoding.
    #[error(transparent)]
    Encoding(#[from] EncodingError),
    /// Fewer signers than the threshold.
    #[error("{got} signers is fewer than the threshold {threshold}")]
    NotEnoughSigners {
        /// Signers in the request.
        got: usize,
        /// The key's threshold.
        threshold: u16,
    },
    /// A signer that is not a member of the key's committee.
    #[error("participant {0} is not in the key's committee")]
    NotInCommittee(Identifier),
    /// This party was asked to sign but is not in the approved signer set.
    #[error("participant {0} is not in the approved signer set")]
    NotASigner(Identifier),
    /// This signer already ran round one for its request.
    #[error("round one already ran for this request; a retry needs a new session")]
    AlreadyCommitted,
    /// Nonces that were wiped (zeroized) cannot sign.
    #[error("these nonces were wiped and cannot sign")]
    NoncesWiped,
    /// Nonces generated for a different request (session, message, signers or key).
    #[error("these nonces were generated for a different signing request")]
    NoncesFromAnotherRequest,
    /// The package's message differs from the approved message.
    #[error("the signing package's message is not the approved message")]
    MessageMismatch,
    /// The package's signer set differs from the approved signer set.
    #[error("the signing package's signer set is not the approved signer set")]
    SignerSetMismatch,
    /// The package lacks this party's own commitment.
    #[error("the signing package does not contain this party's commitment")]
    MissingOwnCommitment,
    /// The package carries a commitment for this party that it did not make.
    #[error("the signing package altered this party's commitment")]
    OwnCommitmentChanged,
    /// Signature shares missing for these signers.
    #[error("missing signature shares from: {}", list(.0))]
    MissingShares(Vec<Identifier>),
    /// Signature shares from parties outside the signer set.
    #[error("signature shares from parties outside the signer set: {}", list(.0))]
    UnexpectedShares(Vec<Identifier>),
    /// Signature shares that fail verification; every culprit is named.
    #[error("invalid signature shares from: {}", list(.culprits))]
    InvalidShares {
        /// The signers whose shares are invalid.
        culprits: Vec<Identifier>,
    },
    /// The aggregate signature is invalid although every share verified (cannot happen for
    /// consistent inputs; reported rather than returning a bad signature).
    #[error("the aggregate signature does not verify")]
    InvalidSignature,
}

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The public key does not decode.
    #[error("public key: {0}")]
    Key(EncodingError),
    /// The signature does not decode (R not a valid point, z not canonical, wrong length).
    #[error("signature: {0}")]
    Malformed(EncodingError),
    /// The verification equation does not hold.
    #[error("the signature does not match the key and message")]
    Mismatch,
}

/// Why a [`SignParty`](crate::protocol::SignParty) session failed or refused to start.
///
/// Failures caused by another party name it ([`Blame::culprits`]); failures of this party's
/// own setup or state name nobody. No variant carries secret material: evidence holds only
/// public protocol messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignProtocolError {
    /// The session roster does not fit the approved request or this party's identity.
    #[error("session roster: {0}")]
    Roster(&'static str),
    /// This party's own signing step refused (see [`SignError`]); nobody else is to blame.
    #[error(transparent)]
    Sign(#[from] SignError),
    /// [`Protocol::start`](tessera_core::Protocol::start) was called twice: round one runs once
    /// per session, so the party never commits (or signs) twice.
    #[error("the signing session was already started")]
    AlreadyStarted,
    /// The session already ended (with a signature or an error) and takes no more messages.
    #[error("the signing session is over")]
    Finished,
    /// A message broke the protocol: wrong session, protocol or round, unknown sender, bad
    /// identity signature, malformed or badly encoded content, conflicting repeats, a false
    /// echo, or a proven equivocation.
    #[error("{}", describe(core::slice::from_ref(.0)))]
    Message(Culprit),
    /// The group signature does not verify and these signers' shares are invalid
    /// (RFC 9591 §5.4), each accused by this party.
    #[error("invalid signature shares: {}", describe(.0))]
    BadShares(Vec<Culprit>),
}

impl Blame for SignProtocolError {
    fn culprits(&self) -> &[Culprit] {
        match self {
            SignProtocolError::Message(culprit) => core::slice::from_ref(culprit),
            SignProtocolError::BadShares(culprits) => culprits,
            SignProtocolError::Roster(_)
            | SignProtocolError::Sign(_)
            | SignProtocolError::AlreadyStarted
            | SignProtocolError::Finished => &[],
        }
    }
}
