//! `tessera passphrase change`: re-wrap the home's data key under a new passphrase (design
//! §5). One atomic write of the keyring; the secret files are untouched, so an interrupted
//! change leaves the old passphrase working.

use serde_json::json;

use super::{passphrase_from, Context, Failure};
use crate::output::Output;

/// `tessera passphrase …`
#[derive(clap::Subcommand)]
pub enum Command {
    /// Change the passphrase (the new one from --new-passphrase-file, $TESSERA_NEW_PASSPHRASE
    /// or a prompt).
    Change {
        /// Read the new passphrase from the first line of this file.
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: Option<std::path::PathBuf>,
    },
}

/// Runs `tessera passphrase …`.
pub fn run(command: &Command, ctx: &Context, out: &Output) -> Result<(), Failure> {
    let Command::Change {
        new_passphrase_file,
    } = command;
    let home = ctx.home()?;
    let old = ctx.passphrase("Current passphrase: ", false)?;
    let new = passphrase_from(
        new_passphrase_file.as_deref(),
        "TESSERA_NEW_PASSPHRASE",
        "New passphrase: ",
        true,
    )?;
    home.change_passphrase(old.as_bytes(), new.as_bytes())?;
    out.line(
        || "passphrase changed".into(),
        || json!({ "passphrase": "changed" }),
    );
    Ok(())
}
