//! Session ids a node has started, remembered across restarts (design §4).
//!
//! A node refuses to start a session whose id it has seen: a replayed start (same proposal,
//! same nonces) cannot make it run a protocol twice. The store is the caller's: the CLI keeps
//! it in the device's home folder; [`FileSeen`] is a ready one.

use std::{
    collections::HashSet,
    fs::OpenOptions,
    io::{self, BufRead, BufReader, Write},
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use tessera_core::SessionId;

/// Where a node remembers the session ids it started.
pub trait SeenSessions: Send {
    /// Whether `id` was started before.
    fn contains(&self, id: &SessionId) -> bool;
    /// Remembers `id`, durably for a persistent store, before the session starts.
    fn insert(&mut self, id: SessionId) -> io::Result<()>;
}

/// Remembers session ids for the life of the process only.
#[derive(Debug, Default)]
pub struct MemorySeen(HashSet<SessionId>);

impl SeenSessions for MemorySeen {
    fn contains(&self, id: &SessionId) -> bool {
        self.0.contains(id)
    }
    fn insert(&mut self, id: SessionId) -> io::Result<()> {
        self.0.insert(id);
        Ok(())
    }
}

/// Remembers session ids in an append-only file, one hex id per line, synced on every insert.
/// The file is created when it is opened, and its folder synced then.
#[derive(Debug)]
pub struct FileSeen {
    path: PathBuf,
    ids: HashSet<SessionId>,
}

impl FileSeen {
    /// Opens (or creates) the file and reads the ids in it. A line that is not a 64-digit
    /// hex id is an error: the file is the node's own and a damaged one must not be ignored.
    /// A last line without its newline (a crash mid-write) is cut off: its session never
    /// started, because the id is synced before a session starts.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let mut ids = HashSet::new();
        match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(f) => {
                let mut reader = BufReader::new(&f);
                let mut line = String::new();
                let mut complete = 0u64;
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 {
                        break;
                    }
                    let Some(hex) = line.strip_suffix('\n') else {
                        f.set_len(complete)?;
                        f.sync_all()?;
                        break;
                    };
                    complete += line.len() as u64;
                    ids.insert(parse_hex(hex).ok_or_else(|| {
                        io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!("{}: not a session id: {hex:?}", path.display()),
                        )
                    })?);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => create_durably(&path)?,
            Err(e) => return Err(e),
        }
        Ok(Self { path, ids })
    }
}

/// Creates the empty file at `path` and syncs its folder, so that the file's name survives a
/// crash as surely as the ids later synced into it.
fn create_durably(path: &Path) -> io::Result<()> {
    OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(path)?
        .sync_all()?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    std::fs::File::open(folder)?.sync_all()
}

impl SeenSessions for FileSeen {
    fn contains(&self, id: &SessionId) -> bool {
        self.ids.contains(id)
    }
    fn insert(&mut self, id: SessionId) -> io::Result<()> {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let line: String = id.iter().map(|b| format!("{b:02x}")).collect();
        let before = f.metadata()?.len();
        if let Err(e) = f
            .write_all(format!("{line}\n").as_bytes())
            .and_then(|()| f.sync_all())
        {
            // Leave no fragment in the middle of the file (a full disk, say): a later id
            // appended to it would make the file unreadable.
            let _ = f.set_len(before);
            return Err(e);
        }
        self.ids.insert(id);
        Ok(())
    }
}

fn parse_hex(s: &str) -> Option<SessionId> {
    if s.len() != 64 {
        return None;
    }
    let mut id = [0u8; 32];
    for (i, b) in id.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_survives_reopening_and_a_torn_last_line() {
        let dir = std::env::temp_dir().join(format!("tessera-seen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seen");
        let _ = std::fs::remove_file(&path);
        let mut s = FileSeen::open(&path).unwrap();
        // Opening creates the file (and syncs its folder) before any id is inserted.
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        s.insert([1; 32]).unwrap();
        s.insert([2; 32]).unwrap();
        // A crash in the middle of a third insert.
        OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"0303")
            .unwrap();
        let mut s = FileSeen::open(&path).unwrap();
        assert!(s.contains(&[1; 32]) && s.contains(&[2; 32]) && !s.contains(&[3; 32]));
        s.insert([4; 32]).unwrap();
        let s = FileSeen::open(&path).unwrap();
        assert!(s.contains(&[4; 32]));
        std::fs::write(&path, "not hex\n").unwrap();
        assert!(FileSeen::open(&path).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
