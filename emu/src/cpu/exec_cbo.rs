//! Cache-block operations (Zicbom, Zicboz) on a 64-byte block, as QEMU 10
//! does them: no caches are modelled, so clean/flush/inval only check that
//! the block may be accessed, and cbo.zero stores 64 zero bytes.

use super::csr::{ENVCFG_CBCFE, ENVCFG_CBIE, ENVCFG_CBZE};
use super::insn::CboOp;
use super::mmu::Access;
use super::trap::{self, Trap};
use super::{Hart, Priv};
use crate::bus::{PhysAddr, SystemBus};

/// Cache-block size (QEMU's `cbom_blocksize` and `cboz_blocksize`).
pub const CBO_BLOCK: u64 = 64;

impl Hart {
    /// Executes `op` on the block holding `va`. Faults report the block's
    /// (aligned-down) address, as QEMU. Returns `true` if the block ends
    /// (cbo.zero hit MMIO or decoded code). Out of line: rare.
    #[inline(never)]
    pub(crate) fn exec_cbo<B: SystemBus>(
        &mut self,
        bus: &mut B,
        op: CboOp,
        va: u64,
    ) -> Result<bool, Trap> {
        let enable = match op {
            CboOp::Zero => ENVCFG_CBZE,
            CboOp::Inval => ENVCFG_CBIE,
            CboOp::Clean | CboOp::Flush => ENVCFG_CBCFE,
        };
        if (self.prv != Priv::M && self.csr.menvcfg & enable == 0)
            || (self.prv == Priv::U && self.csr.senvcfg & enable == 0)
        {
            return Err(Trap::illegal_tval0());
        }
        let base = va & !(CBO_BLOCK - 1);
        if op == CboOp::Zero {
            return self.cbo_zero(bus, base);
        }
        // Permitted if a load would be; if not, a store must be, and its
        // fault is the one reported.
        if self.cbo_check(bus, base, Access::Read).is_ok() {
            return Ok(false);
        }
        self.cbo_check(bus, base, Access::Write)?;
        Ok(false)
    }

    /// Translates and PMP-checks the whole block for `kind`; returns its
    /// physical address.
    fn cbo_check<B: SystemBus>(
        &mut self,
        bus: &mut B,
        base: u64,
        kind: Access,
    ) -> Result<u64, Trap> {
        let prv = self.dprv;
        let pa = self
            .translate(bus, base, kind, prv)
            .map_err(|t| Trap::new(t.cause, base))?;
        if !self.pmp.check(pa, CBO_BLOCK, kind, prv) {
            return Err(Trap::new(kind.access_fault(), base));
        }
        Ok(pa)
    }

    fn cbo_zero<B: SystemBus>(&mut self, bus: &mut B, base: u64) -> Result<bool, Trap> {
        let pa = self.cbo_check(bus, base, Access::Write)?;
        let ram = bus.ram();
        if let Some(off) = ram.offset_of(PhysAddr(pa), CBO_BLOCK) {
            ram.data_mut()[off..off + CBO_BLOCK as usize].fill(0);
            return Ok(ram.note_write(off, CBO_BLOCK as usize));
        }
        // Not RAM: byte stores, as QEMU does for an I/O page.
        self.did_mmio = true;
        for i in 0..CBO_BLOCK {
            bus.mmio_write(PhysAddr(pa + i), 1, 0, self.icount)
                .map_err(|_| Trap::new(trap::STORE_ACCESS, base + i))?;
        }
        Ok(true)
    }
}
