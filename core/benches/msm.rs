//! secp256k1 multiscalar multiplication: tessera's Straus (`Secp256k1::multiscalar_mul_vartime`)
//! against k256's `ProjectivePoint::lincomb_vartime`, on random points and scalars.
//!
//! Run with `cargo bench -p tessera-core --bench msm`.

use std::{hint::black_box, time::Duration};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ff::Field;
use group::Group;
use k256::{elliptic_curve::ops::LinearCombination, ProjectivePoint, Scalar};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{Ciphersuite, Secp256k1};

const SIZES: [usize; 6] = [1, 2, 10, 67, 100, 134];

fn msm(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut g = c.benchmark_group("secp256k1-msm");
    for n in SIZES {
        let points: Vec<ProjectivePoint> =
            (0..n).map(|_| ProjectivePoint::random(&mut rng)).collect();
        let scalars: Vec<Scalar> = (0..n).map(|_| Scalar::random(&mut rng)).collect();
        let pairs: Vec<(ProjectivePoint, Scalar)> = points
            .iter()
            .copied()
            .zip(scalars.iter().copied())
            .collect();
        g.bench_with_input(BenchmarkId::new("k256-lincomb", n), &n, |b, _| {
            b.iter(|| ProjectivePoint::lincomb_vartime(black_box(pairs.as_slice())))
        });
        g.bench_with_input(BenchmarkId::new("tessera", n), &n, |b, _| {
            b.iter(|| Secp256k1::multiscalar_mul_vartime(black_box(&scalars), black_box(&points)))
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
}

criterion_group! {
    name = benches;
    config = config();
    targets = msm
}
criterion_main!(benches);
