//! Several messages in one session: a whole `SignBatch` of k messages (every party, in the
//! simulation harness, no network) against k separate `SignParty` sessions, taproot 2-of-3,
//! each message under its own child key (what a PSBT with k inputs needs).
//!
//! - `batch/<k>`: one `SignBatch` session of k items, built and run to every party's output;
//! - `separate/<k>`: k `SignParty` sessions, one after another.
//!
//! Run with `cargo bench -p tessera-sign --bench batch`.

use std::{collections::BTreeSet, hint::black_box, sync::Arc, time::Duration};

use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{
    sim::Simulation, Ed25519Identity, Identifier, IdentityKey, IdentitySigner, KeyPackage, Taproot,
    Tweak,
};
use tessera_sign::{batch::item_session, SignBatch, SignItem, SignParty, SigningRequest};

/// The numbers of messages measured.
const COUNTS: [usize; 3] = [1, 10, 64];

struct Setup {
    keys: Vec<KeyPackage<Taproot>>,
    identities: Vec<Arc<Ed25519Identity>>,
    roster: Vec<(Identifier, IdentityKey)>,
}

impl Setup {
    fn new() -> Self {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (all, _) = tessera_keygen::dealer::split_random::<Taproot>(2, 3, &mut rng).unwrap();
        let keys = vec![all[0].clone(), all[1].clone()];
        let identities: Vec<_> = (0..2)
            .map(|_| Arc::new(Ed25519Identity::random(&mut rng)))
            .collect();
        let roster = keys
            .iter()
            .zip(&identities)
            .map(|(k, i)| (k.identifier(), i.identity()))
            .collect();
        Setup {
            keys,
            identities,
            roster,
        }
    }

    fn signers(&self) -> BTreeSet<Identifier> {
        self.roster.iter().map(|(id, _)| *id).collect()
    }

    fn item(i: usize) -> SignItem {
        SignItem {
            message: vec![i as u8; 32],
            tweak: Tweak {
                derivation: vec![0, i as u32],
                ..Tweak::bip86()
            },
        }
    }

    fn batch(&self, k: usize) {
        let parties = (0..2)
            .map(|p| {
                SignBatch::new(
                    &self.keys[p],
                    [7; 32],
                    self.signers(),
                    (0..k).map(Self::item).collect(),
                    self.roster.clone(),
                    self.identities[p].clone() as Arc<dyn IdentitySigner>,
                    &mut ChaCha20Rng::seed_from_u64(p as u64),
                )
                .unwrap()
            })
            .collect();
        assert!(Simulation::new(parties).run().all_done().is_some());
    }

    fn separate(&self, k: usize) {
        for i in 0..k {
            let item = Self::item(i);
            let parties = (0..2)
                .map(|p| {
                    let request = SigningRequest {
                        session_id: item_session(&[7; 32], i as u16),
                        message: item.message.clone(),
                        tweak: item.tweak.clone(),
                        signers: self.signers(),
                    };
                    SignParty::new(
                        &self.keys[p],
                        request,
                        self.roster.clone(),
                        self.identities[p].clone() as Arc<dyn IdentitySigner>,
                        &mut ChaCha20Rng::seed_from_u64(p as u64),
                    )
                    .unwrap()
                })
                .collect();
            assert!(Simulation::new(parties).run().all_done().is_some());
        }
    }
}

fn sessions(c: &mut Criterion) {
    let setup = Setup::new();
    for k in COUNTS {
        c.bench_function(&format!("batch/{k}"), |b| {
            b.iter(|| setup.batch(black_box(k)))
        });
        c.bench_function(&format!("separate/{k}"), |b| {
            b.iter(|| setup.separate(black_box(k)))
        });
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
}

criterion_group! {
    name = benches;
    config = config();
    targets = sessions
}
criterion_main!(benches);
