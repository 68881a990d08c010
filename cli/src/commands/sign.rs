//! `tessera sign`: co-sign a message or a transaction with a key (design §3.2, §6, §6.5).
//! A signature is printed or written only after it verifies under its output key.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::{dispatch, Context, Failure};
use crate::{
    device::{
        address::Network,
        control::Request,
        psbt::{self, PsbtError},
        solana::{self, base64_of},
        transaction::TxKind,
        Keystore,
    },
    output::Output,
};
use tessera_keygen::PublicKeyShare;

/// Arguments of `tessera sign`.
#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("input").required(true).args(["message", "message_file", "psbt", "solana_tx"])))]
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
    /// A PSBT to sign (binary or base64; taproot keys): every input must be this key's or
    /// its child's, with its witness_utxo. Prints the signed PSBT (base64) unless --out.
    #[arg(long, value_name = "FILE")]
    psbt: Option<PathBuf>,
    /// With --psbt: finalize every input and print the raw transaction, hex.
    #[arg(long, requires = "psbt")]
    finalize: bool,
    /// With --psbt: the network its addresses are shown on.
    #[arg(long, value_enum, default_value = "mainnet", requires = "psbt")]
    network: Network,
    /// With --psbt: also sign inputs whose sighash type is not DEFAULT or ALL (each device
    /// shows a warning; no policy approves them).
    #[arg(long, requires = "psbt")]
    allow_sighash: bool,
    /// A serialized unsigned Solana transaction (binary or base64; ed25519 keys) that names
    /// the key as a signer. Prints the signed transaction (base64).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["path"])]
    solana_tx: Option<PathBuf>,
    /// Also write the result to this file: the signature's bytes, the signed PSBT, or the
    /// signed Solana transaction.
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Runs `tessera sign`.
pub fn run(args: &Args, ctx: &Context, out: &Output) -> Result<(), Failure> {
    if let Some(file) = &args.psbt {
        return sign_psbt(args, file, ctx, out);
    }
    if let Some(file) = &args.solana_tx {
        return sign_solana(args, file, ctx, out);
    }
    let home = ctx.home()?;
    let message = match (&args.message, &args.message_file) {
        (Some(hex_text), _) => {
            hex::decode(hex_text).map_err(|_| Failure::usage("the message is not hex"))?
        }
        (None, Some(f)) => read_file(f)?,
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
        write_file(path, &signature)?;
    }
    skipped_note(&v, out);
    out.line(
        || hex::encode(&signature),
        || json!({ "signature": hex::encode(&signature), "verifying_key": hex::encode(&key), "message": hex::encode(&message), "signers": v["signers"], "skipped": v["skipped"] }),
    );
    Ok(())
}

/// The devices robust signing skipped (design §3.2), one line each on stderr for a person;
/// in JSON they are part of the result.
fn skipped_note(v: &serde_json::Value, out: &Output) {
    if out.json || out.quiet {
        return;
    }
    for s in v["skipped"].as_array().into_iter().flatten() {
        eprintln!(
            "skipped {}: {}",
            s["name"].as_str().unwrap_or_default(),
            s["reason"].as_str().unwrap_or_default()
        );
    }
}

/// Reads a file for a command, naming it in the error.
fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

/// Writes a command's result file, naming it in the error.
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))
}

/// The active epoch's public data of the key `name`.
fn public_of(home: &crate::device::Home, name: &str) -> Result<PublicKeyShare, Failure> {
    let keystore = Keystore::new(home.root());
    if !keystore.exists(name) {
        return Err(Failure::usage(format!(
            "unknown key {name:?} (see `tessera keys list`)"
        )));
    }
    keystore
        .epochs(name)?
        .into_iter()
        .rev()
        .find(|e| e.is_active())
        .map(|e| e.public)
        .ok_or_else(|| Failure::usage(format!("key {name:?} has no active epoch")))
}

/// The signatures of a transaction session's answer, 64 bytes each.
fn signatures(v: &serde_json::Value) -> Result<Vec<[u8; 64]>, Failure> {
    let bad = || Failure {
        code: crate::output::FAILED,
        message: "the node's answer holds no signatures".into(),
    };
    v["signatures"]
        .as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|s| {
            hex::decode(s.as_str().unwrap_or_default())
                .ok()
                .and_then(|b| <[u8; 64]>::try_from(b).ok())
                .ok_or_else(bad)
        })
        .collect()
}

/// `tessera sign --psbt`: this device reads the PSBT first (refusing one it would not sign),
/// the session signs every input, and each signature is checked with the `bitcoin` crate
/// before it is written.
fn sign_psbt(args: &Args, file: &Path, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    let public = public_of(&home, &args.key)?;
    let bytes = read_file(file)?;
    let usage = |e: PsbtError| Failure::usage(format!("{}: {e}", file.display()));
    let mut psbt = psbt::read(&bytes).map_err(usage)?;
    let key = psbt::KeyView::new(
        public.suite,
        &public.group_key,
        &public.chain_code,
        args.network,
    )
    .map_err(usage)?;
    let spend = key.spend(&psbt, args.allow_sighash).map_err(usage)?;
    let request = Request::SignTransaction {
        key: args.key.clone(),
        // What travels is the PSBT as this device parsed it, in binary.
        transaction: hex::encode(psbt.serialize()),
        kind: TxKind::Psbt {
            network: args.network,
            any_sighash: args.allow_sighash,
        },
        signers: args.signers.clone(),
    };
    let v = dispatch(ctx, &home, &request, out)?;
    psbt::apply(&mut psbt, &spend, &signatures(&v)?).map_err(|e| Failure {
        code: crate::output::FAILED,
        message: e.to_string(),
    })?;
    let signed = psbt.to_string();
    if let Some(path) = &args.out {
        write_file(path, signed.as_bytes())?;
    }
    skipped_note(&v, out);
    let raw = if args.finalize {
        let tx = psbt::finalize(psbt).map_err(|e| Failure {
            code: crate::output::FAILED,
            message: e.to_string(),
        })?;
        Some(bitcoin::consensus::encode::serialize_hex(&tx))
    } else {
        None
    };
    out.line(
        || match (&raw, &args.out) {
            (Some(raw), _) => raw.clone(),
            (None, Some(path)) => format!("signed {} input(s): {}", spend.inputs.len(), path.display()),
            (None, None) => signed.clone(),
        },
        || json!({ "psbt": signed, "inputs": spend.inputs.len(), "fee": spend.fee, "transaction": raw, "signers": v["signers"], "skipped": v["skipped"] }),
    );
    Ok(())
}

/// `tessera sign --solana-tx`: this device reads the transaction first (refusing one that
/// does not name the key as a signer), the session signs its message, and the signature is
/// checked before it is put in the key's slot.
fn sign_solana(args: &Args, file: &Path, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    let public = public_of(&home, &args.key)?;
    let bytes = read_file(file)?;
    let usage = |e: String| Failure::usage(format!("{}: {e}", file.display()));
    let unsigned = solana::Unsigned::read(&bytes, &public).map_err(usage)?;
    let request = Request::SignTransaction {
        key: args.key.clone(),
        transaction: hex::encode(unsigned.message()),
        kind: TxKind::Solana,
        signers: args.signers.clone(),
    };
    let v = dispatch(ctx, &home, &request, out)?;
    let [signature] = signatures(&v)?[..] else {
        return Err(Failure {
            code: crate::output::FAILED,
            message: "the node's answer is not one signature".into(),
        });
    };
    let signed = unsigned.signed(&signature).map_err(|e| Failure {
        code: crate::output::FAILED,
        message: e,
    })?;
    if let Some(path) = &args.out {
        write_file(path, &signed)?;
    }
    skipped_note(&v, out);
    let text = base64_of(&signed);
    out.line(
        || text.clone(),
        || json!({ "transaction": text, "signature": bs58::encode(signature).into_string(), "signers": v["signers"], "skipped": v["skipped"] }),
    );
    Ok(())
}
