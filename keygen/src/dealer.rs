//! Trusted-dealer key splitting (RFC 9591 Appendix C.1 `trusted_dealer_keygen`), with a
//! Feldman check (Appendix C.2 `vss_verify`) of every share before it is handed out.
//!
//! A dealer sees the whole secret: use it to import an existing key into a threshold group,
//! then keep the dealer machine offline and erase it. New keys should come from the DKG.

use std::{collections::BTreeMap, sync::Arc};

use sha2::{Digest, Sha512};
use tessera_core::{
    keys::check_threshold, polynomial::SecretPolynomial, Ciphersuite, Ed25519, Error, Identifier,
    KeyPackage, PublicKeyPackage, SecretScalar,
};
use zeroize::Zeroizing;

/// Splits `secret` into `participants` shares with threshold `threshold`, identifiers
/// 1..=participants.
pub fn split<C: Ciphersuite>(
    secret: &SecretScalar<C>,
    threshold: u16,
    participants: u16,
    rng: &mut (impl rand_core::CryptoRng + ?Sized),
) -> Result<(Vec<KeyPackage<C>>, PublicKeyPackage<C>), Error> {
    check_threshold(threshold.into(), participants.into())?;
    let polynomial = SecretPolynomial::random(secret, threshold, rng)?;
    // The chain code is private to the group: with it, anyone could derive and link every
    // unhardened child key of the group key.
    let mut chain_code = [0u8; 32];
    rng.fill_bytes(&mut chain_code);
    split_with_polynomial(&polynomial, participants, chain_code)
}

/// Splits a fresh random secret.
pub fn split_random<C: Ciphersuite>(
    threshold: u16,
    participants: u16,
    rng: &mut (impl rand_core::CryptoRng + ?Sized),
) -> Result<(Vec<KeyPackage<C>>, PublicKeyPackage<C>), Error> {
    split(&SecretScalar::random(rng), threshold, participants, rng)
}

/// Splits an Ed25519 key given as its 32-byte seed (RFC 8032 private key). The shared secret
/// is the clamped scalar `clamp(SHA-512(seed)[..32]) mod L` that RFC 8032 signs with, not the
/// seed (design §2, must), so the group key equals the seed's RFC 8032 public key.
pub fn split_ed25519_seed(
    seed: &[u8; 32],
    threshold: u16,
    participants: u16,
    rng: &mut (impl rand_core::CryptoRng + ?Sized),
) -> Result<(Vec<KeyPackage<Ed25519>>, PublicKeyPackage<Ed25519>), Error> {
    let digest = Zeroizing::new(<[u8; 64]>::from(Sha512::digest(seed)));
    let mut clamped = Zeroizing::new([0u8; 32]);
    clamped.copy_from_slice(&digest[..32]);
    let secret = SecretScalar::new(curve25519_dalek::Scalar::from_bytes_mod_order(
        curve25519_dalek::scalar::clamp_integer(*clamped),
    ));
    split(&secret, threshold, participants, rng)
}

/// Shares of a given polynomial for identifiers 1..=participants, with the given BIP-32 chain
/// code (used by [`split`] and to replay reference vectors). Every share is checked against the
/// Feldman commitment.
pub fn split_with_polynomial<C: Ciphersuite>(
    polynomial: &SecretPolynomial<C>,
    participants: u16,
    chain_code: [u8; 32],
) -> Result<(Vec<KeyPackage<C>>, PublicKeyPackage<C>), Error> {
    let threshold = u16::try_from(polynomial.threshold()).map_err(|_| Error::InvalidThreshold {
        threshold: polynomial.threshold(),
        participants: participants.into(),
    })?;
    check_threshold(threshold.into(), participants.into())?;
    let commitment = polynomial.commit();
    let group_key = *commitment.constant().ok_or(Error::InvalidThreshold {
        threshold: 0,
        participants: participants.into(),
    })?;
    let mut shares = Vec::with_capacity(participants.into());
    let mut verifying_shares = BTreeMap::new();
    for id in 1..=participants {
        let id = Identifier::new(id)?;
        let share = polynomial.evaluate(id);
        if !commitment.verify_share(id, &share) {
            return Err(Error::ShareMismatch(id));
        }
        verifying_shares.insert(id, C::mul_base(share.expose_secret()));
        shares.push((id, share));
    }
    let public = Arc::new(PublicKeyPackage::new(
        group_key,
        verifying_shares,
        threshold,
        chain_code,
    )?);
    // Sized up front, each share cloned into its key package: collecting into a growing
    // vector, or moving the shares out of theirs, would leave copies in freed memory. `shares`
    // wipes itself when dropped.
    let mut keys = Vec::with_capacity(shares.len());
    for (id, share) in &shares {
        keys.push(KeyPackage::new(*id, share.clone(), Arc::clone(&public))?);
    }
    Ok((keys, PublicKeyPackage::clone(&public)))
}

#[cfg(test)]
mod tests;
