//! `tessera sign`: co-sign a message with a key (design §3.2, §6). The signature is printed
//! only after it verifies under the key's output key.

use std::path::PathBuf;

use serde_json::json;

use super::{dispatch, Context, Failure};
use crate::{
    device::{control::Request, Keystore},
    output::Output,
};

/// Arguments of `tessera sign`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["message", "message_file"])))]
pub struct Args {
    /// The key's name.
    #[arg(long)]
    key: String,
    /// The message, hex.
    #[arg(long)]
    message: Option<String>,
    /// A file holding the message (its raw bytes).
    #[arg(long)]
    message_file: Option<PathBuf>,
    /// The signers besides this device, by local name (default: the first others of the
    /// committee, to make the threshold).
    #[arg(long, num_args = 1..)]
    signers: Vec<String>,
    /// Sign with the key's child at this unhardened BIP-32 path (`m/0/5`, taproot and
    /// secp256k1 keys): the signature verifies under that child's output key (BIP-86 for
    /// taproot), the key of `tessera keys derive`'s address.
    #[arg(long)]
    path: Option<String>,
    /// Also write the signature's bytes to this file.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `tessera sign`.
pub fn run(args: &Args, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    let message = match (&args.message, &args.message_file) {
        (Some(hex_text), _) => {
            hex::decode(hex_text).map_err(|_| Failure::usage("the message is not hex"))?
        }
        (None, Some(f)) => {
            std::fs::read(f).map_err(|e| Failure::usage(format!("{}: {e}", f.display())))?
        }
        (None, None) => return Err(Failure::usage("give --message or --message-file")),
    };
    let keystore = Keystore::new(home.root());
    if !keystore.exists(&args.key) {
        return Err(Failure::usage(format!(
            "unknown key {:?} (see `tessera keys list`)",
            args.key
        )));
    }
    let request = Request::Sign {
        key: args.key.clone(),
        message: hex::encode(&message),
        signers: args.signers.clone(),
        path: args.path.clone(),
    };
    let v = dispatch(ctx, &home, &request, out)?;
    let signature = hex::decode(v["signature"].as_str().unwrap_or_default()).unwrap_or_default();
    let key = hex::decode(v["verifying_key"].as_str().unwrap_or_default()).unwrap_or_default();
    let suite = keystore
        .epochs(&args.key)?
        .last()
        .map(|e| e.public.suite)
        .ok_or_else(|| Failure::usage("the key has no epoch"))?;
    tessera_sign::verify_bytes(suite, &key, &message, &signature).map_err(|e| Failure {
        code: crate::output::FAILED,
        message: format!("the signature does not verify: {e}"),
    })?;
    if let Some(path) = &args.out {
        std::fs::write(path, &signature)
            .map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
    }
    out.line(
        || hex::encode(&signature),
        || json!({ "signature": hex::encode(&signature), "verifying_key": hex::encode(&key), "message": hex::encode(&message) }),
    );
    Ok(())
}
