//! Per-session intake: duplicates, conflicting repeats, and the per-peer bound (design §4).
//!
//! Every protocol sends a party at most one message per (kind, round). An identical repeat of
//! (kind, round, sender), a retry whose acknowledgement was lost, is a duplicate and is not
//! delivered again. A *different* repeat is kept as evidence of equivocation and not
//! delivered: the protocol already holds the first one, and its echo check or signatures
//! decide what the conflict proves.

use std::collections::{HashMap, HashSet};

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
    }
}
