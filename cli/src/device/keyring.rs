//! The home's keyring (design §5): one Argon2id derivation from the passphrase gives a
//! key-encryption key, which unwraps the home's random data key (XChaCha20-Poly1305). Every
//! secret file is sealed with the data key ([`crate::device::sealed`]), so a home with many
//! keys unlocks with one slow derivation, and a passphrase change rewrites this file only.
//!
//! `keyring.json`: `{"format": 1, "kdf": {"algorithm": "argon2id", "version": 19,
//! "m_cost_kib", "t_cost", "p_cost", "salt"}, "data_key": {"nonce", "ciphertext"}}`, hex
//! strings. The wrap's associated data is a domain tag and every KDF parameter, so editing the
//! parameters (a downgrade) makes the passphrase fail rather than weaken the file.

use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::{AeadInOut, KeyInit, XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::device::{error::StoreError, files};

/// The current keyring format.
const FORMAT: u32 = 1;
/// Associated data of the data key's wrap, before the parameters.
const WRAP_DOMAIN: &[u8] = b"tessera/v1/keyring/data-key";
/// The environment setting that allows a keyring below the floor (tests and the demo only).
pub const INSECURE_TEST_KDF: &str = "TESSERA_INSECURE_TEST_KDF";

/// Argon2id costs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Costs {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

/// tessera's floor: 256 MiB, 3 passes (design §5).
pub const FLOOR: Costs = Costs {
    m_cost_kib: 256 * 1024,
    t_cost: 3,
    p_cost: 1,
};

/// Costs for tests and the demo only, allowed with [`INSECURE_TEST_KDF`]`=1`.
const INSECURE: Costs = Costs {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};

impl Costs {
    /// Whether these costs are at least the floor.
    fn meets_floor(&self) -> bool {
        self.m_cost_kib >= FLOOR.m_cost_kib && self.t_cost >= FLOOR.t_cost && self.p_cost >= 1
    }

    /// The costs a new keyring gets: the floor, or the test costs where they are allowed.
    pub fn for_new_keyring() -> Self {
        if insecure_allowed() {
            INSECURE
        } else {
            FLOOR
        }
    }
}

/// Whether the insecure test setting is on.
pub fn insecure_allowed() -> bool {
    std::env::var(INSECURE_TEST_KDF).is_ok_and(|v| v == "1")
}

#[derive(Serialize, Deserialize)]
struct Kdf {
    algorithm: String,
    version: u32,
    #[serde(flatten)]
    costs: Costs,
    #[serde(with = "hex::serde")]
    salt: [u8; 32],
}

#[derive(Serialize, Deserialize)]
struct Wrapped {
    #[serde(with = "hex::serde")]
    nonce: [u8; 24],
    #[serde(with = "hex::serde")]
    ciphertext: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct KeyringFile {
    format: u32,
    kdf: Kdf,
    data_key: Wrapped,
}

/// The home's data key, which seals every secret file. Wiped on drop; never printed.
pub struct DataKey(Zeroizing<[u8; 32]>);

impl DataKey {
    /// The AEAD under this key.
    pub(crate) fn cipher(&self) -> XChaCha20Poly1305 {
        // A 32-byte key is what XChaCha20-Poly1305 takes.
        aead(&self.0)
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// XChaCha20-Poly1305 under a 32-byte key.
fn aead(key: &[u8; 32]) -> XChaCha20Poly1305 {
    XChaCha20Poly1305::new(&(*key).into())
}

/// Fresh random bytes from the operating system.
pub(crate) fn random<const N: usize>() -> Result<[u8; N], StoreError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| StoreError::io(Path::new("getrandom"), e.into()))?;
    Ok(out)
}

/// The key-encryption key of `passphrase` under `kdf`.
fn derive(passphrase: &[u8], kdf: &Kdf, path: &Path) -> Result<Zeroizing<[u8; 32]>, StoreError> {
    let c = kdf.costs;
    let params = Params::new(c.m_cost_kib, c.t_cost, c.p_cost, Some(32))
        .map_err(|_| StoreError::corrupt(path, "invalid key derivation parameters"))?;
    let mut kek = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(passphrase, &kdf.salt, &mut *kek)
        .map_err(|_| StoreError::corrupt(path, "key derivation failed"))?;
    Ok(kek)
}

/// The associated data of the wrap: the domain and every KDF parameter.
fn wrap_aad(kdf: &Kdf) -> Vec<u8> {
    let mut aad = WRAP_DOMAIN.to_vec();
    for v in [
        kdf.version,
        kdf.costs.m_cost_kib,
        kdf.costs.t_cost,
        kdf.costs.p_cost,
    ] {
        aad.extend_from_slice(&v.to_be_bytes());
    }
    aad.extend_from_slice(&kdf.salt);
    aad
}

/// Wraps `data_key` under `passphrase` with `costs` and a fresh salt.
fn wrap(
    data_key: &DataKey,
    passphrase: &[u8],
    costs: Costs,
    path: &Path,
) -> Result<Vec<u8>, StoreError> {
    let kdf = Kdf {
        algorithm: "argon2id".into(),
        version: 0x13,
        costs,
        salt: random()?,
    };
    let kek = derive(passphrase, &kdf, path)?;
    let nonce: [u8; 24] = random()?;
    let mut buffer = Zeroizing::new(Vec::with_capacity(32 + 16));
    buffer.extend_from_slice(&*data_key.0);
    aead(&kek)
        .encrypt_in_place(&XNonce::from(nonce), &wrap_aad(&kdf), &mut *buffer)
        .map_err(|_| StoreError::corrupt(path, "the data key could not be wrapped"))?;
    let file = KeyringFile {
        format: FORMAT,
        kdf,
        data_key: Wrapped {
            nonce,
            ciphertext: buffer.to_vec(),
        },
    };
    serde_json::to_vec_pretty(&file).map_err(|_| StoreError::corrupt(path, "unencodable keyring"))
}

/// Creates the keyring at `path` with a fresh random data key under `passphrase`.
pub fn create(path: &Path, passphrase: &[u8]) -> Result<DataKey, StoreError> {
    let data_key = DataKey(Zeroizing::new(random()?));
    files::write_atomic(
        path,
        &wrap(&data_key, passphrase, Costs::for_new_keyring(), path)?,
    )?;
    Ok(data_key)
}

/// Reads the keyring at `path`, checking its format and that its costs meet the floor.
fn read(path: &Path) -> Result<KeyringFile, StoreError> {
    let bytes = files::read_secret(path)?;
    let file: KeyringFile =
        serde_json::from_slice(&bytes).map_err(|_| StoreError::corrupt(path, "not a keyring"))?;
    if file.format > FORMAT {
        return Err(StoreError::NewerFormat {
            path: path.to_path_buf(),
            found: file.format,
        });
    }
    if file.kdf.algorithm != "argon2id" || file.kdf.version != 0x13 || file.format != FORMAT {
        return Err(StoreError::corrupt(path, "unknown key derivation"));
    }
    // Costs far above any sane setting would make an edited keyring exhaust memory or time
    // before its authentication could fail.
    let c = file.kdf.costs;
    if c.m_cost_kib > 16 * 1024 * 1024 || c.t_cost > 64 || c.p_cost > 16 {
        return Err(StoreError::corrupt(
            path,
            "key derivation costs out of range",
        ));
    }
    if !file.kdf.costs.meets_floor() && !insecure_allowed() {
        return Err(StoreError::WeakKeyring {
            path: path.to_path_buf(),
        });
    }
    Ok(file)
}

/// Unlocks the keyring at `path`: one Argon2id derivation, then the data key.
pub fn unlock(path: &Path, passphrase: &[u8]) -> Result<DataKey, StoreError> {
    let file = read(path)?;
    let kek = derive(passphrase, &file.kdf, path)?;
    let mut buffer = Zeroizing::new(file.data_key.ciphertext.clone());
    aead(&kek)
        .decrypt_in_place(
            &XNonce::from(file.data_key.nonce),
            &wrap_aad(&file.kdf),
            &mut *buffer,
        )
        .map_err(|_| StoreError::WrongPassphrase)?;
    let key: [u8; 32] = buffer
        .as_slice()
        .try_into()
        .map_err(|_| StoreError::corrupt(path, "the data key has the wrong length"))?;
    Ok(DataKey(Zeroizing::new(key)))
}

/// Re-wraps the data key under `new`: one atomic write of this file, the secret files
/// untouched, so an interrupted change leaves the old passphrase working.
pub fn change(path: &Path, old: &[u8], new: &[u8]) -> Result<(), StoreError> {
    let data_key = unlock(path, old)?;
    let costs = read(path)?.kdf.costs;
    let costs = if costs.meets_floor() {
        costs
    } else {
        Costs::for_new_keyring()
    };
    files::write_atomic(path, &wrap(&data_key, new, costs, path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyring_unlocks_changes_and_refuses() {
        std::env::set_var(INSECURE_TEST_KDF, "1");
        let dir = std::env::temp_dir().join(format!("tessera-keyring-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        files::create_dir(&dir).unwrap();
        let path = dir.join("keyring.json");
        let key = create(&path, b"correct horse").unwrap();
        assert_eq!(*unlock(&path, b"correct horse").unwrap().0, *key.0);
        assert!(matches!(
            unlock(&path, b"wrong"),
            Err(StoreError::WrongPassphrase)
        ));
        change(&path, b"correct horse", b"battery staple").unwrap();
        assert!(matches!(
            unlock(&path, b"correct horse"),
            Err(StoreError::WrongPassphrase)
        ));
        assert_eq!(*unlock(&path, b"battery staple").unwrap().0, *key.0);
        // A downgraded cost fails authentication instead of weakening the file.
        let mut file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        file["kdf"]["t_cost"] = 2.into();
        files::write_atomic(&path, &serde_json::to_vec(&file).unwrap()).unwrap();
        assert!(matches!(
            unlock(&path, b"battery staple"),
            Err(StoreError::WrongPassphrase)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
