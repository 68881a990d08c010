//! Replaying reference DKG vectors ([`DkgVector`], ZF FROST's `vectors_dkg.json`): every
//! commitment from its coefficients, every proof of knowledge under ZF's session-less
//! challenge, every share `f_j(i)` and its Feldman check, then each party's signing and
//! verifying share and the group key, through ZF's BIP-86 `post_dkg` tweak where the vector
//! records one.

use group::Group as _;
use tessera_core::{
    feldman::Commitment, polynomial::SecretPolynomial, Ciphersuite, Identifier, KeyTweak,
    SecretScalar, Tweak,
};
use tessera_keygen::dkg::round1::{verify_pok, zf_pok_challenge};

use crate::{
    check::{scalar, unhex, Steps, MAX_DKG_PARTIES},
    format::{DkgParty, DkgVector, PostDkg},
    Outcome,
};

pub(crate) fn check<C: Ciphersuite>(name: &str, v: &DkgVector) -> Vec<Outcome> {
    let mut steps = Steps::new::<C>(name);
    if let Err(e) = replay::<C>(v, &mut steps) {
        steps.record("replay", Err(e));
    }
    steps.into_outcomes()
}

fn encode<C: Ciphersuite>(p: &C::Point) -> Result<C::PointBytes, String> {
    C::serialize_point(p).map_err(|e| e.to_string())
}

fn point<C: Ciphersuite>(hex: &str) -> Result<C::Point, String> {
    C::deserialize_point(&unhex(hex)?).map_err(|e| e.to_string())
}

/// One party's decoded public round-1 data and its polynomial.
struct Party<'a, C: Ciphersuite> {
    id: Identifier,
    recorded: &'a DkgParty,
    polynomial: SecretPolynomial<C>,
    commitment: Commitment<C>,
}

fn replay<C: Ciphersuite>(v: &DkgVector, steps: &mut Steps) -> Result<(), String> {
    let n = v.parties.len();
    if n != usize::from(v.participants) {
        return Err(format!(
            "{} parties listed for {} participants",
            n, v.participants
        ));
    }
    if v.participants > MAX_DKG_PARTIES || v.threshold < 2 || v.threshold > v.participants {
        return Err(format!(
            "t = {}, n = {}: DKG vectors need 2 <= t <= n <= {MAX_DKG_PARTIES}",
            v.threshold, v.participants
        ));
    }
    let t = usize::from(v.threshold);

    // Round 1: commitments from the coefficients, and the proofs of knowledge.
    let mut parties: Vec<Party<'_, C>> = Vec::with_capacity(n);
    for p in &v.parties {
        let id = Identifier::new(p.id).map_err(|e| e.to_string())?;
        if parties.last().is_some_and(|q| q.id >= id) {
            return Err("parties must be listed once each, in identifier order".into());
        }
        if p.coefficients.len() != t || p.commitments.len() != t {
            return Err(format!(
                "participant {id}: {} coefficients and {} commitments for t = {t}",
                p.coefficients.len(),
                p.commitments.len()
            ));
        }
        let coefficients = p
            .coefficients
            .iter()
            .map(|c| scalar::<C>(c))
            .collect::<Result<Vec<_>, _>>()?;
        let polynomial = SecretPolynomial::from_coefficients(coefficients);
        for (k, (expected, computed)) in p
            .commitments
            .iter()
            .zip(polynomial.commit().points())
            .enumerate()
        {
            steps.compare(
                format!("participant {id}: commitment {k}"),
                expected,
                encode::<C>(computed)?.as_ref(),
            );
        }
        let commitment = Commitment::from_points(
            p.commitments
                .iter()
                .map(|c| point::<C>(c))
                .collect::<Result<Vec<_>, _>>()?,
        );
        steps.record(
            format!("participant {id}: proof_of_knowledge"),
            check_proof::<C>(id, p, &commitment),
        );
        if let Some(nonce) = &p.proof_nonce {
            steps.record(
                format!("participant {id}: proof R from nonce"),
                check_nonce::<C>(nonce, &p.proof_of_knowledge),
            );
        }
        parties.push(Party {
            id,
            recorded: p,
            polynomial,
            commitment,
        });
    }

    // Round 2: each received share, recomputed and checked against its sender's commitment.
    let mut totals = Vec::with_capacity(n);
    for me in &parties {
        let own = me.polynomial.evaluate(me.id);
        let mut total = *own.expose_secret();
        for from in me.recorded.received_shares.iter().map(|s| s.from) {
            if !parties.iter().any(|q| q.id.get() == from && q.id != me.id) {
                steps.record(
                    format!("participant {}: share from {from}", me.id),
                    Err("no such other participant".into()),
                );
            }
        }
        for sender in parties.iter().filter(|q| q.id != me.id) {
            let step = format!("participant {}: share from {}", me.id, sender.id);
            let Some(recorded) = me
                .recorded
                .received_shares
                .iter()
                .find(|s| s.from == sender.id.get())
            else {
                steps.record(step, Err("not recorded".into()));
                continue;
            };
            let computed = sender.polynomial.evaluate(me.id);
            steps.compare(step.clone(), &recorded.share, &*computed.to_bytes());
            let share = match scalar::<C>(&recorded.share) {
                Ok(s) => s,
                Err(e) => {
                    steps.record(format!("{step} vs commitment"), Err(e));
                    continue;
                }
            };
            steps.record(
                format!("{step} vs commitment"),
                if sender.commitment.verify_share(me.id, &share) {
                    Ok(())
                } else {
                    Err("f_j(i)·G differs from j's commitment evaluated at i".into())
                },
            );
            total += share.expose_secret();
        }
        totals.push(SecretScalar::<C>::new(total));
    }

    // Results: s_i = Σ_j f_j(i), Y_i from the summed commitments, P = Σ_j C_j0.
    let summed = Commitment::sum(parties.iter().map(|p| &p.commitment));
    let group_key = summed.points().first().copied().ok_or("no commitments")?;
    let results = Results::<C>::new(v.post_dkg, &group_key)?;
    for (party, total) in parties.iter().zip(&totals) {
        let id = party.id;
        steps.compare(
            format!("participant {id}: signing_share{}", results.label()),
            &party.recorded.signing_share,
            &C::serialize_scalar(&results.share(total)),
        );
        steps.compare(
            format!("participant {id}: verifying_share{}", results.label()),
            &party.recorded.verifying_share,
            encode::<C>(&results.point(&summed.evaluate(id)))?.as_ref(),
        );
    }
    steps.compare(
        format!("group public key{}", results.label()),
        &v.group_public_key,
        encode::<C>(&results.point(&group_key))?.as_ref(),
    );
    Ok(())
}

/// `R == μ·G − c·C_0` with ZF's challenge `HDKG(i ‖ C_0 ‖ R)`, R and C_0 in the suite's point
/// encoding (a taproot proof's x-only R is the even-y point).
fn check_proof<C: Ciphersuite>(
    id: Identifier,
    p: &DkgParty,
    commitment: &Commitment<C>,
) -> Result<(), String> {
    let (r, mu) = C::deserialize_signature(&unhex(&p.proof_of_knowledge)?)
        .map_err(|e| format!("proof: {e}"))?;
    let c0 = commitment.constant().ok_or("no commitments")?;
    let c0_bytes = unhex(p.commitments.first().ok_or("no commitments")?)?;
    let challenge = zf_pok_challenge::<C>(id, &c0_bytes, encode::<C>(&r)?.as_ref());
    if verify_pok::<C>(c0, &r, &mu, &challenge) {
        Ok(())
    } else {
        Err("the proof does not verify".into())
    }
}

/// `k·G == R`.
fn check_nonce<C: Ciphersuite>(nonce: &str, proof: &str) -> Result<(), String> {
    let (r, _) = C::deserialize_signature(&unhex(proof)?).map_err(|e| format!("proof: {e}"))?;
    let got = C::mul_base(scalar::<C>(nonce)?.expose_secret());
    if got == r {
        Ok(())
    } else {
        Err(format!(
            "k·G = {}, R = {}",
            hex::encode(encode::<C>(&got)?),
            hex::encode(encode::<C>(&r)?)
        ))
    }
}

/// How recorded results relate to the DKG's.
enum Results<C: Ciphersuite> {
    /// As the DKG produced them.
    Plain,
    /// ZF's BIP-86 `post_dkg`, reproduced with tessera's [`KeyTweak`]. That maps the DKG's
    /// results by `x ↦ m·x + c` onto shares of the even-y output key; ZF keeps the parity of
    /// `Q = even_y(P) + t·G`, so where `Q` has odd y every ZF value is the negation of
    /// tessera's (`flip`).
    Bip86 { tweak: KeyTweak<C>, flip: bool },
}

impl<C: Ciphersuite> Results<C> {
    fn new(post: PostDkg, group_key: &C::Point) -> Result<Self, String> {
        match post {
            PostDkg::None => Ok(Results::Plain),
            PostDkg::Bip86 => {
                let tweak = KeyTweak::derive(group_key, &[0; 32], &Tweak::bip86())
                    .map_err(|e| format!("BIP-86 tweak: {e}"))?;
                // tessera's Q = m_Q·even_y(P) + c·G, where c·G is the image of the identity
                // and m_Q = -1 exactly when ZF's Q has odd y.
                let offset = tweak.apply_to_point(&C::Point::identity());
                let even = if C::has_even_y(group_key) {
                    *group_key
                } else {
                    -*group_key
                };
                let flip = *tweak.output_key() - offset != even;
                Ok(Results::Bip86 { tweak, flip })
            }
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Results::Plain => "",
            Results::Bip86 { .. } => " (BIP-86 tweak)",
        }
    }

    fn share(&self, s: &SecretScalar<C>) -> C::Scalar {
        match self {
            Results::Plain => *s.expose_secret(),
            Results::Bip86 { tweak, flip } => {
                let t = *tweak.apply_to_share(s).expose_secret();
                if *flip {
                    -t
                } else {
                    t
                }
            }
        }
    }

    fn point(&self, p: &C::Point) -> C::Point {
        match self {
            Results::Plain => *p,
            Results::Bip86 { tweak, flip } => {
                let q = tweak.apply_to_point(p);
                if *flip {
                    -q
                } else {
                    q
                }
            }
        }
    }
}
