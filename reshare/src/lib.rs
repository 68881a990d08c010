//! # tessera-reshare
//!
//! Proactive resharing (design §3.3) and share repair (design §3.4).
//!
//! - [`ReshareParty`]: one device of a reshare, a sans-IO [`Protocol`](tessera_core::Protocol).
//!   One protocol covers refresh (same committee and threshold), adding and removing parties,
//!   raising or lowering the threshold, a disjoint new committee, and any overlap. The group
//!   key never changes; the epoch goes from e to e+1.
//! - [`Transition`]: the certificate of the new epoch and the test signature by all new
//!   parties; [`KeyRecord`] applies it (activate the new share, erase the old one) and keeps
//!   the epoch rules.
//! - [`repair`]: a party that lost its share gets it back from t helpers.
//!
//! ## Resharing is not revocation
//!
//! A reshare gives the new committee fresh shares of the **same** key. Until every old share
//! is erased, any t old-epoch shares still sign: a removed device, a stolen phone or an old
//! backup keeps its power over the funds. Resharing limits what an attacker who has **not
//! yet** reached t shares can do; it cannot take back what one already holds. After a theft
//! of a share, or a suspected one: run a new DKG (`tessera keygen`) to make a new key with a
//! new committee, and move the funds to it.
//!
//! ## The flow at one device
//! 1. Agree on [`ReshareParams`] (the session proposal): the epoch's key id and group key,
//!    the set S of old parties taking part with their old identifiers, the new roster and t'.
//! 2. Build the party from the device's [`KeyRecord`] ([`ReshareParty::dealer`], which takes
//!    only the active epoch and makes the session the device's one transition from it) or,
//!    for a device joining the key, [`ReshareParty::joiner`]; run it. A new party's pending
//!    share is persisted through the [`Persist`] callback ([`KeyRecord::stage`]) before it
//!    confirms.
//! 3. With the [`ReshareOutput`], [`KeyRecord::commit`] the [`Transition`].
#![forbid(unsafe_code)]

mod checks;
mod commit;
mod deal;
mod error;
mod old_epoch;
mod params;
mod party;
mod record;
pub mod repair;
mod repair_party;
mod shares;
mod transcript;

pub use commit::{ReshareOutput, Transition};
pub use deal::PURPOSE as DEAL_PURPOSE;
pub use error::{EpochError, ReshareError};
pub use params::{Dealer, ReshareParams};
pub use party::{Persist, ReshareParty, CONFIRM as CONFIRM_ROUND};
pub use record::{Committed, KeyRecord};
pub use repair_party::{RepairParty, RepairPartyError};
