//! The decode cache: each RAM page that code runs from gets 2048 slots (one
//! per halfword), filled lazily with decoded instructions.
//!
//! Keyed by physical page, so it survives changes of translation; RAM tells
//! the cache which pages were written since (see `bus::Ram`), and the hart
//! drops those before it fetches again.

use super::insn::Insn;
use super::trap::Trap;
use super::Hart;
use crate::bus::{Ram, SystemBus, PAGE_SHIFT, PAGE_SIZE};

/// Halfword slots per page.
pub const SLOTS: usize = (PAGE_SIZE / 2) as usize;

/// One decoded instruction; `len == 0` marks a slot not decoded yet.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub insn: Insn,
    pub len: u8,
}

const EMPTY: Slot = Slot { insn: Insn::Illegal, len: 0 };

/// Decoded pages by RAM page number.
pub struct CodeCache {
    /// RAM page -> index+1 into `pages` (0: not cached).
    map: Vec<u32>,
    pages: Vec<Box<[Slot]>>,
    free: Vec<u32>,
}

/// Result of looking up the code at pc.
pub(crate) enum Fetched {
    /// Slots of the RAM page holding pc (`ram_page` = RAM offset >> 12).
    Cached { slots: *mut Slot, ram_page: usize },
    /// pc is not in RAM: fetch and execute without the cache.
    Uncached,
}

impl Default for CodeCache {
    fn default() -> Self {
        Self::new()
    }
}

impl CodeCache {
    pub fn new() -> Self {
        CodeCache { map: Vec::new(), pages: Vec::new(), free: Vec::new() }
    }

    /// Forgets every decoded page.
    pub fn clear(&mut self) {
        self.map.iter_mut().for_each(|m| *m = 0);
        self.pages.clear();
        self.free.clear();
    }

    /// Number of pages holding decoded code.
    pub fn cached_pages(&self) -> usize {
        self.pages.len() - self.free.len()
    }

    fn drop_page(&mut self, page: usize) {
        if let Some(m) = self.map.get_mut(page) {
            if *m != 0 {
                let i = *m - 1;
                *m = 0;
                self.pages[i as usize].fill(EMPTY);
                self.free.push(i);
            }
        }
    }

    /// Drops the pages RAM reports as written since the last call.
    pub fn sync(&mut self, ram: &mut Ram) {
        match ram.take_stale() {
            None => self.clear(),
            Some(pages) => pages.into_iter().for_each(|p| self.drop_page(p as usize)),
        }
    }

    /// The slots of RAM page `page`, creating them (and telling RAM) if needed.
    /// Returns the slots and whether the page is new to the cache.
    fn slots(&mut self, ram: &mut Ram, page: usize) -> (*mut Slot, bool) {
        if self.map.len() <= page {
            self.map.resize((ram.size() >> PAGE_SHIFT) as usize + 1, 0);
        }
        let m = self.map[page];
        if m != 0 {
            return (self.pages[(m - 1) as usize].as_mut_ptr(), false);
        }
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.pages.push(vec![EMPTY; SLOTS].into_boxed_slice());
                (self.pages.len() - 1) as u32
            }
        };
        self.map[page] = i + 1;
        ram.mark_code(page);
        (self.pages[i as usize].as_mut_ptr(), true)
    }
}

/// Decodes the instruction at halfword `idx` of RAM page `page`; `None` if
/// it is a 32-bit instruction crossing the page end.
#[inline(never)]
pub(crate) fn decode_slot(ram: &Ram, page: usize, idx: usize) -> Option<Slot> {
    let off = (page << PAGE_SHIFT) + idx * 2;
    let b = ram.bytes();
    let lo = u16::from_le_bytes([b[off], b[off + 1]]);
    if lo & 3 != 3 {
        return Some(Slot { insn: super::decode::decode_c(lo), len: 2 });
    }
    if idx == SLOTS - 1 {
        return None;
    }
    let raw = u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]]);
    Some(Slot { insn: super::decode::decode(raw), len: 4 })
}

impl Hart {
    /// Translates pc for execution and finds its decoded page.
    #[inline]
    pub(crate) fn fetch_block<B: SystemBus>(&mut self, bus: &mut B) -> Result<Fetched, Trap> {
        let pc = self.pc;
        let prv = self.prv;
        let off = match self.tlb.lookup_exec(prv, pc) {
            Some(off) => off,
            None => match self.translate_fetch_page(bus, pc)? {
                Some(off) => off,
                None => return Ok(Fetched::Uncached),
            },
        };
        let page = (off >> PAGE_SHIFT) as usize;
        let (slots, new) = self.code.slots(bus.ram(), page);
        if new {
            // Stores into this page must now take the slow path, which
            // notices code; drop any fast write mappings to it.
            self.tlb.flush_writes_to(off & !(PAGE_SIZE - 1));
        }
        Ok(Fetched::Cached { slots, ram_page: page })
    }

    /// Slow path of instruction fetch: full translation + PMP; caches the
    /// page in the exec TLB when it is RAM that PMP allows as a whole.
    /// Returns the RAM offset of pc, or `None` if pc is not in RAM.
    fn translate_fetch_page<B: SystemBus>(&mut self, bus: &mut B, pc: u64) -> Result<Option<u64>, Trap> {
        let pa = self.translate(bus, pc, super::mmu::Access::Exec, self.prv)?;
        if !self.pmp.check(pa, 2, super::mmu::Access::Exec, self.prv) {
            return Err(Trap::new(super::trap::INSN_ACCESS, pc));
        }
        let Some(off) = bus.ram().offset_of(crate::bus::PhysAddr(pa), 2) else {
            return Ok(None);
        };
        let page_pa = pa & !(PAGE_SIZE - 1);
        if self.pmp.check(page_pa, PAGE_SIZE, super::mmu::Access::Exec, self.prv) {
            self.tlb.insert_exec(self.prv, pc, off as u64 & !(PAGE_SIZE - 1));
            Ok(Some(off as u64))
        } else {
            // PMP differs within the page: run this instruction uncached so
            // every fetch is checked.
            Ok(None)
        }
    }

    /// Reads the halfword at virtual `va` for execution.
    pub(crate) fn fetch_half<B: SystemBus>(&mut self, bus: &mut B, va: u64) -> Result<u16, Trap> {
        let pa = self.translate(bus, va, super::mmu::Access::Exec, self.prv)?;
        if !self.pmp.check(pa, 2, super::mmu::Access::Exec, self.prv) {
            return Err(Trap::new(super::trap::INSN_ACCESS, va));
        }
        let ram = bus.ram();
        if let Some(off) = ram.offset_of(crate::bus::PhysAddr(pa), 2) {
            let b = ram.bytes();
            return Ok(u16::from_le_bytes([b[off], b[off + 1]]));
        }
        bus.mmio_read(crate::bus::PhysAddr(pa), 2, self.icount)
            .map(|v| v as u16)
            .map_err(|_| Trap::new(super::trap::INSN_ACCESS, va))
    }

    /// Fetches the raw instruction at `va` without the cache (two halfword
    /// fetches, each translated: an instruction may straddle pages).
    pub(crate) fn fetch_raw<B: SystemBus>(&mut self, bus: &mut B, va: u64) -> Result<u32, Trap> {
        let lo = self.fetch_half(bus, va)?;
        if lo & 3 != 3 {
            return Ok(lo as u32);
        }
        // A fault on the second half reports the address of that half.
        let hi = self.fetch_half(bus, va.wrapping_add(2))?;
        Ok(lo as u32 | (hi as u32) << 16)
    }
}
