//! # tessera-fuzz-targets
//!
//! What each fuzz target of `fuzz/` runs (design §4.9, FUZZING.md), as plain functions of the
//! fuzzer's bytes, so that `cargo test` on stable replays the checked-in corpus
//! (`tests/corpus.rs`) and `cargo +nightly fuzz run TARGET` explores from it.
//!
//! Every target's property is the same: input from the network or the disk never panics.
//! - [`wire`]: the session layer's requests, responses and proposals.
//! - [`dkg`], [`sign`], [`sign_batch`], [`reshare`], [`repair`]: an honest session of the
//!   protocol in the simulation harness in which one delivery is replaced by, or XORed with,
//!   the fuzzer's bytes, so the input meets the protocol at every step it can reach.
//! - [`keystore`]: a key's public record, the keyring file and a sealed file, as a home
//!   holds them.
//! - [`psbt`] and [`solana`]: the transaction intake of `tessera sign`.
//! - [`vectors`]: the test-vector file parser and checker.
#![forbid(unsafe_code)]

mod protocols;
mod stores;

pub use protocols::{dkg, repair, reshare, sign, sign_batch};
pub use stores::{keystore, psbt, solana, vectors, wire};

/// The public data of the taproot key the [`psbt`] target reads PSBTs for (for seeds).
pub fn public_taproot() -> Option<tessera_keygen::PublicKeyShare> {
    protocols::public_of::<tessera_core::Taproot>()
}

/// A target: it runs one input.
pub type Target = fn(&[u8]);

/// Every target, by the name of its `fuzz/` binary and corpus folder.
pub const TARGETS: [(&str, Target); 10] = [
    ("wire", wire),
    ("dkg", dkg),
    ("sign", sign),
    ("sign_batch", sign_batch),
    ("reshare", reshare),
    ("repair", repair),
    ("keystore", keystore),
    ("psbt", psbt),
    ("solana", solana),
    ("vectors", vectors),
];
