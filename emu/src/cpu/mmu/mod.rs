//! Virtual-memory translation: one page-table walker for Sv39, Sv48 and
//! Sv57 (the level count is the only difference), with the TLB beside it.
//!
//! A/D bits, as QEMU 10.0.2 (checked by fixtures/priv): the walker sets A,
//! and D for a store, in the leaf PTE, unless the hart has Svadu and
//! menvcfg.ADUE is clear (its reset value is set); then (Svade) a leaf
//! with A clear, or a store to a leaf with D clear, raises a page fault.

pub mod tlb;

use super::trap::{self, Trap};
use super::{csr, Hart, Priv};
use crate::bus::{PhysAddr, SystemBus};

/// Kind of memory access, for permission checks and fault causes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
    Exec,
}

impl Access {
    pub fn page_fault(self) -> u64 {
        match self {
            Access::Read => trap::LOAD_PAGE_FAULT,
            Access::Write => trap::STORE_PAGE_FAULT,
            Access::Exec => trap::INSN_PAGE_FAULT,
        }
    }
    pub fn access_fault(self) -> u64 {
        match self {
            Access::Read => trap::LOAD_ACCESS,
            Access::Write => trap::STORE_ACCESS,
            Access::Exec => trap::INSN_ACCESS,
        }
    }
}

const PTE_V: u64 = 1;
const PTE_R: u64 = 2;
const PTE_W: u64 = 4;
const PTE_X: u64 = 8;
const PTE_U: u64 = 16;
const PTE_G: u64 = 32;
const PTE_A: u64 = 64;
const PTE_D: u64 = 128;
/// Bits 63:54 (N, PBMT, reserved) must be zero without Svnapot/Svpbmt.
const PTE_RESERVED: u64 = 0x3ff << 54;
const PPN_MASK: u64 = (1 << 44) - 1;

impl Hart {
    /// Translates `va` for an access of `kind` at privilege `prv` (already
    /// MPRV-adjusted for data). Does not check PMP on the final address.
    pub(crate) fn translate<B: SystemBus>(
        &mut self,
        bus: &mut B,
        va: u64,
        kind: Access,
        prv: Priv,
    ) -> Result<u64, Trap> {
        let satp = self.csr.satp;
        let mode = satp >> 60;
        if prv == Priv::M || mode == 0 {
            // M's view never depends on satp; S/U under Bare does.
            self.tlb.note_walk(prv == Priv::M);
            return Ok(va);
        }
        let levels: u32 = match mode {
            9 => 4,
            10 => 5,
            _ => 3,
        };
        let va_bits = 12 + 9 * levels;
        let fault = Trap::new(kind.page_fault(), va);
        // Upper bits must copy bit va_bits-1.
        let top = (va as i64) >> (va_bits - 1);
        if top != 0 && top != -1 {
            return Err(fault);
        }
        let mstatus = self.csr.mstatus;
        let mut table = (satp & PPN_MASK) << 12;
        let mut level = levels;
        // A G bit on any PTE of the walk makes the mapping global.
        let mut global = false;
        loop {
            level -= 1;
            let vpn = (va >> (12 + 9 * level)) & 0x1ff;
            let pte_addr = table + vpn * 8;
            // Implicit page-table accesses are S-mode reads for PMP.
            if !self.pmp.check(pte_addr, 8, Access::Read, Priv::S) {
                return Err(Trap::new(kind.access_fault(), va));
            }
            let pte = match bus.ram().read_u64(PhysAddr(pte_addr)) {
                Ok(p) => p,
                Err(_) => return Err(Trap::new(kind.access_fault(), va)),
            };
            if pte & PTE_V == 0 || (pte & PTE_R == 0 && pte & PTE_W != 0) || pte & PTE_RESERVED != 0
            {
                return Err(fault);
            }
            let ppn = (pte >> 10) & PPN_MASK;
            global |= pte & PTE_G != 0;
            if pte & (PTE_R | PTE_X) == 0 {
                // Pointer to the next level.
                if level == 0 || pte & (PTE_A | PTE_D | PTE_U) != 0 {
                    return Err(fault);
                }
                table = ppn << 12;
                continue;
            }
            // Leaf: permissions.
            let user = pte & PTE_U != 0;
            match prv {
                Priv::U if !user => return Err(fault),
                Priv::S if user && (kind == Access::Exec || mstatus & csr::MSTATUS_SUM == 0) => {
                    return Err(fault)
                }
                _ => {}
            }
            let ok = match kind {
                Access::Read => {
                    pte & PTE_R != 0 || (mstatus & csr::MSTATUS_MXR != 0 && pte & PTE_X != 0)
                }
                Access::Write => pte & PTE_W != 0,
                Access::Exec => pte & PTE_X != 0,
            };
            if !ok {
                return Err(fault);
            }
            // Superpage alignment.
            let low_mask = (1u64 << (9 * level)) - 1;
            if ppn & low_mask != 0 {
                return Err(fault);
            }
            let ad = PTE_A | if kind == Access::Write { PTE_D } else { 0 };
            if pte & ad != ad {
                // Svadu: menvcfg.ADUE decides; without Svadu QEMU 10.0.2
                // updates A/D always (it has no Svade-only CPU).
                if self.cfg.ext.svadu && self.csr.menvcfg & csr::MENVCFG_ADUE == 0 {
                    return Err(fault);
                }
                // Svadu: the update is an S-mode store to the PTE.
                if !self.pmp.check(pte_addr, 8, Access::Write, Priv::S)
                    || bus.ram().write_u64(PhysAddr(pte_addr), pte | ad).is_err()
                {
                    return Err(Trap::new(kind.access_fault(), va));
                }
            }
            let page_offset_mask = (1u64 << (12 + 9 * level)) - 1;
            if level > 0 {
                self.tlb.note_superpage(va, page_offset_mask + 1);
            }
            self.tlb.note_walk(global);
            return Ok((ppn << 12) & !page_offset_mask | (va & page_offset_mask));
        }
    }

    /// `sfence.vma`: with an address, only that page's entries go (Linux
    /// fences each page it unmaps from vmalloc space); with only an ASID,
    /// every non-global entry; with neither, everything.
    pub(crate) fn sfence_vma(&mut self, vaddr: Option<u64>, asid: bool) {
        match (vaddr, asid) {
            (Some(va), _) => self.tlb.flush_page(va),
            (None, true) => self.tlb.flush_non_global(),
            (None, false) => self.tlb.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::testbus::TestBus;
    use crate::cpu::HartConfig;

    const BASE: u64 = 0x8000_0000;

    /// Writes a PTE.
    fn pte(b: &mut TestBus, addr: u64, ppn_addr: u64, flags: u64) {
        b.ram
            .write_u64(PhysAddr(addr), (ppn_addr >> 12) << 10 | flags)
            .unwrap();
    }

    fn setup(mode: u64) -> (Hart, TestBus) {
        let mut h = Hart::new(HartConfig::default());
        let b = TestBus::new(BASE, 1 << 22);
        h.csr.satp = mode << 60 | (BASE + 0x1000) >> 12;
        // PMP entry 0: all memory RWX (page-table reads are S-mode accesses).
        h.pmp.write_addr(0, u64::MAX);
        h.pmp.write_cfg(0, 0x1f);
        (h, b)
    }

    #[test]
    fn sv39_three_level_4k_page() {
        let (mut h, mut b) = setup(8);
        // root at +0x1000, L1 at +0x2000, L0 at +0x3000; map va 0x4000_5000 -> BASE+0x10000.
        let va = 0x4000_5000u64;
        pte(
            &mut b,
            BASE + 0x1000 + ((va >> 30) & 0x1ff) * 8,
            BASE + 0x2000,
            PTE_V,
        );
        pte(
            &mut b,
            BASE + 0x2000 + ((va >> 21) & 0x1ff) * 8,
            BASE + 0x3000,
            PTE_V,
        );
        pte(
            &mut b,
            BASE + 0x3000 + ((va >> 12) & 0x1ff) * 8,
            BASE + 0x10000,
            PTE_V | PTE_R | PTE_A,
        );
        assert_eq!(
            h.translate(&mut b, va + 0x123, Access::Read, Priv::S),
            Ok(BASE + 0x10123)
        );
        assert_eq!(
            h.translate(&mut b, va, Access::Write, Priv::S),
            Err(Trap::new(trap::STORE_PAGE_FAULT, va)),
            "not writable"
        );
        assert!(
            h.translate(&mut b, va, Access::Read, Priv::U).is_err(),
            "U needs PTE.U"
        );
        assert!(
            h.translate(&mut b, va, Access::Read, Priv::M)
                .is_ok_and(|pa| pa == va),
            "M is bare"
        );
    }

    #[test]
    fn sv39_gigapage_and_canonical_check() {
        let (mut h, mut b) = setup(8);
        let va = 0xffff_ffff_c000_0000u64; // top gigapage
        pte(
            &mut b,
            BASE + 0x1000 + 511 * 8,
            BASE,
            PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D,
        );
        assert_eq!(
            h.translate(&mut b, va + 0x1234, Access::Write, Priv::S),
            Ok(BASE + 0x1234)
        );
        assert!(
            h.translate(&mut b, 0x0000_0080_0000_0000, Access::Read, Priv::S)
                .is_err(),
            "non-canonical"
        );
    }

    #[test]
    fn page_table_read_denied_by_pmp_is_access_fault() {
        let (mut h, mut b) = setup(8);
        h.pmp.write_cfg(0, 0);
        assert_eq!(
            h.translate(&mut b, 0x1000, Access::Write, Priv::S),
            Err(Trap::new(trap::STORE_ACCESS, 0x1000))
        );
    }

    #[test]
    fn misaligned_superpage_faults() {
        let (mut h, mut b) = setup(8);
        pte(&mut b, BASE + 0x1000, BASE + 0x1000, PTE_V | PTE_R | PTE_A);
        assert_eq!(
            h.translate(&mut b, 0x10, Access::Read, Priv::S),
            Err(Trap::new(trap::LOAD_PAGE_FAULT, 0x10))
        );
    }

    #[test]
    fn sv48_four_levels_sum_mxr_and_ad() {
        let (mut h, mut b) = setup(9);
        let va = 0x0000_7f00_0000_2000u64;
        pte(
            &mut b,
            BASE + 0x1000 + ((va >> 39) & 0x1ff) * 8,
            BASE + 0x2000,
            PTE_V,
        );
        pte(
            &mut b,
            BASE + 0x2000 + ((va >> 30) & 0x1ff) * 8,
            BASE + 0x3000,
            PTE_V,
        );
        pte(
            &mut b,
            BASE + 0x3000 + ((va >> 21) & 0x1ff) * 8,
            BASE + 0x4000,
            PTE_V,
        );
        pte(
            &mut b,
            BASE + 0x4000 + ((va >> 12) & 0x1ff) * 8,
            BASE + 0x20000,
            PTE_V | PTE_X | PTE_U | PTE_A,
        );
        assert_eq!(
            h.translate(&mut b, va, Access::Exec, Priv::U),
            Ok(BASE + 0x20000)
        );
        assert!(
            h.translate(&mut b, va, Access::Read, Priv::U).is_err(),
            "X-only not readable"
        );
        h.csr.mstatus |= csr::MSTATUS_MXR;
        assert!(
            h.translate(&mut b, va, Access::Read, Priv::U).is_ok(),
            "MXR makes X readable"
        );
        assert!(
            h.translate(&mut b, va, Access::Read, Priv::S).is_err(),
            "S on U page without SUM"
        );
        h.csr.mstatus |= csr::MSTATUS_SUM;
        assert!(h.translate(&mut b, va, Access::Read, Priv::S).is_ok());
        assert!(
            h.translate(&mut b, va, Access::Exec, Priv::S).is_err(),
            "S never executes U pages"
        );
        // A clear -> fault with menvcfg.ADUE clear (Svade) ...
        let leaf = BASE + 0x4000 + ((va >> 12) & 0x1ff) * 8;
        pte(
            &mut b,
            leaf,
            BASE + 0x20000,
            PTE_V | PTE_X | PTE_U | PTE_W | PTE_R,
        );
        h.csr.menvcfg &= !csr::MENVCFG_ADUE;
        assert!(h.translate(&mut b, va, Access::Exec, Priv::U).is_err());
        let untouched = b.ram.read_u64(PhysAddr(leaf)).unwrap();
        assert_eq!(untouched & (PTE_A | PTE_D), 0);
        // ... and set by the walker with ADUE (Svadu, QEMU's reset value).
        h.csr.menvcfg |= csr::MENVCFG_ADUE;
        assert!(h.translate(&mut b, va, Access::Exec, Priv::U).is_ok());
        assert_eq!(b.ram.read_u64(PhysAddr(leaf)).unwrap(), untouched | PTE_A);
        assert!(h.translate(&mut b, va, Access::Write, Priv::U).is_ok());
        assert_eq!(
            b.ram.read_u64(PhysAddr(leaf)).unwrap(),
            untouched | PTE_A | PTE_D
        );
    }

    #[test]
    fn sv57_five_levels_and_canonical_bit_56() {
        let (mut h, mut b) = setup(10);
        let va = 0x00f0_1234_5678_9000u64; // bit 55 set, below bit 56
        let mut table = BASE + 0x1000;
        for (i, level) in (1..5).rev().enumerate() {
            let next = BASE + 0x2000 + 0x1000 * i as u64;
            pte(
                &mut b,
                table + ((va >> (12 + 9 * level)) & 0x1ff) * 8,
                next,
                PTE_V,
            );
            table = next;
        }
        pte(
            &mut b,
            table + ((va >> 12) & 0x1ff) * 8,
            BASE + 0x30000,
            PTE_V | PTE_R | PTE_A,
        );
        assert_eq!(
            h.translate(&mut b, va + 8, Access::Read, Priv::S),
            Ok(BASE + 0x30008)
        );
        assert_eq!(
            h.translate(&mut b, va | 1 << 56, Access::Read, Priv::S),
            Err(Trap::new(trap::LOAD_PAGE_FAULT, va | 1 << 56)),
            "bits 63:57 must copy bit 56"
        );
        // A 256 TiB "petapage" at level 4 needs 2^36-page alignment.
        pte(&mut b, BASE + 0x1000, BASE, PTE_V | PTE_R | PTE_A);
        assert!(h.translate(&mut b, 0x10, Access::Read, Priv::S).is_err());
        pte(&mut b, BASE + 0x1000, 0, PTE_V | PTE_R | PTE_A);
        assert_eq!(
            h.translate(&mut b, 0x1234_5678, Access::Read, Priv::S),
            Ok(0x1234_5678)
        );
    }
}
