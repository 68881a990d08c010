//! The passphrase prompt as a person meets it (design §5): a real terminal (tmux) where
//! `tessera init` asks twice without echoing, and the passphrase typed there is the one that
//! unlocks the home afterwards.

use std::{
    path::Path,
    process::Command,
    time::{Duration, Instant},
};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// A tmux server of this test only, killed when dropped.
struct Tmux(String);

impl Tmux {
    fn run(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.0])
            .args(args)
            .output()
            .expect("tmux is installed (it drives the terminal of this test)");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen, once it shows `text` (within 20 s).
    fn wait_for(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.run(&["capture-pane", "-p", "-t", "t"]);
            if screen.contains(text) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited for {text:?}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

#[test]
fn init_asks_twice_without_echo() {
    let dir = std::env::temp_dir().join(format!("tessera-prompt-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let home = dir.join("home");
    let tmux = Tmux(format!("tessera-test-{}", std::process::id()));
    let command = format!(
        "env -u TESSERA_PASSPHRASE TESSERA_INSECURE_TEST_KDF=1 {BIN} --home {} init --name p --listen /ip4/127.0.0.1/tcp/0; sleep 30",
        home.display()
    );
    tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "t",
        "-x",
        "200",
        "-y",
        "40",
        &command,
    ]);
    let secret = "correct horse battery";
    tmux.wait_for("New passphrase for this device:");
    tmux.run(&["send-keys", "-t", "t", secret, "Enter"]);
    tmux.wait_for("Repeat it:");
    tmux.run(&["send-keys", "-t", "t", secret, "Enter"]);
    let screen = tmux.wait_for("contact: tessera:p:");
    assert!(
        !screen.contains(secret),
        "the passphrase was echoed:\n{screen}"
    );
    // The passphrase typed at the prompt unlocks the home.
    let check = |pass: &str| {
        Command::new(BIN)
            .args([
                "--home",
                &home.display().to_string(),
                "passphrase",
                "change",
            ])
            .env("TESSERA_INSECURE_TEST_KDF", "1")
            .env("TESSERA_PASSPHRASE", pass)
            .env("TESSERA_NEW_PASSPHRASE", pass)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(check("wrong"), Some(3));
    assert_eq!(check(secret), Some(0));
    drop(tmux);
    let _ = std::fs::remove_dir_all(Path::new(&dir));
}
