//! Running the debugged machine: forwards (continue, step) with the
//! hart's own breakpoint and watchpoint checks, and backwards (reverse
//! step, reverse continue, `monitor goto`) from the [`History`]'s
//! checkpoints.
//!
//! A debugger position is an icount: the state after that many
//! instructions retired, before the next one runs. A step retires exactly
//! one instruction. An exception retires nothing, so stepping onto an
//! instruction that traps (`ecall`, a faulting load) enters the handler
//! *and* retires its first instruction in the same step; an interrupt due
//! at a position is likewise taken inside the next step. Reverse-stepping
//! goes back to icount - 1, which is the trapping instruction again.
//!
//! Going back costs at most one checkpoint interval of replay per window:
//! reverse-continue restores the checkpoint before the current position,
//! runs forward to the current position noting the *last* breakpoint or
//! watchpoint hit, and, with none, moves one interval further back. The
//! stop is then reached by restoring the checkpoint before it and running
//! forward again. Forward runs look at the connection between chunks, so
//! Ctrl-C interrupts a long reverse run too.
//!
//! A replay that reaches the end of its log stops there (gdb: "No more
//! reverse-execution history") and can be reversed from; continuing again
//! from the end reports the guest's exit and ends the session.

use std::collections::BTreeSet;

use gdbstub::common::Signal;
use gdbstub::stub::SingleThreadStopReason;
use gdbstub::target::ext::base::reverse_exec::ReplayLogPosition;
use gdbstub::target::ext::breakpoints::WatchKind as GdbWatchKind;

use super::history::History;
use super::GdbError;
use crate::cpu::debug::{Hit, Watch, WatchKind};
use crate::machine::{Machine, Outcome};

/// Instructions run between two looks at the connection and for a due
/// checkpoint (a Ctrl-C is seen within about a millisecond).
const CHUNK: u64 = 1 << 16;

pub type StopReason = SingleThreadStopReason<u64>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resume {
    Continue,
    Step,
    ReverseStep,
    ReverseCont,
}

/// What running the target produced.
pub enum RunEvent {
    /// gdb sent something (normally Ctrl-C) while the guest ran.
    IncomingData,
    Stopped(StopReason),
}

/// How a forward run ended.
enum Ran {
    Reached,
    Hit(Hit),
    Ended(Outcome),
    Interrupted,
}

/// The debugged machine, its history and the session's breakpoints.
pub struct Debuggee<'a> {
    pub(crate) history: Box<dyn History + 'a>,
    pub(crate) sw: BTreeSet<u64>,
    pub(crate) hw: BTreeSet<u64>,
    pub(crate) watches: Vec<Watch>,
    pub(crate) resume: Resume,
    /// Replay: the machine is at the end of the log, which ended so.
    pub(crate) at_end: Option<Outcome>,
    /// How the guest ended for gdb (the session is over), once it has.
    pub(crate) ended: Option<Outcome>,
}

impl<'a> Debuggee<'a> {
    pub fn new(history: Box<dyn History + 'a>) -> Self {
        Debuggee {
            history,
            sw: BTreeSet::new(),
            hw: BTreeSet::new(),
            watches: Vec::new(),
            resume: Resume::Continue,
            at_end: None,
            ended: None,
        }
    }

    pub(crate) fn machine(&self) -> &Machine {
        self.history.machine()
    }

    pub(crate) fn machine_mut(&mut self) -> &mut Machine {
        self.history.machine_mut()
    }

    pub(crate) fn replay(&self) -> bool {
        self.history.is_replay()
    }

    pub fn icount(&self) -> u64 {
        self.machine().icount()
    }

    /// Runs the action gdb asked for; `incoming` says whether gdb sent data.
    pub fn run(&mut self, mut incoming: impl FnMut() -> bool) -> Result<RunEvent, GdbError> {
        let poll: &mut dyn FnMut(u64) -> bool = &mut |_| incoming();
        if let Some(o) = self.ended {
            return Ok(RunEvent::Stopped(StopReason::Exited(o.exit_code())));
        }
        let stop = match self.resume {
            Resume::Step => match self.at_end {
                Some(_) => end_of_log(),
                None => match self.run_to(self.icount() + 1, true, true, poll)? {
                    Ran::Hit(h) => self.stop_for(h),
                    Ran::Ended(o) => self.reached_end(o),
                    Ran::Reached | Ran::Interrupted => StopReason::DoneStep,
                },
            },
            Resume::Continue => {
                if let Some(o) = self.at_end {
                    self.exited(o)
                } else {
                    match self.run_to(u64::MAX, true, true, poll)? {
                        Ran::Hit(h) => self.stop_for(h),
                        Ran::Ended(o) => self.reached_end(o),
                        Ran::Interrupted => return Ok(RunEvent::IncomingData),
                        Ran::Reached => StopReason::DoneStep,
                    }
                }
            }
            Resume::ReverseStep => {
                let now = self.icount();
                if now == 0 {
                    begin()
                } else {
                    match self.seek(now - 1, poll)? {
                        Ran::Interrupted => return Ok(RunEvent::IncomingData),
                        _ => StopReason::DoneStep,
                    }
                }
            }
            Resume::ReverseCont => match self.reverse_continue(poll)? {
                Some(stop) => stop,
                None => return Ok(RunEvent::IncomingData),
            },
        };
        Ok(RunEvent::Stopped(stop))
    }

    fn exited(&mut self, o: Outcome) -> StopReason {
        self.ended = Some(o);
        StopReason::Exited(o.exit_code())
    }

    /// The guest ended during a forward run: a replay stops at the end of
    /// its log (reversible), a live run exits.
    fn reached_end(&mut self, o: Outcome) -> StopReason {
        if self.replay() {
            self.at_end = Some(o);
            end_of_log()
        } else {
            self.exited(o)
        }
    }

    /// The stop gdb sees for a hit.
    fn stop_for(&self, hit: Hit) -> StopReason {
        match hit {
            Hit::Break { pc } if self.sw.contains(&pc) => StopReason::SwBreak(()),
            Hit::Break { .. } => StopReason::HwBreak(()),
            Hit::Watch { watch, .. } => StopReason::Watch {
                tid: (),
                kind: match watch.kind {
                    WatchKind::Write => GdbWatchKind::Write,
                    WatchKind::Read => GdbWatchKind::Read,
                    WatchKind::Access => GdbWatchKind::ReadWrite,
                },
                addr: watch.addr,
            },
        }
    }

    /// Gives the hart the session's points (or none); with `record`, hits
    /// are noted instead of stopping the hart.
    fn install(&mut self, points: bool, record: bool) {
        let (breaks, watches): (Vec<u64>, Vec<Watch>) = if points {
            (
                self.sw.iter().chain(&self.hw).copied().collect(),
                self.watches.clone(),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        let hart = &mut self.machine_mut().hart;
        hart.debug_points().set_breaks(breaks);
        hart.set_watches(watches);
        hart.debug_points().clear_skip();
        hart.debug_points().set_record(record);
    }

    /// Runs forward to icount `target` (`u64::MAX`: no limit). With
    /// `points`, stops at breakpoints and watchpoints; `resume_here` runs
    /// the instruction at the current position even if it is a breakpoint.
    fn run_to(
        &mut self,
        target: u64,
        points: bool,
        resume_here: bool,
        poll: &mut dyn FnMut(u64) -> bool,
    ) -> Result<Ran, GdbError> {
        self.install(points, false);
        self.run_installed(target, resume_here, poll)
    }

    /// [`run_to`](Self::run_to) with the points already installed.
    fn run_installed(
        &mut self,
        target: u64,
        resume_here: bool,
        poll: &mut dyn FnMut(u64) -> bool,
    ) -> Result<Ran, GdbError> {
        if resume_here {
            let m = self.machine_mut();
            let (icount, pc) = (m.icount(), m.hart.pc());
            m.hart.debug_points().skip_break_at(icount, pc);
        }
        loop {
            let m = self.machine_mut();
            let limit = m.icount().saturating_add(CHUNK).min(target);
            if let Some(o) = m.run_until(limit)? {
                return Ok(Ran::Ended(o));
            }
            if let Some(hit) = m.hart.debug_points().take_hit() {
                return Ok(Ran::Hit(hit));
            }
            if m.icount() >= target {
                return Ok(Ran::Reached);
            }
            self.history.maybe_checkpoint()?;
            if poll(self.icount()) {
                return Ok(Ran::Interrupted);
            }
        }
    }

    /// Goes to exactly icount `target` (restoring the checkpoint before it
    /// if it lies behind), without stopping at breakpoints. A target past
    /// the end of the log stops at the end.
    fn seek(&mut self, target: u64, poll: &mut dyn FnMut(u64) -> bool) -> Result<Ran, GdbError> {
        if target < self.icount() || self.at_end.is_some() {
            let c = self.history.checkpoint_before(target.saturating_add(1));
            self.restore(c)?;
        }
        let ran = self.run_to(target, false, false, poll)?;
        if let Ran::Ended(o) = ran {
            self.at_end = Some(o);
        }
        Ok(ran)
    }

    fn restore(&mut self, checkpoint: u64) -> Result<(), GdbError> {
        self.history.restore(checkpoint)?;
        self.at_end = None;
        Ok(())
    }

    /// Finds the last position before the current one where a breakpoint
    /// or watchpoint hits, window by window back from the current
    /// position, and goes there. `None`: interrupted by gdb.
    fn reverse_continue(
        &mut self,
        poll: &mut dyn FnMut(u64) -> bool,
    ) -> Result<Option<StopReason>, GdbError> {
        if !self.replay() {
            return Err(GdbError::NotReplay);
        }
        let now = self.icount();
        let no_points = self.sw.is_empty() && self.hw.is_empty() && self.watches.is_empty();
        if now == 0 || no_points {
            self.restore(0)?;
            return Ok(Some(begin()));
        }
        let mut end = now;
        loop {
            let start = self.history.checkpoint_before(end);
            self.restore(start)?;
            // The hart notes hits without stopping; the last one counts.
            self.install(true, true);
            match self.run_installed(end, false, poll)? {
                Ran::Interrupted => return Ok(None),
                Ran::Hit(_) | Ran::Reached | Ran::Ended(_) => {}
            }
            let last = self.machine_mut().hart.debug_points().take_last();
            // gdb steps over a RISC-V watchpoint stop itself, a reverse
            // step in reverse: stop just after the access so that it lands
            // on it.
            let last = last.map(|(pos, hit)| match hit {
                Hit::Break { .. } => (pos, hit),
                Hit::Watch { .. } => (pos + 1, hit),
            });
            if let Some((pos, hit)) = last {
                return match self.seek(pos, poll)? {
                    Ran::Interrupted => Ok(None),
                    _ => Ok(Some(self.stop_for(hit))),
                };
            }
            if start == 0 {
                self.restore(0)?;
                return Ok(Some(begin()));
            }
            end = start;
        }
    }

    /// `monitor goto`: the position after a seek; `tick` sees the icount
    /// between chunks.
    pub(crate) fn goto(&mut self, target: u64, tick: &mut dyn FnMut(u64)) -> Result<u64, GdbError> {
        if !self.replay() && target < self.icount() {
            return Err(GdbError::NotReplay);
        }
        self.seek(target, &mut |icount| {
            tick(icount);
            false
        })?;
        Ok(self.icount())
    }

    /// Drops the hart's points (the guest runs on without gdb).
    pub(crate) fn clear_points(&mut self) {
        self.install(false, false);
    }
}

/// gdb: "No more reverse-execution history." at the start.
fn begin() -> StopReason {
    StopReason::ReplayLog {
        tid: None,
        pos: ReplayLogPosition::Begin,
    }
}

/// The same at the end of the log.
fn end_of_log() -> StopReason {
    StopReason::ReplayLog {
        tid: None,
        pos: ReplayLogPosition::End,
    }
}

/// gdb's Ctrl-C.
pub(crate) fn interrupted() -> StopReason {
    StopReason::Signal(Signal::SIGINT)
}
