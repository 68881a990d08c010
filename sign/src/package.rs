//! The signing package and the values derived from it: binding factors (RFC 9591 §4.4) and
//! the group commitment (§4.5).

use std::collections::BTreeMap;

use tessera_core::{Ciphersuite, Identifier};

use crate::round1::SigningCommitments;

/// What the coordinator sends every signer in round two: all commitments and the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningPackage<C: Ciphersuite> {
    commitments: BTreeMap<Identifier, SigningCommitments<C>>,
    message: Vec<u8>,
}

impl<C: Ciphersuite> SigningPackage<C> {
    /// A package of the given commitments (keyed, hence sorted and distinct) and message.
    pub fn new(commitments: BTreeMap<Identifier, SigningCommitments<C>>, message: Vec<u8>) -> Self {
        Self {
            commitments,
            message,
        }
    }

    /// All signers' commitments, by identifier.
    pub fn commitments(&self) -> &BTreeMap<Identifier, SigningCommitments<C>> {
        &self.commitments
    }

    /// The message.
    pub fn message(&self) -> &[u8] {
        &self.message
    }
}

/// RFC 9591 §4.3 `encode_group_commitment_list`: for each signer in identifier order,
/// `SerializeScalar(id) ‖ SerializeElement(D) ‖ SerializeElement(E)`.
pub fn encode_group_commitment_list<C: Ciphersuite>(package: &SigningPackage<C>) -> Vec<u8> {
    let mut out = Vec::with_capacity(package.commitments.len() * (32 + 2 * C::POINT_LEN));
    for (id, c) in &package.commitments {
        out.extend_from_slice(&id.serialize::<C>());
        out.extend_from_slice(c.hiding_bytes());
        out.extend_from_slice(c.binding_bytes());
    }
    out
}

/// RFC 9591 §4.4: the common prefix of every binding factor input,
/// `SerializeElement(Q) ‖ H4(msg) ‖ H5(encode_group_commitment_list(commitments))`.
/// Signer i's input appends `SerializeScalar(i)`.
pub fn binding_factor_input_prefix<C: Ciphersuite>(
    output_key: &C::PointBytes,
    package: &SigningPackage<C>,
) -> Vec<u8> {
    let mut prefix = output_key.as_ref().to_vec();
    prefix.extend_from_slice(C::h4(&package.message).as_ref());
    prefix.extend_from_slice(C::h5(&encode_group_commitment_list(package)).as_ref());
    prefix
}

/// RFC 9591 §4.4 `compute_binding_factors`: `ρ_i = H1(prefix ‖ SerializeScalar(i))` for every
/// signer, in identifier order.
pub fn compute_binding_factors<C: Ciphersuite>(
    output_key: &C::PointBytes,
    package: &SigningPackage<C>,
) -> Vec<(Identifier, C::Scalar)> {
    let prefix = binding_factor_input_prefix(output_key, package);
    package
        .commitments
        .keys()
        .map(|id| (*id, C::h1(&[&prefix, &id.serialize::<C>()])))
        .collect()
}

/// Everything round two and aggregation derive from a package: binding factors, the group
/// commitment R (normalised to even y for BIP-340 suites) and the challenge.
pub(crate) struct Binding<C: Ciphersuite> {
    /// `ρ_i` in identifier order (the package's order).
    pub factors: Vec<(Identifier, C::Scalar)>,
    /// The group commitment as used in the signature.
    pub group_commitment: C::Point,
    /// BIP-340: R had odd y, so every nonce (and every commitment share) is negated.
    pub negated: bool,
    /// `c = H2(R ‖ Q ‖ msg)`.
    pub challenge: C::Scalar,
}

impl<C: Ciphersuite> Binding<C> {
    /// RFC 9591 §4.5 `compute_group_commitment` as one multiscalar multiplication,
    /// `R = Σ D_i + Σ ρ_i·E_i` (the D_i by plain additions), then the challenge (§4.6).
    pub fn new(
        output_key: &C::Point,
        output_key_bytes: &C::PointBytes,
        package: &SigningPackage<C>,
    ) -> Self {
        let factors = compute_binding_factors(output_key_bytes, package);
        let rhos: Vec<C::Scalar> = factors.iter().map(|(_, rho)| *rho).collect();
        let bindings: Vec<C::Point> = package.commitments.values().map(|c| *c.binding()).collect();
        let hidings: C::Point = package.commitments.values().map(|c| *c.hiding()).sum();
        let r = hidings + C::multiscalar_mul_vartime(&rhos, &bindings);
        let negated = !C::has_even_y(&r);
        let group_commitment = if negated { -r } else { r };
        let challenge = C::challenge(&group_commitment, output_key, &package.message);
        Self {
            factors,
            group_commitment,
            negated,
            challenge,
        }
    }

    /// Signer i's commitment share `±(D_i + ρ_i·E_i)`, sign matching the group commitment.
    pub fn commitment_share(&self, index: usize, c: &SigningCommitments<C>) -> C::Point {
        let share = *c.hiding() + *c.binding() * self.factors[index].1;
        if self.negated {
            -share
        } else {
            share
        }
    }
}
