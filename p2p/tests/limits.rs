//! Bounds against a peer that speaks the protocol byte by byte: oversized and malformed
//! frames, proposal rate, session count, early buffering, per-session messages, conflicting
//! repeats kept as evidence, and a session id replayed after a restart. Nothing panics,
//! every drop names the peer.

mod common;

use std::{sync::Arc, time::Duration};

use common::{ask, message, start_of, Party, RawPeer};
use tessera_core::{protocol::Kind, SessionId};
use tessera_p2p::{Draft, Limits, Node, Proposal, Request, Response};

async fn node(limits: Limits) -> Node {
    common::node(1, limits).await
}

/// A node with `limits` and a raw peer (seed 2) it allows.
async fn node_and_raw(limits: Limits) -> (Node, RawPeer) {
    let node = node(limits).await;
    let raw = raw_for(&node, 2);
    (node, raw)
}

/// A raw peer the node allows.
fn raw_for(node: &Node, seed: u8) -> RawPeer {
    let raw = RawPeer::new(seed, 1 << 20);
    node.allow(raw.peer_id(), Vec::new());
    raw
}

fn proposal(raw: &RawPeer, node: &Node, tag: u8) -> Proposal {
    Proposal {
        draft: Draft {
            kind: Kind::Sign,
            params: vec![tag],
            key_id: [0; 32],
            epoch: 0,
            roster: vec![raw.peer_id(), node.peer_id()],
        },
        nonce: [tag; 32],
    }
}

/// The raw peer proposes session `tag` to the node and returns the start request that would
/// start it (not sent) and the session id it names.
async fn accepted(raw: &mut RawPeer, node: &Node, tag: u8) -> (Request, SessionId) {
    let p = proposal(raw, node, tag);
    let Response::Accepted { nonce, signature } =
        ask(raw, node, &Request::Propose(p.encode())).await.unwrap()
    else {
        panic!("the node accepts")
    };
    let start = start_of(2, &p, &[(nonce, signature)]);
    (Request::Start(start.clone()), start.session())
}

/// Asks until `done` holds for the answer, for a second at most; the last answer.
async fn ask_until(
    raw: &mut RawPeer,
    node: &Node,
    request: &Request,
    done: impl Fn(&Response) -> bool,
) -> Response {
    for _ in 0..50 {
        let answer = ask(raw, node, request).await.unwrap();
        if done(&answer) {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    ask(raw, node, request).await.unwrap()
}

/// `accepted`, and the node acknowledges the start.
async fn started(raw: &mut RawPeer, node: &Node, tag: u8) -> (Request, SessionId) {
    let (start, id) = accepted(raw, node, tag).await;
    assert_eq!(ask(raw, node, &start).await.unwrap(), Response::Ack);
    (start, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_frames_are_dropped_naming_the_peer() {
    let (node, mut raw) = node_and_raw(Limits {
        max_message: 1 << 16,
        ..Limits::default()
    })
    .await;
    let huge = vec![3u8; 1 << 17];
    let sent = raw
        .request(node.peer_id(), &node.addresses()[0], huge)
        .await;
    let refused = Response::decode(&sent.unwrap()).unwrap();
    assert_eq!(
        refused,
        Response::Rejected("frame over the size limit".into())
    );
    let garbage = raw
        .request(node.peer_id(), &node.addresses()[0], vec![0xff; 10])
        .await
        .unwrap();
    assert!(matches!(
        Response::decode(&garbage).unwrap(),
        Response::Rejected(_)
    ));
    let short = raw
        .request(node.peer_id(), &node.addresses()[0], vec![3, 1, 2])
        .await
        .unwrap();
    assert!(matches!(
        Response::decode(&short).unwrap(),
        Response::Rejected(_)
    ));
    let dropped = node.dropped().await;
    assert_eq!(dropped.len(), 3, "{dropped:?}");
    assert!(dropped.iter().all(|d| d.peer == raw.peer_id()));
    assert!(dropped[0].reason.contains("limit"), "{dropped:?}");
    // The node still serves: a message for a session it does not know is answered so.
    let r = ask(&mut raw, &node, &message([7; 32], 1, b"x"))
        .await
        .unwrap();
    assert_eq!(r, Response::UnknownSession);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proposals_are_rate_limited_and_sessions_bounded() {
    let (node, mut raw) = node_and_raw(Limits {
        proposals_per_minute: 5,
        max_sessions: 3,
        ..Limits::default()
    })
    .await;
    let mut answers = Vec::new();
    for tag in 0..6 {
        let p = proposal(&raw, &node, tag);
        answers.push(
            ask(&mut raw, &node, &Request::Propose(p.encode()))
                .await
                .unwrap(),
        );
    }
    assert!(answers[..3]
        .iter()
        .all(|a| matches!(a, Response::Accepted { .. })));
    assert_eq!(answers[3], Response::Refused("busy".into()));
    assert_eq!(answers[4], Response::Refused("busy".into()));
    assert_eq!(answers[5], Response::Refused("too many proposals".into()));
    // A proposal naming a peer the node does not know is refused.
    let mut p = proposal(&raw, &node, 9);
    p.draft.roster.push(RawPeer::new(3, 1).peer_id());
    let mut other = raw_for(&node, 4);
    let a = ask(&mut other, &node, &Request::Propose(p.encode()))
        .await
        .unwrap();
    assert!(matches!(a, Response::Refused(_)), "{a:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn early_messages_are_held_only_for_accepted_sessions_and_bounded() {
    let (node, mut raw) = node_and_raw(Limits {
        max_early: 4,
        ..Limits::default()
    })
    .await;
    // Nothing accepted yet: nothing is held.
    let r = ask(&mut raw, &node, &message([1; 32], 1, b"a"))
        .await
        .unwrap();
    assert_eq!(r, Response::UnknownSession);
    let p = proposal(&raw, &node, 1);
    let a = ask(&mut raw, &node, &Request::Propose(p.encode()))
        .await
        .unwrap();
    assert!(matches!(a, Response::Accepted { .. }));
    for i in 0..4 {
        let r = ask(&mut raw, &node, &message([i; 32], 1, b"a"))
            .await
            .unwrap();
        assert_eq!(r, Response::Buffered);
    }
    // Over the bound, or a later round: not held, the sender is told to try again later.
    let r = ask(&mut raw, &node, &message([9; 32], 1, b"a"))
        .await
        .unwrap();
    assert_eq!(r, Response::Later, "over the bound");
    let r = ask(&mut raw, &node, &message([10; 32], 2, b"a"))
        .await
        .unwrap();
    assert_eq!(r, Response::Later, "round 2 is not held");
    assert!(node.dropped().await.iter().all(|d| d.peer == raw.peer_id()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_are_duplicates_or_evidence_and_messages_per_peer_are_bounded() {
    let node = Arc::new(
        node(Limits {
            max_messages_per_peer: 3,
            ..Limits::default()
        })
        .await,
    );
    let mut raw = raw_for(&node, 2);
    let p = proposal(&raw, &node, 1);
    let acceptance = ask(&mut raw, &node, &Request::Propose(p.encode()))
        .await
        .unwrap();
    let Response::Accepted { nonce, signature } = acceptance else {
        panic!("accepted")
    };
    let signed = start_of(2, &p, &[(nonce, signature)]);
    let start = Request::Start(signed.clone());
    // A retried proposal (its answer lost) gets the same nonce and signature.
    assert_eq!(
        ask(&mut raw, &node, &Request::Propose(p.encode()))
            .await
            .unwrap(),
        acceptance
    );
    assert_eq!(ask(&mut raw, &node, &start).await.unwrap(), Response::Ack);
    // A repeated start is acknowledged again but starts nothing new; a repeated proposal
    // is refused once started.
    assert_eq!(ask(&mut raw, &node, &start).await.unwrap(), Response::Ack);
    assert!(matches!(
        ask(&mut raw, &node, &Request::Propose(p.encode()))
            .await
            .unwrap(),
        Response::Refused(_)
    ));
    let mut session = node.next_session().await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(200), node.next_session())
            .await
            .is_err(),
        "one session, however often it is started"
    );
    let id = *session.id();
    assert_eq!(id, tessera_p2p::session_id(&p.digest(), &[p.nonce, nonce]));
    assert_eq!(id, signed.session());
    let runner = tokio::spawn(async move {
        // It takes messages of rounds 1 to 3 and then finishes with what it got.
        let party = Party {
            session: id,
            me: 1,
            parties: 2,
            speaks: false,
            wants: 3,
            got: Vec::new(),
        };
        let out = tessera_p2p::run(party, &mut session).await;
        (out.map_err(|e| e.to_string()), session)
    });
    let a = message(id, 1, b"first");
    assert_eq!(ask(&mut raw, &node, &a).await.unwrap(), Response::Ack);
    assert_eq!(ask(&mut raw, &node, &a).await.unwrap(), Response::Duplicate);
    let b = message(id, 1, b"second");
    assert_eq!(ask(&mut raw, &node, &b).await.unwrap(), Response::Duplicate);
    assert_eq!(
        ask(&mut raw, &node, &message(id, 2, b"r2")).await.unwrap(),
        Response::Ack
    );
    assert_eq!(
        ask(&mut raw, &node, &message(id, 3, b"r3")).await.unwrap(),
        Response::Ack
    );
    let (out, session) = tokio::time::timeout(Duration::from_secs(10), runner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        out.unwrap(),
        vec![
            (0, 1, b"first".to_vec()),
            (0, 2, b"r2".to_vec()),
            (0, 3, b"r3".to_vec())
        ]
    );
    let conflicts = session.conflicts();
    assert_eq!(conflicts.len(), 1);
    assert_eq!((conflicts[0].from, conflicts[0].header.round), (0, 1));
    assert!(conflicts[0].second.ends_with(b"second"));
    drop(session);
    // Over the per-session bound (the session has ended here by now, so use a fresh one).
    let (_, id) = started(&mut raw, &node, 2).await;
    let _session = node.next_session().await.unwrap();
    for round in 1..=3 {
        let r = ask(&mut raw, &node, &message(id, round, b"m"))
            .await
            .unwrap();
        assert_eq!(r, Response::Ack);
    }
    let r = ask(&mut raw, &node, &message(id, 4, b"m")).await.unwrap();
    assert!(matches!(r, Response::Rejected(_)), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_nobody_takes_up_is_aborted_and_frees_its_slot() {
    let (node, mut raw) = node_and_raw(Limits {
        proposal_ttl: Duration::from_secs(1),
        max_sessions: 1,
        ..Limits::default()
    })
    .await;
    let (_, id) = started(&mut raw, &node, 1).await;
    // The one slot is taken: another proposal is refused.
    let second = Request::Propose(proposal(&raw, &node, 2).encode());
    let busy = ask(&mut raw, &node, &second).await.unwrap();
    assert_eq!(busy, Response::Refused("busy".into()));
    // Nobody calls `next_session`; after the time-to-live the node aborts the session.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let r = ask(&mut raw, &node, &message(id, 1, b"late"))
        .await
        .unwrap();
    assert_eq!(r, Response::Ended);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), node.next_session())
            .await
            .is_err(),
        "the aborted session is not handed out"
    );
    let third = Request::Propose(proposal(&raw, &node, 3).encode());
    let again = ask(&mut raw, &node, &third).await.unwrap();
    assert!(matches!(again, Response::Accepted { .. }), "{again:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_over_its_byte_budget_answers_later_until_its_protocol_takes_the_messages() {
    // Two messages of 334 bytes (and 128 of bookkeeping each) fit, a third does not.
    let (node, mut raw) = node_and_raw(Limits {
        max_session_bytes: 1000,
        ..Limits::default()
    })
    .await;
    let (_, id) = started(&mut raw, &node, 1).await;
    let body = [7u8; 300];
    for round in 1..=2 {
        let r = ask(&mut raw, &node, &message(id, round, &body)).await;
        assert_eq!(r.unwrap(), Response::Ack);
    }
    let third = message(id, 3, &body);
    assert_eq!(ask(&mut raw, &node, &third).await.unwrap(), Response::Later);
    assert_eq!(node.held_bytes(), 2 * (334 + 128));
    assert!(node.dropped().await.iter().any(|d| d.peer == raw.peer_id()));
    // The protocol takes the two, which frees the budget; the third, sent again, is new.
    let mut session = node.next_session().await.unwrap();
    let runner = tokio::spawn(async move {
        let party = Party {
            session: id,
            me: 1,
            parties: 2,
            speaks: false,
            wants: 3,
            got: Vec::new(),
        };
        tessera_p2p::run(party, &mut session)
            .await
            .map(|got| got.len())
    });
    let answer = ask_until(&mut raw, &node, &third, |a| *a != Response::Later).await;
    assert_eq!(answer, Response::Ack);
    let got = tokio::time::timeout(Duration::from_secs(10), runner)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.ok(), Some(3));
    assert_eq!(node.held_bytes(), 0, "every byte is given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_peer_holds_at_most_its_sessions_and_an_ended_one_frees_its_slot() {
    let (node, mut raw) = node_and_raw(Limits {
        max_sessions_per_peer: 2,
        ..Limits::default()
    })
    .await;
    let (first, _) = started(&mut raw, &node, 1).await;
    started(&mut raw, &node, 2).await;
    let third = Request::Propose(proposal(&raw, &node, 3).encode());
    let refused = ask(&mut raw, &node, &third).await.unwrap();
    assert_eq!(
        refused,
        Response::Refused("too many sessions from this peer".into())
    );
    // The application takes both and ends the first: its slot is free again, and a late
    // retry of its start is acknowledged without starting anything.
    let one = node.next_session().await.unwrap();
    let _two = node.next_session().await.unwrap();
    drop(one);
    let accepted = |a: &Response| matches!(a, Response::Accepted { .. });
    let again = ask_until(&mut raw, &node, &third, accepted).await;
    assert!(accepted(&again), "{again:?}");
    assert_eq!(ask(&mut raw, &node, &first).await.unwrap(), Response::Ack);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), node.next_session())
            .await
            .is_err(),
        "no session starts again"
    );
}

/// Questions outside any session (design §6.3, §7.2): a node answers from its application's
/// answerer, refuses what it has no answer to, and limits each peer's questions like its
/// proposals; a node with no answerer refuses them all; `Node::ask` returns the answer.
#[tokio::test]
async fn questions_are_answered_refused_and_rate_limited() {
    let limits = Limits {
        proposals_per_minute: 3,
        ..common::quick_limits()
    };
    let (keypair, _) = tessera_p2p::identities(&[1; 32]).unwrap();
    let mut config = tessera_p2p::NodeConfig::new(keypair, tessera_p2p::accept_all());
    config.limits = limits.clone();
    config.answers = Some(Arc::new(|_, q: &[u8]| {
        (q == b"known").then(|| b"yes".to_vec())
    }));
    let answering = Node::start(config).await.unwrap();
    let mut raw = raw_for(&answering, 2);
    let known = Request::Ask(b"known".to_vec());
    assert_eq!(
        ask(&mut raw, &answering, &known).await.unwrap(),
        Response::Answer(b"yes".to_vec())
    );
    assert!(matches!(
        ask(&mut raw, &answering, &Request::Ask(b"other".to_vec()))
            .await
            .unwrap(),
        Response::Refused(_)
    ));
    assert_eq!(
        ask(&mut raw, &answering, &known).await.unwrap(),
        Response::Answer(b"yes".to_vec())
    );
    // The fourth question within the minute is over the peer's rate.
    assert!(matches!(
        ask(&mut raw, &answering, &known).await.unwrap(),
        Response::Refused(r) if r.contains("too many")
    ));
    // A node without an answerer has nothing to say; Node::ask reports answers and refusals.
    let silent = common::node(3, limits).await;
    let mut raw = raw_for(&silent, 4);
    assert!(matches!(
        ask(&mut raw, &silent, &known).await.unwrap(),
        Response::Refused(_)
    ));
    silent.allow(answering.peer_id(), answering.addresses().to_vec());
    answering.allow(silent.peer_id(), silent.addresses().to_vec());
    assert_eq!(
        silent
            .ask(answering.peer_id(), b"known".to_vec())
            .await
            .unwrap(),
        Some(b"yes".to_vec())
    );
    assert_eq!(
        silent
            .ask(answering.peer_id(), b"x".to_vec())
            .await
            .unwrap(),
        None
    );
}

/// A peer that was down while this node kept failing to dial it is reached again at the
/// address it was admitted with once it is back (the swarm may forget addresses that failed).
#[tokio::test]
async fn a_peer_down_for_a_while_is_reached_again() {
    let limits = common::quick_limits();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let at: tessera_p2p::Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap();
    let start_b = || async {
        let (keypair, _) = tessera_p2p::identities(&[2; 32]).unwrap();
        let mut config = tessera_p2p::NodeConfig::new(keypair, tessera_p2p::accept_all());
        config.limits = limits.clone();
        config.listen = vec![at.clone()];
        Node::start(config).await.unwrap()
    };
    let a = common::node(1, limits.clone()).await;
    let b = start_b().await;
    a.allow(b.peer_id(), vec![at.clone()]);
    b.allow(a.peer_id(), Vec::new());
    assert_eq!(a.ask(b.peer_id(), b"q".to_vec()).await.unwrap(), None);
    let id = b.peer_id();
    drop(b);
    tokio::time::sleep(Duration::from_millis(200)).await;
    for _ in 0..3 {
        assert!(a.ask(id, b"q".to_vec()).await.is_err(), "b is down");
    }
    let b = start_b().await;
    b.allow(a.peer_id(), Vec::new());
    assert_eq!(a.ask(id, b"q".to_vec()).await.unwrap(), None, "b is back");
}

/// A session id runs once, also across a restart (design §4.2): a node whose seen-session
/// store is a file starts a session, ends it, and restarts on the same file; the replayed
/// proposal and start start nothing, and a message of the ended session reaches no protocol.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_id_runs_once_also_after_a_restart() {
    use tessera_p2p::{identities, FileSeen, NodeConfig};

    let dir = std::env::temp_dir().join(format!("tessera-seen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let seen = dir.join("seen");
    let start_node = |seen: std::path::PathBuf| async move {
        let (keypair, _) = identities(&[1; 32]).unwrap();
        let mut config = NodeConfig::new(keypair, tessera_p2p::accept_all());
        config.seen = Box::new(FileSeen::open(&seen).unwrap());
        Node::start(config).await.unwrap()
    };
    let node = start_node(seen.clone()).await;
    let mut raw = raw_for(&node, 2);
    let p = proposal(&raw, &node, 7);
    let (start, id) = started(&mut raw, &node, 7).await;
    let session = node.next_session().await.unwrap();
    assert_eq!(session.id(), &id);
    drop(session);
    // A message of the ended session reaches no protocol.
    let late = message(id, 1, b"late");
    assert_eq!(ask(&mut raw, &node, &late).await.unwrap(), Response::Ended);
    drop(node);

    let node = start_node(seen).await;
    let mut raw = raw_for(&node, 2);
    // The same proposal (same nonce) and its recorded start: no session starts.
    // The proposal itself is new to the node (it accepts with a fresh nonce of its own);
    // the start it had recorded is refused, and the late message is at most held for a
    // session that can no longer start.
    let _ = ask(&mut raw, &node, &Request::Propose(p.encode())).await;
    assert_eq!(
        ask(&mut raw, &node, &start).await.unwrap(),
        Response::Refused("session already started".into())
    );
    assert!(matches!(
        ask(&mut raw, &node, &late).await.unwrap(),
        Response::Buffered | Response::UnknownSession | Response::Ended
    ));
    assert!(
        tokio::time::timeout(Duration::from_millis(500), node.next_session())
            .await
            .is_err(),
        "a recorded session id starts nothing after a restart"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
