//! The old epoch's public data every dealer sends (design §3.3 step 2): the group key, chain
//! code, old threshold, old roster and verifying shares, epoch, key id and certificate.
//!
//! A joining party has nothing of the key but the group key its user expects. It accepts the
//! data only if the certificate of the old committee verifies over the key id recomputed from
//! the data ([`PublicKeyShare::verify`]), the key id is the epoch named in the session, and
//! the group key is the expected one. The key id binds every field but the certificate's
//! signature bytes (a valid certificate may be signed again), so every dealer that sends
//! acceptable data sends the same public data, and a dealer whose data is not acceptable is
//! named.
//!
//! Encoding: `t (u16) ‖ n (u16) ‖ epoch (u64) ‖ key id (32) ‖ commitments digest (32) ‖
//! chain code (32) ‖ P ‖ n × identity key (32) ‖ n × Y_i ‖ n × certificate signature (64)`,
//! integers big-endian, points in the suite's encoding.

use std::{collections::BTreeMap, sync::Arc};

use tessera_core::{Ciphersuite, Identifier, IdentityKey, PublicKeyPackage};
use tessera_keygen::{roster_fingerprint, Certificate, HexBytes, KeyShare, PublicKeyShare};

/// Verified public data of the old epoch.
#[derive(Debug, Clone)]
pub(crate) struct OldEpoch<C: Ciphersuite> {
    /// Its encoding, as sent.
    pub bytes: Vec<u8>,
    pub public: Arc<PublicKeyPackage<C>>,
    pub roster: Vec<IdentityKey>,
    pub epoch: u64,
}

/// Encodes the public data of an epoch from a share's public record.
fn encode<C: Ciphersuite>(p: &PublicKeyShare) -> Vec<u8> {
    let n = p.roster.len();
    let mut out = Vec::with_capacity(4 + 8 + 96 + (n + 1) * (32 + C::POINT_LEN + 64));
    out.extend_from_slice(&p.threshold.to_be_bytes());
    // A share's roster has at most 65535 entries (a DKG or reshare checked it).
    out.extend_from_slice(&(n as u16).to_be_bytes());
    out.extend_from_slice(&p.epoch.to_be_bytes());
    out.extend_from_slice(&p.key_id);
    out.extend_from_slice(&p.commitments_digest);
    out.extend_from_slice(&p.chain_code);
    out.extend_from_slice(&p.group_key);
    p.roster
        .iter()
        .for_each(|k| out.extend_from_slice(k.as_bytes()));
    p.verifying_shares
        .iter()
        .for_each(|y| out.extend_from_slice(&y.0));
    if let Some(cert) = &p.certificate {
        cert.signatures
            .iter()
            .for_each(|s| out.extend_from_slice(s));
    }
    out
}

/// Reads fixed-size fields off the front of the encoding.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let (field, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(field)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }
}

/// Why old public data was refused.
pub(crate) type Refusal = &'static str;

/// Decodes and verifies old public data against the session's key id and group key.
pub(crate) fn decode<C: Ciphersuite>(
    bytes: &[u8],
    key_id: &[u8; 32],
    group_key: &[u8],
) -> Result<OldEpoch<C>, Refusal> {
    let short = "old public data is truncated";
    let mut r = Reader(bytes);
    let threshold = u16::from_be_bytes(r.array().ok_or(short)?);
    let n = usize::from(u16::from_be_bytes(r.array().ok_or(short)?));
    let epoch = u64::from_be_bytes(r.array().ok_or(short)?);
    let sent_key_id: [u8; 32] = r.array().ok_or(short)?;
    let commitments_digest: [u8; 32] = r.array().ok_or(short)?;
    let chain_code: [u8; 32] = r.array().ok_or(short)?;
    let p_bytes = r.take(C::POINT_LEN).ok_or(short)?;
    if &sent_key_id != key_id {
        return Err("old public data is of another epoch than the session's");
    }
    if p_bytes != group_key {
        return Err("old public data has another group key than the expected one");
    }
    let roster = (0..n)
        .map(|_| {
            let k: [u8; 32] = r.array().ok_or(short)?;
            IdentityKey::from_bytes(k).map_err(|_| "old roster holds an invalid identity key")
        })
        .collect::<Result<Vec<_>, _>>()?;
    let shares: Vec<&[u8]> = (0..n)
        .map(|_| r.take(C::POINT_LEN).ok_or(short))
        .collect::<Result<_, _>>()?;
    let signatures: Vec<[u8; 64]> = (0..n)
        .map(|_| r.array().ok_or(short))
        .collect::<Result<_, _>>()?;
    if !r.0.is_empty() {
        return Err("old public data has trailing bytes");
    }
    let record = PublicKeyShare {
        suite: C::SUITE,
        identifier: 1,
        threshold,
        group_key: p_bytes.to_vec(),
        verifying_shares: shares.iter().map(|y| HexBytes(y.to_vec())).collect(),
        fingerprint: roster_fingerprint(&roster, threshold),
        roster: roster.clone(),
        chain_code,
        commitments_digest,
        key_id: sent_key_id,
        epoch,
        certificate: Some(Certificate {
            key_id: sent_key_id,
            signatures,
        }),
    };
    record
        .verify()
        .map_err(|_| "the old committee's certificate does not verify over the data")?;
    let point =
        |b: &[u8]| C::deserialize_point(b).map_err(|_| "old public data holds an invalid point");
    let verifying_shares = shares
        .iter()
        .enumerate()
        .map(|(i, y)| {
            // i < n <= 65535, so i + 1 is a valid identifier.
            let id = Identifier::new(i as u16 + 1).map_err(|_| "too many old parties")?;
            Ok((id, point(y)?))
        })
        .collect::<Result<BTreeMap<_, _>, Refusal>>()?;
    let public = PublicKeyPackage::new(point(p_bytes)?, verifying_shares, threshold, chain_code)
        .map_err(|_| "old verifying shares are not consistent with the group key")?;
    Ok(OldEpoch {
        bytes: bytes.to_vec(),
        public: Arc::new(public),
        roster,
        epoch,
    })
}

/// The old data of an old party's own share, `record` being its public part.
pub(crate) fn own<C: Ciphersuite>(share: &KeyShare<C>, record: &PublicKeyShare) -> OldEpoch<C> {
    OldEpoch {
        bytes: encode::<C>(record),
        public: Arc::new(share.key_package().public().clone()),
        roster: share.roster().to_vec(),
        epoch: share.epoch(),
    }
}
