//! Transactions a device signs (design §6.5): what each one signs, and what its person is
//! shown, computed by this device from the transaction and its own copy of the key's public
//! data: a PSBT's inputs, outputs and fee ([`super::psbt`]), a Solana message's instructions
//! ([`super::solana`]).

use serde::{Deserialize, Serialize};
use tessera_keygen::PublicKeyShare;
use tessera_sign::SignItem;

use super::{address::Network, psbt, solana};

/// The largest transaction a session carries: it travels in the proposal, one frame of at
/// most 256 KiB.
pub const MAX_TRANSACTION: usize = 128 << 10;

/// What kind of transaction a signing session's message is (also on the control socket:
/// `{"type": "psbt", "network", "any_sighash"}` or `{"type": "solana"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum TxKind {
    /// A PSBT (BIP-174) for a taproot key, its addresses shown on `network`; `any_sighash`
    /// allows sighash types other than DEFAULT and ALL.
    Psbt {
        /// The network addresses are shown for.
        network: Network,
        /// Sighash types other than DEFAULT and ALL are allowed (with a warning).
        any_sighash: bool,
    },
    /// A Solana transaction message (legacy or v0) for an ed25519 key.
    Solana,
}

/// One payment of a transaction, as a person sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The address paid, or a description.
    pub to: String,
    /// The amount, in the view's unit.
    pub amount: u64,
    /// `change (m/1/0)` if the output pays this key back, shown against its xpub.
    #[serde(default)]
    pub change: Option<String>,
}

/// What a person approves of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct View {
    /// `bitcoin (regtest)` or `solana`.
    pub chain: String,
    /// The unit of amounts: `sat` or `lamports`.
    pub unit: String,
    /// What it spends and does, one line each (`spends txid:vout 50000 sat, key m/0/5`;
    /// `instruction 0: System transfer of …`).
    pub details: Vec<String>,
    /// What it pays.
    pub payments: Vec<Payment>,
    /// The fee, if the transaction shows it.
    pub fee: Option<u64>,
    /// Everything the approver should read twice: unusual sighash types, instructions this
    /// device cannot decode.
    pub warnings: Vec<String>,
    /// Whether some part is opaque to this device (signing it is blind signing).
    pub opaque: bool,
    /// What leaves the wallet, in the unit: payments that are not change, and the fee.
    pub outgoing: u64,
}

/// A transaction read by this device: what it signs and what its person sees.
pub struct Plan {
    /// One item per signature (a PSBT's inputs; a Solana message's one signature).
    pub items: Vec<SignItem>,
    /// The view.
    pub view: View,
}

/// `m/0/5` for `[0, 5]`.
pub fn path_text(path: &[u32]) -> String {
    std::iter::once("m".to_string())
        .chain(path.iter().map(u32::to_string))
        .collect::<Vec<_>>()
        .join("/")
}

/// Reads `message` as a transaction of `kind` for the key `public` (see the module doc).
/// The error is one line naming what is wrong.
pub fn plan(kind: TxKind, message: &[u8], public: &PublicKeyShare) -> Result<Plan, String> {
    if message.len() > MAX_TRANSACTION {
        return Err(format!(
            "the transaction is {} bytes; a session carries at most {MAX_TRANSACTION}",
            message.len()
        ));
    }
    match kind {
        TxKind::Psbt {
            network,
            any_sighash,
        } => {
            let key =
                psbt::KeyView::new(public.suite, &public.group_key, &public.chain_code, network)
                    .map_err(|e| e.to_string())?;
            let spend = key
                .spend(
                    &psbt::read(message).map_err(|e| e.to_string())?,
                    any_sighash,
                )
                .map_err(|e| e.to_string())?;
            Ok(psbt_plan(&spend, network))
        }
        TxKind::Solana => solana::plan(message, public),
    }
}

fn psbt_plan(spend: &psbt::Spend, network: Network) -> Plan {
    let warnings = spend
        .inputs
        .iter()
        .enumerate()
        .filter(|(_, i)| {
            !matches!(
                i.sighash,
                bitcoin::TapSighashType::Default | bitcoin::TapSighashType::All
            )
        })
        .map(|(n, i)| {
            format!(
                "input {n} signs with sighash {}: it does not commit to the whole transaction",
                i.sighash
            )
        })
        .collect();
    let view = View {
        chain: format!("bitcoin ({})", network_name(network)),
        unit: "sat".into(),
        details: spend
            .inputs
            .iter()
            .map(|i| {
                let mut line = format!(
                    "spends {} {} sat, key {}",
                    i.outpoint,
                    i.amount,
                    path_text(&i.path)
                );
                if let Some(root) = i.merkle_root {
                    line.push_str(&format!(", script tree {}", hex::encode(root)));
                }
                line
            })
            .collect(),
        payments: spend
            .outputs
            .iter()
            .map(|o| Payment {
                to: o.to.clone(),
                amount: o.amount,
                change: o
                    .change
                    .as_ref()
                    .map(|p| format!("change ({})", path_text(p))),
            })
            .collect(),
        fee: Some(spend.fee),
        warnings,
        opaque: false,
        outgoing: spend.outgoing(),
    };
    Plan {
        items: spend.items(),
        view,
    }
}

/// The network's name, as the command line spells it.
pub fn network_name(network: Network) -> &'static str {
    match network {
        Network::Mainnet => "mainnet",
        Network::Testnet => "testnet",
        Network::Signet => "signet",
        Network::Regtest => "regtest",
    }
}

/// A view as lines for a terminal.
pub fn lines(view: &View) -> Vec<String> {
    let mut lines = vec![format!("{} transaction", view.chain)];
    for d in &view.details {
        lines.push(format!("  {d}"));
    }
    for p in &view.payments {
        let change = p
            .change
            .as_deref()
            .map(|c| format!(" [{c}]"))
            .unwrap_or_default();
        lines.push(format!(
            "  pays   {} {} to {}{change}",
            p.amount, view.unit, p.to
        ));
    }
    if let Some(fee) = view.fee {
        lines.push(format!("  fee    {fee} {}", view.unit));
    }
    for w in &view.warnings {
        lines.push(format!("  WARNING: {w}"));
    }
    lines
}
