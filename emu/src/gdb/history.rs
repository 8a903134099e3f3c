//! Where the debugged machine comes from when gdb goes backwards.
//!
//! The reverse engine ([`super::engine`]) needs only to put the machine
//! back at a *checkpoint* (an icount it can restore cheaply, power-on
//! always being one) and runs forward from there itself, so it can watch
//! for breakpoints and Ctrl-C on the way. A [`History`] provides the
//! checkpoints:
//!
//! - [`Snapshots`]: the snapshots of a [`Timeline`], taken as the replay
//!   runs forward (every 20 M instructions to start with, thinned to a
//!   logarithmic spread under a memory budget; each holds the drive's
//!   written sectors and the completions of its requests in flight);
//! - [`Rerun`]: no snapshots (a machine the snapshots do not cover: a
//!   drive opened with `snapshot=off`, whose writes go to the image file);
//!   the only checkpoint is power-on, rebuilt by replaying the log from
//!   the start;
//! - [`Live`]: a live run has no history at all.

use super::output::OutputPosition;
use super::GdbError;
use crate::machine::Machine;
use crate::replay::session::OutputHash;
use crate::snapshot::{HostSideState, SnapshotBudget, Timeline};

/// One checkpoint: its icount and the memory it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointInfo {
    pub icount: u64,
    pub bytes: usize,
}

pub trait History {
    fn machine(&self) -> &Machine;
    fn machine_mut(&mut self) -> &mut Machine;
    /// Whether the machine replays a log (reverse execution possible).
    fn is_replay(&self) -> bool;
    /// The latest checkpoint strictly before `icount` (0, power-on, for
    /// any `icount` > 0).
    fn checkpoint_before(&self, icount: u64) -> u64;
    /// Puts the machine at checkpoint `icount` (an answer of
    /// [`checkpoint_before`](Self::checkpoint_before)).
    fn restore(&mut self, icount: u64) -> Result<(), GdbError>;
    /// Called between chunks of a forward run: keeps a checkpoint if one
    /// is due here.
    fn maybe_checkpoint(&mut self) -> Result<(), GdbError>;
    /// The checkpoints kept, oldest first.
    fn checkpoints(&self) -> Vec<CheckpointInfo>;
    /// Bytes the checkpoints use in all.
    fn memory_used(&self) -> usize;
    /// The machine and the hash of its serial output, at the session's end.
    fn into_parts(self: Box<Self>) -> (Machine, OutputHash);
}

/// Builds the machine again from power-on (replay: a fresh replayer over
/// the same log), with a fresh serial hash.
pub type Rebuild<'a> = Box<dyn FnMut() -> Result<(Machine, OutputHash), GdbError> + 'a>;

/// A replay with a snapshot series.
pub struct Snapshots {
    timeline: Timeline,
    serial_hash: OutputHash,
    position: Option<OutputPosition>,
    /// The console hash at power-on: the timeline's base snapshot, taken
    /// before the host-side states were tracked, does not hold them.
    start_hash: sha2::Sha256,
}

impl Snapshots {
    /// A timeline over `machine` (a replay at power-on); `Err` gives the
    /// machine back, with the reason, when it cannot be snapshotted.
    #[allow(clippy::result_large_err)]
    pub fn new(
        machine: Machine,
        serial_hash: OutputHash,
        position: Option<OutputPosition>,
        budget: SnapshotBudget,
    ) -> Result<Self, (Machine, String)> {
        let mut timeline = Timeline::new(machine, budget);
        // A timeline that cannot snapshot says so on its first use.
        if let Err(e) = timeline.maybe_snapshot() {
            return Err((timeline.into_machine(), e.to_string()));
        }
        timeline.track(Box::new(serial_hash.clone()));
        if let Some(p) = &position {
            timeline.track(Box::new(p.clone()));
        }
        Ok(Snapshots {
            start_hash: serial_hash.save(),
            timeline,
            serial_hash,
            position,
        })
    }

    fn base(&self) -> u64 {
        self.timeline.snapshots().first().map_or(0, |s| s.icount)
    }
}

impl History for Snapshots {
    fn machine(&self) -> &Machine {
        self.timeline.machine()
    }
    fn machine_mut(&mut self) -> &mut Machine {
        self.timeline.machine_mut()
    }
    fn is_replay(&self) -> bool {
        true
    }
    fn checkpoint_before(&self, icount: u64) -> u64 {
        self.timeline.snapshot_before(icount).unwrap_or(0)
    }
    fn restore(&mut self, icount: u64) -> Result<(), GdbError> {
        self.timeline.seek(icount)?;
        if icount == self.base() {
            self.serial_hash.restore(&self.start_hash);
            if let Some(p) = &mut self.position {
                p.restore(&0u64);
            }
        }
        Ok(())
    }
    fn maybe_checkpoint(&mut self) -> Result<(), GdbError> {
        Ok(self.timeline.maybe_snapshot()?)
    }
    fn checkpoints(&self) -> Vec<CheckpointInfo> {
        self.timeline
            .snapshots()
            .iter()
            .map(|s| CheckpointInfo {
                icount: s.icount,
                bytes: s.bytes,
            })
            .collect()
    }
    fn memory_used(&self) -> usize {
        self.timeline.memory_used()
    }
    fn into_parts(self: Box<Self>) -> (Machine, OutputHash) {
        (self.timeline.into_machine(), self.serial_hash)
    }
}

/// A replay whose only checkpoint is power-on.
pub struct Rerun<'a> {
    machine: Machine,
    serial_hash: OutputHash,
    rebuild: Rebuild<'a>,
}

impl<'a> Rerun<'a> {
    pub fn new(machine: Machine, serial_hash: OutputHash, rebuild: Rebuild<'a>) -> Self {
        Rerun {
            machine,
            serial_hash,
            rebuild,
        }
    }
}

impl History for Rerun<'_> {
    fn machine(&self) -> &Machine {
        &self.machine
    }
    fn machine_mut(&mut self) -> &mut Machine {
        &mut self.machine
    }
    fn is_replay(&self) -> bool {
        true
    }
    fn checkpoint_before(&self, _icount: u64) -> u64 {
        0
    }
    fn restore(&mut self, icount: u64) -> Result<(), GdbError> {
        debug_assert_eq!(icount, 0, "power-on is the only checkpoint");
        let (machine, hash) = (self.rebuild)()?;
        self.machine = machine;
        self.serial_hash = hash;
        Ok(())
    }
    fn maybe_checkpoint(&mut self) -> Result<(), GdbError> {
        Ok(())
    }
    fn checkpoints(&self) -> Vec<CheckpointInfo> {
        Vec::new()
    }
    fn memory_used(&self) -> usize {
        0
    }
    fn into_parts(self: Box<Self>) -> (Machine, OutputHash) {
        (self.machine, self.serial_hash)
    }
}

/// A live run: the machine, no way back.
pub struct Live {
    machine: Machine,
    serial_hash: OutputHash,
}

impl Live {
    pub fn new(machine: Machine, serial_hash: OutputHash) -> Self {
        Live {
            machine,
            serial_hash,
        }
    }
}

impl History for Live {
    fn machine(&self) -> &Machine {
        &self.machine
    }
    fn machine_mut(&mut self) -> &mut Machine {
        &mut self.machine
    }
    fn is_replay(&self) -> bool {
        false
    }
    fn checkpoint_before(&self, _icount: u64) -> u64 {
        0
    }
    fn restore(&mut self, _icount: u64) -> Result<(), GdbError> {
        Err(GdbError::NotReplay)
    }
    fn maybe_checkpoint(&mut self) -> Result<(), GdbError> {
        Ok(())
    }
    fn checkpoints(&self) -> Vec<CheckpointInfo> {
        Vec::new()
    }
    fn memory_used(&self) -> usize {
        0
    }
    fn into_parts(self: Box<Self>) -> (Machine, OutputHash) {
        (self.machine, self.serial_hash)
    }
}

/// The history of a replay under gdb: snapshots where the machine allows
/// them, else re-running from power-on (said on stderr).
pub fn for_replay<'a>(
    machine: Machine,
    serial_hash: OutputHash,
    position: Option<OutputPosition>,
    rebuild: Rebuild<'a>,
    budget: SnapshotBudget,
) -> Box<dyn History + 'a> {
    match Snapshots::new(machine, serial_hash.clone(), position, budget) {
        Ok(s) => Box::new(s),
        Err((machine, why)) => {
            eprintln!("emu: {why}; reverse execution replays from power-on instead");
            Box::new(Rerun::new(machine, serial_hash, rebuild))
        }
    }
}
