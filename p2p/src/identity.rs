//! A device's identity on the mesh (design §3, §4): one Ed25519 key is both its libp2p key
//! (its PeerId) and its protocol identity key, so a session's roster of PeerIds is the
//! protocols' roster of identity keys, in the same order.

use libp2p::{identity::Keypair, PeerId};
use tessera_core::{Ed25519Identity, IdentityKey};

use crate::NodeError;

/// The identity key behind a PeerId (an Ed25519 one).
pub fn identity_of(peer: &PeerId) -> Option<IdentityKey> {
    IdentityKey::from_peer_id_bytes(&peer.to_bytes()).ok()
}

/// The PeerId of an identity key.
pub fn peer_of(key: &IdentityKey) -> Option<PeerId> {
    PeerId::from_bytes(&key.peer_id_bytes()).ok()
}

/// A libp2p keypair and a protocol identity from one Ed25519 seed.
pub fn identities(seed: &[u8; 32]) -> Result<(Keypair, Ed25519Identity), NodeError> {
    let keypair = Keypair::ed25519_from_bytes(*seed)
        .map_err(|e| NodeError::Transport(format!("identity: {e}")))?;
    Ok((keypair, Ed25519Identity::from_seed(seed)))
}
