//! `tessera demo`: the whole signing story on one machine, in process.
//!
//! For each suite: deal a fresh key to n parties (trusted dealer; the distributed key
//! generation replaces it once it lands), sign a message with a random t of them through both
//! FROST rounds, verify the signature with a standard verifier, and show that a tampered
//! signature share is caught and its sender named. Peers talking over libp2p come with the
//! mesh issue; here every party lives in this process.

use std::{
    collections::{BTreeMap, BTreeSet},
    time::Instant,
};

use rand_core::{Rng, UnwrapErr};
use serde_json::json;
use tessera_core::{Ciphersuite, Ed25519, Identifier, Secp256k1, Suite, Taproot, Tweak};
use tessera_keygen::dealer::split_random;
use tessera_sign::{Aggregator, SignError, SignatureShare, Signer, SigningPackage, SigningRequest};

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

    let started = Instant::now();
    let (keys, public) = match split_random::<C>(t, n, &mut rng) {
        Ok(v) => v,
        Err(e) => {
            step("split", false, e.to_string(), started);
            return steps;
        }
    };
    step(
        "split",
        true,
        format!("{t}-of-{n} key dealt to parties 1..={n}"),
        started,
    );

    let signers = pick(t, n, &mut rng);
    let tweak = if C::BIP340 {
        Tweak::bip86()
    } else {
        Tweak::none()
    };
    let message = b"tessera demo: pay 0.1 to the cold wallet".to_vec();
    let mut session_id = [0u8; 32];
    rng.fill_bytes(&mut session_id);
    let request = SigningRequest {
        session_id,
        message: message.clone(),
        tweak,
        signers: signers.iter().copied().collect::<BTreeSet<_>>(),
    };
    let started = Instant::now();
    let signed = sign_all(&keys, &public, &request, &mut rng);
    let (aggregator, package, shares, signature) = match signed {
        Ok(v) => v,
        Err(e) => {
            step("sign", false, e.to_string(), started);
            return steps;
        }
    };
    let names: Vec<String> = signers.iter().map(|i| i.to_string()).collect();
    let sig_bytes = signature.to_bytes().unwrap_or_default();
    step(
        "sign",
        true,
        format!(
            "parties {} signed: {}",
            names.join(","),
            hex::encode(&sig_bytes)
        ),
        started,
    );

    let started = Instant::now();
    let key = C::serialize_verifying_key(aggregator.session().output_key()).unwrap_or_default();
    let (ok, verifier) = standard_verify(C::SUITE, &key, &message, &sig_bytes);
    step(
        "verify",
        ok,
        format!("{verifier}, key {}", hex::encode(&key)),
        started,
    );

    let started = Instant::now();
    let victim = signers[0];
    let mut tampered = shares.clone();
    let mut z = shares[&victim].to_bytes();
    z[31] ^= 1;
    let outcome = SignatureShare::<C>::from_bytes(&z)
        .map_err(SignError::from)
        .and_then(|bad| {
            tampered.insert(victim, bad);
            aggregator.aggregate(&package, &tampered)
        });
    let caught =
        matches!(&outcome, Err(SignError::InvalidShares { culprits }) if culprits == &vec![victim]);
    let detail = match outcome {
        Err(e) => format!("tampered share from party {victim} rejected: {e}"),
        Ok(_) => "a tampered share was accepted".into(),
    };
    step("blame", caught, detail, started);
    steps
}

type Signed<C> = (
    Aggregator<C>,
    SigningPackage<C>,
    BTreeMap<Identifier, SignatureShare<C>>,
    tessera_sign::Signature<C>,
);

/// Both FROST rounds and aggregation with every signer in this process.
fn sign_all<C: Ciphersuite>(
    keys: &[tessera_core::KeyPackage<C>],
    public: &tessera_core::PublicKeyPackage<C>,
    request: &SigningRequest,
    rng: &mut Rng64,
) -> Result<Signed<C>, SignError> {
    let mut signers: Vec<Signer<C>> = keys
        .iter()
        .filter(|k| request.signers.contains(&k.identifier()))
        .map(|k| Signer::new(k, request.clone()))
        .collect::<Result<_, _>>()?;
    let mut nonces = Vec::new();
    let mut commitments = BTreeMap::new();
    for s in &mut signers {
        let (n, c) = s.commit(rng)?;
        nonces.push(n);
        commitments.insert(s.identifier(), c);
    }
    let package = SigningPackage::new(commitments, request.message.clone());
    let shares = signers
        .iter()
        .zip(nonces)
        .map(|(s, n)| Ok((s.identifier(), s.sign(n, &package)?)))
        .collect::<Result<BTreeMap<_, _>, SignError>>()?;
    let aggregator = Aggregator::new(public, request.clone())?;
    let signature = aggregator.aggregate(&package, &shares)?;
    Ok((aggregator, package, shares, signature))
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
