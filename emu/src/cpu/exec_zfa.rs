//! Zfa (additional floating-point instructions) for S and D, as QEMU 10
//! computes them. fround/froundnx round through [`softfp`], like every other
//! rounding operation; the rest is exact bit manipulation on the IEEE
//! encodings.
//!
//! fmvh.x.d and fmvp.d.x are RV32-only and decode as illegal on RV64.

use super::insn::{Prec, Reg, ZfaOp};
use super::softfp::{self, Rm, F32, F64, NV, NX};
use super::trap::Trap;
use super::Hart;

/// Field widths of a binary floating-point format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fmt {
    man: u32,
    exp: u32,
}

impl Fmt {
    pub(crate) const S: Fmt = Fmt { man: 23, exp: 8 };
    pub(crate) const D: Fmt = Fmt { man: 52, exp: 11 };

    pub(crate) fn of(prec: Prec) -> Fmt {
        match prec {
            Prec::S => Fmt::S,
            Prec::D => Fmt::D,
        }
    }
    fn sign(self) -> u64 {
        1 << (self.man + self.exp)
    }
    fn exp_mask(self) -> u64 {
        ((1 << self.exp) - 1) << self.man
    }
    fn bias(self) -> i64 {
        (1 << (self.exp - 1)) - 1
    }
    fn quiet_bit(self) -> u64 {
        1 << (self.man - 1)
    }
    fn canonical_nan(self) -> u64 {
        self.exp_mask() | self.quiet_bit()
    }
    fn magnitude(self, v: u64) -> u64 {
        v & (self.sign() - 1)
    }
    fn is_nan(self, v: u64) -> bool {
        self.magnitude(v) > self.exp_mask()
    }
    fn is_snan(self, v: u64) -> bool {
        self.is_nan(v) && v & self.quiet_bit() == 0
    }
    fn is_neg(self, v: u64) -> bool {
        v & self.sign() != 0
    }
    /// A key ordering non-NaN values numerically; `-0` sorts below `+0`
    /// when `signed_zero`, else the two are equal.
    fn key(self, v: u64, signed_zero: bool) -> i128 {
        let m = self.magnitude(v) as i128;
        match (self.is_neg(v), signed_zero) {
            (true, true) => -m - 1,
            (true, false) => -m,
            (false, _) => m,
        }
    }
}

/// The result of a Zfa operation: an f-register value (raw S or D bits)
/// or an x-register value, and the fflags it raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ZfaOut {
    F(u64, u64),
    X(u64, u64),
}

/// The 32 constants of fli (index = rs1 field): -1, the smallest normal,
/// powers of two and small fractions, +inf and the canonical NaN.
pub(crate) fn fli(fmt: Fmt, index: u8) -> u64 {
    const TABLE: [f64; 32] = [
        -1.0,
        0.0, // smallest normal: per format, below
        1.0 / 65536.0,
        1.0 / 32768.0,
        1.0 / 256.0,
        1.0 / 128.0,
        0.0625,
        0.125,
        0.25,
        0.3125,
        0.375,
        0.4375,
        0.5,
        0.625,
        0.75,
        0.875,
        1.0,
        1.25,
        1.5,
        1.75,
        2.0,
        2.5,
        3.0,
        4.0,
        8.0,
        16.0,
        128.0,
        256.0,
        32768.0,
        65536.0,
        f64::INFINITY,
        0.0, // canonical NaN, below
    ];
    match index & 31 {
        1 => 1 << fmt.man,
        31 => fmt.canonical_nan(),
        i => {
            let v = TABLE[i as usize];
            if fmt == Fmt::S {
                (v as f32).to_bits() as u64
            } else {
                v.to_bits()
            }
        }
    }
}

/// fminm/fmaxm: like fmin/fmax, but a NaN operand gives the canonical NaN
/// (IEEE 754-2019 minimum/maximum); sNaN raises NV; -0 < +0.
pub(crate) fn min_max(fmt: Fmt, a: u64, b: u64, max: bool) -> ZfaOut {
    let flags = if fmt.is_snan(a) || fmt.is_snan(b) {
        NV
    } else {
        0
    };
    if fmt.is_nan(a) || fmt.is_nan(b) {
        return ZfaOut::F(fmt.canonical_nan(), flags);
    }
    let a_lt_b = fmt.key(a, true) < fmt.key(b, true);
    let r = if a_lt_b != max { a } else { b };
    ZfaOut::F(r, flags)
}

/// fleq/fltq: quiet comparisons (only sNaN raises NV; a NaN compares false).
pub(crate) fn compare_quiet(fmt: Fmt, a: u64, b: u64, or_equal: bool) -> ZfaOut {
    if fmt.is_nan(a) || fmt.is_nan(b) {
        let flags = if fmt.is_snan(a) || fmt.is_snan(b) {
            NV
        } else {
            0
        };
        return ZfaOut::X(0, flags);
    }
    let (ka, kb) = (fmt.key(a, false), fmt.key(b, false));
    ZfaOut::X((if or_equal { ka <= kb } else { ka < kb }) as u64, 0)
}

/// fround (`inexact` false) / froundnx: round to an integral value in the
/// same format with rounding mode `rm`. Zeros, infinities and integral
/// values pass unchanged; a NaN gives the canonical NaN (NV if
/// signalling). Only froundnx raises NX.
pub(crate) fn round_to_int(fmt: Fmt, v: u64, rm: Rm, inexact: bool) -> ZfaOut {
    let (r, flags) = if fmt == Fmt::S {
        softfp::round_to_integral::<F32>(v, rm, inexact)
    } else {
        softfp::round_to_integral::<F64>(v, rm, inexact)
    };
    ZfaOut::F(r, flags)
}

/// fcvtmod.w.d: the double truncated to an integer, modulo 2^32,
/// sign-extended. NaN and infinity give 0; NV if not representable in 32
/// bits (then no NX), else NX if inexact.
pub(crate) fn cvtmod_w_d(v: u64) -> ZfaOut {
    let fmt = Fmt::D;
    if fmt.magnitude(v) >= fmt.exp_mask() {
        return ZfaOut::X(0, NV);
    }
    let neg = fmt.is_neg(v);
    let mag = fmt.magnitude(v);
    if mag == 0 {
        return ZfaOut::X(0, 0);
    }
    let exp = (mag >> 52) as i64 - fmt.bias();
    if exp < 0 {
        return ZfaOut::X(0, NX); // 0 < |v| < 1 (incl. subnormals)
    }
    let mant = (mag & ((1 << 52) - 1)) | (1 << 52);
    let (int, frac) = if exp <= 52 {
        let sh = 52 - exp as u32;
        (mant >> sh, mant & ((1 << sh) - 1))
    } else if exp - 52 < 64 {
        (mant << (exp - 52), 0)
    } else {
        (0, 0)
    };
    let overflow = exp > 52 || int > (0x7fff_ffff + neg as u64);
    let r = if neg { int.wrapping_neg() } else { int };
    let flags = if overflow {
        NV
    } else if frac != 0 {
        NX
    } else {
        0
    };
    ZfaOut::X(r as u32 as i32 as i64 as u64, flags)
}

impl Hart {
    /// Executes Zfa operation `op` (F/D enabled and FS on: checked by
    /// `exec_fp`). Singles are read unboxed and written NaN-boxed. Kept out
    /// of line: rare, and it must not grow the F/D dispatch.
    #[inline(never)]
    pub(crate) fn exec_zfa(
        &mut self,
        op: ZfaOp,
        prec: Prec,
        rd: Reg,
        rs1: Reg,
        rs2: Reg,
        rm: u8,
    ) -> Result<(), Trap> {
        let fmt = Fmt::of(prec);
        let read = |h: &Hart, r: Reg| match prec {
            Prec::S => h.fs(r) as u64,
            Prec::D => h.fd(r),
        };
        let (a, b) = (read(self, rs1), read(self, rs2));
        let out = match op {
            ZfaOp::Fli => ZfaOut::F(fli(fmt, rs1), 0),
            ZfaOp::Minm | ZfaOp::Maxm => min_max(fmt, a, b, op == ZfaOp::Maxm),
            ZfaOp::Round | ZfaOp::RoundNx => {
                // Reserved modes (static or in frm) are illegal, as for
                // every rounding instruction.
                let mode = if rm == 7 { self.csr.frm } else { rm as u64 };
                let mode = Rm::from_field(mode).ok_or_else(Trap::illegal)?;
                round_to_int(fmt, a, mode, op == ZfaOp::RoundNx)
            }
            ZfaOp::CvtModW => cvtmod_w_d(a),
            ZfaOp::Leq | ZfaOp::Ltq => compare_quiet(fmt, a, b, op == ZfaOp::Leq),
        };
        match out {
            ZfaOut::F(v, flags) => {
                match prec {
                    Prec::S => self.set_fs_reg(rd, v as u32),
                    Prec::D => self.set_fd_reg(rd, v),
                }
                self.accrue(flags);
            }
            ZfaOut::X(v, flags) => {
                self.w(rd, v);
                self.accrue(flags);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fli_table_ends() {
        assert_eq!(fli(Fmt::S, 0), 0xbf80_0000);
        assert_eq!(fli(Fmt::S, 1), 0x0080_0000);
        assert_eq!(fli(Fmt::D, 1), 0x0010_0000_0000_0000);
        assert_eq!(fli(Fmt::S, 2), 0x3780_0000);
        assert_eq!(fli(Fmt::D, 29), 65536f64.to_bits());
        assert_eq!(fli(Fmt::S, 30), 0x7f80_0000);
        assert_eq!(fli(Fmt::S, 31), 0x7fc0_0000);
        assert_eq!(fli(Fmt::D, 31), 0x7ff8_0000_0000_0000);
    }

    fn rd(v: f64, rm: u64) -> f64 {
        let rm = Rm::from_field(rm).unwrap();
        match round_to_int(Fmt::D, v.to_bits(), rm, true) {
            ZfaOut::F(r, _) => f64::from_bits(r),
            o => panic!("{o:?}"),
        }
    }

    #[test]
    fn rounding_modes() {
        assert_eq!(rd(2.5, 0), 2.0);
        assert_eq!(rd(3.5, 0), 4.0);
        assert_eq!(rd(2.5, 4), 3.0);
        assert_eq!(rd(-2.5, 4), -3.0);
        assert_eq!(rd(2.7, 1), 2.0);
        assert_eq!(rd(-2.2, 2), -3.0);
        assert_eq!(rd(-2.7, 3), -2.0);
        assert_eq!(rd(0.5, 0), 0.0);
        assert_eq!(rd(0.5, 4), 1.0);
        assert_eq!(rd(0.75, 0), 1.0);
        assert_eq!(rd(1.5, 0), 2.0);
        assert_eq!(rd(4503599627370495.5, 0), 4503599627370496.0);
        assert!(rd(-0.3, 0).is_sign_negative(), "-0.3 rounds to -0");
        assert_eq!(rd(0.3, 3), 1.0);
        assert_eq!(rd(-0.3, 2), -1.0);
    }

    #[test]
    fn rounding_flags() {
        let nan = ZfaOut::F(Fmt::D.canonical_nan(), NV);
        assert_eq!(
            round_to_int(Fmt::D, 0x7ff0_0000_0000_0001, Rm::Rne, true),
            nan
        );
        assert_eq!(
            round_to_int(Fmt::D, 2.5f64.to_bits(), Rm::Rne, false),
            ZfaOut::F(2f64.to_bits(), 0),
            "fround raises no NX"
        );
        assert_eq!(
            round_to_int(Fmt::D, 2.5f64.to_bits(), Rm::Rne, true),
            ZfaOut::F(2f64.to_bits(), NX)
        );
        assert_eq!(
            round_to_int(Fmt::D, 2f64.to_bits(), Rm::Rne, true),
            ZfaOut::F(2f64.to_bits(), 0)
        );
    }

    #[test]
    fn cvtmod_wraps_and_flags() {
        assert_eq!(cvtmod_w_d((-1.5f64).to_bits()), ZfaOut::X(u64::MAX, NX));
        assert_eq!(
            cvtmod_w_d(2147483648f64.to_bits()),
            ZfaOut::X(0xffff_ffff_8000_0000, NV)
        );
        assert_eq!(
            cvtmod_w_d((-2147483648f64).to_bits()),
            ZfaOut::X(0xffff_ffff_8000_0000, 0)
        );
        assert_eq!(cvtmod_w_d(4294967297.5f64.to_bits()), ZfaOut::X(1, NV));
        assert_eq!(cvtmod_w_d(f64::INFINITY.to_bits()), ZfaOut::X(0, NV));
        assert_eq!(cvtmod_w_d(1e300f64.to_bits()), ZfaOut::X(0, NV));
        assert_eq!(cvtmod_w_d(0x8000_0000_0000_0000), ZfaOut::X(0, 0));
    }

    #[test]
    fn minimum_maximum_and_quiet_compares() {
        let (p0, n0) = (0u64, 0x8000_0000_0000_0000);
        assert_eq!(min_max(Fmt::D, p0, n0, false), ZfaOut::F(n0, 0));
        assert_eq!(min_max(Fmt::D, n0, p0, true), ZfaOut::F(p0, 0));
        let qnan = Fmt::D.canonical_nan();
        assert_eq!(min_max(Fmt::D, qnan, p0, false), ZfaOut::F(qnan, 0));
        assert_eq!(compare_quiet(Fmt::D, p0, n0, true), ZfaOut::X(1, 0));
        assert_eq!(compare_quiet(Fmt::D, qnan, p0, false), ZfaOut::X(0, 0));
        assert_eq!(
            compare_quiet(Fmt::D, 0x7ff0_0000_0000_0001, p0, false),
            ZfaOut::X(0, NV)
        );
    }
}
