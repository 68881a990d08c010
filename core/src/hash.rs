//! Domain-separated hashing for tessera's own transcripts and the BIP-340 tagged hash.
//!
//! The RFC 9591 hash functions H1..H5 live on each [`Ciphersuite`](crate::Ciphersuite);
//! this module covers everything tessera hashes outside the standard: hedged nonce inputs,
//! request digests, transcripts. Every such hash names its purpose in a tag, and every part
//! is length-prefixed so that no two different part lists hash alike.

use sha2::{Digest, Sha256};

/// BIP-340 tagged hash: `SHA256(SHA256(tag) || SHA256(tag) || parts...)`.
///
/// The parts are concatenated without length prefixes, exactly as BIP-340 and BIP-341 use it
/// (`BIP0340/challenge`, `TapTweak`).
pub fn tagged_hash(tag: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let tag_hash = Sha256::digest(tag);
    let mut h = Sha256::new();
    h.update(tag_hash);
    h.update(tag_hash);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// tessera's transcript hash: a BIP-340 tagged hash under `tag` in which every part is
/// preceded by its length as a big-endian u64, so the encoding of the part list is injective.
pub fn transcript_hash(tag: &str, parts: &[&[u8]]) -> [u8; 32] {
    let tag_hash = Sha256::digest(tag.as_bytes());
    let mut h = Sha256::new();
    h.update(tag_hash);
    h.update(tag_hash);
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transcript_hash_is_injective_on_part_boundaries() {
        let a = transcript_hash("t", &[b"ab", b"c"]);
        let b = transcript_hash("t", &[b"a", b"bc"]);
        assert_ne!(a, b);
        assert_ne!(transcript_hash("t", &[b"x"]), transcript_hash("u", &[b"x"]));
    }

    #[test]
    fn tagged_hash_matches_bip340_construction() {
        // SHA256(SHA256("TapTweak") || SHA256("TapTweak") || m) computed by hand.
        let th = Sha256::digest(b"TapTweak");
        let mut buf = Vec::new();
        buf.extend_from_slice(&th);
        buf.extend_from_slice(&th);
        buf.extend_from_slice(b"abc");
        let want: [u8; 32] = Sha256::digest(&buf).into();
        assert_eq!(tagged_hash(b"TapTweak", &[b"a", b"bc"]), want);
    }
}
