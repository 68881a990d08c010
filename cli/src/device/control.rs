//! The control socket (design §6): while `tessera node` runs, the other commands hand it their
//! work over `control.sock` in the home (owner-only, in an owner-only folder).
//!
//! One request per connection, one JSON line: `{"op": "keygen" | "sign" | "signtransaction" |
//! "reshare" | "abandon" | "health" | "repair" | "approvals" | "approve" | "status", …}`. The node
//! answers with JSON lines: any number of `{"progress": "…"}`, then `{"done": {…}}` or
//! `{"failed": {"code", "message"}}`.
//!
//! Bounds (design §6.3): at most [`MAX_CLIENTS`] connections are served at once (another is
//! answered "busy" and closed), a request line is at most [`MAX_REQUEST`] bytes and must
//! arrive within [`REQUEST_TIMEOUT`], and a client that does not read an answer line within
//! that time is dropped. So a local process that floods the socket holds at most
//! 64 MiB of request lines and cannot stop the node's sessions with its peers.

use std::{
    io::{BufRead, BufReader, Write},
    os::unix::{fs::PermissionsExt, net::UnixStream},
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tessera_core::Suite;
use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as AsyncBufReader},
    net::UnixListener,
    sync::mpsc,
};

use crate::device::{
    error::StoreError,
    node::{NodeFailure, Runtime},
    transaction::TxKind,
};

/// The longest request line the node reads.
pub const MAX_REQUEST: usize = 1 << 20;
/// The connections served at once.
pub const MAX_CLIENTS: usize = 64;
/// How long a connection has to send its request line.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// A command's request to the running node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Request {
    /// `tessera keygen`.
    Keygen {
        /// The key's name.
        name: String,
        /// Its suite.
        suite: Suite,
        /// Its threshold.
        threshold: u16,
        /// The other devices, by local name.
        with: Vec<String>,
    },
    /// `tessera sign`.
    Sign {
        /// The key's name.
        key: String,
        /// The message, hex.
        message: String,
        /// The signers besides this device, by local name (empty: the first t).
        signers: Vec<String>,
        /// The unhardened path of the child key to sign with (`m/0/5`); none: the key.
        #[serde(default)]
        path: Option<String>,
    },
    /// `tessera sign --psbt` or `--solana-tx`.
    SignTransaction {
        /// The key's name.
        key: String,
        /// The transaction, hex: a PSBT or a Solana transaction message.
        transaction: String,
        /// `psbt` with a network, or `solana`.
        kind: TxKind,
        /// The signers besides this device, by local name (empty: the first t).
        signers: Vec<String>,
    },
    /// `tessera reshare` (and `tessera refresh`: no new committee, no threshold).
    Reshare {
        /// The key's name.
        key: String,
        /// The new committee by local names (this device's own name for itself); `None`:
        /// the same committee.
        to: Option<Vec<String>>,
        /// The new threshold (`None`: the same).
        threshold: Option<u16>,
        /// The old devices that deal, by local name (empty: the whole committee).
        from: Vec<String>,
    },
    /// `tessera repair`.
    Repair {
        /// The key's name.
        key: String,
        /// The helpers, by local name.
        from: Vec<String>,
        /// The group key (hex), for a home that lost the key entirely.
        group_key: Option<String>,
    },
    /// `tessera health KEY`.
    Health {
        /// The key's name.
        key: String,
    },
    /// `tessera keys resolve KEY --abandon EPOCH`.
    Abandon {
        /// The key's name.
        key: String,
        /// The pending epoch given up.
        epoch: u64,
    },
    /// `tessera approve --list`.
    Approvals,
    /// `tessera status`.
    Status,
    /// `tessera approve ID [--refuse]`.
    Approve {
        /// The request's id.
        id: String,
        /// Approve (true) or refuse.
        approve: bool,
    },
}

/// One line of the node's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reply {
    /// Waiting on peers.
    Progress(String),
    /// The result.
    Done(Value),
    /// The failure: exit code and one line.
    Failed {
        /// The exit code.
        code: u8,
        /// The line.
        message: String,
    },
}

/// The socket's path in `home`.
pub fn socket_path(home: &Path) -> PathBuf {
    home.join("control.sock")
}

/// Binds the control socket of `home`. The caller holds the home's node lock, so a socket
/// file left by a killed node is removed first.
pub fn bind(home: &Path) -> Result<UnixListener, StoreError> {
    let path = socket_path(home);
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).map_err(|e| StoreError::io(&path, e))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| StoreError::io(&path, e))?;
    Ok(listener)
}

/// Serves `listener` for `runtime` until the process ends: each connection is one request.
pub async fn serve(listener: UnixListener, runtime: Arc<Runtime>) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CLIENTS));
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            // Out of descriptors, say: wait rather than spin.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            continue;
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let (_, mut write) = stream.into_split();
                let busy = failed(1, "the node is busy with other local requests".into());
                let mut bytes = serde_json::to_vec(&busy).unwrap_or_default();
                bytes.push(b'\n');
                let _ = write.write_all(&bytes).await;
            });
            continue;
        };
        let runtime = runtime.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            let mut reader = AsyncBufReader::new(read.take(MAX_REQUEST as u64));
            match tokio::time::timeout(REQUEST_TIMEOUT, reader.read_line(&mut line)).await {
                Ok(Ok(_)) => {}
                _ => return,
            }
            let (tx, mut rx) = mpsc::unbounded_channel::<Reply>();
            let work = tokio::spawn(async move {
                let reply = match serde_json::from_str::<Request>(&line) {
                    Ok(request) => answer(&runtime, request, &tx).await,
                    Err(e) => failed(2, format!("bad request: {e}")),
                };
                let _ = tx.send(reply);
            });
            while let Some(reply) = rx.recv().await {
                let mut bytes = serde_json::to_vec(&reply).unwrap_or_default();
                bytes.push(b'\n');
                // A client that stops reading gives its slot up (the work goes on).
                let sent = tokio::time::timeout(REQUEST_TIMEOUT, write.write_all(&bytes)).await;
                if !matches!(sent, Ok(Ok(()))) {
                    break;
                }
            }
            let _ = work.await;
        });
    }
}

fn failed(code: u8, message: String) -> Reply {
    Reply::Failed { code, message }
}

/// The exit code of a node failure.
pub fn code_of(e: &NodeFailure) -> u8 {
    match e {
        NodeFailure::Store(_) => 3,
        NodeFailure::Usage(_) => 2,
        NodeFailure::Job(_) => 1,
    }
}

/// Runs one request on the node, sending progress lines to `tx`.
pub async fn answer(
    runtime: &Runtime,
    request: Request,
    tx: &mpsc::UnboundedSender<Reply>,
) -> Reply {
    let progress = |p: String| {
        let _ = tx.send(Reply::Progress(p));
    };
    let result = match request {
        Request::Keygen {
            name,
            suite,
            threshold,
            with,
        } => {
            runtime
                .keygen(&name, suite, threshold, &with, &progress)
                .await
        }
        Request::Sign {
            key,
            message,
            signers,
            path,
        } => match (
            hex::decode(&message),
            path.as_deref().map(parse_path).transpose(),
        ) {
            (Ok(m), Ok(path)) => runtime.sign(&key, &m, &signers, path, &progress).await,
            (Err(_), _) => Err(NodeFailure::Usage("the message is not hex".into())),
            (_, Err(e)) => Err(e),
        },
        Request::SignTransaction {
            key,
            transaction,
            kind,
            signers,
        } => match hex::decode(&transaction) {
            Ok(t) => {
                runtime
                    .sign_transaction(&key, &t, kind, &signers, &progress)
                    .await
            }
            Err(_) => Err(NodeFailure::Usage("the transaction is not hex".into())),
        },
        Request::Reshare {
            key,
            to,
            threshold,
            from,
        } => {
            runtime
                .reshare(&key, to.as_deref(), threshold, &from, &progress)
                .await
        }
        Request::Abandon { key, epoch } => runtime.abandon(&key, epoch),
        Request::Health { key } => runtime.health(&key, &progress).await,
        Request::Repair {
            key,
            from,
            group_key,
        } => match group_key.as_deref().map(hex::decode).transpose() {
            Ok(g) => runtime.repair(&key, &from, g.as_deref(), &progress).await,
            Err(_) => Err(NodeFailure::Usage("the group key is not hex".into())),
        },
        Request::Approvals => Ok(serde_json::json!({ "waiting": runtime.waiting() })),
        Request::Status => runtime.status().await,
        Request::Approve { id, approve } => runtime
            .resolve(&id, approve)
            .map(|r| serde_json::json!({ "decided": r, "approved": approve })),
    };
    match result {
        Ok(v) => Reply::Done(v),
        Err(e) => failed(code_of(&e), e.to_string()),
    }
}

/// An unhardened BIP-32 path, `m/i/j/…`, as its indexes.
pub fn parse_path(text: &str) -> Result<Vec<u32>, NodeFailure> {
    let parsed: bitcoin::bip32::DerivationPath = text
        .parse()
        .map_err(|_| NodeFailure::Usage(format!("not a derivation path: {text}")))?;
    parsed
        .into_iter()
        .map(|c| match c {
            bitcoin::bip32::ChildNumber::Normal { index } => Ok(*index),
            _ => Err(NodeFailure::Usage(
                "hardened steps cannot be derived from a public key".into(),
            )),
        })
        .collect()
}

/// Sends `request` to the node running on `home`, calling `progress` for each progress line;
/// `None` if no node runs there.
pub fn call(
    home: &Path,
    request: &Request,
    progress: &mut dyn FnMut(&str),
) -> Option<Result<Value, (u8, String)>> {
    let mut stream = UnixStream::connect(socket_path(home)).ok()?;
    let mut line = serde_json::to_vec(request).ok()?;
    line.push(b'\n');
    if stream.write_all(&line).is_err() {
        return Some(Err((1, "the node closed the control socket".into())));
    }
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { break };
        match serde_json::from_str::<Reply>(&line) {
            Ok(Reply::Progress(p)) => progress(&p),
            Ok(Reply::Done(v)) => return Some(Ok(v)),
            Ok(Reply::Failed { code, message }) => return Some(Err((code, message))),
            Err(_) => break,
        }
    }
    Some(Err((
        1,
        "the node ended the request without an answer".into(),
    )))
}
