//! The audit log (design §6): every session this device took part in or refused, one JSON
//! line each in `audit.log`, appended and synced.
//!
//! The log is hash-chained: each entry carries its sequence number and the SHA-256 of the
//! line before it (zeros for the first), and `audit.head` holds the count and the hash of the
//! last line. [`verify`] names the first line that was edited, removed or moved, and a log cut
//! short at its end. (Anyone who can write the home can rewrite the whole chain and the head;
//! the chain shows accidents and careless edits, not a determined local attacker.)

use std::{
    fs::OpenOptions,
    io::Write,
    os::unix::fs::OpenOptionsExt,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::device::{error::StoreError, files};

/// What happened to a proposal at this device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Approved (by a person, a policy, or as its initiator).
    Approved,
    /// Refused.
    Refused,
    /// Nobody decided before it expired.
    Expired,
}

/// One session as the log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Seconds since the Unix epoch.
    pub time: u64,
    /// keygen, sign, reshare.
    pub protocol: String,
    /// The key's local name, if it has one here.
    pub key: Option<String>,
    /// The epoch.
    pub epoch: u64,
    /// The initiator's PeerId.
    pub initiator: String,
    /// The members' PeerIds.
    pub members: Vec<String>,
    /// SHA-256 of the message signed, hex (signing only).
    pub message_sha256: Option<String>,
    /// What this device decided.
    pub decision: Decision,
    /// "ok", or the failure in one line.
    pub result: String,
    /// The peers the failure named.
    pub culprits: Vec<String>,
}

/// A record in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Its position, from 1.
    pub seq: u64,
    /// SHA-256 of the previous line, hex.
    pub prev: String,
    /// The record.
    #[serde(flatten)]
    pub record: Record,
}

/// `audit.head`: the count and the hash of the last line.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Head {
    count: u64,
    last: String,
}

/// Where the log is bad.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    /// A line that does not parse, or whose chain or number is wrong.
    #[error("line {line}: {why}")]
    Line {
        /// The first bad line (from 1).
        line: u64,
        /// What is wrong.
        why: &'static str,
    },
    /// Lines missing at the end.
    #[error("the log ends at line {found}, its head says {expected} entries")]
    Truncated {
        /// Lines present.
        found: u64,
        /// Lines the head counts.
        expected: u64,
    },
}

fn zero() -> String {
    hex::encode([0u8; 32])
}

fn paths(home: &Path) -> (PathBuf, PathBuf) {
    (home.join("audit.log"), home.join("audit.head"))
}

fn read_head(path: &Path) -> Result<Head, StoreError> {
    if !path.exists() {
        return Ok(Head {
            count: 0,
            last: zero(),
        });
    }
    serde_json::from_slice(&files::read(path)?)
        .map_err(|_| StoreError::corrupt(path, "not a log head"))
}

/// One append at a time in this process: each reads the head the one before wrote.
static APPENDING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Appends `record` to the log of `home`: the line is written and synced, then the head.
pub fn append(home: &Path, record: Record) -> Result<Entry, StoreError> {
    let _one = APPENDING.lock().unwrap_or_else(|e| e.into_inner());
    let (log, head_path) = paths(home);
    let head = read_head(&head_path)?;
    let entry = Entry {
        seq: head.count + 1,
        prev: head.last,
        record,
    };
    let mut line =
        serde_json::to_vec(&entry).map_err(|_| StoreError::corrupt(&log, "unencodable entry"))?;
    line.push(b'\n');
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(files::FILE_MODE)
        .open(&log)
        .map_err(|e| StoreError::io(&log, e))?;
    f.write_all(&line)
        .and_then(|()| f.sync_all())
        .map_err(|e| StoreError::io(&log, e))?;
    let head = Head {
        count: entry.seq,
        last: hex::encode(Sha256::digest(&line[..line.len() - 1])),
    };
    let bytes =
        serde_json::to_vec(&head).map_err(|_| StoreError::corrupt(&head_path, "unencodable"))?;
    files::write_atomic(&head_path, &bytes)?;
    Ok(entry)
}

/// Reads every entry of the log of `home`, in order.
pub fn read(home: &Path) -> Result<Vec<Entry>, StoreError> {
    let (log, _) = paths(home);
    if !log.exists() {
        return Ok(Vec::new());
    }
    let text =
        String::from_utf8(files::read(&log)?).map_err(|_| StoreError::corrupt(&log, "not text"))?;
    text.lines()
        .map(|l| {
            serde_json::from_str(l).map_err(|_| StoreError::corrupt(&log, "a line does not parse"))
        })
        .collect()
}

/// Checks the chain of the log of `home`; the first bad line, if any.
pub fn verify(home: &Path) -> Result<Result<u64, Broken>, StoreError> {
    let (log, head_path) = paths(home);
    let head = read_head(&head_path)?;
    let text = if log.exists() {
        String::from_utf8(files::read(&log)?).map_err(|_| StoreError::corrupt(&log, "not text"))?
    } else {
        String::new()
    };
    let mut prev = zero();
    let mut count = 0u64;
    for (i, line) in text.lines().enumerate() {
        let n = i as u64 + 1;
        let Ok(entry) = serde_json::from_str::<Entry>(line) else {
            return Ok(Err(Broken::Line {
                line: n,
                why: "does not parse",
            }));
        };
        if entry.seq != n {
            return Ok(Err(Broken::Line {
                line: n,
                why: "out of sequence: an entry was removed or moved",
            }));
        }
        if entry.prev != prev {
            return Ok(Err(Broken::Line {
                line: n,
                why: "the line before it was edited, removed or moved",
            }));
        }
        prev = hex::encode(Sha256::digest(line.as_bytes()));
        count = n;
    }
    if count < head.count {
        return Ok(Err(Broken::Truncated {
            found: count,
            expected: head.count,
        }));
    }
    if count > head.count || prev != head.last {
        return Ok(Err(Broken::Line {
            line: count.max(1),
            why: "the last line was edited or added outside tessera",
        }));
    }
    Ok(Ok(count))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(i: u64) -> Record {
        Record {
            time: 1_700_000_000 + i,
            protocol: "sign".into(),
            key: Some("vault".into()),
            epoch: 0,
            initiator: "a".into(),
            members: vec!["a".into(), "b".into()],
            message_sha256: Some(hex::encode([i as u8; 32])),
            decision: Decision::Approved,
            result: "ok".into(),
            culprits: vec![],
        }
    }

    #[test]
    fn edits_removals_moves_and_truncation_are_found() {
        let home = std::env::temp_dir().join(format!("tessera-audit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        files::create_dir(&home).unwrap();
        for i in 0..4 {
            append(&home, record(i)).unwrap();
        }
        assert_eq!(verify(&home).unwrap(), Ok(4));
        assert_eq!(read(&home).unwrap().len(), 4);
        let log = home.join("audit.log");
        let good = std::fs::read_to_string(&log).unwrap();
        let lines: Vec<&str> = good.lines().collect();
        let write = |l: &[&str]| std::fs::write(&log, l.join("\n") + "\n").unwrap();
        // Edited line 2: line 3's chain breaks.
        let edited = lines[1].replace("\"ok\"", "\"failed\"");
        write(&[lines[0], &edited, lines[2], lines[3]]);
        assert!(matches!(
            verify(&home).unwrap(),
            Err(Broken::Line { line: 3, .. })
        ));
        // Removed line 2.
        write(&[lines[0], lines[2], lines[3]]);
        assert!(matches!(
            verify(&home).unwrap(),
            Err(Broken::Line { line: 2, .. })
        ));
        // Lines 2 and 3 swapped.
        write(&[lines[0], lines[2], lines[1], lines[3]]);
        assert!(matches!(
            verify(&home).unwrap(),
            Err(Broken::Line { line: 2, .. })
        ));
        // The last line removed, or edited.
        write(&lines[..3]);
        assert_eq!(
            verify(&home).unwrap(),
            Err(Broken::Truncated {
                found: 3,
                expected: 4
            })
        );
        let last = lines[3].replace("\"ok\"", "\"no\"");
        write(&[lines[0], lines[1], lines[2], &last]);
        assert!(matches!(
            verify(&home).unwrap(),
            Err(Broken::Line { line: 4, .. })
        ));
        std::fs::write(&log, &good).unwrap();
        assert_eq!(verify(&home).unwrap(), Ok(4));
        std::fs::remove_dir_all(&home).unwrap();
    }
}
