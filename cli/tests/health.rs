//! `tessera health` with real processes (design §3.5): a 2-of-3 key whose three devices all
//! pass; then one device is down, and then its share file is damaged (its node refuses to
//! start, naming the file): each time health names it, exits 1, and warns that one more loss
//! loses the key.

mod common;

use common::homes::{run, tessera, NodeProcess, World};

use serde_json::Value;

/// `tessera --json health vault` on a: its exit code and report.
fn health(w: &World) -> (i32, Value, String) {
    let (code, out, err) = run(&w.home("a"), &["--json", "health", "vault"]);
    let report = serde_json::from_str(out.lines().last().unwrap_or("null")).unwrap();
    (code, report, err)
}

fn names(report: &Value, field: &str) -> Vec<String> {
    report[field]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().or(m["name"].as_str()).unwrap().to_string())
        .collect()
}

#[test]
fn health_names_the_devices_that_did_not_pass() {
    let w = World::new("health");
    let _b = NodeProcess::start(&w.home("b"));
    let c = NodeProcess::start(&w.home("c"));
    w.keygen("vault", "ed25519");

    let (code, report, err) = health(&w);
    assert_eq!(code, 0, "{err}");
    assert_eq!(names(&report, "passed"), ["a", "b", "c"]);
    assert!(report["warning"].is_null());

    // c is down: named, and with t = 2 only two devices left, a warning.
    drop(c);
    let (code, report, err) = health(&w);
    assert_eq!(code, 1);
    assert!(err.contains("not every device passed: c"), "{err}");
    assert_eq!(names(&report, "passed"), ["a", "b"]);
    assert_eq!(names(&report, "silent"), ["c"]);
    assert!(report["warning"]
        .as_str()
        .unwrap()
        .contains("one more loss and the key is gone"));

    // c's share file is damaged: its node refuses to start, naming the file, and health
    // names c.
    let share = w.home("c").join("keys/vault/epoch-0.share");
    let mut bytes = std::fs::read(&share).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&share, bytes).unwrap();
    let out = tessera(&w.home("c")).args(["node"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("epoch-0.share"));
    let (code, report, _) = health(&w);
    assert_eq!(code, 1);
    assert_eq!(names(&report, "silent"), ["c"]);
}
