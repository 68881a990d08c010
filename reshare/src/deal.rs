//! Reshare round 1 (design §3.3 step 1): each dealer i ∈ S sets `w_i = λ_i^S · s_i`, draws
//! `g_i` of degree t'−1 with `g_i(0) = w_i`, and broadcasts, signed with its identity key, the
//! old epoch's public data and its Feldman commitments `D_i` (exactly t' points).
//!
//! Body after the header: `old data length (u32 BE) ‖ old data ‖ t' (u16 BE) ‖ D_i0 … D_i,t'-1
//! ‖ signature (64)`, points in the suite's wire encoding. The signature covers the session's
//! parameters ([`crate::ReshareParams::context`]), the sender's device index and every byte
//! before it, so every later fault in a deal is proven by the deal itself.

use std::ops::Range;

use tessera_core::{
    feldman::Commitment, protocol::Header, Ciphersuite, EncodingError, Evidence, Fault,
    IdentityKey, IdentitySigner, PartyIndex,
};
use tessera_keygen::dkg::round1::{signed_part, signed_under};

/// The purpose string of a deal's identity signature.
pub const PURPOSE: &str = "reshare/deal";

/// A deal that passed its signature and format checks.
pub(crate) struct Deal<C: Ciphersuite> {
    pub commitment: Commitment<C>,
    /// Where the old public data sits in the payload.
    pub old: Range<usize>,
    /// The whole signed payload, for the echo hash, the transcript and as evidence.
    pub payload: Vec<u8>,
}

impl<C: Ciphersuite> Deal<C> {
    /// The old public data as sent.
    pub fn old_bytes(&self) -> &[u8] {
        &self.payload[self.old.clone()]
    }

    /// The committed constant term `D_i0`.
    pub fn d0(&self) -> &C::Point {
        // `build` commits to a polynomial of degree t' - 1 and `decode` accepts exactly t'
        // points, with t' >= 2 checked by `ReshareParams::check`: `D_i0` always exists.
        &self.commitment.points()[0]
    }

    /// The commitment points as sent, for the transcript.
    pub fn commitment_bytes(&self) -> &[u8] {
        // Built or decoded with the commitments right after the old data and the 2-byte count,
        // and the 64-byte signature at the end.
        &self.payload[self.old.end + 2..self.payload.len() - 64]
    }
}

/// Builds and signs a dealer's deal.
pub(crate) fn build<C: Ciphersuite>(
    header: &Header,
    context: &[u8; 32],
    me: PartyIndex,
    old: &[u8],
    commitment: &Commitment<C>,
    signer: &dyn IdentitySigner,
) -> Result<Deal<C>, EncodingError> {
    let mut payload = header.encode();
    // Old public data is a few hundred bytes per old party: far below 4 GiB.
    payload.extend_from_slice(&(old.len() as u32).to_be_bytes());
    let start = payload.len();
    payload.extend_from_slice(old);
    let old = start..payload.len();
    // t' <= |N| <= 65535 (checked by `ReshareParams::check`).
    payload.extend_from_slice(&(commitment.points().len() as u16).to_be_bytes());
    for p in commitment.points() {
        C::write_wire_point(p, &mut payload)?;
    }
    let signature = signer.sign(PURPOSE, &signed_part(context, me, &payload));
    payload.extend_from_slice(&signature);
    Ok(Deal {
        commitment: commitment.clone(),
        old,
        payload,
    })
}

/// Checks the identity signature of a deal from device `from`.
pub(crate) fn signature_valid(
    payload: &[u8],
    context: &[u8; 32],
    from: PartyIndex,
    key: &IdentityKey,
) -> bool {
    signed_under(PURPOSE, payload, context, from, key)
}

/// Decodes a deal whose header the caller checked. The signature is checked first: once it
/// verifies, every later fault is proven by the payload.
pub(crate) fn decode<C: Ciphersuite>(
    payload: &[u8],
    context: &[u8; 32],
    from: PartyIndex,
    key: &IdentityKey,
    threshold: u16,
    me: PartyIndex,
) -> Result<Deal<C>, (Fault, Evidence)> {
    if !signature_valid(payload, context, from, key) {
        return Err((Fault::BadSignature, Evidence::AccusedBy(me)));
    }
    let proven = || Evidence::Proven(vec![payload.to_vec()]);
    let malformed = |what| (Fault::Malformed(what), proven());
    // A signed payload may still be shorter than a header and a signature together (the
    // header's last bytes would be the signature's first ones): slice only what is there.
    let body = payload
        .len()
        .checked_sub(64)
        .and_then(|end| payload.get(Header::LEN..end))
        .ok_or_else(|| malformed("deal too short"))?;
    let (len, rest) = body
        .split_first_chunk::<4>()
        .ok_or_else(|| malformed("deal too short"))?;
    let len = usize::try_from(u32::from_be_bytes(*len)).map_err(|_| malformed("deal too long"))?;
    let (_, rest) = rest
        .split_at_checked(len)
        .ok_or_else(|| malformed("deal too short"))?;
    let old = Header::LEN + 4..Header::LEN + 4 + len;
    let (count, points) = rest
        .split_first_chunk::<2>()
        .ok_or_else(|| malformed("deal too short"))?;
    let count = usize::from(u16::from_be_bytes(*count));
    if count != usize::from(threshold) {
        return Err((
            Fault::CommitmentCount {
                expected: threshold.into(),
                got: count,
            },
            proven(),
        ));
    }
    if points.len() != count * C::WIRE_POINT_LEN {
        return Err(malformed("deal has the wrong length"));
    }
    let points = points
        .chunks_exact(C::WIRE_POINT_LEN)
        .map(|b| C::read_wire_point(b).map_err(|e| (Fault::Encoding(e), proven())))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Deal {
        commitment: Commitment::from_points(points),
        old,
        payload: payload.to_vec(),
    })
}
