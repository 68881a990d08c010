//! Reading the upstream RFC 9591 / ZF FROST vector schema (`vectors.json`,
//! `vectors-big-identifier.json`, `elements.json`, `samples.json`) into [`format`](crate::format)
//! documents. The group key may be named `verifying_key_key` (ZF) or `group_public_key` (RFC).

use serde_json::Value;
use tessera_core::Suite;

use crate::{
    format::{
        Document, EncodingVector, IdentifierValue, Labelled, ShareValue, SignerValues,
        SigningVector,
    },
    LoadError,
};

/// Converts an upstream document. `suite` overrides detection; otherwise the suite comes from
/// the file (`config.group`, a 64-byte secp256k1 signature meaning taproot) or its name.
pub fn convert(name: &str, doc: &Value, suite: Option<Suite>) -> Result<Document, LoadError> {
    let bad =
        |what: &str| LoadError::Format(name.to_string(), format!("missing or malformed {what}"));
    if doc.get("round_one_outputs").is_none() && doc.get("inputs").is_some() {
        return Err(LoadError::Unsupported(name.to_string(), "DKG"));
    }
    if let Some(config) = doc.get("config") {
        let suite = match suite {
            Some(s) => s,
            None => signing_suite(name, config, doc)?,
        };
        return signing(doc, suite).ok_or_else(|| bad("signing vector fields"));
    }
    if doc.get("elements").is_some() || doc.get("scalar1").is_some() {
        let suite = suite
            .or_else(|| suite_from_name(name))
            .ok_or_else(|| LoadError::UnknownSuite(name.to_string()))?;
        return encodings(doc, suite).ok_or_else(|| bad("element fields"));
    }
    if doc.get("scalar_generation").is_some() {
        return Err(LoadError::Unsupported(name.to_string(), "repair-share"));
    }
    Err(LoadError::Format(
        name.to_string(),
        "not a known vector schema".into(),
    ))
}

fn suite_from_name(name: &str) -> Option<Suite> {
    let n = name.to_ascii_lowercase();
    if n.contains("ed25519") {
        Some(Suite::Ed25519)
    } else if n.contains("secp256k1-tr") || n.contains("taproot") {
        Some(Suite::Taproot)
    } else if n.contains("secp256k1") {
        Some(Suite::Secp256k1)
    } else {
        None
    }
}

fn signing_suite(name: &str, config: &Value, doc: &Value) -> Result<Suite, LoadError> {
    match config.get("group").and_then(Value::as_str) {
        Some("ed25519") => Ok(Suite::Ed25519),
        Some("secp256k1") => {
            let sig = doc
                .pointer("/final_output/sig")
                .and_then(Value::as_str)
                .unwrap_or("");
            // frost-secp256k1-tr carries the same config as frost-secp256k1; its signatures
            // are 64-byte BIP-340 signatures instead of 65-byte `R ‖ z`.
            Ok(if sig.len() == 128 {
                Suite::Taproot
            } else {
                Suite::Secp256k1
            })
        }
        _ => suite_from_name(name).ok_or_else(|| LoadError::UnknownSuite(name.to_string())),
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)?.as_str().map(str::to_string)
}

fn number(v: &Value, key: &str) -> Option<u64> {
    let x = v.get(key)?;
    x.as_u64().or_else(|| x.as_str()?.parse().ok())
}

fn signing(doc: &Value, suite: Suite) -> Option<Document> {
    let config = doc.get("config")?;
    let inputs = doc.get("inputs")?;
    let group_key =
        text(inputs, "verifying_key_key").or_else(|| text(inputs, "group_public_key"))?;
    let round_one = doc.pointer("/round_one_outputs/outputs")?.as_array()?;
    let round_two = doc.pointer("/round_two_outputs/outputs")?.as_array()?;
    let signers = round_one
        .iter()
        .map(|o| {
            let id = number(o, "identifier")?;
            let share = round_two
                .iter()
                .find(|r| number(r, "identifier") == Some(id))
                .and_then(|r| text(r, "sig_share"))?;
            Some(SignerValues {
                id: u16::try_from(id).ok()?,
                hiding_randomness: text(o, "hiding_nonce_randomness")?,
                binding_randomness: text(o, "binding_nonce_randomness")?,
                hiding_nonce: text(o, "hiding_nonce")?,
                binding_nonce: text(o, "binding_nonce")?,
                hiding_commitment: text(o, "hiding_nonce_commitment")?,
                binding_commitment: text(o, "binding_nonce_commitment")?,
                binding_factor_input: text(o, "binding_factor_input")?,
                binding_factor: text(o, "binding_factor")?,
                signature_share: share,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let shares = inputs
        .get("participant_shares")?
        .as_array()?
        .iter()
        .map(|p| {
            Some(ShareValue {
                id: u16::try_from(number(p, "identifier")?).ok()?,
                share: text(p, "participant_share")?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Document::Signing(SigningVector {
        suite,
        source: "upstream RFC 9591 / ZF FROST schema".into(),
        threshold: u16::try_from(number(config, "MIN_PARTICIPANTS")?).ok()?,
        participants: u16::try_from(number(config, "MAX_PARTICIPANTS")?).ok()?,
        group_secret_key: text(inputs, "group_secret_key")?,
        group_public_key: group_key,
        message: text(inputs, "message")?,
        polynomial_coefficients: inputs
            .get("share_polynomial_coefficients")?
            .as_array()?
            .iter()
            .map(|c| c.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()?,
        shares,
        signers,
        signature: doc.pointer("/final_output/sig")?.as_str()?.to_string(),
    }))
}

fn encodings(doc: &Value, suite: Suite) -> Option<Document> {
    let mut v = EncodingVector {
        suite,
        source: "upstream ZF FROST schema".into(),
        invalid_points: Vec::new(),
        invalid_scalars: Vec::new(),
        valid_points: Vec::new(),
        valid_scalars: Vec::new(),
        identifier: None,
    };
    if let Some(e) = doc.pointer("/elements/invalid_element") {
        v.invalid_points.push(Labelled {
            bytes: e.as_str()?.to_string(),
            note: "upstream invalid element".into(),
        });
    }
    for key in ["element1", "element2"] {
        if let Some(p) = text(doc, key) {
            v.valid_points.push(p);
        }
    }
    if let Some(s) = text(doc, "scalar1") {
        v.valid_scalars.push(s);
    }
    if let Some(id) = text(doc, "identifier") {
        let bytes = hex::decode(&id).ok()?;
        // The identifier's low-order bytes are first (little-endian) or last (big-endian).
        let value = if suite == Suite::Ed25519 {
            u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?])
        } else {
            u16::from_be_bytes([bytes[bytes.len().checked_sub(2)?], *bytes.last()?])
        };
        v.identifier = Some(IdentifierValue { value, bytes: id });
    }
    Some(Document::Encodings(v))
}
