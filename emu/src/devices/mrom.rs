//! The boot ROM at 0x1000 with QEMU's reset vector
//! (`riscv_setup_rom_reset_vec`): it loads a0 = mhartid, a1 = the FDT
//! address, a2 = the fw_dynamic_info address, and jumps to the firmware.
//! The fw_dynamic_info block (OpenSBI's `struct fw_dynamic_info`) follows
//! the jump table so fw_dynamic knows where the next stage is.

use super::MmioDevice;
use crate::bus::BusFault;

pub const MROM_BASE: u64 = 0x1000;
pub const MROM_SIZE: u64 = 0xf000;

/// "OSBI" in little-endian.
const FW_DYNAMIC_INFO_MAGIC: u64 = 0x4942_534f;
const FW_DYNAMIC_INFO_VERSION: u64 = 2;
/// Next stage in S-mode.
const FW_DYNAMIC_INFO_NEXT_MODE_S: u64 = 1;

/// The reset vector instructions (RV64): the same words QEMU places.
const RESET_VEC: [u32; 6] = [
    0x0000_0297, // 1: auipc  t0, %pcrel_hi(fw_dyn)
    0x0282_8613, //    addi   a2, t0, %pcrel_lo(1b)
    0xf140_2573, //    csrr   a0, mhartid
    0x0202_b583, //    ld     a1, 32(t0)
    0x0182_b283, //    ld     t0, 24(t0)
    0x0002_8067, //    jr     t0
];

pub struct Mrom {
    bytes: Vec<u8>,
}

impl Mrom {
    /// Builds the ROM: reset vector, start address, FDT address, then
    /// fw_dynamic_info with `next_addr` (0 when there is no kernel).
    pub fn new(start_addr: u64, fdt_addr: u64, next_addr: u64) -> Self {
        let mut b = Vec::with_capacity(MROM_SIZE as usize);
        for w in RESET_VEC {
            b.extend_from_slice(&w.to_le_bytes());
        }
        b.extend_from_slice(&start_addr.to_le_bytes());
        b.extend_from_slice(&fdt_addr.to_le_bytes());
        for v in [
            FW_DYNAMIC_INFO_MAGIC,
            FW_DYNAMIC_INFO_VERSION,
            next_addr,
            FW_DYNAMIC_INFO_NEXT_MODE_S,
            0,
            0,
        ] {
            b.extend_from_slice(&v.to_le_bytes());
        }
        b.resize(MROM_SIZE as usize, 0);
        Mrom { bytes: b }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl MmioDevice for Mrom {
    fn read(&mut self, off: u64, size: u8) -> Result<u64, BusFault> {
        let end = off.checked_add(size as u64).ok_or(BusFault::Unmapped)?;
        let s = self
            .bytes
            .get(off as usize..end as usize)
            .ok_or(BusFault::Unmapped)?;
        Ok(s.iter().rev().fold(0u64, |acc, &b| acc << 8 | b as u64))
    }
    /// ROM: writes are ignored (QEMU's ROM regions drop them).
    fn write(&mut self, _off: u64, _size: u8, _val: u64) -> Result<(), BusFault> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The words U-Boot's `md.l 0x1000 8` printed on QEMU 10.0.2 (M-mode
    /// U-Boot as -bios, no kernel): see rv-uboot-mmode-mincpu-reset.record.txt.
    #[test]
    fn matches_qemu_md_dump() {
        let mut m = Mrom::new(0x8000_0000, 0x87e0_0000, 0);
        let words: Vec<u64> = (0..8).map(|i| m.read(i * 4, 4).unwrap()).collect();
        assert_eq!(
            words,
            vec![
                0x00000297, 0x02828613, 0xf1402573, 0x0202b583, 0x0182b283, 0x00028067, 0x80000000,
                0
            ]
        );
        assert_eq!(m.read(32, 8).unwrap(), 0x87e0_0000);
        assert_eq!(m.read(40, 4).unwrap(), 0x4942_534f);
        assert!(m.read(MROM_SIZE, 4).is_err());
    }
}
