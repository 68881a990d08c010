//! DKG round 2 (design §3.1 steps 2–3): each party's secret share `f_i(j)` to party j, with
//! the echo hash of all n round-1 messages the sender saw.
//!
//! Body after the header: `f_i(j) (32) ‖ echo hash (32)`. Sent point-to-point over the
//! authenticated, encrypted channel; not signed (a bad share is "accused by j").

use tessera_core::{
    hash::transcript_hash, protocol::Header, Ciphersuite, EncodingError, SecretScalar, SessionId,
};
use zeroize::Zeroizing;

/// A received round-2 message.
pub(crate) struct Round2<C: Ciphersuite> {
    pub share: SecretScalar<C>,
    pub echo: [u8; 32],
    /// The payload, to tell an identical repeat from a different one.
    pub digest: [u8; 32],
}

/// The echo hash: every round-1 payload in roster order, bound to the session.
pub(crate) fn echo_hash(session: &SessionId, round1: &[&[u8]]) -> [u8; 32] {
    let mut parts: Vec<&[u8]> = vec![session];
    parts.extend_from_slice(round1);
    transcript_hash("tessera/v1/dkg/echo", &parts)
}

/// The payload carrying `share` and `echo`. The buffer is zeroized when dropped.
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

/// Decodes a round-2 body.
pub(crate) fn decode<C: Ciphersuite>(
    payload: &[u8],
    body: &[u8],
) -> Result<Round2<C>, EncodingError> {
    if body.len() != 64 {
        return Err(EncodingError::Length {
            expected: 64,
            got: body.len(),
        });
    }
    let share = SecretScalar::from_bytes(&body[..32])?;
    let mut echo = [0u8; 32];
    echo.copy_from_slice(&body[32..]);
    Ok(Round2 {
        share,
        echo,
        digest: transcript_hash("tessera/v1/dkg/round2-repeat", &[payload]),
    })
}
