//! The DKG transcript (design §3.1 step 4) and the hashes bound to it.
//!
//! Every hash here is a [`transcript_hash`]: tagged, each part length-prefixed. The chain code
//! and the key id both cover the version, suite, threshold, roster and a digest of every
//! party's round-1 commitments; the key id also covers the chain code and the derived public
//! data (group key, verifying shares, epoch), so a certificate over it authenticates the
//! public metadata directly.

use tessera_core::{
    hash::transcript_hash, Ciphersuite, IdentityKey, PublicKeyPackage, SessionId, Suite,
};

use crate::error::KeygenError;

/// Version of the transcript layout.
const VERSION: &[u8] = b"tessera-dkg-v1";

/// Digest of the session id and every party's round-1 commitments, in roster order.
pub(crate) fn commitments_digest(session: &SessionId, commitments: &[Vec<u8>]) -> [u8; 32] {
    let mut parts: Vec<&[u8]> = vec![VERSION, session];
    parts.extend(commitments.iter().map(Vec::as_slice));
    transcript_hash("tessera/v1/dkg/commitments", &parts)
}

/// The BIP-32 chain code: a hash of the transcript, fixed before anyone confirms.
pub(crate) fn chain_code(
    suite: Suite,
    threshold: u16,
    roster: &[IdentityKey],
    commitments_digest: &[u8; 32],
) -> [u8; 32] {
    let t = threshold.to_be_bytes();
    let mut parts: Vec<&[u8]> = vec![VERSION, suite.name().as_bytes(), &t, commitments_digest];
    parts.extend(roster.iter().map(|k| k.as_bytes().as_slice()));
    transcript_hash("tessera/v1/dkg/chain-code", &parts)
}

/// Everything the key id binds.
pub(crate) struct KeyTranscript<'a> {
    pub suite: Suite,
    pub threshold: u16,
    pub roster: &'a [IdentityKey],
    pub commitments_digest: &'a [u8; 32],
    pub group_key: &'a [u8],
    pub verifying_shares: Vec<&'a [u8]>,
    pub chain_code: &'a [u8; 32],
    pub epoch: u64,
}

/// The key id: the transcript hash that confirmations sign.
pub(crate) fn key_id(t: &KeyTranscript<'_>) -> [u8; 32] {
    let threshold = t.threshold.to_be_bytes();
    let n = (t.roster.len() as u64).to_be_bytes();
    let epoch = t.epoch.to_be_bytes();
    let mut parts: Vec<&[u8]> = vec![
        VERSION,
        t.suite.name().as_bytes(),
        &threshold,
        &n,
        t.commitments_digest,
        t.group_key,
        t.chain_code,
        &epoch,
    ];
    parts.extend(t.roster.iter().map(|k| k.as_bytes().as_slice()));
    parts.extend(t.verifying_shares.iter().copied());
    transcript_hash("tessera/v1/dkg/key-id", &parts)
}

/// The key id of a key's public data at `epoch`: [`key_id`] over the suite, the package's
/// threshold, group key, verifying shares and chain code, the roster, and the digest of the
/// protocol run that produced it (a DKG's commitments, or a reshare's transcript).
pub fn epoch_key_id<C: Ciphersuite>(
    public: &PublicKeyPackage<C>,
    roster: &[IdentityKey],
    commitments_digest: &[u8; 32],
    epoch: u64,
) -> Result<[u8; 32], KeygenError> {
    let encode = |p: &C::Point| {
        C::serialize_point(p)
            .map(|b| b.as_ref().to_vec())
            .map_err(|e| KeygenError::Parameters(format!("derived key: {e}")))
    };
    let group_key = encode(public.group_key())?;
    let verifying_shares = public
        .verifying_shares()
        .values()
        .map(encode)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(key_id(&KeyTranscript {
        suite: C::SUITE,
        threshold: public.threshold(),
        roster,
        commitments_digest,
        group_key: &group_key,
        verifying_shares: verifying_shares.iter().map(Vec::as_slice).collect(),
        chain_code: public.chain_code(),
        epoch,
    }))
}

/// A short hash of the roster and threshold, as four groups of four hex digits, for humans
/// to compare across devices before they approve or fund a key.
pub fn roster_fingerprint(roster: &[IdentityKey], threshold: u16) -> String {
    let t = threshold.to_be_bytes();
    let mut parts: Vec<&[u8]> = vec![&t];
    parts.extend(roster.iter().map(|k| k.as_bytes().as_slice()));
    let h = hex::encode(&transcript_hash("tessera/v1/roster-fingerprint", &parts)[..8]);
    format!("{}-{}-{}-{}", &h[0..4], &h[4..8], &h[8..12], &h[12..16])
}
