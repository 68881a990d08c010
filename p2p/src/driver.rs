//! The one driver: runs any sans-IO [`Protocol`] over a [`Session`] (design §1, §4).
//!
//! Keygen (the DKG and then its certification), signing and resharing all go through
//! [`run`] unchanged. The driver sends the protocol's messages, feeds it the session's
//! messages of its kind (holding those of a later protocol of the same session), and stops at
//! the protocol's output or error, at a member's abort or unreachable recipient, or when no
//! message comes within the round deadline, naming the peers it has not heard from.

use std::collections::VecDeque;

use libp2p::PeerId;
use tessera_core::{protocol::Header, Blame, Evidence, Fault, PartyIndex, Protocol, Step};

use crate::{
    metrics::{FailureLabel, FaultLabel, Metrics, RoundLabel},
    session::{Delivered, Event, Session},
};

/// A peer a failed run names, what it did, and how strong the case against it is (design §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blamed {
    /// The peer.
    pub peer: PeerId,
    /// What it did, as this device's protocol found it; `None` for a peer that was silent or
    /// unreachable here, or that a member named when it aborted.
    pub fault: Option<Fault>,
    /// How strong the case is.
    pub evidence: Strength,
}

/// How strong the case against a blamed peer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    /// Proven by the peer's own signed messages, which this device checked itself.
    Proven,
    /// The word of one device (this one, or the member that aborted): what it received
    /// privately, saw on its link, or did not receive in time.
    AccusedBy(PeerId),
}

impl std::fmt::Display for Blamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.peer)?;
        if let Some(fault) = &self.fault {
            write!(f, " {fault}")?;
        }
        match self.evidence {
            Strength::Proven => write!(f, " (proven)"),
            Strength::AccusedBy(by) => write!(f, " (accused by {by})"),
        }
    }
}

/// Why a run did not produce the protocol's output.
#[derive(Debug, thiserror::Error)]
pub enum RunError<E: std::error::Error> {
    /// The protocol was built for another session, roster position or roster size.
    #[error("the protocol does not fit the session: {0}")]
    Mismatch(&'static str),
    /// The protocol failed; its error names the culprits by party index.
    #[error("{0}")]
    Protocol(E),
    /// No message came within the round deadline. `missing` are the members this party heard
    /// least from: an accusation on local observation only, never proof (in a reshare, a
    /// party that only deals or only receives is silent in some rounds by design).
    #[error("no message within {secs} s in round {round}; not heard from: {}", peers(.missing))]
    Timeout {
        /// The last round this party heard from anyone.
        round: u8,
        /// The peers it was still waiting for.
        missing: Vec<PeerId>,
        /// The deadline in seconds.
        secs: u64,
    },
    /// A message could not be delivered.
    #[error("{peer}: {reason}")]
    Unreachable {
        /// The recipient.
        peer: PeerId,
        /// Why.
        reason: String,
    },
    /// The members did not agree on the session before its protocol started (design §4): the
    /// initiator signed two different starts or a false one (proof: its signatures), a member
    /// lied about its start or denied its own signed acceptance, or a member did not confirm
    /// within the round deadline (local observation only, like [`RunError::Timeout`]).
    #[error("the session did not start: {reason}")]
    NotAgreed {
        /// The peers that caused it.
        blamed: Vec<PeerId>,
        /// Why.
        reason: String,
    },
    /// A member sent this node bytes no honest node sends, outside any session (a frame over
    /// the size limit, a request that does not decode): every session with it fails.
    #[error("{peer} sent {fault}")]
    Offence {
        /// Who.
        peer: PeerId,
        /// What it sent.
        fault: Fault,
    },
    /// Another member aborted the session.
    #[error("{peer} aborted the session: {reason}")]
    Aborted {
        /// Who.
        peer: PeerId,
        /// Its reason.
        reason: String,
        /// The members it blames, on its word.
        named: Vec<PeerId>,
        /// Whether it aborted while it still owed this party its message of the round: an
        /// honest member that finds a fault has sent its own message of the round already,
        /// while one that aborts instead of sending is blamed for it (this party's word).
        owed: bool,
    },
    /// The node stopped.
    #[error("the node stopped")]
    NodeStopped,
}

fn peers(list: &[PeerId]) -> String {
    list.iter()
        .map(PeerId::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

impl<E: std::error::Error + Blame> RunError<E> {
    /// The peers this error blames, each with the strength of the case: the protocol's
    /// culprits (proven where their signed messages prove it), the silent and the
    /// unreachable (this device's word), those an aborting member named (its word).
    pub fn blamed(&self, session: &Session) -> Vec<Blamed> {
        let me = session.peer(session.me());
        let accused = |peers: &[PeerId], by: Option<PeerId>| -> Vec<Blamed> {
            by.map(|by| {
                peers
                    .iter()
                    .map(|p| Blamed {
                        peer: *p,
                        fault: None,
                        evidence: Strength::AccusedBy(by),
                    })
                    .collect()
            })
            .unwrap_or_default()
        };
        match self {
            RunError::Protocol(e) => e
                .culprits()
                .iter()
                .filter_map(|c| {
                    let evidence = match &c.evidence {
                        Evidence::Proven(_) => Strength::Proven,
                        Evidence::AccusedBy(by) => Strength::AccusedBy(session.peer(*by)?),
                    };
                    Some(Blamed {
                        peer: session.peer(c.party)?,
                        fault: Some(c.fault.clone()),
                        evidence,
                    })
                })
                .collect(),
            RunError::Timeout { missing, .. } => accused(missing, me),
            RunError::Unreachable { peer, .. } => accused(&[*peer], me),
            RunError::NotAgreed { blamed, .. } => accused(blamed, me),
            RunError::Aborted {
                peer, named, owed, ..
            } => {
                let mut blamed = accused(named, Some(*peer));
                if *owed {
                    blamed.extend(accused(&[*peer], me));
                }
                blamed
            }
            RunError::Offence { peer, fault } => me
                .map(|me| Blamed {
                    peer: *peer,
                    fault: Some(fault.clone()),
                    evidence: Strength::AccusedBy(me),
                })
                .into_iter()
                .collect(),
            RunError::Mismatch(_) | RunError::NodeStopped => Vec::new(),
        }
    }
}

/// Runs `protocol` over `session` until it produces its output. Its log lines carry the
/// session id, protocol, this party's index and the round reached (a `session` span), and a node with metrics
/// counts the session, its rounds and the faults found (design §6.6).
pub async fn run<P: Protocol>(
    protocol: P,
    session: &mut Session,
) -> Result<P::Output, RunError<P::Error>> {
    use tracing::Instrument;
    let kind = protocol.kind();
    if let Some(m) = session.metrics() {
        m.started.get_or_create(&Metrics::protocol(kind)).inc();
    }
    let span = tracing::info_span!(
        "session",
        id = %crate::session::hex(session.id()),
        protocol = kind.name(),
        me = session.me(),
        round = tracing::field::Empty
    );
    let result = drive(protocol, session).instrument(span).await;
    if let Some(m) = session.metrics() {
        record(m, kind, session, &result);
    }
    result
}

/// Counts a run's outcome: completed, or failed with its reason and the peers' faults.
fn record<T, E: std::error::Error + Blame>(
    m: &Metrics,
    kind: tessera_core::protocol::Kind,
    session: &Session,
    result: &Result<T, RunError<E>>,
) {
    let protocol = Metrics::protocol(kind);
    let Err(e) = result else {
        m.completed.get_or_create(&protocol).inc();
        return;
    };
    let reason = match e {
        RunError::Mismatch(_) => "mismatch",
        RunError::Protocol(_) => "fault",
        RunError::Timeout { .. } => "timeout",
        RunError::Unreachable { .. } => "unreachable",
        RunError::NotAgreed { .. } => "not_agreed",
        RunError::Offence { .. } => "offence",
        RunError::Aborted { .. } => "aborted",
        RunError::NodeStopped => "stopped",
    };
    m.failed
        .get_or_create(&FailureLabel {
            protocol: protocol.protocol,
            reason: reason.into(),
        })
        .inc();
    for b in e.blamed(session) {
        if let Some(fault) = &b.fault {
            m.faults
                .get_or_create(&FaultLabel {
                    peer: b.peer.to_string(),
                    fault: fault.name().into(),
                })
                .inc();
        }
    }
}

/// When each round began here, for the round latencies.
#[derive(Default)]
struct Rounds(std::collections::HashMap<u8, tokio::time::Instant>);

impl Rounds {
    /// Records that `from`'s message of `round` arrived now.
    fn took(
        &mut self,
        m: Option<&Metrics>,
        session: &Session,
        kind: tessera_core::protocol::Kind,
        round: u8,
        from: PartyIndex,
    ) {
        let now = tokio::time::Instant::now();
        let began = *self.0.entry(round).or_insert(now);
        if let (Some(m), Some(peer)) = (m, session.peer(from)) {
            m.round_seconds
                .get_or_create(&RoundLabel {
                    protocol: kind.name().into(),
                    round: round.to_string(),
                    peer: peer.to_string(),
                })
                .observe((now - began).as_secs_f64());
        }
        // The session span shows the furthest round taken so far.
        if self.0.keys().max() == Some(&round) {
            tracing::Span::current().record("round", round);
        }
        tracing::debug!(round, from, "message");
    }
}

async fn drive<P: Protocol>(
    mut protocol: P,
    session: &mut Session,
) -> Result<P::Output, RunError<P::Error>> {
    if protocol.session() != session.id() {
        return Err(RunError::Mismatch("session id"));
    }
    if protocol.me() != session.me() {
        return Err(RunError::Mismatch("party index"));
    }
    if usize::from(protocol.parties()) != session.roster().len() {
        return Err(RunError::Mismatch("roster size"));
    }
    let kind = protocol.kind();
    let mut heard = vec![0u8; session.roster().len()];
    let mut queue: VecDeque<_> = session.take_held(kind).into();
    ready(session, &mut queue).await?;
    // The deadline moves only when the protocol takes a message, so a peer sending
    // conflicting repeats or other protocols' messages cannot keep a stalled session alive.
    let mut deadline = tokio::time::Instant::now() + session.round_timeout();
    let mut rounds = Rounds::default();
    rounds.0.insert(1, tokio::time::Instant::now());
    match protocol.start() {
        Ok(out) => out.iter().for_each(|o| session.send(o)),
        Err(e) => return Err(fail(&mut protocol, session, e).await),
    }
    loop {
        // The message's budget charge is given back when it drops, at the end of this turn.
        let message = match queue.pop_front() {
            Some(m) => m,
            None => match tokio::time::timeout_at(deadline, session.next_event()).await {
                Err(_) => return Err(timeout(session, &heard, protocol.waiting_for())),
                Ok(None) => return Err(RunError::NodeStopped),
                Ok(Some(Event::Message(m))) => m,
                Ok(Some(Event::Conflict(..))) => continue,
                Ok(Some(Event::Undeliverable { to, reason })) => {
                    session.abort(format!("party {to} unreachable: {reason}"), vec![to]);
                    return Err(RunError::Unreachable {
                        peer: peer_of(session, to),
                        reason,
                    });
                }
                Ok(Some(Event::Aborted { by, reason, named })) => {
                    let owed = protocol.waiting_for().contains(&by);
                    return Err(aborted(session, by, reason, &named, owed));
                }
                Ok(Some(Event::Offence { by, fault })) => return Err(offence(session, by, fault)),
                Ok(Some(Event::Failed { culprits, reason })) => {
                    return Err(not_agreed(session, &culprits, reason))
                }
                Ok(Some(Event::Ready)) => continue,
            },
        };
        // The node delivers only payloads whose header decoded.
        let Ok((header, _)) = Header::decode(&message.payload) else {
            continue;
        };
        let from = message.from;
        if header.kind != kind {
            if !session.hold(message) {
                tracing::warn!(party = from, "message of a later protocol over the bound");
            }
            continue;
        }
        if let Some(h) = heard.get_mut(usize::from(from)) {
            *h = (*h).max(header.round);
        }
        deadline = tokio::time::Instant::now() + session.round_timeout();
        let taken = protocol.receive(from, &message.payload);
        if taken.is_ok() {
            // Only rounds the protocol accepted become metric series.
            rounds.took(session.metrics(), session, kind, header.round, from);
        }
        match taken {
            Ok(Step::Continue(out)) => out.iter().for_each(|o| session.send(o)),
            Ok(Step::Done(out, output)) => {
                out.iter().for_each(|o| session.send(o));
                session.flush().await;
                return Ok(output);
            }
            Err(e) => return Err(fail(&mut protocol, session, e).await),
        }
    }
}

/// Waits until the node reports that every other member confirmed the session id, queueing
/// the messages that come meanwhile. The node fails the session by the round deadline.
async fn ready<E: std::error::Error>(
    session: &mut Session,
    queue: &mut VecDeque<Delivered>,
) -> Result<(), RunError<E>> {
    while !session.is_ready() {
        match session.next_event().await {
            None => return Err(RunError::NodeStopped),
            Some(Event::Message(m)) => queue.push_back(m),
            Some(Event::Failed { culprits, reason }) => {
                return Err(not_agreed(session, &culprits, reason))
            }
            // Before the protocol starts, nobody owes a message yet.
            Some(Event::Aborted { by, reason, named }) => {
                return Err(aborted(session, by, reason, &named, false))
            }
            Some(Event::Offence { by, fault }) => return Err(offence(session, by, fault)),
            // No protocol message was sent yet; conflicts are recorded by the session.
            Some(Event::Ready | Event::Conflict(..) | Event::Undeliverable { .. }) => {}
        }
    }
    Ok(())
}

fn aborted<E: std::error::Error>(
    session: &Session,
    by: PartyIndex,
    reason: String,
    named: &[PartyIndex],
    owed: bool,
) -> RunError<E> {
    RunError::Aborted {
        peer: peer_of(session, by),
        reason,
        named: named.iter().filter_map(|i| session.peer(*i)).collect(),
        owed,
    }
}

/// Member `by` sent bytes no honest node sends: the others are told, naming it.
fn offence<E: std::error::Error>(session: &Session, by: PartyIndex, fault: Fault) -> RunError<E> {
    session.abort(format!("party {by} sent {fault}"), vec![by]);
    RunError::Offence {
        peer: peer_of(session, by),
        fault,
    }
}

fn not_agreed<E: std::error::Error>(
    session: &Session,
    culprits: &[PartyIndex],
    reason: String,
) -> RunError<E> {
    RunError::NotAgreed {
        blamed: culprits.iter().filter_map(|c| session.peer(*c)).collect(),
        reason,
    }
}

fn peer_of(session: &Session, i: PartyIndex) -> PeerId {
    // Events carry indices the node took from this session's roster.
    session
        .peer(i)
        .unwrap_or(PeerId::from_bytes(&[0, 0]).unwrap_or(PeerId::random()))
}

/// Sends the protocol's parting messages, tells the others, and wraps the error.
async fn fail<P: Protocol>(
    protocol: &mut P,
    session: &mut Session,
    e: P::Error,
) -> RunError<P::Error> {
    protocol.parting().iter().for_each(|o| session.send(o));
    session.flush().await;
    let named = e.culprits().iter().map(|c| c.party).collect();
    session.abort(e.to_string(), named);
    RunError::Protocol(e)
}

/// The deadline passed: name the members the protocol is waiting for or, if it cannot tell,
/// those behind the furthest round heard (everyone else if all are level).
fn timeout<E: std::error::Error>(
    session: &Session,
    heard: &[u8],
    waiting: Vec<PartyIndex>,
) -> RunError<E> {
    let me = usize::from(session.me());
    let top = heard.iter().copied().max().unwrap_or(0);
    let others = |keep: &dyn Fn(usize) -> bool| -> Vec<PeerId> {
        session
            .roster()
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != me && keep(*i))
            .map(|(_, p)| *p)
            .collect()
    };
    let mut missing = others(&|i| waiting.iter().any(|w| usize::from(*w) == i));
    if missing.is_empty() {
        missing = others(&|i| heard.get(i).is_some_and(|r| *r < top));
    }
    if missing.is_empty() {
        missing = others(&|_| true);
    }
    let named = missing
        .iter()
        .filter_map(|p| session.roster().iter().position(|r| r == p))
        // Roster positions fit a PartyIndex.
        .map(|i| i as PartyIndex)
        .collect();
    session.abort(
        format!("no message within the round deadline (round {top})"),
        named,
    );
    RunError::Timeout {
        round: top,
        missing,
        secs: session.round_timeout().as_secs(),
    }
}
