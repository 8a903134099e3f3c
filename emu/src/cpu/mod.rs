//! The RISC-V hart: decoder, executor, CSRs, traps, MMU, floating point.
//!
//! Implemented ISA: RV64IMAFDC with Zicsr, Zifencei and Zicntr, plus the
//! optional extensions of QEMU 10's default CPU that `IsaExtensions` names
//! (Zba/Zbb/Zbc/Zbs, Zicond, Zicbom/Zicboz, Zihintntl/Zihintpause, Zawrs,
//! Zfa, Zihpm, Sstc, Svadu, ...; `cpu::model` turns QEMU's
//! `-cpu` spelling into a [`HartConfig`]); M, S and U privilege (privileged
//! spec 1.13 as QEMU 10.0.2 implements it: its CSR set and WARL masks,
//! checked by fixtures/priv); Sv39, Sv48 and Sv57; 16 PMP entries. Not
//! implemented: H, V, Svpbmt, Svnapot, Sscofpmf, debug triggers (Sdtrig).
//!
//! # Instruction counting
//!
//! `icount` counts retired instructions. An instruction retires when it
//! completes without raising an exception: a load that page-faults, an
//! illegal instruction, `ecall` and `ebreak` do not retire (they only trap).
//! `wfi`, `mret`/`sret`, CSR accesses and fences retire normally. Taking an
//! interrupt retires nothing. `mcycle`, `minstret`, `cycle` and `instret`
//! all read `icount` (plus whatever the guest wrote), as QEMU with `-icount`.
//! [`Hart::run`] stops after exactly `budget` retirements when it returns
//! [`Exit::BudgetExhausted`].

pub mod block;
pub mod csr;
pub mod debug;
pub mod decode;
mod decode_bitmanip;
pub mod disasm;
mod exec;
mod exec_bitmanip;
mod exec_cbo;
mod exec_fp;
mod exec_zfa;
pub mod ext;
pub mod insn;
mod jit;
mod mem;
pub mod mmu;
pub mod model;
pub mod pmp;
pub mod softfp;
pub mod state;
pub mod trap;

use crate::bus::{SystemBus, PAGE_SIZE};
use block::{CodeCache, Fetched, Slot};
use csr::Csrs;
use exec::Flow;
pub use ext::{IsaExtensions, MmuType};
use mmu::tlb::{DataSet, Tlb};
use pmp::Pmp;
pub use state::HartState;
use trap::Trap;

/// Privilege level (encoding as in `mstatus.MPP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priv {
    U = 0,
    S = 1,
    M = 3,
}

impl Priv {
    /// Decodes an MPP/SPP field value; the reserved value 2 reads as `None`.
    pub fn from_bits(v: u64) -> Option<Priv> {
        match v & 3 {
            0 => Some(Priv::U),
            1 => Some(Priv::S),
            3 => Some(Priv::M),
            _ => None,
        }
    }
}

/// What the board configures per hart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HartConfig {
    pub hartid: u64,
    /// F extension (single precision).
    pub ext_f: bool,
    /// D extension (double precision; requires `ext_f`).
    pub ext_d: bool,
    /// The largest paging mode satp accepts.
    pub mmu: MmuType,
    /// Number of PMP entries (0..=16).
    pub pmp_entries: u8,
    /// Optional extensions beyond rv64imafdc.
    pub ext: IsaExtensions,
}

impl Default for HartConfig {
    fn default() -> Self {
        HartConfig {
            hartid: 0,
            ext_f: true,
            ext_d: true,
            mmu: MmuType::Sv57,
            pmp_entries: 16,
            ext: IsaExtensions::default(),
        }
    }
}

/// Exceptions in a row, with nothing retiring, after which `run` returns
/// `Exit::Trap` even without `exit_on_trap` (a wedged guest).
pub const TRAP_STORM: u32 = 1_000_000;

/// Why [`Hart::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exactly `budget` instructions retired.
    BudgetExhausted,
    /// A debugger breakpoint or watchpoint hit (see [`debug`]).
    Debug,
    /// A `wfi` retired with no enabled interrupt pending; pc is past it.
    Wfi,
    /// A trap was just entered; pc is the handler. Only when `exit_on_trap`
    /// is set, or after [`TRAP_STORM`] exceptions in a row retired nothing.
    Trap { interrupt: bool, cause: u64 },
    /// The bus asked to stop after an MMIO access; that instruction retired.
    StopRequested,
}

/// What executing an F/D instruction asks of the run loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctl {
    /// Go on with the next instruction.
    Next,
    /// An MMIO access or a store to decoded code: leave the block.
    End,
}

/// One RISC-V hart.
pub struct Hart {
    /// x0..x31; the rest is never written. Sized so that indexing with a
    /// `u8` register number needs neither a mask nor a bounds check on the
    /// interpreter's hot path.
    pub(crate) x: [u64; 256],
    pub(crate) f: [u64; 32],
    pub(crate) pc: u64,
    pub(crate) prv: Priv,
    pub(crate) icount: u64,
    pub(crate) csr: Csrs,
    pub(crate) pmp: Pmp,
    pub(crate) cfg: HartConfig,
    /// LR reservation: address of the reserved doubleword/word and the
    /// value LR read (sign-extended), which SC compares as QEMU does.
    pub(crate) reservation: Option<(u64, u64)>,
    /// Privilege used for loads and stores (differs from `prv` under MPRV).
    pub(crate) dprv: Priv,
    /// The TLB entries data accesses use (dprv and mstatus.SUM).
    pub(crate) dset: DataSet,
    pub(crate) tlb: Tlb,
    pub(crate) code: CodeCache,
    /// Translations of hot blocks (invisible to the guest).
    jit: jit::Jit,
    /// An MMIO access happened during the current instruction.
    pub(crate) did_mmio: bool,
    /// The current instruction was a `wfi` with nothing pending.
    pub(crate) wfi: bool,
    /// The current instruction moved the Sstc timer (stimecmp, STCE):
    /// `run` returns so the machine recomputes the slice's deadline. Set
    /// together with `did_mmio`, whose check it shares.
    pub(crate) timer_moved: bool,
    /// Exceptions taken since an instruction last retired (see `raise`).
    pub(crate) trap_streak: u32,
    /// When true, `run` returns `Exit::Trap` right after entering any trap.
    pub exit_on_trap: bool,
    /// gdb's breakpoints and watchpoints (empty outside a debug session).
    pub(crate) debug: debug::DebugPoints,
}

impl Hart {
    pub fn new(cfg: HartConfig) -> Hart {
        let mut h = Hart {
            x: [0; 256],
            f: [0; 32],
            pc: 0,
            prv: Priv::M,
            icount: 0,
            csr: Csrs::new(&cfg),
            pmp: Pmp::new(cfg.pmp_entries.min(16)),
            cfg,
            reservation: None,
            dprv: Priv::M,
            dset: DataSet::of(Priv::M, false),
            tlb: Tlb::new(),
            code: CodeCache::new(),
            jit: jit::Jit::new(),
            did_mmio: false,
            wfi: false,
            timer_moved: false,
            trap_streak: 0,
            exit_on_trap: false,
            debug: debug::DebugPoints::default(),
        };
        h.reset(0);
        h
    }

    /// Power-on reset: M-mode at `pc`, CSRs at their reset values. `icount`
    /// keeps counting (it is time since power-on, not since reset).
    pub fn reset(&mut self, pc: u64) {
        self.x = [0; 256];
        self.f = [0; 32];
        self.pc = pc;
        self.prv = Priv::M;
        self.csr = Csrs::new(&self.cfg);
        self.csr.minstret_base = self.icount;
        self.csr.mcycle_base = self.icount;
        self.pmp = Pmp::new(self.cfg.pmp_entries.min(16));
        self.reservation = None;
        self.update_dprv();
        self.tlb.flush();
        self.code.clear();
    }

    #[inline(always)]
    pub fn xreg(&self, i: usize) -> u64 {
        self.x[i & 31]
    }
    #[inline(always)]
    pub fn set_xreg(&mut self, i: usize, v: u64) {
        self.x[i & 31] = v;
        self.x[0] = 0;
    }
    /// Raw 64-bit content of floating-point register `i` (NaN-boxed singles).
    pub fn freg(&self, i: usize) -> u64 {
        self.f[i & 31]
    }
    pub fn set_freg(&mut self, i: usize, v: u64) {
        self.f[i & 31] = v;
    }
    pub fn pc(&self) -> u64 {
        self.pc
    }
    pub fn set_pc(&mut self, pc: u64) {
        self.pc = pc;
    }
    pub fn privilege(&self) -> Priv {
        self.prv
    }
    /// Instructions retired since power-on.
    pub fn icount(&self) -> u64 {
        self.icount
    }
    pub fn config(&self) -> HartConfig {
        self.cfg
    }
    /// Drops every decoded instruction and cached translation (call after
    /// writing guest code behind the hart's back, e.g. through `bytes_mut`).
    pub fn invalidate_code(&mut self) {
        self.code.clear();
        self.tlb.flush();
    }

    /// Drops the write TLB entries (after [`crate::bus::Ram::take_dirty`]:
    /// the next store to every page goes through the slow path once and
    /// marks the page dirty again).
    pub fn flush_write_tlb(&mut self) {
        self.tlb.flush_writes();
    }

    /// The `riscv,isa` string for the device tree, naming exactly what is
    /// implemented, in QEMU's spelling (`model::isa_string`).
    pub fn isa_string(&self) -> String {
        model::isa_string(&self.cfg)
    }

    /// Recomputes the privilege used for data accesses (MPRV) and its TLB
    /// entries (SUM).
    #[inline]
    pub(crate) fn update_dprv(&mut self) {
        self.dprv = if self.prv == Priv::M && self.csr.mstatus & csr::MSTATUS_MPRV != 0 {
            Priv::from_bits(self.csr.mstatus >> csr::MSTATUS_MPP_SHIFT).unwrap_or(Priv::U)
        } else {
            self.prv
        };
        self.dset = DataSet::of(self.dprv, self.csr.mstatus & csr::MSTATUS_SUM != 0);
    }

    /// Runs until `budget` more instructions retire or an [`Exit`] reason occurs.
    pub fn run<B: SystemBus>(&mut self, bus: &mut B, budget: u64) -> Exit {
        let end = self.icount.saturating_add(budget);
        loop {
            if self.icount >= end {
                return Exit::BudgetExhausted;
            }
            if bus.ram().has_stale() {
                self.code.sync(bus.ram());
            }
            if let Some(cause) = self.pending_interrupt(bus.irq_lines()) {
                self.take_trap(cause, true, 0);
                if self.exit_on_trap {
                    return Exit::Trap {
                        interrupt: true,
                        cause,
                    };
                }
            }
            if self.debug.has_breaks() && self.debug.break_here(self.icount, self.pc) {
                return Exit::Debug;
            }
            let (code, ram_page) = match self.fetch_block(bus) {
                Ok(Fetched::Cached { code, ram_page }) => (code, ram_page),
                Ok(Fetched::Uncached) => match self.step_uncached(bus) {
                    Some(e) => return e,
                    None => continue,
                },
                Err(t) => {
                    if let Some(e) = self.raise(bus, t) {
                        return e;
                    }
                    continue;
                }
            };
            let page_va = self.pc & !(PAGE_SIZE - 1);
            let page_breaks = self.debug.has_breaks() && self.debug.breaks_in_page(page_va);
            let mut pc = self.pc;
            // The link cell of the last translated block's chainable exit:
            // linked to the next block if that one runs translated too.
            let mut pending_link = None;
            // Blocks of this virtual page, one after another, until control
            // leaves the page or an instruction ends the page loop
            // (`Flow::End`). Within a block pc and icount are derived from
            // the slot (block start + offset/index) only where needed;
            // self.pc and self.icount are written back when leaving.
            'page: loop {
                let idx = ((pc & (PAGE_SIZE - 1)) >> 1) as usize;
                // SAFETY: `code` points into `self.code`, which only `sync`,
                // `clear` and `fetch_block` change, all in the outer loop
                // after this page loop is left; `exec` never touches it.
                let page_code = unsafe { &mut *code };
                let Some(b) = page_code.block_at(bus.ram(), ram_page, idx, &self.cfg.ext) else {
                    self.pc = pc;
                    break; // crosses the page end: uncached path below
                };
                // Run at most the remaining budget: exact stops mid-block.
                let info = &page_code.blocks[b];
                let (first, len) = (info.first as usize, info.n as usize);
                let mut n = (len as u64).min(end - self.icount) as usize;
                if page_breaks {
                    let offs = page_code.slots[first..first + n].iter().map(|s| s.off);
                    n = n.min(self.debug.limit_block(self.icount, pc, offs));
                    if n == 0 {
                        self.pc = pc;
                        return Exit::Debug;
                    }
                }
                let full = n == len && !page_breaks;
                let base = self.icount;
                let translated = if full {
                    let place = jit::BlockPlace {
                        page_off: pc & (PAGE_SIZE - 1),
                        first: first as u32,
                    };
                    let slots = &page_code.slots[first..first + n];
                    self.jit
                        .code_for::<B>(&mut page_code.blocks[b].jit, slots, place)
                } else {
                    None
                };
                if let (Some(t), Some(link)) = (translated, pending_link.take()) {
                    // The jump that led here goes straight here next time.
                    self.jit.link(link, t);
                }
                let (exit, block_pc, block) = match translated {
                    Some(t) => {
                        let r = self.run_translated(
                            t,
                            bus,
                            &page_code.slots,
                            (first, n),
                            pc,
                            base,
                            end,
                        );
                        pending_link = r.link;
                        (r.exit, r.block_pc, &page_code.slots[r.first..r.first + r.n])
                    }
                    None => {
                        let block = &page_code.slots[first..first + n];
                        (self.interpret_block(bus, block, pc, base), pc, block)
                    }
                };
                let (ran, flow) = match exit {
                    Ok(r) => r,
                    Err((retired, idx, t)) => {
                        self.icount = base + retired;
                        if retired != 0 {
                            self.trap_streak = 0;
                        }
                        self.pc = block_pc.wrapping_add(block[idx].off as u64);
                        self.did_mmio = false;
                        if page_breaks {
                            self.debug.settle(self.icount);
                        }
                        if let Some(e) = self.raise(bus, t) {
                            return e;
                        }
                        break 'page;
                    }
                };
                self.icount = base + ran;
                self.trap_streak = 0; // ran >= 1: something retired
                if page_breaks {
                    self.debug.settle(self.icount);
                }
                match flow {
                    Flow::Next => {
                        let last = &block[block.len() - 1];
                        pc = block_pc.wrapping_add(last.off as u64 + last.len as u64);
                    }
                    Flow::Jump(target) => pc = target,
                    Flow::End(next) => {
                        self.pc = next;
                        if self.did_mmio {
                            self.did_mmio = false;
                            if bus.stop_requested() || std::mem::take(&mut self.timer_moved) {
                                return Exit::StopRequested;
                            }
                        }
                        if self.wfi {
                            self.wfi = false;
                            return Exit::Wfi;
                        }
                        break;
                    }
                }
                if self.icount == end || (pc ^ page_va) >= PAGE_SIZE {
                    self.pc = pc;
                    break;
                }
            }
            // A block that ran to a page end at an instruction crossing it
            // leaves pc there; the uncached path handles that one.
            if self.icount < end && self.crosses_page(bus) {
                if self.debug.has_breaks() && self.debug.break_here(self.icount, self.pc) {
                    return Exit::Debug;
                }
                if let Some(e) = self.step_uncached(bus) {
                    return e;
                }
            }
        }
    }

    /// Runs `block` with the interpreter: (slots retired, how it ended),
    /// or the index of the slot that trapped and its trap.
    #[inline(always)]
    fn interpret_block<B: SystemBus>(
        &mut self,
        bus: &mut B,
        block: &[Slot],
        block_pc: u64,
        base: u64,
    ) -> jit::BlockExit {
        for s in block {
            match self.exec(bus, s, block_pc, base) {
                Ok(Flow::Next) => {}
                Ok(f) => return Ok((s.idx as u64 + 1, f)),
                Err(t) => return Err((s.idx as u64, s.idx as usize, t)),
            }
        }
        Ok((block.len() as u64, Flow::Next))
    }

    /// True if the instruction at pc straddles a page boundary.
    fn crosses_page<B: SystemBus>(&mut self, bus: &mut B) -> bool {
        if self.pc & (PAGE_SIZE - 1) != PAGE_SIZE - 2 {
            return false;
        }
        match self.fetch_half(bus, self.pc) {
            Ok(lo) => decode::insn_len(lo) == 4,
            Err(_) => false,
        }
    }

    /// Fetches, decodes and executes one instruction without the decode
    /// cache (code outside RAM, or an instruction crossing a page).
    fn step_uncached<B: SystemBus>(&mut self, bus: &mut B) -> Option<Exit> {
        let pc = self.pc;
        let raw = match self.fetch_raw(bus, pc) {
            Ok(r) => r,
            Err(t) => return self.raise(bus, t),
        };
        let len = decode::insn_len(raw as u16) as u64;
        let slot =
            block::Slot::single(decode::decode_for(raw, &self.cfg.ext).for_exec(), len as u8);
        match self.exec(bus, &slot, pc, self.icount) {
            Ok(flow) => {
                self.icount += 1;
                self.trap_streak = 0;
                self.pc = match flow {
                    Flow::Next => pc.wrapping_add(len),
                    Flow::Jump(t) | Flow::End(t) => t,
                };
                if self.did_mmio {
                    self.did_mmio = false;
                    if bus.stop_requested() || std::mem::take(&mut self.timer_moved) {
                        return Some(Exit::StopRequested);
                    }
                }
                if self.wfi {
                    self.wfi = false;
                    return Some(Exit::Wfi);
                }
                None
            }
            Err(t) => {
                self.did_mmio = false;
                self.raise(bus, t)
            }
        }
    }

    /// Enters the trap for exception `t` raised by the instruction at pc.
    ///
    /// A guest whose trap handler itself faults loops forever without
    /// retiring anything, so the budget never runs out; after
    /// [`TRAP_STORM`] such traps in a row `run` returns `Exit::Trap` (as if
    /// `exit_on_trap` were set) so the caller stays in control.
    fn raise<B: SystemBus>(&mut self, bus: &mut B, t: Trap) -> Option<Exit> {
        if t.cause == trap::DEBUG_STOP {
            // A watchpoint: pc and icount are the access's, which did not run.
            return Some(Exit::Debug);
        }
        let tval = if t.cause == trap::ILLEGAL_INSN && t.tval == trap::TVAL_INSN_BITS {
            // As QEMU: mtval/stval get the instruction bits.
            self.fetch_raw(bus, self.pc)
                .map(|r| {
                    if r & 3 == 3 {
                        r as u64
                    } else {
                        r as u16 as u64
                    }
                })
                .unwrap_or(0)
        } else {
            t.tval
        };
        self.take_trap(t.cause, false, tval);
        self.trap_streak += 1;
        if self.exit_on_trap || self.trap_streak >= TRAP_STORM {
            self.trap_streak = 0;
            Some(Exit::Trap {
                interrupt: false,
                cause: t.cause,
            })
        } else {
            None
        }
    }

    /// A snapshot of the architectural state.
    pub fn state(&self) -> HartState {
        HartState::capture(self)
    }
}

#[cfg(test)]
pub(crate) mod testbus;

#[cfg(test)]
mod tests {
    use super::testbus::{enc, TestBus};
    use super::*;
    use crate::bus::{irq, PhysAddr};

    const BASE: u64 = 0x8000_0000;

    fn setup(words: &[u32]) -> (Hart, TestBus) {
        let mut b = TestBus::new(BASE, 1 << 16);
        b.code(BASE, words);
        let mut h = Hart::new(HartConfig::default());
        h.reset(BASE);
        (h, b)
    }

    #[test]
    fn budget_stops_exactly_mid_block() {
        let a = enc::addi(1, 1, 1);
        let (mut h, mut b) = setup(&[a, a, a, enc::jal(0, -12)]);
        assert_eq!(h.run(&mut b, 7), Exit::BudgetExhausted);
        assert_eq!((h.icount(), h.xreg(1), h.pc()), (7, 6, BASE + 12));
        assert_eq!(h.run(&mut b, 5), Exit::BudgetExhausted);
        assert_eq!((h.icount(), h.xreg(1), h.pc()), (12, 9, BASE));
        for _ in 0..10 {
            h.run(&mut b, 1);
        }
        assert_eq!(h.icount(), 22);
    }

    #[test]
    fn wfi_exits_when_nothing_enabled_is_pending() {
        let (mut h, mut b) = setup(&[enc::addi(1, 0, 5), enc::WFI, enc::addi(1, 0, 6)]);
        b.lines = irq::MTIP; // pending but not enabled: still idle
        assert_eq!(h.run(&mut b, 100), Exit::Wfi);
        assert_eq!(
            (h.icount(), h.pc()),
            (2, BASE + 8),
            "wfi retired, pc past it"
        );
        h.csr.mie = irq::MTIP; // enabled (globally disabled in M): wfi is a nop
        h.set_pc(BASE + 4);
        assert_eq!(h.run(&mut b, 2), Exit::BudgetExhausted);
        assert_eq!(h.xreg(1), 6);
    }

    #[test]
    fn interrupt_taken_after_enabling_csr_write() {
        // mtvec = BASE + 0x100; mie.MTIE; then set mstatus.MIE with csrrs.
        let (mut h, mut b) = setup(&[enc::csrrs(0, 0x300, 5), enc::addi(1, 0, 1)]);
        h.csr.mtvec = BASE + 0x100;
        h.csr.mie = irq::MTIP;
        h.set_xreg(5, csr::MSTATUS_MIE);
        b.lines = irq::MTIP;
        h.exit_on_trap = true;
        assert_eq!(
            h.run(&mut b, 100),
            Exit::Trap {
                interrupt: true,
                cause: trap::IRQ_M_TIMER
            }
        );
        assert_eq!(h.icount(), 1);
        assert_eq!(h.csr.mepc, BASE + 4, "the addi has not run");
        assert_eq!(h.pc(), BASE + 0x100);
        assert_eq!(h.xreg(1), 0);
    }

    /// csrrs/csrrc on mip must not latch the PLIC's SEIP line into the
    /// software SEIP bit (it did: OpenSBI setting STIP while the UART's
    /// interrupt was pending left Linux in an endless external-interrupt
    /// storm, about one boot in a hundred).
    #[test]
    fn mip_read_modify_write_leaves_the_seip_line_out() {
        let (mut h, mut b) = setup(&[
            enc::csrrs(1, 0x344, 5), // csrrs x1, mip, x5 (x5 = STIP)
            enc::csrrc(2, 0x344, 5), // csrrc x2, mip, x5
            enc::csrrs(3, 0x344, 0), // csrr x3, mip
        ]);
        h.set_xreg(5, irq::STIP);
        b.lines = irq::SEIP;
        assert_eq!(h.run(&mut b, 1), Exit::BudgetExhausted);
        assert_eq!(h.xreg(1), irq::SEIP, "the read shows the line");
        assert_eq!(h.csr.mip_sw, irq::STIP, "STIP set, SEIP not latched");
        assert_eq!(h.run(&mut b, 1), Exit::BudgetExhausted);
        assert_eq!(h.xreg(2), irq::SEIP | irq::STIP);
        assert_eq!(h.csr.mip_sw, 0);
        b.lines = 0;
        assert_eq!(h.run(&mut b, 1), Exit::BudgetExhausted);
        assert_eq!(h.xreg(3), 0, "the line fell: no SEIP left");
    }

    #[test]
    fn ecall_traps_without_retiring() {
        let (mut h, mut b) = setup(&[enc::addi(1, 0, 1), enc::ECALL]);
        h.csr.mtvec = BASE + 0x200;
        h.exit_on_trap = true;
        assert_eq!(
            h.run(&mut b, 100),
            Exit::Trap {
                interrupt: false,
                cause: trap::ECALL_M
            }
        );
        assert_eq!(h.icount(), 1);
        assert_eq!(h.csr.mepc, BASE + 4);
    }

    #[test]
    fn stop_requested_after_mmio_store() {
        // x2 = 0x1000 (MMIO on the test bus); sw x1, 0(x2); then more code.
        let (mut h, mut b) = setup(&[enc::lui(2, 1), enc::s(2, 2, 1, 0), enc::addi(3, 0, 1)]);
        b.stop_on_mmio = true;
        assert_eq!(h.run(&mut b, 100), Exit::StopRequested);
        assert_eq!((h.icount(), h.pc()), (2, BASE + 8), "the store retired");
        assert_eq!(b.mmio_writes, vec![(0x1000, 0)]);
    }

    #[test]
    fn dma_write_invalidates_decoded_code() {
        let (mut h, mut b) = setup(&[enc::addi(1, 0, 1), enc::jal(0, 0)]);
        h.run(&mut b, 3);
        assert_eq!(h.xreg(1), 1);
        b.ram
            .write_bytes(PhysAddr(BASE), &enc::addi(1, 0, 2).to_le_bytes())
            .unwrap();
        h.set_pc(BASE);
        h.run(&mut b, 1);
        assert_eq!(h.xreg(1), 2, "re-decoded after the DMA write");
    }

    #[test]
    fn x0_stays_zero() {
        let (mut h, mut b) = setup(&[enc::addi(0, 0, 5), enc::addi(1, 0, 0)]);
        h.run(&mut b, 2);
        assert_eq!(h.xreg(0), 0);
        h.set_xreg(0, 7);
        assert_eq!(h.xreg(0), 0);
    }

    /// Random words as code, in every privilege and translation state they
    /// happen to reach: the hart must never panic or hang.
    #[test]
    fn random_code_never_panics() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..10 {
            let words: Vec<u32> = (0..4096).map(|_| next() as u32).collect();
            let (mut h, mut b) = setup(&words);
            h.csr.mtvec = (BASE + next() % 0x4000) & !3;
            for r in 1..32 {
                h.set_xreg(
                    r,
                    if r % 2 == 0 {
                        BASE + next() % 0x1_0000
                    } else {
                        next()
                    },
                );
            }
            // 50 slices; a wedged guest (trap storm) or an idle one is
            // restarted somewhere else in the random code.
            for _ in 0..50 {
                match h.run(&mut b, 10_000) {
                    Exit::Wfi | Exit::Trap { .. } => {
                        h.set_pc((BASE + next() % 0x4000) & !1);
                        h.csr.mtvec = (BASE + next() % 0x4000) & !3;
                    }
                    Exit::BudgetExhausted | Exit::StopRequested | Exit::Debug => {}
                }
            }
            assert!(h.icount() > 0 || round > 0);
        }
    }

    #[test]
    fn instruction_straddling_a_page_runs() {
        let (mut h, mut b) = setup(&[]);
        let mut code = vec![0x01, 0x00]; // c.nop at 0xffc
        code.extend_from_slice(&enc::addi(1, 0, 7).to_le_bytes()); // 0xffe..0x1002
        code.extend_from_slice(&enc::addi(2, 0, 8).to_le_bytes());
        b.ram.write_bytes(PhysAddr(BASE + 0xffc), &code).unwrap();
        h.set_pc(BASE + 0xffc);
        assert_eq!(h.run(&mut b, 3), Exit::BudgetExhausted);
        assert_eq!((h.xreg(1), h.xreg(2), h.pc()), (7, 8, BASE + 0x1006));
    }

    #[test]
    fn trap_storm_returns_control() {
        // mtvec points at unmapped memory: every fetch faults, nothing retires.
        let (mut h, mut b) = setup(&[enc::ECALL]);
        h.csr.mtvec = 0x1000;
        let e = h.run(&mut b, 10);
        assert_eq!(
            e,
            Exit::Trap {
                interrupt: false,
                cause: trap::INSN_ACCESS
            }
        );
        assert_eq!(h.icount(), 0);
    }

    #[test]
    fn isa_string_names_the_extensions() {
        assert_eq!(
            Hart::new(model::qemu_default()).isa_string(),
            "rv64imafdc_zic64b_zicbom_zicbop_zicboz_ziccamoa_ziccif_zicclsm_ziccrse_zicntr_zicsr_zifencei_zihintntl_zihintpause_zihpm_zmmul_za64rs_zaamo_zalrsc_zawrs_zfa_zca_zcd_zba_zbb_zbc_zbs_shcounterenw_shgatpa_shtvala_shvsatpa_shvstvala_shvstvecd_ssccptr_sscounterenw_sstc_sstvala_sstvecd_ssu64xl_svadu_svvptc"
        );
        let h = Hart::new(HartConfig {
            ext_f: false,
            ext_d: false,
            ext: IsaExtensions::NONE,
            ..HartConfig::default()
        });
        assert!(h.isa_string().starts_with("rv64imac_zic64b_ziccamoa"));
    }
}
