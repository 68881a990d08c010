//! DKG benchmarks: tessera against ZF FROST 3.x (`dkg::part1/2/3`), side by side.
//!
//! For each shape `t`-of-`n` in [`SHAPES`]:
//!
//! - `dkg-one/<suite>/<impl>/<t>-of-<n>`: everything one party computes, with the other
//!   parties' messages prepared outside the measurement. tessera: `Dkg::new` (polynomial,
//!   commitments, proof, identity signature), then every round-1 and round-2 message fed to
//!   `receive` as bytes — strict decoding, identity-signature checks, batched proofs, shares,
//!   echo, batched share check, verifying shares, transcript, confirmation: the production
//!   path with every check on. ZF: `part1`, `part2` and `part3` on the typed packages (no
//!   deserialization, which favours ZF).
//! - `dkg-all/<suite>/<impl>/<t>-of-<n>`: all n parties. tessera runs the simulation harness
//!   (routing included); ZF runs part1/2/3 for every party. ZF at 67-of-100 takes about a
//!   minute per iteration, so that one case is left out unless `DKG_BENCH_ZF_ALL=1` is set.
//!
//! ZF is benchmarked for ed25519 (`frost-ed25519`) and taproot (`frost-secp256k1-tr`);
//! secp256k1 is tessera-only (same group arithmetic as taproot).
//!
//! Run with `cargo bench -p tessera-keygen --bench dkg`.

use std::{collections::BTreeMap, hint::black_box, sync::Arc, time::Duration};

use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{
    protocol::Recipient, sim::Simulation, Ciphersuite, Ed25519, Ed25519Identity, IdentitySigner,
    Protocol, Secp256k1, Step, Taproot,
};
use tessera_keygen::dkg::{Dkg, DkgParams};

/// The `(t, n)` shapes measured.
const SHAPES: [(u16, u16); 3] = [(2, 3), (7, 10), (67, 100)];

fn shape_name(t: u16, n: u16) -> String {
    format!("{t}-of-{n}")
}

fn sample_size(n: u16) -> usize {
    if n >= 100 {
        10
    } else {
        30
    }
}

// ---------------------------------------------------------------------------------------------
// tessera
// ---------------------------------------------------------------------------------------------

struct Setup {
    params: DkgParams,
    signers: Vec<Arc<dyn IdentitySigner>>,
}

fn setup(t: u16, n: u16) -> Setup {
    let signers: Vec<Arc<dyn IdentitySigner>> = (0..n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..2].copy_from_slice(&i.to_be_bytes());
            Arc::new(Ed25519Identity::from_seed(&seed)) as Arc<dyn IdentitySigner>
        })
        .collect();
    Setup {
        params: DkgParams {
            session: [0x42; 32],
            threshold: t,
            roster: signers.iter().map(|s| s.identity()).collect(),
        },
        signers,
    }
}

fn party<C: Ciphersuite>(s: &Setup, i: u16, seed: u64) -> Dkg<C> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed + u64::from(i));
    Dkg::new(
        s.params.clone(),
        i,
        s.signers[usize::from(i)].clone(),
        &mut rng,
    )
    .expect("party")
}

fn bench_tessera<C: Ciphersuite>(c: &mut Criterion, suite: &str, t: u16, n: u16, seed: u64) {
    let shape = shape_name(t, n);
    let s = setup(t, n);
    let parties: Vec<Dkg<C>> = (0..n).map(|i| party(&s, i, seed)).collect();
    let report = Simulation::new(parties).run();
    // Every message party 0 receives, in the order the harness delivered them.
    let inbox: Vec<(u16, Vec<u8>)> = report
        .sent
        .iter()
        .filter(|(from, m)| *from != 0 && matches!(m.to, Recipient::All | Recipient::One(0)))
        .map(|(from, m)| (*from, m.payload.clone()))
        .collect();
    assert!(report.all_done().is_some(), "the benchmarked DKG completes");

    let mut g = c.benchmark_group(format!("dkg-one/{suite}/tessera"));
    g.sample_size(sample_size(n))
        .measurement_time(Duration::from_secs(5));
    g.bench_function(&shape, |b| {
        b.iter(|| {
            let mut me = party::<C>(&s, 0, seed);
            me.start().expect("start");
            let mut done = None;
            for (from, payload) in &inbox {
                if let Step::Done(_, out) = me.receive(*from, black_box(payload)).expect("receive")
                {
                    done = Some(out);
                }
            }
            done.expect("party 0 finishes")
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("dkg-all/{suite}/tessera"));
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function(&shape, |b| {
        b.iter(|| {
            let parties: Vec<Dkg<C>> = (0..n).map(|i| party(&s, i, seed)).collect();
            Simulation::new(parties)
                .run()
                .all_done()
                .expect("all finish")
        })
    });
    g.finish();
}

// ---------------------------------------------------------------------------------------------
// ZF FROST
// ---------------------------------------------------------------------------------------------

#[path = "../../sign/benches/support/zf_rng.rs"]
mod zf_rng;
use zf_rng::Rng08;

/// The ZF crates share no generic entry points without `frost-core` itself, so one function
/// per crate.
macro_rules! bench_zf {
    ($fn_name:ident, $frost:ident, $suite:literal) => {
        fn $fn_name(c: &mut Criterion, t: u16, n: u16, seed: u64) {
            use $frost::{keys::dkg, Identifier};

            let shape = shape_name(t, n);
            let mut rng = Rng08(ChaCha20Rng::seed_from_u64(seed));
            let ids: Vec<Identifier> = (1..=n)
                .map(|i| Identifier::try_from(i).expect("identifier"))
                .collect();

            // Everyone but party 1 runs parts 1 and 2 once, outside the measurement.
            let mut round1_secret = BTreeMap::new();
            let mut round1_public = BTreeMap::new();
            for id in &ids {
                let (secret, package) = dkg::part1(*id, n, t, &mut rng).expect("part1");
                round1_secret.insert(*id, secret);
                round1_public.insert(*id, package);
            }
            let me = ids[0];
            let mut to_me = BTreeMap::new();
            for id in &ids[1..] {
                let mut received = round1_public.clone();
                received.remove(id);
                let (_, out) = dkg::part2(round1_secret[id].clone(), &received).expect("part2");
                to_me.insert(*id, out[&me].clone());
            }
            let mut others = round1_public.clone();
            others.remove(&me);

            let mut g = c.benchmark_group(format!("dkg-one/{}/zf", $suite));
            g.sample_size(sample_size(n))
                .measurement_time(Duration::from_secs(5));
            g.bench_function(&shape, |b| {
                b.iter(|| {
                    let (secret, _package) = dkg::part1(me, n, t, &mut rng).expect("part1");
                    let (secret2, _out) = dkg::part2(secret, black_box(&others)).expect("part2");
                    dkg::part3(&secret2, &others, black_box(&to_me)).expect("part3")
                })
            });
            g.finish();

            if n >= 100 && std::env::var_os("DKG_BENCH_ZF_ALL").is_none() {
                return;
            }
            let mut g = c.benchmark_group(format!("dkg-all/{}/zf", $suite));
            g.sample_size(10).measurement_time(Duration::from_secs(5));
            g.bench_function(&shape, |b| {
                b.iter(|| {
                    let mut secrets = BTreeMap::new();
                    let mut public = BTreeMap::new();
                    for id in &ids {
                        let (s, p) = dkg::part1(*id, n, t, &mut rng).expect("part1");
                        secrets.insert(*id, s);
                        public.insert(*id, p);
                    }
                    let mut secrets2 = BTreeMap::new();
                    let mut inboxes: BTreeMap<Identifier, BTreeMap<Identifier, _>> =
                        BTreeMap::new();
                    for id in &ids {
                        let mut received = public.clone();
                        received.remove(id);
                        let (s2, out) = dkg::part2(secrets.remove(id).expect("secret"), &received)
                            .expect("part2");
                        secrets2.insert(*id, s2);
                        for (to, package) in out {
                            inboxes.entry(to).or_default().insert(*id, package);
                        }
                    }
                    ids.iter()
                        .map(|id| {
                            let mut received = public.clone();
                            received.remove(id);
                            dkg::part3(&secrets2[id], &received, &inboxes[id]).expect("part3")
                        })
                        .collect::<Vec<_>>()
                })
            });
            g.finish();
        }
    };
}

bench_zf!(bench_zf_ed25519, frost_ed25519, "ed25519");
bench_zf!(bench_zf_taproot, frost_secp256k1_tr, "taproot");

fn benches(c: &mut Criterion) {
    for (t, n) in SHAPES {
        bench_tessera::<Ed25519>(c, "ed25519", t, n, 1);
        bench_zf_ed25519(c, t, n, 1);
        bench_tessera::<Taproot>(c, "taproot", t, n, 2);
        bench_zf_taproot(c, t, n, 2);
        bench_tessera::<Secp256k1>(c, "secp256k1", t, n, 3);
    }
}

criterion_group!(dkg_benches, benches);
criterion_main!(dkg_benches);
