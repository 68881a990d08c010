//! The targets of what comes from the network outside a protocol, from the disk, and from
//! the files a user hands `tessera`.

use std::{path::PathBuf, sync::OnceLock};

use tessera_cli::device::{
    address::Network,
    keyring::{self, DataKey},
    sealed,
    solana::Unsigned,
    transaction::{self, TxKind},
    Keystore,
};
use tessera_core::{Ed25519, Taproot};

use crate::protocols::public_of;

/// The session layer's request, response and proposal decoders.
pub fn wire(data: &[u8]) {
    let _ = tessera_p2p::Request::decode(data);
    let _ = tessera_p2p::Response::decode(data);
    let _ = tessera_p2p::Proposal::decode(data);
}

/// A scratch home for this process: a keyring made once (with the test KDF), and a folder
/// for one key.
fn scratch() -> Option<&'static (PathBuf, DataKey)> {
    static HOME: OnceLock<Option<(PathBuf, DataKey)>> = OnceLock::new();
    HOME.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tessera-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("keys").join("k")).ok()?;
        // The cheap KDF: this keyring guards nothing.
        std::env::set_var("TESSERA_INSECURE_TEST_KDF", "1");
        let key = keyring::create(&dir.join("keyring.json"), b"fuzz").ok()?;
        Some((dir, key))
    })
    .as_ref()
}

/// What a home holds, read as a node reads it: a key's public record (and its certificate),
/// the keyring file, and a sealed share file.
pub fn keystore(data: &[u8]) {
    let Some((dir, key)) = scratch() else {
        return;
    };
    let record = dir.join("keys").join("k").join("epoch-0.json");
    if std::fs::write(&record, data).is_ok() {
        let _ = Keystore::new(dir).epochs("k");
    }
    let ring = dir.join("fuzzed-keyring.json");
    if std::fs::write(&ring, data).is_ok() {
        let _ = keyring::unlock(&ring, b"fuzz");
    }
    let _ = sealed::open(key, &record, data, sealed::Kind::Share, b"header");
}

/// A PSBT as `tessera sign --psbt` and every signing device read it, for a taproot key;
/// the first byte chooses whether other sighash types are allowed.
pub fn psbt(data: &[u8]) {
    let (Some((flags, psbt)), Some(public)) = (data.split_first(), public_of::<Taproot>()) else {
        return;
    };
    let kind = TxKind::Psbt {
        network: Network::Regtest,
        any_sighash: flags & 1 == 1,
    };
    let _ = transaction::plan(kind, psbt, &public);
}

/// A Solana transaction as `tessera sign --solana-tx` reads it, and a message as every
/// signing device reads it, for an ed25519 key.
pub fn solana(data: &[u8]) {
    let Some(public) = public_of::<Ed25519>() else {
        return;
    };
    let _ = Unsigned::read(data, &public);
    let _ = transaction::plan(TxKind::Solana, data, &public);
}

/// A test-vector file, as `tessera vectors check FILE` loads and checks it.
pub fn vectors(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tessera_vectors::check_document("fuzz", text, None);
    }
}
