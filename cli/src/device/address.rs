//! What a key is shown as (design §2, Taproot key model): the key signatures verify under,
//! and an address, made by each chain's own library.
//!
//! - ed25519: the group key P, and its Solana address (base58 of the 32-byte key).
//! - taproot: the BIP-86 output key Q, x-only, from tessera's one tweak function; the address
//!   is the `bitcoin` crate's P2TR address of the internal key P (bech32m), which computes
//!   the same tweak on its own.
//! - secp256k1: the compressed key P (no standard address).

use bitcoin::{key::Secp256k1, Address, XOnlyPublicKey};
use tessera_core::{Ciphersuite, KeyTweak, Suite, Taproot, Tweak};

/// A Bitcoin network, for Taproot addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Network {
    /// Bitcoin mainnet (`bc1p…`).
    Mainnet,
    /// Testnet (`tb1p…`).
    Testnet,
    /// Signet (`tb1p…`).
    Signet,
    /// Regtest (`bcrt1p…`).
    Regtest,
}

impl From<Network> for bitcoin::Network {
    fn from(n: Network) -> Self {
        match n {
            Network::Mainnet => bitcoin::Network::Bitcoin,
            Network::Testnet => bitcoin::Network::Testnet,
            Network::Signet => bitcoin::Network::Signet,
            Network::Regtest => bitcoin::Network::Regtest,
        }
    }
}

/// Why a key could not be shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the group key does not decode: {0}")]
pub struct AddressError(&'static str);

/// The key signatures verify under, in the form verifiers take it (x-only for taproot).
pub fn verifying_key(
    suite: Suite,
    group_key: &[u8],
    chain_code: &[u8; 32],
) -> Result<Vec<u8>, AddressError> {
    match suite {
        Suite::Ed25519 | Suite::Secp256k1 => Ok(group_key.to_vec()),
        Suite::Taproot => {
            let p = Taproot::deserialize_point(group_key).map_err(|_| AddressError("taproot"))?;
            let tweak = KeyTweak::<Taproot>::derive(&p, chain_code, &Tweak::bip86())
                .map_err(|_| AddressError("BIP-86 tweak"))?;
            Taproot::serialize_verifying_key(tweak.output_key()).map_err(|_| AddressError("Q"))
        }
    }
}

/// The address of a key (see the module doc).
pub fn address(suite: Suite, group_key: &[u8], network: Network) -> Result<String, AddressError> {
    match suite {
        Suite::Ed25519 => Ok(bs58::encode(group_key).into_string()),
        Suite::Secp256k1 => Ok(hex::encode(group_key)),
        Suite::Taproot => {
            let x_only = group_key.get(1..).ok_or(AddressError("taproot"))?;
            let internal =
                XOnlyPublicKey::from_slice(x_only).map_err(|_| AddressError("x-only key"))?;
            let secp = Secp256k1::verification_only();
            Ok(Address::p2tr(&secp, internal, None, bitcoin::Network::from(network)).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn taproot_address_encodes_the_bip86_output_key() {
        // Keys with odd and even y: the address's witness program is tessera's Q.
        for k in 1u64..6 {
            let p = Taproot::mul_base(&k.into());
            let p = Taproot::serialize_point(&p).unwrap();
            let q = verifying_key(Suite::Taproot, p.as_ref(), &[0; 32]).unwrap();
            let text = address(Suite::Taproot, p.as_ref(), Network::Mainnet).unwrap();
            assert!(text.starts_with("bc1p"), "{text}");
            let parsed = Address::from_str(&text)
                .unwrap()
                .require_network(bitcoin::Network::Bitcoin)
                .unwrap();
            assert_eq!(&parsed.script_pubkey().as_bytes()[2..], q.as_slice());
        }
        let regtest = address(Suite::Taproot, &[2; 33], Network::Regtest);
        assert!(regtest.is_err() || regtest.unwrap().starts_with("bcrt1p"));
    }

    #[test]
    fn solana_address_is_base58_of_the_key() {
        let text = address(Suite::Ed25519, &[0; 32], Network::Mainnet).unwrap();
        assert_eq!(text, "11111111111111111111111111111111");
    }
}
