//! The machine's state as plain data, RAM aside (the snapshot module keeps
//! RAM as pages): the hart, the board, the device-tree seed a guest reset
//! reuses, and where the replaying door stands in its log.

use super::Machine;
use crate::cpu::HartState;
use crate::devices::StateError;
use crate::machine::board::BoardState;
use crate::machine::nondet::ReplayPosition;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineState {
    pub hart: HartState,
    pub board: BoardState,
    /// The device tree's rng-seed (rewritten into RAM at a guest reset).
    pub rng_seed: [u8; 32],
    /// The replay's place in its log; `None` outside replay.
    pub replay: Option<ReplayPosition>,
}

impl Machine {
    /// Everything but RAM, between two `run_until` calls.
    pub fn save_state(&mut self) -> Result<MachineState, StateError> {
        let board = self.board.save_state()?;
        let replay = self.board.nondet().replay_position();
        Ok(MachineState {
            hart: self.hart.state(),
            board,
            rng_seed: self.dt.rng_seed,
            replay,
        })
    }

    /// Puts the hart and the board back into `s` (RAM is the caller's).
    /// The replay position is not applied here: the caller positions the
    /// door it gives the machine (`Nondet::seek_replay`).
    pub fn restore_state(&mut self, s: &MachineState) -> Result<(), StateError> {
        let mut hart_check = crate::cpu::Hart::new(self.hart.config());
        hart_check.restore_state(&s.hart)?;
        self.board.restore_state(&s.board)?;
        self.hart.restore_state(&s.hart)?;
        self.dt.rng_seed = s.rng_seed;
        // The hart's caches were flushed; RAM's decoded-page marks go too.
        self.board.ram.invalidate_all_code();
        Ok(())
    }
}
