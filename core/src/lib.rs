//! # tessera-core
//!
//! The cryptographic ground every tessera protocol stands on:
//!
//! - [`suite`]: the three ciphersuites (`ed25519`, `secp256k1`, `taproot`) with RFC 9591 §6
//!   hash functions and strict (canonical, on-curve, prime-order, non-identity) decoding;
//! - [`identifier`]: participant identifiers 1..=65535;
//! - [`secret`]: the zeroizing wrapper every secret scalar lives in;
//! - [`polynomial`], [`lagrange`], [`feldman`]: Shamir sharing, interpolation and Feldman
//!   verifiable commitments;
//! - [`keys`]: a participant's key package and the group's public key package;
//! - [`tweak`]: the one function that turns an untweaked group key into the key a signature
//!   verifies under (BIP-32 plain tweaks, BIP-341 TapTweak, BIP-340 even-y);
//! - [`hash`]: domain-separated hashing for tessera's own transcripts;
//! - [`identity`]: device identity keys and the signatures protocol messages carry;
//! - [`protocol`]: the sans-IO `Protocol` trait, message headers, culprits and evidence;
//! - `sim` (feature `sim`): the in-process harness that runs any `Protocol`.
//!
//! Nothing here does IO; randomness is always passed in.
#![forbid(unsafe_code)]

pub mod echo;
pub mod error;
pub mod feldman;
pub mod hash;
pub mod identifier;
pub mod identity;
pub mod keys;
pub mod lagrange;
pub mod polynomial;
pub mod protocol;
pub mod secret;
pub mod share_message;
#[cfg(feature = "sim")]
pub mod sim;
pub mod suite;
pub mod tweak;

pub use error::{EncodingError, Error};
pub use identifier::Identifier;
#[cfg(feature = "sim")]
pub use identity::RandomizedIdentity;
pub use identity::{Ed25519Identity, IdentityKey, IdentitySigner};
pub use keys::{KeyPackage, PublicKeyPackage};
pub use protocol::{Blame, Culprit, Evidence, Fault, PartyIndex, Protocol, SessionId, Step};
pub use secret::SecretScalar;
pub use suite::{Ciphersuite, Ed25519, Secp256k1, Suite, Taproot};
pub use tweak::{KeyTweak, TaprootTweak, Tweak};
