//! The echo complaint (design §3.1 step 2): when a round-2 echo hash differs from what this
//! party saw, every party involved sends all n signed round-1 messages it holds. Two
//! different validly signed round-1 messages from one sender prove that sender equivocated;
//! copies identical to ours from a party whose echo differed prove that party's echo false
//! (accused: its round-2 message is not signed).
//!
//! Body after the header: `n (u16 BE)`, then per roster entry `length (u32 BE) ‖ payload`.

use tessera_core::{
    protocol::{Header, Kind},
    Culprit, Evidence, Fault, IdentityKey, PartyIndex, SessionId,
};

use super::round1;

/// Encodes this party's copies of every round-1 message.
pub(crate) fn build(header: &Header, round1: &[&[u8]]) -> Vec<u8> {
    let mut payload = header.encode();
    // The roster has at most 65535 entries.
    payload.extend_from_slice(&(round1.len() as u16).to_be_bytes());
    for m in round1 {
        // A round-1 payload is far below 4 GiB (at most 65535 points plus a few fields).
        payload.extend_from_slice(&(m.len() as u32).to_be_bytes());
        payload.extend_from_slice(m);
    }
    payload
}

/// Splits an evidence body into its n copies.
pub(crate) fn decode(body: &[u8], n: usize) -> Option<Vec<&[u8]>> {
    let (count, mut rest) = body.split_first_chunk::<2>()?;
    if usize::from(u16::from_be_bytes(*count)) != n {
        return None;
    }
    let mut copies = Vec::with_capacity(n);
    for _ in 0..n {
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

/// Compares `from`'s copies with ours. Returns the proven equivocators, or an error naming
/// `from` if one of its copies is not a validly signed round-1 message of this session.
pub(crate) fn compare(
    session: &SessionId,
    context: &[u8; 32],
    roster: &[IdentityKey],
    ours: &[&[u8]],
    theirs: &[&[u8]],
    from: PartyIndex,
    me: PartyIndex,
) -> Result<Vec<Culprit>, Culprit> {
    let mut equivocators = Vec::new();
    for (k, (mine, copy)) in ours.iter().zip(theirs).enumerate() {
        // k indexes the roster, which has at most 65535 entries.
        let k = k as PartyIndex;
        if round1::unsigned(mine) == round1::unsigned(copy) {
            continue;
        }
        let genuine = matches!(
            Header::decode(copy),
            Ok((h, _)) if h.kind == Kind::Keygen && &h.session == session && h.round == 1
        ) && round1::signature_valid(copy, context, k, &roster[usize::from(k)]);
        if !genuine {
            return Err(Culprit {
                party: from,
                fault: Fault::Malformed(
                    "echo evidence carries a copy that is not a signed round-1 message",
                ),
                evidence: Evidence::AccusedBy(me),
            });
        }
        equivocators.push(Culprit {
            party: k,
            fault: Fault::Equivocation,
            evidence: Evidence::Proven(vec![mine.to_vec(), copy.to_vec()]),
        });
    }
    Ok(equivocators)
}
