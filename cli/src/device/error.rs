//! Why the keystore refused (design §5). Each error is one line for the user, names the file
//! it is about, and never carries secret material.

use std::{io, path::PathBuf};

/// A keystore error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file system failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// A secret file the group or others may read or write.
    #[error(
        "{}: permissions {mode:o} let others read it; run `chmod 600` on it if you trust its content",
        path.display()
    )]
    Permissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The passphrase does not open the keyring.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// A file that does not parse or whose authentication fails.
    #[error("{}: damaged or not a tessera file ({why})", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong, without secret material.
        why: &'static str,
    },
    /// A file written by a newer version of tessera.
    #[error("{}: written by a newer version of tessera (format {found}); upgrade tessera", path.display())]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// Its format version.
        found: u32,
    },
    /// A keyring weaker than the floor, without the insecure test setting.
    #[error("{}: the keyring's key derivation is weaker than tessera's floor (Argon2id, 256 MiB, 3 passes); it is only accepted with TESSERA_INSECURE_TEST_KDF=1, for tests", path.display())]
    WeakKeyring {
        /// The keyring file.
        path: PathBuf,
    },
    /// A folder that is not a tessera home.
    #[error("{}: not a tessera home (run `tessera init` first)", path.display())]
    NotAHome {
        /// The folder.
        path: PathBuf,
    },
    /// A home that exists already.
    #[error("{}: a tessera home already exists there", path.display())]
    HomeExists {
        /// The folder.
        path: PathBuf,
    },
    /// A secret that decrypts but does not match its public data.
    #[error("{}: the share does not match its verifying share", path.display())]
    Mismatch {
        /// The file.
        path: PathBuf,
    },
    /// Another process holds the home.
    #[error("{}: another tessera node is running on this home", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
}

impl StoreError {
    /// An I/O error about `path`.
    pub fn io(path: &std::path::Path, source: io::Error) -> Self {
        StoreError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A damaged file.
    pub fn corrupt(path: &std::path::Path, why: &'static str) -> Self {
        StoreError::Corrupt {
            path: path.to_path_buf(),
            why,
        }
    }
}
