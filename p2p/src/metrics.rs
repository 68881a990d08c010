//! What the session layer counts for Prometheus (design §6.6): sessions started, completed
//! and failed (by protocol, and by reason), how long each peer's message of each round took
//! to arrive, and the faults found in peers' messages. A node given [`Metrics`]
//! ([`NodeConfig::metrics`](crate::NodeConfig::metrics)) records them in the one driver, so
//! every protocol is counted the same way; the application registers them and serves them.

use std::sync::Arc;

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{
        counter::Counter,
        family::Family,
        histogram::{exponential_buckets, Histogram},
    },
    registry::Registry,
};

/// A protocol.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProtocolLabel {
    /// `keygen`, `certify`, `sign`, `reshare` or `repair`.
    pub protocol: String,
}

/// A protocol and why a session of it failed.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FailureLabel {
    /// The protocol.
    pub protocol: String,
    /// `fault` (a peer's message failed a check), `timeout`, `aborted`, `unreachable`,
    /// `not_agreed`, `offence`, `stopped` or `mismatch`.
    pub reason: String,
}

/// A round of a protocol, and the peer whose message it is.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RoundLabel {
    /// The protocol.
    pub protocol: String,
    /// The round number.
    pub round: String,
    /// The sender's PeerId.
    pub peer: String,
}

/// A peer and what was wrong with its message.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FaultLabel {
    /// The peer's PeerId.
    pub peer: String,
    /// The fault (`BadShare`, `BadProof`, `Encoding`, …).
    pub fault: String,
}

/// Round latencies: 1 ms to about 33 s.
fn round_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

/// The session layer's metrics; cheap to clone (the families share their values).
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Sessions whose protocol started here.
    pub started: Family<ProtocolLabel, Counter>,
    /// Sessions whose protocol produced its output here.
    pub completed: Family<ProtocolLabel, Counter>,
    /// Sessions that failed here, by reason.
    pub failed: Family<FailureLabel, Counter>,
    /// Seconds from the start of a round here (the protocol's start for round 1, else the
    /// first message of that round from anyone) to each peer's message of that round.
    pub round_seconds: Family<RoundLabel, Histogram, fn() -> Histogram>,
    /// Peers' messages that failed a check (shares, proofs, signatures, encodings, frames).
    pub faults: Family<FaultLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            started: Family::default(),
            completed: Family::default(),
            failed: Family::default(),
            round_seconds: Family::new_with_constructor(round_histogram),
            faults: Family::default(),
        }
    }
}

impl Metrics {
    /// New metrics, registered in `registry` under `tessera_…`.
    pub fn registered(registry: &mut Registry) -> Arc<Self> {
        let m = Self::default();
        registry.register(
            "tessera_sessions_started",
            "Sessions whose protocol started",
            m.started.clone(),
        );
        registry.register(
            "tessera_sessions_completed",
            "Sessions whose protocol produced its output",
            m.completed.clone(),
        );
        registry.register(
            "tessera_sessions_failed",
            "Sessions that failed, by reason",
            m.failed.clone(),
        );
        registry.register(
            "tessera_round_seconds",
            "Seconds from the start of a round to each peer's message of it",
            m.round_seconds.clone(),
        );
        registry.register(
            "tessera_peer_faults",
            "Peers' messages that failed a check, by peer and fault",
            m.faults.clone(),
        );
        Arc::new(m)
    }

    pub(crate) fn protocol(kind: tessera_core::protocol::Kind) -> ProtocolLabel {
        ProtocolLabel {
            protocol: kind.name().to_string(),
        }
    }
}
