//! # tessera-sign
//!
//! FROST threshold Schnorr signing, RFC 9591, for the three tessera suites, as pure functions
//! and state holders with no IO.
//!
//! The flow (RFC 9591 §5, design §3.2):
//!
//! 1. Everyone agrees on a [`SigningRequest`]: session id, message, tweak (derivation path,
//!    TapTweak) and signer set S. Each signer approves it *before* round 1 and builds a
//!    [`Signer`], which checks `|S| >= t`, `S ⊆ committee` and derives the final key Q itself.
//! 2. Round 1: [`Signer::commit`] draws hedged nonces ([`SigningNonces`], held only in memory,
//!    not `Clone`/`Copy`/`Serialize`) and publishes [`SigningCommitments`].
//! 3. The coordinator sends one [`SigningPackage`]; [`Signer::sign`] consumes the nonces by
//!    value, checks the package against what was approved and returns a [`SignatureShare`].
//! 4. [`Aggregator::aggregate`] verifies the group signature first and, only if it fails,
//!    every share, naming all culprits. [`verify`] checks a [`Signature`].
//!
//! ```
//! use std::collections::{BTreeMap, BTreeSet};
//! use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
//! use tessera_core::{Identifier, Taproot, Tweak};
//! use tessera_sign::{Aggregator, Signer, SigningPackage, SigningRequest};
//!
//! let mut rng = ChaCha20Rng::seed_from_u64(1);
//! let (keys, public) = tessera_keygen::dealer::split_random::<Taproot>(2, 3, &mut rng)?;
//! let request = SigningRequest {
//!     session_id: [7; 32],
//!     message: b"pay 1 BTC".to_vec(),
//!     tweak: Tweak::bip86(),
//!     signers: BTreeSet::from([keys[0].identifier(), keys[2].identifier()]),
//! };
//! let mut signers: Vec<Signer<Taproot>> = [&keys[0], &keys[2]]
//!     .into_iter()
//!     .map(|k| Signer::new(k, request.clone()))
//!     .collect::<Result<_, _>>()?;
//! let mut nonces = Vec::new();
//! let mut commitments = BTreeMap::<Identifier, _>::new();
//! for s in &mut signers {
//!     let (n, c) = s.commit(&mut rng)?;
//!     nonces.push(n);
//!     commitments.insert(s.identifier(), c);
//! }
//! let package = SigningPackage::new(commitments, request.message.clone());
//! let shares = signers
//!     .iter()
//!     .zip(nonces)
//!     .map(|(s, n)| Ok((s.identifier(), s.sign(n, &package)?)))
//!     .collect::<Result<BTreeMap<_, _>, tessera_sign::SignError>>()?;
//! let aggregator = Aggregator::new(&public, request)?;
//! let signature = aggregator.aggregate(&package, &shares)?;
//! tessera_sign::verify::<Taproot>(aggregator.session().output_key(), b"pay 1 BTC", &signature)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## As a sans-IO protocol
//!
//! [`SignParty`] runs the same flow as a [`tessera_core::Protocol`] (`Kind::Sign`) with no
//! coordinator (RFC 9591 §7.5): every signer broadcasts its commitments (round 1, signed with
//! its device identity key), builds the [`SigningPackage`] itself once all are in, broadcasts
//! its share with an echo of the round-1 messages it used (round 2), and aggregates. The
//! party is built from its `KeyPackage`, the approved [`SigningRequest`] (whose session id is
//! the session's), the roster (S in identifier order with identity keys), its identity signer
//! and an RNG; it outputs a [`SignOutput`] (the verified signature and the output key Q). The
//! nonces never leave the party and are consumed by its one round 2. Every failure is a
//! [`SignProtocolError`] naming the culprit: signed round-1 messages make equivocation
//! *proven*; bad shares and malformed messages are *accused by* the receiving party. The
//! [`protocol`] module documents the message formats and checks. [`SignBatch`] signs several
//! messages (a transaction's inputs) in one session, one [`SignParty`] per message.
#![forbid(unsafe_code)]

mod aggregate;
pub mod batch;
mod error;
mod package;
pub mod protocol;
mod request;
mod round1;
mod round2;
mod signature;

pub use aggregate::Aggregator;
pub use batch::{SignBatch, SignBatchError, SignItem};
pub use error::{SignError, SignProtocolError, VerifyError};
pub use package::{
    binding_factor_input_prefix, compute_binding_factors, encode_group_commitment_list,
    SigningPackage,
};
pub use protocol::{SignOutput, SignParty, ROUND1_PURPOSE};
pub use request::{SessionKey, SigningRequest};
pub use round1::{nonce_generate, SigningCommitments, SigningNonces};
pub use round2::{SignatureShare, Signer};
pub use signature::{verify, verify_bytes, Signature};
