//! A direct-mapped TLB per (data privilege, access kind) mapping a virtual
//! page straight to its page in guest RAM.
//!
//! Only RAM pages whose whole 4 KiB passed translation *and* PMP for that
//! privilege and access are entered, so a hit needs no further checks.
//! MMIO and pages PMP splits always take the slow path.
//!
//! As in QEMU's softmmu, the tag compare also checks alignment: the low
//! bits of an access's size that are set in the address make it miss, so
//! a hit never crosses a page and needs no separate check. Misaligned
//! accesses take the slow path.

use super::super::Priv;

pub const ENTRIES: usize = 256;
/// Never equal to a masked address: those have at most bits 0..=2 set
/// below the page.
const INVALID: u64 = u64::MAX;
const PAGE_MASK: u64 = !0xfff;

#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Virtual address of the page (va & !0xfff), or INVALID.
    pub tag: u64,
    /// Index of the page in RAM (RAM offset >> 12). 32 bits: RAM offsets
    /// stay below 2^44, which also lets the compiler see that
    /// `offset + size` cannot overflow.
    pub page: u32,
}

const EMPTY: Entry = Entry {
    tag: INVALID,
    page: 0,
};

/// Per privilege (U, S, -, M) and kind (read, write, exec).
pub struct Tlb {
    sets: Box<[[[Entry; ENTRIES]; 3]; 4]>,
}

impl Default for Tlb {
    fn default() -> Self {
        Self::new()
    }
}

const READ: usize = 0;
const WRITE: usize = 1;
const EXEC: usize = 2;

#[inline(always)]
fn index(va: u64) -> usize {
    ((va >> 12) as usize) & (ENTRIES - 1)
}

impl Tlb {
    pub fn new() -> Tlb {
        Tlb {
            sets: Box::new([[[EMPTY; ENTRIES]; 3]; 4]),
        }
    }

    pub fn flush(&mut self) {
        for p in self.sets.iter_mut() {
            for k in p.iter_mut() {
                k.fill(EMPTY);
            }
        }
    }

    /// Drops every write mapping, so the next store to each page takes the
    /// slow path (which records the page as written: snapshot dirty pages).
    pub fn flush_writes(&mut self) {
        for p in self.sets.iter_mut() {
            p[WRITE].fill(EMPTY);
        }
    }

    /// Drops every write mapping to the RAM page at `off` (it now holds code,
    /// and stores to it must go through the slow path that notices that).
    pub fn flush_writes_to(&mut self, off: u64) {
        let page = (off >> 12) as u32;
        for p in self.sets.iter_mut() {
            for e in p[WRITE].iter_mut() {
                if e.tag != INVALID && e.page == page {
                    *e = EMPTY;
                }
            }
        }
    }

    /// RAM offset of an access of `size` bytes (a power of two) at `va`:
    /// `None` on a miss or if `va` is not aligned to `size`.
    #[inline(always)]
    fn lookup(&self, prv: Priv, kind: usize, va: u64, size: u64) -> Option<usize> {
        let e = &self.sets[prv as usize][kind][index(va)];
        if e.tag == va & (PAGE_MASK | (size - 1)) {
            Some((e.page as usize) << 12 | (va & 0xfff) as usize)
        } else {
            None
        }
    }

    /// RAM offset for an aligned load of `size` bytes at `va` by `prv`.
    #[inline(always)]
    pub fn lookup_read(&self, prv: Priv, va: u64, size: u64) -> Option<usize> {
        self.lookup(prv, READ, va, size)
    }
    #[inline(always)]
    pub fn lookup_write(&self, prv: Priv, va: u64, size: u64) -> Option<usize> {
        self.lookup(prv, WRITE, va, size)
    }
    /// RAM offset of the instruction at `va` (any alignment: the caller
    /// fetches halfwords).
    #[inline(always)]
    pub fn lookup_exec(&self, prv: Priv, va: u64) -> Option<usize> {
        self.lookup(prv, EXEC, va, 1)
    }

    fn insert(&mut self, prv: Priv, kind: usize, va: u64, page_off: u64) {
        debug_assert_eq!(page_off & 0xfff, 0);
        self.sets[prv as usize][kind][index(va)] = Entry {
            tag: va & PAGE_MASK,
            page: u32::try_from(page_off >> 12).expect("RAM below 16 TiB"),
        };
    }
    pub fn insert_read(&mut self, prv: Priv, va: u64, page_off: u64) {
        self.insert(prv, READ, va, page_off)
    }
    pub fn insert_write(&mut self, prv: Priv, va: u64, page_off: u64) {
        self.insert(prv, WRITE, va, page_off)
    }
    pub fn insert_exec(&mut self, prv: Priv, va: u64, page_off: u64) {
        self.insert(prv, EXEC, va, page_off)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_miss_and_flush() {
        let mut t = Tlb::new();
        t.insert_read(Priv::S, 0xffff_ffc0_0000_1000, 0x5000);
        assert_eq!(
            t.lookup_read(Priv::S, 0xffff_ffc0_0000_1234, 4),
            Some(0x5234)
        );
        assert_eq!(
            t.lookup_read(Priv::U, 0xffff_ffc0_0000_1234, 4),
            None,
            "per privilege"
        );
        assert_eq!(
            t.lookup_write(Priv::S, 0xffff_ffc0_0000_1234, 4),
            None,
            "per kind"
        );
        assert_eq!(
            t.lookup_read(Priv::S, 0x0000_0040_0000_1234, 4),
            None,
            "full tag compared"
        );
        t.insert_write(Priv::S, 0x1000, 0x5000);
        t.flush_writes_to(0x5000);
        assert_eq!(t.lookup_write(Priv::S, 0x1000, 1), None);
        t.flush();
        assert_eq!(t.lookup_read(Priv::S, 0xffff_ffc0_0000_1234, 4), None);
    }

    #[test]
    fn misaligned_accesses_miss() {
        let mut t = Tlb::new();
        t.insert_read(Priv::M, 0x8000_0000, 0);
        assert_eq!(t.lookup_read(Priv::M, 0x8000_0ff8, 8), Some(0xff8));
        assert_eq!(t.lookup_read(Priv::M, 0x8000_0ffc, 8), None, "would cross");
        assert_eq!(t.lookup_read(Priv::M, 0x8000_0002, 4), None);
        assert_eq!(t.lookup_read(Priv::M, 0x8000_0003, 1), Some(3));
        assert_eq!(
            t.lookup_exec(Priv::M, 0x8000_0002),
            None,
            "not an exec entry"
        );
    }
}
