//! # tessera-p2p
//!
//! The libp2p mesh of design §4: a [`Node`] per device with its long-term Ed25519 identity,
//! TCP + noise + yamux, an allow-list of committee peers, one request-response protocol
//! (`/tessera/mpc/2`) whose responses are acknowledgements; the session layer (proposals,
//! policies, session ids binding every party's nonce, seen ids remembered across restarts,
//! duplicates and conflicting repeats, bounded early buffering, retries, deadlines); and one
//! driver, [`run`], that runs any sans-IO `Protocol` (keygen, sign, reshare) over a session.
//!
//! A message's sender is always the PeerId noise authenticated on its connection, mapped to
//! its index in the accepted roster; nothing in a payload can claim another sender.
//!
//! ## A session, step by step
//!
//! 1. The initiator sends its [`Proposal`] (a [`Draft`] and its nonce) to every other roster
//!    member. Each member checks the roster (itself and the initiator in it, every member on
//!    its allow-list, every PeerId an Ed25519 key), its bounds and rate limit, then asks the
//!    caller's [`Policy`]; it answers with a fresh nonce and its signature over the proposal
//!    digest and that nonce (its acceptance), or a refusal. The initiator checks each
//!    acceptance signature.
//! 2. With every acceptance, the initiator computes the session id ([`session_id`]), records
//!    it in its [`SeenSessions`] store, and sends the [`Start`]: the digest, every nonce and
//!    acceptance in roster order, signed with its identity key. A member checks the signature,
//!    its own and the initiator's nonces and every acceptance, records the id (a start naming
//!    a recorded id is refused), and hands the [`Session`] to its application
//!    ([`Node::next_session`]), whose protocol does not start yet.
//! 3. Every member but the initiator sends the start's [`Stamp`] (digest, id, acceptances
//!    hash, initiator's signature) to every other such member, and its protocol starts once
//!    each of them has confirmed the same id ([`Request::Confirm`]). Otherwise the run stops
//!    with [`RunError::NotAgreed`] naming:
//!    - the initiator, proven by its own signatures, for a signed start with a nonce or
//!      acceptance that is not the member's, or two signed starts of one proposal with
//!      different ids (the initiator signs one start per proposal, and members' acceptances
//!      are signed, so no one else can make either);
//!    - a member that confirms another id without the initiator's signature on it, named by
//!      the member it told so: the confirmation came over the authenticated connection but
//!      is not signed, so this is that member's accusation, not proof; the initiator is not
//!      named, since a member's word cannot blame it;
//!    - a member that answers a confirmation as if it never accepted the proposal: the start
//!      carries its signed acceptance (proof that it accepted; the denial is the accuser's
//!      word), so a member that lost its state after a restart is named too, and so is one
//!      that forgot the proposal because the initiator delayed its start past
//!      [`Limits::proposal_ttl`] and 4096 later acceptances there (an accusation, not proof);
//!    - the members not heard from by the round deadline, on local observation only, as for
//!      [`RunError::Timeout`]. Half a deadline in, a member passes its start on (two at a
//!      time) to those it has not heard from, so an initiator that withholds its start from
//!      some members gains nothing.
//!
//!    This costs one message from each member to each other member but the initiator, and
//!    none in a session of two; the initiator's own protocol starts at once.
//! 4. Each party runs its protocol with [`run`]. Messages are point to point (broadcast is a
//!    send to all, and the protocols check echoes); every one is acknowledged and retried
//!    with exponential backoff until acknowledged or given up on, which aborts the session.
//! 5. A party that fails tells every member why and whom it blames ([`Request::Abort`]);
//!    each then stops with [`RunError::Aborted`], which names them on the aborting member's
//!    word ([`RunError::blamed`], [`Strength`]). A round deadline ([`Limits::round_timeout`])
//!    aborts naming the peers the protocol was waiting for. A peer that sends bytes no honest
//!    node sends fails every session it shares with the node ([`RunError::Offence`]).
//!
//! ## Buffering, and where it differs from "one round ahead"
//!
//! Before a session starts on a node (a faster member's round-1 message can arrive before
//! the start), only round-1 messages from members of a proposal the node accepted are held,
//! bounded per peer, in count and in bytes, and for at most [`Limits::proposal_ttl`]; a
//! later round, or one over the bounds, is answered [`Response::Later`] and the sender
//! retries it with backoff (in a reshare the dealers' round-2 shares can overtake a joining
//! device's start, since it sends nothing before them). Held messages count against the
//! byte budgets below. Once
//! the session runs, every message of it is handed to the protocol, which keeps future
//! rounds itself: a window of "one round ahead of what this party has sent" would drop
//! legitimate messages in a reshare, where a joining device sends nothing in rounds 1 and 2
//! and a retiring dealer nothing in rounds 7 to 9. The bound is instead one message per
//! (sender, kind, round), at most [`Limits::max_messages_per_peer`] per sender and session;
//! an identical repeat is a duplicate, the first different one is kept as evidence
//! ([`Session::conflicts`]), later ones are dropped.
//!
//! ## What a peer can make a node hold
//!
//! Counts bound messages; bytes bound memory (design §4). Every message a node holds for a
//! peer is charged to byte budgets of the peer ([`Limits::max_peer_bytes`]), of its session
//! ([`Limits::max_session_bytes`]) and of the node ([`Limits::max_held_bytes`]) until its
//! protocol takes it or the session ends; past one of them the message is answered
//! [`Response::Later`] and its sender retries. A session's queue of events is bounded
//! ([`Limits::max_queued`]), and one peer's proposals hold at most
//! [`Limits::max_sessions_per_peer`] of the node's sessions, so the others stay free for
//! honest sessions. [`Limits`] documents the resulting memory bound and how it follows from
//! the limits: [`Limits::peer_memory_bound`] for one peer (53 MiB with the defaults) and
//! [`Limits::memory_bound`] for the node.
//!
//! The device layer of the `tessera` CLI builds keygen, signing and resharing sessions on top;
//! this crate knows no protocol (design §1).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod codec;
mod driver;
mod identity;
mod inbox;
mod limits;
pub mod metrics;
mod node;
mod policy;
mod proposal;
pub mod relay_node;
mod seen;
mod session;
pub mod tamper;
mod wire;

pub use codec::{Frame, Frames, PROTOCOL};
pub use driver::{run, Blamed, RunError, Strength};
pub use inbox::{Conflict, Inbox, Offer};
pub use libp2p::{identity::Keypair, multiaddr::Protocol, Multiaddr, PeerId};
pub use limits::{Limits, CONNECTIONS_PER_PEER};
pub use node::{relay_of, Dropped, Link, Node, NodeConfig, NodeError, ProposeError};
pub use policy::{accept_all, Answerer, Decision, Policy};
pub use proposal::{
    acceptance_verifies, session_id, sign_acceptance, Draft, Proposal, Signature, Stamp, Start,
    MAX_ROSTER, MAX_START,
};
pub use seen::{FileSeen, MemorySeen, SeenSessions};
pub use session::{hex, Session};
pub use wire::{Reader, Request, Response, WireError, Writer};

pub use identity::{identities, identity_of, peer_of};

/// Test support (feature `testing`): a raw peer that speaks `/tessera/mpc/2` byte by byte.
#[cfg(feature = "testing")]
pub mod testing;

pub use tessera_core::protocol::Kind;
