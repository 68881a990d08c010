//! ChaCha20 (rand_core 0.10) as a rand 0.8 RNG for the ZF FROST crates, shared by the signing
//! and DKG benchmarks so both sides draw randomness at the same cost.

use rand_chacha::{rand_core::Rng as _, ChaCha20Rng};

/// ChaCha20 (rand_core 0.10) as a rand 0.8 RNG, for the ZF crates.
pub struct Rng08(pub ChaCha20Rng);

impl rand08::RngCore for Rng08 {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest)
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand08::Error> {
        self.0.fill_bytes(dest);
        Ok(())
    }
}

impl rand08::CryptoRng for Rng08 {}
