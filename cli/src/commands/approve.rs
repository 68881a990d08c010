//! `tessera approve`: decide, from another terminal or a script, the proposals a running node
//! holds for a person (design §6).

use serde_json::json;

use super::{Context, Failure};
use crate::{
    device::control::{self, Request},
    output::Output,
};

/// Arguments of `tessera approve`.
#[derive(clap::Args)]
pub struct Args {
    /// The request's id (as the node shows it).
    #[arg(required_unless_present = "list")]
    id: Option<String>,
    /// Refuse it instead.
    #[arg(long)]
    refuse: bool,
    /// List the requests waiting.
    #[arg(long)]
    list: bool,
}

/// Runs `tessera approve`.
pub fn run(args: &Args, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    let request = match (&args.id, args.list) {
        (_, true) => Request::Approvals,
        (Some(id), false) => Request::Approve {
            id: id.clone(),
            approve: !args.refuse,
        },
        (None, false) => return Err(Failure::usage("give a request id, or --list")),
    };
    let v = control::call(home.root(), &request, &mut |_| {})
        .ok_or_else(|| {
            Failure::usage(
                "no node is running on this home: approvals are made by a running `tessera node`",
            )
        })?
        .map_err(|(code, message)| Failure { code, message })?;
    if args.list {
        let waiting = v["waiting"].as_array().cloned().unwrap_or_default();
        out.line(
            || {
                if waiting.is_empty() {
                    return "nothing waits for approval".into();
                }
                waiting
                    .iter()
                    .map(|r| {
                        serde_json::from_value::<crate::device::approval::Request>(r.clone())
                            .map(|r| super::node::show(&r))
                            .unwrap_or_else(|_| r.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join("\n\n")
            },
            || json!({ "waiting": waiting }),
        );
    } else {
        out.line(
            || {
                format!(
                    "{} {}",
                    if args.refuse { "refused" } else { "approved" },
                    args.id.as_deref().unwrap_or_default()
                )
            },
            || v.clone(),
        );
    }
    Ok(())
}
