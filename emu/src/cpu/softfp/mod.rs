//! IEEE 754 binary32/binary64 arithmetic with RISC-V's rules, in pure Rust.
//!
//! Every operation returns the result bits and the fflags it raises.
//! Two paths give the same bits and flags:
//! - [`host`]: the host's own f32/f64 instructions, taken only where their
//!   answer is provably the IEEE answer: operands normal or zero, a normal
//!   result well clear of overflow and underflow; other rounding modes and
//!   NX come from the exact sign of the rounding error (see there). This is
//!   the common case.
//! - [`exact`]: `rustc_apfloat` (the IEEE implementation rustc and Miri
//!   use) for everything else: subnormals, overflow, infinities, NaNs,
//!   ties-to-away, and RISC-V's tininess-after-rounding underflow.
//!
//! NaNs follow RISC-V, not the host: a NaN result is always the canonical
//! NaN, and NV is raised for signalling NaN operands (any NaN operand for
//! the signalling comparisons), before either path runs.

mod exact;
mod host;

pub use exact::{f32_to_f64, f64_to_f32, round_to_integral, IntKind};

use rustc_apfloat::ieee::{Double, Single};
use rustc_apfloat::Round;

/// fflags bits.
pub const NV: u64 = 0x10;
pub const DZ: u64 = 0x08;
pub const OF: u64 = 0x04;
pub const UF: u64 = 0x02;
pub const NX: u64 = 0x01;

/// A rounding mode (the `rm` field / `frm` values 0..=4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rm {
    /// Round to nearest, ties to even.
    Rne,
    /// Round towards zero.
    Rtz,
    /// Round down (towards -inf).
    Rdn,
    /// Round up (towards +inf).
    Rup,
    /// Round to nearest, ties to max magnitude.
    Rmm,
}

impl Rm {
    /// The mode a 3-bit field names; 5 and 6 are reserved (7, dynamic, is
    /// resolved by the caller from `frm`).
    pub fn from_field(v: u64) -> Option<Rm> {
        Some(match v {
            0 => Rm::Rne,
            1 => Rm::Rtz,
            2 => Rm::Rdn,
            3 => Rm::Rup,
            4 => Rm::Rmm,
            _ => return None,
        })
    }

    fn apfloat(self) -> Round {
        match self {
            Rm::Rne => Round::NearestTiesToEven,
            Rm::Rtz => Round::TowardZero,
            Rm::Rdn => Round::TowardNegative,
            Rm::Rup => Round::TowardPositive,
            Rm::Rmm => Round::NearestTiesToAway,
        }
    }
}

/// The two formats. Values travel as raw bits in a `u64` (a single in the
/// low 32 bits), as they sit in the f registers once unboxed.
pub trait Format: Copy {
    /// The format's `rustc_apfloat` type.
    type Ap: rustc_apfloat::Float + rustc_apfloat::FloatConvert<Self::Wide>;
    /// Same precision, wider exponent range: rounding there is rounding
    /// with an unbounded exponent, which decides tininess after rounding.
    type Wide: rustc_apfloat::Float;
    /// The host type with the same format.
    type Host: host::HostFloat;
    const SIGN: u64;
    const EXP_MASK: u64;
    const FRAC_MASK: u64;
    const QUIET: u64;
    const CANONICAL_NAN: u64;
    /// Bits of the smallest positive normal number.
    const MIN_NORMAL: u64;
}

#[derive(Debug, Clone, Copy)]
pub struct F32;
#[derive(Debug, Clone, Copy)]
pub struct F64;

impl Format for F32 {
    type Ap = Single;
    type Wide = exact::WideSingle;
    type Host = f32;
    const SIGN: u64 = 0x8000_0000;
    const EXP_MASK: u64 = 0x7f80_0000;
    const FRAC_MASK: u64 = 0x007f_ffff;
    const QUIET: u64 = 0x0040_0000;
    const CANONICAL_NAN: u64 = 0x7fc0_0000;
    const MIN_NORMAL: u64 = 0x0080_0000;
}

impl Format for F64 {
    type Ap = Double;
    type Wide = exact::WideDouble;
    type Host = f64;
    const SIGN: u64 = 1 << 63;
    const EXP_MASK: u64 = 0x7ff0_0000_0000_0000;
    const FRAC_MASK: u64 = (1 << 52) - 1;
    const QUIET: u64 = 1 << 51;
    const CANONICAL_NAN: u64 = 0x7ff8_0000_0000_0000;
    const MIN_NORMAL: u64 = 1 << 52;
}

#[inline]
pub fn is_nan<F: Format>(v: u64) -> bool {
    v & !F::SIGN > F::EXP_MASK
}

#[inline]
pub fn is_snan<F: Format>(v: u64) -> bool {
    is_nan::<F>(v) && v & F::QUIET == 0
}

#[inline]
fn is_inf<F: Format>(v: u64) -> bool {
    v & !F::SIGN == F::EXP_MASK
}

#[inline]
fn is_zero<F: Format>(v: u64) -> bool {
    v & !F::SIGN == 0
}

/// NV for signalling NaN operands.
#[inline]
fn snan_flag<F: Format>(ops: &[u64]) -> u64 {
    if ops.iter().any(|&v| is_snan::<F>(v)) {
        NV
    } else {
        0
    }
}

/// The binary operations that round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// `a op b` rounded by `rm`.
#[inline]
pub fn binary<F: Format>(op: BinOp, a: u64, b: u64, rm: Rm) -> (u64, u64) {
    if let Some(r) = host::binary::<F>(op, a, b, rm) {
        return r;
    }
    if is_nan::<F>(a) || is_nan::<F>(b) {
        return (F::CANONICAL_NAN, snan_flag::<F>(&[a, b]));
    }
    exact::binary::<F>(op, a, b, rm)
}

/// `a * b + c` with one rounding. The negated forms negate `a` and/or `c`
/// before calling (a sign flip is exact, and NaNs are canonical anyway).
/// `nx_set`: fflags.NX is already set (then, in RNE, the host path need
/// not know whether the result was exact).
#[inline]
pub fn mul_add<F: Format>(a: u64, b: u64, c: u64, rm: Rm, nx_set: bool) -> (u64, u64) {
    if let Some(r) = host::mul_add::<F>(a, b, c, rm, nx_set) {
        return r;
    }
    // RISC-V: inf * 0 is invalid even when the addend is a quiet NaN.
    let inf_times_zero = (is_inf::<F>(a) && is_zero::<F>(b)) || (is_zero::<F>(a) && is_inf::<F>(b));
    if is_nan::<F>(a) || is_nan::<F>(b) || is_nan::<F>(c) {
        let nv = if inf_times_zero { NV } else { 0 };
        return (F::CANONICAL_NAN, snan_flag::<F>(&[a, b, c]) | nv);
    }
    exact::mul_add::<F>(a, b, c, rm)
}

/// Square root rounded by `rm`.
#[inline]
pub fn sqrt<F: Format>(a: u64, rm: Rm) -> (u64, u64) {
    if let Some(r) = host::sqrt::<F>(a, rm) {
        return r;
    }
    if is_nan::<F>(a) {
        return (F::CANONICAL_NAN, snan_flag::<F>(&[a]));
    }
    exact::sqrt::<F>(a, rm)
}

/// Float -> integer (`fcvt.{w,wu,l,lu}.*`), rounded by `rm`, saturating
/// with NV (and no NX) when out of range; NaN converts like +inf. The
/// result is the integer's bits zero-extended to 64 (the caller
/// sign-extends the W forms).
#[inline]
pub fn to_int<F: Format>(a: u64, kind: IntKind, rm: Rm) -> (u64, u64) {
    if is_nan::<F>(a) {
        return (kind.saturated(false), NV);
    }
    host::to_int::<F>(a, kind, rm)
}

/// Integer -> float (`fcvt.*.{w,wu,l,lu}`); the caller sign- or
/// zero-extends the operand.
#[inline]
pub fn from_int<F: Format>(v: i128, rm: Rm) -> (u64, u64) {
    match host::from_int::<F>(v) {
        Some(r) => (r, 0),
        None => exact::from_int::<F>(v, rm),
    }
}

/// How a comparison treats quiet NaNs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compare {
    /// `feq`: NV only for signalling NaNs.
    Eq,
    /// `flt`: NV for any NaN.
    Lt,
    /// `fle`: NV for any NaN.
    Le,
}

/// A comparison's result (0/1) and flags. Host comparisons are exact.
#[inline]
pub fn compare<F: Format>(cmp: Compare, a: u64, b: u64) -> (u64, u64) {
    use host::HostFloat;
    if is_nan::<F>(a) || is_nan::<F>(b) {
        let nv = match cmp {
            Compare::Eq => snan_flag::<F>(&[a, b]),
            Compare::Lt | Compare::Le => NV,
        };
        return (0, nv);
    }
    let (x, y) = (F::Host::from_raw(a), F::Host::from_raw(b));
    let r = match cmp {
        Compare::Eq => x == y,
        Compare::Lt => x < y,
        Compare::Le => x <= y,
    };
    (r as u64, 0)
}

/// `fmin`/`fmax` (IEEE 754-2019 minimumNumber/maximumNumber): a NaN
/// operand yields the other one, two NaNs the canonical NaN, -0 < +0.
#[inline]
pub fn min_max<F: Format>(max: bool, a: u64, b: u64) -> (u64, u64) {
    use host::HostFloat;
    let flags = snan_flag::<F>(&[a, b]);
    let r = match (is_nan::<F>(a), is_nan::<F>(b)) {
        (true, true) => F::CANONICAL_NAN,
        (true, false) => b,
        (false, true) => a,
        _ => {
            let (x, y) = (F::Host::from_raw(a), F::Host::from_raw(b));
            let a_below_b = x < y || (a == F::SIGN && b == 0);
            if max != a_below_b {
                a
            } else {
                b
            }
        }
    };
    (r, flags)
}

/// `fclass`: one bit for the operand's class.
pub fn classify<F: Format>(v: u64) -> u64 {
    let neg = v & F::SIGN != 0;
    let exp = v & F::EXP_MASK;
    let frac = v & F::FRAC_MASK;
    let bit = if exp == F::EXP_MASK {
        match (frac == 0, neg, frac & F::QUIET != 0) {
            (true, true, _) => 0,
            (true, false, _) => 7,
            (false, _, false) => 8,
            (false, _, true) => 9,
        }
    } else if exp == 0 {
        match (neg, frac == 0) {
            (true, true) => 3,
            (true, false) => 2,
            (false, true) => 4,
            (false, false) => 5,
        }
    } else if neg {
        1
    } else {
        6
    };
    1 << bit
}

#[cfg(test)]
mod tests;
