//! `tessera`: the command line of the tessera threshold-signing toolkit.
//!
//! Exit codes (every command): 0 success; 1 the check failed (invalid signature, vector
//! mismatch, a demo step failed); 2 bad usage or undecodable input.
#![forbid(unsafe_code)]

mod demo;
mod output;
mod vectors;
mod verify;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tessera_core::Suite;

/// tessera: MPC threshold signing (FROST) for ed25519, secp256k1 and Taproot.
#[derive(Parser)]
#[command(name = "tessera", version, about, long_about = None)]
#[command(after_help = "Exit codes: 0 success, 1 check failed, 2 bad usage or undecodable input.")]
struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = output::Output { json: cli.json };
    let code = match cli.command {
        Command::Verify(args) => verify::run(&args, &out),
        Command::Vectors { command } => vectors::run(&command, &out),
        Command::Demo(args) => demo::run(&args, &out),
    };
    ExitCode::from(code)
}

/// Parses a suite name for clap.
fn parse_suite(s: &str) -> Result<Suite, String> {
    s.parse()
        .map_err(|e: tessera_core::suite::UnknownSuite| e.to_string())
}
