//! [`Machine`]: the hart plus the board, built from a [`MachineConfig`],
//! with QEMU's reset sequence and the slice-based run loop.
//!
//! Slice boundaries depend only on machine state: a slice ends at the
//! quantum, at the next device deadline (mtimecmp, UART FIFO timeout, RTC
//! alarm), at `--max-insns`, or when a device asks the hart to stop. Host
//! events are taken only at slice boundaries and while idle.

use std::io::Write;
use std::path::PathBuf;

use logfmt::{Checkpoint, ShutdownCause};

use super::board::{Board, StopReason, VirtioSetup};
use super::boot::{self, Blob, BootError, Image};
use super::clock::VirtualClock;
use super::digest::Fnv1a;
use super::fdt::{self, DtConfig, FdtError};
use super::memmap::{DRAM_BASE, MROM_BASE};
use super::nondet::{Nondet, NondetError};
use crate::bus::PhysAddr;
use crate::cpu::{model, Exit, Hart, HartConfig};
use crate::devices::mrom::Mrom;
use crate::devices::sifive_test::TestRequest;

mod state;
pub use state::MachineState;

/// The built-in demo guest (fixtures/demo), run when no guest is given.
pub const DEMO_BIN: &[u8] = include_bytes!("../../../fixtures/demo/demo.bin");

/// Default instructions per slice: long enough to amortise the boundary
/// work, short enough that typed input reaches a busy-polling guest soon.
pub const DEFAULT_QUANTUM: u64 = 1 << 20;
/// Slice length while an HTIF `tohost` is watched (it is polled per slice).
const HTIF_QUANTUM: u64 = 1 << 14;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpuKind {
    /// QEMU's fixture CPU: rv64imac + Zicsr/Zifencei/Zicntr, Sv39, 16 PMP.
    Min,
    /// QEMU 10's default riscv64 CPU without H and debug triggers
    /// (`cpu::model::qemu_default`).
    Default,
    /// Any other model `--cpu` parsed (`cpu::model::parse`).
    Model(HartConfig),
}

impl CpuKind {
    pub fn hart_config(self) -> HartConfig {
        match self {
            CpuKind::Min => model::mincpu(),
            CpuKind::Default => model::qemu_default(),
            CpuKind::Model(c) => c,
        }
    }

    /// The canonical `-cpu` spelling (the recording's side file keeps it).
    pub fn spelling(self) -> String {
        model::spelling(&self.hart_config())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Firmware {
    /// The built-in demo guest.
    Demo,
    /// No firmware: the kernel is entered directly from the reset vector.
    None,
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct MachineConfig {
    pub ram_size: u64,
    pub cpu: CpuKind,
    pub firmware: Firmware,
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    pub append: Option<String>,
    pub icount_shift: u32,
    pub quantum: u64,
    pub max_insns: Option<u64>,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            ram_size: 128 << 20,
            cpu: CpuKind::Default,
            firmware: Firmware::Demo,
            kernel: None,
            initrd: None,
            append: None,
            icount_shift: 3,
            quantum: DEFAULT_QUANTUM,
            max_insns: None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The guest powered off (SiFive test 0x5555).
    PowerOff,
    /// The guest reported failure through the SiFive test device.
    GuestFail(u16),
    /// HTIF tohost = 1.
    HtifPass,
    /// HTIF tohost = odd value; the test's code (value >> 1).
    HtifFail(u64),
    /// The user quit (Ctrl-A x).
    Quit,
    /// `--max-insns` reached.
    InsnLimit,
}

impl Outcome {
    /// Process exit code: 0 for a clean poweroff or pass.
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::PowerOff | Outcome::HtifPass | Outcome::Quit | Outcome::InsnLimit => 0,
            Outcome::GuestFail(c) => (c as u8).max(1),
            Outcome::HtifFail(c) => (c as u8).max(1),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    #[error(transparent)]
    Boot(#[from] BootError),
    #[error(transparent)]
    Fdt(#[from] FdtError),
    #[error(transparent)]
    Nondet(#[from] NondetError),
    #[error("HTIF: unsupported tohost request {value:#x} at icount {icount} (only exit codes are handled)")]
    Htif { value: u64, icount: u64 },
}

pub struct Machine {
    pub hart: Hart,
    pub board: Board,
    blobs: Vec<Blob>,
    dt: DtConfig,
    fdt_addr: u64,
    tohost: Option<u64>,
    quantum: u64,
    max_insns: Option<u64>,
    trace: bool,
}

impl Machine {
    /// Builds the machine: loads the images, generates the device tree
    /// (random seed #1, as QEMU's machine creation) and performs the
    /// power-on reset (seed #2, the one the guest sees).
    pub fn new(
        cfg: &MachineConfig,
        nondet: Box<dyn Nondet>,
        serial_out: Box<dyn Write>,
        virtio: VirtioSetup,
    ) -> Result<Machine, MachineError> {
        let (firmware, kernel) = load_images(cfg)?;
        let start_addr = firmware.as_ref().map_or_else(
            || kernel.as_ref().map_or(DRAM_BASE, |k| k.entry),
            |f| f.entry,
        );
        let mut blobs = Vec::new();
        let mut tohost = None;
        if let Some(f) = &firmware {
            blobs.extend(f.blobs.iter().cloned());
            tohost = f.tohost;
        }
        let mut initrd = None;
        let kernel_entry = match &kernel {
            Some(k) => {
                blobs.extend(k.blobs.iter().cloned());
                tohost = tohost.or(k.tohost);
                if let Some(path) = &cfg.initrd {
                    let bytes = boot::read_file(path)?;
                    let start = boot::initrd_start(k.entry, cfg.ram_size);
                    initrd = Some((start, start + bytes.len() as u64));
                    blobs.push(Blob {
                        addr: start,
                        bytes,
                        source: path.clone(),
                    });
                }
                k.entry
            }
            None => 0,
        };
        boot::check_fits(&blobs, cfg.ram_size)?;

        let mut dt = DtConfig {
            ram_size: cfg.ram_size,
            cpu: cfg.cpu.hart_config(),
            bootargs: cfg.append.clone(),
            initrd,
            rng_seed: [0; 32],
        };
        let mut board = Board::new(
            cfg.ram_size,
            Mrom::new(start_addr, 0, kernel_entry),
            virtio,
            VirtualClock::new(cfg.icount_shift),
            nondet,
            serial_out,
        );
        // Machine creation: the first seed (QEMU's first RANDOM event).
        board.nondet().random(0, &mut dt.rng_seed)?;
        let fdt_size = fdt::build(&dt)?.len() as u64;
        let fdt_addr = boot::fdt_addr(cfg.ram_size, fdt_size);
        board.set_mrom(Mrom::new(start_addr, fdt_addr, kernel_entry));

        let mut hart = Hart::new(cfg.cpu.hart_config());
        hart.reset(MROM_BASE);
        let quantum = if tohost.is_some() {
            cfg.quantum.min(HTIF_QUANTUM)
        } else {
            cfg.quantum
        };
        let mut m = Machine {
            hart,
            board,
            blobs,
            dt,
            fdt_addr,
            tohost,
            quantum: quantum.max(1),
            max_insns: cfg.max_insns,
            trace: false,
        };
        // QEMU marks the initial system reset with CP_RESET.
        m.board.nondet().checkpoint(0, Checkpoint::Reset)?;
        m.reset()?;
        Ok(m)
    }

    /// System reset: reseed and rewrite the DT, reload the images (QEMU's
    /// ROM reset), reset devices and the hart to the reset vector.
    fn reset(&mut self) -> Result<(), MachineError> {
        let icount = self.hart.icount();
        self.board.nondet().random(icount, &mut self.dt.rng_seed)?;
        let blob = fdt::build(&self.dt)?;
        let ram = &mut self.board.ram;
        for b in &self.blobs {
            // check_fits ran at build time.
            let _ = ram.write_bytes(PhysAddr(b.addr), &b.bytes);
        }
        let _ = ram.write_bytes(PhysAddr(self.fdt_addr), &blob);
        self.board.reset_devices();
        self.hart.reset(MROM_BASE);
        let now = self.board.clock.now(icount);
        self.board.update_lines(now);
        Ok(())
    }

    /// Makes the hart return at every trap so the EXCEPTION/INTERRUPT marks
    /// reach [`Nondet::trap`] (record/replay needs them; live runs do not).
    /// Prints every slice (start icount, virtual ns, budget, exit) on stderr.
    pub fn set_trace(&mut self, on: bool) {
        self.trace = on;
    }

    pub fn set_trap_marks(&mut self, on: bool) {
        self.hart.exit_on_trap = on;
    }

    pub fn icount(&self) -> u64 {
        self.hart.icount()
    }

    /// Runs until the guest powers off, fails, passes/fails HTIF, the user
    /// quits or the instruction limit is reached.
    pub fn run(&mut self) -> Result<Outcome, MachineError> {
        loop {
            if let Some(o) = self.run_until(u64::MAX)? {
                return Ok(o);
            }
        }
    }

    /// Runs as [`run`](Self::run) does, but also stops (returning `None`)
    /// as soon as icount reaches `limit`: the instructions before `limit`
    /// have retired and the one at the stop has not. The debugger's
    /// stepping and running to an exact icount; the extra slice boundary
    /// changes nothing the guest can see (see the module notes).
    pub fn run_until(&mut self, limit: u64) -> Result<Option<Outcome>, MachineError> {
        loop {
            let icount = self.hart.icount();
            self.board.poll_async(icount);
            let now = self.board.clock.now(icount);
            self.board.tick(now);
            self.poll_stimer(icount);
            if let Some(o) = self.check_htif()? {
                return Ok(Some(o));
            }
            if let Some(stop) = self.board.take_stop() {
                if let Some(o) = self.handle_stop(stop)? {
                    return Ok(Some(o));
                }
                continue;
            }
            let mut budget = self.quantum;
            if let Some(max) = self.max_insns {
                if icount >= max {
                    return Ok(Some(Outcome::InsnLimit));
                }
                budget = budget.min(max - icount);
            }
            if icount >= limit {
                return Ok(None);
            }
            budget = budget.min(limit - icount);
            if let Some(d) = self.next_deadline(now) {
                budget = budget.min(self.board.clock.insns_until(icount, d));
            }
            if let Some(limit) = self.board.nondet().run_limit(icount)? {
                budget = budget.min(limit.saturating_sub(icount));
            }
            self.board.begin_slice();
            let exit = self.run_slice(icount + budget)?;
            if self.trace {
                eprintln!(
                    "emu: slice icount={icount} ns={now} budget={budget} -> {exit:?} at icount={} pc={:#x}",
                    self.hart.icount(),
                    self.hart.pc()
                );
            }
            match exit {
                Exit::BudgetExhausted | Exit::StopRequested | Exit::Trap { .. } => {}
                Exit::Wfi => self.idle()?,
                // The debugger's stop (gdb::target takes the hit).
                Exit::Debug => return Ok(None),
            }
        }
    }

    /// Runs the hart up to icount `end`. A trap (with trap marks on) is
    /// logged and the slice goes on: traps are not slice boundaries, so a
    /// record or replay slices exactly as a live run does, and a trap costs
    /// no boundary work (device ticks, async polling).
    ///
    /// A guest whose trap handler itself traps retires nothing, so `end` is
    /// never reached: after a trap storm (see [`crate::cpu::TRAP_STORM`])
    /// the slice ends anyway, so host input (Ctrl-A x, SIGTERM) is still
    /// seen at the boundary.
    fn run_slice(&mut self, mut end: u64) -> Result<Exit, MachineError> {
        self.board.set_slice_end(end);
        let storm = if self.hart.exit_on_trap {
            crate::cpu::TRAP_STORM
        } else {
            1 // the hart itself returns a trap only after a storm
        };
        let (mut last, mut idle) = (self.hart.icount(), 0);
        loop {
            let exit = self
                .hart
                .run(&mut self.board, end.saturating_sub(self.hart.icount()));
            let Exit::Trap { interrupt, .. } = exit else {
                return Ok(exit);
            };
            let icount = self.hart.icount();
            self.board.nondet().trap(icount, interrupt)?;
            // Replay: the trap's event may be the last before an input
            // due inside this slice (see `Board::note_door_limit`).
            if let Some(limit) = self.board.nondet().run_limit(icount)? {
                end = end.min(limit.max(icount));
                self.board.set_slice_end(end);
            }
            if icount >= end {
                return Ok(exit);
            }
            if icount == last {
                idle += 1;
                if idle >= storm {
                    return Ok(exit);
                }
            } else {
                (last, idle) = (icount, 0);
            }
        }
    }

    /// Raises the hart's Sstc STIP if its timer fired by now. Called at
    /// slice boundaries, which fall on the timer's deadline, so the
    /// interrupt is taken at the same instruction in every mode.
    fn poll_stimer(&mut self, icount: u64) {
        use crate::bus::SystemBus;
        let mtime = self.board.mtime(icount);
        self.hart.stimer_poll(mtime);
    }

    /// Earliest virtual-ns deadline: the board's timers and the hart's
    /// Sstc compare value.
    fn next_deadline(&self, now: u64) -> Option<u64> {
        let stimer = self
            .hart
            .stimer_deadline()
            .and_then(|ticks| self.board.mtime_ns(ticks));
        [self.board.next_deadline(now), stimer]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether an interrupt the hart has enabled in `mie` is pending (what
    /// wakes `wfi`, regardless of the global enables).
    fn wfi_wakes(&self) -> bool {
        let c = &self.hart.csr;
        (self.board.lines() | c.mip_sw) & c.mie != 0
    }

    /// The hart sleeps in `wfi`: warp virtual time to the next deadline (or
    /// until host input arrives) until an enabled interrupt is pending.
    fn idle(&mut self) -> Result<(), MachineError> {
        loop {
            let icount = self.hart.icount();
            let now = self.board.clock.now(icount);
            self.board.poll_async(icount);
            self.board.tick(now);
            self.poll_stimer(icount);
            if self.wfi_wakes() || self.board.stop_pending() {
                return Ok(());
            }
            if let Some(max) = self.max_insns {
                if icount >= max {
                    return Ok(());
                }
            }
            let deadline = self.next_deadline(now);
            let warp = self.board.nondet().idle(icount, now, deadline)?;
            self.board.clock.warp(warp);
            let now = self.board.clock.now(icount);
            self.board.tick(now);
        }
    }

    fn check_htif(&mut self) -> Result<Option<Outcome>, MachineError> {
        let Some(addr) = self.tohost else {
            return Ok(None);
        };
        let v = self.board.ram.read_u64(PhysAddr(addr)).unwrap_or(0);
        if v == 0 {
            return Ok(None);
        }
        if v & 1 == 1 && v >> 48 == 0 {
            return Ok(Some(if v == 1 {
                Outcome::HtifPass
            } else {
                Outcome::HtifFail(v >> 1)
            }));
        }
        Err(MachineError::Htif {
            value: v,
            icount: self.hart.icount(),
        })
    }

    fn handle_stop(&mut self, stop: StopReason) -> Result<Option<Outcome>, MachineError> {
        let icount = self.hart.icount();
        match stop {
            StopReason::Test(TestRequest::PowerOff) => {
                self.board
                    .nondet()
                    .shutdown(icount, ShutdownCause::GuestShutdown)?;
                Ok(Some(Outcome::PowerOff))
            }
            StopReason::Test(TestRequest::Fail(code)) => {
                self.board
                    .nondet()
                    .shutdown(icount, ShutdownCause::GuestPanic)?;
                Ok(Some(Outcome::GuestFail(code)))
            }
            StopReason::Test(TestRequest::Reset) => {
                // A guest reset is a reset request, as QEMU logs it
                // (CP_RESET_REQUESTED), not a shutdown.
                self.board
                    .nondet()
                    .checkpoint(icount, Checkpoint::ResetRequested)?;
                self.reset()?;
                Ok(None)
            }
            StopReason::Quit => {
                self.board
                    .nondet()
                    .shutdown(icount, ShutdownCause::HostQmpQuit)?;
                Ok(Some(Outcome::Quit))
            }
            StopReason::Error => Err(self.board.take_error().map(MachineError::Nondet).unwrap_or(
                MachineError::Nondet(NondetError::Engine("stopped without an error".into())),
            )),
        }
    }

    /// FNV-1a over hart state, RAM and device state.
    pub fn digest(&self) -> u64 {
        let mut h = Fnv1a::default();
        h.section(&self.hart.state().to_bytes());
        let ram = &self.board.ram;
        h.ram(ram.size(), ram.written_pages());
        let mut dev = Vec::new();
        self.board.digest_devices(&mut dev);
        h.section(&dev);
        h.finish()
    }
}

/// Loads firmware and kernel per QEMU's rules.
fn load_images(cfg: &MachineConfig) -> Result<(Option<Image>, Option<Image>), BootError> {
    let kernel_bytes = cfg
        .kernel
        .as_ref()
        .map(|p| boot::read_file(p).map(|b| (p.clone(), b)))
        .transpose()?;
    let firmware = match &cfg.firmware {
        Firmware::Demo => Some(boot::load_image(
            std::path::Path::new("<built-in demo>"),
            DEMO_BIN.to_vec(),
            DRAM_BASE,
        )?),
        Firmware::None => None,
        Firmware::File(p) => Some(boot::load_image(p, boot::read_file(p)?, DRAM_BASE)?),
    };
    let kernel = match kernel_bytes {
        Some((p, bytes)) => {
            let start = boot::kernel_start(firmware.as_ref().map(|f| f.end));
            Some(boot::load_image(&p, bytes, start)?)
        }
        None => None,
    };
    Ok((firmware, kernel))
}
