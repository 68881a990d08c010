//! Devices that reach each other only through a relay (design §4.11), as separate processes:
//! a `tessera relay`, three homes configured with it whose peers know each other only by
//! their relayed addresses; keygen and signing run, ed25519-dalek verifies the signature,
//! and `tessera status` shows the relayed address and how each peer is connected.

mod common;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Stdio},
};

use common::homes::{
    approve_while, free_port, json, run, sign_in_background, tessera, verify_ed25519, NodeProcess,
    World,
};
use serde_json::Value;

/// A running `tessera relay`, stopped when dropped.
struct RelayProcess(Child);

impl RelayProcess {
    /// Starts a relay on loopback; it and its first address (ending in its PeerId).
    fn start(home: &std::path::Path) -> (Self, String) {
        let listen = format!("/ip4/127.0.0.1/tcp/{}", free_port());
        let mut child = tessera(home)
            .args(["--json", "relay", "--listen", &listen])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let ready: Value = lines
            .find_map(|l| serde_json::from_str::<Value>(&l.ok()?).ok())
            .expect("the relay printed its addresses");
        std::thread::spawn(move || lines.for_each(drop));
        let address = ready["addresses"][0].as_str().unwrap().to_string();
        (Self(child), address)
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn devices_that_know_each_other_only_through_a_relay_make_a_key_and_sign() {
    let w = World::new("reach");
    let (_relay, relay) = RelayProcess::start(&w.home("relay"));
    let names = ["a", "b", "c"];
    let mut ids = Vec::new();
    for n in names {
        let shown = json(&w.home(n), &["config", "set", "relay", &relay]);
        assert!(
            shown["contact"].as_str().unwrap().contains("/p2p-circuit"),
            "{shown}"
        );
        // The contact is tessera:NAME:PEERID:ADDRESSES.
        let me = json(&w.home(n), &["peers", "list"])["me"].clone();
        ids.push(me.as_str().unwrap().split(':').nth(2).unwrap().to_string());
    }
    // Each device forgets the others' direct addresses: it knows them through the relay only.
    for x in names {
        for (y, id) in names.iter().zip(&ids) {
            if *y == x {
                continue;
            }
            json(&w.home(x), &["peers", "remove", y]);
            let contact = format!("tessera:{y}:{id}:{relay}/p2p-circuit");
            json(&w.home(x), &["peers", "add", &contact]);
        }
    }
    let _b = NodeProcess::start(&w.home("b"));
    let _c = NodeProcess::start(&w.home("c"));
    let _a = NodeProcess::start(&w.home("a"));

    let made = w.keygen("vault", "ed25519");
    let message = hex::encode("pay 1 coin through the relay");
    let signing = sign_in_background(&w.home("a"), "vault", &message, &["b"]);
    approve_while(&w, &["b"], &signing);
    let (code, out, err) = signing.join().unwrap();
    assert_eq!(code, 0, "{err}");
    let signed: Value = serde_json::from_str(out.trim()).unwrap();
    verify_ed25519(&made, &message, &signed);

    // a's status: its relayed address, and b connected (through the relay, or directly
    // once hole punching upgraded the connection).
    let status = json(&w.home("a"), &["status"]);
    assert!(
        status["addresses"]["relayed"][0]
            .as_str()
            .is_some_and(|a| a.contains("/p2p-circuit")),
        "{status}"
    );
    let b = status["peers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "b")
        .cloned()
        .unwrap();
    assert_eq!(b["connected"], true, "{status}");
    println!("a reaches b over: {}", b["links"]);
    let (code, text, _) = run(&w.home("a"), &["status"]);
    assert_eq!(code, 0);
    assert!(text.contains("peer b: connected"), "{text}");
}
