//! The reshare transcript (design §3.3 step 4).
//!
//! The new epoch's key id is [`tessera_keygen::epoch_key_id`] over the new public data (suite,
//! t', group key P, new verifying shares, chain code, new roster, epoch e+1) and the digest
//! below, which binds the old epoch's key id (the "old epoch hash", which itself binds P, the
//! chain code, the old roster, old t and old verifying shares) and the run digest: the session
//! id, the set S with its old identifiers, and every dealer's commitments as sent. Every new
//! party signs that key id: its confirmation. The |N| confirmations are the new epoch's
//! certificate.

use tessera_core::{hash::transcript_hash, Ciphersuite, SessionId};

/// Version of the reshare transcript layout.
const VERSION: &[u8] = b"tessera-reshare-v2";

/// The digest of one reshare run: the session id, the set S with its old identifiers, and
/// every dealer's commitments as sent. A relayed [`crate::Transition`] carries it.
pub(crate) fn run_digest(session: &SessionId, old_ids: &[u16], commitments: &[&[u8]]) -> [u8; 32] {
    let ids: Vec<u8> = old_ids.iter().flat_map(|i| i.to_be_bytes()).collect();
    let mut parts: Vec<&[u8]> = vec![VERSION, session, &ids];
    parts.extend_from_slice(commitments);
    transcript_hash("tessera/v1/reshare/run", &parts)
}

/// The digest that takes the place of a DKG's commitments digest in the new epoch's key id:
/// the old epoch's key id, which the new epoch succeeds, and the run.
pub(crate) fn digest(old_key_id: &[u8; 32], run_digest: &[u8; 32]) -> [u8; 32] {
    transcript_hash(
        "tessera/v1/reshare/transcript",
        &[VERSION, old_key_id, run_digest],
    )
}

/// The message of the test signature (design §3.3 step 4): the domain, then the new epoch's
/// key id, which the certificate's signatures sign. The signatures themselves are not
/// hashed: Ed25519 signatures are not unique, and devices may hold different valid
/// certificates of one key id.
pub(crate) fn test_message(key_id: &[u8; 32]) -> Vec<u8> {
    let mut m = b"tessera/v1/reshare/test-signature".to_vec();
    m.extend_from_slice(key_id);
    m
}

/// The offset τ of the test signature's key `P + τ·G`: the suite's hash to a scalar of the
/// new key id. An ordinary signing request derives its key from P by BIP-32 and TapTweak
/// hashes only, so no request can name this key, and no signing session can produce a test
/// signature.
pub(crate) fn test_key_offset<C: Ciphersuite>(key_id: &[u8; 32]) -> C::Scalar {
    C::hash_to_scalar(b"tessera/v1/reshare/test-key", &[key_id])
}
