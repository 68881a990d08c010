//! Session proposals, session ids, and the signed start members agree on (design §4).
//!
//! An initiator proposes {protocol kind and parameters, key id and epoch, roster, its nonce};
//! each roster member's policy accepts (adding a fresh nonce of its own, signed with its
//! identity key over the proposal digest) or refuses. The session id hashes the proposal and
//! every member's nonce in roster order, so no party can steer it and a replayed start names a
//! session id that is already spent.
//!
//! The initiator's [`Start`] carries every nonce and signed acceptance and is signed by the
//! initiator. Its [`Stamp`] (digest, session id, acceptances hash, signature) is what members
//! confirm to each other: the initiator signs one start per proposal, so two stamps that verify
//! with different session ids for one proposal prove that it equivocated, and a stamp that
//! does not verify proves nothing against it.

use libp2p::PeerId;
use tessera_core::{
    hash::transcript_hash,
    identity::{IdentityKey, SIGNATURE_LEN},
    protocol::Kind,
    IdentitySigner, PartyIndex, SessionId,
};

use crate::wire::{Reader, WireError, Writer};

/// What an initiator asks the committee to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// The protocol (a keygen session runs the DKG and then its certification).
    pub kind: Kind,
    /// The protocol's parameters, encoded by the application; each member's policy reads them.
    pub params: Vec<u8>,
    /// The key the session is about (zero for a keygen).
    pub key_id: [u8; 32],
    /// The key's epoch the session uses.
    pub epoch: u64,
    /// The session roster: party index i is `roster[i]`. The initiator is one of them.
    pub roster: Vec<PeerId>,
}

/// A draft with the initiator's nonce: what every member sees and accepts or refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proposal {
    /// The draft.
    pub draft: Draft,
    /// The initiator's fresh nonce.
    pub nonce: [u8; 32],
}

/// Most parties in a roster.
pub const MAX_ROSTER: usize = 1024;

/// Most bytes of an encoded start request: tag, digest, count, and a nonce and an acceptance
/// per party, then the initiator's signature.
pub const MAX_START: usize = 1 + 32 + 2 + MAX_ROSTER * (32 + SIGNATURE_LEN) + SIGNATURE_LEN;

const KINDS: [Kind; 5] = [
    Kind::Keygen,
    Kind::Certify,
    Kind::Sign,
    Kind::Reshare,
    Kind::Repair,
];

impl Proposal {
    /// Encodes the proposal for the wire.
    pub fn encode(&self) -> Vec<u8> {
        let d = &self.draft;
        let mut w = Writer::default();
        w.u8(d.kind as u8);
        w.bytes32(&d.key_id);
        w.u64(d.epoch);
        // The roster length is bounded by MAX_ROSTER when decoded and checked by `check`
        // before a node sends a proposal.
        w.u16(d.roster.len() as u16);
        for peer in &d.roster {
            w.short(&peer.to_bytes());
        }
        w.long(&d.params);
        w.bytes32(&self.nonce);
        w.finish()
    }

    /// Decodes a proposal strictly (every field, nothing left over).
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let kind_byte = r.u8()?;
        let kind = KINDS
            .into_iter()
            .find(|k| *k as u8 == kind_byte)
            .ok_or(WireError::Invalid("unknown protocol kind"))?;
        let key_id = r.bytes32()?;
        let epoch = r.u64()?;
        let n = usize::from(r.u16()?);
        if n > MAX_ROSTER {
            return Err(WireError::Invalid("roster too large"));
        }
        let mut roster = Vec::with_capacity(n);
        for _ in 0..n {
            let peer = PeerId::from_bytes(r.short()?)
                .map_err(|_| WireError::Invalid("malformed peer id"))?;
            roster.push(peer);
        }
        let params = r.long()?.to_vec();
        let nonce = r.bytes32()?;
        r.end()?;
        Ok(Self {
            draft: Draft {
                kind,
                params,
                key_id,
                epoch,
                roster,
            },
            nonce,
        })
    }

    /// The digest naming this proposal (it includes the initiator's nonce).
    pub fn digest(&self) -> [u8; 32] {
        transcript_hash("tessera/p2p/v1/proposal", &[&self.encode()])
    }

    /// The party index of `peer` in the roster.
    pub fn party_of(&self, peer: &PeerId) -> Option<u16> {
        // `check` bounds the roster to MAX_ROSTER entries, which fit in u16.
        self.draft
            .roster
            .iter()
            .position(|p| p == peer)
            .map(|i| i as u16)
    }

    /// The roster without `me`.
    pub fn others(&self, me: &PeerId) -> Vec<PeerId> {
        self.draft
            .roster
            .iter()
            .filter(|p| *p != me)
            .copied()
            .collect()
    }

    /// Checks the roster: 2 to [`MAX_ROSTER`] distinct peers, each naming an Ed25519 key (it
    /// signs its acceptance), `initiator` and `me` among them.
    pub fn check(&self, initiator: &PeerId, me: &PeerId) -> Result<(), &'static str> {
        let roster = &self.draft.roster;
        if roster.len() < 2 || roster.len() > MAX_ROSTER {
            return Err("a roster has 2 to 1024 parties");
        }
        if roster.iter().any(|p| key_of(p).is_none()) {
            return Err("a roster member's PeerId is not an Ed25519 key");
        }
        let mut sorted = roster.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted.len() != roster.len() {
            return Err("a peer appears twice in the roster");
        }
        if self.party_of(initiator).is_none() {
            return Err("the initiator is not in the roster");
        }
        if self.party_of(me).is_none() {
            return Err("this node is not in the roster");
        }
        Ok(())
    }
}

/// The session id: the proposal digest and every party's nonce, in roster order.
pub fn session_id(digest: &[u8; 32], nonces: &[[u8; 32]]) -> SessionId {
    let mut parts: Vec<&[u8]> = Vec::with_capacity(nonces.len() + 1);
    parts.push(digest);
    parts.extend(nonces.iter().map(|n| n.as_slice()));
    transcript_hash("tessera/p2p/v1/session-id", &parts)
}

/// An identity signature.
pub type Signature = [u8; SIGNATURE_LEN];

/// Purpose of a member's signature over its acceptance.
const ACCEPT: &str = "p2p/accept";
/// Purpose of the initiator's signature over its start.
const START: &str = "p2p/start";

/// The identity key a PeerId names (an Ed25519 one), if any.
fn key_of(peer: &PeerId) -> Option<IdentityKey> {
    IdentityKey::from_peer_id_bytes(&peer.to_bytes()).ok()
}

fn acceptance_message(digest: &[u8; 32], nonce: &[u8; 32]) -> [u8; 64] {
    let mut m = [0u8; 64];
    m[..32].copy_from_slice(digest);
    m[32..].copy_from_slice(nonce);
    m
}

/// A member's signature accepting the proposal `digest` with its `nonce`.
pub fn sign_acceptance(
    signer: &dyn IdentitySigner,
    digest: &[u8; 32],
    nonce: &[u8; 32],
) -> Signature {
    signer.sign(ACCEPT, &acceptance_message(digest, nonce))
}

/// Whether `signature` is `peer`'s acceptance of the proposal `digest` with `nonce`.
pub fn acceptance_verifies(
    peer: &PeerId,
    digest: &[u8; 32],
    nonce: &[u8; 32],
    signature: &Signature,
) -> bool {
    key_of(peer).is_some_and(|k| k.verify(ACCEPT, &acceptance_message(digest, nonce), signature))
}

/// The initiator's start of an accepted proposal: every party's nonce and signed acceptance
/// in roster order, signed by the initiator (design §4). Any member may pass it on: it is the
/// initiator's signature, not the sender, that makes it authentic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Start {
    /// The proposal digest.
    pub digest: [u8; 32],
    /// Every party's nonce, in roster order.
    pub nonces: Vec<[u8; 32]>,
    /// Every party's acceptance signature over the digest and its nonce, in roster order.
    pub acceptances: Vec<Signature>,
    /// The initiator's signature over the digest, the session id and the acceptances.
    pub signature: Signature,
}

/// A start in brief, which members confirm to each other: the initiator's signed word that it
/// started `session` for the proposal `digest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// The proposal digest.
    pub digest: [u8; 32],
    /// The session id the start names.
    pub session: SessionId,
    /// The hash of the start's acceptances.
    pub acceptances: [u8; 32],
    /// The initiator's signature.
    pub signature: Signature,
}

/// What is wrong with a start a member received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StartFault {
    /// Not the initiator's signed start: the sender's doing.
    Unsigned(&'static str),
    /// Signed by the initiator but false (a nonce or acceptance that is not this member's or
    /// not the member's it names): proof against the initiator.
    Signed(String),
}

impl Start {
    /// The initiator's start, signed by `signer`.
    pub fn new(
        signer: &dyn IdentitySigner,
        digest: [u8; 32],
        nonces: Vec<[u8; 32]>,
        acceptances: Vec<Signature>,
    ) -> Self {
        let mut start = Self {
            digest,
            nonces,
            acceptances,
            signature: [0; SIGNATURE_LEN],
        };
        start.signature = signer.sign(START, &start.stamp().message());
        start
    }

    /// The session id it names.
    pub fn session(&self) -> SessionId {
        session_id(&self.digest, &self.nonces)
    }

    /// Its stamp.
    pub fn stamp(&self) -> Stamp {
        let parts: Vec<&[u8]> = self.acceptances.iter().map(|a| a.as_slice()).collect();
        Stamp {
            digest: self.digest,
            session: self.session(),
            acceptances: transcript_hash("tessera/p2p/v1/acceptances", &parts),
            signature: self.signature,
        }
    }

    /// Checks the start of `proposal` (whose initiator is `initiator`) at party `me`, whose
    /// own nonce is `mine`, and returns its session id.
    pub(crate) fn check(
        &self,
        proposal: &Proposal,
        initiator: &PeerId,
        me: PartyIndex,
        mine: &[u8; 32],
    ) -> Result<SessionId, StartFault> {
        let roster = &proposal.draft.roster;
        if self.nonces.len() != roster.len() || self.acceptances.len() != roster.len() {
            return Err(StartFault::Unsigned("the start does not fit the roster"));
        }
        let stamp = self.stamp();
        if !stamp.verifies(initiator) {
            return Err(StartFault::Unsigned(
                "the start is not signed by the initiator",
            ));
        }
        let me = usize::from(me);
        if self.nonces.get(me) != Some(mine) {
            return Err(StartFault::Signed(
                "the signed start changes this node's nonce".into(),
            ));
        }
        if proposal
            .party_of(initiator)
            .map(usize::from)
            .and_then(|i| self.nonces.get(i))
            != Some(&proposal.nonce)
        {
            return Err(StartFault::Signed(
                "the signed start changes the initiator's nonce".into(),
            ));
        }
        // Every index is below the roster's length, checked above to be both lists' length.
        let forged = (0..roster.len()).find(|i| {
            *i != me
                && !acceptance_verifies(
                    &roster[*i],
                    &self.digest,
                    &self.nonces[*i],
                    &self.acceptances[*i],
                )
        });
        if let Some(i) = forged {
            return Err(StartFault::Signed(format!(
                "the signed start carries a nonce party {i} did not sign"
            )));
        }
        Ok(stamp.session)
    }
}

impl Stamp {
    fn message(&self) -> [u8; 96] {
        let mut m = [0u8; 96];
        m[..32].copy_from_slice(&self.digest);
        m[32..64].copy_from_slice(&self.session);
        m[64..].copy_from_slice(&self.acceptances);
        m
    }

    /// Whether `initiator` signed it.
    pub fn verifies(&self, initiator: &PeerId) -> bool {
        key_of(initiator).is_some_and(|k| k.verify(START, &self.message(), &self.signature))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::Ed25519Identity;

    fn signer(seed: u8) -> Ed25519Identity {
        Ed25519Identity::from_seed(&[seed; 32])
    }

    fn peer(seed: u8) -> PeerId {
        // An Ed25519 identity's PeerId bytes are well formed.
        PeerId::from_bytes(&signer(seed).identity().peer_id_bytes()).unwrap()
    }

    fn proposal() -> Proposal {
        Proposal {
            draft: Draft {
                kind: Kind::Sign,
                params: b"params".to_vec(),
                key_id: [7; 32],
                epoch: 3,
                roster: vec![peer(1), peer(2), peer(3)],
            },
            nonce: [9; 32],
        }
    }

    /// The start party 0 of `proposal()` signs with nonces 9, 2, 3.
    fn start(p: &Proposal) -> Start {
        let d = p.digest();
        let nonces = vec![p.nonce, [2; 32], [3; 32]];
        let acceptances = (0..3)
            .map(|i| sign_acceptance(&signer(i as u8 + 1), &d, &nonces[i]))
            .collect();
        Start::new(&signer(1), d, nonces, acceptances)
    }

    #[test]
    fn a_signed_start_checks_and_every_change_is_attributed() {
        let p = proposal();
        let s = start(&p);
        let initiator = p.draft.roster[0];
        assert_eq!(s.check(&p, &initiator, 2, &[3; 32]), Ok(s.session()));
        assert!(s.stamp().verifies(&initiator));
        assert!(!s.stamp().verifies(&p.draft.roster[1]));
        // Someone other than the initiator changes it: unsigned, nothing against the initiator.
        let mut edited = s.clone();
        edited.nonces[1] = [5; 32];
        assert!(matches!(
            edited.check(&p, &initiator, 2, &[3; 32]),
            Err(StartFault::Unsigned(_))
        ));
        let mut short = s.clone();
        short.acceptances.pop();
        assert!(matches!(
            short.check(&p, &initiator, 2, &[3; 32]),
            Err(StartFault::Unsigned(_))
        ));
        // The initiator signs a wrong nonce for this node, or for party 1 (whose acceptance
        // then does not verify): proof against the initiator.
        assert!(matches!(
            s.check(&p, &initiator, 2, &[4; 32]),
            Err(StartFault::Signed(_))
        ));
        let d = p.digest();
        let mut forged = s.clone();
        forged.nonces[1] = [5; 32];
        let forged = Start::new(&signer(1), d, forged.nonces, forged.acceptances);
        assert!(matches!(
            forged.check(&p, &initiator, 2, &[3; 32]),
            Err(StartFault::Signed(_))
        ));
        // Two signed starts of one proposal with different session ids: both verify.
        let mut nonces = s.nonces.clone();
        nonces[1] = [6; 32];
        let acceptances = vec![
            s.acceptances[0],
            sign_acceptance(&signer(2), &d, &nonces[1]),
            s.acceptances[2],
        ];
        let other = Start::new(&signer(1), d, nonces, acceptances);
        assert!(other.stamp().verifies(&initiator));
        assert_ne!(other.session(), s.session());
    }

    #[test]
    fn acceptances_bind_digest_nonce_and_signer() {
        let sig = sign_acceptance(&signer(2), &[1; 32], &[2; 32]);
        assert!(acceptance_verifies(&peer(2), &[1; 32], &[2; 32], &sig));
        assert!(!acceptance_verifies(&peer(3), &[1; 32], &[2; 32], &sig));
        assert!(!acceptance_verifies(&peer(2), &[0; 32], &[2; 32], &sig));
        assert!(!acceptance_verifies(&peer(2), &[1; 32], &[0; 32], &sig));
        assert!(!acceptance_verifies(
            &PeerId::random(),
            &[1; 32],
            &[2; 32],
            &sig
        ));
    }

    #[test]
    fn encoding_round_trips_and_rejects_trailing_or_short_input() {
        let p = proposal();
        let bytes = p.encode();
        assert_eq!(Proposal::decode(&bytes).unwrap(), p);
        let mut long = bytes.clone();
        long.push(0);
        assert!(Proposal::decode(&long).is_err());
        for cut in 0..bytes.len() {
            assert!(Proposal::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn session_id_depends_on_every_nonce_and_their_order() {
        let d = proposal().digest();
        let a = session_id(&d, &[[1; 32], [2; 32], [3; 32]]);
        assert_ne!(a, session_id(&d, &[[1; 32], [2; 32], [4; 32]]));
        assert_ne!(a, session_id(&d, &[[2; 32], [1; 32], [3; 32]]));
        assert_ne!(a, session_id(&[0; 32], &[[1; 32], [2; 32], [3; 32]]));
    }

    #[test]
    fn roster_checks() {
        let p = proposal();
        let (a, outsider) = (p.draft.roster[0], peer(4));
        assert!(p.check(&a, &p.draft.roster[2]).is_ok());
        assert!(p.check(&outsider, &a).is_err());
        assert!(p.check(&a, &outsider).is_err());
        let mut dup = p.clone();
        dup.draft.roster[1] = a;
        assert!(dup.check(&a, &a).is_err());
        let mut not_ed25519 = p.clone();
        not_ed25519.draft.roster[1] = PeerId::random();
        assert!(not_ed25519.check(&a, &a).is_err());
    }
}
