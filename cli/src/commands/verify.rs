//! `tessera verify`: check a signature against a public key and message.

use std::path::PathBuf;

use serde_json::json;
use tessera_core::Suite;
use tessera_sign::{verify_bytes, VerifyError};

use crate::output::{Output, FAILED, OK, USAGE};

/// Arguments of `tessera verify`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("msg").required(true).args(["message", "message_file"])))]
pub struct Args {
    /// ed25519, secp256k1 or taproot.
    #[arg(long, value_parser = crate::parse_suite)]
    suite: Suite,
    /// The public key in hex. Taproot accepts the 32-byte x-only or the 33-byte compressed key.
    #[arg(long)]
    public_key: String,
    /// The message in hex.
    #[arg(long)]
    message: Option<String>,
    /// A file holding the raw message bytes.
    #[arg(long)]
    message_file: Option<PathBuf>,
    /// The signature in hex.
    #[arg(long)]
    signature: String,
}

fn decode(what: &str, s: &str) -> Result<Vec<u8>, String> {
    hex::decode(s.trim()).map_err(|e| format!("{what} is not hex: {e}"))
}

/// Runs the command; returns the exit code.
pub fn run(args: &Args, out: &Output) -> u8 {
    let inputs = (|| {
        let key = decode("--public-key", &args.public_key)?;
        let sig = decode("--signature", &args.signature)?;
        let msg = match (&args.message, &args.message_file) {
            (Some(m), _) => decode("--message", m)?,
            (None, Some(path)) => {
                std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?
            }
            (None, None) => return Err("give --message or --message-file".to_string()),
        };
        Ok((key, msg, sig))
    })();
    let (key, msg, sig) = match inputs {
        Ok(v) => v,
        Err(e) => return out.error(USAGE, &e),
    };
    match verify_bytes(args.suite, &key, &msg, &sig) {
        Ok(()) => {
            out.line(|| "valid".into(), || json!({ "valid": true }));
            OK
        }
        // A key that does not decode cannot be verified against: that is bad input.
        Err(VerifyError::Key(e)) => out.error(USAGE, &format!("public key does not decode: {e}")),
        Err(e) => {
            let reason = e.to_string();
            out.line(
                || format!("invalid: {reason}"),
                || json!({ "valid": false, "reason": reason }),
            );
            FAILED
        }
    }
}
