//! Repair as a session over the mesh (design §3.4): the three steps of [`crate::repair`] as a
//! sans-IO [`Protocol`].
//!
//! The session roster is the helpers H, in ascending identifier, then the lost party r, last.
//! 1. Each helper splits `δ_i = λ_i^H(x_r)·s_i` into |H| parts and sends part `δ_ij` to
//!    helper j (round 1, point to point), keeping its own.
//! 2. With every helper's part, helper j sends `σ_j = Σ_i δ_ij` to r (round 2, point to
//!    point), and is done.
//! 3. r, with every `σ_j`, recovers its share and checks it against its verifying share
//!    ([`crate::repair::recover`]); a mismatch fails the repair without naming anyone (the
//!    scheme cannot tell which helper lied): r asks other helpers.
//!
//! Every message is `header ‖ SerializeScalar`, on the authenticated, encrypted channel; a
//! part from a party that is not a helper, or a sum from anyone to anyone but r, is refused.

use std::sync::Arc;

use tessera_core::{
    protocol::{Header, Kind, Outgoing, Recipient},
    Blame, Ciphersuite, Culprit, Evidence, Fault, Identifier, KeyPackage, PartyIndex, Protocol,
    PublicKeyPackage, SecretScalar, SessionId, Step,
};

use crate::repair::{self, RepairError};

const PART: u8 = 1;
const SUM: u8 = 2;

/// Why a repair session failed at this party.
#[derive(Debug, thiserror::Error)]
pub enum RepairPartyError {
    /// The repair itself failed (bad parameters, or the result does not match).
    #[error(transparent)]
    Repair(#[from] RepairError),
    /// A party sent something it may not.
    #[error("{}", tessera_core::protocol::describe(.0))]
    Misbehaviour(Vec<Culprit>),
    /// The party has finished.
    #[error("the repair has finished")]
    Finished,
}

impl Blame for RepairPartyError {
    fn culprits(&self) -> &[Culprit] {
        match self {
            RepairPartyError::Misbehaviour(c) => c,
            _ => &[],
        }
    }
}

/// This party's role.
enum Role<C: Ciphersuite> {
    /// A helper with its share: the parts it received (its own kept at its own slot).
    Helper {
        key: KeyPackage<C>,
        /// Its own split, in helper order, until `start` sends it.
        split: Vec<SecretScalar<C>>,
        parts: Vec<Option<SecretScalar<C>>>,
    },
    /// The lost party, with the key's public data, collecting the helpers' sums.
    Lost {
        public: Arc<PublicKeyPackage<C>>,
        sums: Vec<Option<SecretScalar<C>>>,
    },
}

/// One party of a repair session.
pub struct RepairParty<C: Ciphersuite> {
    session: SessionId,
    me: PartyIndex,
    helpers: Vec<Identifier>,
    lost: Identifier,
    role: Role<C>,
    over: bool,
}

impl<C: Ciphersuite> RepairParty<C> {
    /// Helper `key` (its identifier among `helpers`, sorted and distinct) in the repair of
    /// `lost`; its parts are drawn from `rng` now.
    pub fn helper(
        session: SessionId,
        key: KeyPackage<C>,
        helpers: Vec<Identifier>,
        lost: Identifier,
        rng: &mut (impl rand_core::CryptoRng + ?Sized),
    ) -> Result<Self, RepairError> {
        let me = helpers
            .iter()
            .position(|h| *h == key.identifier())
            .ok_or(RepairError::Parameters("this party is not a helper"))?;
        Self::check(&helpers, lost, key.public())?;
        let split = repair::split(&key, &helpers, lost, rng)?
            .into_iter()
            .map(|(_, part)| part)
            .collect();
        Ok(RepairParty {
            session,
            me: me as PartyIndex,
            lost,
            role: Role::Helper {
                parts: vec![None; helpers.len()],
                split,
                key,
            },
            helpers,
            over: false,
        })
    }

    /// The lost party `lost`, holding the key's `public` data (checked against its
    /// certificate by the caller).
    pub fn lost(
        session: SessionId,
        public: Arc<PublicKeyPackage<C>>,
        helpers: Vec<Identifier>,
        lost: Identifier,
    ) -> Result<Self, RepairError> {
        Self::check(&helpers, lost, &public)?;
        Ok(RepairParty {
            session,
            me: helpers.len() as PartyIndex,
            lost,
            role: Role::Lost {
                sums: vec![None; helpers.len()],
                public,
            },
            helpers,
            over: false,
        })
    }

    fn check(
        helpers: &[Identifier],
        lost: Identifier,
        public: &PublicKeyPackage<C>,
    ) -> Result<(), RepairError> {
        if helpers.len() < usize::from(public.threshold()) || helpers.len() >= usize::from(u16::MAX)
        {
            return Err(RepairError::Parameters("fewer helpers than the threshold"));
        }
        if !helpers.windows(2).all(|w| w[0] < w[1]) || helpers.contains(&lost) {
            return Err(RepairError::Parameters(
                "helpers must be distinct, ascending and not the lost party",
            ));
        }
        let known = |i: &Identifier| public.verifying_shares().contains_key(i);
        if !known(&lost) || !helpers.iter().all(known) {
            return Err(RepairError::Parameters("a party is not in the committee"));
        }
        Ok(())
    }

    fn header(&self, round: u8) -> Vec<u8> {
        Header {
            kind: Kind::Repair,
            session: self.session,
            round,
        }
        .encode()
    }

    fn message(&self, round: u8, to: PartyIndex, value: &SecretScalar<C>) -> Outgoing {
        let mut payload = self.header(round);
        payload.extend_from_slice(&*value.to_bytes());
        Outgoing {
            to: Recipient::One(to),
            payload,
        }
    }

    fn culprit(&self, party: PartyIndex, fault: Fault) -> RepairPartyError {
        RepairPartyError::Misbehaviour(vec![Culprit {
            party,
            fault,
            evidence: Evidence::AccusedBy(self.me),
        }])
    }

    fn dispatch(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
    ) -> Result<Step<KeyPackage<C>>, RepairPartyError> {
        let (header, body) = Header::decode(payload).map_err(|f| self.culprit(from, f))?;
        if header.kind != Kind::Repair {
            return Err(self.culprit(from, Fault::WrongProtocol));
        }
        if header.session != self.session {
            return Err(self.culprit(from, Fault::WrongSession));
        }
        let n = self.helpers.len();
        let slot = usize::from(from);
        if slot >= n {
            // Only helpers send anything.
            return Err(self.culprit(from, Fault::UnknownSender));
        }
        let value =
            SecretScalar::<C>::from_bytes(body).map_err(|e| self.culprit(from, e.into()))?;
        let lost_index = n as PartyIndex;
        match (&mut self.role, header.round) {
            (Role::Helper { parts, .. }, PART) => {
                if parts[slot].is_none() {
                    parts[slot] = Some(value);
                }
                if parts.iter().all(Option::is_some) {
                    let received: Vec<SecretScalar<C>> = parts.iter().flatten().cloned().collect();
                    let sum = repair::combine(&received);
                    self.over = true;
                    return Ok(Step::Done(
                        vec![self.message(SUM, lost_index, &sum)],
                        // A helper's output is its own key, unchanged.
                        match &self.role {
                            Role::Helper { key, .. } => key.clone(),
                            Role::Lost { .. } => return Err(RepairPartyError::Finished),
                        },
                    ));
                }
                Ok(Step::Continue(Vec::new()))
            }
            (Role::Lost { sums, public }, SUM) => {
                if sums[slot].is_none() {
                    sums[slot] = Some(value);
                }
                if !sums.iter().all(Option::is_some) {
                    return Ok(Step::Continue(Vec::new()));
                }
                let received: Vec<SecretScalar<C>> = sums.iter().flatten().cloned().collect();
                self.over = true;
                let key = repair::recover(&received, self.lost, public.clone())?;
                Ok(Step::Done(Vec::new(), key))
            }
            (_, round) => Err(self.culprit(from, Fault::WrongRound(round))),
        }
    }
}

impl<C: Ciphersuite> Protocol for RepairParty<C> {
    type Output = KeyPackage<C>;
    type Error = RepairPartyError;

    fn kind(&self) -> Kind {
        Kind::Repair
    }

    fn session(&self) -> &SessionId {
        &self.session
    }

    fn me(&self) -> PartyIndex {
        self.me
    }

    fn parties(&self) -> u16 {
        // `check` bounds the helpers below 65535.
        self.helpers.len() as u16 + 1
    }

    fn start(&mut self) -> Result<Vec<Outgoing>, RepairPartyError> {
        let Role::Helper { split, parts, .. } = &mut self.role else {
            return Ok(Vec::new());
        };
        let split = std::mem::take(split);
        let me = usize::from(self.me);
        if split.len() != parts.len() {
            return Err(RepairPartyError::Finished);
        }
        parts[me] = Some(split[me].clone());
        Ok(split
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != me)
            .map(|(j, part)| self.message(PART, j as PartyIndex, part))
            .collect())
    }

    fn receive(
        &mut self,
        from: PartyIndex,
        payload: &[u8],
    ) -> Result<Step<KeyPackage<C>>, RepairPartyError> {
        if self.over {
            return Err(RepairPartyError::Finished);
        }
        if from == self.me {
            return Ok(Step::Continue(Vec::new()));
        }
        let result = self.dispatch(from, payload);
        if result.is_err() {
            self.over = true;
        }
        result
    }

    fn waiting_for(&self) -> Vec<PartyIndex> {
        match &self.role {
            Role::Helper { parts, .. } => tessera_core::protocol::missing(parts),
            Role::Lost { sums, .. } => tessera_core::protocol::missing(sums),
        }
    }
}
