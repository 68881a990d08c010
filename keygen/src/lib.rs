//! # tessera-keygen
//!
//! Key creation:
//!
//! - [`dkg`]: the distributed key generation of design §3.1 (Pedersen DKG with Feldman VSS,
//!   proofs of knowledge bound to the session, an echo check with proof of equivocation), a
//!   sans-IO [`Protocol`](tessera_core::Protocol) whose output is a [`PendingKeyShare`];
//! - [`certify`]: exchanging the confirmations into a [`Certificate`], which activates the
//!   share ([`PendingKeyShare::activate`] → [`KeyShare`]);
//! - [`dealer`]: the trusted-dealer split of an existing key (RFC 9591 Appendix C).
//!
//! The whole flow at one device: run [`dkg::Dkg`] to its output, persist the pending share
//! (encrypted), run [`certify::Certify`], then activate with the certificate it returns.
#![forbid(unsafe_code)]

pub mod certify;
pub mod dealer;
pub mod dkg;
mod error;
mod keyshare;
mod transcript;

pub use error::KeygenError;
pub use keyshare::{
    Certificate, Confirmation, HexBytes, KeyShare, PendingKeyShare, PublicKeyShare, CONFIRM_PURPOSE,
};
pub use transcript::{epoch_key_id, roster_fingerprint};
