//! A test-only hook that makes a real node deviate (design §4.8): every protocol message the
//! node is about to send passes through it, once per recipient, after the protocol built it
//! and before the transport takes it. The hook returns what to send instead: the message
//! unchanged, changed, replaced, several messages, or nothing (silence).
//!
//! Honest nodes have no hook ([`NodeConfig::tamper`](crate::NodeConfig::tamper) is `None`).
//! Tests set one directly, or, for a `tessera` process, with `TESSERA_TEST_TAMPER`, which
//! [`from_env`] reads only in builds with the `testing` feature and debug assertions (the
//! test builds): a release build ignores it.

use std::sync::Arc;

use tessera_core::{protocol::Kind, PartyIndex, SessionId};

/// A message this node is about to send to one recipient.
#[derive(Debug, Clone, Copy)]
pub struct Outbound<'a> {
    /// The session.
    pub session: &'a SessionId,
    /// Its protocol, from the message's header.
    pub kind: Kind,
    /// Its round, from the message's header.
    pub round: u8,
    /// The recipient's roster index.
    pub to: PartyIndex,
    /// The message.
    pub payload: &'a [u8],
}

/// What a deviating node sends instead of each message (see the module doc).
pub type Tamper = Arc<dyn Fn(Outbound<'_>) -> Vec<Vec<u8>> + Send + Sync>;

/// The hook `TESSERA_TEST_TAMPER=KIND:ROUND:ACTION` asks for, in builds with the `testing`
/// feature and debug assertions (test builds); `None` otherwise, and when the variable is
/// unset or malformed.
///
/// `KIND` is `keygen`, `certify`, `sign`, `reshare` or `repair`; `ROUND` a round number;
/// `ACTION` one of:
/// - `flip`: flips the low bit of the 17th byte after the header and identifier (in a
///   signing round-2 message, a middle byte of the share z_i: a wrong share);
/// - `drop`: sends nothing (silence in that round);
/// - `garbage`: sends as many bytes of 0x5a.
pub fn from_env() -> Option<Tamper> {
    // Test builds only: the feature comes from dev-dependencies, and debug assertions are
    // off in every release build (also one with dev-dependencies, `cargo test --release`).
    if !cfg!(all(feature = "testing", debug_assertions)) {
        return None;
    }
    let spec = std::env::var("TESSERA_TEST_TAMPER").ok()?;
    let tamper = parse(&spec)?;
    tracing::warn!(%spec, "TESSERA_TEST_TAMPER is set: this node deviates from the protocols");
    Some(tamper)
}

/// The offset [`from_env`]'s `flip` changes: 16 bytes into the first field after the
/// header and the two-byte identifier.
const FLIP_AT: usize = tessera_core::protocol::Header::LEN + 2 + 16;

fn parse(spec: &str) -> Option<Tamper> {
    let mut parts = spec.split(':');
    let kind = Kind::from_name(parts.next()?)?;
    let round: u8 = parts.next()?.parse().ok()?;
    let action = parts.next()?.to_string();
    if parts.next().is_some() || !["flip", "drop", "garbage"].contains(&action.as_str()) {
        return None;
    }
    Some(Arc::new(move |out: Outbound<'_>| {
        if out.kind != kind || out.round != round {
            return vec![out.payload.to_vec()];
        }
        let mut payload = out.payload.to_vec();
        match action.as_str() {
            "drop" => return Vec::new(),
            "garbage" => payload.fill(0x5a),
            _ => {
                if let Some(b) = payload.get_mut(FLIP_AT) {
                    *b ^= 1;
                }
            }
        }
        vec![payload]
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: Kind, round: u8) -> Vec<u8> {
        let mut m = tessera_core::protocol::Header {
            kind,
            session: [1; 32],
            round,
        }
        .encode();
        m.extend_from_slice(&[0; 40]);
        m
    }

    fn apply(t: &Tamper, kind: Kind, round: u8) -> Vec<Vec<u8>> {
        let m = message(kind, round);
        t(Outbound {
            session: &[1; 32],
            kind,
            round,
            to: 1,
            payload: &m,
        })
    }

    #[test]
    fn specs_choose_kind_round_and_action() {
        let flip = parse("sign:2:flip").unwrap();
        let changed = apply(&flip, Kind::Sign, 2);
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0][FLIP_AT], 1);
        assert_eq!(apply(&flip, Kind::Sign, 1), vec![message(Kind::Sign, 1)]);
        assert_eq!(
            apply(&flip, Kind::Keygen, 2),
            vec![message(Kind::Keygen, 2)]
        );
        assert!(apply(&parse("reshare:3:drop").unwrap(), Kind::Reshare, 3).is_empty());
        let garbage = apply(&parse("keygen:1:garbage").unwrap(), Kind::Keygen, 1);
        assert!(garbage[0].iter().all(|b| *b == 0x5a));
        for bad in [
            "",
            "sign",
            "sign:x:flip",
            "sign:2:eat",
            "sign:2:flip:3",
            "mint:1:drop",
        ] {
            assert!(parse(bad).is_none(), "{bad}");
        }
    }
}
