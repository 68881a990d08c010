//! Files of a device's home (design §5): owner-only permissions, atomic replacement, and
//! erasure. Every write that matters for funds goes through [`write_atomic`]: a crash at any
//! point leaves either the old file or the new one, whole, never a torn mix.

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Write},
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use crate::device::error::StoreError;

/// Permissions of every file tessera writes in a home: owner read and write only.
pub const FILE_MODE: u32 = 0o600;
/// Permissions of every folder tessera makes in a home.
pub const DIR_MODE: u32 = 0o700;

/// Makes `dir` (and its parents) owner-only if it does not exist.
pub fn create_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).map_err(|e| StoreError::io(dir, e))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE))
        .map_err(|e| StoreError::io(dir, e))?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Syncs a folder, so the names created, renamed or removed in it survive a crash.
pub fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io(dir, e))
}

/// Replaces `path` with `bytes` atomically: a new owner-only file beside it is written and
/// synced, renamed over `path`, and the folder synced.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = temp_path(path);
    let written = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(FILE_MODE)
            .open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::io(path, e));
    }
    sync_dir(dir)
}

/// A fresh name beside `path` for a file being written.
fn temp_path(path: &Path) -> PathBuf {
    let mut nonce = [0u8; 8];
    // A name clash only makes `create_new` fail, which is reported; no secret depends on it.
    let _ = getrandom::fill(&mut nonce);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".tmp-{}", hex::encode(nonce)));
    path.with_file_name(name)
}

/// Reads a file that holds a secret: refused if the group or others may read or write it,
/// as ssh refuses a private key anyone else can read.
pub fn read_secret(path: &Path) -> Result<Vec<u8>, StoreError> {
    let meta = fs::metadata(path).map_err(|e| StoreError::io(path, e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(StoreError::Permissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    fs::read(path).map_err(|e| StoreError::io(path, e))
}

/// Reads a public file of the home.
pub fn read(path: &Path) -> Result<Vec<u8>, StoreError> {
    fs::read(path).map_err(|e| StoreError::io(path, e))
}

/// Erases a secret file: overwritten with zeros and synced, then removed, and its folder
/// synced. (On a copy-on-write or flash file system the old blocks may survive the
/// overwrite; the file's key is the home's data key, which the passphrase protects.)
pub fn erase(path: &Path) -> Result<(), StoreError> {
    let len = match fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    let overwrite = (|| {
        let mut f = OpenOptions::new().write(true).open(path)?;
        let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
        f.write_all(&zeros)?;
        f.sync_all()
    })();
    overwrite.map_err(|e| StoreError::io(path, e))?;
    fs::remove_file(path).map_err(|e| StoreError::io(path, e))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tessera-files-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        create_dir(&dir).unwrap();
        dir
    }

    #[test]
    fn atomic_writes_are_owner_only_and_replace_whole() {
        let dir = scratch("atomic");
        let path = dir.join("f");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(read_secret(&path).unwrap(), b"two");
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            FILE_MODE
        );
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn secrets_readable_by_others_are_refused() {
        let dir = scratch("perm");
        let path = dir.join("f");
        write_atomic(&path, b"secret").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            read_secret(&path),
            Err(StoreError::Permissions { mode: 0o640, .. })
        ));
        erase(&path).unwrap();
        assert!(!path.exists());
        fs::remove_dir_all(&dir).unwrap();
    }
}
