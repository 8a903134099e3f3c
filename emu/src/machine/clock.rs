//! Virtual time, derived from the instruction count only:
//! `ns = (icount << shift) + warp_bias`. `warp_bias` grows when the hart
//! idles and time jumps to the next deadline (QEMU's icount warp).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtualClock {
    shift: u32,
    warp_bias: u64,
}

impl VirtualClock {
    pub fn new(shift: u32) -> Self {
        VirtualClock {
            shift,
            warp_bias: 0,
        }
    }

    #[inline(always)]
    pub fn now(&self, icount: u64) -> u64 {
        (icount << self.shift).wrapping_add(self.warp_bias)
    }

    pub fn warp(&mut self, ns: u64) {
        self.warp_bias = self.warp_bias.saturating_add(ns);
    }

    pub fn warp_bias(&self) -> u64 {
        self.warp_bias
    }

    pub fn shift(&self) -> u32 {
        self.shift
    }

    /// Instructions to retire from `icount` until virtual time reaches
    /// `deadline` (at least 1, so a slice always makes progress).
    pub fn insns_until(&self, icount: u64, deadline: u64) -> u64 {
        let now = self.now(icount);
        if deadline <= now {
            return 1;
        }
        let ns = deadline - now;
        ns.div_ceil(1 << self.shift).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadline_is_reached_exactly() {
        let mut c = VirtualClock::new(3);
        assert_eq!(c.now(10), 80);
        assert_eq!(c.insns_until(10, 100), 3); // 80 -> 104 >= 100
        assert_eq!(c.insns_until(10, 88), 1);
        assert_eq!(c.insns_until(10, 50), 1);
        c.warp(1000);
        assert_eq!(c.now(10), 1080);
    }
}
