//! The decode cache: basic blocks of decoded instructions per RAM page.
//!
//! Each RAM page that code runs from gets a `PageCode`: an arena of decoded
//! instructions and, per halfword offset, the arena index of the block that
//! starts there. A block runs from its start to the first instruction that
//! always transfers control or may change what later instructions mean
//! (jumps, system instructions, CSR accesses, fences), or to the page end;
//! backward conditional branches end a block too, a taken forward one
//! leaves its block early.
//! The run loop checks the instruction budget once per block and executes
//! the block's instructions back to back.
//!
//! Keyed by physical page, so blocks survive changes of translation; RAM
//! tells the cache which pages were written since (see `bus::Ram`), and the
//! hart drops those before it fetches again.

use super::decode;
use super::ext::IsaExtensions;
use super::insn::Insn;
use super::jit::BlockJit;
use super::trap::Trap;
use super::Hart;
use crate::bus::{Ram, SystemBus, PAGE_SHIFT, PAGE_SIZE};

/// Halfword slots per page.
pub const SLOTS: usize = (PAGE_SIZE / 2) as usize;

/// One decoded instruction of a block. Position fields let the run loop
/// derive pc and icount where an instruction needs them instead of
/// tracking both per instruction.
#[derive(Debug, Clone, Copy)]
pub struct Slot {
    pub insn: Insn,
    /// Byte offset of the instruction from the start of its block.
    pub off: u16,
    /// Index of the instruction in its block.
    pub idx: u16,
    /// Instruction length in bytes (2 or 4).
    pub len: u8,
}

impl Slot {
    /// A block of one instruction (the uncached path).
    pub fn single(insn: Insn, len: u8) -> Slot {
        Slot {
            insn,
            off: 0,
            idx: 0,
            len,
        }
    }
}

/// One decoded block: where its slots are, and its translation. Kept
/// apart from the slots, densely, so that finding a block and its
/// translation touches little memory.
pub(crate) struct BlockInfo {
    /// Arena index of the block's first slot.
    pub(crate) first: u32,
    /// Number of instructions in the block.
    pub(crate) n: u32,
    /// Run count and translation (`cpu::jit`).
    pub(crate) jit: BlockJit,
}

/// The decoded blocks of one RAM page.
pub struct PageCode {
    /// Per halfword offset: 1 + index in `blocks` of the block starting
    /// there, or 0.
    start: Box<[u32]>,
    pub(crate) blocks: Vec<BlockInfo>,
    /// Decoded instructions, block after block.
    pub(crate) slots: Vec<Slot>,
}

impl PageCode {
    fn new() -> PageCode {
        PageCode {
            start: vec![0; SLOTS].into_boxed_slice(),
            blocks: Vec::new(),
            slots: Vec::new(),
        }
    }
    fn reset(&mut self) {
        self.start.fill(0);
        self.blocks.clear();
        self.slots.clear();
    }

    /// Index in `blocks` of the block starting at halfword `idx`, decoding
    /// it from RAM page `page` if needed; `None` if its first instruction
    /// crosses the page end (the run loop then executes it uncached).
    #[inline]
    pub(crate) fn block_at(
        &mut self,
        ram: &Ram,
        page: usize,
        idx: usize,
        ext: &IsaExtensions,
    ) -> Option<usize> {
        let b = self.start[idx];
        if b != 0 {
            return Some((b - 1) as usize);
        }
        self.build(ram, page, idx, ext)
    }

    #[inline(never)]
    fn build(&mut self, ram: &Ram, page: usize, idx: usize, ext: &IsaExtensions) -> Option<usize> {
        let first = self.slots.len();
        let mut i = idx;
        while i < SLOTS {
            let Some((insn, len)) = decode_at(ram, page, i, ext) else {
                break;
            };
            self.slots.push(Slot {
                insn,
                off: ((i - idx) * 2) as u16,
                idx: (self.slots.len() - first) as u16,
                len,
            });
            i += len as usize / 2;
            if ends_block(&insn) {
                break;
            }
        }
        let n = self.slots.len() - first;
        if n == 0 {
            return None;
        }
        self.blocks.push(BlockInfo {
            first: first as u32,
            n: n as u32,
            jit: BlockJit::default(),
        });
        self.start[idx] = self.blocks.len() as u32;
        Some(self.blocks.len() - 1)
    }
}

/// Instructions after which a block ends: jumps, backward conditional
/// branches (loops: mostly taken), and anything that may change privilege,
/// translation, interrupts or code. Forward conditional branches do not
/// end a block: a taken one leaves it early (`Flow::Jump`), a not-taken
/// one falls through to the next slot.
fn ends_block(insn: &Insn) -> bool {
    if let Insn::Beq { imm, .. }
    | Insn::Bne { imm, .. }
    | Insn::Blt { imm, .. }
    | Insn::Bge { imm, .. }
    | Insn::Bltu { imm, .. }
    | Insn::Bgeu { imm, .. } = *insn
    {
        return imm <= 0;
    }
    matches!(
        insn,
        Insn::Jal { .. }
            | Insn::Jalr { .. }
            | Insn::Ecall
            | Insn::Ebreak
            | Insn::Mret
            | Insn::Sret
            | Insn::Wfi
            | Insn::FenceI
            | Insn::SfenceVma { .. }
            | Insn::Csr { .. }
            | Insn::CsrI { .. }
            | Insn::Illegal
    )
}

/// Decodes the instruction at halfword `idx` of RAM page `page`; `None` if
/// it is a 32-bit instruction crossing the page end.
fn decode_at(ram: &Ram, page: usize, idx: usize, ext: &IsaExtensions) -> Option<(Insn, u8)> {
    let off = (page << PAGE_SHIFT) + idx * 2;
    // `get`: RAM need not end on a page boundary.
    let b = ram.bytes().get(off..(off + 4).min(ram.bytes().len()))?;
    let lo = u16::from_le_bytes([*b.first()?, *b.get(1)?]);
    if lo & 3 != 3 {
        return Some((decode::decode_c(lo).for_exec(), 2));
    }
    if idx == SLOTS - 1 || b.len() < 4 {
        return None;
    }
    let raw = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    Some((decode::decode_for(raw, ext).for_exec(), 4))
}

/// Decoded pages by RAM page number.
pub struct CodeCache {
    /// RAM page -> index+1 into `pages` (0: not cached).
    map: Vec<u32>,
    /// Boxed so a `PageCode` keeps its address while `pages` grows.
    #[allow(clippy::vec_box)]
    pages: Vec<Box<PageCode>>,
    free: Vec<u32>,
}

/// Result of looking up the code at pc.
pub(crate) enum Fetched {
    /// The decoded page holding pc (`ram_page` = RAM offset >> 12). The
    /// pointer stays valid until the next `sync`/`clear`/`fetch_block`.
    Cached {
        code: *mut PageCode,
        ram_page: usize,
    },
    /// pc is not in RAM (or PMP differs within its page): execute uncached.
    Uncached,
}

impl Default for CodeCache {
    fn default() -> Self {
        Self::new()
    }
}

impl CodeCache {
    pub fn new() -> Self {
        CodeCache {
            map: Vec::new(),
            pages: Vec::new(),
            free: Vec::new(),
        }
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
                self.pages[i as usize].reset();
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

    /// The code of RAM page `page`, creating it (and telling RAM) if needed.
    /// Returns it and whether the page is new to the cache.
    fn page(&mut self, ram: &mut Ram, page: usize) -> (*mut PageCode, bool) {
        if self.map.len() <= page {
            self.map.resize((ram.size() >> PAGE_SHIFT) as usize + 1, 0);
        }
        let m = self.map[page];
        if m != 0 {
            return (&mut *self.pages[(m - 1) as usize], false);
        }
        let i = match self.free.pop() {
            Some(i) => i,
            None => {
                self.pages.push(Box::new(PageCode::new()));
                (self.pages.len() - 1) as u32
            }
        };
        self.map[page] = i + 1;
        ram.mark_code(page);
        (&mut *self.pages[i as usize], true)
    }
}

impl Hart {
    /// Translates pc for execution and finds its decoded page.
    #[inline]
    pub(crate) fn fetch_block<B: SystemBus>(&mut self, bus: &mut B) -> Result<Fetched, Trap> {
        let pc = self.pc;
        let prv = self.prv;
        let off = match self.tlb.lookup_exec(prv, pc) {
            Some(off) => off as u64,
            None => match self.translate_fetch_page(bus, pc)? {
                Some(off) => off,
                None => return Ok(Fetched::Uncached),
            },
        };
        let page = (off >> PAGE_SHIFT) as usize;
        let (code, new) = self.code.page(bus.ram(), page);
        if new {
            // Stores into this page must now take the slow path, which
            // notices code; drop any fast write mappings to it.
            self.tlb.flush_writes_to(off & !(PAGE_SIZE - 1));
        }
        Ok(Fetched::Cached {
            code,
            ram_page: page,
        })
    }

    /// Slow path of instruction fetch: full translation + PMP; caches the
    /// page in the exec TLB when it is RAM that PMP allows as a whole.
    /// Returns the RAM offset of pc, or `None` if pc is not in RAM.
    fn translate_fetch_page<B: SystemBus>(
        &mut self,
        bus: &mut B,
        pc: u64,
    ) -> Result<Option<u64>, Trap> {
        let pa = self.translate(bus, pc, super::mmu::Access::Exec, self.prv)?;
        if !self.pmp.check(pa, 2, super::mmu::Access::Exec, self.prv) {
            return Err(Trap::new(super::trap::INSN_ACCESS, pc));
        }
        let Some(off) = bus.ram().offset_of(crate::bus::PhysAddr(pa), 2) else {
            return Ok(None);
        };
        let page_pa = pa & !(PAGE_SIZE - 1);
        if self
            .pmp
            .check(page_pa, PAGE_SIZE, super::mmu::Access::Exec, self.prv)
        {
            self.tlb
                .insert_exec(self.prv, pc, off as u64 & !(PAGE_SIZE - 1));
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
