//! Rotation as a user runs it (README "Rotation", design §3.3, §5, §6): four homes as separate
//! OS processes. A 2-of-3 taproot key of a, b and c; a fourth device d joins (2-of-3 →
//! 3-of-4, every old and new device approving with `tessera approve`, d accepting only the
//! expected group key); then a leaves (3-of-4 → 2-of-3 among b, c and d). After each step
//! the new committee signs under the unchanged address (checked with k256's BIP-340), and
//! after the second the retired device holds nothing. A copy of an epoch-0 home (a backup
//! taken before the first step) cannot sign with the new committee.

mod common;

use common::homes::{decide, json, run, NodeProcess, World};

use std::{path::Path, thread};

use serde_json::Value;

/// Runs `tessera ARGS` on `from` while each of `approvers` approves; what it printed.
fn approved(w: &World, from: &str, args: Vec<String>, approvers: &[&str]) -> Value {
    let home = w.home(from);
    let command = thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        json(&home, &args)
    });
    for a in approvers {
        decide(&w.home(a), true);
    }
    command.join().unwrap()
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

/// `tessera sign` from `from` with `signers` while each of `approvers` approves.
fn sign(w: &World, from: &str, signers: &[&str], approvers: &[&str], message: &str) -> Value {
    let mut args = strings(&["sign", "--key", "vault", "--message", message, "--signers"]);
    args.extend(strings(signers));
    approved(w, from, args, approvers)
}

/// `tessera reshare` from `from` to `to` with `threshold` while each of `approvers` approves.
fn reshare(w: &World, from: &str, to: &[&str], threshold: u16, approvers: &[&str]) -> Value {
    let t = threshold.to_string();
    let mut args = strings(&["reshare", "--key", "vault", "--threshold", &t, "--to"]);
    args.extend(strings(to));
    approved(w, from, args, approvers)
}

/// Checks a BIP-340 signature with k256 under the output key `keys show` printed.
fn check(shown: &Value, message: &str, signed: &Value) {
    let key = hex::decode(shown["verifying_key"].as_str().unwrap()).unwrap();
    let vk = k256::schnorr::VerifyingKey::from_slice(&key).unwrap();
    let signature = hex::decode(signed["signature"].as_str().unwrap()).unwrap();
    let sig = k256::schnorr::Signature::try_from(signature.as_slice()).unwrap();
    vk.verify_raw(&hex::decode(message).unwrap(), &sig)
        .expect("k256 BIP-340 verifies");
}

fn show(home: &Path, name: &str) -> Value {
    json(home, &["keys", "show", name])
}

/// The one key `home` holds: its name.
fn only_key(home: &Path) -> String {
    let keys = json(home, &["keys", "list"]);
    let keys = keys["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    keys[0]["name"].as_str().unwrap().to_string()
}

#[test]
fn a_device_joins_then_one_leaves_and_the_address_stays() {
    let w = World::of("rotation", &["a", "b", "c", "d"]);
    let b = NodeProcess::start(&w.home("b"));
    let mut c = NodeProcess::start(&w.home("c"));
    w.keygen("vault", "taproot");
    let before = show(&w.home("a"), "vault");
    let group_key = before["group_key"].as_str().unwrap().to_string();
    let signed = sign(&w, "a", &["b"], &["b"], "00aa");
    check(&before, "00aa", &signed);
    // A backup of c's home at epoch 0 (taken while its node runs).
    let backup = w.home("c-backup");
    copy_dir(&w.home("c"), &backup);

    // A joining device refuses any key but the expected one, and approves that one.
    let d = NodeProcess::start_extra(&w.home("d"), &["--expect-key", &group_key]);
    let grown = reshare(&w, "a", &["a", "b", "c", "d"], 3, &["b", "c", "d"]);
    assert_eq!(grown["epoch"], 1);
    assert_eq!(grown["threshold"], 3);
    assert_eq!(grown["parties"], 4);
    assert!(grown["note"].as_str().unwrap().contains("not revocation"));
    assert_eq!(grown["address"], before["address"], "the address stays");
    let d_key = only_key(&w.home("d"));
    let on_d = show(&w.home("d"), &d_key);
    assert_eq!(on_d["group_key"], before["group_key"]);
    assert_eq!(on_d["epoch"], 1);
    assert_eq!(on_d["state"], "active");
    for n in ["a", "b", "c"] {
        let epochs = show(&w.home(n), "vault")["epochs"].clone();
        assert_eq!(
            epochs,
            serde_json::json!([{"epoch": 1, "state": "active"}]),
            "{n}"
        );
    }
    let signed = sign(&w, "a", &["c", "d"], &["c", "d"], "00bb");
    check(&before, "00bb", &signed);

    // The epoch-0 backup of c, run in c's place, does not sign with the new committee: b
    // refuses a superseded epoch.
    drop(c);
    let (code, _, err) = run(
        &backup,
        &[
            "sign",
            "--key",
            "vault",
            "--message",
            "00cc",
            "--signers",
            "b",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("refused"), "{err}");
    c = NodeProcess::start(&w.home("c"));

    // a leaves: b proposes 2-of-3 among b, c and d; every device of the old committee deals,
    // so a's share is erased once the transition is certified.
    let a = NodeProcess::start(&w.home("a"));
    let shrunk = reshare(&w, "b", &["b", "c", "d"], 2, &["a", "c", "d"]);
    assert_eq!(shrunk["epoch"], 2);
    assert_eq!(shrunk["threshold"], 2);
    assert_eq!(shrunk["address"], before["address"]);
    drop(a);
    let listed = json(&w.home("a"), &["keys", "list"]);
    assert_eq!(listed["keys"], serde_json::json!([]), "a holds nothing");
    assert!(
        !w.home("a").join("keys/vault").exists(),
        "a's share files are gone"
    );
    let (code, _, err) = run(
        &w.home("a"),
        &["sign", "--key", "vault", "--message", "00dd"],
    );
    assert_eq!(code, 2, "{err}");
    let signed = sign(&w, "b", &["d"], &["d"], "00ee");
    check(&before, "00ee", &signed);
    drop((b, c, d));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != "control.sock" && entry.file_name() != "node.lock" {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
