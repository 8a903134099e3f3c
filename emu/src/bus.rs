//! The contract between the hart and the rest of the machine.
//!
//! The CPU sees guest-physical memory through [`SystemBus`]: a fast path to
//! RAM (a plain byte slice at a fixed base) and a slow path for everything
//! else (MMIO, ROM). The board implements the trait; CPU unit tests implement
//! it with RAM only.

/// A guest-physical address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PhysAddr(pub u64);

/// A guest-virtual address (before translation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VirtAddr(pub u64);

/// Why a physical access failed. The hart turns it into an access-fault trap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusFault {
    /// Nothing is mapped at this address.
    Unmapped,
    /// A device rejected the access (size, alignment or read-only register).
    Rejected,
}

/// Interrupt lines the board drives into the hart, as `mip` bit masks.
pub mod irq {
    pub const SSIP: u64 = 1 << 1;
    pub const MSIP: u64 = 1 << 3;
    pub const STIP: u64 = 1 << 5;
    pub const MTIP: u64 = 1 << 7;
    pub const SEIP: u64 = 1 << 9;
    pub const MEIP: u64 = 1 << 11;
}

/// Size of the pages the decode cache tracks for coherence.
pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_SIZE: u64 = 1 << PAGE_SHIFT;

/// Guest RAM: one contiguous region.
///
/// Besides the bytes, RAM keeps the hart's decoded-code cache coherent: the
/// hart marks every page it has decoded instructions from (`mark_code`); any
/// write through [`Ram::write_bytes`] (DMA, image loading) or the hart's own
/// stores to such a page queues the page as stale, and the hart drops its
/// decoded copy before it executes from the page again. [`Ram::bytes_mut`]
/// cannot know what the caller writes, so it conservatively marks every
/// decoded page stale.
pub struct Ram {
    base: u64,
    bytes: Vec<u8>,
    /// One flag per page: the hart holds decoded instructions from it.
    code: Vec<bool>,
    /// Pages whose decoded copy is stale, not yet collected by the hart.
    stale: Vec<u32>,
    /// Everything decoded is stale (after `bytes_mut`).
    all_stale: bool,
    /// One flag per page: something may have written it since power-on.
    /// Pages never written are still zero, so the state digest skips them
    /// without touching (and page-faulting in) memory the guest never used.
    written: Vec<bool>,
    /// One bit per page: written since the last [`Ram::take_dirty`]
    /// (snapshots store only these). Set on the same paths as `written`;
    /// the hart's fast-path stores go through write TLB entries, which
    /// are only filled by a slow-path store that sets the bit, and the
    /// snapshot code flushes those entries when it takes the bits.
    dirty: Vec<u64>,
}

impl Ram {
    pub fn new(base: PhysAddr, size: usize) -> Self {
        let pages = (size as u64).div_ceil(PAGE_SIZE) as usize;
        Ram {
            base: base.0,
            bytes: vec![0; size],
            code: vec![false; pages],
            stale: Vec::new(),
            all_stale: false,
            written: vec![false; pages],
            dirty: vec![0; pages.div_ceil(64)],
        }
    }

    /// The pages that may hold non-zero bytes, with their page index; every
    /// other page is all zero.
    pub fn written_pages(&self) -> impl Iterator<Item = (usize, &[u8])> + '_ {
        self.bytes
            .chunks(PAGE_SIZE as usize)
            .enumerate()
            .filter(|(i, _)| self.written[*i])
    }
    #[inline(always)]
    pub fn base(&self) -> u64 {
        self.base
    }
    #[inline(always)]
    pub fn size(&self) -> u64 {
        self.bytes.len() as u64
    }
    #[inline(always)]
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Raw mutable access. Invalidates all decoded code, because the caller
    /// may write anywhere; prefer [`Ram::write_bytes`], which is precise.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        self.invalidate_all_code();
        self.written.fill(true);
        self.dirty.fill(u64::MAX);
        &mut self.bytes
    }
    /// Offset of `addr` into RAM if `[addr, addr+len)` lies wholly inside it.
    #[inline(always)]
    pub fn offset_of(&self, addr: PhysAddr, len: u64) -> Option<usize> {
        let off = addr.0.wrapping_sub(self.base);
        if off < self.size() && len <= self.size() - off {
            Some(off as usize)
        } else {
            None
        }
    }

    /// Copies `data` into RAM at `addr` (DMA, image loading), keeping decoded
    /// code coherent. Fails without writing anything if the range leaves RAM.
    pub fn write_bytes(&mut self, addr: PhysAddr, data: &[u8]) -> Result<(), BusFault> {
        let off = self
            .offset_of(addr, data.len() as u64)
            .ok_or(BusFault::Unmapped)?;
        self.bytes[off..off + data.len()].copy_from_slice(data);
        self.note_write(off, data.len());
        Ok(())
    }
    /// Copies RAM at `addr` into `buf`.
    pub fn read_bytes(&self, addr: PhysAddr, buf: &mut [u8]) -> Result<(), BusFault> {
        let off = self
            .offset_of(addr, buf.len() as u64)
            .ok_or(BusFault::Unmapped)?;
        buf.copy_from_slice(&self.bytes[off..off + buf.len()]);
        Ok(())
    }
    pub fn read_u16(&self, addr: PhysAddr) -> Result<u16, BusFault> {
        let mut b = [0; 2];
        self.read_bytes(addr, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    pub fn read_u32(&self, addr: PhysAddr) -> Result<u32, BusFault> {
        let mut b = [0; 4];
        self.read_bytes(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    pub fn read_u64(&self, addr: PhysAddr) -> Result<u64, BusFault> {
        let mut b = [0; 8];
        self.read_bytes(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    pub fn write_u16(&mut self, addr: PhysAddr, v: u16) -> Result<(), BusFault> {
        self.write_bytes(addr, &v.to_le_bytes())
    }
    pub fn write_u32(&mut self, addr: PhysAddr, v: u32) -> Result<(), BusFault> {
        self.write_bytes(addr, &v.to_le_bytes())
    }
    pub fn write_u64(&mut self, addr: PhysAddr, v: u64) -> Result<(), BusFault> {
        self.write_bytes(addr, &v.to_le_bytes())
    }

    /// The bytes, for the hart's own accesses (which track code pages through
    /// the TLB instead of invalidating everything).
    #[inline(always)]
    pub(crate) fn data_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }
    /// Queues every decoded page in `[off, off+len)` as stale.
    /// Returns true if any page was code.
    #[inline]
    pub(crate) fn note_write(&mut self, off: usize, len: usize) -> bool {
        if len == 0 {
            return false;
        }
        let first = off >> PAGE_SHIFT;
        let last = (off + len - 1) >> PAGE_SHIFT;
        let mut hit = false;
        for p in first..=last {
            self.written[p] = true;
            self.dirty[p >> 6] |= 1 << (p & 63);
            if self.code[p] {
                self.code[p] = false;
                self.stale.push(p as u32);
                hit = true;
            }
        }
        hit
    }
    /// The pages written since the last call, in ascending order; clears
    /// the record. The caller must also flush the hart's write TLB
    /// entries ([`crate::cpu::Hart::flush_write_tlb`]), or fast-path stores
    /// to pages mapped before would go unrecorded.
    pub fn take_dirty(&mut self) -> Vec<u32> {
        let pages = self.code.len();
        let mut out = Vec::new();
        for (w, bits) in self.dirty.iter_mut().enumerate() {
            let mut b = std::mem::take(bits);
            while b != 0 {
                let p = w * 64 + b.trailing_zeros() as usize;
                if p < pages {
                    out.push(p as u32);
                }
                b &= b - 1;
            }
        }
        out
    }

    /// Number of pages.
    pub fn pages(&self) -> usize {
        self.code.len()
    }

    /// The bytes of page `page`.
    pub fn page(&self, page: u32) -> &[u8] {
        let start = page as usize * PAGE_SIZE as usize;
        &self.bytes[start..(start + PAGE_SIZE as usize).min(self.bytes.len())]
    }

    /// The hart decodes from RAM page `page`.
    pub(crate) fn mark_code(&mut self, page: usize) {
        self.code[page] = true;
    }
    /// Marks every decoded page stale.
    pub fn invalidate_all_code(&mut self) {
        self.all_stale = true;
        self.stale.clear();
        self.code.iter_mut().for_each(|c| *c = false);
    }
    /// True if the hart must collect stale pages before executing.
    #[inline(always)]
    pub(crate) fn has_stale(&self) -> bool {
        self.all_stale || !self.stale.is_empty()
    }
    /// Hands the stale pages to the hart: `None` means "everything".
    pub(crate) fn take_stale(&mut self) -> Option<Vec<u32>> {
        if self.all_stale {
            self.all_stale = false;
            self.stale.clear();
            None
        } else {
            Some(std::mem::take(&mut self.stale))
        }
    }
}

/// What the hart needs from the machine.
pub trait SystemBus {
    /// Guest RAM, for the fast path (loads, stores, instruction fetch, page walks).
    fn ram(&mut self) -> &mut Ram;
    /// A load from outside RAM. `size` is 1, 2, 4 or 8; the result is zero-extended.
    /// `icount` is the number of instructions retired so far (devices derive time from it).
    fn mmio_read(&mut self, addr: PhysAddr, size: u8, icount: u64) -> Result<u64, BusFault>;
    /// A store outside RAM.
    fn mmio_write(
        &mut self,
        addr: PhysAddr,
        size: u8,
        value: u64,
        icount: u64,
    ) -> Result<(), BusFault>;
    /// The interrupt lines (`irq::*` bits) devices assert right now. The hart
    /// ORs these into `mip` when it checks for interrupts.
    fn irq_lines(&self) -> u64;
    /// The value of the `time` CSR (ACLINT mtime) at `icount`.
    fn mtime(&self, icount: u64) -> u64;
    /// The machine wants the hart to return (checked after every MMIO access,
    /// so a device write can stop the hart at an exact instruction).
    fn stop_requested(&self) -> bool {
        false
    }
}

/// A machine of RAM alone: no devices (every MMIO access faults), no
/// interrupt lines, `time` reads the icount. For running self-checking
/// programs and measuring the hart without a board (`emu/tests/isa.rs`,
/// `emu/benches/cpu.rs`).
pub struct RamOnlyBus {
    pub ram: Ram,
}

impl SystemBus for RamOnlyBus {
    fn ram(&mut self) -> &mut Ram {
        &mut self.ram
    }
    fn mmio_read(&mut self, _: PhysAddr, _: u8, _: u64) -> Result<u64, BusFault> {
        Err(BusFault::Unmapped)
    }
    fn mmio_write(&mut self, _: PhysAddr, _: u8, _: u64, _: u64) -> Result<(), BusFault> {
        Err(BusFault::Unmapped)
    }
    fn irq_lines(&self) -> u64 {
        0
    }
    fn mtime(&self, icount: u64) -> u64 {
        icount
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn written_pages_cover_every_write_path() {
        let mut ram = Ram::new(PhysAddr(0x8000_0000), 8 * PAGE_SIZE as usize);
        assert_eq!(ram.written_pages().count(), 0);
        ram.write_bytes(PhysAddr(0x8000_0000 + PAGE_SIZE - 1), &[1, 2])
            .unwrap();
        let pages: Vec<usize> = ram.written_pages().map(|(i, _)| i).collect();
        assert_eq!(
            pages,
            [0, 1],
            "a write across a page boundary marks both pages"
        );
        ram.note_write(5 * PAGE_SIZE as usize, 8);
        assert!(ram.written_pages().any(|(i, _)| i == 5));
        let _ = ram.bytes_mut();
        assert_eq!(
            ram.written_pages().count(),
            8,
            "raw access may write anywhere"
        );
    }
    use super::*;

    #[test]
    fn write_bytes_bounds_and_little_endian_helpers() {
        let mut ram = Ram::new(PhysAddr(0x8000_0000), 0x2000);
        ram.write_u64(PhysAddr(0x8000_0008), 0x1122_3344_5566_7788)
            .unwrap();
        assert_eq!(ram.read_u32(PhysAddr(0x8000_000c)).unwrap(), 0x1122_3344);
        assert_eq!(ram.read_u16(PhysAddr(0x8000_0008)).unwrap(), 0x7788);
        // Straddling the end: refused, nothing written.
        assert_eq!(
            ram.write_bytes(PhysAddr(0x8000_1ffe), &[1, 2, 3, 4]),
            Err(BusFault::Unmapped)
        );
        assert_eq!(ram.read_u16(PhysAddr(0x8000_1ffe)).unwrap(), 0);
        assert!(ram.read_u64(PhysAddr(0x7fff_fffc)).is_err());
    }

    #[test]
    fn writes_to_decoded_pages_are_reported_once() {
        let mut ram = Ram::new(PhysAddr(0x8000_0000), 0x4000);
        ram.mark_code(1);
        ram.mark_code(3);
        ram.write_bytes(PhysAddr(0x8000_0000), &[0; 16]).unwrap();
        assert!(!ram.has_stale(), "page 0 holds no code");
        ram.write_bytes(PhysAddr(0x8000_1ffc), &[0; 8]).unwrap();
        assert!(ram.has_stale());
        assert_eq!(ram.take_stale(), Some(vec![1]));
        ram.write_u32(PhysAddr(0x8000_1000), 5).unwrap();
        assert!(
            !ram.has_stale(),
            "page 1 must be decoded again before it is reported again"
        );
        let _ = ram.bytes_mut();
        assert_eq!(ram.take_stale(), None, "bytes_mut: everything is stale");
        assert!(!ram.has_stale());
    }
}
