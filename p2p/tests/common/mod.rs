//! Shared helpers for the p2p tests: bare nodes, requests, and a test protocol; the raw
//! peer lives in `tessera_p2p::testing`.
#![allow(dead_code)]

use tessera_core::{
    protocol::{Header, Kind, Outgoing, Recipient},
    Blame, Culprit, PartyIndex, Protocol, SessionId, Step,
};
use tessera_p2p::{accept_all, identities, Limits, Node, NodeConfig, Request, Response};

#[allow(unused_imports)]
pub use tessera_p2p::testing::{quick_limits, start_of, RawPeer};

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
