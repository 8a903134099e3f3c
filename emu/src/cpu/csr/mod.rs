//! Control and status registers: storage, access checks, WARL legalisation.
//!
//! Every CSR the hart implements is listed in `read`/`write`; any other
//! number raises illegal instruction, which OpenSBI relies on when it probes
//! optional CSRs (stimecmp, mstateen0, hpmcounters, debug triggers, ...).

pub mod addr;
pub mod hpm;

use super::trap::Trap;
use super::{Hart, HartConfig, Priv};
use crate::bus::irq;
use crate::bus::SystemBus;
pub use addr::*;

pub const MSTATUS_SIE: u64 = 1 << 1;
pub const MSTATUS_MIE: u64 = 1 << 3;
pub const MSTATUS_SPIE: u64 = 1 << 5;
pub const MSTATUS_MPIE: u64 = 1 << 7;
pub const MSTATUS_SPP: u64 = 1 << 8;
pub const MSTATUS_MPP_SHIFT: u32 = 11;
pub const MSTATUS_MPP: u64 = 3 << MSTATUS_MPP_SHIFT;
pub const MSTATUS_FS_SHIFT: u32 = 13;
pub const MSTATUS_FS: u64 = 3 << MSTATUS_FS_SHIFT;
pub const MSTATUS_MPRV: u64 = 1 << 17;
pub const MSTATUS_SUM: u64 = 1 << 18;
pub const MSTATUS_MXR: u64 = 1 << 19;
pub const MSTATUS_TVM: u64 = 1 << 20;
pub const MSTATUS_TW: u64 = 1 << 21;
pub const MSTATUS_TSR: u64 = 1 << 22;
/// UXL = SXL = 2 (64-bit) at reset.
pub const MSTATUS_XL: u64 = (2 << 32) | (2 << 34);
pub const MSTATUS_UXL: u64 = 3 << 32;
/// SXL = 2, read-only.
pub const MSTATUS_SXL: u64 = 2 << 34;
pub const MSTATUS_SD: u64 = 1 << 63;

// menvcfg / senvcfg fields (privileged spec 1.12+).
pub const ENVCFG_FIOM: u64 = 1;
/// Zicbom `cbo.inval` enable (2 bits: 00 illegal, 01 flush, 11 inval).
pub const ENVCFG_CBIE: u64 = 3 << 4;
/// Zicbom `cbo.clean` / `cbo.flush` enable.
pub const ENVCFG_CBCFE: u64 = 1 << 6;
/// Zicboz `cbo.zero` enable.
pub const ENVCFG_CBZE: u64 = 1 << 7;
/// Svadu: hardware A/D updates (menvcfg only).
pub const MENVCFG_ADUE: u64 = 1 << 61;
/// Sstc: stimecmp drives STIP (menvcfg only).
pub const MENVCFG_STCE: u64 = 1 << 63;
/// Smcdeleg's counter delegation enable: QEMU 10.0.2 lets menvcfg keep it
/// whatever the extensions (it has no other effect here).
pub const MENVCFG_CDE: u64 = 1 << 60;
/// Bits writable in both menvcfg and senvcfg.
const ENVCFG_WRITABLE: u64 = ENVCFG_FIOM | ENVCFG_CBIE | ENVCFG_CBCFE | ENVCFG_CBZE;

/// mcounteren/scounteren/mcountinhibit bits of the fixed counters.
const COUNTER_CY: u64 = 1;
const COUNTER_TM: u64 = 2;
const COUNTER_IR: u64 = 4;

const SSTATUS_MASK: u64 = MSTATUS_SIE
    | MSTATUS_SPIE
    | MSTATUS_SPP
    | MSTATUS_FS
    | MSTATUS_SUM
    | MSTATUS_MXR
    | (3 << 32)
    | MSTATUS_SD;

/// Writable mie bits, as QEMU 10.0.2 (checked by fixtures/priv): the S and
/// M software/timer/external bits, LCOFI (13) and the local interrupts
/// 14..63, whether or not anything can raise them.
const MIE_WRITABLE: u64 = 0xffff_ffff_ffff_eaaa;
/// Interrupts M-mode can delegate, as QEMU 10.0.2 even without H: the S
/// and VS software/timer/external bits and LCOFI.
const DELEGABLE_INTS: u64 = 0x2666;
/// mip bits software may write (the others mirror board lines): the same set.
const MIP_WRITABLE: u64 = 0x2666;
/// The bits sie and sip show of mie and mip (where delegated): the S
/// ones and LCOFI, not the VS ones (QEMU 10.0.2, fixtures/priv).
const S_VIEW: u64 = 0x2222;
/// sip bits S-mode may write (where delegated): SSIP and LCOFIP.
const SIP_WRITABLE: u64 = 0x2002;
/// Writable medeleg bits, as QEMU 10.0.2 even without H: causes 0-13 but
/// 14, 15, 18 (software check) and 20-23 (the guest faults). Bit 11 (ecall
/// from M) is writable although M traps are never delegated.
const DELEGABLE_EXCEPTIONS: u64 = 0xf4_bfff;

/// Values QEMU 10.0.2's generic CPUs report (fixtures/priv; OpenSBI's
/// `sbi` output in the fixtures' transcripts says the same).
pub const MVENDORID: u64 = 0;
pub const MARCHID: u64 = 0;
pub const MIMPID: u64 = 0;

/// Stored CSR values (the hart-internal view; see `read`/`write` for access).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Csrs {
    /// mstatus without SD (computed on read) and with UXL/SXL fixed.
    pub mstatus: u64,
    pub misa: u64,
    pub medeleg: u64,
    pub mideleg: u64,
    pub mie: u64,
    /// Software-written mip bits (SSIP, STIP, SEIP).
    pub mip_sw: u64,
    pub mtvec: u64,
    pub mscratch: u64,
    pub mepc: u64,
    pub mcause: u64,
    pub mtval: u64,
    pub mcounteren: u64,
    pub mcountinhibit: u64,
    pub menvcfg: u64,
    pub stvec: u64,
    pub sscratch: u64,
    pub sepc: u64,
    pub scause: u64,
    pub stval: u64,
    pub scounteren: u64,
    pub senvcfg: u64,
    pub satp: u64,
    pub fflags: u64,
    pub frm: u64,
    /// mcycle = icount - mcycle_base (wrapping); writes move the base.
    /// While mcountinhibit.CY is set it holds the frozen mcycle value.
    pub mcycle_base: u64,
    /// As `mcycle_base`, for minstret and mcountinhibit.IR.
    pub minstret_base: u64,
    pub mhartid: u64,
    /// Sstc's supervisor timer compare value (mtime ticks).
    pub stimecmp: u64,
    /// When the Sstc timer raises STIP (mtime ticks), if armed.
    pub stimer_at: Option<u64>,
    pub hpm: hpm::Hpm,
}

impl Csrs {
    pub fn new(cfg: &HartConfig) -> Csrs {
        let mut misa =
            (2u64 << 62) | ext('I') | ext('M') | ext('A') | ext('C') | ext('S') | ext('U');
        if cfg.ext_f {
            misa |= ext('F');
            if cfg.ext_d {
                misa |= ext('D');
            }
        }
        Csrs {
            mstatus: MSTATUS_XL,
            misa,
            medeleg: 0,
            mideleg: 0,
            mie: 0,
            mip_sw: 0,
            mtvec: 0,
            mscratch: 0,
            mepc: 0,
            mcause: 0,
            mtval: 0,
            mcounteren: 0,
            mcountinhibit: 0,
            // QEMU resets ADUE to 1 when the hart has Svadu.
            menvcfg: if cfg.ext.svadu { MENVCFG_ADUE } else { 0 },
            stvec: 0,
            sscratch: 0,
            sepc: 0,
            scause: 0,
            stval: 0,
            scounteren: 0,
            senvcfg: 0,
            satp: 0,
            fflags: 0,
            frm: 0,
            mcycle_base: 0,
            minstret_base: 0,
            mhartid: cfg.hartid,
            stimecmp: 0,
            stimer_at: None,
            hpm: hpm::Hpm::default(),
        }
    }

    /// mstatus as software reads it (SD derived from FS).
    pub fn mstatus_read(&self) -> u64 {
        let sd = if self.mstatus & MSTATUS_FS == MSTATUS_FS {
            MSTATUS_SD
        } else {
            0
        };
        self.mstatus | sd
    }
}

fn ext(c: char) -> u64 {
    1 << (c as u8 - b'A')
}

/// Minimum privilege encoded in the CSR number (bits 9:8).
fn csr_priv(csr: u16) -> u64 {
    ((csr >> 8) & 3) as u64
}

impl Hart {
    #[inline]
    fn fp_enabled(&self) -> bool {
        self.cfg.ext_f && self.csr.mstatus & MSTATUS_FS != 0
    }

    /// Marks the FP state dirty (after any write to f registers or fflags).
    #[inline(always)]
    pub(crate) fn set_fs_dirty(&mut self) {
        self.csr.mstatus |= MSTATUS_FS;
    }

    /// Counters beyond cycle/time/instret that exist (mask of counter numbers).
    #[inline]
    fn hpm_available(&self) -> u32 {
        if self.cfg.ext.zihpm {
            hpm::AVAILABLE
        } else {
            0
        }
    }

    /// Whether hpm counter `n` exists.
    fn hpm_exists(&self, n: u32) -> bool {
        self.hpm_available() >> n & 1 != 0
    }

    /// Whether hpm counter `n` is counting now.
    fn hpm_running(&self, n: u32) -> bool {
        self.csr.hpm.counts_events(n) && self.csr.mcountinhibit >> n & 1 == 0
    }

    fn hpm_read(&self, n: u32) -> u64 {
        self.csr.hpm.read(n, self.icount, self.hpm_running(n))
    }

    /// Applies `change` to the counter state without changing any
    /// counter's value (mcountinhibit or event map updates).
    fn hpm_reencode(&mut self, change: impl FnOnce(&mut Hart)) {
        let values: Vec<(u32, u64)> = (3..32)
            .filter(|&n| self.hpm_exists(n))
            .map(|n| (n, self.hpm_read(n)))
            .collect();
        change(self);
        for (n, v) in values {
            let running = self.hpm_running(n);
            self.csr.hpm.set(n, v, self.icount, running);
        }
    }

    /// Whether the current privilege may use a Zicbom/Zicboz operation
    /// enabled by `bits` (ENVCFG_CBIE, ENVCFG_CBCFE or ENVCFG_CBZE): below
    /// M it needs menvcfg's field non-zero, in U also senvcfg's (QEMU's
    /// check_zicbo_envcfg). For `cbo.inval`, [`Hart::cbo_inval_flushes`]
    /// tells whether it acts as a flush.
    pub fn envcfg_allows(&self, bits: u64) -> bool {
        (self.prv == Priv::M || self.csr.menvcfg & bits != 0)
            && (self.prv != Priv::U || self.csr.senvcfg & bits != 0)
    }

    /// Whether `cbo.inval` acts as `cbo.flush` here (CBIE = 01 in an
    /// enabling register below M).
    pub fn cbo_inval_flushes(&self) -> bool {
        let flush = |v: u64| v & ENVCFG_CBIE == 1 << 4;
        (self.prv != Priv::M && flush(self.csr.menvcfg))
            || (self.prv == Priv::U && flush(self.csr.senvcfg))
    }

    /// Whether a counter (bit `idx` of the *counteren registers) may be read here.
    fn counter_allowed(&self, idx: u32) -> bool {
        match self.prv {
            Priv::M => true,
            Priv::S => self.csr.mcounteren >> idx & 1 != 0,
            Priv::U => self.csr.mcounteren >> idx & 1 != 0 && self.csr.scounteren >> idx & 1 != 0,
        }
    }

    /// The value a CSRRS/CSRRC of `csr` modifies, given the value it read.
    /// For `mip` only the software-writable bits take part: the PLIC's SEIP
    /// line shows in the value read but is not written back into the
    /// software SEIP bit (privileged spec, "Machine Interrupt Registers";
    /// QEMU's rmw_mip). Otherwise M-mode code that sets mip.STIP while an
    /// external interrupt is pending (OpenSBI's timer injection) would latch
    /// SEIP for good and storm the supervisor with external interrupts.
    pub(crate) fn csr_rmw_base(&self, csr: u16, read: u64) -> u64 {
        if csr == MIP {
            (read & !MIP_WRITABLE) | (self.csr.mip_sw & MIP_WRITABLE)
        } else {
            read
        }
    }

    /// Reads `csr` for a CSR instruction at the current privilege.
    pub(crate) fn csr_read<B: SystemBus>(&mut self, bus: &mut B, csr: u16) -> Result<u64, Trap> {
        if (self.prv as u64) < csr_priv(csr) {
            return Err(Trap::illegal());
        }
        let c = &self.csr;
        let v = match csr {
            FFLAGS | FRM | FCSR => {
                if !self.fp_enabled() {
                    return Err(Trap::illegal());
                }
                match csr {
                    FFLAGS => c.fflags,
                    FRM => c.frm,
                    _ => c.fflags | c.frm << 5,
                }
            }
            CYCLE | TIME | INSTRET => {
                if !self.counter_allowed((csr - CYCLE) as u32) {
                    return Err(Trap::illegal());
                }
                match csr {
                    CYCLE => self.counter(0),
                    TIME => bus.mtime(self.icount),
                    _ => self.counter(2),
                }
            }
            HPMCOUNTER3..=HPMCOUNTER31 => {
                let n = (csr - CYCLE) as u32;
                if !self.hpm_exists(n) || !self.counter_allowed(n) {
                    return Err(Trap::illegal());
                }
                self.hpm_read(n)
            }
            STIMECMP => {
                self.stimecmp_access()?;
                c.stimecmp
            }
            SSTATUS => c.mstatus_read() & SSTATUS_MASK,
            SIE => c.mie & c.mideleg & S_VIEW,
            SIP => self.mip(bus.irq_lines()) & c.mideleg & S_VIEW,
            STVEC => c.stvec,
            SCOUNTEREN => c.scounteren,
            SENVCFG => c.senvcfg,
            SSCRATCH => c.sscratch,
            SEPC => c.sepc,
            SCAUSE => c.scause,
            STVAL => c.stval,
            SATP => {
                if self.prv == Priv::S && c.mstatus & MSTATUS_TVM != 0 {
                    return Err(Trap::illegal());
                }
                c.satp
            }
            MSTATUS => c.mstatus_read(),
            MISA => c.misa,
            MEDELEG => c.medeleg,
            MIDELEG => c.mideleg,
            MIE => c.mie,
            MTVEC => c.mtvec,
            MCOUNTEREN => c.mcounteren,
            MENVCFG => c.menvcfg,
            MCOUNTINHIBIT => c.mcountinhibit,
            MSCRATCH => c.mscratch,
            MEPC => c.mepc,
            MCAUSE => c.mcause,
            MTVAL => c.mtval,
            MIP => self.mip(bus.irq_lines()),
            MCYCLE => self.counter(0),
            MINSTRET => self.counter(2),
            MHPMCOUNTER3..=MHPMCOUNTER31 => {
                let n = (csr - MCYCLE) as u32;
                if !self.hpm_exists(n) {
                    return Err(Trap::illegal());
                }
                self.hpm_read(n)
            }
            MHPMEVENT3..=MHPMEVENT31 => c.hpm.event[(csr - MHPMEVENT3) as usize],
            MVENDORID_CSR => MVENDORID,
            MARCHID_CSR => MARCHID,
            MIMPID_CSR => MIMPID,
            MHARTID => c.mhartid,
            MCONFIGPTR => 0,
            PMPCFG0..=PMPCFG15 => self.pmp.read_cfg(self.pmpcfg_index(csr)?),
            PMPADDR0..=PMPADDR63 => self.pmp.read_addr(self.pmpaddr_index(csr)?),
            _ => return Err(Trap::illegal()),
        };
        Ok(v)
    }

    /// Writes `csr` (WARL legalisation here; TLB flushes where translation
    /// or PMP changes). CSR instructions always end the decoded block, so
    /// interrupts a write enables are taken right after it. The bus gives
    /// `time` to stimecmp and menvcfg.STCE writes.
    pub(crate) fn csr_write<B: SystemBus>(
        &mut self,
        bus: &mut B,
        csr: u16,
        v: u64,
    ) -> Result<(), Trap> {
        if (self.prv as u64) < csr_priv(csr) || csr >> 10 == 3 {
            return Err(Trap::illegal());
        }
        match csr {
            FFLAGS | FRM | FCSR => {
                if !self.fp_enabled() {
                    return Err(Trap::illegal());
                }
                match csr {
                    FFLAGS => self.csr.fflags = v & 0x1f,
                    FRM => self.csr.frm = v & 7,
                    _ => {
                        self.csr.fflags = v & 0x1f;
                        self.csr.frm = (v >> 5) & 7;
                    }
                }
                self.set_fs_dirty();
            }
            SSTATUS => {
                let mut mask = MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP | MSTATUS_SUM | MSTATUS_MXR;
                if self.cfg.ext_f {
                    mask |= MSTATUS_FS;
                }
                self.write_mstatus_masked(v, mask);
            }
            SIE => {
                let m = self.csr.mideleg & S_VIEW;
                self.csr.mie = (self.csr.mie & !m) | (v & m);
            }
            SIP => {
                let m = self.csr.mideleg & SIP_WRITABLE;
                self.csr.mip_sw = (self.csr.mip_sw & !m) | (v & m);
            }
            STVEC => {
                if v & 3 < 2 {
                    self.csr.stvec = v;
                }
            }
            SCOUNTEREN => self.csr.scounteren = v & self.counteren_mask(),
            SENVCFG => self.csr.senvcfg = v & ENVCFG_WRITABLE,
            STIMECMP => {
                self.stimecmp_access()?;
                self.csr.stimecmp = v;
                self.stimer_write(bus.mtime(self.icount));
            }
            SSCRATCH => self.csr.sscratch = v,
            // Kept whole, as QEMU 10.0.2; bit 0 is dropped where sret uses it.
            SEPC => self.csr.sepc = v,
            SCAUSE => self.csr.scause = v,
            STVAL => self.csr.stval = v,
            SATP => {
                if self.prv == Priv::S && self.csr.mstatus & MSTATUS_TVM != 0 {
                    return Err(Trap::illegal());
                }
                let mode = v >> 60;
                let ok = self.cfg.mmu.accepts(mode);
                if ok {
                    // MODE, 16-bit ASID and 44-bit PPN are all writable.
                    let old = std::mem::replace(&mut self.csr.satp, v);
                    if (old ^ v) >> 60 != 0 {
                        // A new MODE takes effect at once, fence or not.
                        self.tlb.flush();
                    } else {
                        // Global mappings are the same in every address space.
                        self.tlb.flush_non_global();
                    }
                }
            }
            MSTATUS => {
                let mut mask = MSTATUS_SIE
                    | MSTATUS_MIE
                    | MSTATUS_SPIE
                    | MSTATUS_MPIE
                    | MSTATUS_SPP
                    | MSTATUS_MPP
                    | MSTATUS_MPRV
                    | MSTATUS_SUM
                    | MSTATUS_MXR
                    | MSTATUS_TVM
                    | MSTATUS_TW
                    | MSTATUS_TSR;
                if self.cfg.ext_f {
                    mask |= MSTATUS_FS;
                }
                let mut v = v;
                if Priv::from_bits(v >> MSTATUS_MPP_SHIFT).is_none() {
                    // MPP is WARL: the reserved value 2 keeps the old value.
                    v = (v & !MSTATUS_MPP) | (self.csr.mstatus & MSTATUS_MPP);
                }
                self.write_mstatus_masked(v, mask);
            }
            MISA => {} // WARL, not writable (as QEMU without misa-w)
            MEDELEG => self.csr.medeleg = v & DELEGABLE_EXCEPTIONS,
            MIDELEG => self.csr.mideleg = v & DELEGABLE_INTS,
            MIE => self.csr.mie = v & MIE_WRITABLE,
            MTVEC => {
                if v & 3 < 2 {
                    self.csr.mtvec = v;
                }
            }
            MCOUNTEREN => self.csr.mcounteren = v & self.counteren_mask(),
            MENVCFG => {
                let mut mask = ENVCFG_WRITABLE | MENVCFG_CDE;
                if self.cfg.ext.sstc {
                    mask |= MENVCFG_STCE;
                }
                if self.cfg.ext.svadu {
                    mask |= MENVCFG_ADUE;
                }
                let old = self.csr.menvcfg;
                self.csr.menvcfg = (old & !mask) | (v & mask);
                if (old ^ self.csr.menvcfg) & MENVCFG_ADUE != 0 {
                    self.tlb.flush(); // cached translations assumed the old A/D rule
                }
            }
            MCOUNTINHIBIT => {
                // Re-encode every counter under the new inhibit bits.
                let (cy, ir) = (self.counter(0), self.counter(2));
                let mask = COUNTER_CY | COUNTER_IR | self.hpm_available() as u64;
                self.hpm_reencode(|h| h.csr.mcountinhibit = v & mask);
                self.set_counter(0, cy);
                self.set_counter(2, ir);
            }
            MSCRATCH => self.csr.mscratch = v,
            MEPC => self.csr.mepc = v,
            MCAUSE => self.csr.mcause = v,
            MTVAL => self.csr.mtval = v,
            MIP => {
                let mut m = MIP_WRITABLE;
                if self.stce() {
                    m &= !irq::STIP; // Sstc: the timer owns STIP
                }
                self.csr.mip_sw = (self.csr.mip_sw & !m) | (v & m);
            }
            MCYCLE => self.write_counter(0, v),
            MINSTRET => self.write_counter(2, v),
            MHPMCOUNTER3..=MHPMCOUNTER31 => {
                let n = (csr - MCYCLE) as u32;
                if !self.hpm_exists(n) {
                    return Err(Trap::illegal());
                }
                // As mcycle: the value shows once the writing csrw retired.
                let running = self.hpm_running(n);
                let v = if running { v.wrapping_sub(1) } else { v };
                self.csr.hpm.set(n, v, self.icount, running);
            }
            MHPMEVENT3..=MHPMEVENT31 => {
                let n = (csr - MCOUNTINHIBIT) as u32;
                self.hpm_reencode(|h| h.csr.hpm.set_event(n, v & hpm::EVENT_WRITABLE));
            }
            PMPCFG0..=PMPCFG15 => {
                let reg = self.pmpcfg_index(csr)?;
                self.pmp.write_cfg(reg, v);
                self.tlb.flush();
            }
            PMPADDR0..=PMPADDR63 => {
                let i = self.pmpaddr_index(csr)?;
                self.pmp.write_addr(i, v);
                self.tlb.flush();
            }
            _ => return Err(Trap::illegal()),
        }
        Ok(())
    }

    /// The pmpcfg register index (pmpcfg0 = 0, pmpcfg2 = 1) if `csr` is one
    /// this hart has: even numbers only on RV64, and as QEMU 10.0.2 only
    /// those covering implemented entries.
    fn pmpcfg_index(&self, csr: u16) -> Result<usize, Trap> {
        let n = (csr - PMPCFG0) as usize;
        if n & 1 != 0 || n * 4 >= self.pmp.entries() {
            return Err(Trap::illegal());
        }
        Ok(n / 2)
    }

    /// The entry of pmpaddr `csr`, if the hart has it (QEMU 10.0.2 traps
    /// on pmpaddr16..63 with its 16 entries).
    fn pmpaddr_index(&self, csr: u16) -> Result<usize, Trap> {
        let i = (csr - PMPADDR0) as usize;
        if i >= self.pmp.entries() {
            return Err(Trap::illegal());
        }
        Ok(i)
    }

    /// Writable mcounteren/scounteren bits: the fixed counters and the hpm ones.
    fn counteren_mask(&self) -> u64 {
        COUNTER_CY | COUNTER_TM | COUNTER_IR | self.hpm_available() as u64
    }

    /// Sstc is on and enabled by menvcfg.STCE.
    #[inline]
    fn stce(&self) -> bool {
        self.cfg.ext.sstc && self.csr.menvcfg & MENVCFG_STCE != 0
    }

    /// QEMU's `sstc` predicate for stimecmp: the extension, S-mode or
    /// above, and below M both mcounteren.TM and menvcfg.STCE.
    fn stimecmp_access(&self) -> Result<(), Trap> {
        let ok = self.cfg.ext.sstc
            && (self.prv == Priv::M
                || (self.prv == Priv::S
                    && self.csr.mcounteren & COUNTER_TM != 0
                    && self.csr.menvcfg & MENVCFG_STCE != 0));
        if ok {
            Ok(())
        } else {
            Err(Trap::illegal())
        }
    }

    /// stimecmp was written at time `mtime`. As QEMU 10.0.2 (checked by
    /// fixtures/priv), whatever menvcfg.STCE says: a value already reached
    /// raises STIP at once (an armed timer stays armed), a later one
    /// clears STIP and arms the timer for that value. The write ends the
    /// slice, so the run loop takes the new deadline into account from
    /// the next instruction on, in every mode.
    fn stimer_write(&mut self, mtime: u64) {
        self.timer_moved = true;
        self.did_mmio = true;
        if mtime >= self.csr.stimecmp {
            self.csr.mip_sw |= irq::STIP;
        } else {
            self.csr.mip_sw &= !irq::STIP;
            self.csr.stimer_at = Some(self.csr.stimecmp);
        }
    }

    /// The mtime value at which the armed Sstc timer raises STIP: the run
    /// loop ends slices there (a device deadline like mtimecmp's).
    pub fn stimer_deadline(&self) -> Option<u64> {
        self.csr.stimer_at
    }

    /// Fires the armed Sstc timer if `mtime` reached it (the run loop calls
    /// this at every slice boundary; slices end at the deadline).
    pub fn stimer_poll(&mut self, mtime: u64) {
        if self.csr.stimer_at.is_some_and(|t| mtime >= t) {
            self.csr.stimer_at = None;
            self.csr.mip_sw |= irq::STIP;
        }
    }

    /// mcycle (bit 0) or minstret (bit 2): icount-based unless inhibited.
    fn counter(&self, bit: u32) -> u64 {
        let base = if bit == 0 {
            self.csr.mcycle_base
        } else {
            self.csr.minstret_base
        };
        if self.csr.mcountinhibit >> bit & 1 != 0 {
            base
        } else {
            self.icount.wrapping_sub(base)
        }
    }

    /// Makes counter `bit` read `v` now (frozen at `v` if inhibited).
    fn set_counter(&mut self, bit: u32, v: u64) {
        let base = if self.csr.mcountinhibit >> bit & 1 != 0 {
            v
        } else {
            self.icount.wrapping_sub(v)
        };
        if bit == 0 {
            self.csr.mcycle_base = base;
        } else {
            self.csr.minstret_base = base;
        }
    }

    /// A CSR write of `v` to counter `bit`. The writing instruction has not
    /// retired yet; the counter reads `v` right after it does.
    fn write_counter(&mut self, bit: u32, v: u64) {
        if self.csr.mcountinhibit >> bit & 1 != 0 {
            self.set_counter(bit, v);
        } else {
            self.set_counter(bit, v.wrapping_sub(1));
        }
    }

    fn write_mstatus_masked(&mut self, v: u64, mask: u64) {
        let old = self.csr.mstatus;
        // UXL: QEMU 10.0.2 keeps a non-zero value written through mstatus
        // or sstatus (3 as well as 2); emu refuses 1, having no RV32 U-mode.
        let uxl = if matches!(v >> 32 & 3, 2 | 3) {
            v & MSTATUS_UXL
        } else {
            old & MSTATUS_UXL
        };
        self.csr.mstatus = (old & !mask & !MSTATUS_UXL) | (v & mask) | uxl | MSTATUS_SXL;
        // SUM picks other TLB entries (update_dprv); MXR changes what they allow.
        if (old ^ self.csr.mstatus) & MSTATUS_MXR != 0 {
            self.tlb.flush();
        }
        self.update_dprv();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::testbus::TestBus;

    fn hart() -> (Hart, TestBus) {
        (
            Hart::new(HartConfig::default()),
            TestBus::new(0x8000_0000, 1 << 16),
        )
    }

    #[test]
    fn mstatus_warl() {
        let (mut h, mut b) = hart();
        h.csr_write(&mut b, MSTATUS, u64::MAX).unwrap();
        let v = h.csr_read(&mut b, MSTATUS).unwrap();
        assert_eq!(
            v >> 32 & 0xf,
            0xb,
            "UXL takes 3 as on QEMU, SXL=2 read-only"
        );
        assert_ne!(v & MSTATUS_SD, 0, "FS=dirty sets SD");
        assert_eq!(v & (1 << 6), 0, "UBE stays 0");
        // MPP=2 is reserved: old value kept.
        h.csr_write(&mut b, MSTATUS, 2 << MSTATUS_MPP_SHIFT)
            .unwrap();
        assert_eq!(h.csr.mstatus & MSTATUS_MPP, MSTATUS_MPP);
        h.csr_write(&mut b, MSTATUS, 0).unwrap();
        assert_eq!(h.csr.mstatus >> 32 & 0xf, 0xb, "UXL ignores 0");
        h.csr_write(&mut b, MSTATUS, 1 << 32).unwrap();
        assert_eq!(h.csr.mstatus >> 32 & 0xf, 0xb, "and 1 (no RV32 U-mode)");
    }

    #[test]
    fn fs_not_writable_without_f() {
        let mut h = Hart::new(HartConfig {
            ext_f: false,
            ext_d: false,
            ..HartConfig::default()
        });
        let mut b = TestBus::new(0x8000_0000, 1 << 16);
        h.csr_write(&mut b, MSTATUS, MSTATUS_FS).unwrap();
        assert_eq!(h.csr.mstatus & MSTATUS_FS, 0);
        assert!(h.csr_read(&mut b, FCSR).is_err());
        assert_eq!(h.csr_read(&mut b, MISA).unwrap() & (1 << 5), 0);
    }

    #[test]
    fn unimplemented_csrs_trap() {
        let mut h = Hart::new(crate::cpu::model::mincpu());
        let mut b = TestBus::new(0x8000_0000, 1 << 16);
        for c in [
            0x14d, 0x30c, 0x34a, 0x34b, 0xda0, 0xfb0, 0xb03, 0xc03, 0x7a0, 0x7a4, 0x747, 0x321,
            0x3a1, 0x3a4, 0x3c0,
        ] {
            assert_eq!(h.csr_read(&mut b, c), Err(Trap::illegal()), "csr {c:#x}");
        }
        assert!(h.csr_read(&mut b, 0x30a).is_ok(), "menvcfg exists");
        assert!(h.csr_read(&mut b, 0x320).is_ok(), "mcountinhibit exists");
        assert!(
            h.csr_read(&mut b, 0x323).is_ok(),
            "mhpmevent3 exists even without Zihpm"
        );
        let (mut h, mut b) = hart();
        for c in [0x14d, 0xb03, 0xb12, 0xc03, 0xc12] {
            assert!(h.csr_read(&mut b, c).is_ok(), "csr {c:#x} with Sstc/Zihpm");
        }
        for c in [0xb13, 0xb1f, 0xc13, 0xc1f] {
            assert!(
                h.csr_read(&mut b, c).is_err(),
                "csr {c:#x}: beyond pmu-mask"
            );
        }
    }

    #[test]
    fn envcfg_masks_and_cbo_access() {
        let (mut h, mut b) = hart();
        assert_eq!(h.csr.menvcfg, MENVCFG_ADUE, "Svadu: ADUE at reset");
        h.csr_write(&mut b, MENVCFG, u64::MAX).unwrap();
        assert_eq!(h.csr.menvcfg, 0xb000_0000_0000_00f1);
        h.csr_write(&mut b, SENVCFG, u64::MAX).unwrap();
        assert_eq!(h.csr.senvcfg, 0xf1);
        h.prv = Priv::U;
        assert!(h.envcfg_allows(ENVCFG_CBZE));
        h.csr.senvcfg = 0;
        assert!(!h.envcfg_allows(ENVCFG_CBZE), "U needs senvcfg too");
        h.prv = Priv::S;
        assert!(h.envcfg_allows(ENVCFG_CBZE));
        h.csr.menvcfg = 1 << 4; // CBIE = 01: inval acts as flush
        assert!(h.envcfg_allows(ENVCFG_CBIE) && h.cbo_inval_flushes());
        assert!(!h.envcfg_allows(ENVCFG_CBCFE));
        h.prv = Priv::M;
        assert!(h.envcfg_allows(ENVCFG_CBCFE) && !h.cbo_inval_flushes());
        let mut min = Hart::new(crate::cpu::model::mincpu());
        min.csr_write(&mut b, MENVCFG, u64::MAX).unwrap();
        assert_eq!(min.csr.menvcfg, 0x1000_0000_0000_00f1, "no STCE, no ADUE");
    }

    #[test]
    fn stimecmp_drives_stip_and_is_gated_below_m() {
        let (mut h, mut b) = hart(); // TestBus: time = icount / 10
        h.icount = 1000;
        h.csr_write(&mut b, STIMECMP, 150).unwrap();
        assert_eq!(h.csr.mip_sw & irq::STIP, 0);
        assert_eq!(h.stimer_deadline(), Some(150));
        assert!(h.timer_moved, "a stimecmp write ends the slice");
        h.stimer_poll(149);
        assert_eq!(h.csr.mip_sw & irq::STIP, 0);
        h.stimer_poll(150);
        assert_ne!(h.csr.mip_sw & irq::STIP, 0, "fired");
        assert_eq!(h.stimer_deadline(), None, "fires once");
        h.csr_write(&mut b, STIMECMP, u64::MAX).unwrap();
        assert_eq!(h.csr.mip_sw & irq::STIP, 0, "a later value clears STIP");
        h.csr_write(&mut b, STIMECMP, 50).unwrap();
        assert_ne!(
            h.csr.mip_sw & irq::STIP,
            0,
            "a past value raises it at once"
        );
        // With STCE, M cannot write mip.STIP.
        h.csr_write(&mut b, MENVCFG, MENVCFG_STCE).unwrap();
        h.csr_write(&mut b, MIP, 0).unwrap();
        assert_ne!(h.csr.mip_sw & irq::STIP, 0);
        // S needs mcounteren.TM and STCE; U never.
        h.prv = Priv::S;
        assert!(h.csr_read(&mut b, STIMECMP).is_err());
        h.csr.mcounteren = 2;
        assert!(h.csr_read(&mut b, STIMECMP).is_ok());
        h.csr.menvcfg = 0;
        assert!(h.csr_read(&mut b, STIMECMP).is_err());
        h.csr.menvcfg = MENVCFG_STCE;
        h.prv = Priv::U;
        h.csr.scounteren = 2;
        assert!(h.csr_read(&mut b, STIMECMP).is_err());
    }

    #[test]
    fn hpm_counters_hold_values_and_count_mapped_events() {
        let (mut h, mut b) = hart();
        h.csr_write(&mut b, MHPMCOUNTER3, 1000).unwrap();
        h.icount = 50;
        assert_eq!(h.csr_read(&mut b, MHPMCOUNTER3).unwrap(), 1000, "no event");
        h.csr_write(&mut b, MHPMEVENT3, 2).unwrap();
        h.icount = 60;
        assert_eq!(h.csr_read(&mut b, MHPMCOUNTER3).unwrap(), 1010);
        h.csr_write(&mut b, MHPMEVENT3 + 1, 2).unwrap();
        h.csr_write(&mut b, MHPMCOUNTER3 + 1, 5).unwrap();
        h.icount = 70;
        assert_eq!(
            h.csr_read(&mut b, MHPMCOUNTER3 + 1).unwrap(),
            5,
            "event 2 stays with counter 3"
        );
        h.csr_write(&mut b, MCOUNTINHIBIT, 1 << 3).unwrap();
        h.icount = 90;
        assert_eq!(h.csr_read(&mut b, MHPMCOUNTER3).unwrap(), 1020, "inhibited");
        assert_eq!(h.csr.mcountinhibit, 1 << 3);
        h.csr_write(&mut b, MHPMEVENT3, u64::MAX).unwrap();
        assert_eq!(
            h.csr_read(&mut b, MHPMEVENT3).unwrap(),
            0xf3ff_ffff_ffff_ffff
        );
        h.csr_write(&mut b, MCOUNTEREN, u64::MAX).unwrap();
        assert_eq!(h.csr.mcounteren, 0x7ffff);
        h.prv = Priv::S;
        assert_eq!(h.csr_read(&mut b, HPMCOUNTER3).unwrap(), 1020);
    }

    #[test]
    fn tvec_mode_warl_and_epc_alignment() {
        let (mut h, mut b) = hart();
        h.csr_write(&mut b, MTVEC, 0x8000_0001).unwrap();
        h.csr_write(&mut b, MTVEC, 0x9000_0002).unwrap();
        assert_eq!(h.csr.mtvec, 0x8000_0001, "mode 2 write ignored");
        h.csr_write(&mut b, MEPC, 0x8000_0003).unwrap();
        assert_eq!(h.csr.mepc, 0x8000_0003, "kept whole, as QEMU 10.0.2");
        h.do_mret();
        assert_eq!(h.pc, 0x8000_0002, "bit 0 dropped on use");
    }

    #[test]
    fn delegation_masks() {
        let (mut h, mut b) = hart();
        h.csr_write(&mut b, MIDELEG, u64::MAX).unwrap();
        assert_eq!(h.csr.mideleg, 0x2666, "QEMU 10.0.2's mask, VS bits too");
        h.csr_write(&mut b, MEDELEG, u64::MAX).unwrap();
        assert_eq!(h.csr.medeleg, 0xf4_bfff, "QEMU 10.0.2's mask");
        h.csr_write(&mut b, MIE, u64::MAX).unwrap();
        h.csr_write(&mut b, SIE, 0).unwrap();
        assert_eq!(
            h.csr.mie,
            0xffff_ffff_ffff_eaaa & !0x2666,
            "sie clears only delegated bits"
        );
    }

    #[test]
    fn satp_modes() {
        let (mut h, mut b) = hart();
        h.csr_write(&mut b, SATP, 8 << 60 | 0x1234).unwrap();
        assert_eq!(h.csr.satp, 8 << 60 | 0x1234);
        h.csr_write(&mut b, SATP, 10 << 60 | 0x1).unwrap();
        assert_eq!(h.csr.satp, 10 << 60 | 0x1, "Sv57");
        h.csr_write(&mut b, SATP, 11 << 60 | 0x2).unwrap();
        assert_eq!(h.csr.satp, 10 << 60 | 0x1, "Sv64 unsupported: ignored");
        let mut min = Hart::new(crate::cpu::model::mincpu());
        min.csr_write(&mut b, SATP, 9 << 60 | 0x3).unwrap();
        assert_eq!(min.csr.satp, 0, "Sv48 not in an Sv39 hart");
        h.prv = Priv::S;
        h.csr.mstatus |= MSTATUS_TVM;
        assert!(h.csr_read(&mut b, SATP).is_err());
    }

    #[test]
    fn counters_gated_by_counteren() {
        let (mut h, mut b) = hart();
        h.prv = Priv::U;
        assert!(h.csr_read(&mut b, CYCLE).is_err());
        h.csr.mcounteren = 7;
        assert!(
            h.csr_read(&mut b, CYCLE).is_err(),
            "scounteren also needed in U"
        );
        h.csr.scounteren = 1;
        assert!(h.csr_read(&mut b, CYCLE).is_ok());
        assert!(h.csr_read(&mut b, TIME).is_err());
    }

    #[test]
    fn mcountinhibit_freezes_and_writes_set_counters() {
        let (mut h, mut b) = hart();
        h.icount = 100;
        assert_eq!(h.csr_read(&mut b, MINSTRET).unwrap(), 100);
        h.csr_write(&mut b, MCOUNTINHIBIT, 4).unwrap(); // IR
        h.icount = 150;
        assert_eq!(h.csr_read(&mut b, MINSTRET).unwrap(), 100, "frozen");
        assert_eq!(h.csr_read(&mut b, MCYCLE).unwrap(), 150, "CY still counts");
        h.csr_write(&mut b, MCOUNTINHIBIT, 0).unwrap();
        h.icount = 160;
        assert_eq!(
            h.csr_read(&mut b, MINSTRET).unwrap(),
            110,
            "resumes from the frozen value"
        );
        h.csr_write(&mut b, MCYCLE, 1000).unwrap();
        h.icount = 161; // the csrw retired
        assert_eq!(h.csr_read(&mut b, MCYCLE).unwrap(), 1000);
    }

    #[test]
    fn read_only_csr_write_traps() {
        let (mut h, mut b) = hart();
        assert!(h.csr_write(&mut b, MHARTID, 1).is_err());
        assert_eq!(h.csr_read(&mut b, MARCHID_CSR).unwrap(), MARCHID);
    }
}
