//! Shared helpers for the DKG tests: parties, identities, a run through the harness.
#![allow(dead_code)]

use std::sync::Arc;

use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{
    protocol::Header,
    sim::{Envelope, Report, Simulation},
    Ciphersuite, Ed25519Identity, IdentityKey, IdentitySigner, PartyIndex,
};
use tessera_keygen::{
    certify::Certify,
    dkg::{Dkg, DkgParams},
    PendingKeyShare,
};

pub const SESSION: [u8; 32] = [0x5e; 32];

/// Identities seeded by index, so a test can re-sign as any party.
pub fn identities(n: u16) -> Vec<Arc<Ed25519Identity>> {
    (0..n)
        .map(|i| Arc::new(Ed25519Identity::from_seed(&[i as u8 + 1; 32])))
        .collect()
}

pub fn params(t: u16, ids: &[Arc<Ed25519Identity>]) -> DkgParams {
    DkgParams {
        session: SESSION,
        threshold: t,
        roster: ids
            .iter()
            .map(|i| i.identity())
            .collect::<Vec<IdentityKey>>(),
    }
}

pub fn parties<C: Ciphersuite>(
    t: u16,
    n: u16,
    seed: u64,
) -> (Vec<Dkg<C>>, Vec<Arc<Ed25519Identity>>) {
    let ids = identities(n);
    let p = params(t, &ids);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let parties = (0..n)
        .map(|i| Dkg::new(p.clone(), i, ids[usize::from(i)].clone(), &mut rng).unwrap())
        .collect();
    (parties, ids)
}

pub fn run<C: Ciphersuite>(
    t: u16,
    n: u16,
    seed: u64,
    router: impl FnMut(Envelope) -> Vec<Envelope> + 'static,
) -> Report<Dkg<C>> {
    let (parties, _) = parties::<C>(t, n, seed);
    Simulation::new(parties).reorder(seed).router(router).run()
}

/// Runs certification for the pending shares.
pub fn certify<C: Ciphersuite>(
    pending: &[PendingKeyShare<C>],
    router: impl FnMut(Envelope) -> Vec<Envelope> + 'static,
) -> Report<Certify> {
    let parties = pending.iter().map(|p| Certify::new(p, SESSION)).collect();
    Simulation::new(parties).reorder(3).router(router).run()
}

/// Re-signs a round-1 payload (everything but its last 64 bytes) as party `from` of a
/// `t`-of-`n` session of suite `C` with the test identities.
pub fn resign<C: Ciphersuite>(unsigned: &[u8], t: u16, n: u16, from: PartyIndex) -> Vec<u8> {
    let ids = identities(n);
    let context = params(t, &ids).context(C::SUITE);
    let m = tessera_keygen::dkg::round1::signed_part(&context, from, unsigned);
    let mut out = unsigned.to_vec();
    out.extend_from_slice(&ids[usize::from(from)].sign(tessera_keygen::dkg::round1::PURPOSE, &m));
    out
}

pub fn round_of(e: &Envelope) -> u8 {
    Header::decode(&e.payload)
        .map(|(h, _)| h.round)
        .unwrap_or(0)
}
