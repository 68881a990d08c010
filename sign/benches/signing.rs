//! Signing benchmarks: tessera against the ZF FROST 3.x crates.
//!
//! For each shape `t`-of-`n` in [`SHAPES`] and each suite, the three FROST operations are
//! timed separately with the signers `1..=t`:
//!
//! - `round1/<suite>/<impl>/<t>-of-<n>`: one signer's commit (nonces and commitments);
//! - `round2/<suite>/<impl>/<t>-of-<n>`: one signer's (signer 1) signature share;
//! - `aggregate/<suite>/<impl>/<t>-of-<n>`: the coordinator's aggregation of `t` shares,
//!   which in both implementations verifies the group signature once.
//!
//! `<impl>` is `tessera` or `zf`. ZF is benchmarked for ed25519 (`frost-ed25519`) and taproot
//! (`frost-secp256k1-tr`); secp256k1 is tessera-only. tessera also gets
//! `setup-signer/...` (`Signer::new`) and `setup-aggregator/...` (`Aggregator::new`): the
//! per-session work tessera does before round 1 that ZF has no separate step for.
//!
//! Every tessera request uses `Tweak::none()` (for taproot: Q = P made even-y), which matches
//! ZF's untweaked `round2::sign` / `aggregate`. Key generation (trusted dealer) runs once per
//! shape and suite, outside any measurement. Both implementations draw randomness from
//! ChaCha20 (ZF through a rand 0.8 adapter), so the RNG cost is the same.
//!
//! A tessera `Signer` commits only once, so tessera's round 1 and round 2 build a fresh
//! `Signer` in the (unmeasured) setup of every iteration; its cost is `setup-signer`.
//!
//! Run with `cargo bench -p tessera-sign --bench signing`.

use std::{
    collections::{BTreeMap, BTreeSet},
    hint::black_box,
    time::Duration,
};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{Ciphersuite, Ed25519, Identifier, Secp256k1, Taproot, Tweak};
use tessera_sign::{Aggregator, Signer, SigningPackage, SigningRequest};

/// The `(t, n)` shapes measured.
const SHAPES: [(u16, u16); 3] = [(2, 3), (7, 10), (67, 100)];

/// A 32-byte message, the size of a BIP-341 sighash.
const MESSAGE: [u8; 32] = [0x5a; 32];

fn shape_name(t: u16, n: u16) -> String {
    format!("{t}-of-{n}")
}

// ---------------------------------------------------------------------------------------------
// tessera
// ---------------------------------------------------------------------------------------------

fn bench_tessera<C: Ciphersuite>(c: &mut Criterion, suite: &str, t: u16, n: u16, seed: u64) {
    let shape = shape_name(t, n);
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let (keys, public) =
        tessera_keygen::dealer::split_random::<C>(t, n, &mut rng).expect("dealer split");
    let keys: Vec<_> = keys
        .into_iter()
        .filter(|k| k.identifier().get() <= t)
        .collect();
    assert_eq!(keys.len(), usize::from(t), "signers 1..=t");
    let request = SigningRequest {
        session_id: [7; 32],
        message: MESSAGE.to_vec(),
        tweak: Tweak::none(),
        signers: keys.iter().map(|k| k.identifier()).collect::<BTreeSet<_>>(),
    };
    let mut signers: Vec<Signer<C>> = keys
        .iter()
        .map(|k| Signer::new(k, request.clone()))
        .collect::<Result<_, _>>()
        .expect("signers");

    // One full session, kept fixed for round 2 (others' commitments) and aggregation.
    let mut nonces = Vec::new();
    let mut commitments = BTreeMap::new();
    for s in &mut signers {
        let (nonce, commitment) = s.commit(&mut rng).expect("commit");
        nonces.push(nonce);
        commitments.insert(s.identifier(), commitment);
    }
    let package = SigningPackage::new(commitments.clone(), MESSAGE.to_vec());
    let shares: BTreeMap<Identifier, _> = signers
        .iter()
        .zip(nonces)
        .map(|(s, nonce)| (s.identifier(), s.sign(nonce, &package).expect("share")))
        .collect();
    let aggregator = Aggregator::new(&public, request.clone()).expect("aggregator");
    let signature = aggregator.aggregate(&package, &shares).expect("aggregate");
    tessera_sign::verify::<C>(aggregator.session().output_key(), &MESSAGE, &signature)
        .expect("the benchmarked session signs correctly");

    // A signer commits once, so every measured round starts from a fresh one (built in setup).
    let fresh_signer = || Signer::new(&keys[0], request.clone()).expect("signer");

    let mut g = c.benchmark_group(format!("setup-signer/{suite}/tessera"));
    g.bench_function(&shape, |b| {
        b.iter_batched(
            || request.clone(),
            |req| Signer::new(&keys[0], req).expect("signer"),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group(format!("setup-aggregator/{suite}/tessera"));
    g.bench_function(&shape, |b| {
        b.iter_batched(
            || request.clone(),
            |req| Aggregator::new(&public, req).expect("aggregator"),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group(format!("round1/{suite}/tessera"));
    g.bench_function(&shape, |b| {
        // `_ref`: the spent signer is dropped outside the measurement, like the outputs.
        b.iter_batched_ref(
            fresh_signer,
            |signer| signer.commit(&mut rng).expect("commit"),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group(format!("round2/{suite}/tessera"));
    g.bench_function(&shape, |b| {
        b.iter_batched_ref(
            || {
                // Fresh nonces for the measured signer; its commitment replaced in the package.
                let mut signer = fresh_signer();
                let (nonce, commitment) = signer.commit(&mut rng).expect("commit");
                let mut all = commitments.clone();
                all.insert(signer.identifier(), commitment);
                (
                    signer,
                    Some(nonce),
                    SigningPackage::new(all, MESSAGE.to_vec()),
                )
            },
            |(signer, nonce, package)| {
                let nonce = nonce.take().expect("nonces used once");
                signer.sign(nonce, black_box(package)).expect("share")
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group(format!("aggregate/{suite}/tessera"));
    g.bench_function(&shape, |b| {
        b.iter(|| {
            aggregator
                .aggregate(black_box(&package), black_box(&shares))
                .expect("aggregate")
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// ZF FROST
// ---------------------------------------------------------------------------------------------

#[path = "support/zf_rng.rs"]
mod zf_rng;
use zf_rng::Rng08;

/// The ZF crates share no generic entry points without `frost-core` itself, so one function
/// per crate.
macro_rules! bench_zf {
    ($fn_name:ident, $frost:ident, $suite:literal) => {
        fn $fn_name(c: &mut Criterion, t: u16, n: u16, seed: u64) {
            use $frost::{keys, round1, round2, Identifier, SigningPackage};

            let shape = shape_name(t, n);
            let mut rng = Rng08(ChaCha20Rng::seed_from_u64(seed));
            let (secret_shares, public) =
                keys::generate_with_dealer(n, t, keys::IdentifierList::Default, &mut rng)
                    .expect("dealer split");
            let key_packages: Vec<keys::KeyPackage> = (1..=t)
                .map(|i| {
                    let id = Identifier::try_from(i).expect("identifier");
                    keys::KeyPackage::try_from(secret_shares[&id].clone()).expect("key package")
                })
                .collect();

            let mut nonces = Vec::new();
            let mut commitments = BTreeMap::new();
            for kp in &key_packages {
                let (nonce, commitment) = round1::commit(kp.signing_share(), &mut rng);
                nonces.push(nonce);
                commitments.insert(*kp.identifier(), commitment);
            }
            let package = SigningPackage::new(commitments.clone(), &MESSAGE);
            let shares: BTreeMap<Identifier, round2::SignatureShare> = key_packages
                .iter()
                .zip(&nonces)
                .map(|(kp, nonce)| {
                    let share = round2::sign(&package, nonce, kp).expect("share");
                    (*kp.identifier(), share)
                })
                .collect();
            let signature = $frost::aggregate(&package, &shares, &public).expect("aggregate");
            public
                .verifying_key()
                .verify(&MESSAGE, &signature)
                .expect("the benchmarked session signs correctly");

            let kp = &key_packages[0];

            let mut g = c.benchmark_group(format!("round1/{}/zf", $suite));
            g.bench_function(&shape, |b| {
                // Batched like tessera's round 1, so outputs are dropped outside the measurement.
                b.iter_batched(
                    || (),
                    |()| round1::commit(kp.signing_share(), &mut rng),
                    BatchSize::SmallInput,
                )
            });
            g.finish();

            let mut g = c.benchmark_group(format!("round2/{}/zf", $suite));
            g.bench_function(&shape, |b| {
                b.iter_batched_ref(
                    || {
                        let (nonce, commitment) = round1::commit(kp.signing_share(), &mut rng);
                        let mut all = commitments.clone();
                        all.insert(*kp.identifier(), commitment);
                        (nonce, SigningPackage::new(all, &MESSAGE))
                    },
                    |(nonce, package)| round2::sign(black_box(package), nonce, kp).expect("share"),
                    BatchSize::SmallInput,
                )
            });
            g.finish();

            let mut g = c.benchmark_group(format!("aggregate/{}/zf", $suite));
            g.bench_function(&shape, |b| {
                b.iter(|| {
                    $frost::aggregate(black_box(&package), black_box(&shares), &public)
                        .expect("aggregate")
                })
            });
            g.finish();
        }
    };
}

bench_zf!(bench_zf_ed25519, frost_ed25519, "ed25519");
bench_zf!(bench_zf_taproot, frost_secp256k1_tr, "taproot");

// ---------------------------------------------------------------------------------------------

fn signing(c: &mut Criterion) {
    for (i, (t, n)) in SHAPES.into_iter().enumerate() {
        let seed = 1000 + i as u64;
        bench_tessera::<Ed25519>(c, "ed25519", t, n, seed);
        bench_zf_ed25519(c, t, n, seed);
        bench_tessera::<Taproot>(c, "taproot", t, n, seed);
        bench_zf_taproot(c, t, n, seed);
        bench_tessera::<Secp256k1>(c, "secp256k1", t, n, seed);
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
    targets = signing
}
criterion_main!(benches);
