//! Zihpm: mhpmcounter3..31, mhpmevent3..31 and the hpmcounter views, as
//! QEMU 10 presents them with its default `pmu-mask` (counters 3..18).
//!
//! A counter holds what software wrote; it counts only while its event
//! selects cycles (1) or retired instructions (2) and mcountinhibit does
//! not stop it. Both count retired instructions, as QEMU does under
//! `-icount`. QEMU maps each event to the first counter programmed with
//! it, and drops a counter's mapping only when its event is written as 0;
//! the TLB-miss events (0x10019, 0x1001b, 0x10021) count QEMU's own TLB
//! refills, which have no equivalent here: such counters stay still.

/// Counters QEMU's default CPU offers: bits 3..=18 (`pmu-mask`).
pub const AVAILABLE: u32 = 0x7fff8;
/// Event numbers QEMU accepts into its event map.
const EVENT_CYCLES: u64 = 1;
const EVENT_INSTRUCTIONS: u64 = 2;
const KNOWN_EVENTS: [u64; 5] = [EVENT_CYCLES, EVENT_INSTRUCTIONS, 0x10019, 0x1001b, 0x10021];
/// The event index field of mhpmevent.
const EVENT_IDX_MASK: u64 = 0xf_ffff;
/// Writable mhpmevent bits, as QEMU 10.0.2 shows them without Sscofpmf
/// and H (fixtures/priv): the event (bits 0..57), UINH, SINH, MINH (60..62)
/// and OF (63).
pub const EVENT_WRITABLE: u64 = 0xf3ff_ffff_ffff_ffff;

/// Counter state; index 0 is counter 3.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Hpm {
    /// The value written, or `icount - value` while the counter counts.
    pub stored: [u64; 29],
    pub event: [u64; 29],
    /// QEMU's event map: which counter an event was given to (0 = none),
    /// indexed by [`KNOWN_EVENTS`].
    pub map: [u8; 5],
}

impl Hpm {
    /// Whether counter `n` (3..=31) counts at all (ignoring mcountinhibit).
    pub fn counts_events(&self, n: u32) -> bool {
        self.map[0] as u32 == n || self.map[1] as u32 == n
    }

    /// Counter `n`'s value at `icount`, given whether it is running.
    pub fn read(&self, n: u32, icount: u64, running: bool) -> u64 {
        let s = self.stored[n as usize - 3];
        if running {
            icount.wrapping_sub(s)
        } else {
            s
        }
    }

    /// Makes counter `n` read `v` at `icount`.
    pub fn set(&mut self, n: u32, v: u64, icount: u64, running: bool) {
        self.stored[n as usize - 3] = if running { icount.wrapping_sub(v) } else { v };
    }

    /// mhpmevent`n` = `v` (already masked): updates the event map as
    /// QEMU's riscv_pmu_update_event_map does.
    pub fn set_event(&mut self, n: u32, v: u64) {
        self.event[n as usize - 3] = v;
        let idx = v & EVENT_IDX_MASK;
        if idx == 0 {
            for m in self.map.iter_mut().filter(|m| **m as u32 == n) {
                *m = 0;
            }
            return;
        }
        if let Some(k) = KNOWN_EVENTS.iter().position(|&e| e == idx) {
            if self.map[k] == 0 {
                self.map[k] = n as u8;
            }
        }
    }
}
