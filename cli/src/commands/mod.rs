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

pub mod approve;
pub mod config;
pub mod demo;
pub mod health;
pub mod init;
pub mod keygen;
pub mod keys;
pub mod log;
pub mod node;
pub mod passphrase;
pub mod peers;
pub mod refresh;
pub mod relay;
pub mod repair;
pub mod reshare;
pub mod sign;
pub mod status;
pub mod vectors;
pub mod verify;

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
};

use clap::{CommandFactory, Parser, Subcommand};
use zeroize::Zeroizing;

use crate::{
    device::{control, node::Runtime, peers::PeerError, Home, StoreError},
    output::{Output, USAGE},
};

/// Exit code: the home refused.
pub const HOME: u8 = 3;

/// Multiaddrs given on the command line; the first that does not parse is a usage error.
pub fn multiaddrs(given: &[impl AsRef<str>]) -> Result<Vec<tessera_p2p::Multiaddr>, Failure> {
    given
        .iter()
        .map(|a| {
            let a = a.as_ref();
            a.parse()
                .map_err(|_| Failure::usage(format!("not a multiaddr: {a}")))
        })
        .collect()
}

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
    /// More log lines on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// No progress lines while waiting for peers.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand)]
pub enum Command {
    /// Create this device's home: its identity, keyring and configuration.
    Init(init::Args),
    /// Serve the sessions known peers propose; hand the other commands' work to it.
    Node(node::Args),
    /// Create a key with known peers (this device takes part).
    Keygen(keygen::Args),
    /// Co-sign a message with a key.
    Sign(sign::Args),
    /// Move a key to a new committee or threshold; its address stays (not revocation).
    Reshare(reshare::Args),
    /// New shares of a key for the same committee and threshold.
    Refresh(refresh::Args),
    /// Get this device's lost share of a key back from t helpers, each approving.
    Repair(repair::Args),
    /// Check that every share of a key is there and works: a test signature with every device.
    Health(health::Args),
    /// Decide a proposal a running node holds for a person, or list them.
    Approve(approve::Args),
    /// What the running node is doing: addresses, connected peers, pending epochs,
    /// waiting requests, last failures.
    Status(status::Args),
    /// Show or change this home's configuration (the relay).
    Config {
        #[command(subcommand)]
        command: config::Command,
    },
    /// Run a relay node for devices that cannot dial each other directly.
    Relay(relay::Args),
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
    logging(cli.verbose);
    let out = Output {
        json: cli.json,
        quiet: cli.quiet,
    };
    let ctx = Context {
        home: cli.home.clone(),
        passphrase_file: cli.passphrase_file.clone(),
    };
    let result = match cli.command {
        Command::Init(args) => init::run(&args, &ctx, &out),
        Command::Node(args) => node::run(&args, &ctx, &out),
        Command::Keygen(args) => keygen::run(&args, &ctx, &out),
        Command::Sign(args) => sign::run(&args, &ctx, &out),
        Command::Reshare(args) => reshare::run(&args, &ctx, &out),
        Command::Refresh(args) => refresh::run(&args, &ctx, &out),
        Command::Health(args) => health::run(&args, &ctx, &out),
        Command::Repair(args) => repair::run(&args, &ctx, &out),
        Command::Approve(args) => approve::run(&args, &ctx, &out),
        Command::Status(args) => status::run(&args, &ctx, &out),
        Command::Config { command } => config::run(&command, &ctx, &out),
        Command::Relay(args) => relay::run(&args, &ctx, &out),
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

/// Log lines on stderr: `RUST_LOG` if set, else warnings, more with each `-v`.
fn logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
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

/// A tokio runtime for a command that runs a node.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::usage(format!("runtime: {e}")))
}

/// Runs `request` on the node of `home`: over the control socket when `tessera node` runs
/// there, else on a node started in this process for the command's duration. Progress goes to
/// stderr.
pub fn dispatch(
    ctx: &Context,
    home: &Home,
    request: &control::Request,
    out: &Output,
) -> Result<serde_json::Value, Failure> {
    let (json, quiet) = (out.json, out.quiet);
    // On a terminal, a spinner with the latest progress; elsewhere, one line each.
    let spinner = (!json && !quiet && std::io::stderr().is_terminal()).then(|| {
        let s = indicatif::ProgressBar::new_spinner();
        s.enable_steady_tick(std::time::Duration::from_millis(120));
        s
    });
    let show = |p: &str| {
        if quiet {
            return;
        }
        match (&spinner, json) {
            (Some(s), _) => s.set_message(p.to_string()),
            (None, true) => eprintln!("{}", serde_json::json!({ "progress": p })),
            (None, false) => eprintln!("... {p}"),
        }
    };
    let result = run_request(ctx, home, request, &show);
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    result
}

/// [`dispatch`] without the display: the running node's answer, or one from a node started
/// in this process.
fn run_request(
    ctx: &Context,
    home: &Home,
    request: &control::Request,
    show: &dyn Fn(&str),
) -> Result<serde_json::Value, Failure> {
    if let Some(answer) = control::call(home.root(), request, &mut |p| show(p)) {
        return answer.map_err(|(code, message)| Failure { code, message });
    }
    let mut opts = node::options(home, false, false, 600, &[])?;
    // A repair's own key may be damaged or gone: the node starts without it.
    if let control::Request::Repair { key, .. } = request {
        opts.skip_damaged = Some(key.clone());
    }
    // A node started for one command signs PSBTs on the network that command names.
    if let control::Request::SignTransaction {
        kind: crate::device::transaction::TxKind::Psbt { network, .. },
        ..
    } = request
    {
        opts.network = *network;
    }
    let passphrase = ctx.passphrase("Passphrase: ", false)?;
    runtime()?.block_on(async {
        let runtime = std::sync::Arc::new(
            Runtime::start(home.clone(), passphrase.as_bytes(), opts)
                .await
                .map_err(node::failure)?,
        );
        tokio::spawn(runtime.clone().serve());
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let work = {
            let (runtime, request) = (runtime.clone(), request.clone());
            tokio::spawn(async move { control::answer(&runtime, request, &tx).await })
        };
        while let Some(reply) = rx.recv().await {
            if let control::Reply::Progress(p) = reply {
                show(&p);
            }
        }
        match work.await {
            Ok(control::Reply::Done(v)) => Ok(v),
            Ok(control::Reply::Failed { code, message }) => Err(Failure { code, message }),
            _ => Err(Failure {
                code: crate::output::FAILED,
                message: "the request ended without an answer".into(),
            }),
        }
    })
}

/// A passphrase from `file`, else the environment variable `env`, else a no-echo prompt.
pub fn passphrase_from(
    file: Option<&Path>,
    env: &str,
    prompt: &str,
    confirm: bool,
) -> Result<Zeroizing<String>, Failure> {
    if let Some(file) = file {
        // `fs::read` sizes its buffer from the file, so no reallocation leaves a copy behind.
        let bytes = Zeroizing::new(
            std::fs::read(file).map_err(|e| Failure::usage(format!("{}: {e}", file.display())))?,
        );
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| Failure::usage(format!("{}: not UTF-8 text", file.display())))?;
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
