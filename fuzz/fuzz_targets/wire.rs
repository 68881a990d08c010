//! Fuzz target `wire`: see `tessera_fuzz_targets::wire`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz_targets::wire(data));
