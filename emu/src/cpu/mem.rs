//! Data accesses: the TLB fast path into RAM and the slow path (translate,
//! PMP, RAM or MMIO), plus the atomic read-modify-write helper.

use super::mmu::Access;
use super::trap::{self, Trap};
use super::Hart;
use crate::bus::{PhysAddr, SystemBus, PAGE_SIZE};

#[inline(always)]
fn read_le(b: &[u8], o: usize, size: u64) -> u64 {
    match size {
        1 => b[o] as u64,
        2 => u16::from_le_bytes([b[o], b[o + 1]]) as u64,
        4 => u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as u64,
        _ => u64::from_le_bytes(b[o..o + 8].try_into().unwrap()),
    }
}

#[inline(always)]
fn write_le(b: &mut [u8], o: usize, size: u64, v: u64) {
    match size {
        1 => b[o] = v as u8,
        2 => b[o..o + 2].copy_from_slice(&(v as u16).to_le_bytes()),
        4 => b[o..o + 4].copy_from_slice(&(v as u32).to_le_bytes()),
        _ => b[o..o + 8].copy_from_slice(&v.to_le_bytes()),
    }
}

impl Hart {
    /// Loads `size` bytes (1, 2, 4, 8) at `va`, zero-extended. Misaligned
    /// accesses are allowed (as QEMU), split at page boundaries. The caller
    /// has set `self.icount` (MMIO sees it).
    #[inline(always)]
    pub(crate) fn load<B: SystemBus>(
        &mut self,
        bus: &mut B,
        va: u64,
        size: u64,
    ) -> Result<u64, Trap> {
        match self.load_fast(bus, va, size) {
            Some(v) => Ok(v),
            None => self.load_slow(bus, va, size),
        }
    }

    /// Stores the low `size` bytes of `v` at `va` (as `load`). Returns
    /// `true` if the store hit MMIO or decoded code, so the block must end.
    #[inline(always)]
    pub(crate) fn store<B: SystemBus>(
        &mut self,
        bus: &mut B,
        va: u64,
        size: u64,
        v: u64,
    ) -> Result<bool, Trap> {
        if self.store_fast(bus, va, size, v) {
            return Ok(false);
        }
        self.store_slow(bus, va, size, v)
    }

    /// The TLB fast path of an aligned load: RAM only, no faults, no MMIO.
    #[inline(always)]
    pub(crate) fn load_fast<B: SystemBus>(&self, bus: &mut B, va: u64, size: u64) -> Option<u64> {
        let off = self.tlb.lookup_read(self.dset, va, size)?;
        Some(read_le(bus.ram().bytes(), off, size))
    }

    /// The TLB fast path of a store; false if the slow path must do it.
    #[inline(always)]
    pub(crate) fn store_fast<B: SystemBus>(&self, bus: &mut B, va: u64, size: u64, v: u64) -> bool {
        match self.tlb.lookup_write(self.dset, va, size) {
            Some(off) => {
                write_le(bus.ram().data_mut(), off, size, v);
                true
            }
            None => false,
        }
    }

    #[inline(never)]
    pub(crate) fn load_slow<B: SystemBus>(
        &mut self,
        bus: &mut B,
        va: u64,
        size: u64,
    ) -> Result<u64, Trap> {
        self.watch_check(va, size, false)?;
        if (va & (PAGE_SIZE - 1)) + size <= PAGE_SIZE {
            // Misaligned within a mapped page: the page's entry still holds.
            if let Some(off) = self.tlb.lookup_read(self.dset, va, 1) {
                return Ok(read_le(bus.ram().bytes(), off, size));
            }
        } else {
            let mut v = 0;
            for i in 0..size {
                v |= self.load_in_page(bus, va.wrapping_add(i), 1, va)? << (8 * i);
            }
            return Ok(v);
        }
        self.load_in_page(bus, va, size, va)
    }

    /// One access that stays within a page; `fault_va` is reported on faults.
    fn load_in_page<B: SystemBus>(
        &mut self,
        bus: &mut B,
        va: u64,
        size: u64,
        fault_va: u64,
    ) -> Result<u64, Trap> {
        let prv = self.dprv;
        let pa = self
            .translate(bus, va, Access::Read, prv)
            .map_err(|t| Trap::new(t.cause, fault_va))?;
        if !self.pmp.check(pa, size, Access::Read, prv) {
            return Err(Trap::new(trap::LOAD_ACCESS, fault_va));
        }
        let watched = self.debug.watched_page(va);
        if let Some(off) = bus.ram().offset_of(PhysAddr(pa), size) {
            let page_pa = pa & !(PAGE_SIZE - 1);
            if !watched && self.pmp.check(page_pa, PAGE_SIZE, Access::Read, prv) {
                self.tlb
                    .insert_read(self.dset, va, off as u64 & !(PAGE_SIZE - 1));
            }
            return Ok(read_le(bus.ram().bytes(), off, size));
        }
        self.did_mmio = true;
        bus.mmio_read(PhysAddr(pa), size as u8, self.icount)
            .map_err(|_| Trap::new(trap::LOAD_ACCESS, fault_va))
    }

    #[inline(never)]
    pub(crate) fn store_slow<B: SystemBus>(
        &mut self,
        bus: &mut B,
        va: u64,
        size: u64,
        v: u64,
    ) -> Result<bool, Trap> {
        self.watch_check(va, size, true)?;
        if (va & (PAGE_SIZE - 1)) + size <= PAGE_SIZE {
            // Misaligned within a mapped page (write entries never map
            // decoded code).
            if let Some(off) = self.tlb.lookup_write(self.dset, va, 1) {
                write_le(bus.ram().data_mut(), off, size, v);
                return Ok(false);
            }
        } else {
            // Check both pages before writing anything, so a fault on the
            // second page leaves memory untouched.
            self.translate(bus, va.wrapping_add(size - 1), Access::Write, self.dprv)
                .map_err(|t| Trap::new(t.cause, va))?;
            let mut brk = false;
            for i in 0..size {
                brk |= self.store_in_page(bus, va.wrapping_add(i), 1, v >> (8 * i), va)?;
            }
            return Ok(brk);
        }
        self.store_in_page(bus, va, size, v, va)
    }

    fn store_in_page<B: SystemBus>(
        &mut self,
        bus: &mut B,
        va: u64,
        size: u64,
        v: u64,
        fault_va: u64,
    ) -> Result<bool, Trap> {
        let prv = self.dprv;
        let pa = self
            .translate(bus, va, Access::Write, prv)
            .map_err(|t| Trap::new(t.cause, fault_va))?;
        if !self.pmp.check(pa, size, Access::Write, prv) {
            return Err(Trap::new(trap::STORE_ACCESS, fault_va));
        }
        let watched = self.debug.watched_page(va);
        let ram = bus.ram();
        if let Some(off) = ram.offset_of(PhysAddr(pa), size) {
            write_le(ram.data_mut(), off, size, v);
            let was_code = ram.note_write(off, size as usize);
            let page_pa = pa & !(PAGE_SIZE - 1);
            if !watched && self.pmp.check(page_pa, PAGE_SIZE, Access::Write, prv) {
                self.tlb
                    .insert_write(self.dset, va, off as u64 & !(PAGE_SIZE - 1));
            }
            return Ok(was_code);
        }
        self.did_mmio = true;
        bus.mmio_write(PhysAddr(pa), size as u8, v, self.icount)
            .map_err(|_| Trap::new(trap::STORE_ACCESS, fault_va))?;
        Ok(true)
    }

    /// Checks a slow-path access against the debugger's watchpoints
    /// before it happens: a hit abandons the instruction (nothing written,
    /// nothing retired) with the run loop's debug stop.
    #[inline]
    fn watch_check(&mut self, va: u64, size: u64, write: bool) -> Result<(), Trap> {
        if self.debug.has_watches() && self.debug.check_access(self.icount, va, size, write) {
            return Err(Trap::new(trap::DEBUG_STOP, va));
        }
        Ok(())
    }

    /// Atomic read-modify-write of an aligned `size`-byte word: returns the
    /// old value after storing `f(old)`. Translation and access faults are
    /// store/AMO faults; misalignment is reported as a *load* misaligned
    /// fault, as QEMU 10 does in single-threaded TCG (it expands AMOs into an
    /// aligned load, the op, and a store).
    pub(crate) fn amo<B: SystemBus>(
        &mut self,
        bus: &mut B,
        va: u64,
        size: u64,
        f: impl FnOnce(u64) -> u64,
    ) -> Result<(u64, bool), Trap> {
        if va & (size - 1) != 0 {
            return Err(Trap::new(trap::LOAD_MISALIGNED, va));
        }
        self.watch_check(va, size, true)?;
        self.watch_check(va, size, false)?;
        // Fast path: the page is mapped for both loads and stores (so
        // translation and PMP allow both, and it holds no decoded code).
        if let (Some(off), Some(roff)) = (
            self.tlb.lookup_write(self.dset, va, size),
            self.tlb.lookup_read(self.dset, va, size),
        ) {
            if off == roff {
                let ram = bus.ram();
                let old = read_le(ram.bytes(), off, size);
                write_le(ram.data_mut(), off, size, f(old));
                return Ok((old, false));
            }
        }
        let prv = self.dprv;
        let pa = self.translate(bus, va, Access::Write, prv)?;
        if !self.pmp.check(pa, size, Access::Write, prv)
            || !self.pmp.check(pa, size, Access::Read, prv)
        {
            return Err(Trap::new(trap::STORE_ACCESS, va));
        }
        let ram = bus.ram();
        if let Some(off) = ram.offset_of(PhysAddr(pa), size) {
            let old = read_le(ram.bytes(), off, size);
            write_le(ram.data_mut(), off, size, f(old));
            let was_code = ram.note_write(off, size as usize);
            return Ok((old, was_code));
        }
        self.did_mmio = true;
        let old = bus
            .mmio_read(PhysAddr(pa), size as u8, self.icount)
            .map_err(|_| Trap::new(trap::STORE_ACCESS, va))?;
        bus.mmio_write(PhysAddr(pa), size as u8, f(old), self.icount)
            .map_err(|_| Trap::new(trap::STORE_ACCESS, va))?;
        Ok((old, true))
    }

    /// Checks that `va` may be loaded as an aligned LR of `size` bytes.
    pub(crate) fn lr_load<B: SystemBus>(
        &mut self,
        bus: &mut B,
        va: u64,
        size: u64,
    ) -> Result<u64, Trap> {
        if va & (size - 1) != 0 {
            return Err(Trap::new(trap::LOAD_MISALIGNED, va));
        }
        self.load(bus, va, size)
    }
}
