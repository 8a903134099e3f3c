//! The machine as a gdbstub [`Target`]: registers, memory, breakpoints,
//! and the resume actions (continue, step, and in replay reverse step and
//! reverse continue).
//!
//! A debugger position is an icount: the state after that many
//! instructions retired, before the next one runs. A step retires exactly
//! one instruction. An exception retires nothing, so stepping onto an
//! instruction that traps (`ecall`, a faulting load) enters the handler
//! *and* retires its first instruction in the same step; an interrupt due
//! at a position is likewise taken inside the next step. Reverse-stepping
//! goes back to icount - 1, which is the trapping instruction again.

use std::collections::BTreeSet;

use gdbstub::common::Signal;
use gdbstub::stub::SingleThreadStopReason;
use gdbstub::target::ext::base::reverse_exec::{
    ReplayLogPosition, ReverseCont, ReverseContOps, ReverseStep, ReverseStepOps,
};
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, SwBreakpoint, SwBreakpointOps,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::riscv::reg::RiscvCoreRegs;
use gdbstub_arch::riscv::Riscv64;

use super::mem;
use super::GdbError;
use crate::machine::{Machine, Outcome};
use crate::replay::session::OutputHash;

/// Builds the machine again from power-on (replay: a fresh replayer over
/// the same log), with a fresh serial hash.
pub type Rebuild<'a> = Box<dyn FnMut() -> Result<(Machine, OutputHash), GdbError> + 'a>;

/// Instructions run between two looks at the connection when no
/// breakpoint is set (a Ctrl-C is seen within about a millisecond).
const CHUNK: u64 = 1 << 16;
/// Single steps between two looks at the connection.
const STEPS_PER_POLL: u32 = 4096;

pub type StopReason = SingleThreadStopReason<u64>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Resume {
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

/// The debugged machine and the session's breakpoints.
pub struct Debuggee<'a> {
    pub(crate) machine: Machine,
    pub(crate) serial_hash: OutputHash,
    /// Present in replay only: reverse execution and the write refusals.
    rebuild: Option<Rebuild<'a>>,
    sw: BTreeSet<u64>,
    hw: BTreeSet<u64>,
    resume: Resume,
    /// How the guest ended, once it has.
    pub(crate) ended: Option<Outcome>,
}

impl<'a> Debuggee<'a> {
    pub fn new(machine: Machine, serial_hash: OutputHash, rebuild: Option<Rebuild<'a>>) -> Self {
        Debuggee {
            machine,
            serial_hash,
            rebuild,
            sw: BTreeSet::new(),
            hw: BTreeSet::new(),
            resume: Resume::Continue,
            ended: None,
        }
    }

    fn replay(&self) -> bool {
        self.rebuild.is_some()
    }

    fn breakpoint_at(&self, pc: u64) -> Option<StopReason> {
        if self.sw.contains(&pc) {
            Some(StopReason::SwBreak(()))
        } else if self.hw.contains(&pc) {
            Some(StopReason::HwBreak(()))
        } else {
            None
        }
    }

    fn exited(&mut self, o: Outcome) -> StopReason {
        self.ended = Some(o);
        StopReason::Exited(o.exit_code())
    }

    /// Retires one instruction; `Some` if the guest ended instead.
    fn step_one(&mut self) -> Result<Option<Outcome>, GdbError> {
        let next = self.machine.icount() + 1;
        Ok(self.machine.run_until(next)?)
    }

    /// Runs the action gdb asked for; `incoming` says whether gdb sent data.
    pub fn run(&mut self, mut incoming: impl FnMut() -> bool) -> Result<RunEvent, GdbError> {
        if let Some(o) = self.ended {
            return Ok(RunEvent::Stopped(StopReason::Exited(o.exit_code())));
        }
        match self.resume {
            Resume::Step => Ok(RunEvent::Stopped(match self.step_one()? {
                Some(o) => self.exited(o),
                None => StopReason::DoneStep,
            })),
            Resume::Continue => loop {
                if self.sw.is_empty() && self.hw.is_empty() {
                    let limit = self.machine.icount().saturating_add(CHUNK);
                    if let Some(o) = self.machine.run_until(limit)? {
                        return Ok(RunEvent::Stopped(self.exited(o)));
                    }
                } else {
                    for _ in 0..STEPS_PER_POLL {
                        if let Some(o) = self.step_one()? {
                            return Ok(RunEvent::Stopped(self.exited(o)));
                        }
                        if let Some(stop) = self.breakpoint_at(self.machine.hart.pc()) {
                            return Ok(RunEvent::Stopped(stop));
                        }
                    }
                }
                if incoming() {
                    return Ok(RunEvent::IncomingData);
                }
            },
            Resume::ReverseStep => {
                let now = self.machine.icount();
                if now == 0 {
                    return Ok(RunEvent::Stopped(begin()));
                }
                self.goto(now - 1)?;
                Ok(RunEvent::Stopped(StopReason::DoneStep))
            }
            Resume::ReverseCont => Ok(RunEvent::Stopped(self.reverse_continue()?)),
        }
    }

    /// Replays from power-on to exactly icount `target` (which this session
    /// has already reached once, so the log covers it).
    fn goto(&mut self, target: u64) -> Result<(), GdbError> {
        self.restart()?;
        if let Some(o) = self.machine.run_until(target)? {
            return Err(GdbError::ReplayEnded {
                target,
                icount: self.machine.icount(),
                outcome: o,
            });
        }
        Ok(())
    }

    fn restart(&mut self) -> Result<(), GdbError> {
        let rebuild = self.rebuild.as_mut().ok_or(GdbError::NotReplay)?;
        let (machine, hash) = rebuild()?;
        self.machine = machine;
        self.serial_hash = hash;
        Ok(())
    }

    /// Replays from power-on to the current position, remembering the last
    /// earlier position whose pc is a breakpoint, then replays to it. With
    /// none, stops at power-on and says the history has begun.
    fn reverse_continue(&mut self) -> Result<StopReason, GdbError> {
        let now = self.machine.icount();
        self.restart()?;
        if now == 0 || (self.sw.is_empty() && self.hw.is_empty()) {
            return Ok(begin());
        }
        let mut last = None;
        while self.machine.icount() < now {
            let pc = self.machine.hart.pc();
            if let Some(stop) = self.breakpoint_at(pc) {
                last = Some((self.machine.icount(), stop));
            }
            if let Some(o) = self.step_one()? {
                return Err(GdbError::ReplayEnded {
                    target: now,
                    icount: self.machine.icount(),
                    outcome: o,
                });
            }
        }
        match last {
            Some((icount, stop)) => {
                self.goto(icount)?;
                Ok(stop)
            }
            None => {
                self.restart()?;
                Ok(begin())
            }
        }
    }
}

/// gdb: "No more reverse-execution history."
fn begin() -> StopReason {
    StopReason::ReplayLog {
        tid: None,
        pos: ReplayLogPosition::Begin,
    }
}

impl Target for Debuggee<'_> {
    type Arch = Riscv64;
    type Error = GdbError;

    #[inline(always)]
    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::SingleThread(self)
    }

    #[inline(always)]
    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadBase for Debuggee<'_> {
    fn read_registers(&mut self, regs: &mut RiscvCoreRegs<u64>) -> TargetResult<(), Self> {
        for (i, x) in regs.x.iter_mut().enumerate() {
            *x = self.machine.hart.xreg(i);
        }
        regs.pc = self.machine.hart.pc();
        Ok(())
    }

    fn write_registers(&mut self, regs: &RiscvCoreRegs<u64>) -> TargetResult<(), Self> {
        if self.replay() {
            // A changed register would make the replay diverge.
            return Err(TargetError::NonFatal);
        }
        for (i, x) in regs.x.iter().enumerate() {
            self.machine.hart.set_xreg(i, *x);
        }
        self.machine.hart.set_pc(regs.pc);
        Ok(())
    }

    fn read_addrs(&mut self, start_addr: u64, data: &mut [u8]) -> TargetResult<usize, Self> {
        mem::read_virt(&mut self.machine, start_addr, data).map_err(|_| TargetError::NonFatal)
    }

    fn write_addrs(&mut self, start_addr: u64, data: &[u8]) -> TargetResult<(), Self> {
        if self.replay() {
            return Err(TargetError::NonFatal);
        }
        mem::write_virt(&mut self.machine, start_addr, data).map_err(|_| TargetError::NonFatal)
    }

    #[inline(always)]
    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleThreadResume for Debuggee<'_> {
    fn resume(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        // A signal gdb passes on has no meaning for a whole machine.
        self.resume = Resume::Continue;
        Ok(())
    }

    #[inline(always)]
    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_reverse_step(&mut self) -> Option<ReverseStepOps<'_, (), Self>> {
        if self.replay() {
            Some(self)
        } else {
            None
        }
    }

    #[inline(always)]
    fn support_reverse_cont(&mut self) -> Option<ReverseContOps<'_, (), Self>> {
        if self.replay() {
            Some(self)
        } else {
            None
        }
    }
}

impl SingleThreadSingleStep for Debuggee<'_> {
    fn step(&mut self, _signal: Option<Signal>) -> Result<(), Self::Error> {
        self.resume = Resume::Step;
        Ok(())
    }
}

impl ReverseStep<()> for Debuggee<'_> {
    fn reverse_step(&mut self, _tid: ()) -> Result<(), Self::Error> {
        self.resume = Resume::ReverseStep;
        Ok(())
    }
}

impl ReverseCont<()> for Debuggee<'_> {
    fn reverse_cont(&mut self) -> Result<(), Self::Error> {
        self.resume = Resume::ReverseCont;
        Ok(())
    }
}

impl Breakpoints for Debuggee<'_> {
    #[inline(always)]
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }
}

impl SwBreakpoint for Debuggee<'_> {
    fn add_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        self.sw.insert(addr);
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.sw.remove(&addr))
    }
}

impl HwBreakpoint for Debuggee<'_> {
    fn add_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        self.hw.insert(addr);
        Ok(true)
    }

    fn remove_hw_breakpoint(&mut self, addr: u64, _kind: usize) -> TargetResult<bool, Self> {
        Ok(self.hw.remove(&addr))
    }
}
