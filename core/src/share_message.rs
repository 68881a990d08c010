//! The private share message of the DKG (design §3.1 round 2) and of resharing (design §3.3
//! round 2): a secret share for one receiver and the echo hash of every broadcast the sender
//! saw in round 1.
//!
//! Body after the header: `share (32) ‖ echo hash (32)`. Sent point-to-point over the
//! authenticated, encrypted channel and not signed, so a bad share is "accused by" its
//! receiver. Each protocol hashes under its own [`Tags`].

use zeroize::Zeroizing;

use crate::{
    echo, hash::transcript_hash, protocol::Header, Ciphersuite, EncodingError, SecretScalar,
    SessionId,
};

/// The domain tags one protocol hashes its share messages under.
#[derive(Debug, Clone, Copy)]
pub struct Tags {
    /// The echo hash of the round-1 broadcasts.
    pub echo: &'static str,
    /// The digest that tells an identical repeat of a message from a different one.
    pub repeat: &'static str,
}

/// A received share message.
pub struct ShareMessage<C: Ciphersuite> {
    /// The secret share.
    pub share: SecretScalar<C>,
    /// The sender's echo hash.
    pub echo: [u8; 32],
    /// A digest of the payload, to tell an identical repeat from a different one.
    pub digest: [u8; 32],
}

/// The echo hash: the signed content of every round-1 broadcast in order (each without its
/// identity signature, [`echo::unsigned`]), bound to the session. Ed25519 signatures are not
/// unique: a sender can sign one message twice with different bytes, and only what it signed
/// may count, or its two copies would set honest parties against each other (design §3.3).
pub fn echo_hash(tags: &Tags, session: &SessionId, broadcasts: &[&[u8]]) -> [u8; 32] {
    let mut parts: Vec<&[u8]> = vec![session];
    parts.extend(broadcasts.iter().map(|b| echo::unsigned(b)));
    transcript_hash(tags.echo, &parts)
}

/// The payload carrying `share` and `echo`; the buffer is wiped when dropped.
pub fn build<C: Ciphersuite>(
    header: &Header,
    share: &SecretScalar<C>,
    echo: &[u8; 32],
) -> Zeroizing<Vec<u8>> {
    // Sized up front: a reallocation would leave a copy of the share in freed memory.
    let mut payload = Zeroizing::new(Vec::with_capacity(Header::LEN + 64));
    payload.extend_from_slice(&header.encode());
    payload.extend_from_slice(&*share.to_bytes());
    payload.extend_from_slice(echo);
    payload
}

/// Decodes a share message `body` (the part of `payload` after its header) strictly.
pub fn decode<C: Ciphersuite>(
    tags: &Tags,
    payload: &[u8],
    body: &[u8],
) -> Result<ShareMessage<C>, EncodingError> {
    if body.len() != 64 {
        return Err(EncodingError::Length {
            expected: 64,
            got: body.len(),
        });
    }
    let share = SecretScalar::from_bytes(&body[..32])?;
    let mut echo = [0u8; 32];
    echo.copy_from_slice(&body[32..]);
    Ok(ShareMessage {
        share,
        echo,
        digest: transcript_hash(tags.repeat, &[payload]),
    })
}
