//! The `tessera` binary end to end: exit codes and one-line output.

use std::process::Command;

fn tessera(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .output()
        .expect("run tessera");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `tessera verify --suite SUITE --public-key KEY --message MSG --signature SIG`, plus `extra`
/// global flags before the subcommand.
fn verify(extra: &[&str], suite: &str, key: &str, msg: &str, sig: &str) -> (i32, String, String) {
    let mut args = extra.to_vec();
    args.extend([
        "verify",
        "--suite",
        suite,
        "--public-key",
        key,
        "--message",
        msg,
        "--signature",
        sig,
    ]);
    tessera(&args)
}

// RFC 9591 Appendix E.1 values (FROST(Ed25519, SHA-512)).
const ED_KEY: &str = "15d21ccd7ee42959562fc8aa63224c8851fb3ec85a3faf66040d380fb9738673";
const ED_SIG: &str = "154fb694ee7fcb37bf2381d94488c2a84b03b3352ad085feca81ad26d45852b7ecfe971ce4da95c4a95db93ac376b053897fca212ef85f99cf696bffeb178f07";
// The ZF frost-secp256k1-tr signing vector.
const TR_KEY: &str = "02f37c34b66ced1fb51c34a90bdae006901f10625cc06c4f64663b0eae87d87b4f";
const TR_SIG: &str = "0c776a9516a77808b70a31e74f1464814a6fcf897fb3a6bd84c7a9a9a7a5bcb8d8bfc2b385379c093bcc0579abc5f6f696e8f2c0c01f28ff7b5ef55397fc3c9a";

#[test]
fn verify_valid_invalid_and_bad_input() {
    let (code, out, _) = verify(&[], "ed25519", ED_KEY, "74657374", ED_SIG);
    assert_eq!((code, out.trim()), (0, "valid"));

    let (code, out, _) = verify(&[], "ed25519", ED_KEY, "74657375", ED_SIG);
    assert_eq!(code, 1);
    assert!(out.starts_with("invalid: "), "{out}");
    assert_eq!(out.lines().count(), 1);

    // Taproot: 33-byte and 32-byte forms of the key both work.
    for key in [TR_KEY, &TR_KEY[2..]] {
        let (code, out, _) = verify(&[], "taproot", key, "74657374", TR_SIG);
        assert_eq!((code, out.trim()), (0, "valid"), "key {key}");
    }

    // Undecodable input and bad usage exit 2 with one line on stderr.
    let (code, _, err) = verify(&[], "ed25519", "zz", "00", ED_SIG);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("error: ") && err.lines().count() == 1,
        "{err}"
    );
    let (code, _, err) = verify(&[], "secp256k1", "0212", "00", "00");
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = verify(&[], "ed448", ED_KEY, "00", ED_SIG);
    assert_eq!(code, 2);
    let (code, _, _) = tessera(&[
        "verify",
        "--suite",
        "ed25519",
        "--public-key",
        ED_KEY,
        "--signature",
        ED_SIG,
    ]);
    assert_eq!(code, 2, "a message is required");

    // A signature whose R is not a point is invalid (exit 1), not a crash.
    let bad_r = format!("{}{}", "02".repeat(32), &ED_SIG[64..]);
    let (code, out, _) = verify(&[], "ed25519", ED_KEY, "74657374", &bad_r);
    assert_eq!(code, 1, "{out}");

    let (code, out, _) = verify(&["--json"], "ed25519", ED_KEY, "74657374", ED_SIG);
    assert_eq!(code, 0);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&out).unwrap()["valid"],
        true
    );
}

#[test]
fn verify_reads_the_message_from_a_file() {
    let dir = std::env::temp_dir().join(format!("tessera-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("msg");
    std::fs::write(&file, b"test").unwrap();
    let (code, out, _) = tessera(&[
        "verify",
        "--suite",
        "ed25519",
        "--public-key",
        ED_KEY,
        "--message-file",
        file.to_str().unwrap(),
        "--signature",
        ED_SIG,
    ]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!((code, out.trim()), (0, "valid"));
}

#[test]
fn vectors_check_passes_bundled_and_fails_on_a_mismatch() {
    let (code, out, _) = tessera(&["vectors", "check"]);
    assert_eq!(code, 0, "{out}");
    assert!(out
        .lines()
        .any(|l| l.starts_with("ok ") && l.contains("binding_factor")));
    assert!(out.trim_end().ends_with(" 0 failed"), "{out}");

    let dir = std::env::temp_dir().join(format!("tessera-vec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = include_str!("../../test-vectors/vectors/secp256k1/signing.json");
    let sig = "024c1ad4e031872661fa6ebd05dfc7fb30db08b38d79f0edbc82051ae931381bc6a46881e25c7989d3816eae32074f1ab0d49ee908a59713ed5284c6bade7cfb02";
    let bad = good.replace(sig, &sig.replace("cfb02", "cfb03"));
    let path = dir.join("bad.json");
    std::fs::write(&path, bad).unwrap();
    let (code, out, _) = tessera(&["vectors", "check", path.to_str().unwrap()]);
    let not_json = dir.join("x.json");
    std::fs::write(&not_json, "{").unwrap();
    let (code2, _, err) = tessera(&["vectors", "check", not_json.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(code, 1);
    assert!(
        out.lines()
            .any(|l| l.starts_with("FAIL") && l.contains("signature")),
        "{out}"
    );
    assert_eq!(code2, 2, "{err}");
}

#[test]
fn vectors_check_covers_both_dkg_kinds() {
    let (code, out, _) = tessera(&["vectors", "check"]);
    assert_eq!(code, 0, "{out}");
    for (file, step) in [
        ("taproot/dkg.json", "group public key (BIP-86 tweak)"),
        (
            "ed25519/dkg.json",
            "participant 3: share from 2 vs commitment",
        ),
        ("secp256k1/dkg-tessera-3of5.json", "dkg message 0: round 1"),
        ("taproot/dkg-tessera-2of3.json", "party 2: activates"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.starts_with("ok ") && l.contains(file) && l.contains(step)),
            "{file} {step}"
        );
    }

    // A project DKG file given as a path; a tampered copy fails.
    let dir = std::env::temp_dir().join(format!("tessera-dkg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = include_str!("../../test-vectors/vectors/ed25519/dkg-tessera-2of3.json");
    let mut doc: serde_json::Value = serde_json::from_str(good).unwrap();
    let good_path = dir.join("good.json");
    std::fs::write(&good_path, good).unwrap();
    let (code, out, _) = tessera(&["vectors", "check", good_path.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let share = doc["parties"][1]["signing_share"].as_str().unwrap();
    let changed = format!("{}00", &share[..62]);
    assert_ne!(share, changed);
    doc["parties"][1]["signing_share"] = changed.into();
    let bad_path = dir.join("bad.json");
    std::fs::write(&bad_path, doc.to_string()).unwrap();
    let (bad_code, bad_out, _) = tessera(&["vectors", "check", bad_path.to_str().unwrap()]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(bad_code, 1, "{bad_out}");
    let failed: Vec<&str> = bad_out.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(failed.len(), 1, "{bad_out}");
    assert!(failed[0].contains("party 1: signing_share"), "{bad_out}");

    // The upstream ZF file, when it is beside the repository.
    let upstream = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/vectors/rfc9591-zf/frost-secp256k1-tr/vectors_dkg.json");
    if upstream.exists() {
        let (code, out, _) = tessera(&["vectors", "check", upstream.to_str().unwrap()]);
        assert_eq!(code, 0, "{out}");
        assert!(out.contains("taproot"), "{out}");
        assert!(out.trim_end().ends_with("28 passed, 0 failed"), "{out}");
    }
}

#[test]
fn demo_runs_every_suite_over_the_mesh() {
    let (code, out, err) = tessera(&["demo", "--parties", "4", "--threshold", "3"]);
    assert_eq!(code, 0, "{out}{err}");
    for suite in ["ed25519", "secp256k1", "taproot"] {
        for step in [
            "nodes",
            "keygen",
            "sign",
            "verify",
            "reshare",
            "sign-e1",
            "verify-e1",
            "same-key",
        ] {
            assert!(
                out.lines()
                    .any(|l| l.contains(&format!("[{suite:9}] {step:9} ok "))),
                "{suite} {step}:\n{out}"
            );
        }
    }
    let (code, _, _) = tessera(&["demo", "--parties", "2", "--threshold", "3"]);
    assert_eq!(code, 2);
}

#[test]
fn demo_json_reports_every_step() {
    for suite in ["ed25519", "secp256k1", "taproot"] {
        let (code, out, err) = tessera(&[
            "--json",
            "demo",
            "--suite",
            suite,
            "--parties",
            "3",
            "--threshold",
            "2",
        ]);
        assert_eq!(code, 0, "{out}{err}");
        let steps: Vec<serde_json::Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(steps.len(), 8, "{out}");
        for s in &steps {
            assert_eq!(
                (&s["ok"], &s["suite"]),
                (&true.into(), &suite.into()),
                "{s}"
            );
            assert!(s["ms"].is_number() && s["step"].is_string(), "{s}");
        }
        let keygen = steps.iter().find(|s| s["step"] == "keygen").unwrap();
        assert!(keygen["group_key"]
            .as_str()
            .is_some_and(|k| hex::decode(k).is_ok()));
        // Each signature, checked here from the structured fields alone.
        for name in ["sign", "verify", "sign-e1", "verify-e1"] {
            let s = steps.iter().find(|s| s["step"] == name).unwrap();
            let field = |f: &str| hex::decode(s[f].as_str().unwrap_or_default()).unwrap();
            let (message, signature, key) =
                (field("message"), field("signature"), field("verifying_key"));
            let valid = match suite {
                "ed25519" => {
                    ed25519_dalek::VerifyingKey::from_bytes(&key.clone().try_into().unwrap())
                        .unwrap()
                        .verify_strict(
                            &message,
                            &ed25519_dalek::Signature::from_slice(&signature).unwrap(),
                        )
                        .is_ok()
                }
                "taproot" => k256::schnorr::VerifyingKey::from_slice(&key)
                    .unwrap()
                    .verify_raw(
                        &message,
                        &k256::schnorr::Signature::try_from(signature.as_slice()).unwrap(),
                    )
                    .is_ok(),
                _ => tessera_sign::verify_bytes(
                    tessera_core::Suite::Secp256k1,
                    &key,
                    &message,
                    &signature,
                )
                .is_ok(),
            };
            assert!(valid, "{suite} {name}: {s}");
        }
    }
}
