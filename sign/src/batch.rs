//! Several FROST signatures in one session (design §3.2, "Several messages"): one
//! [`SignParty`] per item, run in lockstep, their messages carried together.
//!
//! A transaction with k inputs needs k signatures, each over its own message (a BIP-341
//! sighash) and possibly under its own key (a child of the group key). One approval and one
//! session cover them all: a [`SignBatch`] holds k signing parties, each with its own
//! request whose session id is [`item_session`] of the batch's session and the item's index,
//! so each item draws its own nonces for its own message and no commitment serves two items.
//! Every check, blame and proof of the single-message protocol applies to each item as is.
//!
//! ## Messages
//!
//! `header (Kind::Sign, the batch's session, round) ‖ count (u16) ‖ count × (length (u32) ‖
//! the item's own message)`, where `count` is the number of items and a length of zero means
//! "nothing for this item in this message". The header's round is the round of every item's
//! message in it, and a round-1 or round-2 message carries one for every item: the items move
//! in lockstep, so a sender cannot feed them one at a time and make a party send two
//! different messages of one round. Only a proof of equivocation (round 3) may leave items
//! out. A message whose header, count, lengths or rounds do not fit is the sender's fault;
//! everything inside an item is checked by that item's party.

use std::{collections::BTreeSet, sync::Arc};

use tessera_core::{
    hash::transcript_hash,
    protocol::{describe, Blame, Culprit, Header, Kind, Outgoing, Recipient},
    Ciphersuite, Evidence, Fault, Identifier, IdentityKey, IdentitySigner, KeyPackage, PartyIndex,
    Protocol, SessionId, Step, Tweak,
};

use crate::{
    error::SignProtocolError,
    protocol::{SignOutput, SignParty},
    request::SigningRequest,
};

/// The most items one session signs. A round-2 item carries an echo of every signer's
/// round-1 message, so k items of n signers make a message of about k·n·170 bytes; callers
/// keep that under the transport's frame limit too.
pub const MAX_ITEMS: usize = 256;

/// The most items times signers one session signs: a round-2 message of 1280 items·signers
/// is under 256 KiB in every suite (about 170 bytes of echo per item and signer).
pub const MAX_ITEM_SIGNERS: usize = 1280;

/// The rounds of [`SignParty`]: commitments, shares, and a proof of equivocation.
const ROUNDS: [u8; 3] = [1, 2, 3];
/// The one round whose messages may leave items out.
const PROOF: u8 = 3;

/// The domain of [`item_session`].
const ITEM_SESSION: &str = "tessera/frost/batch-item/v1";

/// The session id of item `index` of the batch with session id `session`.
pub fn item_session(session: &SessionId, index: u16) -> SessionId {
    transcript_hash(ITEM_SESSION, &[session, &index.to_be_bytes()])
}

/// One message to sign and the key to sign it under.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignItem {
    /// The message (for Bitcoin, an input's BIP-341 sighash).
    pub message: Vec<u8>,
    /// The derivation path and TapTweak of the key that signs it.
    pub tweak: Tweak,
}

/// Why a [`SignBatch`] failed or refused to start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignBatchError {
    /// No items, more than [`MAX_ITEMS`], or more than [`MAX_ITEM_SIGNERS`] items·signers.
    #[error("a signing session signs 1 to {MAX_ITEMS} messages, at most {MAX_ITEM_SIGNERS} messages·signers; not {0} messages")]
    Count(usize),
    /// Item `item` (from 0) failed.
    #[error("message {item}: {error}")]
    Item {
        /// The item's index.
        item: u16,
        /// Why.
        error: SignProtocolError,
    },
    /// A message whose envelope broke the format: wrong session, protocol or sender, or a
    /// count or length that does not fit.
    #[error("{}", describe(core::slice::from_ref(.0)))]
    Message(Culprit),
    /// The session already ended and takes no more messages.
    #[error("the signing session is over")]
    Finished,
}

impl Blame for SignBatchError {
    fn culprits(&self) -> &[Culprit] {
        match self {
            SignBatchError::Item { error, .. } => error.culprits(),
            SignBatchError::Message(culprit) => core::slice::from_ref(culprit),
            SignBatchError::Count(_) | SignBatchError::Finished => &[],
        }
    }
}

/// One signer of a session that signs several messages (see the module doc).
pub struct SignBatch<C: Ciphersuite> {
    session: SessionId,
    me: PartyIndex,
    parties: u16,
    items: Vec<SignParty<C>>,
    outputs: Vec<Option<SignOutput<C>>>,
    parting: Vec<Outgoing>,
    finished: bool,
}

impl<C: Ciphersuite> SignBatch<C> {
    /// A signer of `items` with `key` in the session `session`, by the signer set `signers`.
    ///
    /// `roster`, `identity` and `rng` are as for [`SignParty::new`], which checks each item.
    pub fn new(
        key: &KeyPackage<C>,
        session: SessionId,
        signers: BTreeSet<Identifier>,
        items: Vec<SignItem>,
        roster: Vec<(Identifier, IdentityKey)>,
        identity: Arc<dyn IdentitySigner>,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<Self, SignBatchError> {
        if items.is_empty()
            || items.len() > MAX_ITEMS
            || items.len().saturating_mul(roster.len()) > MAX_ITEM_SIGNERS
        {
            return Err(SignBatchError::Count(items.len()));
        }
        let mut parties = Vec::with_capacity(items.len());
        for (index, item) in (0u16..).zip(items) {
            let request = SigningRequest {
                session_id: item_session(&session, index),
                message: item.message,
                tweak: item.tweak,
                signers: signers.clone(),
            };
            let party = SignParty::new(key, request, roster.clone(), identity.clone(), rng)
                .map_err(|error| SignBatchError::Item { item: index, error })?;
            parties.push(party);
        }
        // Every item has the same roster and identity, so the same position.
        let first = &parties[0];
        let (me, count) = (first.me(), first.parties());
        Ok(Self {
            session,
            me,
            parties: count,
            outputs: parties.iter().map(|_| None).collect(),
            items: parties,
            parting: Vec::new(),
            finished: false,
        })
    }

    /// The items' parties, in order (their requests and output keys).
    pub fn items(&self) -> &[SignParty<C>] {
        &self.items
    }

    fn accuse(&self, party: PartyIndex, fault: Fault) -> SignBatchError {
        SignBatchError::Message(Culprit {
            party,
            fault,
            evidence: Evidence::AccusedBy(self.me),
        })
    }

    /// Carries what each item sends, `sent[i]` for item i, in as few messages as there are
    /// distinct (recipient, round) pairs. `complete_only`: leaves out a round-1 or round-2
    /// message that lacks an item (after a failure; the others would refuse it).
    fn envelop(&self, sent: Vec<Vec<Outgoing>>, complete_only: bool) -> Vec<Outgoing> {
        // (recipient, round, each item's payload or empty)
        let mut groups: Vec<(Recipient, u8, Vec<Vec<u8>>)> = Vec::new();
        for (index, outgoing) in sent.into_iter().enumerate() {
            for mut message in outgoing {
                // Every message a party makes starts with its header.
                let round = Header::decode(&message.payload).map_or(0, |(h, _)| h.round);
                let payload = std::mem::take(&mut message.payload);
                let slot = groups.iter_mut().find(|(to, r, slots)| {
                    *to == message.to && *r == round && slots[index].is_empty()
                });
                match slot {
                    Some((_, _, slots)) => slots[index] = payload,
                    None => {
                        let mut slots = vec![Vec::new(); self.items.len()];
                        slots[index] = payload;
                        groups.push((message.to, round, slots));
                    }
                }
            }
        }
        groups
            .into_iter()
            .filter(|(_, round, slots)| {
                !complete_only || *round == PROOF || slots.iter().all(|s| !s.is_empty())
            })
            .map(|(to, round, slots)| {
                let mut payload = Header {
                    kind: Kind::Sign,
                    session: self.session,
                    round,
                }
                .encode();
                // At most MAX_ITEMS items, each message far below 4 GiB.
                payload.extend_from_slice(&(slots.len() as u16).to_be_bytes());
                for slot in &slots {
                    payload.extend_from_slice(&(slot.len() as u32).to_be_bytes());
                    payload.extend_from_slice(slot);
                }
                Outgoing { to, payload }
            })
            .collect()
    }

    /// Splits a batch message from `from` into its items' messages.
    fn open<'a>(
        &self,
        from: PartyIndex,
        payload: &'a [u8],
    ) -> Result<Vec<&'a [u8]>, SignBatchError> {
        if from == self.me || from >= self.parties {
            return Err(self.accuse(from, Fault::UnknownSender));
        }
        let (header, mut rest) = Header::decode(payload).map_err(|f| self.accuse(from, f))?;
        if header.kind != Kind::Sign {
            return Err(self.accuse(from, Fault::WrongProtocol));
        }
        if header.session != self.session {
            return Err(self.accuse(from, Fault::WrongSession));
        }
        let malformed = || self.accuse(from, Fault::Malformed("a batch message does not parse"));
        let mut take = |len: usize| -> Result<&'a [u8], SignBatchError> {
            let (field, tail) = rest.split_at_checked(len).ok_or_else(malformed)?;
            rest = tail;
            Ok(field)
        };
        let count = take(2)?;
        if usize::from(u16::from_be_bytes([count[0], count[1]])) != self.items.len() {
            return Err(self.accuse(from, Fault::Malformed("a batch message with another count")));
        }
        let mut items = Vec::with_capacity(self.items.len());
        for _ in 0..self.items.len() {
            let len = take(4)?;
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]);
            items.push(take(usize::try_from(len).map_err(|_| malformed())?)?);
        }
        if !rest.is_empty() {
            return Err(malformed());
        }
        let of_round = |m: &&[u8]| Header::decode(m).is_ok_and(|(h, _)| h.round == header.round);
        let lockstep = header.round == PROOF || items.iter().all(|m| !m.is_empty());
        if !ROUNDS.contains(&header.round)
            || !lockstep
            || !items.iter().filter(|m| !m.is_empty()).all(of_round)
        {
            return Err(self.accuse(
                from,
                Fault::Malformed("a batch message without one message of its round per item"),
            ));
        }
        Ok(items)
    }
}

impl<C: Ciphersuite> Protocol for SignBatch<C> {
    type Output = Vec<SignOutput<C>>;
    type Error = SignBatchError;

    fn kind(&self) -> Kind {
        Kind::Sign
    }

    fn session(&self) -> &SessionId {
        &self.session
    }

    fn me(&self) -> PartyIndex {
        self.me
    }

    fn parties(&self) -> u16 {
        self.parties
    }

    fn start(&mut self) -> Result<Vec<Outgoing>, SignBatchError> {
        if self.finished {
            return Err(SignBatchError::Finished);
        }
        let mut sent = Vec::with_capacity(self.items.len());
        for (index, party) in (0u16..).zip(self.items.iter_mut()) {
            match party.start() {
                Ok(out) => sent.push(out),
                Err(error) => {
                    self.finished = true;
                    return Err(SignBatchError::Item { item: index, error });
                }
            }
        }
        Ok(self.envelop(sent, false))
    }

    fn receive(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
    ) -> Result<Step<Self::Output>, SignBatchError> {
        if self.finished {
            return Err(SignBatchError::Finished);
        }
        let messages = match self.open(from, payload) {
            Ok(messages) => messages,
            Err(e) => {
                self.finished = true;
                return Err(e);
            }
        };
        let mut sent: Vec<Vec<Outgoing>> = self.items.iter().map(|_| Vec::new()).collect();
        let mut failure = None;
        for (index, message) in (0u16..).zip(messages) {
            let i = usize::from(index);
            // An item that has its signature needs nothing more.
            if message.is_empty() || self.outputs[i].is_some() {
                continue;
            }
            match self.items[i].receive(from, message) {
                Ok(Step::Continue(out)) => sent[i] = out,
                Ok(Step::Done(out, output)) => {
                    sent[i] = out;
                    self.outputs[i] = Some(output);
                }
                Err(error) => {
                    sent[i] = self.items[i].parting();
                    failure.get_or_insert(SignBatchError::Item { item: index, error });
                }
            }
        }
        if let Some(failure) = failure {
            // What the items made in this step still goes out, with the failed items'
            // parting messages, so the others can name the culprit too: each proof, and the
            // shares of a round every item reached (a partial one would be malformed).
            self.parting = self.envelop(sent, true);
            self.finished = true;
            return Err(failure);
        }
        let out = self.envelop(sent, false);
        if self.outputs.iter().all(Option::is_some) {
            self.finished = true;
            let outputs = std::mem::take(&mut self.outputs)
                .into_iter()
                .flatten()
                .collect();
            return Ok(Step::Done(out, outputs));
        }
        Ok(Step::Continue(out))
    }

    fn parting(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.parting)
    }

    fn waiting_for(&self) -> Vec<PartyIndex> {
        let waiting: BTreeSet<PartyIndex> = self
            .items
            .iter()
            .zip(&self.outputs)
            .filter(|(_, output)| output.is_none())
            .flat_map(|(party, _)| party.waiting_for())
            .collect();
        waiting.into_iter().collect()
    }
}
