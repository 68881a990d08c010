//! # tessera-cli
//!
//! The `tessera` command line and the device layer under it (design §1): [`device`] is what a
//! device keeps (its home, keyring, sealed identity and key shares).
#![forbid(unsafe_code)]

pub mod device;
