//! The end of the DKG at one party (design §3.1 steps 3–4): the summed commitment, every
//! party's verifying share, the batched share check, the transcript and the confirmation.

use std::sync::Arc;

use tessera_core::{
    feldman::{self, Commitment},
    protocol::Header,
    Ciphersuite, KeyPackage, PublicKeyPackage,
};

use super::{round1, Dkg};
use crate::{
    error::KeygenError,
    keyshare::PendingKeyShare,
    transcript::{chain_code, commitments_digest},
};

impl<C: Ciphersuite> Dkg<C> {
    /// Rounds 1 and 2 complete with matching echoes: derive the key and confirm it.
    pub(super) fn finish(&mut self) -> Result<PendingKeyShare<C>, KeygenError> {
        let round1: Vec<&round1::Round1<C>> = self.round1.iter().flatten().collect();
        let summed = Commitment::sum(round1.iter().map(|m| &m.commitment));

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
        let bad = feldman::share_sum_culprits(me, self.me, &total, &summed.evaluate(me), &received);
        if !bad.is_empty() {
            return Err(KeygenError::Misbehaviour(bad));
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
        let key = KeyPackage::new(me, total, Arc::new(public))?;
        // A DKG makes epoch 0 of a key.
        PendingKeyShare::new(key, self.roster.to_vec(), digest, 0, &*self.signer)
    }
}
