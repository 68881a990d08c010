//! The node: a libp2p swarm on its own task, and the session layer on top of it (design §4).
//!
//! Transport: TCP with noise (which authenticates every peer's PeerId) and yamux, QUIC (TLS
//! 1.3 with the same identity), and circuit relay v2 through a relay node (noise and yamux
//! again inside the circuit, so the relay sees only ciphertext). Behaviours, in order: the
//! allow-list (first, so a peer outside the committee is refused before anything else sees
//! it), connection limits, request-response on `/tessera/mpc/2`, identify, ping, the relay
//! client, DCUtR (hole punching, which upgrades a relayed connection to a direct one), and
//! mDNS with the `mdns` feature. Every request's response is its acknowledgement; a
//! request that fails is retried with exponential backoff and, after the last attempt, the
//! session is told its recipient is unreachable.

use std::{
    collections::{HashMap, HashSet, VecDeque},
    sync::{
        atomic::{AtomicU8, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use futures::StreamExt;
use libp2p::{
    allow_block_list, connection_limits, dcutr, identify,
    identity::Keypair,
    multiaddr::Protocol,
    noise, ping, relay,
    request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel},
    swarm::{
        dial_opts::{DialOpts, PeerCondition},
        ConnectionId, NetworkBehaviour, SwarmEvent,
    },
    tcp, yamux, Multiaddr, PeerId, Swarm,
};
use tessera_core::{
    hash::transcript_hash, protocol::Header, Ed25519Identity, Fault, PartyIndex, SessionId,
};
use tokio::sync::{mpsc, oneshot, Mutex};
use zeroize::Zeroizing;

use crate::{
    codec::{Frame, Frames, PROTOCOL},
    inbox::{Charge, Inbox, Meter, Offer, PER_MESSAGE},
    limits::CONNECTIONS_PER_PEER,
    metrics::Metrics,
    policy::{Answerer, Decision, Policy, RateLimit},
    proposal::{
        acceptance_verifies, sign_acceptance, Draft, Proposal, Signature, Stamp, Start, StartFault,
    },
    seen::{MemorySeen, SeenSessions},
    session::{hex, Delivered, Event, Hooks, Session, EXPIRED, NOTICES, UNCLAIMED},
    tamper::Tamper,
    wire::{Request, Response},
    Limits,
};

/// Why a node could not start or do what it was asked.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// The transport could not be built or could not listen.
    #[error("transport: {0}")]
    Transport(String),
    /// A dial failed.
    #[error("could not connect to {peer}: {reason}")]
    Dial {
        /// The peer.
        peer: PeerId,
        /// Why.
        reason: String,
    },
    /// The node's task has stopped.
    #[error("the node has stopped")]
    Stopped,
}

/// Why a proposed session did not start.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    /// The draft itself is invalid (roster, size).
    #[error("invalid proposal: {0}")]
    Invalid(&'static str),
    /// A roster member refused.
    #[error("{peer} refused the session: {reason}")]
    Refused {
        /// Who.
        peer: PeerId,
        /// Its reason.
        reason: String,
    },
    /// A roster member did not answer.
    #[error("{peer} is unreachable: {reason}")]
    Unreachable {
        /// Who.
        peer: PeerId,
        /// The last failure.
        reason: String,
    },
    /// This node holds too many sessions.
    #[error("this node holds too many sessions")]
    Busy,
    /// The seen-session store failed; the session is not started.
    #[error("cannot record the session id: {0}")]
    Store(String),
    /// The node has stopped.
    #[error("the node has stopped")]
    Stopped,
}

/// A message the node dropped, and from whom: also logged at warn level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The authenticated peer.
    pub peer: PeerId,
    /// Why.
    pub reason: String,
}

/// What a node needs to start.
pub struct NodeConfig {
    /// The device's long-term Ed25519 identity; its PeerId names the device.
    pub keypair: Keypair,
    /// Addresses to listen on (default: 127.0.0.1, any port).
    pub listen: Vec<Multiaddr>,
    /// Bounds and timings.
    pub limits: Limits,
    /// Which proposals to accept.
    pub policy: Policy,
    /// Where started session ids are remembered.
    pub seen: Box<dyn SeenSessions>,
    /// Answers to peers' questions ([`Node::ask`]); none: every question is refused.
    pub answers: Option<Answerer>,
    /// Tests only: makes this node deviate ([`crate::tamper`]); none for an honest node.
    pub tamper: Option<Tamper>,
    /// Where to count sessions, rounds and peers' faults for Prometheus ([`crate::metrics`]).
    pub metrics: Option<Arc<Metrics>>,
    /// A relay node's address, ending in its `/p2p/PEERID` (design §4.11): the node reserves
    /// a slot on it and listens through it, for peers that cannot dial it directly.
    pub relay: Option<Multiaddr>,
    /// Try to upgrade relayed connections to direct ones (DCUtR); on by default. Off keeps
    /// them relayed (benchmarks of the relay path).
    pub hole_punching: bool,
    /// Discover committee peers on the LAN with mDNS (feature `mdns`).
    #[cfg(feature = "mdns")]
    pub mdns: bool,
}

impl NodeConfig {
    /// A node listening on 127.0.0.1 with default limits and an in-memory seen-session store.
    pub fn new(keypair: Keypair, policy: Policy) -> Self {
        Self {
            keypair,
            // A constant, well-formed multiaddr.
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("valid multiaddr")],
            limits: Limits::default(),
            policy,
            seen: Box::new(MemorySeen::default()),
            answers: None,
            tamper: None,
            metrics: None,
            relay: None,
            hole_punching: true,
            #[cfg(feature = "mdns")]
            mdns: false,
        }
    }
}

/// A running node. Dropping it stops the node and closes its connections.
pub struct Node {
    peer_id: PeerId,
    addresses: Vec<Multiaddr>,
    commands: mpsc::UnboundedSender<Command>,
    incoming: Mutex<mpsc::Receiver<Session>>,
    held: Meter,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("peer_id", &self.peer_id)
            .finish()
    }
}

impl Node {
    /// Builds the swarm, listens, and runs the node on a new task of the current tokio
    /// runtime.
    pub async fn start(config: NodeConfig) -> Result<Self, NodeError> {
        let peer_id = config.keypair.public().to_peer_id();
        let signer = signer_of(&config.keypair)?;
        let mut swarm = build_swarm(&config)?;
        let mut listening = HashSet::new();
        for addr in &config.listen {
            listening.insert(
                swarm
                    .listen_on(addr.clone())
                    .map_err(|e| NodeError::Transport(e.to_string()))?,
            );
        }
        let mut addresses = Vec::new();
        // Every listener's first address (one on 0.0.0.0 reports one per interface).
        while !listening.is_empty() {
            let event = tokio::time::timeout(Duration::from_secs(10), swarm.select_next_some())
                .await
                .map_err(|_| NodeError::Transport("listening timed out".into()))?;
            match event {
                SwarmEvent::NewListenAddr {
                    address,
                    listener_id,
                } => {
                    listening.remove(&listener_id);
                    addresses.push(address);
                }
                SwarmEvent::ListenerError { error, .. } => {
                    return Err(NodeError::Transport(error.to_string()))
                }
                _ => {}
            }
        }
        if let Some(relay) = &config.relay {
            addresses.extend(reserve(&mut swarm, relay).await?);
        }
        let (commands, commands_rx) = mpsc::unbounded_channel();
        // Sessions waiting for the application: at most as many as the node holds.
        let (incoming_tx, incoming) = mpsc::channel(config.limits.max_sessions.max(1));
        let held = Meter::default();
        let task = Task {
            held: held.clone(),
            early_held: Meter::default(),
            peer_held: HashMap::new(),
            swarm,
            me: peer_id,
            signer,
            rate: RateLimit::new(config.limits.proposals_per_minute),
            ask_rate: RateLimit::new(config.limits.proposals_per_minute),
            answers: config.answers,
            hooks: Hooks {
                tamper: config.tamper,
                metrics: config.metrics,
            },
            asking: HashMap::new(),
            next_ask: 0,
            limits: config.limits,
            policy: config.policy,
            seen: config.seen,
            commands: commands.clone(),
            incoming: incoming_tx,
            allowed: HashSet::new(),
            addresses: HashMap::new(),
            initiating: HashMap::new(),
            pending: HashMap::new(),
            live: HashMap::new(),
            ended: Recent::default(),
            accepted: Recent::default(),
            ran: Recent::default(),
            early: HashMap::new(),
            early_count: 0,
            early_from: HashMap::new(),
            outbound: HashMap::new(),
            retrying: HashMap::new(),
            next_retry: 0,
            connecting: HashMap::new(),
            links: HashMap::new(),
            dropped: VecDeque::new(),
        };
        tokio::spawn(task.run(commands_rx));
        Ok(Self {
            peer_id,
            addresses,
            commands,
            incoming: Mutex::new(incoming),
            held,
        })
    }

    /// This node's PeerId.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses it listens on.
    pub fn addresses(&self) -> &[Multiaddr] {
        &self.addresses
    }

    /// Admits `peer` to the allow-list and records where to reach it. Only allowed peers can
    /// connect, propose, or take part in this node's sessions.
    pub fn allow(&self, peer: PeerId, addresses: Vec<Multiaddr>) {
        let _ = self.commands.send(Command::Allow { peer, addresses });
    }

    /// Dials an allowed peer and waits for the connection.
    pub async fn connect(&self, peer: PeerId) -> Result<(), NodeError> {
        let (reply, done) = oneshot::channel();
        self.commands
            .send(Command::Connect { peer, reply })
            .map_err(|_| NodeError::Stopped)?;
        done.await.map_err(|_| NodeError::Stopped)?
    }

    /// Proposes a session to the draft's roster (this node among them) and returns it once
    /// every member accepted: the others start it when the start message reaches them.
    pub async fn propose(&self, draft: Draft) -> Result<Session, ProposeError> {
        let (reply, done) = oneshot::channel();
        self.commands
            .send(Command::Propose { draft, reply })
            .map_err(|_| ProposeError::Stopped)?;
        done.await.map_err(|_| ProposeError::Stopped)?
    }

    /// The next session another member started with this node, or None once the node stops.
    /// A session left here longer than [`Limits::proposal_ttl`] is aborted by the node and
    /// skipped.
    pub async fn next_session(&self) -> Option<Session> {
        let mut incoming = self.incoming.lock().await;
        loop {
            let session = incoming.recv().await?;
            if session.claim() {
                return Some(session);
            }
        }
    }

    /// Bytes of peers' messages this node holds now, counted against
    /// [`Limits::max_held_bytes`] (see the memory bound in [`Limits`]).
    pub fn held_bytes(&self) -> usize {
        self.held.get()
    }

    /// Asks the allowed `peer` a question outside any session, for its application's
    /// [`Answerer`]: its answer, `None` if it has none (or refuses), an error if it cannot be
    /// reached after the node's attempts.
    pub async fn ask(&self, peer: PeerId, question: Vec<u8>) -> Result<Option<Vec<u8>>, NodeError> {
        let (reply, done) = oneshot::channel();
        self.commands
            .send(Command::Ask {
                peer,
                question,
                reply,
            })
            .map_err(|_| NodeError::Stopped)?;
        done.await
            .map_err(|_| NodeError::Stopped)?
            .map_err(|reason| NodeError::Dial { peer, reason })
    }

    /// The last messages this node dropped (malformed, oversized, over a limit), newest last.
    pub async fn dropped(&self) -> Vec<Dropped> {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Dropped { reply }).is_err() {
            return Vec::new();
        }
        done.await.unwrap_or_default()
    }

    /// The peers this node is connected to now, each with how (a peer can have a relayed
    /// and a direct connection while hole punching upgrades it), in PeerId order.
    pub async fn links(&self) -> Vec<(PeerId, Vec<Link>)> {
        let (reply, done) = oneshot::channel();
        if self.commands.send(Command::Links { reply }).is_err() {
            return Vec::new();
        }
        done.await.unwrap_or_default()
    }
}

/// The node's identity key as a signer of acceptances and starts (design §4).
fn signer_of(keypair: &Keypair) -> Result<Ed25519Identity, NodeError> {
    let not_ed25519 = || NodeError::Transport("the node's identity must be an Ed25519 key".into());
    let secret = keypair
        .clone()
        .try_into_ed25519()
        .map_err(|_| not_ed25519())?
        .secret();
    let seed = Zeroizing::new(<[u8; 32]>::try_from(secret.as_ref()).map_err(|_| not_ed25519())?);
    Ok(Ed25519Identity::from_seed(&seed))
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Shutdown);
    }
}

/// Requests to the node's task.
pub(crate) enum Command {
    Allow {
        peer: PeerId,
        addresses: Vec<Multiaddr>,
    },
    Connect {
        peer: PeerId,
        reply: oneshot::Sender<Result<(), NodeError>>,
    },
    Propose {
        draft: Draft,
        reply: oneshot::Sender<Result<Session, ProposeError>>,
    },
    Send {
        session: SessionId,
        to: PartyIndex,
        payload: Zeroizing<Vec<u8>>,
    },
    Flush {
        session: SessionId,
        reply: oneshot::Sender<()>,
    },
    Abort {
        session: SessionId,
        reason: String,
        named: Vec<PartyIndex>,
    },
    Close {
        session: SessionId,
    },
    Retry(u64),
    Ask {
        peer: PeerId,
        question: Vec<u8>,
        reply: AnswerTo,
    },
    Dropped {
        reply: oneshot::Sender<Vec<Dropped>>,
    },
    Links {
        reply: oneshot::Sender<Vec<(PeerId, Vec<Link>)>>,
    },
    Shutdown,
}

/// Where the answer to a question goes: the answer (`None`: the peer has none), or why the
/// peer could not be asked.
type AnswerTo = oneshot::Sender<Result<Option<Vec<u8>>, String>>;

#[derive(NetworkBehaviour)]
struct Behaviour {
    // First: a peer that is not allowed is refused before any other behaviour sees it.
    allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    limits: connection_limits::Behaviour,
    rr: request_response::Behaviour<Frames>,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
    relay_client: relay::client::Behaviour,
    dcutr: libp2p::swarm::behaviour::toggle::Toggle<dcutr::Behaviour>,
    #[cfg(feature = "mdns")]
    mdns: libp2p::swarm::behaviour::toggle::Toggle<libp2p::mdns::tokio::Behaviour>,
}

/// The PeerId an address names last (`…/p2p/PEERID`).
fn last_peer(address: &Multiaddr) -> Option<PeerId> {
    address.iter().fold(None, |last, p| match p {
        Protocol::P2p(peer) => Some(peer),
        _ => last,
    })
}

/// The relay a circuit address goes through, and the relay's own address: the part before
/// `/p2p-circuit`, which ends in the relay's `/p2p/PEERID`.
pub fn relay_of(address: &Multiaddr) -> Option<(PeerId, Multiaddr)> {
    let mut before = Multiaddr::empty();
    for p in address.iter() {
        if p == Protocol::P2pCircuit {
            return last_peer(&before).map(|peer| (peer, before));
        }
        before.push(p);
    }
    None
}

/// How a connection reaches its peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Link {
    /// Directly over TCP.
    Tcp,
    /// Directly over QUIC.
    Quic,
    /// Through a relay's circuit.
    Relayed,
}

impl Link {
    /// The link of a connection to or from `address`.
    pub fn of(address: &Multiaddr) -> Self {
        if address.iter().any(|p| p == Protocol::P2pCircuit) {
            Link::Relayed
        } else if address.iter().any(|p| p == Protocol::QuicV1) {
            Link::Quic
        } else {
            Link::Tcp
        }
    }

    /// Its name in status and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Link::Tcp => "tcp",
            Link::Quic => "quic",
            Link::Relayed => "relayed",
        }
    }
}

/// Reserves a slot on the relay at `relay` (its address ending in `/p2p/PEERID`) and listens
/// through it: the circuit address peers dial, once the relay accepted, within 10 s. A relay
/// that does not answer is logged and the node runs without it (peers that can dial it
/// directly still can).
async fn reserve(
    swarm: &mut Swarm<Behaviour>,
    relay: &Multiaddr,
) -> Result<Vec<Multiaddr>, NodeError> {
    let peer = last_peer(relay).ok_or_else(|| {
        NodeError::Transport(format!("relay address {relay} does not end in /p2p/PEERID"))
    })?;
    swarm.behaviour_mut().allow.allow_peer(peer);
    swarm
        .listen_on(relay.clone().with(Protocol::P2pCircuit))
        .map_err(|e| NodeError::Transport(format!("relay {relay}: {e}")))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
            Err(_) => {
                tracing::warn!(%relay, "the relay accepted no reservation within 10 s");
                return Ok(Vec::new());
            }
            Ok(SwarmEvent::NewListenAddr { address, .. })
                if Link::of(&address) == Link::Relayed =>
            {
                tracing::info!(%address, "reserved a slot on the relay");
                return Ok(vec![address]);
            }
            Ok(SwarmEvent::ListenerClosed { reason, .. }) => {
                tracing::warn!(%relay, ?reason, "the relay refused or dropped the reservation");
                return Ok(Vec::new());
            }
            Ok(SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                info,
                peer_id,
                ..
            }))) => {
                // Identify offers the observed address to hole punching as a candidate.
                tracing::debug!(%peer_id, observed = %info.observed_addr, "identified by the relay");
            }
            Ok(_) => {}
        }
    }
}

fn build_swarm(config: &NodeConfig) -> Result<Swarm<Behaviour>, NodeError> {
    let limits = &config.limits;
    let rr_config = request_response::Config::default()
        .with_request_timeout(limits.request_timeout)
        .with_max_concurrent_streams(limits.max_streams);
    let transport = |e: &dyn std::fmt::Display| NodeError::Transport(e.to_string());
    let swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| transport(&e))?
        .with_quic()
        .with_relay_client(noise::Config::new, yamux::Config::default)
        .map_err(|e| transport(&e))?
        .with_behaviour(|key, relay_client| {
            #[cfg(feature = "mdns")]
            let mdns = if config.mdns {
                Some(libp2p::mdns::tokio::Behaviour::new(
                    libp2p::mdns::Config::default(),
                    key.public().to_peer_id(),
                )?)
            } else {
                None
            };
            Ok(Behaviour {
                allow: Default::default(),
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_established_per_peer(Some(CONNECTIONS_PER_PEER))
                        .with_max_pending_incoming(Some(256)),
                ),
                rr: request_response::Behaviour::with_codec(
                    Frames::new(limits.max_message),
                    [(PROTOCOL, ProtocolSupport::Full)],
                    rr_config,
                ),
                identify: identify::Behaviour::new(identify::Config::new(
                    "/tessera/id/1".into(),
                    key.public(),
                )),
                ping: ping::Behaviour::default(),
                relay_client,
                dcutr: config
                    .hole_punching
                    .then(|| dcutr::Behaviour::new(key.public().to_peer_id()))
                    .into(),
                #[cfg(feature = "mdns")]
                mdns: mdns.into(),
            })
        })
        .map_err(|e| transport(&e))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(limits.idle_timeout))
        .build();
    Ok(swarm)
}

/// A request in flight, kept for its retries.
struct Outbound {
    peer: PeerId,
    request: Zeroizing<Vec<u8>>,
    /// Failed attempts (transport failures).
    attempt: u32,
    /// "Later" answers so far, and until when they are retried (a round deadline from the
    /// first one).
    laters: u32,
    later_until: Option<Instant>,
    purpose: Purpose,
}

impl Outbound {
    /// A request's first attempt.
    fn new(peer: PeerId, request: Zeroizing<Vec<u8>>, purpose: Purpose) -> Self {
        Self {
            peer,
            request,
            attempt: 0,
            laters: 0,
            later_until: None,
            purpose,
        }
    }
}

#[derive(Clone, Copy)]
enum Purpose {
    Propose {
        digest: [u8; 32],
    },
    Start {
        session: SessionId,
        to: PartyIndex,
    },
    Message {
        session: SessionId,
        to: PartyIndex,
    },
    Confirm {
        session: SessionId,
        to: PartyIndex,
    },
    /// A start passed on to a member that has not confirmed.
    Forward {
        session: SessionId,
    },
    Abort,
    /// A question ([`Node::ask`]), answered to the waiter under this key.
    Ask {
        key: u64,
    },
}

/// A proposal this node made, collecting signed acceptances.
struct Initiating {
    proposal: Arc<Proposal>,
    accepted: Vec<Option<([u8; 32], Signature)>>,
    reply: oneshot::Sender<Result<Session, ProposeError>>,
}

/// A proposal this node accepted: waiting for its start, or started (kept until it expires
/// so that a retried start is acknowledged again rather than refused).
struct Pending {
    proposal: Arc<Proposal>,
    nonce: [u8; 32],
    /// This node's acceptance signature, sent again to a retried proposal.
    signature: Signature,
    initiator: PeerId,
    since: Instant,
    started: Option<SessionId>,
    /// Confirmations that came before the start, one per member.
    early_stamps: Vec<(PartyIndex, Stamp)>,
}

/// A member's session between its start and the confirmation of its id by every other
/// member but the initiator (design §4). The application has the session; the driver starts
/// no protocol until the node reports it ready.
struct Confirming {
    since: Instant,
    /// The members whose confirmation is awaited.
    awaited: Vec<PartyIndex>,
    /// Members that answered this node's confirmation as held: they have not seen the start.
    without_start: Vec<PartyIndex>,
    /// The start, passed on to members still awaited half a round deadline in.
    start: Zeroizing<Vec<u8>>,
    /// Members to pass it on to (None until then), and how many passes are in flight.
    to_forward: Option<VecDeque<PartyIndex>>,
    forwarding: usize,
}

/// Starts a session passes on at once: a malicious initiator that withholds a large start
/// from many members makes a node hold this many copies, not one per member.
const FORWARDS_IN_FLIGHT: usize = 2;

/// The key naming a start of the proposal `digest` with session id `session` that ran here.
fn ran(digest: &[u8; 32], session: &SessionId) -> [u8; 32] {
    transcript_hash("tessera/p2p/v1/ran", &[digest, session])
}

/// The last ids of some kind, bounded: sessions ended here, proposals accepted here.
#[derive(Default)]
struct Recent {
    set: HashSet<[u8; 32]>,
    order: VecDeque<[u8; 32]>,
}

impl Recent {
    fn contains(&self, id: &[u8; 32]) -> bool {
        self.set.contains(id)
    }

    fn insert(&mut self, id: [u8; 32]) {
        if self.set.insert(id) {
            self.order.push_back(id);
            if self.order.len() > RECENT_MEMORY {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// A running session.
struct Live {
    /// Whether the application took the session up (see [`Session::claim`]).
    claim: Arc<AtomicU8>,
    opened: Instant,
    proposal: Arc<Proposal>,
    /// Who proposed it (this node, for its own).
    initiator: PeerId,
    inbox: Inbox,
    events: mpsc::Sender<Event>,
    /// Bytes of messages held for it.
    held: Meter,
    outstanding: usize,
    flushers: Vec<oneshot::Sender<()>>,
    /// Until every member confirmed the session id; None once ready.
    confirming: Option<Confirming>,
}

/// A message held for a session that has not started here yet.
struct Early {
    peer: PeerId,
    payload: Zeroizing<Vec<u8>>,
    since: Instant,
    charge: Charge,
}

/// Ended sessions a node still answers "ended" for, and accepted proposals it refuses to
/// accept again.
const RECENT_MEMORY: usize = 4096;

/// Dropped messages kept for [`Node::dropped`].
const DROPPED_MEMORY: usize = 256;

struct Task {
    swarm: Swarm<Behaviour>,
    me: PeerId,
    signer: Ed25519Identity,
    limits: Limits,
    policy: Policy,
    seen: Box<dyn SeenSessions>,
    rate: RateLimit,
    /// Questions, rate-limited apart from proposals, and who answers them.
    ask_rate: RateLimit,
    answers: Option<Answerer>,
    /// Tests only: how this node deviates ([`crate::tamper`]).
    hooks: Hooks,
    /// Questions this node asked, waiting for their answer, by key.
    asking: HashMap<u64, AnswerTo>,
    next_ask: u64,
    commands: mpsc::UnboundedSender<Command>,
    incoming: mpsc::Sender<Session>,
    allowed: HashSet<PeerId>,
    /// The addresses each allowed peer was admitted with: every dial tries them, whatever
    /// the swarm forgot after earlier failed dials (a peer that was down for a while).
    addresses: HashMap<PeerId, Vec<Multiaddr>>,
    initiating: HashMap<[u8; 32], Initiating>,
    pending: HashMap<[u8; 32], Pending>,
    live: HashMap<SessionId, Live>,
    ended: Recent,
    accepted: Recent,
    /// Starts that ran here, as [`ran`] keys, once their proposal is forgotten.
    ran: Recent,
    early: HashMap<SessionId, Vec<Early>>,
    early_count: usize,
    early_from: HashMap<PeerId, usize>,
    /// Bytes of peers' messages held, in all, before their sessions start, and per peer.
    held: Meter,
    early_held: Meter,
    peer_held: HashMap<PeerId, Meter>,
    outbound: HashMap<OutboundRequestId, Outbound>,
    retrying: HashMap<u64, Outbound>,
    next_retry: u64,
    connecting: HashMap<PeerId, Vec<oneshot::Sender<Result<(), NodeError>>>>,
    /// Open connections by peer, and how each reaches it.
    links: HashMap<PeerId, HashMap<ConnectionId, Link>>,
    dropped: VecDeque<Dropped>,
}

impl Task {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(c) => self.command(c),
                },
                event = self.swarm.select_next_some() => self.swarm_event(event),
                _ = tick.tick() => self.expire(Instant::now()),
            }
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Allow { peer, addresses } => {
                self.allowed.insert(peer);
                self.swarm.behaviour_mut().allow.allow_peer(peer);
                for a in &addresses {
                    self.swarm.add_peer_address(peer, a.clone());
                    // A peer reached through a relay needs a connection to the relay: the
                    // relay of a circuit address that leads to this peer (and nowhere else).
                    if let Some((relay, at)) = relay_of(a).filter(|_| {
                        matches!(last_peer(a), Some(p) if p == peer)
                            || a.iter().last() == Some(Protocol::P2pCircuit)
                    }) {
                        self.swarm.behaviour_mut().allow.allow_peer(relay);
                        self.swarm.add_peer_address(relay, at);
                    }
                }
                self.addresses.entry(peer).or_default().extend(addresses);
            }
            Command::Connect { peer, reply } => {
                if self.swarm.is_connected(&peer) {
                    let _ = reply.send(Ok(()));
                } else if let Err(e) = self.dial(peer) {
                    let _ = reply.send(Err(NodeError::Dial {
                        peer,
                        reason: e.to_string(),
                    }));
                } else {
                    self.connecting.entry(peer).or_default().push(reply);
                }
            }
            Command::Propose { draft, reply } => self.propose(draft, reply),
            Command::Send {
                session,
                to,
                payload,
            } => self.send_message(session, to, payload),
            Command::Flush { session, reply } => match self.live.get_mut(&session) {
                Some(live) if live.outstanding > 0 => live.flushers.push(reply),
                _ => {
                    let _ = reply.send(());
                }
            },
            Command::Abort {
                session,
                reason,
                named,
            } => self.abort(session, reason, named),
            Command::Close { session } => self.end(session),
            Command::Retry(key) => {
                if let Some(out) = self.retrying.remove(&key) {
                    // Nothing goes out for a session that ended while the retry waited.
                    if self.wanted(&out.purpose) {
                        self.dispatch(out);
                    }
                }
            }
            Command::Dropped { reply } => {
                let _ = reply.send(self.dropped.iter().cloned().collect());
            }
            Command::Links { reply } => {
                let mut links: Vec<(PeerId, Vec<Link>)> = self
                    .links
                    .iter()
                    .map(|(peer, l)| {
                        let mut kinds: Vec<Link> = l.values().copied().collect();
                        kinds.sort_unstable();
                        kinds.dedup();
                        (*peer, kinds)
                    })
                    .collect();
                links.sort_unstable_by_key(|(p, _)| *p);
                let _ = reply.send(links);
            }
            Command::Ask {
                peer,
                question,
                reply,
            } => {
                let key = self.next_ask;
                self.next_ask += 1;
                self.asking.insert(key, reply);
                let request = Request::Ask(question).encode();
                self.dispatch(Outbound::new(peer, request, Purpose::Ask { key }));
            }
            Command::Shutdown => {}
        }
    }

    /// Logs and remembers a message dropped from `peer`.
    fn drop_from(&mut self, peer: PeerId, reason: impl Into<String>) {
        let reason = reason.into();
        tracing::warn!(%peer, %reason, "dropped a message");
        if self.dropped.len() == DROPPED_MEMORY {
            self.dropped.pop_front();
        }
        self.dropped.push_back(Dropped { peer, reason });
    }

    /// `peer` sent bytes that belong to no session and that no honest node sends: every
    /// running session it is a member of fails, naming it (design §4.4).
    fn offence(&mut self, peer: PeerId, fault: Fault) {
        for live in self.live.values() {
            if let Some(by) = live.proposal.party_of(&peer) {
                let _ = live.events.try_send(Event::Offence {
                    by,
                    fault: fault.clone(),
                });
            }
        }
    }

    fn sessions_held(&self) -> usize {
        let waiting = self
            .pending
            .values()
            .filter(|p| p.started.is_none())
            .count();
        self.initiating.len() + waiting + self.live.len()
    }

    // ---- initiator -------------------------------------------------------------------

    fn propose(&mut self, draft: Draft, reply: oneshot::Sender<Result<Session, ProposeError>>) {
        let mut nonce = [0u8; 32];
        if getrandom::fill(&mut nonce).is_err() {
            let _ = reply.send(Err(ProposeError::Invalid("no randomness for the nonce")));
            return;
        }
        let proposal = Proposal { draft, nonce };
        if let Err(e) = proposal.check(&self.me, &self.me) {
            let _ = reply.send(Err(ProposeError::Invalid(e)));
            return;
        }
        let others = proposal.others(&self.me);
        if others.iter().any(|p| !self.allowed.contains(p)) {
            let _ = reply.send(Err(ProposeError::Invalid(
                "a roster member is not on this node's allow-list",
            )));
            return;
        }
        let encoded = proposal.encode();
        if encoded.len() + 1 > self.limits.max_message {
            let _ = reply.send(Err(ProposeError::Invalid("proposal over the size limit")));
            return;
        }
        if self.sessions_held() >= self.limits.max_sessions {
            let _ = reply.send(Err(ProposeError::Busy));
            return;
        }
        let digest = proposal.digest();
        let mut accepted = vec![None; proposal.draft.roster.len()];
        if let Some(i) = proposal.party_of(&self.me) {
            accepted[usize::from(i)] =
                Some((nonce, sign_acceptance(&self.signer, &digest, &nonce)));
        }
        let request = Request::Propose(encoded).encode();
        for peer in others {
            self.dispatch(Outbound::new(
                peer,
                request.clone(),
                Purpose::Propose { digest },
            ));
        }
        self.initiating.insert(
            digest,
            Initiating {
                proposal: Arc::new(proposal),
                accepted,
                reply,
            },
        );
    }

    fn proposal_answered(
        &mut self,
        digest: [u8; 32],
        peer: PeerId,
        answer: Result<([u8; 32], Signature), String>,
    ) {
        let Some(init) = self.initiating.get_mut(&digest) else {
            return;
        };
        // A member whose acceptance does not verify would make every other member refuse the
        // start as forged by this node: it is refused here instead.
        let accepted = answer.and_then(|(nonce, sig)| {
            if acceptance_verifies(&peer, &digest, &nonce, &sig) {
                Ok((nonce, sig))
            } else {
                Err("its acceptance signature does not verify".to_string())
            }
        });
        let accepted = match accepted {
            Ok(a) => a,
            Err(reason) => {
                if let Some(init) = self.initiating.remove(&digest) {
                    let _ = init.reply.send(Err(ProposeError::Refused { peer, reason }));
                }
                return;
            }
        };
        if let Some(i) = init.proposal.party_of(&peer) {
            init.accepted[usize::from(i)] = Some(accepted);
        }
        if init.accepted.iter().all(Option::is_some) {
            if let Some(init) = self.initiating.remove(&digest) {
                self.start_as_initiator(digest, init);
            }
        }
    }

    fn proposal_failed(&mut self, digest: [u8; 32], peer: PeerId, reason: String) {
        if let Some(init) = self.initiating.remove(&digest) {
            let _ = init
                .reply
                .send(Err(ProposeError::Unreachable { peer, reason }));
        }
    }

    fn start_as_initiator(&mut self, digest: [u8; 32], init: Initiating) {
        let (nonces, acceptances) = init.accepted.iter().flatten().copied().unzip();
        let start = Start::new(&self.signer, digest, nonces, acceptances);
        let id = start.session();
        if self.seen.contains(&id) {
            let _ = init
                .reply
                .send(Err(ProposeError::Invalid("session id already used")));
            return;
        }
        if let Err(e) = self.seen.insert(id) {
            let _ = init.reply.send(Err(ProposeError::Store(e.to_string())));
            return;
        }
        let proposal = init.proposal;
        let me = self.me;
        let session = self.open(id, proposal.clone(), None, me);
        // The initiator's application has it the moment `propose` returns.
        session.claim();
        let request = Request::Start(start).encode();
        for (i, peer) in proposal.draft.roster.iter().enumerate() {
            if *peer != self.me {
                self.track(id, 1);
                // Rosters hold at most MAX_ROSTER (1024) parties.
                let to = i as PartyIndex;
                let purpose = Purpose::Start { session: id, to };
                self.dispatch(Outbound::new(*peer, request.clone(), purpose));
            }
        }
        let _ = init.reply.send(Ok(session));
    }

    /// Opens a live session and returns its handle: ready at once unless it waits for
    /// confirmations.
    fn open(
        &mut self,
        id: SessionId,
        proposal: Arc<Proposal>,
        confirming: Option<Confirming>,
        initiator: PeerId,
    ) -> Session {
        // Room for every message held before the start too, and the node's own notices.
        let capacity = self.limits.max_queued.max(self.limits.max_early) + NOTICES;
        let (events, events_rx) = mpsc::channel(capacity);
        if confirming.is_none() {
            let _ = events.try_send(Event::Ready);
        }
        // The proposal was checked to contain this node.
        let me = proposal.party_of(&self.me).unwrap_or_default();
        let claim = Arc::new(AtomicU8::new(UNCLAIMED));
        self.live.insert(
            id,
            Live {
                claim: claim.clone(),
                opened: Instant::now(),
                proposal: proposal.clone(),
                initiator,
                inbox: Inbox::default(),
                events,
                held: Meter::default(),
                outstanding: 0,
                flushers: Vec::new(),
                confirming,
            },
        );
        Session::new(
            id,
            proposal,
            initiator,
            me,
            events_rx,
            self.commands.clone(),
            &self.limits,
            claim,
            self.hooks.clone(),
        )
    }

    // ---- member ----------------------------------------------------------------------

    fn on_propose(&mut self, peer: PeerId, bytes: &[u8]) -> Response {
        if !self.rate.take(peer, Instant::now()) {
            self.drop_from(peer, "proposal over the rate limit");
            return Response::Refused("too many proposals".into());
        }
        let proposal = match Proposal::decode(bytes) {
            Ok(p) => p,
            Err(e) => {
                self.drop_from(peer, format!("malformed proposal: {e}"));
                return Response::Rejected(format!("malformed proposal: {e}"));
            }
        };
        if let Err(e) = proposal.check(&peer, &self.me) {
            return Response::Refused(e.into());
        }
        if proposal
            .draft
            .roster
            .iter()
            .any(|p| *p != self.me && !self.allowed.contains(p))
        {
            return Response::Refused("a roster member is not on this node's allow-list".into());
        }
        let digest = proposal.digest();
        if let Some(p) = self.pending.get(&digest) {
            // A retry whose acceptance was lost gets the same answer.
            return if p.initiator == peer && p.started.is_none() {
                Response::Accepted {
                    nonce: p.nonce,
                    signature: p.signature,
                }
            } else {
                Response::Refused("proposal already accepted".into())
            };
        }
        if self.accepted.contains(&digest) {
            self.drop_from(peer, "replayed proposal");
            return Response::Refused("proposal already used".into());
        }
        let waiting = self
            .pending
            .values()
            .filter(|p| p.initiator == peer && p.started.is_none())
            .count();
        if waiting >= self.limits.max_pending_per_peer {
            return Response::Refused("too many pending proposals".into());
        }
        let running = self.live.values().filter(|l| l.initiator == peer).count();
        if waiting + running >= self.limits.max_sessions_per_peer {
            self.drop_from(peer, "proposal over the per-peer session bound");
            return Response::Refused("too many sessions from this peer".into());
        }
        if self.sessions_held() >= self.limits.max_sessions {
            return Response::Refused("busy".into());
        }
        if let Decision::Refuse(reason) = (self.policy)(&peer, &proposal) {
            return Response::Refused(reason);
        }
        let mut nonce = [0u8; 32];
        if getrandom::fill(&mut nonce).is_err() {
            return Response::Refused("no randomness".into());
        }
        let signature = sign_acceptance(&self.signer, &digest, &nonce);
        self.accepted.insert(digest);
        self.pending.insert(
            digest,
            Pending {
                proposal: Arc::new(proposal),
                nonce,
                signature,
                initiator: peer,
                since: Instant::now(),
                started: None,
                early_stamps: Vec::new(),
            },
        );
        Response::Accepted { nonce, signature }
    }

    /// A start, from the initiator or passed on by a member (design §4). It must be the
    /// initiator's signed start of a proposal this node accepted; the session then opens here
    /// and waits until every other member but the initiator confirms its id.
    fn on_start(&mut self, peer: PeerId, start: Start) -> Response {
        let Some(pending) = self.pending.get(&start.digest) else {
            return if self.ran.contains(&ran(&start.digest, &start.session())) {
                Response::Ack
            } else {
                Response::Refused("no such accepted proposal".into())
            };
        };
        let (proposal, initiator) = (pending.proposal.clone(), pending.initiator);
        let (Some(me), Some(from), Some(first)) = (
            proposal.party_of(&self.me),
            proposal.party_of(&peer),
            proposal.party_of(&initiator),
        ) else {
            return Response::Refused("not a member of the session".into());
        };
        let (id, started) = (start.session(), pending.started);
        if started == Some(id) {
            // A retry, or a member passing on the start it runs: nothing new to check (and
            // no signatures to verify again for a peer that repeats it).
            if from != first {
                self.stamp_of(id, from, &start.stamp(), initiator, first);
            }
            return Response::Ack;
        }
        let verdict = start.check(&proposal, &initiator, me, &pending.nonce);
        if let Err(StartFault::Unsigned(why)) = verdict {
            self.drop_from(peer, why);
            return Response::Rejected(why.into());
        }
        // From here the initiator signed it, whoever passed it on.
        if let Some(running) = started {
            let why = match verdict {
                Err(StartFault::Signed(why)) => why,
                _ => "the initiator signed two starts of one proposal".into(),
            };
            self.fail(running, vec![first], why.clone());
            return Response::Refused(why);
        }
        if let Err(refused) = self.begin(peer, &start, me, first, verdict.is_ok()) {
            return refused;
        }
        if let Err(StartFault::Signed(why)) = verdict {
            // The session is opened only to fail: its application learns who is to blame.
            self.fail(id, vec![first], why.clone());
            return Response::Refused(why);
        }
        let early = self
            .pending
            .get_mut(&start.digest)
            .map(|p| std::mem::take(&mut p.early_stamps))
            .unwrap_or_default();
        // A member passing on the start it runs confirms its id as well.
        let passed_on = (from != first).then(|| (from, start.stamp()));
        for (from, stamp) in passed_on.into_iter().chain(early) {
            self.stamp_of(id, from, &stamp, initiator, first);
        }
        Response::Ack
    }

    /// Opens the session of a signed `start` here and hands it to the application (it runs
    /// no protocol until the node reports it ready); if `confirm`, sends the start's stamp to
    /// every other member but the initiator.
    fn begin(
        &mut self,
        peer: PeerId,
        start: &Start,
        me: PartyIndex,
        first: PartyIndex,
        confirm: bool,
    ) -> Result<SessionId, Response> {
        let id = start.session();
        if self.seen.contains(&id) {
            self.drop_from(peer, "replayed session start");
            return Err(Response::Refused("session already started".into()));
        }
        if self.incoming.capacity() == 0 {
            // Sessions the application has not taken up fill the queue.
            return Err(Response::Refused("busy".into()));
        }
        if let Err(e) = self.seen.insert(id) {
            tracing::error!(error = %e, "cannot record a session id");
            return Err(Response::Refused("cannot record the session".into()));
        }
        let Some(pending) = self.pending.get_mut(&start.digest) else {
            return Err(Response::Refused("no such accepted proposal".into()));
        };
        pending.started = Some(id);
        let (proposal, initiator) = (pending.proposal.clone(), pending.initiator);
        let roster = &proposal.draft.roster;
        // Rosters hold at most MAX_ROSTER (1024) parties.
        let awaited: Vec<PartyIndex> = (0..roster.len() as PartyIndex)
            .filter(|i| *i != me && *i != first)
            .collect();
        let stamp = Request::Confirm(start.stamp()).encode();
        for to in awaited.iter().filter(|_| confirm) {
            let purpose = Purpose::Confirm {
                session: id,
                to: *to,
            };
            self.dispatch(Outbound::new(
                roster[usize::from(*to)],
                stamp.clone(),
                purpose,
            ));
        }
        let confirming = Confirming {
            since: Instant::now(),
            awaited,
            without_start: Vec::new(),
            start: Request::Start(start.clone()).encode(),
            to_forward: None,
            forwarding: 0,
        };
        let session = self.open(id, proposal.clone(), Some(confirming), initiator);
        for early in self.early.remove(&id).unwrap_or_default() {
            self.early_count = self.early_count.saturating_sub(1);
            if let Some(n) = self.early_from.get_mut(&early.peer) {
                *n = n.saturating_sub(1);
            }
            self.deliver(id, early.peer, early.payload, Some(early.charge));
        }
        // Cannot fail for lack of room: this task is the only sender and checked capacity.
        if self.incoming.try_send(session).is_err() {
            return Err(Response::Refused("node is stopping".into()));
        }
        if confirm {
            self.ready_if_confirmed(id);
        }
        Ok(id)
    }

    /// A member's confirmation: the stamp of the start it received.
    fn on_confirm(&mut self, peer: PeerId, stamp: Stamp) -> Response {
        let Some(pending) = self.pending.get_mut(&stamp.digest) else {
            // Ran here: a late retry. Unknown: the sender holds this node's signed acceptance
            // and will name it. Known but gone: it expired here before its start came (or ran
            // with another id, which this node's own confirmation showed the sender).
            return if self.ran.contains(&ran(&stamp.digest, &stamp.session)) {
                Response::Ack
            } else if self.accepted.contains(&stamp.digest) {
                Response::Ended
            } else {
                Response::UnknownSession
            };
        };
        let initiator = pending.initiator;
        let (Some(from), Some(first)) = (
            pending.proposal.party_of(&peer),
            pending.proposal.party_of(&initiator),
        ) else {
            self.drop_from(peer, "confirmation of a session it is not in");
            return Response::Rejected("not a member of the session".into());
        };
        if peer == initiator {
            return Response::Rejected("the initiator does not confirm its start".into());
        }
        match pending.started {
            Some(id) => self.stamp_of(id, from, &stamp, initiator, first),
            None => {
                // One per member, until the start comes.
                if pending.early_stamps.iter().all(|(m, _)| *m != from) {
                    pending.early_stamps.push((from, stamp));
                }
                Response::Buffered
            }
        }
    }

    /// Member `from` says it runs the start `stamp` of the session this node runs as `id`.
    /// The same id confirms it; another one signed by the initiator proves the initiator
    /// signed two starts of one proposal; one it did not sign is the member's lie.
    fn stamp_of(
        &mut self,
        id: SessionId,
        from: PartyIndex,
        stamp: &Stamp,
        initiator: PeerId,
        first: PartyIndex,
    ) -> Response {
        if stamp.session == id {
            if let Some(c) = self.live.get_mut(&id).and_then(|l| l.confirming.as_mut()) {
                c.awaited.retain(|m| *m != from);
            }
            self.ready_if_confirmed(id);
            return Response::Ack;
        }
        if stamp.verifies(&initiator) {
            let why = format!(
                "the initiator signed two starts of one proposal (party {from} holds the other)"
            );
            self.fail(id, vec![first], why.clone());
            Response::Refused(why)
        } else {
            let why = format!("party {from} confirmed a session id the initiator did not sign");
            self.fail(id, vec![from], why.clone());
            Response::Rejected(why)
        }
    }

    /// Tells the session it may run once every awaited member has confirmed.
    fn ready_if_confirmed(&mut self, id: SessionId) {
        if let Some(live) = self.live.get_mut(&id) {
            if live
                .confirming
                .as_ref()
                .is_some_and(|c| c.awaited.is_empty())
            {
                live.confirming = None;
                let _ = live.events.try_send(Event::Ready);
            }
        }
    }

    /// The members do not agree on session `id`: its run stops naming `culprits` (each also
    /// logged as a drop), every other member is told, and the session ends here.
    fn fail(&mut self, id: SessionId, culprits: Vec<PartyIndex>, reason: String) {
        let Some(live) = self.live.get(&id) else {
            return;
        };
        let peers: Vec<PeerId> = culprits
            .iter()
            .filter_map(|c| live.proposal.draft.roster.get(usize::from(*c)).copied())
            .collect();
        let _ = live.events.try_send(Event::Failed {
            culprits: culprits.clone(),
            reason: reason.clone(),
        });
        for peer in peers {
            self.drop_from(peer, reason.clone());
        }
        self.abort(id, reason, culprits);
    }

    fn on_message(&mut self, peer: PeerId, payload: Zeroizing<Vec<u8>>) -> Response {
        let header = match Header::decode(&payload) {
            Ok((h, _)) => h,
            Err(e) => {
                self.drop_from(peer, format!("malformed protocol message: {e}"));
                return Response::Rejected(e.to_string());
            }
        };
        let id = header.session;
        if self.live.contains_key(&id) {
            return self.deliver(id, peer, payload, None);
        }
        if self.ended.contains(&id) {
            return Response::Ended;
        }
        // Early: a session this node accepted may start here after a faster member's first
        // message arrives. Hold round 1 only, from a member of an accepted proposal.
        let member = self
            .pending
            .values()
            .any(|p| p.started.is_none() && p.proposal.party_of(&peer).is_some());
        let from_peer = self.early_from.get(&peer).copied().unwrap_or(0);
        let charge = (member
            && header.round <= 1
            && from_peer < self.limits.max_early_per_peer
            && self.early_count < self.limits.max_early)
            .then(|| {
                let early = self.early_held.clone();
                self.charge(peer, payload.len(), (&early, self.limits.max_early_bytes))
            })
            .flatten();
        if let Some(charge) = charge {
            self.early_count += 1;
            *self.early_from.entry(peer).or_default() += 1;
            self.early.entry(id).or_default().push(Early {
                peer,
                payload,
                since: Instant::now(),
                charge,
            });
            return Response::Buffered;
        }
        if member {
            // A later round (a joining device of a reshare sends nothing in rounds 1 and 2,
            // so the dealers' shares can overtake its start) or a full buffer: the sender
            // retries with backoff, and the start will have come.
            return Response::Later;
        }
        Response::UnknownSession
    }

    /// Charges a payload of `len` bytes from `peer` to the node's and the peer's byte budgets
    /// and to `also`, or returns None if one of them would be passed (design §4).
    fn charge(&mut self, peer: PeerId, len: usize, also: (&Meter, usize)) -> Option<Charge> {
        let limits = &self.limits;
        let peer_held = self.peer_held.entry(peer).or_default();
        let budgets = [
            (&self.held, limits.max_held_bytes),
            (&*peer_held, limits.max_peer_bytes),
            also,
        ];
        Charge::take(len.saturating_add(PER_MESSAGE), &budgets)
    }

    /// Hands a message of a live session to it, through the inbox and the byte budgets. A
    /// message held before the start brings its `early` charge; one over a budget, or with
    /// no room in the session's queue, is answered "later" and its sender retries.
    fn deliver(
        &mut self,
        id: SessionId,
        peer: PeerId,
        payload: Zeroizing<Vec<u8>>,
        early: Option<Charge>,
    ) -> Response {
        let max = self.limits.max_messages_per_peer;
        let Some(live) = self.live.get_mut(&id) else {
            return Response::UnknownSession;
        };
        let Some(from) = live.proposal.party_of(&peer) else {
            self.drop_from(peer, "message for a session it is not in");
            return Response::Rejected("not a member of the session".into());
        };
        let header = match Header::decode(&payload) {
            Ok((h, _)) => h,
            Err(e) => return Response::Rejected(e.to_string()),
        };
        // Room in the queue beyond the notices the node keeps for itself.
        let room = live.events.capacity() > NOTICES;
        let (session_held, session_limit) = (live.held.clone(), self.limits.max_session_bytes);
        match live.inbox.offer(from, &header, &payload, max) {
            Offer::New => {
                let charge = match early {
                    // Within the node's and the peer's budgets since it came: it joins the
                    // session's, and the queue was sized to take it.
                    Some(c) => Some(c.moved(&self.early_held, &session_held)),
                    None if room => {
                        self.charge(peer, payload.len(), (&session_held, session_limit))
                    }
                    None => None,
                };
                let queued = charge.map(|charge| {
                    let message = Delivered {
                        from,
                        payload,
                        _charge: charge,
                    };
                    self.live
                        .get_mut(&id)
                        .is_some_and(|l| l.events.try_send(Event::Message(message)).is_ok())
                });
                if queued == Some(true) {
                    return Response::Ack;
                }
                if let Some(live) = self.live.get_mut(&id) {
                    live.inbox.forget(from, &header);
                }
                self.drop_from(peer, "over its byte budget: answered later");
                Response::Later
            }
            Offer::Duplicate => Response::Duplicate,
            Offer::Conflict(c) => {
                // Evidence is kept within the budgets only: one conflict is proof enough.
                let len = c.second.len();
                let charge = if room {
                    self.charge(peer, len, (&session_held, session_limit))
                } else {
                    None
                };
                if let (Some(charge), Some(live)) = (charge, self.live.get(&id)) {
                    let _ = live.events.try_send(Event::Conflict(c, charge));
                }
                Response::Duplicate
            }
            Offer::OverLimit => {
                self.drop_from(peer, "over the per-session message bound");
                Response::Rejected("too many messages in this session".into())
            }
        }
    }

    fn on_abort(
        &mut self,
        peer: PeerId,
        session: SessionId,
        mut named: Vec<PartyIndex>,
        reason: String,
    ) -> Response {
        if let Some(live) = self.live.get(&session) {
            if let Some(by) = live.proposal.party_of(&peer) {
                // Only members of this session can be named.
                let members = live.proposal.draft.roster.len();
                named.retain(|i| usize::from(*i) < members);
                named.sort_unstable();
                named.dedup();
                let _ = live.events.try_send(Event::Aborted { by, reason, named });
                self.end(session);
            }
        }
        Response::Ack
    }

    // ---- sessions --------------------------------------------------------------------

    fn send_message(&mut self, session: SessionId, to: PartyIndex, payload: Zeroizing<Vec<u8>>) {
        let Some(live) = self.live.get(&session) else {
            return;
        };
        let Some(peer) = live.proposal.draft.roster.get(usize::from(to)).copied() else {
            return;
        };
        if peer == self.me {
            return;
        }
        let request = Request::Message(payload).encode();
        if request.len() > self.limits.max_message {
            let _ = live.events.try_send(Event::Undeliverable {
                to,
                reason: "message over the size limit".into(),
            });
            return;
        }
        self.track(session, 1);
        self.dispatch(Outbound::new(
            peer,
            request,
            Purpose::Message { session, to },
        ));
    }

    /// Counts messages of `session` awaiting acknowledgement.
    fn track(&mut self, session: SessionId, n: usize) {
        if let Some(live) = self.live.get_mut(&session) {
            live.outstanding += n;
        }
    }

    /// One message of `session` is acknowledged or given up on.
    fn settled(&mut self, session: SessionId) {
        if let Some(live) = self.live.get_mut(&session) {
            live.outstanding = live.outstanding.saturating_sub(1);
            if live.outstanding == 0 {
                for f in live.flushers.drain(..) {
                    let _ = f.send(());
                }
            }
        }
    }

    fn undeliverable(&mut self, session: SessionId, to: PartyIndex, reason: String) {
        if let Some(live) = self.live.get(&session) {
            let _ = live.events.try_send(Event::Undeliverable { to, reason });
        }
        self.settled(session);
    }

    fn abort(&mut self, session: SessionId, reason: String, named: Vec<PartyIndex>) {
        let Some(live) = self.live.get(&session) else {
            return;
        };
        let request = Request::Abort {
            session,
            named,
            reason: reason.clone(),
        }
        .encode();
        for peer in live.proposal.others(&self.me) {
            self.dispatch(Outbound::new(peer, request.clone(), Purpose::Abort));
        }
        tracing::info!(session = %hex(&session), %reason, "session aborted");
        self.end(session);
    }

    /// Ends a session here: later messages for it are answered "ended". A member forgets its
    /// proposal, remembering only that this start ran, so a late retry of it or a member's
    /// confirmation of it is still acknowledged.
    fn end(&mut self, session: SessionId) {
        if let Some(mut live) = self.live.remove(&session) {
            for f in live.flushers.drain(..) {
                let _ = f.send(());
            }
            self.ended.insert(session);
            let digest = live.proposal.digest();
            if self.pending.get(&digest).and_then(|p| p.started) == Some(session) {
                self.pending.remove(&digest);
                self.ran.insert(ran(&digest, &session));
            }
        }
    }

    /// Forgets proposals whose start never came and early messages held as long, and aborts
    /// sessions the application has not taken up in that time.
    fn expire(&mut self, now: Instant) {
        let ttl = self.limits.proposal_ttl;
        let fresh = |since: &Instant| now.saturating_duration_since(*since) < ttl;
        let stale: Vec<SessionId> = self
            .live
            .iter()
            .filter(|(_, l)| !fresh(&l.opened))
            .filter(|(_, l)| {
                l.claim
                    .compare_exchange(UNCLAIMED, EXPIRED, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
            })
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.abort(
                id,
                "the session was not taken up in time".into(),
                Vec::new(),
            );
        }
        self.expire_confirmations(now);
        // A proposal whose session runs is kept as long as the session.
        let live = &self.live;
        self.pending
            .retain(|_, p| fresh(&p.since) || p.started.is_some_and(|id| live.contains_key(&id)));
        // Dropping an expired message gives its bytes back.
        for held in self.early.values_mut() {
            held.retain(|e| fresh(&e.since));
        }
        self.early.retain(|_, held| !held.is_empty());
        self.early_count = self.early.values().map(Vec::len).sum();
        self.early_from.clear();
        for e in self.early.values().flatten() {
            *self.early_from.entry(e.peer).or_default() += 1;
        }
    }

    /// Half a round deadline into a confirmation, passes the start on to the members not yet
    /// heard from (the initiator may have withheld it from them); at the deadline, fails the
    /// session naming them.
    fn expire_confirmations(&mut self, now: Instant) {
        let deadline = self.limits.round_timeout;
        let mut forward = Vec::new();
        let mut late = Vec::new();
        for (id, live) in &mut self.live {
            let Some(c) = live.confirming.as_mut() else {
                continue;
            };
            let waited = now.saturating_duration_since(c.since);
            if waited >= deadline {
                late.push((*id, c.awaited.clone()));
            } else if waited >= deadline / 2 && c.to_forward.is_none() {
                // Those that said they lack the start first, then the silent.
                let (first, rest): (Vec<_>, Vec<_>) =
                    c.awaited.iter().partition(|m| c.without_start.contains(m));
                c.to_forward = Some(first.into_iter().chain(rest).collect());
                forward.push(*id);
            }
        }
        for session in forward {
            self.forward_next(session);
        }
        for (id, awaited) in late {
            let why = "no confirmation of the session id within the round deadline";
            self.fail(id, awaited, why.into());
        }
    }

    /// Passes the start of `session` on to the next members still awaited, keeping at most
    /// [`FORWARDS_IN_FLIGHT`] passes in flight.
    fn forward_next(&mut self, session: SessionId) {
        let Some(live) = self.live.get_mut(&session) else {
            return;
        };
        let Some(c) = live.confirming.as_mut() else {
            return;
        };
        let mut out = Vec::new();
        while c.forwarding < FORWARDS_IN_FLIGHT {
            let Some(m) = c.to_forward.as_mut().and_then(VecDeque::pop_front) else {
                break;
            };
            let Some(peer) = live.proposal.draft.roster.get(usize::from(m)) else {
                continue;
            };
            if c.awaited.contains(&m) {
                c.forwarding += 1;
                out.push(Outbound::new(
                    *peer,
                    c.start.clone(),
                    Purpose::Forward { session },
                ));
            }
        }
        for o in out {
            self.dispatch(o);
        }
    }

    /// A pass of the start of `session` is answered or given up on.
    fn forwarded(&mut self, session: SessionId) {
        if let Some(c) = self
            .live
            .get_mut(&session)
            .and_then(|l| l.confirming.as_mut())
        {
            c.forwarding = c.forwarding.saturating_sub(1);
        }
        self.forward_next(session);
    }

    // ---- requests --------------------------------------------------------------------

    /// Dials `peer` from a fresh local port unless connected or dialing already.
    ///
    /// libp2p's default dial binds the listening port; two nodes dialing each other at once
    /// then make one TCP connection by simultaneous open, both ends start noise as the
    /// initiator and the handshake fails, again on every retry with the same backoff. A fresh
    /// port gives two ordinary connections instead. Request-response's own dial for the same
    /// peer is then refused by its dial condition, which it ignores.
    fn dial(&mut self, peer: PeerId) -> Result<(), libp2p::swarm::DialError> {
        let known = self.addresses.get(&peer).cloned().unwrap_or_default();
        self.swarm.dial(
            DialOpts::peer_id(peer)
                .addresses(known)
                .extend_addresses_through_behaviour()
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .allocate_new_port()
                .build(),
        )
    }

    fn dispatch(&mut self, out: Outbound) {
        if !self.swarm.is_connected(&out.peer) {
            // A failed dial fails the request below, which is then retried.
            let _ = self.dial(out.peer);
        }
        let id = self
            .swarm
            .behaviour_mut()
            .rr
            .send_request(&out.peer, Frame::Bytes(out.request.clone()));
        self.outbound.insert(id, out);
    }

    fn failed(&mut self, id: OutboundRequestId, error: String) {
        if let Some(out) = self.outbound.remove(&id) {
            self.retry(out, error);
        }
    }

    /// Sends `out` again after a backoff, or, after the last attempt, gives up on it.
    fn retry(&mut self, mut out: Outbound, error: String) {
        if !self.wanted(&out.purpose) {
            return;
        }
        if let Purpose::Forward { session } = out.purpose {
            // Not retried: a member that does not answer does not hold up the next one.
            self.forwarded(session);
            return;
        }
        out.attempt += 1;
        if out.attempt < self.limits.attempts {
            let backoff = self.limits.first_backoff * 2u32.saturating_pow(out.attempt - 1);
            self.schedule(out, backoff);
            return;
        }
        let reason = format!("undelivered after {} attempts: {error}", out.attempt);
        self.give_up(out, reason);
    }

    /// The recipient has not seen the session start, or holds as much as its budgets allow:
    /// send again, backing off up to a second, for at most a round deadline from its first
    /// "later".
    fn later(&mut self, mut out: Outbound) {
        if !self.wanted(&out.purpose) {
            return;
        }
        let now = Instant::now();
        let until = *out
            .later_until
            .get_or_insert(now + self.limits.round_timeout);
        if now >= until {
            let why = "not taken there within a round deadline (its session had not started, or \
                       it was over a byte budget)";
            self.give_up(out, why.into());
            return;
        }
        let backoff = (self.limits.first_backoff * 2u32.saturating_pow(out.laters))
            .min(Duration::from_secs(1));
        out.laters = out.laters.saturating_add(1);
        self.schedule(out, backoff);
    }

    /// Whether a request is still wanted: its proposal or session is alive here.
    fn wanted(&self, purpose: &Purpose) -> bool {
        match purpose {
            Purpose::Propose { digest } => self.initiating.contains_key(digest),
            Purpose::Start { session, .. }
            | Purpose::Message { session, .. }
            | Purpose::Confirm { session, .. }
            | Purpose::Forward { session } => self.live.contains_key(session),
            Purpose::Abort => true,
            Purpose::Ask { key } => self.asking.contains_key(key),
        }
    }

    /// Sends `out` again after `delay`.
    fn schedule(&mut self, out: Outbound, delay: Duration) {
        let key = self.next_retry;
        self.next_retry += 1;
        self.retrying.insert(key, out);
        let commands = self.commands.clone();
        tokio::spawn(async move {
            tokio::time::sleep(delay).await;
            let _ = commands.send(Command::Retry(key));
        });
    }

    /// Reports a request that will not be delivered.
    fn give_up(&mut self, out: Outbound, reason: String) {
        match out.purpose {
            Purpose::Propose { digest } => self.proposal_failed(digest, out.peer, reason),
            Purpose::Start { session, to } | Purpose::Message { session, to } => {
                self.undeliverable(session, to, reason)
            }
            Purpose::Confirm { session, to } => self.fail(
                session,
                vec![to],
                format!("party {to} unreachable: {reason}"),
            ),
            Purpose::Forward { session } => self.forwarded(session),
            Purpose::Abort => {}
            Purpose::Ask { key } => {
                if let Some(reply) = self.asking.remove(&key) {
                    let _ = reply.send(Err(reason));
                }
            }
        }
    }

    fn answered(&mut self, id: OutboundRequestId, peer: PeerId, bytes: &[u8]) {
        let Some(out) = self.outbound.remove(&id) else {
            return;
        };
        let response = match Response::decode(bytes) {
            Ok(r) => r,
            Err(e) => {
                self.drop_from(peer, format!("malformed response: {e}"));
                Response::Rejected(format!("malformed response: {e}"))
            }
        };
        match out.purpose {
            Purpose::Propose { digest } => {
                let answer = match response {
                    Response::Accepted { nonce, signature } => Ok((nonce, signature)),
                    Response::Refused(r) | Response::Rejected(r) => Err(r),
                    other => Err(format!("unexpected answer {other:?}")),
                };
                self.proposal_answered(digest, peer, answer);
            }
            Purpose::Start { session, to } => match response {
                Response::Ack => self.settled(session),
                Response::Refused(r) | Response::Rejected(r) => {
                    self.undeliverable(session, to, format!("refused the start: {r}"))
                }
                other => self.undeliverable(session, to, format!("unexpected answer {other:?}")),
            },
            Purpose::Message { session, to } => match response {
                Response::Ack | Response::Duplicate | Response::Buffered | Response::Ended => {
                    self.settled(session)
                }
                Response::Later => self.later(out),
                Response::UnknownSession => self.undeliverable(
                    session,
                    to,
                    "does not have the session (it restarted or never started it)".into(),
                ),
                Response::Rejected(r) | Response::Refused(r) => {
                    self.undeliverable(session, to, format!("rejected a message: {r}"))
                }
                Response::Accepted { .. } | Response::Answer(_) => {
                    self.undeliverable(session, to, "unexpected answer".into())
                }
            },
            Purpose::Confirm { session, to } => match response {
                // It holds no record of a proposal whose acceptance it signed.
                Response::UnknownSession => self.fail(
                    session,
                    vec![to],
                    format!("party {to} denies the proposal it signed an acceptance of"),
                ),
                Response::Ended => self.fail(
                    session,
                    Vec::new(),
                    format!("party {to} let the proposal expire before its start"),
                ),
                // Held: it has not seen the start, and is the first it is passed on to.
                Response::Buffered => {
                    if let Some(c) = self
                        .live
                        .get_mut(&session)
                        .and_then(|l| l.confirming.as_mut())
                    {
                        c.without_start.push(to);
                    }
                }
                // Taken; or a mismatch, which its own confirmation shows this node.
                _ => {}
            },
            Purpose::Forward { session } => self.forwarded(session),
            Purpose::Abort => {}
            Purpose::Ask { key } => {
                if let Some(reply) = self.asking.remove(&key) {
                    let answer = match response {
                        Response::Answer(bytes) => Some(bytes),
                        _ => None,
                    };
                    let _ = reply.send(Ok(answer));
                }
            }
        }
    }

    /// A peer's question, for the application's answerer.
    fn on_ask(&mut self, peer: PeerId, question: &[u8]) -> Response {
        if !self.ask_rate.take(peer, Instant::now()) {
            return Response::Refused("too many questions".into());
        }
        match self.answers.as_ref().and_then(|a| a(&peer, question)) {
            Some(answer) => Response::Answer(answer),
            None => Response::Refused("no answer".into()),
        }
    }

    fn request(&mut self, peer: PeerId, frame: Frame, channel: ResponseChannel<Vec<u8>>) {
        // A relay is let through the allow-list for its circuits, not for requests: only the
        // peers the application allowed speak the session protocol (design §4.11).
        let refused = if !self.allowed.contains(&peer) {
            self.drop_from(peer, "a request from a peer that is not allowed");
            Some("not allowed")
        } else if let Frame::Oversized(len) = &frame {
            let limit = self.limits.max_message;
            self.drop_from(
                peer,
                format!("frame of {len} bytes over the {limit} byte limit"),
            );
            self.offence(peer, Fault::Malformed("a frame over the size limit"));
            Some("frame over the size limit")
        } else {
            None
        };
        let bytes = match (refused, frame) {
            (None, Frame::Bytes(b)) => b,
            (why, _) => {
                let why = why.unwrap_or("frame over the size limit");
                let refusal = Response::Rejected(why.into()).encode();
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .rr
                    .send_response(channel, refusal);
                return;
            }
        };
        let response = match Request::decode(&bytes) {
            Err(e) => {
                self.drop_from(peer, format!("malformed request: {e}"));
                self.offence(peer, Fault::Malformed("a request that does not decode"));
                Response::Rejected(format!("malformed request: {e}"))
            }
            Ok(Request::Propose(p)) => self.on_propose(peer, &p),
            Ok(Request::Start(start)) => self.on_start(peer, start),
            Ok(Request::Confirm(stamp)) => self.on_confirm(peer, stamp),
            Ok(Request::Message(payload)) => self.on_message(peer, payload),
            Ok(Request::Abort {
                session,
                named,
                reason,
            }) => self.on_abort(peer, session, named, reason),
            Ok(Request::Ask(question)) => self.on_ask(peer, &question),
        };
        let _ = self
            .swarm
            .behaviour_mut()
            .rr
            .send_response(channel, response.encode());
    }

    fn swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        use request_response::{Event as Rr, Message};
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Rr(event)) => match event {
                Rr::Message {
                    peer,
                    message:
                        Message::Request {
                            request, channel, ..
                        },
                    ..
                } => self.request(peer, request, channel),
                Rr::Message {
                    peer,
                    message:
                        Message::Response {
                            request_id,
                            response,
                        },
                    ..
                } => self.answered(request_id, peer, &response),
                Rr::OutboundFailure {
                    request_id, error, ..
                } => self.failed(request_id, error.to_string()),
                Rr::InboundFailure { peer, error, .. } => {
                    self.drop_from(peer, format!("inbound request failed: {error}"))
                }
                Rr::ResponseSent { .. } => {}
            },
            #[cfg(feature = "mdns")]
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(libp2p::mdns::Event::Discovered(list))) => {
                for (peer, addr) in list {
                    if self.allowed.contains(&peer) {
                        self.swarm.add_peer_address(peer, addr);
                    }
                }
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                ..
            } => {
                // An inbound circuit's address names only the dialling peer: ask the endpoint.
                let link = if endpoint.is_relayed() {
                    Link::Relayed
                } else {
                    Link::of(endpoint.get_remote_address())
                };
                tracing::debug!(%peer_id, link = link.name(), "connected");
                self.links
                    .entry(peer_id)
                    .or_default()
                    .insert(connection_id, link);
                for w in self.connecting.remove(&peer_id).unwrap_or_default() {
                    let _ = w.send(Ok(()));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                ..
            } => {
                if let Some(links) = self.links.get_mut(&peer_id) {
                    links.remove(&connection_id);
                    if links.is_empty() {
                        self.links.remove(&peer_id);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                info,
                peer_id,
                ..
            })) => {
                // What a peer or the relay saw as this node's address: identify itself offers
                // it to hole punching (DCUtR) as a candidate. (Confirming it here as an
                // external address would stop identify from offering it.)
                tracing::debug!(%peer_id, observed = %info.observed_addr, "identified");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Dcutr(event)) => {
                tracing::info!(peer = %event.remote_peer_id, result = ?event.result, "hole punching");
            }
            SwarmEvent::OutgoingConnectionError {
                peer_id: Some(peer),
                error,
                ..
            } => {
                for w in self.connecting.remove(&peer).unwrap_or_default() {
                    let _ = w.send(Err(NodeError::Dial {
                        peer,
                        reason: error.to_string(),
                    }));
                }
            }
            _ => {}
        }
    }
}
