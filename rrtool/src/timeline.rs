//! A log summarised over icount for pictures: events per kind in a fixed
//! number of bins, marks for inputs, interrupts, exceptions, clock warps and
//! resets, and the virtual clock. One pass, constant memory: when the icount
//! outgrows the bins, neighbouring bins are merged and the width doubles.

use logfmt::{Checkpoint, ClockKind, Event, ReadError, Reader, ShutdownCause};

/// Bins along the icount axis.
pub const BINS: usize = 1024;

/// What is counted per bin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Instruction,
    Exception,
    Interrupt,
    CharWrite,
    AsyncInput,
    ClockRead,
    Checkpoint,
    Other,
    /// CP_CLOCK_WARP_ACCOUNT: virtual time was warped forward (icount idle).
    WarpAccount,
    /// CP_RESET, CP_RESET_REQUESTED, SHUTDOWN guest-reset / subsystem-reset.
    Reset,
}

impl Kind {
    pub const ALL: [Kind; 10] = [
        Kind::Instruction,
        Kind::Exception,
        Kind::Interrupt,
        Kind::CharWrite,
        Kind::AsyncInput,
        Kind::ClockRead,
        Kind::Checkpoint,
        Kind::Other,
        Kind::WarpAccount,
        Kind::Reset,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Instruction => "INSTRUCTION",
            Kind::Exception => "EXCEPTION",
            Kind::Interrupt => "INTERRUPT",
            Kind::CharWrite => "CHAR_WRITE",
            Kind::AsyncInput => "ASYNC (input)",
            Kind::ClockRead => "CLOCK reads",
            Kind::Checkpoint => "checkpoints",
            Kind::Other => "other",
            Kind::WarpAccount => "clock warp (CP_CLOCK_WARP_ACCOUNT)",
            Kind::Reset => "reset",
        }
    }

    fn of(e: &Event<'_>) -> (Kind, Option<Kind>) {
        match e {
            Event::Instruction(_) => (Kind::Instruction, None),
            Event::Exception => (Kind::Exception, None),
            Event::Interrupt => (Kind::Interrupt, None),
            Event::CharWrite { .. } => (Kind::CharWrite, None),
            Event::Async { .. } => (Kind::AsyncInput, None),
            Event::Clock { .. } => (Kind::ClockRead, None),
            Event::Checkpoint(Checkpoint::ClockWarpAccount) => {
                (Kind::Checkpoint, Some(Kind::WarpAccount))
            }
            Event::Checkpoint(Checkpoint::Reset | Checkpoint::ResetRequested) => {
                (Kind::Checkpoint, Some(Kind::Reset))
            }
            Event::Checkpoint(_) => (Kind::Checkpoint, None),
            Event::Shutdown(ShutdownCause::GuestReset | ShutdownCause::SubsystemReset) => {
                (Kind::Other, Some(Kind::Reset))
            }
            _ => (Kind::Other, None),
        }
    }
}

/// The binned log.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// `counts[kind as usize][bin]`.
    pub counts: Vec<[u64; BINS]>,
    /// Last CLOCK_VIRTUAL_RT value (ns) read in each bin.
    pub virtual_rt: Vec<Option<i64>>,
    /// Bin width in instructions is `1 << shift`.
    pub shift: u32,
    pub events: u64,
    pub icount: u64,
    /// Where the log stopped being readable, if it did.
    pub damage: Option<ReadError>,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline {
            counts: vec![[0; BINS]; Kind::ALL.len()],
            virtual_rt: vec![None; BINS],
            shift: 0,
            events: 0,
            icount: 0,
            damage: None,
        }
    }
}

impl Timeline {
    /// Reads every event of `reader`; `tick(offset)` is called every 2^18
    /// events (progress, page release).
    pub fn collect(reader: Reader<'_>, mut tick: impl FnMut(u64)) -> Timeline {
        let mut t = Timeline::default();
        for item in reader {
            let rec = match item {
                Ok(rec) => rec,
                Err(e) => {
                    t.damage = Some(e);
                    break;
                }
            };
            let icount = rec.icount.0;
            while icount >> t.shift >= BINS as u64 {
                t.merge();
            }
            let bin = (icount >> t.shift) as usize;
            let (kind, mark) = Kind::of(&rec.event);
            t.counts[kind as usize][bin] += 1;
            if let Some(m) = mark {
                t.counts[m as usize][bin] += 1;
            }
            if let Event::Clock {
                kind: ClockKind::VirtualRt,
                value,
            } = rec.event
            {
                t.virtual_rt[bin] = Some(value as i64);
            }
            t.events += 1;
            t.icount = icount;
            if crate::output::progress_tick(t.events) {
                tick(rec.offset.0);
            }
        }
        t
    }

    /// Halves the resolution: bin k takes bins 2k and 2k+1.
    fn merge(&mut self) {
        for c in &mut self.counts {
            for k in 0..BINS / 2 {
                c[k] = c[2 * k] + c[2 * k + 1];
            }
            c[BINS / 2..].fill(0);
        }
        for k in 0..BINS / 2 {
            self.virtual_rt[k] = self.virtual_rt[2 * k + 1].or(self.virtual_rt[2 * k]);
        }
        self.virtual_rt[BINS / 2..].fill(None);
        self.shift += 1;
    }

    /// Instructions per bin.
    pub fn bin_width(&self) -> u64 {
        1 << self.shift
    }

    /// Bins that hold events (the rest lie past the last icount).
    pub fn used_bins(&self) -> usize {
        ((self.icount >> self.shift) as usize + 1).min(BINS)
    }

    pub fn count(&self, kind: Kind, bin: usize) -> u64 {
        self.counts[kind as usize][bin]
    }

    pub fn total(&self, kind: Kind) -> u64 {
        self.counts[kind as usize].iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_merge_without_losing_events() {
        let mut t = Timeline::default();
        t.counts[Kind::Exception as usize][1] = 3;
        t.counts[Kind::Exception as usize][0] = 2;
        t.counts[Kind::Exception as usize][BINS - 1] = 5;
        t.virtual_rt[1] = Some(9);
        t.merge();
        assert_eq!(t.count(Kind::Exception, 0), 5);
        assert_eq!(t.count(Kind::Exception, BINS / 2 - 1), 5);
        assert_eq!(t.total(Kind::Exception), 10);
        assert_eq!(t.virtual_rt[0], Some(9));
        assert_eq!(t.bin_width(), 2);
    }
}
