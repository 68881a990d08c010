//! Tests for the secp256k1 MSM: the building blocks (wNAF, GLV split, constants, formulas)
//! and the whole against k256's `lincomb_vartime` and a naive `Σ sᵢ·Pᵢ`.
//!
//! In debug builds (tests) k256 checks its field elements' magnitudes on every operation, so
//! every formula here runs under those checks.

use super::*;
use ff::{Field, PrimeField};
use proptest::prelude::*;
use rand_chacha::{rand_core::SeedableRng, ChaCha20Rng};

fn lambda() -> Scalar {
    -scalar_const(MINUS_LAMBDA).unwrap()
}

fn beta() -> Fe {
    Option::from(Fe::from_bytes(&FieldBytes::from(BETA))).unwrap()
}

fn naive(scalars: &[Scalar], points: &[ProjectivePoint]) -> ProjectivePoint {
    scalars
        .iter()
        .zip(points)
        .map(|(s, p)| *p * s)
        .fold(ProjectivePoint::IDENTITY, |a, b| a + b)
}

/// Settings that force every path on small inputs: no hand-off to k256, and column sums
/// always, from 24 pairs (the default), or never (plain Straus with mixed additions).
const TEST_TUNINGS: [Tuning; 4] = [
    TUNING,
    Tuning {
        min_terms: 1,
        min_pairs: 1,
    },
    Tuning {
        min_terms: 1,
        min_pairs: MIN_PAIRS,
    },
    Tuning {
        min_terms: 1,
        min_pairs: usize::MAX,
    },
];

/// Checks the MSM, under every test setting and without the fallback, against both
/// references.
fn check(scalars: &[Scalar], points: &[ProjectivePoint]) {
    let want = naive(scalars, points);
    assert_eq!(want, lincomb_k256(scalars, points));
    assert_eq!(multiscalar_mul_vartime(scalars, points), want);
    for tuning in TEST_TUNINGS {
        let got = straus(scalars, points, tuning).expect("no internal failure");
        assert_eq!(got, want, "n = {}, {tuning:?}", points.len());
    }
}

fn scalar_from_u128(v: u128) -> Scalar {
    Scalar::from(v)
}

/// 2^e as a scalar.
fn pow2(e: u32) -> Scalar {
    (0..e).fold(Scalar::ONE, |a, _| a.double())
}

/// Scalars that stress the GLV split: tiny, huge, near n/2, around λ and 2^128.
fn special_scalars() -> Vec<Scalar> {
    let lam = lambda();
    let half = Scalar::from_repr(FieldBytes::from(hex32(
        "7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0",
    )))
    .unwrap();
    vec![
        Scalar::ONE,
        Scalar::ONE.double(),
        -Scalar::ONE,
        -Scalar::ONE.double(),
        half,
        half + Scalar::ONE,
        half - Scalar::ONE,
        lam,
        -lam,
        lam + Scalar::ONE,
        lam - Scalar::ONE,
        lam * lam,
        pow2(127),
        pow2(128),
        pow2(128) - Scalar::ONE,
        -pow2(128),
        pow2(129),
        pow2(255),
        scalar_from_u128(u128::MAX),
        -scalar_from_u128(u128::MAX),
        lam * scalar_from_u128(u128::MAX),
        lam * pow2(127) + pow2(127),
        -(lam * pow2(127) + pow2(127)),
        scalar_from_u128(u128::MAX) + lam * scalar_from_u128(u128::MAX),
    ]
}

fn random_scalar(rng: &mut ChaCha20Rng) -> Scalar {
    Scalar::random(rng)
}

// --- constants ---------------------------------------------------------------------------------

#[test]
fn endomorphism_constants() {
    let lam = lambda();
    assert_eq!(lam * lam * lam, Scalar::ONE);
    assert_ne!(lam, Scalar::ONE);
    let b = beta();
    assert_eq!(b.mul(&b).mul(&b).normalize(), Fe::ONE);
    assert_ne!(b.normalize(), Fe::ONE);
    // λ·P = (β·x, y), against k256's own endomorphism and plain multiplication.
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    for p in [
        ProjectivePoint::GENERATOR,
        ProjectivePoint::random(&mut rng),
        ProjectivePoint::random(&mut rng),
    ] {
        let a = p.to_affine();
        let l = (p * lam).to_affine();
        assert_eq!(l, p.endomorphism().to_affine());
        let x: Fe = Option::from(Fe::from_bytes(&a.x())).unwrap();
        assert_eq!(x.mul(&b).to_bytes(), l.x());
        assert_eq!(a.y(), l.y());
    }
}

#[test]
fn lattice_constants() {
    // a₁ + b₁·λ ≡ 0 and a₂ + b₂·λ ≡ 0 (mod n), with a₁ = b₂ and
    // a₂ = 114ca50f7a8e2f3f657c1108d9d44cfd8.
    let lam = lambda();
    let minus_b1 = scalar_const(MINUS_B1).unwrap();
    let minus_b2 = scalar_const(MINUS_B2).unwrap();
    let a1 = -minus_b2;
    let a2 = Scalar::from_repr(FieldBytes::from(hex32(
        "0000000000000000000000000000000114ca50f7a8e2f3f657c1108d9d44cfd8",
    )))
    .unwrap();
    assert_eq!(a1 - minus_b1 * lam, Scalar::ZERO);
    assert_eq!(a2 - minus_b2 * lam, Scalar::ZERO);
}

/// The magnitude checks the formulas rely on for their tests are live in this build.
#[test]
#[cfg(debug_assertions)]
#[should_panic]
fn magnitude_checks_are_active() {
    let m16 = Fe::ONE.double().double().double().double();
    let _ = m16.mul(&Fe::ONE);
}

// --- wNAF --------------------------------------------------------------------------------------

fn check_wnaf(k: u128) {
    let mut out = [0i8; WNAF_LEN];
    let len = wnaf(k, &mut out).unwrap();
    // Value: Σ dᵢ·2ⁱ as a signed 256-bit sum in two u128 halves is awkward; use Scalars.
    let value = out.iter().enumerate().fold(Scalar::ZERO, |acc, (i, d)| {
        let term = pow2(i as u32) * Scalar::from(u64::from(d.unsigned_abs()));
        if *d < 0 {
            acc - term
        } else {
            acc + term
        }
    });
    assert_eq!(value, Scalar::from(k), "k = {k:#x}");
    let mut last: Option<usize> = None;
    for (i, d) in out.iter().enumerate() {
        if *d == 0 {
            continue;
        }
        assert_eq!(d.rem_euclid(2), 1, "even digit at {i}");
        assert!(d.unsigned_abs() < 1 << (W - 1), "digit {d} too large");
        if let Some(l) = last {
            assert!(i - l >= W, "digits at {l} and {i} too close");
        }
        last = Some(i);
    }
    assert_eq!(len, last.map_or(0, |l| l + 1));
    assert!(len <= 129, "wNAF of a 128-bit value has at most 129 digits");
}

#[test]
fn wnaf_edges() {
    for k in [
        0,
        1,
        2,
        3,
        15,
        16,
        17,
        31,
        (1 << W) - 1,
        1 << W,
        (1 << (W - 1)) - 1,
        1 << (W - 1),
        u128::MAX,
        u128::MAX - 1,
        u128::MAX >> 1,
        1 << 127,
        (1 << 127) - 1,
        (1 << 127) + (1 << 126),
    ] {
        check_wnaf(k);
    }
}

// --- GLV ---------------------------------------------------------------------------------------

fn check_split(k: &Scalar) {
    let consts = GlvConsts::new().unwrap();
    let [h1, h2] = glv_split(k, &consts).expect("halves below 2^128");
    let signed = |h: Half| {
        let s = Scalar::from(h.abs);
        if h.negative {
            -s
        } else {
            s
        }
    };
    assert_eq!(signed(h1) + signed(h2) * lambda(), *k);
}

#[test]
fn glv_split_special() {
    check_split(&Scalar::ZERO);
    for k in special_scalars() {
        check_split(&k);
        check_split(&-k);
    }
    let mut rng = ChaCha20Rng::seed_from_u64(5);
    for _ in 0..2000 {
        check_split(&random_scalar(&mut rng));
    }
}

// --- formulas ----------------------------------------------------------------------------------

/// Affine coordinates of a non-identity point.
fn to_affine(p: &ProjectivePoint) -> (Fe, Fe) {
    let a = p.to_affine();
    (
        Option::from(Fe::from_bytes(&a.x())).unwrap(),
        Option::from(Fe::from_bytes(&a.y())).unwrap(),
    )
}

#[test]
fn jacobian_formulas() {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    for _ in 0..20 {
        let p = ProjectivePoint::random(&mut rng);
        let q = ProjectivePoint::random(&mut rng);
        let ((px, py), (qx, qy)) = (to_affine(&p), to_affine(&q));
        let j = Jacobian::from_affine(&px, &py);
        // A Jacobian point with Z ≠ 1, from a chain of operations.
        let j3 = j.double().add_affine(&px, &py).unwrap();
        assert_eq!(j3.to_projective().unwrap(), p * Scalar::from(3u64));
        assert_eq!(j3.double().to_projective().unwrap(), p * Scalar::from(6u64));
        assert_eq!(
            j3.add_affine(&qx, &qy).unwrap().to_projective().unwrap(),
            p * Scalar::from(3u64) + q
        );
        // Equal x: same point doubles, opposite point cancels.
        let (p3x, p3y) = to_affine(&(p * Scalar::from(3u64)));
        assert_eq!(
            j3.add_affine(&p3x, &p3y).unwrap().to_projective().unwrap(),
            p * Scalar::from(6u64)
        );
        assert!(j3.add_affine(&p3x, &p3y.negate(1)).is_none());
        // Negated y of magnitude 2 as the main loop passes it.
        assert_eq!(
            j3.add_affine(&qx, &qy.negate(1))
                .unwrap()
                .to_projective()
                .unwrap(),
            p * Scalar::from(3u64) - q
        );
    }
}

#[test]
fn odd_multiple_tables() {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let points: Vec<ProjectivePoint> = (0..5)
        .map(|_| ProjectivePoint::random(&mut rng))
        .chain([ProjectivePoint::GENERATOR, -ProjectivePoint::GENERATOR])
        .collect();
    let n = points.len();
    let mut buf = vec![Fe::ZERO; (3 * TABLE + 2) * n + n];
    let mut work = Work::carve(&mut buf, n, 0, 0).unwrap();
    for (i, p) in points.iter().enumerate() {
        (work.tx[i * TABLE], work.ty[i * TABLE]) = to_affine(p);
    }
    work.odd_multiples(n, &beta()).unwrap();
    for (i, p) in points.iter().enumerate() {
        for j in 0..TABLE {
            let e = i * TABLE + j;
            let (x, y) = to_affine(&(*p * Scalar::from(2 * j as u64 + 1)));
            let (lx, _) = to_affine(&(*p * Scalar::from(2 * j as u64 + 1)).endomorphism());
            assert_eq!(work.tx[e].normalize(), x, "point {i} entry {j}");
            assert_eq!(work.ty[e].normalize(), y, "point {i} entry {j}");
            assert_eq!(work.beta_x[e].normalize(), lx, "point {i} entry {j}");
        }
    }
}

/// Column sums on hand-made columns: empty, single, pairs that add, double or cancel, and
/// odd counts, all in one batch.
#[test]
fn column_sums_special_pairs() {
    let mut rng = ChaCha20Rng::seed_from_u64(10);
    let p = ProjectivePoint::random(&mut rng);
    let q = ProjectivePoint::random(&mut rng);
    let columns: Vec<Vec<ProjectivePoint>> = vec![
        vec![],
        vec![p],
        vec![p, q],
        vec![p, p],
        vec![p, -p],
        vec![p, -p, q],
        vec![p, p, p],
        vec![p, -p, p, -p],
        vec![p, q, -p, -q],
        vec![p, p, -p.double()],
        vec![q, p, p, p, p, -q, q],
        vec![p.endomorphism(), p, -p.endomorphism(), q],
    ];
    let mut starts = Vec::new();
    let mut lens = Vec::new();
    let mut flat = Vec::new();
    for c in &columns {
        starts.push(flat.len());
        lens.push(c.len());
        flat.extend(c.iter().map(to_affine));
    }
    let total = flat.len();
    let mut buf = vec![Fe::ZERO; 2 * total + total / 2];
    let mut work = Work::carve(&mut buf, 0, total, total / 2).unwrap();
    for (k, (x, y)) in flat.iter().enumerate() {
        work.px[k] = *x;
        work.py[k] = *y;
    }
    work.column_sums(&starts, &mut lens, 1).unwrap();
    for (c, column) in columns.iter().enumerate() {
        let want: ProjectivePoint = column.iter().sum();
        if bool::from(want.is_identity()) {
            assert_eq!(lens[c], 0, "column {c}");
        } else {
            assert_eq!(lens[c], 1, "column {c}");
            let (x, y) = to_affine(&want);
            assert_eq!(work.px[starts[c]].normalize(), x, "column {c}");
            assert_eq!(work.py[starts[c]].normalize(), y, "column {c}");
        }
    }
}

// --- the whole ---------------------------------------------------------------------------------

#[test]
fn empty_and_mismatched_lengths() {
    let g = ProjectivePoint::GENERATOR;
    assert_eq!(multiscalar_mul_vartime(&[], &[]), ProjectivePoint::IDENTITY);
    assert_eq!(
        multiscalar_mul_vartime(&[Scalar::ONE], &[]),
        ProjectivePoint::IDENTITY
    );
    assert_eq!(
        multiscalar_mul_vartime(&[], &[g]),
        ProjectivePoint::IDENTITY
    );
    // Extra scalars or points are ignored, as with `zip`.
    let two = Scalar::from(2u64);
    assert_eq!(multiscalar_mul_vartime(&[two, two], &[g]), g.double());
    assert_eq!(multiscalar_mul_vartime(&[two], &[g, g]), g.double());
}

#[test]
fn identity_points_and_zero_scalars() {
    let g = ProjectivePoint::GENERATOR;
    let id = ProjectivePoint::IDENTITY;
    let s = Scalar::from(12345u64);
    check(&[Scalar::ZERO], &[g]);
    check(&[s], &[id]);
    check(&[Scalar::ZERO, Scalar::ZERO], &[id, g]);
    check(&[s, Scalar::ZERO, s], &[id, g, g]);
    check(&[Scalar::ONE, -Scalar::ONE], &[g, g]);
}

#[test]
fn single_terms() {
    let mut rng = ChaCha20Rng::seed_from_u64(6);
    let p = ProjectivePoint::random(&mut rng);
    for k in special_scalars() {
        for q in [ProjectivePoint::GENERATOR, p, -p, p.endomorphism()] {
            check(&[k], &[q]);
            check(&[-k], &[q]);
        }
    }
}

#[test]
fn cancelling_and_related_points() {
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let p = ProjectivePoint::random(&mut rng);
    let q = ProjectivePoint::random(&mut rng);
    let lp = p.endomorphism();
    let lam = lambda();
    for k in special_scalars()
        .into_iter()
        .chain((0..10).map(|_| random_scalar(&mut rng)))
    {
        // P and −P with the same scalar: the sum is the identity, and the accumulator passes
        // through P + (−P) at every digit.
        check(&[k, k], &[p, -p]);
        check(&[k, k, k], &[p, -p, q]);
        check(&[k, k], &[p, p]);
        check(&[k, k, k], &[p, p, p]);
        check(&[k, -k], &[p, p]);
        // λP with scalar k against P with scalar −kλ.
        check(&[k, -(k * lam)], &[lp, p]);
        check(&[k, k], &[p, lp]);
        check(&[k, k * lam], &[p, lp]);
        // k·P and (−k)·(−P): equal terms, doubling at every shared digit.
        check(&[k, -k], &[p, -p]);
        check(&[k, Scalar::ONE, k], &[p, q, -lp]);
    }
}

#[test]
fn many_repeated_points() {
    let g = ProjectivePoint::GENERATOR;
    let mut rng = ChaCha20Rng::seed_from_u64(9);
    let s = random_scalar(&mut rng);
    check(&vec![s; 70], &vec![g; 70]);
    check(&vec![Scalar::ONE; 134], &vec![g; 134]);
    let mut points = vec![g; 67];
    points.extend(vec![-g; 67]);
    check(&vec![s; 134], &points);
}

/// One input of the property test: a point kind and a scalar kind per index.
fn build_case(seed: u64, n: usize) -> (Vec<Scalar>, Vec<ProjectivePoint>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let specials = special_scalars();
    let mut points: Vec<ProjectivePoint> = Vec::with_capacity(n);
    let mut scalars = Vec::with_capacity(n);
    for i in 0..n {
        let kind = rng.next_u32() % 16;
        let p = match (kind, i) {
            (0, _) => ProjectivePoint::IDENTITY,
            (1, _) => ProjectivePoint::GENERATOR,
            (2, i) if i > 0 => points[rng.next_u32() as usize % i],
            (3, i) if i > 0 => -points[rng.next_u32() as usize % i],
            (4, i) if i > 0 => points[rng.next_u32() as usize % i].endomorphism(),
            _ => ProjectivePoint::mul_by_generator_vartime(&random_scalar(&mut rng)),
        };
        points.push(p);
        let skind = rng.next_u32() % 16;
        let s = match (skind, i) {
            (0, _) => Scalar::ZERO,
            (1, _) => Scalar::ONE,
            (2, _) => -Scalar::ONE,
            (3, _) => specials[rng.next_u32() as usize % specials.len()],
            (4, i) if i > 0 => scalars[rng.next_u32() as usize % i],
            (5, i) if i > 0 => -scalars[rng.next_u32() as usize % i],
            _ => random_scalar(&mut rng),
        };
        scalars.push(s);
    }
    (scalars, points)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn msm_matches_references(seed in any::<u64>(), n in 0usize..=140) {
        let (scalars, points) = build_case(seed, n);
        check(&scalars, &points);
    }

    #[test]
    fn msm_random_small(seed in any::<u64>(), n in 0usize..=10) {
        let (scalars, points) = build_case(seed, n);
        check(&scalars, &points);
    }

    /// Plain random inputs (no special points or scalars) at the sizes FROST uses.
    #[test]
    fn msm_plain_random(seed in any::<u64>(), n in 60usize..=140) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let points: Vec<ProjectivePoint> =
            (0..n).map(|_| ProjectivePoint::random(&mut rng)).collect();
        let scalars: Vec<Scalar> = (0..n).map(|_| random_scalar(&mut rng)).collect();
        let got = multiscalar_mul_vartime(&scalars, &points);
        prop_assert_eq!(got, lincomb_k256(&scalars, &points));
        prop_assert_eq!(straus(&scalars, &points, TUNING), Some(got));
    }

    #[test]
    fn wnaf_reconstructs(k in any::<u128>()) {
        check_wnaf(k);
    }

    #[test]
    fn glv_split_reconstructs(bytes in any::<[u8; 32]>()) {
        let k = <Scalar as k256::elliptic_curve::ops::Reduce<FieldBytes>>::reduce(
            &FieldBytes::from(bytes),
        );
        check_split(&k);
    }
}
