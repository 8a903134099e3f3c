//! Device models of the virt board. Devices never touch the host: the
//! machine pushes host input into them and drains their output.

pub mod aclint;
pub mod fw_cfg;
pub mod goldfish_rtc;
pub mod irq;
pub mod mrom;
pub mod pci_ecam;
pub mod pflash;
pub mod plic;
pub mod sifive_test;
pub mod uart;
pub mod virtio;

pub use irq::{IrqLevels, IrqLine};

use crate::bus::BusFault;

/// A memory-mapped device. `off` is relative to the device's base address;
/// `size` is 1, 2, 4 or 8 bytes.
pub trait MmioDevice {
    fn read(&mut self, off: u64, size: u8) -> Result<u64, BusFault>;
    fn write(&mut self, off: u64, size: u8, val: u64) -> Result<(), BusFault>;
}

/// Appends a device's guest-visible state to `out` in a fixed byte order, for
/// the end-of-run digest (no map iteration, no pointers).
pub trait StateDigest {
    fn digest_state(&self, out: &mut Vec<u8>);
}

/// A saved device state that cannot be this device's (snapshot restore
/// re-validates plain data before it touches the device).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{device}: {what}")]
pub struct StateError {
    pub device: &'static str,
    pub what: String,
}

impl StateError {
    pub fn new(device: &'static str, what: impl Into<String>) -> Self {
        StateError {
            device,
            what: what.into(),
        }
    }
}
