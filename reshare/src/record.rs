//! A device's record of one key across epochs (design §3.3 step 4, must): which epoch is
//! active, and the one pending transition to the next.
//!
//! The keystore persists this record; the rules live here so every front end applies them:
//! - A device signs and reshares only with its active epoch ([`KeyRecord::share_for`]): once
//!   e+1 is active, epoch e is refused.
//! - One pending transition per (key, epoch) ([`KeyRecord::stage`]): a second reshare from the
//!   same epoch cannot get this device's confirmation, so two concurrent reshares over one
//!   committee cannot both complete.
//! - A new share activates only with a verified [`Transition`], and an old share is erased
//!   only after one ([`KeyRecord::commit`]).
//! - A pending share is never dropped on the device's own initiative: another device may
//!   already have activated. Only the user abandons it ([`KeyRecord::abandon`]).

use tessera_core::{Ciphersuite, SessionId};
use tessera_keygen::{KeyShare, PendingKeyShare};

use crate::{commit::Transition, error::EpochError};

/// What [`KeyRecord::commit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// The pending share of this epoch is now active (the previous one, if any, is erased).
    Activated(u64),
    /// This device is not in the new committee: its share of the old epoch is erased.
    Retired,
}

/// A device's shares of one key (see the module doc).
pub struct KeyRecord<C: Ciphersuite> {
    group_key: C::Point,
    active: Option<KeyShare<C>>,
    pending: Option<(SessionId, PendingKeyShare<C>)>,
    /// The newest epoch this device held or retired.
    epoch: Option<u64>,
}

impl<C: Ciphersuite> KeyRecord<C> {
    /// The record of a device holding an active share.
    pub fn new(active: KeyShare<C>) -> Self {
        Self {
            group_key: *active.key_package().public().group_key(),
            epoch: Some(active.epoch()),
            active: Some(active),
            pending: None,
        }
    }

    /// The record of a device joining the key `group_key` by a reshare.
    pub fn joining(group_key: C::Point) -> Self {
        Self {
            group_key,
            active: None,
            pending: None,
            epoch: None,
        }
    }

    /// The group key of the record.
    pub fn group_key(&self) -> &C::Point {
        &self.group_key
    }

    /// The active share, if any.
    pub fn active(&self) -> Option<&KeyShare<C>> {
        self.active.as_ref()
    }

    /// The pending share and its session, if any.
    pub fn pending(&self) -> Option<(&SessionId, &PendingKeyShare<C>)> {
        self.pending.as_ref().map(|(s, p)| (s, p))
    }

    /// The share to sign or reshare with at `epoch`: only the active epoch is given out.
    pub fn share_for(&self, epoch: u64) -> Result<&KeyShare<C>, EpochError> {
        match (&self.active, self.epoch) {
            (Some(a), _) if a.epoch() == epoch => Ok(a),
            (_, Some(newest)) if epoch < newest => Err(EpochError::Superseded {
                asked: epoch,
                active: newest,
            }),
            _ => Err(EpochError::NoShare(epoch)),
        }
    }

    /// Stages `pending` as this device's one transition from the current epoch, for the
    /// reshare `session`. Refused if another session's transition is pending, or if `pending`
    /// is not of the next epoch of this key.
    pub fn stage(
        &mut self,
        session: SessionId,
        pending: PendingKeyShare<C>,
    ) -> Result<(), EpochError> {
        if pending.key_package().public().group_key() != &self.group_key {
            return Err(EpochError::NotNext);
        }
        if let Some(active) = &self.active {
            if pending.epoch() != active.epoch() + 1 {
                return Err(EpochError::NotNext);
            }
        }
        match &self.pending {
            Some((s, p)) if *s != session => Err(EpochError::TransitionPending(p.epoch() - 1)),
            _ => {
                self.pending = Some((session, pending));
                Ok(())
            }
        }
    }

    /// Applies a finished reshare's `transition` after verifying it under the group key: the
    /// pending share it certifies becomes active (erasing the old one), or, for a device that
    /// only dealt, the old share is erased.
    pub fn commit(&mut self, transition: &Transition) -> Result<Committed, EpochError> {
        transition.verify::<C>(&self.group_key)?;
        if let Some((_, pending)) = &self.pending {
            if pending.key_id() == &transition.key_id {
                let active = pending.activate(&transition.certificate).map_err(|_| {
                    EpochError::Commitment("the certificate does not activate the share")
                })?;
                self.epoch = Some(active.epoch());
                self.active = Some(active);
                self.pending = None;
                return Ok(Committed::Activated(transition.epoch));
            }
        }
        match &self.active {
            Some(active) if transition.epoch == active.epoch() + 1 => {
                self.epoch = Some(transition.epoch);
                self.active = None;
                self.pending = None;
                Ok(Committed::Retired)
            }
            _ => Err(EpochError::Commitment(
                "it is not the next epoch of this device's share",
            )),
        }
    }

    /// Drops the pending transition of `session`, on the user's word: only when they know the
    /// reshare did not complete anywhere (or accept losing this device's new share). Epoch e
    /// stays active.
    pub fn abandon(&mut self, session: &SessionId) -> bool {
        if self.pending.as_ref().is_some_and(|(s, _)| s == session) {
            self.pending = None;
            return true;
        }
        false
    }
}
