//! Nodes that cannot dial each other reach each other through a relay node (design §4.11):
//! a node reserves a slot on the relay, a peer given only its circuit address connects
//! through the relay, and a session runs over that connection.

mod common;

use std::time::Duration;

use common::{node, quick_limits, Party};
use libp2p::multiaddr::Protocol;
use tessera_core::protocol::Kind;
use tessera_p2p::{
    accept_all, identities,
    relay_node::{RelayLimits, RelayNode},
    Draft, Link, Node, NodeConfig,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_runs_through_a_relay() {
    let (key, _) = identities(&[40; 32]).unwrap();
    let relay = RelayNode::start(
        key,
        &["/ip4/127.0.0.1/tcp/0".parse().unwrap()],
        RelayLimits::default(),
    )
    .await
    .unwrap();
    let at = relay.addresses()[0]
        .clone()
        .with(Protocol::P2p(relay.peer_id()));

    // a listens only through the relay (its own TCP listener is on a port nobody is told).
    let (keypair, _) = identities(&[41; 32]).unwrap();
    let mut config = NodeConfig::new(keypair, accept_all());
    config.limits = quick_limits();
    config.relay = Some(at);
    let a = Node::start(config).await.unwrap();
    let circuit = a
        .addresses()
        .iter()
        .find(|x| Link::of(x) == Link::Relayed)
        .cloned()
        .expect("a holds a reservation");

    let b = node(42, quick_limits()).await;
    b.allow(a.peer_id(), vec![circuit]);
    a.allow(b.peer_id(), Vec::new());
    b.connect(a.peer_id()).await.unwrap();
    let links = b.links().await;
    let to_a = links
        .iter()
        .find(|(p, _)| *p == a.peer_id())
        .expect("b is connected to a");
    assert!(to_a.1.contains(&Link::Relayed), "{links:?}");

    // A session proposed by b runs over the relayed connection.
    let draft = Draft {
        kind: Kind::Sign,
        params: b"through the relay".to_vec(),
        key_id: [0; 32],
        epoch: 0,
        roster: vec![b.peer_id(), a.peer_id()],
    };
    let (mut sb, mut sa) = tokio::join!(async { b.propose(draft).await.unwrap() }, async {
        tokio::time::timeout(Duration::from_secs(10), a.next_session())
            .await
            .unwrap()
            .unwrap()
    });
    let party = |s: &tessera_p2p::Session| Party {
        session: *s.id(),
        me: s.me(),
        parties: 2,
        speaks: true,
        wants: 1,
        got: Vec::new(),
    };
    let (pa, pb) = (party(&sa), party(&sb));
    let (ra, rb) = tokio::join!(tessera_p2p::run(pa, &mut sa), tessera_p2p::run(pb, &mut sb));
    assert_eq!(ra.unwrap()[0].0, 0, "a heard b");
    assert_eq!(rb.unwrap()[0].0, 1, "b heard a");
}
