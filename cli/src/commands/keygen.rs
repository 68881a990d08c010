//! `tessera keygen`: a new key among this device and known peers (design §3.1, §6). The
//! initiator takes part; every member approves (automatically with `--auto-approve keygen`);
//! the group key and address are printed once the key is active.

use tessera_core::Suite;

use super::{dispatch, Context, Failure};
use crate::{
    commands::keys,
    device::{address::Network, control::Request, peers::Peers, Keystore},
    output::Output,
};

/// Arguments of `tessera keygen`.
#[derive(clap::Args)]
pub struct Args {
    /// The key's name on this device (the others keep it under the same name if free).
    #[arg(long)]
    name: String,
    /// ed25519, secp256k1 or taproot.
    #[arg(long, value_parser = crate::parse_suite)]
    suite: Suite,
    /// How many devices must sign.
    #[arg(long)]
    threshold: u16,
    /// The other devices, by local name.
    #[arg(long, num_args = 1.., required = true)]
    with: Vec<String>,
}

/// Runs `tessera keygen`.
pub fn run(args: &Args, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    let keystore = Keystore::new(home.root());
    if keystore.exists(&args.name) {
        return Err(Failure::usage(format!(
            "a key named {:?} exists already",
            args.name
        )));
    }
    let request = Request::Keygen {
        name: args.name.clone(),
        suite: args.suite,
        threshold: args.threshold,
        with: args.with.clone(),
    };
    let made = dispatch(ctx, &home, &request, out)?;
    // The key is found by its key id, not its name: a peer may have taken the name for a key
    // of its own while this one waited for approvals.
    let key_id: [u8; 32] = hex::decode(made["key_id"].as_str().unwrap_or_default())
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| Failure::usage("the node did not name the new key"))?;
    let (name, _) = keystore
        .find(&key_id)?
        .ok_or_else(|| Failure::usage("the new key is not in the keystore"))?;
    if name != args.name {
        eprintln!(
            "note: the name {:?} was taken meanwhile; this key is kept as {name:?}",
            args.name
        );
    }
    let peers = Peers::load(home.root())?;
    let v = keys::describe(&name, &keystore.epochs(&name)?, &peers, Network::Mainnet)?;
    out.line(|| keys::text(&v), || v.clone());
    Ok(())
}
