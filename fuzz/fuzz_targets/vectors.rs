//! Fuzz target `vectors`: see `tessera_fuzz_targets::vectors`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz_targets::vectors(data));
