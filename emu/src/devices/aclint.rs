//! ACLINT in the SiFive CLINT layout (QEMU's virt `aclint-mswi` at +0 and
//! `aclint-mtimer` at +0x4000): MSIP at 0x0, MTIMECMP at 0x4000, MTIME at
//! 0xbff8. mtime runs on virtual time: 10 MHz, one tick per 100 virtual ns.

use crate::bus::{irq, BusFault};

pub const CLINT_SIZE: u64 = 0x10000;
pub const MSIP: u64 = 0x0000;
pub const MTIMECMP: u64 = 0x4000;
pub const MTIME: u64 = 0xbff8;
/// Virtual nanoseconds per mtime tick (timebase 10 MHz).
pub const NS_PER_TICK: u64 = 100;

/// [`Aclint`] as plain data (snapshots).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AclintState {
    pub msip: bool,
    pub mtimecmp: u64,
    pub mtime_delta: u64,
}

#[derive(Debug, Default)]
pub struct Aclint {
    msip: bool,
    mtimecmp: u64,
    /// Guest writes to mtime move it relative to virtual time.
    mtime_delta: u64,
}

impl Aclint {
    pub fn save_state(&self) -> AclintState {
        AclintState {
            msip: self.msip,
            mtimecmp: self.mtimecmp,
            mtime_delta: self.mtime_delta,
        }
    }

    /// Every value is a valid ACLINT state.
    pub fn restore_state(&mut self, s: &AclintState) {
        self.msip = s.msip;
        self.mtimecmp = s.mtimecmp;
        self.mtime_delta = s.mtime_delta;
    }

    pub fn new() -> Self {
        Self::default()
    }

    pub fn reset(&mut self) {
        *self = Self::default();
    }

    pub fn mtime(&self, now_ns: u64) -> u64 {
        (now_ns / NS_PER_TICK).wrapping_add(self.mtime_delta)
    }

    /// The mip bits this device drives at virtual time `now_ns`.
    pub fn lines(&self, now_ns: u64) -> u64 {
        let mut v = 0;
        if self.msip {
            v |= irq::MSIP;
        }
        if self.mtime(now_ns) >= self.mtimecmp {
            v |= irq::MTIP;
        }
        v
    }

    /// First virtual ns at which MTIP rises, if it is not already up.
    pub fn next_deadline(&self, now_ns: u64) -> Option<u64> {
        if self.mtime(now_ns) >= self.mtimecmp {
            return None;
        }
        self.ns_at(self.mtimecmp)
    }

    /// The virtual ns at which mtime reads `ticks` (None past u64 ns).
    pub fn ns_at(&self, ticks: u64) -> Option<u64> {
        ticks
            .wrapping_sub(self.mtime_delta)
            .checked_mul(NS_PER_TICK)
    }

    pub fn read(&mut self, off: u64, size: u8, now_ns: u64) -> Result<u64, BusFault> {
        let (base, shift) = (off & !7, (off & 7) * 8);
        let v = match base {
            MSIP if size == 4 && off == MSIP => return Ok(self.msip as u64),
            MSIP => 0,
            MTIMECMP => self.mtimecmp,
            MTIME => self.mtime(now_ns),
            _ => 0,
        };
        if size == 8 && shift != 0 || size != 4 && size != 8 {
            return Err(BusFault::Rejected);
        }
        let mask = if size == 8 { u64::MAX } else { 0xffff_ffff };
        Ok((v >> shift) & mask)
    }

    pub fn write(&mut self, off: u64, size: u8, val: u64, now_ns: u64) -> Result<(), BusFault> {
        if size != 4 && size != 8 || size == 8 && off & 7 != 0 {
            return Err(BusFault::Rejected);
        }
        let merge = |old: u64| -> u64 {
            if size == 8 {
                val
            } else if off & 4 == 0 {
                old & !0xffff_ffff | val & 0xffff_ffff
            } else {
                old & 0xffff_ffff | val << 32
            }
        };
        match off & !7 {
            MSIP if off == MSIP => self.msip = val & 1 == 1,
            MTIMECMP => self.mtimecmp = merge(self.mtimecmp),
            MTIME => {
                let new = merge(self.mtime(now_ns));
                self.mtime_delta = new.wrapping_sub(now_ns / NS_PER_TICK);
            }
            _ => {}
        }
        Ok(())
    }

    pub fn digest_state(&self, out: &mut Vec<u8>) {
        out.push(self.msip as u8);
        out.extend_from_slice(&self.mtimecmp.to_le_bytes());
        out.extend_from_slice(&self.mtime_delta.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_deadline_and_mtip() {
        let mut c = Aclint::new();
        c.write(MTIMECMP, 8, u64::MAX, 0).unwrap();
        assert_eq!(c.lines(0), 0);
        c.write(MTIMECMP, 4, 50, 0).unwrap();
        c.write(MTIMECMP + 4, 4, 0, 0).unwrap();
        assert_eq!(c.read(MTIMECMP, 8, 0).unwrap(), 50);
        assert_eq!(c.next_deadline(0), Some(5000));
        assert_eq!(c.lines(4999), 0);
        assert_eq!(c.lines(5000), irq::MTIP);
        assert_eq!(c.read(MTIME, 8, 12_345).unwrap(), 123);
        assert_eq!(c.read(MTIME + 4, 4, 12_345).unwrap(), 0);
    }

    #[test]
    fn msip_and_mtime_write() {
        let mut c = Aclint::new();
        c.write(MTIMECMP, 8, u64::MAX, 0).unwrap();
        c.write(MSIP, 4, 1, 0).unwrap();
        assert_eq!(c.lines(0), irq::MSIP);
        assert_eq!(c.read(MSIP, 4, 0).unwrap(), 1);
        c.write(MTIME, 8, 1000, 500).unwrap();
        assert_eq!(c.mtime(500), 1000);
        assert_eq!(c.mtime(600), 1001);
        assert!(c.read(MSIP, 1, 0).is_err());
    }
}
