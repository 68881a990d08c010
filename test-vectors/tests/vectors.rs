//! `cargo test` runs every bundled vector, and the upstream files when they are beside the
//! repository (they are not part of a user's clone; the bundled files carry their values).

use std::path::{Path, PathBuf};

use tessera_vectors::{check_bundled, check_document};

/// The upstream files' folder, when it is beside the repository.
fn upstream_root() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/rfc9591-zf");
    if root.exists() {
        Some(root)
    } else {
        eprintln!("upstream vectors not beside the repository; bundled copies were checked");
        None
    }
}

#[test]
fn every_bundled_vector_passes() {
    let outcomes = check_bundled();
    let failures: Vec<String> = outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| o.to_string())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Eighteen files; signing files have ~9 steps per signer, DKG runs one per message and
    // output; be sure the work was done.
    assert!(outcomes.len() > 1000, "only {} steps ran", outcomes.len());
    for suite in ["ed25519", "secp256k1", "taproot"] {
        for step in [
            "binding_factor_input",
            "signature_share",
            "signature verifies",
            "reject point",
            "commitment 1",
            "proof_of_knowledge",
            "share from 3 vs commitment",
            "verifying_share",
            "group public key",
            "identity from seed",
            "dkg message 24: round 2",
            "certify message",
            "key_id",
            "party 4: activates",
        ] {
            assert!(
                outcomes
                    .iter()
                    .any(|o| o.source.starts_with(suite) && o.step.contains(step)),
                "{suite}: no `{step}` step ran"
            );
        }
    }
}

#[test]
fn a_changed_value_is_reported() {
    let json = include_str!("../vectors/taproot/signing.json");
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let good_share = doc["signers"][1]["signature_share"]
        .as_str()
        .unwrap()
        .to_string();
    let mut flipped = good_share.clone().into_bytes();
    flipped[63] = if flipped[63] == b'0' { b'1' } else { b'0' };
    let tampered = json.replace(&good_share, std::str::from_utf8(&flipped).unwrap());
    let outcomes = check_document("tampered", &tampered, None).unwrap();
    let failed: Vec<_> = outcomes.iter().filter(|o| o.result.is_err()).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].step.contains("signature_share"));
}

#[test]
fn upstream_files_pass_when_present() {
    let Some(root) = upstream_root() else {
        return;
    };
    let mut checked = 0;
    for suite in ["frost-ed25519", "frost-secp256k1", "frost-secp256k1-tr"] {
        for file in [
            "vectors.json",
            "vectors-big-identifier.json",
            "elements.json",
            "samples.json",
            "vectors_dkg.json",
        ] {
            let path = root.join(suite).join(file);
            let name = format!("{suite}/{file}");
            let outcomes = check_document(&name, &std::fs::read_to_string(&path).unwrap(), None)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(!outcomes.is_empty());
            for o in outcomes {
                assert!(o.result.is_ok(), "{o}");
                checked += 1;
            }
        }
    }
    assert!(checked > 100);
}

/// Checks `json`, returning the steps that failed.
fn failures(json: &str) -> Vec<tessera_vectors::Outcome> {
    check_document("tampered", json, None)
        .unwrap()
        .into_iter()
        .filter(|o| o.result.is_err())
        .collect()
}

/// `hex` with its last digit changed.
fn flip_last(hex: &str) -> String {
    let mut b = hex.to_string().into_bytes();
    let last = b.len() - 1;
    b[last] = if b[last] == b'0' { b'1' } else { b'0' };
    String::from_utf8(b).unwrap()
}

fn steps_of(failed: &[tessera_vectors::Outcome]) -> Vec<&str> {
    failed.iter().map(|o| o.step.as_str()).collect()
}

#[test]
fn a_changed_dkg_value_is_reported() {
    let json = include_str!("../vectors/taproot/dkg.json");
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();

    // A received share: its value and its Feldman check fail, and so does the sum.
    assert_eq!(
        steps_of(&tamper(&doc, "/parties/1/received_shares/0/share")),
        [
            "participant 2: share from 1",
            "participant 2: share from 1 vs commitment",
            "participant 2: signing_share (BIP-86 tweak)",
        ]
    );

    // A coefficient: its commitment and the shares it gives, not the Feldman checks.
    let failed = tamper(&doc, "/parties/1/coefficients/1");
    assert!(steps_of(&failed).contains(&"participant 2: commitment 1"));
    assert!(failed.iter().all(|o| !o.step.contains("vs commitment")));

    // The proof's μ.
    assert_eq!(
        steps_of(&tamper(&doc, "/parties/1/proof_of_knowledge")),
        ["participant 2: proof_of_knowledge"]
    );

    // A tweaked result, and the tweaked key's parity (ZF keeps Q's parity).
    assert_eq!(
        steps_of(&tamper(&doc, "/parties/1/signing_share")),
        ["participant 2: signing_share (BIP-86 tweak)"]
    );
    let mut even = doc.clone();
    let q = doc["group_public_key"].as_str().unwrap();
    assert!(q.starts_with("03"));
    even["group_public_key"] = format!("02{}", &q[2..]).into();
    assert_eq!(
        steps_of(&failures(&even.to_string())),
        ["group public key (BIP-86 tweak)"]
    );

    // Without the tweak, every result differs.
    let mut plain = doc.clone();
    plain["post_dkg"] = "none".into();
    assert_eq!(failures(&plain.to_string()).len(), 7);
}

#[test]
fn a_proof_nonce_is_checked_when_present() {
    use tessera_core::{Ciphersuite, Ed25519, Identifier};
    type C = Ed25519;
    let json = include_str!("../vectors/ed25519/dkg.json");
    let mut doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let party = &doc["parties"][0];
    let hex_of = |v: &serde_json::Value| hex::decode(v.as_str().unwrap()).unwrap();
    let a0 = C::deserialize_scalar(&hex_of(&party["coefficients"][0])).unwrap();
    let proof = hex_of(&party["proof_of_knowledge"]);
    let mu = C::deserialize_scalar(&proof[32..]).unwrap();
    let c = tessera_keygen::dkg::round1::zf_pok_challenge::<C>(
        Identifier::new(1).unwrap(),
        &hex_of(&party["commitments"][0]),
        &proof[..32],
    );
    // k = μ − c·a_0.
    let k = hex::encode(C::serialize_scalar(&(mu - c * a0)));
    doc["parties"][0]["proof_nonce"] = k.into();
    let outcomes = check_document("nonce", &doc.to_string(), None).unwrap();
    let step = outcomes
        .iter()
        .find(|o| o.step == "participant 1: proof R from nonce")
        .expect("the nonce was checked");
    assert!(step.result.is_ok(), "{step}");
    assert!(outcomes.iter().all(|o| o.result.is_ok()));

    // ZF's ed25519 file has a `secret` per participant; it is not the proof's nonce.
    doc["parties"][0]["proof_nonce"] =
        "6cf4cfbbad5e277a46bb621bfdf1b0a39e2ea1d4f927ddea58db7368e36b9108".into();
    assert_eq!(
        steps_of(&failures(&doc.to_string())),
        ["participant 1: proof R from nonce"]
    );
}

/// The failures after changing the last hex digit of the string at `pointer` in `doc`.
fn tamper(doc: &serde_json::Value, pointer: &str) -> Vec<tessera_vectors::Outcome> {
    let mut doc = doc.clone();
    let value = doc.pointer_mut(pointer).unwrap();
    *value = flip_last(value.as_str().unwrap()).into();
    failures(&doc.to_string())
}

#[test]
fn a_changed_dkg_run_is_reported() {
    let json = include_str!("../vectors/secp256k1/dkg-tessera-3of5.json");
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();

    // One byte of one round-2 payload: only that message differs.
    let failed = tamper(&doc, "/dkg_messages/7/payload");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].step.starts_with("dkg message 7: round 2"));

    // Recorded outputs.
    let failed = tamper(&doc, "/parties/3/confirmation");
    assert_eq!(steps_of(&failed), ["party 3: confirmation"]);
    let failed = tamper(&doc, "/parties/0/signing_share");
    assert_eq!(steps_of(&failed), ["party 0: signing_share"]);
    let failed = tamper(&doc, "/certify_messages/6/payload");
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].step.starts_with("certify message 6: round 2"));
    assert_eq!(tamper(&doc, "/key_id").len(), 5);
    assert_eq!(tamper(&doc, "/certificate/4").len(), 5);

    // Another RNG seed rebuilds another party 2: its messages and the key all change.
    let mut other = doc.clone();
    let seed = other["parties"][2]["rng_seed"].as_u64().unwrap();
    other["parties"][2]["rng_seed"] = (seed + 1000).into();
    let failed = failures(&other.to_string());
    assert!(failed
        .iter()
        .any(|o| o.step == "dkg message 2: round 1, party 2 -> all"));
    assert!(failed.iter().any(|o| o.step == "party 0: group_key"));

    // Another identity seed: the identity no longer matches the roster entry.
    let failed = tamper(&doc, "/parties/1/identity_seed");
    assert!(steps_of(&failed).contains(&"party 1: identity from seed"));
}

#[test]
fn the_upstream_dkg_schema_converts() {
    let Some(root) = upstream_root() else {
        return;
    };
    for (dir, bundled) in [
        ("frost-ed25519", include_str!("../vectors/ed25519/dkg.json")),
        (
            "frost-secp256k1",
            include_str!("../vectors/secp256k1/dkg.json"),
        ),
        (
            "frost-secp256k1-tr",
            include_str!("../vectors/taproot/dkg.json"),
        ),
    ] {
        let path = root.join(dir).join("vectors_dkg.json");
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let converted = tessera_vectors::upstream::convert(dir, &value, None).unwrap();
        let mut converted = serde_json::to_value(converted).unwrap();
        let mut bundled: serde_json::Value = serde_json::from_str(bundled).unwrap();
        // The bundled transcription differs only in its format tag and source.
        bundled.as_object_mut().unwrap().remove("format");
        bundled["source"] = "".into();
        converted["source"] = "".into();
        assert_eq!(converted, bundled, "{dir}");
    }
}
