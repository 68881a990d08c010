//! `tessera health`: is every share of a key still there and working? (design §3.5). A test
//! signature with every device of the committee that answers, each share checked against its
//! verifying share; the devices that did not answer or whose share failed are named, with a
//! warning while no more than t devices pass (one more loss and the key is gone). Exit 0 only
//! if every device passed.

use super::{dispatch, Context, Failure};
use crate::{device::control::Request, output::Output};

/// Arguments of `tessera health`.
#[derive(clap::Args)]
pub struct Args {
    /// The key's name.
    name: String,
}

/// Runs `tessera health`.
pub fn run(args: &Args, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    let request = Request::Health {
        key: args.name.clone(),
    };
    let v = dispatch(ctx, &home, &request, out)?;
    let list = |k: &str| -> Vec<String> {
        v[k].as_array()
            .into_iter()
            .flatten()
            .map(|m| {
                format!(
                    "{} ({})",
                    m["name"].as_str().unwrap_or_default(),
                    m["reason"].as_str().unwrap_or_default()
                )
            })
            .collect()
    };
    let passed: Vec<&str> = v["passed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n.as_str())
        .collect();
    let (silent, failed) = (list("silent"), list("failed"));
    out.line(
        || {
            let mut lines = vec![format!(
                "{}: {} of {} devices passed (threshold {}): {}",
                args.name,
                passed.len(),
                v["parties"],
                v["threshold"],
                passed.join(", ")
            )];
            lines.extend(silent.iter().map(|s| format!("did not answer: {s}")));
            lines.extend(failed.iter().map(|f| format!("failed: {f}")));
            if let Some(w) = v["warning"].as_str() {
                lines.push(format!("warning: {w}"));
            }
            lines.join("\n")
        },
        || v.clone(),
    );
    if silent.is_empty() && failed.is_empty() {
        Ok(())
    } else {
        let mut named = silent.clone();
        named.extend(failed.clone());
        Err(Failure {
            code: crate::output::FAILED,
            message: format!("not every device passed: {}", named.join(", ")),
        })
    }
}
