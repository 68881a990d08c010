//! A device's running node (design §4, §5, §6): the home unlocked once, its keys read back
//! into memory, one libp2p node shared by the three suites, the approvals, the audit log, and
//! the jobs this device starts or serves.
//!
//! `tessera node` keeps one running and hands it the other commands' work over the control
//! socket ([`crate::device::control`]); when none runs, a command starts one in-process for
//! its own duration. Either way the work is done here.

use std::{
    collections::HashMap,
    fs::File,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tessera_core::{Ciphersuite, Ed25519, Ed25519Identity, IdentityKey, Secp256k1, Suite, Taproot};
use tessera_p2p::{
    identities, identity_of, peer_of, FileSeen, Kind, Limits, Multiaddr, Node, NodeConfig, PeerId,
    Policy, Proposal, ProposeError, Session,
};
use tessera_reshare::KeyRecord;

use crate::device::{
    approval::{now_secs, Approvals, Member, Request, Rules, AWAITING},
    audit::{self, Decision, Record},
    error::StoreError,
    jobs::{suite_of, summarize, Device, JobError, Served},
    peers::Peers,
    store::DiskStore,
    Home, Keystore, Stored,
};

/// How a node runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Addresses to listen on (default: the home's).
    pub listen: Vec<Multiaddr>,
    /// Who decides what.
    pub rules: Rules,
    /// How long a proposal waits for a person, and an initiator for approvals.
    pub approval_ttl: Duration,
    /// The node's bounds and timings.
    pub limits: Limits,
}

/// Why the node or one of its jobs failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeFailure {
    /// The home refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Bad input: a name, a peer, a key.
    #[error("{0}")]
    Usage(String),
    /// The session failed.
    #[error("{0}")]
    Job(String),
}

impl From<JobError> for NodeFailure {
    fn from(e: JobError) -> Self {
        NodeFailure::Job(e.to_string())
    }
}

/// The three suites' keys of one device, on one node.
struct Suites {
    ed25519: Device<Ed25519>,
    secp256k1: Device<Secp256k1>,
    taproot: Device<Taproot>,
}

/// Runs `$body` with `$d` the device of suite `$suite` and `$C` its type.
macro_rules! with_suite {
    ($suites:expr, $suite:expr, |$d:ident, $C:ident| $body:expr) => {
        match $suite {
            Suite::Ed25519 => {
                type $C = Ed25519;
                let $d = &$suites.ed25519;
                $body
            }
            Suite::Secp256k1 => {
                type $C = Secp256k1;
                let $d = &$suites.secp256k1;
                $body
            }
            Suite::Taproot => {
                type $C = Taproot;
                let $d = &$suites.taproot;
                $body
            }
        }
    };
}

/// A running node of one home.
pub struct Runtime {
    home: Home,
    _lock: File,
    node: Arc<Node>,
    suites: Suites,
    keystore: Keystore,
    peers: Arc<Mutex<Peers>>,
    names: Arc<Mutex<HashMap<[u8; 32], String>>>,
    approvals: Arc<Mutex<Approvals>>,
    approval_ttl: Duration,
}

impl Runtime {
    /// Locks and unlocks `home`, starts its node and reads its keys back.
    pub async fn start(
        home: Home,
        passphrase: &[u8],
        options: Options,
    ) -> Result<Self, NodeFailure> {
        let lock = home.lock_node()?;
        let unlocked = home.unlock(passphrase)?;
        let (keypair, identity) =
            identities(&unlocked.seed).map_err(|e| NodeFailure::Job(format!("identity: {e}")))?;
        let identity = Arc::new(identity);
        let peers = Arc::new(Mutex::new(Peers::load(home.root())?));
        let keystore = Keystore::new(home.root());
        let names = Arc::new(Mutex::new(HashMap::new()));
        let approvals = Arc::new(Mutex::new(Approvals::new(
            options.rules.clone(),
            options.approval_ttl,
        )));
        let me = keypair.public().to_peer_id();
        let mut config = NodeConfig::new(
            keypair,
            policy(
                approvals.clone(),
                peers.clone(),
                names.clone(),
                me,
                home.clone(),
                refusals(home.clone()),
            ),
        );
        config.listen = if options.listen.is_empty() {
            home.config()
                .listen
                .iter()
                .filter_map(|a| a.parse().ok())
                .collect()
        } else {
            options.listen.clone()
        };
        config.limits = options.limits.clone();
        config.seen = Box::new(
            FileSeen::open(home.path("seen")).map_err(|e| StoreError::io(&home.path("seen"), e))?,
        );
        let node = Arc::new(
            Node::start(config)
                .await
                .map_err(|e| NodeFailure::Job(format!("the node did not start: {e}")))?,
        );
        let data_key = Arc::new(unlocked.data_key);
        let store = Arc::new(DiskStore::new(
            keystore.clone(),
            data_key.clone(),
            names.clone(),
        ));
        let suites = Suites {
            ed25519: Device::on_node(node.clone(), identity.clone())
                .map_err(|e| NodeFailure::Job(e.to_string()))?
                .with_store(store.clone()),
            secp256k1: Device::on_node(node.clone(), identity.clone())
                .map_err(|e| NodeFailure::Job(e.to_string()))?
                .with_store(store.clone()),
            taproot: Device::on_node(node.clone(), identity.clone())
                .map_err(|e| NodeFailure::Job(e.to_string()))?
                .with_store(store),
        };
        let runtime = Runtime {
            home,
            _lock: lock,
            node,
            suites,
            keystore,
            peers,
            names,
            approvals,
            approval_ttl: options.approval_ttl,
        };
        runtime.load_keys(&data_key, &identity)?;
        runtime.allow_peers();
        Ok(runtime)
    }

    /// Reads every key back: its newest active epoch, or a keygen's pending share.
    fn load_keys(
        &self,
        data_key: &crate::device::keyring::DataKey,
        identity: &Ed25519Identity,
    ) -> Result<(), NodeFailure> {
        for name in self.keystore.names()? {
            let epochs = self.keystore.epochs(&name)?;
            let Some(newest) = epochs.last() else {
                continue;
            };
            let active = epochs.iter().rev().find(|e| e.is_active());
            for e in &epochs {
                if let Ok(mut n) = self.names.lock() {
                    n.insert(e.public.key_id, name.clone());
                }
            }
            with_suite!(self.suites, newest.public.suite, |device, C| {
                match active {
                    Some(e) => {
                        if let Stored::Active(share) =
                            self.keystore.load::<C>(data_key, &name, e, identity)?
                        {
                            device.adopt(KeyRecord::new(share));
                        }
                    }
                    None => {
                        if let Stored::Pending(p) =
                            self.keystore.load::<C>(data_key, &name, newest, identity)?
                        {
                            device.adopt_pending_keygen(p);
                        }
                    }
                }
            });
        }
        Ok(())
    }

    /// Puts every known peer on the node's allow-list with its addresses.
    fn allow_peers(&self) {
        let Ok(peers) = self.peers.lock() else {
            return;
        };
        for p in peers.all() {
            if let Some(id) = p.id() {
                self.node.allow(id, p.multiaddrs());
            }
        }
    }

    /// This device's PeerId.
    pub fn peer_id(&self) -> PeerId {
        self.node.peer_id()
    }

    /// The addresses the node listens on.
    pub fn addresses(&self) -> Vec<Multiaddr> {
        self.node.addresses().to_vec()
    }

    /// The home.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// Requests waiting for a person.
    pub fn waiting(&self) -> Vec<Request> {
        let expired = self
            .approvals
            .lock()
            .map(|mut a| a.expire(Instant::now()))
            .unwrap_or_default();
        for r in expired {
            self.log_request(&r, Decision::Expired, "expired".into());
        }
        self.approvals
            .lock()
            .map(|a| a.waiting())
            .unwrap_or_default()
    }

    /// A person's decision on request `id`.
    pub fn resolve(&self, id: &str, approve: bool) -> Result<Request, NodeFailure> {
        let request = self
            .approvals
            .lock()
            .ok()
            .and_then(|mut a| a.resolve(id, approve))
            .ok_or_else(|| NodeFailure::Usage(format!("no request {id:?} waits for approval")))?;
        if !approve {
            self.log_request(&request, Decision::Refused, "refused".into());
        }
        Ok(request)
    }

    fn log_request(&self, r: &Request, decision: Decision, result: String) {
        let _ = audit::append(
            self.home.root(),
            Record {
                time: now_secs(),
                protocol: r.protocol.clone(),
                key: r.key.clone(),
                epoch: r.epoch,
                initiator: r.initiator.peer_id.clone(),
                members: r.committee.iter().map(|m| m.peer_id.clone()).collect(),
                message_sha256: r.message_sha256.clone(),
                decision,
                result,
                culprits: Vec::new(),
            },
        );
    }

    /// Serves sessions other devices start, each on its own task, until the node stops.
    pub async fn serve(self: Arc<Self>) {
        while let Some(session) = self.node.next_session().await {
            let me = self.clone();
            tokio::spawn(async move {
                let _ = me.serve_one(session).await;
            });
        }
    }

    /// Serves one session and logs it.
    async fn serve_one(&self, session: Session) -> Result<Value, NodeFailure> {
        let proposal = session.proposal().clone();
        let initiator = session.initiator();
        let Some(suite) = suite_of(&session) else {
            return Err(NodeFailure::Usage("a session of an unknown suite".into()));
        };
        let result = with_suite!(self.suites, suite, |device, C| device
            .serve(session)
            .await
            .map(|s| served::<C>(&s)));
        self.log_session(&proposal, initiator, &result);
        result.map_err(NodeFailure::from)
    }

    fn log_session(
        &self,
        proposal: &Proposal,
        initiator: PeerId,
        result: &Result<Value, JobError>,
    ) {
        let culprits = match result {
            Err(JobError::Run { blamed, .. }) => blamed.iter().map(PeerId::to_string).collect(),
            _ => Vec::new(),
        };
        let outcome = match result {
            Ok(_) => "ok".into(),
            Err(e) => e.to_string(),
        };
        let record = session_record(
            proposal,
            initiator,
            &self.names,
            Decision::Approved,
            outcome,
            culprits,
        );
        let _ = audit::append(self.home.root(), record);
    }

    /// The PeerIds of peers named locally, this device's own name meaning itself.
    fn resolve_peers(&self, names: &[String]) -> Result<Vec<PeerId>, NodeFailure> {
        let peers = self
            .peers
            .lock()
            .map_err(|_| NodeFailure::Job("peers poisoned".into()))?;
        names
            .iter()
            .map(|n| {
                if *n == self.home.config().name {
                    return Ok(self.peer_id());
                }
                peers.by_name(n).ok().and_then(|p| p.id()).ok_or_else(|| {
                    NodeFailure::Usage(format!("unknown peer {n:?} (see `tessera peers list`)"))
                })
            })
            .collect()
    }

    /// Proposes `propose` again while members wait for a person to approve it, reporting
    /// who is waited for; the first other refusal or failure ends it.
    async fn until_approved<T, F, Fut>(
        &self,
        progress: &(dyn Fn(String) + Sync),
        propose: F,
    ) -> Result<T, NodeFailure>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, JobError>>,
    {
        let deadline = Instant::now() + self.approval_ttl;
        loop {
            match propose().await {
                Err(JobError::Propose(ProposeError::Refused { peer, reason }))
                    if reason == AWAITING && Instant::now() < deadline =>
                {
                    progress(format!("waiting for {} to approve", self.name_of(&peer)));
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                Err(JobError::Propose(ProposeError::Refused { peer, reason })) => {
                    return Err(NodeFailure::Job(format!(
                        "{} refused: {reason}",
                        self.name_of(&peer)
                    )))
                }
                Err(JobError::Propose(ProposeError::Unreachable { peer, reason })) => {
                    return Err(NodeFailure::Job(format!(
                        "{} did not answer: {reason}",
                        self.name_of(&peer)
                    )))
                }
                other => return other.map_err(NodeFailure::from),
            }
        }
    }

    /// A peer's local name, else its PeerId.
    fn name_of(&self, peer: &PeerId) -> String {
        self.peers
            .lock()
            .ok()
            .and_then(|p| p.name_of(peer).map(str::to_string))
            .unwrap_or_else(|| peer.to_string())
    }

    /// `tessera keygen`: a `threshold`-of-n key of `suite` among this device and `with`,
    /// kept as `name`.
    pub async fn keygen(
        &self,
        name: &str,
        suite: Suite,
        threshold: u16,
        with: &[String],
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<Value, NodeFailure> {
        crate::device::peers::check_name(name).map_err(|e| NodeFailure::Usage(e.to_string()))?;
        if self.keystore.exists(name) {
            return Err(NodeFailure::Usage(format!(
                "a key named {name:?} exists already"
            )));
        }
        let mut roster = vec![self.peer_id()];
        roster.extend(self.resolve_peers(with)?);
        progress(format!(
            "proposing a {threshold}-of-{} {suite} key",
            roster.len()
        ));
        let result = with_suite!(self.suites, suite, |device, C| self
            .until_approved(progress, || device.keygen_named(
                roster.clone(),
                threshold,
                name
            ))
            .await
            .map(|share| served::<C>(&Served::Keygen(share))));
        self.log_initiated("keygen", name, 0, &roster, None, &result);
        result
    }

    /// Logs a session this device initiated.
    fn log_initiated(
        &self,
        protocol: &str,
        key: &str,
        epoch: u64,
        roster: &[PeerId],
        message: Option<&[u8]>,
        result: &Result<Value, NodeFailure>,
    ) {
        let _ = audit::append(
            self.home.root(),
            Record {
                time: now_secs(),
                protocol: protocol.into(),
                key: Some(key.into()),
                epoch,
                initiator: self.peer_id().to_string(),
                members: roster.iter().map(PeerId::to_string).collect(),
                message_sha256: message.map(|m| hex::encode(Sha256::digest(m))),
                decision: Decision::Approved,
                result: match result {
                    Ok(_) => "ok".into(),
                    Err(e) => e.to_string(),
                },
                culprits: Vec::new(),
            },
        );
    }

    /// `tessera sign`: `message` with the key `name`, by this device and `signers` (default:
    /// the first others of the committee to make t).
    pub async fn sign(
        &self,
        name: &str,
        message: &[u8],
        signers: &[String],
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<Value, NodeFailure> {
        let epochs = self.keystore.epochs(name).map_err(|_| {
            NodeFailure::Usage(format!("unknown key {name:?} (see `tessera keys list`)"))
        })?;
        let e = epochs
            .iter()
            .rev()
            .find(|e| e.is_active())
            .ok_or_else(|| NodeFailure::Usage(format!("key {name:?} is not active yet")))?;
        let public = &e.public;
        let me = self.peer_id();
        let chosen = if signers.is_empty() {
            let mut chosen = vec![me];
            chosen.extend(
                public
                    .roster
                    .iter()
                    .filter_map(peer_of)
                    .filter(|p| *p != me)
                    .take(usize::from(public.threshold).saturating_sub(1)),
            );
            chosen
        } else {
            let mut chosen = self.resolve_peers(signers)?;
            if !chosen.contains(&me) {
                chosen.insert(0, me);
            }
            chosen
        };
        progress(format!("asking {} devices to sign", chosen.len()));
        let key_id = public.key_id;
        let result = with_suite!(self.suites, public.suite, |device, C| self
            .until_approved(progress, || device.sign(&key_id, chosen.clone(), message))
            .await
            .map(|out| served::<C>(&Served::Sign(out))));
        self.log_initiated("sign", name, e.epoch, &chosen, Some(message), &result);
        result
    }
}

/// What a served or initiated session produced, as JSON (hex fields).
fn served<C: Ciphersuite>(s: &Served<C>) -> Value {
    match s {
        Served::Keygen(share) => {
            let p = share.public();
            json!({
                "protocol": "keygen",
                "suite": p.suite,
                "group_key": hex::encode(&p.group_key),
                "key_id": hex::encode(p.key_id),
                "fingerprint": p.fingerprint,
            })
        }
        Served::Sign(out) => json!({
            "protocol": "sign",
            "signature": out.signature.to_bytes().map(hex::encode).unwrap_or_default(),
            "verifying_key": C::serialize_verifying_key(&out.output_key).map(hex::encode).unwrap_or_default(),
        }),
        Served::Reshare(committed, _) => json!({
            "protocol": "reshare",
            "committed": format!("{committed:?}"),
        }),
    }
}

/// The audit record of a session proposed by `initiator`: its key by local name (or the name
/// a keygen suggests), members, and the SHA-256 of a message to sign.
fn session_record(
    proposal: &Proposal,
    initiator: PeerId,
    names: &Mutex<HashMap<[u8; 32], String>>,
    decision: Decision,
    result: String,
    culprits: Vec<String>,
) -> Record {
    let summary = summarize(&proposal.draft);
    let key = names
        .lock()
        .ok()
        .and_then(|n| n.get(&proposal.draft.key_id).cloned());
    Record {
        time: now_secs(),
        protocol: kind_name(proposal.draft.kind).into(),
        key: key.or(summary.name),
        epoch: proposal.draft.epoch,
        initiator: initiator.to_string(),
        members: proposal
            .draft
            .roster
            .iter()
            .map(PeerId::to_string)
            .collect(),
        message_sha256: summary.message.map(|m| hex::encode(Sha256::digest(m))),
        decision,
        result,
        culprits,
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Keygen => "keygen",
        Kind::Sign => "sign",
        Kind::Reshare => "reshare",
        Kind::Certify => "certify",
    }
}

/// The node's policy: the approvals, with requests described by local names.
/// The log of proposals the rules refused: the policy runs on the node's event loop, so it
/// hands each record to a thread that appends it (at most 256 waiting; a flood beyond that
/// is not logged record by record).
fn refusals(home: Home) -> std::sync::mpsc::SyncSender<Record> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Record>(256);
    std::thread::spawn(move || {
        for record in rx {
            let _ = audit::append(home.root(), record);
        }
    });
    tx
}

fn policy(
    approvals: Arc<Mutex<Approvals>>,
    peers: Arc<Mutex<Peers>>,
    names: Arc<Mutex<HashMap<[u8; 32], String>>>,
    me: PeerId,
    home: Home,
    log: std::sync::mpsc::SyncSender<Record>,
) -> Policy {
    Arc::new(move |initiator: &PeerId, proposal: &Proposal| {
        let describe = |id: String| {
            let peers = peers.lock().ok();
            let member = |p: &PeerId| Member {
                name: if *p == me {
                    Some(home.config().name.clone())
                } else {
                    peers
                        .as_ref()
                        .and_then(|ps| ps.name_of(p).map(str::to_string))
                },
                peer_id: p.to_string(),
            };
            let summary = summarize(&proposal.draft);
            let key = names
                .lock()
                .ok()
                .and_then(|n| n.get(&proposal.draft.key_id).cloned())
                .or(summary.name.clone());
            // A reshare shows its new committee (what the approval is about); the others show
            // the session's roster.
            let roster: Vec<IdentityKey> = if summary.new_roster.is_empty() {
                proposal
                    .draft
                    .roster
                    .iter()
                    .filter_map(identity_of)
                    .collect()
            } else {
                summary.new_roster.clone()
            };
            // A signing session's threshold and fingerprint are its key's (read only now, when
            // a person must see the request).
            let stored = key.as_ref().and_then(|name| {
                let epochs = Keystore::new(home.root()).epochs(name).ok()?;
                let e = epochs
                    .into_iter()
                    .find(|e| e.public.key_id == proposal.draft.key_id)?;
                Some((e.public.threshold, e.public.fingerprint))
            });
            let threshold = summary.threshold.or(stored.as_ref().map(|(t, _)| *t));
            let fingerprint = match (summary.threshold, stored) {
                (Some(t), _) => Some(tessera_keygen::roster_fingerprint(&roster, t)),
                (None, Some((_, f))) => Some(f),
                (None, None) => None,
            };
            Request {
                id,
                protocol: kind_name(proposal.draft.kind).into(),
                key,
                epoch: proposal.draft.epoch,
                initiator: member(initiator),
                committee: roster
                    .iter()
                    .filter_map(peer_of)
                    .map(|p| member(&p))
                    .collect(),
                threshold,
                fingerprint,
                message_sha256: summary
                    .message
                    .as_ref()
                    .map(|m| hex::encode(Sha256::digest(m))),
                message: summary.message.map(hex::encode),
                received: now_secs(),
            }
        };
        // A keygen may suggest a key name: only one a local name may be (no path, no escapes).
        let suggested = summarize(&proposal.draft).name.unwrap_or_default();
        if !suggested.is_empty() && crate::device::peers::check_name(&suggested).is_err() {
            return tessera_p2p::Decision::Refuse(
                "the suggested key name is not a valid name".into(),
            );
        }
        let decision = match approvals.lock() {
            Ok(mut a) => a.decide(initiator, proposal, describe),
            Err(_) => tessera_p2p::Decision::Refuse("approvals unavailable".into()),
        };
        if let tessera_p2p::Decision::Refuse(why) = &decision {
            if why != AWAITING {
                let record = session_record(
                    proposal,
                    *initiator,
                    &names,
                    Decision::Refused,
                    why.clone(),
                    Vec::new(),
                );
                let _ = log.try_send(record);
            }
        }
        decision
    })
}
