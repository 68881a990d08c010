//! A relay-only node (design §4.11): libp2p's circuit relay v2 server, for devices that
//! cannot dial each other directly (both behind NAT). It never joins a committee and keeps
//! nothing: it accepts reservations from any peer, bounded per peer and in all, and relays
//! circuits between a reserved peer and whoever dials it through the relay, each circuit
//! bounded in time and bytes. The devices' noise handshake runs end to end inside the
//! circuit, so the relay forwards ciphertext and learns only who talks to whom, when, and
//! how much. Identify lets each device learn the address the relay sees, which hole
//! punching (DCUtR) then offers to the other device.

use std::time::Duration;

use futures::StreamExt;
use libp2p::{
    connection_limits, identify, identity::Keypair, noise, ping, relay, swarm::NetworkBehaviour,
    swarm::SwarmEvent, tcp, yamux, Multiaddr, PeerId,
};

use crate::NodeError;

/// The relay's bounds.
#[derive(Debug, Clone)]
pub struct RelayLimits {
    /// Reservations held at once, in all.
    pub max_reservations: usize,
    /// Reservations held at once by one peer.
    pub max_reservations_per_peer: usize,
    /// Circuits open at once, in all.
    pub max_circuits: usize,
    /// Circuits open at once to or from one peer.
    pub max_circuits_per_peer: usize,
    /// Bytes one circuit carries, in both directions, before the relay closes it.
    pub max_circuit_bytes: u64,
    /// How long one circuit lives.
    pub max_circuit_duration: Duration,
    /// Connections per peer.
    pub max_connections_per_peer: u32,
    /// Connections in all, established and being established.
    pub max_connections: u32,
}

impl Default for RelayLimits {
    /// Enough for a committee's sessions while hole punching upgrades them: a signing
    /// session moves a few kilobytes, a keygen or reshare of a large committee a few
    /// megabytes.
    fn default() -> Self {
        Self {
            max_reservations: 1024,
            max_reservations_per_peer: 4,
            max_circuits: 256,
            max_circuits_per_peer: 16,
            max_circuit_bytes: 16 << 20,
            max_circuit_duration: Duration::from_secs(30 * 60),
            max_connections_per_peer: 4,
            max_connections: 2048,
        }
    }
}

#[derive(NetworkBehaviour)]
struct RelayBehaviour {
    limits: connection_limits::Behaviour,
    relay: relay::Behaviour,
    identify: identify::Behaviour,
    ping: ping::Behaviour,
}

/// A running relay node; dropping it stops it.
pub struct RelayNode {
    peer_id: PeerId,
    addresses: Vec<Multiaddr>,
    task: tokio::task::JoinHandle<()>,
}

impl RelayNode {
    /// Listens on `listen` (TCP and QUIC addresses) and relays on a task of the current
    /// tokio runtime.
    pub async fn start(
        keypair: Keypair,
        listen: &[Multiaddr],
        limits: RelayLimits,
    ) -> Result<Self, NodeError> {
        let transport = |e: &dyn std::fmt::Display| NodeError::Transport(e.to_string());
        let peer_id = keypair.public().to_peer_id();
        let relay_config = relay::Config {
            max_reservations: limits.max_reservations,
            max_reservations_per_peer: limits.max_reservations_per_peer,
            max_circuits: limits.max_circuits,
            max_circuits_per_peer: limits.max_circuits_per_peer,
            max_circuit_bytes: limits.max_circuit_bytes,
            max_circuit_duration: limits.max_circuit_duration,
            ..relay::Config::default()
        };
        let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default().nodelay(true),
                noise::Config::new,
                yamux::Config::default,
            )
            .map_err(|e| transport(&e))?
            .with_quic()
            .with_behaviour(|key| RelayBehaviour {
                limits: connection_limits::Behaviour::new(
                    connection_limits::ConnectionLimits::default()
                        .with_max_established_per_peer(Some(limits.max_connections_per_peer))
                        .with_max_established(Some(limits.max_connections))
                        .with_max_pending_incoming(Some(256)),
                ),
                relay: relay::Behaviour::new(key.public().to_peer_id(), relay_config),
                identify: identify::Behaviour::new(identify::Config::new(
                    "/tessera/id/1".into(),
                    key.public(),
                )),
                ping: ping::Behaviour::default(),
            })
            .map_err(|e| transport(&e))?
            .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(60)))
            .build();
        for address in listen {
            swarm
                .listen_on(address.clone())
                .map_err(|e| transport(&e))?;
        }
        let mut addresses = Vec::new();
        while addresses.len() < listen.len() {
            let event = tokio::time::timeout(Duration::from_secs(10), swarm.select_next_some())
                .await
                .map_err(|_| NodeError::Transport("listening timed out".into()))?;
            match event {
                SwarmEvent::NewListenAddr { address, .. } => {
                    // A relay with a public address is dialled at it: tell identify so.
                    swarm.add_external_address(address.clone());
                    addresses.push(address);
                }
                SwarmEvent::ListenerError { error, .. } => return Err(transport(&error)),
                _ => {}
            }
        }
        let task = tokio::spawn(async move {
            loop {
                if let SwarmEvent::Behaviour(RelayBehaviourEvent::Relay(event)) =
                    swarm.select_next_some().await
                {
                    tracing::debug!(?event, "relay");
                }
            }
        });
        Ok(Self {
            peer_id,
            addresses,
            task,
        })
    }

    /// The relay's PeerId.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// The addresses it listens on; devices are given one of them followed by
    /// `/p2p/PEERID`.
    pub fn addresses(&self) -> &[Multiaddr] {
        &self.addresses
    }
}

impl Drop for RelayNode {
    fn drop(&mut self) {
        self.task.abort();
    }
}
