//! The public checks on the deals (design §3.3 step 2).

use ff::PrimeField as _;
use group::Group as _;
use tessera_core::Ciphersuite;

/// `D_i0 == λ_i^S · Y_i` for every dealer at once: with random 128-bit weights `w_i`,
/// `Σ w_i·D_i0 − Σ (w_i·λ_i)·Y_i == 0` as one multiscalar multiplication (a wrong constant
/// term passes with probability about 2^-128). Only if the batch fails is each dealer checked
/// alone; returns the positions of the dealers whose constant term is wrong, so each is named
/// individually.
pub(crate) fn constant_terms<C: Ciphersuite>(
    d0: &[&C::Point],
    lambdas: &[C::Scalar],
    old_shares: &[&C::Point],
    rng: &mut (impl rand_core::CryptoRng + ?Sized),
) -> Vec<usize> {
    let mut scalars = Vec::with_capacity(2 * d0.len());
    let mut points = Vec::with_capacity(2 * d0.len());
    for ((d, lambda), y) in d0.iter().zip(lambdas).zip(old_shares) {
        let mut w = [0u8; 16];
        rng.fill_bytes(&mut w);
        let w = C::Scalar::from_u128(u128::from_le_bytes(w));
        scalars.push(w);
        points.push(**d);
        scalars.push(-(w * lambda));
        points.push(**y);
    }
    if bool::from(C::multiscalar_mul_vartime(&scalars, &points).is_identity()) {
        return Vec::new();
    }
    d0.iter()
        .zip(lambdas)
        .zip(old_shares)
        .enumerate()
        .filter(|(_, ((d, lambda), y))| ***d != ***y * **lambda)
        .map(|(i, _)| i)
        .collect()
}
