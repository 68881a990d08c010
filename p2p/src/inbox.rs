//! Per-session intake: duplicates, conflicting repeats, the per-peer message bound, and the
//! byte budgets (design §4).
//!
//! Every protocol sends a party at most one message per (kind, round). An identical repeat of
//! (kind, round, sender), a retry whose acknowledgement was lost, is a duplicate and is not
//! delivered again. A *different* repeat is kept as evidence of equivocation and not
//! delivered: the protocol already holds the first one, and its echo check or signatures
//! decide what the conflict proves.
//!
//! Every payload a node holds for a peer (queued for a session, held for a later protocol of
//! it, kept as evidence, or held before its session starts) carries a [`Charge`] against
//! meters of the node, of the peer and of the session, taken only if no budget would be
//! passed and given back when the payload is dropped.

use std::{
    collections::{HashMap, HashSet},
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
};

use sha2::{Digest, Sha256};
use tessera_core::{protocol::Header, PartyIndex};
use zeroize::Zeroizing;

/// Two different messages a peer sent for one (kind, round).
#[derive(Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The sender's party index.
    pub from: PartyIndex,
    /// The header both messages carry.
    pub header: Header,
    /// SHA-256 of the message delivered first.
    pub first: [u8; 32],
    /// The later, different message.
    pub second: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for Conflict {
    // The second message may be a point-to-point one carrying a secret share: print its size.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conflict")
            .field("from", &self.from)
            .field("header", &self.header)
            .field("second_len", &self.second.len())
            .finish()
    }
}

/// What the inbox makes of a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Offer {
    /// New: deliver it.
    New,
    /// An identical repeat.
    Duplicate,
    /// The first different repeat of a (kind, round): evidence, not delivered. Later ones
    /// are reported as [`Offer::Duplicate`]: one is proof enough, and a peer cannot make the
    /// node keep more.
    Conflict(Conflict),
    /// The sender is over its per-session bound.
    OverLimit,
}

/// The messages one session has taken.
#[derive(Debug, Default)]
pub struct Inbox {
    taken: HashMap<(PartyIndex, u8, u8), [u8; 32]>,
    conflicted: HashSet<(PartyIndex, u8, u8)>,
    per_sender: HashMap<PartyIndex, usize>,
}

impl Inbox {
    /// Classifies `payload` (whose header is `header`) from party `from`; at most
    /// `max_per_sender` messages are taken from one party.
    pub fn offer(
        &mut self,
        from: PartyIndex,
        header: &Header,
        payload: &[u8],
        max_per_sender: usize,
    ) -> Offer {
        let digest: [u8; 32] = Sha256::digest(payload).into();
        let key = (from, header.kind as u8, header.round);
        if let Some(first) = self.taken.get(&key) {
            return if *first == digest || !self.conflicted.insert(key) {
                Offer::Duplicate
            } else {
                Offer::Conflict(Conflict {
                    from,
                    header: *header,
                    first: *first,
                    second: Zeroizing::new(payload.to_vec()),
                })
            };
        }
        let count = self.per_sender.entry(from).or_default();
        if *count >= max_per_sender {
            return Offer::OverLimit;
        }
        *count += 1;
        self.taken.insert(key, digest);
        Offer::New
    }

    /// Forgets a message [`Inbox::offer`] took as new but the node could not hold: its
    /// sender sends it again later.
    pub fn forget(&mut self, from: PartyIndex, header: &Header) {
        if self
            .taken
            .remove(&(from, header.kind as u8, header.round))
            .is_some()
        {
            if let Some(count) = self.per_sender.get_mut(&from) {
                *count = count.saturating_sub(1);
            }
        }
    }
}

/// Bytes a node also counts for each message it holds: its queue slot and bookkeeping.
pub(crate) const PER_MESSAGE: usize = 128;

/// Bytes held, counted by the node's task and given back by whoever drops a [`Charge`].
#[derive(Debug, Clone, Default)]
pub(crate) struct Meter(Arc<AtomicUsize>);

impl Meter {
    pub(crate) fn get(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }
}

/// Bytes charged to some meters for as long as the charge lives.
#[derive(Debug)]
pub(crate) struct Charge {
    meters: Vec<Meter>,
    bytes: usize,
}

impl Charge {
    /// Charges `bytes` to every meter, or to none if one would pass its limit. Only the
    /// node's task charges, and others only give bytes back, so a limit checked here holds.
    pub(crate) fn take(bytes: usize, budgets: &[(&Meter, usize)]) -> Option<Self> {
        if budgets
            .iter()
            .any(|(m, limit)| m.get().saturating_add(bytes) > *limit)
        {
            return None;
        }
        for (m, _) in budgets {
            m.0.fetch_add(bytes, Ordering::AcqRel);
        }
        let meters = budgets.iter().map(|(m, _)| (*m).clone()).collect();
        Some(Self { meters, bytes })
    }

    /// A charge of nothing.
    pub(crate) fn none() -> Self {
        Self {
            meters: Vec::new(),
            bytes: 0,
        }
    }

    /// Moves the charge from meter `from` (if it is one of them) to `to`, whatever `to`
    /// holds: an early message joining its session, already within the other budgets.
    pub(crate) fn moved(mut self, from: &Meter, to: &Meter) -> Self {
        if let Some(m) = self.meters.iter_mut().find(|m| Arc::ptr_eq(&m.0, &from.0)) {
            m.0.fetch_sub(self.bytes, Ordering::AcqRel);
            to.0.fetch_add(self.bytes, Ordering::AcqRel);
            *m = to.clone();
        }
        self
    }
}

impl Drop for Charge {
    fn drop(&mut self) {
        for m in &self.meters {
            m.0.fetch_sub(self.bytes, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::protocol::Kind;

    fn header(round: u8) -> Header {
        Header {
            kind: Kind::Sign,
            session: [1; 32],
            round,
        }
    }

    #[test]
    fn duplicates_conflicts_and_the_bound() {
        let mut inbox = Inbox::default();
        assert_eq!(inbox.offer(1, &header(1), b"a", 2), Offer::New);
        assert_eq!(inbox.offer(1, &header(1), b"a", 2), Offer::Duplicate);
        let Offer::Conflict(c) = inbox.offer(1, &header(1), b"b", 2) else {
            panic!("a different repeat is a conflict")
        };
        assert_eq!(
            (c.from, c.header.round, c.second.as_slice()),
            (1, 1, &b"b"[..])
        );
        assert_eq!(c.first, <[u8; 32]>::from(Sha256::digest(b"a")));
        // One conflict per (sender, kind, round) is kept; more are not.
        assert_eq!(inbox.offer(1, &header(1), b"c", 2), Offer::Duplicate);
        // Another sender, same round: independent.
        assert_eq!(inbox.offer(2, &header(1), b"b", 2), Offer::New);
        assert_eq!(inbox.offer(1, &header(2), b"c", 2), Offer::New);
        assert_eq!(inbox.offer(1, &header(3), b"d", 2), Offer::OverLimit);
        // A message the node could not hold is forgotten: offered again, it is new.
        inbox.forget(1, &header(2));
        assert_eq!(inbox.offer(1, &header(3), b"d", 2), Offer::New);
    }

    #[test]
    fn charges_stay_within_every_budget_and_are_given_back() {
        let (node, peer, session, other) = (
            Meter::default(),
            Meter::default(),
            Meter::default(),
            Meter::default(),
        );
        let a = Charge::take(60, &[(&node, 100), (&peer, 80)]).unwrap();
        assert!(Charge::take(30, &[(&node, 100), (&peer, 80)]).is_none());
        assert_eq!(
            (node.get(), peer.get()),
            (60, 60),
            "a refused charge takes nothing"
        );
        let b = Charge::take(20, &[(&node, 100), (&peer, 80), (&session, 20)]).unwrap();
        assert_eq!((node.get(), peer.get(), session.get()), (80, 80, 20));
        let b = b.moved(&session, &other);
        assert_eq!((session.get(), other.get()), (0, 20));
        drop(a);
        assert_eq!((node.get(), peer.get()), (20, 20));
        drop(b);
        assert_eq!((node.get(), peer.get(), other.get()), (0, 0, 0));
    }
}
