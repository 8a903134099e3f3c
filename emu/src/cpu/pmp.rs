//! Physical memory protection: 16 entries, 4-byte granularity, as QEMU.
//!
//! Checked on the slow path only: the TLB caches a page once the whole page
//! passes for that privilege and access kind, and every PMP CSR write
//! flushes the TLB.

use super::mmu::Access;
use super::Priv;

const R: u8 = 1;
const W: u8 = 2;
const X: u8 = 4;
const A_SHIFT: u8 = 3;
const L: u8 = 0x80;
const A_OFF: u8 = 0;
const A_TOR: u8 = 1;
const A_NA4: u8 = 2;
/// pmpaddr holds physical address bits 55:2.
const ADDR_MASK: u64 = (1 << 54) - 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pmp {
    n: usize,
    cfg: [u8; 16],
    addr: [u64; 16],
    /// pmpaddr as written: QEMU 10.0.2 reads back all 64 bits, although
    /// only bits 55:2 of the address (`addr`) take part in matching.
    written: [u64; 16],
    /// `range(i)` of every entry, recomputed on each CSR write: `check`
    /// runs on every TLB refill and page-table read, CSR writes are rare.
    ranges: [Option<(u64, u64)>; 16],
}

impl Pmp {
    pub fn new(entries: u8) -> Pmp {
        Pmp {
            n: entries as usize,
            cfg: [0; 16],
            addr: [0; 16],
            written: [0; 16],
            ranges: [None; 16],
        }
    }

    fn recompute_ranges(&mut self) {
        for i in 0..self.n {
            self.ranges[i] = self.range(i);
        }
    }

    /// Sets every register as saved (snapshot restore: locks do not apply
    /// to putting back a state the hart had). `addr` holds what the guest
    /// reads back ([`Pmp::read_addr`]: all 64 bits written, as QEMU 10.0.2);
    /// matching uses the register's width. Refuses entries the hart does
    /// not have.
    pub fn restore(&mut self, cfg: [u64; 2], addr: &[u64; 16]) -> Result<(), String> {
        for (i, &a) in addr.iter().enumerate() {
            let c = (cfg[i / 8] >> (8 * (i % 8))) as u8;
            if i >= self.n && (c != 0 || a != 0) {
                return Err(format!("PMP entry {i} set, the hart has {}", self.n));
            }
        }
        for i in 0..16 {
            self.cfg[i] = (cfg[i / 8] >> (8 * (i % 8))) as u8;
            self.addr[i] = addr[i] & ADDR_MASK;
            self.written[i] = addr[i];
        }
        self.recompute_ranges();
        Ok(())
    }

    /// pmpcfg register `reg` (pmpcfg0 = 0, pmpcfg2 = 1, ...) on RV64: 8 entries.
    /// Number of entries.
    pub fn entries(&self) -> usize {
        self.n
    }

    pub fn read_cfg(&self, reg: usize) -> u64 {
        (0..8).fold(0, |acc, k| {
            let i = reg * 8 + k;
            let c = if i < self.n { self.cfg[i] as u64 } else { 0 };
            acc | c << (8 * k)
        })
    }

    pub fn write_cfg(&mut self, reg: usize, v: u64) {
        for k in 0..8 {
            let i = reg * 8 + k;
            if i >= self.n || self.cfg[i] & L != 0 {
                continue; // unimplemented or locked: WARL keeps the old value
            }
            // Stored as written, as QEMU 10 does (even the reserved
            // W-without-R encoding, which then grants what its bits say).
            self.cfg[i] = (v >> (8 * k)) as u8;
        }
        self.recompute_ranges();
    }

    pub fn read_addr(&self, i: usize) -> u64 {
        if i < self.n {
            self.written[i]
        } else {
            0
        }
    }

    pub fn write_addr(&mut self, i: usize, v: u64) {
        if i >= self.n || self.addr_locked(i) {
            return;
        }
        self.addr[i] = v & ADDR_MASK;
        self.written[i] = v;
        self.recompute_ranges();
    }

    /// pmpaddr[i] is locked by its own L bit or by a locked TOR entry above it.
    fn addr_locked(&self, i: usize) -> bool {
        if self.cfg[i] & L != 0 {
            return true;
        }
        i + 1 < self.n && self.cfg[i + 1] & L != 0 && (self.cfg[i + 1] >> A_SHIFT) & 3 == A_TOR
    }

    /// Range `[lo, hi)` entry `i` matches, or None if it is off/empty.
    fn range(&self, i: usize) -> Option<(u64, u64)> {
        match (self.cfg[i] >> A_SHIFT) & 3 {
            A_OFF => None,
            A_TOR => {
                let lo = if i == 0 { 0 } else { self.addr[i - 1] << 2 };
                let hi = self.addr[i] << 2;
                (lo < hi).then_some((lo, hi))
            }
            A_NA4 => Some((self.addr[i] << 2, (self.addr[i] << 2) + 4)),
            _ => {
                // NAPOT: trailing ones of pmpaddr give the size.
                let a = self.addr[i];
                let t = a.trailing_ones();
                let size = 1u128 << (t + 3);
                let base = ((a as u128) << 2) & !(size - 1);
                Some((base as u64, (base + size).min(u64::MAX as u128) as u64))
            }
        }
    }

    /// May privilege `prv` perform `kind` on `[pa, pa+len)`?
    pub fn check(&self, pa: u64, len: u64, kind: Access, prv: Priv) -> bool {
        let end = pa.saturating_add(len);
        for i in 0..self.n {
            let Some((lo, hi)) = self.ranges[i] else {
                continue;
            };
            if pa >= lo && end <= hi {
                let c = self.cfg[i];
                if prv == Priv::M && c & L == 0 {
                    return true;
                }
                let need = match kind {
                    Access::Read => R,
                    Access::Write => W,
                    Access::Exec => X,
                };
                return c & need != 0;
            }
            if pa < hi && end > lo {
                return false; // partial match fails
            }
        }
        // No match: M may go on; S and U may not (as QEMU 10: even with no
        // active entry at all, which is why firmware opens all memory).
        // Without PMP, nothing is checked.
        prv == Priv::M || self.n == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    const A_NAPOT: u8 = 3;

    fn napot(base: u64, size: u64) -> u64 {
        (base >> 2) | ((size >> 3) - 1)
    }

    #[test]
    fn napot_region_and_default_deny() {
        let mut p = Pmp::new(16);
        p.write_addr(0, napot(0x8000_0000, 0x8_0000));
        p.write_cfg(0, (A_NAPOT << A_SHIFT) as u64); // no permissions
        p.write_addr(1, u64::MAX);
        p.write_cfg(
            0,
            (A_NAPOT << A_SHIFT) as u64 | (((A_NAPOT << A_SHIFT) | R | W | X) as u64) << 8,
        );
        assert!(
            !p.check(0x8000_1000, 8, Access::Read, Priv::S),
            "firmware region denied to S"
        );
        assert!(
            p.check(0x8000_1000, 8, Access::Read, Priv::M),
            "unlocked: M unaffected"
        );
        assert!(
            p.check(0x8020_0000, 8, Access::Write, Priv::S),
            "second entry: all memory RWX"
        );
    }

    #[test]
    fn tor_and_partial_match() {
        let mut p = Pmp::new(16);
        p.write_addr(0, 0x1000 >> 2);
        p.write_addr(1, 0x2000 >> 2);
        p.write_cfg(0, (((A_TOR << A_SHIFT) | R) as u64) << 8);
        assert!(p.check(0x1000, 4, Access::Read, Priv::U));
        assert!(!p.check(0x1000, 4, Access::Write, Priv::U));
        assert!(
            !p.check(0xffc, 8, Access::Read, Priv::U),
            "straddles the start"
        );
        assert!(
            !p.check(0x3000, 4, Access::Read, Priv::U),
            "no match, entries active: deny S/U"
        );
        assert!(
            !Pmp::new(16).check(0x3000, 4, Access::Read, Priv::U),
            "no entries active: deny S/U"
        );
        assert!(
            Pmp::new(0).check(0x3000, 4, Access::Read, Priv::U),
            "no PMP: allow"
        );
    }

    #[test]
    fn lock_bit_binds_m_and_freezes() {
        let mut p = Pmp::new(16);
        p.write_addr(0, 0x1000 >> 2);
        p.write_cfg(0, (L | (A_NA4 << A_SHIFT) | R) as u64);
        assert!(
            !p.check(0x1000, 4, Access::Write, Priv::M),
            "locked applies to M"
        );
        p.write_cfg(0, 0);
        p.write_addr(0, 0);
        assert_eq!(p.read_cfg(0) & 0xff, (L | (A_NA4 << A_SHIFT) | R) as u64);
        assert_eq!(p.read_addr(0), 0x1000 >> 2);
    }

    #[test]
    fn cfg_bytes_stored_and_unimplemented_read_zero() {
        let mut p = Pmp::new(16);
        p.write_cfg(1, 0x0203);
        assert_eq!(p.read_cfg(1), 0x0203);
        let mut p = Pmp::new(4);
        p.write_cfg(0, u64::MAX);
        assert_eq!(p.read_cfg(0), 0xffff_ffff, "entries 4..7 not implemented");
        p.write_addr(20, 5);
        assert_eq!(p.read_addr(20), 0);
        assert_eq!(p.read_cfg(2), 0);
    }
}
