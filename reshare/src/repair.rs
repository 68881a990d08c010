//! Share repair (design §3.4): a party r that lost its share gets it back from a set H of at
//! least t helpers, without anyone else's share changing — the repairable threshold scheme of
//! Laing and Stinson ("A Survey and Refinement of Repairable Threshold Schemes", 2017, §4),
//! the enrolment protocol that ZF FROST's `repairable` module implements.
//!
//! 1. [`split`], at each helper i ∈ H: `δ_i = λ_i^H(x_r) · s_i`, split into |H| random
//!    additive parts `δ_i = Σ_j δ_ij`; part `δ_ij` goes to helper j over the authenticated,
//!    encrypted channel.
//! 2. [`combine`], at each helper j: `σ_j = Σ_i δ_ij`, sent to r.
//! 3. [`recover`], at r: `s_r = Σ_j σ_j = Σ_i λ_i^H(x_r)·s_i = f(x_r)`, checked against r's
//!    verifying share: `s_r·G == Y_r`.
//!
//! No single message reveals anything: each `δ_ij` is uniformly random on its own, and each
//! `σ_j` mixes one random part of every helper. The scheme does not name a helper that sends
//! a wrong value; the final check catches it (r learns the repair failed, not who failed it),
//! so r then asks another set of helpers. Helping is never automatic: each helper's user
//! approves the request (design §3.4), because a repair hands a share to whoever runs r.
//!
//! The alternative, a reshare to the same committee, also restores a lost device, but it
//! needs t old parties *and* every new party online, changes every share (and the epoch),
//! and costs a full reshare; repair touches no other share and needs only t helpers.

use std::sync::Arc;

use ff::Field as _;
use tessera_core::{
    lagrange::lagrange_coefficient_at, Ciphersuite, Identifier, KeyPackage, PublicKeyPackage,
    SecretScalar,
};

/// Why a repair step was refused or failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepairError {
    /// The helper set or the lost identifier does not fit the key.
    #[error("invalid repair parameters: {0}")]
    Parameters(&'static str),
    /// The repaired share does not match the lost party's verifying share: a helper sent a
    /// wrong value (the scheme cannot tell which), or the helpers used another epoch.
    #[error("the repaired share does not match the verifying share; ask other helpers")]
    Mismatch,
}

/// Step 1 at a helper holding `key`: its parts `δ_ij` for each helper j of `helpers` (sorted,
/// distinct, at least t, without `lost`, including this helper), in helper order. Keep the
/// part for this helper itself and send the others.
pub fn split<C: Ciphersuite>(
    key: &KeyPackage<C>,
    helpers: &[Identifier],
    lost: Identifier,
    rng: &mut (impl rand_core::CryptoRng + ?Sized),
) -> Result<Vec<(Identifier, SecretScalar<C>)>, RepairError> {
    let public = key.public();
    if helpers.len() < usize::from(public.threshold()) {
        return Err(RepairError::Parameters("fewer helpers than the threshold"));
    }
    if helpers.contains(&lost) {
        return Err(RepairError::Parameters("the lost party cannot help itself"));
    }
    if !public.verifying_shares().contains_key(&lost)
        || helpers
            .iter()
            .any(|h| !public.verifying_shares().contains_key(h))
    {
        return Err(RepairError::Parameters("a party is not in the committee"));
    }
    let lambda = lagrange_coefficient_at::<C>(key.identifier(), helpers, &lost.to_scalar::<C>())
        .map_err(|_| {
            RepairError::Parameters("helpers must be sorted, distinct and include this one")
        })?;
    let delta = SecretScalar::<C>::new(lambda * key.signing_share().expose_secret());
    // Sized up front and filled in place: growing or shifting the vector would leave copies
    // of the parts in freed memory. The first part is set last, once the others are drawn.
    let mut parts: Vec<(Identifier, SecretScalar<C>)> = Vec::with_capacity(helpers.len());
    parts.push((helpers[0], SecretScalar::new(C::Scalar::ZERO)));
    parts.extend(helpers[1..].iter().map(|&h| (h, SecretScalar::random(rng))));
    let rest = parts[1..]
        .iter()
        .fold(SecretScalar::new(C::Scalar::ZERO), |acc, (_, p)| acc.add(p));
    parts[0].1 = SecretScalar::new(*delta.expose_secret() - rest.expose_secret());
    Ok(parts)
}

/// Step 2 at a helper: `σ_j`, the sum of the parts it received from every helper (its own
/// included), to send to the lost party.
pub fn combine<C: Ciphersuite>(parts: &[SecretScalar<C>]) -> SecretScalar<C> {
    parts
        .iter()
        .fold(SecretScalar::new(C::Scalar::ZERO), |acc, p| acc.add(p))
}

/// Step 3 at the lost party: its share `Σ σ_j`, checked against its verifying share in the
/// key's public data (which the device checks against the key's certificate first).
pub fn recover<C: Ciphersuite>(
    sigmas: &[SecretScalar<C>],
    lost: Identifier,
    public: Arc<PublicKeyPackage<C>>,
) -> Result<KeyPackage<C>, RepairError> {
    if sigmas.len() < usize::from(public.threshold()) {
        return Err(RepairError::Parameters("fewer helpers than the threshold"));
    }
    if !public.verifying_shares().contains_key(&lost) {
        return Err(RepairError::Parameters("a party is not in the committee"));
    }
    KeyPackage::new(lost, combine(sigmas), public).map_err(|_| RepairError::Mismatch)
}
