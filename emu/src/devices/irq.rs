//! Interrupt lines from devices to the PLIC.
//!
//! One hart and one thread: the levels live in a shared cell that every
//! device's [`IrqLine`] sets and the PLIC reads. Devices never hold a PLIC
//! reference, so each can be tested alone with a recording line.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// PLIC source count on QEMU's virt board (sources 1..=95, 0 is reserved).
pub const MAX_SOURCES: u32 = 96;

/// The level of every interrupt source, bit `n` = source `n`.
#[derive(Debug, Default)]
pub struct IrqLevels {
    bits: Cell<u128>,
    /// Every level change, when recording (device unit tests).
    log: RefCell<Option<Vec<(u32, bool)>>>,
}

impl IrqLevels {
    pub fn new() -> Rc<Self> {
        Rc::new(Self::default())
    }
    /// Levels that also remember every change, for tests.
    pub fn recording() -> Rc<Self> {
        let l = Self::default();
        *l.log.borrow_mut() = Some(Vec::new());
        Rc::new(l)
    }
    pub fn bits(&self) -> u128 {
        self.bits.get()
    }
    /// Sets every level at once (snapshot restore; not logged).
    pub fn restore_bits(&self, bits: u128) {
        self.bits.set(bits);
    }
    pub fn level(&self, src: u32) -> bool {
        self.bits.get() >> src & 1 == 1
    }
    /// The changes seen so far (empty when not recording).
    pub fn history(&self) -> Vec<(u32, bool)> {
        self.log.borrow().clone().unwrap_or_default()
    }
    fn set(&self, src: u32, level: bool) {
        let old = self.bits.get();
        let new = if level {
            old | 1 << src
        } else {
            old & !(1 << src)
        };
        if new != old {
            self.bits.set(new);
            if let Some(log) = self.log.borrow_mut().as_mut() {
                log.push((src, level));
            }
        }
    }
}

/// One device's interrupt output, wired to PLIC source `src`.
#[derive(Debug, Clone)]
pub struct IrqLine {
    src: u32,
    levels: Rc<IrqLevels>,
}

impl IrqLine {
    pub fn new(levels: &Rc<IrqLevels>, src: u32) -> Self {
        assert!(
            src > 0 && src < MAX_SOURCES,
            "PLIC source {src} out of range"
        );
        IrqLine {
            src,
            levels: levels.clone(),
        }
    }
    /// A line on its own recording levels, for device unit tests.
    pub fn recording(src: u32) -> (Self, Rc<IrqLevels>) {
        let levels = IrqLevels::recording();
        (Self::new(&levels, src), levels)
    }
    pub fn set(&self, level: bool) {
        self.levels.set(self.src, level);
    }
    pub fn level(&self) -> bool {
        self.levels.level(self.src)
    }
    pub fn source(&self) -> u32 {
        self.src
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_only_changes() {
        let (line, levels) = IrqLine::recording(10);
        line.set(true);
        line.set(true);
        line.set(false);
        assert_eq!(levels.history(), vec![(10, true), (10, false)]);
        assert!(!line.level());
    }
}
