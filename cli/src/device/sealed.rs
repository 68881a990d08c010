//! Sealed secret files (design §5): the device identity and each share epoch, encrypted with
//! the home's data key under XChaCha20-Poly1305 with a fresh nonce.
//!
//! Layout: `"TSRA" ‖ format (u8, 1) ‖ kind (u8) ‖ header length (u16 BE) ‖ header ‖ nonce (24)
//! ‖ ciphertext ‖ tag (16)`. Everything before the nonce is the associated data, so the header
//! (for a share: suite, key id, epoch, party id) is authenticated with the secret, and a file
//! copied into another key's or epoch's slot does not open there.

use std::path::Path;

use chacha20poly1305::{AeadInOut, XNonce};
use zeroize::Zeroizing;

use crate::device::{
    error::StoreError,
    keyring::{random, DataKey},
};

const MAGIC: &[u8; 4] = b"TSRA";
const FORMAT: u8 = 1;
const NONCE_LEN: usize = 24;

/// What a sealed file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// The device's identity seed (its libp2p Ed25519 key).
    Identity = 1,
    /// One epoch's signing share.
    Share = 2,
}

/// Seals `secret` as a file of `kind` with `header` bound to it.
pub fn seal(
    key: &DataKey,
    kind: Kind,
    header: &[u8],
    secret: &[u8],
) -> Result<Vec<u8>, StoreError> {
    let header_len = u16::try_from(header.len())
        .map_err(|_| StoreError::corrupt(Path::new("(sealing)"), "header too long"))?;
    let mut out = Vec::with_capacity(8 + header.len() + NONCE_LEN + secret.len() + 16);
    out.extend_from_slice(MAGIC);
    out.push(FORMAT);
    out.push(kind as u8);
    out.extend_from_slice(&header_len.to_be_bytes());
    out.extend_from_slice(header);
    let aad_len = out.len();
    let nonce: [u8; NONCE_LEN] = random()?;
    out.extend_from_slice(&nonce);
    // Sized for the tag: encrypting in place never reallocates the plaintext.
    let mut buffer = Zeroizing::new(Vec::with_capacity(secret.len() + 16));
    buffer.extend_from_slice(secret);
    key.cipher()
        .encrypt_in_place(&XNonce::from(nonce), &out[..aad_len], &mut *buffer)
        .map_err(|_| StoreError::corrupt(Path::new("(sealing)"), "encryption failed"))?;
    out.extend_from_slice(&buffer);
    Ok(out)
}

/// Opens the sealed file `bytes` (read from `path`), which must be of `kind` with exactly
/// `header`: the slot it is read for.
pub fn open(
    key: &DataKey,
    path: &Path,
    bytes: &[u8],
    kind: Kind,
    header: &[u8],
) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let short = || StoreError::corrupt(path, "truncated");
    if bytes.get(..4) != Some(MAGIC.as_slice()) {
        return Err(StoreError::corrupt(path, "not a sealed tessera file"));
    }
    let format = *bytes.get(4).ok_or_else(short)?;
    if format > FORMAT {
        return Err(StoreError::NewerFormat {
            path: path.to_path_buf(),
            found: format.into(),
        });
    }
    if format != FORMAT || bytes.get(5) != Some(&(kind as u8)) {
        return Err(StoreError::corrupt(path, "not the expected kind of file"));
    }
    let len = bytes.get(6..8).ok_or_else(short)?;
    let aad_len = 8 + usize::from(u16::from_be_bytes([len[0], len[1]]));
    if bytes.get(8..aad_len) != Some(header) {
        return Err(StoreError::corrupt(
            path,
            "it belongs to another key, epoch or device",
        ));
    }
    let nonce: [u8; NONCE_LEN] = bytes
        .get(aad_len..aad_len + NONCE_LEN)
        .ok_or_else(short)?
        .try_into()
        .map_err(|_| short())?;
    let mut buffer = Zeroizing::new(bytes.get(aad_len + NONCE_LEN..).ok_or_else(short)?.to_vec());
    key.cipher()
        .decrypt_in_place(&XNonce::from(nonce), &bytes[..aad_len], &mut *buffer)
        .map_err(|_| StoreError::corrupt(path, "authentication failed"))?;
    Ok(buffer)
}
