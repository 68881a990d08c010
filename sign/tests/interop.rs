//! Interoperability: signatures made by tessera verify under independent verifiers
//! (ed25519-dalek `verify_strict`, k256 BIP-340, and the ZF FROST 3.x crates), and tessera's
//! Taproot tweak gives the same output key as ZF's `frost-secp256k1-tr`.

mod common;

use std::collections::BTreeMap;

use common::{ids, sign};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{Ciphersuite, Ed25519, Identifier, Secp256k1, Taproot, TaprootTweak, Tweak};
use tessera_keygen::dealer::split_random;

/// A random signer subset of size t drawn from 1..=n.
fn subset(t: u16, n: u16, rng: &mut ChaCha20Rng) -> Vec<Identifier> {
    use rand_chacha::rand_core::Rng;
    let mut all: Vec<u16> = (1..=n).collect();
    for i in (1..all.len()).rev() {
        let j = (rng.next_u32() as usize) % (i + 1);
        all.swap(i, j);
    }
    let mut chosen = all[..usize::from(t)].to_vec();
    chosen.sort_unstable();
    ids(&chosen)
}

const SHAPES: [(u16, u16); 4] = [(2, 3), (3, 5), (5, 9), (7, 10)];

#[test]
fn ed25519_signatures_verify_under_dalek_and_zf() {
    let mut rng = ChaCha20Rng::seed_from_u64(100);
    for (t, n) in SHAPES {
        let (keys, public) = split_random::<Ed25519>(t, n, &mut rng).unwrap();
        let signers = subset(t, n, &mut rng);
        let msg = format!("ed25519 {t}-of-{n}");
        let (sig, q) = sign(
            &keys,
            &public,
            &signers,
            msg.as_bytes(),
            Tweak::none(),
            &mut rng,
        )
        .unwrap();
        let sig = sig.to_bytes().unwrap();
        let pk = Ed25519::serialize_point(&q).unwrap();

        let vk = ed25519_dalek::VerifyingKey::from_bytes(&pk).unwrap();
        let dsig = ed25519_dalek::Signature::from_slice(&sig).unwrap();
        vk.verify_strict(msg.as_bytes(), &dsig).unwrap();
        assert!(vk.verify_strict(b"tampered", &dsig).is_err());

        let zvk = frost_ed25519::VerifyingKey::deserialize(&pk).unwrap();
        let zsig = frost_ed25519::Signature::deserialize(&sig).unwrap();
        zvk.verify(msg.as_bytes(), &zsig).unwrap();
    }
}

#[test]
fn secp256k1_signatures_verify_under_zf() {
    let mut rng = ChaCha20Rng::seed_from_u64(101);
    for (t, n) in SHAPES {
        let (keys, public) = split_random::<Secp256k1>(t, n, &mut rng).unwrap();
        let signers = subset(t, n, &mut rng);
        let (sig, q) = sign(&keys, &public, &signers, b"secp", Tweak::none(), &mut rng).unwrap();
        let sig = sig.to_bytes().unwrap();
        assert_eq!(sig.len(), 65);
        let zvk =
            frost_secp256k1::VerifyingKey::deserialize(&Secp256k1::serialize_point(&q).unwrap())
                .unwrap();
        let zsig = frost_secp256k1::Signature::deserialize(&sig).unwrap();
        zvk.verify(b"secp", &zsig).unwrap();
        assert!(zvk.verify(b"other", &zsig).is_err());
    }
}

/// ZF's public key package for the same verifying shares, so its tweak can be compared.
fn zf_public(
    public: &tessera_core::PublicKeyPackage<Taproot>,
) -> frost_secp256k1_tr::keys::PublicKeyPackage {
    let shares: BTreeMap<_, _> = public
        .verifying_shares()
        .iter()
        .map(|(id, y)| {
            (
                frost_secp256k1_tr::Identifier::try_from(id.get()).unwrap(),
                frost_secp256k1_tr::keys::VerifyingShare::deserialize(
                    &Taproot::serialize_point(y).unwrap(),
                )
                .unwrap(),
            )
        })
        .collect();
    let vk = frost_secp256k1_tr::VerifyingKey::deserialize(
        &Taproot::serialize_point(public.group_key()).unwrap(),
    )
    .unwrap();
    frost_secp256k1_tr::keys::PublicKeyPackage::new(shares, vk, Some(public.threshold()))
}

#[test]
fn taproot_signatures_verify_under_k256_and_zf_with_the_same_tweaked_key() {
    use frost_secp256k1_tr::keys::Tweak as _;
    let mut rng = ChaCha20Rng::seed_from_u64(102);
    for (i, (t, n)) in SHAPES.iter().copied().enumerate() {
        let (keys, public) = split_random::<Taproot>(t, n, &mut rng).unwrap();
        let signers = subset(t, n, &mut rng);
        let root = [i as u8 + 1; 32];
        for (tweak, zf_root) in [
            (Tweak::bip86(), None),
            (
                Tweak {
                    derivation: vec![],
                    taproot: TaprootTweak::MerkleRoot(root),
                },
                Some(root.as_slice()),
            ),
        ] {
            let (sig, q) = sign(&keys, &public, &signers, b"taproot", tweak, &mut rng).unwrap();
            let sig = sig.to_bytes().unwrap();
            let xonly = Taproot::serialize_verifying_key(&q).unwrap();

            let vk = k256::schnorr::VerifyingKey::from_slice(&xonly).unwrap();
            let ksig = k256::schnorr::Signature::try_from(sig.as_slice()).unwrap();
            vk.verify_raw(b"taproot", &ksig).unwrap();

            let zf = zf_public(&public).tweak(zf_root);
            let zf_q = zf.verifying_key().serialize().unwrap();
            assert_eq!(
                &zf_q[1..],
                xonly.as_slice(),
                "output key differs from ZF's tweak"
            );
            let zsig = frost_secp256k1_tr::Signature::deserialize(&sig).unwrap();
            zf.verifying_key().verify(b"taproot", &zsig).unwrap();
        }
    }
}
