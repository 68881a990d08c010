//! Fuzz target `solana`: see `tessera_fuzz_targets::solana`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz_targets::solana(data));
