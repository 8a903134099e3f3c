//! Trap entry (exceptions and interrupts), apart from instruction execution.

use super::csr::*;
use super::{Hart, Priv};
use crate::bus::irq;

// Exception causes.
pub const INSN_MISALIGNED: u64 = 0;
pub const INSN_ACCESS: u64 = 1;
pub const ILLEGAL_INSN: u64 = 2;
pub const BREAKPOINT: u64 = 3;
pub const LOAD_MISALIGNED: u64 = 4;
pub const LOAD_ACCESS: u64 = 5;
pub const STORE_MISALIGNED: u64 = 6;
pub const STORE_ACCESS: u64 = 7;
pub const ECALL_U: u64 = 8;
pub const ECALL_S: u64 = 9;
pub const ECALL_M: u64 = 11;
pub const INSN_PAGE_FAULT: u64 = 12;
pub const LOAD_PAGE_FAULT: u64 = 13;
pub const STORE_PAGE_FAULT: u64 = 15;
/// Not a RISC-V cause: a debugger watchpoint stops the hart before the
/// access (see `cpu::debug`); never reaches the guest.
pub const DEBUG_STOP: u64 = u64::MAX;

// Interrupt causes.
pub const IRQ_S_SOFT: u64 = 1;
pub const IRQ_M_SOFT: u64 = 3;
pub const IRQ_S_TIMER: u64 = 5;
pub const IRQ_M_TIMER: u64 = 7;
pub const IRQ_S_EXT: u64 = 9;
pub const IRQ_M_EXT: u64 = 11;

/// The tval of [`Trap::illegal`]: the run loop replaces it with the
/// instruction bits.
pub const TVAL_INSN_BITS: u64 = u64::MAX;

/// A synchronous exception raised while executing an instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trap {
    pub cause: u64,
    pub tval: u64,
}

impl Trap {
    #[inline(always)]
    pub fn new(cause: u64, tval: u64) -> Trap {
        Trap { cause, tval }
    }
    /// Illegal instruction; the run loop fills in the instruction bits as tval.
    #[inline(always)]
    pub fn illegal() -> Trap {
        Trap {
            cause: ILLEGAL_INSN,
            tval: TVAL_INSN_BITS,
        }
    }
    /// Illegal instruction with tval 0: what QEMU reports when a run-time
    /// helper, not the decoder, refuses an instruction without saving its
    /// bits first (the cbo enables in menvcfg/senvcfg, wrs.nto under TW).
    #[inline(always)]
    pub fn illegal_tval0() -> Trap {
        Trap {
            cause: ILLEGAL_INSN,
            tval: 0,
        }
    }
}

/// Interrupt priority order (highest first), as the privileged and AIA
/// specs say. The VS bits (10, 2, 6) and LCOFI (13) have no source here,
/// but software can set them in mip as on QEMU 10.0.2 (even without H).
const PRIORITY: [u64; 10] = [
    IRQ_M_EXT,
    IRQ_M_SOFT,
    IRQ_M_TIMER,
    IRQ_S_EXT,
    IRQ_S_SOFT,
    IRQ_S_TIMER,
    10,
    2,
    6,
    13,
];

impl Hart {
    /// The effective `mip`: software-writable bits OR the board's lines.
    #[inline(always)]
    pub(crate) fn mip(&self, lines: u64) -> u64 {
        self.csr.mip_sw
            | (lines & (irq::MSIP | irq::MTIP | irq::MEIP | irq::SEIP | irq::STIP | irq::SSIP))
    }

    /// The highest-priority interrupt that is pending, enabled and not
    /// masked by the current privilege, if any.
    #[inline]
    pub(crate) fn pending_interrupt(&self, lines: u64) -> Option<u64> {
        let pending = self.mip(lines) & self.csr.mie;
        if pending == 0 {
            return None;
        }
        let mstatus = self.csr.mstatus;
        let m_enabled = self.prv < Priv::M || mstatus & MSTATUS_MIE != 0;
        let s_enabled = self.prv < Priv::S || (self.prv == Priv::S && mstatus & MSTATUS_SIE != 0);
        let m_pending = if m_enabled {
            pending & !self.csr.mideleg
        } else {
            0
        };
        let s_pending = if s_enabled {
            pending & self.csr.mideleg
        } else {
            0
        };
        // Interrupts for M always outrank those for S.
        let chosen = if m_pending != 0 { m_pending } else { s_pending };
        PRIORITY.iter().copied().find(|&c| chosen & (1 << c) != 0)
    }

    /// Enters the trap handler for `cause`; pc must be the faulting
    /// instruction (exception) or the next one to run (interrupt).
    pub(crate) fn take_trap(&mut self, cause: u64, interrupt: bool, tval: u64) {
        let deleg = if interrupt {
            self.csr.mideleg
        } else {
            self.csr.medeleg
        };
        let epc = self.pc;
        let mcause = cause | if interrupt { 1 << 63 } else { 0 };
        let st = self.csr.mstatus;
        if self.prv <= Priv::S && (deleg >> cause) & 1 != 0 {
            self.csr.scause = mcause;
            self.csr.sepc = epc;
            self.csr.stval = tval;
            let sie = (st >> 1) & 1;
            let mut ns = st & !(MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SIE);
            ns |= sie << 5;
            ns |= (self.prv as u64 & 1) << 8;
            self.csr.mstatus = ns;
            self.prv = Priv::S;
            self.pc = vector(self.csr.stvec, cause, interrupt);
        } else {
            self.csr.mcause = mcause;
            self.csr.mepc = epc;
            self.csr.mtval = tval;
            let mie = (st >> 3) & 1;
            let mut ns = st & !(MSTATUS_MPIE | MSTATUS_MPP | MSTATUS_MIE);
            ns |= mie << 7;
            ns |= (self.prv as u64) << MSTATUS_MPP_SHIFT;
            self.csr.mstatus = ns;
            self.prv = Priv::M;
            self.pc = vector(self.csr.mtvec, cause, interrupt);
        }
        // QEMU drops the LR reservation at every trap and xRET.
        self.reservation = None;
        self.update_dprv();
    }

    /// `mret`: back to MPP.
    pub(crate) fn do_mret(&mut self) {
        let st = self.csr.mstatus;
        let mpp = Priv::from_bits(st >> MSTATUS_MPP_SHIFT).unwrap_or(Priv::U);
        let mpie = (st >> 7) & 1;
        let mut ns = st & !(MSTATUS_MIE | MSTATUS_MPP);
        ns |= mpie << 3;
        ns |= MSTATUS_MPIE;
        if mpp != Priv::M {
            ns &= !MSTATUS_MPRV;
        }
        self.csr.mstatus = ns;
        self.prv = mpp;
        self.pc = self.csr.mepc & !1;
        self.reservation = None;
        self.update_dprv();
    }

    /// `sret`: back to SPP.
    pub(crate) fn do_sret(&mut self) {
        let st = self.csr.mstatus;
        let spp = if st & MSTATUS_SPP != 0 {
            Priv::S
        } else {
            Priv::U
        };
        let spie = (st >> 5) & 1;
        let mut ns = st & !(MSTATUS_SIE | MSTATUS_SPP | MSTATUS_MPRV);
        ns |= spie << 1;
        ns |= MSTATUS_SPIE;
        self.csr.mstatus = ns;
        self.prv = spp;
        self.pc = self.csr.sepc & !1;
        self.reservation = None;
        self.update_dprv();
    }
}

/// Handler address: the base, plus 4*cause for interrupts in vectored mode.
#[inline]
fn vector(tvec: u64, cause: u64, interrupt: bool) -> u64 {
    let base = tvec & !3;
    if interrupt && tvec & 3 == 1 {
        base.wrapping_add(4 * cause)
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::{Hart, HartConfig};

    fn hart() -> Hart {
        let mut h = Hart::new(HartConfig::default());
        h.csr.mtvec = 0x1000;
        h.csr.stvec = 0x2001; // vectored
        h
    }

    #[test]
    fn exception_from_u_delegated_goes_to_s() {
        let mut h = hart();
        h.csr.medeleg = 1 << ECALL_U;
        h.prv = Priv::U;
        h.pc = 0x8000_0000;
        h.take_trap(ECALL_U, false, 0);
        assert_eq!(h.prv, Priv::S);
        assert_eq!(h.pc, 0x2000, "exceptions ignore vectored mode");
        assert_eq!(h.csr.scause, ECALL_U);
        assert_eq!(h.csr.sepc, 0x8000_0000);
        assert_eq!(h.csr.mstatus & MSTATUS_SPP, 0, "came from U");
    }

    #[test]
    fn exception_from_m_never_delegated() {
        let mut h = hart();
        h.csr.medeleg = 1 << ILLEGAL_INSN;
        h.pc = 0x100;
        h.take_trap(ILLEGAL_INSN, false, 0x1234);
        assert_eq!(h.prv, Priv::M);
        assert_eq!(h.pc, 0x1000);
        assert_eq!(h.csr.mtval, 0x1234);
        assert_eq!(h.csr.mstatus & MSTATUS_MPP, 3 << MSTATUS_MPP_SHIFT);
    }

    #[test]
    fn delegated_interrupt_is_vectored_in_s() {
        let mut h = hart();
        h.csr.mideleg = 1 << IRQ_S_TIMER;
        h.csr.mie = 1 << IRQ_S_TIMER;
        h.csr.mip_sw = 1 << IRQ_S_TIMER;
        h.prv = Priv::U;
        let c = h.pending_interrupt(0).unwrap();
        assert_eq!(c, IRQ_S_TIMER);
        h.take_trap(c, true, 0);
        assert_eq!(h.pc, 0x2000 + 4 * IRQ_S_TIMER);
        assert_eq!(h.csr.scause, (1 << 63) | IRQ_S_TIMER);
    }

    #[test]
    fn m_interrupt_masked_by_mie_in_m_but_not_in_s() {
        let mut h = hart();
        h.csr.mie = irq::MTIP;
        assert_eq!(h.pending_interrupt(irq::MTIP), None, "M with MIE=0");
        h.prv = Priv::S;
        assert_eq!(
            h.pending_interrupt(irq::MTIP),
            Some(IRQ_M_TIMER),
            "lower privilege always takes M interrupts"
        );
    }

    #[test]
    fn priority_external_before_timer() {
        let mut h = hart();
        h.prv = Priv::U;
        h.csr.mie = irq::MTIP | irq::MEIP | irq::MSIP;
        assert_eq!(
            h.pending_interrupt(irq::MTIP | irq::MEIP | irq::MSIP),
            Some(IRQ_M_EXT)
        );
        assert_eq!(h.pending_interrupt(irq::MTIP | irq::MSIP), Some(IRQ_M_SOFT));
    }

    #[test]
    fn mret_restores_and_clears_mprv() {
        let mut h = hart();
        h.csr.mstatus = MSTATUS_MPRV | MSTATUS_MPIE | (1 << MSTATUS_MPP_SHIFT);
        h.csr.mepc = 0x4000;
        h.do_mret();
        assert_eq!(h.prv, Priv::S);
        assert_eq!(h.pc, 0x4000);
        assert_ne!(h.csr.mstatus & MSTATUS_MIE, 0);
        assert_eq!(h.csr.mstatus & MSTATUS_MPRV, 0);
        assert_eq!(h.csr.mstatus & MSTATUS_MPP, 0);
    }
}
