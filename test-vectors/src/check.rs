//! Replays vectors through tessera's public API, one [`Outcome`] per step.

use std::collections::BTreeMap;

use tessera_core::{
    polynomial::SecretPolynomial, Ciphersuite, Ed25519, Identifier, Secp256k1, SecretScalar, Suite,
    Taproot, Tweak,
};
use tessera_reshare::repair::combine;
use tessera_sign::{
    binding_factor_input_prefix, compute_binding_factors, nonce_generate, verify, Aggregator,
    Signature, Signer, SigningPackage, SigningRequest,
};

use crate::{
    dkg, dkg_run,
    format::{Document, EncodingVector, RepairVector, SigningVector, FORMAT},
    upstream, LoadError, Outcome,
};

/// The largest committee a vector file may deal to (the upstream files use at most 257);
/// bounds the work a hostile file can cause.
pub const MAX_VECTOR_PARTICIPANTS: u16 = 1024;

/// The largest committee of a DKG vector (reference or run): the checks grow with n², so this
/// bounds the work a hostile file can cause.
pub const MAX_DKG_PARTIES: u16 = 64;

/// Parses `json` (tessera or upstream schema) and checks it. `suite` overrides detection.
pub fn check_document(
    name: &str,
    json: &str,
    suite: Option<Suite>,
) -> Result<Vec<Outcome>, LoadError> {
    let value: serde_json::Value = serde_json::from_str(json)
        .map_err(|e| LoadError::Format(name.to_string(), e.to_string()))?;
    let doc = if value.get("format").and_then(|f| f.as_str()) == Some(FORMAT) {
        serde_json::from_value::<Document>(value)
            .map_err(|e| LoadError::Format(name.to_string(), e.to_string()))?
    } else {
        upstream::convert(name, &value, suite)?
    };
    Ok(match doc {
        Document::Signing(v) => match v.suite {
            Suite::Ed25519 => check_signing::<Ed25519>(name, &v),
            Suite::Secp256k1 => check_signing::<Secp256k1>(name, &v),
            Suite::Taproot => check_signing::<Taproot>(name, &v),
        },
        Document::Encodings(v) => match v.suite {
            Suite::Ed25519 => check_encodings::<Ed25519>(name, &v),
            Suite::Secp256k1 => check_encodings::<Secp256k1>(name, &v),
            Suite::Taproot => check_encodings::<Taproot>(name, &v),
        },
        Document::Dkg(v) => match v.suite {
            Suite::Ed25519 => dkg::check::<Ed25519>(name, &v),
            Suite::Secp256k1 => dkg::check::<Secp256k1>(name, &v),
            Suite::Taproot => dkg::check::<Taproot>(name, &v),
        },
        Document::DkgRun(v) => match v.suite {
            Suite::Ed25519 => dkg_run::check::<Ed25519>(name, &v),
            Suite::Secp256k1 => dkg_run::check::<Secp256k1>(name, &v),
            Suite::Taproot => dkg_run::check::<Taproot>(name, &v),
        },
        Document::Repair(v) => match v.suite {
            Suite::Ed25519 => check_repair::<Ed25519>(name, &v),
            Suite::Secp256k1 => check_repair::<Secp256k1>(name, &v),
            Suite::Taproot => check_repair::<Taproot>(name, &v),
        },
    })
}

/// Share repair's summations through `tessera_reshare::repair::combine`.
fn check_repair<C: Ciphersuite>(name: &str, v: &RepairVector) -> Vec<Outcome> {
    let mut steps = Steps::new::<C>(name);
    let scalars = |list: &[String]| {
        list.iter()
            .map(|s| SecretScalar::<C>::from_bytes(&unhex(s)?).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, String>>()
    };
    for (step, inputs, expected) in [
        ("helper sigma from its parts", &v.parts, &v.sigma),
        ("repaired share from the sigmas", &v.sigmas, &v.share),
    ] {
        match scalars(inputs) {
            Ok(values) => steps.compare(step, expected, &*combine(&values).to_bytes()),
            Err(e) => steps.record(step, Err(e)),
        }
    }
    steps.into_outcomes()
}

/// Collects outcomes for one vector.
pub(crate) struct Steps {
    source: String,
    outcomes: Vec<Outcome>,
}

impl Steps {
    /// No steps yet, for file `name` of suite `C`.
    pub(crate) fn new<C: Ciphersuite>(name: &str) -> Self {
        Self {
            source: format!("{} {}", C::SUITE, name),
            outcomes: Vec::new(),
        }
    }

    /// The recorded outcomes.
    pub(crate) fn into_outcomes(self) -> Vec<Outcome> {
        self.outcomes
    }

    pub(crate) fn record(&mut self, step: impl Into<String>, result: Result<(), String>) {
        self.outcomes.push(Outcome {
            source: self.source.clone(),
            step: step.into(),
            result,
        });
    }

    /// Records whether `got` (hex) equals `expected` (hex, any case).
    pub(crate) fn compare(&mut self, step: impl Into<String>, expected: &str, got: &[u8]) {
        let got = hex::encode(got);
        let result = if got.eq_ignore_ascii_case(expected) {
            Ok(())
        } else {
            Err(format!("expected {expected}, got {got}"))
        };
        self.record(step, result);
    }
}

pub(crate) fn unhex(s: &str) -> Result<Vec<u8>, String> {
    hex::decode(s).map_err(|e| format!("bad hex: {e}"))
}

pub(crate) fn unhex32(s: &str) -> Result<[u8; 32], String> {
    unhex(s)?
        .try_into()
        .map_err(|_| "expected 32 bytes".to_string())
}

pub(crate) fn scalar<C: Ciphersuite>(s: &str) -> Result<SecretScalar<C>, String> {
    SecretScalar::from_bytes(&unhex(s)?).map_err(|e| e.to_string())
}

fn check_signing<C: Ciphersuite>(name: &str, v: &SigningVector) -> Vec<Outcome> {
    let mut steps = Steps::new::<C>(name);
    if let Err(e) = replay_signing::<C>(v, &mut steps) {
        steps.record("replay", Err(e));
    }
    steps.into_outcomes()
}

/// RFC 9591 Appendix C.1 dealing, then §5.1–§5.3 signing, comparing every recorded value.
fn replay_signing<C: Ciphersuite>(v: &SigningVector, steps: &mut Steps) -> Result<(), String> {
    let secret = scalar::<C>(&v.group_secret_key)?;
    let group_key = C::mul_base(secret.expose_secret());
    steps.compare(
        "group public key",
        &v.group_public_key,
        C::serialize_point(&group_key)
            .map_err(|e| e.to_string())?
            .as_ref(),
    );

    let mut coefficients = vec![secret];
    for c in &v.polynomial_coefficients {
        coefficients.push(scalar::<C>(c)?);
    }
    let polynomial = SecretPolynomial::from_coefficients(coefficients);
    if v.participants > MAX_VECTOR_PARTICIPANTS {
        return Err(format!(
            "{} participants; vectors may have at most {MAX_VECTOR_PARTICIPANTS}",
            v.participants
        ));
    }
    // Vectors carry no chain code; none is used without a derivation path.
    let (keys, public) =
        tessera_keygen::dealer::split_with_polynomial(&polynomial, v.participants, [0; 32])
            .map_err(|e| e.to_string())?;
    for s in &v.shares {
        let key = keys
            .get(usize::from(s.id).wrapping_sub(1))
            .ok_or(format!("share {} outside 1..={}", s.id, v.participants))?;
        steps.compare(
            format!("participant {}: share", s.id),
            &s.share,
            &*key.signing_share().to_bytes(),
        );
    }

    let message = unhex(&v.message)?;
    let ids = v
        .signers
        .iter()
        .map(|s| Identifier::new(s.id).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let request = SigningRequest {
        session_id: [0; 32],
        message: message.clone(),
        tweak: Tweak::none(),
        signers: ids.iter().copied().collect(),
    };

    // Round one: nonces from the recorded randomness, and their commitments.
    let mut signers = Vec::new();
    let mut commitments = BTreeMap::new();
    for (sv, id) in v.signers.iter().zip(&ids) {
        let key = keys
            .get(usize::from(id.get()) - 1)
            .ok_or(format!("signer {id} has no share"))?;
        let mut signer = Signer::new(key, request.clone()).map_err(|e| e.to_string())?;
        let hiding_rand = unhex32(&sv.hiding_randomness)?;
        let binding_rand = unhex32(&sv.binding_randomness)?;
        for (label, rand, expected) in [
            ("hiding_nonce", &hiding_rand, &sv.hiding_nonce),
            ("binding_nonce", &binding_rand, &sv.binding_nonce),
        ] {
            let nonce = nonce_generate(rand, key.signing_share());
            steps.compare(
                format!("participant {id}: {label}"),
                expected,
                &*nonce.to_bytes(),
            );
        }
        let (nonces, com) = signer
            .commit_with_randomness(&hiding_rand, &binding_rand)
            .map_err(|e| e.to_string())?;
        steps.compare(
            format!("participant {id}: hiding_commitment"),
            &sv.hiding_commitment,
            com.hiding_bytes(),
        );
        steps.compare(
            format!("participant {id}: binding_commitment"),
            &sv.binding_commitment,
            com.binding_bytes(),
        );
        commitments.insert(*id, com);
        signers.push((signer, nonces));
    }
    let package = SigningPackage::new(commitments, message.clone());

    // Binding factors (RFC 9591 §4.4).
    let q = signers
        .first()
        .map(|(s, _)| *s.session().output_key_bytes())
        .ok_or("no signers")?;
    let prefix = binding_factor_input_prefix::<C>(&q, &package);
    let factors = compute_binding_factors::<C>(&q, &package);
    for ((sv, id), (_, rho)) in v.signers.iter().zip(&ids).zip(&factors) {
        let mut input = prefix.clone();
        input.extend_from_slice(&id.serialize::<C>());
        steps.compare(
            format!("participant {id}: binding_factor_input"),
            &sv.binding_factor_input,
            &input,
        );
        steps.compare(
            format!("participant {id}: binding_factor"),
            &sv.binding_factor,
            &C::serialize_scalar(rho),
        );
    }

    // Round two and aggregation.
    let mut shares = BTreeMap::new();
    for ((signer, nonces), sv) in signers.into_iter().zip(&v.signers) {
        let share = signer.sign(nonces, &package).map_err(|e| e.to_string())?;
        steps.compare(
            format!("participant {}: signature_share", sv.id),
            &sv.signature_share,
            &share.to_bytes(),
        );
        shares.insert(signer.identifier(), share);
    }
    let aggregator = Aggregator::new(&public, request).map_err(|e| e.to_string())?;
    match aggregator.aggregate(&package, &shares) {
        Ok(sig) => {
            let bytes = sig.to_bytes().map_err(|e| e.to_string())?;
            steps.compare("signature", &v.signature, &bytes);
        }
        Err(e) => steps.record("signature", Err(e.to_string())),
    }
    let expected = Signature::<C>::from_bytes(&unhex(&v.signature)?).map_err(|e| e.to_string())?;
    steps.record(
        "signature verifies",
        verify::<C>(aggregator.session().output_key(), &message, &expected)
            .map_err(|e| e.to_string()),
    );
    Ok(())
}

fn check_encodings<C: Ciphersuite>(name: &str, v: &EncodingVector) -> Vec<Outcome> {
    let mut steps = Steps::new::<C>(name);
    for p in &v.invalid_points {
        let result = match unhex(&p.bytes).map(|b| C::deserialize_point(&b)) {
            Ok(Ok(_)) => Err("accepted an invalid point".to_string()),
            Ok(Err(e)) => {
                steps.record(format!("reject point ({}): {e}", p.note), Ok(()));
                continue;
            }
            Err(e) => Err(e),
        };
        steps.record(format!("reject point ({})", p.note), result);
    }
    for s in &v.invalid_scalars {
        let result = match unhex(&s.bytes).map(|b| C::deserialize_scalar(&b)) {
            Ok(Ok(_)) => Err("accepted an invalid scalar".to_string()),
            Ok(Err(_)) => Ok(()),
            Err(e) => Err(e),
        };
        steps.record(format!("reject scalar ({})", s.note), result);
    }
    for p in &v.valid_points {
        let result = unhex(p)
            .and_then(|b| C::deserialize_point(&b).map_err(|e| e.to_string()))
            .and_then(|pt| C::serialize_point(&pt).map_err(|e| e.to_string()));
        match result {
            Ok(bytes) => steps.compare(format!("point round trip {p}"), p, bytes.as_ref()),
            Err(e) => steps.record(format!("point round trip {p}"), Err(e)),
        }
    }
    for s in &v.valid_scalars {
        match scalar::<C>(s) {
            Ok(x) => steps.compare(format!("scalar round trip {s}"), s, &*x.to_bytes()),
            Err(e) => steps.record(format!("scalar round trip {s}"), Err(e)),
        }
    }
    if let Some(id) = &v.identifier {
        match Identifier::new(id.value) {
            Ok(i) => {
                steps.compare(
                    format!("identifier {} encoding", id.value),
                    &id.bytes,
                    &i.serialize::<C>(),
                );
                let back = unhex(&id.bytes)
                    .and_then(|b| Identifier::deserialize::<C>(&b).map_err(|e| e.to_string()));
                steps.record(
                    format!("identifier {} decoding", id.value),
                    back.and_then(|b| {
                        if b == i {
                            Ok(())
                        } else {
                            Err(format!("decoded {b}"))
                        }
                    }),
                );
            }
            Err(e) => steps.record("identifier", Err(e.to_string())),
        }
    }
    steps.into_outcomes()
}
