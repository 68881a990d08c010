//! Shared helpers for the signing tests: run a whole FROST session in one process.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};

use rand_chacha::ChaCha20Rng;
use tessera_core::{Ciphersuite, Identifier, KeyPackage, PublicKeyPackage, Tweak};
use tessera_sign::{
    Aggregator, SignError, Signature, SignatureShare, Signer, SigningPackage, SigningRequest,
};

/// Runs a test body for every suite: `name => body;` makes a `#[test] fn name` that calls
/// `body::<C>()` for Ed25519, secp256k1 and Taproot.
#[macro_export]
macro_rules! all_suites {
    ($($name:ident => $body:ident;)*) => {$(
        #[test]
        fn $name() {
            $body::<tessera_core::Ed25519>();
            $body::<tessera_core::Secp256k1>();
            $body::<tessera_core::Taproot>();
        }
    )*};
}

pub fn request(signers: &[Identifier], message: &[u8], tweak: Tweak) -> SigningRequest {
    SigningRequest {
        session_id: [0x11; 32],
        message: message.to_vec(),
        tweak,
        signers: signers.iter().copied().collect::<BTreeSet<_>>(),
    }
}

/// Everything a finished round two leaves behind.
pub struct Session<C: Ciphersuite> {
    pub aggregator: Aggregator<C>,
    pub package: SigningPackage<C>,
    pub shares: BTreeMap<Identifier, SignatureShare<C>>,
}

/// Runs rounds one and two for the keys with the given identifiers.
pub fn run_rounds<C: Ciphersuite>(
    keys: &[KeyPackage<C>],
    public: &PublicKeyPackage<C>,
    signer_ids: &[Identifier],
    message: &[u8],
    tweak: Tweak,
    rng: &mut ChaCha20Rng,
) -> Result<Session<C>, SignError> {
    let req = request(signer_ids, message, tweak);
    let mut signers: Vec<Signer<C>> = keys
        .iter()
        .filter(|k| signer_ids.contains(&k.identifier()))
        .map(|k| Signer::new(k, req.clone()))
        .collect::<Result<_, _>>()?;
    let mut nonces = Vec::new();
    let mut commitments = BTreeMap::new();
    for s in &mut signers {
        let (n, c) = s.commit(rng)?;
        nonces.push(n);
        commitments.insert(s.identifier(), c);
    }
    let package = SigningPackage::new(commitments, message.to_vec());
    let mut shares = BTreeMap::new();
    for (s, n) in signers.iter().zip(nonces) {
        shares.insert(s.identifier(), s.sign(n, &package)?);
    }
    Ok(Session {
        aggregator: Aggregator::new(public, req)?,
        package,
        shares,
    })
}

/// A whole session: rounds, aggregation, and the output key.
pub fn sign<C: Ciphersuite>(
    keys: &[KeyPackage<C>],
    public: &PublicKeyPackage<C>,
    signer_ids: &[Identifier],
    message: &[u8],
    tweak: Tweak,
    rng: &mut ChaCha20Rng,
) -> Result<(Signature<C>, C::Point), SignError> {
    let s = run_rounds(keys, public, signer_ids, message, tweak, rng)?;
    let sig = s.aggregator.aggregate(&s.package, &s.shares)?;
    Ok((sig, *s.aggregator.session().output_key()))
}

pub fn ids(v: &[u16]) -> Vec<Identifier> {
    v.iter().map(|&i| Identifier::new(i).unwrap()).collect()
}
