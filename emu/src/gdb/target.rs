//! The [`Debuggee`] as a gdbstub [`Target`]: registers (integer, FP,
//! CSRs, privilege), memory, breakpoints, watchpoints, the resume actions
//! and `monitor` commands. Running is in [`super::engine`].

use gdbstub::common::Signal;
use gdbstub::target::ext::base::reverse_exec::{
    ReverseCont, ReverseContOps, ReverseStep, ReverseStepOps,
};
use gdbstub::target::ext::base::single_register_access::{
    SingleRegisterAccess, SingleRegisterAccessOps,
};
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps,
    SwBreakpoint, SwBreakpointOps, WatchKind as GdbWatchKind,
};
use gdbstub::target::ext::monitor_cmd::{ConsoleOutput, MonitorCmd, MonitorCmdOps};
use gdbstub::target::ext::target_description_xml_override::{
    TargetDescriptionXmlOverride, TargetDescriptionXmlOverrideOps,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::riscv::reg::RiscvCoreRegs;

use super::arch::{self, EmuRegId, EmuRiscv64};
use super::engine::{Debuggee, Resume};
use super::{mem, monitor, GdbError};
use crate::cpu::debug::{Watch, WatchKind};

impl Target for Debuggee<'_> {
    type Arch = EmuRiscv64;
    type Error = GdbError;

    #[inline(always)]
    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::SingleThread(self)
    }

    #[inline(always)]
    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_monitor_cmd(&mut self) -> Option<MonitorCmdOps<'_, Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_target_description_xml_override(
        &mut self,
    ) -> Option<TargetDescriptionXmlOverrideOps<'_, Self>> {
        Some(self)
    }
}

impl TargetDescriptionXmlOverride for Debuggee<'_> {
    fn target_description_xml(
        &self,
        annex: &[u8],
        offset: u64,
        length: usize,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        if annex != b"target.xml" {
            return Err(TargetError::NonFatal);
        }
        let doc = arch::target_xml(self.machine().hart.config().ext_f);
        Ok(arch::xfer(doc.as_bytes(), offset, length, buf))
    }
}

impl MonitorCmd for Debuggee<'_> {
    fn handle_monitor_cmd(
        &mut self,
        cmd: &[u8],
        mut out: ConsoleOutput<'_>,
    ) -> Result<(), GdbError> {
        let mut progress = |line: &str| {
            out.write_raw(line.as_bytes());
            out.flush();
        };
        let text = monitor::run(self, &String::from_utf8_lossy(cmd), &mut progress);
        out.write_raw(text.as_bytes());
        Ok(())
    }
}

impl SingleThreadBase for Debuggee<'_> {
    fn read_registers(&mut self, regs: &mut RiscvCoreRegs<u64>) -> TargetResult<(), Self> {
        let hart = &self.machine().hart;
        for (i, x) in regs.x.iter_mut().enumerate() {
            *x = hart.xreg(i);
        }
        regs.pc = hart.pc();
        Ok(())
    }

    fn write_registers(&mut self, regs: &RiscvCoreRegs<u64>) -> TargetResult<(), Self> {
        if self.replay() {
            // A changed register would make the replay diverge.
            return Err(TargetError::NonFatal);
        }
        let hart = &mut self.machine_mut().hart;
        for (i, x) in regs.x.iter().enumerate() {
            hart.set_xreg(i, *x);
        }
        hart.set_pc(regs.pc);
        Ok(())
    }

    fn read_addrs(&mut self, start_addr: u64, data: &mut [u8]) -> TargetResult<usize, Self> {
        mem::read_virt(self.machine_mut(), start_addr, data).map_err(|_| TargetError::NonFatal)
    }

    fn write_addrs(&mut self, start_addr: u64, data: &[u8]) -> TargetResult<(), Self> {
        if self.replay() {
            return Err(TargetError::NonFatal);
        }
        mem::write_virt(self.machine_mut(), start_addr, data).map_err(|_| TargetError::NonFatal)
    }

    #[inline(always)]
    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, (), Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl SingleRegisterAccess<()> for Debuggee<'_> {
    fn read_register(
        &mut self,
        _tid: (),
        reg: EmuRegId,
        buf: &mut [u8],
    ) -> TargetResult<usize, Self> {
        let m = self.machine_mut();
        let value = match reg {
            EmuRegId::Gpr(i) => Some(m.hart.xreg(i as usize)),
            EmuRegId::Pc => Some(m.hart.pc()),
            EmuRegId::Fpr(i) if m.hart.config().ext_f => Some(m.hart.freg(i as usize)),
            EmuRegId::Fpr(_) => None,
            EmuRegId::Csr(c) => m.hart.debug_csr(&mut m.board, c),
            EmuRegId::Priv => Some(m.hart.privilege() as u64),
        };
        // 0 bytes: gdb shows the register as unavailable.
        let Some(value) = value else { return Ok(0) };
        let n = reg.size().min(buf.len());
        buf[..n].copy_from_slice(&value.to_le_bytes()[..n]);
        Ok(n)
    }

    fn write_register(&mut self, _tid: (), reg: EmuRegId, val: &[u8]) -> TargetResult<(), Self> {
        if self.replay() {
            return Err(TargetError::NonFatal);
        }
        let mut raw = [0u8; 8];
        let n = val.len().min(8);
        raw[..n].copy_from_slice(&val[..n]);
        let v = u64::from_le_bytes(raw);
        let hart = &mut self.machine_mut().hart;
        match reg {
            EmuRegId::Gpr(i) => hart.set_xreg(i as usize, v),
            EmuRegId::Pc => hart.set_pc(v),
            EmuRegId::Fpr(i) if hart.config().ext_f => hart.set_freg(i as usize, v),
            // CSR writes have side effects (translation, interrupts): not from gdb.
            _ => return Err(TargetError::NonFatal),
        }
        Ok(())
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

    #[inline(always)]
    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

// Both kinds live in the stub and are matched on the virtual pc by the
// hart (see cpu::debug); guest memory is never patched.
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

fn watch(addr: u64, len: u64, kind: GdbWatchKind) -> Watch {
    Watch {
        addr,
        len: len.max(1),
        kind: match kind {
            GdbWatchKind::Write => WatchKind::Write,
            GdbWatchKind::Read => WatchKind::Read,
            GdbWatchKind::ReadWrite => WatchKind::Access,
        },
    }
}

impl HwWatchpoint for Debuggee<'_> {
    fn add_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: GdbWatchKind,
    ) -> TargetResult<bool, Self> {
        let w = watch(addr, len, kind);
        if !self.watches.contains(&w) {
            self.watches.push(w);
        }
        Ok(true)
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: u64,
        len: u64,
        kind: GdbWatchKind,
    ) -> TargetResult<bool, Self> {
        let w = watch(addr, len, kind);
        let before = self.watches.len();
        self.watches.retain(|x| *x != w);
        Ok(self.watches.len() != before)
    }
}
