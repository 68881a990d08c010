//! The `tessera` commands (design §6): one small file each. A command parses its arguments,
//! calls the device layer and prints; every error reaches the user as one line.
//!
//! Exit codes, for every command:
//! - 0: success;
//! - 1: the check or the operation failed (an invalid signature, a vector mismatch, a failed
//!   demo step);
//! - 2: bad usage or input (arguments, hex, a contact string, an unknown peer or key name, a
//!   name that exists);
//! - 3: the home refused (a wrong passphrase; a missing, foreign, damaged, newer-format or
//!   world-readable file; a home in use by a running node).

pub mod demo;
pub mod init;
pub mod keys;
pub mod log;
pub mod passphrase;
pub mod peers;
pub mod vectors;
pub mod verify;

use std::path::{Path, PathBuf};

use clap::{CommandFactory, Parser, Subcommand};
use zeroize::Zeroizing;

use crate::{
    device::{peers::PeerError, Home, StoreError},
    output::{Output, USAGE},
};

/// Exit code: the home refused.
pub const HOME: u8 = 3;

/// tessera: MPC threshold signing (FROST) for ed25519, secp256k1 and Taproot.
#[derive(Parser)]
#[command(name = "tessera", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 success, 1 check or operation failed, 2 bad usage or input, 3 the home refused."
)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The device's home folder (default: $TESSERA_HOME, else the OS data folder).
    #[arg(long, global = true, value_name = "DIR")]
    pub home: Option<PathBuf>,
    /// Read the passphrase from the first line of this file (else $TESSERA_PASSPHRASE, else a
    /// prompt). Never give it as an argument.
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand)]
pub enum Command {
    /// Create this device's home: its identity, keyring and configuration.
    Init(init::Args),
    /// The devices this one knows, by local name.
    Peers {
        #[command(subcommand)]
        command: peers::Command,
    },
    /// The keys this device holds a share of (nothing is decrypted).
    Keys {
        #[command(subcommand)]
        command: keys::Command,
    },
    /// The sessions this device took part in or refused, and a check of the log's chain.
    Log(log::Args),
    /// The passphrase that protects this device's secrets.
    Passphrase {
        #[command(subcommand)]
        command: passphrase::Command,
    },
    /// Verify a signature with a public key.
    Verify(verify::Args),
    /// Reference test vectors.
    Vectors {
        #[command(subcommand)]
        command: vectors::Command,
    },
    /// Run the whole story on this machine over libp2p nodes on loopback: keygen, sign,
    /// verify, reshare to a new committee and threshold, sign and verify again.
    Demo(demo::Args),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// Runs the command line; returns the exit code.
pub fn main() -> u8 {
    let cli = Cli::parse();
    let out = Output { json: cli.json };
    let ctx = Context {
        home: cli.home.clone(),
        passphrase_file: cli.passphrase_file.clone(),
    };
    let result = match cli.command {
        Command::Init(args) => init::run(&args, &ctx, &out),
        Command::Peers { command } => peers::run(&command, &ctx, &out),
        Command::Keys { command } => keys::run(&command, &ctx, &out),
        Command::Log(args) => log::run(&args, &ctx, &out),
        Command::Passphrase { command } => passphrase::run(&command, &ctx, &out),
        Command::Verify(args) => return verify::run(&args, &out),
        Command::Vectors { command } => return vectors::run(&command, &out),
        Command::Demo(args) => return demo::run(&args, &out),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "tessera",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    };
    match result {
        Ok(()) => crate::output::OK,
        Err(e) => out.error(e.code, &e.message),
    }
}

/// What every command that touches the home gets from the global options.
pub struct Context {
    home: Option<PathBuf>,
    passphrase_file: Option<PathBuf>,
}

/// A command's failure: its exit code and one line.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: u8,
    /// The line for the user.
    pub message: String,
}

impl Failure {
    /// Bad usage or input.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: USAGE,
            message: message.into(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure {
            code: HOME,
            message: e.to_string(),
        }
    }
}

impl From<PeerError> for Failure {
    fn from(e: PeerError) -> Self {
        Failure::usage(e.to_string())
    }
}

impl Context {
    /// The home folder's path.
    pub fn home_path(&self) -> Result<PathBuf, Failure> {
        Ok(Home::locate(self.home.as_deref())?)
    }

    /// The existing home.
    pub fn home(&self) -> Result<Home, Failure> {
        Ok(Home::open(&self.home_path()?)?)
    }

    /// The passphrase: `--passphrase-file`, else `TESSERA_PASSPHRASE`, else a prompt without
    /// echo (asked twice when `confirm`).
    pub fn passphrase(&self, prompt: &str, confirm: bool) -> Result<Zeroizing<String>, Failure> {
        passphrase_from(
            self.passphrase_file.as_deref(),
            "TESSERA_PASSPHRASE",
            prompt,
            confirm,
        )
    }
}

/// A passphrase from `file`, else the environment variable `env`, else a no-echo prompt.
pub fn passphrase_from(
    file: Option<&Path>,
    env: &str,
    prompt: &str,
    confirm: bool,
) -> Result<Zeroizing<String>, Failure> {
    if let Some(file) = file {
        let text = Zeroizing::new(
            std::fs::read_to_string(file)
                .map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?,
        );
        let line = text.lines().next().unwrap_or_default();
        return non_empty(Zeroizing::new(line.to_string()));
    }
    if let Ok(p) = std::env::var(env) {
        return non_empty(Zeroizing::new(p));
    }
    let ask = |p: &str| {
        rpassword::prompt_password(p)
            .map(Zeroizing::new)
            .map_err(|e| Failure::usage(format!("no passphrase: {e} (use --passphrase-file)")))
    };
    let first = ask(prompt)?;
    if confirm && *ask("Repeat it: ")? != *first {
        return Err(Failure::usage("the two passphrases differ"));
    }
    non_empty(first)
}

fn non_empty(p: Zeroizing<String>) -> Result<Zeroizing<String>, Failure> {
    if p.is_empty() {
        Err(Failure::usage("the passphrase is empty"))
    } else {
        Ok(p)
    }
}
