//! The hart as gdb sees it: [`EmuRiscv64`], an [`Arch`] whose target
//! description has the integer registers and pc (the `g` packet, as
//! `gdbstub_arch`'s Riscv64), the F/D registers and the CSRs emu
//! implements, and the privilege level. gdb reads the last three one at a
//! time (`p` packets), as it does from QEMU.
//!
//! Register numbers follow gdb's RISC-V conventions: x0..x31 = 0..31,
//! pc = 32, f0..f31 = 33..64, CSR n = 65 + n, priv = 4161 ([`EmuRegId`];
//! unlike `gdbstub_arch`'s, it gives the FP CSRs gdb's 32 bits). The XML
//! is written here from the feature names in GDB's manual ("RISC-V
//! Features").

use std::fmt::Write;
use std::sync::OnceLock;

use std::num::NonZeroUsize;

use gdbstub::arch::{Arch, RegId};
use gdbstub_arch::riscv::reg::RiscvCoreRegs;

use crate::cpu::csr::addr as csr;

/// riscv64 with FP registers and CSRs.
pub enum EmuRiscv64 {}

impl Arch for EmuRiscv64 {
    type Usize = u64;
    type Registers = RiscvCoreRegs<u64>;
    type BreakpointKind = usize;
    type RegId = EmuRegId;

    fn target_description_xml() -> Option<&'static str> {
        static FULL: OnceLock<String> = OnceLock::new();
        Some(FULL.get_or_init(|| target_xml(true)))
    }
}

/// A register gdb reads or writes on its own (`p`/`P` packets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmuRegId {
    Gpr(u8),
    Pc,
    Fpr(u8),
    Csr(u16),
    Priv,
}

impl EmuRegId {
    /// Size in bytes, as the target description gives it.
    pub fn size(self) -> usize {
        match self {
            EmuRegId::Csr(c) if FP_CSRS.iter().any(|&(_, n)| n == c) => 4,
            EmuRegId::Priv => 1,
            _ => 8,
        }
    }
}

impl RegId for EmuRegId {
    fn from_raw_id(id: usize) -> Option<(Self, Option<NonZeroUsize>)> {
        let reg = match id {
            0..=31 => EmuRegId::Gpr(id as u8),
            32 => EmuRegId::Pc,
            33..=64 => EmuRegId::Fpr((id - 33) as u8),
            PRIV_REGNUM => EmuRegId::Priv,
            _ if (CSR_BASE..CSR_BASE + 4096).contains(&id) => EmuRegId::Csr((id - CSR_BASE) as u16),
            _ => return None,
        };
        Some((reg, NonZeroUsize::new(reg.size())))
    }
}

/// gdb's register number of CSR `n`.
pub const CSR_BASE: usize = 65;

/// The CSRs shown to gdb (`info registers csr`), by their ABI names.
pub const CSRS: &[(&str, u16)] = &[
    ("cycle", csr::CYCLE),
    ("time", csr::TIME),
    ("instret", csr::INSTRET),
    ("sstatus", csr::SSTATUS),
    ("sie", csr::SIE),
    ("stvec", csr::STVEC),
    ("scounteren", csr::SCOUNTEREN),
    ("senvcfg", csr::SENVCFG),
    ("sscratch", csr::SSCRATCH),
    ("sepc", csr::SEPC),
    ("scause", csr::SCAUSE),
    ("stval", csr::STVAL),
    ("sip", csr::SIP),
    ("satp", csr::SATP),
    ("mstatus", csr::MSTATUS),
    ("misa", csr::MISA),
    ("medeleg", csr::MEDELEG),
    ("mideleg", csr::MIDELEG),
    ("mie", csr::MIE),
    ("mtvec", csr::MTVEC),
    ("mcounteren", csr::MCOUNTEREN),
    ("menvcfg", csr::MENVCFG),
    ("mcountinhibit", csr::MCOUNTINHIBIT),
    ("mscratch", csr::MSCRATCH),
    ("mepc", csr::MEPC),
    ("mcause", csr::MCAUSE),
    ("mtval", csr::MTVAL),
    ("mip", csr::MIP),
    ("pmpcfg0", csr::PMPCFG0),
    ("pmpcfg2", csr::PMPCFG0 + 2),
    ("mcycle", csr::MCYCLE),
    ("minstret", csr::MINSTRET),
    ("mvendorid", csr::MVENDORID_CSR),
    ("marchid", csr::MARCHID_CSR),
    ("mimpid", csr::MIMPID_CSR),
    ("mhartid", csr::MHARTID),
];

const X_NAMES: [&str; 32] = [
    "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "fp", "s1", "a0", "a1", "a2", "a3", "a4",
    "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4",
    "t5", "t6",
];

const F_NAMES: [&str; 32] = [
    "ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1", "fa0", "fa1", "fa2",
    "fa3", "fa4", "fa5", "fa6", "fa7", "fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9",
    "fs10", "fs11", "ft8", "ft9", "ft10", "ft11",
];

/// The FP CSRs: 32 bits wide in gdb's FPU feature.
pub const FP_CSRS: [(&str, u16); 3] = [
    ("fflags", csr::FFLAGS),
    ("frm", csr::FRM),
    ("fcsr", csr::FCSR),
];

/// gdb's register number of the privilege level (feature `virtual`).
pub const PRIV_REGNUM: usize = 4161;

/// The target description for a hart with (`fpu`) or without F/D.
pub fn target_xml(fpu: bool) -> String {
    let mut x = String::from(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n\
         <target version=\"1.0\">\n<architecture>riscv:rv64</architecture>\n\
         <feature name=\"org.gnu.gdb.riscv.cpu\">\n",
    );
    for (i, name) in X_NAMES.iter().enumerate() {
        let ty = match i {
            1 => "code_ptr",
            2 | 8 => "data_ptr",
            _ => "int",
        };
        let _ = writeln!(
            x,
            "<reg name=\"{name}\" bitsize=\"64\" type=\"{ty}\" regnum=\"{i}\"/>"
        );
    }
    x.push_str("<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\" regnum=\"32\"/>\n</feature>\n");
    if fpu {
        x.push_str(
            "<feature name=\"org.gnu.gdb.riscv.fpu\">\n<union id=\"riscv_double\">\
             <field name=\"float\" type=\"ieee_single\"/>\
             <field name=\"double\" type=\"ieee_double\"/></union>\n",
        );
        for (i, name) in F_NAMES.iter().enumerate() {
            let n = 33 + i;
            let _ = writeln!(
                x,
                "<reg name=\"{name}\" bitsize=\"64\" type=\"riscv_double\" regnum=\"{n}\"/>"
            );
        }
        for (name, c) in FP_CSRS {
            let n = CSR_BASE + c as usize;
            let _ = writeln!(
                x,
                "<reg name=\"{name}\" bitsize=\"32\" type=\"int\" regnum=\"{n}\"/>"
            );
        }
        x.push_str("</feature>\n");
    }
    x.push_str("<feature name=\"org.gnu.gdb.riscv.csr\">\n");
    for (name, c) in CSRS {
        let n = CSR_BASE + *c as usize;
        let _ = writeln!(
            x,
            "<reg name=\"{name}\" bitsize=\"64\" type=\"int\" regnum=\"{n}\" group=\"csr\"/>"
        );
    }
    let _ = write!(
        x,
        "</feature>\n<feature name=\"org.gnu.gdb.riscv.virtual\">\n\
         <reg name=\"priv\" bitsize=\"8\" type=\"int\" regnum=\"{PRIV_REGNUM}\"/>\n\
         </feature>\n</target>\n"
    );
    x
}

/// Copies the part of `doc` gdb asked for (`qXfer` offset and length).
pub fn xfer(doc: &[u8], offset: u64, length: usize, buf: &mut [u8]) -> usize {
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(doc.len());
    let n = (doc.len() - start).min(length).min(buf.len());
    buf[..n].copy_from_slice(&doc[start..start + n]);
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_has_every_feature_once() {
        let with = target_xml(true);
        let without = target_xml(false);
        for f in ["riscv.cpu", "riscv.csr", "riscv.virtual"] {
            assert_eq!(with.matches(f).count(), 1, "{f}");
            assert_eq!(without.matches(f).count(), 1, "{f}");
        }
        assert!(with.contains("org.gnu.gdb.riscv.fpu") && !without.contains("riscv.fpu"));
        assert!(with.contains("<reg name=\"mstatus\" bitsize=\"64\" type=\"int\" regnum=\"833\""));
        assert!(
            with.contains("<reg name=\"ft0\" bitsize=\"64\" type=\"riscv_double\" regnum=\"33\"")
        );
        assert_eq!(with.matches("<reg ").count(), 33 + 32 + 3 + CSRS.len() + 1);
    }

    #[test]
    fn xfer_pages_through_the_document() {
        let mut buf = [0u8; 4];
        assert_eq!(xfer(b"abcdef", 0, 4, &mut buf), 4);
        assert_eq!(&buf, b"abcd");
        assert_eq!(xfer(b"abcdef", 4, 4, &mut buf), 2);
        assert_eq!(xfer(b"abcdef", 9, 4, &mut buf), 0);
    }
}
