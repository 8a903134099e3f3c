//! The board's state as plain data, for snapshots: every device's
//! `save_state`, the interrupt levels, virtual time's warp bias and the
//! serial input not yet taken by the UART. Host handles (the door, the
//! serial writer, the disk thread) are not state: they stay with the board
//! (the disk thread's overlay is saved apart, board/disk.rs).

use super::{Board, StopReason};
use crate::devices::aclint::AclintState;
use crate::devices::fw_cfg::FwCfgState;
use crate::devices::goldfish_rtc::RtcState;
use crate::devices::pflash::PFlashState;
use crate::devices::plic::PlicState;
use crate::devices::sifive_test::TestRequest;
use crate::devices::uart::UartState;
use crate::devices::virtio::mmio::VirtioMmioState;
use crate::devices::StateError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardState {
    pub test: Option<TestRequest>,
    pub rtc: RtcState,
    pub clint: AclintState,
    pub plic: PlicState,
    pub uart: UartState,
    pub virtio: Vec<VirtioMmioState>,
    pub flash: Vec<PFlashState>,
    pub ecam: [u8; 256],
    pub fw_cfg: FwCfgState,
    /// Device interrupt line levels (bit n = PLIC source n).
    pub irq_levels: u128,
    pub warp_bias: u64,
    /// mip bits from the ACLINT and PLIC as last computed.
    pub lines: u64,
    pub serial_backlog: Vec<u8>,
    pub stop: Option<StopReason>,
    pub resched: bool,
}

impl Board {
    /// The board's state, or why it cannot be saved now (a door failure
    /// is waiting to be reported).
    pub fn save_state(&self) -> Result<BoardState, StateError> {
        if self.error.is_some() || self.stop == Some(StopReason::Error) {
            return Err(StateError::new("board", "a door failure is pending"));
        }
        Ok(BoardState {
            test: self.test.save_state(),
            rtc: self.rtc.save_state(),
            clint: self.clint.save_state(),
            plic: self.plic.save_state(),
            uart: self.uart.save_state(),
            virtio: self.virtio.iter().map(|v| v.save_state()).collect(),
            flash: self.flash.iter().map(|f| f.save_state()).collect(),
            ecam: self.ecam.save_state(),
            fw_cfg: self.fw_cfg.save_state(),
            irq_levels: self.levels.bits(),
            warp_bias: self.clock.warp_bias(),
            lines: self.lines,
            serial_backlog: self.serial_backlog.iter().copied().collect(),
            stop: self.stop,
            resched: self.resched,
        })
    }

    /// Puts every device back into `s`. A state that does not fit this
    /// board (slot count, device kinds, bad values) is refused; the checks
    /// that can fail run on copies first, so a refusal changes nothing.
    pub fn restore_state(&mut self, s: &BoardState) -> Result<(), StateError> {
        if s.virtio.len() != self.virtio.len() || s.flash.len() != self.flash.len() {
            return Err(StateError::new(
                "board",
                format!(
                    "{} virtio slots and {} flash banks, this board has {} and {}",
                    s.virtio.len(),
                    s.flash.len(),
                    self.virtio.len(),
                    self.flash.len()
                ),
            ));
        }
        if matches!(s.stop, Some(StopReason::Error)) {
            return Err(StateError::new(
                "board",
                "saved with a door failure pending",
            ));
        }
        // Validate everything that can refuse before changing anything:
        // the fallible restores are tried on scratch devices of the same kind.
        let mut plic = crate::devices::plic::Plic::new();
        plic.restore_state(&s.plic)?;
        let mut uart = crate::devices::uart::Uart::new(crate::devices::IrqLine::new(
            &crate::devices::IrqLevels::new(),
            1,
        ));
        uart.restore_state(&s.uart)?;
        let mut fw = self.fw_cfg.clone();
        fw.restore_state(&s.fw_cfg)?;
        let mut flash = [
            crate::devices::pflash::PFlash::new(),
            crate::devices::pflash::PFlash::new(),
        ];
        for (f, st) in flash.iter_mut().zip(&s.flash) {
            f.restore_state(st)?;
        }
        // virtio: each slot validates before it changes (VirtioMmio::restore_state).
        let old: Vec<_> = self.virtio.iter().map(|v| v.save_state()).collect();
        for (i, (v, st)) in self.virtio.iter_mut().zip(&s.virtio).enumerate() {
            if let Err(e) = v.restore_state(st) {
                for (w, o) in self.virtio.iter_mut().zip(&old).take(i) {
                    // Slots already restored go back; their old state fits them.
                    let _ = w.restore_state(o);
                }
                return Err(e);
            }
        }
        self.plic = plic;
        self.uart.restore_state(&s.uart)?;
        self.fw_cfg = fw;
        self.flash = flash;
        self.test.restore_state(s.test);
        self.rtc.restore_state(&s.rtc);
        self.clint.restore_state(&s.clint);
        self.ecam.restore_state(&s.ecam);
        self.levels.restore_bits(s.irq_levels);
        self.clock = crate::machine::clock::VirtualClock::new(self.clock.shift());
        self.clock.warp(s.warp_bias);
        self.lines = s.lines;
        self.serial_backlog = s.serial_backlog.iter().copied().collect();
        self.stop = s.stop;
        self.resched = s.resched;
        self.error = None;
        Ok(())
    }

    /// Swaps the non-determinism door (a snapshot taken in replay goes on
    /// live, or a machine built for a snapshot gets its replayer). Returns
    /// the old door.
    pub fn replace_nondet(
        &mut self,
        door: Box<dyn crate::machine::nondet::Nondet>,
    ) -> Box<dyn crate::machine::nondet::Nondet> {
        std::mem::replace(&mut self.nondet, door)
    }

    /// Whether the board has a disk (snapshots save its overlay apart,
    /// see board/disk.rs).
    pub fn has_disk(&self) -> bool {
        self.disk.is_some()
    }
}
