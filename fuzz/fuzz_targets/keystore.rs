//! Fuzz target `keystore`: see `tessera_fuzz_targets::keystore`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz_targets::keystore(data));
