//! The one door for non-determinism. Everything the machine takes from the
//! host — clock reads, random bytes, idle-time clock warps, asynchronous
//! input (serial bytes, disk completions, packets), and the points where
//! the log must mark guest output, shutdowns and traps — goes through
//! [`Nondet`]. [`Live`] takes it from the host; the record/replay engine
//! wraps or replaces it. Devices never see this trait: the machine asks it
//! and pushes the answers in.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, TryRecvError};

use crate::devices::virtio::blk::BlockCompletion;

/// Where a replay stopped agreeing with the log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("replay diverged at event {index} (byte offset {offset}, icount {icount}):\n  the log holds: {expected}\n  the machine:   {found}")]
pub struct Divergence {
    /// The log event the machine disagreed with (or the end of the log).
    pub index: logfmt::EventIndex,
    pub offset: logfmt::ByteOffset,
    pub icount: logfmt::Icount,
    pub expected: String,
    pub found: String,
}

#[derive(Debug, thiserror::Error)]
pub enum NondetError {
    #[error(transparent)]
    Diverged(#[from] Divergence),
    /// The hart waits for an interrupt, no timer is armed and no host
    /// input can arrive: the guest would sleep forever.
    #[error("guest idle at icount {icount} with no timer armed and no input source: it can never wake up")]
    Deadlock { icount: u64 },
    #[error("host {what} failed: {source}")]
    Host {
        what: &'static str,
        source: std::io::Error,
    },
    /// The record/replay engine failed for a reason of its own (log I/O).
    #[error("record/replay: {0}")]
    Engine(String),
}

/// Host input delivered at a slice boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AsyncInput {
    /// Bytes typed on the serial console.
    Serial(Vec<u8>),
    /// A virtio-blk request finished. It carries the data read, which comes
    /// from the disk backend in every mode (replay re-executes disk I/O
    /// against the same image, as QEMU's blkreplay does).
    BlockDone(BlockCompletion),
    /// A packet for virtio-net.
    NetRx { packet: Vec<u8> },
    /// The user asked to quit (Ctrl-A x on the console).
    Quit,
}

/// What a host backend thread sends to [`Live`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostEvent {
    Input(AsyncInput),
    /// The disk thread's answer to a control message (snapshots).
    Disk(crate::host::disk::DiskReply),
    /// A backend ended (stdin EOF, serial file exhausted): it sends nothing more.
    Closed(HostSource),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostSource {
    Serial,
    Disk,
    Net,
}

pub type Result<T> = std::result::Result<T, NondetError>;

/// Where a replaying door stands in its log, as plain data (snapshots):
/// the next event not yet consumed, and the instructions the log counted
/// before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayPosition {
    pub offset: logfmt::ByteOffset,
    pub index: logfmt::EventIndex,
    pub icount: logfmt::Icount,
}

pub trait Nondet {
    /// Host wall clock in ns since the epoch (goldfish RTC reads).
    fn host_clock_ns(&mut self, icount: u64) -> Result<i64>;
    /// Random bytes (DT rng-seed, virtio-rng).
    fn random(&mut self, icount: u64, buf: &mut [u8]) -> Result<()>;
    /// The hart is idle at virtual time `now_ns` until `deadline_ns` (None =
    /// no timer armed). Returns the virtual ns to warp by (at most
    /// `deadline_ns - now_ns`). Live waits in host time (bounded) until the
    /// deadline or until host input arrives.
    fn idle(&mut self, icount: u64, now_ns: u64, deadline_ns: Option<u64>) -> Result<u64>;
    /// Called at every slice boundary: host events that arrived.
    fn poll_async(&mut self, icount: u64, out: &mut Vec<AsyncInput>) -> Result<()>;
    /// The guest wrote `written` bytes to the console.
    fn char_write(&mut self, icount: u64, written: usize) -> Result<()>;
    /// The machine shuts down (or resets) for `cause`.
    fn shutdown(&mut self, icount: u64, cause: logfmt::ShutdownCause) -> Result<()>;
    /// The hart entered a trap (EXCEPTION/INTERRUPT marks).
    fn trap(&mut self, icount: u64, interrupt: bool) -> Result<()>;
    /// A virtio-blk request went to the disk backend (its completion will
    /// come back through `poll_async`).
    fn block_submitted(&mut self, _icount: u64, _request: u64) -> Result<()> {
        Ok(())
    }
    /// A point QEMU marks with a checkpoint event (the initial reset,
    /// a guest reset request).
    fn checkpoint(&mut self, _icount: u64, _cp: logfmt::Checkpoint) -> Result<()> {
        Ok(())
    }
    /// The icount the machine must not run past before it asks again
    /// (replay: the next logged event). `None` = no limit.
    fn run_limit(&mut self, _icount: u64) -> Result<Option<u64>> {
        Ok(None)
    }
    /// Replay: where the door stands in its log (snapshots). `None` for
    /// other doors, or when the log stopped making sense.
    fn replay_position(&mut self) -> Option<ReplayPosition> {
        None
    }
    /// Replay: go on from `p`, a position [`Nondet::replay_position`]
    /// reported for this log (or the start of a cut's log).
    fn seek_replay(&mut self, _p: &ReplayPosition) -> Result<()> {
        Err(NondetError::Engine(
            "only a replay can be positioned in a log".into(),
        ))
    }
    /// Replay: takes the disk thread's events up to its reply to the
    /// control message just sent (it follows the completions of every
    /// request submitted before), and returns the reply. The completions
    /// that came first are kept as read ahead, or dropped when `stale`
    /// (requests of a timeline that a restore abandons).
    fn disk_sync(&mut self, _stale: bool) -> Result<crate::host::disk::DiskReply> {
        Err(NondetError::Engine(
            "only a replay can synchronise with the disk thread".into(),
        ))
    }
    /// Replay: the disk completions read ahead and not yet delivered, by
    /// ascending id.
    fn disk_read_ahead(&self) -> Vec<BlockCompletion> {
        Vec::new()
    }
    /// Replay: replaces the completions read ahead (a restored snapshot's).
    fn set_disk_read_ahead(&mut self, _done: Vec<BlockCompletion>) -> Result<()> {
        Err(NondetError::Engine(
            "only a replay holds disk completions read ahead".into(),
        ))
    }
    /// The machine stopped at `icount` for good: close the log (record) or
    /// check that the log ends here too (replay).
    fn finish(&mut self, _icount: u64) -> Result<()> {
        Ok(())
    }
}

/// Longest single host wait in [`Live::idle`], so the run loop stays responsive.
const MAX_IDLE_WAIT: Duration = Duration::from_millis(50);

/// Takes everything from the host.
pub struct Live {
    rx: Option<Receiver<HostEvent>>,
    /// Sources that may still send (their threads are alive).
    open: Vec<HostSource>,
    /// Disk requests submitted and not yet completed.
    disk_in_flight: u64,
    /// Events received while idling, handed out at the next poll.
    queued: Vec<AsyncInput>,
}

impl Live {
    /// `rx` receives from every host backend thread; `sources` lists the
    /// backends that were started.
    pub fn new(rx: Option<Receiver<HostEvent>>, sources: Vec<HostSource>) -> Self {
        Live {
            rx,
            open: sources,
            disk_in_flight: 0,
            queued: Vec::new(),
        }
    }

    fn take(&mut self, ev: HostEvent) {
        match ev {
            HostEvent::Input(a) => {
                if matches!(a, AsyncInput::BlockDone(_)) {
                    self.disk_in_flight = self.disk_in_flight.saturating_sub(1);
                }
                self.queued.push(a)
            }
            HostEvent::Closed(s) => self.open.retain(|&o| o != s),
            // A reply no one waits for (snapshots are a replay's).
            HostEvent::Disk(_) => {}
        }
    }

    /// Hands `input` to the guest at the next poll: the disk completions a
    /// replay had read ahead when it went live.
    pub fn queue(&mut self, input: AsyncInput) {
        self.queued.push(input);
    }

    /// Whether anything can still arrive from the host.
    fn can_wake(&self) -> bool {
        self.open.iter().any(|s| match s {
            HostSource::Disk => self.disk_in_flight > 0,
            _ => true,
        })
    }
}

impl Nondet for Live {
    fn host_clock_ns(&mut self, _icount: u64) -> Result<i64> {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Ok(d.as_nanos() as i64)
    }

    fn random(&mut self, _icount: u64, buf: &mut [u8]) -> Result<()> {
        let mut filled = 0;
        while filled < buf.len() {
            // SAFETY: the pointer and length describe the unfilled tail of `buf`.
            let n = unsafe {
                libc::getrandom(buf[filled..].as_mut_ptr().cast(), buf.len() - filled, 0)
            };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(NondetError::Host {
                    what: "getrandom",
                    source: e,
                });
            }
            filled += n as usize;
        }
        Ok(())
    }

    fn idle(&mut self, icount: u64, now_ns: u64, deadline_ns: Option<u64>) -> Result<u64> {
        let span = deadline_ns.map(|d| d.saturating_sub(now_ns));
        if !self.queued.is_empty() {
            return Ok(0);
        }
        let Some(rx) = self.rx.clone().filter(|_| self.can_wake()) else {
            // Nothing can arrive: jump straight to the deadline.
            return span.ok_or(NondetError::Deadlock { icount });
        };
        let wait = span.map_or(MAX_IDLE_WAIT, |s| {
            Duration::from_nanos(s).min(MAX_IDLE_WAIT)
        });
        let start = Instant::now();
        let got = match rx.recv_timeout(wait) {
            Ok(ev) => {
                self.take(ev);
                true
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => {
                self.open.clear();
                false
            }
        };
        let elapsed = start.elapsed().as_nanos() as u64;
        Ok(match span {
            // Input arrived: advance by the host time that passed.
            Some(s) if got => elapsed.min(s),
            // Waited the whole span (or the bounded part of it).
            Some(s) => elapsed.max(wait.as_nanos() as u64).min(s),
            None => elapsed,
        })
    }

    fn poll_async(&mut self, _icount: u64, out: &mut Vec<AsyncInput>) -> Result<()> {
        if let Some(rx) = self.rx.clone() {
            loop {
                match rx.try_recv() {
                    Ok(ev) => self.take(ev),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        self.open.clear();
                        break;
                    }
                }
            }
        }
        out.append(&mut self.queued);
        Ok(())
    }

    fn char_write(&mut self, _icount: u64, _written: usize) -> Result<()> {
        Ok(())
    }

    fn shutdown(&mut self, _icount: u64, _cause: logfmt::ShutdownCause) -> Result<()> {
        Ok(())
    }

    fn trap(&mut self, _icount: u64, _interrupt: bool) -> Result<()> {
        Ok(())
    }

    fn block_submitted(&mut self, _icount: u64, _request: u64) -> Result<()> {
        self.disk_in_flight += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_sources_warps_to_deadline_or_reports_deadlock() {
        let mut l = Live::new(None, vec![]);
        assert_eq!(l.idle(5, 1_000, Some(9_000)).unwrap(), 8_000);
        assert!(matches!(
            l.idle(5, 1_000, None),
            Err(NondetError::Deadlock { icount: 5 })
        ));
    }

    #[test]
    fn input_wakes_idle_and_is_polled() {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut l = Live::new(Some(rx), vec![HostSource::Serial]);
        tx.send(HostEvent::Input(AsyncInput::Serial(b"x".to_vec())))
            .unwrap();
        let warp = l.idle(0, 0, Some(10_000_000_000)).unwrap();
        assert!(warp < 10_000_000_000);
        let mut out = Vec::new();
        l.poll_async(0, &mut out).unwrap();
        assert_eq!(out, vec![AsyncInput::Serial(b"x".to_vec())]);
        tx.send(HostEvent::Closed(HostSource::Serial)).unwrap();
        l.poll_async(0, &mut out).unwrap();
        assert!(!l.can_wake());
    }

    #[test]
    fn random_fills_buffer() {
        let mut l = Live::new(None, vec![]);
        let mut a = [0u8; 32];
        l.random(0, &mut a).unwrap();
        assert_ne!(a, [0u8; 32]);
    }
}
