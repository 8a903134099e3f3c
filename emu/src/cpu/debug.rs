//! Debugger breakpoints and watchpoints, checked inside the hart so that a
//! guest under gdb runs at full speed.
//!
//! - Breakpoints match the *virtual* pc an instruction is fetched from, so
//!   one set while the MMU is still off hits once the kernel runs at its
//!   virtual address. The run loop looks them up once per page it enters
//!   and, only on a page holding one, cuts each decoded block just before a
//!   breakpoint; the hart then leaves with [`Exit::Debug`](super::Exit)
//!   before that instruction runs.
//! - Watchpoints match data accesses by virtual address. A page holding a
//!   watched byte never gets a fast-path TLB entry, so its accesses take the
//!   slow path, where they are checked; every other page keeps its fast
//!   path. A hit stops the hart *before* the access, the instruction not
//!   run (as a RISC-V debug trigger with timing "before"): gdb treats RISC-V
//!   watchpoints so, stepping over the instruction itself before it shows
//!   the new value.
//!
//! In *record* mode (a reverse run looking for the last hit in a window)
//! the hart does not stop: it notes each hit's position and runs on, so a
//! breakpoint hit a million times in the window costs no more than one.
//!
//! Nothing here is guest state: the points only decide where the hart stops.

use crate::bus::PAGE_SIZE;

/// Which accesses a watchpoint catches (gdb's `watch`, `rwatch`, `awatch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchKind {
    Write,
    Read,
    Access,
}

impl WatchKind {
    fn catches(self, write: bool) -> bool {
        match self {
            WatchKind::Write => write,
            WatchKind::Read => !write,
            WatchKind::Access => true,
        }
    }
}

/// A watched range of guest virtual addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watch {
    pub addr: u64,
    pub len: u64,
    pub kind: WatchKind,
}

impl Watch {
    fn overlaps(&self, va: u64, size: u64) -> bool {
        va < self.addr.wrapping_add(self.len) && self.addr < va.wrapping_add(size)
    }

    fn pages(&self) -> impl Iterator<Item = u64> {
        let first = self.addr / PAGE_SIZE;
        let last = self.addr.wrapping_add(self.len.max(1) - 1) / PAGE_SIZE;
        first..=last.max(first)
    }
}

/// Why the hart stopped for the debugger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    /// pc is a breakpoint; the instruction there has not run.
    Break { pc: u64 },
    /// The instruction at pc is about to access the watched range.
    Watch { watch: Watch, write: bool },
}

/// The hart's breakpoints and watchpoints, and the hit that stopped it.
#[derive(Debug, Clone, Default)]
pub struct DebugPoints {
    /// Breakpoint pcs, sorted, no duplicates.
    breaks: Vec<u64>,
    watches: Vec<Watch>,
    /// Virtual page numbers holding a watched byte, sorted.
    watch_pages: Vec<u64>,
    /// Run the instruction at this (icount, pc) even if it is a breakpoint:
    /// resuming from a stop must not stop there again at once.
    skip: Option<(u64, u64)>,
    hit: Option<Hit>,
    /// Note hits in `last` instead of stopping.
    record: bool,
    /// Record mode: a breakpoint slot the current block runs up to, valid
    /// once the block got that far (see [`settle`](Self::settle)).
    pending: Option<(u64, Hit)>,
    /// Record mode: the latest hit and its position (for a watchpoint, the
    /// accessing instruction's icount).
    last: Option<(u64, Hit)>,
}

impl DebugPoints {
    /// Sets the breakpoints (virtual pcs).
    pub fn set_breaks(&mut self, pcs: impl IntoIterator<Item = u64>) {
        self.breaks = pcs.into_iter().collect();
        self.breaks.sort_unstable();
        self.breaks.dedup();
    }

    /// Sets the watchpoints. The caller flushes the TLB (see [`super::Hart::set_debug_points`]).
    fn set_watches(&mut self, watches: Vec<Watch>) {
        self.watch_pages = watches.iter().flat_map(Watch::pages).collect();
        self.watch_pages.sort_unstable();
        self.watch_pages.dedup();
        self.watches = watches;
    }

    pub fn skip_break_at(&mut self, icount: u64, pc: u64) {
        self.skip = Some((icount, pc));
    }

    pub fn clear_skip(&mut self) {
        self.skip = None;
    }

    /// Record mode on or off; either way forgets what was recorded.
    pub fn set_record(&mut self, on: bool) {
        self.record = on;
        self.pending = None;
        self.last = None;
    }

    /// Record mode: the latest hit since `set_record`, with its position.
    pub fn take_last(&mut self) -> Option<(u64, Hit)> {
        self.last.take()
    }

    /// Record mode, after a block on a page with breakpoints: the pending
    /// breakpoint counts if the block reached it (`icount` is where the
    /// block ended, or the icount of the instruction that trapped).
    #[inline]
    pub(crate) fn settle(&mut self, icount: u64) {
        if let Some((pos, hit)) = self.pending.take() {
            if pos <= icount {
                self.last = Some((pos, hit));
            }
        }
    }

    /// The hit that made the hart leave with `Exit::Debug`, once.
    pub fn take_hit(&mut self) -> Option<Hit> {
        self.hit.take()
    }

    #[inline(always)]
    pub(crate) fn has_breaks(&self) -> bool {
        !self.breaks.is_empty()
    }

    #[inline(always)]
    pub(crate) fn has_watches(&self) -> bool {
        !self.watches.is_empty()
    }

    /// Whether a breakpoint lies in the virtual page starting at `page_va`.
    pub(crate) fn breaks_in_page(&self, page_va: u64) -> bool {
        let i = self.breaks.partition_point(|&b| b < page_va);
        self.breaks.get(i).is_some_and(|&b| b - page_va < PAGE_SIZE)
    }

    fn is_break(&self, pc: u64) -> bool {
        self.breaks.binary_search(&pc).is_ok()
    }

    /// Checks the instruction about to run at (icount, pc); records the hit.
    pub(crate) fn break_here(&mut self, icount: u64, pc: u64) -> bool {
        if self.is_break(pc) && self.skip != Some((icount, pc)) {
            if self.record {
                self.last = Some((icount, Hit::Break { pc }));
                return false;
            }
            self.hit = Some(Hit::Break { pc });
            return true;
        }
        false
    }

    /// How many of the `n` instructions of a block (at `block_pc`, byte
    /// offsets `offs`) may run before a breakpoint; 0 means the first is
    /// one and the hit is recorded. In record mode the block runs up to
    /// and including the first breakpoint, left pending.
    pub(crate) fn limit_block(
        &mut self,
        icount: u64,
        block_pc: u64,
        offs: impl Iterator<Item = u16>,
    ) -> usize {
        for (i, off) in offs.enumerate() {
            let pc = block_pc.wrapping_add(off as u64);
            if self.record {
                if self.is_break(pc) {
                    self.pending = Some((icount + i as u64, Hit::Break { pc }));
                    return i + 1;
                }
            } else if i == 0 {
                if self.break_here(icount, pc) {
                    return 0;
                }
            } else if self.is_break(pc) {
                return i;
            }
        }
        usize::MAX
    }

    /// Whether the page of `va` must stay out of the TLB.
    #[inline]
    pub(crate) fn watched_page(&self, va: u64) -> bool {
        self.has_watches() && self.watch_pages.binary_search(&(va / PAGE_SIZE)).is_ok()
    }

    /// Checks a data access of the instruction at `icount` on the slow
    /// path; records a hit. True: the access must not happen.
    pub(crate) fn check_access(&mut self, icount: u64, va: u64, size: u64, write: bool) -> bool {
        // No skip here: gdb steps over a watchpoint stop itself, with the
        // watchpoints removed.
        let found = self
            .watches
            .iter()
            .find(|w| w.kind.catches(write) && w.overlaps(va, size));
        if let Some(&watch) = found {
            if self.record {
                self.last = Some((icount, Hit::Watch { watch, write }));
                return false;
            }
            self.hit = Some(Hit::Watch { watch, write });
            return true;
        }
        false
    }
}

impl super::Hart {
    pub fn debug_points(&mut self) -> &mut DebugPoints {
        &mut self.debug
    }

    /// Replaces the watchpoints; drops cached translations so that the
    /// watched pages leave the fast path.
    pub fn set_watches(&mut self, watches: Vec<Watch>) {
        if watches != self.debug.watches {
            self.debug.set_watches(watches);
            self.tlb.flush();
        }
    }

    /// A CSR as the debugger sees it: readable at any privilege, the FP
    /// CSRs even while mstatus.FS is off; `None` if not implemented.
    pub fn debug_csr<B: crate::bus::SystemBus>(&mut self, bus: &mut B, csr: u16) -> Option<u64> {
        use super::csr::addr::{FCSR, FFLAGS, FRM};
        let c = &self.csr;
        match csr {
            FFLAGS if self.cfg.ext_f => return Some(c.fflags),
            FRM if self.cfg.ext_f => return Some(c.frm),
            FCSR if self.cfg.ext_f => return Some(c.fflags | c.frm << 5),
            _ => {}
        }
        let saved = self.prv;
        self.prv = super::Priv::M;
        let v = self.csr_read(bus, csr).ok();
        self.prv = saved;
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_cut_before_a_breakpoint_and_skip_once() {
        let mut d = DebugPoints::default();
        d.set_breaks([0x1008, 0x1000]);
        assert!(d.breaks_in_page(0x1000));
        assert!(!d.breaks_in_page(0x2000));
        let offs = [0u16, 4, 8, 12];
        assert_eq!(d.limit_block(5, 0x1000, offs.into_iter()), 0);
        assert_eq!(d.take_hit(), Some(Hit::Break { pc: 0x1000 }));
        d.skip_break_at(5, 0x1000);
        assert_eq!(d.limit_block(5, 0x1000, offs.into_iter()), 2);
        assert_eq!(d.limit_block(5, 0x100c, [0u16].into_iter()), usize::MAX);
        assert_eq!(d.take_hit(), None);
        // Record mode: run through the breakpoint, counted once reached.
        d.set_record(true);
        assert_eq!(d.limit_block(7, 0x1004, offs.into_iter()), 2);
        d.settle(7);
        assert_eq!(d.take_last(), None, "trapped before the breakpoint");
        assert_eq!(d.limit_block(7, 0x1004, offs.into_iter()), 2);
        d.settle(9);
        assert_eq!(d.take_last(), Some((8, Hit::Break { pc: 0x1008 })));
    }

    #[test]
    fn watch_kinds_ranges_and_pages() {
        let mut d = DebugPoints::default();
        let w = Watch {
            addr: 0x1ffc,
            len: 8,
            kind: WatchKind::Write,
        };
        d.set_watches(vec![w]);
        assert!(d.watched_page(0x1000) && d.watched_page(0x2fff));
        assert!(!d.watched_page(0x3000));
        assert!(
            !d.check_access(9, 0x1ffc, 4, false),
            "a read of a write watch"
        );
        assert!(!d.check_access(9, 0x2004, 4, true), "just past it");
        assert!(d.check_access(9, 0x2000, 1, true));
        assert_eq!(
            d.take_hit(),
            Some(Hit::Watch {
                watch: w,
                write: true
            })
        );
        assert!(d.check_access(10, 0x1ff8, 8, true));
        d.take_hit();
        d.set_record(true);
        assert!(!d.check_access(11, 0x1ff8, 8, true), "record mode runs on");
        assert_eq!(
            d.take_last(),
            Some((
                11,
                Hit::Watch {
                    watch: w,
                    write: true
                }
            ))
        );
        assert_eq!(d.take_hit(), None);
    }
}
