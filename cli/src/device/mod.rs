//! What a device keeps and approves (design §1, §5, §6): its home folder, keyring and sealed
//! secrets, and its keys' epochs on disk.

pub mod address;
pub mod approval;
pub mod audit;
pub mod control;
pub mod crash;
pub mod error;
pub mod files;
pub mod home;
pub mod jobs;
pub mod keyring;
pub mod keystore;
pub mod metrics;
pub mod node;
pub mod peers;
pub mod psbt;
pub mod relay;
pub mod sealed;
pub mod solana;
pub mod store;
pub mod transaction;

pub use error::StoreError;
pub use home::{Config, Home, Unlocked};
pub use keystore::{Epoch, Keystore, Mark, Stored};
