//! SiFive PLIC as QEMU's virt board configures it: 96 sources (1..=95),
//! priorities 0..7, two contexts for hart 0 (0 = M-mode -> MEIP,
//! 1 = S-mode -> SEIP). Level-triggered: a source stays pending while its
//! line is high, is taken by a claim and can pend again after completion.

use crate::bus::irq;
use crate::devices::irq::MAX_SOURCES;
use crate::devices::StateError;

pub const PLIC_SIZE: u64 = 0x60_0000;
const PRIORITY_BASE: u64 = 0x0;
const PENDING_BASE: u64 = 0x1000;
const ENABLE_BASE: u64 = 0x2000;
const ENABLE_STRIDE: u64 = 0x80;
const CONTEXT_BASE: u64 = 0x20_0000;
const CONTEXT_STRIDE: u64 = 0x1000;
pub const CONTEXTS: usize = 2;
const PRIORITY_MASK: u32 = 7;
const WORDS: usize = (MAX_SOURCES as usize).div_ceil(32);

/// [`Plic`] as plain data (snapshots).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlicState {
    pub priority: Vec<u32>,
    pub pending: u128,
    pub claimed: u128,
    pub enable: [u128; CONTEXTS],
    pub threshold: [u32; CONTEXTS],
    pub levels: u128,
}

#[derive(Debug)]
pub struct Plic {
    priority: [u32; MAX_SOURCES as usize],
    pending: u128,
    claimed: u128,
    enable: [u128; CONTEXTS],
    threshold: [u32; CONTEXTS],
    /// Source levels as last seen.
    levels: u128,
}

impl Default for Plic {
    fn default() -> Self {
        Plic {
            priority: [0; MAX_SOURCES as usize],
            pending: 0,
            claimed: 0,
            enable: [0; CONTEXTS],
            threshold: [0; CONTEXTS],
            levels: 0,
        }
    }
}

impl Plic {
    pub fn save_state(&self) -> PlicState {
        PlicState {
            priority: self.priority.to_vec(),
            pending: self.pending,
            claimed: self.claimed,
            enable: self.enable,
            threshold: self.threshold,
            levels: self.levels,
        }
    }

    /// Takes `s` if it has one priority per source and no bit outside the
    /// sources the PLIC has.
    pub fn restore_state(&mut self, s: &PlicState) -> Result<(), StateError> {
        let bad = |what: String| Err(StateError::new("plic", what));
        let Ok(priority) = <[u32; MAX_SOURCES as usize]>::try_from(s.priority.as_slice()) else {
            return bad(format!(
                "{} priorities for {MAX_SOURCES} sources",
                s.priority.len()
            ));
        };
        let outside = !((1u128 << MAX_SOURCES) - 1);
        let words = [s.pending, s.claimed, s.enable[0], s.enable[1], s.levels];
        if words.iter().any(|w| w & outside != 0) {
            return bad("a source bit beyond source 95".into());
        }
        self.priority = priority;
        self.pending = s.pending;
        self.claimed = s.claimed;
        self.enable = s.enable;
        self.threshold = s.threshold;
        self.levels = s.levels;
        Ok(())
    }

    pub fn new() -> Self {
        Self::default()
    }

    pub fn reset(&mut self) {
        let levels = self.levels;
        *self = Self::default();
        self.set_levels(levels);
    }

    /// Takes the current device line levels (bit n = source n).
    pub fn set_levels(&mut self, levels: u128) {
        let valid = !1u128 & ((1u128 << MAX_SOURCES) - 1);
        let levels = levels & valid;
        let rose = levels & !self.levels;
        let fell = !levels & self.levels;
        self.pending |= rose & !self.claimed;
        self.pending &= !fell;
        self.levels = levels;
    }

    fn best(&self, ctx: usize) -> u32 {
        let mut best = 0;
        let mut best_prio = self.threshold[ctx];
        let cand = self.pending & self.enable[ctx];
        for src in 1..MAX_SOURCES {
            if cand >> src & 1 == 1 && self.priority[src as usize] > best_prio {
                best = src;
                best_prio = self.priority[src as usize];
            }
        }
        best
    }

    /// MEIP/SEIP as the hart sees them.
    pub fn lines(&self) -> u64 {
        let mut v = 0;
        if self.best(0) != 0 {
            v |= irq::MEIP;
        }
        if self.best(1) != 0 {
            v |= irq::SEIP;
        }
        v
    }

    fn claim(&mut self, ctx: usize) -> u32 {
        let src = self.best(ctx);
        if src != 0 {
            self.pending &= !(1 << src);
            self.claimed |= 1 << src;
        }
        src
    }

    /// Ends the claim of `src`. Like QEMU, any context may complete any
    /// source, enabled or not (a driver may mask a source in its handler).
    fn complete(&mut self, _ctx: usize, src: u32) {
        if src == 0 || src >= MAX_SOURCES {
            return;
        }
        self.claimed &= !(1 << src);
        if self.levels >> src & 1 == 1 {
            self.pending |= 1 << src;
        }
    }

    /// 32-bit register read (other sizes read 0, as QEMU rejects them).
    pub fn read(&mut self, off: u64, size: u8) -> u64 {
        if size != 4 {
            return 0;
        }
        let v: u32 = if off < PENDING_BASE {
            self.priority
                .get(((off - PRIORITY_BASE) / 4) as usize)
                .copied()
                .unwrap_or(0)
        } else if off < PENDING_BASE + 4 * WORDS as u64 {
            (self.pending >> (32 * ((off - PENDING_BASE) / 4))) as u32
        } else if (ENABLE_BASE..ENABLE_BASE + ENABLE_STRIDE * CONTEXTS as u64).contains(&off) {
            let ctx = ((off - ENABLE_BASE) / ENABLE_STRIDE) as usize;
            let word = (off - ENABLE_BASE) % ENABLE_STRIDE / 4;
            if word < WORDS as u64 {
                (self.enable[ctx] >> (32 * word)) as u32
            } else {
                0
            }
        } else if (CONTEXT_BASE..CONTEXT_BASE + CONTEXT_STRIDE * CONTEXTS as u64).contains(&off) {
            let ctx = ((off - CONTEXT_BASE) / CONTEXT_STRIDE) as usize;
            match (off - CONTEXT_BASE) % CONTEXT_STRIDE {
                0 => self.threshold[ctx],
                4 => self.claim(ctx),
                _ => 0,
            }
        } else {
            0
        };
        v as u64
    }

    pub fn write(&mut self, off: u64, size: u8, val: u64) {
        if size != 4 {
            return;
        }
        let v = val as u32;
        if off < PENDING_BASE {
            let src = ((off - PRIORITY_BASE) / 4) as usize;
            if src > 0 && src < MAX_SOURCES as usize {
                self.priority[src] = v & PRIORITY_MASK;
            }
        } else if (ENABLE_BASE..ENABLE_BASE + ENABLE_STRIDE * CONTEXTS as u64).contains(&off) {
            let ctx = ((off - ENABLE_BASE) / ENABLE_STRIDE) as usize;
            let word = (off - ENABLE_BASE) % ENABLE_STRIDE / 4;
            if word < WORDS as u64 {
                let mut v = v as u128;
                if word == 0 {
                    v &= !1; // source 0 does not exist
                }
                let shift = 32 * word;
                self.enable[ctx] = self.enable[ctx] & !(0xffff_ffffu128 << shift) | v << shift;
                self.enable[ctx] &= (1u128 << MAX_SOURCES) - 1;
            }
        } else if (CONTEXT_BASE..CONTEXT_BASE + CONTEXT_STRIDE * CONTEXTS as u64).contains(&off) {
            let ctx = ((off - CONTEXT_BASE) / CONTEXT_STRIDE) as usize;
            match (off - CONTEXT_BASE) % CONTEXT_STRIDE {
                0 => self.threshold[ctx] = v & PRIORITY_MASK,
                4 => self.complete(ctx, v),
                _ => {}
            }
        }
    }

    pub fn digest_state(&self, out: &mut Vec<u8>) {
        for p in &self.priority {
            out.extend_from_slice(&p.to_le_bytes());
        }
        for v in [
            self.pending,
            self.claimed,
            self.enable[0],
            self.enable[1],
            self.levels,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for t in &self.threshold {
            out.extend_from_slice(&t.to_le_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::IrqLine;

    const S_ENABLE: u64 = ENABLE_BASE + ENABLE_STRIDE;
    const S_CLAIM: u64 = CONTEXT_BASE + CONTEXT_STRIDE + 4;

    #[test]
    fn claim_complete_level_semantics() {
        let (uart_irq, levels) = IrqLine::recording(10);
        let mut p = Plic::new();
        p.write(10 * 4, 4, 1);
        p.write(S_ENABLE, 4, 1 << 10);
        uart_irq.set(true);
        p.set_levels(levels.bits());
        assert_eq!(p.lines(), irq::SEIP);
        assert_eq!(p.read(PENDING_BASE, 4), 1 << 10);
        assert_eq!(p.read(S_CLAIM, 4), 10);
        assert_eq!(p.lines(), 0, "claimed: no longer pending");
        assert_eq!(p.read(S_CLAIM, 4), 0);
        // Still high at completion: pends again.
        p.write(S_CLAIM, 4, 10);
        assert_eq!(p.lines(), irq::SEIP);
        assert_eq!(p.read(S_CLAIM, 4), 10);
        uart_irq.set(false);
        p.set_levels(levels.bits());
        p.write(S_CLAIM, 4, 10);
        assert_eq!(p.lines(), 0);
    }

    #[test]
    fn threshold_and_priority_order() {
        let levels = crate::devices::IrqLevels::new();
        let mut p = Plic::new();
        p.write(ENABLE_BASE, 4, (1 << 1) | (1 << 10));
        p.write(4, 4, 2);
        p.write(40, 4, 5);
        assert_eq!(p.read(40, 4), 5);
        p.write(40, 4, 0xff);
        assert_eq!(p.read(40, 4), 7, "priority is 3 bits");
        IrqLine::new(&levels, 1).set(true);
        IrqLine::new(&levels, 10).set(true);
        p.set_levels(levels.bits());
        p.write(CONTEXT_BASE, 4, 7);
        assert_eq!(p.lines(), 0, "threshold masks everything");
        p.write(CONTEXT_BASE, 4, 1);
        assert_eq!(p.lines(), irq::MEIP);
        assert_eq!(p.read(CONTEXT_BASE + 4, 4), 10, "higher priority first");
        assert_eq!(p.read(CONTEXT_BASE + 4, 4), 1);
    }
}
