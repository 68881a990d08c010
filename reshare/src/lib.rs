//! # tessera-reshare (not built yet)
//!
//! Proactive resharing (design §3.3): refresh and committee/threshold change from an old
//! t-of-n committee to a new t'-of-n' committee under the same group key, with per-dealer
//! blame and a two-phase epoch commit, plus share repair (design §3.4). This crate will hold
//! those sans-IO state machines; it is empty until the resharing issue is done.
#![forbid(unsafe_code)]
