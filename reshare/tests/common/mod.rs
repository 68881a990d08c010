//! Shared helpers for the reshare tests: devices with epoch records, a DKG to start from, a
//! reshare through the harness, and the checks every new epoch must pass.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use ff::Field as _;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{
    lagrange::lagrange_coefficients,
    sim::{Envelope, Report, Simulation},
    Ciphersuite, Ed25519Identity, Identifier, IdentityKey, IdentitySigner, KeyPackage, Protocol,
    Tweak,
};
use tessera_keygen::{
    certify::Certify,
    dkg::{Dkg, DkgParams},
    KeyShare,
};
use tessera_reshare::{Dealer, KeyRecord, Persist, ReshareParams, ReshareParty, Transition};
use tessera_sign::{SignParty, SigningRequest};

/// One `#[test]` per `name => body` pair, running `body` for every suite. (The suite types
/// must be in scope where it is used.)
macro_rules! all_suites {
    ($($name:ident => $body:ident;)*) => {$(
        #[test]
        fn $name() {
            $body::<Ed25519>();
            $body::<Secp256k1>();
            $body::<Taproot>();
        }
    )*};
}

/// A device: its identity and its record of the key.
pub struct Device<C: Ciphersuite> {
    pub identity: Arc<Ed25519Identity>,
    pub record: Arc<Mutex<KeyRecord<C>>>,
}

impl<C: Ciphersuite> Device<C> {
    pub fn key(&self) -> IdentityKey {
        self.identity.identity()
    }

    /// The active share (panics in a test if there is none).
    pub fn share(&self) -> KeyShare<C> {
        self.record
            .lock()
            .unwrap()
            .active()
            .expect("an active share")
            .clone()
    }

    pub fn has_share(&self) -> bool {
        self.record.lock().unwrap().active().is_some()
    }

    /// A persist callback staging into this device's record.
    pub fn persist(&self) -> Persist<C> {
        let record = self.record.clone();
        Box::new(move |session, pending| {
            record
                .lock()
                .map_err(|_| "record poisoned".to_string())?
                .stage(*session, pending.clone())
                .map_err(|e| e.to_string())
        })
    }
}

pub fn identity(seed: u8) -> Arc<Ed25519Identity> {
    Arc::new(Ed25519Identity::from_seed(&[seed; 32]))
}

/// A t-of-n key from the DKG, certified; device i has identity seed i + 1.
pub fn dkg<C: Ciphersuite>(t: u16, n: u16, seed: u64) -> Vec<Device<C>> {
    let ids: Vec<_> = (0..n).map(|i| identity(i as u8 + 1)).collect();
    let params = DkgParams {
        session: [0xd1; 32],
        threshold: t,
        roster: ids.iter().map(|i| i.identity()).collect(),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let parties = (0..n)
        .map(|i| Dkg::<C>::new(params.clone(), i, ids[usize::from(i)].clone(), &mut rng).unwrap())
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
    pending
        .iter()
        .zip(certs)
        .zip(ids)
        .map(|((p, c), identity)| Device {
            identity,
            record: Arc::new(Mutex::new(KeyRecord::new(p.activate(&c).unwrap()))),
        })
        .collect()
}

/// A device that joins the key with no share.
pub fn joiner<C: Ciphersuite>(seed: u8, group_key: C::Point) -> Device<C> {
    Device {
        identity: identity(seed),
        record: Arc::new(Mutex::new(KeyRecord::joining(group_key))),
    }
}

/// The parameters of a reshare by `dealers` (devices with active shares) to `new` (in
/// order) with threshold `t`.
pub fn params<C: Ciphersuite>(
    dealers: &[&Device<C>],
    new: &[&Device<C>],
    t: u16,
    session: u8,
) -> ReshareParams {
    let first = dealers[0].share();
    let mut dealers: Vec<Dealer> = dealers
        .iter()
        .map(|d| Dealer {
            old_id: d.share().key_package().identifier(),
            identity: d.key(),
        })
        .collect();
    dealers.sort_by_key(|d| d.old_id);
    ReshareParams {
        session: [session; 32],
        group_key: C::serialize_point(first.key_package().public().group_key())
            .unwrap()
            .as_ref()
            .to_vec(),
        old_key_id: *first.key_id(),
        dealers,
        new_roster: new.iter().map(|d| d.key()).collect(),
        new_threshold: t,
    }
}

/// The parties of a reshare, in session-roster order.
pub fn parties<C: Ciphersuite>(
    params: &ReshareParams,
    everyone: &[&Device<C>],
    seed: u64,
) -> Vec<ReshareParty<C>> {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    params
        .devices()
        .iter()
        .map(|key| {
            let d = everyone
                .iter()
                .find(|d| d.key() == *key)
                .expect("a device of the session");
            let dealer = params.dealers.iter().any(|x| x.identity == *key);
            if dealer {
                ReshareParty::dealer(
                    params.clone(),
                    &mut d.record.lock().unwrap(),
                    d.identity.clone(),
                    d.persist(),
                    &mut rng,
                )
                .unwrap()
            } else {
                ReshareParty::joiner(params.clone(), d.identity.clone(), d.persist(), &mut rng)
                    .unwrap()
            }
        })
        .collect()
}

/// Runs a reshare through the harness with `router`.
pub fn run<C: Ciphersuite>(
    params: &ReshareParams,
    everyone: &[&Device<C>],
    seed: u64,
    router: impl FnMut(Envelope) -> Vec<Envelope> + 'static,
) -> Report<ReshareParty<C>> {
    Simulation::new(parties(params, everyone, seed))
        .reorder(seed)
        .router(router)
        .run()
}

/// Commits every finished device's transition into its record; returns the transition.
pub fn commit<C: Ciphersuite>(
    params: &ReshareParams,
    everyone: &[&Device<C>],
    report: Report<ReshareParty<C>>,
) -> Transition {
    let mut transition = None;
    for (key, outcome) in params.devices().iter().zip(report.outcomes) {
        let d = everyone.iter().find(|d| d.key() == *key).unwrap();
        let out = match outcome {
            tessera_core::sim::Outcome::Done(out) => out,
            other => panic!("device {key:?} did not finish: {other:?}"),
        };
        d.record.lock().unwrap().commit(&out.transition).unwrap();
        transition = Some(out.transition);
    }
    transition.expect("a session has devices")
}

/// An honest reshare from `dealers` to `new` with threshold `t`, committed at every device
/// of the session; returns the transition (to relay to old parties that were offline).
pub fn reshare<C: Ciphersuite>(
    dealers: &[&Device<C>],
    new: &[&Device<C>],
    t: u16,
    session: u8,
) -> Transition {
    let p = params(dealers, new, t, session);
    let mut everyone: Vec<&Device<C>> = new.to_vec();
    everyone.extend(
        dealers
            .iter()
            .filter(|d| !new.iter().any(|n| n.key() == d.key())),
    );
    let report = run(&p, &everyone, u64::from(session), |e| vec![e]);
    commit(&p, &everyone, report)
}

/// Every `size`-subset of `0..n`.
pub fn subsets(n: usize, size: usize) -> Vec<Vec<usize>> {
    if size == 0 {
        return vec![vec![]];
    }
    if n < size {
        return vec![];
    }
    let mut with: Vec<Vec<usize>> = subsets(n - 1, size - 1);
    with.iter_mut().for_each(|s| s.push(n - 1));
    with.extend(subsets(n - 1, size));
    with
}

/// Signs `message` with the given key packages through the harness; the signature if every
/// signer finished and it verifies under P.
pub fn sign<C: Ciphersuite>(
    keys: &[(KeyPackage<C>, Arc<Ed25519Identity>)],
    message: &[u8],
    seed: u64,
) -> Option<Vec<u8>> {
    let roster: Vec<(Identifier, IdentityKey)> = keys
        .iter()
        .map(|(k, i)| (k.identifier(), i.identity()))
        .collect();
    let request = SigningRequest {
        session_id: [seed as u8; 32],
        message: message.to_vec(),
        tweak: Tweak::none(),
        signers: roster.iter().map(|(id, _)| *id).collect(),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let parties: Vec<SignParty<C>> = keys
        .iter()
        .map(|(k, i)| SignParty::new(k, request.clone(), roster.clone(), i.clone(), &mut rng).ok())
        .collect::<Option<_>>()?;
    let group_key = *keys[0].0.public().group_key();
    let outputs = Simulation::new(parties).run().all_done()?;
    let sig = outputs[0].signature;
    tessera_sign::verify::<C>(&group_key, message, &sig).ok()?;
    sig.to_bytes().ok()
}

/// The checks after a reshare to `new` with threshold `t` under `group_key`: every t-subset
/// signs under the unchanged key, and t − 1 shares interpolate to something else.
pub fn check_epoch<C: Ciphersuite>(new: &[&Device<C>], t: usize, group_key: &C::Point, epoch: u64) {
    let shares: Vec<KeyShare<C>> = new.iter().map(|d| d.share()).collect();
    for s in &shares {
        assert_eq!(s.epoch(), epoch);
        assert_eq!(s.key_package().public().group_key(), group_key);
        assert_eq!(usize::from(s.key_package().public().threshold()), t);
        s.public()
            .verify_member(&new[usize::from(s.key_package().identifier().get() - 1)].key())
            .unwrap();
    }
    for (n, subset) in subsets(shares.len(), t).into_iter().enumerate() {
        let keys: Vec<_> = subset
            .iter()
            .map(|&i| (shares[i].key_package().clone(), new[i].identity.clone()))
            .collect();
        assert!(
            sign(&keys, b"after the reshare", n as u64).is_some(),
            "subset {subset:?} signs"
        );
    }
    // t - 1 shares: the interpolated secret is not the key's.
    let few: Vec<&KeyShare<C>> = shares.iter().take(t - 1).collect();
    assert_ne!(interpolate(&few), *group_key);
    // and the signing API refuses fewer than t signers.
    let keys: Vec<_> = (0..t - 1)
        .map(|i| (shares[i].key_package().clone(), new[i].identity.clone()))
        .collect();
    assert!(sign(&keys, b"too few", 99).is_none());
}

/// `(Σ λ_i s_i)·G` over the given shares.
pub fn interpolate<C: Ciphersuite>(shares: &[&KeyShare<C>]) -> C::Point {
    let ids: Vec<Identifier> = shares
        .iter()
        .map(|s| s.key_package().identifier())
        .collect();
    let lambdas = lagrange_coefficients::<C>(&ids).unwrap();
    let secret = shares
        .iter()
        .zip(lambdas)
        .fold(C::Scalar::ZERO, |acc, (s, l)| {
            acc + l * s.key_package().signing_share().expose_secret()
        });
    C::mul_base(&secret)
}

/// Runs a protocol's parties and returns whether all finished (for the sign helper).
pub fn all_done<P: Protocol>(report: Report<P>) -> bool {
    report.outcomes.iter().all(|o| o.done().is_some())
}
