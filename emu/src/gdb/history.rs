//! Where the debugged machine comes from when gdb goes backwards.
//!
//! The reverse engine ([`super::engine`]) needs only to put the machine
//! back at a *checkpoint* (an icount it can restore cheaply, power-on
//! always being one) and runs forward from there itself, so it can watch
//! for breakpoints and Ctrl-C on the way. A [`History`] provides the
//! checkpoints:
//!
//! - [`Rerun`]: no snapshots; the only checkpoint is power-on, rebuilt by
//!   replaying the log from the start;
//! - [`Live`]: a live run has no history at all.

use super::GdbError;
use crate::machine::Machine;
use crate::replay::session::OutputHash;

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
    /// The checkpoints kept, oldest first (power-on is not listed).
    fn checkpoints(&self) -> Vec<CheckpointInfo>;
    /// Bytes the checkpoints use in all.
    fn memory_used(&self) -> usize;
    /// The machine and the hash of its serial output, at the session's end.
    fn into_parts(self: Box<Self>) -> (Machine, OutputHash);
}

/// Builds the machine again from power-on (replay: a fresh replayer over
/// the same log), with a fresh serial hash.
pub type Rebuild<'a> = Box<dyn FnMut() -> Result<(Machine, OutputHash), GdbError> + 'a>;

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
