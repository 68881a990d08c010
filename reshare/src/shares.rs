//! Reshare round 2 (design §3.3 steps 1 and 3): each dealer sends `g_i(j)` to each new party
//! j, with the echo hash of every deal it saw.
//!
//! Body after the header: `g_i(j) (32) ‖ echo hash (32)`. Sent point-to-point over the
//! authenticated, encrypted channel; not signed (a bad share is "accused by j").

use tessera_core::{
    hash::transcript_hash, protocol::Header, Ciphersuite, EncodingError, SecretScalar, SessionId,
};
use zeroize::Zeroizing;

/// A received share.
pub(crate) struct Share<C: Ciphersuite> {
    pub share: SecretScalar<C>,
    pub echo: [u8; 32],
    /// A digest of the payload, to tell an identical repeat from a different one.
    pub digest: [u8; 32],
}

/// The echo hash: every deal in dealer order, bound to the session.
pub(crate) fn echo_hash(session: &SessionId, deals: &[&[u8]]) -> [u8; 32] {
    let mut parts: Vec<&[u8]> = vec![session];
    parts.extend_from_slice(deals);
    transcript_hash("tessera/v1/reshare/echo", &parts)
}

/// The payload carrying `share` and `echo`; the buffer is wiped when dropped.
pub(crate) fn build<C: Ciphersuite>(
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

/// Decodes a share body.
pub(crate) fn decode<C: Ciphersuite>(
    payload: &[u8],
    body: &[u8],
) -> Result<Share<C>, EncodingError> {
    let (share, echo) = body
        .split_first_chunk::<32>()
        .filter(|(_, echo)| echo.len() == 32)
        .ok_or(EncodingError::Length {
            expected: 64,
            got: body.len(),
        })?;
    let mut e = [0u8; 32];
    e.copy_from_slice(echo);
    Ok(Share {
        share: SecretScalar::from_bytes(share)?,
        echo: e,
        digest: transcript_hash("tessera/v1/reshare/share-repeat", &[payload]),
    })
}
