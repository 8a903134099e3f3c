//! F and D instructions on Berkeley SoftFloat (RISC-V specialisation):
//! all rounding modes, accrued flags, canonical NaNs; NaN boxing of singles.

use super::csr::MSTATUS_FS;
use super::exec_zfa::is_zfa;
use super::insn::*;
use super::trap::Trap;
use super::{Ctl, Hart};
use crate::bus::SystemBus;
use softfloat_wrapper::{ExceptionFlags, Float, RoundingMode, F32, F64};

const CANONICAL_NAN_S: u32 = 0x7fc0_0000;
const CANONICAL_NAN_D: u64 = 0x7ff8_0000_0000_0000;
const BOX: u64 = 0xffff_ffff_0000_0000;

// fflags bits.
const NV: u64 = 0x10;

/// Clears SoftFloat's (thread-local) accrued flags before an operation.
#[inline]
fn clear_flags() {
    ExceptionFlags::from_bits(0).set();
}

/// SoftFloat's flags after an operation; its bit layout equals fflags'.
#[inline]
fn take_flags() -> u64 {
    let mut f = ExceptionFlags::default();
    f.get();
    f.to_bits() as u64 & 0x1f
}

/// Rounding mode field -> SoftFloat mode; reserved values are None.
fn rounding(rm: u64) -> Option<RoundingMode> {
    Some(match rm {
        0 => RoundingMode::TiesToEven,
        1 => RoundingMode::TowardZero,
        2 => RoundingMode::TowardNegative,
        3 => RoundingMode::TowardPositive,
        4 => RoundingMode::TiesToAway,
        _ => return None,
    })
}

/// `fclass` result bit for a value given its sign/exponent/fraction shape.
fn classify(neg: bool, exp_all_ones: bool, exp_zero: bool, frac_zero: bool, quiet: bool) -> u64 {
    let bit = if exp_all_ones {
        if frac_zero {
            if neg {
                0
            } else {
                7
            }
        } else if quiet {
            9
        } else {
            8
        }
    } else if exp_zero {
        match (neg, frac_zero) {
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

fn class_s(v: u32) -> u64 {
    classify(
        v >> 31 != 0,
        (v >> 23) & 0xff == 0xff,
        (v >> 23) & 0xff == 0,
        v & 0x7f_ffff == 0,
        v & 0x40_0000 != 0,
    )
}

fn class_d(v: u64) -> u64 {
    classify(
        v >> 63 != 0,
        (v >> 52) & 0x7ff == 0x7ff,
        (v >> 52) & 0x7ff == 0,
        v & ((1 << 52) - 1) == 0,
        v & (1 << 51) != 0,
    )
}

fn is_nan_s(v: u32) -> bool {
    v & 0x7fff_ffff > 0x7f80_0000
}
fn is_snan_s(v: u32) -> bool {
    is_nan_s(v) && v & 0x40_0000 == 0
}
fn is_nan_d(v: u64) -> bool {
    v & 0x7fff_ffff_ffff_ffff > 0x7ff0_0000_0000_0000
}
fn is_snan_d(v: u64) -> bool {
    is_nan_d(v) && v & (1 << 51) == 0
}

impl Hart {
    /// A single from an f register: NaN-boxed values unbox, others read as
    /// the canonical NaN.
    #[inline]
    pub(super) fn fs(&self, i: Reg) -> u32 {
        let v = self.f[i as usize & 31];
        if v & BOX == BOX {
            v as u32
        } else {
            CANONICAL_NAN_S
        }
    }
    #[inline]
    pub(super) fn fd(&self, i: Reg) -> u64 {
        self.f[i as usize & 31]
    }
    #[inline]
    pub(super) fn set_fs_reg(&mut self, i: Reg, v: u32) {
        self.f[i as usize & 31] = BOX | v as u64;
        self.set_fs_dirty();
    }
    #[inline]
    pub(super) fn set_fd_reg(&mut self, i: Reg, v: u64) {
        self.f[i as usize & 31] = v;
        self.set_fs_dirty();
    }
    pub(super) fn accrue(&mut self, flags: u64) {
        if flags != 0 {
            self.csr.fflags |= flags;
            self.set_fs_dirty();
        }
    }
    fn rm(&self, rm: u8) -> Result<RoundingMode, Trap> {
        let v = if rm == 7 { self.csr.frm } else { rm as u64 };
        rounding(v).ok_or_else(Trap::illegal)
    }

    pub(crate) fn exec_fp<B: SystemBus>(&mut self, bus: &mut B, insn: Insn) -> Result<Ctl, Trap> {
        let prec = match insn {
            Insn::FLoad { prec, .. }
            | Insn::FStore { prec, .. }
            | Insn::Fma { prec, .. }
            | Insn::Fp { prec, .. } => prec,
            _ => return Err(Trap::illegal()),
        };
        let enabled = self.cfg.ext_f
            && (prec == Prec::S || self.cfg.ext_d)
            && self.csr.mstatus & MSTATUS_FS != 0;
        if !enabled {
            return Err(Trap::illegal());
        }
        match insn {
            Insn::FLoad { rd, rs1, imm, prec } => {
                let va = self.r(rs1).wrapping_add(imm as i64 as u64);
                match prec {
                    Prec::S => {
                        let v = self.load(bus, va, 4)? as u32;
                        self.set_fs_reg(rd, v);
                    }
                    Prec::D => {
                        let v = self.load(bus, va, 8)?;
                        self.set_fd_reg(rd, v);
                    }
                }
                if self.did_mmio {
                    return Ok(Ctl::End);
                }
            }
            Insn::FStore {
                rs1,
                rs2,
                imm,
                prec,
            } => {
                let va = self.r(rs1).wrapping_add(imm as i64 as u64);
                let raw = self.f[rs2 as usize & 31];
                let brk = match prec {
                    Prec::S => self.store(bus, va, 4, raw & 0xffff_ffff)?,
                    Prec::D => self.store(bus, va, 8, raw)?,
                };
                if brk {
                    return Ok(Ctl::End);
                }
            }
            Insn::Fma {
                op,
                prec,
                rd,
                rs1,
                rs2,
                rs3,
                rm,
            } => {
                let rnd = self.rm(rm)?;
                clear_flags();
                match prec {
                    Prec::S => {
                        let (a, b, c) = (self.fs(rs1), self.fs(rs2), self.fs(rs3));
                        let (a, c) = match op {
                            FmaOp::Madd => (a, c),
                            FmaOp::Msub => (a, c ^ 0x8000_0000),
                            FmaOp::Nmsub => (a ^ 0x8000_0000, c),
                            FmaOp::Nmadd => (a ^ 0x8000_0000, c ^ 0x8000_0000),
                        };
                        let r = F32::from_bits(a).fused_mul_add(
                            F32::from_bits(b),
                            F32::from_bits(c),
                            rnd,
                        );
                        self.set_fs_reg(rd, r.to_bits());
                    }
                    Prec::D => {
                        let (a, b, c) = (self.fd(rs1), self.fd(rs2), self.fd(rs3));
                        let s = 1u64 << 63;
                        let (a, c) = match op {
                            FmaOp::Madd => (a, c),
                            FmaOp::Msub => (a, c ^ s),
                            FmaOp::Nmsub => (a ^ s, c),
                            FmaOp::Nmadd => (a ^ s, c ^ s),
                        };
                        let r = F64::from_bits(a).fused_mul_add(
                            F64::from_bits(b),
                            F64::from_bits(c),
                            rnd,
                        );
                        self.set_fd_reg(rd, r.to_bits());
                    }
                }
                self.accrue(take_flags());
            }
            Insn::Fp {
                op,
                prec,
                rd,
                rs1,
                rs2,
                rm,
            } if is_zfa(op) => self.exec_zfa(op, prec, rd, rs1, rs2, rm)?,
            Insn::Fp {
                op,
                prec,
                rd,
                rs1,
                rs2,
                rm,
            } => match prec {
                Prec::S => self.fp_s(op, rd, rs1, rs2, rm)?,
                Prec::D => self.fp_d(op, rd, rs1, rs2, rm)?,
            },
            _ => return Err(Trap::illegal()),
        }
        Ok(Ctl::Next)
    }

    fn fp_s(&mut self, op: FOp, rd: Reg, rs1: Reg, rs2: Reg, rm: u8) -> Result<(), Trap> {
        let (a, b) = (self.fs(rs1), self.fs(rs2));
        let (fa, fb) = (F32::from_bits(a), F32::from_bits(b));
        // Operations that round need a valid rounding mode even if exact.
        let needs_rm = matches!(
            op,
            FOp::Add
                | FOp::Sub
                | FOp::Mul
                | FOp::Div
                | FOp::Sqrt
                | FOp::CvtFF
                | FOp::CvtW
                | FOp::CvtWu
                | FOp::CvtL
                | FOp::CvtLu
                | FOp::CvtFromW
                | FOp::CvtFromWu
                | FOp::CvtFromL
                | FOp::CvtFromLu
        );
        let rnd = if needs_rm {
            self.rm(rm)?
        } else {
            RoundingMode::TiesToEven
        };
        clear_flags();
        let mut flags = 0;
        enum Out {
            F(u32),
            X(u64),
        }
        let out = match op {
            FOp::Add => Out::F(fa.add(fb, rnd).to_bits()),
            FOp::Sub => Out::F(fa.sub(fb, rnd).to_bits()),
            FOp::Mul => Out::F(fa.mul(fb, rnd).to_bits()),
            FOp::Div => Out::F(fa.div(fb, rnd).to_bits()),
            FOp::Sqrt => Out::F(fa.sqrt(rnd).to_bits()),
            FOp::Sgnj => Out::F((a & 0x7fff_ffff) | (b & 0x8000_0000)),
            FOp::Sgnjn => Out::F((a & 0x7fff_ffff) | (!b & 0x8000_0000)),
            FOp::Sgnjx => Out::F(a ^ (b & 0x8000_0000)),
            FOp::Min | FOp::Max => {
                if is_snan_s(a) || is_snan_s(b) {
                    flags |= NV;
                }
                let r = match (is_nan_s(a), is_nan_s(b)) {
                    (true, true) => CANONICAL_NAN_S,
                    (true, false) => b,
                    (false, true) => a,
                    _ => {
                        // -0 orders below +0.
                        let a_lt_b = fa.lt_quiet(fb) || (a == 0x8000_0000 && b == 0);
                        if (op == FOp::Min) == a_lt_b {
                            a
                        } else {
                            b
                        }
                    }
                };
                Out::F(r)
            }
            FOp::CvtFF => {
                let d = self.fd(rs1);
                Out::F(F64::from_bits(d).to_f32(rnd).to_bits())
            }
            FOp::Eq => Out::X(fa.eq(fb) as u64),
            FOp::Lt => Out::X(fa.lt(fb) as u64),
            FOp::Le => Out::X(fa.le(fb) as u64),
            FOp::Class => Out::X(class_s(a)),
            FOp::CvtW => Out::X(fa.to_i32(rnd, true) as i64 as u64),
            FOp::CvtWu => Out::X(fa.to_u32(rnd, true) as i32 as i64 as u64),
            FOp::CvtL => Out::X(fa.to_i64(rnd, true) as u64),
            FOp::CvtLu => Out::X(fa.to_u64(rnd, true)),
            FOp::CvtFromW => Out::F(F32::from_i32(self.r(rs1) as i32, rnd).to_bits()),
            FOp::CvtFromWu => Out::F(F32::from_u32(self.r(rs1) as u32, rnd).to_bits()),
            FOp::CvtFromL => Out::F(F32::from_i64(self.r(rs1) as i64, rnd).to_bits()),
            FOp::CvtFromLu => Out::F(F32::from_u64(self.r(rs1), rnd).to_bits()),
            FOp::MvToX => Out::X(self.f[rs1 as usize & 31] as u32 as i32 as i64 as u64),
            FOp::MvFromX => Out::F(self.r(rs1) as u32),
            _ => return Err(Trap::illegal()), // Zfa: exec_zfa
        };
        flags |= take_flags();
        match out {
            Out::F(v) => self.set_fs_reg(rd, v),
            Out::X(v) => self.w(rd, v),
        }
        self.accrue(flags);
        Ok(())
    }

    fn fp_d(&mut self, op: FOp, rd: Reg, rs1: Reg, rs2: Reg, rm: u8) -> Result<(), Trap> {
        let (a, b) = (self.fd(rs1), self.fd(rs2));
        let (fa, fb) = (F64::from_bits(a), F64::from_bits(b));
        let needs_rm = matches!(
            op,
            FOp::Add
                | FOp::Sub
                | FOp::Mul
                | FOp::Div
                | FOp::Sqrt
                | FOp::CvtW
                | FOp::CvtWu
                | FOp::CvtL
                | FOp::CvtLu
                | FOp::CvtFromL
                | FOp::CvtFromLu
        );
        // fcvt.d.s and fcvt.d.w[u] are exact but the rm field must still be
        // a valid encoding (QEMU checks it too).
        let rnd = if needs_rm || matches!(op, FOp::CvtFF | FOp::CvtFromW | FOp::CvtFromWu) {
            self.rm(rm)?
        } else {
            RoundingMode::TiesToEven
        };
        clear_flags();
        let mut flags = 0;
        enum Out {
            F(u64),
            X(u64),
        }
        const S: u64 = 1 << 63;
        let out = match op {
            FOp::Add => Out::F(fa.add(fb, rnd).to_bits()),
            FOp::Sub => Out::F(fa.sub(fb, rnd).to_bits()),
            FOp::Mul => Out::F(fa.mul(fb, rnd).to_bits()),
            FOp::Div => Out::F(fa.div(fb, rnd).to_bits()),
            FOp::Sqrt => Out::F(fa.sqrt(rnd).to_bits()),
            FOp::Sgnj => Out::F((a & !S) | (b & S)),
            FOp::Sgnjn => Out::F((a & !S) | (!b & S)),
            FOp::Sgnjx => Out::F(a ^ (b & S)),
            FOp::Min | FOp::Max => {
                if is_snan_d(a) || is_snan_d(b) {
                    flags |= NV;
                }
                let r = match (is_nan_d(a), is_nan_d(b)) {
                    (true, true) => CANONICAL_NAN_D,
                    (true, false) => b,
                    (false, true) => a,
                    _ => {
                        let a_lt_b = fa.lt_quiet(fb) || (a == S && b == 0);
                        if (op == FOp::Min) == a_lt_b {
                            a
                        } else {
                            b
                        }
                    }
                };
                Out::F(r)
            }
            FOp::CvtFF => {
                let s = self.fs(rs1);
                Out::F(F32::from_bits(s).to_f64(rnd).to_bits())
            }
            FOp::Eq => Out::X(fa.eq(fb) as u64),
            FOp::Lt => Out::X(fa.lt(fb) as u64),
            FOp::Le => Out::X(fa.le(fb) as u64),
            FOp::Class => Out::X(class_d(a)),
            FOp::CvtW => Out::X(fa.to_i32(rnd, true) as i64 as u64),
            FOp::CvtWu => Out::X(fa.to_u32(rnd, true) as i32 as i64 as u64),
            FOp::CvtL => Out::X(fa.to_i64(rnd, true) as u64),
            FOp::CvtLu => Out::X(fa.to_u64(rnd, true)),
            FOp::CvtFromW => Out::F(F64::from_i32(self.r(rs1) as i32, rnd).to_bits()),
            FOp::CvtFromWu => Out::F(F64::from_u32(self.r(rs1) as u32, rnd).to_bits()),
            FOp::CvtFromL => Out::F(F64::from_i64(self.r(rs1) as i64, rnd).to_bits()),
            FOp::CvtFromLu => Out::F(F64::from_u64(self.r(rs1), rnd).to_bits()),
            FOp::MvToX => Out::X(a),
            FOp::MvFromX => Out::F(self.r(rs1)),
            _ => return Err(Trap::illegal()), // Zfa: exec_zfa
        };
        flags |= take_flags();
        match out {
            Out::F(v) => self.set_fd_reg(rd, v),
            Out::X(v) => self.w(rd, v),
        }
        self.accrue(flags);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fclass_all_classes() {
        assert_eq!(class_s(0xff80_0000), 1 << 0);
        assert_eq!(class_s(0xbf80_0000), 1 << 1);
        assert_eq!(class_s(0x8000_0001), 1 << 2);
        assert_eq!(class_s(0x8000_0000), 1 << 3);
        assert_eq!(class_s(0x0000_0000), 1 << 4);
        assert_eq!(class_s(0x0000_0001), 1 << 5);
        assert_eq!(class_s(0x3f80_0000), 1 << 6);
        assert_eq!(class_s(0x7f80_0000), 1 << 7);
        assert_eq!(class_s(0x7f80_0001), 1 << 8);
        assert_eq!(class_s(0x7fc0_0000), 1 << 9);
        assert_eq!(class_d(CANONICAL_NAN_D), 1 << 9);
        assert_eq!(class_d(0x7ff0_0000_0000_0001), 1 << 8);
    }

    #[test]
    fn softfloat_flags_match_fflags_layout() {
        clear_flags();
        let r = F64::from_bits(1.0f64.to_bits()).div(F64::from_bits(0), RoundingMode::TiesToEven);
        assert_eq!(r.to_bits(), f64::INFINITY.to_bits());
        assert_eq!(take_flags(), 0x08, "DZ");
        clear_flags();
        let r = F32::from_bits(0).div(F32::from_bits(0), RoundingMode::TiesToEven);
        assert_eq!(r.to_bits(), CANONICAL_NAN_S, "RISC-V canonical NaN");
        assert_eq!(take_flags(), NV);
    }
}
