//! The recording side of the one door: live answers, logged.

use std::io::Write;

use logfmt::{AsyncEvent, Checkpoint, ClockKind, Event, ShutdownCause, Version, Writer};

use super::MAX_INSTRUCTION_DELTA;
use crate::machine::nondet::{AsyncInput, Nondet, NondetError, Result};

/// Takes every answer from `inner` (normally `Live`) and appends the
/// matching event to a log.
pub struct Recorder<N: Nondet, W: Write> {
    inner: N,
    log: Option<Writer<W>>,
    /// The icount up to which INSTRUCTION events have been written.
    logged_icount: u64,
    /// 0xe0200a layout: async events follow CP_CLOCK_WARP_ACCOUNT and carry
    /// its id; otherwise (0xe0200c) they precede it.
    legacy: bool,
}

fn engine(e: logfmt::WriteError) -> NondetError {
    NondetError::Engine(format!("writing the log: {e}"))
}

impl<N: Nondet, W: Write> Recorder<N, W> {
    /// Starts a log in `version` (0xe0200c or the legacy 0xe0200a) and
    /// writes the CP_INIT checkpoint QEMU writes at machine creation. The
    /// header carries the version from the first byte, so a killed
    /// recording stays readable up to its last complete event.
    pub fn new(inner: N, out: W, version: Version) -> Result<Self> {
        let legacy = match version {
            Version::E0200a => true,
            Version::E0200c(_) => false,
            other => {
                return Err(NondetError::Engine(format!(
                    "emu records 0xe0200c or 0xe0200a, not {other}"
                )))
            }
        };
        let log = Writer::new(out, version).map_err(engine)?.strict(true);
        let mut rec = Recorder {
            inner,
            log: Some(log),
            logged_icount: 0,
            legacy,
        };
        rec.put(&Event::Checkpoint(Checkpoint::Init))?;
        Ok(rec)
    }

    /// A recording that continues a machine already at `icount` (going live
    /// from a snapshot): its INSTRUCTION events count from there.
    pub fn starting_at(mut self, icount: u64) -> Self {
        self.logged_icount = icount;
        self
    }

    fn put(&mut self, event: &Event) -> Result<()> {
        match self.log.as_mut() {
            Some(log) => log.write(event).map_err(engine),
            None => Err(NondetError::Engine("the log is already closed".into())),
        }
    }

    /// Writes the instructions retired since the last event, as QEMU does
    /// before every synchronous event (never zero, never two in a row).
    fn flush_instructions(&mut self, icount: u64) -> Result<()> {
        let mut delta = icount.checked_sub(self.logged_icount).ok_or_else(|| {
            NondetError::Engine(format!(
                "icount went backwards: {} after {}",
                icount, self.logged_icount
            ))
        })?;
        while delta > 0 {
            let chunk = delta.min(MAX_INSTRUCTION_DELTA);
            self.put(&Event::Instruction(chunk as u32))?;
            delta -= chunk;
            self.logged_icount += chunk;
            if delta > 0 {
                // Two INSTRUCTION events may not touch: separate them.
                self.put(&Event::Checkpoint(Checkpoint::ClockVirtual))?;
            }
        }
        Ok(())
    }

    fn put_at(&mut self, icount: u64, event: &Event) -> Result<()> {
        self.flush_instructions(icount)?;
        self.put(event)
    }

    /// Writes an async group: the events, then the checkpoint (0xe0200c), or
    /// the checkpoint, then the events tagged with it (0xe0200a). A quit
    /// request is not an input: it is logged when the machine shuts down.
    fn put_async_group(&mut self, icount: u64, inputs: &[AsyncInput]) -> Result<()> {
        let logged: Vec<&AsyncInput> = inputs
            .iter()
            .filter(|i| !matches!(i, AsyncInput::Quit))
            .collect();
        if !logged.is_empty() {
            self.flush_instructions(icount)?;
            let cp = self.legacy.then_some(Checkpoint::ClockWarpAccount);
            if self.legacy {
                self.put(&Event::Checkpoint(Checkpoint::ClockWarpAccount))?;
            }
            for input in logged {
                let event = match input {
                    AsyncInput::Serial(bytes) => AsyncEvent::CharRead {
                        chardev: 0,
                        data: bytes,
                    },
                    AsyncInput::BlockDone(done) => AsyncEvent::Block { id: done.id },
                    AsyncInput::NetRx { packet } => AsyncEvent::Net {
                        filter: 0,
                        flags: 0,
                        packet,
                    },
                    AsyncInput::Quit => unreachable!("filtered above"),
                };
                self.put(&Event::Async {
                    checkpoint: cp,
                    event,
                })?;
            }
            if !self.legacy {
                self.put(&Event::Checkpoint(Checkpoint::ClockWarpAccount))?;
            }
        }
        Ok(())
    }

    /// Ends the log as QEMU's exit handler does: the instruction flush,
    /// SHUTDOWN host-signal, END. Returns the output.
    pub fn finish_log(&mut self, icount: u64) -> Result<Option<W>> {
        if self.log.is_none() {
            return Ok(None);
        }
        self.put_at(icount, &Event::Shutdown(ShutdownCause::HostSignal))?;
        self.put(&Event::End)?;
        let log = self.log.take().expect("checked above");
        log.finish().map(Some).map_err(engine)
    }

    /// The wrapped door (the live host).
    pub fn inner_mut(&mut self) -> &mut N {
        &mut self.inner
    }
}

impl<N: Nondet, W: Write> Nondet for Recorder<N, W> {
    fn host_clock_ns(&mut self, icount: u64) -> Result<i64> {
        let ns = self.inner.host_clock_ns(icount)?;
        self.put_at(
            icount,
            &Event::Clock {
                kind: ClockKind::Host,
                value: ns as u64,
            },
        )?;
        Ok(ns)
    }

    fn random(&mut self, icount: u64, buf: &mut [u8]) -> Result<()> {
        self.inner.random(icount, buf)?;
        self.put_at(icount, &Event::Random { ret: 0, data: buf })
    }

    fn idle(&mut self, icount: u64, now_ns: u64, deadline_ns: Option<u64>) -> Result<u64> {
        self.put_at(icount, &Event::Checkpoint(Checkpoint::ClockWarpStart))?;
        let warp = self.inner.idle(icount, now_ns, deadline_ns)?;
        let after = now_ns
            .checked_add(warp)
            .ok_or_else(|| NondetError::Engine("virtual time overflow".into()))?;
        self.put(&Event::Clock {
            kind: ClockKind::VirtualRt,
            value: after,
        })?;
        Ok(warp)
    }

    fn poll_async(&mut self, icount: u64, out: &mut Vec<AsyncInput>) -> Result<()> {
        let first = out.len();
        self.inner.poll_async(icount, out)?;
        if out.len() > first {
            self.put_async_group(icount, &out[first..])?;
        }
        Ok(())
    }

    fn char_write(&mut self, icount: u64, written: usize) -> Result<()> {
        self.inner.char_write(icount, written)?;
        let n = written as u32;
        self.put_at(icount, &Event::CharWrite { res: n, offset: n })
    }

    fn shutdown(&mut self, icount: u64, cause: ShutdownCause) -> Result<()> {
        self.inner.shutdown(icount, cause)?;
        self.put_at(icount, &Event::Shutdown(cause))
    }

    fn trap(&mut self, icount: u64, interrupt: bool) -> Result<()> {
        self.inner.trap(icount, interrupt)?;
        self.put_at(
            icount,
            if interrupt {
                &Event::Interrupt
            } else {
                &Event::Exception
            },
        )
    }

    fn block_submitted(&mut self, icount: u64, request: u64) -> Result<()> {
        self.inner.block_submitted(icount, request)
    }

    fn checkpoint(&mut self, icount: u64, cp: Checkpoint) -> Result<()> {
        self.inner.checkpoint(icount, cp)?;
        self.put_at(icount, &Event::Checkpoint(cp))
    }

    fn finish(&mut self, icount: u64) -> Result<()> {
        self.inner.finish(icount)?;
        match self.finish_log(icount)? {
            Some(mut out) => out
                .flush()
                .map_err(|e| NondetError::Engine(format!("writing the log: {e}"))),
            None => Ok(()),
        }
    }
}
