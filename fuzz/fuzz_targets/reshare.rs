//! Fuzz target `reshare`: see `tessera_fuzz_targets::reshare`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz_targets::reshare(data));
