//! `tessera peers add|list|remove`: the devices this one knows, each under a local name
//! (design §6). Proposals name committees by these names.

use serde_json::json;
use tessera_core::IdentityKey;

use super::{Context, Failure};
use crate::{
    device::{
        peers::{Contact, PeerError, Peers},
        Home,
    },
    output::Output,
};

/// `tessera peers …`
#[derive(clap::Subcommand)]
pub enum Command {
    /// Add a device from the contact string it printed at `tessera init`.
    Add {
        /// The contact string (tessera:NAME:PEERID:ADDRESS,…).
        contact: String,
        /// The local name to know it by (default: the name in the contact).
        #[arg(long)]
        name: Option<String>,
    },
    /// List the known devices, and this device's own contact.
    List,
    /// Forget a device.
    Remove {
        /// Its local name.
        name: String,
    },
}

/// This device's PeerId.
pub fn own_peer_id(home: &Home) -> Result<tessera_p2p::PeerId, Failure> {
    IdentityKey::from_bytes(home.config().identity)
        .ok()
        .and_then(|k| crate::device::jobs::peer_of(&k))
        .ok_or_else(|| {
            crate::device::StoreError::corrupt(&home.path("home.json"), "invalid identity").into()
        })
}

/// Runs `tessera peers …`.
pub fn run(command: &Command, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let home = ctx.home()?;
    let mut peers = Peers::load(home.root())?;
    match command {
        Command::Add { contact, name } => {
            let contact: Contact = contact.parse()?;
            if contact.peer_id == own_peer_id(&home)? {
                return Err(PeerError::Myself.into());
            }
            let peer = peers.add(&contact, name.as_deref())?.clone();
            peers.save(home.root())?;
            out.line(
                || format!("added {} ({})", peer.name, peer.peer_id),
                || json!({ "added": peer }),
            );
        }
        Command::List => {
            let me = super::init::contact(&home, own_peer_id(&home)?);
            out.line(
                || {
                    let mut text = format!("this device: {me}");
                    for p in peers.all() {
                        text.push_str(&format!(
                            "\n{}  {}  {}",
                            p.name,
                            p.peer_id,
                            p.addresses.join(",")
                        ));
                    }
                    text
                },
                || json!({ "me": me.to_string(), "peers": peers.all() }),
            );
        }
        Command::Remove { name } => {
            let peer = peers.remove(name)?;
            peers.save(home.root())?;
            out.line(
                || format!("removed {}", peer.name),
                || json!({ "removed": peer }),
            );
        }
    }
    Ok(())
}
