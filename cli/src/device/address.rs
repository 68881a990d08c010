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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
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

impl Network {
    /// Every network, in the order of their codes.
    pub const ALL: [Network; 4] = [
        Network::Mainnet,
        Network::Testnet,
        Network::Signet,
        Network::Regtest,
    ];

    /// The network's byte in signing parameters (design §7.3).
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The network of a parameter byte.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|n| n.code() == code)
    }
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

/// The extended public key of a taproot key: the internal (untweaked) group key P with its
/// parity and the chain code the DKG transcript fixed, at depth 0 (BIP-32 serialization by
/// the `bitcoin` crate). A watch-only wallet derives the same children from it as tessera.
pub fn xpub(
    suite: Suite,
    group_key: &[u8],
    chain_code: &[u8; 32],
    network: Network,
) -> Result<bitcoin::bip32::Xpub, AddressError> {
    if suite != Suite::Taproot {
        return Err(AddressError("an extended public key is for taproot keys"));
    }
    Ok(bitcoin::bip32::Xpub {
        network: bitcoin::NetworkKind::from(bitcoin::Network::from(network)),
        depth: 0,
        parent_fingerprint: Default::default(),
        child_number: bitcoin::bip32::ChildNumber::from_normal_idx(0)
            .map_err(|_| AddressError("child number"))?,
        public_key: bitcoin::secp256k1::PublicKey::from_slice(group_key)
            .map_err(|_| AddressError("taproot"))?,
        chain_code: bitcoin::bip32::ChainCode::from(*chain_code),
    })
}

/// The Taproot descriptor of a key's receive addresses (`chain` 0: `tr(XPUB/0/*)`) or change
/// addresses (`chain` 1: `tr(XPUB/1/*)`), with its BIP-380 checksum (by the `miniscript`
/// crate): what a watch-only wallet imports.
pub fn descriptor(xpub: &bitcoin::bip32::Xpub, chain: u32) -> Result<String, AddressError> {
    let d: miniscript::Descriptor<miniscript::DescriptorPublicKey> =
        format!("tr({xpub}/{chain}/*)")
            .parse()
            .map_err(|_| AddressError("descriptor"))?;
    Ok(d.to_string())
}

/// The child of a taproot key at the unhardened `path`, from tessera's one tweak function
/// (BIP-32 `CKDpub` on P, design §2): its internal key (x-only) and its BIP-86 P2TR address.
pub fn derive(
    suite: Suite,
    group_key: &[u8],
    chain_code: &[u8; 32],
    path: &[u32],
    network: Network,
) -> Result<(XOnlyPublicKey, String), AddressError> {
    if suite != Suite::Taproot {
        return Err(AddressError("derivation is for taproot keys"));
    }
    let p = Taproot::deserialize_point(group_key).map_err(|_| AddressError("taproot"))?;
    let tweak = Tweak {
        derivation: path.to_vec(),
        taproot: tessera_core::TaprootTweak::None,
    };
    let child = KeyTweak::<Taproot>::derive(&p, chain_code, &tweak)
        .map_err(|_| AddressError("a hardened or too deep path"))?;
    let x_only = Taproot::serialize_verifying_key(child.output_key())
        .map_err(|_| AddressError("child key"))?;
    let internal = XOnlyPublicKey::from_slice(&x_only).map_err(|_| AddressError("x-only key"))?;
    let secp = Secp256k1::verification_only();
    let address = Address::p2tr(&secp, internal, None, bitcoin::Network::from(network));
    Ok((internal, address.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    /// A child tessera derives is the child the `bitcoin` crate derives from the exported
    /// xpub, for keys of both parities, and so is its address.
    #[test]
    fn children_match_the_bitcoin_crates_derivation_from_the_xpub() {
        let secp = Secp256k1::verification_only();
        for k in 1u64..5 {
            let p = Taproot::serialize_point(&Taproot::mul_base(&k.into())).unwrap();
            let chain_code = [k as u8 * 17; 32];
            let x = xpub(Suite::Taproot, p.as_ref(), &chain_code, Network::Mainnet).unwrap();
            let parsed = bitcoin::bip32::Xpub::from_str(&x.to_string()).unwrap();
            for path in [vec![0u32], vec![0, 5], vec![1, 2, 3]] {
                let text: String = std::iter::once("m".to_string())
                    .chain(path.iter().map(u32::to_string))
                    .collect::<Vec<_>>()
                    .join("/");
                let theirs = parsed
                    .derive_pub(
                        &secp,
                        &bitcoin::bip32::DerivationPath::from_str(&text).unwrap(),
                    )
                    .unwrap();
                let (internal, address) = derive(
                    Suite::Taproot,
                    p.as_ref(),
                    &chain_code,
                    &path,
                    Network::Mainnet,
                )
                .unwrap();
                assert_eq!(internal, theirs.public_key.x_only_public_key().0, "{text}");
                let expected = Address::p2tr(
                    &secp,
                    theirs.public_key.x_only_public_key().0,
                    None,
                    bitcoin::Network::Bitcoin,
                );
                assert_eq!(address, expected.to_string());
            }
            // The descriptor a watch-only wallet imports gives the same receive addresses.
            let d: miniscript::Descriptor<miniscript::DescriptorPublicKey> =
                descriptor(&x, 0).unwrap().parse().unwrap();
            for i in [0u32, 7] {
                let from_descriptor = d
                    .at_derivation_index(i)
                    .unwrap()
                    .address(bitcoin::Network::Bitcoin)
                    .unwrap();
                let (_, ours) = derive(
                    Suite::Taproot,
                    p.as_ref(),
                    &chain_code,
                    &[0, i],
                    Network::Mainnet,
                )
                .unwrap();
                assert_eq!(ours, from_descriptor.to_string());
            }
        }
        assert!(derive(
            Suite::Taproot,
            &[2; 33],
            &[0; 32],
            &[0x8000_0000],
            Network::Mainnet
        )
        .is_err());
        assert!(xpub(Suite::Ed25519, &[0; 32], &[0; 32], Network::Mainnet).is_err());
    }

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
