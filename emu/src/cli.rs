//! `emu` command line (clap). `emu run [options]`; QEMU's single-dash
//! spellings (`-bios`, `-kernel`, `-append`, `-initrd`, `-drive`, `-m`,
//! `-cpu`, `-serial`, `-device`, `-netdev`) are accepted and `-nographic`
//! is ignored. The host side (stdin thread, disk thread, network) is built
//! here; the machine only sees the [`Live`] door and a serial writer.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::gdb::{self, GdbError, GdbOptions, SharedConsole};
use crate::host::disk::{DiskError, DiskHandle};
use crate::host::net::{self, AttachError, NetDeviceSpec, OptionsError, UserNetConfig};
use crate::host::serial::{self, RawModeGuard, SerialConfig, SerialError};
use crate::machine::board::VirtioSetup;
use crate::machine::nondet::NondetError;
use crate::machine::{
    AsyncInput, CpuKind, Firmware, HostEvent, HostSource, Live, Machine, MachineConfig,
    MachineError, Outcome,
};
use crate::replay::session::{self, IcountOption, RrError, RrMode};
use crate::replay::MachineFacts;

/// Debian's OpenSBI, what QEMU's `-bios default` loads.
pub const DEFAULT_BIOS: &str = "/usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin";

#[derive(Debug, Parser)]
#[command(
    name = "emu",
    version,
    about = "RV64GC QEMU-virt-compatible emulator with deterministic record/replay"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a guest (the built-in demo when none is given).
    Run(RunArgs),
    /// Run a guest and record every non-deterministic input into a QEMU
    /// 0xe0200c log (and `LOG.machine`, the machine it ran on).
    ///
    /// Example: emu record --log boot.bin --bios default --kernel u-boot.bin
    Record(RrArgs),
    /// Re-run a recording from its log alone; stops with a divergence
    /// report if the machine and the log disagree.
    ///
    /// Example: emu replay --log boot.bin --bios default --kernel u-boot.bin --digest
    Replay(RrArgs),
    /// Cut part of a recording into a self-contained one: a snapshot at
    /// --from, the log's events up to --to, and the side file.
    ///
    /// Example: emu cut --log boot.bin --from 5000000 --to 9000000 -o part.bin --bios default --kernel u-boot.bin
    Cut(crate::snapshot::cli_ops::CutArgs),
    /// Record the built-in demo guest with scripted typing, replay it, and
    /// compare serial output and state digests.
    Demo(crate::replay::demo::DemoArgs),
}

#[derive(Debug, Args)]
pub struct RrArgs {
    /// The replay log (QEMU's rrfile).
    #[arg(long)]
    pub log: PathBuf,
    /// Record the legacy 0xe0200a layout (QEMU 5.1 to 7.0).
    #[arg(long)]
    pub legacy: bool,
    /// Overwrite an existing log when recording.
    #[arg(long)]
    pub force: bool,
    /// Replay even if LOG.machine says the recording ran on another machine.
    #[arg(long)]
    pub ignore_config: bool,
    #[command(flatten)]
    pub snap: crate::snapshot::cli_ops::SnapshotArgs,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Firmware: an OpenSBI fw_dynamic/fw_jump .bin, an M-mode U-Boot, an
    /// ELF; `default` = Debian's OpenSBI; `none` = enter the kernel directly.
    #[arg(long)]
    pub bios: Option<String>,
    /// S-mode payload or Linux Image (placed after the firmware), or an ELF.
    #[arg(long)]
    pub kernel: Option<PathBuf>,
    #[arg(long)]
    pub initrd: Option<PathBuf>,
    /// Kernel command line (/chosen/bootargs).
    #[arg(long)]
    pub append: Option<String>,
    /// Raw disk image for virtio-blk: `FILE[,snapshot=off]` (also QEMU's
    /// `file=FILE,...`). Writes go to an in-memory overlay unless snapshot=off.
    #[arg(long)]
    pub drive: Option<String>,
    /// QEMU -M/-machine: only `virt` (the one board emu is).
    #[arg(short = 'M', long = "machine")]
    pub machine: Option<String>,
    /// RAM size: N with optional K/M/G suffix (MiB when none).
    #[arg(short = 'm', long = "memory", default_value = "128M")]
    pub memory: String,
    /// QEMU's `-cpu` spelling: `rv64` (= `default`, QEMU 10's default CPU
    /// without H), `max`, `rv64i,...` or `mincpu` (the fixtures' rv64imac),
    /// with `,ext=on|off` items, e.g. `rv64,zba=off,sv57=off`.
    #[arg(long, default_value = "default")]
    pub cpu: String,
    /// Serial backend: stdio, null or file:PATH.
    #[arg(long, default_value = "stdio")]
    pub serial: SerialConfig,
    /// Print `icount: N` and `state-digest: HEX` on stderr at exit.
    #[arg(long)]
    pub digest: bool,
    /// Stop after N instructions.
    #[arg(long)]
    pub max_insns: Option<u64>,
    /// Virtual ns per instruction = 2^shift (QEMU -icount shift).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub icount_shift: u32,
    /// Add a virtio-rng device.
    #[arg(long)]
    pub rng: bool,
    /// QEMU -device: virtio-net-device[,...], virtio-rng-device, virtio-blk-device.
    #[arg(long)]
    pub device: Vec<String>,
    /// QEMU -netdev user[,...].
    #[arg(long)]
    pub netdev: Vec<String>,
    /// Print each slice boundary (icount, virtual ns) on stderr.
    #[arg(long)]
    pub trace: bool,
    /// QEMU's `-icount shift=N|auto[,rr=record|replay,rrfile=FILE]`.
    #[arg(long)]
    pub icount: Option<String>,
    /// Type into the serial console from a script (`expect TEXT`, `send
    /// TEXT`, `sleep MS`, `quit`) instead of stdin. Ignored in replay.
    #[arg(long)]
    pub serial_script: Option<PathBuf>,
    #[command(flatten)]
    pub gdb: GdbArgs,
}

/// QEMU's debugger options (`emu run` and `emu replay`; not `record`).
#[derive(Debug, Args)]
pub struct GdbArgs {
    /// QEMU -gdb: serve gdb on tcp::PORT (localhost) or tcp:HOST:PORT.
    #[arg(long = "gdb", value_name = "tcp::PORT")]
    pub gdb: Option<String>,
    /// QEMU -s: shorthand for -gdb tcp::1234.
    #[arg(short = 's')]
    pub gdb_default: bool,
    /// QEMU -S: do not start the CPU until gdb continues (needs -gdb or -s).
    #[arg(short = 'S')]
    pub freeze: bool,
}

impl GdbArgs {
    /// The validated options; `None` without a debugger.
    pub fn options(&self) -> Result<Option<GdbOptions>, CliError> {
        let addr = match (&self.gdb, self.gdb_default) {
            (Some(spec), _) => gdb::parse_spec(spec)?,
            (None, true) => format!("127.0.0.1:{}", gdb::DEFAULT_PORT),
            (None, false) if self.freeze => return Err(CliError::FreezeWithoutGdb),
            (None, false) => return Ok(None),
        };
        Ok(Some(GdbOptions {
            addr,
            wait: self.freeze,
        }))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("bad --memory `{0}`: expected a size like 128M")]
    Memory(String),
    #[error("bad --cpu `{spec}`: {source}")]
    Cpu {
        spec: String,
        source: crate::cpu::model::CpuModelError,
    },
    #[error("bad --drive `{0}`: expected FILE[,snapshot=on|off]")]
    Drive(String),
    #[error("unsupported -machine `{0}`: emu is QEMU's `virt` board only")]
    Board(String),
    #[error("unsupported -device `{0}`")]
    Device(String),
    #[error(transparent)]
    NetOptions(#[from] OptionsError),
    #[error(transparent)]
    NetAttach(#[from] AttachError),
    #[error(transparent)]
    Disk(#[from] DiskError),
    #[error(transparent)]
    Serial(#[from] SerialError),
    #[error("cannot start the stdin reader: {0}")]
    Stdin(std::io::Error),
    #[error("cannot install the signal handlers: {0}")]
    Signals(std::io::Error),
    #[error(transparent)]
    Machine(#[from] MachineError),
    #[error(transparent)]
    Rr(#[from] RrError),
    #[error(transparent)]
    Script(#[from] crate::host::script::ScriptError),
    #[error(transparent)]
    Gdb(#[from] GdbError),
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::cli_ops::SnapError),
    #[error(
        "-S waits for a debugger: add -s or -gdb tcp::PORT (emu has no monitor to continue from)"
    )]
    FreezeWithoutGdb,
    #[error("gdb cannot attach to a recording (a stopped guest changes when host input arrives): record first, then debug `emu replay` with -s/-gdb")]
    GdbWhileRecording,
}

impl CliError {
    /// A machine error inside a debug session (a divergence) keeps its
    /// own exit status.
    fn from_gdb(e: GdbError) -> CliError {
        match e {
            GdbError::Machine(m) => CliError::Machine(m),
            e => CliError::Gdb(e),
        }
    }
}

/// Rewrites QEMU-style single-dash options to clap's `--long` form and
/// inserts `run` when the first argument is an option.
pub fn normalize_args(args: impl IntoIterator<Item = String>) -> Vec<String> {
    const QEMU_LONG: &[&str] = &[
        "bios", "kernel", "initrd", "append", "drive", "cpu", "serial", "device", "netdev",
        "memory", "icount", "gdb", "machine",
    ];
    let mut out = Vec::new();
    for (i, a) in args.into_iter().enumerate() {
        if i == 1
            && a.starts_with('-')
            && a != "--help"
            && a != "-h"
            && a != "--version"
            && a != "-V"
        {
            out.push("run".to_string());
        }
        if a == "-nographic" || a == "--nographic" {
            continue;
        }
        match a.strip_prefix('-') {
            Some(name) if !name.starts_with('-') && QEMU_LONG.contains(&name) => {
                out.push(format!("--{name}"))
            }
            _ => out.push(a),
        }
    }
    out
}

fn parse_memory(s: &str) -> Result<u64, CliError> {
    let t = s.trim().trim_end_matches("iB").trim_end_matches('B');
    let (num, mul) = match t.chars().last() {
        Some('K' | 'k') => (&t[..t.len() - 1], 1u64 << 10),
        Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
        Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1 << 20),
    };
    let n: u64 = num.parse().map_err(|_| CliError::Memory(s.into()))?;
    let bytes = n
        .checked_mul(mul)
        .ok_or_else(|| CliError::Memory(s.into()))?;
    // At least 16 MiB (room for firmware + FDT), at most 3 GiB below the PCI hole.
    if !(16 << 20..=3 << 30).contains(&bytes) || bytes % 4096 != 0 {
        return Err(CliError::Memory(s.into()));
    }
    Ok(bytes)
}

fn parse_cpu(s: &str) -> Result<CpuKind, CliError> {
    use crate::cpu::model;
    let cfg = model::parse(s).map_err(|source| CliError::Cpu {
        spec: s.into(),
        source,
    })?;
    Ok(if cfg == model::mincpu() {
        CpuKind::Min
    } else if cfg == model::qemu_default() {
        CpuKind::Default
    } else {
        CpuKind::Model(cfg)
    })
}

/// `FILE[,snapshot=on|off]` or QEMU's `file=FILE,if=...,format=raw,snapshot=...`.
fn parse_drive(s: &str) -> Result<(PathBuf, bool), CliError> {
    let mut path = None;
    let mut snapshot = true;
    for (i, item) in s.split(',').enumerate() {
        match item.split_once('=') {
            Some(("file", p)) => path = Some(PathBuf::from(p)),
            Some(("snapshot", "on" | "true")) => snapshot = true,
            Some(("snapshot", "off" | "false")) => snapshot = false,
            Some(("if" | "format" | "id" | "cache" | "media", _)) => {}
            None if i == 0 && !item.is_empty() => path = Some(PathBuf::from(item)),
            _ => return Err(CliError::Drive(s.into())),
        }
    }
    path.map(|p| (p, snapshot))
        .ok_or_else(|| CliError::Drive(s.into()))
}

pub(crate) fn machine_config(a: &RunArgs) -> Result<MachineConfig, CliError> {
    if let Some(m) = a.machine.as_deref().filter(|m| *m != "virt") {
        return Err(CliError::Board(m.into()));
    }
    let kernel_is_htif_elf = a.kernel.is_some() && a.bios.is_none() && {
        let k = a
            .kernel
            .as_ref()
            .map(std::fs::read)
            .and_then(Result::ok)
            .unwrap_or_default();
        crate::machine::boot::is_elf(&k)
    };
    let firmware = match a.bios.as_deref() {
        Some("none") => Firmware::None,
        Some("default") => Firmware::File(DEFAULT_BIOS.into()),
        Some(p) => Firmware::File(p.into()),
        // A bare ELF kernel (e.g. riscv-tests) runs without firmware, as Spike would.
        None if kernel_is_htif_elf => Firmware::None,
        None if a.kernel.is_some() => Firmware::File(DEFAULT_BIOS.into()),
        None => Firmware::Demo,
    };
    Ok(MachineConfig {
        ram_size: parse_memory(&a.memory)?,
        cpu: parse_cpu(&a.cpu)?,
        firmware,
        kernel: a.kernel.clone(),
        initrd: a.initrd.clone(),
        append: a.append.clone(),
        icount_shift: a.icount_shift,
        max_insns: a.max_insns,
        ..MachineConfig::default()
    })
}

/// Builds the host backends and the machine, runs it, prints the outcome.
/// `-icount ...,rr=...` turns a plain run into a recording or a replay.
pub fn run(a: &RunArgs) -> Result<RunReport, CliError> {
    let mode = match &a.icount {
        Some(s) => IcountOption::parse(s)?.mode,
        None => RrMode::Live,
    };
    run_with(a, &mode)
}

/// The facts a replay must share with its recording.
pub(crate) fn machine_facts(a: &RunArgs, cfg: &MachineConfig) -> Result<MachineFacts, CliError> {
    let mut f = MachineFacts::new();
    let image = |p: &std::path::Path| session::file_sha256(p);
    f.set("emu", env!("CARGO_PKG_VERSION"));
    f.set("memory", cfg.ram_size);
    f.set("cpu", cfg.cpu.spelling());
    f.set(
        "firmware",
        match &cfg.firmware {
            Firmware::Demo => "demo".to_string(),
            Firmware::None => "none".to_string(),
            Firmware::File(p) => image(p)?,
        },
    );
    f.set(
        "kernel",
        cfg.kernel
            .as_deref()
            .map(image)
            .transpose()?
            .unwrap_or_else(|| "none".into()),
    );
    f.set(
        "initrd",
        cfg.initrd
            .as_deref()
            .map(image)
            .transpose()?
            .unwrap_or_else(|| "none".into()),
    );
    f.set("append", cfg.append.clone().unwrap_or_default());
    let drive = a.drive.as_deref().map(parse_drive).transpose()?;
    f.set(
        "drive",
        drive
            .map(|(p, _)| image(&p))
            .transpose()?
            .unwrap_or_else(|| "none".into()),
    );
    f.set("devices", a.device.join(" "));
    f.set("rng", a.rng || cfg.firmware == Firmware::Demo);
    f.set("icount-shift", cfg.icount_shift);
    f.set("quantum", cfg.quantum);
    Ok(f)
}

/// The disk, network and rng devices of a run, with the host sources they
/// feed and the network backend to keep alive.
pub(crate) fn virtio_setup(
    a: &RunArgs,
    cfg: &MachineConfig,
    replay: bool,
    tx: &crossbeam_channel::Sender<HostEvent>,
) -> Result<(VirtioSetup, Vec<HostSource>, Option<net::UserNet>), CliError> {
    let mut sources = Vec::new();
    let mut setup = VirtioSetup::default();
    if let Some(d) = &a.drive {
        let (path, snapshot) = parse_drive(d)?;
        setup.blk = Some(DiskHandle::open(&path, snapshot, tx.clone())?);
        sources.push(HostSource::Disk);
    }
    // Parsed up front: a bad -netdev is an error even without a NIC.
    let netdevs = netdev_configs(a)?;
    let mut net_backend = None;
    setup.rng = a.rng || cfg.firmware == Firmware::Demo;
    for d in &a.device {
        if let Some(spec) = NetDeviceSpec::parse(d)? {
            let nic = net::attach(
                &spec,
                net::find_netdev(&spec, &netdevs)?,
                replay,
                deliver_to(tx),
            )?;
            if nic.backend.is_some() {
                sources.push(HostSource::Net);
            }
            net_backend = nic.backend;
            setup.net = Some(nic.device);
        } else if d.starts_with("virtio-rng-device") {
            setup.rng = true;
        } else if d.starts_with("virtio-blk-device") {
            // The disk comes from --drive; the device line only names it.
        } else {
            return Err(CliError::Device(d.clone()));
        }
    }
    Ok((setup, sources, net_backend))
}

fn netdev_configs(a: &RunArgs) -> Result<Vec<UserNetConfig>, CliError> {
    Ok(a.netdev
        .iter()
        .map(|s| UserNetConfig::parse(s))
        .collect::<Result<Vec<_>, _>>()?)
}

/// Hands each frame libslirp sends the guest to the machine as host input.
fn deliver_to(
    tx: &crossbeam_channel::Sender<HostEvent>,
) -> impl FnMut(Vec<u8>) -> bool + Send + 'static {
    let tx = tx.clone();
    move |packet| {
        tx.send(HostEvent::Input(AsyncInput::NetRx { packet }))
            .is_ok()
    }
}

/// The user-network backend a replay going live connects its NIC to (the
/// replay ran without one), reporting to `tx`; `None` without a NIC or a
/// `-netdev` for it.
pub(crate) fn live_network(
    a: &RunArgs,
    tx: &crossbeam_channel::Sender<HostEvent>,
) -> Result<Option<net::UserNet>, CliError> {
    let netdevs = netdev_configs(a)?;
    for d in &a.device {
        if let Some(spec) = NetDeviceSpec::parse(d)? {
            if let Some(cfg) = net::find_netdev(&spec, &netdevs)? {
                let backend =
                    net::UserNet::spawn(cfg.clone(), deliver_to(tx)).map_err(AttachError::from)?;
                return Ok(Some(backend));
            }
        }
    }
    Ok(None)
}

/// Runs with an explicit record/replay mode.
pub fn run_with(a: &RunArgs, mode: &RrMode) -> Result<RunReport, CliError> {
    run_with_budget(a, mode, crate::snapshot::SnapshotBudget::default())
}

/// [`run_with`], with the memory a debugger's snapshots may use.
pub fn run_with_budget(
    a: &RunArgs,
    mode: &RrMode,
    budget: crate::snapshot::SnapshotBudget,
) -> Result<RunReport, CliError> {
    let mut cfg = machine_config(a)?;
    if let Some(shift) = a
        .icount
        .as_deref()
        .map(IcountOption::parse)
        .transpose()?
        .and_then(|o| o.shift)
    {
        cfg.icount_shift = shift;
    }
    let replay = mode.is_replay();
    let gdb = a.gdb.options()?;
    if gdb.is_some() && matches!(mode, RrMode::Record { .. }) {
        return Err(CliError::GdbWhileRecording);
    }
    let (tx, rx) = crossbeam_channel::unbounded::<HostEvent>();
    let (setup, mut sources, net_backend) = virtio_setup(a, &cfg, replay, &tx)?;
    let mut out = serial::output(&a.serial)?;
    // Reverse execution replays again what was shown: every machine of the
    // session writes through one console that prints each byte once.
    let mut position = None;
    let console = if gdb.is_some() && replay {
        let c = SharedConsole::new(out);
        let (w, p) = c.tracked_writer();
        (out, position) = (w, Some(p));
        Some(c)
    } else {
        None
    };
    let script = match (&a.serial_script, replay) {
        (Some(path), false) => Some(crate::host::script::load(path)?),
        _ => None,
    };
    if let Some(steps) = script.clone() {
        out = crate::host::script::spawn(steps, out, tx.clone()).map_err(CliError::Stdin)?;
        sources.push(HostSource::Serial);
    }
    let _raw = if a.serial == SerialConfig::Stdio && !replay && script.is_none() {
        serial::spawn_stdin(tx.clone()).map_err(CliError::Stdin)?;
        sources.push(HostSource::Serial);
        Some(RawModeGuard::enable())
    } else {
        None
    };
    if !replay {
        crate::host::signals::watch(tx.clone()).map_err(CliError::Signals)?;
    }
    drop(tx);
    // Hashing the images is for LOG.machine: a live run has no log.
    let facts = if mode == &RrMode::Live {
        MachineFacts::new()
    } else {
        machine_facts(a, &cfg)?
    };
    let live = Live::new(Some(rx.clone()), sources);
    let door = session::open_door(mode, live, Some(rx), &facts)?;
    let (out, serial_hash) = session::OutputHasher::wrap(out);
    let mut m = Machine::new(&cfg, door, out, setup)?;
    m.set_trap_marks(mode != &RrMode::Live);
    m.set_trace(a.trace);
    let (mut m, serial_hash, outcome) = match (&gdb, mode) {
        (None, _) => {
            let outcome = m.run();
            (m, serial_hash, outcome.map(Some))
        }
        (Some(opts), RrMode::Replay { log, .. }) => {
            let console = console.as_ref().expect("a replay under gdb has a console");
            let mapped = session::open_log(log)?;
            let rebuild: gdb::Rebuild<'_> = Box::new(|| {
                let (tx, rx) = crossbeam_channel::unbounded::<HostEvent>();
                let rebuild_err = |e: CliError| GdbError::Rebuild(Box::new(e));
                let (setup, _, _) = virtio_setup(a, &cfg, true, &tx).map_err(rebuild_err)?;
                drop(tx);
                let door = session::replay_door(mapped, log, Some(rx))
                    .map_err(|e| rebuild_err(e.into()))?;
                let (out, hash) = session::OutputHasher::wrap(console.writer());
                let mut m = Machine::new(&cfg, door, out, setup)?;
                m.set_trap_marks(true);
                m.set_trace(a.trace);
                Ok((m, hash))
            });
            let history = gdb::history::for_replay(m, serial_hash, position, rebuild, budget);
            served(gdb::serve(opts, history))?
        }
        (Some(opts), _) => served(gdb::serve(opts, Box::new(gdb::Live::new(m, serial_hash))))?,
    };
    crate::host::signals::unwatch();
    drop(_raw);
    let Some(outcome) = outcome.transpose() else {
        // gdb killed the guest: no end state to check or print.
        eprintln!("emu: killed by gdb at icount {}", m.icount());
        return Ok(RunReport {
            outcome: Outcome::Quit,
            icount: m.icount(),
            digest: 0,
            virtual_ns: m.board.clock.now(m.icount()),
        });
    };
    // Close the log (record) or check its end (replay) even after an error,
    // so a failed recording is still a valid log up to that point.
    let end_icount = m.icount();
    let closed = m.board.nondet().finish(end_icount);
    let outcome = outcome?;
    closed.map_err(MachineError::from)?;
    let icount = m.icount();
    // Hashing all of RAM costs a little: only when someone compares it.
    let digest = if a.digest || mode != &RrMode::Live {
        m.digest()
    } else {
        0
    };
    let report = RunReport {
        outcome,
        icount,
        digest,
        virtual_ns: m.board.clock.now(icount),
    };
    let end = session::RunEnd {
        icount: report.icount,
        digest: report.digest,
        serial_sha256: serial_hash.hex(),
    };
    session::settle(mode, &facts, &end)?;
    if a.digest {
        eprintln!("icount: {}", report.icount);
        eprintln!("state-digest: {:016x}", report.digest);
    }
    drop(net_backend);
    Ok(report)
}

/// The machine after a debug session and how its run ended (`None`:
/// killed by gdb); a detached guest runs on to its end here.
#[allow(clippy::type_complexity)]
fn served(
    r: Result<gdb::Served, GdbError>,
) -> Result<
    (
        Machine,
        session::OutputHash,
        Result<Option<Outcome>, MachineError>,
    ),
    CliError,
> {
    let s = r.map_err(CliError::from_gdb)?;
    let mut m = s.machine;
    let outcome = match s.end {
        gdb::End::Outcome(o) => Ok(Some(o)),
        gdb::End::Detached => m.run().map(Some),
        gdb::End::Killed => Ok(None),
    };
    Ok((m, s.serial_hash, outcome))
}

/// How a run ended, with the state it ended in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunReport {
    pub outcome: Outcome,
    pub icount: u64,
    /// The state digest; 0 for a live run without `--digest`.
    pub digest: u64,
    /// Guest (virtual) time at the end, in ns.
    pub virtual_ns: u64,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse_from(normalize_args(std::env::args()));
    let result = match &cli.command {
        Command::Run(a) => run(a),
        Command::Record(r) => run_with(
            &r.run,
            &RrMode::Record {
                log: r.log.clone(),
                legacy: r.legacy,
                force: r.force,
            },
        ),
        Command::Replay(r) if r.snap.active(&r.log) => crate::snapshot::cli_ops::replay_command(r),
        Command::Cut(c) => crate::snapshot::cli_ops::cut(c),
        Command::Replay(r) => run_with_budget(
            &r.run,
            &RrMode::Replay {
                log: r.log.clone(),
                ignore_config: r.ignore_config,
            },
            r.snap.budget(),
        ),
        Command::Demo(d) => return crate::replay::demo::run(d),
    };
    match result {
        Ok(report) => {
            match report.outcome {
                Outcome::HtifFail(code) => eprintln!("emu: FAIL: HTIF test {code}"),
                Outcome::GuestFail(code) => eprintln!("emu: guest reported failure {code}"),
                Outcome::InsnLimit => eprintln!("emu: instruction limit reached"),
                Outcome::HtifPass => eprintln!("emu: PASS"),
                Outcome::PowerOff | Outcome::Quit => {}
            }
            ExitCode::from(report.outcome.exit_code())
        }
        Err(e) => {
            eprintln!("emu: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// Exit status when a replay disagrees with its log or recording.
pub const EXIT_DIVERGED: u8 = 3;
/// Exit status for every other error (bad options, unreadable files).
pub const EXIT_ERROR: u8 = 2;

impl CliError {
    pub fn exit_code(&self) -> u8 {
        let diverged = match self {
            CliError::Rr(e) => e.is_divergence(),
            CliError::Machine(MachineError::Nondet(NondetError::Diverged(_))) => true,
            _ => false,
        };
        if diverged {
            EXIT_DIVERGED
        } else {
            EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn qemu_spellings() {
        let v = normalize_args(
            [
                "emu",
                "-bios",
                "x",
                "-nographic",
                "-m",
                "64M",
                "-kernel",
                "k",
            ]
            .iter()
            .map(|s| s.to_string()),
        );
        assert_eq!(
            v,
            ["emu", "run", "--bios", "x", "-m", "64M", "--kernel", "k"]
        );
        let cli = Cli::try_parse_from(v).unwrap();
        let Command::Run(a) = cli.command else {
            panic!("expected run")
        };
        assert_eq!(a.bios.as_deref(), Some("x"));
        assert_eq!(parse_memory(&a.memory).unwrap(), 64 << 20);
    }

    /// The CPU model is a fact of the recording: a replay on another
    /// model is refused by the side-file comparison.
    #[test]
    fn cpu_model_goes_into_the_side_file() {
        let facts = |cpu: &str| {
            let cli = Cli::try_parse_from(["emu", "run", "--cpu", cpu]).unwrap();
            let Command::Run(a) = cli.command else {
                panic!("expected run")
            };
            machine_facts(&a, &machine_config(&a).unwrap()).unwrap()
        };
        let rv64 = facts("rv64");
        assert_eq!(
            rv64.get("cpu"),
            Some(crate::cpu::model::spelling(&crate::cpu::model::qemu_default()).as_str())
        );
        assert!(rv64.compare(&facts("default")).is_empty(), "same hart");
        let diff = rv64.compare(&facts("rv64,zba=off"));
        assert_eq!(diff.len(), 1, "{diff:?}");
        assert_eq!(diff[0].key, "cpu");
        assert!(diff[0].to_string().contains("zba=off"), "{}", diff[0]);
        assert_eq!(rv64.compare(&facts("mincpu"))[0].key, "cpu");
        let err = machine_config(
            &match Cli::try_parse_from(["emu", "run", "--cpu", "rv64,h=on"])
                .unwrap()
                .command
            {
                Command::Run(a) => a,
                _ => panic!("expected run"),
            },
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "bad --cpu `rv64,h=on`: CPU property `h=on` is not supported by emu: emu does not implement the hypervisor extension"
        );
    }

    #[test]
    fn options_parse() {
        assert_eq!(parse_memory("128M").unwrap(), 128 << 20);
        assert_eq!(parse_memory("1G").unwrap(), 1 << 30);
        assert_eq!(parse_memory("256").unwrap(), 256 << 20);
        assert!(parse_memory("1K").is_err());
        assert!(parse_memory("lots").is_err());
        assert_eq!(
            parse_cpu(crate::cpu::model::QEMU_MINCPU).unwrap(),
            CpuKind::Min
        );
        assert_eq!(parse_cpu("rv64,h=off").unwrap(), CpuKind::Default);
        assert!(parse_cpu("rv64,h=on").is_err());
        assert!(parse_cpu("pentium").is_err());
        assert_eq!(parse_drive("d.img").unwrap(), ("d.img".into(), true));
        assert_eq!(
            parse_drive("d.img,snapshot=off").unwrap(),
            ("d.img".into(), false)
        );
        assert_eq!(
            parse_drive("file=d.img,if=none,format=raw").unwrap(),
            ("d.img".into(), true)
        );
        assert!(parse_drive("snapshot=off").is_err());
    }

    #[test]
    fn machine_virt_only() {
        let parse = |m: &str| {
            let v = normalize_args(["emu", "-M", m].map(String::from));
            let Command::Run(a) = Cli::try_parse_from(v).unwrap().command else {
                panic!("expected run")
            };
            machine_config(&a).map(|_| ())
        };
        assert!(parse("virt").is_ok());
        let v = normalize_args(["emu", "-machine", "virt"].map(String::from));
        assert!(Cli::try_parse_from(v).is_ok());
        let e = parse("sifive_u").unwrap_err().to_string();
        assert!(e.contains("sifive_u"), "{e}");
    }
}
