//! The one driver: runs any sans-IO [`Protocol`] over a [`Session`] (design §1, §4).
//!
//! Keygen (the DKG and then its certification), signing and resharing all go through
//! [`run`] unchanged. The driver sends the protocol's messages, feeds it the session's
//! messages of its kind (holding those of a later protocol of the same session), and stops at
//! the protocol's output or error, at a member's abort or unreachable recipient, or when no
//! message comes within the round deadline, naming the peers it has not heard from.

use std::collections::VecDeque;

use libp2p::PeerId;
use tessera_core::{protocol::Header, Blame, PartyIndex, Protocol, Step};

use crate::session::{Delivered, Event, Session};

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
    /// Another member aborted the session.
    #[error("{peer} aborted the session: {reason}")]
    Aborted {
        /// Who.
        peer: PeerId,
        /// Its reason.
        reason: String,
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
    /// The peers this error blames: the protocol's culprits, the silent, the unreachable.
    pub fn blamed(&self, session: &Session) -> Vec<PeerId> {
        match self {
            RunError::Protocol(e) => e
                .culprits()
                .iter()
                .filter_map(|c| session.peer(c.party))
                .collect(),
            RunError::Timeout { missing, .. } => missing.clone(),
            RunError::Unreachable { peer, .. } => vec![*peer],
            RunError::NotAgreed { blamed, .. } => blamed.clone(),
            _ => Vec::new(),
        }
    }
}

/// Runs `protocol` over `session` until it produces its output.
pub async fn run<P: Protocol>(
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
                    session.abort(format!("party {to} unreachable: {reason}"));
                    return Err(RunError::Unreachable {
                        peer: peer_of(session, to),
                        reason,
                    });
                }
                Ok(Some(Event::Aborted { by, reason })) => {
                    return Err(aborted(session, by, reason))
                }
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
        match protocol.receive(from, &message.payload) {
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
            Some(Event::Aborted { by, reason }) => return Err(aborted(session, by, reason)),
            // No protocol message was sent yet; conflicts are recorded by the session.
            Some(Event::Ready | Event::Conflict(..) | Event::Undeliverable { .. }) => {}
        }
    }
    Ok(())
}

fn aborted<E: std::error::Error>(session: &Session, by: PartyIndex, reason: String) -> RunError<E> {
    RunError::Aborted {
        peer: peer_of(session, by),
        reason,
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
    session.abort(e.to_string());
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
    session.abort(format!(
        "no message within the round deadline (round {top})"
    ));
    RunError::Timeout {
        round: top,
        missing,
        secs: session.round_timeout().as_secs(),
    }
}
