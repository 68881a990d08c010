//! `tessera status`: what the running node is doing (design §6.6): its PeerId and addresses
//! (direct and relayed), which committee peers are connected and how, keys with a pending
//! epoch, requests waiting for a person, and each key's last failure with its culprits.

use serde_json::Value;

use super::{Context, Failure};
use crate::{
    device::control::{self, Request},
    output::Output,
};

/// Arguments of `tessera status`.
#[derive(clap::Args)]
pub struct Args {}

/// Runs `tessera status`.
pub fn run(_args: &Args, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    let v = control::call(home.root(), &Request::Status, &mut |_| {})
        .ok_or_else(|| Failure::usage("no node is running on this home (start `tessera node`)"))?
        .map_err(|(code, message)| Failure { code, message })?;
    out.line(|| text(&v), || v.clone());
    Ok(())
}

/// The status as lines for a person.
fn text(v: &Value) -> String {
    let list = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    };
    let mut lines = vec![format!(
        "node {}",
        v["peer_id"].as_str().unwrap_or_default()
    )];
    lines.push(format!(
        "direct: {}",
        list(&v["addresses"]["direct"]).join(", ")
    ));
    let relayed = list(&v["addresses"]["relayed"]);
    lines.push(match (v["relay"].as_str(), relayed.is_empty()) {
        (None, _) => "relayed: no relay configured".into(),
        (Some(r), true) => format!("relayed: no reservation on {r}"),
        (Some(_), false) => format!("relayed: {}", relayed.join(", ")),
    });
    for p in v["peers"].as_array().into_iter().flatten() {
        let links = list(&p["links"]);
        lines.push(format!(
            "peer {}: {}",
            p["name"].as_str().unwrap_or_default(),
            if links.is_empty() {
                "not connected".to_string()
            } else {
                format!("connected ({})", links.join(", "))
            }
        ));
    }
    for k in v["pending"].as_array().into_iter().flatten() {
        lines.push(format!(
            "key {}: pending epoch {}",
            k["key"].as_str().unwrap_or_default(),
            k["pending_epochs"]
        ));
    }
    let waiting = v["waiting"].as_array().map_or(0, Vec::len);
    lines.push(format!("{waiting} request(s) wait for approval"));
    for f in v["last_failures"].as_array().into_iter().flatten() {
        let culprits: Vec<String> = f["culprits"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| {
                c["name"]
                    .as_str()
                    .or(c["peer_id"].as_str())
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        lines.push(format!(
            "key {}: last failure ({}): {}{}",
            f["key"].as_str().unwrap_or_default(),
            f["protocol"].as_str().unwrap_or_default(),
            f["result"].as_str().unwrap_or_default(),
            if culprits.is_empty() {
                String::new()
            } else {
                format!("; named: {}", culprits.join(", "))
            }
        ));
    }
    lines.join("\n")
}
