//! The machine's state as plain data, RAM aside (the snapshot module keeps
//! RAM as pages): the hart, the board, the device-tree seed a guest reset
//! reuses, where the replaying door stands in its log, and the drive.

use super::Machine;
use crate::cpu::HartState;
use crate::devices::virtio::DeviceState;
use crate::devices::StateError;
use crate::host::disk::DiskState;
use crate::machine::board::BoardState;
use crate::machine::nondet::{NondetError, ReplayPosition};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineState {
    pub hart: HartState,
    pub board: BoardState,
    /// The device tree's rng-seed (rewritten into RAM at a guest reset).
    pub rng_seed: [u8; 32],
    /// The replay's place in its log; `None` outside replay.
    pub replay: Option<ReplayPosition>,
    /// The drive's overlay and completions in flight; `None` without one.
    pub disk: Option<DiskState>,
}

impl MachineState {
    /// The virtio-blk device's next request id, if there is one.
    fn blk_next_id(&self) -> Option<u64> {
        self.board.virtio.iter().find_map(|v| match &v.device {
            Some(DeviceState::Blk(b)) => Some(b.next_id),
            _ => None,
        })
    }
}

impl Machine {
    /// Everything but RAM, between two `run_until` calls. With a drive,
    /// only a replay can be saved (its door holds the completions in flight).
    pub fn save_state(&mut self) -> Result<MachineState, StateError> {
        // First, so the disk thread's completions are in the door.
        let disk = self.board.save_disk()?;
        let board = self.board.save_state()?;
        let replay = self.board.nondet().replay_position();
        Ok(MachineState {
            hart: self.hart.state(),
            board,
            rng_seed: self.dt.rng_seed,
            replay,
            disk,
        })
    }

    /// Puts the hart and the board back into `s` (RAM is the caller's).
    /// The log position and the drive are not applied here: the caller
    /// gives the machine its door, then calls [`Machine::resume_replay`].
    pub fn restore_state(&mut self, s: &MachineState) -> Result<(), StateError> {
        let mut hart_check = crate::cpu::Hart::new(self.hart.config());
        hart_check.restore_state(&s.hart)?;
        self.board.check_disk(s.disk.as_ref(), s.blk_next_id())?;
        self.board.restore_state(&s.board)?;
        self.hart.restore_state(&s.hart)?;
        self.dt.rng_seed = s.rng_seed;
        // The hart's caches were flushed; RAM's decoded-page marks go too.
        self.board.ram.invalidate_all_code();
        Ok(())
    }

    /// After [`Machine::restore_state`]: puts the replaying door at `s`'s
    /// log position and the drive back into `s`'s overlay and completions.
    pub fn resume_replay(&mut self, s: &MachineState) -> Result<(), NondetError> {
        let pos = s
            .replay
            .ok_or_else(|| NondetError::Engine("the state was not saved in a replay".into()))?;
        self.board.nondet().seek_replay(&pos)?;
        self.board.restore_disk(s.disk.as_ref())
    }
}
