//! What every device of one reshare agrees on before it starts (design §3.3, the session
//! proposal of design §4), and how the session's devices are laid out.
//!
//! Old and new identifiers are separate spaces: a dealer is named by its **old** identifier
//! (its evaluation point in epoch e, used for `λ_i^S`), a new party by its **new** identifier
//! (its position in the new roster plus one). A device in both committees has both roles.
//!
//! The session roster (the devices the transport connects, indexed by [`PartyIndex`]) is the
//! new roster in order, then the dealers that are not in it, in dealer order. A new party's
//! device index is therefore its new identifier minus one.

use std::collections::BTreeSet;

use tessera_core::{
    hash::transcript_hash, keys::check_threshold, Identifier, IdentityKey, PartyIndex, SessionId,
    Suite,
};

use crate::error::ReshareError;

/// A dealer: an old party of the set S taking part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dealer {
    /// Its identifier in the old epoch.
    pub old_id: Identifier,
    /// Its device's identity key (PeerId).
    pub identity: IdentityKey,
}

/// The parameters of one reshare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReshareParams {
    /// The session id (binds the proposal and every party's nonce, design §4).
    pub session: SessionId,
    /// The group key P in the suite's encoding: the key a joining user expects. It never
    /// changes.
    pub group_key: Vec<u8>,
    /// The key id of the epoch being reshared (its transcript hash, the "old epoch hash").
    pub old_key_id: [u8; 32],
    /// The set S of old parties taking part, in ascending old identifier; `|S| >= t`.
    pub dealers: Vec<Dealer>,
    /// The new committee N, in order: entry j has new identifier j + 1.
    pub new_roster: Vec<IdentityKey>,
    /// The new threshold t', `2 <= t' <= |N|`.
    pub new_threshold: u16,
}

impl ReshareParams {
    /// Checks the parameters that need no key material: `2 <= t' <= |N|`, at least two
    /// dealers in strictly ascending old identifier, no identity twice in either role list,
    /// and a session roster of at most 65535 devices.
    pub fn check(&self) -> Result<(), ReshareError> {
        check_threshold(self.new_threshold.into(), self.new_roster.len())
            .map_err(|e| ReshareError::Parameters(format!("new committee: {e}")))?;
        if self.dealers.len() < 2 {
            return Err(ReshareError::Parameters(
                "at least two old parties must take part".into(),
            ));
        }
        if !self.dealers.windows(2).all(|w| w[0].old_id < w[1].old_id) {
            return Err(ReshareError::Parameters(
                "dealers must be in strictly ascending old identifier".into(),
            ));
        }
        let new: BTreeSet<_> = self.new_roster.iter().collect();
        let old: BTreeSet<_> = self.dealers.iter().map(|d| &d.identity).collect();
        if new.len() != self.new_roster.len() || old.len() != self.dealers.len() {
            return Err(ReshareError::Parameters(
                "a committee names one identity twice".into(),
            ));
        }
        if new.union(&old).count() > usize::from(u16::MAX) {
            return Err(ReshareError::Parameters("more than 65535 devices".into()));
        }
        Ok(())
    }

    /// The session roster: the new roster, then the dealers not in it (see the module doc).
    pub fn devices(&self) -> Vec<IdentityKey> {
        let mut devices = self.new_roster.clone();
        devices.extend(
            self.dealers
                .iter()
                .map(|d| d.identity)
                .filter(|k| !self.new_roster.contains(k)),
        );
        devices
    }

    /// A digest of the suite and every parameter, covered by each dealer's signature: a signed
    /// deal is evidence only within exactly these parameters.
    pub fn context(&self, suite: Suite) -> [u8; 32] {
        let t = self.new_threshold.to_be_bytes();
        let ids: Vec<[u8; 2]> = self
            .dealers
            .iter()
            .map(|d| d.old_id.get().to_be_bytes())
            .collect();
        let mut parts: Vec<&[u8]> = vec![
            suite.name().as_bytes(),
            &self.session,
            &self.group_key,
            &self.old_key_id,
            &t,
        ];
        for (d, id) in self.dealers.iter().zip(&ids) {
            parts.push(id);
            parts.push(d.identity.as_bytes());
        }
        parts.extend(self.new_roster.iter().map(|k| k.as_bytes().as_slice()));
        transcript_hash("tessera/v1/reshare/context", &parts)
    }
}

/// Where each role sits in the session roster.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Every device's identity key, by [`PartyIndex`].
    pub devices: Vec<IdentityKey>,
    /// The size of the new committee: devices `0..new_count` are its members.
    pub new_count: u16,
    /// The device of each dealer, in dealer order.
    pub dealer_device: Vec<PartyIndex>,
}

impl Layout {
    pub fn new(params: &ReshareParams) -> Self {
        let devices = params.devices();
        // `ReshareParams::check` bounds every count by 65535.
        let index_of = |k: &IdentityKey| devices.iter().position(|d| d == k).unwrap_or(0) as u16;
        Layout {
            dealer_device: params
                .dealers
                .iter()
                .map(|d| index_of(&d.identity))
                .collect(),
            new_count: params.new_roster.len() as u16,
            devices,
        }
    }

    /// The dealer position of `device`, if it deals.
    pub fn dealer_of(&self, device: PartyIndex) -> Option<usize> {
        self.dealer_device.iter().position(|&d| d == device)
    }

    /// The new identifier of `device`, if it is in the new committee.
    pub fn new_id_of(&self, device: PartyIndex) -> Option<Identifier> {
        (device < self.new_count)
            .then(|| Identifier::new(device + 1).ok())
            .flatten()
    }

    /// The number of devices.
    pub fn len(&self) -> usize {
        self.devices.len()
    }
}
