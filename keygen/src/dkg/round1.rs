//! DKG round 1 (design §3.1 step 1; Komlo–Goldberg FROST KeyGen round 1): the signed
//! broadcast of Feldman commitments and a Schnorr proof of knowledge of the constant term.
//!
//! Body after the header: `t (u16 BE) ‖ C_0 … C_{t-1} ‖ R ‖ μ ‖ signature (64)`, points in the
//! suite's wire encoding ([`Ciphersuite::write_wire_point`]). The identity
//! signature covers the session's parameters ([`DkgParams::context`]: suite, threshold,
//! roster, session id), the sender's roster index and every byte before it, so a signed
//! round-1 message is evidence anyone holding the parameters can check.

use ff::{Field as _, PrimeField as _};
use tessera_core::{
    feldman::Commitment, protocol::Header, Ciphersuite, EncodingError, Evidence, Fault, Identifier,
    IdentityKey, IdentitySigner, PartyIndex, SecretScalar, SessionId,
};

/// The purpose string of round-1 signatures.
pub const PURPOSE: &str = "dkg/round1";

/// Hash tag of tessera's proof-of-knowledge challenge (the suite's context string is
/// prepended by [`Ciphersuite::hash_to_scalar`]).
const POK_TAG: &[u8] = b"tessera/v1/dkg/pok";

/// A decoded, signature-checked round-1 message.
pub(crate) struct Round1<C: Ciphersuite> {
    pub commitment: Commitment<C>,
    pub proof_r: C::Point,
    pub proof_mu: C::Scalar,
    /// The proof's challenge `c`, computed when the message was built or decoded.
    pub challenge: C::Scalar,
    /// The whole signed payload, kept for the echo hash and as evidence.
    pub payload: Vec<u8>,
}

impl<C: Ciphersuite> Round1<C> {
    /// The committed constant term `C_0`.
    pub(crate) fn c0(&self) -> &C::Point {
        // `build` commits to a polynomial of degree t - 1 and `decode` accepts exactly t
        // points, with t >= 2 checked when the party was built: `C_0` always exists.
        &self.commitment.points()[0]
    }
}

/// The challenge `c = H(domain ‖ session id ‖ i ‖ C_i0 ‖ R)` (design §3.1 step 1). The
/// session id makes a proof worthless in any other session.
pub fn pok_challenge<C: Ciphersuite>(
    session: &SessionId,
    id: Identifier,
    c0: &[u8],
    r: &[u8],
) -> C::Scalar {
    C::hash_to_scalar(POK_TAG, &[session, &id.serialize::<C>(), c0, r])
}

/// The challenge of ZF FROST's proof of knowledge, `HDKG(i ‖ C_i0 ‖ R)` with no session id.
/// Only for replaying the ZF reference vectors: tessera never accepts such a proof.
#[cfg(feature = "vectors")]
pub fn zf_pok_challenge<C: Ciphersuite>(id: Identifier, c0: &[u8], r: &[u8]) -> C::Scalar {
    C::hash_to_scalar(b"dkg", &[&id.serialize::<C>(), c0, r])
}

/// `R ?= μ·G − c·C_0`, one proof at a time (Komlo–Goldberg round 1 step 5).
pub fn verify_pok<C: Ciphersuite>(
    c0: &C::Point,
    r: &C::Point,
    mu: &C::Scalar,
    challenge: &C::Scalar,
) -> bool {
    C::mul_base_add_vartime(mu, &-*challenge, c0) == *r
}

/// Builds and signs this party's round-1 message. `nonce` is the proof's k.
pub(crate) fn build<C: Ciphersuite>(
    header: &Header,
    context: &[u8; 32],
    me: PartyIndex,
    commitment: &Commitment<C>,
    a0: &SecretScalar<C>,
    nonce: SecretScalar<C>,
    signer: &dyn IdentitySigner,
) -> Result<Round1<C>, EncodingError> {
    let id = identifier(me);
    let mut payload = header.encode();
    // A commitment has exactly t <= 65535 coefficients (checked when the party was built).
    payload.extend_from_slice(&(commitment.points().len() as u16).to_be_bytes());
    let c0_at = payload.len();
    for p in commitment.points() {
        C::write_wire_point(p, &mut payload)?;
    }
    let r = C::mul_base(nonce.expose_secret());
    let r_at = payload.len();
    C::write_wire_point(&r, &mut payload)?;
    let wl = C::WIRE_POINT_LEN;
    let c = pok_challenge::<C>(
        &header.session,
        id,
        &payload[c0_at..c0_at + wl],
        &payload[r_at..r_at + wl],
    );
    let mu = *nonce.expose_secret() + *a0.expose_secret() * c;
    payload.extend_from_slice(&C::serialize_scalar(&mu));
    let signature = signer.sign(PURPOSE, &signed_part(context, me, &payload));
    payload.extend_from_slice(&signature);
    Ok(Round1 {
        commitment: commitment.clone(),
        proof_r: r,
        proof_mu: mu,
        challenge: c,
        payload,
    })
}

/// What the identity signature covers: the parameters' context, the sender's index, then
/// the payload before the signature.
pub fn signed_part(context: &[u8; 32], from: PartyIndex, unsigned: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(32 + 2 + unsigned.len());
    m.extend_from_slice(context);
    m.extend_from_slice(&from.to_be_bytes());
    m.extend_from_slice(unsigned);
    m
}

/// Checks the identity signature of a round-1 payload from `from`.
pub(crate) fn signature_valid(
    payload: &[u8],
    context: &[u8; 32],
    from: PartyIndex,
    key: &IdentityKey,
) -> bool {
    signed_under(PURPOSE, payload, context, from, key)
}

/// Checks the identity signature, under `purpose`, that ends a signed broadcast from `from`
/// (a DKG round-1 message, or a reshare's deal, which is signed the same way).
pub fn signed_under(
    purpose: &str,
    payload: &[u8],
    context: &[u8; 32],
    from: PartyIndex,
    key: &IdentityKey,
) -> bool {
    match payload.len().checked_sub(64) {
        Some(split) => {
            let (unsigned, sig) = payload.split_at(split);
            key.verify(purpose, &signed_part(context, from, unsigned), sig)
        }
        None => false,
    }
}

/// Decodes a round-1 body whose header the caller has checked. The signature is checked
/// first: once it verifies, every later fault is proven by the payload itself.
pub(crate) fn decode<C: Ciphersuite>(
    header: &Header,
    payload: &[u8],
    context: &[u8; 32],
    from: PartyIndex,
    key: &IdentityKey,
    threshold: u16,
    me: PartyIndex,
) -> Result<Round1<C>, (Fault, Evidence)> {
    if !signature_valid(payload, context, from, key) {
        return Err((Fault::BadSignature, Evidence::AccusedBy(me)));
    }
    let proven = || Evidence::Proven(vec![payload.to_vec()]);
    // The caller decoded the header from this payload, so it is at least that long.
    let body = &payload[Header::LEN.min(payload.len())..];
    let pl = C::WIRE_POINT_LEN;
    let Some((count, rest)) = body.split_first_chunk::<2>() else {
        return Err((Fault::Malformed("round-1 body too short"), proven()));
    };
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
    if rest.len() != count * pl + pl + 32 + 64 {
        return Err((
            Fault::Malformed("round-1 body has the wrong length"),
            proven(),
        ));
    }
    let decode_point = |b: &[u8]| C::read_wire_point(b).map_err(|e| (Fault::Encoding(e), proven()));
    let points = rest[..count * pl]
        .chunks_exact(pl)
        .map(decode_point)
        .collect::<Result<Vec<_>, _>>()?;
    let r_bytes = &rest[count * pl..count * pl + pl];
    let proof_r = decode_point(r_bytes)?;
    let proof_mu = C::deserialize_scalar(&rest[count * pl + pl..count * pl + pl + 32])
        .map_err(|e| (Fault::Encoding(e), proven()))?;
    let challenge = pok_challenge::<C>(&header.session, identifier(from), &rest[..pl], r_bytes);
    Ok(Round1 {
        commitment: Commitment::from_points(points),
        proof_r,
        proof_mu,
        challenge,
        payload: payload.to_vec(),
    })
}

/// Verifies every proof of knowledge at once: with random 128-bit weights `w_i`,
/// `Σ w_i·(μ_i·G − c_i·C_i0 − R_i) == 0` as one multiscalar multiplication (a forged proof
/// passes with probability about 2^-128). Only if the batch fails is each proof checked alone,
/// to name every culprit.
pub(crate) fn batch_verify<C: Ciphersuite>(
    messages: &[(PartyIndex, &Round1<C>)],
    rng: &mut (impl rand_core::CryptoRng + ?Sized),
) -> Vec<PartyIndex> {
    let mut scalars = Vec::with_capacity(2 * messages.len() + 1);
    let mut points = Vec::with_capacity(2 * messages.len() + 1);
    let mut mu_sum = C::Scalar::ZERO;
    for (_, m) in messages {
        let mut w = [0u8; 16];
        rng.fill_bytes(&mut w);
        let w = C::Scalar::from_u128(u128::from_le_bytes(w));
        mu_sum += w * m.proof_mu;
        scalars.push(-(w * m.challenge));
        points.push(*m.c0());
        scalars.push(-w);
        points.push(m.proof_r);
    }
    scalars.push(mu_sum);
    points.push(C::mul_base(&C::Scalar::ONE));
    if bool::from(group::Group::is_identity(&C::multiscalar_mul_vartime(
        &scalars, &points,
    ))) {
        return Vec::new();
    }
    messages
        .iter()
        .filter(|(_, m)| !verify_pok::<C>(m.c0(), &m.proof_r, &m.proof_mu, &m.challenge))
        .map(|(p, _)| *p)
        .collect()
}

/// The identifier of roster index `p`: `p + 1`.
pub(crate) fn identifier(p: PartyIndex) -> Identifier {
    // Roster indices are below the roster size (at most 65535), so p + 1 is in 1..=65535,
    // exactly the identifiers `Identifier::new` accepts.
    Identifier::new(p.saturating_add(1)).expect("p + 1 is a valid identifier")
}
