//! `tessera init`: create this device's home (design §5): a fresh Ed25519 identity (its
//! PeerId), the keyring under a new passphrase, and the configuration; print the contact
//! string to hand to the other devices.

use serde_json::json;
use tessera_p2p::{identities, Multiaddr};

use super::{Context, Failure};
use crate::{
    device::{peers::check_name, peers::Contact, Home},
    output::Output,
};

/// Arguments of `tessera init`.
#[derive(clap::Args)]
pub struct Args {
    /// The name this device gives itself in its contact string.
    #[arg(long, default_value = "device")]
    name: String,
    /// An address to listen on (repeatable). Give the address other devices reach this one at.
    /// The default listens on TCP and QUIC.
    #[arg(long, value_name = "MULTIADDR", default_values_t = vec![
        "/ip4/0.0.0.0/tcp/7311".to_string(),
        "/ip4/0.0.0.0/udp/7311/quic-v1".to_string(),
    ])]
    listen: Vec<String>,
    /// A relay to reserve a slot on, for devices that cannot dial this one directly: its
    /// address ending in `/p2p/PEERID` (what `tessera relay` prints).
    #[arg(long, value_name = "MULTIADDR")]
    relay: Option<String>,
}

/// Checks a relay's address: a multiaddr that names the relay's PeerId last.
pub fn relay_address(relay: &str) -> Result<Multiaddr, Failure> {
    let address = super::multiaddrs(&[relay])?.remove(0);
    match address.iter().last() {
        Some(tessera_p2p::Protocol::P2p(_)) => Ok(address),
        _ => Err(Failure::usage(format!(
            "the relay address must end in /p2p/ and the relay's PeerId: {relay}"
        ))),
    }
}

/// Runs `tessera init`.
pub fn run(args: &Args, ctx: &Context, out: &Output) -> Result<(), Failure> {
    check_name(&args.name)?;
    let relay = args.relay.as_deref().map(relay_address).transpose()?;
    let listen = super::multiaddrs(&args.listen)?;
    let root = ctx.home_path()?;
    if ["home.json", "keyring.json", "identity.sealed"]
        .iter()
        .any(|f| root.join(f).exists())
    {
        return Err(crate::device::StoreError::HomeExists { path: root }.into());
    }
    let passphrase = ctx.passphrase("New passphrase for this device: ", true)?;
    let (mut home, unlocked) = Home::create(
        &root,
        &args.name,
        listen.iter().map(Multiaddr::to_string).collect(),
        passphrase.as_bytes(),
    )?;
    if let Some(relay) = relay {
        let mut config = home.config().clone();
        config.relay = Some(relay.to_string());
        home.set_config(config)?;
    }
    let (keypair, _) =
        identities(&unlocked.seed).map_err(|e| Failure::usage(format!("identity: {e}")))?;
    let contact = contact(&home, keypair.public().to_peer_id());
    out.line(
        || {
            format!(
                "created {}\npeer id: {}\ncontact: {contact}\nGive the contact to the other devices: tessera peers add CONTACT",
                home.root().display(),
                contact.peer_id
            )
        },
        || {
            json!({
                "home": home.root().display().to_string(),
                "peer_id": contact.peer_id.to_string(),
                "contact": contact.to_string(),
            })
        },
    );
    Ok(())
}

/// This device's contact: its name, PeerId and listen addresses (an unspecified address is
/// shown as loopback; give `--listen` the address others reach), then its address through
/// its relay, if it has one.
pub fn contact(home: &Home, peer_id: tessera_p2p::PeerId) -> Contact {
    let addresses = home
        .config()
        .listen
        .iter()
        .filter_map(|a| a.replace("/ip4/0.0.0.0/", "/ip4/127.0.0.1/").parse().ok())
        .chain(
            home.config()
                .relay
                .iter()
                .filter_map(|r| format!("{r}/p2p-circuit").parse().ok()),
        )
        .collect();
    Contact {
        name: home.config().name.clone(),
        peer_id,
        addresses,
    }
}
