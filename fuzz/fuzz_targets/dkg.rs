//! Fuzz target `dkg`: see `tessera_fuzz_targets::dkg`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz_targets::dkg(data));
