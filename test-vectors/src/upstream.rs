//! Reading the upstream RFC 9591 / ZF FROST vector schema (`vectors.json`,
//! `vectors-big-identifier.json`, `vectors_dkg.json`, `elements.json`, `samples.json`) into
//! [`format`](crate::format) documents. The group key may be named `verifying_key_key` (ZF) or
//! `group_public_key` (RFC).
//!
//! `vectors_dkg.json` holds, per participant i: `signing_key` and `coefficient` (the
//! coefficients a_i0 and a_i1 of its polynomial; `coefficient` may also be a list a_i1 …),
//! `vss_commitments`, `proof_of_knowledge` (ZF's `Signature` encoding of R ‖ μ, x-only R for
//! taproot), `signing_shares[j]` (the share i received *from* j), and its results
//! `signing_share` and `verifying_share`; the group key is `verifying_key`. The `secret`
//! fields of the ed25519 file (top level and per participant) match no other value in it
//! (they are not the proof nonce: `secret·G ≠ R`; nor the group secret: `secret·G` is not the
//! group key) and ZF's own test never reads them, so they are not converted. The taproot
//! file's results are after ZF's BIP-86 `post_dkg` tweak ([`PostDkg::Bip86`]).

use serde_json::Value;
use tessera_core::Suite;

use crate::{
    format::{
        DkgParty, DkgVector, Document, EncodingVector, IdentifierValue, Labelled, PostDkg,
        ReceivedShare, RepairVector, ShareValue, SignerValues, SigningVector,
    },
    LoadError,
};

/// Converts an upstream document. `suite` overrides detection; otherwise the suite comes from
/// the file (`config.group`, a 64-byte secp256k1 signature meaning taproot) or its name.
pub fn convert(name: &str, doc: &Value, suite: Option<Suite>) -> Result<Document, LoadError> {
    let bad =
        |what: &str| LoadError::Format(name.to_string(), format!("missing or malformed {what}"));
    if let Some(config) = doc.get("config") {
        if doc.get("round_one_outputs").is_none() && doc.get("inputs").is_some() {
            let suite = match suite {
                Some(s) => s,
                None => dkg_suite(name, config, doc)?,
            };
            return dkg(doc, suite).ok_or_else(|| bad("DKG vector fields"));
        }
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
        let suite = suite
            .or_else(|| suite_from_name(name))
            .ok_or_else(|| LoadError::UnknownSuite(name.to_string()))?;
        return repair(doc, suite, name).ok_or_else(|| bad("repair-share fields"));
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

/// `frost-secp256k1-tr` carries the same config as `frost-secp256k1`; its proofs of knowledge
/// are 64-byte BIP-340-style signatures (x-only R) instead of 65-byte `R ‖ z`.
fn dkg_suite(name: &str, config: &Value, doc: &Value) -> Result<Suite, LoadError> {
    match config.get("group").and_then(Value::as_str) {
        Some("ed25519") => Ok(Suite::Ed25519),
        Some("secp256k1") => {
            let proof_len = dkg_participants(doc)
                .and_then(|ps| ps.first().and_then(|(_, p)| text(p, "proof_of_knowledge")))
                .map_or(0, |p| p.len());
            Ok(if proof_len == 128 {
                Suite::Taproot
            } else {
                Suite::Secp256k1
            })
        }
        _ => suite_from_name(name).ok_or_else(|| LoadError::UnknownSuite(name.to_string())),
    }
}

/// The participant objects of a DKG file (keys of `inputs` that are numbers), by identifier.
fn dkg_participants(doc: &Value) -> Option<Vec<(u16, &Value)>> {
    let mut out: Vec<(u16, &Value)> = doc
        .get("inputs")?
        .as_object()?
        .iter()
        .filter_map(|(k, v)| Some((k.parse::<u16>().ok()?, v)))
        .collect();
    out.sort_by_key(|(id, _)| *id);
    Some(out)
}

fn dkg(doc: &Value, suite: Suite) -> Option<Document> {
    let config = doc.get("config")?;
    let inputs = doc.get("inputs")?;
    let parties = dkg_participants(doc)?
        .into_iter()
        .map(|(key, p)| {
            let id = u16::try_from(number(p, "identifier")?).ok()?;
            if id != key {
                return None;
            }
            let mut coefficients = vec![text(p, "signing_key")?];
            match p.get("coefficient")? {
                Value::Array(list) => coefficients.extend(strings(list)?),
                c => coefficients.push(c.as_str()?.to_string()),
            }
            let mut received_shares = p
                .get("signing_shares")?
                .as_object()?
                .iter()
                .map(|(from, share)| {
                    Some(ReceivedShare {
                        from: from.parse().ok()?,
                        share: share.as_str()?.to_string(),
                    })
                })
                .collect::<Option<Vec<_>>>()?;
            received_shares.sort_by_key(|s| s.from);
            Some(DkgParty {
                id,
                coefficients,
                commitments: strings(p.get("vss_commitments")?.as_array()?)?,
                proof_of_knowledge: text(p, "proof_of_knowledge")?,
                proof_nonce: None,
                received_shares,
                signing_share: text(p, "signing_share")?,
                verifying_share: text(p, "verifying_share")?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let (threshold, participants) = sizes(config)?;
    Some(Document::Dkg(DkgVector {
        suite,
        source: "upstream ZF FROST vectors_dkg.json schema".into(),
        threshold,
        participants,
        post_dkg: if suite == Suite::Taproot {
            PostDkg::Bip86
        } else {
            PostDkg::None
        },
        group_public_key: text(inputs, "verifying_key")?,
        parties,
    }))
}

/// `(t, n)` from `config`.
fn sizes(config: &Value) -> Option<(u16, u16)> {
    Some((
        u16::try_from(number(config, "MIN_PARTICIPANTS")?).ok()?,
        u16::try_from(number(config, "MAX_PARTICIPANTS")?).ok()?,
    ))
}

fn strings(list: &[Value]) -> Option<Vec<String>> {
    list.iter()
        .map(|c| c.as_str().map(str::to_string))
        .collect()
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
    let (threshold, participants) = sizes(config)?;
    Some(Document::Signing(SigningVector {
        suite,
        source: "upstream RFC 9591 / ZF FROST schema".into(),
        threshold,
        participants,
        group_secret_key: text(inputs, "group_secret_key")?,
        group_public_key: group_key,
        message: text(inputs, "message")?,
        polynomial_coefficients: strings(inputs.get("share_polynomial_coefficients")?.as_array()?)?,
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

/// ZF's `repair-share.json`: three parts and their sum, four σs and their sum.
fn repair(doc: &Value, suite: Suite, name: &str) -> Option<Document> {
    let list = |group: &str, prefix: &str, count: usize| -> Option<Vec<String>> {
        (1..=count)
            .map(|i| {
                Some(
                    doc.get(group)?
                        .get(format!("{prefix}{i}"))?
                        .as_str()?
                        .to_string(),
                )
            })
            .collect()
    };
    let field = |group: &str, key: &str| Some(doc.get(group)?.get(key)?.as_str()?.to_string());
    Some(Document::Repair(RepairVector {
        suite,
        source: format!("ZF FROST {name}"),
        parts: list("scalar_generation", "random_scalar_", 3)?,
        sigma: field("scalar_generation", "random_scalar_sum")?,
        sigmas: list("sigma_generation", "sigma_", 4)?,
        share: field("sigma_generation", "sigma_sum")?,
    }))
}
