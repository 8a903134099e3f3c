//! Control and status registers: storage, access checks, WARL legalisation.
//!
//! Every CSR the hart implements is listed in `read`/`write`; any other
//! number raises illegal instruction, which OpenSBI relies on when it probes
//! optional CSRs (stimecmp, mstateen0, hpmcounters, debug triggers, ...).

pub mod addr;

use super::trap::Trap;
use super::{Hart, HartConfig, Priv};
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
/// UXL = SXL = 2 (64-bit), read-only.
pub const MSTATUS_XL: u64 = (2 << 32) | (2 << 34);
pub const MSTATUS_SD: u64 = 1 << 63;

/// menvcfg/senvcfg: fence of I/O implies memory (the only bit before Zicbo*).
pub const ENVCFG_FIOM: u64 = 1;
/// menvcfg/senvcfg cache-block enables: cbo.inval (2-bit field), cbo.clean
/// and cbo.flush, cbo.zero. Writable whatever extensions exist, as QEMU.
pub const ENVCFG_CBIE: u64 = 3 << 4;
pub const ENVCFG_CBCFE: u64 = 1 << 6;
pub const ENVCFG_CBZE: u64 = 1 << 7;
const ENVCFG_CBO: u64 = ENVCFG_CBIE | ENVCFG_CBCFE | ENVCFG_CBZE;

const SSTATUS_MASK: u64 = MSTATUS_SIE
    | MSTATUS_SPIE
    | MSTATUS_SPP
    | MSTATUS_FS
    | MSTATUS_SUM
    | MSTATUS_MXR
    | (3 << 32)
    | MSTATUS_SD;

/// Interrupt bits that exist (S and M software/timer/external).
const ALL_INTS: u64 = 0xaaa;
/// Interrupts M-mode can delegate (the S-level ones).
const DELEGABLE_INTS: u64 = 0x222;
/// mip bits software may write (the others mirror board lines).
const MIP_WRITABLE: u64 = 0x222;
/// Writable medeleg bits: causes 0-9, 11-13, 15, as QEMU without H. Bit 11
/// (ecall from M) is writable there although M traps are never delegated.
const DELEGABLE_EXCEPTIONS: u64 = 0xbbff;

/// Values QEMU 10.0.2 reports for its generic CPUs (marchid = mimpid = version).
pub const MVENDORID: u64 = 0;
pub const MARCHID: u64 = 0x000a_0002;
pub const MIMPID: u64 = 0x000a_0002;

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
            menvcfg: 0,
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
            SSTATUS => c.mstatus_read() & SSTATUS_MASK,
            SIE => c.mie & c.mideleg,
            SIP => self.mip(bus.irq_lines()) & c.mideleg,
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
            MVENDORID_CSR => MVENDORID,
            MARCHID_CSR => MARCHID,
            MIMPID_CSR => MIMPID,
            MHARTID => c.mhartid,
            MCONFIGPTR => 0,
            PMPCFG0..=PMPCFG15 => {
                let n = csr - PMPCFG0;
                if n & 1 != 0 {
                    return Err(Trap::illegal()); // odd pmpcfg do not exist on RV64
                }
                self.pmp.read_cfg(n as usize / 2)
            }
            PMPADDR0..=PMPADDR63 => self.pmp.read_addr((csr - PMPADDR0) as usize),
            _ => return Err(Trap::illegal()),
        };
        Ok(v)
    }

    /// Writes `csr` (WARL legalisation here; TLB flushes where translation
    /// or PMP changes). CSR instructions always end the decoded block, so
    /// interrupts a write enables are taken right after it. The bus is
    /// unused today (no CSR writes to a device) but keeps the read/write
    /// signatures alike.
    pub(crate) fn csr_write<B: SystemBus>(
        &mut self,
        _bus: &mut B,
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
                let m = self.csr.mideleg;
                self.csr.mie = (self.csr.mie & !m) | (v & m);
            }
            SIP => {
                let m = self.csr.mideleg & (1 << 1); // only SSIP is writable through sip
                self.csr.mip_sw = (self.csr.mip_sw & !m) | (v & m);
            }
            STVEC => {
                if v & 3 < 2 {
                    self.csr.stvec = v;
                }
            }
            SCOUNTEREN => self.csr.scounteren = v & 7,
            SENVCFG => self.csr.senvcfg = v & (ENVCFG_FIOM | ENVCFG_CBO),
            SSCRATCH => self.csr.sscratch = v,
            SEPC => self.csr.sepc = v & !1,
            SCAUSE => self.csr.scause = v,
            STVAL => self.csr.stval = v,
            SATP => {
                if self.prv == Priv::S && self.csr.mstatus & MSTATUS_TVM != 0 {
                    return Err(Trap::illegal());
                }
                let mode = v >> 60;
                let ok = mode == 0 || mode == 8 || (mode == 9 && self.cfg.sv48);
                if ok {
                    // MODE, 16-bit ASID and 44-bit PPN are all writable.
                    self.csr.satp = v;
                    self.tlb.flush();
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
            MIE => self.csr.mie = v & ALL_INTS,
            MTVEC => {
                if v & 3 < 2 {
                    self.csr.mtvec = v;
                }
            }
            MCOUNTEREN => self.csr.mcounteren = v & 7,
            MENVCFG => self.csr.menvcfg = v & (ENVCFG_FIOM | ENVCFG_CBO),
            MCOUNTINHIBIT => {
                // Re-encode both counters under the new inhibit bits.
                let (cy, ir) = (self.counter(0), self.counter(2));
                self.csr.mcountinhibit = v & 5;
                self.set_counter(0, cy);
                self.set_counter(2, ir);
            }
            MSCRATCH => self.csr.mscratch = v,
            MEPC => self.csr.mepc = v & !1,
            MCAUSE => self.csr.mcause = v,
            MTVAL => self.csr.mtval = v,
            MIP => self.csr.mip_sw = (self.csr.mip_sw & !MIP_WRITABLE) | (v & MIP_WRITABLE),
            MCYCLE => self.write_counter(0, v),
            MINSTRET => self.write_counter(2, v),
            PMPCFG0..=PMPCFG15 => {
                let n = csr - PMPCFG0;
                if n & 1 != 0 {
                    return Err(Trap::illegal());
                }
                self.pmp.write_cfg(n as usize / 2, v);
                self.tlb.flush();
            }
            PMPADDR0..=PMPADDR63 => {
                self.pmp.write_addr((csr - PMPADDR0) as usize, v);
                self.tlb.flush();
            }
            _ => return Err(Trap::illegal()),
        }
        Ok(())
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
        self.csr.mstatus = (old & !mask) | (v & mask) | MSTATUS_XL;
        if (old ^ self.csr.mstatus) & (MSTATUS_SUM | MSTATUS_MXR) != 0 {
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
        assert_eq!(v >> 32 & 0xf, 0xa, "UXL=SXL=2 read-only");
        assert_ne!(v & MSTATUS_SD, 0, "FS=dirty sets SD");
        assert_eq!(v & (1 << 6), 0, "UBE stays 0");
        // MPP=2 is reserved: old value kept.
        h.csr_write(&mut b, MSTATUS, 2 << MSTATUS_MPP_SHIFT)
            .unwrap();
        assert_eq!(h.csr.mstatus & MSTATUS_MPP, MSTATUS_MPP);
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
        let (mut h, mut b) = hart();
        for c in [
            0x14d, 0x30c, 0x34a, 0x34b, 0xda0, 0xfb0, 0xb03, 0x323, 0x7a0, 0x7a4, 0x747, 0x321,
            0x3a1,
        ] {
            assert_eq!(h.csr_read(&mut b, c), Err(Trap::illegal()), "csr {c:#x}");
        }
        assert!(h.csr_read(&mut b, 0x30a).is_ok(), "menvcfg exists");
        assert!(h.csr_read(&mut b, 0x320).is_ok(), "mcountinhibit exists");
    }

    #[test]
    fn tvec_mode_warl_and_epc_alignment() {
        let (mut h, mut b) = hart();
        h.csr_write(&mut b, MTVEC, 0x8000_0001).unwrap();
        h.csr_write(&mut b, MTVEC, 0x9000_0002).unwrap();
        assert_eq!(h.csr.mtvec, 0x8000_0001, "mode 2 write ignored");
        h.csr_write(&mut b, MEPC, 0x8000_0003).unwrap();
        assert_eq!(h.csr.mepc, 0x8000_0002);
    }

    #[test]
    fn delegation_masks() {
        let (mut h, mut b) = hart();
        h.csr_write(&mut b, MIDELEG, u64::MAX).unwrap();
        assert_eq!(h.csr.mideleg, 0x222);
        h.csr_write(&mut b, MEDELEG, u64::MAX).unwrap();
        assert_eq!(h.csr.medeleg, 0xbbff, "no reserved causes");
        h.csr_write(&mut b, MIE, u64::MAX).unwrap();
        h.csr_write(&mut b, SIE, 0).unwrap();
        assert_eq!(h.csr.mie, 0x888, "sie clears only delegated bits");
    }

    #[test]
    fn satp_modes() {
        let (mut h, mut b) = hart();
        h.csr_write(&mut b, SATP, 8 << 60 | 0x1234).unwrap();
        assert_eq!(h.csr.satp, 8 << 60 | 0x1234);
        h.csr_write(&mut b, SATP, 10 << 60 | 0x1).unwrap();
        assert_eq!(h.csr.satp, 8 << 60 | 0x1234, "Sv57 unsupported: ignored");
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
