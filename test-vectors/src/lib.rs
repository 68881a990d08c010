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
#![forbid(unsafe_code)]

pub mod check;
pub mod format;
pub mod upstream;

use std::fmt;

use tessera_core::Suite;

pub use check::check_document;

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
    /// A known schema that this version does not check yet.
    #[error("{0}: {1} vectors are not checked by this version")]
    Unsupported(String, &'static str),
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
        file!(secp256k1, "signing.json"),
        file!(secp256k1, "signing-big-identifiers.json"),
        file!(secp256k1, "encodings.json"),
        file!(taproot, "signing.json"),
        file!(taproot, "signing-big-identifiers.json"),
        file!(taproot, "encodings.json"),
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
