//! Whether a node takes part in a proposed session: the caller's policy, and the per-peer
//! proposal rate limit (design §4, §6).

use std::{collections::HashMap, sync::Arc, time::Instant};

use libp2p::PeerId;

use crate::proposal::Proposal;

/// A policy's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Take part.
    Accept,
    /// Do not, with the reason sent back to the initiator.
    Refuse(String),
}

/// The caller's policy: given the (authenticated) initiator and the proposal, accept or
/// refuse. It runs on the node's event loop, so it must answer at once; an approval that needs
/// a person refuses now and lets the initiator propose again once approved.
pub type Policy = Arc<dyn Fn(&PeerId, &Proposal) -> Decision + Send + Sync>;

/// The application's answer to a peer's question outside any session ([`Node::ask`](crate::Node::ask)):
/// `None` if it has none. It runs on the node's event loop, so it must answer at once (from
/// memory). Questions are rate-limited per peer like proposals, and only allowed peers ask.
pub type Answerer = Arc<dyn Fn(&PeerId, &[u8]) -> Option<Vec<u8>> + Send + Sync>;

/// A policy that accepts every well-formed proposal from a committee peer (tests and the demo).
pub fn accept_all() -> Policy {
    Arc::new(|_, _| Decision::Accept)
}

/// A token bucket per peer: `per_minute` proposals a minute, bursts up to the same number.
/// Only allowed peers can connect, so the map is bounded by the allow-list.
#[derive(Debug)]
pub(crate) struct RateLimit {
    per_minute: u32,
    buckets: HashMap<PeerId, (f64, Instant)>,
}

impl RateLimit {
    pub(crate) fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: HashMap::new(),
        }
    }

    /// Takes a token for `peer` at `now`; false if it has none left.
    pub(crate) fn take(&mut self, peer: PeerId, now: Instant) -> bool {
        let cap = f64::from(self.per_minute);
        let (tokens, last) = self.buckets.entry(peer).or_insert((cap, now));
        let refill = now.saturating_duration_since(*last).as_secs_f64() / 60.0 * cap;
        *tokens = (*tokens + refill).min(cap);
        *last = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// A minute, for tests of the refill.
#[cfg(test)]
const MINUTE: std::time::Duration = std::time::Duration::from_secs(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_empties_and_refills() {
        let mut rl = RateLimit::new(3);
        let (p, q, t0) = (PeerId::random(), PeerId::random(), Instant::now());
        assert!((0..3).all(|_| rl.take(p, t0)));
        assert!(!rl.take(p, t0), "fourth in the same instant");
        assert!(rl.take(q, t0), "buckets are per peer");
        assert!(rl.take(p, t0 + MINUTE / 3), "one token back after 20 s");
        assert!(!rl.take(p, t0 + MINUTE / 3));
    }
}
