//! The RISC-V hart: decoder, executor, CSRs, traps, MMU, floating point.
//!
//! Implemented ISA: RV64IMAFDC with Zicsr, Zifencei and Zicntr; M, S and U
//! privilege (privileged spec 1.12 as QEMU 10 implements it); Sv39 and Sv48;
//! 16 PMP entries. Not implemented: H, Sstc, Svpbmt, Svnapot, Svadu
//! (A/D bits are checked, not set: a clear bit raises a page fault, Svade),
//! hpmcounters (they raise illegal instruction), debug triggers.
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
pub mod decode;
pub mod disasm;
mod exec;
mod exec_fp;
pub mod insn;
mod mem;
pub mod mmu;
pub mod pmp;
pub mod state;
pub mod trap;

use crate::bus::{SystemBus, PAGE_SIZE};
use block::{CodeCache, Fetched};
use csr::Csrs;
use mmu::tlb::Tlb;
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
    /// Sv48 as well as Sv39 (satp mode 9 accepted).
    pub sv48: bool,
    /// Number of PMP entries (0..=16).
    pub pmp_entries: u8,
}

impl Default for HartConfig {
    fn default() -> Self {
        HartConfig { hartid: 0, ext_f: true, ext_d: true, sv48: true, pmp_entries: 16 }
    }
}

/// Why [`Hart::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Exactly `budget` instructions retired.
    BudgetExhausted,
    /// A `wfi` retired with no enabled interrupt pending; pc is past it.
    Wfi,
    /// A trap was just entered (only when `exit_on_trap` is set); pc is the handler.
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
    pub(crate) x: [u64; 32],
    pub(crate) f: [u64; 32],
    pub(crate) pc: u64,
    pub(crate) prv: Priv,
    pub(crate) icount: u64,
    pub(crate) csr: Csrs,
    pub(crate) pmp: Pmp,
    pub(crate) cfg: HartConfig,
    /// LR reservation: physical address of the reserved doubleword/word.
    pub(crate) reservation: Option<u64>,
    /// Privilege used for loads and stores (differs from `prv` under MPRV).
    pub(crate) dprv: Priv,
    pub(crate) tlb: Tlb,
    pub(crate) code: CodeCache,
    /// An MMIO access happened during the current instruction.
    pub(crate) did_mmio: bool,
    /// The current instruction was a `wfi` with nothing pending.
    pub(crate) wfi: bool,
    /// When true, `run` returns `Exit::Trap` right after entering any trap.
    pub exit_on_trap: bool,
}

impl Hart {
    pub fn new(cfg: HartConfig) -> Hart {
        let mut h = Hart {
            x: [0; 32],
            f: [0; 32],
            pc: 0,
            prv: Priv::M,
            icount: 0,
            csr: Csrs::new(&cfg),
            pmp: Pmp::new(cfg.pmp_entries.min(16)),
            cfg,
            reservation: None,
            dprv: Priv::M,
            tlb: Tlb::new(),
            code: CodeCache::new(),
            did_mmio: false,
            wfi: false,
            exit_on_trap: false,
        };
        h.reset(0);
        h
    }

    /// Power-on reset: M-mode at `pc`, CSRs at their reset values. `icount`
    /// keeps counting (it is time since power-on, not since reset).
    pub fn reset(&mut self, pc: u64) {
        self.x = [0; 32];
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

    /// The `riscv,isa` string for the device tree, naming exactly what is implemented.
    pub fn isa_string(&self) -> String {
        let mut s = String::from("rv64ima");
        if self.cfg.ext_f {
            s.push('f');
        }
        if self.cfg.ext_f && self.cfg.ext_d {
            s.push('d');
        }
        s.push_str("c_zicntr_zicsr_zifencei");
        s
    }

    /// Recomputes the privilege used for data accesses (MPRV).
    #[inline]
    pub(crate) fn update_dprv(&mut self) {
        self.dprv = if self.prv == Priv::M && self.csr.mstatus & csr::MSTATUS_MPRV != 0 {
            Priv::from_bits(self.csr.mstatus >> csr::MSTATUS_MPP_SHIFT).unwrap_or(Priv::U)
        } else {
            self.prv
        };
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
                    return Exit::Trap { interrupt: true, cause };
                }
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
            let mut pc = self.pc;
            // Blocks of this virtual page, one after another, until control
            // leaves the page or an instruction asks to end (END bit). pc
            // lives in a local; self.pc is written back when leaving.
            'page: loop {
                let idx = ((pc & (PAGE_SIZE - 1)) >> 1) as usize;
                // SAFETY: `code` points into `self.code`, which only `sync`,
                // `clear` and `fetch_block` change, all in the outer loop
                // after this page loop is left; `exec` never touches it.
                let page_code = unsafe { &mut *code };
                let Some(first) = page_code.block_at(bus.ram(), ram_page, idx) else {
                    self.pc = pc;
                    break; // crosses the page end: uncached path below
                };
                let slots = &page_code.slots[first..];
                // Run at most the remaining budget: exact stops mid-block.
                let n = (slots[0].n as u64).min(end - self.icount) as usize;
                let mut k = 0;
                let base = self.icount;
                let ended = loop {
                    let s = slots[k];
                    // Exact count for whatever this instruction observes
                    // (MMIO, the time CSR, trap marks): record/replay logs
                    // events at it, and blocks split differently in replay.
                    self.icount = base + k as u64;
                    match self.exec(bus, s.insn, pc, s.len as u64) {
                        Ok(next) => {
                            k += 1;
                            if next & exec::END != 0 {
                                break Some(next & !exec::END);
                            }
                            pc = next;
                            if k == n {
                                break None;
                            }
                        }
                        Err(t) => {
                            self.icount = base + k as u64;
                            self.pc = pc;
                            self.did_mmio = false;
                            if let Some(e) = self.raise(bus, t) {
                                return e;
                            }
                            break 'page;
                        }
                    }
                };
                self.icount = base + k as u64;
                if let Some(next) = ended {
                    self.pc = next;
                    if self.did_mmio {
                        self.did_mmio = false;
                        if bus.stop_requested() {
                            return Exit::StopRequested;
                        }
                    }
                    if self.wfi {
                        self.wfi = false;
                        return Exit::Wfi;
                    }
                    break;
                }
                if self.icount == end || (pc ^ page_va) >= PAGE_SIZE {
                    self.pc = pc;
                    break;
                }
            }
            // A block that ran to a page end at an instruction crossing it
            // leaves pc there; the uncached path handles that one.
            if self.icount < end && self.crosses_page(bus) {
                if let Some(e) = self.step_uncached(bus) {
                    return e;
                }
            }
        }
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
        match self.exec(bus, decode::decode(raw), pc, len) {
            Ok(next) => {
                self.icount += 1;
                self.pc = next & !exec::END;
                if self.did_mmio {
                    self.did_mmio = false;
                    if bus.stop_requested() {
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
    fn raise<B: SystemBus>(&mut self, bus: &mut B, t: Trap) -> Option<Exit> {
        let tval = if t.cause == trap::ILLEGAL_INSN {
            // As QEMU: mtval/stval get the instruction bits.
            self.fetch_raw(bus, self.pc).map(|r| if r & 3 == 3 { r as u64 } else { r as u16 as u64 }).unwrap_or(0)
        } else {
            t.tval
        };
        self.take_trap(t.cause, false, tval);
        if self.exit_on_trap {
            Some(Exit::Trap { interrupt: false, cause: t.cause })
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
