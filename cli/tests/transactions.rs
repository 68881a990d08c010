//! Transactions signed through `tessera` nodes in separate processes (design §6.5): a Taproot
//! PSBT built with the `bitcoin` crate that spends the key and a child, finalized and checked
//! against the `bitcoin` crate's sighashes and Bitcoin Core's script check; the approval each
//! device shows; the spend policy; and PSBTs refused with one line before anything is sent.

mod common;

use std::{path::Path, str::FromStr};

use bitcoin::{
    hashes::Hash,
    key::Secp256k1,
    psbt::{Psbt, PsbtSighashType},
    secp256k1::{schnorr, Message},
    sighash::{Prevouts, SighashCache},
    Amount, ScriptBuf, TapSighashType, Transaction, TxOut, XOnlyPublicKey,
};
use common::{
    homes::{json, run, NodeProcess, World},
    wallet::{outside, Wallet, SIGN_PSBT},
};
use serde_json::Value;

/// `tessera --json sign --psbt FILE` from a with b, in the background.
fn sign_psbt(
    w: &World,
    psbt: &[u8],
    extra: &[&str],
) -> std::thread::JoinHandle<(i32, String, String)> {
    let a = w.home("a");
    let file = a.join(format!("spend-{}.psbt", rand_suffix()));
    std::fs::write(&file, psbt).unwrap();
    let mut args: Vec<String> = std::iter::once("--json")
        .chain(SIGN_PSBT)
        .map(str::to_string)
        .collect();
    args.push(file.display().to_string());
    args.extend(extra.iter().map(|s| s.to_string()));
    std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&a, &args)
    })
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

/// The first request waiting at `home`'s node (waits up to 30 s).
fn waiting(home: &Path) -> Value {
    for _ in 0..150 {
        let list = json(home, &["approve", "--list"]);
        if list["waiting"][0]["id"].is_string() {
            return list["waiting"][0].clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("no request reached {}", home.display());
}

/// Checks every input of `tx` (spending `utxos`): its key-path signature verifies under the
/// output key of its UTXO for the sighash the `bitcoin` crate computes, and Bitcoin Core's
/// script interpreter (libbitcoinconsensus, taproot rules) accepts the spend.
fn check_spend(tx: &Transaction, utxos: &[TxOut]) {
    let secp = Secp256k1::verification_only();
    let mut cache = SighashCache::new(tx);
    let bytes = bitcoin::consensus::encode::serialize(tx);
    for (i, utxo) in utxos.iter().enumerate() {
        let witness: Vec<&[u8]> = tx.input[i].witness.iter().collect();
        assert_eq!(witness.len(), 1, "input {i}: a key-path witness");
        assert_eq!(witness[0].len(), 64, "input {i}: SIGHASH_DEFAULT, 64 bytes");
        let sighash = cache
            .taproot_key_spend_signature_hash(i, &Prevouts::All(utxos), TapSighashType::Default)
            .unwrap();
        let output_key = XOnlyPublicKey::from_slice(&utxo.script_pubkey.as_bytes()[2..]).unwrap();
        secp.verify_schnorr(
            &schnorr::Signature::from_slice(witness[0]).unwrap(),
            &Message::from_digest(sighash.to_byte_array()),
            &output_key,
        )
        .unwrap_or_else(|e| panic!("input {i}: {e}"));
        let spent: Vec<bitcoinconsensus::Utxo> = utxos
            .iter()
            .map(|o| bitcoinconsensus::Utxo {
                script_pubkey: o.script_pubkey.as_bytes().as_ptr(),
                script_pubkey_len: o.script_pubkey.len() as u32,
                value: o.value.to_sat() as i64,
            })
            .collect();
        bitcoinconsensus::verify_with_flags(
            utxo.script_pubkey.as_bytes(),
            utxo.value.to_sat(),
            &bytes,
            Some(&spent),
            i,
            bitcoinconsensus::VERIFY_ALL_PRE_TAPROOT | bitcoinconsensus::VERIFY_TAPROOT,
        )
        .unwrap_or_else(|e| panic!("input {i}: Bitcoin Core's script check: {e:?}"));
    }
}

/// A PSBT spending the group key and a child is signed by a and b in one session after b's
/// person saw what b read out of it, finalized, and accepted by independent verifiers.
#[test]
fn a_psbt_spending_the_key_and_a_child_is_signed_finalized_and_verified() {
    let w = World::new("psbt");
    let _b = NodeProcess::start_extra(&w.home("b"), &["--network", "regtest"]);
    let _c = NodeProcess::start(&w.home("c"));
    w.keygen("vault", "taproot");
    let wallet = Wallet::of(&w.home("a"), "vault");
    // The change descriptor a watch-only wallet imports pays the change key m/1/0.
    let exported = json(
        &w.home("a"),
        &["keys", "xpub", "vault", "--network", "regtest"],
    );
    let change: miniscript::Descriptor<miniscript::DescriptorPublicKey> = exported
        ["change_descriptor"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        change.at_derivation_index(0).unwrap().script_pubkey(),
        wallet.script("m/1/0")
    );
    let psbt = wallet.psbt(70_000, 1);
    let utxos: Vec<TxOut> = psbt
        .inputs
        .iter()
        .map(|i| i.witness_utxo.clone().unwrap())
        .collect();
    let out = w.home("a").join("signed.psbt");
    let signer = sign_psbt(
        &w,
        psbt.to_string().as_bytes(),
        &["--finalize", "--out", out.to_str().unwrap()],
    );

    // b's person sees inputs, payments with addresses and amounts, change and fee, read by
    // b itself; not the PSBT's bytes.
    let request = waiting(&w.home("b"));
    let tx = &request["transaction"];
    assert_eq!(tx["chain"], "bitcoin (regtest)", "{request}");
    assert_eq!(tx["fee"], 1_000);
    assert_eq!(tx["outgoing"], 71_000);
    assert_eq!(tx["details"].as_array().unwrap().len(), 2);
    assert!(
        tx["details"][1].as_str().unwrap().contains("key m/0/5"),
        "{tx}"
    );
    assert_eq!(tx["payments"][0]["to"], outside().to_string());
    assert_eq!(tx["payments"][0]["amount"], 70_000);
    assert!(tx["payments"][0]["change"].is_null());
    assert_eq!(tx["payments"][1]["change"], "change (m/1/0)");
    assert_eq!(tx["payments"][1]["amount"], 29_000);
    assert!(tx["warnings"].as_array().unwrap().is_empty());
    // The same, as text, for a person at a terminal.
    let (_, text, _) = run(&w.home("b"), &["approve", "--list"]);
    for line in [
        "bitcoin (regtest) transaction".to_string(),
        format!("pays   70000 sat to {}", outside()),
        "[change (m/1/0)]".to_string(),
        "fee    1000 sat".to_string(),
    ] {
        assert!(text.contains(&line), "{line:?} in {text}");
    }
    json(&w.home("b"), &["approve", request["id"].as_str().unwrap()]);

    let (code, stdout, err) = signer.join().unwrap();
    assert_eq!(code, 0, "{err}");
    let printed: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let raw = hex::decode(printed["transaction"].as_str().unwrap()).unwrap();
    let tx: Transaction = bitcoin::consensus::encode::deserialize(&raw).unwrap();
    assert_eq!(tx.compute_txid(), psbt.unsigned_tx.compute_txid());
    check_spend(&tx, &utxos);

    // The signed PSBT holds each input's tap_key_sig for another signer or finalizer.
    let signed = Psbt::from_str(std::fs::read_to_string(&out).unwrap().trim()).unwrap();
    assert!(signed.inputs.iter().all(|i| i.tap_key_sig.is_some()));
}

/// A PSBT a device would not sign is refused at the initiator with one line naming what is
/// wrong, and no other device is asked.
#[test]
fn bad_psbts_are_refused_with_one_line() {
    let w = World::new("badpsbt");
    let _b = NodeProcess::start(&w.home("b"));
    let _c = NodeProcess::start(&w.home("c"));
    w.keygen("vault", "taproot");
    let wallet = Wallet::of(&w.home("a"), "vault");

    let mut missing_utxo = wallet.psbt(70_000, 2);
    missing_utxo.inputs[1].witness_utxo = None;
    let mut foreign = wallet.psbt(70_000, 3);
    let stranger = bitcoin::secp256k1::SecretKey::from_slice(&[5; 32])
        .unwrap()
        .x_only_public_key(&Secp256k1::new())
        .0;
    foreign.inputs[0].tap_internal_key = Some(stranger);
    foreign.inputs[0].witness_utxo = Some(TxOut {
        value: Amount::from_sat(50_000),
        script_pubkey: ScriptBuf::new_p2tr(&Secp256k1::new(), stranger, None),
    });
    let mut lying = wallet.psbt(70_000, 4);
    // Claims the child m/0/5 but spends an output of the key itself.
    lying.inputs[1].witness_utxo = Some(TxOut {
        value: Amount::from_sat(50_000),
        script_pubkey: wallet.script("m"),
    });
    let mut sighash_none = wallet.psbt(70_000, 5);
    sighash_none.inputs[0].sighash_type = Some(PsbtSighashType::from(TapSighashType::None));

    let cases: [(String, &str); 5] = [
        (missing_utxo.to_string(), "input 1 has no witness_utxo"),
        (foreign.to_string(), "input 0 is not this key's"),
        (lying.to_string(), "input 1's witness_utxo does not pay"),
        (
            sighash_none.to_string(),
            "input 0 asks for sighash SIGHASH_NONE",
        ),
        ("cHNidP8BAHECAAAAAf//garbage".into(), "not a PSBT"),
    ];
    for (text, expected) in cases {
        let (code, out, err) = sign_psbt(&w, text.as_bytes(), &[]).join().unwrap();
        assert_eq!(code, 2, "{expected}: {out} {err}");
        assert!(out.is_empty(), "{expected}: nothing signed: {out}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{expected}: one line: {err}");
        assert!(lines[0].contains(expected), "{expected}: {err}");
    }
    // A PSBT for another network than b's (mainnet here) is refused by b, whatever the
    // initiator says: its addresses would be shown on the initiator's network.
    let (code, _, err) = sign_psbt(&w, wallet.psbt(70_000, 6).to_string().as_bytes(), &[])
        .join()
        .unwrap();
    assert_eq!(code, 1, "{err}");
    let errors: Vec<&str> = err.lines().filter(|l| l.contains("\"error\"")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains("b refused: this device signs bitcoin transactions on mainnet")
            && errors[0].contains("not regtest"),
        "{err}"
    );
    // No person was asked, and b's log holds one signing proposal, refused for its network:
    // the PSBTs a refused before sending never reached b.
    assert!(json(&w.home("b"), &["approve", "--list"])["waiting"]
        .as_array()
        .unwrap()
        .is_empty());
    // (The node appends a refusal from a thread of its own: wait for it.)
    let mut signing = Vec::new();
    for _ in 0..50 {
        let (_, log, _) = run(&w.home("b"), &["--json", "log"]);
        signing = log
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|e| e["protocol"] == "sign")
            .collect();
        if !signing.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let log = format!("{signing:?}");
    assert_eq!(signing.len(), 1, "{log}");
    assert!(
        signing[0]["result"].as_str().unwrap().contains("mainnet"),
        "{log}"
    );
}

/// b's policy approves PSBTs that pay only an allow-listed address within its limits, once
/// per draft; the one that would pass the day's limit waits for its person.
#[test]
fn a_spend_policy_approves_allow_listed_payments_within_its_limits() {
    let w = World::new("spendpolicy");
    let _c = NodeProcess::start(&w.home("c"));
    {
        let _b = NodeProcess::start(&w.home("b"));
        w.keygen("vault", "taproot");
    }
    let policy = serde_json::json!({
        "spend": [{
            "key": "vault",
            "allow": [outside().to_string()],
            "max_per_tx": 80_000,
            "max_per_day": 150_000,
        }]
    });
    // A key whose raw signing is automatic cannot have a spend rule: raw signing would sign
    // any sighash unread.
    let both = serde_json::json!({ "sign": { "keys": ["vault"] }, "spend": policy["spend"] });
    std::fs::write(w.home("b").join("policy.json"), both.to_string()).unwrap();
    let (code, _, err) = run(&w.home("b"), &["node"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("raw signing would bypass the rule"), "{err}");
    std::fs::write(w.home("b").join("policy.json"), policy.to_string()).unwrap();
    let _b = NodeProcess::start_extra(&w.home("b"), &["--network", "regtest"]);
    let wallet = Wallet::of(&w.home("a"), "vault");

    // 71 000 sat leave each time (payment and fee): twice within 150 000 a day.
    for seed in [10, 11] {
        let (code, _, err) = sign_psbt(&w, wallet.psbt(70_000, seed).to_string().as_bytes(), &[])
            .join()
            .unwrap();
        assert_eq!(code, 0, "auto-approved: {err}");
    }
    // Over the per-transaction limit, and then over the day's: a person decides.
    for (pay, seed) in [(85_000, 12), (60_000, 13)] {
        let signer = sign_psbt(&w, wallet.psbt(pay, seed).to_string().as_bytes(), &[]);
        let request = waiting(&w.home("b"));
        assert_eq!(request["transaction"]["payments"][0]["amount"], pay);
        json(
            &w.home("b"),
            &["approve", request["id"].as_str().unwrap(), "--refuse"],
        );
        let (code, _, err) = signer.join().unwrap();
        assert_ne!(code, 0);
        assert!(err.contains("refused"), "{err}");
    }
    // The ledger survives a restart: the day's total is still counted.
    let ledger: Value =
        serde_json::from_slice(&std::fs::read(w.home("b").join("spent.json")).unwrap()).unwrap();
    assert_eq!(ledger.as_array().unwrap().len(), 2);
}

/// Solana instructions built by the Solana crates (system and token interfaces still build
/// solana-instruction 3 values; the message takes solana-instruction 4: field by field).
mod sol {
    use solana_address::Address;
    use solana_transaction::{AccountMeta, Instruction};

    macro_rules! convert {
        ($ix:expr) => {{
            let ix = $ix;
            Instruction {
                program_id: Address::new_from_array(ix.program_id.to_bytes()),
                accounts: ix
                    .accounts
                    .iter()
                    .map(|m| AccountMeta {
                        pubkey: Address::new_from_array(m.pubkey.to_bytes()),
                        is_signer: m.is_signer,
                        is_writable: m.is_writable,
                    })
                    .collect(),
                data: ix.data,
            }
        }};
    }

    pub fn transfer(from: &Address, to: &Address, lamports: u64) -> Instruction {
        convert!(solana_system_interface::instruction::transfer(
            from, to, lamports
        ))
    }

    pub fn token_transfer_checked(
        source: &Address,
        mint: &Address,
        destination: &Address,
        authority: &Address,
        amount: u64,
    ) -> Instruction {
        convert!(spl_token_interface::instruction::transfer_checked(
            &spl_token_interface::id(),
            &source.to_bytes().into(),
            &mint.to_bytes().into(),
            &destination.to_bytes().into(),
            &authority.to_bytes().into(),
            &[],
            amount,
            6,
        )
        .unwrap())
    }

    /// A memo: an instruction tessera does not decode.
    pub fn memo() -> Instruction {
        Instruction::new_with_bytes(Address::new_from_array([9; 32]), b"hello", vec![])
    }
}

/// `tessera --json sign --solana-tx FILE` from a with b, in the background.
fn sign_solana(
    w: &World,
    transaction: &[u8],
    key: &str,
) -> std::thread::JoinHandle<(i32, String, String)> {
    let a = w.home("a");
    let file = a.join(format!("tx-{}.bin", rand_suffix()));
    std::fs::write(&file, transaction).unwrap();
    let file = file.display().to_string();
    let key = key.to_string();
    std::thread::spawn(move || {
        run(
            &a,
            &[
                "--json",
                "sign",
                "--key",
                &key,
                "--signers",
                "b",
                "--solana-tx",
                &file,
            ],
        )
    })
}

/// The signed transaction `sign --solana-tx` printed (base64), decoded by the Solana crates.
fn signed_solana(stdout: &str) -> solana_transaction::versioned::VersionedTransaction {
    use bitcoin::base64::{engine::general_purpose::STANDARD, Engine as _};
    let printed: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let bytes = STANDARD
        .decode(printed["transaction"].as_str().unwrap())
        .unwrap();
    wincode::deserialize_exact(&bytes).unwrap()
}

/// Solana transactions built with the Solana crates, legacy and v0, signed through tessera
/// nodes and checked with the Solana crates' own signature verification; b's person sees the
/// decoded transfers and the opaque instruction.
#[test]
fn solana_transactions_are_signed_and_verify() {
    use solana_address::Address;
    use solana_message::{v0, Message, VersionedMessage};
    use solana_transaction::{versioned::VersionedTransaction, Hash, TransactionError};

    let w = World::new("solana");
    let _b = NodeProcess::start(&w.home("b"));
    let _c = NodeProcess::start(&w.home("c"));
    w.keygen("sol", "ed25519");
    let shown = json(&w.home("a"), &["keys", "show", "sol"]);
    let me = Address::from_str(shown["address"].as_str().unwrap()).unwrap();
    assert_eq!(
        me.to_bytes().to_vec(),
        hex::decode(shown["group_key"].as_str().unwrap()).unwrap(),
        "the address is the group key in base58"
    );
    let to = Address::new_from_array([2; 32]);

    // Legacy: the key pays the fee, moves lamports and tokens.
    let message = Message::new_with_blockhash(
        &[
            sol::transfer(&me, &to, 1_000_000),
            sol::token_transfer_checked(
                &Address::new_from_array([4; 32]),
                &Address::new_from_array([3; 32]),
                &Address::new_from_array([5; 32]),
                &me,
                42_000,
            ),
        ],
        Some(&me),
        &Hash::new_from_array([1; 32]),
    );
    let unsigned = VersionedTransaction::new_unsigned(VersionedMessage::Legacy(message));
    let signer = sign_solana(&w, &wincode::serialize(&unsigned).unwrap(), "sol");
    let request = waiting(&w.home("b"));
    let tx = &request["transaction"];
    assert_eq!(tx["chain"], "solana");
    assert_eq!(tx["payments"][0]["to"], to.to_string());
    assert_eq!(tx["payments"][0]["amount"], 1_000_000);
    assert_eq!(tx["outgoing"], 1_000_000);
    let details = tx["details"].to_string();
    assert!(details.contains("fee payer"), "{details}");
    assert!(
        details.contains(&format!(
            "System transfer of 1000000 lamports from {me} to {to}"
        )),
        "{details}"
    );
    assert!(
        details.contains("SPL token transfer of 42000 base units (6 decimals)"),
        "{details}"
    );
    assert!(tx["warnings"].as_array().unwrap().is_empty());
    assert_eq!(tx["opaque"], false);
    json(&w.home("b"), &["approve", request["id"].as_str().unwrap()]);
    let (code, stdout, err) = signer.join().unwrap();
    assert_eq!(code, 0, "{err}");
    let signed = signed_solana(&stdout);
    signed
        .verify_and_hash_message()
        .expect("the Solana crates verify it");
    signed
        .into_legacy_transaction()
        .unwrap()
        .verify()
        .expect("and as a legacy transaction");

    // v0: another fee payer, the key signs second; an opaque memo needs blind signing (b
    // runs with --allow-blind-signing) and is shown as a warning.
    let payer = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
    let payer_address = Address::new_from_array(payer.verifying_key().to_bytes());
    let message = v0::Message::try_compile(
        &payer_address,
        &[sol::transfer(&me, &to, 5), sol::memo()],
        &[],
        Hash::new_from_array([3; 32]),
    )
    .unwrap();
    let unsigned = VersionedTransaction::new_unsigned(VersionedMessage::V0(message));
    let signer = sign_solana(&w, &wincode::serialize(&unsigned).unwrap(), "sol");
    let request = waiting(&w.home("b"));
    let tx = &request["transaction"];
    assert!(
        tx["details"][0]
            .as_str()
            .unwrap()
            .contains("signs as signer 1"),
        "{tx}"
    );
    assert_eq!(tx["opaque"], true);
    assert!(
        tx["warnings"][0]
            .as_str()
            .unwrap()
            .contains("blind signing"),
        "{tx}"
    );
    json(&w.home("b"), &["approve", request["id"].as_str().unwrap()]);
    let (code, stdout, err) = signer.join().unwrap();
    assert_eq!(code, 0, "{err}");
    let mut signed = signed_solana(&stdout);
    assert_eq!(
        signed.verify_and_hash_message().err(),
        Some(TransactionError::SignatureFailure),
        "the fee payer has not signed yet"
    );
    use ed25519_dalek::Signer as _;
    let payer_signature = payer.sign(&signed.message.serialize()).to_bytes();
    signed.signatures[0] = solana_transaction::Signature::from(payer_signature);
    signed
        .verify_and_hash_message()
        .expect("with the fee payer's signature, the Solana crates verify every slot");

    // A message that does not name the key: one line, nothing asked.
    let stranger = Address::new_from_array([8; 32]);
    let message = Message::new_with_blockhash(
        &[sol::transfer(&stranger, &to, 1)],
        Some(&stranger),
        &Hash::new_from_array([1; 32]),
    );
    let unsigned = VersionedTransaction::new_unsigned(VersionedMessage::Legacy(message));
    let (code, out, err) = sign_solana(&w, &wincode::serialize(&unsigned).unwrap(), "sol")
        .join()
        .unwrap();
    assert_eq!(code, 2, "{out} {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("does not name this key"), "{err}");
    // The same message signed raw is refused by b: a Solana message is signed as one, read.
    let raw = hex::encode(unsigned.message.serialize());
    let (code, _, err) = run(
        &w.home("a"),
        &["sign", "--key", "sol", "--signers", "b", "--message", &raw],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("is a Solana transaction message"), "{err}");
    let (code, _, err) = sign_solana(&w, b"not a transaction", "sol").join().unwrap();
    assert_eq!(code, 2);
    assert!(err.contains("not a Solana transaction"), "{err}");
}
