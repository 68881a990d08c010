//! One device of a reshare, as a sans-IO [`Protocol`] (design §3.3).
//!
//! Rounds (every payload starts with a [`Header`] of [`Kind::Reshare`]):
//! 1. **Deal** (dealers, signed broadcast, [`crate::deal`]): the old public data and `D_i`.
//! 2. **Shares** (dealer → each new party, private, [`crate::shares`]): `g_i(j)` and the echo
//!    hash of all deals.
//! 3. **Evidence** (only on an echo mismatch, [`tessera_core::echo`]): the signed deals a
//!    device holds, which prove who equivocated.
//! 4. **Confirmation** (new parties, broadcast): the identity signature over the new key id,
//!    sent only after the pending share is persisted ([`Persist`]).
//! 5. **Certificate relay** (broadcast): the |N| confirmations, by whoever completed them.
//! 6. **Test signature relay** (new parties, broadcast), after the test signature by all new
//!    parties ([`crate::commit`]).
//!
//! Rounds 7–9, **test signature** (new parties, to each other): the messages of rounds 1–3 of a
//! [`SignParty`] run by the new committee in this session. They travel as reshare rounds 7–9
//! (the header's kind and round rewritten, `TEST_SIGN_OFFSET`), so the transport sees one
//! protocol; the inner party gets its own header back before it checks anything, so its
//! identity signatures cover the [`Kind::Sign`] header as usual.
//!
//! Checks: every deal's signature, format and old public data ([`crate::old_epoch`]); then,
//! once every deal is in, `D_i0 == λ_i^S·Y_i` for each dealer (named individually) and
//! `Σ D_i0 == P`; each new party checks its shares against the `D_i` as in keygen; the echo
//! hashes; the confirmations; every test signature share. Any failure aborts with a
//! [`ReshareError`] naming the culprits; epoch e is untouched.

use std::{collections::BTreeSet, sync::Arc};

use ff::Field as _;
use rand_chacha::{rand_core::SeedableRng as _, ChaCha20Rng};
use tessera_core::share_message;
use tessera_core::{
    echo,
    feldman::{self, Commitment},
    lagrange::lagrange_coefficients,
    polynomial::SecretPolynomial,
    protocol::{Header, Kind, Outgoing, Recipient},
    Blame, Ciphersuite, Culprit, Evidence, Fault, Identifier, IdentityKey, IdentitySigner,
    KeyPackage, PartyIndex, Protocol, PublicKeyPackage, SecretScalar, SessionId, Step, Tweak,
};
use tessera_keygen::{epoch_key_id, Certificate, PendingKeyShare, CONFIRM_PURPOSE};
use tessera_sign::{SignParty, SigningRequest};

use crate::{
    checks,
    commit::{ReshareOutput, Transition},
    deal::{self, Deal},
    error::ReshareError,
    old_epoch::{self, OldEpoch},
    params::{Layout, ReshareParams},
    record::KeyRecord,
    shares::{self, Share},
    transcript,
};

const DEAL: u8 = 1;
const SHARE: u8 = 2;
const EVIDENCE: u8 = 3;
/// The round of a new party's confirmation (design §3.3 step 4, §5.7).
pub const CONFIRM: u8 = 4;
const CERTIFICATE: u8 = 5;
const TEST_SIGNATURE: u8 = 6;
/// The test signature's round r travels as reshare round `TEST_SIGN_OFFSET + r`.
const TEST_SIGN_OFFSET: u8 = 6;
/// Where a header keeps its kind and its round.
const KIND_AT: usize = 0;
const ROUND_AT: usize = Header::LEN - 1;

/// The most test-signature messages held per sender before this party starts its own test
/// signing (its three rounds).
const EARLY_SIGN_PER_SENDER: usize = 3;

/// Persists a new party's pending share (encrypted, design §3.3 step 4, must) before its
/// confirmation is sent. An error aborts the reshare without confirming. The keystore
/// enforces one pending transition per (key, epoch) here ([`crate::KeyRecord::stage`]).
pub type Persist<C> = Box<dyn FnMut(&SessionId, &PendingKeyShare<C>) -> Result<(), String> + Send>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Collecting deals.
    Deal,
    /// Deals complete; a new party collects its shares.
    Shares,
    /// An echo mismatch: collecting the mismatching dealers' copies.
    Evidence,
    /// Confirmations going round.
    Confirm,
    /// Certificate complete: the test signature.
    Test,
    /// Finished or failed.
    Over,
}

/// The new epoch's public data, as every device derives it from the deals.
struct Derived<C: Ciphersuite> {
    public: Arc<PublicKeyPackage<C>>,
    run_digest: [u8; 32],
    digest: [u8; 32],
    key_id: [u8; 32],
    epoch: u64,
}

/// One device of a reshare (see the module doc).
pub struct ReshareParty<C: Ciphersuite> {
    session: SessionId,
    context: [u8; 32],
    old_key_id: [u8; 32],
    group_key: Vec<u8>,
    layout: Layout,
    old_ids: Vec<Identifier>,
    /// `λ_i^S` of each dealer, in dealer order.
    lambdas: Vec<C::Scalar>,
    new_threshold: u16,
    me: PartyIndex,
    my_dealer: Option<usize>,
    my_new: Option<Identifier>,
    signer: Arc<dyn IdentitySigner>,
    rng: ChaCha20Rng,
    old: Option<OldEpoch<C>>,
    /// A dealer's `g_i`, until its shares are sent.
    polynomial: Option<SecretPolynomial<C>>,
    /// `g_me(me)` of a device in both roles.
    own_share: Option<SecretScalar<C>>,
    deals: Vec<Option<Deal<C>>>,
    shares: Vec<Option<Share<C>>>,
    echo: Option<[u8; 32]>,
    evidence: Vec<Option<Vec<u8>>>,
    evidence_broadcast: bool,
    evidence_replied: BTreeSet<PartyIndex>,
    evidence_clean: BTreeSet<PartyIndex>,
    derived: Option<Derived<C>>,
    pending: Option<PendingKeyShare<C>>,
    persist: Persist<C>,
    /// Confirmations as received, until the new key id is known to check them.
    held_confirmations: Vec<Option<Vec<u8>>>,
    /// Checked confirmations, by new party.
    confirmations: Vec<Option<[u8; 64]>>,
    certificate: Option<Certificate>,
    /// Certificate relays held until this device derived the new key id (one per device, so
    /// one sender's garbage cannot crowd out another's valid relay).
    held_certificates: Vec<Option<Vec<u8>>>,
    test: Option<SignParty<C>>,
    early_sign: Vec<Vec<Vec<u8>>>,
    /// Test signature relays held until the certificate is complete (one per device).
    held_test_signatures: Vec<Option<Vec<u8>>>,
    /// A new party's own test signature, once its test signing finished.
    own_test_signature: Option<Vec<u8>>,
    parting: Vec<Outgoing>,
    stage: Stage,
}

impl<C: Ciphersuite> ReshareParty<C> {
    /// An old party of S (and, if its identity is in the new roster, a new party too) with its
    /// active share of the epoch named in `params`, taken from its [`KeyRecord`], where the
    /// session then becomes the device's one transition from that epoch (refused while
    /// another is under way). `persist` is called once, with its new share, if it is a new
    /// party.
    pub fn dealer(
        params: ReshareParams,
        record: &mut KeyRecord<C>,
        signer: Arc<dyn IdentitySigner>,
        persist: Persist<C>,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<Self, ReshareError> {
        params.check()?;
        let share = record
            .share_to_deal(&params.session, &params.old_key_id)
            .map_err(|e| ReshareError::Parameters(e.to_string()))?;
        let public = share.public();
        let old = old_epoch::own(share, &public);
        if public.group_key != params.group_key {
            return Err(ReshareError::Parameters(
                "the share is not of the group key the session names".into(),
            ));
        }
        let mut party = Self::build(params, signer, persist, rng)?;
        let me = party.my_dealer.ok_or_else(|| {
            ReshareError::Parameters("this device is not one of the session's dealers".into())
        })?;
        if share.key_package().identifier() != party.old_ids[me] {
            return Err(ReshareError::Parameters(
                "the share's identifier is not this dealer's old identifier".into(),
            ));
        }
        let old_bytes = old.bytes.clone();
        party.adopt_old(old)?;
        let w = SecretScalar::<C>::new(
            party.lambdas[me] * share.key_package().signing_share().expose_secret(),
        );
        let polynomial = SecretPolynomial::random(&w, party.new_threshold, rng)?;
        let own = deal::build(
            &party.header(DEAL),
            &party.context,
            party.me,
            &old_bytes,
            &polynomial.commit(),
            &*party.signer,
        )
        .map_err(|e| ReshareError::Parameters(format!("own commitment: {e}")))?;
        party.deals[me] = Some(own);
        party.polynomial = Some(polynomial);
        record.begin_dealing(party.session);
        Ok(party)
    }

    /// A joining party: in the new roster, not a dealer, holding nothing of the key but the
    /// group key in `params`, which it accepts only if every dealer's old public data matches
    /// it ([`crate::old_epoch`]).
    pub fn joiner(
        params: ReshareParams,
        signer: Arc<dyn IdentitySigner>,
        persist: Persist<C>,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<Self, ReshareError> {
        params.check()?;
        let party = Self::build(params, signer, persist, rng)?;
        if party.my_dealer.is_some() {
            return Err(ReshareError::Parameters(
                "a dealer takes part with its share (ReshareParty::dealer)".into(),
            ));
        }
        if party.my_new.is_none() {
            return Err(ReshareError::Parameters(
                "this device is in neither committee".into(),
            ));
        }
        Ok(party)
    }

    fn build(
        params: ReshareParams,
        signer: Arc<dyn IdentitySigner>,
        persist: Persist<C>,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<Self, ReshareError> {
        let layout = Layout::new(&params);
        let identity = signer.identity();
        let me = layout
            .devices
            .iter()
            .position(|k| *k == identity)
            .ok_or_else(|| ReshareError::Parameters("this device is not in the session".into()))?;
        // At most 65535 devices (`ReshareParams::check`).
        let me = me as PartyIndex;
        let old_ids: Vec<Identifier> = params.dealers.iter().map(|d| d.old_id).collect();
        let lambdas = lagrange_coefficients::<C>(&old_ids)?;
        let mut seed = [0u8; 32];
        rng.fill_bytes(&mut seed);
        let (s, n, d) = (params.dealers.len(), params.new_roster.len(), layout.len());
        Ok(Self {
            session: params.session,
            context: params.context(C::SUITE),
            old_key_id: params.old_key_id,
            group_key: params.group_key,
            my_dealer: layout.dealer_of(me),
            my_new: layout.new_id_of(me),
            layout,
            old_ids,
            lambdas,
            new_threshold: params.new_threshold,
            me,
            signer,
            rng: ChaCha20Rng::from_seed(seed),
            old: None,
            polynomial: None,
            own_share: None,
            deals: (0..s).map(|_| None).collect(),
            shares: (0..s).map(|_| None).collect(),
            echo: None,
            evidence: vec![None; d],
            evidence_broadcast: false,
            evidence_replied: BTreeSet::new(),
            evidence_clean: BTreeSet::new(),
            derived: None,
            pending: None,
            persist,
            held_confirmations: vec![None; n],
            confirmations: vec![None; n],
            certificate: None,
            held_certificates: vec![None; d],
            test: None,
            early_sign: vec![Vec::new(); d],
            held_test_signatures: vec![None; d],
            own_test_signature: None,
            parting: Vec::new(),
            stage: Stage::Deal,
        })
    }

    fn header(&self, round: u8) -> Header {
        Header {
            kind: Kind::Reshare,
            session: self.session,
            round,
        }
    }

    fn accuse(&self, party: PartyIndex, fault: Fault) -> ReshareError {
        ReshareError::culprit(party, fault, Evidence::AccusedBy(self.me))
    }

    fn new_parties(&self) -> impl Iterator<Item = PartyIndex> + '_ {
        (0..self.layout.new_count).filter(move |&j| j != self.me)
    }

    /// Takes the verified old public data: the session's dealers must hold their old
    /// identifiers in it, and be at least the old threshold.
    fn adopt_old(&mut self, old: OldEpoch<C>) -> Result<(), ReshareError> {
        let misplaced = self
            .old_ids
            .iter()
            .zip(&self.layout.dealer_device)
            .any(|(id, &dev)| {
                old.roster.get(usize::from(id.get()) - 1)
                    != Some(&self.layout.devices[usize::from(dev)])
            });
        if misplaced {
            return Err(ReshareError::Parameters(
                "a dealer does not hold its old identifier in the old roster".into(),
            ));
        }
        if self.old_ids.len() < usize::from(old.public.threshold()) {
            return Err(ReshareError::Parameters(format!(
                "{} old parties take part, the old threshold is {}",
                self.old_ids.len(),
                old.public.threshold()
            )));
        }
        self.old = Some(old);
        Ok(())
    }

    fn deal_payloads(&self) -> Vec<&[u8]> {
        self.deals
            .iter()
            .flatten()
            .map(|d| d.payload.as_slice())
            .collect()
    }

    fn on_deal(&mut self, from: PartyIndex, payload: &[u8]) -> Result<(), ReshareError> {
        let Some(k) = self.layout.dealer_of(from) else {
            return Err(self.accuse(
                from,
                Fault::Malformed("a deal from a device that does not deal"),
            ));
        };
        let key = self.layout.devices[usize::from(from)];
        if let Some(old) = &self.deals[k] {
            if echo::unsigned(&old.payload) == echo::unsigned(payload) {
                return Ok(());
            }
            if deal::signature_valid(payload, &self.context, from, &key) {
                return Err(ReshareError::culprit(
                    from,
                    Fault::Equivocation,
                    Evidence::Proven(vec![old.payload.clone(), payload.to_vec()]),
                ));
            }
            return Err(self.accuse(from, Fault::BadSignature));
        }
        let d = deal::decode::<C>(
            payload,
            &self.context,
            from,
            &key,
            self.new_threshold,
            self.me,
        )
        .map_err(|(fault, evidence)| ReshareError::culprit(from, fault, evidence))?;
        let same_as_ours = self.old.as_ref().is_some_and(|o| o.bytes == d.old_bytes());
        if !same_as_ours {
            // Different bytes may still be acceptable (a re-signed certificate): verify them.
            match old_epoch::decode::<C>(d.old_bytes(), &self.old_key_id, &self.group_key) {
                Ok(old) if self.old.is_none() => self.adopt_old(old)?,
                Ok(_) => {}
                Err(why) => {
                    return Err(ReshareError::culprit(
                        from,
                        Fault::Inconsistent(why),
                        Evidence::Proven(vec![payload.to_vec()]),
                    ))
                }
            }
        }
        self.deals[k] = Some(d);
        Ok(())
    }

    fn on_share(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
        body: &[u8],
    ) -> Result<(), ReshareError> {
        let Some(k) = self.layout.dealer_of(from) else {
            return Err(self.accuse(
                from,
                Fault::Malformed("a share from a device that does not deal"),
            ));
        };
        if self.my_new.is_none() {
            return Err(self.accuse(
                from,
                Fault::Malformed("a share to a device outside the new committee"),
            ));
        }
        let s = share_message::decode::<C>(&shares::TAGS, payload, body)
            .map_err(|e| self.accuse(from, Fault::Encoding(e)))?;
        match &self.shares[k] {
            Some(old) if old.digest == s.digest => Ok(()),
            Some(_) => Err(self.accuse(from, Fault::ConflictingRepeat)),
            None => {
                self.shares[k] = Some(s);
                Ok(())
            }
        }
    }

    /// Every deal is in: the public checks, this dealer's shares, and the new public data.
    fn deals_complete(&mut self) -> Result<Vec<Outgoing>, ReshareError> {
        let old = self.old.as_ref().ok_or(ReshareError::Finished)?;
        let deals: Vec<&Deal<C>> = self.deals.iter().flatten().collect();
        let old_shares = self
            .old_ids
            .iter()
            .map(|id| old.public.verifying_share(*id))
            .collect::<Result<Vec<_>, _>>()?;
        let d0: Vec<&C::Point> = deals.iter().map(|d| d.d0()).collect();
        let bad = checks::constant_terms::<C>(&d0, &self.lambdas, &old_shares, &mut self.rng);
        if !bad.is_empty() {
            return Err(ReshareError::Misbehaviour(
                bad.into_iter()
                    .map(|k| Culprit {
                        party: self.layout.dealer_device[k],
                        fault: Fault::Inconsistent("constant term is not λ_i·Y_i of its old share"),
                        evidence: Evidence::Proven(vec![deals[k].payload.clone()]),
                    })
                    .collect(),
            ));
        }
        let summed = Commitment::sum(deals.iter().map(|d| &d.commitment));
        if summed.constant() != Some(old.public.group_key()) {
            // Each D_i0 = λ_i·Y_i and the Y_i are certified consistent, so Σ D_i0 = P.
            return Err(ReshareError::Parameters(
                "the dealers' constant terms do not sum to the group key".into(),
            ));
        }
        let public = PublicKeyPackage::from_commitment(
            &summed,
            self.layout.new_count,
            *old.public.chain_code(),
        )?;
        let old_ids: Vec<u16> = self.old_ids.iter().map(|i| i.get()).collect();
        let commitments: Vec<&[u8]> = deals.iter().map(|d| d.commitment_bytes()).collect();
        let run_digest = transcript::run_digest(&self.session, &old_ids, &commitments);
        let digest = transcript::digest(&self.old_key_id, &run_digest);
        // The old epoch is certified data, but a certificate does not bound its number.
        let epoch = old
            .epoch
            .checked_add(1)
            .ok_or_else(|| ReshareError::Parameters("the old epoch is the last one".into()))?;
        let new_roster = &self.layout.devices[..usize::from(self.layout.new_count)];
        let key_id = epoch_key_id(&public, new_roster, &digest, epoch)?;
        self.derived = Some(Derived {
            public: Arc::new(public),
            run_digest,
            digest,
            key_id,
            epoch,
        });
        let echo = share_message::echo_hash(&shares::TAGS, &self.session, &self.deal_payloads());
        self.echo = Some(echo);
        let Some(polynomial) = self.polynomial.take() else {
            return Ok(Vec::new());
        };
        if let Some(id) = self.my_new {
            self.own_share = Some(polynomial.evaluate(id));
        }
        let header = self.header(SHARE);
        Ok(self
            .new_parties()
            .filter_map(|j| Some((j, self.layout.new_id_of(j)?)))
            .map(|(j, id)| Outgoing {
                to: Recipient::One(j),
                // Moved out of its zeroizing buffer into a message that wipes itself on drop.
                payload: std::mem::take(&mut *share_message::build(
                    &header,
                    &polynomial.evaluate(id),
                    &echo,
                )),
            })
            .collect())
    }

    /// Dealers whose echo differs from ours.
    fn mismatched(&self) -> Vec<usize> {
        self.shares
            .iter()
            .enumerate()
            .filter(|(_, s)| matches!(s, Some(s) if Some(s.echo) != self.echo))
            .map(|(k, _)| k)
            .collect()
    }

    /// This device's copies of every deal: to everyone (once) on its own echo mismatch, or
    /// as a reply to one device whose copies arrived.
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
            payload: echo::build(&self.header(EVIDENCE), &self.deal_payloads()),
        }]
    }

    /// Checks held copies against ours.
    fn process_evidence(&mut self) -> Result<Vec<Outgoing>, ReshareError> {
        let mut out = Vec::new();
        for from in 0..self.layout.len() {
            let Some(payload) = self.evidence[from].take() else {
                continue;
            };
            // Device indices fit a PartyIndex (at most 65535 devices).
            let from = from as PartyIndex;
            let ours = self.deal_payloads();
            // Held payloads passed `echo::decode` when they arrived.
            let theirs = Header::decode(&payload)
                .ok()
                .and_then(|(_, body)| echo::decode(body, self.deals.len()))
                .unwrap_or_default();
            let (session, context, layout) = (&self.session, &self.context, &self.layout);
            let equivocators = echo::compare(
                &ours,
                &theirs,
                from,
                self.me,
                |k| layout.dealer_device[k],
                |k, copy| {
                    let device = layout.dealer_device[k];
                    matches!(
                        Header::decode(copy),
                        Ok((h, _)) if h.kind == Kind::Reshare && &h.session == session && h.round == DEAL
                    ) && deal::signature_valid(copy, context, device, &layout.devices[usize::from(device)])
                },
            )
            .map_err(|c| ReshareError::Misbehaviour(vec![c]))?;
            if !equivocators.is_empty() {
                return Err(ReshareError::Misbehaviour(equivocators));
            }
            self.evidence_clean.insert(from);
            out.extend(self.send_evidence(Some(from)));
        }
        Ok(out)
    }

    /// A new party's shares are all in with matching echoes: check them, persist the pending
    /// share, then confirm it.
    fn confirm(&mut self) -> Result<Vec<Outgoing>, ReshareError> {
        let (Some(me), Some(derived)) = (self.my_new, &self.derived) else {
            return Err(ReshareError::Finished);
        };
        let mut total = self
            .own_share
            .take()
            .unwrap_or_else(|| SecretScalar::new(C::Scalar::ZERO));
        let mut received = Vec::with_capacity(self.shares.len());
        for ((k, share), deal) in self.shares.iter().enumerate().zip(&self.deals) {
            if let (Some(s), Some(d)) = (share, deal) {
                total = total.add(&s.share);
                received.push((self.layout.dealer_device[k], &d.commitment, &s.share));
            }
        }
        let expected = *derived.public.verifying_share(me)?;
        let bad = feldman::share_sum_culprits(me, self.me, &total, &expected, &received);
        if !bad.is_empty() {
            return Err(ReshareError::Misbehaviour(bad));
        }
        let key = KeyPackage::new(me, total, derived.public.clone())?;
        let roster = self.layout.devices[..usize::from(self.layout.new_count)].to_vec();
        let pending =
            PendingKeyShare::new(key, roster, derived.digest, derived.epoch, &*self.signer)?;
        // The received shares are summed into the pending share: wipe them now.
        self.shares.iter_mut().for_each(|s| *s = None);
        (self.persist)(&self.session, &pending).map_err(ReshareError::Persist)?;
        let signature = pending.confirmation().signature;
        self.confirmations[usize::from(self.me)] = Some(signature);
        self.pending = Some(pending);
        let mut payload = self.header(CONFIRM).encode();
        payload.extend_from_slice(&signature);
        Ok(vec![Outgoing {
            to: Recipient::All,
            payload,
        }])
    }

    /// Checks the held confirmations and relays once the new key id is known, each signature
    /// once, and returns the certificate when every new party's confirmation is in.
    ///
    /// A confirmation a new party sent itself that does not verify aborts, naming it. A relay
    /// is optional help: its signatures fill only the positions still missing, each checked
    /// once, and a bad one is ignored (a valid one may still come from elsewhere).
    fn collect_certificate(&mut self) -> Result<Option<Certificate>, ReshareError> {
        let Some(derived) = &self.derived else {
            return Ok(None);
        };
        let roster = &self.layout.devices[..usize::from(self.layout.new_count)];
        for (j, held) in self.held_confirmations.iter_mut().enumerate() {
            let Some(conf) = held.take() else {
                continue;
            };
            let valid = <[u8; 64]>::try_from(conf.as_slice())
                .ok()
                .filter(|c| roster[j].verify(CONFIRM_PURPOSE, &derived.key_id, c));
            match valid {
                // A confirmation from a relay may have filled the position already.
                Some(c) => {
                    self.confirmations[j].get_or_insert(c);
                }
                None => {
                    // j < new_count, a PartyIndex.
                    return Err(ReshareError::culprit(
                        j as PartyIndex,
                        Fault::BadConfirmation,
                        Evidence::AccusedBy(self.me),
                    ));
                }
            }
        }
        for relay in self.held_certificates.iter_mut().filter_map(Option::take) {
            if relay.len() != 64 * roster.len() {
                continue;
            }
            for ((slot, sig), key) in self
                .confirmations
                .iter_mut()
                .zip(relay.chunks_exact(64))
                .zip(roster)
            {
                if slot.is_none() && key.verify(CONFIRM_PURPOSE, &derived.key_id, sig) {
                    *slot = sig.try_into().ok();
                }
            }
        }
        let signatures: Option<Vec<[u8; 64]>> = self.confirmations.iter().copied().collect();
        Ok(signatures.map(|signatures| Certificate {
            key_id: derived.key_id,
            signatures,
        }))
    }

    /// The certificate is complete: relay it, and a new party starts the test signature.
    fn certified(&mut self, certificate: Certificate) -> Result<Vec<Outgoing>, ReshareError> {
        let mut relay = self.header(CERTIFICATE).encode();
        certificate
            .signatures
            .iter()
            .for_each(|s| relay.extend_from_slice(s));
        let mut out = vec![Outgoing {
            to: Recipient::All,
            payload: relay,
        }];
        let message = transcript::test_message(&certificate.key_id);
        let offset = transcript::test_key_offset::<C>(&certificate.key_id);
        self.certificate = Some(certificate);
        let Some(pending) = &self.pending else {
            return Ok(out);
        };
        // The test key P + τ·G, which no signing request can name (design §3.3 step 4).
        let test_key = pending.key_package().offset(&offset)?;
        let roster: Vec<(Identifier, IdentityKey)> = (0..self.layout.new_count)
            .filter_map(|j| {
                Some((
                    self.layout.new_id_of(j)?,
                    self.layout.devices[usize::from(j)],
                ))
            })
            .collect();
        let request = SigningRequest {
            session_id: self.session,
            message,
            tweak: Tweak::none(),
            signers: roster.iter().map(|(id, _)| *id).collect(),
        };
        let mut test = SignParty::new(
            &test_key,
            request,
            roster,
            self.signer.clone(),
            &mut self.rng,
        )?
        .checking_every_share();
        out.extend(self.to_new_parties(test.start()?));
        self.test = Some(test);
        for from in 0..self.layout.new_count {
            for payload in std::mem::take(&mut self.early_sign[usize::from(from)]) {
                self.feed_test(from, &payload, &mut out)?;
            }
        }
        Ok(out)
    }

    /// The test signature's messages, as reshare rounds 7–9 to the new parties only.
    fn to_new_parties(&self, out: Vec<Outgoing>) -> Vec<Outgoing> {
        out.iter()
            .flat_map(|o| {
                let mut payload = o.payload.clone();
                // Every protocol payload starts with a full header.
                payload[KIND_AT] = Kind::Reshare as u8;
                payload[ROUND_AT] = payload[ROUND_AT].saturating_add(TEST_SIGN_OFFSET);
                let to: Vec<PartyIndex> = match o.to {
                    Recipient::All => self.new_parties().collect(),
                    Recipient::One(j) => vec![j],
                };
                to.into_iter().map(move |j| Outgoing {
                    to: Recipient::One(j),
                    payload: payload.clone(),
                })
            })
            .collect()
    }

    /// Feeds one test-signature message, adding what to send to `out`; on the test signature,
    /// keeps it and relays it to every device.
    fn feed_test(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
        out: &mut Vec<Outgoing>,
    ) -> Result<(), ReshareError> {
        let Some(test) = &mut self.test else {
            return Ok(());
        };
        let step = match test.receive(from, payload) {
            Ok(step) => step,
            Err(e) => {
                let parting = test.parting();
                self.parting = self.to_new_parties(parting);
                return Err(e.into());
            }
        };
        match step {
            Step::Continue(o) => {
                out.extend(self.to_new_parties(o));
                Ok(())
            }
            Step::Done(o, signed) => {
                out.extend(self.to_new_parties(o));
                let signature = signed
                    .signature
                    .to_bytes()
                    .map_err(|e| ReshareError::Parameters(format!("test signature: {e}")))?;
                let mut relay = self.header(TEST_SIGNATURE).encode();
                relay.extend_from_slice(&signature);
                out.push(Outgoing {
                    to: Recipient::All,
                    payload: relay,
                });
                self.test = None;
                self.own_test_signature = Some(signature);
                Ok(())
            }
        }
    }

    /// The transition, once a verified test signature is held: this party's own, or one
    /// relayed by a new party (an old party has only those; a new party whose own test
    /// signing cannot complete, because another withheld its share, takes one too).
    fn transition(&mut self) -> Option<Transition> {
        let (Some(certificate), Some(derived), Some(old)) =
            (self.certificate.clone(), &self.derived, &self.old)
        else {
            return None;
        };
        let group_key = *old.public.group_key();
        let verifying_shares = derived
            .public
            .verifying_shares()
            .values()
            .map(|y| C::serialize_point(y).map(|b| b.as_ref().to_vec()))
            .collect::<Result<Vec<_>, _>>()
            .ok()?;
        let candidates: Vec<Vec<u8>> = match self.own_test_signature.take() {
            Some(own) => vec![own],
            None => self
                .held_test_signatures
                .iter_mut()
                .filter_map(Option::take)
                .collect(),
        };
        let mut transition = Transition {
            old_key_id: self.old_key_id,
            run_digest: derived.run_digest,
            threshold: self.new_threshold,
            roster: self.layout.devices[..usize::from(self.layout.new_count)].to_vec(),
            verifying_shares,
            certificate,
            test_signature: Vec::new(),
        };
        for test_signature in candidates {
            transition.test_signature = test_signature;
            // The certificate was assembled here from checked confirmations over the key id
            // derived here: only the test signature needs checking.
            if transition.verify_test_signature::<C>(&group_key).is_ok() {
                return Some(transition);
            }
        }
        None
    }

    /// Moves through every stage the held messages allow.
    fn advance(&mut self, mut out: Vec<Outgoing>) -> Result<Step<ReshareOutput<C>>, ReshareError> {
        if self.stage == Stage::Deal && self.deals.iter().all(Option::is_some) {
            out.extend(self.deals_complete()?);
            self.stage = Stage::Shares;
        }
        if self.stage == Stage::Deal {
            return Ok(Step::Continue(out));
        }
        out.extend(self.process_evidence()?);
        if self.stage == Stage::Shares {
            let others_in = self
                .shares
                .iter()
                .enumerate()
                .all(|(k, s)| s.is_some() || Some(k) == self.my_dealer);
            if self.my_new.is_none() {
                self.stage = Stage::Confirm;
            } else if others_in && self.mismatched().is_empty() {
                out.extend(self.confirm()?);
                self.stage = Stage::Confirm;
            } else if others_in {
                self.stage = Stage::Evidence;
                out.extend(self.send_evidence(None));
            }
        }
        if self.stage == Stage::Evidence {
            let mismatched = self.mismatched();
            let devices: Vec<PartyIndex> = mismatched
                .iter()
                .map(|&k| self.layout.dealer_device[k])
                .collect();
            if devices.iter().all(|p| self.evidence_clean.contains(p)) {
                // Every mismatching dealer's copies equal ours: their echoes were false.
                return Err(ReshareError::Misbehaviour(
                    devices
                        .into_iter()
                        .map(|p| Culprit {
                            party: p,
                            fault: Fault::FalseEcho,
                            evidence: Evidence::AccusedBy(self.me),
                        })
                        .collect(),
                ));
            }
        }
        if self.stage == Stage::Confirm {
            if let Some(certificate) = self.collect_certificate()? {
                self.stage = Stage::Test;
                out.extend(self.certified(certificate)?);
            }
        }
        // A new party finishes with its own test signature (perhaps completed from early
        // messages) or a relayed one, an old party with a relayed one.
        let relayed = self.held_test_signatures.iter().any(Option::is_some);
        let signed = self.own_test_signature.is_some() || relayed;
        if self.stage == Stage::Test && (self.my_new.is_none() || signed) {
            return self.finish(out);
        }
        Ok(Step::Continue(out))
    }

    /// Done if a verified test signature is held.
    fn finish(&mut self, out: Vec<Outgoing>) -> Result<Step<ReshareOutput<C>>, ReshareError> {
        match self.transition() {
            Some(transition) => {
                self.stage = Stage::Over;
                self.test = None;
                Ok(Step::Done(
                    out,
                    ReshareOutput {
                        transition,
                        pending: self.pending.take(),
                    },
                ))
            }
            None => Ok(Step::Continue(out)),
        }
    }

    /// A test-signature message (reshare round 7–9): given its own header back, held until
    /// this party's test signing starts, then fed to it.
    fn on_test_message(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
        round: u8,
    ) -> Result<Step<ReshareOutput<C>>, ReshareError> {
        if from >= self.layout.new_count || self.my_new.is_none() {
            return Err(self.accuse(
                from,
                Fault::Malformed("a test-signature message outside the new committee"),
            ));
        }
        let mut inner = payload.to_vec();
        // The caller decoded a full header from this payload.
        inner[KIND_AT] = Kind::Sign as u8;
        inner[ROUND_AT] = round;
        if self.test.is_none() {
            let held = &mut self.early_sign[usize::from(from)];
            if held.contains(&inner) {
                // An identical repeat (a transport retry).
                return Ok(Step::Continue(Vec::new()));
            }
            if held.len() >= EARLY_SIGN_PER_SENDER {
                return Err(self.accuse(
                    from,
                    Fault::Malformed("too many early test-signature messages"),
                ));
            }
            held.push(inner);
            return Ok(Step::Continue(Vec::new()));
        }
        let mut out = Vec::new();
        self.feed_test(from, &inner, &mut out)?;
        self.advance(out)
    }

    fn dispatch(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
    ) -> Result<Step<ReshareOutput<C>>, ReshareError> {
        if from == self.me {
            // A transport loopback: nothing this device needs from itself.
            return Ok(Step::Continue(Vec::new()));
        }
        let slot = usize::from(from);
        if slot >= self.layout.len() {
            return Err(self.accuse(from, Fault::UnknownSender));
        }
        let (header, body) = Header::decode(payload).map_err(|f| self.accuse(from, f))?;
        if header.session != self.session {
            return Err(self.accuse(from, Fault::WrongSession));
        }
        if header.kind != Kind::Reshare {
            return Err(self.accuse(from, Fault::WrongProtocol));
        }
        match header.round {
            DEAL => self.on_deal(from, payload)?,
            SHARE => self.on_share(from, payload, body)?,
            EVIDENCE => {
                if echo::decode(body, self.deals.len()).is_none() {
                    return Err(self.accuse(from, Fault::Malformed("echo evidence does not parse")));
                }
                if self.evidence[slot].is_none() && !self.evidence_clean.contains(&from) {
                    self.evidence[slot] = Some(payload.to_vec());
                }
            }
            CONFIRM => {
                if from >= self.layout.new_count || body.len() != 64 {
                    return Err(
                        self.accuse(from, Fault::Malformed("not a confirmation of a new party"))
                    );
                }
                self.held_confirmations[slot].get_or_insert_with(|| body.to_vec());
            }
            CERTIFICATE => {
                if self.certificate.is_none() {
                    self.held_certificates[slot].get_or_insert_with(|| body.to_vec());
                }
            }
            TEST_SIGNATURE => {
                if from < self.layout.new_count {
                    self.held_test_signatures[slot].get_or_insert_with(|| body.to_vec());
                }
            }
            r if r > TEST_SIGN_OFFSET && r <= TEST_SIGN_OFFSET + 3 => {
                return self.on_test_message(from, payload, r - TEST_SIGN_OFFSET)
            }
            r => return Err(self.accuse(from, Fault::WrongRound(r))),
        }
        self.advance(Vec::new())
    }
}

impl<C: Ciphersuite> Protocol for ReshareParty<C> {
    type Output = ReshareOutput<C>;
    type Error = ReshareError;

    fn kind(&self) -> Kind {
        Kind::Reshare
    }

    fn session(&self) -> &SessionId {
        &self.session
    }

    fn me(&self) -> PartyIndex {
        self.me
    }

    fn parties(&self) -> u16 {
        // At most 65535 devices (`ReshareParams::check`).
        self.layout.len() as u16
    }

    fn start(&mut self) -> Result<Vec<Outgoing>, ReshareError> {
        let out = match self.my_dealer.and_then(|k| self.deals[k].as_ref()) {
            Some(own) => vec![Outgoing {
                to: Recipient::All,
                payload: own.payload.clone(),
            }],
            None => Vec::new(),
        };
        // A single dealer is refused by `ReshareParams::check`, so nothing completes here yet;
        // advancing keeps the state machine uniform.
        match self.advance(out)? {
            Step::Continue(out) => Ok(out),
            Step::Done(..) => Err(ReshareError::Finished),
        }
    }

    fn parting(&mut self) -> Vec<Outgoing> {
        std::mem::take(&mut self.parting)
    }

    fn waiting_for(&self) -> Vec<PartyIndex> {
        // Deals and shares are kept by dealer position; name the dealers' devices.
        let dealers = |positions: Vec<PartyIndex>| -> Vec<PartyIndex> {
            positions
                .into_iter()
                .filter_map(|k| self.layout.dealer_device.get(usize::from(k)).copied())
                .collect()
        };
        match self.stage {
            Stage::Deal => dealers(tessera_core::protocol::missing(&self.deals)),
            Stage::Shares => dealers(tessera_core::protocol::missing(&self.shares)),
            Stage::Confirm => tessera_core::protocol::missing(&self.confirmations),
            // A new party's test signing names whom it waits for (its roster is the new
            // committee in order, so its indices are device indices).
            Stage::Test => self
                .test
                .as_ref()
                .map(SignParty::waiting_for)
                .unwrap_or_default(),
            // Evidence and relays: the driver falls back to what it saw.
            Stage::Evidence | Stage::Over => Vec::new(),
        }
    }

    fn receive(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
    ) -> Result<Step<ReshareOutput<C>>, ReshareError> {
        if self.stage == Stage::Over {
            return Err(ReshareError::Finished);
        }
        let result = self.dispatch(from, payload);
        if let Err(e) = &result {
            // A proven equivocation is shown to everyone, so nobody waits for this device.
            let equivocation = e.culprits().iter().any(|c| c.fault == Fault::Equivocation);
            if equivocation && self.echo.is_some() && self.parting.is_empty() {
                self.parting = self.send_evidence(None);
            }
            // Nothing of the new epoch survives an abort here (a persisted pending share is
            // the keystore's, design §3.3 step 4); drop every secret this party holds.
            self.stage = Stage::Over;
            self.polynomial = None;
            self.own_share = None;
            self.shares.iter_mut().for_each(|s| *s = None);
            self.test = None;
            self.pending = None;
        }
        result
    }
}
