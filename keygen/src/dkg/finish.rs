//! The end of the DKG at one party (design §3.1 steps 3–4): the summed commitment, every
//! party's verifying share, the batched share check, the transcript and the confirmation.

use tessera_core::{
    feldman::Commitment, protocol::Header, Ciphersuite, Culprit, Evidence, Fault, PublicKeyPackage,
};

use super::{round1, round2, Dkg};
use crate::{
    error::KeygenError,
    keyshare::{self, KeyMetadata, PendingKeyShare},
    transcript::{chain_code, commitments_digest, key_id, KeyTranscript},
};

impl<C: Ciphersuite> Dkg<C> {
    /// Rounds 1 and 2 complete with matching echoes: derive the key and confirm it.
    pub(super) fn finish(&mut self) -> Result<PendingKeyShare<C>, KeygenError> {
        let round1: Vec<&round1::Round1<C>> = self.round1.iter().flatten().collect();
        let summed = sum_commitments::<C>(round1.iter().map(|m| &m.commitment));

        let mut total = self.own_share.take().ok_or(KeygenError::Finished)?;
        let mut received = Vec::with_capacity(self.n());
        for j in self.others() {
            if let (Some(m2), Some(m1)) =
                (&self.round2[usize::from(j)], &self.round1[usize::from(j)])
            {
                total = total.add(&m2.share);
                received.push((j, &m1.commitment, &m2.share));
            }
        }
        let me = round1::identifier(self.me);
        let bad = round2::check_shares(me, &total, &summed.evaluate(me), &received);
        if !bad.is_empty() {
            return Err(KeygenError::Misbehaviour(
                bad.into_iter()
                    .map(|p| Culprit {
                        party: p,
                        fault: Fault::BadShare,
                        evidence: Evidence::AccusedBy(self.me),
                    })
                    .collect(),
            ));
        }

        let pl = C::WIRE_POINT_LEN;
        let t = usize::from(self.threshold);
        // Every round-1 payload was built or decoded with exactly t commitments right after
        // the header and the 2-byte count.
        let commitment_bytes: Vec<Vec<u8>> = round1
            .iter()
            .map(|m| m.payload[Header::LEN + 2..Header::LEN + 2 + t * pl].to_vec())
            .collect();
        let digest = commitments_digest(&self.session, &commitment_bytes);
        let chain = chain_code(C::SUITE, self.threshold, &self.roster, &digest);

        // The roster size was checked to be at most 65535 when the party was built.
        let public = PublicKeyPackage::from_commitment(&summed, self.n() as u16, chain)?;
        let encode = |p: &C::Point| {
            C::serialize_point(p)
                .map(|b| b.as_ref().to_vec())
                .map_err(|e| KeygenError::Parameters(format!("derived key: {e}")))
        };
        let group_key_bytes = encode(public.group_key())?;
        let verifying_bytes = public
            .verifying_shares()
            .values()
            .map(encode)
            .collect::<Result<Vec<_>, _>>()?;
        let epoch = 0;
        let id = key_id(&KeyTranscript {
            suite: C::SUITE,
            threshold: self.threshold,
            roster: &self.roster,
            commitments_digest: &digest,
            group_key: &group_key_bytes,
            verifying_shares: verifying_bytes.iter().map(Vec::as_slice).collect(),
            chain_code: &chain,
            epoch,
        });
        let meta = KeyMetadata {
            suite: C::SUITE,
            roster: self.roster.clone(),
            commitments_digest: digest,
            key_id: id,
            epoch,
        };
        keyshare::pending(me, total, public, meta, &*self.signer)
    }
}

/// `Σ_i C_i`, coefficient by coefficient: the commitment to `Σ_i f_i`.
pub(crate) fn sum_commitments<'a, C: Ciphersuite>(
    commitments: impl Iterator<Item = &'a Commitment<C>>,
) -> Commitment<C> {
    let mut sum: Vec<C::Point> = Vec::new();
    for c in commitments {
        if sum.is_empty() {
            sum = c.points().to_vec();
        } else {
            sum.iter_mut().zip(c.points()).for_each(|(s, p)| *s += p);
        }
    }
    Commitment::from_points(sum)
}
