//! Variable-time multiscalar multiplication `Σ sᵢ·Pᵢ` on secp256k1, for public inputs only.
//!
//! The method is Straus' simultaneous multiplication ("Shamir's trick", E. G. Straus, *Addition
//! chains of vectors*, Amer. Math. Monthly 71, 1964) over width-`w` NAF digits, with the GLV
//! endomorphism (Gallant, Lambert, Vanstone, *Faster point multiplication on elliptic curves
//! with efficient endomorphisms*, CRYPTO 2001) splitting every 256-bit scalar into two halves
//! of at most 128 bits:
//!
//! 1. every scalar `k` is split as `k ≡ k₁ + k₂·λ (mod n)` with `|k₁|, |k₂| < 2¹²⁸`
//!    (Hankerson, Menezes, Vanstone, *Guide to Elliptic Curve Cryptography*, Algorithm 3.74,
//!    with the rounded divisions by `n` replaced by multiplications by precomputed `2³⁸⁴/n`
//!    estimates as in Gouvêa, Oliveira, López, *Efficient software implementation of public-key
//!    cryptography on sensor networks using the MSP430X microcontroller*, §4.3); `λ·(x, y) =
//!    (β·x, y)`, so the second half runs on the same table with `x` multiplied by `β`;
//! 2. every point gets a table of its odd multiples `P, 3P, …, (2ʷ⁻¹ − 1)P` in **affine**
//!    coordinates, built for all points in lock step with affine additions whose denominators
//!    are inverted together by Montgomery's trick (one field inversion per table column);
//! 3. the points to add at each bit position (one per non-zero digit: a table entry, negated
//!    for a negative digit, with `β·x` for a `k₂` digit) form that position's *column*; all
//!    columns are summed at once in rounds of pairwise affine additions, every round sharing
//!    one batched inversion (the batch-affine addition used in bucket-method MSMs, here for
//!    the columns of Straus' method), so an addition costs 6M instead of the 11M of a mixed
//!    one;
//! 4. one Jacobian accumulator runs over the positions from the top, Horner-style: a doubling
//!    (EFD `dbl-2009-l`, a = 0) per position and a mixed Jacobian + affine addition (EFD
//!    `madd-2004-hmv`, as in Guide to ECC Algorithm 3.22) per point left in the column, with the
//!    exceptional cases (accumulator at infinity, equal x) handled explicitly.
//!
//! With fewer than `MIN_TERMS` terms, the inversions (one per table column and per round)
//! cost more than they save, and the work goes to k256's `lincomb_vartime` instead.
//!
//! Field arithmetic is k256's own `FieldElement` (lazily reduced, 5×52 limbs on 64-bit
//! targets), reached as `<Secp256k1 as MapToCurve>::FieldElement`; this module only writes point
//! formulas on top of it. Its magnitude rules, which every formula below respects and documents:
//!
//! - `mul`/`square` take operands of magnitude ≤ 8 and return magnitude 1 (weakly normalised);
//! - `a + b` has magnitude `mag(a) + mag(b)`; `double` doubles and `mul_single(k)` multiplies
//!   the magnitude; `negate(m)` needs `mag ≤ m` and returns magnitude `m + 1`;
//! - the `-` operator is `a + b.negate(1)`, so it is never used here (explicit `negate(m)`
//!   instead);
//! - `normalize_weak` brings any magnitude back to 1; comparisons go through
//!   `normalizes_to_zero`, never through `==` on unnormalised values.
//!
//! Accumulator and table coordinates are kept at magnitude 1 between operations. In debug
//! builds k256 checks every one of these rules at run time, so the tests in this module run
//! the formulas under those checks.
//!
//! Inputs are public, so the code branches on them; it is exact for every input (identity
//! points, zero scalars, repeated points, `P` with `−P`, `P` with `λ·P`). Should an internal
//! invariant ever fail (a zero denominator, an off-curve result), it falls back to k256's
//! `lincomb_vartime` rather than return a wrong point.

use group::Group;
use k256::{
    elliptic_curve::{
        ops::LinearCombination,
        point::{AffineCoordinates, BatchNormalize},
        scalar::IsHigh,
    },
    hash2curve::MapToCurve,
    AffinePoint, FieldBytes, ProjectivePoint, Scalar, U256,
};

/// k256's secp256k1 base-field element.
type Fe = <k256::Secp256k1 as MapToCurve>::FieldElement;

/// wNAF window width: digits are odd and in `(-2ʷ⁻¹, 2ʷ⁻¹)`.
const W: usize = 5;
/// Odd multiples per table: `P, 3P, …, (2ʷ⁻¹ − 1)P`.
const TABLE: usize = 1 << (W - 2);
/// Digit positions of the wNAF of a value below 2¹²⁸: a non-zero digit at position `≥ 128` is
/// the final carry, which can only follow a digit at position `≤ 127` by `W` places.
const WNAF_LEN: usize = 128 + W;

/// Fewest terms for which this module beats k256's `lincomb_vartime`: with fewer, the
/// inversions (one per table column, plus the conversions in and out, about 2.4 µs each) cost
/// more than the cheaper additions save, so the few terms go to k256.
const MIN_TERMS: usize = 6;

/// Fewest pairs for which a round of batched affine additions beats mixed additions: a pair
/// saves about 5M (6M affine against 11M mixed) and the round costs one inversion, about
/// 120M with k256's `invert_vartime`.
const MIN_PAIRS: usize = 24;

/// `β`, a primitive cube root of unity mod p: `λ·(x, y) = (β·x, y)`.
const BETA: [u8; 32] = hex32("7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501ee");
/// `−λ mod n`, with `λ` the cube root of unity mod n matching `β`
/// (`λ = 5363ad4c…1b23bd72`).
const MINUS_LAMBDA: [u8; 32] =
    hex32("ac9c52b33fa3cf1f5ad9e3fd77ed9ba4a880b9fc8ec739c2e0cfc810b51283cf");
/// `−b₁ = e4437ed6…0abfe4c3` of the reduced lattice basis `(a₁, b₁), (a₂, b₂)` of
/// `{(x, y) : x + y·λ ≡ 0 (mod n)}`.
const MINUS_B1: [u8; 32] =
    hex32("00000000000000000000000000000000e4437ed6010e88286f547fa90abfe4c3");
/// `−b₂ mod n`, with `b₂ = a₁ = 3086d221a7d46bcde86c90e49284eb15`.
const MINUS_B2: [u8; 32] =
    hex32("fffffffffffffffffffffffffffffffe8a280ac50774346dd765cda83db1562c");
/// `g₁ = round(2³⁸⁴·b₂/n)`.
const G1: U256 =
    U256::from_be_hex("3086d221a7d46bcde86c90e49284eb153daa8a1471e8ca7fe893209a45dbb031");
/// `g₂ = round(2³⁸⁴·(−b₁)/n)`.
const G2: U256 =
    U256::from_be_hex("e4437ed6010e88286f547fa90abfe4c4221208ac9df506c61571b4ae8ac47f71");

/// Decodes 64 hex digits at compile time.
const fn hex32(s: &str) -> [u8; 32] {
    const fn nibble(c: u8) -> u8 {
        match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => panic!("not a lowercase hex digit"),
        }
    }
    let s = s.as_bytes();
    assert!(s.len() == 64, "expected 64 hex digits");
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = (nibble(s[2 * i]) << 4) | nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

/// A scalar constant; all the constants above are below n.
fn scalar_const(bytes: [u8; 32]) -> Option<Scalar> {
    Option::from(<Scalar as ff::PrimeField>::from_repr(FieldBytes::from(
        bytes,
    )))
}

/// `Σ sᵢ·Pᵢ` over the first `min(len)` pairs, in variable time.
pub(crate) fn multiscalar_mul_vartime(
    scalars: &[Scalar],
    points: &[ProjectivePoint],
) -> ProjectivePoint {
    // `None` only if an invariant proven in this module failed (the tests call `straus`
    // directly and fail on it); k256 still returns the right point then.
    straus(scalars, points, TUNING).unwrap_or_else(|| lincomb_k256(scalars, points))
}

/// k256's own GLV + wNAF Straus on complete projective formulas: the fallback and the
/// reference the tests and benchmarks compare against.
pub(crate) fn lincomb_k256(scalars: &[Scalar], points: &[ProjectivePoint]) -> ProjectivePoint {
    let pairs: Vec<(ProjectivePoint, Scalar)> = points
        .iter()
        .copied()
        .zip(scalars.iter().copied())
        .collect();
    ProjectivePoint::lincomb_vartime(pairs.as_slice())
}

/// A GLV half-scalar: its absolute value and whether it stands for a negative multiple.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Half {
    abs: u128,
    negative: bool,
}

/// GLV split `k ≡ k₁ + k₂·λ (mod n)` with `|k₁|, |k₂| < 2¹²⁸` (Guide to ECC, Algorithm 3.74):
/// `c₁ = round(k·b₂/n)`, `c₂ = round(k·(−b₁)/n)` (each computed as `round(k·gᵢ/2³⁸⁴)`),
/// `k₂ = −c₁·b₁ − c₂·b₂`, `k₁ = k − k₂·λ`. Writing `k = k·(a₁b₂ − a₂b₁)/n`, `k₁` and `k₂` are
/// `a₁·e₁ + a₂·e₂` and `b₁·e₁ + b₂·e₂` for errors `|eᵢ| ≤ 1/2 + 2⁻¹²⁹` (rounding, plus
/// `k·|gᵢ/2³⁸⁴ − bᵢ/n| ≤ 2²⁵⁶·2⁻³⁸⁵`), so `|k₁| ≤ (a₁ + a₂)·(1/2 + 2⁻¹²⁹) < 2¹²⁸` and
/// `|k₂| ≤ (−b₁ + b₂)·(1/2 + 2⁻¹²⁹) < 2¹²⁸` (`a₁ + a₂ < 2¹²⁸·⁴`, `−b₁ + b₂ < 2¹²⁸·²`). Both
/// bounds are checked anyway: `None` if a half were out of range, which the caller treats as
/// an internal failure.
fn glv_split(k: &Scalar, consts: &GlvConsts) -> Option<[Half; 2]> {
    let c1 = Scalar::from(mul_shift_384(k, &G1));
    let c2 = Scalar::from(mul_shift_384(k, &G2));
    let k2 = c1 * consts.minus_b1 + c2 * consts.minus_b2;
    let k1 = *k + k2 * consts.minus_lambda;
    Some([half(&k1)?, half(&k2)?])
}

/// `round(k·g / 2³⁸⁴)` for a 256-bit `g`: below 2¹²⁸ since `k, g < 2²⁵⁶`.
fn mul_shift_384(k: &Scalar, g: &U256) -> u128 {
    let (_lo, hi) = U256::from(k).widening_mul(g);
    let bytes = hi.to_be_bytes();
    let bytes = bytes.as_ref();
    // `hi` holds bits 256..511 of the product: its top 128 bits are the quotient by 2³⁸⁴ and
    // the next bit (bit 383 of the product) rounds it. The quotient is below 2¹²⁸ − 1 (as
    // `k·g < 2⁵¹²` strictly), so adding the rounding bit cannot overflow.
    let quotient = be_u128(&bytes[..16]);
    let round = u128::from(bytes[16] >> 7);
    quotient + round
}

/// Big-endian bytes (at most 16) to an integer.
fn be_u128(bytes: &[u8]) -> u128 {
    bytes
        .iter()
        .fold(0u128, |acc, b| (acc << 8) | u128::from(*b))
}

/// A scalar that is `±m` for some `0 ≤ m < 2¹²⁸` as `(m, sign)`.
fn half(s: &Scalar) -> Option<Half> {
    let negative = bool::from(s.is_high());
    let abs = if negative { -*s } else { *s };
    let bytes = abs.to_bytes();
    if bytes[..16].iter().any(|b| *b != 0) {
        return None;
    }
    Some(Half {
        abs: be_u128(&bytes[16..]),
        negative,
    })
}

/// The GLV constants as scalars.
struct GlvConsts {
    minus_lambda: Scalar,
    minus_b1: Scalar,
    minus_b2: Scalar,
}

impl GlvConsts {
    fn new() -> Option<Self> {
        Some(Self {
            minus_lambda: scalar_const(MINUS_LAMBDA)?,
            minus_b1: scalar_const(MINUS_B1)?,
            minus_b2: scalar_const(MINUS_B2)?,
        })
    }
}

/// Width-`W` NAF of `k` (Guide to ECC, Algorithm 3.35, computed left to right over the bits
/// with a carry instead of subtracting from `k`): `k = Σ out[i]·2ⁱ`, every non-zero digit odd
/// with `|d| < 2ᵂ⁻¹`, and any two non-zero digits at least `W` positions apart. Returns the
/// position of the highest non-zero digit plus one (0 for `k = 0`); `out` must be all zero.
/// `None` if a digit fell outside `out`, which `WNAF_LEN` rules out.
fn wnaf(k: u128, out: &mut [i8; WNAF_LEN]) -> Option<usize> {
    const MASK: u32 = (1 << W) - 1;
    const HALF_WINDOW: u32 = 1 << (W - 1);
    let mut pos = 0usize;
    let mut carry = 0u32;
    let mut len = 0usize;
    loop {
        // The rest still to encode is `R = ⌊k / 2^pos⌋ + carry`.
        let rest = if pos < 128 { k >> pos } else { 0 };
        if rest == 0 && carry == 0 {
            return Some(len);
        }
        // Truncation to W bits is intended: `MASK` keeps the low bits of `rest`.
        #[allow(clippy::cast_possible_truncation)]
        let v = (rest as u32 & MASK) + carry; // R mod 2^W, or 2^W when R ≡ 0 and carry = 1
        if v & 1 == 0 {
            pos += 1;
            continue;
        }
        // R odd: the digit is R mods 2^W, and the next W - 1 digits are zero.
        let digit = if v >= HALF_WINDOW {
            carry = 1;
            v as i32 - (1 << W)
        } else {
            carry = 0;
            v as i32
        };
        // |digit| < 2^(W-1) ≤ 128.
        #[allow(clippy::cast_possible_truncation)]
        {
            *out.get_mut(pos)? = digit as i8;
        }
        len = pos + 1;
        pos += W;
    }
}

/// Montgomery's trick with recomputed operands: sets `out[m]` to `den(m)⁻¹` (magnitude 1) for
/// every `m < out.len()`, with one field inversion and three multiplications per element.
/// `den(m)` (magnitude ≤ 8) is evaluated twice instead of being stored. `None` if any
/// `den(m)` is zero.
fn batch_invert(out: &mut [Fe], den: impl Fn(usize) -> Fe) -> Option<()> {
    let mut acc = Fe::ONE;
    for (m, slot) in out.iter_mut().enumerate() {
        *slot = acc; // den(0)…den(m−1)
        acc = acc.mul(&den(m));
    }
    batch_invert_finish(out, &acc, den)
}

/// The second half of `batch_invert`, for callers that ran the first themselves: `out[m]`
/// holds `den(0)…den(m−1)` and `product` is `den(0)…den(out.len() − 1)`.
fn batch_invert_finish(out: &mut [Fe], product: &Fe, den: impl Fn(usize) -> Fe) -> Option<()> {
    let mut inv: Fe = Option::from(product.invert_vartime())?;
    for (m, slot) in out.iter_mut().enumerate().rev() {
        // inv = (den(0)…den(m))⁻¹, slot = den(0)…den(m−1)
        let d = den(m);
        *slot = inv.mul(slot);
        inv = inv.mul(&d);
    }
    Some(())
}

/// A Jacobian point `(X : Y : Z)` = `(X/Z², Y/Z³)`, never the identity (that is `None` at the
/// call sites), coordinates of magnitude 1.
#[derive(Clone, Copy, Debug)]
struct Jacobian {
    x: Fe,
    y: Fe,
    z: Fe,
}

impl Jacobian {
    fn from_affine(x: &Fe, y: &Fe) -> Self {
        Self {
            x: x.normalize_weak(),
            y: y.normalize_weak(),
            z: Fe::ONE,
        }
    }

    /// EFD `dbl-2009-l` (a = 0), 2M + 5S. `Y ≠ 0` for every point of the prime-order group,
    /// so the result is never the identity.
    fn double(&self) -> Self {
        // Magnitudes after each step in brackets; inputs are 1.
        // A = X², B = Y², C = B² [1].
        let a = self.x.square();
        let b = self.y.square();
        let c = b.square();
        // D = 2·((X + B)² − A − C): (1 + 1 = 2)² [1], 1 + 2 + 2 [5], doubled [10] → [1].
        let d = ((self.x + b).square() + a.negate(1) + c.negate(1))
            .double()
            .normalize_weak();
        // E = 3A [3], F = E² [1].
        let e = a.mul_single(3);
        let f = e.square();
        // X3 = F − 2D: 1 + (2D [2] negated [3]) [4] → [1].
        let x3 = (f + d.double().negate(2)).normalize_weak();
        // Y3 = E·(D − X3) − 8C: [3]·(1 + 2 [3]) [1], 8C [8] negated [9], sum [10] → [1].
        let y3 = (e.mul(&(d + x3.negate(1))) + c.mul_single(8).negate(8)).normalize_weak();
        // Z3 = 2·Y·Z: [2]·[1] → [1].
        let z3 = self.y.double().mul(&self.z);
        Self {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// `self + (x2, y2)` for an affine point with `mag(x2) ≤ 1`, `mag(y2) ≤ 2`: EFD
    /// `madd-2004-hmv` (the addition steps of Guide to ECC, Algorithm 3.22, which do not
    /// depend on the curve's a), 8M + 3S, with the equal-x cases
    /// (doubling, or `P + (−P)` = identity, `None`) handled.
    fn add_affine(&self, x2: &Fe, y2: &Fe) -> Option<Self> {
        // Magnitudes after each step in brackets; X1, Y1, Z1, x2 are 1, y2 at most 2.
        // Z1², Z1³, U2 = x2·Z1², S2 = y2·Z1³ [1].
        let z1z1 = self.z.square();
        let z1z1z1 = z1z1.mul(&self.z);
        let u2 = z1z1.mul(x2);
        let s2 = z1z1z1.mul(y2);
        // H = U2 − X1, R = S2 − Y1: 1 + 2 [3].
        let h = u2 + self.x.negate(1);
        let r = s2 + self.y.negate(1);
        if bool::from(h.normalizes_to_zero()) {
            // Same x: the same point (double it) or its negation (the identity).
            return if bool::from(r.normalizes_to_zero()) {
                Some(self.double())
            } else {
                None
            };
        }
        // Z3 = Z1·H, H², H³, V = X1·H² [1].
        let z3 = self.z.mul(&h);
        let hh = h.square();
        let hhh = hh.mul(&h);
        let v = hh.mul(&self.x);
        // X3 = R² − H³ − 2V: 1 + 2 + 3 [6] → [1].
        let x3 = (r.square() + hhh.negate(1) + v.double().negate(2)).normalize_weak();
        // Y3 = R·(V − X3) − Y1·H³: [3]·(1 + 2 [3]) [1], plus [2], [3] → [1].
        let y3 = (r.mul(&(v + x3.negate(1))) + self.y.mul(&hhh).negate(1)).normalize_weak();
        Some(Self {
            x: x3,
            y: y3,
            z: z3,
        })
    }

    /// Back to a k256 point: `(X/Z², Y/Z³)`, checked to be on the curve by k256's decoder.
    fn to_projective(self) -> Option<ProjectivePoint> {
        let zi: Fe = Option::from(self.z.invert_vartime())?; // 1
        let zi2 = zi.square();
        let x = self.x.mul(&zi2).normalize();
        let y = self.y.mul(&zi2.mul(&zi)).normalize();
        let affine: Option<AffinePoint> =
            AffinePoint::from_coordinates(&x.to_bytes(), &y.to_bytes()).into();
        affine.map(ProjectivePoint::from)
    }
}

/// The per-call working memory, carved out of one allocation. Every coordinate in it has
/// magnitude 1 between operations.
struct Work<'a> {
    /// Odd multiples: entry `i·TABLE + j` is `(2j + 1)·Pᵢ`.
    tx: &'a mut [Fe],
    ty: &'a mut [Fe],
    /// `β·x` of the same entries: the odd multiples of `λ·Pᵢ` are `(β·x, y)`.
    beta_x: &'a mut [Fe],
    /// `2·Pᵢ`, while the tables are built.
    dx: &'a mut [Fe],
    dy: &'a mut [Fe],
    /// The points of every column (bit position), column after column.
    px: &'a mut [Fe],
    py: &'a mut [Fe],
    /// Batched inverses.
    inv: &'a mut [Fe],
}

impl<'a> Work<'a> {
    /// Carves `buf` for `n` bases, `total` column points and up to `pairs` batched inverses.
    fn carve(buf: &'a mut [Fe], n: usize, total: usize, pairs: usize) -> Option<Self> {
        let nt = n.checked_mul(TABLE)?;
        let (tx, rest) = buf.split_at_mut_checked(nt)?;
        let (ty, rest) = rest.split_at_mut_checked(nt)?;
        let (beta_x, rest) = rest.split_at_mut_checked(nt)?;
        let (dx, rest) = rest.split_at_mut_checked(n)?;
        let (dy, rest) = rest.split_at_mut_checked(n)?;
        let (px, rest) = rest.split_at_mut_checked(total)?;
        let (py, rest) = rest.split_at_mut_checked(total)?;
        let (inv, _) = rest.split_at_mut_checked(pairs.max(n))?;
        Some(Self {
            tx,
            ty,
            beta_x,
            dx,
            dy,
            px,
            py,
            inv,
        })
    }

    /// Fills the tables of the `n` bases already in entries `i·TABLE`, column by column: each
    /// column's affine additions (or, for `2·Pᵢ`, doublings) share one batched inversion.
    /// `None` only if a denominator were zero, which cannot happen: `2P` needs `y ≠ 0` (there is
    /// no point of order 2), and `x((2j−1)·P) = x(2P)` would need `(2j−3)·P` or `(2j+1)·P` to
    /// be the identity, impossible for `0 < |2j ± 1| < 2ᵂ⁻¹ < n`.
    fn odd_multiples(&mut self, n: usize, beta: &Fe) -> Option<()> {
        let inv = self.inv.get_mut(..n)?;
        let (tx, ty) = (&mut *self.tx, &mut *self.ty);
        // 2P: λ = 3x²/(2y), x' = λ² − 2x, y' = λ·(x − x') − y.
        batch_invert(inv, |i| ty[i * TABLE].double())?; // 2
        for (i, inv) in inv.iter().enumerate() {
            let (x, y) = (&tx[i * TABLE], &ty[i * TABLE]);
            // λ = 3x² [3] × (2y)⁻¹ [1] → [1].
            let lambda = x.square().mul_single(3).mul(inv);
            // x' = λ² − 2x: 1 + 3 [4] → [1].
            let x2 = (lambda.square() + x.double().negate(2)).normalize_weak();
            // y' = λ·(x − x') − y: (1 + 2 [3]) → [1], plus [2], [3] → [1].
            let y2 = (lambda.mul(&(*x + x2.negate(1))) + y.negate(1)).normalize_weak();
            self.dx[i] = x2;
            self.dy[i] = y2;
        }
        let (dx, dy) = (&*self.dx, &*self.dy);
        for j in 1..TABLE {
            // x(2P) − x((2j−1)P): 1 + 2 = 3.
            batch_invert(inv, |i| dx[i] + tx[i * TABLE + j - 1].negate(1))?;
            for (i, inv) in inv.iter().enumerate() {
                let prev = i * TABLE + j - 1;
                let (x1, y1) = (tx[prev], ty[prev]);
                // λ = (y₂ − y₁)/(x₂ − x₁): (1 + 2 = 3) × 1 → 1.
                let lambda = (dy[i] + y1.negate(1)).mul(inv);
                // x₃ = λ² − x₁ − x₂: 1 + 2 + 2 = 5 → 1.
                let x3 = (lambda.square() + x1.negate(1) + dx[i].negate(1)).normalize_weak();
                // y₃ = λ·(x₁ − x₃) − y₁: (1 + 2 = 3) → 1, plus 2 → 3 → 1.
                let y3 = (lambda.mul(&(x1 + x3.negate(1))) + y1.negate(1)).normalize_weak();
                tx[prev + 1] = x3;
                ty[prev + 1] = y3;
            }
        }
        for (bx, x) in self.beta_x.iter_mut().zip(tx.iter()) {
            *bx = x.mul(beta);
        }
        Some(())
    }

    /// Partially sums, for every column `c`, the points `p[starts[c]..starts[c] + lens[c]]`, in
    /// place: on return the column's sum is the sum of its (fewer) points
    /// `p[starts[c]..starts[c] + lens[c]]`.
    ///
    /// Round after round, the points of every column are added in pairs, and all the pairs of
    /// all columns share one batched inversion: an affine addition then costs 6M, against 11M
    /// for a mixed Jacobian one. Pairs with equal x are the doubling (equal y, tangent slope)
    /// or cancel (opposite y). A round runs only if it has at least `min_pairs` pairs, so that
    /// the inversion pays for itself; the points left over are for the caller's mixed
    /// additions. With `min_pairs = 1` every column ends with at most one point (0: the sum is
    /// the identity). `None` only if a batched denominator were zero, which the equal-x
    /// handling rules out.
    fn column_sums(
        &mut self,
        starts: &[usize],
        lens: &mut [usize],
        min_pairs: usize,
    ) -> Option<()> {
        let pairs: usize = lens.iter().map(|len| len / 2).sum();
        // The pairs that produce a point, by the index of their first point, and whether they
        // are a doubling.
        let mut slopes: Vec<(usize, bool)> = Vec::with_capacity(pairs);
        let (px, py) = (&mut *self.px, &mut *self.py);
        loop {
            let pairs: usize = lens.iter().map(|len| len / 2).sum();
            if pairs == 0 || pairs < min_pairs {
                return Some(());
            }
            // Classify the pairs, and run the first half of the batched inversion on the way.
            slopes.clear();
            let mut product = Fe::ONE;
            for (start, len) in starts.iter().zip(lens.iter()) {
                for a in (*start..start + len - len % 2).step_by(2) {
                    let dx = px[a + 1] + px[a].negate(1); // 3
                    let den = if !bool::from(dx.normalizes_to_zero()) {
                        slopes.push((a, false));
                        dx
                    } else if bool::from((py[a + 1] + py[a].negate(1)).normalizes_to_zero()) {
                        slopes.push((a, true));
                        py[a].double() // 2y, 2; y ≠ 0 (no point of order 2)
                    } else {
                        continue; // P + (−P): the pair drops out.
                    };
                    *self.inv.get_mut(slopes.len() - 1)? = product;
                    product = product.mul(&den);
                }
            }
            let inv = self.inv.get_mut(..slopes.len())?;
            batch_invert_finish(inv, &product, |m| {
                let (a, doubling) = slopes[m];
                if doubling {
                    py[a].double()
                } else {
                    px[a + 1] + px[a].negate(1)
                }
            })?;
            let mut m = 0;
            for (start, len) in starts.iter().zip(lens.iter_mut()) {
                let mut out = *start;
                for a in (*start..*start + *len - *len % 2).step_by(2) {
                    // Writes go to `out` ≤ a: nothing is read after being overwritten.
                    if slopes.get(m).map(|s| s.0) != Some(a) {
                        continue; // cancelled
                    }
                    let num = if slopes[m].1 {
                        px[a].square().mul_single(3) // 3x², 3
                    } else {
                        py[a + 1] + py[a].negate(1) // 3
                    };
                    let lambda = num.mul(&inv[m]); // 1
                    let (x1, y1) = (px[a], py[a]);
                    // x₃ = λ² − x₁ − x₂: 1 + 2 + 2 = 5 → 1.
                    let x3 =
                        (lambda.square() + x1.negate(1) + px[a + 1].negate(1)).normalize_weak();
                    // y₃ = λ·(x₁ − x₃) − y₁: (1 + 2 = 3) → 1, plus 2 → 3 → 1.
                    let y3 = (lambda.mul(&(x1 + x3.negate(1))) + y1.negate(1)).normalize_weak();
                    px[out] = x3;
                    py[out] = y3;
                    out += 1;
                    m += 1;
                }
                if *len % 2 == 1 {
                    px[out] = px[*start + *len - 1];
                    py[out] = py[*start + *len - 1];
                    out += 1;
                }
                *len = out - start;
            }
        }
    }
}

/// When to leave work to k256 or to mixed additions; the tests also run other settings, so
/// that every path is exercised on small inputs.
#[derive(Clone, Copy, Debug)]
struct Tuning {
    /// Fewer live terms than this go to k256's `lincomb_vartime`.
    min_terms: usize,
    /// Fewest pairs for a round of batched affine column additions.
    min_pairs: usize,
}

/// The settings in use.
const TUNING: Tuning = Tuning {
    min_terms: MIN_TERMS,
    min_pairs: MIN_PAIRS,
};

/// The MSM; `None` on an internal failure (see the module docs).
fn straus(
    scalars: &[Scalar],
    points: &[ProjectivePoint],
    tuning: Tuning,
) -> Option<ProjectivePoint> {
    // Terms that contribute: zero scalars and identity points drop out.
    let live: Vec<(ProjectivePoint, Scalar)> = points
        .iter()
        .zip(scalars)
        .filter(|(p, s)| !bool::from(s.is_zero()) && !bool::from(p.is_identity()))
        .map(|(p, s)| (*p, *s))
        .collect();
    let n = live.len();
    if n == 0 {
        return Some(ProjectivePoint::IDENTITY);
    }
    if n < tuning.min_terms {
        return Some(ProjectivePoint::lincomb_vartime(live.as_slice()));
    }
    let consts = GlvConsts::new()?;
    let beta: Fe = Option::from(Fe::from_bytes(&FieldBytes::from(BETA)))?;
    let halves = live
        .iter()
        .map(|(_, s)| glv_split(s, &consts))
        .collect::<Option<Vec<[Half; 2]>>>()?;

    // wNAF digits of every half: half 2i is k₁ of term i (on P), half 2i + 1 is k₂ (on λP);
    // a negative half negates its digits.
    let mut wnafs = vec![[0i8; WNAF_LEN]; 2 * n];
    let mut lens = [0usize; WNAF_LEN];
    for (digits, half) in wnafs.iter_mut().zip(halves.iter().flatten()) {
        wnaf(half.abs, digits)?;
        if half.negative {
            digits.iter_mut().for_each(|d| *d = -*d);
        }
        for (len, d) in lens.iter_mut().zip(digits.iter()) {
            *len += usize::from(*d != 0);
        }
    }
    // Column p (the points to add at bit p) is p[starts[p]..starts[p] + lens[p]].
    let mut starts = [0usize; WNAF_LEN];
    let mut total = 0usize;
    for (start, len) in starts.iter_mut().zip(&lens) {
        *start = total;
        total += len;
    }
    let pairs = total / 2;
    let size = (3 * TABLE + 2)
        .checked_mul(n)?
        .checked_add(total.checked_mul(2)?)?
        .checked_add(pairs.max(n))?;
    let mut buf = vec![Fe::ZERO; size];
    let mut work = Work::carve(&mut buf, n, total, pairs)?;

    let live_points: Vec<ProjectivePoint> = live.iter().map(|(p, _)| *p).collect();
    let affine = <ProjectivePoint as BatchNormalize<[ProjectivePoint]>>::batch_normalize_vartime(
        live_points.as_slice(),
    );
    for (i, a) in affine.iter().enumerate() {
        work.tx[i * TABLE] = Option::from(Fe::from_bytes(&a.x()))?;
        work.ty[i * TABLE] = Option::from(Fe::from_bytes(&a.y()))?;
    }
    work.odd_multiples(n, &beta)?;

    let mut fill = starts;
    for (h, digits) in wnafs.iter().enumerate() {
        for (d, slot) in digits.iter().zip(fill.iter_mut()) {
            if *d == 0 {
                continue;
            }
            // |d| < 2^(W-1), odd: |d| >> 1 < TABLE.
            let entry = (h >> 1) * TABLE + usize::from(d.unsigned_abs() >> 1);
            work.px[*slot] = if h & 1 == 0 {
                work.tx[entry]
            } else {
                work.beta_x[entry]
            };
            work.py[*slot] = if *d < 0 {
                work.ty[entry].negate(1).normalize_weak()
            } else {
                work.ty[entry]
            };
            *slot += 1;
        }
    }
    work.column_sums(&starts, &mut lens, tuning.min_pairs)?;

    // Horner over the columns, from the top bit: acc = 2·acc + Σ column points.
    let mut acc: Option<Jacobian> = None;
    for (start, len) in starts.iter().zip(&lens).rev() {
        if let Some(a) = &acc {
            acc = Some(a.double());
        }
        for (x, y) in work.px[*start..start + len]
            .iter()
            .zip(&work.py[*start..start + len])
        {
            acc = match &acc {
                None => Some(Jacobian::from_affine(x, y)),
                Some(a) => a.add_affine(x, y),
            };
        }
    }
    match acc {
        None => Some(ProjectivePoint::IDENTITY),
        Some(a) => a.to_projective(),
    }
}

#[cfg(test)]
mod tests;
