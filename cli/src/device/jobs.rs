//! Keygen, signing and resharing over the mesh (design §4, §6): how a device proposes each
//! session, what it puts in the proposal's parameters, and how every member builds its party
//! from an accepted proposal and runs it with the one [`run`](tessera_p2p::run) driver.
//!
//! A device's PeerId and its protocol identity key are the same Ed25519 key, so the roster of
//! a proposal (PeerIds) is the protocol's roster (identity keys), in the same order.
//!
//! Every protocol's session id is the session layer's, which binds every member's nonce.
//!
//! Shares are never dropped once this device has confirmed them (design §3.1 step 4,
//! §3.3 step 4). A keygen's pending share is kept before the certification starts; it
//! becomes the active share with the complete certificate, and if the certification fails it
//! stays pending ([`Device::pending_keygens`]) until a relayed certificate activates it
//! ([`Device::activate`]). A reshare's pending share is staged in the key's [`KeyRecord`]
//! before the confirmation and activated only with the certificate; a failed reshare leaves it
//! staged, blocking another reshare of that epoch, until the user abandons it
//! ([`Device::abandon_reshare`]). Keeping them on disk is the keystore's job (the CLI); this
//! module keeps them in memory.
//!
//! A member serves whatever its node's [`Policy`](tessera_p2p::Policy) accepted: the policy is where
//! a device approves a session (design §6).

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
};

use rand_core::UnwrapErr;
use tessera_core::{
    Ciphersuite, Ed25519Identity, Identifier, IdentityKey, IdentitySigner, Protocol, SessionId,
    Suite, Tweak,
};
use tessera_keygen::{
    certify::Certify,
    dkg::{Dkg, DkgParams},
    Certificate, KeyShare, PendingKeyShare,
};
use tessera_reshare::{
    Committed, Dealer, KeyRecord, RepairParty, ReshareParams, ReshareParty, Transition,
};
use tessera_sign::{SignBatch, SignOutput, SignParty, SigningRequest};

use crate::device::{
    address::Network,
    crash,
    transaction::{self, TxKind},
};
pub use tessera_p2p::{identities, identity_of, peer_of};
pub use tessera_p2p::{Blamed, Strength};
use tessera_p2p::{
    Draft, Kind, Node, NodeConfig, NodeError, PeerId, ProposeError, Reader, RunError, Session,
    Writer,
};

/// Why a job failed, in one line, with the peers to blame.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// The session did not start.
    #[error(transparent)]
    Propose(#[from] ProposeError),
    /// The node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The protocol or the transport failed.
    #[error("{reason}")]
    Run {
        /// The error, in one line.
        reason: String,
        /// The peers it names, each with the strength of the case.
        blamed: Vec<Blamed>,
    },
    /// The proposal's parameters are not acceptable to this device.
    #[error("bad session parameters: {0}")]
    Params(&'static str),
    /// This device does not hold the key (or not at that epoch).
    #[error("key: {0}")]
    Key(String),
    /// The share could not be kept before its confirmation, so none was sent.
    #[error("the share could not be kept, so it was not confirmed: {0}")]
    Persist(String),
}

impl JobError {
    /// The peers the error names, whatever the strength of the case.
    pub fn blamed(&self) -> Vec<PeerId> {
        match self {
            JobError::Run { blamed, .. } => blamed.iter().map(|b| b.peer).collect(),
            _ => Vec::new(),
        }
    }
}

/// What a member got from a session it served.
pub enum Served<C: Ciphersuite> {
    /// A new key, certified and stored.
    Keygen(KeyShare<C>),
    /// A signature.
    Sign(SignOutput<C>),
    /// A transaction's signatures, one per item, in order.
    Transaction(Vec<SignOutput<C>>),
    /// A reshare committed: the new epoch is active here, or this device retired; and the
    /// certified transition, to relay to devices that did not finish ([`Device::commit_reshare`]).
    Reshare(Committed, Transition),
    /// This device helped another repair its share (design §3.4); its own is unchanged.
    Helped,
}

/// A device: its node, its identity, and its keys of suite `C`.
pub struct Device<C: Ciphersuite> {
    node: Arc<Node>,
    identity: Arc<Ed25519Identity>,
    keys: Mutex<Vec<Arc<Mutex<KeyRecord<C>>>>>,
    pending_keygens: Mutex<Vec<PendingKeygen<C>>>,
    max_pending_keygens: usize,
    shares: Arc<dyn ShareStore<C>>,
}

/// A keygen share this device confirmed whose certificate it has not seen complete, and the
/// peers the failed certification named (whose confirmations did not arrive).
struct PendingKeygen<C: Ciphersuite> {
    share: PendingKeyShare<C>,
    blamed: Vec<PeerId>,
}

/// The longest key name a keygen proposal may suggest, in bytes.
pub const MAX_NAME: usize = 32;

/// Keygen shares kept pending (confirmed, certificate not seen) before a device refuses new
/// keygens: each is a share the committee may depend on, so none is ever dropped to make room.
pub const MAX_PENDING_KEYGENS: usize = 16;

/// Where a device keeps a share before it confirms it (design §3.1 step 4, §3.3 step 4,
/// must): the confirmation goes out only once the store has the pending share, so a device
/// that confirmed can always activate later. The keystore writes it to disk; an error sends
/// no confirmation and fails the session.
pub trait ShareStore<C: Ciphersuite>: Send + Sync {
    /// Keeps a keygen's pending share, under the key name the proposal suggests.
    fn keygen(
        &self,
        name: &str,
        session: &SessionId,
        pending: &PendingKeyShare<C>,
    ) -> Result<(), String>;
    /// Keeps a reshare's pending share of the next epoch, and `session` as the one transition
    /// this device confirms a share of.
    fn reshare(&self, session: &SessionId, pending: &PendingKeyShare<C>) -> Result<(), String>;
    /// Records that this device's confirmation of its pending share `key_id` of epoch `epoch`
    /// is about to leave (design §5.7): a share whose confirmation never left is discarded
    /// when the node restarts, one whose confirmation may have left is kept. An error sends
    /// no confirmation.
    fn confirming(&self, _key_id: &[u8; 32], _epoch: u64) -> Result<(), String> {
        Ok(())
    }
    /// Keeps `session` as the one reshare this device deals in from epoch `epoch` of the key
    /// `key_id`, before its first deal leaves.
    fn dealing(&self, _key_id: &[u8; 32], _epoch: u64, _session: &SessionId) -> Result<(), String> {
        Ok(())
    }
    /// The share is now active (a keygen's certificate, or a reshare's `transition`): the
    /// store keeps the transition, records the share as active, and only then erases the
    /// key's previous epoch if it holds one.
    fn activated(
        &self,
        _share: &KeyShare<C>,
        _transition: Option<&Transition>,
    ) -> Result<(), String> {
        Ok(())
    }
    /// This device retired from the key at `epoch` (a reshare's transition left it out): the
    /// store erases that epoch's share.
    fn retired(&self, _key_id: &[u8; 32], _epoch: u64) -> Result<(), String> {
        Ok(())
    }
}

/// The store of a device that keeps its shares in memory only (tests and the demo): the
/// device's own records are all there is.
#[derive(Debug, Default, Clone, Copy)]
pub struct InMemory;

impl<C: Ciphersuite> ShareStore<C> for InMemory {
    fn keygen(&self, _: &str, _: &SessionId, _: &PendingKeyShare<C>) -> Result<(), String> {
        Ok(())
    }

    fn reshare(&self, _: &SessionId, _: &PendingKeyShare<C>) -> Result<(), String> {
        Ok(())
    }
}

/// The tag after a signing session's message that makes it a health check (design §3.5).
const HEALTH: u8 = 1;
/// The tag after a signing session's message that names a child key: `2 ‖ depth (u8) ‖
/// depth × index (u32)`, every index unhardened (design §2).
const CHILD: u8 = 2;
/// The tag after a signing session's message that makes it a PSBT: `3 ‖ network (u8) ‖
/// flags (u8)`, flag 1: sighash types other than DEFAULT and ALL allowed (design §6.5).
const PSBT: u8 = 3;
/// The tag after a signing session's message that makes it a Solana transaction message.
const SOLANA: u8 = 4;
/// [`PSBT`]'s flag for sighash types other than DEFAULT and ALL.
const ANY_SIGHASH: u8 = 1;

/// What a signing session signs for, from the parameters after its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    /// A signature for use, under the key's output key at this unhardened BIP-32 path (empty:
    /// the key itself; BIP-86 for Taproot).
    Spend(Vec<u32>),
    /// A health check (design §3.5).
    Health,
    /// The message is a transaction: each device reads what it signs out of it (design
    /// §6.5), one signature per item, in one session.
    Transaction(TxKind),
}

impl Purpose {
    fn write(&self, w: &mut Writer) {
        match self {
            Purpose::Spend(path) if path.is_empty() => {}
            Purpose::Spend(path) => {
                w.u8(CHILD);
                // Paths are checked against MAX_DERIVATION_DEPTH (255) before they are sent.
                w.u8(path.len() as u8);
                for i in path {
                    w.u32(*i);
                }
            }
            Purpose::Health => w.u8(HEALTH),
            Purpose::Transaction(TxKind::Psbt {
                network,
                any_sighash,
            }) => {
                w.u8(PSBT);
                w.u8(network.code());
                w.u8(if *any_sighash { ANY_SIGHASH } else { 0 });
            }
            Purpose::Transaction(TxKind::Solana) => w.u8(SOLANA),
        }
    }

    /// Reads the purpose that ends a signing session's parameters of `message` with the key
    /// `key_id`: strictly, to the end.
    fn read(r: &mut Reader<'_>, message: &[u8], key_id: &[u8; 32]) -> Result<Self, JobError> {
        let bad = |_| JobError::Params("malformed signing parameters");
        let purpose = match r.u8() {
            Err(_) => Purpose::Spend(Vec::new()),
            Ok(HEALTH) if message == health_message(key_id) => Purpose::Health,
            Ok(CHILD) => {
                let depth = r.u8().map_err(bad)?;
                let mut path = Vec::with_capacity(usize::from(depth));
                for _ in 0..depth {
                    let i = r.u32().map_err(bad)?;
                    if i >= 0x8000_0000 {
                        return Err(JobError::Params("a hardened derivation step"));
                    }
                    path.push(i);
                }
                Purpose::Spend(path)
            }
            Ok(PSBT) => {
                let network = Network::from_code(r.u8().map_err(bad)?)
                    .ok_or(JobError::Params("an unknown Bitcoin network"))?;
                let any_sighash = match r.u8().map_err(bad)? {
                    0 => false,
                    ANY_SIGHASH => true,
                    _ => return Err(JobError::Params("unknown PSBT flags")),
                };
                Purpose::Transaction(TxKind::Psbt {
                    network,
                    any_sighash,
                })
            }
            Ok(SOLANA) => Purpose::Transaction(TxKind::Solana),
            Ok(_) => return Err(JobError::Params("not a signing purpose of this key")),
        };
        r.end().map_err(bad)?;
        Ok(purpose)
    }

    /// The tweak a single signature of this purpose is made with (not for a health check,
    /// whose key is moved instead; a transaction's items carry their own).
    fn tweak<C: Ciphersuite>(&self) -> Tweak {
        let derivation = match self {
            Purpose::Spend(path) => path.clone(),
            Purpose::Health | Purpose::Transaction(_) => Vec::new(),
        };
        Tweak {
            derivation,
            taproot: if C::BIP340 && *self != Purpose::Health {
                tessera_core::TaprootTweak::Bip86
            } else {
                tessera_core::TaprootTweak::None
            },
        }
    }
}

/// The message of a health check's test signature: a domain and the key id.
pub fn health_message(key_id: &[u8; 32]) -> Vec<u8> {
    let mut m = b"tessera/v1/health/test-signature".to_vec();
    m.extend_from_slice(key_id);
    m
}

/// The offset τ of a health check's test key `P + τ·G` (design §3.5): hashed from the key id
/// under its own domain, so no signing request, which derives keys from P by BIP-32 and
/// TapTweak hashes only, can name that key, and no health check makes a usable signature.
fn health_offset<C: Ciphersuite>(key_id: &[u8; 32]) -> C::Scalar {
    C::hash_to_scalar(b"tessera/v1/health/test-key", &[key_id])
}

/// The suite a session's proposal is for (the first byte of every job's parameters).
pub fn suite_of(session: &Session) -> Option<Suite> {
    let suite = *session.proposal().draft.params.first()?;
    Suite::ALL.into_iter().find(|s| *s as u8 == suite)
}

/// What a person approving a proposal is shown of its parameters (design §6), read
/// best-effort: a field that does not parse is left out (the job refuses it later).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The suite.
    pub suite: Option<Suite>,
    /// The threshold of a keygen, or the new threshold of a reshare.
    pub threshold: Option<u16>,
    /// The key name a keygen suggests.
    pub name: Option<String>,
    /// The message a signing session signs.
    pub message: Option<Vec<u8>>,
    /// The new committee of a reshare.
    pub new_roster: Vec<IdentityKey>,
    /// The group key a reshare is of (what a joining device checks).
    pub group_key: Option<Vec<u8>>,
    /// A signing session that is a health check (design §3.5): its test signature is under
    /// a key no spend uses.
    pub health: bool,
    /// The unhardened path of the child key a signing session signs with, if not the key
    /// itself.
    pub path: Option<Vec<u32>>,
    /// The kind of transaction a signing session's message is, if it is one.
    pub transaction: Option<TxKind>,
}

/// The [`Summary`] of a draft's parameters.
pub fn summarize(draft: &Draft) -> Summary {
    let mut r = Reader::new(&draft.params);
    let suite = r
        .u8()
        .ok()
        .and_then(|b| Suite::ALL.into_iter().find(|s| *s as u8 == b));
    let mut summary = Summary {
        suite,
        ..Summary::default()
    };
    match draft.kind {
        Kind::Keygen => {
            summary.threshold = r.u16().ok();
            summary.name = r
                .short()
                .ok()
                .and_then(|n| String::from_utf8(n.to_vec()).ok());
        }
        Kind::Sign => {
            let n = r.u16().unwrap_or(0);
            if (0..n).all(|_| r.u16().is_ok()) {
                summary.message = r.long().ok().map(<[u8]>::to_vec);
                let message = summary.message.clone().unwrap_or_default();
                match Purpose::read(&mut r, &message, &draft.key_id) {
                    Ok(Purpose::Health) => summary.health = true,
                    Ok(Purpose::Spend(path)) if !path.is_empty() => summary.path = Some(path),
                    Ok(Purpose::Transaction(kind)) => summary.transaction = Some(kind),
                    _ => {}
                }
            }
        }
        Kind::Reshare => {
            if let Ok(p) = decode_reshare(&draft.params, [0; 32]) {
                summary.threshold = Some(p.new_threshold);
                summary.new_roster = p.new_roster;
                summary.group_key = Some(p.group_key);
            }
        }
        Kind::Certify | Kind::Repair => {}
    }
    summary
}

/// The one signature of a session that signs one message.
fn one<C: Ciphersuite>(served: Served<C>) -> Result<SignOutput<C>, JobError> {
    match served {
        Served::Sign(out) => Ok(out),
        _ => Err(JobError::Params("not a signing session")),
    }
}

fn rng() -> UnwrapErr<getrandom::SysRng> {
    UnwrapErr(getrandom::SysRng)
}

fn run_error<E: std::error::Error + tessera_core::Blame>(
    e: RunError<E>,
    session: &Session,
) -> JobError {
    JobError::Run {
        blamed: e.blamed(session),
        reason: e.to_string(),
    }
}

impl<C: Ciphersuite> Device<C> {
    /// A device from its node config (whose keypair must be the Ed25519 key of `identity`).
    pub async fn start(config: NodeConfig, identity: Ed25519Identity) -> Result<Self, NodeError> {
        let identity = Arc::new(identity);
        Self::on_node(Arc::new(Node::start(config).await?), identity)
    }

    /// The keys of suite `C` of a device whose node is `node` (shared by the suites of one
    /// device, whose serve loop hands each session to its suite, [`suite_of`]).
    pub fn on_node(node: Arc<Node>, identity: Arc<Ed25519Identity>) -> Result<Self, NodeError> {
        if identity_of(&node.peer_id()) != Some(identity.identity()) {
            return Err(NodeError::Transport(
                "the node's keypair and the identity differ".into(),
            ));
        }
        Ok(Self {
            node,
            identity,
            keys: Mutex::new(Vec::new()),
            pending_keygens: Mutex::new(Vec::new()),
            max_pending_keygens: MAX_PENDING_KEYGENS,
            shares: Arc::new(InMemory),
        })
    }

    /// This device keeps each share it is about to confirm in `store` first.
    pub fn with_store(mut self, store: Arc<dyn ShareStore<C>>) -> Self {
        self.shares = store;
        self
    }

    /// This device refuses keygens while `limit` confirmed ones wait for their certificate
    /// (default [`MAX_PENDING_KEYGENS`]).
    pub fn with_pending_keygen_limit(mut self, limit: usize) -> Self {
        self.max_pending_keygens = limit;
        self
    }

    /// The device's node.
    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The active share of the key whose current key id is `key_id`.
    pub fn share(&self, key_id: &[u8; 32]) -> Option<KeyShare<C>> {
        self.record(key_id)
            .and_then(|r| r.lock().ok().and_then(|r| r.active().cloned()))
    }

    /// The active share of the key with group key `group_key`, at whatever epoch it is.
    pub fn share_by_group_key(&self, group_key: &C::Point) -> Option<KeyShare<C>> {
        let keys = self.keys.lock().ok()?;
        keys.iter().find_map(|r| {
            let r = r.lock().ok()?;
            r.active()
                .filter(|s| s.key_package().public().group_key() == group_key)
                .cloned()
        })
    }

    /// Takes up a key this device kept (read back from its store when it starts).
    pub fn adopt(&self, record: KeyRecord<C>) {
        self.store(Arc::new(Mutex::new(record)));
    }

    /// Takes up a keygen share this device confirmed and kept, whose certificate it has not
    /// seen (read back from its store when it starts): a relayed certificate activates it.
    pub fn adopt_pending_keygen(&self, share: PendingKeyShare<C>) {
        if let Ok(mut p) = self.pending_keygens.lock() {
            p.push(PendingKeygen {
                share,
                blamed: Vec::new(),
            });
        }
    }

    /// Keygen shares confirmed by this device whose certificate it has not seen complete.
    pub fn pending_keygens(&self) -> Vec<PendingKeyShare<C>> {
        self.pending_keygens
            .lock()
            .map(|p| p.iter().map(|k| k.share.clone()).collect())
            .unwrap_or_default()
    }

    /// Drops the pending keygen share `key_id`, on the user's word only (`tessera keys resolve
    /// NAME --abandon 0`): when its keygen completed nowhere, or this device's share of it is
    /// not needed. Whether it was here.
    pub fn drop_pending_keygen(&self, key_id: &[u8; 32]) -> bool {
        let Ok(mut pending) = self.pending_keygens.lock() else {
            return false;
        };
        let before = pending.len();
        pending.retain(|p| p.share.key_id() != key_id);
        pending.len() < before
    }

    /// Activates a pending keygen share with its certificate (relayed by another member).
    pub fn activate(&self, certificate: &Certificate) -> Result<KeyShare<C>, JobError> {
        let mut pending = self
            .pending_keygens
            .lock()
            .map_err(|_| JobError::Key("pending shares poisoned".into()))?;
        let (i, share) = pending
            .iter()
            .enumerate()
            .find_map(|(i, p)| p.share.activate(certificate).ok().map(|s| (i, s)))
            .ok_or_else(|| JobError::Key("no pending share matches the certificate".into()))?;
        pending.remove(i);
        drop(pending);
        self.store(Arc::new(Mutex::new(KeyRecord::new(share.clone()))));
        self.shares
            .activated(&share, None)
            .map_err(JobError::Persist)?;
        Ok(share)
    }

    /// The sessions of reshares this device dealt in or whose new share it staged (and
    /// confirmed), not yet committed: each waits for its certificate
    /// ([`Device::commit_reshare`]) or for the user to abandon it
    /// ([`Device::abandon_reshare`]). Until then the device takes part in no other reshare of
    /// that epoch (design §3.3 step 4).
    pub fn staged_reshares(&self) -> Vec<[u8; 32]> {
        let Ok(keys) = self.keys.lock() else {
            return Vec::new();
        };
        let mut sessions: Vec<[u8; 32]> = keys
            .iter()
            .filter_map(|r| r.lock().ok())
            .flat_map(|r| [r.pending().map(|(s, _)| *s), r.dealing().copied()])
            .flatten()
            .collect();
        sessions.sort_unstable();
        sessions.dedup();
        sessions
    }

    /// The key ids this device waits for a transition of (design §3.3 step 4): the new
    /// epoch's, for a share it staged; the old epoch's, for a reshare it only deals in.
    pub fn awaiting_transitions(&self) -> Vec<[u8; 32]> {
        let Ok(keys) = self.keys.lock() else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|r| r.lock().ok())
            .filter_map(|r| match (r.pending(), r.dealing(), r.active()) {
                (Some((_, p)), _, _) => Some(*p.key_id()),
                (None, Some(_), Some(a)) => Some(*a.key_id()),
                _ => None,
            })
            .collect()
    }

    /// Applies a reshare's certified transition that reached this device another way (a
    /// relay, after its own session failed): activates the staged share it certifies, or, on
    /// a device that only dealt, erases the old share (design §3.3 step 4).
    pub fn commit_reshare(&self, transition: &Transition) -> Result<Committed, JobError> {
        let records: Vec<_> = self
            .keys
            .lock()
            .map_err(|_| JobError::Key("keys poisoned".into()))?
            .clone();
        for record in records {
            if let Ok(c) = self.commit_to(&record, transition) {
                return Ok(c);
            }
        }
        Err(JobError::Key(
            "no share of this device is certified or retired by the transition".into(),
        ))
    }

    /// Commits `transition` to `record`, and tells the store: the new share is active, or this
    /// device retired from its epoch. The record's lock is released before the device's key
    /// list is touched (the order everywhere else is the list, then a record).
    fn commit_to(
        &self,
        record: &Arc<Mutex<KeyRecord<C>>>,
        transition: &Transition,
    ) -> Result<Committed, JobError> {
        let (committed, old, active, staged) = {
            let mut r = record
                .lock()
                .map_err(|_| JobError::Key("record poisoned".into()))?;
            let old = r.active().map(|a| (*a.key_id(), a.epoch()));
            let committed = r
                .commit(transition)
                .map_err(|e| JobError::Key(e.to_string()))?;
            (committed, old, r.active().cloned(), r.pending().is_some())
        };
        match committed {
            Committed::Retired => {
                // A share staged for another reshare of that epoch stays for the user.
                if !staged {
                    self.forget(record);
                }
                if let Some((key_id, epoch)) = old {
                    self.shares
                        .retired(&key_id, epoch)
                        .map_err(JobError::Persist)?;
                }
            }
            // Kept even if the user abandoned another reshare meanwhile.
            Committed::Activated(_) => {
                self.keep(record);
                if let Some(active) = &active {
                    self.shares
                        .activated(active, Some(transition))
                        .map_err(JobError::Persist)?;
                }
            }
        }
        Ok(committed)
    }

    /// Drops the reshare transition staged by `session`, on the user's word only: the old
    /// epoch stays active, and another reshare of it can run.
    pub fn abandon_reshare(&self, session: &[u8; 32]) -> bool {
        let Ok(mut keys) = self.keys.lock() else {
            return false;
        };
        let (mut any, mut emptied) = (false, Vec::new());
        for r in keys.iter() {
            if let Ok(mut g) = r.lock() {
                if g.abandon(session) {
                    any = true;
                    if g.active().is_none() {
                        emptied.push(r.clone());
                    }
                }
            }
        }
        // A joining record whose only content was this transition holds nothing now.
        keys.retain(|r| !emptied.iter().any(|e| Arc::ptr_eq(e, r)));
        any
    }

    /// Abandons, on the user's word, this device's transition to epoch `epoch` of the key
    /// whose epochs on this device have the key ids `key_ids`: the share of that epoch it
    /// staged, and its dealing from the epoch before. Whether there was one.
    pub fn abandon_epoch(&self, key_ids: &[[u8; 32]], epoch: u64) -> bool {
        let ours = |r: &KeyRecord<C>| {
            r.active().is_some_and(|a| key_ids.contains(a.key_id()))
                || r.pending()
                    .is_some_and(|(_, p)| key_ids.contains(p.key_id()))
        };
        let sessions: Vec<SessionId> = match self.keys.lock() {
            Ok(keys) => keys
                .iter()
                .filter_map(|r| r.lock().ok())
                .filter(|r| ours(r))
                .flat_map(|r| {
                    let staged = r
                        .pending()
                        .filter(|(_, p)| p.epoch() == epoch)
                        .map(|(s, _)| *s);
                    let dealing = r
                        .dealing()
                        .filter(|_| {
                            r.active().and_then(|a| a.epoch().checked_add(1)) == Some(epoch)
                        })
                        .copied();
                    [staged, dealing]
                })
                .flatten()
                .collect(),
            Err(_) => return false,
        };
        // Every session is abandoned, not just the first.
        let abandoned: Vec<bool> = sessions.iter().map(|s| self.abandon_reshare(s)).collect();
        abandoned.contains(&true)
    }

    /// How many keys this device holds.
    pub fn key_count(&self) -> usize {
        self.keys.lock().map(|k| k.len()).unwrap_or(0)
    }

    fn record(&self, key_id: &[u8; 32]) -> Option<Arc<Mutex<KeyRecord<C>>>> {
        let keys = self.keys.lock().ok()?;
        keys.iter()
            .find(|r| {
                r.lock()
                    .is_ok_and(|r| r.active().is_some_and(|s| s.key_id() == key_id))
            })
            .cloned()
    }

    /// A record of the key `group_key` with no active share (a device joining it).
    fn record_of_group(&self, group_key: &C::Point) -> Option<Arc<Mutex<KeyRecord<C>>>> {
        let keys = self.keys.lock().ok()?;
        keys.iter()
            .find(|r| {
                r.lock()
                    .is_ok_and(|r| r.active().is_none() && r.group_key() == group_key)
            })
            .cloned()
    }

    /// Stores `record` unless the device has it already.
    fn keep(&self, record: &Arc<Mutex<KeyRecord<C>>>) {
        if let Ok(mut keys) = self.keys.lock() {
            if !keys.iter().any(|r| Arc::ptr_eq(r, record)) {
                keys.push(record.clone());
            }
        }
    }

    fn store(&self, record: Arc<Mutex<KeyRecord<C>>>) {
        if let Ok(mut keys) = self.keys.lock() {
            keys.push(record);
        }
    }

    fn forget(&self, record: &Arc<Mutex<KeyRecord<C>>>) {
        if let Ok(mut keys) = self.keys.lock() {
            keys.retain(|r| !Arc::ptr_eq(r, record));
        }
    }

    // ---- initiating ------------------------------------------------------------------

    /// Proposes a t-of-n keygen to `roster` (this device among them) and runs it.
    pub async fn keygen(
        &self,
        roster: Vec<PeerId>,
        threshold: u16,
    ) -> Result<KeyShare<C>, JobError> {
        self.keygen_named(roster, threshold, "").await
    }

    /// [`Device::keygen`], suggesting every member keep the key under `name` (at most
    /// [`MAX_NAME`] bytes; empty: no suggestion).
    pub async fn keygen_named(
        &self,
        roster: Vec<PeerId>,
        threshold: u16,
        name: &str,
    ) -> Result<KeyShare<C>, JobError> {
        if name.len() > MAX_NAME {
            return Err(JobError::Params("the key name is too long"));
        }
        let mut w = Writer::default();
        w.u8(C::SUITE as u8);
        w.u16(threshold);
        if !name.is_empty() {
            w.short(name.as_bytes());
        }
        let draft = Draft {
            kind: Kind::Keygen,
            params: w.finish(),
            key_id: [0; 32],
            epoch: 0,
            roster,
        };
        let session = self.node.propose(draft).await?;
        match self.serve(session).await? {
            Served::Keygen(share) => Ok(share),
            _ => Err(JobError::Params("not a keygen")),
        }
    }

    /// Proposes that `signers` (this device among them) sign `message` with the key
    /// `key_id` (BIP-86 output key for Taproot), and runs the session.
    pub async fn sign(
        &self,
        key_id: &[u8; 32],
        signers: Vec<PeerId>,
        message: &[u8],
    ) -> Result<SignOutput<C>, JobError> {
        one(self
            .propose_sign(key_id, signers, message, Purpose::Spend(Vec::new()))
            .await?)
    }

    /// [`Device::sign`] with the key's child at the unhardened BIP-32 `path` (design §2): the
    /// signature verifies under that child's output key (BIP-86 for Taproot).
    pub async fn sign_child(
        &self,
        key_id: &[u8; 32],
        signers: Vec<PeerId>,
        message: &[u8],
        path: Vec<u32>,
    ) -> Result<SignOutput<C>, JobError> {
        if path.len() > tessera_core::tweak::MAX_DERIVATION_DEPTH
            || path.iter().any(|i| *i >= 0x8000_0000)
        {
            return Err(JobError::Params("a hardened or too deep derivation path"));
        }
        one(self
            .propose_sign(key_id, signers, message, Purpose::Spend(path))
            .await?)
    }

    /// Proposes a health check of the key `key_id` to `signers` (this device among them): a
    /// test signature under the test key, every share checked against its verifying share
    /// (design §3.5). A share that fails names its device.
    pub async fn health(
        &self,
        key_id: &[u8; 32],
        signers: Vec<PeerId>,
    ) -> Result<SignOutput<C>, JobError> {
        one(self
            .propose_sign(key_id, signers, &health_message(key_id), Purpose::Health)
            .await?)
    }

    /// Proposes that `signers` (this device among them) sign the transaction `message` of
    /// `kind` with the key `key_id` (design §6.5), and runs the session: one signature per
    /// item every device reads out of the transaction itself, in order.
    pub async fn sign_transaction(
        &self,
        key_id: &[u8; 32],
        signers: Vec<PeerId>,
        message: &[u8],
        kind: TxKind,
    ) -> Result<Vec<SignOutput<C>>, JobError> {
        match self
            .propose_sign(key_id, signers, message, Purpose::Transaction(kind))
            .await?
        {
            Served::Transaction(outs) => Ok(outs),
            _ => Err(JobError::Params("not a transaction")),
        }
    }

    async fn propose_sign(
        &self,
        key_id: &[u8; 32],
        signers: Vec<PeerId>,
        message: &[u8],
        purpose: Purpose,
    ) -> Result<Served<C>, JobError> {
        let share = self
            .share(key_id)
            .ok_or_else(|| JobError::Key("no active share of this key".into()))?;
        // The signing roster is in identifier order (RFC 9591 §5.1, the signer list).
        let mut pairs = Vec::with_capacity(signers.len());
        for peer in signers {
            pairs.push((identifier_in(share.roster(), &peer)?, peer));
        }
        pairs.sort_by_key(|(id, _)| *id);
        let (ids, signers): (Vec<Identifier>, Vec<PeerId>) = pairs.into_iter().unzip();
        let mut w = Writer::default();
        w.u8(C::SUITE as u8);
        // The roster is bounded by MAX_ROSTER when the proposal is checked.
        w.u16(ids.len() as u16);
        for id in &ids {
            w.u16(id.get());
        }
        w.long(message);
        purpose.write(&mut w);
        let draft = Draft {
            kind: Kind::Sign,
            params: w.finish(),
            key_id: *key_id,
            epoch: share.epoch(),
            roster: signers,
        };
        let session = self.node.propose(draft).await?;
        self.serve(session).await
    }

    /// Proposes a reshare of the key `key_id` by `dealers` (old committee members holding
    /// shares, this device among them) to `new_roster` with threshold `new_threshold`, and
    /// runs it.
    pub async fn reshare(
        &self,
        key_id: &[u8; 32],
        dealers: &[PeerId],
        new_roster: &[PeerId],
        new_threshold: u16,
    ) -> Result<(Committed, Transition), JobError> {
        let share = self
            .share(key_id)
            .ok_or_else(|| JobError::Key("no active share of this key".into()))?;
        let mut list = Vec::with_capacity(dealers.len());
        for peer in dealers {
            list.push(Dealer {
                old_id: identifier_in(share.roster(), peer)?,
                identity: identity_of(peer).ok_or(JobError::Params("not an Ed25519 peer"))?,
            });
        }
        list.sort_by_key(|d| d.old_id);
        let params = ReshareParams {
            session: [0; 32],
            group_key: C::serialize_point(share.key_package().public().group_key())
                .map_err(|_| JobError::Key("group key does not encode".into()))?
                .as_ref()
                .to_vec(),
            old_key_id: *key_id,
            dealers: list,
            new_roster: new_roster
                .iter()
                .map(|p| identity_of(p).ok_or(JobError::Params("not an Ed25519 peer")))
                .collect::<Result<_, _>>()?,
            new_threshold,
        };
        let roster = params
            .devices()
            .iter()
            .map(|k| peer_of(k).ok_or(JobError::Params("identity key is not a PeerId")))
            .collect::<Result<_, _>>()?;
        let draft = Draft {
            kind: Kind::Reshare,
            params: encode_reshare(C::SUITE, &params),
            key_id: *key_id,
            epoch: share.epoch(),
            roster,
        };
        let session = self.node.propose(draft).await?;
        match self.serve(session).await? {
            Served::Reshare(c, t) => Ok((c, t)),
            _ => Err(JobError::Params("not a reshare")),
        }
    }

    /// Repairs this device's lost share of the key `key_id` at `epoch` (design §3.4), whose
    /// public data `public` and `roster` the caller checked against the key's certificate,
    /// with `helpers` (at least t devices of the committee): the share, checked against this
    /// device's verifying share.
    pub async fn repair(
        &self,
        key_id: &[u8; 32],
        epoch: u64,
        public: Arc<tessera_core::PublicKeyPackage<C>>,
        roster: &[IdentityKey],
        helpers: &[PeerId],
    ) -> Result<tessera_core::KeyPackage<C>, JobError> {
        let lost = identifier_in(roster, &self.node.peer_id())?;
        let mut pairs = Vec::with_capacity(helpers.len());
        for peer in helpers {
            pairs.push((identifier_in(roster, peer)?, *peer));
        }
        pairs.sort_by_key(|(id, _)| *id);
        let (ids, mut members): (Vec<Identifier>, Vec<PeerId>) = pairs.into_iter().unzip();
        members.push(self.node.peer_id());
        let mut w = Writer::default();
        w.u8(C::SUITE as u8);
        w.u16(lost.get());
        // Helpers come from a committee of at most MAX_ROSTER devices.
        w.u16(ids.len() as u16);
        for id in &ids {
            w.u16(id.get());
        }
        let draft = Draft {
            kind: Kind::Repair,
            params: w.finish(),
            key_id: *key_id,
            epoch,
            roster: members,
        };
        let mut session = self.node.propose(draft).await?;
        let party =
            RepairParty::lost(*session.id(), public, ids, lost).map_err(|e| JobError::Run {
                reason: e.to_string(),
                blamed: Vec::new(),
            })?;
        drive(party, &mut session).await
    }

    // ---- serving ---------------------------------------------------------------------

    /// Waits for the next session another member starts with this device and serves it;
    /// None once the node stops.
    pub async fn serve_next(&self) -> Option<Result<Served<C>, JobError>> {
        let session = self.node.next_session().await?;
        Some(self.serve(session).await)
    }

    /// Builds this device's party of `session` from its proposal and runs it.
    pub async fn serve(&self, mut session: Session) -> Result<Served<C>, JobError> {
        let proposal = session.proposal().clone();
        let roster: Vec<IdentityKey> = proposal
            .draft
            .roster
            .iter()
            .map(|p| identity_of(p).ok_or(JobError::Params("not an Ed25519 peer")))
            .collect::<Result<_, _>>()?;
        let mut r = Reader::new(&proposal.draft.params);
        let suite = r.u8().map_err(|_| JobError::Params("truncated"))?;
        if suite != C::SUITE as u8 {
            return Err(JobError::Params("another ciphersuite"));
        }
        match proposal.draft.kind {
            Kind::Keygen => self.serve_keygen(&mut session, r, roster).await,
            Kind::Sign => self.serve_sign(&mut session, r, roster).await,
            Kind::Reshare => self.serve_reshare(&mut session, roster).await,
            Kind::Repair => self.serve_repair(&mut session, r, roster).await,
            Kind::Certify => Err(JobError::Params("certification runs inside a keygen")),
        }
    }

    async fn serve_keygen(
        &self,
        session: &mut Session,
        mut r: Reader<'_>,
        roster: Vec<IdentityKey>,
    ) -> Result<Served<C>, JobError> {
        let threshold = r.u16().map_err(|_| JobError::Params("truncated"))?;
        // The key's suggested name, if the initiator gave one.
        let name = match r.short() {
            Ok(n) => String::from_utf8(n.to_vec())
                .ok()
                .filter(|n| n.len() <= MAX_NAME)
                .ok_or(JobError::Params("the key name is not short text"))?,
            Err(_) => String::new(),
        };
        r.end().map_err(|_| JobError::Params("trailing bytes"))?;
        self.check_pending_keygens()?;
        let params = DkgParams {
            session: *session.id(),
            threshold,
            roster,
        };
        let dkg = Dkg::<C>::new(params, session.me(), self.identity.clone(), &mut rng()).map_err(
            |e| JobError::Run {
                reason: e.to_string(),
                blamed: Vec::new(),
            },
        )?;
        let pending = drive(dkg, session).await?;
        // Kept (stored, then held here) before the confirmation goes out, and not dropped if
        // the certification fails. A store that fails sends no confirmation.
        if let Err(e) = self.shares.keygen(&name, session.id(), &pending) {
            // Everyone is told, rather than left waiting for this device's confirmation.
            session.abort(
                "a member could not keep its share and will not confirm".into(),
                Vec::new(),
            );
            return Err(JobError::Persist(e));
        }
        if let Ok(mut p) = self.pending_keygens.lock() {
            p.push(PendingKeygen {
                share: pending.clone(),
                blamed: Vec::new(),
            });
        }
        // Whose confirmations are still missing when the certification stops, whatever
        // stopped it (this device's deadline, or another member's abort).
        let missing = Arc::new(Mutex::new(Vec::new()));
        let (store, key_id) = (self.shares.clone(), *pending.key_id());
        let certify = Watched::new(Certify::new(&pending, *session.id()))
            .recording(missing.clone())
            .before(
                Kind::Certify,
                tessera_keygen::certify::CONFIRM_ROUND,
                Box::new(move || store.confirming(&key_id, 0)),
            );
        let certified = run_watched(certify, session).await;
        let certificate = certified.map_err(|e| {
            let silent: Vec<PeerId> = missing
                .lock()
                .map(|m| m.iter().filter_map(|&i| session.peer(i)).collect())
                .unwrap_or_default();
            if let Ok(mut p) = self.pending_keygens.lock() {
                if let Some(k) = p.iter_mut().find(|k| k.share.key_id() == pending.key_id()) {
                    k.blamed = silent;
                }
            }
            match e {
                JobError::Run { reason, blamed } => JobError::Run {
                    reason: format!("{reason} (the confirmed share is kept pending)"),
                    blamed,
                },
                other => other,
            }
        })?;
        Ok(Served::Keygen(self.activate(&certificate)?))
    }

    /// Refuses a keygen while too many confirmed ones wait for their certificate, naming the
    /// peers whose missing confirmations left them waiting: the user can tell who is filling
    /// the device with keygens that never complete.
    fn check_pending_keygens(&self) -> Result<(), JobError> {
        let pending = self
            .pending_keygens
            .lock()
            .map_err(|_| JobError::Key("pending shares poisoned".into()))?;
        if pending.len() < self.max_pending_keygens {
            return Ok(());
        }
        let mut blamed: Vec<PeerId> = pending.iter().flat_map(|k| k.blamed.clone()).collect();
        blamed.sort_unstable();
        blamed.dedup();
        let names: Vec<String> = blamed.iter().map(PeerId::to_string).collect();
        let me = self.node.peer_id();
        let blamed = blamed
            .into_iter()
            .map(|peer| Blamed {
                peer,
                fault: None,
                evidence: Strength::AccusedBy(me),
            })
            .collect();
        Err(JobError::Run {
            reason: format!(
                "{} keygens wait for a certificate that never completed (missing confirmations \
                 from {}); activate or resolve them before a new keygen",
                pending.len(),
                if names.is_empty() {
                    "unknown peers".into()
                } else {
                    names.join(", ")
                }
            ),
            blamed,
        })
    }

    async fn serve_sign(
        &self,
        session: &mut Session,
        mut r: Reader<'_>,
        roster: Vec<IdentityKey>,
    ) -> Result<Served<C>, JobError> {
        let bad = |_| JobError::Params("malformed signing parameters");
        let n = usize::from(r.u16().map_err(bad)?);
        if n != roster.len() {
            return Err(JobError::Params("signer list and roster differ"));
        }
        let mut ids = Vec::with_capacity(n);
        for _ in 0..n {
            ids.push(
                Identifier::new(r.u16().map_err(bad)?)
                    .map_err(|_| JobError::Params("zero identifier"))?,
            );
        }
        let message = r.long().map_err(bad)?.to_vec();
        let draft = &session.proposal().draft;
        let purpose = Purpose::read(&mut r, &message, &draft.key_id)?;
        let health = purpose == Purpose::Health;
        let record = self
            .record(&draft.key_id)
            .ok_or_else(|| JobError::Key("no active share of this key".into()))?;
        let share = {
            let record = record
                .lock()
                .map_err(|_| JobError::Key("record poisoned".into()))?;
            // A superseded epoch is refused here (design §3.3 step 4).
            record
                .share_for(draft.epoch)
                .map_err(|e| JobError::Key(e.to_string()))?
                .clone()
        };
        if !ids
            .iter()
            .zip(&roster)
            .all(|(id, key)| share.roster().get(usize::from(id.get()) - 1) == Some(key))
        {
            return Err(JobError::Params(
                "a signer's identifier is not its roster position",
            ));
        }
        let signers = ids.iter().copied().collect::<BTreeSet<_>>();
        let roster: Vec<(Identifier, IdentityKey)> = ids.iter().copied().zip(roster).collect();
        if let Purpose::Transaction(kind) = purpose {
            // Each device reads the items out of the transaction with its own copy of the
            // key's public data; the policy showed the same reading to its person.
            let plan = transaction::plan(kind, &message, &share.public()).map_err(|reason| {
                JobError::Run {
                    reason,
                    blamed: Vec::new(),
                }
            })?;
            let batch = SignBatch::new(
                share.key_package(),
                *session.id(),
                signers,
                plan.items,
                roster,
                self.identity.clone() as Arc<dyn IdentitySigner>,
                &mut rng(),
            )
            .map_err(|e| JobError::Run {
                reason: e.to_string(),
                blamed: Vec::new(),
            })?;
            return Ok(Served::Transaction(drive(batch, session).await?));
        }
        // A health check signs under the test key, untweaked; a signature under the output
        // key of the key or of its child (BIP-86 for Taproot) otherwise.
        let key = if health {
            share
                .key_package()
                .offset(&health_offset::<C>(&draft.key_id))
                .map_err(|e| JobError::Key(e.to_string()))?
        } else {
            share.key_package().clone()
        };
        let tweak = purpose.tweak::<C>();
        let request = SigningRequest {
            session_id: *session.id(),
            message,
            tweak,
            signers,
        };
        let party = SignParty::new(
            &key,
            request,
            roster,
            self.identity.clone() as Arc<dyn IdentitySigner>,
            &mut rng(),
        )
        .map_err(|e| JobError::Run {
            reason: e.to_string(),
            blamed: Vec::new(),
        })?;
        let party = if health {
            party.checking_every_share()
        } else {
            party
        };
        Ok(Served::Sign(drive(party, session).await?))
    }

    async fn serve_reshare(
        &self,
        session: &mut Session,
        roster: Vec<IdentityKey>,
    ) -> Result<Served<C>, JobError> {
        let draft = session.proposal().draft.clone();
        let params = decode_reshare(&draft.params, *session.id())?;
        if params.devices() != roster || params.old_key_id != draft.key_id {
            return Err(JobError::Params(
                "roster or key differ from the reshare parameters",
            ));
        }
        let me = self.identity.identity();
        let dealer = params.dealers.iter().any(|d| d.identity == me);
        // An old member keeps one record of the key whether it deals or only receives, so
        // activating e+1 erases its epoch-e share. A new device reuses its record of the key
        // if it has one (so a second concurrent reshare cannot stage beside the first), or
        // starts a joining record, kept from the start so a share it stages is never lost.
        let group_key = C::deserialize_point(&params.group_key)
            .map_err(|_| JobError::Params("group key does not decode"))?;
        let (record, joined) = match self.record(&draft.key_id) {
            Some(record) => (record, false),
            None if dealer => return Err(JobError::Key("no active share of this key".into())),
            None => match self.record_of_group(&group_key) {
                Some(record) => (record, false),
                None => {
                    let record = Arc::new(Mutex::new(KeyRecord::joining(group_key)));
                    self.store(record.clone());
                    (record, true)
                }
            },
        };
        // Staged in the record (which applies the one-transition rule), then stored; a store
        // that fails unstages it, and no confirmation goes out.
        let staged_id = Arc::new(Mutex::new(None));
        let persist = {
            let (record, store, staged_id) =
                (record.clone(), self.shares.clone(), staged_id.clone());
            Box::new(move |session: &SessionId, pending: &PendingKeyShare<C>| {
                let mut r = record.lock().map_err(|_| "record poisoned".to_string())?;
                r.stage(*session, Clone::clone(pending))
                    .map_err(|e| e.to_string())?;
                store.reshare(session, pending).inspect_err(|_| {
                    r.unstage(session);
                })?;
                if let Ok(mut s) = staged_id.lock() {
                    *s = Some((*pending.key_id(), pending.epoch()));
                }
                Ok(())
            })
        };
        let confirming = {
            let store = self.shares.clone();
            Box::new(move || match staged_id.lock().ok().and_then(|s| *s) {
                Some((key_id, epoch)) => store.confirming(&key_id, epoch),
                None => Err("no staged share to confirm".to_string()),
            })
        };
        let party = if dealer {
            let mut r = record
                .lock()
                .map_err(|_| JobError::Key("record poisoned".into()))?;
            r.share_for(draft.epoch)
                .map_err(|e| JobError::Key(e.to_string()))?;
            let party =
                ReshareParty::dealer(params, &mut r, self.identity.clone(), persist, &mut rng());
            // The dealing mark is kept before the first deal leaves (the driver's start);
            // a store that fails deals nothing.
            if party.is_ok() {
                if let Err(e) = self
                    .shares
                    .dealing(&draft.key_id, draft.epoch, session.id())
                {
                    r.abandon(session.id());
                    return Err(JobError::Persist(e));
                }
            }
            party
        } else {
            ReshareParty::joiner(params, self.identity.clone(), persist, &mut rng())
        }
        .map_err(|e| JobError::Run {
            reason: e.to_string(),
            blamed: Vec::new(),
        })?;
        let party =
            Watched::new(party).before(Kind::Reshare, tessera_reshare::CONFIRM_ROUND, confirming);
        let result = run_watched(party, session).await;
        let r = record
            .lock()
            .map_err(|_| JobError::Key("record poisoned".into()))?;
        let output = match result {
            Ok(o) => o,
            Err(e) => {
                // Nothing activates without the certificate and the old epoch stays. A share
                // staged (and so confirmed) stays staged until the user abandons it.
                let staged = r.pending().is_some();
                drop(r);
                if joined && !staged {
                    self.forget(&record);
                }
                return Err(e);
            }
        };
        drop(r);
        let committed = self.commit_to(&record, &output.transition)?;
        Ok(Served::Reshare(committed, output.transition))
    }
}

impl<C: Ciphersuite> Device<C> {
    /// Helps repair another device's share (design §3.4): the session's roster must be
    /// helpers at their roster positions, then the lost device at its own.
    async fn serve_repair(
        &self,
        session: &mut Session,
        mut r: Reader<'_>,
        roster: Vec<IdentityKey>,
    ) -> Result<Served<C>, JobError> {
        let bad = |_| JobError::Params("malformed repair parameters");
        let id = |v: u16| Identifier::new(v).map_err(|_| JobError::Params("zero identifier"));
        let lost = id(r.u16().map_err(bad)?)?;
        let n = usize::from(r.u16().map_err(bad)?);
        let mut helpers = Vec::with_capacity(n);
        for _ in 0..n {
            helpers.push(id(r.u16().map_err(bad)?)?);
        }
        r.end().map_err(bad)?;
        let draft = session.proposal().draft.clone();
        let record = self
            .record(&draft.key_id)
            .ok_or_else(|| JobError::Key("no active share of this key".into()))?;
        let share = record
            .lock()
            .map_err(|_| JobError::Key("record poisoned".into()))?
            .share_for(draft.epoch)
            .map_err(|e| JobError::Key(e.to_string()))?
            .clone();
        let at = |i: &Identifier| share.roster().get(usize::from(i.get()) - 1);
        let expected: Vec<Option<&IdentityKey>> = helpers.iter().chain([&lost]).map(at).collect();
        if roster.len() != expected.len()
            || !roster.iter().zip(&expected).all(|(k, e)| Some(k) == *e)
        {
            return Err(JobError::Params(
                "a repair member is not at its roster position",
            ));
        }
        let party = RepairParty::helper(
            *session.id(),
            share.key_package().clone(),
            helpers,
            lost,
            &mut rng(),
        )
        .map_err(|e| JobError::Run {
            reason: e.to_string(),
            blamed: Vec::new(),
        })?;
        let mut party = Watched::new(party);
        if crash::lies_in_repair() {
            party = party.lying(Box::new(|payload: &mut Vec<u8>| {
                // The sum to the lost device (round 2), plus one.
                let Some(body) = payload.get(tessera_core::protocol::Header::LEN..) else {
                    return;
                };
                if payload.get(tessera_core::protocol::Header::LEN - 1) != Some(&2) {
                    return;
                }
                if let Ok(s) = tessera_core::SecretScalar::<C>::from_bytes(body) {
                    let more = s.add(&tessera_core::SecretScalar::new(
                        <C::Scalar as ff::Field>::ONE,
                    ));
                    payload.truncate(tessera_core::protocol::Header::LEN);
                    payload.extend_from_slice(&*more.to_bytes());
                }
            }));
        }
        run_watched(party, session).await?;
        Ok(Served::Helped)
    }
}

/// A protocol as a job runs it: whom it waits for is recorded after every step (so the job
/// still knows once the driver has consumed it), and the test crash point is checked before
/// any message leaves ([`crash`]).
struct Watched<P> {
    inner: P,
    missing: Option<Arc<Mutex<Vec<tessera_core::PartyIndex>>>>,
    kill_at: Option<crash::Point>,
    before: Option<Before>,
    /// The write before a round failed: nothing more leaves, and the protocol never
    /// finishes (the session fails at its deadline), so this device never confirms.
    poisoned: bool,
    /// The repair test's lie ([`crash::LIE_VAR`]), applied to every payload that leaves.
    lie: Option<Lie>,
}

/// A change to every outgoing payload (the repair test's lie).
type Lie = Box<dyn Fn(&mut Vec<u8>) + Send>;

/// A write that must be done before the first message of one round leaves (design §5.7): the
/// mark that this device's confirmation may have left. If it fails, that step's messages are
/// dropped: nothing is confirmed, and the session fails at its deadline.
struct Before {
    kind: Kind,
    round: u8,
    write: Box<dyn FnMut() -> Result<(), String> + Send>,
    done: bool,
}

impl<P: Protocol> Watched<P> {
    fn new(inner: P) -> Self {
        Watched {
            inner,
            missing: None,
            kill_at: crash::point(),
            before: None,
            poisoned: false,
            lie: None,
        }
    }

    /// Applies `lie` to every payload that leaves (the repair test's hook only).
    fn lying(mut self, lie: Lie) -> Self {
        self.lie = Some(lie);
        self
    }

    /// Runs `write` before the first message of `round` of protocol `kind` leaves.
    fn before(
        mut self,
        kind: Kind,
        round: u8,
        write: Box<dyn FnMut() -> Result<(), String> + Send>,
    ) -> Self {
        self.before = Some(Before {
            kind,
            round,
            write,
            done: false,
        });
        self
    }

    /// Records whom the protocol waits for in `missing`.
    fn recording(mut self, missing: Arc<Mutex<Vec<tessera_core::PartyIndex>>>) -> Self {
        self.missing = Some(missing);
        self
    }

    /// After a step that sends `out`, before it leaves.
    fn stepped(&mut self, out: &mut Vec<tessera_core::protocol::Outgoing>) {
        if let Some(point) = &self.kill_at {
            point.check(out);
        }
        if self.poisoned {
            out.clear();
            return;
        }
        if let Some(lie) = &self.lie {
            out.iter_mut().for_each(|o| lie(&mut o.payload));
        }
        if let Some(b) = self.before.as_mut().filter(|b| !b.done) {
            if crash::holds_round(out, b.kind, b.round) {
                match (b.write)() {
                    Ok(()) => b.done = true,
                    Err(e) => {
                        tracing::error!("not confirming: {e}");
                        self.poisoned = true;
                        out.clear();
                    }
                }
            }
        }
        if let Some(m) = &self.missing {
            if let Ok(mut m) = m.lock() {
                *m = self.inner.waiting_for();
            }
        }
    }
}

impl<P: Protocol> Protocol for Watched<P> {
    type Output = P::Output;
    type Error = P::Error;

    fn kind(&self) -> Kind {
        self.inner.kind()
    }

    fn session(&self) -> &SessionId {
        self.inner.session()
    }

    fn me(&self) -> tessera_core::PartyIndex {
        self.inner.me()
    }

    fn parties(&self) -> u16 {
        self.inner.parties()
    }

    fn start(&mut self) -> Result<Vec<tessera_core::protocol::Outgoing>, P::Error> {
        let mut out = self.inner.start();
        if let Ok(o) = out.as_mut() {
            self.stepped(o);
        }
        out
    }

    fn receive(
        &mut self,
        from: tessera_core::PartyIndex,
        payload: &[u8],
    ) -> Result<tessera_core::Step<P::Output>, P::Error> {
        let mut step = self.inner.receive(from, payload);
        match step.as_mut() {
            Ok(tessera_core::Step::Continue(out) | tessera_core::Step::Done(out, _)) => {
                self.stepped(out)
            }
            Err(_) => self.stepped(&mut Vec::new()),
        }
        if self.poisoned {
            return step.map(|_| tessera_core::Step::Continue(Vec::new()));
        }
        step
    }

    fn parting(&mut self) -> Vec<tessera_core::protocol::Outgoing> {
        let mut out = self.inner.parting();
        self.stepped(&mut out);
        out
    }

    fn waiting_for(&self) -> Vec<tessera_core::PartyIndex> {
        self.inner.waiting_for()
    }
}

/// Runs one protocol of a session, mapping its error for the job.
async fn drive<P: Protocol>(party: P, session: &mut Session) -> Result<P::Output, JobError> {
    run_watched(Watched::new(party), session).await
}

async fn run_watched<P: Protocol>(
    party: Watched<P>,
    session: &mut Session,
) -> Result<P::Output, JobError> {
    match tessera_p2p::run(party, session).await {
        Ok(o) => Ok(o),
        Err(e) => Err(run_error(e, session)),
    }
}

/// The identifier of `peer` in the key's roster (position + 1).
fn identifier_in(roster: &[IdentityKey], peer: &PeerId) -> Result<Identifier, JobError> {
    let key = identity_of(peer).ok_or(JobError::Params("not an Ed25519 peer"))?;
    let pos = roster
        .iter()
        .position(|k| *k == key)
        .ok_or(JobError::Params("a peer is not in the key's committee"))?;
    u16::try_from(pos + 1)
        .ok()
        .and_then(|i| Identifier::new(i).ok())
        .ok_or(JobError::Params("roster position out of range"))
}

fn encode_reshare(suite: Suite, p: &ReshareParams) -> Vec<u8> {
    let mut w = Writer::default();
    w.u8(suite as u8);
    w.short(&p.group_key);
    w.bytes32(&p.old_key_id);
    // Dealer and roster lists come from committees of at most MAX_ROSTER devices.
    w.u16(p.dealers.len() as u16);
    for d in &p.dealers {
        w.u16(d.old_id.get());
        w.bytes32(d.identity.as_bytes());
    }
    w.u16(p.new_roster.len() as u16);
    for k in &p.new_roster {
        w.bytes32(k.as_bytes());
    }
    w.u16(p.new_threshold);
    w.finish()
}

fn decode_reshare(bytes: &[u8], session: [u8; 32]) -> Result<ReshareParams, JobError> {
    let bad = |_| JobError::Params("malformed reshare parameters");
    let mut r = Reader::new(bytes);
    r.u8().map_err(bad)?;
    let group_key = r.short().map_err(bad)?.to_vec();
    let old_key_id = r.bytes32().map_err(bad)?;
    let n = r.u16().map_err(bad)?;
    let mut dealers = Vec::with_capacity(usize::from(n));
    for _ in 0..n {
        let old_id = Identifier::new(r.u16().map_err(bad)?)
            .map_err(|_| JobError::Params("zero identifier"))?;
        let identity = IdentityKey::from_bytes(r.bytes32().map_err(bad)?)
            .map_err(|_| JobError::Params("bad identity key"))?;
        dealers.push(Dealer { old_id, identity });
    }
    let m = r.u16().map_err(bad)?;
    let mut new_roster = Vec::with_capacity(usize::from(m));
    for _ in 0..m {
        new_roster.push(
            IdentityKey::from_bytes(r.bytes32().map_err(bad)?)
                .map_err(|_| JobError::Params("bad identity key"))?,
        );
    }
    let new_threshold = r.u16().map_err(bad)?;
    r.end().map_err(bad)?;
    let params = ReshareParams {
        session,
        group_key,
        old_key_id,
        dealers,
        new_roster,
        new_threshold,
    };
    params
        .check()
        .map_err(|_| JobError::Params("reshare parameters fail their checks"))?;
    Ok(params)
}
