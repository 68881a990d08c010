//! A watch-only wallet of a tessera taproot key, built with the `bitcoin` crate from the xpub
//! `tessera keys xpub` exports: its keys, scripts and PSBTs that spend them.

use std::{collections::BTreeMap, path::Path, str::FromStr};

use bitcoin::{
    absolute::LockTime,
    bip32::{DerivationPath, Xpub},
    hashes::Hash,
    key::Secp256k1,
    psbt::{Input, Output, Psbt},
    transaction::Version,
    Address, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut, Txid, Witness,
    XOnlyPublicKey,
};

use super::homes::json;

/// `tessera sign` of a PSBT with the key `vault` on regtest by this device and b; the PSBT
/// file comes next.
pub const SIGN_PSBT: [&str; 8] = [
    "sign",
    "--key",
    "vault",
    "--network",
    "regtest",
    "--signers",
    "b",
    "--psbt",
];

/// An address outside the wallet: the BIP-86 address of the key 3·G on regtest.
pub fn outside() -> Address {
    let secp = Secp256k1::new();
    let key = bitcoin::secp256k1::SecretKey::from_slice(&[3; 32]).unwrap();
    let internal = key.x_only_public_key(&secp).0;
    Address::p2tr(&secp, internal, None, bitcoin::Network::Regtest)
}

/// The wallet as a watch-only wallet sees it: the xpub `tessera keys xpub` exported.
pub struct Wallet {
    pub xpub: Xpub,
}

impl Wallet {
    pub fn of(home: &Path, key: &str) -> Self {
        let exported = json(home, &["keys", "xpub", key, "--network", "regtest"]);
        Wallet {
            xpub: Xpub::from_str(exported["xpub"].as_str().unwrap()).unwrap(),
        }
    }

    /// The internal key at `path` ("m" for the key itself), derived from the xpub.
    pub fn internal(&self, path: &str) -> XOnlyPublicKey {
        let secp = Secp256k1::verification_only();
        let child = self
            .xpub
            .derive_pub(&secp, &DerivationPath::from_str(path).unwrap())
            .unwrap();
        child.public_key.x_only_public_key().0
    }

    pub fn script(&self, path: &str) -> ScriptBuf {
        ScriptBuf::new_p2tr(&Secp256k1::verification_only(), self.internal(path), None)
    }

    /// The BIP-174 fields that name the key at `path`: its internal key and origin.
    pub fn origin(
        &self,
        path: &str,
    ) -> (
        XOnlyPublicKey,
        BTreeMap<
            XOnlyPublicKey,
            (
                Vec<bitcoin::taproot::TapLeafHash>,
                bitcoin::bip32::KeySource,
            ),
        >,
    ) {
        let internal = self.internal(path);
        let origins = BTreeMap::from([(
            internal,
            (
                Vec::new(),
                (
                    self.xpub.fingerprint(),
                    DerivationPath::from_str(path).unwrap(),
                ),
            ),
        )]);
        (internal, origins)
    }

    /// An input of 50 000 sat at `path`, with its witness_utxo and key fields.
    pub fn input(&self, path: &str) -> (TxOut, Input) {
        let utxo = TxOut {
            value: Amount::from_sat(50_000),
            script_pubkey: self.script(path),
        };
        let (internal, origins) = self.origin(path);
        let input = Input {
            witness_utxo: Some(utxo.clone()),
            tap_internal_key: Some(internal),
            tap_key_origins: if path == "m" {
                BTreeMap::new()
            } else {
                origins
            },
            ..Default::default()
        };
        (utxo, input)
    }

    /// A PSBT that spends the key itself and its child m/0/5 (50 000 sat each), pays
    /// `pay` sat outside and the rest but a 1000 sat fee to the change key m/1/0.
    pub fn psbt(&self, pay: u64, seed: u8) -> Psbt {
        self.spend(&["m", "m/0/5"], pay, seed)
    }

    /// A PSBT that spends 50 000 sat at each of `paths` (outputs `seed:0`, `seed:1`, …),
    /// pays `pay` sat outside and the rest but a 1000 sat fee to the change key m/1/0.
    pub fn spend(&self, paths: &[&str], pay: u64, seed: u8) -> Psbt {
        let change = 50_000 * paths.len() as u64 - pay - 1_000;
        let tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: (0..paths.len() as u32)
                .map(|vout| TxIn {
                    previous_output: OutPoint {
                        txid: Txid::from_byte_array([seed; 32]),
                        vout,
                    },
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                    witness: Witness::new(),
                })
                .collect(),
            output: vec![
                TxOut {
                    value: Amount::from_sat(pay),
                    script_pubkey: outside().script_pubkey(),
                },
                TxOut {
                    value: Amount::from_sat(change),
                    script_pubkey: self.script("m/1/0"),
                },
            ],
        };
        let mut psbt = Psbt::from_unsigned_tx(tx).unwrap();
        psbt.inputs = paths.iter().map(|p| self.input(p).1).collect();
        let (internal, origins) = self.origin("m/1/0");
        psbt.outputs[1] = Output {
            tap_internal_key: Some(internal),
            tap_key_origins: origins,
            ..Default::default()
        };
        psbt
    }
}
