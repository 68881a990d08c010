//! Fuzz target `repair`: see `tessera_fuzz_targets::repair`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tessera_fuzz_targets::repair(data));
