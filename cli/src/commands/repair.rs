//! `tessera repair`: this device lost its share of a key (the share file is gone or damaged,
//! or the home was rebuilt with the same identity), and t devices of the committee rebuild it
//! (design §3.4). Each helper approves; no other share changes; the repaired share is checked
//! against this device's verifying share before it is stored. A set of helpers that fails is
//! followed by the next one drawn from `--from`.

use super::{dispatch, Context, Failure};
use crate::{device::control::Request, output::Output};

/// Arguments of `tessera repair`.
#[derive(clap::Args)]
pub struct Args {
    /// The key's name on this device.
    #[arg(long)]
    key: String,
    /// The devices that may help, by local name (at least the threshold; more let the repair
    /// go on without one that fails).
    #[arg(long, num_args = 1.., required = true)]
    from: Vec<String>,
    /// The key's group key (hex, as `tessera keys show` prints it on another device): needed
    /// only when this home has no public data of the key, which the helpers then provide.
    #[arg(long, value_name = "HEX")]
    group_key: Option<String>,
}

/// Runs `tessera repair`.
pub fn run(args: &Args, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    let request = Request::Repair {
        key: args.key.clone(),
        from: args.from.clone(),
        group_key: args.group_key.clone(),
    };
    let v = dispatch(ctx, &home, &request, out)?;
    out.line(
        || {
            format!(
                "{}: this device's share of epoch {} is back",
                args.key, v["epoch"]
            )
        },
        || v.clone(),
    );
    Ok(())
}
