//! Watching a node (design §6.3): `tessera node --metrics` serves Prometheus metrics whose
//! session counters, round latencies and peer gauges move when the node signs, and
//! `tessera status --json` tells its addresses, peers, pending epochs and last failures.

mod common;

use std::{
    io::{Read, Write},
    net::TcpStream,
};

use common::homes::{decide, free_port, json, run, sign_in_background, NodeProcess, World};

/// GET /metrics at `at`: the body.
fn scrape(at: &str) -> String {
    let mut s = TcpStream::connect(at).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    answer.split("\r\n\r\n").nth(1).unwrap().to_string()
}

/// The sum of the samples of `name` whose labels contain every one of `labels`.
fn sample(body: &str, name: &str, labels: &[&str]) -> f64 {
    body.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with(['{', ' ']))
        .filter(|l| labels.iter().all(|want| l.contains(want)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn metrics_move_when_the_node_signs_and_status_tells_its_state() {
    let w = World::new("watch");
    let _b = NodeProcess::start(&w.home("b"));
    let _c = NodeProcess::start(&w.home("c"));
    w.keygen("vault", "ed25519");
    std::fs::write(
        w.home("b").join("policy.json"),
        r#"{"sign": {"keys": ["vault"]}}"#,
    )
    .unwrap();
    drop(_b);
    let _b = NodeProcess::start(&w.home("b"));
    let at = format!("127.0.0.1:{}", free_port());
    let _a = NodeProcess::start_extra(&w.home("a"), &["--metrics", &at]);

    let before = scrape(&at);
    let sign = r#"protocol="sign""#;
    for i in 0..3 {
        let (code, _, err) = run(
            &w.home("a"),
            &[
                "--json",
                "sign",
                "--key",
                "vault",
                "--message",
                &format!("0{i}"),
                "--signers",
                "b",
            ],
        );
        assert_eq!(code, 0, "{err}");
    }
    let after = scrape(&at);
    let moved =
        |name: &str, labels: &[&str]| sample(&after, name, labels) - sample(&before, name, labels);
    assert_eq!(
        moved("tessera_sessions_started_total", &[sign]),
        3.0,
        "{after}"
    );
    assert_eq!(
        moved("tessera_sessions_completed_total", &[sign]),
        3.0,
        "{after}"
    );
    // b's round-1 and round-2 messages of each session, timed.
    assert_eq!(
        moved("tessera_round_seconds_count", &[sign, r#"round="1""#]),
        3.0,
        "{after}"
    );
    assert_eq!(
        moved("tessera_round_seconds_count", &[sign, r#"round="2""#]),
        3.0,
        "{after}"
    );
    assert!(
        sample(&after, "tessera_connected_peers", &[r#"transport="tcp""#]) >= 1.0,
        "{after}"
    );
    assert_eq!(sample(&after, "tessera_proposals_waiting", &[]), 0.0);

    // A signature c's person refuses: status shows it as the key's last failure.
    let refused = sign_in_background(&w.home("a"), "vault", "ff", &["c"]);
    decide(&w.home("c"), false);
    let (code, _, err) = refused.join().unwrap();
    assert_ne!(code, 0, "c refused: {err}");

    let status = json(&w.home("a"), &["status"]);
    let failure = &status["last_failures"][0];
    assert_eq!(failure["key"], "vault", "{status}");
    assert!(
        failure["result"].as_str().unwrap().contains("refused"),
        "{status}"
    );
    assert_eq!(
        status["peer_id"],
        json(&w.home("a"), &["peers", "list"])["me"]
            .as_str()
            .unwrap()
            .split(':')
            .nth(2)
            .unwrap()
    );
    let peers = status["peers"].as_array().unwrap();
    assert!(
        peers
            .iter()
            .any(|p| p["name"] == "b" && p["connected"] == true),
        "{status}"
    );
    assert!(
        !status["addresses"]["direct"].as_array().unwrap().is_empty(),
        "{status}"
    );
    assert!(status["pending"].as_array().unwrap().is_empty(), "{status}");
    assert!(status["waiting"].as_array().unwrap().is_empty(), "{status}");
}
