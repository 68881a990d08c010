//! Fuzz target `psbt`: see `tessera_fuzz_targets::psbt`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz_targets::psbt(data));
