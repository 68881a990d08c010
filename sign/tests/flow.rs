//! End-to-end signing for every suite: subsets, tweaks with odd-y keys, and the signer-side
//! and aggregator-side checks of design §3.2.

mod common;

use std::collections::BTreeMap;

use common::{ids, request, run_rounds, sign};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{
    Ciphersuite, Ed25519, Identifier, Secp256k1, SecretScalar, Taproot, TaprootTweak, Tweak,
};
use tessera_keygen::dealer::{split, split_random};
use tessera_sign::{verify, SignError, SignatureShare, Signer, SigningPackage, VerifyError};

fn every_subset_signs<C: Ciphersuite>(t: u16, n: u16, tweak: Tweak) {
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    let (keys, public) = split_random::<C>(t, n, &mut rng).unwrap();
    let all: Vec<u16> = (1..=n).collect();
    for mask in 0u32..(1 << n) {
        let subset: Vec<u16> = all
            .iter()
            .filter(|&&i| mask & (1 << (i - 1)) != 0)
            .copied()
            .collect();
        let result = sign(
            &keys,
            &public,
            &ids(&subset),
            b"msg",
            tweak.clone(),
            &mut rng,
        );
        if subset.len() >= usize::from(t) {
            let (sig, q) = result.unwrap();
            verify::<C>(&q, b"msg", &sig).unwrap();
            assert_eq!(verify::<C>(&q, b"other", &sig), Err(VerifyError::Mismatch));
        } else {
            assert!(matches!(result, Err(SignError::NotEnoughSigners { .. })));
        }
    }
}

#[test]
fn every_subset_of_3_of_5_signs() {
    every_subset_signs::<Ed25519>(3, 5, Tweak::none());
    every_subset_signs::<Secp256k1>(3, 5, Tweak::none());
    every_subset_signs::<Taproot>(3, 5, Tweak::bip86());
}

/// Design §2: test with odd-y P, odd-y child and odd-y Q (before its even-y step). Runs
/// random keys until each case has occurred, signs, and checks with k256's BIP-340 verifier.
#[test]
fn taproot_signs_with_odd_y_at_every_step() {
    use tessera_core::{hash::tagged_hash, KeyTweak};
    let derivation = vec![3, 1];
    let tweaks = [
        Tweak::none(),
        Tweak::bip86(),
        Tweak {
            derivation: derivation.clone(),
            taproot: TaprootTweak::Bip86,
        },
        Tweak {
            derivation: vec![5],
            taproot: TaprootTweak::MerkleRoot([0xab; 32]),
        },
    ];
    let (mut odd_p, mut odd_child, mut odd_q) = (false, false, false);
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for round in 0..64 {
        let (keys, public) = split_random::<Taproot>(2, 3, &mut rng).unwrap();
        let p = public.group_key();
        odd_p |= !Taproot::has_even_y(p);
        // The child key after plain tweaks only (Secp256k1 shares the point type).
        let plain = Tweak {
            derivation: derivation.clone(),
            taproot: TaprootTweak::None,
        };
        let child = KeyTweak::<Secp256k1>::derive(p, public.chain_code(), &plain).unwrap();
        odd_child |= !Taproot::has_even_y(child.output_key());
        // The BIP-86 output key before its even-y normalisation.
        let internal = if Taproot::has_even_y(p) { *p } else { -*p };
        let x = &Taproot::serialize_point(&internal).unwrap()[1..];
        let t = Taproot::deserialize_scalar(&tagged_hash(b"TapTweak", &[x])).unwrap();
        odd_q |= !Taproot::has_even_y(&(internal + Taproot::mul_base(&t)));
        for tweak in &tweaks {
            let (sig, q) = sign(
                &keys,
                &public,
                &ids(&[1, 3]),
                b"tx",
                tweak.clone(),
                &mut rng,
            )
            .unwrap_or_else(|e| panic!("round {round} {tweak:?}: {e}"));
            let bytes = sig.to_bytes().unwrap();
            let xonly = Taproot::serialize_verifying_key(&q).unwrap();
            let vk = k256::schnorr::VerifyingKey::from_slice(&xonly).unwrap();
            let ksig = k256::schnorr::Signature::try_from(bytes.as_slice()).unwrap();
            vk.verify_raw(b"tx", &ksig).unwrap();
        }
        if odd_p && odd_child && odd_q {
            return;
        }
    }
    panic!("odd-y cases not all reached: P {odd_p}, child {odd_child}, Q {odd_q}");
}

fn signer_side_checks<C: Ciphersuite>() {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let (keys, _) = split_random::<C>(2, 3, &mut rng).unwrap();
    let req = request(&ids(&[1, 2]), b"approved", Tweak::none());

    // Party 3 is not in the approved set.
    assert_eq!(
        Signer::new(&keys[2], req.clone()).unwrap_err(),
        SignError::NotASigner(ids(&[3])[0])
    );
    // A signer outside the committee, and too few signers.
    let outsider = request(&ids(&[1, 9]), b"m", Tweak::none());
    assert_eq!(
        Signer::new(&keys[0], outsider).unwrap_err(),
        SignError::NotInCommittee(ids(&[9])[0])
    );
    let alone = request(&ids(&[1]), b"m", Tweak::none());
    assert!(matches!(
        Signer::new(&keys[0], alone).unwrap_err(),
        SignError::NotEnoughSigners {
            got: 1,
            threshold: 2
        }
    ));

    // A fresh session: signer 1, its nonces, and both parties' commitments.
    let session = |rng: &mut ChaCha20Rng| {
        let mut s1 = Signer::new(&keys[0], req.clone()).unwrap();
        let mut s2 = Signer::new(&keys[1], req.clone()).unwrap();
        let (n1, c1) = s1.commit(rng).unwrap();
        let (_n2, c2) = s2.commit(rng).unwrap();
        let coms = BTreeMap::from([(s1.identifier(), c1), (s2.identifier(), c2)]);
        (s1, n1, coms)
    };

    // Round one runs once per signer.
    let (mut s1, n1, coms) = session(&mut rng);
    assert_eq!(
        s1.commit(&mut rng).unwrap_err(),
        SignError::AlreadyCommitted
    );

    // Another message than the approved one.
    let bad = SigningPackage::new(coms.clone(), b"evil".to_vec());
    assert_eq!(s1.sign(n1, &bad).unwrap_err(), SignError::MessageMismatch);

    // Another signer set (one commitment added).
    let (s1, n1, mut coms) = session(&mut rng);
    let (_, c3) = Signer::new(&keys[2], request(&ids(&[2, 3]), b"x", Tweak::none()))
        .unwrap()
        .commit(&mut rng)
        .unwrap();
    coms.insert(keys[2].identifier(), c3);
    let bad = SigningPackage::new(coms, b"approved".to_vec());
    assert_eq!(s1.sign(n1, &bad).unwrap_err(), SignError::SignerSetMismatch);

    // Own commitment replaced by someone else's.
    let (s1, n1, mut coms) = session(&mut rng);
    let other = coms[&ids(&[2])[0]];
    coms.insert(s1.identifier(), other);
    let bad = SigningPackage::new(coms, b"approved".to_vec());
    assert_eq!(
        s1.sign(n1, &bad).unwrap_err(),
        SignError::OwnCommitmentChanged
    );

    // Nonces drawn for another request cannot be used.
    let other_req = request(&ids(&[1, 3]), b"approved", Tweak::none());
    let (foreign_nonces, _) = Signer::new(&keys[0], other_req)
        .unwrap()
        .commit(&mut rng)
        .unwrap();
    let (s1, _n1, coms) = session(&mut rng);
    let pkg = SigningPackage::new(coms, b"approved".to_vec());
    assert_eq!(
        s1.sign(foreign_nonces, &pkg).unwrap_err(),
        SignError::NoncesFromAnotherRequest
    );

    // Wiped nonces never sign (a zero nonce would reveal the share).
    let (s1, mut n1, coms) = session(&mut rng);
    zeroize::Zeroize::zeroize(&mut n1);
    let pkg = SigningPackage::new(coms, b"approved".to_vec());
    assert_eq!(s1.sign(n1, &pkg).unwrap_err(), SignError::NoncesWiped);
}

#[test]
fn signers_refuse_packages_they_did_not_approve() {
    signer_side_checks::<Ed25519>();
    signer_side_checks::<Secp256k1>();
    signer_side_checks::<Taproot>();
}

fn aggregation_names_culprits<C: Ciphersuite>() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let (keys, public) = split_random::<C>(4, 6, &mut rng).unwrap();
    let signers = ids(&[1, 2, 4, 5, 6]);
    let mut s = run_rounds(&keys, &public, &signers, b"m", Tweak::none(), &mut rng).unwrap();
    // Every honest share verifies on its own.
    for (id, share) in &s.shares {
        s.aggregator.verify_share(&s.package, *id, share).unwrap();
    }
    // Tamper with two shares: both are named, and nobody else.
    for id in ids(&[2, 5]) {
        let z = SignatureShare::<C>::from_bytes(&s.shares[&id].to_bytes()).unwrap();
        let mut bytes = z.to_bytes();
        let one = C::serialize_scalar(&C::Scalar::from(1u64));
        let bumped = C::deserialize_scalar(&bytes).unwrap() + C::deserialize_scalar(&one).unwrap();
        bytes = C::serialize_scalar(&bumped);
        s.shares
            .insert(id, SignatureShare::from_bytes(&bytes).unwrap());
    }
    assert_eq!(
        s.aggregator.aggregate(&s.package, &s.shares).unwrap_err(),
        SignError::InvalidShares {
            culprits: ids(&[2, 5])
        }
    );
    // A missing share and an unexpected share are refused by name.
    let mut fewer = s.shares.clone();
    fewer.remove(&ids(&[4])[0]);
    assert_eq!(
        s.aggregator.aggregate(&s.package, &fewer).unwrap_err(),
        SignError::MissingShares(ids(&[4]))
    );
    let mut more = s.shares.clone();
    more.insert(ids(&[3])[0], s.shares[&ids(&[1])[0]]);
    assert_eq!(
        s.aggregator.aggregate(&s.package, &more).unwrap_err(),
        SignError::UnexpectedShares(ids(&[3]))
    );
}

#[test]
fn aggregation_names_every_culprit() {
    aggregation_names_culprits::<Ed25519>();
    aggregation_names_culprits::<Secp256k1>();
    aggregation_names_culprits::<Taproot>();
}

/// Shares of two different sharings of the same key never combine into a valid signature.
fn mixed_sharings_fail<C: Ciphersuite>() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let secret = SecretScalar::<C>::random(&mut rng);
    let (a, public) = split(&secret, 2, 3, &mut rng).unwrap();
    let (b, _) = split(&secret, 2, 3, &mut rng).unwrap();
    let mixed = vec![a[0].clone(), b[1].clone()];
    let err = sign(
        &mixed,
        &public,
        &ids(&[1, 2]),
        b"m",
        Tweak::none(),
        &mut rng,
    );
    // b[1] does not match a's verifying share for 2: it is named as the culprit.
    assert_eq!(
        err.unwrap_err(),
        SignError::InvalidShares {
            culprits: ids(&[2])
        }
    );
}

#[test]
fn shares_of_different_sharings_do_not_mix() {
    mixed_sharings_fail::<Ed25519>();
    mixed_sharings_fail::<Secp256k1>();
    mixed_sharings_fail::<Taproot>();
}

#[test]
fn identifiers_up_to_65535_work() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let secret = SecretScalar::<Secp256k1>::random(&mut rng);
    let (keys, public) = split(&secret, 2, 3, &mut rng).unwrap();
    let (sig, q) = sign(&keys, &public, &ids(&[2, 3]), b"m", Tweak::none(), &mut rng).unwrap();
    verify::<Secp256k1>(&q, b"m", &sig).unwrap();
    assert!(Identifier::new(0).is_err());
    assert_eq!(Identifier::new(65535).unwrap().get(), 65535);
}

/// Every type holding a secret zeroizes and never prints it.
#[test]
fn secret_types_zeroize_and_redact() {
    fn zeroizing<T: zeroize::Zeroize + zeroize::ZeroizeOnDrop>() {}
    zeroizing::<tessera_core::SecretScalar<Taproot>>();
    zeroizing::<tessera_core::polynomial::SecretPolynomial<Ed25519>>();
    zeroizing::<tessera_core::KeyPackage<Secp256k1>>();
    zeroizing::<tessera_sign::SigningNonces<Taproot>>();
    zeroizing::<Signer<Ed25519>>();

    let mut rng = ChaCha20Rng::seed_from_u64(12);
    let (keys, _) = split_random::<Taproot>(2, 3, &mut rng).unwrap();
    let secret_hex = hex::encode(*keys[0].signing_share().to_bytes());
    let mut signer = Signer::new(&keys[0], request(&ids(&[1, 2]), b"m", Tweak::bip86())).unwrap();
    let (nonces, _) = signer.commit(&mut rng).unwrap();
    for shown in [
        format!("{:?}", keys[0]),
        format!("{signer:?}"),
        format!("{nonces:?}"),
    ] {
        // Case-insensitive: some Debug impls print hex in upper case.
        let shown = shown.to_lowercase();
        assert!(!shown.contains(&secret_hex[..16]), "{shown}");
    }
}
