//! Fuzz target `sign_batch`: see `tessera_fuzz_targets::sign_batch`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz_targets::sign_batch(data));
