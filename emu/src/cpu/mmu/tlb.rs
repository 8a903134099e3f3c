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

use std::collections::BTreeSet;

use super::super::Priv;

pub const ENTRIES: usize = 256;
/// Never equal to a masked address: those have at most bits 0..=2 set
/// below the page.
const INVALID: u64 = u64::MAX;
const PAGE_MASK: u64 = !0xfff;

/// `repr(C)`: translated code (`cpu::jit`) looks entries up itself, at
/// [`ENTRY_BYTES`] apart with the tag at offset 0 and the page at 8.
#[derive(Debug, Clone, Copy)]
#[repr(C)]
pub struct Entry {
    /// Virtual address of the page (va & !0xfff), or INVALID.
    pub tag: u64,
    /// Index of the page in RAM (RAM offset >> 12). 32 bits: RAM offsets
    /// stay below 2^44, which also lets the compiler see that
    /// `offset + size` cannot overflow.
    pub page: u32,
    /// 1 if the translation is global (PTE G bit, or M-mode): it survives
    /// a change of address space.
    pub global: u32,
}

pub const ENTRY_BYTES: usize = std::mem::size_of::<Entry>();
const _: () = assert!(ENTRY_BYTES == 16 && std::mem::offset_of!(Entry, page) == 8);

const EMPTY: Entry = Entry {
    tag: INVALID,
    page: 0,
    global: 0,
};

/// Which data entries an access uses: its privilege, with S split by
/// mstatus.SUM (S with SUM takes the unused slot 2), because Linux flips
/// SUM around every user copy and a flush each time would empty the TLB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataSet(usize);

impl DataSet {
    pub fn of(prv: Priv, sum: bool) -> DataSet {
        if prv == Priv::S && sum {
            DataSet(2)
        } else {
            DataSet(prv as usize)
        }
    }
}

/// Per privilege (U, S, S with SUM for data, M) and kind (read, write, exec).
pub struct Tlb {
    sets: Box<[[[Entry; ENTRIES]; 3]; 4]>,
    /// Superpages (virtual base, size) translated since the last full
    /// flush: their 4 KiB entries sit at other indices than the page a
    /// single-address `sfence.vma` names, so fencing inside one flushes all.
    superpages: BTreeSet<(u64, u64)>,
    /// Whether the translation the next insert enters is global (told by
    /// the page walk that produced it, see [`Tlb::note_walk`]).
    next_global: bool,
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
            superpages: BTreeSet::new(),
            next_global: false,
        }
    }

    pub fn flush(&mut self) {
        for p in self.sets.iter_mut() {
            for k in p.iter_mut() {
                k.fill(EMPTY);
            }
        }
        self.superpages.clear();
    }

    /// Drops every entry that is not global: what a new address space
    /// (satp write) or `sfence.vma x0, asid` must forget.
    pub fn flush_non_global(&mut self) {
        for p in self.sets.iter_mut() {
            for k in p.iter_mut() {
                for e in k.iter_mut().filter(|e| e.global == 0) {
                    *e = EMPTY;
                }
            }
        }
    }

    /// The page walk just done produced a global translation (or not): the
    /// next insert, which enters it, marks its entry so.
    pub fn note_walk(&mut self, global: bool) {
        self.next_global = global;
    }

    /// Drops every entry for the page holding `va` (all privileges and
    /// kinds), or everything if `va` lies in a superpage entered since the
    /// last full flush.
    pub fn flush_page(&mut self, va: u64) {
        // Sv39..Sv57 superpages: 2 MiB, 1 GiB, 512 GiB, 256 TiB.
        let inside = (1..=4).any(|level| {
            let size = 1u64 << (12 + 9 * level);
            self.superpages.contains(&(va & !(size - 1), size))
        });
        if inside {
            return self.flush();
        }
        let (i, tag) = (index(va), va & PAGE_MASK);
        for p in self.sets.iter_mut() {
            for k in p.iter_mut() {
                if k[i].tag == tag {
                    k[i] = EMPTY;
                }
            }
        }
    }

    /// Records that `va` was translated through a superpage of `size` bytes.
    pub fn note_superpage(&mut self, va: u64, size: u64) {
        self.superpages.insert((va & !(size - 1), size));
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
    fn lookup(&self, set: usize, kind: usize, va: u64, size: u64) -> Option<usize> {
        let e = &self.sets[set][kind][index(va)];
        if e.tag == va & (PAGE_MASK | (size - 1)) {
            Some((e.page as usize) << 12 | (va & 0xfff) as usize)
        } else {
            None
        }
    }

    /// RAM offset for an aligned load of `size` bytes at `va` by `prv`.
    #[inline(always)]
    pub fn lookup_read(&self, set: DataSet, va: u64, size: u64) -> Option<usize> {
        self.lookup(set.0, READ, va, size)
    }
    #[inline(always)]
    pub fn lookup_write(&self, set: DataSet, va: u64, size: u64) -> Option<usize> {
        self.lookup(set.0, WRITE, va, size)
    }
    /// RAM offset of the instruction at `va` (any alignment: the caller
    /// fetches halfwords).
    #[inline(always)]
    pub fn lookup_exec(&self, prv: Priv, va: u64) -> Option<usize> {
        self.lookup(prv as usize, EXEC, va, 1)
    }

    /// The read and write entry arrays of privilege `prv` (for translated
    /// code, which indexes them as [`Tlb::lookup`] does).
    pub fn data_sets(&self, set: DataSet) -> (*const Entry, *const Entry) {
        let p = &self.sets[set.0];
        (p[READ].as_ptr(), p[WRITE].as_ptr())
    }

    fn insert(&mut self, set: usize, kind: usize, va: u64, page_off: u64) {
        debug_assert_eq!(page_off & 0xfff, 0);
        self.sets[set][kind][index(va)] = Entry {
            tag: va & PAGE_MASK,
            page: u32::try_from(page_off >> 12).expect("RAM below 16 TiB"),
            global: std::mem::take(&mut self.next_global) as u32,
        };
    }
    pub fn insert_read(&mut self, set: DataSet, va: u64, page_off: u64) {
        self.insert(set.0, READ, va, page_off)
    }
    pub fn insert_write(&mut self, set: DataSet, va: u64, page_off: u64) {
        self.insert(set.0, WRITE, va, page_off)
    }
    pub fn insert_exec(&mut self, prv: Priv, va: u64, page_off: u64) {
        self.insert(prv as usize, EXEC, va, page_off)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_miss_and_flush() {
        let mut t = Tlb::new();
        t.insert_read(DataSet::of(Priv::S, false), 0xffff_ffc0_0000_1000, 0x5000);
        assert_eq!(
            t.lookup_read(DataSet::of(Priv::S, false), 0xffff_ffc0_0000_1234, 4),
            Some(0x5234)
        );
        assert_eq!(
            t.lookup_read(DataSet::of(Priv::U, false), 0xffff_ffc0_0000_1234, 4),
            None,
            "per privilege"
        );
        assert_eq!(
            t.lookup_write(DataSet::of(Priv::S, false), 0xffff_ffc0_0000_1234, 4),
            None,
            "per kind"
        );
        assert_eq!(
            t.lookup_read(DataSet::of(Priv::S, false), 0x0000_0040_0000_1234, 4),
            None,
            "full tag compared"
        );
        t.insert_write(DataSet::of(Priv::S, false), 0x1000, 0x5000);
        t.flush_writes_to(0x5000);
        assert_eq!(t.lookup_write(DataSet::of(Priv::S, false), 0x1000, 1), None);
        t.flush();
        assert_eq!(
            t.lookup_read(DataSet::of(Priv::S, false), 0xffff_ffc0_0000_1234, 4),
            None
        );
    }

    #[test]
    fn misaligned_accesses_miss() {
        let mut t = Tlb::new();
        t.insert_read(DataSet::of(Priv::M, false), 0x8000_0000, 0);
        assert_eq!(
            t.lookup_read(DataSet::of(Priv::M, false), 0x8000_0ff8, 8),
            Some(0xff8)
        );
        assert_eq!(
            t.lookup_read(DataSet::of(Priv::M, false), 0x8000_0ffc, 8),
            None,
            "would cross"
        );
        assert_eq!(
            t.lookup_read(DataSet::of(Priv::M, false), 0x8000_0002, 4),
            None
        );
        assert_eq!(
            t.lookup_read(DataSet::of(Priv::M, false), 0x8000_0003, 1),
            Some(3)
        );
        assert_eq!(
            t.lookup_exec(Priv::M, 0x8000_0002),
            None,
            "not an exec entry"
        );
    }
}
