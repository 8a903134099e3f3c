//! The host fast path: the host's own f32/f64 instructions, used only where
//! they provably give the IEEE result and flags.
//!
//! The host rounds to nearest-even. For the other modes the host result r is
//! corrected by one step where needed, from the sign of the exact error
//! (true value - r), which error-free transformations give: TwoSum for sums,
//! a fused multiply-add (or the exact f64 product of two singles) for
//! products, quotients and square roots. The same sign says whether the
//! operation was inexact (NX).
//!
//! Operands must be normal or zero (no NaN, infinity or subnormal) and the
//! result normal and comfortably above the smallest normal (no overflow, no
//! underflow, and an error term that is itself exact), or an exact zero;
//! anything else returns `None` and takes the exact path. Ties-to-away
//! (an exact tie is not cheap to see) and fused multiply-adds whose error
//! is not cheap to get exactly also take the exact path.

use super::{is_zero, BinOp, Format, IntKind, Rm, NV, NX};

/// A host float type with the same format as `F`.
pub trait HostFloat: Copy + PartialOrd {
    fn from_raw(v: u64) -> Self;
    fn to_raw(self) -> u64;
    /// The RNE result of `op`, and the sign (-1, 0, 1) of true - result.
    fn binary(op: BinOp, a: Self, b: Self) -> (Self, i32);
    /// The RNE square root, and the sign of true - result.
    fn sqrt(a: Self) -> (Self, i32);
    /// Fused multiply-add (one rounding; IEEE fusedMultiplyAdd).
    fn mul_add(self, b: Self, c: Self) -> Self;
    /// The sign of a * b + c - r for the RNE fused result r, where it is
    /// cheap to get exactly: when c - r is exact (TwoSum's error is zero),
    /// a * b + (c - r) rounded once keeps the sign of the exact value.
    fn fma_err(a: Self, b: Self, c: Self, r: Self) -> Option<i32>;
    /// The same value as an f64 (exact).
    fn widen(self) -> f64;
    /// An integer of at most the format's precision, exactly.
    fn from_i64(v: i64) -> Self;
}

fn sign_of<T: PartialOrd + Default>(e: T) -> i32 {
    let zero = T::default();
    (e > zero) as i32 - (e < zero) as i32
}

/// TwoSum (Knuth): the exact error of the rounded sum `r = a + b`.
macro_rules! two_sum_err {
    ($a:expr, $b:expr, $r:expr) => {{
        let (a, b, r) = ($a, $b, $r);
        let bb = r - a;
        (a - (r - bb)) + (b - bb)
    }};
}

impl HostFloat for f32 {
    #[inline(always)]
    fn from_raw(v: u64) -> Self {
        f32::from_bits(v as u32)
    }
    #[inline(always)]
    fn to_raw(self) -> u64 {
        self.to_bits() as u64
    }
    #[inline(always)]
    fn binary(op: BinOp, a: f32, b: f32) -> (f32, i32) {
        // Products of singles are exact in f64; so is a - r * b for the
        // rounded quotient r (Sterbenz: r * b is within a factor 2 of a).
        let (x, y) = (a as f64, b as f64);
        match op {
            BinOp::Add => {
                let r = a + b;
                (r, sign_of(two_sum_err!(a, b, r)))
            }
            BinOp::Sub => {
                let r = a - b;
                (r, sign_of(two_sum_err!(a, -b, r)))
            }
            BinOp::Mul => {
                let r = a * b;
                (r, sign_of(x * y - r as f64))
            }
            BinOp::Div => {
                let r = a / b;
                (r, sign_of(x - r as f64 * y) * sign_of(b))
            }
        }
    }
    #[inline(always)]
    fn sqrt(a: f32) -> (f32, i32) {
        let r = a.sqrt();
        (r, sign_of(a as f64 - r as f64 * r as f64))
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        f32::mul_add(self, b, c)
    }
    #[inline(always)]
    fn fma_err(a: f32, b: f32, c: f32, r: f32) -> Option<i32> {
        // In f64: the product of two singles is exact, and a sum of
        // nonzero multiples of 2^-298 cannot round to zero.
        let (c, r) = (c as f64, r as f64);
        let h = c - r;
        (two_sum_err!(c, -r, h) == 0.0).then(|| sign_of(a as f64 * b as f64 + h))
    }
    #[inline(always)]
    fn widen(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        v as f32
    }
}

impl HostFloat for f64 {
    #[inline(always)]
    fn from_raw(v: u64) -> Self {
        f64::from_bits(v)
    }
    #[inline(always)]
    fn to_raw(self) -> u64 {
        self.to_bits()
    }
    #[inline(always)]
    fn binary(op: BinOp, a: f64, b: f64) -> (f64, i32) {
        match op {
            BinOp::Add => {
                let r = a + b;
                (r, sign_of(two_sum_err!(a, b, r)))
            }
            BinOp::Sub => {
                let r = a - b;
                (r, sign_of(two_sum_err!(a, -b, r)))
            }
            BinOp::Mul => {
                let r = a * b;
                (r, sign_of(a.mul_add(b, -r)))
            }
            BinOp::Div => {
                let r = a / b;
                (r, sign_of((-r).mul_add(b, a)) * sign_of(b))
            }
        }
    }
    #[inline(always)]
    fn sqrt(a: f64) -> (f64, i32) {
        let r = a.sqrt();
        (r, sign_of((-r).mul_add(r, a)))
    }
    #[inline(always)]
    fn mul_add(self, b: Self, c: Self) -> Self {
        f64::mul_add(self, b, c)
    }
    #[inline(always)]
    fn fma_err(a: f64, b: f64, c: f64, r: f64) -> Option<i32> {
        let h = c - r;
        if two_sum_err!(c, -r, h) != 0.0 {
            return None;
        }
        // a * b + h is a nonzero multiple of 2^-1074 unless it is zero (the
        // caller keeps a * b's granularity there), so rounding keeps its sign.
        Some(sign_of(a.mul_add(b, h)))
    }
    #[inline(always)]
    fn widen(self) -> f64 {
        self
    }
    #[inline(always)]
    fn from_i64(v: i64) -> Self {
        v as f64
    }
}

/// Normal (below the top four binades, so TwoSum's intermediate sums
/// cannot overflow) or zero: the operands the host path accepts.
#[inline(always)]
fn plain<F: Format>(v: u64) -> bool {
    let exp = v & F::EXP_MASK;
    (exp != 0 && exp < F::EXP_MASK - 3 * F::MIN_NORMAL) || is_zero::<F>(v)
}

/// Finite, and at least 2^(2 * precision) times the smallest normal in
/// magnitude: no overflow, no underflow (even after a one-step correction),
/// and error terms far from the subnormal range, so they are exact.
#[inline(always)]
fn safe_result<F: Format>(r: u64) -> bool {
    let mag = r & !F::SIGN;
    let precision = F::FRAC_MASK.count_ones() as u64 + 1;
    mag >= F::MIN_NORMAL * (2 * precision + 1) && mag < F::EXP_MASK
}

/// The result in mode `rm` from the RNE result `r` and the sign of the
/// error; `None` where the exact path must decide.
#[inline(always)]
fn directed<F: Format>(r: u64, err: i32, rm: Rm) -> Option<(u64, u64)> {
    if err == 0 {
        return Some((r, 0));
    }
    let negative = r & F::SIGN != 0;
    // One step away from or towards zero in magnitude.
    let (away, toward) = (r + 1, r - 1);
    let out = match rm {
        Rm::Rne => r,
        Rm::Rmm => return None,
        Rm::Rtz => {
            if (err < 0) != negative {
                toward
            } else {
                r
            }
        }
        Rm::Rdn => match (err < 0, negative) {
            (true, false) => toward,
            (true, true) => away,
            (false, _) => r,
        },
        Rm::Rup => match (err > 0, negative) {
            (true, false) => away,
            (true, true) => toward,
            (false, _) => r,
        },
    };
    safe_result::<F>(out).then_some((out, NX))
}

#[inline(always)]
pub fn binary<F: Format>(op: BinOp, a: u64, b: u64, rm: Rm) -> Option<(u64, u64)> {
    if !(plain::<F>(a) && plain::<F>(b)) {
        return None;
    }
    // A quotient's error term (a - r * b) is about 2^-precision times the
    // dividend: it must stay clear of the subnormal range too.
    if op == BinOp::Div && (is_zero::<F>(b) || !(is_zero::<F>(a) || safe_result::<F>(a))) {
        return None;
    }
    let (r, err) = F::Host::binary(op, F::Host::from_raw(a), F::Host::from_raw(b));
    let r = r.to_raw();
    if safe_result::<F>(r) {
        return directed::<F>(r, err, rm);
    }
    // Exact zeros: a sum of normals or zeros that is zero is exact, +0 in
    // every mode but RDN (left to the exact path); a product or quotient is
    // an exact zero only when an operand (the dividend) is zero.
    let exact_zero = is_zero::<F>(r)
        && match op {
            BinOp::Add | BinOp::Sub => rm != Rm::Rdn,
            BinOp::Mul => is_zero::<F>(a) || is_zero::<F>(b),
            BinOp::Div => is_zero::<F>(a),
        };
    exact_zero.then_some((r, 0))
}

/// A fused multiply-add: the host's RNE result, corrected for the other
/// modes by the sign of its error where that is exact and cheap
/// ([`HostFloat::fma_err`]); with NX already set and RNE, the error is not
/// needed at all.
#[inline(always)]
pub fn mul_add<F: Format>(a: u64, b: u64, c: u64, rm: Rm, nx_set: bool) -> Option<(u64, u64)> {
    if !(plain::<F>(a) && plain::<F>(b) && plain::<F>(c)) || is_zero::<F>(a) || is_zero::<F>(b) {
        return None;
    }
    let (x, y, z) = (
        F::Host::from_raw(a),
        F::Host::from_raw(b),
        F::Host::from_raw(c),
    );
    let r = x.mul_add(y, z);
    let bits = r.to_raw();
    if !safe_result::<F>(bits) {
        return None;
    }
    if rm == Rm::Rne && nx_set {
        return Some((bits, 0));
    }
    // The product's granularity (ulp(a) * ulp(b)) must not fall below the
    // smallest subnormal, or the error's sign could be lost in rounding.
    if !safe_product::<F>(a, b) {
        return None;
    }
    directed::<F>(bits, F::Host::fma_err(x, y, z, r)?, rm)
}

/// ulp(a) * ulp(b) is at least the smallest subnormal, 2^(1 - bias -
/// frac_bits): with biased exponents, Ea + Eb >= bias + frac_bits + 1
/// (checked with a margin of frac_bits).
#[inline(always)]
fn safe_product<F: Format>(a: u64, b: u64) -> bool {
    let frac_bits = F::FRAC_MASK.count_ones() as u64;
    let bias = (F::EXP_MASK >> frac_bits) / 2;
    let exponents = ((a & F::EXP_MASK) >> frac_bits) + ((b & F::EXP_MASK) >> frac_bits);
    exponents >= bias + 2 * frac_bits
}

#[inline(always)]
pub fn sqrt<F: Format>(a: u64, rm: Rm) -> Option<(u64, u64)> {
    if !plain::<F>(a) || a & F::SIGN != 0 {
        return None;
    }
    if is_zero::<F>(a) {
        return Some((a, 0));
    }
    // The error term (a - r * r) is about 2^-precision times a.
    if !safe_result::<F>(a) {
        return None;
    }
    let (r, err) = F::Host::sqrt(F::Host::from_raw(a));
    let r = r.to_raw();
    if !safe_result::<F>(r) {
        return None;
    }
    directed::<F>(r, err, rm)
}

/// Float -> integer with the host's exact rounding functions, in f64 (a
/// single widens exactly): every case but NaN, which the caller handles.
#[inline(always)]
pub fn to_int<F: Format>(a: u64, kind: IntKind, rm: Rm) -> (u64, u64) {
    let x = F::Host::from_raw(a).widen();
    let r = match rm {
        Rm::Rne => x.round_ties_even(),
        Rm::Rtz => x.trunc(),
        Rm::Rdn => x.floor(),
        Rm::Rup => x.ceil(),
        Rm::Rmm => x.round(),
    };
    // Inclusive bounds, each exactly representable in f64 (2^63 and 2^64
    // are exclusive upper bounds instead).
    let fits = match kind {
        IntKind::I32 => (-2147483648.0..=2147483647.0).contains(&r),
        IntKind::U32 => (0.0..=4294967295.0).contains(&r),
        IntKind::I64 => (-9223372036854775808.0..9223372036854775808.0).contains(&r),
        IntKind::U64 => (0.0..18446744073709551616.0).contains(&r),
    };
    if !fits {
        return (kind.saturated(r < 0.0), NV);
    }
    let v = match kind {
        IntKind::I32 => r as i32 as u32 as u64,
        IntKind::U32 => r as u32 as u64,
        IntKind::I64 => r as i64 as u64,
        IntKind::U64 => r as u64,
    };
    (v, if r != x { NX } else { 0 })
}

/// Integer -> float where the host conversion is exact (the integer has no
/// more significant bits than the format's precision).
#[inline(always)]
pub fn from_int<F: Format>(v: i128) -> Option<u64> {
    let precision = F::FRAC_MASK.count_ones() + 1;
    (v.unsigned_abs() < 1 << precision).then(|| F::Host::from_i64(v as i64).to_raw())
}
