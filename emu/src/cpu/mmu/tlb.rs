//! A direct-mapped TLB per (data privilege, access kind) mapping a virtual
//! page straight to its offset in guest RAM.
//!
//! Only RAM pages whose whole 4 KiB passed translation *and* PMP for that
//! privilege and access are entered, so a hit needs no further checks.
//! MMIO and pages PMP splits always take the slow path.

use super::super::Priv;

pub const ENTRIES: usize = 256;
const INVALID: u64 = u64::MAX;

#[derive(Debug, Clone, Copy)]
pub struct Entry {
    /// Virtual page number (va >> 12), or INVALID.
    pub tag: u64,
    /// Offset of the page in RAM.
    pub off: u64,
}

const EMPTY: Entry = Entry {
    tag: INVALID,
    off: 0,
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

    /// Drops every write mapping to the RAM page at `off` (it now holds code,
    /// and stores to it must go through the slow path that notices that).
    pub fn flush_writes_to(&mut self, off: u64) {
        for p in self.sets.iter_mut() {
            for e in p[WRITE].iter_mut() {
                if e.off == off {
                    *e = EMPTY;
                }
            }
        }
    }

    #[inline(always)]
    fn lookup(&self, prv: Priv, kind: usize, va: u64) -> Option<u64> {
        let e = &self.sets[prv as usize][kind][index(va)];
        if e.tag == va >> 12 {
            Some(e.off + (va & 0xfff))
        } else {
            None
        }
    }

    /// RAM offset for a load of `va` by privilege `prv`.
    #[inline(always)]
    pub fn lookup_read(&self, prv: Priv, va: u64) -> Option<u64> {
        self.lookup(prv, READ, va)
    }
    #[inline(always)]
    pub fn lookup_write(&self, prv: Priv, va: u64) -> Option<u64> {
        self.lookup(prv, WRITE, va)
    }
    #[inline(always)]
    pub fn lookup_exec(&self, prv: Priv, va: u64) -> Option<u64> {
        self.lookup(prv, EXEC, va)
    }

    fn insert(&mut self, prv: Priv, kind: usize, va: u64, page_off: u64) {
        self.sets[prv as usize][kind][index(va)] = Entry {
            tag: va >> 12,
            off: page_off,
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
        assert_eq!(t.lookup_read(Priv::S, 0xffff_ffc0_0000_1234), Some(0x5234));
        assert_eq!(
            t.lookup_read(Priv::U, 0xffff_ffc0_0000_1234),
            None,
            "per privilege"
        );
        assert_eq!(
            t.lookup_write(Priv::S, 0xffff_ffc0_0000_1234),
            None,
            "per kind"
        );
        assert_eq!(
            t.lookup_read(Priv::S, 0x0000_0040_0000_1234),
            None,
            "full tag compared"
        );
        t.insert_write(Priv::S, 0x1000, 0x5000);
        t.flush_writes_to(0x5000);
        assert_eq!(t.lookup_write(Priv::S, 0x1000), None);
        t.flush();
        assert_eq!(t.lookup_read(Priv::S, 0xffff_ffc0_0000_1234), None);
    }
}
