//! Known peers (design §4, §6): the devices this one talks to, each under a local name, and
//! the contact strings devices hand each other.
//!
//! A contact string is `tessera:NAME:PEERID:ADDR,ADDR…`: the device's own name, its PeerId
//! (which embeds its Ed25519 identity key) and the multiaddrs it listens on. `peers.json` in the
//! home is the list of known peers: `[{"name", "peer_id", "addresses"}]`.

use std::{fmt, path::Path, str::FromStr};

use serde::{Deserialize, Serialize};
use tessera_p2p::{Multiaddr, PeerId};

use crate::device::{error::StoreError, files};

/// Why a name or contact string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerError {
    /// Not a contact string.
    #[error("not a contact string (expected tessera:NAME:PEERID:ADDRESS,…): {0}")]
    Contact(&'static str),
    /// A name outside the allowed characters.
    #[error("invalid name {0:?}: use 1 to 32 letters, digits, '.', '_' or '-'")]
    Name(String),
    /// No peer of that name.
    #[error("unknown peer {0:?} (see `tessera peers list`)")]
    Unknown(String),
    /// A name or PeerId already known.
    #[error("{0}")]
    Exists(String),
    /// The device itself.
    #[error("that is this device's own contact")]
    Myself,
}

/// Checks a local name: 1 to 32 of `[A-Za-z0-9._-]`.
pub fn check_name(name: &str) -> Result<(), PeerError> {
    let ok = (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(PeerError::Name(name.to_string()))
    }
}

/// What a device hands the others to be added as a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// The name the device gives itself.
    pub name: String,
    /// Its PeerId.
    pub peer_id: PeerId,
    /// Where it listens.
    pub addresses: Vec<Multiaddr>,
}

impl fmt::Display for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addresses: Vec<String> = self.addresses.iter().map(Multiaddr::to_string).collect();
        write!(
            f,
            "tessera:{}:{}:{}",
            self.name,
            self.peer_id,
            addresses.join(",")
        )
    }
}

impl FromStr for Contact {
    type Err = PeerError;

    fn from_str(s: &str) -> Result<Self, PeerError> {
        let mut parts = s.trim().splitn(4, ':');
        if parts.next() != Some("tessera") {
            return Err(PeerError::Contact("it does not start with tessera:"));
        }
        let (Some(name), Some(peer), Some(addresses)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(PeerError::Contact("a field is missing"));
        };
        check_name(name)?;
        let peer_id: PeerId = peer
            .parse()
            .map_err(|_| PeerError::Contact("the PeerId does not parse"))?;
        if crate::device::jobs::identity_of(&peer_id).is_none() {
            return Err(PeerError::Contact("the PeerId is not an Ed25519 key"));
        }
        let addresses = addresses
            .split(',')
            .filter(|a| !a.is_empty())
            .map(|a| a.parse::<Multiaddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| PeerError::Contact("an address does not parse"))?;
        if addresses.is_empty() {
            return Err(PeerError::Contact("it has no address"));
        }
        Ok(Contact {
            name: name.to_string(),
            peer_id,
            addresses,
        })
    }
}

/// A known peer, as `peers.json` keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// The local name.
    pub name: String,
    /// Its PeerId.
    pub peer_id: String,
    /// Its addresses.
    pub addresses: Vec<String>,
}

impl Peer {
    /// The PeerId (checked when the peer was added).
    pub fn id(&self) -> Option<PeerId> {
        self.peer_id.parse().ok()
    }

    /// The addresses that parse.
    pub fn multiaddrs(&self) -> Vec<Multiaddr> {
        self.addresses
            .iter()
            .filter_map(|a| a.parse().ok())
            .collect()
    }
}

/// The known peers of a home.
#[derive(Debug, Clone, Default)]
pub struct Peers {
    list: Vec<Peer>,
}

impl Peers {
    /// Reads `peers.json` in `home` (none yet: no peers).
    pub fn load(home: &Path) -> Result<Self, StoreError> {
        let path = home.join("peers.json");
        if !path.exists() {
            return Ok(Self::default());
        }
        let list = serde_json::from_slice(&files::read(&path)?)
            .map_err(|_| StoreError::corrupt(&path, "not a list of peers"))?;
        Ok(Peers { list })
    }

    /// Writes `peers.json` in `home`.
    pub fn save(&self, home: &Path) -> Result<(), StoreError> {
        let path = home.join("peers.json");
        let bytes = serde_json::to_vec_pretty(&self.list)
            .map_err(|_| StoreError::corrupt(&path, "unencodable"))?;
        files::write_atomic(&path, &bytes)
    }

    /// Every known peer, in the order added.
    pub fn all(&self) -> &[Peer] {
        &self.list
    }

    /// Adds `contact` under `name` (its own name if none).
    pub fn add(&mut self, contact: &Contact, name: Option<&str>) -> Result<&Peer, PeerError> {
        let name = name.unwrap_or(&contact.name);
        check_name(name)?;
        let peer_id = contact.peer_id.to_string();
        if let Some(p) = self
            .list
            .iter()
            .find(|p| p.name == name || p.peer_id == peer_id)
        {
            return Err(PeerError::Exists(if p.peer_id == peer_id {
                format!("peer {peer_id} is already known as {:?}", p.name)
            } else {
                format!("a peer is already named {name:?} (choose another with --name)")
            }));
        }
        self.list.push(Peer {
            name: name.to_string(),
            peer_id,
            addresses: contact.addresses.iter().map(Multiaddr::to_string).collect(),
        });
        Ok(&self.list[self.list.len() - 1])
    }

    /// Removes the peer `name`.
    pub fn remove(&mut self, name: &str) -> Result<Peer, PeerError> {
        let i = self
            .list
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| PeerError::Unknown(name.to_string()))?;
        Ok(self.list.remove(i))
    }

    /// The peer named `name`.
    pub fn by_name(&self, name: &str) -> Result<&Peer, PeerError> {
        self.list
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| PeerError::Unknown(name.to_string()))
    }

    /// The local name of `peer`, if known.
    pub fn name_of(&self, peer: &PeerId) -> Option<&str> {
        let id = peer.to_string();
        self.list
            .iter()
            .find(|p| p.peer_id == id)
            .map(|p| p.name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_round_trip_and_bad_ones_are_refused() {
        let (keypair, _) = crate::device::jobs::identities(&[4; 32]).unwrap();
        let contact = Contact {
            name: "phone".into(),
            peer_id: keypair.public().to_peer_id(),
            addresses: vec![
                "/ip4/127.0.0.1/tcp/7001".parse().unwrap(),
                "/ip6/::1/tcp/7001".parse().unwrap(),
            ],
        };
        let text = contact.to_string();
        assert_eq!(text.parse::<Contact>().unwrap(), contact);
        for bad in [
            "",
            "tessera:phone",
            "ssh:phone:x:/ip4/1.2.3.4/tcp/1",
            "tessera:ph one:12D3KooW:/ip4/1.2.3.4/tcp/1",
            "tessera:phone:notapeer:/ip4/1.2.3.4/tcp/1",
            &text.replace("/ip4/127.0.0.1", "/ipx/1"),
            &format!("tessera:phone:{}:", contact.peer_id),
        ] {
            assert!(bad.parse::<Contact>().is_err(), "{bad}");
        }
        let mut peers = Peers::default();
        peers.add(&contact, None).unwrap();
        assert!(matches!(
            peers.add(&contact, Some("other")),
            Err(PeerError::Exists(_))
        ));
        assert_eq!(peers.name_of(&contact.peer_id), Some("phone"));
        assert!(peers.remove("tablet").is_err());
        peers.remove("phone").unwrap();
        assert!(peers.all().is_empty());
    }
}
