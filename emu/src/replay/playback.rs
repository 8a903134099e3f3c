//! The replaying side of the one door: every answer comes from the log,
//! and every question is checked against it.

use std::collections::BTreeMap;

use logfmt::{AsyncEvent, Checkpoint, ClockKind, Event, Reader, Record, ShutdownCause, Version};

use super::{describe, warp_from_log};
use crate::devices::virtio::blk::BlockCompletion;
use crate::host::disk::DiskReply;
use crate::machine::nondet::{
    AsyncInput, Divergence, HostEvent, Nondet, NondetError, ReplayPosition, Result,
};

/// Answers the machine from a log. The host is never touched, except the
/// disk image: like QEMU's blkreplay, replay re-executes disk requests
/// against the same image and only takes their completion order from the
/// log.
pub struct Replayer<'a> {
    reader: Reader<'a>,
    /// The next event that is not an INSTRUCTION, once read.
    peeked: Option<Record<'a>>,
    /// Sum of the INSTRUCTION deltas read so far: the icount at which the
    /// peeked event happens.
    log_icount: u64,
    /// Where the log stopped making sense (read error), if it did.
    broken: Option<String>,
    /// Completions from the disk thread, by request id.
    disk: Option<crossbeam_channel::Receiver<HostEvent>>,
    disk_done: BTreeMap<u64, BlockCompletion>,
    /// 0xe0200a layout: async events follow CP_CLOCK_WARP_ACCOUNT.
    legacy: bool,
    /// Position of the last consumed event, for reports.
    last: Option<(logfmt::EventIndex, logfmt::ByteOffset)>,
}

impl<'a> Replayer<'a> {
    /// Replays `reader`'s log. `disk` receives completions from the disk
    /// backend thread when the machine has a drive.
    pub fn new(
        reader: Reader<'a>,
        disk: Option<crossbeam_channel::Receiver<HostEvent>>,
    ) -> Result<Self> {
        let legacy = match reader.version() {
            Version::E0200a => true,
            Version::E0200c(_) | Version::E0200b => false,
            other => {
                return Err(NondetError::Engine(format!(
                    "emu cannot replay a {other} log"
                )))
            }
        };
        let mut r = Replayer {
            reader,
            peeked: None,
            log_icount: 0,
            broken: None,
            disk,
            disk_done: BTreeMap::new(),
            legacy,
            last: None,
        };
        r.expect(0, "machine creation (CP_INIT)", |e| {
            matches!(e, Event::Checkpoint(Checkpoint::Init))
        })?;
        Ok(r)
    }

    /// Reads up to the next event that is not an INSTRUCTION (or the CP_CLOCK_VIRTUAL
    /// filler a recorder writes between two long INSTRUCTION runs).
    fn peek(&mut self) -> Option<&Record<'a>> {
        while self.peeked.is_none() && self.broken.is_none() {
            match self.reader.next() {
                None => return None,
                Some(Err(e)) => self.broken = Some(e.to_string()),
                Some(Ok(rec)) => match rec.event {
                    Event::Instruction(_) => self.log_icount = rec.icount.0,
                    Event::Checkpoint(Checkpoint::ClockVirtual) => {}
                    _ => self.peeked = Some(rec),
                },
            }
        }
        self.peeked.as_ref()
    }

    fn consume(&mut self) -> Record<'a> {
        let rec = self
            .peeked
            .take()
            .expect("consume follows a successful peek");
        self.last = Some((rec.index, rec.offset));
        rec
    }

    /// A divergence report at the current log position.
    fn diverged(&mut self, icount: u64, machine: String) -> NondetError {
        let (index, offset, expected) = match (self.peek().copied(), &self.broken) {
            (Some(rec), _) => (
                rec.index,
                rec.offset,
                format!("{} at icount {}", describe(&rec.event), self.log_icount),
            ),
            (None, Some(err)) => (
                self.reader.next_index(),
                self.reader.position(),
                format!("no further event: the log is damaged ({err})"),
            ),
            (None, None) => (
                self.reader.next_index(),
                self.reader.position(),
                format!(
                    "no further event: the log ended at icount {}",
                    self.log_icount
                ),
            ),
        };
        NondetError::Diverged(Divergence {
            index,
            offset,
            icount: logfmt::Icount(icount),
            expected,
            found: format!("{machine} at icount {icount}"),
        })
    }

    /// Consumes the next event if it sits at `icount` and `matches`;
    /// otherwise reports a divergence describing `machine`'s request.
    fn expect(
        &mut self,
        icount: u64,
        machine: &str,
        matches: impl Fn(&Event) -> bool,
    ) -> Result<Record<'a>> {
        let ok = match self.peek() {
            Some(rec) => matches(&rec.event),
            None => false,
        };
        if ok && self.log_icount == icount {
            return Ok(self.consume());
        }
        Err(self.diverged(icount, machine.to_string()))
    }

    /// The icount up to which the machine may run before it must come back
    /// to the log: the next event that is delivered at a slice boundary
    /// (async input, a host quit, the end of the recording). Events the
    /// machine produces itself (console output, traps, clock reads) set no
    /// limit: they are checked when produced, and one the machine fails to
    /// produce is caught at the next boundary ("ran past it"), at most a
    /// quantum later. An exhausted or damaged log stops the machine at once.
    fn next_stop(&mut self, icount: u64) -> Result<Option<u64>> {
        let log_icount = self.log_icount;
        match self.peek() {
            None => Err(self.diverged(icount, "still runs".into())),
            Some(rec) if is_boundary_event(&rec.event) => Ok(Some(log_icount.max(icount))),
            Some(_) => Ok(None),
        }
    }

    /// Whether the log says the recording stopped here (the machine should
    /// stop and call [`Replayer::finish_log`]).
    pub fn ends_at(&mut self, icount: u64) -> bool {
        let at = self.log_icount == icount;
        matches!(self.peek(), Some(rec) if at && matches!(rec.event, Event::Shutdown(ShutdownCause::HostSignal)))
    }

    /// Checks the log's closing events (`SHUTDOWN host-signal`, `END`) at
    /// the icount where the machine stopped.
    pub fn finish_log(&mut self, icount: u64) -> Result<()> {
        self.expect(icount, "stopped", |e| {
            matches!(e, Event::Shutdown(ShutdownCause::HostSignal))
        })?;
        self.expect(icount, "stopped", |e| matches!(e, Event::End))?;
        Ok(())
    }

    /// The disk completion for `id`, waiting for the disk thread if needed.
    fn block_done(&mut self, icount: u64, id: u64) -> Result<BlockCompletion> {
        loop {
            if let Some(done) = self.disk_done.remove(&id) {
                return Ok(done);
            }
            let event = match &self.disk {
                Some(rx) => rx.recv_timeout(std::time::Duration::from_secs(10)).ok(),
                None => None,
            };
            match event {
                Some(HostEvent::Input(AsyncInput::BlockDone(done))) => {
                    self.disk_done.insert(done.id, done);
                }
                Some(_) => {}
                None => {
                    return Err(self.diverged(
                        icount,
                        format!(
                            "has no disk request {id} in flight (no drive, or never submitted)"
                        ),
                    ))
                }
            }
        }
    }

    fn take_async(&mut self, icount: u64, out: &mut Vec<AsyncInput>) -> Result<()> {
        let rec = self.consume();
        let Event::Async { event, .. } = rec.event else {
            unreachable!("caller checked")
        };
        out.push(match event {
            AsyncEvent::CharRead { data, .. } => AsyncInput::Serial(data.to_vec()),
            AsyncEvent::Block { id } => AsyncInput::BlockDone(self.block_done(icount, id)?),
            AsyncEvent::Net { packet, .. } => AsyncInput::NetRx {
                packet: packet.to_vec(),
            },
            other => {
                let what = format!("has no device for async event {other:?}");
                return Err(self.diverged(icount, what));
            }
        });
        Ok(())
    }
}

/// Events the machine picks up at slice boundaries rather than producing
/// them while it executes.
fn is_boundary_event(event: &Event) -> bool {
    matches!(
        event,
        Event::Async { .. }
            | Event::Checkpoint(Checkpoint::ClockWarpAccount)
            | Event::Shutdown(ShutdownCause::HostQmpQuit | ShutdownCause::HostSignal)
    )
}

impl Nondet for Replayer<'_> {
    fn host_clock_ns(&mut self, icount: u64) -> Result<i64> {
        let rec = self.expect(icount, "read the host clock", |e| {
            matches!(
                e,
                Event::Clock {
                    kind: ClockKind::Host,
                    ..
                }
            )
        })?;
        match rec.event {
            Event::Clock { value, .. } => Ok(value as i64),
            _ => unreachable!("matched above"),
        }
    }

    fn random(&mut self, icount: u64, buf: &mut [u8]) -> Result<()> {
        let len = buf.len();
        let what = format!("asked for {len} random byte(s)");
        let rec = self.expect(
            icount,
            &what,
            |e| matches!(e, Event::Random { data, .. } if data.len() == len),
        )?;
        if let Event::Random { data, .. } = rec.event {
            buf.copy_from_slice(data);
        }
        Ok(())
    }

    fn idle(&mut self, icount: u64, now_ns: u64, deadline_ns: Option<u64>) -> Result<u64> {
        self.expect(icount, "went idle (CP_CLOCK_WARP_START)", |e| {
            matches!(e, Event::Checkpoint(Checkpoint::ClockWarpStart))
        })?;
        let rec = self.expect(icount, "warped its clock (CLOCK_VIRTUAL_RT)", |e| {
            matches!(
                e,
                Event::Clock {
                    kind: ClockKind::VirtualRt,
                    ..
                }
            )
        })?;
        let Event::Clock { value, .. } = rec.event else {
            unreachable!("matched above")
        };
        let limit = deadline_ns.map(|d| d.saturating_sub(now_ns));
        match warp_from_log(now_ns, value) {
            Some(warp) if limit.is_none_or(|l| warp <= l) => Ok(warp),
            _ => Err(self.diverged(
                icount,
                format!("is idle at virtual time {now_ns} ns (next deadline {deadline_ns:?}); the log warps to {value} ns"),
            )),
        }
    }

    fn poll_async(&mut self, icount: u64, out: &mut Vec<AsyncInput>) -> Result<()> {
        if self.peek().is_none() || self.log_icount > icount {
            return Ok(());
        }
        if self.log_icount < icount {
            return Err(self.diverged(icount, "ran past it".into()));
        }
        let is = |r: Option<&Record>, f: fn(&Event) -> bool| r.is_some_and(|r| f(&r.event));
        if self.legacy {
            if !is(self.peek(), |e| {
                matches!(e, Event::Checkpoint(Checkpoint::ClockWarpAccount))
            }) {
                return self.quit_request(icount, out);
            }
            self.consume();
            while is(self.peek(), |e| {
                matches!(
                    e,
                    Event::Async {
                        checkpoint: Some(Checkpoint::ClockWarpAccount),
                        ..
                    }
                )
            }) && self.log_icount == icount
            {
                self.take_async(icount, out)?;
            }
        } else {
            if !is(self.peek(), |e| matches!(e, Event::Async { .. })) {
                return self.quit_request(icount, out);
            }
            while is(self.peek(), |e| matches!(e, Event::Async { .. })) && self.log_icount == icount
            {
                self.take_async(icount, out)?;
            }
            self.expect(
                icount,
                "closed an async group (CP_CLOCK_WARP_ACCOUNT)",
                |e| matches!(e, Event::Checkpoint(Checkpoint::ClockWarpAccount)),
            )?;
        }
        self.quit_request(icount, out)
    }

    fn char_write(&mut self, icount: u64, written: usize) -> Result<()> {
        let what = format!("wrote {written} byte(s) to the console");
        self.expect(
            icount,
            &what,
            |e| matches!(e, Event::CharWrite { res, .. } if *res as usize == written),
        )?;
        Ok(())
    }

    fn checkpoint(&mut self, icount: u64, cp: Checkpoint) -> Result<()> {
        let what = format!("reached checkpoint {cp:?}");
        self.expect(icount, &what, |e| *e == Event::Checkpoint(cp))?;
        Ok(())
    }

    fn replay_position(&mut self) -> Option<ReplayPosition> {
        // The next event read, so the position is the one the machine waits for.
        // Disk completions read ahead are not part of it: a snapshot saves
        // them beside it (`disk_read_ahead`).
        self.peek();
        if self.broken.is_some() {
            return None;
        }
        Some(match &self.peeked {
            // Re-read on resume: the reader's icount before it is the log's.
            Some(rec) => ReplayPosition {
                offset: rec.offset,
                index: rec.index,
                icount: logfmt::Icount(self.log_icount),
            },
            None => ReplayPosition {
                offset: self.reader.position(),
                index: self.reader.next_index(),
                icount: self.reader.icount(),
            },
        })
    }

    fn seek_replay(&mut self, p: &ReplayPosition) -> Result<()> {
        let Some(reader) = self.reader.resume(p.offset, p.index, p.icount) else {
            return Err(NondetError::Engine(format!(
                "cannot resume the log at byte offset {} (it has {} bytes)",
                p.offset,
                self.reader.data().len()
            )));
        };
        self.reader = reader;
        self.peeked = None;
        self.log_icount = p.icount.0;
        self.broken = None;
        self.disk_done.clear();
        self.last = None;
        Ok(())
    }

    fn run_limit(&mut self, icount: u64) -> Result<Option<u64>> {
        self.next_stop(icount)
    }

    fn disk_sync(&mut self, stale: bool) -> Result<DiskReply> {
        let Some(rx) = &self.disk else {
            return Err(NondetError::Engine("the replay has no disk thread".into()));
        };
        loop {
            // The reply always comes (the request channel is ordered); a
            // disconnect means the thread is gone.
            match rx.recv() {
                Ok(HostEvent::Disk(reply)) => return Ok(reply),
                Ok(HostEvent::Input(AsyncInput::BlockDone(done))) if !stale => {
                    self.disk_done.insert(done.id, done);
                }
                Ok(_) => {}
                Err(_) => {
                    return Err(NondetError::Engine(
                        "the disk thread ended before it answered".into(),
                    ))
                }
            }
        }
    }

    fn disk_read_ahead(&self) -> Vec<BlockCompletion> {
        self.disk_done.values().cloned().collect()
    }

    fn set_disk_read_ahead(&mut self, done: Vec<BlockCompletion>) -> Result<()> {
        self.disk_done = done.into_iter().map(|c| (c.id, c)).collect();
        Ok(())
    }

    fn finish(&mut self, icount: u64) -> Result<()> {
        self.finish_log(icount)
    }

    fn shutdown(&mut self, icount: u64, cause: ShutdownCause) -> Result<()> {
        // The recording was stopped here (it ends with SHUTDOWN host-signal),
        // and the replay stops at the same point: `finish` checks the rest.
        if cause == ShutdownCause::HostQmpQuit && self.ends_at(icount) {
            return Ok(());
        }
        let what = format!("shut down ({cause:?})");
        self.expect(icount, &what, |e| *e == Event::Shutdown(cause))?;
        Ok(())
    }

    fn trap(&mut self, icount: u64, interrupt: bool) -> Result<()> {
        let (what, want) = if interrupt {
            ("took an interrupt", Event::Interrupt)
        } else {
            ("took an exception", Event::Exception)
        };
        self.expect(icount, what, |e| *e == want)?;
        Ok(())
    }
}

impl Replayer<'_> {
    /// A host quit at this point of the log becomes the same request again.
    fn quit_request(&mut self, icount: u64, out: &mut Vec<AsyncInput>) -> Result<()> {
        let here = self.log_icount == icount;
        let quit = matches!(self.peek(), Some(rec) if here && rec.event == Event::Shutdown(ShutdownCause::HostQmpQuit));
        if quit || self.ends_at(icount) {
            out.push(AsyncInput::Quit);
        }
        Ok(())
    }
}
