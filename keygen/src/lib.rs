//! # tessera-keygen
//!
//! Key creation. For now the trusted-dealer split of RFC 9591 Appendix C ([`dealer`]); the
//! distributed key generation of design §3.1 follows in the DKG issue.
#![forbid(unsafe_code)]

pub mod dealer;
