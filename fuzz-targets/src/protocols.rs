//! The protocol targets: an honest 2-of-3 session (3 parties; a reshare to a new device; a
//! repair by two helpers) in the simulation harness, one delivery of which the fuzzer's bytes
//! replace or change.
//!
//! Input: `suite (u8, mod 3) ‖ delivery (u8) ‖ mode (u8, mod 3) ‖ bytes`. Delivery number
//! `delivery`, counting from 0 in sending order, becomes: mode 0, `bytes`; mode 1, its own
//! header followed by `bytes` (so that it reaches the protocol); mode 2, itself XORed with
//! `bytes`, repeated. Every other delivery is honest.

use std::{
    any::Any,
    collections::BTreeSet,
    sync::{Arc, OnceLock},
};

use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{
    protocol::Header,
    sim::{Envelope, Simulation},
    Ciphersuite, Ed25519, Ed25519Identity, Identifier, IdentityKey, IdentitySigner, Protocol,
    Secp256k1, Taproot, Tweak,
};
use tessera_keygen::{
    certify::Certify,
    dkg::{Dkg, DkgParams},
    KeyShare,
};
use tessera_reshare::{Dealer, KeyRecord, RepairParty, ReshareParams, ReshareParty};
use tessera_sign::{SignBatch, SignItem, SignParty, SigningRequest};

const SESSION: [u8; 32] = [0x5e; 32];

/// Runs `body::<C>` for the suite `data[0]` names, with the rest of `data`.
macro_rules! by_suite {
    ($data:expr, $body:ident) => {
        match $data.split_first() {
            Some((s, rest)) => match s % 3 {
                0 => $body::<Ed25519>(rest),
                1 => $body::<Secp256k1>(rest),
                _ => $body::<Taproot>(rest),
            },
            None => {}
        }
    };
}

/// Runs `parties` with one delivery changed as the module doc says.
fn run_changed<P: Protocol>(parties: Vec<P>, data: &[u8]) {
    let [target, mode, bytes @ ..] = data else {
        return;
    };
    let (target, mode, bytes) = (usize::from(*target), mode % 3, bytes.to_vec());
    let mut count = 0usize;
    let router = move |mut e: Envelope| {
        if count == target {
            match mode {
                0 => e.payload = bytes.clone(),
                1 => {
                    let header = e.payload.get(..Header::LEN).unwrap_or_default().to_vec();
                    e.payload = [header, bytes.clone()].concat();
                }
                _ if !bytes.is_empty() => {
                    for (i, b) in e.payload.iter_mut().enumerate() {
                        *b ^= bytes[i % bytes.len()];
                    }
                }
                _ => {}
            }
        }
        count += 1;
        vec![e]
    };
    let _ = Simulation::new(parties).router(router).run();
}

/// Identities 1, 2, 3, …
fn identities(n: u8) -> Vec<Arc<Ed25519Identity>> {
    (1..=n)
        .map(|i| Arc::new(Ed25519Identity::from_seed(&[i; 32])))
        .collect()
}

fn dkg_parties<C: Ciphersuite>(ids: &[Arc<Ed25519Identity>]) -> Vec<Dkg<C>> {
    let params = DkgParams {
        session: SESSION,
        threshold: 2,
        roster: ids.iter().map(|i| i.identity()).collect(),
    };
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    (0..ids.len() as u16)
        // Valid parameters: 2-of-3 with distinct identities.
        .filter_map(|i| Dkg::new(params.clone(), i, ids[usize::from(i)].clone(), &mut rng).ok())
        .collect()
}

/// A DKG with one delivery changed.
pub fn dkg(data: &[u8]) {
    fn body<C: Ciphersuite>(data: &[u8]) {
        run_changed(dkg_parties::<C>(&identities(3)), data);
    }
    by_suite!(data, body)
}

/// The certified 2-of-3 shares of identities 1, 2, 3, made once per suite.
pub(crate) fn shares<C: Ciphersuite>() -> Option<Vec<KeyShare<C>>> {
    static MADE: [OnceLock<Option<Box<dyn Any + Send + Sync>>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    let made = MADE[C::SUITE as usize].get_or_init(|| {
        let pending = Simulation::new(dkg_parties::<C>(&identities(3)))
            .run()
            .all_done()?;
        let certifiers = pending.iter().map(|p| Certify::new(p, SESSION)).collect();
        let certificates = Simulation::new(certifiers).run().all_done()?;
        let shares: Option<Vec<KeyShare<C>>> = pending
            .iter()
            .zip(&certificates)
            .map(|(p, c)| p.activate(c).ok())
            .collect();
        Some(Box::new(shares?) as Box<dyn Any + Send + Sync>)
    });
    made.as_ref()?.downcast_ref::<Vec<KeyShare<C>>>().cloned()
}

/// The parties of signers 1 and 2 of the certified key, each made by `build` from its key,
/// the signer set, the roster, its identity and an RNG.
fn signing<C: Ciphersuite, P>(
    build: impl Fn(
        &tessera_core::KeyPackage<C>,
        BTreeSet<Identifier>,
        Vec<(Identifier, IdentityKey)>,
        Arc<dyn IdentitySigner>,
        &mut ChaCha20Rng,
    ) -> Option<P>,
) -> Option<Vec<P>> {
    let (shares, ids) = (shares::<C>()?, identities(3));
    let roster: Vec<(Identifier, IdentityKey)> = shares[..2]
        .iter()
        .zip(&ids)
        .map(|(s, i)| (s.key_package().identifier(), i.identity()))
        .collect();
    let set: BTreeSet<Identifier> = roster.iter().map(|(id, _)| *id).collect();
    (0..2)
        .map(|i| {
            build(
                shares[i].key_package(),
                set.clone(),
                roster.clone(),
                ids[i].clone(),
                &mut ChaCha20Rng::seed_from_u64(i as u64),
            )
        })
        .collect()
}

fn tweak<C: Ciphersuite>() -> Tweak {
    if C::BIP340 {
        Tweak::bip86()
    } else {
        Tweak::none()
    }
}

/// A signature by parties 1 and 2 with one delivery changed.
pub fn sign(data: &[u8]) {
    fn body<C: Ciphersuite>(data: &[u8]) {
        let parties = signing::<C, _>(|key, signers, roster, identity, rng| {
            let request = SigningRequest {
                session_id: SESSION,
                message: b"fuzz".to_vec(),
                tweak: tweak::<C>(),
                signers,
            };
            SignParty::new(key, request, roster, identity, rng).ok()
        });
        if let Some(parties) = parties {
            run_changed(parties, data);
        }
    }
    by_suite!(data, body)
}

/// Two messages signed in one session by parties 1 and 2, one delivery changed.
pub fn sign_batch(data: &[u8]) {
    fn body<C: Ciphersuite>(data: &[u8]) {
        let items: Vec<SignItem> = (0..2u8)
            .map(|i| SignItem {
                message: vec![i; 32],
                tweak: tweak::<C>(),
            })
            .collect();
        let parties = signing::<C, _>(|key, signers, roster, identity, rng| {
            SignBatch::new(key, SESSION, signers, items.clone(), roster, identity, rng).ok()
        });
        if let Some(parties) = parties {
            run_changed(parties, data);
        }
    }
    by_suite!(data, body)
}

/// A reshare by devices 1 and 2 to devices 2, 3 and a new device 4 with t' = 2, one delivery
/// changed.
pub fn reshare(data: &[u8]) {
    fn body<C: Ciphersuite>(data: &[u8]) {
        let (Some(shares), ids) = (shares::<C>(), identities(4)) else {
            return;
        };
        let Ok(group_key) = C::serialize_point(shares[0].key_package().public().group_key()) else {
            return;
        };
        let params = ReshareParams {
            session: [0x7e; 32],
            group_key: group_key.as_ref().to_vec(),
            old_key_id: *shares[0].key_id(),
            dealers: (0..2)
                .map(|i| Dealer {
                    old_id: shares[i].key_package().identifier(),
                    identity: ids[i].identity(),
                })
                .collect(),
            new_roster: ids[1..].iter().map(|i| i.identity()).collect(),
            new_threshold: 2,
        };
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let mut parties = Vec::new();
        for key in params.devices() {
            let Some(i) = ids.iter().position(|d| d.identity() == key) else {
                return;
            };
            let persist: tessera_reshare::Persist<C> = Box::new(|_, _| Ok(()));
            let signer = ids[i].clone() as Arc<dyn IdentitySigner>;
            let party = if i < 2 {
                let mut record = KeyRecord::new(shares[i].clone());
                ReshareParty::dealer(params.clone(), &mut record, signer, persist, &mut rng)
            } else {
                ReshareParty::joiner(params.clone(), signer, persist, &mut rng)
            };
            match party {
                Ok(p) => parties.push(p),
                Err(_) => return,
            }
        }
        run_changed(parties, data);
    }
    by_suite!(data, body)
}

/// A repair of party 3's share by parties 1 and 2, one delivery changed.
pub fn repair(data: &[u8]) {
    fn body<C: Ciphersuite>(data: &[u8]) {
        let Some(shares) = shares::<C>() else {
            return;
        };
        let ids: Vec<Identifier> = shares
            .iter()
            .map(|s| s.key_package().identifier())
            .collect();
        let helpers = ids[..2].to_vec();
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        let mut parties: Vec<RepairParty<C>> = shares[..2]
            .iter()
            .filter_map(|s| {
                RepairParty::helper(
                    SESSION,
                    s.key_package().clone(),
                    helpers.clone(),
                    ids[2],
                    &mut rng,
                )
                .ok()
            })
            .collect();
        let public = Arc::new(shares[2].key_package().public().clone());
        match RepairParty::lost(SESSION, public, helpers, ids[2]) {
            Ok(lost) => parties.push(lost),
            Err(_) => return,
        }
        run_changed(parties, data);
    }
    by_suite!(data, body)
}

/// The public data of party 1's certified share of suite `C`: a key to read transactions
/// for.
pub(crate) fn public_of<C: Ciphersuite>() -> Option<tessera_keygen::PublicKeyShare> {
    shares::<C>().map(|s| s[0].public())
}
