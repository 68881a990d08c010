//! tessera's own DKG vectors ([`DkgRunVector`]): a run of [`Dkg`] and [`Certify`] through the
//! simulation harness in plain delivery order, generated from one seed and replayed from the
//! recorded seeds, message by message and output by output.
//!
//! A run is rebuilt from what the file records: each party's identity key is
//! `Ed25519Identity::from_seed(identity_seed)` and its RNG, handed to `Dkg::new`, is
//! `ChaCha20Rng::seed_from_u64(rng_seed)`; the session id and threshold are recorded. Certification
//! runs in the DKG's session. [`generate`] derives those values from one seed: the session id
//! and then every identity seed are drawn in order from `ChaCha20Rng::seed_from_u64(seed)`, and
//! party i's `rng_seed` is `seed << 16 | i`.

use std::sync::Arc;

use rand_chacha::{
    rand_core::{Rng as _, SeedableRng},
    ChaCha20Rng,
};
use tessera_core::{
    protocol::{Header, Outgoing, Recipient},
    sim::{Outcome as SimOutcome, Report, Simulation},
    Ciphersuite, Ed25519Identity, IdentitySigner, PartyIndex, SessionId,
};
use tessera_keygen::{
    certify::Certify,
    dkg::{Dkg, DkgParams},
    PendingKeyShare,
};

use crate::{
    check::{unhex32, Steps, MAX_DKG_PARTIES},
    format::{DkgRunVector, Everyone, RunMessage, RunParty, RunRecipient},
    Outcome,
};

/// How to rebuild one party: its identity seed and its RNG seed.
struct Seeds {
    identity: [u8; 32],
    rng: u64,
}

/// The DKG parties of a run.
fn parties<C: Ciphersuite>(
    session: &SessionId,
    threshold: u16,
    seeds: &[Seeds],
) -> Result<Vec<Dkg<C>>, String> {
    let identities: Vec<Arc<Ed25519Identity>> = seeds
        .iter()
        .map(|s| Arc::new(Ed25519Identity::from_seed(&s.identity)))
        .collect();
    let params = DkgParams {
        session: *session,
        threshold,
        roster: identities.iter().map(|i| i.identity()).collect(),
    };
    identities
        .iter()
        .zip(seeds)
        .enumerate()
        .map(|(i, (identity, s))| {
            // At most MAX_DKG_PARTIES parties, so the index fits.
            let me = i as PartyIndex;
            let mut rng = ChaCha20Rng::seed_from_u64(s.rng);
            Dkg::new(params.clone(), me, identity.clone(), &mut rng)
                .map_err(|e| format!("party {me}: {e}"))
        })
        .collect()
}

/// Certification of the pending shares, in the DKG's session.
fn certify<C: Ciphersuite>(pending: &[PendingKeyShare<C>], session: &SessionId) -> Report<Certify> {
    Simulation::new(pending.iter().map(|p| Certify::new(p, *session)).collect()).run()
}

fn record(from: PartyIndex, out: &Outgoing) -> RunMessage {
    RunMessage {
        from,
        to: match out.to {
            Recipient::All => RunRecipient::All(Everyone::All),
            Recipient::One(j) => RunRecipient::One(j),
        },
        payload: hex::encode(&out.payload),
    }
}

fn point<C: Ciphersuite>(p: &C::Point) -> Result<Vec<u8>, String> {
    C::serialize_point(p)
        .map(|b| b.as_ref().to_vec())
        .map_err(|e| e.to_string())
}

/// Runs tessera's DKG and certification for `threshold` of `n` from `seed` (see the module doc)
/// and records everything.
pub fn generate<C: Ciphersuite>(threshold: u16, n: u16, seed: u64) -> Result<DkgRunVector, String> {
    let mut setup = ChaCha20Rng::seed_from_u64(seed);
    let mut session = [0u8; 32];
    setup.fill_bytes(&mut session);
    let seeds: Vec<Seeds> = (0..n)
        .map(|i| {
            let mut identity = [0u8; 32];
            setup.fill_bytes(&mut identity);
            Seeds {
                identity,
                rng: seed << 16 | u64::from(i),
            }
        })
        .collect();

    let report = Simulation::new(parties::<C>(&session, threshold, &seeds)?).run();
    let dkg_messages = report.sent.iter().map(|(f, m)| record(*f, m)).collect();
    let pending = report.all_done().ok_or("a party did not finish the DKG")?;
    let report = certify(&pending, &session);
    let certify_messages = report.sent.iter().map(|(f, m)| record(*f, m)).collect();
    let certificate = report
        .all_done()
        .and_then(|c| c.into_iter().next())
        .ok_or("a party did not finish certification")?;

    let first = pending.first().ok_or("no parties")?;
    let public = first.key_package().public();
    Ok(DkgRunVector {
        suite: C::SUITE,
        source: format!("tessera: `cargo run -p tessera-vectors --example gen-dkg` (seed {seed})"),
        session: hex::encode(session),
        threshold,
        parties: pending
            .iter()
            .zip(&seeds)
            .map(|(p, s)| RunParty {
                identity_seed: hex::encode(s.identity),
                identity: hex::encode(
                    Ed25519Identity::from_seed(&s.identity)
                        .identity()
                        .as_bytes(),
                ),
                rng_seed: s.rng,
                signing_share: hex::encode(*p.key_package().signing_share().to_bytes()),
                confirmation: hex::encode(p.confirmation().signature),
            })
            .collect(),
        dkg_messages,
        certify_messages,
        group_key: hex::encode(point::<C>(public.group_key())?),
        verifying_shares: public
            .verifying_shares()
            .values()
            .map(|y| point::<C>(y).map(hex::encode))
            .collect::<Result<_, _>>()?,
        chain_code: hex::encode(public.chain_code()),
        key_id: hex::encode(first.key_id()),
        certificate: certificate.signatures.iter().map(hex::encode).collect(),
    })
}

pub(crate) fn check<C: Ciphersuite>(name: &str, v: &DkgRunVector) -> Vec<Outcome> {
    let mut steps = Steps::new::<C>(name);
    if let Err(e) = replay::<C>(v, &mut steps) {
        steps.record("replay", Err(e));
    }
    steps.into_outcomes()
}

fn replay<C: Ciphersuite>(v: &DkgRunVector, steps: &mut Steps) -> Result<(), String> {
    let n = v.parties.len();
    if n < 2 || n > usize::from(MAX_DKG_PARTIES) {
        return Err(format!("{n} parties; DKG runs need 2 to {MAX_DKG_PARTIES}"));
    }
    let session = unhex32(&v.session)?;
    let mut seeds = Vec::with_capacity(n);
    for (i, p) in v.parties.iter().enumerate() {
        let identity = unhex32(&p.identity_seed)?;
        steps.compare(
            format!("party {i}: identity from seed"),
            &p.identity,
            Ed25519Identity::from_seed(&identity).identity().as_bytes(),
        );
        seeds.push(Seeds {
            identity,
            rng: p.rng_seed,
        });
    }

    let report = Simulation::new(parties::<C>(&session, v.threshold, &seeds)?).run();
    compare_messages(steps, "dkg", &v.dkg_messages, &report.sent);
    let mut pending = Vec::with_capacity(n);
    for (i, outcome) in report.outcomes.into_iter().enumerate() {
        match outcome {
            SimOutcome::Done(p) => pending.push(p),
            SimOutcome::Failed(e) => steps.record(format!("party {i}: dkg"), Err(e.to_string())),
            SimOutcome::Waiting(_) => steps.record(
                format!("party {i}: dkg"),
                Err("still waiting when no message was left".into()),
            ),
        }
    }
    if pending.len() != n {
        return Ok(());
    }
    for (i, (p, recorded)) in pending.iter().zip(&v.parties).enumerate() {
        compare_outputs::<C>(steps, i, p, recorded, v)?;
    }

    let report = certify(&pending, &session);
    compare_messages(steps, "certify", &v.certify_messages, &report.sent);
    for (i, (outcome, p)) in report.outcomes.into_iter().zip(&pending).enumerate() {
        let step = format!("party {i}: certificate");
        match outcome {
            SimOutcome::Done(c) => {
                steps.compare(step, &v.certificate.concat(), &c.signatures.concat());
                steps.record(
                    format!("party {i}: activates"),
                    p.activate(&c)
                        .and_then(|k| k.public().verify())
                        .map_err(|e| e.to_string()),
                );
            }
            SimOutcome::Failed(e) => steps.record(step, Err(e.to_string())),
            SimOutcome::Waiting(_) => {
                steps.record(step, Err("still waiting when no message was left".into()))
            }
        }
    }
    Ok(())
}

/// One party's DKG outputs against the recorded ones.
fn compare_outputs<C: Ciphersuite>(
    steps: &mut Steps,
    i: usize,
    p: &PendingKeyShare<C>,
    recorded: &RunParty,
    v: &DkgRunVector,
) -> Result<(), String> {
    let public = p.key_package().public();
    steps.compare(
        format!("party {i}: group_key"),
        &v.group_key,
        &point::<C>(public.group_key())?,
    );
    if public.verifying_shares().len() != v.verifying_shares.len() {
        steps.record(
            format!("party {i}: verifying shares"),
            Err(format!(
                "expected {}, got {}",
                v.verifying_shares.len(),
                public.verifying_shares().len()
            )),
        );
    }
    for ((id, y), expected) in public.verifying_shares().iter().zip(&v.verifying_shares) {
        steps.compare(
            format!("party {i}: verifying_share of identifier {id}"),
            expected,
            &point::<C>(y)?,
        );
    }
    steps.compare(
        format!("party {i}: signing_share"),
        &recorded.signing_share,
        &*p.key_package().signing_share().to_bytes(),
    );
    steps.compare(
        format!("party {i}: chain_code"),
        &v.chain_code,
        public.chain_code(),
    );
    steps.compare(format!("party {i}: key_id"), &v.key_id, p.key_id());
    steps.compare(
        format!("party {i}: confirmation"),
        &recorded.confirmation,
        &p.confirmation().signature,
    );
    Ok(())
}

fn recipient(to: RunRecipient) -> String {
    match to {
        RunRecipient::All(_) => "all".into(),
        RunRecipient::One(j) => format!("party {j}"),
    }
}

/// Every sent message against the recorded one, in order.
fn compare_messages(
    steps: &mut Steps,
    protocol: &str,
    expected: &[RunMessage],
    sent: &[(PartyIndex, Outgoing)],
) {
    if expected.len() != sent.len() {
        steps.record(
            format!("{protocol} messages"),
            Err(format!(
                "expected {} messages, got {}",
                expected.len(),
                sent.len()
            )),
        );
    }
    for (k, (e, (from, out))) in expected.iter().zip(sent).enumerate() {
        let got = record(*from, out);
        let round = Header::decode(&out.payload).map_or(0, |(h, _)| h.round);
        let step = format!(
            "{protocol} message {k}: round {round}, party {} -> {}",
            got.from,
            recipient(got.to)
        );
        if (got.from, got.to) != (e.from, e.to) {
            steps.record(
                step,
                Err(format!("expected party {} -> {}", e.from, recipient(e.to))),
            );
        } else {
            steps.compare(step, &e.payload, &out.payload);
        }
    }
}
