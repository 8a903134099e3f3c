//! Goldfish RTC (QEMU's `goldfish_rtc`): a 64-bit nanosecond wall clock with
//! one alarm. The wall clock is the host clock plus a guest-set offset; the
//! machine reads the host clock through the non-determinism door and passes
//! it in (`host_ns`) only on the accesses that need it ([`needs_host_clock`]).
//! The alarm fires on virtual time, so it is deterministic once the clock
//! reads are.

use super::IrqLine;

pub const RTC_SIZE: u64 = 0x1000;
pub const TIME_LOW: u64 = 0x00;
pub const TIME_HIGH: u64 = 0x04;
pub const ALARM_LOW: u64 = 0x08;
pub const ALARM_HIGH: u64 = 0x0c;
pub const IRQ_ENABLED: u64 = 0x10;
pub const CLEAR_ALARM: u64 = 0x14;
pub const ALARM_STATUS: u64 = 0x18;
pub const CLEAR_INTERRUPT: u64 = 0x1c;

/// Whether an access at `off` reads the wall clock.
pub fn needs_host_clock(off: u64, is_write: bool) -> bool {
    matches!(off, TIME_LOW) || is_write && matches!(off, TIME_HIGH | ALARM_LOW)
}

/// [`GoldfishRtc`] as plain data (snapshots).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RtcState {
    pub tick_offset: i64,
    pub time_high: u32,
    pub alarm_next: u64,
    pub alarm_at: Option<u64>,
    pub irq_enabled: bool,
    pub irq_pending: bool,
}

pub struct GoldfishRtc {
    irq: IrqLine,
    tick_offset: i64,
    time_high: u32,
    alarm_next: u64,
    /// Virtual-ns deadline of the armed alarm.
    alarm_at: Option<u64>,
    irq_enabled: bool,
    irq_pending: bool,
}

impl GoldfishRtc {
    pub fn save_state(&self) -> RtcState {
        RtcState {
            tick_offset: self.tick_offset,
            time_high: self.time_high,
            alarm_next: self.alarm_next,
            alarm_at: self.alarm_at,
            irq_enabled: self.irq_enabled,
            irq_pending: self.irq_pending,
        }
    }

    /// Every value is a valid RTC state; the line is the board's to restore.
    pub fn restore_state(&mut self, s: &RtcState) {
        self.tick_offset = s.tick_offset;
        self.time_high = s.time_high;
        self.alarm_next = s.alarm_next;
        self.alarm_at = s.alarm_at;
        self.irq_enabled = s.irq_enabled;
        self.irq_pending = s.irq_pending;
    }

    pub fn new(irq: IrqLine) -> Self {
        GoldfishRtc {
            irq,
            tick_offset: 0,
            time_high: 0,
            alarm_next: 0,
            alarm_at: None,
            irq_enabled: false,
            irq_pending: false,
        }
    }

    /// Power-on state: the clock follows the host clock again (QEMU
    /// recomputes its offset from the host time at reset).
    pub fn reset(&mut self) {
        *self = GoldfishRtc::new(self.irq.clone());
        self.update_irq();
    }

    fn count(&self, host_ns: i64) -> u64 {
        host_ns.wrapping_add(self.tick_offset) as u64
    }

    fn update_irq(&self) {
        self.irq.set(self.irq_pending && self.irq_enabled);
    }

    pub fn next_deadline(&self) -> Option<u64> {
        self.alarm_at
    }

    /// Fires the alarm once its virtual deadline passed.
    pub fn tick(&mut self, now: u64) {
        if self.alarm_at.is_some_and(|t| now >= t) {
            self.alarm_at = None;
            self.irq_pending = true;
            self.update_irq();
        }
    }

    pub fn read(&mut self, off: u64, host_ns: Option<i64>) -> u32 {
        match off {
            TIME_LOW => {
                let c = self.count(host_ns.unwrap_or(0));
                self.time_high = (c >> 32) as u32;
                c as u32
            }
            TIME_HIGH => self.time_high,
            ALARM_LOW => self.alarm_next as u32,
            ALARM_HIGH => (self.alarm_next >> 32) as u32,
            IRQ_ENABLED => self.irq_enabled as u32,
            ALARM_STATUS => self.alarm_at.is_some() as u32,
            _ => 0,
        }
    }

    pub fn write(&mut self, off: u64, val: u32, now: u64, host_ns: Option<i64>) {
        let host = host_ns.unwrap_or(0);
        match off {
            TIME_LOW | TIME_HIGH => {
                let cur = self.count(host);
                let new = if off == TIME_LOW {
                    cur & !0xffff_ffff | val as u64
                } else {
                    cur & 0xffff_ffff | (val as u64) << 32
                };
                self.tick_offset = self.tick_offset.wrapping_add(new.wrapping_sub(cur) as i64);
            }
            ALARM_LOW => {
                self.alarm_next = self.alarm_next & !0xffff_ffff | val as u64;
                let cur = self.count(host);
                if self.alarm_next <= cur {
                    self.alarm_at = None;
                    self.irq_pending = true;
                    self.update_irq();
                } else {
                    self.alarm_at = Some(now.saturating_add(self.alarm_next - cur));
                }
            }
            ALARM_HIGH => self.alarm_next = self.alarm_next & 0xffff_ffff | (val as u64) << 32,
            IRQ_ENABLED => {
                self.irq_enabled = val & 1 == 1;
                self.update_irq();
            }
            CLEAR_ALARM => self.alarm_at = None,
            CLEAR_INTERRUPT => {
                self.irq_pending = false;
                self.update_irq();
            }
            _ => {}
        }
    }

    pub fn digest_state(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.tick_offset.to_le_bytes());
        out.extend_from_slice(&self.time_high.to_le_bytes());
        out.extend_from_slice(&self.alarm_next.to_le_bytes());
        out.extend_from_slice(&self.alarm_at.unwrap_or(u64::MAX).to_le_bytes());
        out.push(self.irq_enabled as u8);
        out.push(self.irq_pending as u8);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_latches_high_word() {
        let (irq, _) = IrqLine::recording(11);
        let mut r = GoldfishRtc::new(irq);
        let t = 0x1234_5678_9abc_def0i64;
        assert_eq!(r.read(TIME_LOW, Some(t)), 0x9abc_def0);
        assert_eq!(r.read(TIME_HIGH, None), 0x1234_5678);
        assert!(needs_host_clock(TIME_LOW, false));
        assert!(!needs_host_clock(TIME_HIGH, false));
    }

    #[test]
    fn setting_time_offsets_clock() {
        let (irq, _) = IrqLine::recording(11);
        let mut r = GoldfishRtc::new(irq);
        r.write(TIME_HIGH, 0, 0, Some(5_000));
        r.write(TIME_LOW, 1_000, 0, Some(5_000));
        assert_eq!(r.read(TIME_LOW, Some(6_000)), 2_000);
    }

    #[test]
    fn alarm_fires_on_virtual_time() {
        let (irq, levels) = IrqLine::recording(11);
        let mut r = GoldfishRtc::new(irq);
        r.write(IRQ_ENABLED, 1, 0, None);
        r.write(ALARM_HIGH, 0, 0, None);
        r.write(ALARM_LOW, 10_000, 100, Some(4_000));
        assert_eq!(r.next_deadline(), Some(6_100));
        assert_eq!(r.read(ALARM_STATUS, None), 1);
        r.tick(6_099);
        assert!(levels.history().is_empty());
        r.tick(6_100);
        assert_eq!(levels.history(), vec![(11, true)]);
        r.write(CLEAR_INTERRUPT, 1, 0, None);
        assert_eq!(levels.history(), vec![(11, true), (11, false)]);
    }
}
