//! `tessera demo`: the whole story on one machine, in process.
//!
//! For each suite: n parties with fresh identity keys run the distributed key generation
//! (design §3.1) and certify the result, a random t of them sign a message through both FROST
//! rounds, a standard verifier checks the signature, and a second session with one tampered
//! signature share shows every honest party naming the cheater. Every party is a sans-IO
//! `Protocol` run by the in-process simulation harness; the libp2p mesh replaces the harness
//! with real nodes on loopback in the mesh issue.

use std::{sync::Arc, time::Instant};

use rand_core::{Rng, UnwrapErr};
use serde_json::json;
use tessera_core::{
    protocol::Header,
    sim::{Envelope, Simulation},
    Blame, Ciphersuite, Ed25519, Ed25519Identity, Fault, Identifier, IdentitySigner, Secp256k1,
    Suite, Taproot, Tweak,
};
use tessera_keygen::{
    certify::Certify,
    dkg::{Dkg, DkgParams},
    KeyShare,
};
use tessera_sign::{SignParty, SigningRequest};

use crate::output::{Output, FAILED, OK, USAGE};

/// Arguments of `tessera demo`.
#[derive(clap::Args)]
pub struct Args {
    /// ed25519, secp256k1, taproot, or all.
    #[arg(long, default_value = "all")]
    suite: String,
    /// Number of parties n.
    #[arg(long, default_value_t = 5)]
    parties: u16,
    /// Threshold t (signers needed).
    #[arg(long, default_value_t = 3)]
    threshold: u16,
}

type Rng64 = UnwrapErr<getrandom::SysRng>;

/// One reported step.
struct Step {
    suite: Suite,
    name: &'static str,
    detail: String,
    millis: f64,
    ok: bool,
}

/// Runs the demo; returns the exit code.
pub fn run(args: &Args, out: &Output) -> u8 {
    let suites: Vec<Suite> = if args.suite == "all" {
        Suite::ALL.to_vec()
    } else {
        match args.suite.parse() {
            Ok(s) => vec![s],
            Err(e) => return out.error(USAGE, &format!("{e} (or all)")),
        }
    };
    if let Err(e) = tessera_core::keys::check_threshold(args.threshold.into(), args.parties.into())
    {
        return out.error(USAGE, &e.to_string());
    }
    let mut all_ok = true;
    for suite in suites {
        let steps = match suite {
            Suite::Ed25519 => story::<Ed25519>(args),
            Suite::Secp256k1 => story::<Secp256k1>(args),
            Suite::Taproot => story::<Taproot>(args),
        };
        for s in steps {
            all_ok &= s.ok;
            out.line(
                || {
                    format!(
                        "[{:9}] {:7} {:4} {:8.2} ms  {}",
                        s.suite.name(),
                        s.name,
                        if s.ok { "ok" } else { "FAIL" },
                        s.millis,
                        s.detail
                    )
                },
                || {
                    json!({ "suite": s.suite.name(), "step": s.name, "ok": s.ok,
                           "ms": s.millis, "detail": s.detail })
                },
            );
        }
    }
    if all_ok {
        OK
    } else {
        FAILED
    }
}

/// Picks t distinct identifiers out of 1..=n at random.
fn pick(t: u16, n: u16, rng: &mut Rng64) -> Vec<Identifier> {
    let mut ids: Vec<u16> = (1..=n).collect();
    for i in (1..ids.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        ids.swap(i, j);
    }
    let mut chosen: Vec<Identifier> = ids[..usize::from(t)]
        .iter()
        .filter_map(|&i| Identifier::new(i).ok())
        .collect();
    chosen.sort_unstable();
    chosen
}

fn story<C: Ciphersuite>(args: &Args) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut step = |name, ok: bool, detail: String, started: Instant| {
        steps.push(Step {
            suite: C::SUITE,
            name,
            detail,
            millis: started.elapsed().as_secs_f64() * 1000.0,
            ok,
        });
        ok
    };
    let mut rng: Rng64 = UnwrapErr(getrandom::SysRng);
    let (t, n) = (args.threshold, args.parties);
    let identities: Vec<Arc<dyn IdentitySigner>> = (0..n)
        .map(|_| Arc::new(Ed25519Identity::random(&mut rng)) as Arc<dyn IdentitySigner>)
        .collect();

    let started = Instant::now();
    let shares = match keygen::<C>(t, &identities, &mut rng) {
        Ok(v) => v,
        Err(e) => {
            step("keygen", false, e, started);
            return steps;
        }
    };
    let public = shares[0].public();
    step(
        "keygen",
        true,
        format!(
            "{t}-of-{n} DKG certified by all {n}, group key {}, roster {}",
            hex::encode(&public.group_key),
            public.fingerprint
        ),
        started,
    );

    let signers = pick(t, n, &mut rng);
    let message = b"tessera demo: pay 0.1 to the cold wallet".to_vec();
    let started = Instant::now();
    let signed = sign::<C>(&shares, &identities, &signers, &message, &mut rng, |e| {
        vec![e]
    });
    let (signature, key) = match signed.first() {
        Some(Ok(out)) => (
            out.signature.to_bytes().unwrap_or_default(),
            C::serialize_verifying_key(&out.output_key).unwrap_or_default(),
        ),
        _ => {
            step(
                "sign",
                false,
                "the signing session did not finish".into(),
                started,
            );
            return steps;
        }
    };
    let names: Vec<String> = signers.iter().map(|i| i.to_string()).collect();
    step(
        "sign",
        signed.iter().all(Result::is_ok),
        format!(
            "parties {} signed: {}",
            names.join(","),
            hex::encode(&signature)
        ),
        started,
    );

    let started = Instant::now();
    let (ok, verifier) = standard_verify(C::SUITE, &key, &message, &signature);
    step(
        "verify",
        ok,
        format!("{verifier}, key {}", hex::encode(&key)),
        started,
    );

    // A new session in which the first signer's share is altered on its way to everyone.
    let started = Instant::now();
    let cheater = signers[0];
    let outcomes = sign::<C>(
        &shares,
        &identities,
        &signers,
        &message,
        &mut rng,
        |mut e| {
            if e.from == 0 && round_of(&e) == 2 {
                e.payload[Header::LEN + 2 + 31] ^= 1;
            }
            vec![e]
        },
    );
    let honest = &outcomes[1..];
    let caught = !honest.is_empty()
        && honest.iter().all(|o| {
            matches!(o, Err(culprits) if culprits.len() == 1
                && culprits[0].party == 0 && culprits[0].fault == Fault::BadSignatureShare)
        });
    let detail = if caught {
        format!("every honest signer named party {cheater} for a bad signature share")
    } else {
        "a tampered share went unnamed".into()
    };
    step("blame", caught, detail, started);
    steps
}

/// The DKG and certification of design §3.1 for every party, in process.
fn keygen<C: Ciphersuite>(
    t: u16,
    identities: &[Arc<dyn IdentitySigner>],
    rng: &mut Rng64,
) -> Result<Vec<KeyShare<C>>, String> {
    let mut session = [0u8; 32];
    rng.fill_bytes(&mut session);
    let params = DkgParams {
        session,
        threshold: t,
        roster: identities.iter().map(|i| i.identity()).collect(),
    };
    let parties = identities
        .iter()
        .enumerate()
        // The roster has at most 65535 entries (checked by `check_threshold` in `run`).
        .map(|(i, id)| Dkg::<C>::new(params.clone(), i as u16, id.clone(), rng))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    let pending = Simulation::new(parties)
        .run()
        .all_done()
        .ok_or("a party did not finish the DKG")?;
    let certifiers = pending.iter().map(|p| Certify::new(p, session)).collect();
    let certificates = Simulation::new(certifiers)
        .run()
        .all_done()
        .ok_or("a party did not certify the key")?;
    pending
        .iter()
        .zip(&certificates)
        .map(|(p, c)| p.activate(c).map_err(|e| e.to_string()))
        .collect()
}

/// One signing session of `signers`, each a `SignParty`; returns each signer's output or the
/// culprits it named.
fn sign<C: Ciphersuite>(
    shares: &[KeyShare<C>],
    identities: &[Arc<dyn IdentitySigner>],
    signers: &[Identifier],
    message: &[u8],
    rng: &mut Rng64,
    router: impl FnMut(Envelope) -> Vec<Envelope> + 'static,
) -> Vec<Result<tessera_sign::SignOutput<C>, Vec<tessera_core::Culprit>>> {
    let mut session_id = [0u8; 32];
    rng.fill_bytes(&mut session_id);
    let request = SigningRequest {
        session_id,
        message: message.to_vec(),
        tweak: if C::BIP340 {
            Tweak::bip86()
        } else {
            Tweak::none()
        },
        signers: signers.iter().copied().collect(),
    };
    let index = |id: &Identifier| usize::from(id.get() - 1);
    let roster: Vec<_> = signers
        .iter()
        .map(|id| (*id, identities[index(id)].identity()))
        .collect();
    let parties: Result<Vec<_>, _> = signers
        .iter()
        .map(|id| {
            SignParty::new(
                shares[index(id)].key_package(),
                request.clone(),
                roster.clone(),
                identities[index(id)].clone(),
                rng,
            )
        })
        .collect();
    let parties = match parties {
        Ok(p) => p,
        Err(e) => return vec![Err(e.culprits().to_vec())],
    };
    Simulation::new(parties)
        .router(router)
        .run()
        .outcomes
        .into_iter()
        .map(|o| match o {
            tessera_core::sim::Outcome::Done(out) => Ok(out),
            tessera_core::sim::Outcome::Failed(e) => Err(e.culprits().to_vec()),
            tessera_core::sim::Outcome::Waiting => Err(Vec::new()),
        })
        .collect()
}

fn round_of(e: &Envelope) -> u8 {
    Header::decode(&e.payload)
        .map(|(h, _)| h.round)
        .unwrap_or(0)
}

/// Verifies with a verifier that is not tessera's own where one exists.
fn standard_verify(suite: Suite, key: &[u8], msg: &[u8], sig: &[u8]) -> (bool, &'static str) {
    match suite {
        Suite::Ed25519 => {
            let ok = <[u8; 32]>::try_from(key)
                .ok()
                .and_then(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).ok())
                .zip(ed25519_dalek::Signature::from_slice(sig).ok())
                .is_some_and(|(k, s)| k.verify_strict(msg, &s).is_ok());
            (ok, "ed25519-dalek verify_strict (RFC 8032)")
        }
        Suite::Taproot => {
            let ok = k256::schnorr::VerifyingKey::from_slice(key)
                .ok()
                .zip(k256::schnorr::Signature::try_from(sig).ok())
                .is_some_and(|(k, s)| k.verify_raw(msg, &s).is_ok());
            (ok, "k256 BIP-340 verifier, BIP-86 output key")
        }
        Suite::Secp256k1 => (
            tessera_sign::verify_bytes(suite, key, msg, sig).is_ok(),
            "RFC 9591 verification (no external verifier exists for this encoding)",
        ),
    }
}
