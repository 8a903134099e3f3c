//! The exact path: `rustc_apfloat` for the arithmetic, plus what RISC-V
//! defines differently from (or beyond) it: underflow is detected after
//! rounding, a square root, and the saturating float -> integer
//! conversions. NaN operands have been dealt with by the caller, except
//! where a function says otherwise.

use rustc_apfloat::ieee::{IeeeFloat, Semantics};
use rustc_apfloat::{Float, FloatConvert, Round, Status, StatusAnd};

use super::{is_nan, is_snan, is_zero, BinOp, Format, Rm, DZ, F32, F64, NV, NX, OF, UF};

/// binary32's precision with binary64's exponent range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WideSingleS;
impl Semantics for WideSingleS {
    const BITS: usize = 1 + 11 + 23;
    const EXP_BITS: usize = 11;
}
pub type WideSingle = IeeeFloat<WideSingleS>;

/// binary64's precision with a 15-bit exponent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WideDoubleS;
impl Semantics for WideDoubleS {
    const BITS: usize = 1 + 15 + 52;
    const EXP_BITS: usize = 15;
}
pub type WideDouble = IeeeFloat<WideDoubleS>;

fn flags_of(s: Status) -> u64 {
    let mut f = 0;
    if s.contains(Status::INVALID_OP) {
        f |= NV;
    }
    if s.contains(Status::DIV_BY_ZERO) {
        f |= DZ;
    }
    if s.contains(Status::OVERFLOW) {
        f |= OF;
    }
    if s.contains(Status::UNDERFLOW) {
        f |= UF;
    }
    if s.contains(Status::INEXACT) {
        f |= NX;
    }
    f
}

#[inline]
fn ap<F: Format>(v: u64) -> F::Ap {
    F::Ap::from_bits(v as u128)
}

fn widen<F: Format>(x: F::Ap) -> F::Wide {
    let mut loses = false;
    x.convert_r(Round::NearestTiesToEven, &mut loses).value
}

/// Result bits and flags of a rounded operation, with IEEE's (and
/// RISC-V's) definitions where apfloat's differ. Both concern a result
/// computed with an unbounded exponent range, which `wide` gives (it is
/// called only in the two rare cases):
/// - underflow: apfloat reports it only when the rounded result is
///   subnormal; RISC-V (like SoftFloat's RISC-V build) detects tininess
///   after rounding, so an inexact result that rounded up to the smallest
///   normal underflowed too if, rounded with an unbounded exponent, it stays
///   below it;
/// - overflow: apfloat does not report it when the rounding mode turns it
///   into the largest finite number (RTZ, and RDN/RUP away from infinity).
fn finish<F: Format>(st: StatusAnd<F::Ap>, wide: impl FnOnce() -> F::Wide) -> (u64, u64) {
    let StatusAnd { status, value } = st;
    let mut flags = flags_of(status);
    if value.is_nan() {
        return (F::CANONICAL_NAN, flags);
    }
    let bits = value.to_bits() as u64;
    let magnitude = bits & !F::SIGN;
    let max_finite = F::EXP_MASK - 1;
    if flags & NX != 0 && (magnitude == F::MIN_NORMAL || magnitude == max_finite) {
        let w = wide().abs();
        if magnitude == F::MIN_NORMAL && flags & UF == 0 && w < widen::<F>(ap::<F>(F::MIN_NORMAL)) {
            flags |= UF;
        }
        if magnitude == max_finite && flags & OF == 0 && w > widen::<F>(ap::<F>(max_finite)) {
            flags |= OF;
        }
    }
    (bits, flags)
}

pub fn binary<F: Format>(op: BinOp, a: u64, b: u64, rm: Rm) -> (u64, u64) {
    let (x, y, r) = (ap::<F>(a), ap::<F>(b), rm.apfloat());
    let st = match op {
        BinOp::Add => x.add_r(y, r),
        BinOp::Sub => x.sub_r(y, r),
        BinOp::Mul => x.mul_r(y, r),
        BinOp::Div => x.div_r(y, r),
    };
    finish::<F>(st, || {
        let (x, y) = (widen::<F>(x), widen::<F>(y));
        match op {
            BinOp::Add => x.add_r(y, r),
            BinOp::Sub => x.sub_r(y, r),
            BinOp::Mul => x.mul_r(y, r),
            BinOp::Div => x.div_r(y, r),
        }
        .value
    })
}

pub fn mul_add<F: Format>(a: u64, b: u64, c: u64, rm: Rm) -> (u64, u64) {
    let (x, y, z, r) = (ap::<F>(a), ap::<F>(b), ap::<F>(c), rm.apfloat());
    finish::<F>(x.mul_add_r(y, z, r), || {
        widen::<F>(x)
            .mul_add_r(widen::<F>(y), widen::<F>(z), r)
            .value
    })
}

/// Square root (apfloat has none): the integer square root of the
/// significand, scaled so the root has two bits beyond the precision, plus
/// a sticky bit for a non-zero remainder, rounded once by apfloat's integer
/// conversion. A square root is never tiny and never overflows.
pub fn sqrt<F: Format>(a: u64, rm: Rm) -> (u64, u64) {
    if is_zero::<F>(a) || a == F::EXP_MASK {
        return (a, 0); // ±0 and +inf are their own roots
    }
    if a & F::SIGN != 0 {
        return (F::CANONICAL_NAN, NV);
    }
    let frac_bits = F::FRAC_MASK.count_ones() as i32;
    let bias = (F::EXP_MASK >> frac_bits) as i32 / 2;
    let exp = ((a & F::EXP_MASK) >> frac_bits) as i32;
    let frac = (a & F::FRAC_MASK) as u128;
    // value = m * 2^e
    let (mut m, mut e) = if exp == 0 {
        (frac, 1 - bias - frac_bits)
    } else {
        (frac | 1 << frac_bits, exp - bias - frac_bits)
    };
    if e & 1 != 0 {
        m <<= 1;
        e -= 1;
    }
    // Shift m (by an even amount) to 2 * (precision + 2) bits or more.
    let want = 2 * (frac_bits + 3);
    let have = 128 - m.leading_zeros() as i32;
    let shift = ((want - have).max(0) + 1) & !1;
    let n = m << shift;
    let root = n.isqrt();
    let sticky = (root * root != n) as u128;
    // sqrt(m * 2^e) = (2 * root + sticky) * 2^((e - shift) / 2 - 1)
    let StatusAnd { status, value } = F::Ap::from_u128_r(root << 1 | sticky, rm.apfloat());
    let value = value.scalbn((e - shift) / 2 - 1);
    (value.to_bits() as u64, flags_of(status))
}

/// The integer types of `fcvt.{w,wu,l,lu}.*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntKind {
    I32,
    U32,
    I64,
    U64,
}

impl IntKind {
    #[cfg(test)]
    fn width(self) -> usize {
        match self {
            IntKind::I32 | IntKind::U32 => 32,
            IntKind::I64 | IntKind::U64 => 64,
        }
    }
    #[cfg(test)]
    fn signed(self) -> bool {
        matches!(self, IntKind::I32 | IntKind::I64)
    }
    /// What an out-of-range or NaN input gives (RISC-V's table).
    pub(super) fn saturated(self, negative: bool) -> u64 {
        match (self, negative) {
            (IntKind::I32, false) => i32::MAX as u64,
            (IntKind::I32, true) => 0x8000_0000,
            (IntKind::U32, false) => u32::MAX as u64,
            (IntKind::I64, false) => i64::MAX as u64,
            (IntKind::I64, true) => i64::MIN as u64,
            (IntKind::U64, false) => u64::MAX,
            (IntKind::U32 | IntKind::U64, true) => 0,
        }
    }
}

/// Float -> integer, rounded by `rm`, saturating with NV (and no NX) when
/// out of range: the reference the tests hold the host path's conversion
/// (`host::to_int`, the one emu runs) to. The result is the integer's bits zero-extended to
/// 64. NaN operands are the caller's.
#[cfg(test)]
pub fn to_int<F: Format>(a: u64, kind: IntKind, rm: Rm) -> (u64, u64) {
    let StatusAnd {
        status,
        value: whole,
    } = ap::<F>(a).round_to_integral(rm.apfloat());
    let mut exact = false;
    let fits = if kind.signed() {
        let st = whole.to_i128_r(kind.width(), Round::TowardZero, &mut exact);
        (!st.status.contains(Status::INVALID_OP)).then_some(st.value as u64)
    } else if whole.is_negative() && !whole.is_zero() {
        None
    } else {
        let st = whole.to_u128_r(kind.width(), Round::TowardZero, &mut exact);
        (!st.status.contains(Status::INVALID_OP)).then_some(st.value as u64)
    };
    match fits {
        Some(v) => {
            let v = if kind.width() == 32 {
                v & 0xffff_ffff
            } else {
                v
            };
            (v, flags_of(status) & NX)
        }
        None => (kind.saturated(whole.is_negative()), NV),
    }
}

/// Integer -> float (the caller sign- or zero-extends the operand).
pub fn from_int<F: Format>(v: i128, rm: Rm) -> (u64, u64) {
    let StatusAnd { status, value } = F::Ap::from_i128_r(v, rm.apfloat());
    (value.to_bits() as u64, flags_of(status))
}

/// `fround` (`nx` false) and `froundnx` (`nx` true): round to an integral
/// value in the same format. NaN operands are handled here.
pub fn round_to_integral<F: Format>(a: u64, rm: Rm, nx: bool) -> (u64, u64) {
    if is_nan::<F>(a) {
        return (F::CANONICAL_NAN, if is_snan::<F>(a) { NV } else { 0 });
    }
    let StatusAnd { status, value } = ap::<F>(a).round_to_integral(rm.apfloat());
    let flags = if nx { flags_of(status) & NX } else { 0 };
    (value.to_bits() as u64, flags)
}

/// `fcvt.s.d`. NaN operands are handled here.
pub fn f64_to_f32(a: u64, rm: Rm) -> (u64, u64) {
    if is_nan::<F64>(a) {
        return (F32::CANONICAL_NAN, if is_snan::<F64>(a) { NV } else { 0 });
    }
    let x = ap::<F64>(a);
    let mut loses = false;
    let st: StatusAnd<<F32 as Format>::Ap> = x.convert_r(rm.apfloat(), &mut loses);
    finish::<F32>(st, || {
        let st: StatusAnd<WideSingle> = x.convert_r(rm.apfloat(), &mut loses);
        st.value
    })
}

/// `fcvt.d.s` (exact). NaN operands are handled here.
pub fn f32_to_f64(a: u64) -> (u64, u64) {
    if is_nan::<F32>(a) {
        return (F64::CANONICAL_NAN, if is_snan::<F32>(a) { NV } else { 0 });
    }
    let mut loses = false;
    let st: StatusAnd<<F64 as Format>::Ap> =
        ap::<F32>(a).convert_r(Round::NearestTiesToEven, &mut loses);
    (st.value.to_bits() as u64, 0)
}
