//! `tessera repair` with real processes (design §3.4): a 2-of-4 ed25519 key of a, b, c and
//! d, where c's node lies as a repair helper (`TESSERA_TEST_LIE_IN_REPAIR`). a loses its
//! share file and asks b, c and d: the sets with c fail the check and a asks the next, until
//! d and b rebuild the share, which then signs (checked with ed25519-dalek). Then a's home
//! loses the key entirely and a repairs it from the group key alone. An intact share is not
//! "repaired".

mod common;

use common::homes::{approve_while, json, run, tessera, NodeProcess, World};

use std::thread;

use serde_json::Value;

/// `tessera repair ARGS` on a while b, c and d approve: (exit code, stdout, stderr).
fn repair(w: &World, args: &[&str]) -> (i32, String, String) {
    let home = w.home("a");
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let command = thread::spawn(move || {
        let mut all = vec!["--json", "repair", "--key", "vault"];
        all.extend(args.iter().map(String::as_str));
        run(&home, &all)
    });
    approve_while(w, &["b", "c", "d"], &command);
    command.join().unwrap()
}

/// a and b sign `message`; checked with ed25519-dalek under `key`.
fn signs(w: &World, key: &[u8; 32], message: &str) {
    let home = w.home("a");
    let message_owned = message.to_string();
    let command = thread::spawn(move || {
        run(
            &home,
            &[
                "--json",
                "sign",
                "--key",
                "vault",
                "--message",
                &message_owned,
                "--signers",
                "b",
            ],
        )
    });
    approve_while(w, &["b"], &command);
    let (code, out, err) = command.join().unwrap();
    assert_eq!(code, 0, "{err}");
    let signed: Value = serde_json::from_str(out.trim()).unwrap();
    let sig = hex::decode(signed["signature"].as_str().unwrap()).unwrap();
    ed25519_dalek::VerifyingKey::from_bytes(key)
        .unwrap()
        .verify_strict(
            &hex::decode(message).unwrap(),
            &ed25519_dalek::Signature::from_slice(&sig).unwrap(),
        )
        .expect("ed25519-dalek verifies");
}

#[test]
fn a_lost_share_comes_back_from_honest_helpers() {
    let w = World::of("repair", &["a", "b", "c", "d"]);
    let _b = NodeProcess::start(&w.home("b"));
    let mut liar = tessera(&w.home("c"));
    liar.env("TESSERA_TEST_LIE_IN_REPAIR", "1");
    let _c = NodeProcess::start_with(liar).0;
    let _d = NodeProcess::start(&w.home("d"));
    let (code, _, err) = w.keygen_with("vault", "ed25519", 2, &["b", "c", "d"]);
    assert_eq!(code, 0, "{err}");
    let shown = json(&w.home("a"), &["keys", "show", "vault"]);
    let key: [u8; 32] = hex::decode(shown["verifying_key"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let group_key = shown["group_key"].as_str().unwrap().to_string();

    // An intact share is not repaired.
    let (code, _, err) = repair(&w, &["--from", "b", "d"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("intact"), "{err}");

    // The share file is gone: b and c fail the check (c lies), c and d too, d and b succeed.
    let share = w.home("a").join("keys/vault/epoch-0.share");
    std::fs::remove_file(&share).unwrap();
    let (code, out, err) = repair(&w, &["--from", "b", "c", "d"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(out.trim()).unwrap()["repaired"],
        true
    );
    assert_eq!(err.matches("does not match").count(), 2, "{err}");
    assert!(share.exists());
    signs(&w, &key, "0a0b");

    // The whole key is gone from a's home: its group key is enough.
    std::fs::remove_dir_all(w.home("a").join("keys")).unwrap();
    let (code, _, err) = repair(&w, &["--from", "d", "b", "--group-key", &group_key]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        json(&w.home("a"), &["keys", "show", "vault"])["verifying_key"],
        shown["verifying_key"]
    );
    signs(&w, &key, "0c0d");
}
