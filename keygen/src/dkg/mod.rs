//! Distributed key generation, design §3.1: Pedersen DKG with Feldman VSS and proofs of
//! knowledge (Komlo–Goldberg 2020, FROST KeyGen), an echo check of the round-1 broadcasts,
//! and a transcript every party confirms.
//!
//! One [`Dkg`] is one party. Rounds:
//! 1. [`round1`]: signed broadcast of Feldman commitments and a proof of knowledge of the
//!    constant term whose challenge includes the session id.
//! 2. [`round2`]: `f_i(j)` to each party j with the echo hash of all n round-1 messages.
//! 3. Only on an echo mismatch, [`tessera_core::echo`]: the signed round-1 copies, which prove who
//!    equivocated; the DKG then aborts.
//!
//! The output is a [`PendingKeyShare`] holding this party's confirmation. Persist it, then
//! run [`crate::certify::Certify`] to exchange confirmations into a certificate, which
//! activates the share. Any fault aborts with [`KeygenError::Misbehaviour`] naming every
//! culprit; no share is produced then.

mod finish;
pub mod round1;
mod round2;

use std::{collections::BTreeSet, sync::Arc};

use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};
use tessera_core::{
    echo,
    keys::check_threshold,
    polynomial::SecretPolynomial,
    protocol::{Header, Kind, Outgoing, Recipient},
    Blame, Ciphersuite, Culprit, Evidence, Fault, IdentityKey, IdentitySigner, PartyIndex,
    Protocol, SecretScalar, SessionId, Step,
};

use crate::{error::KeygenError, keyshare::PendingKeyShare};
use round1::Round1;
use round2::Round2;
use tessera_core::share_message;

/// What every party of one DKG must agree on before it starts (the session proposal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkgParams {
    /// The session id (binds the proposal and every party's nonce, design §4).
    pub session: SessionId,
    /// The threshold t, 2 <= t <= n.
    pub threshold: u16,
    /// The ordered roster of identity keys; party i has identifier i + 1.
    pub roster: Vec<IdentityKey>,
}

impl DkgParams {
    /// A digest of the suite and all parameters, covered by every round-1 signature: a signed
    /// message is then evidence only within exactly these parameters, and parties that
    /// disagree on them fail on signatures instead of blaming each other.
    pub fn context(&self, suite: tessera_core::Suite) -> [u8; 32] {
        let t = self.threshold.to_be_bytes();
        let mut parts: Vec<&[u8]> = vec![suite.name().as_bytes(), &self.session, &t];
        parts.extend(self.roster.iter().map(|k| k.as_bytes().as_slice()));
        tessera_core::hash::transcript_hash("tessera/v1/dkg/context", &parts)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Collecting round-1 broadcasts.
    Round1,
    /// Shares sent; collecting round-2 messages.
    Round2,
    /// An echo mismatch: collecting the mismatching parties' round-1 copies.
    Evidence,
    /// Finished or failed: no more messages.
    Over,
}

/// One party of the DKG (see the module doc).
pub struct Dkg<C: Ciphersuite> {
    session: SessionId,
    /// [`DkgParams::context`].
    context: [u8; 32],
    me: PartyIndex,
    threshold: u16,
    roster: Arc<Vec<IdentityKey>>,
    signer: Arc<dyn IdentitySigner>,
    rng: ChaCha20Rng,
    /// This party's polynomial, until its shares are sent.
    polynomial: Option<SecretPolynomial<C>>,
    /// `f_me(me)`, once the polynomial is gone.
    own_share: Option<SecretScalar<C>>,
    round1: Vec<Option<Round1<C>>>,
    round2: Vec<Option<Round2<C>>>,
    /// Evidence messages held until round 1 is complete here.
    evidence: Vec<Option<Vec<u8>>>,
    /// This party's echo hash, once round 1 is complete.
    echo: Option<[u8; 32]>,
    /// Whether this party broadcast its round-1 copies.
    evidence_broadcast: bool,
    /// Parties this party answered with its copies.
    evidence_replied: BTreeSet<PartyIndex>,
    /// Messages to send after an abort ([`Protocol::parting`]).
    parting: Vec<Outgoing>,
    /// Parties whose evidence showed no equivocation.
    evidence_clean: BTreeSet<PartyIndex>,
    stage: Stage,
}

impl<C: Ciphersuite> Dkg<C> {
    /// Party `me` of a DKG. Draws its polynomial and proof nonce from `rng` and signs its
    /// round-1 message with `signer`, whose identity must be `roster[me]`.
    pub fn new(
        params: DkgParams,
        me: PartyIndex,
        signer: Arc<dyn IdentitySigner>,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<Self, KeygenError> {
        let n = params.roster.len();
        check_threshold(params.threshold.into(), n)?;
        let distinct: BTreeSet<_> = params.roster.iter().collect();
        if distinct.len() != n {
            return Err(KeygenError::Parameters(
                "the roster names one identity twice".into(),
            ));
        }
        if params.roster.get(usize::from(me)) != Some(&signer.identity()) {
            return Err(KeygenError::Parameters(
                "the signer's identity is not at this party's roster position".into(),
            ));
        }
        let secret = SecretScalar::<C>::random(rng);
        let polynomial = SecretPolynomial::random(&secret, params.threshold, rng)?;
        let nonce = SecretScalar::<C>::random(rng);
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);

        let header = header(&params.session, 1);
        let context = params.context(C::SUITE);
        let own = round1::build(
            &header,
            &context,
            me,
            &polynomial.commit(),
            &secret,
            nonce,
            &*signer,
        )
        .map_err(|e| KeygenError::Parameters(format!("own commitment: {e}")))?;
        let mut round1: Vec<Option<Round1<C>>> = (0..n).map(|_| None).collect();
        round1[usize::from(me)] = Some(own);
        Ok(Self {
            session: params.session,
            context,
            me,
            threshold: params.threshold,
            roster: Arc::new(params.roster),
            signer,
            rng: ChaCha20Rng::from_seed(seed),
            polynomial: Some(polynomial),
            own_share: None,
            round1,
            round2: (0..n).map(|_| None).collect(),
            evidence: vec![None; n],
            echo: None,
            evidence_broadcast: false,
            evidence_replied: BTreeSet::new(),
            parting: Vec::new(),
            evidence_clean: BTreeSet::new(),
            stage: Stage::Round1,
        })
    }

    fn n(&self) -> usize {
        self.roster.len()
    }

    fn others(&self) -> impl Iterator<Item = PartyIndex> + '_ {
        // Roster indices fit in a PartyIndex: the roster has at most 65535 entries.
        (0..self.n() as PartyIndex).filter(move |&j| j != self.me)
    }

    fn accuse(&self, party: PartyIndex, fault: Fault) -> KeygenError {
        KeygenError::culprit(party, fault, Evidence::AccusedBy(self.me))
    }

    /// All round-1 payloads in roster order, once round 1 is complete.
    fn round1_payloads(&self) -> Vec<&[u8]> {
        self.round1
            .iter()
            .flatten()
            .map(|m| m.payload.as_slice())
            .collect()
    }

    fn on_round1(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
        header: &Header,
    ) -> Result<(), KeygenError> {
        let slot = usize::from(from);
        if let Some(old) = &self.round1[slot] {
            if echo::unsigned(&old.payload) == echo::unsigned(payload) {
                return Ok(());
            }
            // A second, different message: equivocation if it is signed too.
            if round1::signature_valid(payload, &self.context, from, &self.roster[slot]) {
                return Err(KeygenError::culprit(
                    from,
                    Fault::Equivocation,
                    Evidence::Proven(vec![old.payload.clone(), payload.to_vec()]),
                ));
            }
            return Err(self.accuse(from, Fault::BadSignature));
        }
        let msg = round1::decode::<C>(
            header,
            payload,
            &self.context,
            from,
            &self.roster[slot],
            self.threshold,
            self.me,
        )
        .map_err(|(fault, evidence)| KeygenError::culprit(from, fault, evidence))?;
        self.round1[slot] = Some(msg);
        Ok(())
    }

    fn on_round2(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
        body: &[u8],
    ) -> Result<(), KeygenError> {
        let msg = share_message::decode::<C>(&round2::TAGS, payload, body)
            .map_err(|e| self.accuse(from, Fault::Encoding(e)))?;
        match &self.round2[usize::from(from)] {
            Some(old) if old.digest == msg.digest => Ok(()),
            Some(_) => Err(self.accuse(from, Fault::ConflictingRepeat)),
            None => {
                self.round2[usize::from(from)] = Some(msg);
                Ok(())
            }
        }
    }

    /// Round 1 complete: batch-verify the proofs, then send every party its share with the
    /// echo hash.
    fn send_shares(&mut self) -> Result<Vec<Outgoing>, KeygenError> {
        let others: Vec<(PartyIndex, &Round1<C>)> = self
            .others()
            .filter_map(|j| self.round1[usize::from(j)].as_ref().map(|m| (j, m)))
            .collect();
        let bad = round1::batch_verify::<C>(&others, &mut self.rng);
        if !bad.is_empty() {
            let culprits = bad
                .into_iter()
                .map(|p| Culprit {
                    party: p,
                    fault: Fault::BadProof,
                    evidence: Evidence::Proven(
                        self.round1[usize::from(p)]
                            .iter()
                            .map(|m| m.payload.clone())
                            .collect(),
                    ),
                })
                .collect();
            return Err(KeygenError::Misbehaviour(culprits));
        }
        let echo = share_message::echo_hash(&round2::TAGS, &self.session, &self.round1_payloads());
        self.echo = Some(echo);
        let polynomial = self.polynomial.take().ok_or(KeygenError::Finished)?;
        let header = header(&self.session, 2);
        let out = self
            .others()
            .map(|j| Outgoing {
                to: Recipient::One(j),
                // Moved out of its zeroizing buffer into a message that wipes itself on drop.
                payload: std::mem::take(&mut *share_message::build(
                    &header,
                    &polynomial.evaluate(round1::identifier(j)),
                    &echo,
                )),
            })
            .collect();
        self.own_share = Some(polynomial.evaluate(round1::identifier(self.me)));
        Ok(out)
    }

    /// This party's copies of every round-1 message: to everyone (`None`, once) when its own
    /// echo check failed, or as a reply to one party whose evidence arrived. Replies go only to
    /// the asker, so one complaint costs each party one message, not a broadcast storm.
    fn send_evidence(&mut self, to: Option<PartyIndex>) -> Vec<Outgoing> {
        if self.evidence_broadcast {
            return Vec::new();
        }
        let to = match to {
            None => {
                self.evidence_broadcast = true;
                Recipient::All
            }
            Some(p) if self.evidence_replied.insert(p) => Recipient::One(p),
            Some(_) => return Vec::new(),
        };
        vec![Outgoing {
            to,
            payload: echo::build(&header(&self.session, 3), &self.round1_payloads()),
        }]
    }

    /// Checks held evidence messages against this party's round-1 copies.
    fn process_evidence(&mut self) -> Result<Vec<Outgoing>, KeygenError> {
        let mut out = Vec::new();
        for from in self.others().collect::<Vec<_>>() {
            let Some(payload) = self.evidence[usize::from(from)].take() else {
                continue;
            };
            let ours = self.round1_payloads();
            // Held payloads passed `echo::decode` when they arrived.
            let theirs = Header::decode(&payload)
                .ok()
                .and_then(|(_, body)| echo::decode(body, self.n()))
                .unwrap_or_default();
            let (session, context, roster) = (&self.session, &self.context, &self.roster);
            let equivocators = echo::compare(
                &ours,
                &theirs,
                from,
                self.me,
                // Positions index the roster, which has at most 65535 entries.
                |k| k as PartyIndex,
                |k, copy| {
                    matches!(
                        Header::decode(copy),
                        Ok((h, _)) if h.kind == Kind::Keygen && &h.session == session && h.round == 1
                    ) && round1::signature_valid(copy, context, k as PartyIndex, &roster[k])
                },
            )
            .map_err(|c| KeygenError::Misbehaviour(vec![c]))?;
            if !equivocators.is_empty() {
                return Err(KeygenError::Misbehaviour(equivocators));
            }
            self.evidence_clean.insert(from);
            out.extend(self.send_evidence(Some(from)));
        }
        Ok(out)
    }

    /// Moves through every stage the held messages allow.
    fn advance(&mut self) -> Result<Step<PendingKeyShare<C>>, KeygenError> {
        let mut out = Vec::new();
        if self.stage == Stage::Round1 && self.round1.iter().all(Option::is_some) {
            out.extend(self.send_shares()?);
            self.stage = Stage::Round2;
        }
        if self.stage == Stage::Round1 {
            return Ok(Step::Continue(out));
        }
        out.extend(self.process_evidence()?);
        let round2_complete = self.others().all(|j| self.round2[usize::from(j)].is_some());
        if self.stage == Stage::Round2 && round2_complete {
            if self.mismatched().is_empty() {
                let pending = self.finish()?;
                self.stage = Stage::Over;
                // The received shares are summed into the pending share: wipe them now.
                self.round2.iter_mut().for_each(|m| *m = None);
                return Ok(Step::Done(out, pending));
            }
            self.stage = Stage::Evidence;
            out.extend(self.send_evidence(None));
        }
        if self.stage == Stage::Evidence {
            let mismatched = self.mismatched();
            if mismatched.iter().all(|p| self.evidence_clean.contains(p)) {
                // Every mismatching party's copies equal ours: their echoes were false.
                let culprits = mismatched
                    .into_iter()
                    .map(|p| Culprit {
                        party: p,
                        fault: Fault::FalseEcho,
                        evidence: Evidence::AccusedBy(self.me),
                    })
                    .collect();
                return Err(KeygenError::Misbehaviour(culprits));
            }
        }
        Ok(Step::Continue(out))
    }

    /// Parties whose round-2 echo differs from ours.
    fn mismatched(&self) -> Vec<PartyIndex> {
        self.others()
            .filter(
                |&j| matches!(&self.round2[usize::from(j)], Some(m) if Some(m.echo) != self.echo),
            )
            .collect()
    }

    fn dispatch(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
    ) -> Result<Step<PendingKeyShare<C>>, KeygenError> {
        if from == self.me {
            // A transport loopback: nothing this party needs from itself.
            return Ok(Step::Continue(Vec::new()));
        }
        if usize::from(from) >= self.n() {
            return Err(self.accuse(from, Fault::UnknownSender));
        }
        let (header, body) = Header::decode(payload).map_err(|f| self.accuse(from, f))?;
        if header.kind != Kind::Keygen {
            return Err(self.accuse(from, Fault::WrongProtocol));
        }
        if header.session != self.session {
            return Err(self.accuse(from, Fault::WrongSession));
        }
        match header.round {
            1 => self.on_round1(from, payload, &header)?,
            2 => self.on_round2(from, payload, body)?,
            3 => {
                if echo::decode(body, self.n()).is_none() {
                    return Err(self.accuse(from, Fault::Malformed("echo evidence does not parse")));
                }
                if self.evidence[usize::from(from)].is_none()
                    && !self.evidence_clean.contains(&from)
                {
                    self.evidence[usize::from(from)] = Some(payload.to_vec());
                }
            }
            r => return Err(self.accuse(from, Fault::WrongRound(r))),
        }
        self.advance()
    }
}

/// The header of a keygen message of `round`.
fn header(session: &SessionId, round: u8) -> Header {
    Header {
        kind: Kind::Keygen,
        session: *session,
        round,
    }
}

impl<C: Ciphersuite> Protocol for Dkg<C> {
    type Output = PendingKeyShare<C>;
    type Error = KeygenError;

    fn kind(&self) -> Kind {
        Kind::Keygen
    }

    fn session(&self) -> &SessionId {
        &self.session
    }

    fn me(&self) -> PartyIndex {
        self.me
    }

    fn parties(&self) -> u16 {
        // At most 65535 entries (checked in `new`).
        self.n() as u16
    }

    fn start(&mut self) -> Result<Vec<Outgoing>, KeygenError> {
        let own = self.round1[usize::from(self.me)]
            .as_ref()
            .ok_or(KeygenError::Finished)?;
        Ok(vec![Outgoing {
            to: Recipient::All,
            payload: own.payload.clone(),
        }])
    }

    fn parting(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.parting)
    }

    fn waiting_for(&self) -> Vec<PartyIndex> {
        match self.stage {
            Stage::Round1 => tessera_core::protocol::missing(&self.round1),
            Stage::Round2 => tessera_core::protocol::missing(&self.round2),
            // Who owes copies depends on the mismatch; the driver falls back to what it saw.
            Stage::Evidence | Stage::Over => Vec::new(),
        }
    }

    fn receive(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
    ) -> Result<Step<PendingKeyShare<C>>, KeygenError> {
        if self.stage == Stage::Over {
            return Err(KeygenError::Finished);
        }
        let result = self.dispatch(from, payload);
        if let Err(e) = &result {
            // A proven equivocation is shown to everyone: this party's copies let the others
            // find the proof too instead of waiting for it.
            let equivocation = e.culprits().iter().any(|c| c.fault == Fault::Equivocation);
            if equivocation && self.echo.is_some() {
                self.parting = self.send_evidence(None);
            }
            // Nothing usable survives an abort: drop every secret now.
            self.stage = Stage::Over;
            self.polynomial = None;
            self.own_share = None;
            self.round2.iter_mut().for_each(|m| *m = None);
        }
        result
    }
}
