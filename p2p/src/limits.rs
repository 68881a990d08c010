//! The bounds a node keeps on what peers can make it hold (design §4): message size, sessions,
//! messages per peer, byte budgets, early buffering, proposal rate, and the timings of
//! acknowledgements, retries and round deadlines.
//!
//! # The memory bound
//!
//! What peers' traffic makes a node hold, outside the protocols themselves (which keep only
//! what their own decoders accept: one message per sender, kind and round):
//!
//! - **payloads**: every message held for a session (queued for its protocol, held for a later
//!   protocol of it, kept as evidence of a conflicting repeat, or held before the session
//!   starts) is charged its length plus 128 bytes, and refused (answered
//!   [`Response::Later`](crate::Response::Later), so an honest sender retries) past any of
//!   `max_peer_bytes` for its sender, `max_session_bytes` for its session (messages held
//!   before the start count against `max_early_bytes` instead) or `max_held_bytes` for the
//!   node. [`Node::held_bytes`](crate::Node::held_bytes) reports the total;
//! - **sessions**: each holds its proposal (under `max_message`) and, for a member, its start
//!   and at most two copies of it being passed on, or before the start the members'
//!   confirmations (each under [`MAX_START`](crate::MAX_START)); at most `max_sessions`, at
//!   most `max_sessions_per_peer` of them proposed by one peer;
//! - **frames in flight**: each of a peer's connections (at most [`CONNECTIONS_PER_PEER`])
//!   reads at most `max_streams` frames of at most `max_message` bytes at once.
//!
//! So one peer makes a node hold at most [`Limits::peer_memory_bound`] =
//! `max_peer_bytes + max_sessions_per_peer × (max_message + 3 × MAX_START) +
//! CONNECTIONS_PER_PEER × max_streams × max_message`, about 53 MiB with the defaults
//! (4 MiB + 32 × 544 KiB + 32 MiB), and all peers together at most [`Limits::memory_bound`] =
//! `max_held_bytes + max_sessions × (max_message + 3 × MAX_START) + peers ×
//! CONNECTIONS_PER_PEER × max_streams × max_message`, about 200 MiB and 32 MiB per connected
//! peer with the defaults. Beyond these come fixed sizes: the per-session message bookkeeping
//! (`max_messages_per_peer` entries of under 100 bytes per member), the ids of recently ended
//! and accepted sessions, the last dropped messages, and what this node's own sessions send.

use std::time::Duration;

/// Connections a node keeps with one peer.
pub const CONNECTIONS_PER_PEER: u32 = 2;

/// Every bound and timing of a node. [`Limits::default`] suits committees of up to a few
/// hundred devices on a LAN or the internet.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest frame (request or response) in bytes; a larger one is dropped unread and the
    /// peer is named in the log.
    pub max_message: usize,
    /// Sessions a node holds at once: accepted proposals waiting to start plus running
    /// sessions.
    pub max_sessions: usize,
    /// Accepted proposals from one initiator waiting to start.
    pub max_pending_per_peer: usize,
    /// Sessions one initiator's proposals hold here at once, waiting to start or running.
    pub max_sessions_per_peer: usize,
    /// Messages one peer may deliver into one session (every protocol sends at most one per
    /// round and kind; keygen and its certification take 4 rounds, a reshare 9).
    pub max_messages_per_peer: usize,
    /// Messages held, across all sessions, for sessions a node accepted but has not yet seen
    /// start; only round 1 is held, for at most `proposal_ttl`.
    pub max_early: usize,
    /// Bytes of such early messages held, across all sessions.
    pub max_early_bytes: usize,
    /// Early messages held from one peer.
    pub max_early_per_peer: usize,
    /// Messages of a later protocol of the same session (for example the key certification
    /// that follows a DKG) held while the current protocol runs.
    pub max_held: usize,
    /// Messages queued for one session's protocol (its event channel holds as many, and a
    /// few more for the node's notices).
    pub max_queued: usize,
    /// Bytes of messages held from one peer, across sessions (see the memory bound above).
    pub max_peer_bytes: usize,
    /// Bytes of messages held for one session, from all its members.
    pub max_session_bytes: usize,
    /// Bytes of messages held from all peers.
    pub max_held_bytes: usize,
    /// Proposals a peer may make per minute; more are refused.
    pub proposals_per_minute: u32,
    /// How long an accepted proposal waits for its start before it is forgotten.
    pub proposal_ttl: Duration,
    /// How long a party waits for the next message of a session before the session aborts,
    /// naming who it has not heard from.
    pub round_timeout: Duration,
    /// How long one request waits for its acknowledgement.
    pub request_timeout: Duration,
    /// Attempts per message before the recipient is reported unreachable.
    pub attempts: u32,
    /// Wait before the first retry; doubled after each attempt.
    pub first_backoff: Duration,
    /// A connection with no open stream closes after this.
    pub idle_timeout: Duration,
    /// Concurrent streams per connection (each may hold one frame of up to `max_message`).
    pub max_streams: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // The largest message tessera sends, a reshare deal at 1024 parties, is ~70 KiB.
            max_message: 256 << 10,
            max_sessions: 256,
            max_pending_per_peer: 16,
            max_sessions_per_peer: 32,
            max_messages_per_peer: 32,
            max_early: 4096,
            max_early_bytes: 16 << 20,
            max_early_per_peer: 64,
            // A keygen's certification at 1024 parties: 2 messages from each other party.
            max_held: 4096,
            max_queued: 4096,
            // Sixteen frames of the largest size, or a 1024-party reshare's deals many times.
            max_peer_bytes: 4 << 20,
            max_session_bytes: 16 << 20,
            max_held_bytes: 64 << 20,
            proposals_per_minute: 600,
            proposal_ttl: Duration::from_secs(60),
            round_timeout: Duration::from_secs(30),
            request_timeout: Duration::from_secs(10),
            attempts: 6,
            first_backoff: Duration::from_millis(50),
            idle_timeout: Duration::from_secs(120),
            max_streams: 64,
        }
    }
}

impl Limits {
    /// The most one peer's traffic makes a node hold, in bytes (see the module docs).
    pub fn peer_memory_bound(&self) -> usize {
        self.max_peer_bytes
            .saturating_add(self.sessions_bytes(self.max_sessions_per_peer))
            .saturating_add(self.frames_in_flight())
    }

    /// The most the traffic of `peers` connected peers makes a node hold, in bytes.
    pub fn memory_bound(&self, peers: usize) -> usize {
        self.max_held_bytes
            .saturating_add(self.sessions_bytes(self.max_sessions))
            .saturating_add(self.frames_in_flight().saturating_mul(peers))
    }

    /// A proposal, a start and two copies of it being passed on, for each of `sessions`.
    fn sessions_bytes(&self, sessions: usize) -> usize {
        sessions.saturating_mul(self.max_message.saturating_add(3 * crate::MAX_START))
    }

    /// Frames one peer's connections read at once.
    fn frames_in_flight(&self) -> usize {
        (CONNECTIONS_PER_PEER as usize)
            .saturating_mul(self.max_streams)
            .saturating_mul(self.max_message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_bounds_of_the_defaults() {
        let l = Limits::default();
        let session = (256 << 10) + 3 * 98_403;
        assert_eq!(crate::MAX_START, 98_403);
        assert_eq!(l.peer_memory_bound(), (4 << 20) + 32 * session + (32 << 20));
        assert_eq!(l.peer_memory_bound() >> 20, 53);
        assert_eq!(l.memory_bound(0), (64 << 20) + 256 * session);
        assert_eq!(l.memory_bound(0) >> 20, 200);
        assert_eq!(l.memory_bound(1) - l.memory_bound(0), 32 << 20);
    }
}
