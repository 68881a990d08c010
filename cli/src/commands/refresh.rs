//! `tessera refresh`: new shares of a key for the same committee and threshold (design §3.3):
//! a reshare to the committee itself, so shares taken before it no longer combine with the
//! new ones. Approved like any reshare, by every device.

use super::{reshare, Context, Failure};
use crate::{device::control::Request, output::Output};

/// Arguments of `tessera refresh`.
#[derive(clap::Args)]
#[command(after_help = reshare::NOT_REVOCATION)]
pub struct Args {
    /// The key's name.
    #[arg(long)]
    key: String,
}

/// Runs `tessera refresh`.
pub fn run(args: &Args, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let request = Request::Reshare {
        key: args.key.clone(),
        to: None,
        threshold: None,
        from: Vec::new(),
    };
    reshare::rotate(ctx, &args.key, &request, out)
}
