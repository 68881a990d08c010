//! The CLI as a user times it (issue 12; numbers in BENCHMARKS.md):
//!
//! 1. `tessera sign` as a new process each time, through the control socket of a running
//!    `tessera node`, 2-of-3 on loopback, the co-signer's policy approving the key: wall time
//!    p50 and p99 over 100 runs, process start included.
//! 2. `tessera node` start with 1,000 keys in the home, keyring at the Argon2id floor (256 MiB,
//!    3 passes): wall time until it prints `ready`.
//!
//! 3. `tessera refresh` of a 3-of-5 key through the running node of the initiator, the four
//!    other devices' approvals given by a script polling `tessera approve --list` and running
//!    `tessera approve ID`: wall time p50 over 20 runs, approvals included.
//!
//! 4. `tessera sign --psbt --finalize` of a taproot 2-of-3 key with 1, 10 and 64 inputs,
//!    through the initiator's running node, the co-signer's spend rule approving: wall time
//!    p50 over 10 runs each, against one `tessera sign` of a raw 32-byte message per input.
//!
//! `cargo bench -p tessera-cli --bench cli` (add `-- sign`, `-- start`, `-- refresh` or
//! `-- psbt` for one of them).

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
    fs,
    time::{Duration, Instant},
};

use common::{
    homes::{approve_while, json, tessera, NodeProcess, World, PASSPHRASE},
    wallet::{outside, Wallet, SIGN_PSBT},
};
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_cli::device::{keyring, Home, Keystore};
use tessera_core::{Ed25519, Ed25519Identity, IdentitySigner, SecretScalar};
use tessera_keygen::{dealer, Certificate, PendingKeyShare, CONFIRM_PURPOSE};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn bench_sign() {
    let w = World::new("bench-sign");
    let c = NodeProcess::start(&w.home("c"));
    let b = NodeProcess::start(&w.home("b"));
    w.keygen("vault", "ed25519");
    // b's policy approves signing with the key; restart b to read it.
    drop(b);
    fs::write(
        w.home("b").join("policy.json"),
        r#"{"sign": {"keys": ["vault"]}}"#,
    )
    .unwrap();
    let _b = NodeProcess::start(&w.home("b"));
    let _a = NodeProcess::start(&w.home("a"));
    let mut times = Vec::new();
    for i in 0..100u32 {
        let message = hex::encode(format!("payment {i}"));
        let started = Instant::now();
        let out = tessera(&w.home("a"))
            .args([
                "sign",
                "--key",
                "vault",
                "--message",
                &message,
                "--signers",
                "b",
            ])
            .output()
            .unwrap();
        times.push(started.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    times.sort();
    println!(
        "tessera sign via the control socket, 2-of-3 ed25519, 100 runs: p50 {:.1} ms, p99 {:.1} ms",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3
    );
    drop(c);
}

fn bench_start() {
    let dir = std::env::temp_dir().join(format!("tessera-bench-{}-start", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    let home_dir = dir.join("home");
    // At the floor: no insecure setting while the home is made.
    std::env::remove_var(keyring::INSECURE_TEST_KDF);
    let (home, unlocked) = Home::create(
        &home_dir,
        "big",
        vec!["/ip4/127.0.0.1/tcp/0".into()],
        PASSPHRASE.as_bytes(),
    )
    .unwrap();
    let me = Ed25519Identity::from_seed(&unlocked.seed);
    let others = [
        Ed25519Identity::from_seed(&[7; 32]),
        Ed25519Identity::from_seed(&[8; 32]),
    ];
    let roster = vec![me.identity(), others[0].identity(), others[1].identity()];
    let keystore = Keystore::new(home.root());
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    for k in 0..1000 {
        let (packages, _) =
            dealer::split::<Ed25519>(&SecretScalar::random(&mut rng), 2, 3, &mut rng).unwrap();
        let mine = packages.into_iter().next().unwrap();
        let pending = PendingKeyShare::new(mine, roster.clone(), [k as u8; 32], 0, &me).unwrap();
        let key_id = *pending.key_id();
        let certificate = Certificate {
            key_id,
            signatures: [&me, &others[0], &others[1]]
                .iter()
                .map(|i| i.sign(CONFIRM_PURPOSE, &key_id))
                .collect(),
        };
        let name = format!("key-{k}");
        keystore
            .save_pending(&unlocked.data_key, &name, &pending)
            .unwrap();
        keystore.activate(&name, 0, &certificate).unwrap();
    }
    let mut times = Vec::new();
    for _ in 0..3 {
        let mut command = tessera(&home_dir);
        command.env_remove(keyring::INSECURE_TEST_KDF);
        let (node, took) = NodeProcess::start_with(command);
        times.push(took);
        drop(node);
    }
    times.sort();
    println!(
        "tessera node start with 1,000 keys, Argon2id at the floor, until ready: median of 3 {:.2} s (runs {:?})",
        times[1].as_secs_f64(),
        times.iter().map(|t| format!("{:.2}", t.as_secs_f64())).collect::<Vec<_>>()
    );
    let _ = fs::remove_dir_all(&dir);
}

fn bench_refresh() {
    let names = ["a", "b", "c", "d", "e"];
    let w = World::of("bench-refresh", &names);
    let _nodes: Vec<NodeProcess> = names
        .iter()
        .map(|n| NodeProcess::start(&w.home(n)))
        .collect();
    let (code, _, err) = w.keygen_with("vault", "ed25519", 3, &names[1..]);
    assert_eq!(code, 0, "{err}");
    let mut times = Vec::new();
    for run in 0..20u64 {
        let home = w.home("a");
        let started = Instant::now();
        let command = std::thread::spawn(move || {
            tessera(&home)
                .args(["--json", "refresh", "--key", "vault"])
                .output()
                .unwrap()
        });
        approve_while(&w, &names[1..], &command);
        let out = command.join().unwrap();
        times.push(started.elapsed());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown = json(&w.home("a"), &["keys", "show", "vault"]);
        assert_eq!(shown["epoch"], run + 1);
    }
    times.sort();
    println!(
        "tessera refresh, 3-of-5 ed25519, approvals by script, 20 runs: p50 {:.2} s, min {:.2} s, max {:.2} s",
        percentile(&times, 0.5).as_secs_f64(),
        times[0].as_secs_f64(),
        times[times.len() - 1].as_secs_f64()
    );
}

/// Runs `tessera` on `home` with `args`, which must succeed; its wall time.
fn timed(home: &std::path::Path, args: &[&str]) -> Duration {
    let started = Instant::now();
    let out = tessera(home).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    started.elapsed()
}

fn bench_psbt() {
    let w = World::new("bench-psbt");
    let _c = NodeProcess::start(&w.home("c"));
    let b = NodeProcess::start(&w.home("b"));
    w.keygen("vault", "taproot");
    drop(b);
    let policy = serde_json::json!({
        "spend": [{ "key": "vault", "allow": [outside().to_string()],
                    "max_per_tx": 1u64 << 40, "max_per_day": 1u64 << 50 }]
    });
    fs::write(w.home("b").join("policy.json"), policy.to_string()).unwrap();
    let _b = NodeProcess::start_extra(&w.home("b"), &["--network", "regtest"]);
    let _a = NodeProcess::start_extra(&w.home("a"), &["--network", "regtest"]);
    let wallet = Wallet::of(&w.home("a"), "vault");
    let file = w.home("a").join("bench.psbt");
    let mut seed = 0u8;
    for inputs in [1usize, 10, 64] {
        let paths: Vec<String> = (0..inputs).map(|i| format!("m/0/{i}")).collect();
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let mut times = Vec::new();
        for _ in 0..10 {
            seed = seed.wrapping_add(1);
            fs::write(&file, wallet.spend(&paths, 10_000, seed).to_string()).unwrap();
            let mut args = SIGN_PSBT.to_vec();
            args.extend([file.to_str().unwrap(), "--finalize"]);
            times.push(timed(&w.home("a"), &args));
        }
        times.sort();
        println!(
            "tessera sign --psbt --finalize, {inputs} input(s), 2-of-3 taproot, 10 runs: p50 {:.1} ms",
            percentile(&times, 0.5).as_secs_f64() * 1e3
        );
    }
}

fn main() {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wants = |name: &str| filter.is_empty() || filter.iter().any(|f| f == name);
    if wants("sign") {
        bench_sign();
    }
    if wants("refresh") {
        bench_refresh();
    }
    if wants("start") {
        bench_start();
    }
    if wants("psbt") {
        bench_psbt();
    }
}
