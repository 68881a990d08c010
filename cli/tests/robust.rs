//! Robust signing through the CLI (design §3.2, "Robust signing"): `tessera sign` with more
//! than t devices online, some silent (their process stopped) or sending a bad share (a
//! tamper hook in their process), still signs with honest ones, in new sessions, naming
//! every device it skipped and why; with fewer than t honest it fails naming them.

mod common;

use std::process::Command;

use common::homes::{json, run, tessera, NodeProcess, World};
use serde_json::Value;

/// Stops (`STOP`) or resumes (`CONT`) a node's process: a device that is on the network but
/// answers nothing.
fn signal(node: &NodeProcess, signal: &str) {
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &node.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// A stopped node, resumed (then killed) when dropped.
struct Stopped(NodeProcess);

impl Stopped {
    fn new(node: NodeProcess) -> Self {
        signal(&node, "STOP");
        Stopped(node)
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        signal(&self.0, "CONT");
    }
}

/// A 2-of-n ed25519 key among `names` made from a, whose other devices then approve signing
/// it by policy; their nodes, `liar` sending a wrong signature share.
fn setup(w: &World, names: &[&str], liar: Option<&str>) -> Vec<(String, NodeProcess)> {
    {
        let _nodes: Vec<_> = names[1..]
            .iter()
            .map(|n| NodeProcess::start(&w.home(n)))
            .collect();
        let (code, _, err) = w.keygen_with("vault", "ed25519", 2, &names[1..]);
        assert_eq!(code, 0, "{err}");
    }
    names[1..]
        .iter()
        .map(|n| {
            std::fs::write(
                w.home(n).join("policy.json"),
                r#"{"sign": {"keys": ["vault"]}}"#,
            )
            .unwrap();
            let mut command = tessera(&w.home(n));
            if Some(*n) == liar {
                command.env("TESSERA_TEST_TAMPER", "sign:2:flip");
            }
            (n.to_string(), NodeProcess::start_with(command).0)
        })
        .collect()
}

fn take(nodes: &mut Vec<(String, NodeProcess)>, name: &str) -> NodeProcess {
    let i = nodes.iter().position(|(n, _)| n == name).unwrap();
    nodes.remove(i).1
}

/// `tessera --json sign` from a; (exit code, the result or error as JSON, stderr).
fn sign(w: &World) -> (i32, Value, String) {
    let (code, out, err) = run(
        &w.home("a"),
        &["--json", "sign", "--key", "vault", "--message", "c0ffee"],
    );
    let last = if code == 0 {
        out.lines().last().unwrap_or_default().to_string()
    } else {
        err.lines().last().unwrap_or_default().to_string()
    };
    (code, serde_json::from_str(&last).unwrap_or_default(), err)
}

fn verifies(w: &World, signed: &Value) {
    let key = json(&w.home("a"), &["keys", "show", "vault"])["group_key"]
        .as_str()
        .unwrap()
        .to_string();
    let key =
        ed25519_dalek::VerifyingKey::from_bytes(&hex::decode(key).unwrap().try_into().unwrap())
            .unwrap();
    let sig = hex::decode(signed["signature"].as_str().unwrap()).unwrap();
    key.verify_strict(
        &[0xc0, 0xff, 0xee],
        &ed25519_dalek::Signature::from_slice(&sig).unwrap(),
    )
    .expect("ed25519-dalek verifies the signature");
}

fn skipped(signed: &Value) -> Vec<(String, String)> {
    signed["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// t+1 online, one of them silent: the signature comes from the others, b named.
#[test]
fn a_silent_device_is_skipped() {
    let w = World::new("robust-silent");
    let mut nodes = setup(&w, &["a", "b", "c"], None);
    let _b = Stopped::new(take(&mut nodes, "b"));
    let (code, signed, err) = sign(&w);
    assert_eq!(code, 0, "{err}");
    verifies(&w, &signed);
    assert_eq!(signed["signers"], serde_json::json!(["a", "c"]));
    let skipped = skipped(&signed);
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert_eq!(skipped[0].0, "b");
    assert!(skipped[0].1.contains("did not answer"), "{skipped:?}");
}

/// t+2 online, one silent and one sending a bad share: a first session with the liar fails
/// naming it, a new one with the honest device signs; both are named.
#[test]
fn a_silent_and_a_lying_device_are_skipped() {
    let w = World::of("robust-liar", &["a", "b", "c", "d"]);
    let mut nodes = setup(&w, &["a", "b", "c", "d"], Some("c"));
    let _b = Stopped::new(take(&mut nodes, "b"));
    let (code, signed, err) = sign(&w);
    assert_eq!(code, 0, "{err}");
    verifies(&w, &signed);
    assert_eq!(signed["signers"], serde_json::json!(["a", "d"]));
    let skipped = skipped(&signed);
    assert_eq!(skipped.len(), 2, "{skipped:?}");
    assert_eq!(skipped[0].0, "b");
    assert!(skipped[0].1.contains("did not answer"), "{skipped:?}");
    assert_eq!(skipped[1].0, "c");
    assert!(
        skipped[1].1.contains("invalid signature share"),
        "{skipped:?}"
    );
}

/// Fewer than t honest: the command fails cleanly, naming the silent and the lying device.
#[test]
fn fewer_than_t_honest_devices_fail_naming_them() {
    let w = World::new("robust-fail");
    let mut nodes = setup(&w, &["a", "b", "c"], Some("c"));
    let _b = Stopped::new(take(&mut nodes, "b"));
    let (code, error, err) = sign(&w);
    assert_eq!(code, 1, "{err}");
    let message = error["error"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("fewer than 2 devices can sign"),
        "{err}"
    );
    assert!(message.contains("b did not answer"), "{err}");
    assert!(
        message.contains("c ") && message.contains("invalid signature share"),
        "{err}"
    );
}
