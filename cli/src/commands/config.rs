//! `tessera config`: show or change the home's configuration (design §5.2, §4.11): today the
//! relay the node reserves a slot on. A running node reads it when it starts.

use serde_json::json;

use super::{init::relay_address, Context, Failure};
use crate::output::Output;

/// `tessera config` subcommands.
#[derive(clap::Subcommand)]
pub enum Command {
    /// Print the configuration.
    Show,
    /// Set a setting: `relay MULTIADDR` (the relay's address ending in `/p2p/PEERID`).
    Set {
        /// The setting.
        #[arg(value_parser = ["relay"])]
        setting: String,
        /// Its value.
        value: String,
    },
    /// Remove a setting: `relay`.
    Unset {
        /// The setting.
        #[arg(value_parser = ["relay"])]
        setting: String,
    },
}

/// Runs `tessera config`.
pub fn run(command: &Command, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let mut home = ctx.home()?;
    let mut config = home.config().clone();
    let changed = match command {
        Command::Show => false,
        Command::Set { value, .. } => {
            config.relay = Some(relay_address(value)?.to_string());
            true
        }
        Command::Unset { .. } => {
            config.relay = None;
            true
        }
    };
    if changed {
        home.set_config(config.clone())?;
    }
    let contact = super::init::contact(&home, super::peers::own_peer_id(&home)?);
    out.line(
        || {
            let mut lines = vec![
                format!("name: {}", config.name),
                format!("listen: {}", config.listen.join(" ")),
                format!("relay: {}", config.relay.as_deref().unwrap_or("none")),
                format!("contact: {contact}"),
            ];
            if changed {
                lines.push("A running node takes the change when it restarts.".into());
            }
            lines.join("\n")
        },
        || {
            json!({
                "name": config.name,
                "listen": config.listen,
                "relay": config.relay,
                "contact": contact.to_string(),
                "changed": changed,
            })
        },
    );
    Ok(())
}
