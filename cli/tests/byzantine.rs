//! Byzantine devices over the real mesh (design §4.8, §4.10): one device of each session
//! deviates after its protocol built its messages, through the node's tamper hook, in each of
//! ten ways, in keygen, signing and resharing, in each suite. Every honest device must end
//! with an error naming the deviating device, none may keep anything usable, a following
//! session without it must succeed, and no honest device may ever be named as proven. The
//! outcome of each (fault, protocol) is compared with the table in docs/DESIGN.md §4.10, in
//! every suite: a cell that changes fails the test.

mod common;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use common::*;
use tessera_cli::device::jobs::{identities, Blamed, Device, JobError, Served, Strength};
use tessera_core::{
    hash::transcript_hash,
    protocol::{Header, Kind},
    Ciphersuite, Ed25519, Ed25519Identity, IdentityKey, IdentitySigner, Secp256k1, SessionId,
    Taproot,
};
use tessera_keygen::dkg::{round1, DkgParams};
use tessera_p2p::{
    accept_all,
    tamper::{Outbound, Tamper},
    NodeConfig, PeerId,
};
use tessera_reshare::{Dealer, ReshareParams};

/// How the deviating device deviates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// A secret share (keygen, reshare: to one victim) or signature share (signing: to all)
    /// with one byte changed.
    BadShare,
    /// The DKG's proof of knowledge changed, the message signed again.
    BadProof,
    /// Different signed round-1 messages to different members: odd recipients get the last
    /// commitment point replaced.
    Equivocation,
    /// A commitment replaced for everyone, signed again: the DKG's last coefficient, the
    /// signing nonce commitment D, the reshare's constant term (which must be the dealer's
    /// share of the key).
    WrongCommitment,
    /// The device's round-1 message of an earlier session, relabelled for this one.
    Replay,
    /// The first point replaced by bytes that are no point, signed again.
    BadEncoding,
    /// Everything after the header replaced by random bytes.
    RandomBytes,
    /// The round-1 message padded past the frame limit.
    Oversized,
    /// The round-1 message sent as round 2.
    FutureRound,
    /// No round-1 message at all.
    Silence,
}

const FAULTS: [Fault; 10] = [
    Fault::BadShare,
    Fault::BadProof,
    Fault::Equivocation,
    Fault::WrongCommitment,
    Fault::Replay,
    Fault::BadEncoding,
    Fault::RandomBytes,
    Fault::Oversized,
    Fault::FutureRound,
    Fault::Silence,
];

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::BadShare => "bad share",
            Fault::BadProof => "bad proof of knowledge",
            Fault::Equivocation => "different broadcasts",
            Fault::WrongCommitment => "wrong commitment",
            Fault::Replay => "replay from another session",
            Fault::BadEncoding => "invalid point encoding",
            Fault::RandomBytes => "random bytes",
            Fault::Oversized => "oversized message",
            Fault::FutureRound => "round not yet reached",
            Fault::Silence => "silence",
        }
    }

    /// Whether the fault exists in `proto`: only the DKG proves knowledge of its constant.
    fn applies(self, proto: Proto) -> bool {
        self != Fault::BadProof || proto == Proto::Keygen
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Keygen,
    Sign,
    Reshare,
}

impl Proto {
    fn kind(self) -> Kind {
        match self {
            Proto::Keygen => Kind::Keygen,
            Proto::Sign => Kind::Sign,
            Proto::Reshare => Kind::Reshare,
        }
    }

    fn column(self) -> usize {
        match self {
            Proto::Keygen => 1,
            Proto::Sign => 2,
            Proto::Reshare => 3,
        }
    }
}

/// Computes the signature context of a signed round-1 message for a session id (keygen and
/// reshare sign over one; signing's round 1 has none).
type Context = Arc<dyn Fn(&SessionId) -> [u8; 32] + Send + Sync>;

/// The deviating device's hook and what it needs to sign its changed messages.
struct Deviation<C> {
    signer: Ed25519Identity,
    state: Mutex<State>,
    _suite: std::marker::PhantomData<C>,
}

#[derive(Default)]
struct State {
    armed: Option<(Proto, Fault)>,
    context: Option<Context>,
    /// The last message of each (kind, round) sent while disarmed: what a replay sends.
    previous: HashMap<(Kind, u8), Vec<u8>>,
    counter: u64,
}

/// The 0-based fields of a signed round-1 message.
struct Layout {
    /// Commitment points, in order, with their encoding's length.
    points: Vec<std::ops::Range<usize>>,
    /// The DKG proof's μ.
    mu: Option<std::ops::Range<usize>>,
}

impl<C: Ciphersuite> Deviation<C> {
    fn new(seed: u8) -> Arc<Self> {
        let (_, signer) = identities(&[seed; 32]).unwrap();
        Arc::new(Self {
            signer,
            state: Mutex::new(State::default()),
            _suite: std::marker::PhantomData,
        })
    }

    fn hook(self: &Arc<Self>) -> Tamper {
        let me = self.clone();
        Arc::new(move |out: Outbound<'_>| me.deviate(out))
    }

    fn arm(&self, proto: Proto, fault: Fault, context: Option<Context>) {
        let mut s = self.state.lock().unwrap();
        s.armed = Some((proto, fault));
        s.context = context;
    }

    fn disarm(&self) {
        self.state.lock().unwrap().armed = None;
    }

    fn deviate(&self, out: Outbound<'_>) -> Vec<Vec<u8>> {
        let mut s = self.state.lock().unwrap();
        let payload = out.payload.to_vec();
        let Some((proto, fault)) = s.armed else {
            s.previous.insert((out.kind, out.round), payload.clone());
            return vec![payload];
        };
        let target = if fault == Fault::BadShare { 2 } else { 1 };
        if out.kind != proto.kind() || out.round != target {
            return vec![payload];
        }
        s.counter += 1;
        let counter = s.counter;
        let context = s.context.clone();
        // Only round-1 messages have this layout: computed by the faults that change them.
        let layout = || layout::<C>(proto, &payload);
        let resign = |mut unsigned: Vec<u8>| -> Vec<u8> {
            let sig = self.resign(proto, out.session, &payload, &unsigned, context.as_ref());
            unsigned.extend_from_slice(&sig);
            unsigned
        };
        let unsigned = || payload[..payload.len() - 64].to_vec();
        let one = match fault {
            Fault::BadShare => {
                // A private share goes wrong for one victim; a signature share is broadcast.
                if proto != Proto::Sign && out.to != 0 {
                    return vec![payload];
                }
                let at = Header::LEN + if proto == Proto::Sign { 2 } else { 0 } + 16;
                let mut p = payload.clone();
                p[at] ^= 1;
                p
            }
            Fault::BadProof => {
                let mut p = unsigned();
                let mu = layout().mu.expect("a DKG round-1 message has μ");
                p[mu.start + 16] ^= 1;
                resign(p)
            }
            Fault::Equivocation => {
                if out.to.is_multiple_of(2) {
                    return vec![payload];
                }
                let last = layout().points.last().expect("points").clone();
                resign(with_point::<C>(
                    proto,
                    unsigned(),
                    last,
                    &counter.to_be_bytes(),
                ))
            }
            Fault::WrongCommitment => {
                let points = layout().points;
                let at = if proto == Proto::Keygen {
                    points.last()
                } else {
                    points.first()
                };
                let at = at.expect("points").clone();
                // The same point to everyone: one consistent (wrong) broadcast.
                resign(with_point::<C>(proto, unsigned(), at, out.session))
            }
            Fault::Replay => {
                let mut p = s
                    .previous
                    .get(&(out.kind, out.round))
                    .expect("a message of an earlier session to replay")
                    .clone();
                p[1..33].copy_from_slice(out.session);
                p
            }
            Fault::BadEncoding => {
                let mut p = unsigned();
                let first = layout().points[0].clone();
                p[first].fill(0xff);
                resign(p)
            }
            Fault::RandomBytes => {
                let mut p = payload.clone();
                for (i, chunk) in p[Header::LEN..].chunks_mut(32).enumerate() {
                    let block = transcript_hash(
                        "tessera/test/byzantine/random",
                        &[&counter.to_be_bytes(), &(i as u64).to_be_bytes()],
                    );
                    chunk.copy_from_slice(&block[..chunk.len()]);
                }
                p
            }
            Fault::Oversized => {
                let mut p = payload.clone();
                p.resize(quick_limits().max_message + 1, 0);
                p
            }
            Fault::FutureRound => {
                let mut p = payload.clone();
                p[Header::LEN - 1] = 2;
                p
            }
            Fault::Silence => return Vec::new(),
        };
        vec![one]
    }

    /// Signs a changed round-1 message as the deviating device: with the same purpose, and
    /// for keygen and reshare the same context and sender index as the original's signature.
    fn resign(
        &self,
        proto: Proto,
        session: &SessionId,
        original: &[u8],
        unsigned: &[u8],
        context: Option<&Context>,
    ) -> [u8; 64] {
        if proto == Proto::Sign {
            return self.signer.sign(tessera_sign::ROUND1_PURPOSE, unsigned);
        }
        let purpose = match proto {
            Proto::Keygen => round1::PURPOSE,
            _ => tessera_reshare::DEAL_PURPOSE,
        };
        let context = context.expect("a context for keygen and reshare")(session);
        let (body, sig) = original.split_at(original.len() - 64);
        let identity = self.signer.identity();
        // The sender index is the one the original signature covers.
        let from = (0..64)
            .find(|i| identity.verify(purpose, &round1::signed_part(&context, *i, body), sig))
            .expect("the original message verifies under the context");
        self.signer
            .sign(purpose, &round1::signed_part(&context, from, unsigned))
    }
}

/// Where the points of a signed round-1 message of `proto` are (design §7.5, §7.7, §7.8).
fn layout<C: Ciphersuite>(proto: Proto, p: &[u8]) -> Layout {
    let u16_at = |at: usize| usize::from(u16::from_be_bytes([p[at], p[at + 1]]));
    let run = |start: usize, count: usize, len: usize| -> Vec<std::ops::Range<usize>> {
        (0..count)
            .map(|k| start + k * len..start + (k + 1) * len)
            .collect()
    };
    let h = Header::LEN;
    match proto {
        Proto::Keygen => {
            let t = u16_at(h);
            let w = C::WIRE_POINT_LEN;
            let points = run(h + 2, t, w);
            let mu = h + 2 + (t + 1) * w;
            Layout {
                points,
                mu: Some(mu..mu + 32),
            }
        }
        Proto::Sign => Layout {
            points: run(h + 2, 2, C::POINT_LEN),
            mu: None,
        },
        Proto::Reshare => {
            let old = u32::from_be_bytes([p[h], p[h + 1], p[h + 2], p[h + 3]]) as usize;
            let t = u16_at(h + 4 + old);
            Layout {
                points: run(h + 6 + old, t, C::WIRE_POINT_LEN),
                mu: None,
            }
        }
    }
}

/// `unsigned` with the point at `at` replaced by another valid point, chosen by `seed`.
fn with_point<C: Ciphersuite>(
    proto: Proto,
    mut unsigned: Vec<u8>,
    at: std::ops::Range<usize>,
    seed: &[u8],
) -> Vec<u8> {
    let s = C::hash_to_scalar(b"tessera/test/byzantine/point", &[seed]);
    let point = C::mul_base(&s);
    let mut bytes = Vec::new();
    if proto == Proto::Sign {
        bytes.extend_from_slice(C::serialize_point(&point).unwrap().as_ref());
    } else {
        C::write_wire_point(&point, &mut bytes).unwrap();
    }
    unsigned[at].copy_from_slice(&bytes);
    unsigned
}

// ---- the committee -------------------------------------------------------------------------

/// Four devices on 127.0.0.1 (seeds 1..=4); the last one deviates when armed.
struct Committee<C: Ciphersuite> {
    devices: Vec<Arc<Device<C>>>,
    reports: tokio::sync::mpsc::UnboundedReceiver<Report<C>>,
    culprit: Arc<Deviation<C>>,
}

const CULPRIT: usize = 3;

impl<C: Ciphersuite> Committee<C>
where
    C::Point: Send,
{
    async fn new() -> Self {
        let culprit = Deviation::<C>::new(CULPRIT as u8 + 1);
        let mut devices = Vec::new();
        for seed in 1..=4u8 {
            let (keypair, identity) = identities(&[seed; 32]).unwrap();
            let mut config = NodeConfig::new(keypair, accept_all());
            config.limits = quick_limits();
            if usize::from(seed) == CULPRIT + 1 {
                config.tamper = Some(culprit.hook());
                // A deviating node ignores the limits honest nodes keep.
                config.limits.max_message *= 4;
            }
            devices.push(Arc::new(Device::start(config, identity).await.unwrap()));
        }
        introduce(&devices);
        let reports = serve(&devices[1..], 1);
        Self {
            devices,
            reports,
            culprit,
        }
    }

    fn peers(&self, which: &[usize]) -> Vec<PeerId> {
        which
            .iter()
            .map(|i| self.devices[*i].node().peer_id())
            .collect()
    }

    fn identity(&self, i: usize) -> IdentityKey {
        tessera_cli::device::jobs::identity_of(&self.devices[i].node().peer_id()).unwrap()
    }

    /// The reports of the members `which` (the initiator, device 0, reports directly).
    async fn members(&mut self, which: &[usize]) -> HashMap<usize, Result<Served<C>, JobError>> {
        let mut out = HashMap::new();
        for (i, r) in reports(&mut self.reports, which.len()).await {
            assert!(which.contains(&i), "a report from device {i}");
            out.insert(i, r);
        }
        out
    }

    /// A keygen by `which` (device 0 first) with threshold 2.
    async fn keygen(&mut self, which: &[usize]) -> Result<[u8; 32], JobError> {
        let out = self.devices[0].keygen(self.peers(which), 2).await;
        self.members(&which[1..]).await;
        out.map(|s| *s.key_id())
    }

    async fn sign(&mut self, key: &[u8; 32], which: &[usize]) -> Result<(), JobError> {
        let message = b"byzantine: a following session";
        let out = self.devices[0]
            .sign(key, self.peers(which), message)
            .await
            .map(|o| {
                let k = C::serialize_verifying_key(&o.output_key).unwrap();
                assert!(standard_verify(
                    C::SUITE,
                    &k,
                    message,
                    &o.signature.to_bytes().unwrap()
                ));
            });
        self.members(&which[1..]).await;
        out
    }

    async fn reshare(
        &mut self,
        key: &[u8; 32],
        dealers: &[usize],
        new: &[usize],
    ) -> Result<(), JobError> {
        let out = self.devices[0]
            .reshare(key, &self.peers(dealers), &self.peers(new), 2)
            .await;
        let mut members: Vec<usize> = dealers.iter().chain(new).copied().collect();
        members.sort_unstable();
        members.dedup();
        self.members(&members[1..]).await;
        out.map(|_| ())
    }

    /// The reshare context of `key` for dealers 0, 1, 3 and new committee 0..4 (see
    /// [`Self::faulty`]).
    fn reshare_context(&self, key: &[u8; 32]) -> Context {
        let share = self.devices[0].share(key).unwrap();
        let group_key = C::serialize_point(share.key_package().public().group_key())
            .unwrap()
            .as_ref()
            .to_vec();
        let roster = share.roster().to_vec();
        let dealers: Vec<Dealer> = [0, 1, CULPRIT]
            .iter()
            .map(|i| {
                let identity = self.identity(*i);
                let pos = roster.iter().position(|k| *k == identity).unwrap();
                Dealer {
                    old_id: tessera_core::Identifier::new(pos as u16 + 1).unwrap(),
                    identity,
                }
            })
            .collect();
        let new_roster: Vec<IdentityKey> = (0..4).map(|i| self.identity(i)).collect();
        let key = *key;
        Arc::new(move |session: &SessionId| {
            ReshareParams {
                session: *session,
                group_key: group_key.clone(),
                old_key_id: key,
                dealers: dealers.clone(),
                new_roster: new_roster.clone(),
                new_threshold: 2,
            }
            .context(C::SUITE)
        })
    }

    fn keygen_context(&self) -> Context {
        let roster: Vec<IdentityKey> = (0..4).map(|i| self.identity(i)).collect();
        Arc::new(move |session: &SessionId| {
            DkgParams {
                session: *session,
                threshold: 2,
                roster: roster.clone(),
            }
            .context(C::SUITE)
        })
    }

    /// Runs one session of `proto` by all four devices with the culprit armed with `fault`,
    /// and returns each honest device's outcome.
    async fn faulty(
        &mut self,
        proto: Proto,
        fault: Fault,
        key: Option<&[u8; 32]>,
    ) -> Vec<(usize, Result<(), JobError>)> {
        let context = match proto {
            Proto::Keygen => Some(self.keygen_context()),
            Proto::Sign => None,
            Proto::Reshare => Some(self.reshare_context(key.unwrap())),
        };
        self.culprit.arm(proto, fault, context);
        let all = self.peers(&[0, 1, 2, 3]);
        let first = match proto {
            Proto::Keygen => self.devices[0].keygen(all, 2).await.map(|_| ()),
            Proto::Sign => self.devices[0]
                .sign(key.unwrap(), self.peers(&[0, 1, CULPRIT]), b"byzantine")
                .await
                .map(|_| ()),
            Proto::Reshare => self.devices[0]
                .reshare(key.unwrap(), &self.peers(&[0, 1, CULPRIT]), &all, 2)
                .await
                .map(|_| ()),
        };
        let members: &[usize] = match proto {
            Proto::Sign => &[1, CULPRIT],
            _ => &[1, 2, CULPRIT],
        };
        let mut reports = self.members(members).await;
        self.culprit.disarm();
        let mut out = vec![(0, first)];
        for i in members.iter().filter(|i| **i != CULPRIT) {
            out.push((*i, reports.remove(i).unwrap().map(|_| ())));
        }
        out
    }
}

// ---- outcomes ------------------------------------------------------------------------------

/// What one honest device holds against the culprit, strongest first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Finding {
    /// Its own signed messages prove the fault.
    Proven(String),
    /// This device found the fault in what it received.
    Found(String),
    /// This device heard nothing from it in time.
    Silent,
    /// Another device named it when it aborted.
    Told,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Finding::Proven(fault) => write!(f, "proven: {fault}"),
            Finding::Found(fault) => write!(f, "accused: {fault}"),
            Finding::Silent => write!(f, "accused: silent"),
            Finding::Told => write!(f, "told by another"),
        }
    }
}

/// Checks one honest device's outcome and returns its strongest finding against the
/// culprit: it failed, named the culprit, and named no honest device as proven.
fn finding(device: usize, me: PeerId, culprit: PeerId, r: &Result<(), JobError>) -> Finding {
    let Err(e) = r else {
        panic!("honest device {device} completed a session the culprit broke")
    };
    let JobError::Run { blamed, .. } = e else {
        panic!("device {device}: not a run error: {e}")
    };
    for b in blamed {
        assert!(
            b.peer == culprit || b.evidence != Strength::Proven,
            "device {device} holds proof against honest {}: {e}",
            b.peer
        );
    }
    blamed
        .iter()
        .filter(|b| b.peer == culprit)
        .map(|b: &Blamed| match (&b.evidence, &b.fault) {
            (Strength::Proven, Some(f)) => Finding::Proven(f.name().into()),
            (Strength::Proven, None) => Finding::Proven("?".into()),
            (Strength::AccusedBy(by), Some(f)) if *by == me => Finding::Found(f.name().into()),
            (Strength::AccusedBy(by), None) if *by == me => Finding::Silent,
            _ => Finding::Told,
        })
        .min()
        .unwrap_or_else(|| panic!("device {device} did not name the culprit: {e}"))
}

/// The cell of a session: the strongest finding of any honest device.
fn cell<C: Ciphersuite>(
    committee: &Committee<C>,
    outcomes: &[(usize, Result<(), JobError>)],
) -> String {
    let culprit = committee.devices[CULPRIT].node().peer_id();
    outcomes
        .iter()
        .map(|(i, r)| finding(*i, committee.devices[*i].node().peer_id(), culprit, r))
        .min()
        .expect("honest devices")
        .to_string()
}

/// The table of docs/DESIGN.md §4.10: fault name → the cells of keygen, sign, reshare.
fn documented() -> HashMap<String, Vec<String>> {
    let design =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/DESIGN.md")).unwrap();
    let start = design
        .find("<!-- byzantine table -->")
        .expect("the byzantine table in DESIGN.md");
    design[start..]
        .lines()
        .skip(3)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cells: Vec<String> = l
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect();
            (cells[0].clone(), cells)
        })
        .collect()
}

/// Runs every fault of `proto` in suite C and compares the cells with the documented table.
async fn table<C: Ciphersuite>(proto: Proto)
where
    C::Point: Send,
{
    let mut c = Committee::<C>::new().await;
    // An honest session with the culprit first: the protocol works with it, and its messages
    // are what a replay sends.
    let key = c.keygen(&[0, 1, 2, 3]).await.unwrap();
    match proto {
        Proto::Keygen => {}
        Proto::Sign => c.sign(&key, &[0, 1, CULPRIT]).await.unwrap(),
        Proto::Reshare => c
            .reshare(&key, &[0, 1, CULPRIT], &[0, 1, 2, 3])
            .await
            .unwrap(),
    }
    let docs = documented();
    let mut column = Vec::new();
    let mut changed = Vec::new();
    for fault in FAULTS {
        let got = if fault.applies(proto) {
            run_cell(&mut c, proto, fault).await
        } else {
            "n/a".to_string()
        };
        let want = docs
            .get(fault.name())
            .and_then(|row| row.get(proto.column()))
            .cloned()
            .unwrap_or_default();
        if got != want {
            changed.push(format!(
                "{}: documented {want:?}, got {got:?}",
                fault.name()
            ));
        }
        column.push(format!("| {} | {got} |", fault.name()));
    }
    println!("{proto:?} in {}:\n{}", C::SUITE.name(), column.join("\n"));
    assert!(changed.is_empty(), "cells changed: {changed:#?}");
}

/// One faulty session and what must hold after it; returns the cell.
async fn run_cell<C: Ciphersuite>(c: &mut Committee<C>, proto: Proto, fault: Fault) -> String
where
    C::Point: Send,
{
    let keys_before: Vec<usize> = c.devices.iter().map(|d| d.key_count()).collect();
    match proto {
        Proto::Keygen => {
            let outcomes = c.faulty(proto, fault, None).await;
            let got = cell(c, &outcomes);
            for (d, before) in c.devices[..3].iter().zip(&keys_before) {
                assert_eq!(d.key_count(), *before, "{fault:?}: a key stayed");
            }
            c.keygen(&[0, 1, 2])
                .await
                .unwrap_or_else(|e| panic!("{fault:?}: the keygen without the culprit: {e}"));
            got
        }
        Proto::Sign => {
            let key = c.keygen(&[0, 1, 2, 3]).await.unwrap();
            let outcomes = c.faulty(proto, fault, Some(&key)).await;
            let got = cell(c, &outcomes);
            c.sign(&key, &[0, 1])
                .await
                .unwrap_or_else(|e| panic!("{fault:?}: signing without the culprit: {e}"));
            got
        }
        Proto::Reshare => {
            let key = c.keygen(&[0, 1, 2, 3]).await.unwrap();
            let outcomes = c.faulty(proto, fault, Some(&key)).await;
            let got = cell(c, &outcomes);
            for i in 0..3 {
                let share = c.devices[i].share(&key).expect("the old epoch is kept");
                assert_eq!(share.epoch(), 0, "{fault:?}: device {i} moved on");
            }
            c.sign(&key, &[0, 2])
                .await
                .unwrap_or_else(|e| panic!("{fault:?}: the old epoch does not sign: {e}"));
            // A device that confirmed before the abort keeps its staged epoch 1 (the
            // certificate might have completed elsewhere, design §3.3): its user abandons
            // it (`tessera keys resolve --abandon 1`) before the next reshare.
            for d in &c.devices[..3] {
                d.abandon_epoch(&[key], 1);
            }
            let committed = c.reshare(&key, &[0, 1], &[0, 1, 2]).await;
            committed.unwrap_or_else(|e| panic!("{fault:?}: the reshare without the culprit: {e}"));
            // Epoch 1 replaced the old epoch, whose key id no share holds any more.
            assert!(c.devices[0].share(&key).is_none());
            got
        }
    }
}

macro_rules! tables {
    ($($name:ident: $proto:expr, $suite:ty;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            table::<$suite>($proto).await;
        }
    )*};
}

tables! {
    keygen_ed25519: Proto::Keygen, Ed25519;
    keygen_secp256k1: Proto::Keygen, Secp256k1;
    keygen_taproot: Proto::Keygen, Taproot;
    sign_ed25519: Proto::Sign, Ed25519;
    sign_secp256k1: Proto::Sign, Secp256k1;
    sign_taproot: Proto::Sign, Taproot;
    reshare_ed25519: Proto::Reshare, Ed25519;
    reshare_secp256k1: Proto::Reshare, Secp256k1;
    reshare_taproot: Proto::Reshare, Taproot;
}
