//! Session proposals and session ids (design §4).
//!
//! An initiator proposes {protocol kind and parameters, key id and epoch, roster, its nonce};
//! each roster member's policy accepts (adding a fresh nonce of its own) or refuses. The
//! session id hashes the proposal and every member's nonce in roster order, so no party can
//! steer it and a replayed start names a session id that is already spent.

use libp2p::PeerId;
use tessera_core::{hash::transcript_hash, protocol::Kind, SessionId};

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

const KINDS: [Kind; 4] = [Kind::Keygen, Kind::Certify, Kind::Sign, Kind::Reshare];

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

    /// Checks the roster: 2 to [`MAX_ROSTER`] distinct peers, `initiator` and `me` among them.
    pub fn check(&self, initiator: &PeerId, me: &PeerId) -> Result<(), &'static str> {
        let roster = &self.draft.roster;
        if roster.len() < 2 || roster.len() > MAX_ROSTER {
            return Err("a roster has 2 to 1024 parties");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal() -> Proposal {
        Proposal {
            draft: Draft {
                kind: Kind::Sign,
                params: b"params".to_vec(),
                key_id: [7; 32],
                epoch: 3,
                roster: vec![PeerId::random(), PeerId::random(), PeerId::random()],
            },
            nonce: [9; 32],
        }
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
        let (a, outsider) = (p.draft.roster[0], PeerId::random());
        assert!(p.check(&a, &p.draft.roster[2]).is_ok());
        assert!(p.check(&outsider, &a).is_err());
        assert!(p.check(&a, &outsider).is_err());
        let mut dup = p.clone();
        dup.draft.roster[1] = a;
        assert!(dup.check(&a, &a).is_err());
    }
}
