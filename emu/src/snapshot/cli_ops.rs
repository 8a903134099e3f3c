//! The command-line operations built on snapshots: building a replaying
//! machine for a [`Timeline`](super::Timeline), `emu replay --snapshot-at`,
//! `emu cut` and `emu replay --live-at`.

use std::io::Write;
use std::path::Path;

use crate::cli::{self, CliError, RunArgs};
use crate::host::serial;
use crate::machine::{HostEvent, Live, Machine};
use crate::replay::session::{self, OutputHash, RrMode};
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
