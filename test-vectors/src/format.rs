//! The `tessera-vectors/v1` file format. All byte strings are lowercase hex in the suite's
//! own encoding (RFC 9591 §4 `SerializeScalar` / `SerializeElement`).

use serde::{Deserialize, Serialize};
use tessera_core::Suite;

/// The format tag every file carries.
pub const FORMAT: &str = "tessera-vectors/v1";

/// Any vector document.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Document {
    /// A signing run (RFC 9591 Appendix E layout, flattened per signer).
    Signing(SigningVector),
    /// Encodings to accept and to reject.
    Encodings(EncodingVector),
}

/// A complete FROST signing run with a trusted-dealer key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SigningVector {
    /// The suite.
    pub suite: Suite,
    /// Where the values come from.
    pub source: String,
    /// t.
    pub threshold: u16,
    /// n (shares are dealt to identifiers 1..=n).
    pub participants: u16,
    /// The dealt secret.
    pub group_secret_key: String,
    /// `SerializeElement` of the group key.
    pub group_public_key: String,
    /// The message.
    pub message: String,
    /// Polynomial coefficients a_1..a_{t-1} (a_0 is the secret).
    pub polynomial_coefficients: Vec<String>,
    /// Expected shares (a subset of 1..=n may be listed).
    pub shares: Vec<ShareValue>,
    /// Each signer's recorded values, in identifier order.
    pub signers: Vec<SignerValues>,
    /// The group signature.
    pub signature: String,
}

/// One participant's share.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShareValue {
    /// Identifier.
    pub id: u16,
    /// `SerializeScalar(share)`.
    pub share: String,
}

/// One signer's values through both rounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignerValues {
    /// Identifier.
    pub id: u16,
    /// The 32 random bytes fed to `nonce_generate` for the hiding nonce.
    pub hiding_randomness: String,
    /// The same for the binding nonce.
    pub binding_randomness: String,
    /// d_i.
    pub hiding_nonce: String,
    /// e_i.
    pub binding_nonce: String,
    /// D_i.
    pub hiding_commitment: String,
    /// E_i.
    pub binding_commitment: String,
    /// The full H1 input for ρ_i.
    pub binding_factor_input: String,
    /// ρ_i.
    pub binding_factor: String,
    /// z_i.
    pub signature_share: String,
}

/// Encodings a suite must accept or reject.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncodingVector {
    /// The suite.
    pub suite: Suite,
    /// Where the values come from.
    pub source: String,
    /// Byte strings `DeserializeElement` must reject.
    #[serde(default)]
    pub invalid_points: Vec<Labelled>,
    /// Byte strings `DeserializeScalar` must reject.
    #[serde(default)]
    pub invalid_scalars: Vec<Labelled>,
    /// Points that must decode and re-encode to the same bytes.
    #[serde(default)]
    pub valid_points: Vec<String>,
    /// Scalars that must decode and re-encode to the same bytes.
    #[serde(default)]
    pub valid_scalars: Vec<String>,
    /// An identifier and its encoding.
    #[serde(default)]
    pub identifier: Option<IdentifierValue>,
}

/// A byte string with a note saying why it is there.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Labelled {
    /// Hex bytes.
    pub bytes: String,
    /// Why.
    #[serde(default)]
    pub note: String,
}

/// An identifier and its `SerializeScalar` encoding.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IdentifierValue {
    /// The integer.
    pub value: u16,
    /// Hex encoding.
    pub bytes: String,
}
