//! Three OS processes on loopback complete a keygen and a signature.
//!
//! The test re-runs its own binary three times with `TESSERA_P2P_CHILD` set to run the
//! ignored `child` test as one device; the parent passes addresses between them on stdin and
//! reads their results on stdout. Children are killed if anything takes over two minutes.

mod common;

use std::{
    io::{BufRead, BufReader, Write},
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use common::standard_verify;
use tessera_cli::device::jobs::{identities, Device, Served};
use tessera_core::{Ciphersuite, Ed25519, Suite};
use tessera_p2p::{accept_all, Multiaddr, NodeConfig, PeerId};

const N: usize = 3;

/// Kills the children on every exit path.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn peer(i: usize) -> PeerId {
    identities(&[i as u8 + 1; 32])
        .unwrap()
        .0
        .public()
        .to_peer_id()
}

#[test]
fn three_processes_keygen_and_sign() {
    let exe = std::env::current_exe().unwrap();
    let (tx, rx) = mpsc::channel::<(usize, String)>();
    let mut children = Children(Vec::new());
    for i in 0..N {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("TESSERA_P2P_CHILD", i.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = BufReader::new(child.stdout.take().unwrap());
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send((i, line)).is_err() {
                    break;
                }
            }
        });
        children.0.push(child);
    }
    let mut lines = Lines {
        rx,
        backlog: Vec::new(),
        deadline: Instant::now() + Duration::from_secs(120),
    };
    let mut next = |prefix: &str, from: usize| lines.next(prefix, from);
    let addrs: Vec<String> = (0..N).map(|i| next("ADDR ", i).remove(0)).collect();
    for (i, child) in children.0.iter_mut().enumerate() {
        let stdin = child.stdin.as_mut().unwrap();
        for (j, addr) in addrs.iter().enumerate() {
            if j != i {
                writeln!(stdin, "PEER {} {addr}", peer(j)).unwrap();
            }
        }
        writeln!(stdin, "GO").unwrap();
    }
    let keys: Vec<Vec<String>> = (0..N).map(|i| next("KEY ", i)).collect();
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    let sig = next("SIG ", 0);
    next("SIGNED", 1);
    let key = hex_decode(&sig[0]);
    let signature = hex_decode(&sig[1]);
    assert!(standard_verify(Suite::Ed25519, &key, MESSAGE, &signature));
}

/// The children's output lines, searched by child and marker.
struct Lines {
    rx: mpsc::Receiver<(usize, String)>,
    backlog: Vec<(usize, String)>,
    deadline: Instant,
}

impl Lines {
    /// The fields after `marker` in the next line of child `from` that has it. The test
    /// harness prints "test child ... " before a child's first line, so the marker may come
    /// mid-line.
    fn next(&mut self, marker: &str, from: usize) -> Vec<String> {
        let fields = |line: &str| {
            line.split_once(marker)
                .map(|(_, rest)| rest.split(' ').map(str::to_owned).collect::<Vec<_>>())
        };
        if let Some(k) = self
            .backlog
            .iter()
            .position(|(i, l)| *i == from && fields(l).is_some())
        {
            let (_, line) = self.backlog.remove(k);
            return fields(&line).unwrap_or_default();
        }
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let (i, line) = self.rx.recv_timeout(left).expect("children answer in time");
            match fields(&line) {
                Some(f) if i == from => return f,
                _ => self.backlog.push((i, line)),
            }
        }
    }
}

const MESSAGE: &[u8] = b"three processes";

fn hex_decode(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "one device of three_processes_keygen_and_sign, run by it as a child process"]
async fn child() {
    let me: usize = std::env::var("TESSERA_P2P_CHILD")
        .expect("run by three_processes_keygen_and_sign")
        .parse()
        .unwrap();
    let (keypair, identity) = identities(&[me as u8 + 1; 32]).unwrap();
    let device = Device::<Ed25519>::start(NodeConfig::new(keypair, accept_all()), identity)
        .await
        .unwrap();
    println!("ADDR {}", device.node().addresses()[0]);
    let lines = tokio::task::spawn_blocking(|| {
        let stdin = std::io::stdin();
        let mut lines = Vec::new();
        for line in stdin.lock().lines().map_while(Result::ok) {
            if line == "GO" {
                break;
            }
            lines.push(line);
        }
        lines
    })
    .await
    .unwrap();
    for line in lines {
        let parts: Vec<&str> = line.split(' ').collect();
        let (peer, addr): (PeerId, Multiaddr) =
            (parts[1].parse().unwrap(), parts[2].parse().unwrap());
        device.node().allow(peer, vec![addr]);
    }
    let roster: Vec<PeerId> = (0..N).map(peer).collect();
    let print_key = |share: &tessera_keygen::KeyShare<Ed25519>| {
        let gk = Ed25519::serialize_point(share.key_package().public().group_key()).unwrap();
        println!("KEY {} {}", hex(share.key_id()), hex(gk.as_ref()));
    };
    if me == 0 {
        let share = device.keygen(roster.clone(), 2).await.unwrap();
        print_key(&share);
        let out = device
            .sign(share.key_id(), roster[..2].to_vec(), MESSAGE)
            .await
            .unwrap();
        let key = Ed25519::serialize_verifying_key(&out.output_key).unwrap();
        println!(
            "SIG {} {}",
            hex(&key),
            hex(&out.signature.to_bytes().unwrap())
        );
    } else {
        let Some(Ok(Served::Keygen(share))) = device.serve_next().await else {
            panic!("keygen failed")
        };
        print_key(&share);
        if me == 1 {
            let Some(Ok(Served::Sign(_))) = device.serve_next().await else {
                panic!("signing failed")
            };
            println!("SIGNED");
        }
    }
}
