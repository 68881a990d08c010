//! Homes run through the `tessera` binary as separate processes: a command with the test
//! environment, a running `tessera node`, and three homes that know each other.

use std::{
    fs,
    io::{BufRead, BufReader},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::Value;

/// The passphrase of every home the tests make.
pub const PASSPHRASE: &str = "a passphrase";

pub const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// A `tessera` command on `home` with the test environment.
pub fn tessera(home: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--home")
        .arg(home)
        .env("TESSERA_INSECURE_TEST_KDF", "1")
        .env("TESSERA_PASSPHRASE", PASSPHRASE)
        .env_remove("TESSERA_HOME")
        .stdin(Stdio::null());
    c
}

/// Runs a command to its end: (exit code, stdout, stderr).
pub fn run(home: &Path, args: &[&str]) -> (i32, String, String) {
    let out = tessera(home).args(args).output().expect("run tessera");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs a command that must succeed and print JSON.
pub fn json(home: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let (code, out, err) = run(home, &all);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(out.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{args:?}: {e}: {out}"))
}

/// Approves (or refuses) at `home`'s node the first request that arrives within 30 s.
pub fn decide(home: &Path, approve: bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waiting = json(home, &["approve", "--list"]);
        if let Some(id) = waiting["waiting"][0]["id"].as_str() {
            let mut args = vec!["approve", id];
            if !approve {
                args.push("--refuse");
            }
            json(home, &args);
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no request reached {}",
            home.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Approves every request that reaches the nodes of `approvers` until `command` ends (a
/// node killed meanwhile answers nothing; a draft approved before is not asked again).
pub fn approve_while<T>(w: &World, approvers: &[&str], command: &std::thread::JoinHandle<T>) {
    while !command.is_finished() {
        for d in approvers {
            let (_, out, _) = run(&w.home(d), &["--json", "approve", "--list"]);
            let list: Value = serde_json::from_str(out.trim()).unwrap_or_default();
            if let Some(id) = list["waiting"][0]["id"].as_str() {
                let _ = run(&w.home(d), &["approve", id]);
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `tessera node`, stopped when dropped.
pub struct NodeProcess(pub Child);

impl NodeProcess {
    /// Starts the node of `home` and waits for its "ready" line.
    pub fn start(home: &Path) -> Self {
        Self::start_with(tessera(home)).0
    }

    /// [`NodeProcess::start`] with more arguments for `tessera node`.
    pub fn start_extra(home: &Path, extra: &[&str]) -> Self {
        Self::spawn(tessera(home), extra).0
    }

    /// Starts `tessera node --auto-approve keygen --allow-blind-signing` from `command` (a
    /// [`tessera`] command, perhaps changed) and waits for its "ready" line; also how long
    /// that took.
    pub fn start_with(command: Command) -> (Self, Duration) {
        Self::spawn(command, &[])
    }

    fn spawn(mut command: Command, extra: &[&str]) -> (Self, Duration) {
        let started = Instant::now();
        let mut child = command
            .args(["node", "--auto-approve", "keygen", "--allow-blind-signing"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the node");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let ready = lines.any(|l| l.is_ok_and(|l| l == "ready"));
        assert!(ready, "the node printed ready");
        let took = started.elapsed();
        // Keep draining its output so it never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        (NodeProcess(child), took)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Homes that know each other (a, b and c unless named); their folder is removed when
/// dropped.
pub struct World {
    dir: PathBuf,
}

impl World {
    pub fn new(name: &str) -> Self {
        Self::of(name, &["a", "b", "c"])
    }

    /// Homes named `names` that know each other.
    pub fn of(name: &str, names: &[&str]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("tessera-devices-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let world = World { dir };
        for &n in names {
            let listen = format!("/ip4/127.0.0.1/tcp/{}", free_port());
            json(&world.home(n), &["init", "--name", n, "--listen", &listen]);
        }
        for &x in names {
            for y in names.iter().filter(|y| **y != x) {
                let me = json(&world.home(y), &["peers", "list"])["me"]
                    .as_str()
                    .unwrap()
                    .to_string();
                json(&world.home(x), &["peers", "add", &me]);
            }
        }
        world
    }

    /// The homes under `dir`, made by the caller; removed when dropped.
    pub fn at(dir: PathBuf) -> Self {
        World { dir }
    }

    pub fn home(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// `tessera keygen` from a: a 2-of-3 key `name` of `suite` with b and c; what it printed.
    pub fn keygen(&self, name: &str, suite: &str) -> Value {
        let (code, out, err) = self.keygen_with(name, suite, 2, &["b", "c"]);
        assert_eq!(code, 0, "keygen: {err}");
        serde_json::from_str(out.lines().last().unwrap_or_default()).unwrap()
    }

    /// `tessera --json keygen` from a: a `threshold`-of-n key `name` of `suite` with
    /// `with`; (exit code, stdout, stderr).
    pub fn keygen_with(
        &self,
        name: &str,
        suite: &str,
        threshold: u16,
        with: &[&str],
    ) -> (i32, String, String) {
        let t = threshold.to_string();
        let mut args = vec![
            "--json",
            "keygen",
            "--name",
            name,
            "--suite",
            suite,
            "--threshold",
            &t,
            "--with",
        ];
        args.extend_from_slice(with);
        run(&self.home("a"), &args)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// `tessera --json sign --key KEY --message HEX --signers S…` from `home`, in the background:
/// its (exit code, stdout, stderr).
pub fn sign_in_background(
    home: &Path,
    key: &str,
    message: &str,
    signers: &[&str],
) -> std::thread::JoinHandle<(i32, String, String)> {
    let home = home.to_path_buf();
    let mut args: Vec<String> = [
        "--json",
        "sign",
        "--key",
        key,
        "--message",
        message,
        "--signers",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(signers.iter().map(|s| s.to_string()));
    std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&home, &args)
    })
}

/// Checks, with ed25519-dalek, the signature `tessera --json sign` printed (`signed`) over
/// the hex `message` under the key `tessera --json keygen` printed (`made`).
pub fn verify_ed25519(made: &Value, message: &str, signed: &Value) {
    let key = hex::decode(made["verifying_key"].as_str().unwrap()).unwrap();
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&key.try_into().unwrap()).unwrap();
    let sig = hex::decode(signed["signature"].as_str().unwrap()).unwrap();
    vk.verify_strict(
        &hex::decode(message).unwrap(),
        &ed25519_dalek::Signature::from_slice(&sig).unwrap(),
    )
    .expect("ed25519-dalek verifies");
}
