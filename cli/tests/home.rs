//! The home as a user meets it, through the `tessera` binary in separate processes (design
//! §5, §6): `init`, `peers`, `keys`, `passphrase change`; and every bad input gets one clear
//! line, its documented exit code, and leaves the home exactly as it was.

mod common;

use common::snapshot;

use std::{
    fs,
    os::unix::fs::PermissionsExt,
    path::{Path, PathBuf},
    process::Command,
};

/// A scratch folder for this test, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tessera-cli-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn home(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `tessera --home HOME ARGS` with `env`; returns (exit code, stdout, stderr).
fn run(home: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("--home")
        .arg(home)
        .args(args)
        .env_remove("TESSERA_PASSPHRASE")
        .env_remove("TESSERA_HOME")
        .env("TESSERA_INSECURE_TEST_KDF", "1")
        .envs(env.iter().copied())
        .output()
        .expect("run tessera");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const PASS: (&str, &str) = ("TESSERA_PASSPHRASE", "correct horse");

/// Creates a home named `name`; returns its contact string.
fn init(home: &Path, name: &str, port: u16) -> String {
    let listen = format!("/ip4/127.0.0.1/tcp/{port}");
    let (code, out, err) = run(
        home,
        &[PASS],
        &["--json", "init", "--name", name, "--listen", &listen],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["contact"].as_str().unwrap().to_string()
}

/// Runs a command that must fail with `code` and a one-line error containing `message`,
/// and leave `home` unchanged.
fn refused(home: &Path, env: &[(&str, &str)], args: &[&str], code: i32, message: &str) {
    let before = snapshot(home);
    let (got, out, err) = run(home, env, args);
    assert_eq!(got, code, "{args:?}: {err}");
    assert!(out.is_empty(), "{args:?} printed {out}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line, got {err}");
    assert!(err.contains(message), "{args:?}: {err} lacks {message:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(snapshot(home), before, "{args:?} changed the home");
}

#[test]
fn init_peers_and_keys() {
    let s = Scratch::new("peers");
    let (a, b) = (s.home("a"), s.home("b"));
    let contact_a = init(&a, "alice", 7101);
    let contact_b = init(&b, "bob", 7102);
    assert!(
        contact_a.starts_with("tessera:alice:12D3KooW"),
        "{contact_a}"
    );
    // Owner-only files.
    for (path, (_, mode)) in snapshot(&a) {
        let want = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode & 0o777, want, "{}", path.display());
    }
    let (code, out, _) = run(&a, &[], &["peers", "add", &contact_b, "--name", "laptop"]);
    assert_eq!((code, out.trim().starts_with("added laptop")), (0, true));
    let (code, out, _) = run(&a, &[], &["--json", "peers", "list"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["me"], contact_a.as_str());
    assert_eq!(v["peers"][0]["name"], "laptop");
    let (code, out, _) = run(&a, &[], &["keys", "list"]);
    assert_eq!(
        (code, out.trim()),
        (0, "no keys (create one with tessera keygen)")
    );
    let (code, _, _) = run(&a, &[], &["peers", "remove", "laptop"]);
    assert_eq!(code, 0);
    let (code, out, _) = run(&a, &[], &["completions", "bash"]);
    assert!(code == 0 && out.contains("tessera"));
}

#[test]
fn bad_input_is_one_line_and_changes_nothing() {
    let s = Scratch::new("bad");
    let (a, b) = (s.home("a"), s.home("b"));
    let contact_a = init(&a, "alice", 7103);
    let contact_b = init(&b, "bob", 7104);
    run(&a, &[], &["peers", "add", &contact_b]);
    // A contact string that does not parse; this device's own; one already known.
    refused(
        &a,
        &[],
        &["peers", "add", "tessera:x:y"],
        2,
        "not a contact string",
    );
    refused(&a, &[], &["peers", "add", &contact_a], 2, "own contact");
    refused(
        &a,
        &[],
        &["peers", "add", &contact_b, "--name", "b2"],
        2,
        "already known as \"bob\"",
    );
    // Unknown peer and key names.
    refused(
        &a,
        &[],
        &["peers", "remove", "carol"],
        2,
        "unknown peer \"carol\"",
    );
    refused(
        &a,
        &[],
        &["keys", "show", "vault"],
        2,
        "unknown key \"vault\"",
    );
    // A second init on the same home.
    refused(&a, &[PASS], &["init"], 3, "already exists");
    // A wrong passphrase.
    let new = ("TESSERA_NEW_PASSPHRASE", "battery staple");
    refused(
        &a,
        &[("TESSERA_PASSPHRASE", "wrong"), new],
        &["passphrase", "change"],
        3,
        "wrong passphrase",
    );
    // A keyring readable by others, as ssh refuses such a key.
    let keyring = a.join("keyring.json");
    fs::set_permissions(&keyring, fs::Permissions::from_mode(0o644)).unwrap();
    refused(
        &a,
        &[PASS, new],
        &["passphrase", "change"],
        3,
        "permissions 644",
    );
    fs::set_permissions(&keyring, fs::Permissions::from_mode(0o600)).unwrap();
    // A truncated or corrupted keyring, and one of a newer format.
    let good = fs::read(&keyring).unwrap();
    fs::write(&keyring, &good[..good.len() / 2]).unwrap();
    refused(&a, &[PASS, new], &["passphrase", "change"], 3, "damaged");
    let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
    v["format"] = 9.into();
    fs::write(&keyring, serde_json::to_vec(&v).unwrap()).unwrap();
    refused(
        &a,
        &[PASS, new],
        &["passphrase", "change"],
        3,
        "newer version",
    );
    let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
    let ct = v["data_key"]["ciphertext"]
        .as_str()
        .unwrap()
        .replace('0', "1")
        .replace('a', "b");
    v["data_key"]["ciphertext"] = ct.into();
    fs::write(&keyring, serde_json::to_vec(&v).unwrap()).unwrap();
    refused(
        &a,
        &[PASS, new],
        &["passphrase", "change"],
        3,
        "wrong passphrase",
    );
    fs::write(&keyring, &good).unwrap();
    // A weak keyring without the test setting.
    refused(
        &a,
        &[PASS, new, ("TESSERA_INSECURE_TEST_KDF", "0")],
        &["passphrase", "change"],
        3,
        "weaker than tessera's floor",
    );
    // A missing home.
    let missing = s.home("nowhere");
    let (code, _, err) = run(&missing, &[], &["keys", "list"]);
    assert_eq!(
        (
            code,
            err.trim()
                .ends_with("not a tessera home (run `tessera init` first)")
        ),
        (3, true),
        "{err}"
    );
    assert!(!missing.exists());
    // The passphrase still changes when everything is right, and the old one stops working.
    let (code, _, err) = run(&a, &[PASS, new], &["passphrase", "change"]);
    assert_eq!(code, 0, "{err}");
    refused(
        &a,
        &[PASS, new],
        &["passphrase", "change"],
        3,
        "wrong passphrase",
    );
}
