//! Share repair (design §3.4) for every suite: a lost share comes back from t helpers, equal
//! to the original, nobody else's share changes, and a wrong contribution fails the check.

#[macro_use]
mod common;

use std::sync::Arc;

use common::*;
use ff::Field as _;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::sim::{Outcome, Simulation};
use tessera_core::{
    Ciphersuite, Ed25519, Identifier, KeyPackage, Secp256k1, SecretScalar, Taproot,
};
use tessera_reshare::{
    repair::{combine, recover, split, RepairError},
    RepairParty, RepairPartyError,
};

all_suites! {
    lost_share_is_recovered_from_t_helpers => recovered;
    wrong_contribution_fails_the_check => wrong_contribution;
    invalid_requests_are_refused => invalid;
    a_repair_session_restores_the_share => session;
}

/// Runs the three steps with `keys` as helpers for `lost`; `tamper` may change any part.
fn repair<C: Ciphersuite>(
    keys: &[KeyPackage<C>],
    lost: Identifier,
    tamper: impl Fn(usize, usize, &mut SecretScalar<C>),
) -> Result<KeyPackage<C>, RepairError> {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let helpers: Vec<Identifier> = keys.iter().map(|k| k.identifier()).collect();
    // parts[i][j]: helper i's part for helper j.
    let mut parts: Vec<Vec<SecretScalar<C>>> = keys
        .iter()
        .map(|k| {
            split(k, &helpers, lost, &mut rng)
                .unwrap()
                .into_iter()
                .map(|(_, p)| p)
                .collect()
        })
        .collect();
    for (i, row) in parts.iter_mut().enumerate() {
        for (j, p) in row.iter_mut().enumerate() {
            tamper(i, j, p);
        }
    }
    let sigmas: Vec<SecretScalar<C>> = (0..keys.len())
        .map(|j| combine(&parts.iter().map(|row| row[j].clone()).collect::<Vec<_>>()))
        .collect();
    recover(&sigmas, lost, Arc::new(keys[0].public().clone()))
}

fn recovered<C: Ciphersuite>() {
    let devices = dkg::<C>(3, 5, 1);
    let shares: Vec<_> = devices.iter().map(|d| d.share()).collect();
    // Party 4 lost its share; parties 1, 2 and 5 help.
    let helpers: Vec<KeyPackage<C>> = [0, 1, 4]
        .iter()
        .map(|&i| shares[i].key_package().clone())
        .collect();
    let lost = Identifier::new(4).unwrap();
    let back = repair(&helpers, lost, |_, _, _| {}).unwrap();
    assert_eq!(
        back.signing_share(),
        shares[3].key_package().signing_share()
    );
    // More than t helpers work too.
    let all_others: Vec<KeyPackage<C>> = [0, 1, 2, 4]
        .iter()
        .map(|&i| shares[i].key_package().clone())
        .collect();
    assert_eq!(
        repair(&all_others, lost, |_, _, _| {})
            .unwrap()
            .signing_share(),
        back.signing_share()
    );
    // Nobody else's share changed, and the repaired share signs with two others.
    for (d, s) in devices.iter().zip(&shares) {
        assert_eq!(
            d.share().key_package().signing_share(),
            s.key_package().signing_share()
        );
    }
    // (in identifier order, as a signing roster must be)
    let keys = vec![
        (shares[0].key_package().clone(), devices[0].identity.clone()),
        (shares[2].key_package().clone(), devices[2].identity.clone()),
        (back, devices[3].identity.clone()),
    ];
    assert!(sign(&keys, b"after the repair", 3).is_some());
}

fn wrong_contribution<C: Ciphersuite>() {
    let devices = dkg::<C>(2, 3, 2);
    let helpers: Vec<KeyPackage<C>> = [0, 2]
        .iter()
        .map(|&i| devices[i].share().key_package().clone())
        .collect();
    let lost = Identifier::new(2).unwrap();
    for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        let r = repair(&helpers, lost, |a, b, p| {
            if (a, b) == (i, j) {
                *p = SecretScalar::new(*p.expose_secret() + C::Scalar::ONE);
            }
        });
        assert_eq!(r.unwrap_err(), RepairError::Mismatch);
    }
}

fn invalid<C: Ciphersuite>() {
    let devices = dkg::<C>(3, 4, 3);
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let key = devices[0].share().key_package().clone();
    let id = |i| Identifier::new(i).unwrap();
    let lost = id(4);
    let cases: [(&[Identifier], Identifier); 5] = [
        (&[id(1), id(2)], lost),         // fewer than t
        (&[id(1), id(2), id(4)], lost),  // the lost party helps
        (&[id(1), id(2), id(3)], id(9)), // not in the committee
        (&[id(2), id(1), id(3)], lost),  // unsorted
        (&[id(2), id(3), id(9)], lost),  // a helper outside the committee
    ];
    for (helpers, lost) in cases {
        assert!(matches!(
            split(&key, helpers, lost, &mut rng),
            Err(RepairError::Parameters(_))
        ));
    }
    let public = Arc::new(key.public().clone());
    assert!(matches!(
        recover(&[SecretScalar::<C>::new(C::Scalar::ONE)], lost, public),
        Err(RepairError::Parameters(_))
    ));
}

/// The repair as a session (`RepairParty`, design §3.4): helpers 1, 2 and 5 of a 3-of-5 key
/// and the lost party 4 end with party 4's original share; a helper whose sum is changed on
/// the way fails the check at party 4, which names nobody and keeps nothing.
fn session<C: Ciphersuite>() {
    let devices = dkg::<C>(3, 5, 1);
    let shares: Vec<KeyPackage<C>> = devices
        .iter()
        .map(|d| d.share().key_package().clone())
        .collect();
    let helpers: Vec<Identifier> = [1u16, 2, 5].map(|i| Identifier::new(i).unwrap()).to_vec();
    let lost = Identifier::new(4).unwrap();
    let parties = |seed: u64| {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let mut parties: Vec<RepairParty<C>> = [0usize, 1, 4]
            .iter()
            .map(|&i| {
                RepairParty::helper([9; 32], shares[i].clone(), helpers.clone(), lost, &mut rng)
                    .unwrap()
            })
            .collect();
        let public = Arc::new(shares[0].public().clone());
        parties.push(RepairParty::lost([9; 32], public, helpers.clone(), lost).unwrap());
        parties
    };
    let report = Simulation::new(parties(1)).run();
    let outputs = report.all_done().expect("every party finishes");
    assert_eq!(outputs[3].signing_share(), shares[3].signing_share());
    for (i, k) in [0usize, 1, 4].iter().zip(&outputs) {
        assert_eq!(
            k.signing_share(),
            shares[*i].signing_share(),
            "helper keeps its share"
        );
    }
    // Helper 2's sum is changed on its way to the lost party.
    let report = Simulation::new(parties(2))
        .router(|mut e| {
            if e.from == 1 && e.to == 3 {
                let last = e.payload.len() - 1;
                e.payload[last] ^= 1;
            }
            vec![e]
        })
        .run();
    match &report.outcomes[3] {
        Outcome::Failed(RepairPartyError::Repair(RepairError::Mismatch))
        | Outcome::Failed(RepairPartyError::Misbehaviour(_)) => {}
        other => panic!("the lost party must not accept a wrong share: {other:?}"),
    }
}
