//! A device's running node (design §4, §5, §6): the home unlocked once, its keys read back
//! into memory, one libp2p node shared by the three suites, the approvals, the audit log, and
//! the jobs this device starts or serves.
//!
//! `tessera node` keeps one running and hands it the other commands' work over the control
//! socket ([`crate::device::control`]); when none runs, a command starts one in-process for
//! its own duration. Either way the work is done here.

use std::{
    collections::{HashMap, HashSet},
    fs::File,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tessera_core::{Ciphersuite, Ed25519, Ed25519Identity, IdentityKey, Secp256k1, Suite, Taproot};
use tessera_p2p::{
    identities, identity_of, peer_of, FileSeen, Kind, Limits, Link, Multiaddr, Node, NodeConfig,
    PeerId, Policy, Proposal, ProposeError, Session, Strength,
};
use tessera_reshare::KeyRecord;

use crate::device::{
    address::Network,
    approval::{now_secs, Approvals, Member, Request, Rules, AWAITING},
    audit::{self, Decision, Record},
    error::StoreError,
    jobs::{suite_of, summarize, Device, JobError, Served, Summary},
    peers::Peers,
    relay::{Question, Relays},
    solana,
    store::DiskStore,
    transaction::{self, TxKind, View},
    Home, Keystore, Mark, Stored,
};

/// How often a node asks its peers for what completes a session it missed the end of.
const CATCH_UP_EVERY: Duration = Duration::from_secs(3);
/// How long it waits for one peer's answer.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

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
    /// Start even if this key's files are damaged or its share file is gone, leaving it out
    /// (for `tessera repair` of that key); any other damaged key stops the node, naming the
    /// file.
    pub skip_damaged: Option<String>,
    /// The Bitcoin network this device signs PSBTs for (design §6.5): a PSBT proposed for
    /// another is refused.
    pub network: Network,
    /// Where the session layer counts for `--metrics` (design §6.6), if anywhere.
    pub metrics: Option<Arc<tessera_p2p::metrics::Metrics>>,
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
    relays: Arc<Relays>,
    skip_damaged: Option<String>,
    network: Network,
    /// The device's identity and data key (the store holds them too), for a repaired share.
    identity: Arc<Ed25519Identity>,
    data_key: Arc<crate::device::keyring::DataKey>,
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
        let approvals = Arc::new(Mutex::new(
            Approvals::new(options.rules.clone(), options.approval_ttl)
                .with_ledger(home.path("spent.json"))
                .map_err(NodeFailure::Usage)?,
        ));
        let me = keypair.public().to_peer_id();
        let mut config = NodeConfig::new(
            keypair,
            policy(
                approvals.clone(),
                peers.clone(),
                names.clone(),
                me,
                home.clone(),
                options.network,
                refusals(home.clone()),
            ),
        );
        // Tests only (a no-op outside test builds): a deviating device.
        config.tamper = tessera_p2p::tamper::from_env();
        config.listen = if options.listen.is_empty() {
            home.config()
                .listen
                .iter()
                .filter_map(|a| a.parse().ok())
                .collect()
        } else {
            options.listen.clone()
        };
        config.relay = match &home.config().relay {
            Some(r) => Some(r.parse().map_err(|_| {
                NodeFailure::Usage(format!("the relay in home.json is not a multiaddr: {r}"))
            })?),
            None => None,
        };
        config.limits = options.limits.clone();
        config.metrics = options.metrics.clone();
        let relays = Arc::new(Relays::default());
        config.answers = Some(relays.answerer());
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
            relays.clone(),
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
            relays,
            skip_damaged: options.skip_damaged.clone(),
            network: options.network,
            identity: identity.clone(),
            data_key: data_key.clone(),
        };
        runtime.load_keys(&data_key, &identity)?;
        runtime.allow_peers();
        Ok(runtime)
    }

    /// Reads every key back (design §3.3 step 4, §5): its active epoch, with the share of
    /// the next epoch it staged and the reshare it deals in, if any; a keygen's pending share;
    /// a joining device's staged share. What a crash left half-done is finished here: an
    /// epoch older than the active one is erased (the commit got that far), and a staged
    /// epoch whose transition was kept is activated.
    fn load_keys(
        &self,
        data_key: &crate::device::keyring::DataKey,
        identity: &Ed25519Identity,
    ) -> Result<(), NodeFailure> {
        for name in self.keystore.names()? {
            self.keystore.finish_erasures(&name)?;
            if !self.keystore.exists(&name) {
                continue;
            }
            let mut epochs = self.keystore.epochs(&name)?;
            if let Some(a) = epochs.iter().rev().find(|e| e.is_active()).map(|e| e.epoch) {
                for old in epochs.iter().filter(|e| e.epoch < a) {
                    tracing::info!(key = %name, epoch = old.epoch, "erasing a superseded epoch");
                    self.keystore.erase(&name, old.epoch)?;
                }
                epochs.retain(|e| e.epoch >= a);
            }
            let Some(newest) = epochs.last() else {
                continue;
            };
            for e in &epochs {
                if let Ok(mut n) = self.names.lock() {
                    n.insert(e.public.key_id, name.clone());
                }
            }
            let restored = with_suite!(self.suites, newest.public.suite, |device, C| {
                self.restore::<C>(device, data_key, identity, &name, &epochs)
            });
            match restored {
                Err(e) if self.skip_damaged.as_deref() == Some(name.as_str()) => {
                    tracing::warn!(key = %name, "left out: {e}");
                }
                other => other?,
            }
        }
        Ok(())
    }

    /// [`Runtime::load_keys`] for one key of suite `C`, whose epochs (the active one first,
    /// if any) are `epochs`.
    fn restore<C: Ciphersuite>(
        &self,
        device: &Device<C>,
        data_key: &crate::device::keyring::DataKey,
        identity: &Ed25519Identity,
        name: &str,
        epochs: &[crate::device::Epoch],
    ) -> Result<(), NodeFailure> {
        let load = |e: &crate::device::Epoch| self.keystore.load::<C>(data_key, name, e, identity);
        let (active, staged) = match epochs {
            [a, rest @ ..] if a.is_active() => (Some(a), rest.first()),
            [p, ..] => (None, Some(p)),
            [] => return Ok(()),
        };
        // A share whose confirmation never left (design §5.7) is discarded, before it is
        // even read: no other device can have certified it, so nothing depends on it, and
        // keeping it would hold the key's next transition for nothing. No half-made key is
        // shown or used. Only a share this version staged (its staged mark written first)
        // can be known unconfirmed; one without the mark (an older home) is kept.
        let unconfirmed = |e: &crate::device::Epoch| -> Result<bool, StoreError> {
            Ok(self.keystore.marked(name, e.epoch, Mark::Staged)?.is_some()
                && self
                    .keystore
                    .marked(name, e.epoch, Mark::Confirmed)?
                    .is_none())
        };
        let staged = match staged {
            Some(e) if unconfirmed(e)? => {
                tracing::info!(key = %name, epoch = e.epoch, "discarding a share this device never confirmed");
                self.keystore.erase(name, e.epoch)?;
                if active.is_none() {
                    if let Ok(mut n) = self.names.lock() {
                        n.remove(&e.public.key_id);
                    }
                    return Ok(());
                }
                None
            }
            other => other,
        };
        let active = match active.map(load).transpose()? {
            Some(Stored::Active(share)) => Some(share),
            _ => None,
        };
        let staged = match staged.map(|e| (e, load(e))) {
            Some((e, Ok(Stored::Pending(p)))) => Some((e, p)),
            Some((_, Err(e))) => return Err(e.into()),
            _ => None,
        };
        // A keygen's pending share: no epoch before it.
        if let (None, Some((e, pending))) = (&active, &staged) {
            if e.epoch == 0 {
                device.adopt_pending_keygen(pending.clone());
                return Ok(());
            }
        }
        let group_key = match (&active, &staged) {
            (Some(a), _) => *a.key_package().public().group_key(),
            (None, Some((_, p))) => *p.key_package().public().group_key(),
            (None, None) => return Ok(()),
        };
        let dealing = match &active {
            Some(a) => self.keystore.marked(name, a.epoch(), Mark::Dealing)?,
            None => None,
        };
        // A damaged transition file is only relay data: the relay brings it again.
        let transition = match &staged {
            Some((e, _)) => self
                .keystore
                .transition(name, e.epoch)
                .unwrap_or_else(|err| {
                    tracing::warn!(key = %name, "a kept transition is unreadable: {err}");
                    None
                }),
            None => None,
        };
        let staged = match staged {
            Some((e, p)) => {
                // Without its mark (an older home), the share's key id names its session.
                let session = self
                    .keystore
                    .marked(name, e.epoch, Mark::Staged)?
                    .unwrap_or(*p.key_id());
                Some((session, p))
            }
            None => None,
        };
        if let Some(a) = &active {
            self.relays.keep_certificate(a.certificate());
            self.relays.keep_public(&a.public());
            if let Ok(Some(t)) = self.keystore.transition(name, a.epoch()) {
                self.relays.keep_transition(&t);
            }
        }
        let record = KeyRecord::restored(group_key, active, staged, dealing).map_err(|_| {
            NodeFailure::Store(StoreError::corrupt(
                &self.home.path("keys").join(name),
                "its epochs do not follow each other",
            ))
        })?;
        device.adopt(record);
        if let Some(t) = transition {
            match device.commit_reshare(&t) {
                Ok(c) => {
                    tracing::info!(key = %name, "finished a commit a restart cut short: {c:?}")
                }
                Err(e) => tracing::warn!(key = %name, "a kept transition does not apply: {e}"),
            }
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

    /// The node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// What `tessera status` shows (design §6.6): this node's PeerId and addresses (direct,
    /// and through its relay), each known peer and how it is connected now, the keys with
    /// a pending epoch, the requests waiting for a person, and each key's last failed
    /// session with the devices it named (from the audit log).
    pub async fn status(&self) -> Result<Value, NodeFailure> {
        let (relayed, direct): (Vec<Multiaddr>, Vec<Multiaddr>) = self
            .addresses()
            .into_iter()
            .partition(|a| Link::of(a) == Link::Relayed);
        let links = self.node.links().await;
        let peers: Vec<Value> = {
            let peers = self
                .peers
                .lock()
                .map_err(|_| NodeFailure::Job("peers poisoned".into()))?;
            peers
                .all()
                .iter()
                .map(|p| {
                    let how: Vec<&str> = p
                        .id()
                        .and_then(|id| links.iter().find(|(l, _)| *l == id))
                        .map(|(_, l)| l.iter().map(|k| k.name()).collect())
                        .unwrap_or_default();
                    json!({
                        "name": p.name,
                        "peer_id": p.id().map(|i| i.to_string()),
                        "connected": !how.is_empty(),
                        "links": how,
                    })
                })
                .collect()
        };
        let mut pending = Vec::new();
        for name in self.keystore.names()? {
            if !self.keystore.exists(&name) {
                continue;
            }
            let epochs: Vec<u64> = self
                .keystore
                .epochs(&name)?
                .iter()
                .filter(|e| !e.is_active())
                .map(|e| e.epoch)
                .collect();
            if !epochs.is_empty() {
                pending.push(json!({ "key": name, "pending_epochs": epochs }));
            }
        }
        let mut failures: Vec<Value> = Vec::new();
        let mut seen = HashSet::new();
        // A damaged log (`tessera log` names it) leaves failures out, not the status.
        for entry in audit::read(self.home.root())
            .unwrap_or_default()
            .iter()
            .rev()
        {
            let r = &entry.record;
            let Some(key) = &r.key else { continue };
            if r.result == "ok" || !seen.insert(key.clone()) {
                continue;
            }
            failures.push(json!({
                "key": key,
                "time": r.time,
                "protocol": r.protocol,
                "result": r.result,
                "culprits": r.culprits.iter().map(|c| {
                    let name = c.parse::<PeerId>().ok().map(|p| self.name_of(&p));
                    json!({ "peer_id": c, "name": name })
                }).collect::<Vec<_>>(),
            }));
        }
        Ok(json!({
            "peer_id": self.peer_id().to_string(),
            "addresses": {
                "direct": direct.iter().map(Multiaddr::to_string).collect::<Vec<_>>(),
                "relayed": relayed.iter().map(Multiaddr::to_string).collect::<Vec<_>>(),
            },
            "relay": self.home.config().relay,
            "peers": peers,
            "pending": pending,
            "waiting": self.waiting(),
            "last_failures": failures,
        }))
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

    /// Serves sessions other devices start, each on its own task, until the node stops; and
    /// meanwhile asks peers for what completes a session this device missed the end of.
    pub async fn serve(self: Arc<Self>) {
        tokio::spawn(self.clone().catch_up());
        while let Some(session) = self.node.next_session().await {
            let me = self.clone();
            tokio::spawn(async move {
                let _ = me.serve_one(session).await;
            });
        }
    }

    /// Relay on reconnection (design §3.3 step 4): every few seconds, while a share of this
    /// device waits for its certificate or transition, asks its peers for it
    /// ([`crate::device::relay`]); what a peer answers is verified before it is applied.
    async fn catch_up(self: Arc<Self>) {
        loop {
            self.catch_up_suite(&self.suites.ed25519).await;
            self.catch_up_suite(&self.suites.secp256k1).await;
            self.catch_up_suite(&self.suites.taproot).await;
            tokio::time::sleep(CATCH_UP_EVERY).await;
        }
    }

    async fn catch_up_suite<C: Ciphersuite>(&self, device: &Device<C>) {
        for pending in device.pending_keygens() {
            let roster: Vec<PeerId> = pending.roster().iter().filter_map(peer_of).collect();
            let question = Question::Certificate(*pending.key_id());
            self.ask_around(&roster, question, |answer| {
                serde_json::from_slice::<tessera_keygen::Certificate>(answer)
                    .ok()
                    .and_then(|c| device.activate(&c).ok())
                    .map(|_| "activated from a relayed certificate".to_string())
            })
            .await;
        }
        let everyone: Vec<PeerId> = self
            .peers
            .lock()
            .map(|p| p.all().iter().filter_map(|c| c.id()).collect())
            .unwrap_or_default();
        for key_id in device.awaiting_transitions() {
            self.ask_around(&everyone, Question::Transition(key_id), |answer| {
                serde_json::from_slice::<tessera_reshare::Transition>(answer)
                    .ok()
                    .and_then(|t| device.commit_reshare(&t).ok())
                    .map(|c| format!("committed a relayed transition: {c:?}"))
            })
            .await;
        }
    }

    /// Asks `peers` (this device left out) `question` one at a time, until `apply` takes an
    /// answer (it verifies it; a wrong answer is skipped).
    async fn ask_around(
        &self,
        peers: &[PeerId],
        question: Question,
        apply: impl Fn(&[u8]) -> Option<String>,
    ) {
        for peer in peers.iter().filter(|p| **p != self.peer_id()) {
            let asked = self.node.ask(*peer, question.encode());
            if let Ok(Ok(Some(answer))) = tokio::time::timeout(ASK_TIMEOUT, asked).await {
                if let Some(done) = apply(&answer) {
                    tracing::info!(?question, from = %self.name_of(peer), "{done}");
                    return;
                }
                tracing::warn!(?question, from = %self.name_of(peer), "a relayed answer does not apply");
            }
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
            Err(e @ JobError::Run { .. }) => e.blamed().iter().map(PeerId::to_string).collect(),
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
        self.approved(progress, propose)
            .await
            .map_err(|e| self.failure(e))
    }

    /// Runs `propose` again while a member's person has not decided: soon at first (a script
    /// approves within a second), then every 3 s, until the approval timeout. Any other
    /// outcome is returned as it is.
    async fn approved<T, F, Fut>(
        &self,
        progress: &(dyn Fn(String) + Sync),
        propose: F,
    ) -> Result<T, JobError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, JobError>>,
    {
        let deadline = Instant::now() + self.approval_ttl;
        let mut pause = Duration::from_millis(500);
        loop {
            match propose().await {
                Err(JobError::Propose(ProposeError::Refused { peer, reason }))
                    if reason == AWAITING && Instant::now() < deadline =>
                {
                    progress(format!("waiting for {} to approve", self.name_of(&peer)));
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(3));
                }
                other => return other,
            }
        }
    }

    /// A job's failure as the command's, naming the member that refused or did not answer.
    fn failure(&self, e: JobError) -> NodeFailure {
        match e {
            JobError::Propose(ProposeError::Refused { peer, reason }) => {
                NodeFailure::Job(format!("{} refused: {reason}", self.name_of(&peer)))
            }
            JobError::Propose(ProposeError::Unreachable { peer, reason }) => {
                NodeFailure::Job(format!("{} did not answer: {reason}", self.name_of(&peer)))
            }
            other => NodeFailure::from(other),
        }
    }

    /// A peer's local name (this device's own for itself), else its PeerId.
    fn name_of(&self, peer: &PeerId) -> String {
        if *peer == self.peer_id() {
            return self.home.config().name.clone();
        }
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

    /// A robust signing result as the command's, logged with the devices that signed.
    fn finish_robust(
        &self,
        protocol: &str,
        name: &str,
        epoch: u64,
        message: &[u8],
        result: Result<Robust<Value>, NodeFailure>,
    ) -> Result<Value, NodeFailure> {
        let (result, signers) = match result {
            Ok(r) => (
                Ok(self.robust_json(r.output, &r.signers, &r.skipped)),
                r.signers,
            ),
            Err(e) => (Err(e), Vec::new()),
        };
        self.log_initiated(protocol, name, epoch, &signers, Some(message), &result);
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
        path: Option<Vec<u32>>,
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<Value, NodeFailure> {
        let e = self.active_epoch(name)?;
        let key_id = e.public.key_id;
        let result = with_suite!(self.suites, e.public.suite, |device, C| self
            .robustly(&e.public, signers, progress, |chosen| device.sign_child(
                &key_id,
                chosen,
                message,
                path.clone().unwrap_or_default()
            ))
            .await
            .map(|r| r.map(|out| served::<C>(&Served::Sign(out)))));
        self.finish_robust("sign", name, e.epoch, message, result)
    }

    /// `tessera sign --psbt` and `--solana-tx` (design §6.5): the transaction `message` of
    /// `kind` signed with the key `name` by this device and `signers` (default: the first t
    /// of the committee) in one session, one signature per item this device read out of it
    /// first; a transaction it cannot read is refused before anything is sent.
    pub async fn sign_transaction(
        &self,
        name: &str,
        message: &[u8],
        kind: TxKind,
        signers: &[String],
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<Value, NodeFailure> {
        on_network(kind, self.network).map_err(NodeFailure::Usage)?;
        let e = self.active_epoch(name)?;
        let plan = transaction::plan(kind, message, &e.public).map_err(NodeFailure::Usage)?;
        for line in transaction::lines(&plan.view) {
            progress(line);
        }
        // The session carries every item's messages for every signer (t of them).
        let signers_count = usize::from(e.public.threshold);
        if plan.items.len().saturating_mul(signers_count) > tessera_sign::batch::MAX_ITEM_SIGNERS {
            return Err(NodeFailure::Usage(format!(
                "{} signatures by {} devices is more than one session carries ({} signatures·devices): split the transaction",
                plan.items.len(),
                signers_count,
                tessera_sign::batch::MAX_ITEM_SIGNERS
            )));
        }
        progress(format!("{} signature(s) in one session", plan.items.len()));
        let key_id = e.public.key_id;
        let result = with_suite!(self.suites, e.public.suite, |device, C| self
            .robustly(&e.public, signers, progress, |chosen| device
                .sign_transaction(&key_id, chosen, message, kind))
            .await
            .map(|r| r.map(|outs| served::<C>(&Served::Transaction(outs)))));
        self.finish_robust("sign", name, e.epoch, message, result)
    }

    /// Robust signing (design §3.2, "Robust signing", after ROAST): `attempt` with this
    /// device and t−1 others, and again with others while devices fail it.
    ///
    /// The candidates are `signers` by local name, or else the rest of the key's committee in
    /// roster order; those that answer a question within 5 s are tried, in that order.
    /// Each attempt is a new session, so every signer draws fresh nonces and no commitment
    /// meets another signer set. A device that refused, did not answer, or that the failed
    /// session named (a share this device found invalid, a proven equivocation, silence in a
    /// round) is left out of the next attempt; the others stay. It stops at the first
    /// signature, or when fewer than t devices are left, naming every device it skipped.
    async fn robustly<T, F, Fut>(
        &self,
        public: &tessera_keygen::PublicKeyShare,
        signers: &[String],
        progress: &(dyn Fn(String) + Sync),
        attempt: F,
    ) -> Result<Robust<T>, NodeFailure>
    where
        F: Fn(Vec<PeerId>) -> Fut,
        Fut: std::future::Future<Output = Result<T, JobError>>,
    {
        let me = self.peer_id();
        let t = usize::from(public.threshold);
        let candidates: Vec<PeerId> = if signers.is_empty() {
            public.roster.iter().filter_map(peer_of).collect()
        } else {
            self.resolve_peers(signers)?
        };
        let candidates: Vec<PeerId> = candidates.into_iter().filter(|p| *p != me).collect();
        let (mut ready, mut skipped) = self.responsive(public, &candidates, progress).await;
        loop {
            if ready.len() + 1 < t {
                let why: Vec<String> = skipped
                    .iter()
                    .map(|(p, why)| format!("{} {why}", self.name_of(p)))
                    .collect();
                return Err(NodeFailure::Job(format!(
                    "fewer than {t} devices can sign: {}",
                    if why.is_empty() {
                        "not enough devices".to_string()
                    } else {
                        why.join("; ")
                    }
                )));
            }
            let chosen: Vec<PeerId> = std::iter::once(me)
                .chain(ready.iter().take(t - 1).copied())
                .collect();
            let names: Vec<String> = chosen.iter().map(|p| self.name_of(p)).collect();
            progress(format!("signing with {}", names.join(", ")));
            let failed = match self.approved(progress, || attempt(chosen.clone())).await {
                Ok(output) => {
                    return Ok(Robust {
                        output,
                        signers: chosen,
                        skipped,
                    })
                }
                Err(e) => e,
            };
            let left_out = culprits(&failed, &me);
            if left_out.is_empty() {
                return Err(self.failure(failed));
            }
            for (peer, why) in &left_out {
                progress(format!("{} left out: {why}", self.name_of(peer)));
            }
            ready.retain(|p| !left_out.iter().any(|(q, _)| q == p));
            skipped.extend(left_out);
        }
    }

    /// Which of `candidates` answer a question (asked all at once, and once more to those
    /// that did not answer within 5 s: a first dial can be slow on a loaded machine), in the
    /// order of `candidates`; the others, with why.
    async fn responsive(
        &self,
        public: &tessera_keygen::PublicKeyShare,
        candidates: &[PeerId],
        progress: &(dyn Fn(String) + Sync),
    ) -> (Vec<PeerId>, Vec<(PeerId, String)>) {
        progress(format!("reaching {} devices", candidates.len()));
        let question = Question::Certificate(public.key_id).encode();
        let mut answered: Vec<PeerId> = Vec::new();
        let mut why: Vec<(PeerId, String)> = Vec::new();
        for _ in 0..2 {
            let mut asks = tokio::task::JoinSet::new();
            for peer in candidates.iter().filter(|p| !answered.contains(p)).copied() {
                let (node, question) = (self.node.clone(), question.clone());
                asks.spawn(async move {
                    let answer = tokio::time::timeout(ASK_TIMEOUT, node.ask(peer, question)).await;
                    (peer, answer)
                });
            }
            why.clear();
            while let Some(joined) = asks.join_next().await {
                // A task that did not finish names nobody: its peer stays unanswered.
                let Ok((peer, answer)) = joined else {
                    continue;
                };
                match answer {
                    Ok(Ok(_)) => answered.push(peer),
                    Ok(Err(e)) => why.push((peer, format!("did not answer: {e}"))),
                    Err(_) => why.push((peer, "did not answer within 5 s".to_string())),
                }
            }
        }
        let ready: Vec<PeerId> = candidates
            .iter()
            .filter(|p| answered.contains(p))
            .copied()
            .collect();
        let silent = candidates
            .iter()
            .filter(|p| !answered.contains(p))
            .map(|p| {
                let reason = why.iter().find(|(q, _)| q == p).map(|(_, r)| r.clone());
                (*p, reason.unwrap_or_else(|| "did not answer".to_string()))
            })
            .collect();
        (ready, silent)
    }

    /// A robust signing result as JSON: the session's, with its signers and the devices
    /// skipped, by name, with why.
    fn robust_json(&self, mut v: Value, signers: &[PeerId], skipped: &[(PeerId, String)]) -> Value {
        v["signers"] = signers
            .iter()
            .map(|p| self.name_of(p))
            .collect::<Vec<_>>()
            .into();
        v["skipped"] = skipped
            .iter()
            .map(|(p, why)| json!({ "name": self.name_of(p), "peer_id": p.to_string(), "reason": why }))
            .collect::<Vec<_>>()
            .into();
        v
    }
}

impl Runtime {
    /// `tessera reshare` and `tessera refresh` (design §3.3): the key `name` reshared by its
    /// committee's devices `from` (default: all of them, so that every device leaving the
    /// committee erases its share) to the devices `to` (default: the same committee) with
    /// threshold `threshold` (default: the same).
    pub async fn reshare(
        &self,
        name: &str,
        to: Option<&[String]>,
        threshold: Option<u16>,
        from: &[String],
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<Value, NodeFailure> {
        let e = self.active_epoch(name)?;
        let public = &e.public;
        let me = self.peer_id();
        let committee: Vec<PeerId> = public.roster.iter().filter_map(peer_of).collect();
        let dealers = if from.is_empty() {
            committee.clone()
        } else {
            let mut d = self.resolve_peers(from)?;
            if !d.contains(&me) {
                d.insert(0, me);
            }
            d
        };
        if let Some(p) = dealers.iter().find(|p| !committee.contains(p)) {
            return Err(NodeFailure::Usage(format!(
                "{} holds no share of {name:?} (see `tessera keys show {name}`)",
                self.name_of(p)
            )));
        }
        let new_roster = match to {
            Some([]) => {
                return Err(NodeFailure::Usage(
                    "name the new committee with --to".into(),
                ))
            }
            Some(names) => self.resolve_peers(names)?,
            None => committee.clone(),
        };
        let threshold = threshold.unwrap_or(public.threshold);
        let names: Vec<String> = new_roster.iter().map(|p| self.name_of(p)).collect();
        progress(format!(
            "proposing a reshare of {name} to {threshold}-of-{} ({}), dealt by {} devices",
            new_roster.len(),
            names.join(", "),
            dealers.len()
        ));
        let key_id = public.key_id;
        let mut roster = dealers.clone();
        roster.extend(new_roster.iter().filter(|p| !dealers.contains(p)));
        let result = with_suite!(self.suites, public.suite, |device, C| self
            .until_approved(progress, || device.reshare(
                &key_id,
                &dealers,
                &new_roster,
                threshold
            ))
            .await
            .map(|(c, t)| served::<C>(&Served::Reshare(c, t))));
        self.log_initiated("reshare", name, e.epoch, &roster, None, &result);
        result
    }

    /// `tessera health`: a test signature of key `name` with every device of its committee
    /// that answers, each share checked against its verifying share (design §3.5). Devices
    /// that do not answer, refuse, or whose share fails are left out and the check runs again
    /// with the rest, while at least t remain.
    pub async fn health(
        &self,
        name: &str,
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<Value, NodeFailure> {
        let e = self.active_epoch(name)?;
        let public = &e.public;
        let me = self.peer_id();
        let t = usize::from(public.threshold);
        let mut answering: Vec<PeerId> = public.roster.iter().filter_map(peer_of).collect();
        let mut silent: Vec<(PeerId, String)> = Vec::new();
        let mut failed: Vec<(PeerId, String)> = Vec::new();
        for peer in answering.clone().into_iter().filter(|p| *p != me) {
            progress(format!("reaching {}", self.name_of(&peer)));
            match tokio::time::timeout(ASK_TIMEOUT, self.node.connect(peer)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => silent.push((peer, e.to_string())),
                Err(_) => silent.push((peer, "no answer within 5 s".into())),
            }
        }
        answering.retain(|p| !silent.iter().any(|(s, _)| s == p));
        let key_id = public.key_id;
        let signed = loop {
            if answering.len() < t {
                break false;
            }
            progress(format!("test signature with {} devices", answering.len()));
            let result = with_suite!(self.suites, public.suite, |device, _C| device
                .health(&key_id, answering.clone())
                .await
                .map(|_| ()));
            let left_out = match result {
                Ok(()) => break true,
                Err(JobError::Propose(ProposeError::Refused { peer, reason })) => {
                    failed.push((peer, format!("refused: {reason}")));
                    vec![peer]
                }
                Err(JobError::Propose(ProposeError::Unreachable { peer, reason })) => {
                    silent.push((peer, reason));
                    vec![peer]
                }
                Err(JobError::Run { ref blamed, .. })
                    if blamed.iter().any(|b| {
                        b.peer == me
                            && (b.evidence == Strength::Proven
                                || b.evidence == Strength::AccusedBy(me))
                    }) =>
                {
                    // This device's own share failed its own check: no check runs without it.
                    failed.push((me, "its own share failed".into()));
                    break false;
                }
                Err(e @ JobError::Run { .. }) if !culprits(&e, &me).is_empty() => {
                    // The same rule as robust signing: another member's word leaves out the
                    // accuser with the accused.
                    let left = culprits(&e, &me);
                    failed.extend(left.iter().cloned());
                    left.into_iter().map(|(p, _)| p).collect()
                }
                Err(e) => return Err(e.into()),
            };
            answering.retain(|p| !left_out.contains(p));
        };
        let names = |list: &[(PeerId, String)]| -> Vec<Value> {
            list.iter()
                .map(|(p, why)| json!({ "name": self.name_of(p), "peer_id": p.to_string(), "reason": why }))
                .collect()
        };
        let answered: Vec<String> = if signed {
            answering.iter().map(|p| self.name_of(p)).collect()
        } else {
            Vec::new()
        };
        let warning = (answered.len() <= t).then(|| {
            format!(
                "only {} of {} devices passed and the threshold is {t}: one more loss and the \
                 key is gone; restore or replace the missing devices (tessera repair, or a \
                 reshare) now",
                answered.len(),
                public.roster.len()
            )
        });
        let result = json!({
            "key": name,
            "epoch": e.epoch,
            "threshold": t,
            "parties": public.roster.len(),
            "passed": answered,
            "silent": names(&silent),
            "failed": names(&failed),
            "warning": warning,
        });
        self.log_initiated(
            "health",
            name,
            e.epoch,
            &answering,
            None,
            &Ok(result.clone()),
        );
        Ok(result)
    }

    /// `tessera repair` (design §3.4): this device's lost share of key `name` rebuilt by t of
    /// the devices `from`, each approving, and checked against this device's verifying share
    /// before it is stored. The key's public data is the home's (its share file gone or
    /// damaged), or, for a home that lost the key entirely, the first answer from `from` to
    /// "the public data of `group_key`" that verifies with its certificate and names this
    /// device. A set of helpers that fails (one refuses, or the result does not match) is
    /// followed by the next, t at a time around `from`.
    pub async fn repair(
        &self,
        name: &str,
        from: &[String],
        group_key: Option<&[u8]>,
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<Value, NodeFailure> {
        let me = identity_of(&self.peer_id())
            .ok_or_else(|| NodeFailure::Job("this device's identity is not Ed25519".into()))?;
        let helpers = self.resolve_peers(from)?;
        let epochs = if self.keystore.exists(name) {
            self.keystore.epochs(name)?
        } else {
            Vec::new()
        };
        if epochs.iter().any(|e| !e.is_active()) {
            return Err(NodeFailure::Usage(format!(
                "{name:?} has a pending epoch: let it complete or resolve it first"
            )));
        }
        let mut public = match epochs.last() {
            Some(e) => e.public.clone(),
            None => {
                let group_key = group_key.ok_or_else(|| {
                    NodeFailure::Usage(format!(
                        "this home has no public data of {name:?}: give --group-key to fetch it from the helpers"
                    ))
                })?;
                if let Some(other) = self.keystore.find_group(group_key)? {
                    return Err(NodeFailure::Usage(format!(
                        "this home keeps that key as {other:?}"
                    )));
                }
                self.fetch_public(&helpers, group_key, &me).await?
            }
        };
        let position = public.roster.iter().position(|k| *k == me).ok_or_else(|| {
            NodeFailure::Usage(format!("this device is not in the committee of {name:?}"))
        })?;
        public.identifier = u16::try_from(position + 1)
            .map_err(|_| NodeFailure::Usage("roster too large".into()))?;
        public.verify_member(&me).map_err(|e| {
            NodeFailure::Usage(format!("the public data of {name:?} does not verify: {e}"))
        })?;
        // Intact: held in memory, or its share file opens and checks (a node that left the key
        // out for another reason).
        let intact = with_suite!(self.suites, public.suite, |device, C| {
            device.share(&public.key_id).is_some()
                || epochs.last().is_some_and(|e| {
                    self.keystore
                        .load::<C>(&self.data_key, name, e, self.identity.as_ref())
                        .is_ok()
                })
        });
        if intact {
            return Err(NodeFailure::Usage(format!(
                "this device's share of {name:?} is intact: nothing to repair"
            )));
        }
        let t = usize::from(public.threshold);
        if helpers.len() < t {
            return Err(NodeFailure::Usage(format!(
                "name at least {t} helpers with --from"
            )));
        }
        let mut failures = Vec::new();
        for start in 0..helpers.len() {
            let set: Vec<PeerId> = (0..t)
                .map(|k| helpers[(start + k) % helpers.len()])
                .collect();
            let names: Vec<String> = set.iter().map(|p| self.name_of(p)).collect();
            progress(format!(
                "asking {} to repair this device's share",
                names.join(", ")
            ));
            let attempt = with_suite!(self.suites, public.suite, |device, C| {
                self.repair_with::<C>(device, name, &public, &set, progress)
                    .await
            });
            match attempt {
                Ok(v) => {
                    self.log_initiated("repair", name, public.epoch, &set, None, &Ok(v.clone()));
                    return Ok(v);
                }
                Err(e) => {
                    progress(format!("{}: {e}", names.join(", ")));
                    failures.push(format!("{}: {e}", names.join(", ")));
                }
            }
            if helpers.len() == t {
                break;
            }
        }
        Err(NodeFailure::Job(format!(
            "the repair failed with every set of helpers ({})",
            failures.join("; ")
        )))
    }

    /// One repair attempt with the helpers `set`; the share is stored and taken up.
    async fn repair_with<C: Ciphersuite>(
        &self,
        device: &Device<C>,
        name: &str,
        public: &tessera_keygen::PublicKeyShare,
        set: &[PeerId],
        progress: &(dyn Fn(String) + Sync),
    ) -> Result<Value, NodeFailure> {
        let package = crate::device::keystore::public_package::<C>(public)
            .ok_or_else(|| NodeFailure::Usage("the key's public data does not decode".into()))?;
        let key_package = self
            .until_approved(progress, || {
                device.repair(
                    &public.key_id,
                    public.epoch,
                    Arc::new(package.clone()),
                    &public.roster,
                    set,
                )
            })
            .await?;
        let certificate = public
            .certificate
            .as_ref()
            .ok_or_else(|| NodeFailure::Usage("the public data has no certificate".into()))?;
        let share = tessera_keygen::PendingKeyShare::new(
            key_package,
            public.roster.clone(),
            public.commitments_digest,
            public.epoch,
            self.identity.as_ref(),
        )
        .and_then(|p| p.activate(certificate))
        .map_err(|e| NodeFailure::Job(format!("the repaired share does not fit: {e}")))?;
        self.keystore.save_active(&self.data_key, name, &share)?;
        if let Ok(mut n) = self.names.lock() {
            n.insert(*share.key_id(), name.to_string());
        }
        self.relays.keep_certificate(share.certificate());
        self.relays.keep_public(&share.public());
        device.adopt(KeyRecord::new(share));
        Ok(json!({ "key": name, "epoch": public.epoch, "repaired": true }))
    }

    /// The public data of the key `group_key` that `helpers` give: of the answers that verify
    /// (certificate over the data) and name this device in the committee, the newest epoch.
    /// An older epoch also verifies (this device confirmed it too), so every helper is asked:
    /// the current committee serves only the newest, and repairing an older one would fail.
    async fn fetch_public(
        &self,
        helpers: &[PeerId],
        group_key: &[u8],
        me: &IdentityKey,
    ) -> Result<tessera_keygen::PublicKeyShare, NodeFailure> {
        let mut newest: Option<tessera_keygen::PublicKeyShare> = None;
        for peer in helpers {
            let asked = self
                .node
                .ask(*peer, Question::Public(group_key.to_vec()).encode());
            let Ok(Ok(Some(answer))) = tokio::time::timeout(ASK_TIMEOUT, asked).await else {
                continue;
            };
            let Ok(mut public) = serde_json::from_slice::<tessera_keygen::PublicKeyShare>(&answer)
            else {
                continue;
            };
            if public.group_key != group_key {
                continue;
            }
            if let Some(p) = public.roster.iter().position(|k| k == me) {
                public.identifier = u16::try_from(p + 1).unwrap_or(0);
                if public.verify_member(me).is_ok()
                    && newest.as_ref().is_none_or(|n| n.epoch < public.epoch)
                {
                    newest = Some(public);
                }
            }
        }
        newest.ok_or_else(|| {
            NodeFailure::Job(
                "no helper gave public data of that key that verifies and names this device".into(),
            )
        })
    }

    /// The newest active epoch of key `name`.
    fn active_epoch(&self, name: &str) -> Result<crate::device::Epoch, NodeFailure> {
        let epochs = self.keystore.epochs(name).map_err(|_| {
            NodeFailure::Usage(format!("unknown key {name:?} (see `tessera keys list`)"))
        })?;
        epochs
            .into_iter()
            .rev()
            .find(|e| e.is_active())
            .ok_or_else(|| NodeFailure::Usage(format!("key {name:?} is not active on this device")))
    }

    /// `tessera keys resolve NAME --abandon EPOCH`: the operator gives up this device's
    /// transition to epoch `epoch` of key `name` (design §3.3 step 4): the share of that epoch
    /// it staged is erased, and the mark of the reshare it dealt in from the epoch before is
    /// removed, so that another reshare can run. The active epoch stays.
    pub fn abandon(&self, name: &str, epoch: u64) -> Result<Value, NodeFailure> {
        let epochs = self.keystore.epochs(name).map_err(|_| {
            NodeFailure::Usage(format!("unknown key {name:?} (see `tessera keys list`)"))
        })?;
        let staged = epochs.iter().find(|e| e.epoch == epoch && !e.is_active());
        // Epoch 0 pending: a keygen whose certificate never completed here.
        if let (0, Some(pending)) = (epoch, staged) {
            let dropped = with_suite!(self.suites, pending.public.suite, |device, _C| device
                .drop_pending_keygen(&pending.public.key_id));
            if !dropped {
                return Err(NodeFailure::Usage(format!(
                    "{name:?} is not a pending keygen here (it may have just been activated)"
                )));
            }
            self.keystore.erase(name, 0)?;
            if let Ok(mut n) = self.names.lock() {
                n.remove(&pending.public.key_id);
            }
            return Ok(json!({ "key": name, "abandoned": 0 }));
        }
        if epochs.iter().any(|e| e.epoch == epoch && e.is_active()) {
            return Err(NodeFailure::Usage(format!(
                "epoch {epoch} of {name:?} is active: only a pending epoch can be abandoned"
            )));
        }
        let before = epoch.checked_sub(1);
        let dealing = match before {
            Some(b) => self.keystore.marked(name, b, Mark::Dealing)?,
            None => None,
        };
        if staged.is_none() && dealing.is_none() {
            return Err(NodeFailure::Usage(format!(
                "{name:?} has no pending transition to epoch {epoch} (see `tessera keys show {name}`)"
            )));
        }
        let any = epochs
            .first()
            .ok_or_else(|| NodeFailure::Usage("no epoch".into()))?;
        let key_ids: Vec<[u8; 32]> = epochs.iter().map(|e| e.public.key_id).collect();
        // Given up in memory first, under the record's lock: a transition that commits
        // meanwhile leaves nothing to give up, and then nothing is erased here.
        let given_up = with_suite!(self.suites, any.public.suite, |device, _C| device
            .abandon_epoch(&key_ids, epoch));
        if !given_up {
            return Err(NodeFailure::Usage(format!(
                "{name:?} has no pending transition to epoch {epoch} here (it may have just completed: see `tessera keys show {name}`)"
            )));
        }
        if staged.is_some() {
            self.keystore.erase(name, epoch)?;
        }
        if let Some(b) = before {
            self.keystore.unmark(name, b, Mark::Dealing)?;
        }
        Ok(json!({ "key": name, "abandoned": epoch }))
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
        Served::Transaction(outs) => json!({
            "protocol": "sign",
            "signatures": outs.iter().map(|o| o.signature.to_bytes().map(hex::encode).unwrap_or_default()).collect::<Vec<_>>(),
            "verifying_keys": outs.iter().map(|o| C::serialize_verifying_key(&o.output_key).map(hex::encode).unwrap_or_default()).collect::<Vec<_>>(),
        }),
        Served::Helped => json!({ "protocol": "repair", "helped": true }),
        Served::Reshare(committed, transition) => {
            let mut v = json!({
                "protocol": "reshare",
                "committed": "retired",
                "key_id": hex::encode(transition.certificate.key_id),
                "threshold": transition.threshold,
                "parties": transition.roster.len(),
            });
            if let tessera_reshare::Committed::Activated(epoch) = committed {
                v["committed"] = "activated".into();
                v["epoch"] = (*epoch).into();
            }
            v
        }
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
        protocol: proposal.draft.kind.name().into(),
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

/// Why a signing or reshare proposal cannot run on this device, if it cannot: the key is not
/// held here (a reshare may still make this device join it), or its epoch is not the active
/// one here (design §3.3 step 4).
fn not_held(
    home: &Home,
    names: &Mutex<HashMap<[u8; 32], String>>,
    proposal: &Proposal,
) -> Option<String> {
    let draft = &proposal.draft;
    if !matches!(draft.kind, Kind::Sign | Kind::Reshare | Kind::Repair) {
        return None;
    }
    let none =
        || (draft.kind != Kind::Reshare).then(|| "this device holds no share of that key".into());
    let name = names.lock().ok()?.get(&draft.key_id).cloned();
    // A reshare of an epoch this device does not know, of a key it holds: an epoch it has
    // left behind (erased since), not a key to join.
    if name.is_none() && draft.kind == Kind::Reshare {
        let group_key = summarize(draft).group_key?;
        return Keystore::new(home.root())
            .find_group(&group_key)
            .ok()
            .flatten()
            .map(|_| "that epoch of this key is superseded here".into());
    }
    let Some(epochs) = name.and_then(|n| Keystore::new(home.root()).epochs(&n).ok()) else {
        return none();
    };
    let Some(active) = epochs.iter().rev().find(|e| e.is_active()) else {
        return none();
    };
    // A newer epoch than the active one may be committing here at this moment: not refused
    // (the job finds the share or fails). An older one, or another of the same number, is.
    (active.public.key_id != draft.key_id && draft.epoch <= active.epoch).then(|| {
        format!(
            "epoch {} of that key is superseded here by epoch {}",
            draft.epoch, active.epoch
        )
    })
}

/// What robust signing gives: the session's output, the devices that signed it, and those
/// skipped on the way, with why.
struct Robust<T> {
    output: T,
    signers: Vec<PeerId>,
    skipped: Vec<(PeerId, String)>,
}

impl<T> Robust<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Robust<U> {
        Robust {
            output: f(self.output),
            signers: self.signers,
            skipped: self.skipped,
        }
    }
}

/// The devices a failed signing attempt leaves out of the next one, with why: a member that
/// refused (or whose person did not decide in time) or did not answer, or the culprits the
/// session named, by the strength of the case (design §3.2, robust signing):
/// - proven by signed messages, or this device's own observation: the culprit;
/// - another member's word against a third: both, the accuser and the accused (ROAST's rule:
///   an honest device is left out only together with a faulty one, so a member cannot talk
///   honest devices out of the signing while it stays in);
/// - another member's word against this device: the accuser, since this device knows it is
///   honest.
///
/// None if the failure names nobody.
fn culprits(e: &JobError, me: &PeerId) -> Vec<(PeerId, String)> {
    match e {
        JobError::Propose(ProposeError::Refused { peer, reason }) => {
            vec![(*peer, format!("refused: {reason}"))]
        }
        JobError::Propose(ProposeError::Unreachable { peer, reason }) => {
            vec![(*peer, format!("did not answer: {reason}"))]
        }
        JobError::Run { reason, blamed } => {
            let mut out: Vec<(PeerId, String)> = Vec::new();
            let mut leave = |p: PeerId, why: String| {
                if p != *me && !out.iter().any(|(q, _)| *q == p) {
                    out.push((p, why));
                }
            };
            for b in blamed {
                match b.evidence {
                    Strength::Proven => leave(b.peer, reason.clone()),
                    Strength::AccusedBy(by) if by == *me => leave(b.peer, reason.clone()),
                    Strength::AccusedBy(by) if b.peer == *me => {
                        leave(by, format!("accused this device: {reason}"))
                    }
                    Strength::AccusedBy(by) => {
                        leave(b.peer, format!("accused by {by}: {reason}"));
                        leave(by, format!("accused {}: {reason}", b.peer));
                    }
                }
            }
            out
        }
        _ => Vec::new(),
    }
}

/// Refuses a PSBT for another Bitcoin network than this device's: its addresses would be
/// shown, and compared with allow-lists, on a network the initiator chose.
fn on_network(kind: TxKind, network: Network) -> Result<(), String> {
    match kind {
        TxKind::Psbt {
            network: theirs, ..
        } if theirs != network => Err(format!(
            "this device signs bitcoin transactions on {} (tessera node --network), not {}",
            transaction::network_name(network),
            transaction::network_name(theirs)
        )),
        _ => Ok(()),
    }
}

/// The transaction a signing proposal's message is, as this device reads it with its own copy
/// of the key's public data (design §6.5); `None` for a proposal that is not one.
fn transaction_of(
    home: &Home,
    names: &Mutex<HashMap<[u8; 32], String>>,
    network: Network,
    proposal: &Proposal,
    summary: &Summary,
) -> Result<Option<View>, String> {
    let (kind, message) = match (summary.transaction, &summary.message) {
        (Some(kind), Some(message)) => (kind, message),
        // A raw message that is a Solana transaction message is refused: signed raw, no
        // device would read it.
        (None, Some(message))
            if summary.suite == Some(Suite::Ed25519) && solana::is_message(message) =>
        {
            return Err(
                "this raw message is a Solana transaction message: sign it with --solana-tx, so that every device reads it".into(),
            )
        }
        _ => return Ok(None),
    };
    on_network(kind, network)?;
    let name = names
        .lock()
        .ok()
        .and_then(|n| n.get(&proposal.draft.key_id).cloned())
        .ok_or("this device holds no share of that key")?;
    let epochs = Keystore::new(home.root())
        .epochs(&name)
        .map_err(|e| e.to_string())?;
    let epoch = epochs
        .iter()
        .find(|e| e.public.key_id == proposal.draft.key_id)
        .ok_or("this device holds no share of that epoch")?;
    transaction::plan(kind, message, &epoch.public).map(|plan| Some(plan.view))
}

/// The node's policy: the approvals, with requests described by local names.
#[allow(clippy::too_many_arguments)]
fn policy(
    approvals: Arc<Mutex<Approvals>>,
    peers: Arc<Mutex<Peers>>,
    names: Arc<Mutex<HashMap<[u8; 32], String>>>,
    me: PeerId,
    home: Home,
    network: Network,
    log: std::sync::mpsc::SyncSender<Record>,
) -> Policy {
    Arc::new(move |initiator: &PeerId, proposal: &Proposal| {
        // The parameters are read once for everything below.
        let summary = summarize(&proposal.draft);
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
                protocol: proposal.draft.kind.name().into(),
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
                group_key: summary.group_key.as_ref().map(hex::encode),
                path: summary.path.as_deref().map(transaction::path_text),
                message_sha256: summary
                    .message
                    .as_ref()
                    .map(|m| hex::encode(Sha256::digest(m))),
                message: summary.message.as_ref().map(hex::encode),
                transaction: None,
                received: now_secs(),
            }
        };
        // A keygen may suggest a key name: only one a local name may be (no path, no escapes).
        let suggested = summary.name.as_deref().unwrap_or_default();
        if !suggested.is_empty() && crate::device::peers::check_name(suggested).is_err() {
            return tessera_p2p::Decision::Refuse(
                "the suggested key name is not a valid name".into(),
            );
        }
        // What cannot run here is refused at once, before a person is asked: signing with a
        // key this device holds no share of, or with an epoch a reshare superseded.
        if let Some(why) = not_held(&home, &names, proposal) {
            return tessera_p2p::Decision::Refuse(why);
        }
        // A reshare of a key this device does not hold makes it join that key: only the
        // expected one, if `--expect-key` named any (design §6).
        let joining = proposal.draft.kind == Kind::Reshare
            && names
                .lock()
                .map(|n| !n.contains_key(&proposal.draft.key_id))
                .unwrap_or(true);
        if joining {
            let expected = approvals
                .lock()
                .is_ok_and(|a| summary.group_key.as_ref().is_some_and(|k| a.may_join(k)));
            if !expected {
                return tessera_p2p::Decision::Refuse(
                    "this device does not expect to join that key (--expect-key)".into(),
                );
            }
        }
        // A transaction is read now, by this device, with its own copy of the key: what its
        // person is shown and its policy checks (design §6.5). One it cannot read is refused
        // with the reason.
        let tx = match transaction_of(&home, &names, network, proposal, &summary) {
            Ok(tx) => tx,
            Err(why) => {
                let _ = log.try_send(session_record(
                    proposal,
                    *initiator,
                    &names,
                    Decision::Refused,
                    why.clone(),
                    Vec::new(),
                ));
                return tessera_p2p::Decision::Refuse(why);
            }
        };
        let describe = |id: String| Request {
            transaction: tx.clone(),
            ..describe(id)
        };
        let decision = match approvals.lock() {
            Ok(mut a) => a.decide(initiator, proposal, tx.as_ref(), describe),
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

#[cfg(test)]
mod tests {
    use tessera_p2p::{Blamed, Strength};

    use super::*;

    fn run_error(blamed: Vec<(PeerId, Strength)>) -> JobError {
        JobError::Run {
            reason: "why".into(),
            blamed: blamed
                .into_iter()
                .map(|(peer, evidence)| Blamed {
                    peer,
                    fault: None,
                    evidence,
                })
                .collect(),
        }
    }

    fn left(e: &JobError, me: &PeerId) -> Vec<PeerId> {
        culprits(e, me).into_iter().map(|(p, _)| p).collect()
    }

    #[test]
    fn another_members_word_leaves_out_accuser_and_accused() {
        let [me, honest, liar, other] = [(); 4].map(|_| PeerId::random());
        // What this device saw or can check: the culprit alone.
        assert_eq!(
            left(&run_error(vec![(liar, Strength::Proven)]), &me),
            vec![liar]
        );
        assert_eq!(
            left(&run_error(vec![(liar, Strength::AccusedBy(me))]), &me),
            vec![liar]
        );
        // One member's word against another: both.
        assert_eq!(
            left(&run_error(vec![(honest, Strength::AccusedBy(liar))]), &me),
            vec![honest, liar]
        );
        // Against this device: the accuser.
        assert_eq!(
            left(&run_error(vec![(me, Strength::AccusedBy(liar))]), &me),
            vec![liar]
        );
        // Each device once, and never this one.
        let e = run_error(vec![
            (honest, Strength::AccusedBy(liar)),
            (other, Strength::AccusedBy(liar)),
            (me, Strength::Proven),
        ]);
        assert_eq!(left(&e, &me), vec![honest, liar, other]);
        assert!(left(&run_error(Vec::new()), &me).is_empty());
    }
}
