//! `tessera relay`: a relay-only node for devices on different networks (design §4.11). It
//! never joins a committee and holds no key share; with `--key FILE` it keeps one file, its
//! own libp2p key (created owner-only on the first run), so that its PeerId, which the
//! devices' relay address names, survives restarts.

use std::path::PathBuf;

use serde_json::json;
use tessera_p2p::{
    relay_node::{RelayLimits, RelayNode},
    Keypair, Protocol,
};

use super::{Context, Failure};
use crate::{device::files, output::Output};

/// Arguments of `tessera relay`.
#[derive(clap::Args)]
pub struct Args {
    /// An address to listen on (repeatable); the default listens on TCP and QUIC.
    #[arg(long, value_name = "MULTIADDR", default_values_t = vec![
        "/ip4/0.0.0.0/tcp/7312".to_string(),
        "/ip4/0.0.0.0/udp/7312/quic-v1".to_string(),
    ])]
    listen: Vec<String>,
    /// The relay's key file (its PeerId): created if missing. Without it, a new PeerId each
    /// run.
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Circuits open at once to or from one peer.
    #[arg(long, default_value_t = RelayLimits::default().max_circuits_per_peer)]
    max_circuits_per_peer: usize,
    /// Bytes one circuit carries before the relay closes it.
    #[arg(long, default_value_t = RelayLimits::default().max_circuit_bytes)]
    max_circuit_bytes: u64,
}

/// The relay's libp2p key: read from `path`, or made and written there owner-only.
fn keypair(path: Option<&PathBuf>) -> Result<Keypair, Failure> {
    let Some(path) = path else {
        return Ok(Keypair::generate_ed25519());
    };
    if path.exists() {
        let mut bytes = files::read_secret(path)?;
        return Keypair::ed25519_from_bytes(&mut bytes)
            .map_err(|_| Failure::usage(format!("{}: not a relay key", path.display())));
    }
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| Failure::usage(format!("randomness: {e}")))?;
    files::write_atomic(path, &seed)?;
    Keypair::ed25519_from_bytes(&mut seed)
        .map_err(|_| Failure::usage("a relay key could not be made"))
}

/// Runs `tessera relay` until SIGINT or SIGTERM.
pub fn run(args: &Args, _ctx: &Context, out: &Output) -> Result<(), Failure> {
    let listen = super::multiaddrs(&args.listen)?;
    let keypair = keypair(args.key.as_ref())?;
    let limits = RelayLimits {
        max_circuits_per_peer: args.max_circuits_per_peer,
        max_circuit_bytes: args.max_circuit_bytes,
        ..RelayLimits::default()
    };
    super::runtime()?.block_on(async {
        let relay = RelayNode::start(keypair, &listen, limits)
            .await
            .map_err(|e| Failure {
                code: crate::output::FAILED,
                message: format!("the relay did not start: {e}"),
            })?;
        let addresses: Vec<String> = relay
            .addresses()
            .iter()
            .map(|a| a.clone().with(Protocol::P2p(relay.peer_id())).to_string())
            .collect();
        out.line(
            || {
                format!(
                    "relay {}\n{}\nGive a device one of these: tessera init --relay ADDRESS, or tessera config set relay ADDRESS\nready",
                    relay.peer_id(),
                    addresses.join("\n")
                )
            },
            || json!({ "peer_id": relay.peer_id().to_string(), "addresses": addresses, "ready": true }),
        );
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| Failure::usage(format!("signals: {e}")))?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        Ok(())
    })
}
