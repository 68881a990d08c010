//! # tessera-cli
//!
//! The `tessera` command line and the device layer under it (design §1): [`device`] is what a
//! device keeps (its home, keyring, sealed identity and key shares, known peers); [`commands`]
//! has one small file per command.
#![forbid(unsafe_code)]

pub mod commands;
pub mod device;
pub mod output;

use tessera_core::Suite;

/// Parses a suite name for clap.
pub fn parse_suite(s: &str) -> Result<Suite, String> {
    s.parse()
        .map_err(|e: tessera_core::suite::UnknownSuite| e.to_string())
}
