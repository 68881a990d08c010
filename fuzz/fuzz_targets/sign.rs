//! Fuzz target `sign`: see `tessera_fuzz_targets::sign`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz_targets::sign(data));
