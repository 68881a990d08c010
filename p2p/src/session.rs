//! A session as its parties see it: the handle a node gives to the initiator (from
//! [`Node::propose`](crate::Node::propose)) and to every member (from
//! [`Node::next_session`](crate::Node::next_session)), which the [driver](crate::run) runs
//! protocols over.

use std::{
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    },
    time::Duration,
};

use libp2p::PeerId;
use tessera_core::{
    protocol::{Header, Kind, Outgoing, Recipient},
    Fault, PartyIndex, SessionId,
};
use tokio::sync::{mpsc, oneshot};
use zeroize::Zeroizing;

use crate::{
    inbox::{Charge, Conflict},
    metrics::Metrics,
    node::Command,
    proposal::Proposal,
    tamper::{Outbound, Tamper},
};

/// Notices a session's event channel has room for beyond [`Limits::max_queued`]
/// messages: the node's own (ready, failed, aborted, undeliverable) are never crowded out.
///
/// [`Limits::max_queued`]: crate::Limits::max_queued
pub(crate) const NOTICES: usize = 64;

/// A new message from an authenticated roster member, charged to the byte budgets until it is
/// dropped (design §4).
pub(crate) struct Delivered {
    pub(crate) from: PartyIndex,
    pub(crate) payload: Zeroizing<Vec<u8>>,
    /// Kept for its drop, which gives the bytes back.
    pub(crate) _charge: Charge,
}

/// What the node tells a session.
pub(crate) enum Event {
    /// A new message.
    Message(Delivered),
    /// A member sent a different repeat of a message; the evidence is charged while kept.
    Conflict(Conflict, Charge),
    /// A message could not be delivered: the recipient is unreachable, refused it, or no
    /// longer has the session.
    Undeliverable { to: PartyIndex, reason: String },
    /// A member aborted the session, blaming `named` (its word only).
    Aborted {
        by: PartyIndex,
        reason: String,
        named: Vec<PartyIndex>,
    },
    /// A member sent this node bytes no honest node sends (a frame over the size limit, a
    /// request that does not decode); outside any session, so every session with it ends.
    Offence { by: PartyIndex, fault: Fault },
    /// Every other member confirmed the session id: the protocol may start (design §4).
    Ready,
    /// The members do not agree on the session; `culprits` caused it.
    Failed {
        culprits: Vec<PartyIndex>,
        reason: String,
    },
}

/// A running session. Dropping it ends the session on this node: later messages for it are
/// acknowledged as ended and never reach a protocol.
pub struct Session {
    id: SessionId,
    proposal: Arc<Proposal>,
    initiator: PeerId,
    me: PartyIndex,
    events: mpsc::Receiver<Event>,
    commands: mpsc::UnboundedSender<Command>,
    held: Vec<Delivered>,
    conflicts: Vec<Conflict>,
    evidence: Vec<Charge>,
    round_timeout: Duration,
    max_held: usize,
    claim: Arc<AtomicU8>,
    ready: bool,
    /// What the node adds to every session.
    hooks: Hooks,
}

/// [`Session::claim`] states: handed out or waiting in the node's queue, taken by the
/// application, or aborted by the node because nobody took it.
pub(crate) const UNCLAIMED: u8 = 0;
const CLAIMED: u8 = 1;
pub(crate) const EXPIRED: u8 = 2;

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("me", &self.me)
            .field("kind", &self.proposal.draft.kind)
            .finish()
    }
}

/// What a node adds to each of its sessions: its metrics, and in tests a tamper hook.
#[derive(Clone, Default)]
pub(crate) struct Hooks {
    /// Tests only: how this node deviates ([`crate::tamper`]).
    pub tamper: Option<Tamper>,
    /// Where the driver counts sessions and rounds.
    pub metrics: Option<Arc<Metrics>>,
}

impl Session {
    /// The node's metrics, if it keeps any.
    pub(crate) fn metrics(&self) -> Option<&Metrics> {
        self.hooks.metrics.as_deref()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: SessionId,
        proposal: Arc<Proposal>,
        initiator: PeerId,
        me: PartyIndex,
        events: mpsc::Receiver<Event>,
        commands: mpsc::UnboundedSender<Command>,
        limits: &crate::Limits,
        claim: Arc<AtomicU8>,
        hooks: Hooks,
    ) -> Self {
        Self {
            id,
            proposal,
            initiator,
            me,
            events,
            commands,
            held: Vec::new(),
            conflicts: Vec::new(),
            evidence: Vec::new(),
            round_timeout: limits.round_timeout,
            max_held: limits.max_held,
            claim,
            ready: false,
            hooks,
        }
    }

    /// Takes the session up for the application; false if the node already aborted it
    /// because it waited too long.
    pub(crate) fn claim(&self) -> bool {
        self.claim
            .compare_exchange(UNCLAIMED, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The initiator: the member whose signed start opened the session.
    pub fn initiator(&self) -> PeerId {
        self.initiator
    }

    /// The session id: every protocol of the session is built with it.
    pub fn id(&self) -> &SessionId {
        &self.id
    }

    /// The accepted proposal.
    pub fn proposal(&self) -> &Proposal {
        &self.proposal
    }

    /// This node's party index.
    pub fn me(&self) -> PartyIndex {
        self.me
    }

    /// The roster: party i is `roster()[i]`.
    pub fn roster(&self) -> &[PeerId] {
        &self.proposal.draft.roster
    }

    /// The peer of party `i`.
    pub fn peer(&self, i: PartyIndex) -> Option<PeerId> {
        self.roster().get(usize::from(i)).copied()
    }

    /// Conflicting repeats received so far: evidence of equivocation.
    pub fn conflicts(&self) -> &[Conflict] {
        &self.conflicts
    }

    pub(crate) fn round_timeout(&self) -> Duration {
        self.round_timeout
    }

    /// Whether every other member confirmed the session id (always, once the node said so).
    pub(crate) fn is_ready(&self) -> bool {
        self.ready
    }

    /// Queues a protocol message for its recipients.
    pub(crate) fn send(&self, out: &Outgoing) {
        let recipients: Vec<PartyIndex> = match out.to {
            // The roster has at most MAX_ROSTER (1024) entries.
            Recipient::All => (0..self.roster().len() as PartyIndex)
                .filter(|i| *i != self.me)
                .collect(),
            Recipient::One(i) => vec![i],
        };
        for to in recipients {
            let payloads = match &self.hooks.tamper {
                None => vec![out.payload.clone()],
                Some(tamper) => match Header::decode(&out.payload) {
                    Ok((header, _)) => tamper(Outbound {
                        session: &self.id,
                        kind: header.kind,
                        round: header.round,
                        to,
                        payload: &out.payload,
                    }),
                    Err(_) => vec![out.payload.clone()],
                },
            };
            for payload in payloads {
                // A send fails only if the node has stopped; the session then ends with
                // `next_event` returning None.
                let _ = self.commands.send(Command::Send {
                    session: self.id,
                    to,
                    payload: Zeroizing::new(payload),
                });
            }
        }
    }

    /// Waits until every message sent so far is acknowledged or given up on.
    pub(crate) async fn flush(&self) {
        let (reply, done) = oneshot::channel();
        if self
            .commands
            .send(Command::Flush {
                session: self.id,
                reply,
            })
            .is_ok()
        {
            let _ = tokio::time::timeout(self.round_timeout, done).await;
        }
    }

    /// Aborts the session: every other member is told why and whom this node blames
    /// (`named`, roster indices), and this node takes no more of its messages.
    pub fn abort(&self, reason: String, named: Vec<PartyIndex>) {
        let _ = self.commands.send(Command::Abort {
            session: self.id,
            reason,
            named,
        });
    }

    /// The next event, or None once the node has stopped.
    pub(crate) async fn next_event(&mut self) -> Option<Event> {
        let event = self.events.recv().await?;
        if let Event::Ready = &event {
            self.ready = true;
        }
        Some(match event {
            Event::Conflict(c, charge) => {
                tracing::warn!(session = %hex(&self.id), party = c.from, round = c.header.round,
                    "conflicting repeat kept as evidence");
                self.conflicts.push(c.clone());
                self.evidence.push(charge);
                Event::Conflict(c, Charge::none())
            }
            other => other,
        })
    }

    /// Keeps a message of another protocol of this session (for example the certification
    /// after a DKG) for when that protocol runs; false if the bound is reached.
    pub(crate) fn hold(&mut self, message: Delivered) -> bool {
        if self.held.len() >= self.max_held {
            return false;
        }
        self.held.push(message);
        true
    }

    /// Takes the held messages of protocol `kind`.
    pub(crate) fn take_held(&mut self, kind: Kind) -> Vec<Delivered> {
        let (mine, rest) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|m| m.payload.first() == Some(&(kind as u8)));
        self.held = rest;
        mine
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Close { session: self.id });
    }
}

/// Lower-case hex of a session id, for logs and errors.
pub fn hex(id: &SessionId) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}
