//! The reshare transcript (design §3.3 step 4).
//!
//! The new epoch's key id is [`tessera_keygen::epoch_key_id`] over the new public data (suite,
//! t', group key P, new verifying shares, chain code, new roster, epoch e+1) and the digest
//! below, which binds the session id, the old epoch's key id (the "old epoch hash", which
//! itself binds P, the chain code, the old roster, old t and old verifying shares), the set S
//! with its old identifiers, and every dealer's commitments as sent. Every new party signs
//! that key id: its confirmation. The |N| confirmations are the new epoch's certificate.

use tessera_core::{hash::transcript_hash, SessionId};

/// Version of the reshare transcript layout.
const VERSION: &[u8] = b"tessera-reshare-v1";

/// The digest of one reshare run, in place of a DKG's commitments digest.
pub(crate) fn digest(
    session: &SessionId,
    old_key_id: &[u8; 32],
    old_ids: &[u16],
    commitments: &[&[u8]],
) -> [u8; 32] {
    let ids: Vec<u8> = old_ids.iter().flat_map(|i| i.to_be_bytes()).collect();
    let mut parts: Vec<&[u8]> = vec![VERSION, session, old_key_id, &ids];
    parts.extend_from_slice(commitments);
    transcript_hash("tessera/v1/reshare/transcript", &parts)
}

/// The message of the test signature (design §3.3 step 4): the domain, then the hash of the
/// new epoch's certificate.
pub(crate) fn test_message(key_id: &[u8; 32], signatures: &[[u8; 64]]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = vec![key_id];
    parts.extend(signatures.iter().map(|s| s.as_slice()));
    let hash = transcript_hash("tessera/v1/reshare/certificate", &parts);
    let mut m = b"tessera/v1/reshare/test-signature".to_vec();
    m.extend_from_slice(&hash);
    m
}
