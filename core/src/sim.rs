//! Simulation harness (feature `sim`): runs n parties of any [`Protocol`] in one process
//! through a router that can drop, delay, reorder, duplicate, spoof or tamper with chosen
//! messages. Every protocol test and the project's own vectors use it.
//!
//! The router sees each point-to-point delivery (broadcasts are expanded first) and returns
//! what to deliver instead: the envelope unchanged, nothing (drop), several (duplicate), a
//! changed payload (tamper) or a changed sender (what a transport bug would do; the real
//! transport authenticates the sender). An envelope with `delay > 0` waits behind that many
//! other deliveries. With [`Simulation::reorder`], the next delivery is drawn at random.

use std::collections::VecDeque;

use rand_chacha::{
    rand_core::{Rng as _, SeedableRng},
    ChaCha20Rng,
};

use crate::protocol::{Outgoing, PartyIndex, Protocol, Recipient, Step};

/// One delivery in flight.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The sender as the transport reports it.
    pub from: PartyIndex,
    /// The recipient.
    pub to: PartyIndex,
    /// Whether the sender addressed it to everyone.
    pub broadcast: bool,
    /// The payload.
    pub payload: Vec<u8>,
    /// How many other deliveries go first.
    pub delay: u32,
}

impl core::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Envelope({} -> {}, {} bytes, round {:?})",
            self.from,
            self.to,
            self.payload.len(),
            self.round()
        )
    }
}

impl Envelope {
    /// The round in the payload's header, if it has one.
    pub fn round(&self) -> Option<u8> {
        crate::protocol::Header::decode(&self.payload)
            .ok()
            .map(|(h, _)| h.round)
    }
}

/// How a party ended.
pub enum Outcome<P: Protocol> {
    /// It produced its output.
    Done(P::Output),
    /// It failed.
    Failed(P::Error),
    /// It was still waiting for messages when none were left, from these parties (its
    /// [`Protocol::waiting_for`], which a transport's round deadline would name).
    Waiting(Vec<PartyIndex>),
}

impl<P: Protocol> Outcome<P> {
    /// The output, if the party finished.
    pub fn done(&self) -> Option<&P::Output> {
        match self {
            Outcome::Done(o) => Some(o),
            _ => None,
        }
    }

    /// The error, if the party failed.
    pub fn failed(&self) -> Option<&P::Error> {
        match self {
            Outcome::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// Takes the output out, if the party finished.
    pub fn into_done(self) -> Option<P::Output> {
        match self {
            Outcome::Done(o) => Some(o),
            _ => None,
        }
    }
}

impl<P: Protocol> core::fmt::Debug for Outcome<P>
where
    P::Error: core::fmt::Debug,
{
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Outcome::Done(_) => f.write_str("Done"),
            Outcome::Failed(e) => write!(f, "Failed({e:?})"),
            Outcome::Waiting(from) => write!(f, "Waiting({from:?})"),
        }
    }
}

/// What a run produced.
pub struct Report<P: Protocol> {
    /// Each party's outcome, by roster index.
    pub outcomes: Vec<Outcome<P>>,
    /// Every message the parties sent, in sending order (broadcasts once, before routing).
    pub sent: Vec<(PartyIndex, Outgoing)>,
    /// How many deliveries were made.
    pub deliveries: usize,
}

impl<P: Protocol> Report<P> {
    /// The outputs, if every party finished.
    pub fn all_done(self) -> Option<Vec<P::Output>> {
        self.outcomes.into_iter().map(Outcome::into_done).collect()
    }
}

type Router = Box<dyn FnMut(Envelope) -> Vec<Envelope>>;

/// n parties and a router.
pub struct Simulation<P: Protocol> {
    parties: Vec<P>,
    router: Router,
    reorder: Option<ChaCha20Rng>,
    max_deliveries: usize,
}

impl<P: Protocol> Simulation<P> {
    /// Parties in roster order (party `i` must report `me() == i`), delivering every message
    /// unchanged in sending order.
    pub fn new(parties: Vec<P>) -> Self {
        Self {
            parties,
            router: Box::new(|e| vec![e]),
            reorder: None,
            max_deliveries: 10_000_000,
        }
    }

    /// Routes every delivery through `router` (see the module doc).
    pub fn router(mut self, router: impl FnMut(Envelope) -> Vec<Envelope> + 'static) -> Self {
        self.router = Box::new(router);
        self
    }

    /// Delivers messages in an order drawn from a seeded RNG.
    pub fn reorder(mut self, seed: u64) -> Self {
        self.reorder = Some(ChaCha20Rng::seed_from_u64(seed));
        self
    }

    /// Runs until no message is left in flight.
    pub fn run(mut self) -> Report<P> {
        let n = self.parties.len();
        let mut outcomes: Vec<Option<Outcome<P>>> = (0..n).map(|_| None).collect();
        let mut sent = Vec::new();
        let mut queue: VecDeque<Envelope> = VecDeque::new();

        for i in 0..n {
            let out = self.parties[i].start();
            self.dispatch(
                i,
                out.map(Step::Continue),
                &mut outcomes,
                &mut sent,
                &mut queue,
            );
        }

        let mut deliveries = 0;
        while deliveries < self.max_deliveries {
            let Some(env) = self.next(&mut queue) else {
                break;
            };
            let to = usize::from(env.to);
            if to >= n || outcomes[to].is_some() {
                continue;
            }
            deliveries += 1;
            let step = self.parties[to].receive(env.from, &env.payload);
            let failed = step.is_err();
            self.dispatch(to, step, &mut outcomes, &mut sent, &mut queue);
            if failed {
                let parting = Ok(Step::Continue(self.parties[to].parting()));
                self.dispatch(to, parting, &mut outcomes, &mut sent, &mut queue);
            }
        }

        Report {
            outcomes: outcomes
                .into_iter()
                .zip(&self.parties)
                .map(|(o, p)| o.unwrap_or_else(|| Outcome::Waiting(p.waiting_for())))
                .collect(),
            sent,
            deliveries,
        }
    }

    /// The next envelope to deliver, honouring delays and the reorder RNG.
    fn next(&mut self, queue: &mut VecDeque<Envelope>) -> Option<Envelope> {
        loop {
            if queue.is_empty() {
                return None;
            }
            let idx = match &mut self.reorder {
                // `queue.len() >= 1`, so the bound fits in u32 for any realistic run and the
                // modulo is in range.
                Some(rng) => (rng.next_u64() % queue.len() as u64) as usize,
                None => 0,
            };
            let mut env = queue.remove(idx)?;
            if env.delay == 0 {
                return Some(env);
            }
            env.delay -= 1;
            queue.push_back(env);
            if queue.iter().all(|e| e.delay > 0) {
                // Only delayed messages are left: let time pass for all of them at once.
                let min = queue.iter().map(|e| e.delay).min().unwrap_or(0);
                queue.iter_mut().for_each(|e| e.delay -= min);
            }
        }
    }

    fn dispatch(
        &mut self,
        from: usize,
        step: Result<Step<P::Output>, P::Error>,
        outcomes: &mut [Option<Outcome<P>>],
        sent: &mut Vec<(PartyIndex, Outgoing)>,
        queue: &mut VecDeque<Envelope>,
    ) {
        let n = outcomes.len();
        let messages = match step {
            Ok(Step::Continue(m)) => m,
            Ok(Step::Done(m, out)) => {
                outcomes[from] = Some(Outcome::Done(out));
                m
            }
            Err(e) => {
                outcomes[from] = Some(Outcome::Failed(e));
                return;
            }
        };
        // Roster sizes are at most 65535, so every index fits in a PartyIndex.
        let from = from as PartyIndex;
        for msg in messages {
            let (targets, broadcast): (Vec<PartyIndex>, bool) = match msg.to {
                Recipient::All => ((0..n as PartyIndex).filter(|&j| j != from).collect(), true),
                Recipient::One(j) => (vec![j], false),
            };
            for to in targets {
                let env = Envelope {
                    from,
                    to,
                    broadcast,
                    payload: msg.payload.clone(),
                    delay: 0,
                };
                queue.extend((self.router)(env));
            }
            sent.push((from, msg));
        }
    }
}

/// Truncations of a signed message `real` (header, body, 64-byte identity signature), as a
/// dishonest sender could sign them: for every length below `real.len()`, a payload whose last
/// 64 bytes are a signature by `sign` over the bytes before them. Lengths below 64 are plain
/// prefixes (no room for a signature). Where the signature overlaps the header, only the
/// length whose header one signature byte completes is included, ground from a randomized
/// `sign` until that byte matches `real` (about 256 tries); shorter lengths would need 2^16
/// tries or more and reach the same decoding path.
///
/// Panics if `sign` is deterministic and the grind finds nothing (a test set-up error).
pub fn short_signed_payloads(real: &[u8], sign: impl Fn(&[u8]) -> [u8; 64]) -> Vec<Vec<u8>> {
    let header = crate::protocol::Header::LEN;
    let mut out = Vec::new();
    for len in 0..real.len() {
        let Some(cut) = len.checked_sub(64) else {
            out.push(real[..len].to_vec());
            continue;
        };
        let unsigned = &real[..cut];
        let signed = || [unsigned, &sign(unsigned)].concat();
        if cut >= header {
            out.push(signed());
        } else if cut + 1 == header {
            let ground = (0..1 << 16)
                .map(|_| signed())
                .find(|p| p[cut] == real[cut])
                .expect("a randomized signer finds a signature completing the header");
            out.push(ground);
        }
    }
    out
}
