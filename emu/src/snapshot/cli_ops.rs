//! The command-line operations built on snapshots: building a replaying
//! machine for a [`Timeline`](super::Timeline), `emu replay --snapshot-at`,
//! `emu cut` and `emu replay --live-at`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::file::{SnapshotFile, SnapshotFileError};
use super::SnapshotBudget;
use crate::cli::{self, CliError, RrArgs, RunArgs, RunReport};
use crate::host::serial;
use crate::machine::nondet::{AsyncInput, NondetError, ReplayPosition, Result as NondetResult};
use crate::machine::{HostEvent, Live, Machine, Nondet};
use crate::replay::session::{self, OutputHash, RrError, RrMode};
use crate::replay::MachineFacts;

/// A machine replaying `log` at power-on, as `emu replay` builds it.
pub struct ReplaySetup {
    pub machine: Machine,
    /// The console hash (track it in a timeline so it rewinds too).
    pub serial_hash: OutputHash,
    /// What `LOG.machine` must say about this machine.
    pub facts: MachineFacts,
}

/// Builds the machine `a` describes, replaying `log` (checked against
/// `LOG.machine` unless `ignore_config`). The serial output goes to `out`
/// (`None`: the `--serial` backend of `a`).
pub fn replay_machine(
    a: &RunArgs,
    log: &Path,
    ignore_config: bool,
    out: Option<Box<dyn Write>>,
) -> Result<ReplaySetup, CliError> {
    let cfg = cli::machine_config(a)?;
    let mode = RrMode::Replay {
        log: log.to_path_buf(),
        ignore_config,
    };
    let (tx, rx) = crossbeam_channel::unbounded::<HostEvent>();
    let (setup, _, _) = cli::virtio_setup(a, &cfg, true, &tx)?;
    drop(tx);
    let facts = cli::machine_facts(a, &cfg)?;
    let door = session::open_door(&mode, Live::new(None, vec![]), Some(rx), &facts)?;
    let out = match out {
        Some(o) => o,
        None => serial::output(&a.serial)?,
    };
    let (out, serial_hash) = session::OutputHasher::wrap(out);
    let mut machine = Machine::new(&cfg, door, out, setup)?;
    machine.set_trap_marks(true);
    machine.set_trace(a.trace);
    Ok(ReplaySetup {
        machine,
        serial_hash,
        facts,
    })
}

/// Options of `emu replay` that work with snapshots.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SnapshotArgs {
    /// Replay to this icount, write a snapshot file there (-o) and stop.
    #[arg(long, value_name = "ICOUNT", requires = "output")]
    pub snapshot_at: Option<u64>,
    /// The snapshot file --snapshot-at writes.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Start the replay from this snapshot file (taken from the same log)
    /// instead of power-on.
    #[arg(long, value_name = "FILE", conflicts_with = "snapshot_at")]
    pub from_snapshot: Option<PathBuf>,
    /// Replay to this icount, then go on as a live run (host input, clock
    /// and randomness from the host).
    #[arg(long, value_name = "ICOUNT", conflicts_with_all = ["snapshot_at", "from_snapshot"])]
    pub live_at: Option<u64>,
    /// With --live-at: record the live continuation to this log (plus a
    /// snapshot at --live-at and the machine side file), replayable alone.
    #[arg(long, value_name = "LOG", requires = "live_at")]
    pub record_to: Option<PathBuf>,
    /// Memory the debugger's snapshots may use (e.g. 512M; default 512M).
    #[arg(long, value_name = "SIZE", value_parser = parse_budget)]
    pub snapshot_budget: Option<SnapshotBudget>,
}

fn parse_budget(s: &str) -> Result<SnapshotBudget, String> {
    SnapshotBudget::parse(s)
}

impl SnapshotArgs {
    /// Whether the replay needs this module rather than the plain path.
    pub fn active(&self, log: &Path) -> bool {
        self.snapshot_at.is_some()
            || self.from_snapshot.is_some()
            || self.live_at.is_some()
            || start_snapshot(log).is_some()
    }

    /// The budget for a debugger's timeline.
    pub fn budget(&self) -> SnapshotBudget {
        self.snapshot_budget.unwrap_or_default()
    }
}

/// `emu cut`: a self-contained recording of part of another.
#[derive(Debug, clap::Args)]
pub struct CutArgs {
    /// The recording to cut from.
    #[arg(long)]
    pub log: PathBuf,
    /// The icount the cut starts at (a snapshot is taken there).
    #[arg(long, value_name = "ICOUNT")]
    pub from: u64,
    /// The icount the cut ends at.
    #[arg(long, value_name = "ICOUNT")]
    pub to: u64,
    /// The cut's log; OUT.snap and OUT.machine are written beside it.
    #[arg(short = 'o', long = "output", value_name = "OUT")]
    pub output: PathBuf,
    /// Cut even if LOG.machine says the recording ran on another machine.
    #[arg(long)]
    pub ignore_config: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Side-file keys of a recording that starts from a snapshot.
pub const START_SNAPSHOT: &str = "start.snapshot";
pub const START_ICOUNT: &str = "start.icount";

/// The snapshot a recording starts from, if its side file names one
/// (a cut, or a recorded live continuation): relative to the log's folder.
pub fn start_snapshot(log: &Path) -> Option<PathBuf> {
    let facts = MachineFacts::read(&MachineFacts::side_file(log)).ok()?;
    let name = facts.get(START_SNAPSHOT)?;
    Some(log.parent().unwrap_or(Path::new(".")).join(name))
}

/// The snapshot file beside a cut or recorded continuation `log`.
pub fn snapshot_path_for(log: &Path) -> PathBuf {
    let mut name = log.as_os_str().to_owned();
    name.push(".snap");
    PathBuf::from(name)
}

#[derive(Debug, thiserror::Error)]
pub enum SnapError {
    #[error(transparent)]
    File(#[from] SnapshotFileError),
    #[error("{log}: the replay ended ({outcome:?}) at icount {icount}, before icount {wanted}")]
    EndedBefore {
        log: PathBuf,
        icount: u64,
        wanted: u64,
        outcome: crate::machine::Outcome,
    },
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {what}")]
    Io { path: PathBuf, what: String },
    #[error("{log}: cannot snapshot at icount {icount}: {what}")]
    Capture {
        log: PathBuf,
        icount: u64,
        what: String,
    },
    #[error("{log}: {what}")]
    Log { log: PathBuf, what: String },
}

/// The door a machine is built with when a snapshot will replace its
/// power-on state: it answers the power-on questions (device-tree seeds)
/// with zeros and refuses everything else, so nothing runs before the real
/// door is in place.
struct PowerOnOnly;

impl Nondet for PowerOnOnly {
    fn host_clock_ns(&mut self, _: u64) -> NondetResult<i64> {
        Err(not_started())
    }
    fn random(&mut self, _: u64, buf: &mut [u8]) -> NondetResult<()> {
        buf.fill(0);
        Ok(())
    }
    fn idle(&mut self, _: u64, _: u64, _: Option<u64>) -> NondetResult<u64> {
        Err(not_started())
    }
    fn poll_async(&mut self, _: u64, _: &mut Vec<AsyncInput>) -> NondetResult<()> {
        Err(not_started())
    }
    fn char_write(&mut self, _: u64, _: usize) -> NondetResult<()> {
        Err(not_started())
    }
    fn shutdown(&mut self, _: u64, _: logfmt::ShutdownCause) -> NondetResult<()> {
        Err(not_started())
    }
    fn trap(&mut self, _: u64, _: bool) -> NondetResult<()> {
        Err(not_started())
    }
}

fn not_started() -> NondetError {
    NondetError::Engine("a machine built for a snapshot ran before it was restored".into())
}

fn ended(log: &Path, m: &Machine, wanted: u64, outcome: crate::machine::Outcome) -> CliError {
    SnapError::EndedBefore {
        log: log.to_path_buf(),
        icount: m.icount(),
        wanted,
        outcome,
    }
    .into()
}

/// Replays to exactly `icount`.
fn replay_to(log: &Path, m: &mut Machine, icount: u64) -> Result<(), CliError> {
    if let Some(o) = m.run_until(icount)? {
        if m.icount() != icount {
            return Err(ended(log, m, icount, o));
        }
    }
    Ok(())
}

/// `emu replay` with a snapshot option (or of a log that starts from one).
pub fn replay_command(r: &RrArgs) -> Result<RunReport, CliError> {
    if let Some(at) = r.snap.snapshot_at {
        let out = r.snap.output.as_deref().ok_or_else(|| {
            CliError::from(SnapError::Usage("--snapshot-at needs -o FILE".into()))
        })?;
        return snapshot_at(r, at, out);
    }
    if let Some(at) = r.snap.live_at {
        return live_at(r, at, r.snap.record_to.as_deref());
    }
    let snap = match &r.snap.from_snapshot {
        Some(p) => p.clone(),
        None => start_snapshot(&r.log).ok_or_else(|| {
            CliError::from(SnapError::Usage(format!(
                "{}: its side file names no snapshot to start from",
                r.log.display()
            )))
        })?,
    };
    replay_from_snapshot(r, &snap)
}

fn log_bytes(log: &Path) -> Result<&'static logfmt::MappedLog, CliError> {
    Ok(session::open_log(log)?)
}

/// `emu replay --snapshot-at ICOUNT -o FILE`.
fn snapshot_at(r: &RrArgs, at: u64, out: &Path) -> Result<RunReport, CliError> {
    let mut s = replay_machine(&r.run, &r.log, r.ignore_config, None)?;
    replay_to(&r.log, &mut s.machine, at)?;
    let mapped = log_bytes(&r.log)?;
    let snap = SnapshotFile::capture(&mut s.machine, &s.facts, mapped.bytes()).map_err(|what| {
        SnapError::Capture {
            log: r.log.clone(),
            icount: at,
            what,
        }
    })?;
    snap.write(out).map_err(SnapError::from)?;
    let digest = s.machine.digest();
    eprintln!(
        "emu: snapshot at icount {at} written to {} ({} RAM pages, state-digest {digest:016x})",
        out.display(),
        snap.pages.len()
    );
    if r.run.digest {
        eprintln!("icount: {at}");
        eprintln!("state-digest: {digest:016x}");
    }
    Ok(RunReport {
        outcome: crate::machine::Outcome::Quit,
        icount: at,
        digest,
        virtual_ns: s.machine.board.clock.now(at),
    })
}

/// Builds the machine for `r` with the power-on-only door, its serial
/// output hashed. Returns the machine, hash, facts and the disk receiver.
fn machine_for_snapshot(
    a: &RunArgs,
    out: Box<dyn Write>,
) -> Result<
    (
        Machine,
        OutputHash,
        MachineFacts,
        crossbeam_channel::Receiver<HostEvent>,
    ),
    CliError,
> {
    let cfg = cli::machine_config(a)?;
    let (tx, rx) = crossbeam_channel::unbounded::<HostEvent>();
    let (setup, _, _) = cli::virtio_setup(a, &cfg, true, &tx)?;
    drop(tx);
    let facts = cli::machine_facts(a, &cfg)?;
    let (out, hash) = session::OutputHasher::wrap(out);
    let mut m = Machine::new(&cfg, Box::new(PowerOnOnly), out, setup)?;
    m.set_trap_marks(true);
    m.set_trace(a.trace);
    Ok((m, hash, facts, rx))
}

/// Replays `r.log` from snapshot file `snap`, to the end of the log.
fn replay_from_snapshot(r: &RrArgs, snap_path: &Path) -> Result<RunReport, CliError> {
    // Parse and verify the whole file before any machine exists.
    let snap = SnapshotFile::read(snap_path).map_err(SnapError::from)?;
    let side = MachineFacts::side_file(&r.log);
    let recorded = MachineFacts::read(&side).ok();
    let out = serial::output(&r.run.serial)?;
    let (mut m, hash, facts, rx) = machine_for_snapshot(&r.run, out)?;
    if let (Some(rec), false) = (&recorded, r.ignore_config) {
        let mut config = MachineFacts::new();
        for k in rec.keys().filter(|k| !k.starts_with("start.")) {
            config.set(k, rec.get(k).unwrap_or(""));
        }
        let mismatches: Vec<String> = config
            .compare(&facts)
            .iter()
            .map(|m| m.to_string())
            .collect();
        if !mismatches.is_empty() {
            return Err(RrError::Mismatch {
                path: r.log.clone(),
                mismatches,
            }
            .into());
        }
    }
    let mapped = log_bytes(&r.log)?;
    let file_err = |defect| {
        CliError::from(SnapError::File(SnapshotFileError {
            path: snap_path.to_path_buf(),
            defect,
        }))
    };
    snap.check(&facts, mapped.bytes()).map_err(file_err)?;
    let door = session::replay_door(mapped, &r.log, Some(rx))?;
    m.board.replace_nondet(door);
    snap.apply(&mut m).map_err(file_err)?;
    let outcome = m.run();
    let end_icount = m.icount();
    let closed = m.board.nondet().finish(end_icount);
    let outcome = outcome?;
    closed.map_err(crate::machine::MachineError::from)?;
    let digest = m.digest();
    let report = RunReport {
        outcome,
        icount: end_icount,
        digest,
        virtual_ns: m.board.clock.now(end_icount),
    };
    // A cut's or continuation's side file holds its own end (its console
    // output counts from the snapshot); a snapshot of a full recording
    // compares icount and digest only.
    if let Some(rec) = &recorded {
        let starts_here = rec.get(START_SNAPSHOT).is_some() && r.snap.from_snapshot.is_none();
        let mut differences = Vec::new();
        let mut cmp = |key: &str, now: String| {
            if let Some(was) = rec.get(key) {
                if was != now {
                    differences.push(format!("{}: recorded {was}, replayed {now}", &key[7..]));
                }
            }
        };
        cmp("result.icount", end_icount.to_string());
        cmp("result.state-digest", format!("{digest:016x}"));
        if starts_here {
            cmp("result.serial-sha256", hash.hex());
        }
        if !differences.is_empty() {
            return Err(RrError::EndState {
                path: r.log.clone(),
                differences,
            }
            .into());
        }
    }
    if r.run.digest {
        eprintln!("icount: {end_icount}");
        eprintln!("state-digest: {digest:016x}");
    }
    Ok(report)
}

/// Where a recording that starts from a snapshot resumes its own log:
/// right after its CP_INIT, at the snapshot's icount.
fn start_position(log: &[u8], icount: u64) -> Result<ReplayPosition, String> {
    let mut reader = logfmt::Reader::new(log).map_err(|e| e.to_string())?;
    match reader.next() {
        Some(Ok(rec)) if rec.event == logfmt::Event::Checkpoint(logfmt::Checkpoint::Init) => {}
        _ => return Err("the log does not start with CP_INIT".into()),
    }
    Ok(ReplayPosition {
        offset: reader.position(),
        index: reader.next_index(),
        icount: logfmt::Icount(icount),
    })
}

/// `snap`, re-aimed at a new log that starts at its icount (a cut or a
/// recorded continuation), written beside that log.
fn write_start_snapshot(mut snap: SnapshotFile, log: &Path) -> Result<PathBuf, CliError> {
    let bytes = std::fs::read(log).map_err(|e| SnapError::Io {
        path: log.to_path_buf(),
        what: e.to_string(),
    })?;
    let pos = start_position(&bytes, snap.icount).map_err(|what| SnapError::Log {
        log: log.to_path_buf(),
        what,
    })?;
    snap.position = pos;
    snap.state.replay = Some(pos);
    snap.log_prefix_sha256 = super::file::sha256_hex(&bytes[..pos.offset.0 as usize]);
    snap.log_sha256 = Some(super::file::sha256_hex(&bytes));
    let path = snapshot_path_for(log);
    snap.write(&path).map_err(SnapError::from)?;
    Ok(path)
}

/// The side file of a recording that starts from `snap_path` at `start`
/// and ended as `end` says.
fn write_start_side_file(
    facts: &MachineFacts,
    log: &Path,
    snap_path: &Path,
    start: u64,
    end: &session::RunEnd,
) -> Result<(), CliError> {
    let mut f = facts.clone();
    let name = snap_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    f.set(START_SNAPSHOT, name);
    f.set(START_ICOUNT, start);
    f.set("result.icount", end.icount);
    f.set("result.state-digest", format!("{:016x}", end.digest));
    f.set("result.serial-sha256", &end.serial_sha256);
    f.write(&MachineFacts::side_file(log))
        .map_err(|e| CliError::Rr(RrError::Facts(e)))
}

/// `emu cut --log L --from I1 --to I2 -o OUT`.
pub fn cut(c: &CutArgs) -> Result<RunReport, CliError> {
    if c.to <= c.from {
        return Err(
            SnapError::Usage(format!("--to {} must be after --from {}", c.to, c.from)).into(),
        );
    }
    if c.output == c.log {
        return Err(SnapError::Usage("the cut would overwrite its input".into()).into());
    }
    let mut s = replay_machine(
        &c.run,
        &c.log,
        c.ignore_config,
        Some(Box::new(std::io::sink())),
    )?;
    replay_to(&c.log, &mut s.machine, c.from)?;
    let mapped = log_bytes(&c.log)?;
    let capture_err = |icount, what| SnapError::Capture {
        log: c.log.clone(),
        icount,
        what,
    };
    let snap = SnapshotFile::capture(&mut s.machine, &s.facts, mapped.bytes())
        .map_err(|w| capture_err(c.from, w))?;
    // The cut's console output counts from its start.
    s.serial_hash.restore(&Default::default());
    replay_to(&c.log, &mut s.machine, c.to)?;
    let end = s
        .machine
        .board
        .nondet()
        .replay_position()
        .ok_or_else(|| capture_err(c.to, "the log position is unknown".into()))?;
    let digest = s.machine.digest();
    let reader = mapped.reader().map_err(|e| SnapError::Log {
        log: c.log.clone(),
        what: e.to_string(),
    })?;
    let bytes = cut_log(&reader, snap.position, end.offset, c.from, c.to).map_err(|what| {
        SnapError::Log {
            log: c.log.clone(),
            what,
        }
    })?;
    let io = |e: std::io::Error| SnapError::Io {
        path: c.output.clone(),
        what: e.to_string(),
    };
    super::file::write_atomically(&c.output, &bytes).map_err(io)?;
    let snap_path = write_start_snapshot(snap, &c.output)?;
    let run_end = session::RunEnd {
        icount: c.to,
        digest,
        serial_sha256: s.serial_hash.hex(),
    };
    write_start_side_file(&s.facts, &c.output, &snap_path, c.from, &run_end)?;
    eprintln!(
        "emu: cut icount {}..{} of {} into {} ({} bytes), {} and {}",
        c.from,
        c.to,
        c.log.display(),
        c.output.display(),
        bytes.len(),
        snap_path.display(),
        MachineFacts::side_file(&c.output).display()
    );
    if c.run.digest {
        eprintln!("icount: {}", c.to);
        eprintln!("state-digest: {digest:016x}");
    }
    Ok(RunReport {
        outcome: crate::machine::Outcome::Quit,
        icount: c.to,
        digest,
        virtual_ns: s.machine.board.clock.now(c.to),
    })
}

/// The bytes of a log holding the events of `reader`'s log from `start`
/// (the replay's position at icount `from`) up to `end` (its position at
/// `to`), with the INSTRUCTION counts re-derived so that a reader started
/// at icount `from` after the leading CP_INIT sees every event at its
/// original icount, and closed as a recording stopped at `to` is.
fn cut_log(
    reader: &logfmt::Reader<'_>,
    start: ReplayPosition,
    end: logfmt::ByteOffset,
    from: u64,
    to: u64,
) -> Result<Vec<u8>, String> {
    use logfmt::{Checkpoint, Event, ShutdownCause, Writer};
    let mut w = Writer::new(Vec::new(), reader.version())
        .map_err(|e| e.to_string())?
        .strict(true);
    let put = |w: &mut Writer<Vec<u8>>, e: &Event| w.write(e).map_err(|e| e.to_string());
    put(&mut w, &Event::Checkpoint(Checkpoint::Init))?;
    let mut at = from;
    let instructions = |w: &mut Writer<Vec<u8>>, upto: u64, at: &mut u64| -> Result<(), String> {
        let mut delta = upto
            .checked_sub(*at)
            .ok_or_else(|| format!("event at icount {upto} before icount {at}"))?;
        while delta > 0 {
            let chunk = delta.min(u32::MAX as u64);
            w.write(&Event::Instruction(chunk as u32))
                .map_err(|e| e.to_string())?;
            delta -= chunk;
            *at += chunk;
            if delta > 0 {
                w.write(&Event::Checkpoint(Checkpoint::ClockVirtual))
                    .map_err(|e| e.to_string())?;
            }
        }
        Ok(())
    };
    let events = reader
        .resume(start.offset, start.index, start.icount)
        .ok_or("the snapshot's log position is outside the log")?;
    for rec in events {
        let rec = rec.map_err(|e| e.to_string())?;
        if rec.offset >= end {
            break;
        }
        match rec.event {
            Event::Instruction(_) | Event::Checkpoint(Checkpoint::ClockVirtual) => {}
            Event::End => return Err("the log ends inside the cut".into()),
            e => {
                instructions(&mut w, rec.icount.0, &mut at)?;
                put(&mut w, &e)?;
            }
        }
    }
    instructions(&mut w, to, &mut at)?;
    put(&mut w, &Event::Shutdown(ShutdownCause::HostSignal))?;
    put(&mut w, &Event::End)?;
    w.finish().map_err(|e| e.to_string())
}

/// `emu replay --live-at ICOUNT [--record-to NEW]`: replay to ICOUNT, then
/// run on with the host's input, clock and randomness.
fn live_at(r: &RrArgs, at: u64, record_to: Option<&Path>) -> Result<RunReport, CliError> {
    if r.run.gdb.options()?.is_some() {
        return Err(SnapError::Usage("--live-at does not take a debugger".into()).into());
    }
    let (tx, rx) = crossbeam_channel::unbounded::<HostEvent>();
    let mut sources = Vec::new();
    let mut out = serial::output(&r.run.serial)?;
    if let Some(path) = &r.run.serial_script {
        // The script reads the whole console; what it types waits in the
        // channel until the run goes live.
        let steps = crate::host::script::load(path)?;
        out = crate::host::script::spawn(steps, out, tx.clone()).map_err(CliError::Stdin)?;
        sources.push(crate::machine::HostSource::Serial);
    }
    let mut s = replay_machine(&r.run, &r.log, r.ignore_config, Some(out))?;
    replay_to(&r.log, &mut s.machine, at)?;
    let snap = match record_to {
        Some(_) => {
            let mapped = log_bytes(&r.log)?;
            Some(
                SnapshotFile::capture(&mut s.machine, &s.facts, mapped.bytes()).map_err(
                    |what| SnapError::Capture {
                        log: r.log.clone(),
                        icount: at,
                        what,
                    },
                )?,
            )
        }
        None => None,
    };
    let _raw = if r.run.serial == serial::SerialConfig::Stdio && r.run.serial_script.is_none() {
        serial::spawn_stdin(tx.clone()).map_err(CliError::Stdin)?;
        sources.push(crate::machine::HostSource::Serial);
        Some(serial::RawModeGuard::enable())
    } else {
        None
    };
    crate::host::signals::watch(tx.clone()).map_err(CliError::Signals)?;
    // The disk thread reports to the live door from here; the completions
    // the replay had read ahead reach the guest at the first poll (and a
    // recording logs them then).
    let read_ahead = s
        .machine
        .board
        .hand_disk_over(tx.clone())
        .map_err(crate::machine::MachineError::from)?;
    if s.machine.board.has_disk() {
        sources.push(crate::machine::HostSource::Disk);
    }
    // The replay's NIC transmitted into nothing; live, it gets a fresh
    // user-network backend (a new NAT: connections of the recorded part
    // do not carry over, the guest's address and routes do).
    let _net = cli::live_network(&r.run, &tx)?;
    if let Some(backend) = &_net {
        if s.machine
            .board
            .connect_nic(crate::host::net::transmit_to(backend))
        {
            sources.push(crate::machine::HostSource::Net);
        }
    }
    drop(tx);
    let mut live = Live::new(Some(rx), sources);
    for done in read_ahead {
        live.queue(AsyncInput::BlockDone(done));
    }
    let door: Box<dyn Nondet> = match record_to {
        Some(new) => {
            if new == r.log {
                return Err(SnapError::Usage(
                    "--record-to would overwrite the log being replayed".into(),
                )
                .into());
            }
            let file = std::fs::File::create(new).map_err(|e| SnapError::Io {
                path: new.to_path_buf(),
                what: e.to_string(),
            })?;
            let version = logfmt::Version::E0200c(logfmt::Numbering::Qemu7_2);
            let rec = crate::replay::Recorder::new(live, std::io::BufWriter::new(file), version)
                .map_err(crate::machine::MachineError::from)?
                .starting_at(at);
            Box::new(rec)
        }
        None => Box::new(live),
    };
    // The continuation's console output counts from here.
    s.serial_hash.restore(&Default::default());
    s.machine.board.replace_nondet(door);
    s.machine.set_trap_marks(record_to.is_some());
    eprintln!("emu: live from icount {at}");
    let outcome = s.machine.run();
    crate::host::signals::unwatch();
    drop(_raw);
    let end_icount = s.machine.icount();
    let closed = s.machine.board.nondet().finish(end_icount);
    let outcome = outcome?;
    closed.map_err(crate::machine::MachineError::from)?;
    let digest = s.machine.digest();
    if let (Some(new), Some(snap)) = (record_to, snap) {
        let snap_path = write_start_snapshot(snap, new)?;
        let end = session::RunEnd {
            icount: end_icount,
            digest,
            serial_sha256: s.serial_hash.hex(),
        };
        write_start_side_file(&s.facts, new, &snap_path, at, &end)?;
    }
    if r.run.digest {
        eprintln!("icount: {end_icount}");
        eprintln!("state-digest: {digest:016x}");
    }
    Ok(RunReport {
        outcome,
        icount: end_icount,
        digest,
        virtual_ns: s.machine.board.clock.now(end_icount),
    })
}
