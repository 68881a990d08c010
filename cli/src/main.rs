//! `tessera`: the command line of the tessera threshold-signing toolkit. Every command and its
//! exit codes are in [`tessera_cli::commands`].
#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    std::process::ExitCode::from(tessera_cli::commands::main())
}
