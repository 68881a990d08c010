//! What a device reads out of a PSBT before it signs it (design §6.5), with the `bitcoin`
//! crate: which inputs are this key's, what each spends and pays, the fee, and the BIP-341
//! key-path sighash each input's signature commits to.
//!
//! Every device computes all of it from the PSBT and its own copy of the key's public data
//! (group key and chain code, the xpub it exported); nothing is taken from the initiator's
//! word. An input is this key's only if it names an internal key (`tap_internal_key`) that
//! is the group key, or a child whose `tap_key_origins` entry carries this key's xpub
//! fingerprint and an unhardened path that derives to it, *and* its `witness_utxo` pays to
//! the P2TR output key of that internal key and the input's `tap_merkle_root` (BIP-86 without
//! one). An output is change only when it is shown the same way, at a path a wallet scans
//! (`m/0/i` or `m/1/i`, i below [`CHANGE_INDEX_LIMIT`]), with no script tree.

use bitcoin::{
    bip32::{ChildNumber, DerivationPath, Fingerprint},
    hashes::Hash as _,
    key::Secp256k1,
    psbt::Psbt,
    secp256k1::{schnorr, Message},
    sighash::{Prevouts, SighashCache},
    taproot::{self, TapNodeHash},
    Address, Amount, ScriptBuf, TapSighashType, Transaction, TxOut, Witness, XOnlyPublicKey,
};
use tessera_core::{Suite, TaprootTweak, Tweak};
use tessera_sign::SignItem;

use super::address::{self, Network};

/// The most inputs one PSBT session signs (each is one signature of the session).
pub const MAX_INPUTS: usize = 64;
/// The deepest child path an input may name: deeper ones are not this key's, so a PSBT
/// cannot make a device derive without bound before anyone approved it.
pub const MAX_PATH_DEPTH: usize = 8;
/// Change is a child at `m/0/i` or `m/1/i` with `i` below this: where a wallet that imported
/// the key's descriptors finds it. Any other output of this key is a payment.
pub const CHANGE_INDEX_LIMIT: u32 = 100_000;

/// Why a PSBT is not signed; every message names the input or output at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PsbtError {
    /// The bytes are not a PSBT (binary or base64).
    #[error("not a PSBT: {0}")]
    Malformed(String),
    /// The key is not a taproot key.
    #[error("PSBTs are signed with taproot keys")]
    NotTaproot,
    /// An input without the output it spends.
    #[error("input {0} has no witness_utxo: every input must carry the output it spends")]
    MissingUtxo(usize),
    /// An input that does not name this key.
    #[error("input {0} is not this key's (its tap_internal_key is neither the key nor a child in tap_key_origins with this key's fingerprint)")]
    ForeignInput(usize),
    /// An input whose UTXO does not pay to the key its fields name.
    #[error(
        "input {0}'s witness_utxo does not pay to the key and merkle root its PSBT fields name"
    )]
    WrongUtxo(usize),
    /// A sighash type other than DEFAULT or ALL, without the flag that allows it.
    #[error("input {input} asks for sighash {kind}; only DEFAULT and ALL are signed without --allow-sighash")]
    Sighash {
        /// The input.
        input: usize,
        /// The type asked for.
        kind: String,
    },
    /// Outputs worth more than the inputs, or amounts that overflow.
    #[error("the outputs ({outputs} sat) are worth more than the inputs ({inputs} sat)")]
    Amounts {
        /// Sum of the inputs.
        inputs: u64,
        /// Sum of the outputs.
        outputs: u64,
    },
    /// Two inputs that spend one output.
    #[error("input {0} spends the same output as an earlier input")]
    DuplicateInput(usize),
    /// Too many or no inputs.
    #[error("a PSBT is signed with 1 to {MAX_INPUTS} inputs, not {0}")]
    Inputs(usize),
    /// The signatures do not fit the PSBT (not one per input, or one that does not verify).
    #[error("signature of input {0} does not verify under its output key")]
    Signature(usize),
    /// Finalizing failed.
    #[error("cannot finalize: {0}")]
    Finalize(String),
}

/// One input of this key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendInput {
    /// `txid:vout`.
    pub outpoint: String,
    /// The amount it spends, in satoshi.
    pub amount: u64,
    /// The child key's unhardened path (empty: the key itself).
    pub path: Vec<u32>,
    /// The script tree's merkle root the output key commits to (none: BIP-86).
    pub merkle_root: Option<[u8; 32]>,
    /// The sighash type its signature carries.
    pub sighash: TapSighashType,
    /// The BIP-341 key-path sighash.
    pub sighash_digest: [u8; 32],
}

/// One output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendOutput {
    /// Its address on the session's network, or `script <hex>` for a script with none.
    pub to: String,
    /// Its amount, in satoshi.
    pub amount: u64,
    /// The path of this key's child it pays back to, if it is change shown against the xpub.
    pub change: Option<Vec<u32>>,
}

/// What a PSBT spends and pays, as one device computed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spend {
    /// The inputs, in order (all of them this key's).
    pub inputs: Vec<SpendInput>,
    /// The outputs, in order.
    pub outputs: Vec<SpendOutput>,
    /// Inputs minus outputs, in satoshi.
    pub fee: u64,
}

impl Spend {
    /// What the session signs: each input's sighash under its child key and merkle root.
    pub fn items(&self) -> Vec<SignItem> {
        self.inputs
            .iter()
            .map(|i| SignItem {
                message: i.sighash_digest.to_vec(),
                tweak: Tweak {
                    derivation: i.path.clone(),
                    taproot: match i.merkle_root {
                        Some(root) => TaprootTweak::MerkleRoot(root),
                        None => TaprootTweak::Bip86,
                    },
                },
            })
            .collect()
    }

    /// What leaves the wallet: every output that is not change, and the fee, in satoshi.
    pub fn outgoing(&self) -> u64 {
        self.outputs
            .iter()
            .filter(|o| o.change.is_none())
            .fold(self.fee, |sum, o| sum.saturating_add(o.amount))
    }
}

/// Reads a PSBT from a file's bytes: binary (BIP-174) or base64 text.
pub fn read(bytes: &[u8]) -> Result<Psbt, PsbtError> {
    if bytes.starts_with(b"psbt\xff") {
        return Psbt::deserialize(bytes).map_err(|e| PsbtError::Malformed(e.to_string()));
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| PsbtError::Malformed("neither binary nor base64".into()))?;
    text.trim()
        .parse::<Psbt>()
        .map_err(|e| PsbtError::Malformed(e.to_string()))
}

/// The public data of a taproot key a device checks a PSBT against.
pub struct KeyView {
    group_key: Vec<u8>,
    chain_code: [u8; 32],
    fingerprint: Fingerprint,
    network: Network,
}

impl KeyView {
    /// The key with group key `group_key` (33 bytes) and `chain_code`, on `network`.
    pub fn new(
        suite: Suite,
        group_key: &[u8],
        chain_code: &[u8; 32],
        network: Network,
    ) -> Result<Self, PsbtError> {
        let xpub = address::xpub(suite, group_key, chain_code, network)
            .map_err(|_| PsbtError::NotTaproot)?;
        Ok(Self {
            group_key: group_key.to_vec(),
            chain_code: *chain_code,
            fingerprint: xpub.fingerprint(),
            network,
        })
    }

    /// The internal key of this key's child at `path`.
    fn child(&self, path: &[u32]) -> Option<XOnlyPublicKey> {
        address::derive(
            Suite::Taproot,
            &self.group_key,
            &self.chain_code,
            path,
            self.network,
        )
        .ok()
        .map(|(key, _)| key)
    }

    /// The path of `key` if it is this key or a child named in `origins` with this key's
    /// fingerprint (and derives to it).
    fn path_of(
        &self,
        key: &XOnlyPublicKey,
        origins: &std::collections::BTreeMap<
            XOnlyPublicKey,
            (Vec<taproot::TapLeafHash>, bitcoin::bip32::KeySource),
        >,
    ) -> Option<Vec<u32>> {
        if self.child(&[]).as_ref() == Some(key) {
            return Some(Vec::new());
        }
        let (_, (fingerprint, path)) = origins.get(key)?;
        if *fingerprint != self.fingerprint || path.len() > MAX_PATH_DEPTH {
            return None;
        }
        let path = unhardened(path)?;
        (self.child(&path).as_ref() == Some(key)).then_some(path)
    }

    /// The P2TR script of `internal` with `merkle_root` (BIP-86 without one).
    fn script(internal: XOnlyPublicKey, merkle_root: Option<TapNodeHash>) -> ScriptBuf {
        ScriptBuf::new_p2tr(&Secp256k1::verification_only(), internal, merkle_root)
    }

    /// Reads `psbt` (see the module doc). `any_sighash`: sighash types other than DEFAULT
    /// and ALL are allowed (the approval warns).
    pub fn spend(&self, psbt: &Psbt, any_sighash: bool) -> Result<Spend, PsbtError> {
        let count = psbt.inputs.len();
        if count == 0 || count > MAX_INPUTS || count != psbt.unsigned_tx.input.len() {
            return Err(PsbtError::Inputs(count));
        }
        let outpoints = &psbt.unsigned_tx.input;
        for (i, input) in outpoints.iter().enumerate() {
            if outpoints[..i]
                .iter()
                .any(|o| o.previous_output == input.previous_output)
            {
                return Err(PsbtError::DuplicateInput(i));
            }
        }
        let mut utxos: Vec<TxOut> = Vec::with_capacity(count);
        for (i, input) in psbt.inputs.iter().enumerate() {
            utxos.push(
                input
                    .witness_utxo
                    .clone()
                    .ok_or(PsbtError::MissingUtxo(i))?,
            );
        }
        let mut cache = SighashCache::new(&psbt.unsigned_tx);
        let mut inputs = Vec::with_capacity(count);
        for (i, (input, utxo)) in psbt.inputs.iter().zip(&utxos).enumerate() {
            let internal = input.tap_internal_key.ok_or(PsbtError::ForeignInput(i))?;
            let path = self
                .path_of(&internal, &input.tap_key_origins)
                .ok_or(PsbtError::ForeignInput(i))?;
            if utxo.script_pubkey != Self::script(internal, input.tap_merkle_root) {
                return Err(PsbtError::WrongUtxo(i));
            }
            let sighash = match input.sighash_type {
                None => TapSighashType::Default,
                Some(t) => t.taproot_hash_ty().map_err(|_| PsbtError::Sighash {
                    input: i,
                    kind: t.to_string(),
                })?,
            };
            if !any_sighash && !matches!(sighash, TapSighashType::Default | TapSighashType::All) {
                return Err(PsbtError::Sighash {
                    input: i,
                    kind: sighash.to_string(),
                });
            }
            let digest = cache
                .taproot_key_spend_signature_hash(i, &Prevouts::All(&utxos), sighash)
                .map_err(|e| PsbtError::Malformed(format!("input {i}: {e}")))?;
            let outpoint = psbt.unsigned_tx.input[i].previous_output;
            inputs.push(SpendInput {
                outpoint: outpoint.to_string(),
                amount: utxo.value.to_sat(),
                path,
                merkle_root: input.tap_merkle_root.map(|r| r.to_byte_array()),
                sighash,
                sighash_digest: digest.to_byte_array(),
            });
        }
        let outputs: Vec<SpendOutput> = psbt
            .unsigned_tx
            .output
            .iter()
            .zip(&psbt.outputs)
            .map(|(out, fields)| SpendOutput {
                to: Address::from_script(&out.script_pubkey, bitcoin::Network::from(self.network))
                    .map(|a| a.to_string())
                    .unwrap_or_else(|_| format!("script {}", out.script_pubkey.to_hex_string())),
                amount: out.value.to_sat(),
                change: fields.tap_internal_key.and_then(|internal| {
                    let path = self.path_of(&internal, &fields.tap_key_origins)?;
                    // Change is BIP-86 (no script tree) on a chain a wallet scans.
                    let scanned = matches!(path[..], [0 | 1, i] if i < CHANGE_INDEX_LIMIT);
                    (scanned
                        && fields.tap_tree.is_none()
                        && out.script_pubkey == Self::script(internal, None))
                    .then_some(path)
                }),
            })
            .collect();
        let paid_in = total(inputs.iter().map(|i| i.amount));
        let paid_out = total(outputs.iter().map(|o| o.amount));
        let fee = match (paid_in, paid_out) {
            (Some(i), Some(o)) if o <= i && Amount::from_sat(i) <= Amount::MAX_MONEY => i - o,
            (i, o) => {
                return Err(PsbtError::Amounts {
                    inputs: i.unwrap_or(u64::MAX),
                    outputs: o.unwrap_or(u64::MAX),
                })
            }
        };
        Ok(Spend {
            inputs,
            outputs,
            fee,
        })
    }
}

/// The sum of `amounts`, if it does not overflow.
fn total(mut amounts: impl Iterator<Item = u64>) -> Option<u64> {
    amounts.try_fold(0u64, |sum, a| sum.checked_add(a))
}

/// The unhardened indices of `path`, if every step is unhardened.
fn unhardened(path: &DerivationPath) -> Option<Vec<u32>> {
    path.into_iter()
        .map(|c| match c {
            ChildNumber::Normal { index } => Some(*index),
            ChildNumber::Hardened { .. } => None,
        })
        .collect()
}

/// Writes each input's key-path signature (`tap_key_sig`), each checked first with the
/// `bitcoin` crate against the output key its `witness_utxo` pays to.
pub fn apply(psbt: &mut Psbt, spend: &Spend, signatures: &[[u8; 64]]) -> Result<(), PsbtError> {
    if signatures.len() != spend.inputs.len() || psbt.inputs.len() != spend.inputs.len() {
        return Err(PsbtError::Signature(
            signatures.len().min(spend.inputs.len()),
        ));
    }
    let secp = Secp256k1::verification_only();
    for (i, (input, signature)) in psbt.inputs.iter_mut().zip(signatures).enumerate() {
        let planned = &spend.inputs[i];
        let script = input
            .witness_utxo
            .as_ref()
            .map(|u| u.script_pubkey.clone())
            .ok_or(PsbtError::MissingUtxo(i))?;
        // A P2TR script is OP_1 ‖ push 32 ‖ the output key (checked against the key above).
        let output_key = script
            .as_bytes()
            .get(2..34)
            .and_then(|k| XOnlyPublicKey::from_slice(k).ok())
            .ok_or(PsbtError::WrongUtxo(i))?;
        let sig = schnorr::Signature::from_slice(signature).map_err(|_| PsbtError::Signature(i))?;
        secp.verify_schnorr(
            &sig,
            &Message::from_digest(planned.sighash_digest),
            &output_key,
        )
        .map_err(|_| PsbtError::Signature(i))?;
        input.tap_key_sig = Some(taproot::Signature {
            signature: sig,
            sighash_type: planned.sighash,
        });
    }
    Ok(())
}

/// Finalizes every input as a key-path spend (BIP-174 finalizer: the witness is the
/// signature; the other signing fields are cleared) and extracts the transaction.
pub fn finalize(mut psbt: Psbt) -> Result<Transaction, PsbtError> {
    for (i, input) in psbt.inputs.iter_mut().enumerate() {
        let signature = input
            .tap_key_sig
            .ok_or_else(|| PsbtError::Finalize(format!("input {i} is not signed")))?;
        *input = bitcoin::psbt::Input {
            witness_utxo: input.witness_utxo.take(),
            non_witness_utxo: input.non_witness_utxo.take(),
            final_script_witness: Some(Witness::p2tr_key_spend(&signature)),
            ..Default::default()
        };
    }
    psbt.extract_tx()
        .map_err(|e| PsbtError::Finalize(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::{
        absolute::LockTime, bip32::Xpub, psbt::PsbtSighashType, transaction::Version, OutPoint,
        Sequence, TxIn, Txid,
    };
    use std::str::FromStr;
    use tessera_core::{Ciphersuite, Taproot};

    const CHAIN_CODE: [u8; 32] = [7; 32];

    /// A key, its view, and its xpub.
    fn key() -> (KeyView, Xpub) {
        let p = Taproot::serialize_point(&Taproot::mul_base(&11u64.into())).unwrap();
        let view = KeyView::new(Suite::Taproot, p.as_ref(), &CHAIN_CODE, Network::Regtest).unwrap();
        let xpub =
            address::xpub(Suite::Taproot, p.as_ref(), &CHAIN_CODE, Network::Regtest).unwrap();
        (view, xpub)
    }

    /// A one-input PSBT spending the child m/0/1 under `merkle_root`, paying 9000 sat to
    /// `to` with `fields` on the output.
    fn psbt(
        view: &KeyView,
        xpub: &Xpub,
        merkle_root: Option<TapNodeHash>,
        to: ScriptBuf,
        fields: bitcoin::psbt::Output,
    ) -> Psbt {
        let internal = view.child(&[0, 1]).unwrap();
        let tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::new(Txid::from_byte_array([1; 32]), 0),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(9_000),
                script_pubkey: to,
            }],
        };
        let mut psbt = Psbt::from_unsigned_tx(tx).unwrap();
        psbt.inputs[0] = bitcoin::psbt::Input {
            witness_utxo: Some(TxOut {
                value: Amount::from_sat(10_000),
                script_pubkey: KeyView::script(internal, merkle_root),
            }),
            tap_internal_key: Some(internal),
            tap_merkle_root: merkle_root,
            tap_key_origins: [(
                internal,
                (
                    Vec::new(),
                    (
                        xpub.fingerprint(),
                        DerivationPath::from_str("m/0/1").unwrap(),
                    ),
                ),
            )]
            .into(),
            ..Default::default()
        };
        psbt.outputs[0] = fields;
        psbt
    }

    /// An input under a script tree is signed with that merkle root's tweak; SIGHASH_ALL is
    /// kept on the signature; a PSBT round-trips through base64 and binary.
    #[test]
    fn merkle_roots_and_sighash_all_are_read() {
        let (view, xpub) = key();
        let root = TapNodeHash::from_byte_array([5; 32]);
        let mut p = psbt(
            &view,
            &xpub,
            Some(root),
            ScriptBuf::new(),
            Default::default(),
        );
        p.inputs[0].sighash_type = Some(PsbtSighashType::from(TapSighashType::All));
        let spend = view.spend(&p, false).unwrap();
        assert_eq!(spend.fee, 1_000);
        assert_eq!(spend.inputs[0].path, vec![0, 1]);
        assert_eq!(spend.inputs[0].sighash, TapSighashType::All);
        assert_eq!(
            spend.items()[0].tweak.taproot,
            TaprootTweak::MerkleRoot([5; 32])
        );
        assert!(spend.outputs[0].to.starts_with("script "));
        assert_eq!(read(p.serialize().as_slice()).unwrap(), p);
        assert_eq!(read(p.to_string().as_bytes()).unwrap(), p);
        // The same input claiming no script tree spends another output: refused.
        p.inputs[0].tap_merkle_root = None;
        assert_eq!(view.spend(&p, false), Err(PsbtError::WrongUtxo(0)));
    }

    /// An output is change only if its key derives from the xpub at its path, on a chain a
    /// wallet scans, and its script is that key's BIP-86 output; a claim with another
    /// fingerprint, a hardened path, another chain or another script is a payment.
    #[test]
    fn change_is_shown_only_against_the_xpub() {
        let (view, xpub) = key();
        let change = view.child(&[1, 0]).unwrap();
        let fields = |fingerprint: Fingerprint, path: &str| bitcoin::psbt::Output {
            tap_internal_key: Some(change),
            tap_key_origins: [(
                change,
                (
                    Vec::new(),
                    (fingerprint, DerivationPath::from_str(path).unwrap()),
                ),
            )]
            .into(),
            ..Default::default()
        };
        let ours = KeyView::script(change, None);
        let cases = [
            (
                ours.clone(),
                fields(xpub.fingerprint(), "m/1/0"),
                Some(vec![1, 0]),
            ),
            (
                ours.clone(),
                fields(Fingerprint::from([1; 4]), "m/1/0"),
                None,
            ),
            (ours.clone(), fields(xpub.fingerprint(), "m/1/1"), None),
            (ours.clone(), fields(xpub.fingerprint(), "m/1'/0"), None),
            (
                KeyView::script(view.child(&[5, 0]).unwrap(), None),
                bitcoin::psbt::Output {
                    tap_internal_key: view.child(&[5, 0]),
                    tap_key_origins: [(
                        view.child(&[5, 0]).unwrap(),
                        (
                            Vec::new(),
                            (
                                xpub.fingerprint(),
                                DerivationPath::from_str("m/5/0").unwrap(),
                            ),
                        ),
                    )]
                    .into(),
                    ..Default::default()
                },
                None,
            ),
            (
                KeyView::script(change, Some(TapNodeHash::from_byte_array([2; 32]))),
                fields(xpub.fingerprint(), "m/1/0"),
                None,
            ),
        ];
        for (script, fields, expected) in cases {
            let spend = view
                .spend(&psbt(&view, &xpub, None, script, fields), false)
                .unwrap();
            assert_eq!(spend.outputs[0].change, expected);
            let outgoing = if expected.is_some() { 1_000 } else { 10_000 };
            assert_eq!(spend.outgoing(), outgoing);
        }
    }

    /// Outputs worth more than the inputs, and inputs claiming another key's fingerprint or
    /// no internal key, are refused; other sighash types only with the flag.
    #[test]
    fn bad_amounts_keys_and_sighashes_are_refused() {
        let (view, xpub) = key();
        let mut p = psbt(&view, &xpub, None, ScriptBuf::new(), Default::default());
        p.unsigned_tx.output[0].value = Amount::from_sat(10_001);
        assert!(matches!(
            view.spend(&p, false),
            Err(PsbtError::Amounts { .. })
        ));
        let mut p = psbt(&view, &xpub, None, ScriptBuf::new(), Default::default());
        p.inputs[0].tap_internal_key = None;
        assert_eq!(view.spend(&p, false), Err(PsbtError::ForeignInput(0)));
        let mut p = psbt(&view, &xpub, None, ScriptBuf::new(), Default::default());
        for origin in p.inputs[0].tap_key_origins.values_mut() {
            origin.1 .0 = Fingerprint::from([9; 4]);
        }
        assert_eq!(view.spend(&p, false), Err(PsbtError::ForeignInput(0)));
        let mut p = psbt(&view, &xpub, None, ScriptBuf::new(), Default::default());
        p.inputs[0].sighash_type = Some(PsbtSighashType::from(
            TapSighashType::SinglePlusAnyoneCanPay,
        ));
        assert!(matches!(
            view.spend(&p, false),
            Err(PsbtError::Sighash { input: 0, .. })
        ));
        let spend = view.spend(&p, true).unwrap();
        assert_eq!(
            spend.inputs[0].sighash,
            TapSighashType::SinglePlusAnyoneCanPay
        );
        let mut p = psbt(&view, &xpub, None, ScriptBuf::new(), Default::default());
        p.unsigned_tx.input.push(p.unsigned_tx.input[0].clone());
        p.inputs.push(p.inputs[0].clone());
        assert_eq!(view.spend(&p, false), Err(PsbtError::DuplicateInput(1)));
        assert!(matches!(
            read(b"psbt\xff\x00"),
            Err(PsbtError::Malformed(_))
        ));
        assert!(matches!(read(&[0xff; 10]), Err(PsbtError::Malformed(_))));
    }
}
