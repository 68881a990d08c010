//! # tessera-vectors
//!
//! Reference vectors and the checker that replays them.
//!
//! The project's own files live in `vectors/<suite>/` in the `tessera-vectors/v1` format
//! ([`format`]) and are compiled into this crate ([`bundled`]), so `tessera vectors check`
//! works from an installed binary. The checker also reads the upstream RFC 9591 / ZF FROST
//! JSON schema ([`upstream`]). Every step is recomputed through tessera's public API: nonces
//! from the recorded randomness, commitments, binding-factor inputs, binding factors,
//! signature shares and the final signature, plus strict rejection of invalid encodings.
//!
//! DKG vectors come in two kinds: ZF FROST's reference DKG (each party's polynomial, proof of
//! knowledge and shares, replayed step by step; `dkg.json`), and runs of tessera's own DKG and
//! certification ([`dkg_run`]; `dkg-tessera-*.json`), rebuilt from recorded seeds and compared
//! message by message.
#![forbid(unsafe_code)]

pub mod check;
mod dkg;
pub mod dkg_run;
pub mod format;
pub mod upstream;

use std::fmt;

use tessera_core::{Ed25519, Secp256k1, Suite, Taproot};

pub use check::check_document;
use format::{Document, FORMAT};

/// The result of one checked step of one vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Which file and vector.
    pub source: String,
    /// Which step (for example `participant 3: binding_factor`).
    pub step: String,
    /// `Ok` when the recomputed value matches; otherwise what differed.
    pub result: Result<(), String>,
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.result {
            Ok(()) => write!(f, "ok    {}  {}", self.source, self.step),
            Err(why) => write!(f, "FAIL  {}  {}: {}", self.source, self.step, why),
        }
    }
}

/// Why a vector file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// Not JSON, or JSON of no known vector schema.
    #[error("{0}: {1}")]
    Format(String, String),
    /// The file's suite cannot be told from its contents or name.
    #[error("{0}: cannot tell the suite from the file; pass --suite")]
    UnknownSuite(String),
}

/// The project's own vector files, compiled in: `(name, suite, JSON)`.
pub fn bundled() -> Vec<(&'static str, Suite, &'static str)> {
    macro_rules! file {
        ($suite:ident, $name:literal) => {
            (
                concat!(stringify!($suite), "/", $name),
                stringify!($suite)
                    .parse::<Suite>()
                    // The folder names below are the three suite names.
                    .expect("bundled folder names are suite names"),
                include_str!(concat!("../vectors/", stringify!($suite), "/", $name)),
            )
        };
    }
    vec![
        file!(ed25519, "signing.json"),
        file!(ed25519, "signing-big-identifiers.json"),
        file!(ed25519, "encodings.json"),
        file!(ed25519, "dkg.json"),
        file!(ed25519, "dkg-tessera-2of3.json"),
        file!(ed25519, "dkg-tessera-3of5.json"),
        file!(ed25519, "repair.json"),
        file!(secp256k1, "signing.json"),
        file!(secp256k1, "signing-big-identifiers.json"),
        file!(secp256k1, "encodings.json"),
        file!(secp256k1, "dkg.json"),
        file!(secp256k1, "dkg-tessera-2of3.json"),
        file!(secp256k1, "dkg-tessera-3of5.json"),
        file!(secp256k1, "repair.json"),
        file!(taproot, "signing.json"),
        file!(taproot, "signing-big-identifiers.json"),
        file!(taproot, "encodings.json"),
        file!(taproot, "dkg.json"),
        file!(taproot, "dkg-tessera-2of3.json"),
        file!(taproot, "dkg-tessera-3of5.json"),
        file!(taproot, "repair.json"),
    ]
}

/// Checks every bundled file.
pub fn check_bundled() -> Vec<Outcome> {
    bundled()
        .into_iter()
        .flat_map(|(name, suite, json)| {
            check_document(name, json, Some(suite)).unwrap_or_else(|e| {
                vec![Outcome {
                    source: name.to_string(),
                    step: "load".into(),
                    result: Err(e.to_string()),
                }]
            })
        })
        .collect()
}

/// A document as a vector file: the format tag, then the document, pretty-printed.
pub fn to_json(doc: &Document) -> Result<String, serde_json::Error> {
    #[derive(serde::Serialize)]
    struct File<'a> {
        format: &'static str,
        #[serde(flatten)]
        doc: &'a Document,
    }
    let mut text = serde_json::to_string_pretty(&File {
        format: FORMAT,
        doc,
    })?;
    text.push('\n');
    Ok(text)
}

/// [`dkg_run::generate`] for a suite chosen at run time.
pub fn generate_dkg_run(
    suite: Suite,
    threshold: u16,
    n: u16,
    seed: u64,
) -> Result<Document, String> {
    Ok(Document::DkgRun(match suite {
        Suite::Ed25519 => dkg_run::generate::<Ed25519>(threshold, n, seed)?,
        Suite::Secp256k1 => dkg_run::generate::<Secp256k1>(threshold, n, seed)?,
        Suite::Taproot => dkg_run::generate::<Taproot>(threshold, n, seed)?,
    }))
}
