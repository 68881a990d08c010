//! Lagrange coefficients (RFC 9591 §4.2 `derive_interpolating_value`), at x = 0 and at any x.

use ff::Field;

use crate::{
    error::Error,
    identifier::{check_sorted_distinct, Identifier},
    suite::Ciphersuite,
};

/// `λ_i = Π_{j≠i} x_j / (x_j − x_i)` for `id` within the sorted, distinct set `ids`,
/// with one field inversion.
pub fn lagrange_coefficient<C: Ciphersuite>(
    id: Identifier,
    ids: &[Identifier],
) -> Result<C::Scalar, Error> {
    lagrange_coefficient_at::<C>(id, ids, &C::Scalar::ZERO)
}

/// `λ_i(x) = Π_{j≠i} (x − x_j) / (x_i − x_j)`: the Lagrange basis polynomial of `id` within
/// the sorted, distinct set `ids`, evaluated at `x` (share repair evaluates it at the lost
/// party's identifier, design §3.4). One field inversion.
pub fn lagrange_coefficient_at<C: Ciphersuite>(
    id: Identifier,
    ids: &[Identifier],
    x: &C::Scalar,
) -> Result<C::Scalar, Error> {
    check_sorted_distinct(ids)?;
    if ids.binary_search(&id).is_err() {
        return Err(Error::UnknownIdentifier(id));
    }
    let xi = id.to_scalar::<C>();
    let (mut num, mut den) = (C::Scalar::ONE, C::Scalar::ONE);
    for &j in ids.iter().filter(|&&j| j != id) {
        let xj = j.to_scalar::<C>();
        num *= *x - xj;
        den *= xi - xj;
    }
    // den is a product of differences of distinct identifiers below the group order: non-zero.
    Ok(num * Option::<C::Scalar>::from(den.invert()).expect("distinct identifiers"))
}

/// All `λ_i` of the sorted, distinct set `ids`, with a single batched inversion.
///
/// `λ_i = Π_{j≠i} (−x_j)/(x_i − x_j) = P / ((−x_i) · Π_{j≠i}(x_i − x_j))` with
/// `P = Π_j (−x_j)`; the t denominators are inverted together by Montgomery's trick.
pub fn lagrange_coefficients<C: Ciphersuite>(ids: &[Identifier]) -> Result<Vec<C::Scalar>, Error> {
    check_sorted_distinct(ids)?;
    let xs: Vec<C::Scalar> = ids.iter().map(|id| id.to_scalar::<C>()).collect();
    let product: C::Scalar = xs.iter().map(|x| -*x).product();
    let mut dens: Vec<C::Scalar> = node_products::<C>(&xs)
        .into_iter()
        .zip(&xs)
        .map(|(d, x)| -*x * d)
        .collect();
    batch_invert::<C>(&mut dens);
    Ok(dens.into_iter().map(|d| product * d).collect())
}

/// `Π_{j≠i} (x_i − x_j)` for every node `x_i` of `xs` (the inverses are the barycentric
/// interpolation weights). O(n²) multiplications.
pub fn node_products<C: Ciphersuite>(xs: &[C::Scalar]) -> Vec<C::Scalar> {
    xs.iter()
        .enumerate()
        .map(|(i, xi)| {
            xs.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .fold(C::Scalar::ONE, |acc, (_, xj)| acc * (*xi - xj))
        })
        .collect()
}

/// Inverts every element of `values` in place with one inversion (Montgomery's trick).
/// All values must be non-zero; they are public (identifiers), so this is not constant time.
pub fn batch_invert<C: Ciphersuite>(values: &mut [C::Scalar]) {
    if values.is_empty() {
        return;
    }
    let mut prefix = Vec::with_capacity(values.len());
    let mut acc = C::Scalar::ONE;
    for v in values.iter() {
        prefix.push(acc);
        acc *= v;
    }
    // Callers pass non-zero values only (products of differences of distinct identifiers).
    let mut inv = Option::<C::Scalar>::from(acc.invert()).expect("non-zero inputs");
    for (v, p) in values.iter_mut().zip(prefix).rev() {
        let next = inv * *v;
        *v = inv * p;
        inv = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ed25519, Secp256k1};

    fn ids(v: &[u16]) -> Vec<Identifier> {
        v.iter().map(|&i| Identifier::new(i).unwrap()).collect()
    }

    fn check<C: Ciphersuite>() {
        let set = ids(&[1, 3, 4, 9, 200, 65535]);
        let all = lagrange_coefficients::<C>(&set).unwrap();
        for (id, l) in set.iter().zip(&all) {
            assert_eq!(*l, lagrange_coefficient::<C>(*id, &set).unwrap());
        }
        // Σ λ_i = 1: interpolating the constant polynomial 1.
        assert_eq!(all.iter().copied().sum::<C::Scalar>(), C::Scalar::ONE);
    }

    #[test]
    fn batched_matches_single_and_sums_to_one() {
        check::<Ed25519>();
        check::<Secp256k1>();
    }

    #[test]
    fn rejects_bad_sets() {
        assert!(matches!(
            lagrange_coefficients::<Ed25519>(&ids(&[1, 1, 2])),
            Err(Error::DuplicateIdentifier(_))
        ));
        assert!(lagrange_coefficients::<Ed25519>(&ids(&[2, 1])).is_err());
        assert!(matches!(
            lagrange_coefficient::<Ed25519>(Identifier::new(5).unwrap(), &ids(&[1, 2])),
            Err(Error::UnknownIdentifier(_))
        ));
    }
}
