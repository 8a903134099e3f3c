//! PCIe ECAM window of QEMU's generic host (gpex) with nothing plugged in
//! but the host bridge itself at 00:00.0 (`gpex-root`, 1b36:0008). U-Boot
//! enumerates the bus at boot; every other function reads as all ones.

use super::MmioDevice;
use crate::bus::BusFault;

pub const ECAM_SIZE: u64 = 0x1000_0000;

const VENDOR_REDHAT: u16 = 0x1b36;
const DEVICE_PCIE_HOST: u16 = 0x0008;
const CLASS_BRIDGE_HOST: u16 = 0x0600;
/// QEMU's default subsystem ids.
const SUBSYS_VENDOR: u16 = 0x1af4;
const SUBSYS_ID: u16 = 0x1100;

const PCI_COMMAND: usize = 0x04;
const PCI_CACHE_LINE_SIZE: usize = 0x0c;
const PCI_INTERRUPT_LINE: usize = 0x3c;
/// Command bits QEMU lets the guest set (IO, MEM, MASTER, SERR, INTX_DISABLE, ...).
const COMMAND_WMASK: u16 = 0x0547;

pub struct PciEcam {
    /// Config space of the host bridge (256 bytes is all gpex-root has).
    cfg: [u8; 256],
}

impl Default for PciEcam {
    fn default() -> Self {
        Self::new()
    }
}

impl PciEcam {
    /// The host bridge's config space (snapshots).
    pub fn save_state(&self) -> [u8; 256] {
        self.cfg
    }
    pub fn restore_state(&mut self, cfg: &[u8; 256]) {
        self.cfg = *cfg;
    }

    pub fn new() -> Self {
        let mut cfg = [0u8; 256];
        cfg[0..2].copy_from_slice(&VENDOR_REDHAT.to_le_bytes());
        cfg[2..4].copy_from_slice(&DEVICE_PCIE_HOST.to_le_bytes());
        cfg[0x0a..0x0c].copy_from_slice(&CLASS_BRIDGE_HOST.to_le_bytes());
        cfg[0x2c..0x2e].copy_from_slice(&SUBSYS_VENDOR.to_le_bytes());
        cfg[0x2e..0x30].copy_from_slice(&SUBSYS_ID.to_le_bytes());
        PciEcam { cfg }
    }

    pub fn digest_state(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.cfg);
    }
}

/// (bus, device, function) of the host bridge, or None.
fn bridge_reg(off: u64) -> Option<usize> {
    let bdf = off >> 12;
    let reg = (off & 0xfff) as usize;
    (bdf == 0 && reg < 256).then_some(reg)
}

impl MmioDevice for PciEcam {
    fn read(&mut self, off: u64, size: u8) -> Result<u64, BusFault> {
        let ones = if size >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * size)) - 1
        };
        let Some(reg) = bridge_reg(off) else {
            return Ok(ones);
        };
        if off >> 12 == 0 && (off & 0xfff) >= 256 {
            return Ok(0);
        }
        let v = (0..size as usize).fold(0u64, |acc, i| {
            acc | (self.cfg.get(reg + i).copied().unwrap_or(0) as u64) << (8 * i)
        });
        Ok(v)
    }

    fn write(&mut self, off: u64, size: u8, val: u64) -> Result<(), BusFault> {
        let Some(reg) = bridge_reg(off) else {
            return Ok(());
        };
        for i in 0..size as usize {
            let r = reg + i;
            let b = (val >> (8 * i)) as u8;
            match r {
                PCI_COMMAND => self.cfg[r] = b & COMMAND_WMASK as u8,
                0x05 => self.cfg[r] = b & (COMMAND_WMASK >> 8) as u8,
                PCI_CACHE_LINE_SIZE | PCI_INTERRUPT_LINE => self.cfg[r] = b,
                // BARs, ROM and ids: the bridge has no BARs, so nothing sticks.
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_bridge_and_empty_slots() {
        let mut e = PciEcam::new();
        assert_eq!(e.read(0, 4).unwrap(), 0x0008_1b36);
        assert_eq!(e.read(0x0a, 2).unwrap(), 0x0600);
        assert_eq!(e.read(1 << 15, 2).unwrap(), 0xffff, "device 1 is absent");
        assert_eq!(e.read(1 << 20, 4).unwrap(), 0xffff_ffff, "bus 1 is absent");
        e.write(0x10, 4, 0xffff_ffff).unwrap();
        assert_eq!(e.read(0x10, 4).unwrap(), 0, "no BAR0");
        e.write(PCI_COMMAND as u64, 2, 0xffff).unwrap();
        assert_eq!(e.read(PCI_COMMAND as u64, 2).unwrap(), COMMAND_WMASK as u64);
    }
}
