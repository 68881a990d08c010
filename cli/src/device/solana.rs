//! What a device reads out of a Solana transaction before it signs it (design §6.5), with the
//! Solana project's own transaction types (`solana-transaction`, decoded with `wincode`, the
//! codec of the Solana crates): the signer slot of the key, and every instruction it can
//! decode: System transfers (from, to, lamports) and SPL Token (and Token-2022) transfers.
//! Every other instruction is shown as opaque; signing one is blind signing.
//!
//! The session signs the transaction's message (legacy, or v0 with its `0x80` prefix), the
//! exact bytes every Solana signer signs with Ed25519 (no pre-hash). Each device decodes that
//! message itself and refuses one that does not name its key among the required signers.
//!
//! An instruction account of a v0 message may be an entry of an address lookup table, which
//! cannot be resolved offline: it is shown as that table and index.

use bitcoin::base64::{engine::general_purpose::STANDARD, Engine as _};
use solana_address::Address;
use solana_transaction::{versioned::VersionedTransaction, Signature, VersionedMessage};
use tessera_core::Suite;
use tessera_keygen::PublicKeyShare;
use tessera_sign::SignItem;

use super::transaction::{Payment, Plan, View};

/// The System Program.
const SYSTEM_PROGRAM: Address = Address::new_from_array([0; 32]);
/// The SPL Token program and Token-2022 (the same transfer instructions).
const TOKEN_PROGRAMS: [&str; 2] = [
    "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
    "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
];
/// System `Transfer`: `u32 LE 2 ‖ lamports u64 LE`; accounts `[from, to]`.
const SYSTEM_TRANSFER: [u8; 4] = 2u32.to_le_bytes();
/// SPL Token `Transfer`: `3 ‖ amount u64 LE`; accounts `[source, destination, authority]`.
const TOKEN_TRANSFER: u8 = 3;
/// SPL Token `TransferChecked`: `12 ‖ amount u64 LE ‖ decimals u8`; accounts `[source, mint,
/// destination, authority]`.
const TOKEN_TRANSFER_CHECKED: u8 = 12;

/// Base64 (standard alphabet, padded), as Solana tools print transactions.
pub fn base64_of(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// A file's bytes as a transaction: binary, or base64 text.
fn bytes_of(file: &[u8]) -> Vec<u8> {
    std::str::from_utf8(file)
        .ok()
        .and_then(|text| STANDARD.decode(text.trim()).ok())
        .unwrap_or_else(|| file.to_vec())
}

/// The 32-byte Ed25519 key of an ed25519 key's public data.
fn key_of(public: &PublicKeyShare) -> Result<[u8; 32], String> {
    if public.suite != Suite::Ed25519 {
        return Err("Solana transactions are signed with ed25519 keys".into());
    }
    <[u8; 32]>::try_from(public.group_key.as_slice())
        .map_err(|_| "the group key is not 32 bytes".to_string())
}

/// The signer slot of `key` in `message`: its index among the required signers.
fn slot_of(message: &VersionedMessage, key: &[u8; 32]) -> Result<usize, String> {
    let required = usize::from(message.header().num_required_signatures);
    message
        .static_account_keys()
        .get(..required)
        .and_then(|signers| signers.iter().position(|k| k.as_array() == key))
        .ok_or_else(|| {
            format!(
                "the transaction does not name this key ({}) among its signers",
                Address::new_from_array(*key)
            )
        })
}

/// An unsigned transaction that names the key as a signer.
pub struct Unsigned {
    transaction: VersionedTransaction,
    key: [u8; 32],
    slot: usize,
}

impl Unsigned {
    /// Reads a serialized transaction (binary or base64) for the key `public`: it must
    /// decode to the end, pass the Solana crates' own sanity checks, and name the key among
    /// its required signers.
    pub fn read(file: &[u8], public: &PublicKeyShare) -> Result<Self, String> {
        let key = key_of(public)?;
        let transaction: VersionedTransaction = wincode::deserialize_exact(&bytes_of(file))
            .map_err(|e| format!("not a Solana transaction: {e}"))?;
        legacy_or_v0(&transaction.message)?;
        transaction
            .sanitize()
            .map_err(|e| format!("not a valid Solana transaction: {e:?}"))?;
        let slot = slot_of(&transaction.message, &key)?;
        Ok(Self {
            transaction,
            key,
            slot,
        })
    }

    /// The message every signer signs.
    pub fn message(&self) -> Vec<u8> {
        self.transaction.message.serialize()
    }

    /// The transaction with `signature` (checked against the key and the message first) in
    /// the key's slot, serialized.
    pub fn signed(mut self, signature: &[u8; 64]) -> Result<Vec<u8>, String> {
        let key = ed25519_dalek::VerifyingKey::from_bytes(&self.key)
            .map_err(|_| "the group key is not an Ed25519 key".to_string())?;
        key.verify_strict(
            &self.message(),
            &ed25519_dalek::Signature::from_bytes(signature),
        )
        .map_err(|_| "the signature does not verify under the key".to_string())?;
        let slot = self
            .transaction
            .signatures
            .get_mut(self.slot)
            .ok_or("the transaction has no slot for the key's signature")?;
        *slot = Signature::from(*signature);
        wincode::serialize(&self.transaction).map_err(|e| e.to_string())
    }
}

/// An instruction account as a person reads it.
fn account(message: &VersionedMessage, index: u8) -> String {
    let keys = message.static_account_keys();
    if let Some(k) = keys.get(usize::from(index)) {
        return k.to_string();
    }
    // Loaded addresses: every table's writable entries, then every table's read-only ones.
    let lookups = message.address_table_lookups().unwrap_or(&[]);
    let mut j = usize::from(index).saturating_sub(keys.len());
    for writable in [true, false] {
        for l in lookups {
            let entries = if writable {
                &l.writable_indexes
            } else {
                &l.readonly_indexes
            };
            if let Some(entry) = entries.get(j) {
                return format!("entry {entry} of lookup table {}", l.account_key);
            }
            j -= entries.len();
        }
    }
    format!("account {index} (out of range)")
}

/// A little-endian u64 at the start of `bytes`.
fn u64_at(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?))
}

/// What an instruction does, if this device can tell: a line, and a System transfer's
/// payment (from, to, lamports).
fn decode(
    message: &VersionedMessage,
    program: &Address,
    accounts: &[u8],
    data: &[u8],
) -> Option<(String, Option<(String, Payment)>)> {
    let acc = |n: usize| accounts.get(n).map(|&a| account(message, a));
    if *program == SYSTEM_PROGRAM && data.get(..4) == Some(&SYSTEM_TRANSFER[..]) {
        let (from, to, lamports) = (acc(0)?, acc(1)?, u64_at(data.get(4..)?)?);
        let line = format!("System transfer of {lamports} lamports from {from} to {to}");
        let payment = Payment {
            to,
            amount: lamports,
            change: None,
        };
        return Some((line, Some((from, payment))));
    }
    if !TOKEN_PROGRAMS.contains(&program.to_string().as_str()) {
        return None;
    }
    let line = match *data.first()? {
        TOKEN_TRANSFER => format!(
            "SPL token transfer of {} base units from token account {} to {}, authority {}",
            u64_at(data.get(1..)?)?,
            acc(0)?,
            acc(1)?,
            acc(2)?
        ),
        TOKEN_TRANSFER_CHECKED => format!(
            "SPL token transfer of {} base units ({} decimals) of mint {} from token account {} to {}, authority {}",
            u64_at(data.get(1..)?)?,
            data.get(9)?,
            acc(1)?,
            acc(0)?,
            acc(2)?,
            acc(3)?
        ),
        _ => return None,
    };
    Some((line, None))
}

/// Refuses a message of another version than legacy and v0.
fn legacy_or_v0(message: &VersionedMessage) -> Result<(), String> {
    match message {
        VersionedMessage::V1(_) => Err("only legacy and v0 Solana messages are signed".into()),
        _ => Ok(()),
    }
}

/// `bytes` decoded, to the end, as a sane legacy or v0 Solana message.
fn message_of(bytes: &[u8]) -> Result<VersionedMessage, String> {
    let message: VersionedMessage = wincode::deserialize_exact(bytes)
        .map_err(|e| format!("not a Solana transaction message: {e}"))?;
    legacy_or_v0(&message)?;
    message
        .sanitize()
        .map_err(|e| format!("not a valid Solana message: {e:?}"))?;
    Ok(message)
}

/// Whether `bytes` decode, to the end, as a sane legacy or v0 Solana message.
pub fn is_message(bytes: &[u8]) -> bool {
    message_of(bytes).is_ok()
}

/// Reads a Solana transaction message for the key `public` (see the module doc).
pub fn plan(bytes: &[u8], public: &PublicKeyShare) -> Result<Plan, String> {
    let key = key_of(public)?;
    let message = message_of(bytes)?;
    let slot = slot_of(&message, &key)?;
    let me = Address::new_from_array(key).to_string();
    let keys = message.static_account_keys();
    let mut details = vec![if slot == 0 {
        format!("signs as the fee payer {me}")
    } else {
        format!("signs as signer {slot} ({me})")
    }];
    let mut payments = Vec::new();
    let mut warnings = Vec::new();
    let mut outgoing = 0u64;
    for (n, ix) in message.instructions().iter().enumerate() {
        // Sanitized: every program id is a static key.
        let Some(program) = keys.get(usize::from(ix.program_id_index)) else {
            return Err(format!("instruction {n} names no program"));
        };
        match decode(&message, program, &ix.accounts, &ix.data) {
            Some((line, payment)) => {
                details.push(format!("instruction {n}: {line}"));
                // An account from a lookup table cannot be checked offline.
                if ix.accounts.iter().any(|&a| usize::from(a) >= keys.len()) {
                    warnings.push(format!(
                        "instruction {n} names accounts of an address lookup table, which this device cannot check"
                    ));
                }
                if let Some((from, payment)) = payment {
                    if from == me {
                        outgoing = outgoing.saturating_add(payment.amount);
                    }
                    payments.push(payment);
                }
            }
            None => warnings.push(format!(
                "instruction {n} of program {program} ({} accounts, {} bytes of data) cannot be decoded here: signing it is blind signing",
                ix.accounts.len(),
                ix.data.len()
            )),
        }
    }
    let view = View {
        chain: "solana".into(),
        unit: "lamports".into(),
        details,
        payments,
        fee: None,
        opaque: !warnings.is_empty(),
        warnings,
        outgoing,
    };
    Ok(Plan {
        items: vec![SignItem {
            message: bytes.to_vec(),
            tweak: tessera_core::Tweak::none(),
        }],
        view,
    })
}
