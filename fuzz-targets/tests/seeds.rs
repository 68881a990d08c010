//! Writes the seed corpus of `fuzz/corpus/` (run once, by hand: `cargo test -p
//! tessera-fuzz-targets --test seeds -- --ignored`): short inputs for every target, and for
//! the intake targets whole valid inputs (requests, a proposal, a PSBT spending the fuzz
//! key, a vector file) for the fuzzer to start deep.

use std::{path::Path, str::FromStr};

use bitcoin::{
    absolute::LockTime, hashes::Hash, key::Secp256k1, psbt::Psbt, transaction::Version, Amount,
    OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness, XOnlyPublicKey,
};
use tessera_p2p::{Draft, Kind, PeerId, Proposal, Request, Response};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(name), bytes).unwrap();
}

#[test]
#[ignore = "writes the seed corpus; run by hand"]
fn write_seed_corpus() {
    // Protocol targets: every suite, a few deliveries, each mode.
    for target in ["dkg", "sign", "sign_batch", "reshare", "repair"] {
        for suite in 0..3u8 {
            for (delivery, mode) in [(0u8, 0u8), (1, 1), (3, 2), (6, 1)] {
                write(
                    target,
                    &format!("s{suite}-d{delivery}-m{mode}"),
                    &[suite, delivery, mode, 0x01, 0x80, 0xff],
                );
            }
        }
    }
    // Wire: each request and response kind, and a proposal.
    let proposal = Proposal {
        draft: Draft {
            kind: Kind::Sign,
            params: vec![2, 0, 2, 0, 1, 0, 2],
            key_id: [7; 32],
            epoch: 1,
            roster: vec![PeerId::random(), PeerId::random()],
        },
        nonce: [9; 32],
    };
    write("wire", "proposal", &proposal.encode());
    write(
        "wire",
        "propose",
        &Request::Propose(proposal.encode()).encode(),
    );
    write("wire", "ask", &Request::Ask(b"question".to_vec()).encode());
    write(
        "wire",
        "abort",
        &Request::Abort {
            session: [3; 32],
            named: vec![1],
            reason: "why".into(),
        }
        .encode(),
    );
    write(
        "wire",
        "answer",
        &Response::Answer(b"answer".to_vec()).encode(),
    );
    write("wire", "refused", &Response::Refused("no".into()).encode());
    // Keystore: empty, JSON shapes, a sealed-file magic.
    write("keystore", "empty", b"");
    write(
        "keystore",
        "object",
        br#"{"suite":"taproot","identifier":1,"threshold":2}"#,
    );
    write(
        "keystore",
        "keyring",
        br#"{"version":1,"kdf":{"algorithm":"argon2id"}}"#,
    );
    write("keystore", "sealed", b"TSEL\x01\x02\x00\x00");
    // A PSBT spending the fuzz key (party 1's share of the taproot DKG) at m/0/1.
    let secp = Secp256k1::verification_only();
    let group_key = tessera_fuzz_targets_public_taproot();
    let xpub = tessera_cli::device::address::xpub(
        tessera_core::Suite::Taproot,
        &group_key.group_key,
        &group_key.chain_code,
        tessera_cli::device::address::Network::Regtest,
    )
    .unwrap();
    let child = xpub
        .derive_pub(
            &secp,
            &bitcoin::bip32::DerivationPath::from_str("m/0/1").unwrap(),
        )
        .unwrap();
    let internal: XOnlyPublicKey = child.public_key.x_only_public_key().0;
    let script = ScriptBuf::new_p2tr(&secp, internal, None);
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
    let mut psbt = Psbt::from_unsigned_tx(tx).unwrap();
    psbt.inputs[0].witness_utxo = Some(TxOut {
        value: Amount::from_sat(10_000),
        script_pubkey: script,
    });
    psbt.inputs[0].tap_internal_key = Some(internal);
    psbt.inputs[0].tap_key_origins = [(
        internal,
        (
            Vec::new(),
            (
                xpub.fingerprint(),
                bitcoin::bip32::DerivationPath::from_str("m/0/1").unwrap(),
            ),
        ),
    )]
    .into();
    let plan = tessera_cli::device::transaction::plan(
        tessera_cli::device::transaction::TxKind::Psbt {
            network: tessera_cli::device::address::Network::Regtest,
            any_sighash: false,
        },
        &psbt.serialize(),
        &group_key,
    );
    assert!(
        plan.is_ok(),
        "the seed PSBT is one the target signs: {:?}",
        plan.err()
    );
    write(
        "psbt",
        "spend",
        &[[0u8].as_slice(), &psbt.serialize()].concat(),
    );
    write("psbt", "garbage", b"\x00psbt\xff");
    // Solana: a legacy message shape (header, one key, blockhash, no instruction).
    let mut message = vec![1u8, 0, 0, 1];
    message.extend_from_slice(&[5; 32]);
    message.extend_from_slice(&[6; 32]);
    message.push(0);
    write("solana", "message", &message);
    write(
        "solana",
        "transaction",
        &[[1u8].as_slice(), &[0; 64], &message].concat(),
    );
    // Vectors: a bundled file.
    let (_, _, json) = tessera_vectors::bundled()[0];
    write("vectors", "bundled", json.as_bytes());
    write("vectors", "empty-object", b"{}");
}

/// Party 1's public data of the fuzz targets' taproot key.
fn tessera_fuzz_targets_public_taproot() -> tessera_keygen::PublicKeyShare {
    tessera_fuzz_targets::public_taproot().expect("the taproot DKG of the fuzz targets")
}
