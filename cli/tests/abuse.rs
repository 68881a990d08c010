//! The device under abuse, through the command line (design §6.3): a local process flooding
//! a node's control socket holds at most the socket's bounds of the node's memory, is told
//! "busy" beyond its connections, and does not stop the node from signing with a peer; a
//! committee member flooding it with proposals through its own command line meets the
//! session and approval bounds while another member signs.

mod common;

use std::{
    io::{BufRead, BufReader, Write},
    os::unix::net::UnixStream,
    time::Duration,
};

use common::homes::{json, run, NodeProcess, World};

/// The resident memory of process `pid`, in bytes.
fn resident(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kib: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib << 10
}

#[test]
fn a_control_socket_flood_stays_bounded_while_a_peer_signs() {
    let w = World::new("abuse-control");
    let _c = NodeProcess::start(&w.home("c"));
    let _b = NodeProcess::start(&w.home("b"));
    w.keygen("vault", "ed25519");
    std::fs::write(
        w.home("a").join("policy.json"),
        r#"{"sign": {"keys": ["vault"]}}"#,
    )
    .unwrap();
    let a = NodeProcess::start(&w.home("a"));
    let pid = a.0.id();
    let before = resident(pid);

    // 300 local connections, each sending 512 KiB of a request line that never ends, held
    // open: without bounds, 150 MiB of the node's memory.
    let socket = w.home("a").join("control.sock");
    let line = vec![b'x'; 512 << 10];
    let mut held = Vec::new();
    for _ in 0..300 {
        let Ok(mut s) = UnixStream::connect(&socket) else {
            continue;
        };
        s.set_write_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let _ = s.write_all(&line);
        held.push(s);
    }
    let mut peak = resident(pid);

    // Meanwhile b signs with a, which approves by its policy.
    let (code, _, err) = run(
        &w.home("b"),
        &[
            "--json",
            "sign",
            "--key",
            "vault",
            "--message",
            "00",
            "--signers",
            "a",
        ],
    );
    assert_eq!(code, 0, "a signs while flooded: {err}");
    peak = peak.max(resident(pid));
    assert!(
        peak < before + (80 << 20),
        "the node grew from {before} to {peak} bytes"
    );

    // A connection beyond the served ones is told the node is busy.
    let last = held.last_mut().unwrap();
    last.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut answer = String::new();
    let _ = BufReader::new(last).read_line(&mut answer);
    assert!(answer.contains("busy"), "{answer:?}");

    // Once the flood ends, the socket serves again.
    drop(held);
    std::thread::sleep(Duration::from_millis(500));
    let list = json(&w.home("a"), &["approve", "--list"]);
    assert!(list["waiting"].is_array());
}

#[test]
fn a_member_flooding_proposals_stays_bounded_while_another_signs() {
    let w = World::new("abuse-member");
    let _c = NodeProcess::start(&w.home("c"));
    let _b = NodeProcess::start(&w.home("b"));
    w.keygen("vault", "ed25519");
    w.keygen("auto", "ed25519");
    // a signs with "auto" by its policy; "vault" waits for a's person.
    std::fs::write(
        w.home("a").join("policy.json"),
        r#"{"sign": {"keys": ["auto"]}}"#,
    )
    .unwrap();
    let a = NodeProcess::start(&w.home("a"));
    let pid = a.0.id();
    let before = resident(pid);

    // b floods a through its own command line: 24 requests for a's person and 24 sessions
    // a's policy approves, all at once.
    let sign = |key: &str, i: usize| {
        let message = format!("{i:04x}");
        common::homes::tessera(&w.home("b"))
            .args(["--json", "sign", "--key", key, "--message", &message])
            .args(["--signers", "a"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let waiting: Vec<_> = (0..24).map(|i| sign("vault", i)).collect();
    let sessions: Vec<_> = (0..24).map(|i| sign("auto", 100 + i)).collect();

    // Meanwhile c signs with a.
    let (code, _, err) = run(
        &w.home("c"),
        &[
            "--json",
            "sign",
            "--key",
            "auto",
            "--message",
            "0c",
            "--signers",
            "a",
        ],
    );
    assert_eq!(code, 0, "c signs with a while b floods it: {err}");
    let mut peak = resident(pid);

    // Every session b asked for ends: signed, or refused with one error naming a's bound.
    let mut signed = 0;
    for child in sessions {
        let out = child.wait_with_output().unwrap();
        peak = peak.max(resident(pid));
        if out.status.success() {
            signed += 1;
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            let last: serde_json::Value =
                serde_json::from_str(err.lines().last().unwrap_or_default()).unwrap();
            let why = last["error"].as_str().unwrap_or_default();
            assert!(why.contains("a refused"), "{err}");
        }
    }
    assert!(signed > 0, "a served some of b's sessions");

    // a's person is asked at most 8 times by one initiator; the rest were refused.
    let list = json(&w.home("a"), &["approve", "--list"]);
    let from_b = list["waiting"].as_array().unwrap().len();
    assert!((1..=8).contains(&from_b), "{from_b} requests wait: {list}");
    peak = peak.max(resident(pid));
    println!(
        "b's flood: {signed} of 24 sessions signed, {from_b} of 24 requests wait for a's \
         person, a grew by {} KiB",
        peak.saturating_sub(before) >> 10
    );
    assert!(
        peak < before + (80 << 20),
        "the node grew from {before} to {peak} bytes"
    );
    for mut child in waiting {
        let _ = child.kill();
        let _ = child.wait();
    }

    // And a still signs with c.
    let (code, _, err) = run(
        &w.home("c"),
        &[
            "--json",
            "sign",
            "--key",
            "auto",
            "--message",
            "0d",
            "--signers",
            "a",
        ],
    );
    assert_eq!(code, 0, "c signs with a after the flood: {err}");
}
