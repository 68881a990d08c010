//! The sans-IO protocol interface every tessera protocol implements (design §1, §4).
//!
//! A party of a protocol is a state machine. It is built with everything it needs (its
//! parameters, its key material, its identity signer, an RNG), [`Protocol::start`] gives its
//! first messages, and [`Protocol::receive`] takes one message `(from, payload)` at a time and
//! gives the messages to send next, until the party produces its output or fails with an
//! error that names the culprits ([`Blame`]). It never touches a socket, a file or a clock, so
//! one driver runs keygen, signing and resharing over the network ([`tessera-p2p`]) and the
//! simulation harness ([`crate::sim`], feature `sim`) runs them in one process.
//!
//! Parties are addressed by their index in the session's roster ([`PartyIndex`]). The sender
//! of a message is the party the transport authenticated, never a field of the payload.
//!
//! Every payload starts with a [`Header`]: the protocol kind, the session id and the round.
//! The transport reads the header to deduplicate, to buffer early messages and to keep
//! conflicting repeats as evidence (design §4), without knowing anything of the protocol.

use core::fmt;

/// A party's position in the session roster, from 0.
pub type PartyIndex = u16;

/// A 32-byte session id. The session layer derives it from the proposal and every party's
/// nonce (design §4); every hash that binds a proof or a transcript includes it.
pub type SessionId = [u8; 32];

/// Which protocol a message belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// Distributed key generation (design §3.1).
    Keygen = 1,
    /// Collecting the confirmations of a key into a certificate (design §3.1 step 4).
    Certify = 2,
    /// FROST signing (design §3.2).
    Sign = 3,
    /// Resharing (design §3.3).
    Reshare = 4,
    /// Share repair (design §3.4).
    Repair = 5,
}

impl Kind {
    /// Every protocol, in the order of their bytes.
    pub const ALL: [Kind; 5] = [
        Kind::Keygen,
        Kind::Certify,
        Kind::Sign,
        Kind::Reshare,
        Kind::Repair,
    ];

    fn from_byte(b: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|k| *k as u8 == b)
    }

    /// Its name in logs and test settings: `keygen`, `certify`, `sign`, `reshare`, `repair`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Keygen => "keygen",
            Kind::Certify => "certify",
            Kind::Sign => "sign",
            Kind::Reshare => "reshare",
            Kind::Repair => "repair",
        }
    }

    /// The protocol of a [`Kind::name`].
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// The first bytes of every protocol payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The protocol.
    pub kind: Kind,
    /// The session this message belongs to.
    pub session: SessionId,
    /// The protocol round, from 1.
    pub round: u8,
}

impl Header {
    /// Encoded length: kind, session id, round.
    pub const LEN: usize = 1 + 32 + 1;

    /// Starts a payload with this header.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(Self::LEN);
        out.push(self.kind as u8);
        out.extend_from_slice(&self.session);
        out.push(self.round);
        out
    }

    /// Splits a payload into its header and body.
    pub fn decode(payload: &[u8]) -> Result<(Header, &[u8]), Fault> {
        if payload.len() < Self::LEN {
            return Err(Fault::Malformed("message shorter than its header"));
        }
        let kind = Kind::from_byte(payload[0]).ok_or(Fault::Malformed("unknown protocol kind"))?;
        let mut session = [0u8; 32];
        session.copy_from_slice(&payload[1..33]);
        Ok((
            Header {
                kind,
                session,
                round: payload[33],
            },
            &payload[Self::LEN..],
        ))
    }
}

/// Whom a message goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipient {
    /// Every other party of the session (a broadcast: the protocols add their own echo check).
    All,
    /// One party, over the authenticated, encrypted channel.
    One(PartyIndex),
}

/// A message a party wants sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Its recipient.
    pub to: Recipient,
    /// The payload, starting with a [`Header`].
    pub payload: Vec<u8>,
}

impl Drop for Outgoing {
    // Point-to-point payloads carry secret shares: wipe them once sent.
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.payload);
    }
}

impl fmt::Debug for Outgoing {
    // Point-to-point payloads carry secret shares: print only their size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("to", &self.to)
            .field("len", &self.payload.len())
            .finish()
    }
}

/// What a party does after a message.
pub enum Step<O> {
    /// Send these messages (possibly none) and wait for more.
    Continue(Vec<Outgoing>),
    /// Send these messages, then the party is finished with this output.
    Done(Vec<Outgoing>, O),
}

impl<O> fmt::Debug for Step<O> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Continue(out) => f.debug_tuple("Continue").field(out).finish(),
            Step::Done(out, _) => f.debug_tuple("Done").field(out).finish(),
        }
    }
}

/// A party of a protocol (see the module doc).
pub trait Protocol {
    /// What the party produces.
    type Output;
    /// Why it fails; names the culprits.
    type Error: std::error::Error + Blame;

    /// The protocol kind, as in every message header.
    fn kind(&self) -> Kind;
    /// The session id.
    fn session(&self) -> &SessionId;
    /// This party's index in the roster.
    fn me(&self) -> PartyIndex;
    /// The number of parties in the roster.
    fn parties(&self) -> u16;
    /// The first messages.
    fn start(&mut self) -> Result<Vec<Outgoing>, Self::Error>;
    /// Takes one message from the authenticated sender `from`.
    ///
    /// An identical repeat of a message already taken is ignored. After an error or after
    /// [`Step::Done`], the party takes no more messages.
    fn receive(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
    ) -> Result<Step<Self::Output>, Self::Error>;
    /// Messages the party must still send after [`Protocol::receive`] returned an error: what
    /// it produced in the same step before it found the fault (for example a signer's share,
    /// so the others can name the culprit too). Drivers send them once, after the error.
    fn parting(&mut self) -> Vec<Outgoing> {
        Vec::new()
    }
    /// The parties whose messages this party still needs for its current round, if it can
    /// tell (empty: it cannot, for example while it settles an echo mismatch). A driver names
    /// them when a round deadline passes (design §4).
    fn waiting_for(&self) -> Vec<PartyIndex> {
        Vec::new()
    }
}

/// The indices whose slot in `slots` is still empty.
pub fn missing<T>(slots: &[Option<T>]) -> Vec<PartyIndex> {
    // Slots are indexed by roster position, and rosters have at most 65535 entries.
    (0..slots.len())
        .filter(|&i| slots[i].is_none())
        .map(|i| i as PartyIndex)
        .collect()
}

/// How strong the case against a culprit is (design §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// Signed messages anyone holding the roster's identity keys can check: the culprit's own
    /// signed message(s), for example two conflicting round-1 broadcasts.
    Proven(Vec<Vec<u8>>),
    /// Rests on what party `by` received privately or saw on its authenticated link; only
    /// `by` can vouch for it.
    AccusedBy(PartyIndex),
}

impl Evidence {
    /// Whether the evidence is signed and checkable by anyone.
    pub fn is_proven(&self) -> bool {
        matches!(self, Evidence::Proven(_))
    }
}

impl fmt::Display for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Evidence::Proven(m) => write!(f, "proven by {} signed message(s)", m.len()),
            Evidence::AccusedBy(by) => write!(f, "accused by party {by}"),
        }
    }
}

/// What a culprit did.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// A message that does not parse.
    #[error("malformed message: {0}")]
    Malformed(&'static str),
    /// A scalar or point that fails strict decoding.
    #[error("invalid encoding: {0}")]
    Encoding(#[from] crate::EncodingError),
    /// A message of another session.
    #[error("message from another session")]
    WrongSession,
    /// A message of another protocol.
    #[error("message of another protocol")]
    WrongProtocol,
    /// A message of a round that does not come now.
    #[error("message of round {0}, which does not come now")]
    WrongRound(u8),
    /// A sender that is not in the roster, or this party itself.
    #[error("sender is not another party of the roster")]
    UnknownSender,
    /// A message whose identity-key signature does not verify.
    #[error("identity signature does not verify")]
    BadSignature,
    /// Two different signed messages for one (session, round).
    #[error("sent two different messages in one round")]
    Equivocation,
    /// A different repeat of an unsigned message.
    #[error("sent a different repeat of a message")]
    ConflictingRepeat,
    /// A commitment with the wrong number of coefficients.
    #[error("sent {got} commitments, expected {expected}")]
    CommitmentCount {
        /// The threshold.
        expected: usize,
        /// What was sent.
        got: usize,
    },
    /// A proof of knowledge of the constant term that does not verify.
    #[error("proof of knowledge does not verify")]
    BadProof,
    /// A secret share that does not match the sender's commitments.
    #[error("sent a share that does not match its commitments")]
    BadShare,
    /// An echo hash of the round-1 broadcasts that differs from what this party saw, while the
    /// sender's own copies show no equivocation.
    #[error("reported round-1 broadcasts it did not receive (false echo)")]
    FalseEcho,
    /// A confirmation whose signature does not verify over the transcript.
    #[error("confirmation does not verify over the transcript")]
    BadConfirmation,
    /// A signature share that does not verify.
    #[error("signature share does not verify")]
    BadSignatureShare,
    /// A commitment or public value that does not match what the protocol requires.
    #[error("public data inconsistent: {0}")]
    Inconsistent(&'static str),
}

impl Fault {
    /// The fault's name without its details, for tables and metrics: `BadShare`, `Encoding`.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Malformed(_) => "Malformed",
            Fault::Encoding(_) => "Encoding",
            Fault::WrongSession => "WrongSession",
            Fault::WrongProtocol => "WrongProtocol",
            Fault::WrongRound(_) => "WrongRound",
            Fault::UnknownSender => "UnknownSender",
            Fault::BadSignature => "BadSignature",
            Fault::Equivocation => "Equivocation",
            Fault::ConflictingRepeat => "ConflictingRepeat",
            Fault::CommitmentCount { .. } => "CommitmentCount",
            Fault::BadProof => "BadProof",
            Fault::BadShare => "BadShare",
            Fault::FalseEcho => "FalseEcho",
            Fault::BadConfirmation => "BadConfirmation",
            Fault::BadSignatureShare => "BadSignatureShare",
            Fault::Inconsistent(_) => "Inconsistent",
        }
    }
}

/// A party that misbehaved, what it did, and how strong the case is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Culprit {
    /// Its roster index.
    pub party: PartyIndex,
    /// What it did.
    pub fault: Fault,
    /// How strong the case is.
    pub evidence: Evidence,
}

impl fmt::Display for Culprit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "party {} {} ({})", self.party, self.fault, self.evidence)
    }
}

/// Errors that name who caused them.
pub trait Blame {
    /// The culprits, empty if the failure is nobody's fault (or this party's own).
    fn culprits(&self) -> &[Culprit];
}

/// Joins culprits for a one-line error message.
pub fn describe(culprits: &[Culprit]) -> String {
    culprits
        .iter()
        .map(Culprit::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_roundtrip_and_rejections() {
        let h = Header {
            kind: Kind::Keygen,
            session: [7; 32],
            round: 2,
        };
        let mut bytes = h.encode();
        bytes.extend_from_slice(b"body");
        let (back, body) = Header::decode(&bytes).unwrap();
        assert_eq!(back, h);
        assert_eq!(body, b"body");
        assert!(Header::decode(&bytes[..Header::LEN - 1]).is_err());
        bytes[0] = 99;
        assert_eq!(
            Header::decode(&bytes).unwrap_err(),
            Fault::Malformed("unknown protocol kind")
        );
    }

    #[test]
    fn outgoing_debug_hides_payload() {
        let o = Outgoing {
            to: Recipient::One(3),
            payload: vec![0xAB; 40],
        };
        let s = format!("{o:?}");
        assert!(s.contains("len: 40"));
        assert!(!s.to_lowercase().contains("ab, ab"));
    }
}
