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

/// Guest RAM: one contiguous region.
pub struct Ram {
    base: u64,
    bytes: Vec<u8>,
}

impl Ram {
    pub fn new(base: PhysAddr, size: usize) -> Self {
        Ram { base: base.0, bytes: vec![0; size] }
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
    #[inline(always)]
    pub fn bytes_mut(&mut self) -> &mut [u8] {
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
}

/// What the hart needs from the machine.
pub trait SystemBus {
    /// Guest RAM, for the fast path (loads, stores, instruction fetch, page walks).
    fn ram(&mut self) -> &mut Ram;
    /// A load from outside RAM. `size` is 1, 2, 4 or 8; the result is zero-extended.
    /// `icount` is the number of instructions retired so far (devices derive time from it).
    fn mmio_read(&mut self, addr: PhysAddr, size: u8, icount: u64) -> Result<u64, BusFault>;
    /// A store outside RAM.
    fn mmio_write(&mut self, addr: PhysAddr, size: u8, value: u64, icount: u64) -> Result<(), BusFault>;
    /// The interrupt lines (`irq::*` bits) devices assert right now. The hart
    /// ORs these into `mip` when it checks for interrupts.
    fn irq_lines(&self) -> u64;
    /// The value of the `time` CSR (ACLINT mtime) at `icount`.
    fn mtime(&self, icount: u64) -> u64;
}
