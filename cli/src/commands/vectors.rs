//! `tessera vectors check`: replay reference vectors (signing, encodings, ZF FROST's DKG and
//! runs of tessera's own DKG).

use std::path::PathBuf;

use serde_json::json;
use tessera_core::Suite;
use tessera_vectors::{check_bundled, check_document, Outcome};

use crate::output::{Output, FAILED, OK, USAGE};

/// `tessera vectors ...`
#[derive(clap::Subcommand)]
pub enum Command {
    /// Check the bundled vectors, or the given files: tessera's own (signing, encodings, DKG
    /// runs) or upstream RFC 9591 / ZF FROST JSON (`vectors.json`, `vectors_dkg.json`, ...).
    /// Prints one line per vector and step; exits 1 on any mismatch.
    Check {
        /// Vector files; none means the vectors bundled with tessera.
        paths: Vec<PathBuf>,
        /// The suite of upstream files whose suite cannot be told from their contents or name.
        #[arg(long, value_parser = crate::parse_suite)]
        suite: Option<Suite>,
    },
}

/// Runs the command; returns the exit code.
pub fn run(command: &Command, out: &Output) -> u8 {
    let Command::Check { paths, suite } = command;
    let mut outcomes: Vec<Outcome> = Vec::new();
    if paths.is_empty() {
        outcomes = check_bundled();
    }
    let mut unreadable = 0;
    for path in paths {
        let name = path.display().to_string();
        let checked = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {name}: {e}"))
            .and_then(|text| check_document(&name, &text, *suite).map_err(|e| e.to_string()));
        match checked {
            Ok(o) => outcomes.extend(o),
            Err(e) => {
                unreadable += 1;
                out.error(USAGE, &e);
            }
        }
    }
    for o in &outcomes {
        out.line(
            || o.to_string(),
            || {
                json!({ "source": o.source, "step": o.step, "ok": o.result.is_ok(),
                       "detail": o.result.as_ref().err() })
            },
        );
    }
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    let summary = format!("{} passed, {} failed", outcomes.len() - failed, failed);
    out.line(
        || summary.clone(),
        || json!({ "passed": outcomes.len() - failed, "failed": failed }),
    );
    if failed > 0 {
        FAILED
    } else if unreadable > 0 || outcomes.is_empty() {
        USAGE
    } else {
        OK
    }
}
