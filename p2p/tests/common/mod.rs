//! Shared helpers for the mesh tests: devices on 127.0.0.1 that know each other, serve loops,
//! a standard verifier, and a raw libp2p peer that speaks `/tessera/mpc/1` byte by byte.
#![allow(dead_code)]

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
use libp2p::{
    noise,
    request_response::{self, ProtocolSupport},
    swarm::SwarmEvent,
    tcp, yamux, Multiaddr, PeerId, Swarm,
};
use tessera_core::{
    protocol::{Header, Kind, Outgoing, Recipient},
    Blame, Ciphersuite, Culprit, PartyIndex, Protocol, SessionId, Step, Suite,
};
use tessera_p2p::{
    accept_all,
    jobs::{identities, Device, JobError, Served},
    sign_acceptance, Frame, Frames, Keypair, Limits, Node, NodeConfig, Proposal, Request, Response,
    Signature, Start, PROTOCOL,
};
use tokio::sync::mpsc;
use zeroize::Zeroizing;

/// A device with identity seed `seed`.
pub async fn device<C: Ciphersuite>(seed: u8, limits: Limits) -> Arc<Device<C>> {
    let (keypair, identity) = identities(&[seed; 32]).unwrap();
    let mut config = NodeConfig::new(keypair, accept_all());
    config.limits = limits;
    Arc::new(Device::start(config, identity).await.unwrap())
}

/// Devices with seeds 1..=n; every one allows and knows the addresses of every other.
pub async fn cluster<C: Ciphersuite>(n: u8, limits: Limits) -> Vec<Arc<Device<C>>> {
    let mut devices = Vec::new();
    for seed in 1..=n {
        devices.push(device::<C>(seed, limits.clone()).await);
    }
    introduce(&devices);
    devices
}

/// Every device allows every other.
pub fn introduce<C: Ciphersuite>(devices: &[Arc<Device<C>>]) {
    for a in devices {
        for b in devices {
            if a.node().peer_id() != b.node().peer_id() {
                a.node()
                    .allow(b.node().peer_id(), b.node().addresses().to_vec());
            }
        }
    }
}

/// The PeerIds of some devices.
pub fn peers<C: Ciphersuite>(devices: &[&Arc<Device<C>>]) -> Vec<PeerId> {
    devices.iter().map(|d| d.node().peer_id()).collect()
}

/// What a serving device reported.
pub type Report<C> = (usize, Result<Served<C>, JobError>);

/// Runs a serve loop on each of `devices` (index i reported as `first + i`).
pub fn serve<C: Ciphersuite>(
    devices: &[Arc<Device<C>>],
    first: usize,
) -> mpsc::UnboundedReceiver<Report<C>>
where
    C::Point: Send,
{
    let (tx, rx) = mpsc::unbounded_channel();
    for (i, d) in devices.iter().enumerate() {
        let (d, tx) = (d.clone(), tx.clone());
        tokio::spawn(async move {
            while let Some(r) = d.serve_next().await {
                if tx.send((first + i, r)).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// The next `n` reports, waiting at most a minute for each.
pub async fn reports<C: Ciphersuite>(
    rx: &mut mpsc::UnboundedReceiver<Report<C>>,
    n: usize,
) -> Vec<Report<C>> {
    let mut out = Vec::new();
    for _ in 0..n {
        let r = tokio::time::timeout(Duration::from_secs(60), rx.recv())
            .await
            .expect("a report within a minute")
            .expect("serve loops running");
        out.push(r);
    }
    out.sort_by_key(|(i, _)| *i);
    out
}

/// Verifies with a verifier that is not tessera's own where one exists.
pub fn standard_verify(suite: Suite, key: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    match suite {
        Suite::Ed25519 => <[u8; 32]>::try_from(key)
            .ok()
            .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok())
            .zip(ed25519_dalek::Signature::from_slice(sig).ok())
            .is_some_and(|(k, s)| k.verify_strict(msg, &s).is_ok()),
        Suite::Taproot => k256::schnorr::VerifyingKey::from_slice(key)
            .ok()
            .zip(k256::schnorr::Signature::try_from(sig).ok())
            .is_some_and(|(k, s)| k.verify_raw(msg, &s).is_ok()),
        Suite::Secp256k1 => tessera_sign::verify_bytes(suite, key, msg, sig).is_ok(),
    }
}

/// A bare libp2p peer speaking `/tessera/mpc/1` with any bytes: the adversary of the tests.
pub struct RawPeer {
    pub swarm: Swarm<request_response::Behaviour<Frames>>,
}

impl RawPeer {
    /// A raw peer with identity seed `seed` whose codec sends frames up to `max` bytes.
    pub fn new(seed: u8, max: usize) -> Self {
        let (keypair, _) = identities(&[seed; 32]).unwrap();
        Self::with_keypair(keypair, max)
    }

    pub fn with_keypair(keypair: Keypair, max: usize) -> Self {
        let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
            .with_tokio()
            .with_tcp(
                tcp::Config::default(),
                noise::Config::new,
                yamux::Config::default,
            )
            .unwrap()
            .with_behaviour(|_| {
                request_response::Behaviour::with_codec(
                    Frames::new(max),
                    [(PROTOCOL, ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(5)),
                )
            })
            .unwrap()
            .build();
        Self { swarm }
    }

    pub fn peer_id(&self) -> PeerId {
        *self.swarm.local_peer_id()
    }

    /// Listens on 127.0.0.1 and returns the address.
    pub async fn listen(&mut self) -> Multiaddr {
        self.swarm
            .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
            .unwrap();
        loop {
            if let SwarmEvent::NewListenAddr { address, .. } = self.swarm.select_next_some().await {
                return address;
            }
        }
    }

    /// Answers every request with `answer(request)` on a task of its own (an undecodable
    /// request is rejected), until the test ends.
    pub fn serve(
        mut self,
        mut answer: impl FnMut(Request) -> Response + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                if let SwarmEvent::Behaviour(request_response::Event::Message {
                    message:
                        request_response::Message::Request {
                            request, channel, ..
                        },
                    ..
                }) = self.swarm.select_next_some().await
                {
                    let response = match request {
                        Frame::Bytes(b) => Request::decode(&b)
                            .map(&mut answer)
                            .unwrap_or(Response::Rejected("malformed".into())),
                        Frame::Oversized(_) => Response::Rejected("oversized".into()),
                    };
                    let _ = self
                        .swarm
                        .behaviour_mut()
                        .send_response(channel, response.encode());
                }
            }
        })
    }

    /// Sends `bytes` as one request to `peer` at `addr`; the response bytes, or the failure.
    pub async fn request(
        &mut self,
        peer: PeerId,
        addr: &Multiaddr,
        bytes: Vec<u8>,
    ) -> Result<Vec<u8>, String> {
        let mut answers = self.requests(peer, addr, vec![bytes]).await;
        answers.pop().unwrap_or(Err("no answer".into()))
    }

    /// Sends every request of `batch` to `peer` at `addr` at once; their answers in order,
    /// each the response bytes or the failure (none later than 10 s).
    pub async fn requests(
        &mut self,
        peer: PeerId,
        addr: &Multiaddr,
        batch: Vec<Vec<u8>>,
    ) -> Vec<Result<Vec<u8>, String>> {
        self.swarm.add_peer_address(peer, addr.clone());
        let ids: Vec<_> = batch
            .into_iter()
            .map(|bytes| {
                self.swarm
                    .behaviour_mut()
                    .send_request(&peer, Frame::Bytes(Zeroizing::new(bytes)))
            })
            .collect();
        let mut answers: Vec<Option<Result<Vec<u8>, String>>> = vec![None; ids.len()];
        let slot = |id| ids.iter().position(|i| *i == id);
        let deadline = tokio::time::sleep(Duration::from_secs(10));
        tokio::pin!(deadline);
        while answers.iter().any(Option::is_none) {
            tokio::select! {
                _ = &mut deadline => break,
                event = self.swarm.select_next_some() => match event {
                    SwarmEvent::Behaviour(request_response::Event::Message {
                        message: request_response::Message::Response { request_id, response },
                        ..
                    }) => {
                        if let Some(i) = slot(request_id) {
                            answers[i] = Some(Ok(response));
                        }
                    }
                    SwarmEvent::Behaviour(request_response::Event::OutboundFailure {
                        request_id, error, ..
                    }) => {
                        if let Some(i) = slot(request_id) {
                            answers[i] = Some(Err(error.to_string()));
                        }
                    }
                    SwarmEvent::Behaviour(request_response::Event::Message {
                        message: request_response::Message::Request { channel, .. },
                        ..
                    }) => {
                        let _ = self.swarm.behaviour_mut().send_response(
                            channel,
                            tessera_p2p::Response::Ack.encode(),
                        );
                    }
                    _ => {}
                },
            }
        }
        answers
            .into_iter()
            .map(|a| a.unwrap_or(Err("no answer in 10 s".into())))
            .collect()
    }
}

/// Limits with a short round deadline and few retries, for fault tests.
pub fn quick_limits() -> Limits {
    Limits {
        round_timeout: Duration::from_secs(3),
        request_timeout: Duration::from_secs(2),
        attempts: 3,
        ..Limits::default()
    }
}

/// The start that the initiator with identity seed `seed`, party 0 of `p`, signs with the
/// other parties' nonces and acceptances `rest` in roster order.
pub fn start_of(seed: u8, p: &Proposal, rest: &[([u8; 32], Signature)]) -> Start {
    let (_, signer) = identities(&[seed; 32]).unwrap();
    let digest = p.digest();
    let mut nonces = vec![p.nonce];
    let mut acceptances = vec![sign_acceptance(&signer, &digest, &p.nonce)];
    for (nonce, signature) in rest {
        nonces.push(*nonce);
        acceptances.push(*signature);
    }
    Start::new(&signer, digest, nonces, acceptances)
}

/// A bare node with identity seed `seed`.
pub async fn node(seed: u8, limits: Limits) -> Node {
    let (keypair, _) = identities(&[seed; 32]).unwrap();
    let mut config = NodeConfig::new(keypair, accept_all());
    config.limits = limits;
    Node::start(config).await.unwrap()
}

/// Sends `request` from `raw` to `node` and decodes the answer.
pub async fn ask(raw: &mut RawPeer, node: &Node, request: &Request) -> Result<Response, String> {
    raw.request(
        node.peer_id(),
        &node.addresses()[0],
        request.encode().to_vec(),
    )
    .await
    .map(|bytes| Response::decode(&bytes).unwrap())
}

/// A protocol message of a signing session: header, then `body`.
pub fn message(session: SessionId, round: u8, body: &[u8]) -> Request {
    let mut payload = Header {
        kind: Kind::Sign,
        session,
        round,
    }
    .encode();
    payload.extend_from_slice(body);
    Request::Message(payload.into())
}

/// The error of test protocols that never fail.
#[derive(Debug, thiserror::Error)]
#[error("never fails")]
pub struct Never;

impl Blame for Never {
    fn culprits(&self) -> &[Culprit] {
        &[]
    }
}

/// A party of a signing session for tests: if `speaks`, it sends one round-1 message to every
/// other party; it finishes once it holds `wants` messages, with (sender, round, body) of
/// each in the order they came.
pub struct Party {
    pub session: SessionId,
    pub me: PartyIndex,
    pub parties: u16,
    pub speaks: bool,
    pub wants: usize,
    pub got: Vec<(PartyIndex, u8, Vec<u8>)>,
}

impl Protocol for Party {
    type Output = Vec<(PartyIndex, u8, Vec<u8>)>;
    type Error = Never;
    fn kind(&self) -> Kind {
        Kind::Sign
    }
    fn session(&self) -> &SessionId {
        &self.session
    }
    fn me(&self) -> PartyIndex {
        self.me
    }
    fn parties(&self) -> u16 {
        self.parties
    }
    fn start(&mut self) -> Result<Vec<Outgoing>, Never> {
        let mut payload = Header {
            kind: Kind::Sign,
            session: self.session,
            round: 1,
        }
        .encode();
        payload.push(self.me as u8);
        let to = Recipient::All;
        Ok(self
            .speaks
            .then_some(Outgoing { to, payload })
            .into_iter()
            .collect())
    }
    fn receive(&mut self, from: PartyIndex, payload: &[u8]) -> Result<Step<Self::Output>, Never> {
        // The driver hands over only messages whose header decoded.
        let (header, body) = Header::decode(payload).unwrap();
        self.got.push((from, header.round, body.to_vec()));
        Ok(if self.got.len() == self.wants {
            Step::Done(Vec::new(), std::mem::take(&mut self.got))
        } else {
            Step::Continue(Vec::new())
        })
    }
}

/// A device with identity seed `seed` that keeps its shares in `store` before confirming.
pub async fn device_with_store<C: Ciphersuite>(
    seed: u8,
    limits: Limits,
    store: Arc<dyn tessera_p2p::jobs::ShareStore<C>>,
) -> Arc<Device<C>> {
    let (keypair, identity) = identities(&[seed; 32]).unwrap();
    let mut config = NodeConfig::new(keypair, accept_all());
    config.limits = limits;
    Arc::new(
        Device::start(config, identity)
            .await
            .unwrap()
            .with_store(store),
    )
}

/// Device `seed` takes the next session (a t-of-n keygen), runs the DKG with its own
/// protocol code and disappears before the certification: it never confirms.
pub fn dkg_then_quit<C: Ciphersuite>(
    device: Arc<Device<C>>,
    seed: u8,
    threshold: u16,
) -> tokio::task::JoinHandle<()> {
    use tessera_core::IdentitySigner;
    use tessera_keygen::dkg::{Dkg, DkgParams};
    tokio::spawn(async move {
        let mut session = device.node().next_session().await.unwrap();
        let (_, identity) = identities(&[seed; 32]).unwrap();
        let roster = session
            .roster()
            .iter()
            .map(|p| tessera_p2p::jobs::identity_of(p).unwrap())
            .collect();
        let params = DkgParams {
            session: *session.id(),
            threshold,
            roster,
        };
        assert!(params.roster.contains(&identity.identity()));
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let dkg = Dkg::<C>::new(params, session.me(), Arc::new(identity), &mut rng).unwrap();
        tessera_p2p::run(dkg, &mut session).await.unwrap();
        drop(session);
    })
}
