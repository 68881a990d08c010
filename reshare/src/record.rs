//! A device's record of one key across epochs (design §3.3 step 4, must): which epoch is
//! active, and the one pending transition to the next.
//!
//! The keystore persists this record; the rules live here so every front end applies them:
//! - A device signs and reshares only with its active epoch ([`KeyRecord::share_for`]): once
//!   e+1 is active, epoch e is refused.
//! - One transition per (key, epoch) ([`crate::ReshareParty::dealer`], [`KeyRecord::stage`]):
//!   a device deals in, or confirms a share of, one reshare of its active epoch. Two reshares
//!   of one epoch that share a dealer or a new party cannot both complete. Two that share
//!   neither (disjoint dealer sets, possible only with at least 2t old parties, and disjoint
//!   new committees) can: no device sees both, so this is the old committee's own choice.
//! - A new share activates only with a verified [`Transition`] that names this device's
//!   active epoch as its predecessor, and an old share is erased only after one
//!   ([`KeyRecord::commit`]).
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
    /// The reshare session this device deals in from its active epoch, until the transition
    /// commits or the user abandons it.
    dealing: Option<SessionId>,
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
            dealing: None,
        }
    }

    /// The record of a device joining the key `group_key` by a reshare.
    pub fn joining(group_key: C::Point) -> Self {
        Self {
            group_key,
            active: None,
            pending: None,
            dealing: None,
            epoch: None,
        }
    }

    /// A record read back from the device's store: its active share (if it holds one), the
    /// share it staged and confirmed for the reshare `session` (if any), and the reshare it
    /// deals in from its active epoch (if any). Refused unless the staged share is of this
    /// key's next epoch.
    pub fn restored(
        group_key: C::Point,
        active: Option<KeyShare<C>>,
        staged: Option<(SessionId, PendingKeyShare<C>)>,
        dealing: Option<SessionId>,
    ) -> Result<Self, EpochError> {
        let mut record = match active {
            Some(a) if a.key_package().public().group_key() == &group_key => Self::new(a),
            Some(_) => return Err(EpochError::NotNext),
            None => Self::joining(group_key),
        };
        if record.active.is_some() {
            record.dealing = dealing;
        }
        if let Some((session, pending)) = staged {
            // Both marks name the one transition of this epoch; a stage of another session
            // than the dealing mark's is refused like any second transition.
            record.stage(session, pending)?;
        }
        Ok(record)
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

    /// The reshare session this device deals in, if any.
    pub fn dealing(&self) -> Option<&SessionId> {
        self.dealing.as_ref()
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

    /// Whether a transition of another session than `session` is under way from the active
    /// epoch: this device deals in it or staged a share of it.
    fn other_transition(&self, session: &SessionId) -> bool {
        self.dealing.as_ref().is_some_and(|s| s != session)
            || self.pending.as_ref().is_some_and(|(s, _)| s != session)
    }

    /// The active share of the epoch `old_key_id`, for dealing in the reshare `session`
    /// ([`crate::ReshareParty::dealer`], which then marks the session with
    /// [`KeyRecord::begin_dealing`]). Refused while a transition of another session is under
    /// way from that epoch: this device deals in, or confirms a share of, one reshare of an
    /// epoch, so two reshares of one epoch to different committees cannot both complete.
    pub(crate) fn share_to_deal(
        &self,
        session: &SessionId,
        old_key_id: &[u8; 32],
    ) -> Result<&KeyShare<C>, EpochError> {
        let active = match &self.active {
            Some(a) if a.key_id() == old_key_id => a,
            Some(a) => return Err(EpochError::NotActive(a.epoch())),
            None => return Err(EpochError::NoActiveShare),
        };
        if self.other_transition(session) {
            return Err(EpochError::TransitionPending(active.epoch()));
        }
        Ok(active)
    }

    /// Makes `session` this device's one transition from its active epoch (after
    /// [`KeyRecord::share_to_deal`] allowed it).
    pub(crate) fn begin_dealing(&mut self, session: SessionId) {
        self.dealing = Some(session);
    }

    /// Stages `pending` as this device's one transition from the current epoch, for the
    /// reshare `session`. Refused if another session's transition is under way, or if
    /// `pending` is not of the next epoch of this key.
    pub fn stage(
        &mut self,
        session: SessionId,
        pending: PendingKeyShare<C>,
    ) -> Result<(), EpochError> {
        if pending.key_package().public().group_key() != &self.group_key {
            return Err(EpochError::NotNext);
        }
        if let Some(active) = &self.active {
            if Some(pending.epoch()) != active.epoch().checked_add(1) {
                return Err(EpochError::NotNext);
            }
        }
        if self.other_transition(&session) {
            return Err(EpochError::TransitionPending(
                pending.epoch().saturating_sub(1),
            ));
        }
        self.pending = Some((session, pending));
        Ok(())
    }

    /// Drops the share staged for `session` before it was confirmed (its persistence failed):
    /// unlike [`KeyRecord::abandon`], a dealing mark stays, since this device's shares may
    /// already be out.
    pub fn unstage(&mut self, session: &SessionId) -> bool {
        if self.pending.as_ref().is_some_and(|(s, _)| s == session) {
            self.pending = None;
            return true;
        }
        false
    }

    /// Applies a finished reshare's `transition` (design §3.3 step 4, must).
    ///
    /// With an active share, the transition must name its key id as the one it succeeds; its
    /// certificate and test signature are then checked for the next epoch
    /// ([`Transition::verify`]). The pending share it certifies becomes active (erasing the
    /// old one); on a device with no share in the new epoch, the old share is erased and a
    /// pending share of another session is kept for the user to resolve. A joining device
    /// (no active share) applies only the transition whose recomputed key id is its pending
    /// share's, which binds the old key id the session named.
    pub fn commit(&mut self, transition: &Transition) -> Result<Committed, EpochError> {
        let Some(active) = &self.active else {
            let Some((_, pending)) = &self.pending else {
                return Err(EpochError::NoActiveShare);
            };
            let public = pending.key_package().public();
            let key_id =
                transition.verify::<C>(public.group_key(), public.chain_code(), pending.epoch())?;
            if &key_id != pending.key_id() {
                return Err(EpochError::NotSuccessor);
            }
            return self.activate(transition);
        };
        if &transition.old_key_id != active.key_id() {
            return Err(EpochError::NotSuccessor);
        }
        let public = active.key_package().public();
        let epoch = active
            .epoch()
            .checked_add(1)
            .ok_or(EpochError::Commitment("the epoch cannot advance"))?;
        let key_id = transition.verify::<C>(public.group_key(), public.chain_code(), epoch)?;
        if self
            .pending
            .as_ref()
            .is_some_and(|(_, p)| p.key_id() == &key_id)
        {
            return self.activate(transition);
        }
        self.epoch = Some(epoch);
        self.active = None;
        self.dealing = None;
        Ok(Committed::Retired)
    }

    /// Activates the pending share with the verified `transition`'s certificate.
    fn activate(&mut self, transition: &Transition) -> Result<Committed, EpochError> {
        let Some((_, pending)) = &self.pending else {
            return Err(EpochError::NoActiveShare);
        };
        let active = pending
            .activate(&transition.certificate)
            .map_err(|_| EpochError::Commitment("the certificate does not activate the share"))?;
        let epoch = active.epoch();
        self.epoch = Some(epoch);
        self.active = Some(active);
        self.pending = None;
        self.dealing = None;
        Ok(Committed::Activated(epoch))
    }

    /// Drops the transition of `session` (the staged share, and the dealing mark), on the
    /// user's word: only when they know the reshare did not complete anywhere (or accept
    /// losing this device's new share). Epoch e stays active.
    pub fn abandon(&mut self, session: &SessionId) -> bool {
        let unstaged = self.unstage(session);
        if self.dealing.as_ref() == Some(session) {
            self.dealing = None;
            return true;
        }
        unstaged
    }
}
