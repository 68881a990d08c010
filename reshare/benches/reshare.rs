//! Reshare benchmarks: tessera against ZF FROST 3.x's `refresh_dkg` (part 1, part 2,
//! `refresh_dkg_shares`), side by side, all parties of a t-of-n → t-of-n refresh.
//!
//! - `reshare-all/<suite>/tessera/<t>-of-<n>`: every one of the n devices deals and receives
//!   (S = the whole committee, as in ZF's refresh), through the simulation harness (routing
//!   included), on the production path with every check on: strict decoding, identity
//!   signatures, the old public data and its certificate, the batched `D_i0 == λ_i·Y_i` check,
//!   the echo, the batched share check, the new verifying shares and transcript, the
//!   confirmations and certificate, and the test signature by all n new parties with every
//!   share checked. Building the parties (polynomial, commitments, signed deal) is measured.
//! - `reshare-all/<suite>/zf/<t>-of-<n>`: ZF's `refresh_dkg_part1`, `refresh_dkg_part2` and
//!   `refresh_dkg_shares` for every party on the typed packages (no encoding, no transport, no
//!   commit or test signature, which favours ZF). ZF at 67-of-100 takes about a minute per
//!   iteration, so that case runs only with `RESHARE_BENCH_ZF_ALL=1`.
//!
//! Run with `cargo bench -p tessera-reshare --bench reshare`.

use std::{collections::BTreeMap, sync::Arc, time::Duration};

use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{
    sim::Simulation, Ciphersuite, Ed25519, Ed25519Identity, IdentitySigner, Taproot,
};
use tessera_keygen::{
    certify::Certify,
    dkg::{Dkg, DkgParams},
    KeyShare,
};
use tessera_reshare::{Dealer, KeyRecord, ReshareParams, ReshareParty};

/// The `(t, n)` shapes measured.
const SHAPES: [(u16, u16); 3] = [(2, 3), (7, 10), (67, 100)];

fn shape_name(t: u16, n: u16) -> String {
    format!("{t}-of-{n}")
}

/// A certified t-of-n key from the DKG, and the devices' identities.
fn key<C: Ciphersuite>(t: u16, n: u16) -> (Vec<KeyShare<C>>, Vec<Arc<dyn IdentitySigner>>) {
    let signers: Vec<Arc<dyn IdentitySigner>> = (0..n)
        .map(|i| {
            let mut seed = [0u8; 32];
            seed[..2].copy_from_slice(&i.to_be_bytes());
            Arc::new(Ed25519Identity::from_seed(&seed)) as Arc<dyn IdentitySigner>
        })
        .collect();
    let params = DkgParams {
        session: [0x42; 32],
        threshold: t,
        roster: signers.iter().map(|s| s.identity()).collect(),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let parties = (0..n)
        .map(|i| {
            Dkg::<C>::new(params.clone(), i, signers[usize::from(i)].clone(), &mut rng)
                .expect("party")
        })
        .collect();
    let pending = Simulation::new(parties).run().all_done().expect("DKG");
    let certifiers = pending
        .iter()
        .map(|p| Certify::new(p, params.session))
        .collect();
    let certs = Simulation::new(certifiers)
        .run()
        .all_done()
        .expect("certify");
    let shares = pending
        .iter()
        .zip(&certs)
        .map(|(p, c)| p.activate(c).expect("activate"))
        .collect();
    (shares, signers)
}

fn bench_tessera<C: Ciphersuite>(c: &mut Criterion, suite: &str, t: u16, n: u16) {
    let (shares, signers) = key::<C>(t, n);
    let params = ReshareParams {
        session: [0x43; 32],
        group_key: C::serialize_point(shares[0].key_package().public().group_key())
            .expect("group key")
            .as_ref()
            .to_vec(),
        old_key_id: *shares[0].key_id(),
        dealers: shares
            .iter()
            .zip(&signers)
            .map(|(s, i)| Dealer {
                old_id: s.key_package().identifier(),
                identity: i.identity(),
            })
            .collect(),
        new_roster: signers.iter().map(|s| s.identity()).collect(),
        new_threshold: t,
    };
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    // One record per device; every iteration deals in the same session, which they allow.
    let mut records: Vec<KeyRecord<C>> = shares.iter().cloned().map(KeyRecord::new).collect();
    let mut g = c.benchmark_group(format!("reshare-all/{suite}/tessera"));
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function(shape_name(t, n), |b| {
        b.iter(|| {
            let parties: Vec<ReshareParty<C>> = records
                .iter_mut()
                .zip(&signers)
                .map(|(r, i)| {
                    ReshareParty::dealer(
                        params.clone(),
                        r,
                        i.clone(),
                        Box::new(|_, _| Ok(())),
                        &mut rng,
                    )
                    .expect("party")
                })
                .collect();
            Simulation::new(parties)
                .run()
                .all_done()
                .expect("all finish")
        })
    });
    g.finish();
}

#[path = "../../sign/benches/support/zf_rng.rs"]
mod zf_rng;
use zf_rng::Rng08;

/// The ZF crates share no generic entry points without `frost-core` itself, so one function
/// per crate.
macro_rules! bench_zf {
    ($fn_name:ident, $frost:ident, $suite:literal) => {
        fn $fn_name(c: &mut Criterion, t: u16, n: u16) {
            use $frost::{
                keys::{generate_with_dealer, refresh, IdentifierList, KeyPackage},
                Identifier,
            };
            if n >= 100 && std::env::var_os("RESHARE_BENCH_ZF_ALL").is_none() {
                return;
            }
            let mut rng = Rng08(ChaCha20Rng::seed_from_u64(3));
            let (secret_shares, public) =
                generate_with_dealer(n, t, IdentifierList::Default, &mut rng).expect("dealer");
            let keys: BTreeMap<Identifier, KeyPackage> = secret_shares
                .into_iter()
                .map(|(id, s)| (id, KeyPackage::try_from(s).expect("key package")))
                .collect();
            let mut g = c.benchmark_group(format!("reshare-all/{}/zf", $suite));
            g.sample_size(10).measurement_time(Duration::from_secs(5));
            g.bench_function(shape_name(t, n), |b| {
                b.iter(|| {
                    let mut secrets = BTreeMap::new();
                    let mut round1 = BTreeMap::new();
                    for id in keys.keys() {
                        let (s, p) =
                            refresh::refresh_dkg_part1(*id, n, t, &mut rng).expect("part1");
                        secrets.insert(*id, s);
                        round1.insert(*id, p);
                    }
                    let mut secrets2 = BTreeMap::new();
                    let mut inboxes: BTreeMap<Identifier, BTreeMap<Identifier, _>> =
                        BTreeMap::new();
                    for id in keys.keys() {
                        let mut received = round1.clone();
                        received.remove(id);
                        let (s2, out) = refresh::refresh_dkg_part2(
                            secrets.remove(id).expect("secret"),
                            &received,
                        )
                        .expect("part2");
                        secrets2.insert(*id, s2);
                        for (to, package) in out {
                            inboxes.entry(to).or_default().insert(*id, package);
                        }
                    }
                    keys.iter()
                        .map(|(id, key)| {
                            let mut received = round1.clone();
                            received.remove(id);
                            refresh::refresh_dkg_shares(
                                &secrets2[id],
                                &received,
                                &inboxes[id],
                                public.clone(),
                                key.clone(),
                            )
                            .expect("refresh")
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
        bench_tessera::<Ed25519>(c, "ed25519", t, n);
        bench_zf_ed25519(c, t, n);
        bench_tessera::<Taproot>(c, "taproot", t, n);
        bench_zf_taproot(c, t, n);
    }
}

criterion_group!(reshare_benches, benches);
criterion_main!(reshare_benches);
