//! F and D instructions: loads/stores, NaN boxing of singles, and the
//! arithmetic through [`softfp`] (all rounding modes, accrued flags,
//! canonical NaNs).

use super::csr::MSTATUS_FS;
use super::insn::*;
use super::softfp::{self, BinOp, Compare, Format, IntKind, Rm, F32, F64, NX};
use super::trap::Trap;
use super::{Ctl, Hart};
use crate::bus::SystemBus;

const BOX: u64 = 0xffff_ffff_0000_0000;

impl Hart {
    /// A single from an f register: NaN-boxed values unbox, others read as
    /// the canonical NaN.
    #[inline]
    pub(super) fn fs(&self, i: Reg) -> u32 {
        let v = self.f[i as usize & 31];
        if v & BOX == BOX {
            v as u32
        } else {
            F32::CANONICAL_NAN as u32
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
    /// Accrues exception flags. As QEMU 10, this alone does not make FS
    /// dirty: only writing an f register (or a float CSR) does, so a
    /// compare, fclass or fcvt to an integer that raises a flag leaves FS
    /// as it was (checked on QEMU by fixtures/isa/zfa.S).
    pub(super) fn accrue(&mut self, flags: u64) {
        self.csr.fflags |= flags;
    }
    fn rm(&self, rm: u8) -> Result<Rm, Trap> {
        let v = if rm == 7 { self.csr.frm } else { rm as u64 };
        Rm::from_field(v).ok_or_else(Trap::illegal)
    }
    /// NX is already set: the host fast path needs not detect inexactness.
    #[inline]
    fn nx_set(&self) -> bool {
        self.csr.fflags & NX != 0
    }

    pub(crate) fn exec_fp<B: SystemBus>(&mut self, bus: &mut B, insn: Insn) -> Result<Ctl, Trap> {
        let prec = match insn {
            Insn::FLoad { prec, .. }
            | Insn::FStore { prec, .. }
            | Insn::Fma { prec, .. }
            | Insn::Fp { prec, .. }
            | Insn::Zfa { prec, .. } => prec,
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
                let nx = self.nx_set();
                let flags = match prec {
                    Prec::S => {
                        let (a, b, c) = (self.fs(rs1), self.fs(rs2), self.fs(rs3));
                        let (a, c) = fma_signs(op, a as u64, c as u64, 1 << 31);
                        let (r, flags) = softfp::mul_add::<F32>(a, b as u64, c, rnd, nx);
                        self.set_fs_reg(rd, r as u32);
                        flags
                    }
                    Prec::D => {
                        let (a, b, c) = (self.fd(rs1), self.fd(rs2), self.fd(rs3));
                        let (a, c) = fma_signs(op, a, c, 1 << 63);
                        let (r, flags) = softfp::mul_add::<F64>(a, b, c, rnd, nx);
                        self.set_fd_reg(rd, r);
                        flags
                    }
                };
                self.accrue(flags);
            }
            Insn::Zfa {
                op,
                prec,
                rd,
                rs1,
                rs2,
                rm,
            } => self.exec_zfa(op, prec, rd, rs1, rs2, rm)?,
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
        let (a, b) = (self.fs(rs1) as u64, self.fs(rs2) as u64);
        // Operations that round need a valid rounding mode even if exact.
        let rnd = if rounds(op) { self.rm(rm)? } else { Rm::Rne };
        let (out, flags) = match op {
            FOp::CvtFF => {
                let (r, f) = softfp::f64_to_f32(self.fd(rs1), rnd);
                (Out::F(r), f)
            }
            FOp::CvtFromW => from_int::<F32>(self.r(rs1) as i32 as i128, rnd),
            FOp::CvtFromWu => from_int::<F32>(self.r(rs1) as u32 as i128, rnd),
            FOp::CvtFromL => from_int::<F32>(self.r(rs1) as i64 as i128, rnd),
            FOp::CvtFromLu => from_int::<F32>(self.r(rs1) as i128, rnd),
            FOp::MvToX => (
                Out::X(self.f[rs1 as usize & 31] as u32 as i32 as i64 as u64),
                0,
            ),
            FOp::MvFromX => (Out::F(self.r(rs1) & 0xffff_ffff), 0),
            _ => common::<F32>(op, a, b, rnd),
        };
        match out {
            Out::F(v) => self.set_fs_reg(rd, v as u32),
            Out::X(v) => self.w(rd, v),
        }
        self.accrue(flags);
        Ok(())
    }

    fn fp_d(&mut self, op: FOp, rd: Reg, rs1: Reg, rs2: Reg, rm: u8) -> Result<(), Trap> {
        let (a, b) = (self.fd(rs1), self.fd(rs2));
        // fcvt.d.s and fcvt.d.w[u] are exact but the rm field must still be
        // a valid encoding (QEMU checks it too).
        let rnd = if rounds(op) { self.rm(rm)? } else { Rm::Rne };
        let (out, flags) = match op {
            FOp::CvtFF => {
                let (r, f) = softfp::f32_to_f64(self.fs(rs1) as u64);
                (Out::F(r), f)
            }
            FOp::CvtFromW => from_int::<F64>(self.r(rs1) as i32 as i128, rnd),
            FOp::CvtFromWu => from_int::<F64>(self.r(rs1) as u32 as i128, rnd),
            FOp::CvtFromL => from_int::<F64>(self.r(rs1) as i64 as i128, rnd),
            FOp::CvtFromLu => from_int::<F64>(self.r(rs1) as i128, rnd),
            FOp::MvToX => (Out::X(a), 0),
            FOp::MvFromX => (Out::F(self.r(rs1)), 0),
            _ => common::<F64>(op, a, b, rnd),
        };
        match out {
            Out::F(v) => self.set_fd_reg(rd, v),
            Out::X(v) => self.w(rd, v),
        }
        self.accrue(flags);
        Ok(())
    }
}

/// Where an OP-FP result goes.
enum Out {
    /// An f register (a single is NaN-boxed by the caller).
    F(u64),
    /// An x register.
    X(u64),
}

/// Operations with an rm field that must name a valid rounding mode
/// (even those that are exact for every operand).
fn rounds(op: FOp) -> bool {
    matches!(
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
            | FOp::CvtFromL
            | FOp::CvtFromLu
            | FOp::CvtFromW
            | FOp::CvtFromWu
    )
}

fn from_int<F: softfp::Format>(v: i128, rnd: Rm) -> (Out, u64) {
    let (r, f) = softfp::from_int::<F>(v, rnd);
    (Out::F(r), f)
}

/// The negated fused forms: a sign flip of the product or addend is exact.
fn fma_signs(op: FmaOp, a: u64, c: u64, sign: u64) -> (u64, u64) {
    match op {
        FmaOp::Madd => (a, c),
        FmaOp::Msub => (a, c ^ sign),
        FmaOp::Nmsub => (a ^ sign, c),
        FmaOp::Nmadd => (a ^ sign, c ^ sign),
    }
}

/// The OP-FP operations that read only f registers, the same in S and D.
#[inline]
fn common<F: softfp::Format>(op: FOp, a: u64, b: u64, rnd: Rm) -> (Out, u64) {
    let f = |(r, flags): (u64, u64)| (Out::F(r), flags);
    let x = |(r, flags): (u64, u64)| (Out::X(r), flags);
    let sign = F::SIGN;
    match op {
        FOp::Add => f(softfp::binary::<F>(BinOp::Add, a, b, rnd)),
        FOp::Sub => f(softfp::binary::<F>(BinOp::Sub, a, b, rnd)),
        FOp::Mul => f(softfp::binary::<F>(BinOp::Mul, a, b, rnd)),
        FOp::Div => f(softfp::binary::<F>(BinOp::Div, a, b, rnd)),
        FOp::Sqrt => f(softfp::sqrt::<F>(a, rnd)),
        FOp::Sgnj => (Out::F((a & !sign) | (b & sign)), 0),
        FOp::Sgnjn => (Out::F((a & !sign) | (!b & sign)), 0),
        FOp::Sgnjx => (Out::F(a ^ (b & sign)), 0),
        FOp::Min => f(softfp::min_max::<F>(false, a, b)),
        FOp::Max => f(softfp::min_max::<F>(true, a, b)),
        FOp::Eq => x(softfp::compare::<F>(Compare::Eq, a, b)),
        FOp::Lt => x(softfp::compare::<F>(Compare::Lt, a, b)),
        FOp::Le => x(softfp::compare::<F>(Compare::Le, a, b)),
        FOp::Class => (Out::X(softfp::classify::<F>(a)), 0),
        FOp::CvtW => x(to_int::<F>(a, IntKind::I32, rnd)),
        FOp::CvtWu => x(to_int::<F>(a, IntKind::U32, rnd)),
        FOp::CvtL => x(to_int::<F>(a, IntKind::I64, rnd)),
        FOp::CvtLu => x(to_int::<F>(a, IntKind::U64, rnd)),
        // Conversions between formats and from x registers, and moves,
        // are handled by the callers.
        FOp::CvtFF
        | FOp::CvtFromW
        | FOp::CvtFromWu
        | FOp::CvtFromL
        | FOp::CvtFromLu
        | FOp::MvToX
        | FOp::MvFromX => unreachable!("handled by fp_s/fp_d"),
    }
}

/// Float -> integer; the W forms' 32-bit results are sign-extended.
fn to_int<F: softfp::Format>(a: u64, kind: IntKind, rnd: Rm) -> (u64, u64) {
    let (v, flags) = softfp::to_int::<F>(a, kind, rnd);
    match kind {
        IntKind::I32 | IntKind::U32 => (v as u32 as i32 as i64 as u64, flags),
        IntKind::I64 | IntKind::U64 => (v, flags),
    }
}
