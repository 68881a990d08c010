//! `cargo test` runs every bundled vector, and the upstream files when they are beside the
//! repository (they are not part of a user's clone; the bundled files carry their values).

use std::path::Path;

use tessera_vectors::{check_bundled, check_document};

#[test]
fn every_bundled_vector_passes() {
    let outcomes = check_bundled();
    let failures: Vec<String> = outcomes
        .iter()
        .filter(|o| o.result.is_err())
        .map(|o| o.to_string())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Nine files; signing files have ~9 steps per signer; be sure the work was done.
    assert!(outcomes.len() > 100, "only {} steps ran", outcomes.len());
    for suite in ["ed25519", "secp256k1", "taproot"] {
        for step in [
            "binding_factor_input",
            "signature_share",
            "signature verifies",
            "reject point",
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors/rfc9591-zf");
    if !root.exists() {
        eprintln!("upstream vectors not beside the repository; bundled copies were checked");
        return;
    }
    let mut checked = 0;
    for suite in ["frost-ed25519", "frost-secp256k1", "frost-secp256k1-tr"] {
        for file in [
            "vectors.json",
            "vectors-big-identifier.json",
            "elements.json",
            "samples.json",
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
