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
    /// A reference DKG in ZF FROST's layout: each party's polynomial, proof and shares.
    Dkg(DkgVector),
    /// A complete run of tessera's own DKG and certification, message by message.
    #[serde(rename = "dkg-run")]
    DkgRun(DkgRunVector),
    /// The sums of share repair (design §3.4) in ZF FROST's `repair-share.json` layout.
    Repair(RepairVector),
}

/// Share repair's two summations: a helper's σ from the parts it received (ZF
/// `repair_share_part2`) and the lost share from the σs (ZF `repair_share_part3`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RepairVector {
    /// The suite.
    pub suite: Suite,
    /// Where the values come from.
    pub source: String,
    /// Parts a helper received (scalars).
    pub parts: Vec<String>,
    /// Their sum, the helper's σ.
    pub sigma: String,
    /// The σs the lost party received.
    pub sigmas: Vec<String>,
    /// Their sum, the repaired share.
    pub share: String,
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

/// A reference Pedersen DKG (ZF FROST `vectors_dkg.json`, Komlo–Goldberg KeyGen): every party's
/// polynomial, commitments and proof of knowledge, the shares it received, and its results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DkgVector {
    /// The suite.
    pub suite: Suite,
    /// Where the values come from.
    pub source: String,
    /// t.
    pub threshold: u16,
    /// n.
    pub participants: u16,
    /// What was applied to the results (signing shares, verifying shares, group key) after
    /// the DKG. Commitments, proofs and received shares are never tweaked.
    #[serde(default)]
    pub post_dkg: PostDkg,
    /// `SerializeElement` of the group key (after `post_dkg`).
    pub group_public_key: String,
    /// Every party, in identifier order.
    pub parties: Vec<DkgParty>,
}

/// A transformation of the DKG's results before they were recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostDkg {
    /// The results as the DKG produced them.
    #[default]
    None,
    /// ZF FROST `frost-secp256k1-tr` `post_dkg`: the group key P made even-y, then the BIP-86
    /// TapTweak `t = hash_TapTweak(x(P))` added (`s_i + t`, `Y_i + t·G`, `Q = P + t·G`); the
    /// parity of Q is kept, where tessera's `KeyTweak` also makes Q even-y.
    Bip86,
}

/// One party of a reference DKG.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DkgParty {
    /// Identifier.
    pub id: u16,
    /// Its polynomial's coefficients `a_i0 … a_i,t-1`.
    pub coefficients: Vec<String>,
    /// Its Feldman commitments `a_ik·G`.
    pub commitments: Vec<String>,
    /// `R ‖ μ` in the suite's signature encoding (x-only R for taproot).
    pub proof_of_knowledge: String,
    /// The proof's nonce k (`R = k·G`), when the source records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_nonce: Option<String>,
    /// `f_j(i)`: the share it received from every other party j.
    pub received_shares: Vec<ReceivedShare>,
    /// Its signing share `s_i = Σ_j f_j(i)` (after `post_dkg`).
    pub signing_share: String,
    /// Its verifying share `s_i·G` (after `post_dkg`).
    pub verifying_share: String,
}

/// A share one party received from another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReceivedShare {
    /// The sender's identifier.
    pub from: u16,
    /// `SerializeScalar(f_from(receiver))`.
    pub share: String,
}

/// A run of tessera's DKG (design §3.1) and certification through the simulation harness in
/// plain delivery order, with everything needed to rebuild each party exactly.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DkgRunVector {
    /// The suite.
    pub suite: Suite,
    /// Where the values come from.
    pub source: String,
    /// The session id of the DKG and of the certification.
    pub session: String,
    /// t.
    pub threshold: u16,
    /// The parties in roster order (party i has identifier i + 1).
    pub parties: Vec<RunParty>,
    /// Every DKG message, in sending order.
    pub dkg_messages: Vec<RunMessage>,
    /// Every certification message, in sending order.
    pub certify_messages: Vec<RunMessage>,
    /// The untweaked group key P.
    pub group_key: String,
    /// The verifying shares of identifiers 1..=n.
    pub verifying_shares: Vec<String>,
    /// The chain code fixed by the transcript.
    pub chain_code: String,
    /// The key id (transcript hash) every party confirmed.
    pub key_id: String,
    /// The certificate's signatures, in roster order.
    pub certificate: Vec<String>,
}

/// One party of a DKG run: how to rebuild it, and its private results.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunParty {
    /// The 32-byte seed of its identity key (`Ed25519Identity::from_seed`).
    pub identity_seed: String,
    /// Its identity key: its roster entry.
    pub identity: String,
    /// Its RNG: `ChaCha20Rng::seed_from_u64(rng_seed)`, passed to `Dkg::new`.
    pub rng_seed: u64,
    /// Its signing share.
    pub signing_share: String,
    /// Its confirmation: an identity signature over the key id.
    pub confirmation: String,
}

/// One message as the harness recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunMessage {
    /// The sender's roster index.
    pub from: u16,
    /// The recipient.
    pub to: RunRecipient,
    /// The payload.
    pub payload: String,
}

/// A message's recipient: a roster index or `"all"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RunRecipient {
    /// One party.
    One(u16),
    /// Everyone else (`"all"`).
    All(Everyone),
}

/// The string `"all"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Everyone {
    /// `"all"`.
    #[serde(rename = "all")]
    All,
}
