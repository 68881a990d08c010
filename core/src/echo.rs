//! The echo complaint shared by the broadcast protocols (design §3.1 step 2, §3.3, §4): when
//! a party's echo hash of a round's signed broadcasts differs from what it saw, the parties
//! involved exchange every signed broadcast they hold. Two different validly signed messages
//! from one sender prove that sender equivocated; copies identical to ours from a party whose
//! echo differed show that party's echo was false.
//!
//! Every signed broadcast ends with its 64-byte identity signature, so two copies are the same
//! message when everything before the signature is equal (a randomized signer may sign one
//! message twice).
//!
//! Body after the header: `count (u16 BE)`, then per broadcast `length (u32 BE) ‖ payload`.

use crate::protocol::{Culprit, Evidence, Fault, Header, PartyIndex};

/// The signed part of a signed broadcast (everything but the trailing signature).
pub fn unsigned(payload: &[u8]) -> &[u8] {
    &payload[..payload.len().saturating_sub(64)]
}

/// Encodes this party's copies of the broadcasts after `header`.
pub fn build(header: &Header, copies: &[&[u8]]) -> Vec<u8> {
    let mut payload = header.encode();
    // Rosters have at most 65535 entries.
    payload.extend_from_slice(&(copies.len() as u16).to_be_bytes());
    for m in copies {
        // A broadcast is far below 4 GiB: the transport caps message sizes well below that.
        payload.extend_from_slice(&(m.len() as u32).to_be_bytes());
        payload.extend_from_slice(m);
    }
    payload
}

/// Splits an evidence body into exactly `count` copies, or `None` if it does not parse.
pub fn decode(body: &[u8], count: usize) -> Option<Vec<&[u8]>> {
    let (n, mut rest) = body.split_first_chunk::<2>()?;
    if usize::from(u16::from_be_bytes(*n)) != count {
        return None;
    }
    let mut copies = Vec::with_capacity(count);
    for _ in 0..count {
        let (len, tail) = rest.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        if len > tail.len() {
            return None;
        }
        let (copy, tail) = tail.split_at(len);
        copies.push(copy);
        rest = tail;
    }
    rest.is_empty().then_some(copies)
}

/// Compares `from`'s copies with ours, position by position. `sender(k)` is the party that
/// signed the broadcast at position k, and `genuine(k, copy)` tells whether `copy` is a validly
/// signed broadcast of that party in this session and round. Returns the proven equivocators,
/// or an error naming `from` if a differing copy is not genuine.
pub fn compare(
    ours: &[&[u8]],
    theirs: &[&[u8]],
    from: PartyIndex,
    me: PartyIndex,
    sender: impl Fn(usize) -> PartyIndex,
    genuine: impl Fn(usize, &[u8]) -> bool,
) -> Result<Vec<Culprit>, Culprit> {
    let mut equivocators = Vec::new();
    for (k, (mine, copy)) in ours.iter().zip(theirs).enumerate() {
        if unsigned(mine) == unsigned(copy) {
            continue;
        }
        if !genuine(k, copy) {
            return Err(Culprit {
                party: from,
                fault: Fault::Malformed(
                    "echo evidence carries a copy that is not a signed broadcast",
                ),
                evidence: Evidence::AccusedBy(me),
            });
        }
        equivocators.push(Culprit {
            party: sender(k),
            fault: Fault::Equivocation,
            evidence: Evidence::Proven(vec![mine.to_vec(), copy.to_vec()]),
        });
    }
    Ok(equivocators)
}
