//! `tessera reshare`: move a key to a new committee or threshold without changing it (design
//! §3.3, §6). The key's address stays; the devices of the new committee hold fresh shares of
//! epoch e+1, and every device that deals erases its epoch-e share once the transition is
//! certified. Never approved automatically: every old and new device approves at its prompt or
//! with `tessera approve`.

use super::{dispatch, Context, Failure};
use crate::{
    commands::keys,
    device::{address::Network, control::Request, peers::Peers, Keystore},
    output::Output,
};

/// What every reshare says once it is done (README "Rotation").
pub const NOT_REVOCATION: &str = "resharing is not revocation: until every old share is \
    erased, t old-epoch shares (a removed device, a stolen phone, an old backup) still sign. \
    After a theft, make a new key with `tessera keygen` and move the funds to it.";

/// Arguments of `tessera reshare`.
#[derive(clap::Args)]
#[command(after_help = NOT_REVOCATION)]
pub struct Args {
    /// The key's name.
    #[arg(long)]
    key: String,
    /// The new committee by local name, in order (this device's own name for itself).
    #[arg(long, num_args = 1.., required = true)]
    to: Vec<String>,
    /// The new threshold (default: the current one).
    #[arg(long)]
    threshold: Option<u16>,
    /// The devices of the current committee that deal, this one among them (default: all of
    /// them, so that each device leaving the committee erases its share).
    #[arg(long, num_args = 1..)]
    from: Vec<String>,
}

/// Runs `tessera reshare`.
pub fn run(args: &Args, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let request = Request::Reshare {
        key: args.key.clone(),
        to: Some(args.to.clone()),
        threshold: args.threshold,
        from: args.from.clone(),
    };
    rotate(ctx, &args.key, &request, out)
}

/// Runs a reshare or refresh request and prints the key as this device now holds it.
pub fn rotate(ctx: &Context, key: &str, request: &Request, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    let keystore = Keystore::new(home.root());
    if !keystore.exists(key) {
        return Err(Failure::usage(format!(
            "unknown key {key:?} (see `tessera keys list`)"
        )));
    }
    let done = dispatch(ctx, &home, request, out)?;
    let retired = done["committed"] == "retired";
    let mut v = if retired {
        serde_json::json!({ "name": key, "retired": true })
    } else {
        let peers = Peers::load(home.root())?;
        keys::describe(key, &keystore.epochs(key)?, &peers, Network::Mainnet)?
    };
    v["note"] = NOT_REVOCATION.into();
    out.line(
        || {
            let head = if retired {
                format!("{key}: this device left the committee; its share is erased",)
            } else {
                keys::text(&v)
            };
            format!("{head}\nnote: {NOT_REVOCATION}")
        },
        || v.clone(),
    );
    Ok(())
}
