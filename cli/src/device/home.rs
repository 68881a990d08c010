//! A device's home folder (design §5): `--home`, else `TESSERA_HOME`, else the OS data dir.
//!
//! | file | what | secret |
//! |---|---|---|
//! | `home.json` | format, the device's name, listen addresses, its PeerId | no |
//! | `keyring.json` | the Argon2id parameters and the wrapped data key ([`crate::device::keyring`]) | wrapped |
//! | `identity.sealed` | the device's Ed25519 identity seed, sealed | yes |
//! | `peers.json` | known peers with local names | no |
//! | `audit.log` | the hash-chained audit log | no |
//! | `seen` | session ids started, across restarts | no |
//! | `keys/<name>/` | one key's epochs ([`crate::device::keystore`]) | per epoch |
//! | `node.lock` | held by the running node | no |
//!
//! Every file and folder is owner-only; files are replaced atomically
//! ([`crate::device::files`]), except `audit.log` and `seen`, which are appended and synced.

use std::{
    fs::{File, OpenOptions},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use tessera_core::{Ed25519Identity, IdentitySigner};
use zeroize::Zeroizing;

use crate::device::{
    error::StoreError,
    files,
    keyring::{self, DataKey},
    sealed::{self, Kind},
};

/// The current format of `home.json`.
const FORMAT: u32 = 1;

/// The environment variable naming the home when `--home` is not given.
pub const HOME_ENV: &str = "TESSERA_HOME";

/// `home.json`: what anyone may read about this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The format of this file.
    pub format: u32,
    /// The device's own name, offered in its contact string.
    pub name: String,
    /// The addresses its node listens on.
    pub listen: Vec<String>,
    /// Its identity key (the Ed25519 key its PeerId embeds), hex.
    #[serde(with = "hex::serde")]
    pub identity: [u8; 32],
    /// The relay its node reserves a slot on (a multiaddr ending in the relay's
    /// `/p2p/PEERID`, design §4.11), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<String>,
}

/// A home folder, opened but not unlocked.
#[derive(Debug, Clone)]
pub struct Home {
    root: PathBuf,
    config: Config,
}

/// A home unlocked with its passphrase: the data key and the device identity.
pub struct Unlocked {
    /// The data key that seals every secret file.
    pub data_key: DataKey,
    /// The device's identity seed (its libp2p key and protocol identity).
    pub seed: Zeroizing<[u8; 32]>,
}

impl Home {
    /// The home folder: `flag`, else `TESSERA_HOME`, else the OS data dir.
    pub fn locate(flag: Option<&Path>) -> Result<PathBuf, StoreError> {
        if let Some(p) = flag {
            return Ok(p.to_path_buf());
        }
        if let Some(p) = std::env::var_os(HOME_ENV).filter(|p| !p.is_empty()) {
            return Ok(PathBuf::from(p));
        }
        directories::ProjectDirs::from("", "", "tessera")
            .map(|d| d.data_dir().to_path_buf())
            .ok_or_else(|| StoreError::NotAHome {
                path: PathBuf::from("(no home folder: pass --home or set TESSERA_HOME)"),
            })
    }

    /// Creates a home at `root` with a fresh identity, sealed under `passphrase`.
    pub fn create(
        root: &Path,
        name: &str,
        listen: Vec<String>,
        passphrase: &[u8],
    ) -> Result<(Home, Unlocked), StoreError> {
        // Any of a home's secrets means a home is there, even without its configuration: a new
        // keyring would make every share under it unreadable.
        let taken = ["home.json", "keyring.json", "identity.sealed"]
            .iter()
            .any(|f| root.join(f).exists())
            || std::fs::read_dir(root.join("keys")).is_ok_and(|mut d| d.next().is_some());
        if taken {
            return Err(StoreError::HomeExists {
                path: root.to_path_buf(),
            });
        }
        files::create_dir(root)?;
        // Owner-only even if the folder existed: the control socket and the keys live here.
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(files::DIR_MODE))
            .map_err(|e| StoreError::io(root, e))?;
        files::create_dir(&root.join("keys"))?;
        let data_key = keyring::create(&root.join("keyring.json"), passphrase)?;
        let seed = Zeroizing::new(keyring::random::<32>()?);
        let identity = *Ed25519Identity::from_seed(&seed).identity().as_bytes();
        let path = root.join("identity.sealed");
        files::write_atomic(
            &path,
            &sealed::seal(&data_key, Kind::Identity, &identity, &*seed)?,
        )?;
        let config = Config {
            format: FORMAT,
            name: name.to_string(),
            listen,
            identity,
            relay: None,
        };
        let home = Home {
            root: root.to_path_buf(),
            config,
        };
        // Written last: a home is a home once this file exists.
        home.save_config()?;
        Ok((home, Unlocked { data_key, seed }))
    }

    /// Opens the home at `root` (reading public files only).
    pub fn open(root: &Path) -> Result<Home, StoreError> {
        let path = root.join("home.json");
        if !path.exists() {
            return Err(StoreError::NotAHome {
                path: root.to_path_buf(),
            });
        }
        let config: Config = serde_json::from_slice(&files::read(&path)?)
            .map_err(|_| StoreError::corrupt(&path, "not a home configuration"))?;
        if config.format > FORMAT {
            return Err(StoreError::NewerFormat {
                path,
                found: config.format,
            });
        }
        Ok(Home {
            root: root.to_path_buf(),
            config,
        })
    }

    /// Unlocks the home: one key derivation, then the identity, checked against the public
    /// identity in `home.json`.
    pub fn unlock(&self, passphrase: &[u8]) -> Result<Unlocked, StoreError> {
        let data_key = keyring::unlock(&self.path("keyring.json"), passphrase)?;
        let path = self.path("identity.sealed");
        let bytes = files::read_secret(&path)?;
        let secret = sealed::open(
            &data_key,
            &path,
            &bytes,
            Kind::Identity,
            &self.config.identity,
        )?;
        let seed: [u8; 32] = secret
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::corrupt(&path, "the identity has the wrong length"))?;
        let seed = Zeroizing::new(seed);
        if Ed25519Identity::from_seed(&seed).identity().as_bytes() != &self.config.identity {
            return Err(StoreError::corrupt(
                &path,
                "the identity does not match home.json",
            ));
        }
        Ok(Unlocked { data_key, seed })
    }

    /// Changes the passphrase: re-wraps the data key only (one atomic write).
    pub fn change_passphrase(&self, old: &[u8], new: &[u8]) -> Result<(), StoreError> {
        keyring::change(&self.path("keyring.json"), old, new)
    }

    /// The public configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Replaces the configuration.
    pub fn set_config(&mut self, config: Config) -> Result<(), StoreError> {
        self.config = config;
        self.save_config()
    }

    fn save_config(&self) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(&self.config)
            .map_err(|_| StoreError::corrupt(&self.path("home.json"), "unencodable"))?;
        files::write_atomic(&self.path("home.json"), &bytes)
    }

    /// The home's folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A file of the home.
    pub fn path(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Takes the home's node lock: one node per home. Held until the returned file drops
    /// (also when the process dies).
    pub fn lock_node(&self) -> Result<File, StoreError> {
        let path = self.path("node.lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(files::FILE_MODE)
            .open(&path)
            .map_err(|e| StoreError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked { path }),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::io(&path, e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_home_is_created_unlocked_and_locked_once() {
        std::env::set_var(keyring::INSECURE_TEST_KDF, "1");
        let root = std::env::temp_dir().join(format!("tessera-home-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (home, unlocked) = Home::create(&root, "laptop", vec![], b"pass").unwrap();
        let again = Home::open(&root).unwrap();
        assert_eq!(again.config(), home.config());
        assert_eq!(*again.unlock(b"pass").unwrap().seed, *unlocked.seed);
        assert!(matches!(
            again.unlock(b"nope"),
            Err(StoreError::WrongPassphrase)
        ));
        assert!(matches!(
            Home::create(&root, "twice", vec![], b"pass"),
            Err(StoreError::HomeExists { .. })
        ));
        let lock = home.lock_node().unwrap();
        assert!(matches!(again.lock_node(), Err(StoreError::Locked { .. })));
        drop(lock);
        assert!(again.lock_node().is_ok());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
