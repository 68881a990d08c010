//! The whole story over real swarms on 127.0.0.1 (TCP, noise, yamux): a 3-of-5 keygen,
//! a signature, a reshare to 3-of-4 with a new node, a signature by the new committee.

mod common;

use common::*;
use tessera_cli::device::jobs::Served;
use tessera_core::{Ciphersuite, Ed25519, Secp256k1, Taproot};
use tessera_reshare::Committed;

async fn story<C: Ciphersuite>()
where
    C::Point: Send,
{
    // Devices 0..5 are the first committee; device 5 joins at the reshare.
    let devices = cluster::<C>(6, quick_limits()).await;
    let mut served = serve(&devices[1..], 1);
    let all: Vec<_> = devices.iter().collect();

    // Keygen 3-of-5.
    let share = devices[0].keygen(peers(&all[..5]), 3).await.unwrap();
    let group_key = *share.key_package().public().group_key();
    for (i, r) in reports(&mut served, 4).await {
        let Ok(Served::Keygen(s)) = r else {
            panic!("device {i} did not finish the keygen")
        };
        assert_eq!(s.key_package().public().group_key(), &group_key);
        assert_eq!(s.key_id(), share.key_id());
    }
    assert!(devices[5].share(share.key_id()).is_none());

    // Sign with devices 0, 2, 4.
    let message = b"mesh: pay 0.1 to the cold wallet";
    let signers = peers(&[all[0], all[2], all[4]]);
    let out = devices[0]
        .sign(share.key_id(), signers, message)
        .await
        .unwrap();
    let key = C::serialize_verifying_key(&out.output_key).unwrap();
    let sig = out.signature.to_bytes().unwrap();
    assert!(standard_verify(C::SUITE, &key, message, &sig));
    for (i, r) in reports(&mut served, 2).await {
        assert!(matches!(r, Ok(Served::Sign(_))), "signer {i}");
    }

    // Reshare: dealers 0, 1, 2 move the key to devices 1, 2, 3 and the new device 5, t' = 3.
    // Device 3 holds an old share but is not a dealer; device 4 is left out.
    let new_committee = peers(&[all[1], all[2], all[3], all[5]]);
    let (committed, transition) = devices[0]
        .reshare(share.key_id(), &peers(&all[..3]), &new_committee, 3)
        .await
        .unwrap();
    assert_eq!(committed, Committed::Retired);
    for (i, r) in reports(&mut served, 4).await {
        assert!(
            matches!(r, Ok(Served::Reshare(Committed::Activated(1), _))),
            "device {i} did not activate epoch 1"
        );
    }
    assert!(
        devices[0].share(share.key_id()).is_none(),
        "device 0 erased its share"
    );
    let new_share = devices[5]
        .share_by_group_key(&group_key)
        .expect("the new device holds a share");
    assert_eq!(new_share.epoch(), 1);
    assert_ne!(new_share.key_id(), share.key_id());
    for d in [1, 2, 3] {
        let s = devices[d].share_by_group_key(&group_key).unwrap();
        assert_eq!((s.epoch(), s.key_id()), (1, new_share.key_id()));
    }

    // The new committee signs under the unchanged group key.
    let signers = peers(&[all[5], all[1], all[3]]);
    let out = devices[5]
        .sign(new_share.key_id(), signers, message)
        .await
        .unwrap();
    assert_eq!(C::serialize_verifying_key(&out.output_key).unwrap(), key);
    let sig = out.signature.to_bytes().unwrap();
    assert!(standard_verify(C::SUITE, &key, message, &sig));
    for (i, r) in reports(&mut served, 2).await {
        assert!(matches!(r, Ok(Served::Sign(_))), "new signer {i}");
    }

    // Device 4 took no part and still holds epoch 0 (resharing is not revocation), but
    // epoch 1's devices refuse to sign with epoch 0.
    let stale = devices[3]
        .sign(share.key_id(), peers(&[all[3], all[4], all[2]]), message)
        .await;
    assert!(stale.is_err(), "epoch 0 is superseded on device 3");
    assert!(devices[4].share(share.key_id()).is_some());
    // The certificate relayed to device 4 makes it erase epoch 0 (design §3.3 step 4); a
    // device already on epoch 1 has nothing to apply it to.
    assert_eq!(
        devices[4].commit_reshare(&transition).unwrap(),
        Committed::Retired
    );
    assert_eq!(devices[4].key_count(), 0);
    assert!(devices[1].commit_reshare(&transition).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ed25519_keygen_sign_reshare_sign() {
    story::<Ed25519>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taproot_keygen_sign_reshare_sign() {
    story::<Taproot>().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secp256k1_keygen_sign_reshare_sign() {
    story::<Secp256k1>().await;
}

/// Every signer reads a PSBT itself (design §6.5): an initiator that skips its own check and
/// proposes a PSBT with an input of another key gets no commitment, and the signer names the
/// input it refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signers_read_a_psbt_themselves() {
    use bitcoin::{
        absolute::LockTime, hashes::Hash, key::Secp256k1, transaction::Version, Amount, OutPoint,
        ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
    };
    use tessera_p2p::{Draft, Kind, Writer};

    let devices = cluster::<Taproot>(3, quick_limits()).await;
    let mut served = serve(&devices[1..], 1);
    let all: Vec<_> = devices.iter().collect();
    let share = devices[0].keygen(peers(&all), 2).await.unwrap();
    reports(&mut served, 2).await;

    let secp = Secp256k1::new();
    let stranger = bitcoin::secp256k1::SecretKey::from_slice(&[5; 32])
        .unwrap()
        .x_only_public_key(&secp)
        .0;
    let script = ScriptBuf::new_p2tr(&secp, stranger, None);
    let tx = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::new(Txid::from_byte_array([1; 32]), 0),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        }],
        output: vec![TxOut {
            value: Amount::from_sat(9_000),
            script_pubkey: script.clone(),
        }],
    };
    let mut psbt = bitcoin::psbt::Psbt::from_unsigned_tx(tx).unwrap();
    psbt.inputs[0].witness_utxo = Some(TxOut {
        value: Amount::from_sat(10_000),
        script_pubkey: script,
    });
    psbt.inputs[0].tap_internal_key = Some(stranger);

    // The signing parameters of design §7.3 for a PSBT on regtest, signers 1 and 2.
    let mut w = Writer::default();
    w.u8(Taproot::SUITE as u8);
    w.u16(2);
    w.u16(1);
    w.u16(2);
    w.long(&psbt.serialize());
    w.u8(3);
    w.u8(3);
    w.u8(0);
    let draft = Draft {
        kind: Kind::Sign,
        params: w.finish(),
        key_id: *share.key_id(),
        epoch: 0,
        roster: peers(&[all[0], all[1]]),
    };
    let _session = devices[0].node().propose(draft).await.unwrap();
    let (_, report) = reports(&mut served, 1).await.remove(0);
    let Err(e) = report else {
        panic!("device 1 signed a PSBT that is not its key's")
    };
    assert!(e.to_string().contains("input 0 is not this key's"), "{e}");
}
