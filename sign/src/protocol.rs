//! FROST signing as a sans-IO [`Protocol`] (design §3.2; RFC 9591 §5 with the coordinator
//! role removed as in RFC 9591 §7.5): every signer broadcasts its commitments, builds the
//! signing package itself, broadcasts its signature share, and aggregates.
//!
//! A [`SignParty`] is built after its policy approved the [`SigningRequest`] (design §3.2 step
//! 1). The session roster is the signer set S in identifier order, each with its device
//! identity key; a party's [`PartyIndex`] is its position in that list.
//!
//! ## Messages
//!
//! Both rounds are broadcasts ([`Recipient::All`]). Every payload starts with a [`Header`]
//! (`Kind::Sign`, the request's session id, the round); integers are big-endian.
//!
//! - **Round 1** (RFC 9591 §5.1): `header ‖ identifier (2 B) ‖ D_i ‖ E_i ‖ sig (64 B)`, where
//!   `D_i`, `E_i` are `SerializeElement` of the hiding and binding commitments and `sig` is the
//!   sender's identity signature ([`ROUND1_PURPOSE`]) over everything before it. Two validly
//!   signed round-1 messages of one sender with different content prove equivocation
//!   ([`is_proven_equivocation`]).
//! - **Round 2** (RFC 9591 §5.2): `header ‖ identifier (2 B) ‖ z_i (32 B) ‖ echo`, where the
//!   echo is the n round-1 messages the sender signed over, in roster order. It is the echo
//!   check design §4 asks every broadcast protocol for: a party whose view differs from the
//!   sender's finds the round-1 message that differs and, the message being signed, proves
//!   who equivocated, instead of blaming honest signers for shares over another view.
//! - **Proof** (round 3, only on abort): a party that finds a proven equivocation sends
//!   `header ‖ culprit index (2 B) ‖ (length (4 B) ‖ signed round-1 message) × 2` to everyone
//!   before it stops ([`Protocol::parting`]), so the others abort with the same proof instead
//!   of waiting for its share.
//!
//! ## Checks
//!
//! Every message: the sender is another roster party, the header has this protocol, session
//! and a round that comes now or next (a round-2 message that arrives before this party has
//! every commitment waits; one more than a round ahead is an error), the length is exact, and
//! scalars and points decode strictly. Round 1 also: the identity signature, the sender's own
//! identifier. An identical repeat is ignored; a different one is [`Fault::Equivocation`]
//! (round 1, proven) or [`Fault::ConflictingRepeat`] (round 2). [`Signer::sign`] performs the
//! design §3.2 step-3 checks, and [`Aggregator::aggregate`] verifies the group signature first
//! and only then each share (RFC 9591 §5.3, §5.4). Every failure ends the session with a
//! [`SignProtocolError`] naming the culprit; the nonces are wiped with the party.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt, mem,
    sync::Arc,
};

use rand_chacha::{rand_core::SeedableRng as _, ChaCha20Rng};
use tessera_core::{
    identity::SIGNATURE_LEN,
    protocol::{Header, Kind, Outgoing, Recipient},
    Ciphersuite, Culprit, Evidence, Fault, Identifier, IdentityKey, IdentitySigner, KeyPackage,
    PartyIndex, Protocol, SessionId, Step,
};
use zeroize::Zeroizing;

use crate::{
    error::{SignError, SignProtocolError},
    package::SigningPackage,
    request::SigningRequest,
    round1::{SigningCommitments, SigningNonces},
    round2::{SignatureShare, Signer},
    signature::Signature,
    Aggregator,
};

/// The purpose under which round-1 messages carry their identity signature (tessera's
/// identity domain prefix comes first, see [`tessera_core::identity`]).
pub const ROUND1_PURPOSE: &str = "sign/round1";

const ROUND1: u8 = 1;
const ROUND2: u8 = 2;
/// A proof of equivocation, sent by a party that aborts on one so nobody waits for it.
const PROOF: u8 = 3;
/// An identifier on the wire: two bytes, big-endian.
const ID_LEN: usize = 2;
/// `SerializeScalar` output, every suite.
const SCALAR_LEN: usize = 32;

/// The length of a round-1 message in suite `C`.
fn round1_len<C: Ciphersuite>() -> usize {
    Header::LEN + ID_LEN + 2 * C::POINT_LEN + SIGNATURE_LEN
}

/// Where the echo starts in a round-2 message.
const ECHO_OFFSET: usize = Header::LEN + ID_LEN + SCALAR_LEN;

/// Splits a signed message into the signed bytes and the signature (the last 64 bytes; a
/// shorter message gives an empty signed part and a short signature, which never verifies).
fn split_signature(message: &[u8]) -> (&[u8], &[u8]) {
    // `saturating_sub` keeps the split point within the message, so `split_at` cannot panic.
    message.split_at(message.len().saturating_sub(SIGNATURE_LEN))
}

/// Whether `message` carries a valid round-1 identity signature of `identity` over its other
/// bytes. Anyone holding the roster's identity keys can check [`Evidence::Proven`] with it.
pub fn round1_signature_valid(identity: &IdentityKey, message: &[u8]) -> bool {
    let (signed, signature) = split_signature(message);
    identity.verify(ROUND1_PURPOSE, signed, signature)
}

/// A proof of equivocation for everyone: header, the culprit's roster index (u16 BE), then
/// each of its two signed round-1 messages as `length (u32 BE) ‖ bytes`.
fn proof_payload(session: SessionId, culprit: PartyIndex, evidence: &[Vec<u8>]) -> Vec<u8> {
    let mut payload = Header {
        kind: Kind::Sign,
        session,
        round: PROOF,
    }
    .encode();
    payload.extend_from_slice(&culprit.to_be_bytes());
    for m in evidence {
        // A round-1 message is a few hundred bytes.
        payload.extend_from_slice(&(m.len() as u32).to_be_bytes());
        payload.extend_from_slice(m);
    }
    payload
}

/// Reads [`proof_payload`]'s culprit and two messages.
fn parse_proof(payload: &[u8]) -> Option<(PartyIndex, Vec<u8>, Vec<u8>)> {
    let mut fields = Fields(payload.get(Header::LEN..)?);
    let culprit = fields.identifier().ok()?;
    let mut message = || -> Option<Vec<u8>> {
        let len = <[u8; 4]>::try_from(fields.take(4).ok()?).ok()?;
        let len = usize::try_from(u32::from_be_bytes(len)).ok()?;
        Some(fields.take(len).ok()?.to_vec())
    };
    let (first, second) = (message()?, message()?);
    fields.0.is_empty().then_some((culprit, first, second))
}

/// Whether `evidence` proves that the holder of `identity` equivocated in round 1 of a signing
/// session: two messages with one signing round-1 header (same session), different signed
/// content, both signed by `identity`. This is the check behind a [`Fault::Equivocation`]
/// culprit's [`Evidence::Proven`], for a party that wants to exclude it automatically.
pub fn is_proven_equivocation(identity: &IdentityKey, evidence: &[Vec<u8>]) -> bool {
    let [first, second] = evidence else {
        return false;
    };
    let round1_header =
        |m: &[u8]| Header::decode(m).is_ok_and(|(h, _)| h.kind == Kind::Sign && h.round == ROUND1);
    round1_header(first)
        && first.get(..Header::LEN) == second.get(..Header::LEN)
        && split_signature(first).0 != split_signature(second).0
        && round1_signature_valid(identity, first)
        && round1_signature_valid(identity, second)
}

/// What a finished signing session gives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignOutput<C: Ciphersuite> {
    /// The group signature (RFC 9591 §5.3), already verified.
    pub signature: Signature<C>,
    /// The output key Q it verifies under: the group key with the approved tweak applied.
    pub output_key: C::Point,
}

/// A round-1 message that passed every check, and its commitments.
struct Round1<C: Ciphersuite> {
    payload: Vec<u8>,
    commitments: SigningCommitments<C>,
}

/// A round-2 message that passed the checks that need no view of round 1, and its share.
struct Round2<C: Ciphersuite> {
    payload: Vec<u8>,
    share: SignatureShare<C>,
}

/// Where a party is.
enum Phase<C: Ciphersuite> {
    /// Built, not started: the seed of the RNG its nonces are drawn from.
    Ready(Zeroizing<[u8; 32]>),
    /// Round 1 sent; the nonces wait in memory until every commitment is in.
    Committed(SigningNonces<C>),
    /// Round 2 sent (the nonces are consumed); the package the shares are checked against.
    Signed(SigningPackage<C>),
    /// Output given or error returned: takes no more messages.
    Finished,
}

impl<C: Ciphersuite> Phase<C> {
    /// The round this party has sent last (0 before it started).
    fn round(&self) -> u8 {
        match self {
            Phase::Ready(_) => 0,
            Phase::Committed(_) => ROUND1,
            Phase::Signed(_) | Phase::Finished => ROUND2,
        }
    }
}

/// Reads fixed-size fields off the front of a message.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], Fault> {
        let (field, rest) = self
            .0
            .split_at_checked(len)
            .ok_or(Fault::Malformed("message too short"))?;
        self.0 = rest;
        Ok(field)
    }

    /// A two-byte big-endian identifier.
    fn identifier(&mut self) -> Result<u16, Fault> {
        let bytes = self.take(ID_LEN)?;
        <[u8; ID_LEN]>::try_from(bytes)
            .map(u16::from_be_bytes)
            .map_err(|_| Fault::Malformed("message too short"))
    }
}

/// One signer of an all-broadcast FROST session (see the module doc).
pub struct SignParty<C: Ciphersuite> {
    signer: Signer<C>,
    aggregator: Aggregator<C>,
    roster: Vec<(Identifier, IdentityKey)>,
    identity: Arc<dyn IdentitySigner>,
    me: PartyIndex,
    parties: u16,
    session: SessionId,
    /// Each party's round-1 message, by roster index (this party's own included).
    round1: Vec<Option<Round1<C>>>,
    /// Each party's round-2 message, by roster index; kept from arrival, so early shares wait.
    round2: Vec<Option<Round2<C>>>,
    phase: Phase<C>,
    /// Messages to send after an error ([`Protocol::parting`]).
    parting: Vec<Outgoing>,
}

impl<C: Ciphersuite> SignParty<C> {
    /// A signer for the approved `request` with `key`.
    ///
    /// `roster` is the signer set S in identifier order with each signer's identity key; it
    /// must list exactly `request.signers`, with distinct identity keys and `identity`'s key at
    /// this party's own position. [`Signer::new`] checks `|S| >= t`, `S ⊆ committee` and
    /// derives Q. `rng` seeds the RNG the nonces are drawn from in [`Protocol::start`]; the
    /// nonces are hedged with the request as well (design §3.2 step 2).
    pub fn new(
        key: &KeyPackage<C>,
        request: SigningRequest,
        roster: Vec<(Identifier, IdentityKey)>,
        identity: Arc<dyn IdentitySigner>,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<Self, SignProtocolError> {
        if !roster.iter().map(|(id, _)| id).eq(request.signers.iter()) {
            return Err(SignProtocolError::Roster(
                "the roster is not the approved signer set in identifier order",
            ));
        }
        let keys: BTreeSet<&IdentityKey> = roster.iter().map(|(_, k)| k).collect();
        if keys.len() != roster.len() {
            return Err(SignProtocolError::Roster(
                "two signers have the same identity key",
            ));
        }
        let session = request.session_id;
        let aggregator = Aggregator::new(key.public(), request.clone())?;
        let signer = Signer::new(key, request)?;
        let position = roster
            .iter()
            .position(|(id, _)| *id == signer.identifier())
            .ok_or(SignError::NotASigner(signer.identifier()))?;
        if roster.get(position).map(|(_, k)| *k) != Some(identity.identity()) {
            return Err(SignProtocolError::Roster(
                "this party's identity key is not at its roster position",
            ));
        }
        let me = PartyIndex::try_from(position)
            .map_err(|_| SignProtocolError::Roster("more than 65535 signers"))?;
        let parties = u16::try_from(roster.len())
            .map_err(|_| SignProtocolError::Roster("more than 65535 signers"))?;
        let mut seed = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(&mut *seed);
        Ok(Self {
            signer,
            aggregator,
            identity,
            me,
            parties,
            session,
            round1: roster.iter().map(|_| None).collect(),
            round2: roster.iter().map(|_| None).collect(),
            roster,
            phase: Phase::Ready(seed),
            parting: Vec::new(),
        })
    }

    /// Makes the party check every signature share against its verifying share before it
    /// accepts the group signature ([`Aggregator::checking_every_share`]).
    pub fn checking_every_share(mut self) -> Self {
        self.aggregator = self.aggregator.checking_every_share();
        self
    }

    /// The checked request and the derived output key Q.
    pub fn session_key(&self) -> &crate::SessionKey<C> {
        self.signer.session()
    }

    /// The session roster.
    pub fn roster(&self) -> &[(Identifier, IdentityKey)] {
        &self.roster
    }

    fn header(&self, round: u8) -> Vec<u8> {
        Header {
            kind: Kind::Sign,
            session: self.session,
            round,
        }
        .encode()
    }

    /// `party` did `fault`; this party vouches for it (it saw it on its authenticated link).
    fn accuse(&self, party: PartyIndex, fault: Fault) -> SignProtocolError {
        SignProtocolError::Message(Culprit {
            party,
            fault,
            evidence: Evidence::AccusedBy(self.me),
        })
    }

    /// `party` did `fault`, shown by its own signed `messages`.
    fn prove(party: PartyIndex, fault: Fault, messages: Vec<Vec<u8>>) -> SignProtocolError {
        SignProtocolError::Message(Culprit {
            party,
            fault,
            evidence: Evidence::Proven(messages),
        })
    }

    /// The roster entry of a sender that is another party of the roster.
    fn sender(&self, from: PartyIndex) -> Result<&(Identifier, IdentityKey), SignProtocolError> {
        match self.roster.get(usize::from(from)) {
            Some(entry) if from != self.me => Ok(entry),
            _ => Err(self.accuse(from, Fault::UnknownSender)),
        }
    }

    /// Whether every party's round-1 message (this party's own included) is in.
    fn view_complete(&self) -> bool {
        self.round1.iter().all(Option::is_some)
    }

    /// Round 1 (RFC 9591 §5.1 `commit`): draws the nonces, keeps them in the phase, and
    /// broadcasts the commitments signed with the identity key.
    fn commit(&mut self) -> Result<Vec<Outgoing>, SignProtocolError> {
        let Phase::Ready(slot) = &mut self.phase else {
            return Err(SignProtocolError::AlreadyStarted);
        };
        // Taken by overwriting its place with zeros: replacing the phase itself would leave the
        // seed's bytes behind in the enum's memory.
        let seed = mem::replace(slot, Zeroizing::new([0; 32]));
        self.phase = Phase::Finished;
        // The seed is wiped here; ChaCha's state is not zeroizing, but it only yields the OS-side
        // input of the hedge: a nonce is H3(randomness ‖ share) (RFC 9591 §4.1), so neither the
        // seed nor the RNG state reveals a nonce without the signing share.
        let mut rng = ChaCha20Rng::from_seed(*seed);
        drop(seed);
        let (nonces, commitments) = self.signer.commit(&mut rng)?;
        drop(rng);

        let mut payload = self.header(ROUND1);
        payload.extend_from_slice(&self.signer.identifier().get().to_be_bytes());
        payload.extend_from_slice(commitments.hiding_bytes());
        payload.extend_from_slice(commitments.binding_bytes());
        let signature = self.identity.sign(ROUND1_PURPOSE, &payload);
        payload.extend_from_slice(&signature);

        if let Some(own) = self.round1.get_mut(usize::from(self.me)) {
            *own = Some(Round1 {
                payload: payload.clone(),
                commitments,
            });
        }
        self.phase = Phase::Committed(nonces);
        let mut out = vec![Outgoing {
            to: Recipient::All,
            payload,
        }];
        // Every other commitment may have come before this party started.
        out.extend(self.try_sign()?);
        Ok(out)
    }

    /// Checks one message and advances as far as it allows.
    fn handle(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
    ) -> Result<Step<SignOutput<C>>, SignProtocolError> {
        self.sender(from)?;
        let (header, _) = Header::decode(payload).map_err(|f| self.accuse(from, f))?;
        if header.kind != Kind::Sign {
            return Err(self.accuse(from, Fault::WrongProtocol));
        }
        if header.session != self.session {
            return Err(self.accuse(from, Fault::WrongSession));
        }
        // Round 1 may come before this party started; round 2 only once it has sent round 1.
        let next = self.phase.round() + 1;
        match header.round {
            ROUND1 => self.on_round1(from, payload)?,
            ROUND2 if ROUND2 <= next => self.on_round2(from, payload)?,
            PROOF => return Err(self.on_proof(from, payload)),
            other => return Err(self.accuse(from, Fault::WrongRound(other))),
        }
        let out = self.try_sign()?;
        match self.try_aggregate() {
            Ok(Some(output)) => Ok(Step::Done(out, output)),
            Ok(None) => Ok(Step::Continue(out)),
            Err(e) => {
                // Signed and found a bad share in one step: z_i still goes out, so the other
                // signers can name the culprit too instead of waiting for this party.
                self.parting = out;
                Err(e)
            }
        }
    }

    /// A proof of equivocation ([`proof_payload`]): a valid one aborts this party with the
    /// same proof; anything else names its sender.
    fn on_proof(&self, from: PartyIndex, payload: &[u8]) -> SignProtocolError {
        let Some((culprit, first, second)) = parse_proof(payload) else {
            return self.accuse(from, Fault::Malformed("equivocation proof does not parse"));
        };
        let ours = |m: &[u8]| Header::decode(m).is_ok_and(|(h, _)| h.session == self.session);
        let evidence = vec![first, second];
        match self.roster.get(usize::from(culprit)) {
            Some((_, key))
                if evidence.iter().all(|m| ours(m)) && is_proven_equivocation(key, &evidence) =>
            {
                Self::prove(culprit, Fault::Equivocation, evidence)
            }
            _ => self.accuse(from, Fault::Malformed("equivocation proof does not verify")),
        }
    }

    /// A round-1 message: length, identity signature, repeat or equivocation, the sender's
    /// identifier, strict decoding of the commitments (RFC 9591 §5.1 output).
    fn on_round1(&mut self, from: PartyIndex, payload: &[u8]) -> Result<(), SignProtocolError> {
        let (identifier, identity) = *self.sender(from)?;
        if payload.len() != round1_len::<C>() {
            return Err(self.accuse(
                from,
                Fault::Malformed("round-1 message of the wrong length"),
            ));
        }
        if !round1_signature_valid(&identity, payload) {
            return Err(self.accuse(from, Fault::BadSignature));
        }
        let (signed, _) = split_signature(payload);
        let slot = self.round1.get(usize::from(from)).and_then(Option::as_ref);
        if let Some(first) = slot {
            if split_signature(&first.payload).0 == signed {
                return Ok(());
            }
            return Err(Self::prove(
                from,
                Fault::Equivocation,
                vec![first.payload.clone(), payload.to_vec()],
            ));
        }
        // From here on the message is signed: what is wrong with it is proven by it.
        let proven = |fault| Self::prove(from, fault, vec![payload.to_vec()]);
        let mut fields = Fields(signed);
        fields.take(Header::LEN).map_err(proven)?;
        if fields.identifier().map_err(proven)? != identifier.get() {
            return Err(proven(Fault::Inconsistent(
                "round-1 message names another identifier than the sender's",
            )));
        }
        let hiding = fields.take(C::POINT_LEN).map_err(proven)?;
        let binding = fields.take(C::POINT_LEN).map_err(proven)?;
        let commitments =
            SigningCommitments::from_bytes(hiding, binding).map_err(|e| proven(e.into()))?;
        if let Some(slot) = self.round1.get_mut(usize::from(from)) {
            *slot = Some(Round1 {
                payload: payload.to_vec(),
                commitments,
            });
        }
        Ok(())
    }

    /// A round-2 message: length, repeat, the sender's identifier, strict decoding of z; the
    /// echo now if this party has all of round 1, else when it has (then the share waits).
    fn on_round2(&mut self, from: PartyIndex, payload: &[u8]) -> Result<(), SignProtocolError> {
        let (identifier, _) = *self.sender(from)?;
        let echo_len = usize::from(self.parties) * round1_len::<C>();
        if payload.len() != ECHO_OFFSET + echo_len {
            return Err(self.accuse(
                from,
                Fault::Malformed("round-2 message of the wrong length"),
            ));
        }
        if let Some(first) = self.round2.get(usize::from(from)).and_then(Option::as_ref) {
            if first.payload == payload {
                return Ok(());
            }
            return Err(self.accuse(from, Fault::ConflictingRepeat));
        }
        let mut fields = Fields(payload);
        let accused = |fault| self.accuse(from, fault);
        fields.take(Header::LEN).map_err(accused)?;
        if fields.identifier().map_err(accused)? != identifier.get() {
            return Err(accused(Fault::Inconsistent(
                "round-2 message names another identifier than the sender's",
            )));
        }
        let z = fields.take(SCALAR_LEN).map_err(accused)?;
        let share = SignatureShare::from_bytes(z).map_err(|e| accused(e.into()))?;
        if self.view_complete() {
            self.check_echo(from, payload)?;
        }
        if let Some(slot) = self.round2.get_mut(usize::from(from)) {
            *slot = Some(Round2 {
                payload: payload.to_vec(),
                share,
            });
        }
        Ok(())
    }

    /// Compares the round-1 messages `from` echoed in its round-2 `payload` with this party's
    /// (all of which are in). A differing echo entry validly signed by its author proves that
    /// author equivocated; any other difference is `from`'s false echo.
    fn check_echo(&self, from: PartyIndex, payload: &[u8]) -> Result<(), SignProtocolError> {
        let echo = payload.get(ECHO_OFFSET..).unwrap_or_default();
        if echo.len() != usize::from(self.parties) * round1_len::<C>() {
            return Err(self.accuse(from, Fault::Malformed("round-2 echo of the wrong length")));
        }
        let header = self.header(ROUND1);
        let entries = echo.chunks_exact(round1_len::<C>());
        for (((author, ours), entry), (_, identity)) in (0..self.parties)
            .zip(&self.round1)
            .zip(entries)
            .zip(&self.roster)
        {
            let Some(ours) = ours else {
                continue;
            };
            if split_signature(entry).0 == split_signature(&ours.payload).0 {
                continue;
            }
            if entry.starts_with(&header) && round1_signature_valid(identity, entry) {
                return Err(Self::prove(
                    author,
                    Fault::Equivocation,
                    vec![ours.payload.clone(), entry.to_vec()],
                ));
            }
            return Err(self.accuse(from, Fault::FalseEcho));
        }
        Ok(())
    }

    /// Round 2 (RFC 9591 §5.2 `sign`) once every commitment is in: checks the echoes of the
    /// shares that came early, builds the package, consumes the nonces and broadcasts z_i with
    /// this party's echo.
    fn try_sign(&mut self) -> Result<Vec<Outgoing>, SignProtocolError> {
        if !matches!(self.phase, Phase::Committed(_)) || !self.view_complete() {
            return Ok(Vec::new());
        }
        for (from, early) in (0..self.parties).zip(&self.round2) {
            if let Some(early) = early {
                self.check_echo(from, &early.payload)?;
            }
        }
        // The phase was just matched as `Committed`. The nonces are taken by overwriting their
        // place with wiped ones (replacing the whole phase would leave their bytes behind in
        // the enum's memory); the phase then ends.
        let Phase::Committed(slot) = &mut self.phase else {
            return Ok(Vec::new());
        };
        let wiped = slot.wiped();
        let nonces = mem::replace(slot, wiped);
        self.phase = Phase::Finished;
        let commitments: BTreeMap<Identifier, SigningCommitments<C>> = self
            .roster
            .iter()
            .zip(&self.round1)
            .filter_map(|((id, _), r1)| r1.as_ref().map(|r1| (*id, r1.commitments)))
            .collect();
        let message = self.signer.session().request().message.clone();
        let package = SigningPackage::new(commitments, message);
        let share = self.signer.sign(nonces, &package)?;

        let mut payload = self.header(ROUND2);
        payload.extend_from_slice(&self.signer.identifier().get().to_be_bytes());
        payload.extend_from_slice(&share.to_bytes());
        for r1 in self.round1.iter().flatten() {
            payload.extend_from_slice(&r1.payload);
        }
        if let Some(own) = self.round2.get_mut(usize::from(self.me)) {
            *own = Some(Round2 {
                payload: payload.clone(),
                share,
            });
        }
        self.phase = Phase::Signed(package);
        Ok(vec![Outgoing {
            to: Recipient::All,
            payload,
        }])
    }

    /// RFC 9591 §5.3 `aggregate` once every share is in (verifying the group signature first,
    /// then naming the signers whose shares fail RFC 9591 §5.4).
    fn try_aggregate(&self) -> Result<Option<SignOutput<C>>, SignProtocolError> {
        let Phase::Signed(package) = &self.phase else {
            return Ok(None);
        };
        let shares: Option<BTreeMap<Identifier, SignatureShare<C>>> = self
            .roster
            .iter()
            .zip(&self.round2)
            .map(|((id, _), r2)| r2.as_ref().map(|r2| (*id, r2.share)))
            .collect();
        let Some(shares) = shares else {
            return Ok(None);
        };
        match self.aggregator.aggregate(package, &shares) {
            Ok(signature) => Ok(Some(SignOutput {
                signature,
                output_key: *self.aggregator.session().output_key(),
            })),
            Err(SignError::InvalidShares { culprits }) => Err(SignProtocolError::BadShares(
                (0..self.parties)
                    .zip(&self.roster)
                    .filter(|(_, (id, _))| culprits.contains(id))
                    .map(|(party, _)| Culprit {
                        party,
                        fault: Fault::BadSignatureShare,
                        evidence: Evidence::AccusedBy(self.me),
                    })
                    .collect(),
            )),
            Err(e) => Err(e.into()),
        }
    }
}

impl<C: Ciphersuite> Protocol for SignParty<C> {
    type Output = SignOutput<C>;
    type Error = SignProtocolError;

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

    /// Round 1. Runs once: a second call is refused and leaves the session as it is.
    fn start(&mut self) -> Result<Vec<Outgoing>, SignProtocolError> {
        if !matches!(self.phase, Phase::Ready(_)) {
            return Err(SignProtocolError::AlreadyStarted);
        }
        let result = self.commit();
        if result.is_err() {
            self.phase = Phase::Finished;
        }
        result
    }

    fn parting(&mut self) -> Vec<Outgoing> {
        mem::take(&mut self.parting)
    }

    fn waiting_for(&self) -> Vec<PartyIndex> {
        let round1 = tessera_core::protocol::missing(&self.round1);
        if round1.is_empty() {
            tessera_core::protocol::missing(&self.round2)
        } else {
            round1
        }
    }

    fn receive(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
    ) -> Result<Step<SignOutput<C>>, SignProtocolError> {
        if matches!(self.phase, Phase::Finished) {
            return Err(SignProtocolError::Finished);
        }
        let result = self.handle(from, payload);
        if matches!(result, Err(_) | Ok(Step::Done(..))) {
            // Wipes the nonces if they are still unused.
            self.phase = Phase::Finished;
        }
        // A party that aborts on equivocation it saw itself shows the proof to everyone, so
        // nobody waits for it (a proof it received went to everyone already).
        let relayed = Header::decode(payload).is_ok_and(|(h, _)| h.round == PROOF);
        if let (Err(e), false) = (&result, relayed) {
            for c in tessera_core::Blame::culprits(e) {
                if let (Fault::Equivocation, Evidence::Proven(m)) = (&c.fault, &c.evidence) {
                    self.parting.push(Outgoing {
                        to: Recipient::All,
                        payload: proof_payload(self.session, c.party, &m[..]),
                    });
                }
            }
        }
        result
    }
}

impl<C: Ciphersuite> fmt::Debug for SignParty<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignParty")
            .field("suite", &C::SUITE.name())
            .field("identifier", &self.signer.identifier())
            .field("me", &self.me)
            .field("parties", &self.parties)
            .field("round", &self.phase.round())
            .finish_non_exhaustive()
    }
}
