//! # tessera-p2p
//!
//! The libp2p mesh of design §4: a [`Node`] per device with its long-term Ed25519 identity,
//! TCP + noise + yamux, an allow-list of committee peers, one request-response protocol
//! (`/tessera/mpc/1`) whose responses are acknowledgements; the session layer (proposals,
//! policies, session ids binding every party's nonce, seen ids remembered across restarts,
//! duplicates and conflicting repeats, bounded early buffering, retries, deadlines); and one
//! driver, [`run`], that runs any sans-IO `Protocol` (keygen, sign, reshare) over a session.
//!
//! A message's sender is always the PeerId noise authenticated on its connection, mapped to
//! its index in the accepted roster; nothing in a payload can claim another sender.
//!
//! The [`jobs`] module (feature `jobs`) builds keygen, signing and resharing sessions on top.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod codec;
mod driver;
mod inbox;
mod limits;
mod node;
mod policy;
mod proposal;
mod seen;
mod session;
mod wire;

pub use codec::{Frame, Frames, PROTOCOL};
pub use driver::{run, RunError};
pub use inbox::{Conflict, Inbox, Offer};
pub use libp2p::{identity::Keypair, Multiaddr, PeerId};
pub use limits::Limits;
pub use node::{Dropped, Node, NodeConfig, NodeError, ProposeError};
pub use policy::{accept_all, Decision, Policy};
pub use proposal::{session_id, Draft, Proposal, MAX_ROSTER};
pub use seen::{FileSeen, MemorySeen, SeenSessions};
pub use session::{hex, Session};
pub use wire::{Request, Response, WireError};

#[cfg(feature = "jobs")]
pub mod jobs;

pub use tessera_core::protocol::Kind;
