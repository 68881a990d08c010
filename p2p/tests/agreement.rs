//! Members agree on the session id or blame the initiator (design §4). Raw libp2p peers play
//! a cheating initiator, a member that signs two nonces for it, a member that lies about its
//! start, and a member that denies its own acceptance, against honest member nodes.

mod common;

use std::{sync::Arc, time::Duration};

use common::{ask, message, node, quick_limits, start_of, Party, RawPeer};
use tessera_core::protocol::Kind;
use tessera_p2p::{
    identities, sign_acceptance, Draft, Multiaddr, Node, PeerId, Proposal, Request, Response,
    Session, Signature, Stamp,
};
use tokio::sync::mpsc;

/// Seeds: the raw initiator, the honest members, a raw member.
const R: u8 = 1;
const M: u8 = 4;

/// Two member nodes (seeds 2 and 3) that know each other and allow `others`.
async fn members(others: &[(PeerId, Vec<Multiaddr>)]) -> (Node, Node) {
    let a = node(2, quick_limits()).await;
    let b = node(3, quick_limits()).await;
    a.allow(b.peer_id(), b.addresses().to_vec());
    b.allow(a.peer_id(), a.addresses().to_vec());
    for (peer, addresses) in others {
        a.allow(*peer, addresses.clone());
        b.allow(*peer, addresses.clone());
    }
    (a, b)
}

/// A raw member with identity seed `seed`, listening and answering every request with
/// `answer` until the test ends: its PeerId and address.
async fn raw_member(
    seed: u8,
    answer: impl FnMut(Request) -> Response + Send + 'static,
) -> (PeerId, Vec<Multiaddr>) {
    let mut raw = RawPeer::new(seed, 1 << 20);
    let address = raw.listen().await;
    let peer = raw.peer_id();
    raw.serve(answer);
    (peer, vec![address])
}

fn proposal(roster: Vec<PeerId>) -> Proposal {
    Proposal {
        draft: Draft {
            kind: Kind::Sign,
            params: b"agree".to_vec(),
            key_id: [0; 32],
            epoch: 0,
            roster,
        },
        nonce: [1; 32],
    }
}

/// The acceptance party `seed` signs of `p` with `nonce`.
fn acceptance(seed: u8, p: &Proposal, nonce: [u8; 32]) -> ([u8; 32], Signature) {
    let (_, signer) = identities(&[seed; 32]).unwrap();
    (nonce, sign_acceptance(&signer, &p.digest(), &nonce))
}

async fn accept(raw: &mut RawPeer, member: &Node, p: &Proposal) -> ([u8; 32], Signature) {
    match ask(raw, member, &Request::Propose(p.encode())).await {
        Ok(Response::Accepted { nonce, signature }) => (nonce, signature),
        other => panic!("the member accepts: {other:?}"),
    }
}

/// The member takes its session and runs a `parties`-party exchange to its end.
async fn run(member: &Node, parties: u16) -> Result<Vec<u16>, Vec<PeerId>> {
    let mut session = tokio::time::timeout(Duration::from_secs(10), member.next_session())
        .await
        .expect("a session within 10 s")
        .expect("node running");
    let run = tokio::time::timeout(
        Duration::from_secs(20),
        tessera_p2p::run(party(&session, parties), &mut session),
    )
    .await
    .expect("the run ends within 20 s");
    run.map(|got| got.iter().map(|(from, _, _)| *from).collect())
        .map_err(|e| e.blamed(&session).iter().map(|b| b.peer).collect())
}

/// A party that sends round 1 to every other party and finishes once it heard from each.
fn party(session: &Session, parties: u16) -> Party {
    Party {
        session: *session.id(),
        me: session.me(),
        parties,
        speaks: true,
        wants: usize::from(parties) - 1,
        got: Vec::new(),
    }
}

/// Both members run their session; each names `culprit` alone, and neither logs a drop
/// naming the other.
async fn both_name(a: &Node, b: &Node, parties: u16, culprit: PeerId) {
    let (by_a, by_b) = tokio::join!(run(a, parties), run(b, parties));
    assert_eq!(by_a, Err(vec![culprit]), "member a names {culprit}");
    assert_eq!(by_b, Err(vec![culprit]), "member b names {culprit}");
    for member in [a, b] {
        let named = named_in_drops(member).await;
        assert!(named.contains(&culprit), "{named:?}");
        assert!(!named.contains(&a.peer_id()) && !named.contains(&b.peer_id()));
    }
}

/// The initiator's round-1 message, so that only the members' agreement is in question
/// (a member that already failed the session says it ended).
async fn play_initiator(raw: &mut RawPeer, member: &Node, start: &tessera_p2p::Start) {
    let r = ask(raw, member, &message(start.session(), 1, &[0]))
        .await
        .unwrap();
    assert!(
        matches!(r, Response::Ack | Response::Buffered | Response::Ended),
        "{r:?}"
    );
}

async fn named_in_drops(node: &Node) -> Vec<PeerId> {
    node.dropped().await.into_iter().map(|d| d.peer).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initiator_that_hands_out_different_nonce_vectors_is_named_by_every_member() {
    let mut raw = RawPeer::new(R, 1 << 20);
    let (a, b) = members(&[(raw.peer_id(), Vec::new())]).await;
    let p = proposal(vec![raw.peer_id(), a.peer_id(), b.peer_id()]);
    let (na, sa) = accept(&mut raw, &a, &p).await;
    let (nb, sb) = accept(&mut raw, &b, &p).await;
    // Each member's own nonce and the initiator's are right; the other member's is not (and
    // the initiator cannot sign an acceptance of it in the other member's name).
    let for_a = start_of(R, &p, &[(na, sa), ([7; 32], sb)]);
    let for_b = start_of(R, &p, &[([8; 32], sa), (nb, sb)]);
    for (member, start) in [(&a, &for_a), (&b, &for_b)] {
        let r = ask(&mut raw, member, &Request::Start(start.clone())).await;
        assert!(matches!(r, Ok(Response::Refused(_))), "{r:?}");
    }
    both_name(&a, &b, 3, raw.peer_id()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_signed_starts_of_one_proposal_are_proof_against_the_initiator() {
    let mut raw = RawPeer::new(R, 1 << 20);
    // A member that signs two nonces for the initiator; it answers everything with an ack.
    let accomplice = raw_member(M, |_| Response::Ack).await;
    let m = accomplice.0;
    let (a, b) = members(&[(raw.peer_id(), Vec::new()), accomplice]).await;
    let p = proposal(vec![raw.peer_id(), a.peer_id(), b.peer_id(), m]);
    let ours = accept(&mut raw, &a, &p).await;
    let theirs = accept(&mut raw, &b, &p).await;
    let for_a = start_of(R, &p, &[ours, theirs, acceptance(M, &p, [5; 32])]);
    let for_b = start_of(R, &p, &[ours, theirs, acceptance(M, &p, [6; 32])]);
    assert_ne!(for_a.session(), for_b.session());
    for (member, start) in [(&a, &for_a), (&b, &for_b)] {
        let r = ask(&mut raw, member, &Request::Start(start.clone())).await;
        assert_eq!(r, Ok(Response::Ack));
        play_initiator(&mut raw, member, start).await;
    }
    both_name(&a, &b, 4, raw.peer_id()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_lying_about_its_start_is_named_and_the_initiator_is_not() {
    // The liar: one identity, two swarms (one serves the initiator, one sends the lie).
    let mut liar = RawPeer::new(M, 1 << 20);
    let (starts, mut started) = mpsc::unbounded_channel();
    let (_, m_signer) = identities(&[M; 32]).unwrap();
    let server = raw_member(M, move |request| match request {
        Request::Propose(bytes) => {
            let p = Proposal::decode(&bytes).unwrap();
            let signature = sign_acceptance(&m_signer, &p.digest(), &[9; 32]);
            Response::Accepted {
                nonce: [9; 32],
                signature,
            }
        }
        Request::Start(start) => {
            let _ = starts.send(start);
            Response::Ack
        }
        _ => Response::Ack,
    })
    .await;
    let m = server.0;
    let (a, b) = members(&[server]).await;
    let (a, b) = (Arc::new(a), Arc::new(b));
    let draft = proposal(vec![a.peer_id(), b.peer_id(), m]).draft;
    let initiator = a.clone();
    let proposing = tokio::spawn(async move {
        let mut session = initiator.propose(draft).await.unwrap();
        let out = tessera_p2p::run(party(&session, 3), &mut session).await;
        out.map_err(|e| {
            e.blamed(&session)
                .iter()
                .map(|b| b.peer)
                .collect::<Vec<_>>()
        })
    });
    let start = tokio::time::timeout(Duration::from_secs(10), started.recv())
        .await
        .unwrap()
        .unwrap();
    // It tells b it runs another session id, with a signature the initiator never made.
    let mut lie = start.stamp();
    lie.session[0] ^= 1;
    let r = ask(&mut liar, &b, &Request::Confirm(lie)).await.unwrap();
    assert!(
        matches!(r, Response::Rejected(_) | Response::Buffered),
        "{r:?}"
    );
    // A stamp of another proposal (a replay) is refused as unknown, blaming nobody.
    let replay = Stamp {
        digest: [3; 32],
        ..start.stamp()
    };
    let r = ask(&mut liar, &b, &Request::Confirm(replay)).await.unwrap();
    assert_eq!(r, Response::UnknownSession);
    let by_b = run(&b, 3).await;
    assert_eq!(by_b, Err(vec![m]), "b names the liar only");
    let by_a = tokio::time::timeout(Duration::from_secs(20), proposing)
        .await
        .unwrap()
        .unwrap();
    let blamed_by_a = by_a.expect_err("the session cannot complete");
    assert!(!blamed_by_a.contains(&a.peer_id()) && !blamed_by_a.contains(&b.peer_id()));
    let named = named_in_drops(&b).await;
    assert!(
        named.contains(&m) && !named.contains(&a.peer_id()),
        "{named:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_denying_its_signed_acceptance_is_named() {
    let mut raw = RawPeer::new(R, 1 << 20);
    let denier = raw_member(M, |request| match request {
        Request::Confirm(_) => Response::UnknownSession,
        _ => Response::Ack,
    })
    .await;
    let m = denier.0;
    let (a, _b) = members(&[(raw.peer_id(), Vec::new()), denier]).await;
    let p = proposal(vec![raw.peer_id(), a.peer_id(), m]);
    let ours = accept(&mut raw, &a, &p).await;
    let start = start_of(R, &p, &[ours, acceptance(M, &p, [5; 32])]);
    let r = ask(&mut raw, &a, &Request::Start(start.clone())).await;
    assert_eq!(r, Ok(Response::Ack));
    assert_eq!(run(&a, 3).await, Err(vec![m]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_withheld_from_a_member_is_passed_on_and_the_session_runs() {
    let mut raw = RawPeer::new(R, 1 << 20);
    let (a, b) = members(&[(raw.peer_id(), Vec::new())]).await;
    let p = proposal(vec![raw.peer_id(), a.peer_id(), b.peer_id()]);
    let ours = accept(&mut raw, &a, &p).await;
    let theirs = accept(&mut raw, &b, &p).await;
    let start = start_of(R, &p, &[ours, theirs]);
    // Only a gets the start; b hears of it from a, half a round deadline later.
    assert_eq!(
        ask(&mut raw, &a, &Request::Start(start.clone())).await,
        Ok(Response::Ack)
    );
    for member in [&a, &b] {
        play_initiator(&mut raw, member, &start).await;
    }
    let (by_a, by_b) = tokio::join!(run(&a, 3), run(&b, 3));
    assert_eq!(by_a, Ok(vec![0, 2]));
    assert_eq!(by_b, Ok(vec![0, 1]));
}
