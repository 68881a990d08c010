//! Resharing through the harness for every suite (design §3.3): refresh, add and raise,
//! remove and lower, a disjoint committee, an overlap, more than t dealers, and a chain of
//! five reshares. After each: every t'-subset of the new committee signs under the unchanged
//! group key, t'-1 cannot, and shares of different epochs never sign together.

#[macro_use]
mod common;

use common::*;
use tessera_core::{Ciphersuite, Ed25519, Secp256k1, Taproot};

all_suites! {
    refresh_2_of_3 => refresh;
    add_and_raise_2_of_3_to_3_of_4 => add_and_raise;
    remove_and_lower_3_of_5_to_2_of_3 => remove_and_lower;
    disjoint_committee => disjoint;
    overlap_of_one_device => overlap;
    more_than_t_dealers => more_than_t;
    chain_of_five_reshares => chain_of_five;
    mixed_epochs_never_sign => mixed_epochs;
}

fn group_key<C: Ciphersuite>(d: &Device<C>) -> C::Point {
    *d.share().key_package().public().group_key()
}

fn refresh<C: Ciphersuite>() {
    let old = dkg::<C>(2, 3, 1);
    let p = group_key(&old[0]);
    let all: Vec<&Device<C>> = old.iter().collect();
    let before: Vec<_> = old.iter().map(|d| d.share()).collect();
    reshare(&all[..2], &all, 2, 10);
    check_epoch(&all, 2, &p, 1);
    for (d, b) in old.iter().zip(before) {
        assert_ne!(
            d.share().key_package().signing_share(),
            b.key_package().signing_share(),
            "a refresh changes every share"
        );
        assert_ne!(d.share().key_id(), b.key_id());
    }
}

fn add_and_raise<C: Ciphersuite>() {
    let old = dkg::<C>(2, 3, 2);
    let p = group_key(&old[0]);
    let fourth = joiner::<C>(40, p);
    let new: Vec<&Device<C>> = old.iter().chain([&fourth]).collect();
    reshare(&[&old[0], &old[2]], &new, 3, 11);
    check_epoch(&new, 3, &p, 1);
}

fn remove_and_lower<C: Ciphersuite>() {
    let old = dkg::<C>(3, 5, 3);
    let p = group_key(&old[0]);
    let dealers: Vec<&Device<C>> = old.iter().take(3).collect();
    let new = [&old[1], &old[3], &old[4]];
    reshare(&dealers, &new, 2, 12);
    check_epoch(&new, 2, &p, 1);
    // Devices 0 and 2 are not in the new committee: device 0 dealt and erased its share.
    assert!(!old[0].has_share());
    let err = old[0].record.lock().unwrap().share_for(0).unwrap_err();
    assert!(matches!(
        err,
        tessera_reshare::EpochError::Superseded {
            asked: 0,
            active: 1
        }
    ));
    // Device 2 dealt too; device 2 is removed and erased.
    assert!(!old[2].has_share());
}

fn disjoint<C: Ciphersuite>() {
    let old = dkg::<C>(2, 3, 4);
    let p = group_key(&old[0]);
    let fresh: Vec<Device<C>> = (50..53).map(|s| joiner::<C>(s, p)).collect();
    let new: Vec<&Device<C>> = fresh.iter().collect();
    reshare(&[&old[0], &old[1]], &new, 2, 13);
    check_epoch(&new, 2, &p, 1);
    assert!(!old[0].has_share() && !old[1].has_share());
    // Device 2 was offline: it still holds epoch 0 (resharing is not revocation).
    assert_eq!(old[2].share().epoch(), 0);
}

fn overlap<C: Ciphersuite>() {
    let old = dkg::<C>(2, 3, 5);
    let p = group_key(&old[0]);
    let fresh: Vec<Device<C>> = (60..62).map(|s| joiner::<C>(s, p)).collect();
    // Device 1 is in both committees, with old identifier 2 and new identifier 2.
    let new = [&fresh[0], &old[1], &fresh[1]];
    reshare(&[&old[0], &old[1]], &new, 2, 14);
    check_epoch(&new, 2, &p, 1);
    assert_eq!(old[1].share().key_package().identifier().get(), 2);
    assert!(!old[0].has_share());
}

fn more_than_t<C: Ciphersuite>() {
    let old = dkg::<C>(2, 4, 6);
    let p = group_key(&old[0]);
    let all: Vec<&Device<C>> = old.iter().collect();
    reshare(&all, &all[..3], 3, 15);
    check_epoch(&all[..3], 3, &p, 1);
}

fn chain_of_five<C: Ciphersuite>() {
    let old = dkg::<C>(2, 3, 7);
    let p = group_key(&old[0]);
    let extra: Vec<Device<C>> = (70..73).map(|s| joiner::<C>(s, p)).collect();
    // Committees over the five reshares, as indices into `pool`.
    let pool: Vec<&Device<C>> = old.iter().chain(&extra).collect();
    let steps: [(&[usize], u16); 5] = [
        (&[0, 1, 2, 3], 3),
        (&[1, 2, 3], 2),
        (&[3, 4, 1, 5], 2),
        (&[5, 4, 3], 3),
        (&[4, 5, 3, 0, 1], 3),
    ];
    let mut committee: Vec<usize> = vec![0, 1, 2];
    let mut t = 2usize;
    for (epoch, (next, next_t)) in steps.iter().enumerate() {
        let dealers: Vec<&Device<C>> = committee.iter().take(t).map(|&i| pool[i]).collect();
        let new: Vec<&Device<C>> = next.iter().map(|&i| pool[i]).collect();
        let transition = reshare(&dealers, &new, *next_t, 20 + epoch as u8);
        // The transition is relayed to the old parties that were offline: they erase.
        for d in &pool {
            if d.has_share() && d.share().epoch() == epoch as u64 {
                let done = d.record.lock().unwrap().commit(&transition).unwrap();
                assert_eq!(done, tessera_reshare::Committed::Retired);
            }
        }
        check_epoch(&new, usize::from(*next_t), &p, epoch as u64 + 1);
        committee = next.to_vec();
        t = usize::from(*next_t);
    }
}

/// Shares of epoch 0 and epoch 1 of one key: any mix that signs together fails.
fn mixed_epochs<C: Ciphersuite>() {
    let old = dkg::<C>(2, 3, 8);
    let p = group_key(&old[0]);
    let before: Vec<_> = old.iter().map(|d| d.share()).collect();
    let all: Vec<&Device<C>> = old.iter().collect();
    reshare(&all, &all, 2, 16);
    let after: Vec<_> = old.iter().map(|d| d.share()).collect();
    // Party 1 with its epoch-0 share, party 2 with its epoch-1 share, and the other way round.
    for (a, b) in [(&before[0], &after[1]), (&after[0], &before[1])] {
        let keys = vec![
            (a.key_package().clone(), old[0].identity.clone()),
            (b.key_package().clone(), old[1].identity.clone()),
        ];
        assert!(sign(&keys, b"mixed epochs", 5).is_none());
        assert_ne!(interpolate(&[a, b]), p);
    }
    // Each epoch alone still interpolates to the key (epoch 0 is erased from the devices).
    assert_eq!(interpolate(&[&before[0], &before[1]]), p);
    assert_eq!(interpolate(&[&after[0], &after[1]]), p);
}
