//! Execution of integer, atomic and system instructions.

use super::block::Slot;
use super::csr::MSTATUS_TSR;
use super::csr::MSTATUS_TVM;
use super::csr::MSTATUS_TW;
use super::exec_bitmanip::bitop;
use super::insn::*;
use super::trap::{self, Trap};
use super::{Ctl, Hart, Priv};
use crate::bus::SystemBus;

#[inline(always)]
fn alu(op: AluOp, a: u64, b: u64) -> u64 {
    match op {
        AluOp::Add => a.wrapping_add(b),
        AluOp::Sub => a.wrapping_sub(b),
        AluOp::Sll => a << (b & 63),
        AluOp::Slt => ((a as i64) < (b as i64)) as u64,
        AluOp::Sltu => (a < b) as u64,
        AluOp::Xor => a ^ b,
        AluOp::Srl => a >> (b & 63),
        AluOp::Sra => ((a as i64) >> (b & 63)) as u64,
        AluOp::Or => a | b,
        AluOp::And => a & b,
        AluOp::Mul => a.wrapping_mul(b),
        AluOp::Mulh => ((a as i64 as i128 * b as i64 as i128) >> 64) as u64,
        AluOp::Mulhsu => ((a as i64 as i128).wrapping_mul(b as u128 as i128) >> 64) as u64,
        AluOp::Mulhu => ((a as u128 * b as u128) >> 64) as u64,
        AluOp::Div => {
            if b == 0 {
                u64::MAX
            } else {
                (a as i64).wrapping_div(b as i64) as u64
            }
        }
        AluOp::Divu => a.checked_div(b).unwrap_or(u64::MAX),
        AluOp::Rem => {
            if b == 0 {
                a
            } else {
                (a as i64).wrapping_rem(b as i64) as u64
            }
        }
        AluOp::Remu => {
            if b == 0 {
                a
            } else {
                a % b
            }
        }
    }
}

#[inline(always)]
fn alu_w(op: AluWOp, a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32, b as u32);
    let r: u32 = match op {
        AluWOp::Add => a.wrapping_add(b),
        AluWOp::Sub => a.wrapping_sub(b),
        AluWOp::Sll => a << (b & 31),
        AluWOp::Srl => a >> (b & 31),
        AluWOp::Sra => ((a as i32) >> (b & 31)) as u32,
        AluWOp::Mul => a.wrapping_mul(b),
        AluWOp::Div => {
            if b == 0 {
                u32::MAX
            } else {
                (a as i32).wrapping_div(b as i32) as u32
            }
        }
        AluWOp::Divu => a.checked_div(b).unwrap_or(u32::MAX),
        AluWOp::Rem => {
            if b == 0 {
                a
            } else {
                (a as i32).wrapping_rem(b as i32) as u32
            }
        }
        AluWOp::Remu => {
            if b == 0 {
                a
            } else {
                a % b
            }
        }
    };
    r as i32 as i64 as u64
}

/// What an executed instruction asks of the block loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Go on with the next instruction of the block (or, after the last,
    /// with the instruction that follows it).
    Next,
    /// Control moved to this pc (jumps, taken branches): leave the block,
    /// stay in the page loop.
    Jump(u64),
    /// Leave the block and the page loop, going on at this pc: MMIO, a
    /// store to decoded code, CSR and system instructions (interrupts,
    /// translation or code may have changed).
    End(u64),
}

#[inline(always)]
fn amo_op(op: AmoOp, dw: bool, old: u64, src: u64) -> u64 {
    // Word AMOs compare the sign-extended 32-bit values.
    let (o, s) = if dw {
        (old, src)
    } else {
        (old as i32 as i64 as u64, src as i32 as i64 as u64)
    };
    match op {
        AmoOp::Swap => src,
        AmoOp::Add => o.wrapping_add(s),
        AmoOp::Xor => o ^ s,
        AmoOp::And => o & s,
        AmoOp::Or => o | s,
        AmoOp::Min => (o as i64).min(s as i64) as u64,
        AmoOp::Max => (o as i64).max(s as i64) as u64,
        AmoOp::Minu => o.min(s),
        AmoOp::Maxu => o.max(s),
    }
}

impl Hart {
    #[inline(always)]
    pub(crate) fn r(&self, i: Reg) -> u64 {
        self.x[i as usize]
    }
    /// Writes x[i]; x0 is re-zeroed instead of branching on i.
    #[inline(always)]
    pub(crate) fn w(&mut self, i: Reg, v: u64) {
        self.x[i as usize] = v;
        self.x[0] = 0;
    }
    /// Writes x[i] for an ALU instruction, whose rd is never x0: those
    /// decode to `Insn::Nop` (see `Insn::for_exec`).
    #[inline(always)]
    fn wa(&mut self, i: Reg, v: u64) {
        debug_assert_ne!(i, 0, "ALU insn with rd = x0 reached exec");
        self.x[i as usize] = v;
    }

    /// Flow of a conditional branch: a taken one leaves its block (forward
    /// or backward), a not-taken one goes on with the next slot.
    #[inline(always)]
    fn branch(taken: bool, pc: u64, imm: i32) -> Flow {
        if taken {
            Flow::Jump(pc.wrapping_add(imm as i64 as u64))
        } else {
            Flow::Next
        }
    }

    /// Executes the instruction in slot `s` of the block that starts at
    /// `block_pc` and whose first instruction retires as number `base`.
    /// On an exception nothing architectural has changed and the caller
    /// raises the trap.
    ///
    /// The instruction's pc, next pc and icount are derived from the slot
    /// only in the arms that need them (closures, inlined), so the hot ALU
    /// arms do no bookkeeping. The run loop keeps `self.icount` stale within
    /// a block; the arms that can observe it (MMIO, CSRs, memory slow
    /// paths) set it first.
    #[inline(always)]
    pub(crate) fn exec<B: SystemBus>(
        &mut self,
        bus: &mut B,
        s: &Slot,
        block_pc: u64,
        base: u64,
    ) -> Result<Flow, Trap> {
        let pc = || block_pc.wrapping_add(s.off as u64);
        let next = || block_pc.wrapping_add(s.off as u64 + s.len as u64);
        let icount = || base + s.idx as u64;
        // Integer loads and stores: the TLB fast path cannot see MMIO or
        // fault; only the slow path needs the exact icount and may end the
        // page loop.
        macro_rules! load {
            ($rd:expr, $rs1:expr, $imm:expr, $size:expr, $ext:expr) => {{
                let va = self.r($rs1).wrapping_add($imm as i64 as u64);
                match self.load_fast(bus, va, $size) {
                    Some(v) => self.w($rd, $ext(v)),
                    None => {
                        self.icount = icount();
                        let v = self.load_slow(bus, va, $size)?;
                        self.w($rd, $ext(v));
                        if self.did_mmio {
                            return Ok(Flow::End(next()));
                        }
                    }
                }
            }};
        }
        macro_rules! store {
            ($rs1:expr, $rs2:expr, $imm:expr, $size:expr) => {{
                let va = self.r($rs1).wrapping_add($imm as i64 as u64);
                let v = self.r($rs2);
                if !self.store_fast(bus, va, $size, v) {
                    self.icount = icount();
                    if self.store_slow(bus, va, $size, v)? {
                        return Ok(Flow::End(next()));
                    }
                }
            }};
        }
        match s.insn {
            Insn::Add { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Add, self.r(rs1), self.r(rs2))),
            Insn::Sub { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Sub, self.r(rs1), self.r(rs2))),
            Insn::Sll { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Sll, self.r(rs1), self.r(rs2))),
            Insn::Slt { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Slt, self.r(rs1), self.r(rs2))),
            Insn::Sltu { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Sltu, self.r(rs1), self.r(rs2))),
            Insn::Xor { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Xor, self.r(rs1), self.r(rs2))),
            Insn::Srl { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Srl, self.r(rs1), self.r(rs2))),
            Insn::Sra { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Sra, self.r(rs1), self.r(rs2))),
            Insn::Or { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Or, self.r(rs1), self.r(rs2))),
            Insn::And { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::And, self.r(rs1), self.r(rs2))),
            Insn::Mul { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Mul, self.r(rs1), self.r(rs2))),
            Insn::Mulh { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Mulh, self.r(rs1), self.r(rs2))),
            Insn::Mulhsu { rd, rs1, rs2 } => {
                self.wa(rd, alu(AluOp::Mulhsu, self.r(rs1), self.r(rs2)))
            }
            Insn::Mulhu { rd, rs1, rs2 } => {
                self.wa(rd, alu(AluOp::Mulhu, self.r(rs1), self.r(rs2)))
            }
            Insn::Div { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Div, self.r(rs1), self.r(rs2))),
            Insn::Divu { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Divu, self.r(rs1), self.r(rs2))),
            Insn::Rem { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Rem, self.r(rs1), self.r(rs2))),
            Insn::Remu { rd, rs1, rs2 } => self.wa(rd, alu(AluOp::Remu, self.r(rs1), self.r(rs2))),
            Insn::Addi { rd, rs1, imm } => {
                self.wa(rd, alu(AluOp::Add, self.r(rs1), imm as i64 as u64))
            }
            Insn::Slti { rd, rs1, imm } => {
                self.wa(rd, alu(AluOp::Slt, self.r(rs1), imm as i64 as u64))
            }
            Insn::Sltiu { rd, rs1, imm } => {
                self.wa(rd, alu(AluOp::Sltu, self.r(rs1), imm as i64 as u64))
            }
            Insn::Xori { rd, rs1, imm } => {
                self.wa(rd, alu(AluOp::Xor, self.r(rs1), imm as i64 as u64))
            }
            Insn::Ori { rd, rs1, imm } => {
                self.wa(rd, alu(AluOp::Or, self.r(rs1), imm as i64 as u64))
            }
            Insn::Andi { rd, rs1, imm } => {
                self.wa(rd, alu(AluOp::And, self.r(rs1), imm as i64 as u64))
            }
            Insn::Slli { rd, rs1, imm } => {
                self.wa(rd, alu(AluOp::Sll, self.r(rs1), imm as i64 as u64))
            }
            Insn::Srli { rd, rs1, imm } => {
                self.wa(rd, alu(AluOp::Srl, self.r(rs1), imm as i64 as u64))
            }
            Insn::Srai { rd, rs1, imm } => {
                self.wa(rd, alu(AluOp::Sra, self.r(rs1), imm as i64 as u64))
            }
            Insn::Addw { rd, rs1, rs2 } => {
                self.wa(rd, alu_w(AluWOp::Add, self.r(rs1), self.r(rs2)))
            }
            Insn::Subw { rd, rs1, rs2 } => {
                self.wa(rd, alu_w(AluWOp::Sub, self.r(rs1), self.r(rs2)))
            }
            Insn::Sllw { rd, rs1, rs2 } => {
                self.wa(rd, alu_w(AluWOp::Sll, self.r(rs1), self.r(rs2)))
            }
            Insn::Srlw { rd, rs1, rs2 } => {
                self.wa(rd, alu_w(AluWOp::Srl, self.r(rs1), self.r(rs2)))
            }
            Insn::Sraw { rd, rs1, rs2 } => {
                self.wa(rd, alu_w(AluWOp::Sra, self.r(rs1), self.r(rs2)))
            }
            Insn::Mulw { rd, rs1, rs2 } => {
                self.wa(rd, alu_w(AluWOp::Mul, self.r(rs1), self.r(rs2)))
            }
            Insn::Divw { rd, rs1, rs2 } => {
                self.wa(rd, alu_w(AluWOp::Div, self.r(rs1), self.r(rs2)))
            }
            Insn::Divuw { rd, rs1, rs2 } => {
                self.wa(rd, alu_w(AluWOp::Divu, self.r(rs1), self.r(rs2)))
            }
            Insn::Remw { rd, rs1, rs2 } => {
                self.wa(rd, alu_w(AluWOp::Rem, self.r(rs1), self.r(rs2)))
            }
            Insn::Remuw { rd, rs1, rs2 } => {
                self.wa(rd, alu_w(AluWOp::Remu, self.r(rs1), self.r(rs2)))
            }
            Insn::Addiw { rd, rs1, imm } => {
                self.wa(rd, alu_w(AluWOp::Add, self.r(rs1), imm as i64 as u64))
            }
            Insn::Slliw { rd, rs1, imm } => {
                self.wa(rd, alu_w(AluWOp::Sll, self.r(rs1), imm as i64 as u64))
            }
            Insn::Srliw { rd, rs1, imm } => {
                self.wa(rd, alu_w(AluWOp::Srl, self.r(rs1), imm as i64 as u64))
            }
            Insn::Sraiw { rd, rs1, imm } => {
                self.wa(rd, alu_w(AluWOp::Sra, self.r(rs1), imm as i64 as u64))
            }
            Insn::Beq { rs1, rs2, imm } => {
                return Ok(Self::branch(self.r(rs1) == self.r(rs2), pc(), imm))
            }
            Insn::Bne { rs1, rs2, imm } => {
                return Ok(Self::branch(self.r(rs1) != self.r(rs2), pc(), imm))
            }
            Insn::Blt { rs1, rs2, imm } => {
                return Ok(Self::branch(
                    (self.r(rs1) as i64) < (self.r(rs2) as i64),
                    pc(),
                    imm,
                ))
            }
            Insn::Bge { rs1, rs2, imm } => {
                return Ok(Self::branch(
                    (self.r(rs1) as i64) >= (self.r(rs2) as i64),
                    pc(),
                    imm,
                ))
            }
            Insn::Bltu { rs1, rs2, imm } => {
                return Ok(Self::branch(self.r(rs1) < self.r(rs2), pc(), imm))
            }
            Insn::Bgeu { rs1, rs2, imm } => {
                return Ok(Self::branch(self.r(rs1) >= self.r(rs2), pc(), imm))
            }
            Insn::Lb { rd, rs1, imm } => load!(rd, rs1, imm, 1, |v: u64| v as i8 as i64 as u64),
            Insn::Lh { rd, rs1, imm } => load!(rd, rs1, imm, 2, |v: u64| v as i16 as i64 as u64),
            Insn::Lw { rd, rs1, imm } => load!(rd, rs1, imm, 4, |v: u64| v as i32 as i64 as u64),
            Insn::Ld { rd, rs1, imm } => load!(rd, rs1, imm, 8, |v: u64| v),
            Insn::Lbu { rd, rs1, imm } => load!(rd, rs1, imm, 1, |v: u64| v),
            Insn::Lhu { rd, rs1, imm } => load!(rd, rs1, imm, 2, |v: u64| v),
            Insn::Lwu { rd, rs1, imm } => load!(rd, rs1, imm, 4, |v: u64| v),
            Insn::Sb { rs1, rs2, imm } => store!(rs1, rs2, imm, 1),
            Insn::Sh { rs1, rs2, imm } => store!(rs1, rs2, imm, 2),
            Insn::Sw { rs1, rs2, imm } => store!(rs1, rs2, imm, 4),
            Insn::Sd { rs1, rs2, imm } => store!(rs1, rs2, imm, 8),
            Insn::Lui { rd, imm } => self.wa(rd, imm as i64 as u64),
            Insn::Auipc { rd, imm } => self.wa(rd, pc().wrapping_add(imm as i64 as u64)),
            Insn::Jal { rd, imm } => {
                self.w(rd, next());
                return Ok(Flow::Jump(pc().wrapping_add(imm as i64 as u64)));
            }
            Insn::Jalr { rd, rs1, imm } => {
                let target = self.r(rs1).wrapping_add(imm as i64 as u64) & !1;
                self.w(rd, next());
                return Ok(Flow::Jump(target));
            }
            Insn::Bit { op, rd, rs1, rs2 } => self.wa(rd, bitop(op, self.r(rs1), self.r(rs2))),
            Insn::BitI { op, rd, rs1, imm } => self.wa(rd, bitop(op, self.r(rs1), imm as u64)),
            Insn::Cbo { op, rs1 } => {
                self.icount = icount();
                if self.exec_cbo(bus, op, self.r(rs1))? {
                    return Ok(Flow::End(next()));
                }
            }
            Insn::Wrs { sto } => {
                // As QEMU: no wait (the stall may end at once); wrs.nto
                // traps below M when mstatus.TW is set (from QEMU's
                // helper, so with tval 0), even in U where wfi always traps.
                if !sto && self.prv != Priv::M && self.csr.mstatus & MSTATUS_TW != 0 {
                    return Err(Trap::illegal_tval0());
                }
                self.reservation = None;
                return Ok(Flow::End(next()));
            }
            Insn::Fence | Insn::Nop => {}
            // Stores already drop decoded pages they hit; ending the block
            // is all fence.i needs to do.
            Insn::FenceI => return Ok(Flow::End(next())),
            Insn::Illegal => return Err(Trap::illegal()),
            Insn::Ecall => {
                let cause = match self.prv {
                    Priv::U => trap::ECALL_U,
                    Priv::S => trap::ECALL_S,
                    Priv::M => trap::ECALL_M,
                };
                return Err(Trap::new(cause, 0));
            }
            Insn::Ebreak => return Err(Trap::new(trap::BREAKPOINT, pc())),
            Insn::Mret => {
                if self.prv != Priv::M {
                    return Err(Trap::illegal());
                }
                self.do_mret();
                return Ok(Flow::End(self.pc));
            }
            Insn::Sret => {
                if self.prv == Priv::U
                    || (self.prv == Priv::S && self.csr.mstatus & MSTATUS_TSR != 0)
                {
                    return Err(Trap::illegal());
                }
                self.do_sret();
                return Ok(Flow::End(self.pc));
            }
            Insn::Wfi => {
                if self.prv == Priv::U
                    || (self.prv == Priv::S && self.csr.mstatus & MSTATUS_TW != 0)
                {
                    return Err(Trap::illegal());
                }
                if self.mip(bus.irq_lines()) & self.csr.mie == 0 {
                    self.wfi = true;
                }
                return Ok(Flow::End(next()));
            }
            Insn::SfenceVma { rs1, rs2 } => {
                if self.prv == Priv::U
                    || (self.prv == Priv::S && self.csr.mstatus & MSTATUS_TVM != 0)
                {
                    return Err(Trap::illegal());
                }
                self.sfence_vma((rs1 != 0).then(|| self.r(rs1)), rs2 != 0);
                return Ok(Flow::End(next()));
            }
            Insn::Csr { op, rd, rs1, csr } => {
                self.icount = icount();
                let src = self.r(rs1);
                self.exec_csr(bus, op, rd, src, rs1 != 0, csr)?;
                return Ok(Flow::End(next()));
            }
            Insn::CsrI { op, rd, uimm, csr } => {
                self.icount = icount();
                self.exec_csr(bus, op, rd, uimm as u64, uimm != 0, csr)?;
                return Ok(Flow::End(next()));
            }
            Insn::Lr { rd, rs1, dw } => {
                self.icount = icount();
                let va = self.r(rs1);
                let v = if dw {
                    self.lr_load(bus, va, 8)?
                } else {
                    self.lr_load(bus, va, 4)? as i32 as i64 as u64
                };
                self.reservation = Some((va, v));
                self.w(rd, v);
                if self.did_mmio {
                    return Ok(Flow::End(next()));
                }
            }
            Insn::Sc { rd, rs1, rs2, dw } => {
                self.icount = icount();
                let va = self.r(rs1);
                let size = if dw { 8 } else { 4 };
                // As QEMU: a mismatched reservation fails without accessing
                // memory (a matching one is aligned: LR checked it); a
                // matching one is a compare-and-swap against the value LR
                // read, so a store of another value in between fails it.
                match self.reservation.take() {
                    Some((addr, loaded)) if addr == va => {
                        let new = self.r(rs2);
                        // QEMU's cmpxchg: it stores when the accessed bytes
                        // equal LR's value cut to their width, and reports
                        // success only when the sign-extended old value is
                        // LR's whole value (an SC.W after an LR.D may store
                        // and still report failure).
                        let width = if dw { u64::MAX } else { 0xffff_ffff };
                        let (old, brk) =
                            self.amo(
                                bus,
                                va,
                                size,
                                |old| {
                                    if old == loaded & width {
                                        new
                                    } else {
                                        old
                                    }
                                },
                            )?;
                        let old = if dw {
                            old
                        } else {
                            old as u32 as i32 as i64 as u64
                        };
                        self.w(rd, (old != loaded) as u64);
                        if brk {
                            return Ok(Flow::End(next()));
                        }
                    }
                    _ => self.w(rd, 1),
                }
            }
            Insn::Amo {
                op,
                rd,
                rs1,
                rs2,
                dw,
            } => {
                self.icount = icount();
                let va = self.r(rs1);
                let src = self.r(rs2);
                let size = if dw { 8 } else { 4 };
                let (old, brk) = self.amo(bus, va, size, |old| amo_op(op, dw, old, src))?;
                let v = if dw { old } else { old as i32 as i64 as u64 };
                self.w(rd, v);
                if brk {
                    return Ok(Flow::End(next()));
                }
            }
            Insn::FLoad { .. }
            | Insn::FStore { .. }
            | Insn::Fma { .. }
            | Insn::Fp { .. }
            | Insn::Zfa { .. } => {
                self.icount = icount();
                return match self.exec_fp(bus, s.insn)? {
                    Ctl::Next => Ok(Flow::Next),
                    Ctl::End => Ok(Flow::End(next())),
                };
            }
        }
        Ok(Flow::Next)
    }

    /// CSRRW/RS/RC[I]. `write` says whether the instruction writes (rs1/uimm
    /// not x0/0 for set/clear; always for RW); the read is skipped for RW to x0.
    fn exec_csr<B: SystemBus>(
        &mut self,
        bus: &mut B,
        op: CsrOp,
        rd: Reg,
        src: u64,
        nonzero: bool,
        csr: u16,
    ) -> Result<(), Trap> {
        let (old, new) = match op {
            CsrOp::Rw => {
                let old = if rd != 0 {
                    self.csr_read(bus, csr)?
                } else {
                    self.csr_read(bus, csr).unwrap_or(0)
                };
                (old, Some(src))
            }
            CsrOp::Rs => {
                let old = self.csr_read(bus, csr)?;
                (old, nonzero.then(|| self.csr_rmw_base(csr, old) | src))
            }
            CsrOp::Rc => {
                let old = self.csr_read(bus, csr)?;
                (old, nonzero.then(|| self.csr_rmw_base(csr, old) & !src))
            }
        };
        if let Some(v) = new {
            self.csr_write(bus, csr, v)?;
        }
        self.w(rd, old);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_corner_cases() {
        assert_eq!(alu(AluOp::Div, 5, 0), u64::MAX);
        assert_eq!(alu(AluOp::Rem, 5, 0), 5);
        assert_eq!(alu(AluOp::Div, i64::MIN as u64, u64::MAX), i64::MIN as u64);
        assert_eq!(alu(AluOp::Rem, i64::MIN as u64, u64::MAX), 0);
        assert_eq!(
            alu_w(AluWOp::Div, 0x8000_0000, 0xffff_ffff),
            0xffff_ffff_8000_0000
        );
        assert_eq!(alu_w(AluWOp::Divu, 7, 0), u64::MAX);
        assert_eq!(alu_w(AluWOp::Remu, 7, 0), 7);
    }

    #[test]
    fn mul_high_forms() {
        assert_eq!(alu(AluOp::Mulh, u64::MAX, u64::MAX), 0); // -1 * -1 = 1
        assert_eq!(alu(AluOp::Mulhu, u64::MAX, u64::MAX), u64::MAX - 1);
        assert_eq!(alu(AluOp::Mulhsu, u64::MAX, u64::MAX), u64::MAX); // -1 * (2^64-1)
    }

    #[test]
    fn amo_word_compares_signed_32bit() {
        assert_eq!(
            amo_op(AmoOp::Min, false, 0xffff_ffff, 1) as u32,
            0xffff_ffff
        );
        assert_eq!(
            amo_op(AmoOp::Maxu, false, 0xffff_ffff, 1) as u32,
            0xffff_ffff
        );
        assert_eq!(
            amo_op(AmoOp::Add, false, 0x7fff_ffff, 1) as u32,
            0x8000_0000
        );
    }
}
