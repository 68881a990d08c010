//! Three devices as a user runs them (design §5, §6, README "Three devices"): three homes,
//! `tessera node` in two of them as separate OS processes, `tessera keygen` and `tessera sign`
//! from the third; every signature is checked by an independent verifier (ed25519-dalek,
//! k256's BIP-340), and the address `keys show` prints encodes the key it verifies under.
//! Also what goes wrong: a second node on a home, a taken key name, a refused proposal, a
//! device that is down.

mod common;

use common::{
    homes::{decide, json, run, tessera, NodeProcess, World},
    snapshot,
};

use std::{
    fs,
    io::{BufRead, BufReader},
    process::Stdio,
    str::FromStr,
};

use serde_json::Value;

/// `tessera --json sign --key KEY --message MESSAGE --signers b EXTRA…` from a's home, in the
/// background.
fn sign_from_a(
    w: &World,
    key: &str,
    message: &str,
    extra: &[&str],
) -> std::thread::JoinHandle<(i32, String, String)> {
    let a = w.home("a");
    let args: Vec<String> = ["--json", "sign", "--key", key, "--message", message]
        .iter()
        .chain(&["--signers", "b"])
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
    std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&a, &args)
    })
}

/// `tessera sign` from device a in the background while b decides; its (code, stdout, stderr).
fn sign_with_decision(w: &World, key: &str, message: &str, approve: bool) -> (i32, String, String) {
    let signer = sign_from_a(w, key, message, &[]);
    decide(&w.home("b"), approve);
    signer.join().unwrap()
}

/// Checks `signature` over `message` under the key `keys show` printed, with a verifier that
/// is not tessera's, and that the printed address encodes that key.
fn check_independently(suite: &str, shown: &Value, message: &[u8], signature: &[u8]) {
    let key = hex::decode(shown["verifying_key"].as_str().unwrap()).unwrap();
    let address = shown["address"].as_str().unwrap();
    match suite {
        "ed25519" => {
            let vk =
                ed25519_dalek::VerifyingKey::from_bytes(&key.clone().try_into().unwrap()).unwrap();
            let sig = ed25519_dalek::Signature::from_slice(signature).unwrap();
            vk.verify_strict(message, &sig)
                .expect("ed25519-dalek verifies");
            assert_eq!(
                bs58::decode(address).into_vec().unwrap(),
                key,
                "Solana address"
            );
        }
        "taproot" => {
            let vk = k256::schnorr::VerifyingKey::from_slice(&key).unwrap();
            let sig = k256::schnorr::Signature::try_from(signature).unwrap();
            vk.verify_raw(message, &sig).expect("k256 BIP-340 verifies");
            let parsed = bitcoin::Address::from_str(address)
                .unwrap()
                .require_network(bitcoin::Network::Bitcoin)
                .unwrap();
            assert_eq!(
                &parsed.script_pubkey().as_bytes()[2..],
                key.as_slice(),
                "P2TR output key"
            );
        }
        _ => {
            tessera_sign::verify_bytes(tessera_core::Suite::Secp256k1, &key, message, signature)
                .expect("RFC 9591 verification");
            assert_eq!(address, hex::encode(&key));
        }
    }
}

#[test]
fn three_devices_make_a_key_and_sign_in_every_suite() {
    let w = World::new("suites");
    let _b = NodeProcess::start(&w.home("b"));
    let _c = NodeProcess::start(&w.home("c"));
    for suite in ["ed25519", "taproot", "secp256k1"] {
        let name = format!("vault-{suite}");
        let made = w.keygen(&name, suite);
        assert_eq!(made["state"], "active");
        // Every device holds the same key, active, under the same name.
        for d in ["b", "c"] {
            let theirs = json(&w.home(d), &["keys", "show", &name]);
            assert_eq!(theirs["group_key"], made["group_key"]);
            assert_eq!(theirs["address"], made["address"]);
        }
        let message = hex::encode(format!("pay 1 coin, {suite}"));
        let (code, out, err) = sign_with_decision(&w, &name, &message, true);
        assert_eq!(code, 0, "{err}");
        let signed: Value = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(signed["verifying_key"], made["verifying_key"]);
        let signature = hex::decode(signed["signature"].as_str().unwrap()).unwrap();
        check_independently(suite, &made, &hex::decode(&message).unwrap(), &signature);
    }
    // Each device's log has every session it took part in (c signed none), chain intact.
    for (d, sessions) in [("a", 6), ("b", 6), ("c", 3)] {
        let checked = json(&w.home(d), &["log", "--verify"]);
        assert_eq!(checked["intact"], true);
        assert_eq!(checked["entries"], sessions, "{d}");
    }
}

#[test]
fn what_goes_wrong_is_one_line_naming_who() {
    let w = World::new("wrong");
    let b = NodeProcess::start(&w.home("b"));
    let c = NodeProcess::start(&w.home("c"));
    // A second node on one home: refused, the home unchanged.
    let before = snapshot(&w.home("b"));
    let (code, _, err) = run(&w.home("b"), &["node"]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("another tessera node is running"), "{err}");
    assert_eq!(snapshot(&w.home("b")), before);
    w.keygen("vault", "ed25519");
    let keygen = [
        "keygen",
        "--name",
        "vault",
        "--suite",
        "ed25519",
        "--threshold",
        "2",
    ];
    // A taken key name: refused, the home unchanged.
    let before = snapshot(&w.home("a"));
    let (code, _, err) = run(&w.home("a"), &[&keygen[..], &["--with", "b"]].concat());
    assert_eq!((code, err.lines().count()), (2, 1), "{err}");
    assert!(err.contains("exists already"), "{err}");
    assert_eq!(snapshot(&w.home("a")), before);
    // A refused proposal names who refused, and nothing is signed: of the home, only the
    // audit log (which records the refusal) changes.
    let keys_before = snapshot(&w.home("a").join("keys"));
    let (code, out, err) = sign_with_decision(&w, "vault", "00", false);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.lines().last().unwrap_or_default().contains("b refused"),
        "{err}"
    );
    assert_eq!(snapshot(&w.home("a").join("keys")), keys_before);
    let last = json(&w.home("b"), &["log"]);
    assert_eq!(last["decision"], "refused", "{last}");
    assert!(
        last["result"].as_str().unwrap().contains("refused"),
        "{last}"
    );
    // A device that is down is named.
    drop(b);
    let (code, _, err) = run(
        &w.home("a"),
        &[
            "sign",
            "--key",
            "vault",
            "--message",
            "00",
            "--signers",
            "b",
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.lines()
            .last()
            .unwrap_or_default()
            .contains("b did not answer"),
        "{err}"
    );
    drop(c);
}

#[test]
fn a_damaged_share_stops_the_node_with_one_line() {
    use std::os::unix::fs::PermissionsExt;
    let w = World::new("damaged");
    {
        let _b = NodeProcess::start(&w.home("b"));
        let _c = NodeProcess::start(&w.home("c"));
        w.keygen("vault", "taproot");
    }
    let a = w.home("a");
    let share = a.join("keys/vault/epoch-0.share");
    let good = fs::read(&share).unwrap();
    type Damage<'a> = Box<dyn Fn() + 'a>;
    let cases: Vec<(Damage, &str)> = vec![
        (
            Box::new(|| fs::write(&share, &good[..good.len() - 9]).unwrap()),
            "authentication failed",
        ),
        (
            Box::new(|| {
                let mut bad = good.clone();
                let last = bad.len() - 1;
                bad[last] ^= 1;
                fs::write(&share, bad).unwrap()
            }),
            "authentication failed",
        ),
        (
            Box::new(|| {
                let mut bad = good.clone();
                bad[4] = 9;
                fs::write(&share, bad).unwrap()
            }),
            "newer version",
        ),
        (
            Box::new(|| {
                fs::write(&share, &good).unwrap();
                fs::set_permissions(&share, fs::Permissions::from_mode(0o644)).unwrap()
            }),
            "permissions 644",
        ),
    ];
    for (damage, message) in cases {
        damage();
        let before = snapshot(&a);
        let out = tessera(&a).args(["node"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{message}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(message) && err.contains("epoch-0.share"),
            "{message}: {err}"
        );
        assert_eq!(snapshot(&a), before, "{message}: the home changed");
    }
    fs::set_permissions(&share, fs::Permissions::from_mode(0o600)).unwrap();
    // Whole again, the node starts.
    drop(NodeProcess::start(&a));
}

#[test]
fn a_person_approves_at_the_nodes_terminal() {
    use std::io::Write;
    let w = World::new("prompt");
    let _c = NodeProcess::start(&w.home("c"));
    let mut b = tessera(&w.home("b"))
        .args(["node", "--allow-blind-signing"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut input = b.stdin.take().unwrap();
    let mut lines = BufReader::new(b.stdout.take().unwrap()).lines();
    assert!(lines.any(|l| l.is_ok_and(|l| l == "ready")));
    let a = w.home("a");
    let keygen = std::thread::spawn(move || {
        run(
            &a,
            &[
                "--json",
                "keygen",
                "--name",
                "vault",
                "--suite",
                "ed25519",
                "--threshold",
                "2",
                "--with",
                "b",
                "c",
            ],
        )
    });
    // b shows the keygen request (no automatic keygen here) and takes `y ID` at its terminal.
    let shown = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("approval "))
        .expect("the request is shown");
    assert!(
        shown.contains("keygen of key vault") && shown.contains("threshold 2"),
        "{shown}"
    );
    let id = shown
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    writeln!(input, "y {id}").unwrap();
    let (code, _, err) = keygen.join().unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        json(&w.home("b"), &["keys", "show", "vault"])["state"],
        "active"
    );
    let _ = b.kill();
    let _ = b.wait();
}

/// `tessera keys xpub` and `keys derive` (design §2): the exported xpub is the internal key
/// with the DKG's chain code, and a child `keys derive` prints is the child the `bitcoin`
/// crate derives from that xpub, with the same address; hardened paths and ed25519 keys are
/// refused in one line.
#[test]
fn a_taproot_keys_children_match_a_watch_only_wallets() {
    let w = World::new("xpub");
    let _b = NodeProcess::start(&w.home("b"));
    let _c = NodeProcess::start(&w.home("c"));
    w.keygen("vault", "taproot");
    let a = w.home("a");
    let exported = json(&a, &["keys", "xpub", "vault"]);
    let xpub = bitcoin::bip32::Xpub::from_str(exported["xpub"].as_str().unwrap()).unwrap();
    let descriptor = exported["descriptor"].as_str().unwrap();
    assert!(
        descriptor.starts_with(&format!("tr({xpub}/0/*)#")),
        "{descriptor}"
    );
    let shown = json(&a, &["keys", "show", "vault"]);
    assert_eq!(
        hex::encode(xpub.public_key.serialize()),
        shown["group_key"].as_str().unwrap()
    );
    let secp = bitcoin::secp256k1::Secp256k1::verification_only();
    let child = json(&a, &["keys", "derive", "vault", "m/0/5"]);
    let theirs = xpub
        .derive_pub(
            &secp,
            &bitcoin::bip32::DerivationPath::from_str("m/0/5").unwrap(),
        )
        .unwrap();
    let internal = theirs.public_key.x_only_public_key().0;
    assert_eq!(
        child["internal_key"].as_str().unwrap(),
        internal.to_string()
    );
    let address = bitcoin::Address::p2tr(&secp, internal, None, bitcoin::Network::Bitcoin);
    assert_eq!(child["address"].as_str().unwrap(), address.to_string());
    let (code, _, err) = run(&a, &["keys", "derive", "vault", "m/0'/5"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("hardened"), "{err}");

    // Signing with the child: b sees the path in its request, and the signature verifies
    // (k256's BIP-340) under the output key of the child's address.
    let signer = sign_from_a(&w, "vault", "c0ffee", &["--path", "m/0/5"]);
    let waiting = loop {
        let list = json(&w.home("b"), &["approve", "--list"]);
        if list["waiting"][0]["id"].is_string() {
            break list["waiting"][0].clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_eq!(waiting["path"], "m/0/5");
    json(&w.home("b"), &["approve", waiting["id"].as_str().unwrap()]);
    let (code, out, err) = signer.join().unwrap();
    assert_eq!(code, 0, "{err}");
    let signed: Value = serde_json::from_str(out.trim()).unwrap();
    let script = address.script_pubkey();
    let output_key = &script.as_bytes()[2..];
    assert_eq!(
        signed["verifying_key"].as_str().unwrap(),
        hex::encode(output_key)
    );
    let vk = k256::schnorr::VerifyingKey::from_slice(output_key).unwrap();
    let sig = hex::decode(signed["signature"].as_str().unwrap()).unwrap();
    vk.verify_raw(
        &[0xc0, 0xff, 0xee],
        &k256::schnorr::Signature::try_from(sig.as_slice()).unwrap(),
    )
    .expect("k256 BIP-340 verifies under the child's output key");
}
