//! The bounds a node keeps on what peers can make it hold (design §4): message size, sessions,
//! messages per peer, early buffering, proposal rate, and the timings of acknowledgements,
//! retries and round deadlines.

use std::time::Duration;

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
            max_messages_per_peer: 32,
            max_early: 4096,
            max_early_bytes: 16 << 20,
            max_early_per_peer: 64,
            // A keygen's certification at 1024 parties: 2 messages from each other party.
            max_held: 4096,
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
