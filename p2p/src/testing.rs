//! Test support (feature `testing`): a bare libp2p peer that speaks `/tessera/mpc/2` with
//! any bytes (the adversary of the mesh tests), bounded test limits, and a signed start for a
//! raw initiator. Not for production use.
#![allow(missing_docs)]

use std::time::Duration;

use futures::StreamExt;
use libp2p::{
    noise,
    request_response::{self, ProtocolSupport},
    swarm::SwarmEvent,
    tcp, yamux, Multiaddr, PeerId, Swarm,
};
use zeroize::Zeroizing;

use crate::{
    identities, sign_acceptance, Frame, Frames, Keypair, Limits, Proposal, Request, Response,
    Signature, Start, PROTOCOL,
};

/// A bare libp2p peer speaking `/tessera/mpc/2` with any bytes: the adversary of the tests.
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
                            Response::Ack.encode(),
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
