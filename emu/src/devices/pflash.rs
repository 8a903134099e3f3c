//! CFI parallel flash with the Intel command set, as QEMU's `cfi.pflash01`
//! on the virt board: two banks of 32 MiB, 256 KiB sectors, a 4-byte bank
//! made of two x16 devices, ids 0x89/0x18. U-Boot probes both banks at boot
//! and prints "Flash: 32 MiB" from what the CFI query returns here.
//!
//! No backing file: contents start as zeros (QEMU's unbacked ROM device
//! memory) and are kept sparsely, one sector at a time, once written.

use std::collections::BTreeMap;

use super::{MmioDevice, StateError};
use crate::bus::BusFault;

pub const BANK_SIZE: u64 = 32 << 20;
pub const SECTOR_LEN: u64 = 256 << 10;
const BANK_WIDTH: u32 = 4;
const DEVICE_WIDTH: u32 = 2;
const IDENT0: u32 = 0x89;
const IDENT1: u32 = 0x18;

// Commands (Intel/Sharp command set).
const CMD_READ_ARRAY: u8 = 0xff;
const CMD_AMD_RESET: u8 = 0xf0;
const CMD_PROGRAM: u8 = 0x40;
const CMD_PROGRAM_ALT: u8 = 0x10;
const CMD_BLOCK_ERASE: u8 = 0x20;
const CMD_CLEAR_STATUS: u8 = 0x50;
const CMD_LOCK: u8 = 0x60;
const CMD_READ_STATUS: u8 = 0x70;
const CMD_READ_ID: u8 = 0x90;
const CMD_QUERY: u8 = 0x98;
const CMD_WRITE_BUFFER: u8 = 0xe8;
const CMD_CONFIRM: u8 = 0xd0;

const STATUS_READY: u8 = 0x80;

/// [`PFlash`] as plain data (snapshots): the written sectors by index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PFlashState {
    pub sectors: Vec<(u64, Vec<u8>)>,
    pub wcycle: u8,
    pub cmd: u8,
    pub status: u8,
    pub counter: u32,
}

pub struct PFlash {
    cfi: [u8; 0x52],
    /// Written sectors; others read as zero.
    sectors: BTreeMap<u64, Box<[u8]>>,
    wcycle: u8,
    cmd: u8,
    status: u8,
    counter: u32,
}

impl Default for PFlash {
    fn default() -> Self {
        Self::new()
    }
}

impl PFlash {
    pub fn save_state(&self) -> PFlashState {
        PFlashState {
            sectors: self.sectors.iter().map(|(&i, d)| (i, d.to_vec())).collect(),
            wcycle: self.wcycle,
            cmd: self.cmd,
            status: self.status,
            counter: self.counter,
        }
    }

    /// Takes `s` if every sector lies in the bank and has the sector size.
    pub fn restore_state(&mut self, s: &PFlashState) -> Result<(), StateError> {
        for (i, d) in &s.sectors {
            if *i >= BANK_SIZE / SECTOR_LEN || d.len() as u64 != SECTOR_LEN {
                return Err(StateError::new(
                    "pflash",
                    format!("sector {i} of {} bytes", d.len()),
                ));
            }
        }
        self.sectors = s
            .sectors
            .iter()
            .map(|(i, d)| (*i, d.clone().into_boxed_slice()))
            .collect();
        self.wcycle = s.wcycle;
        self.cmd = s.cmd;
        self.status = s.status;
        self.counter = s.counter;
        Ok(())
    }

    pub fn new() -> Self {
        let num_devices = (BANK_WIDTH / DEVICE_WIDTH) as u64;
        let blocks_per_device = BANK_SIZE / SECTOR_LEN / num_devices;
        let device_len = SECTOR_LEN * blocks_per_device;
        let mut t = [0u8; 0x52];
        t[0x10..0x13].copy_from_slice(b"QRY");
        t[0x13] = 0x01; // Intel command set
        t[0x15] = 0x31; // primary extended table address
        t[0x1b] = 0x45; // Vcc min
        t[0x1c] = 0x55; // Vcc max
        t[0x1f] = 0x07; // typical single write timeout
        t[0x20] = 0x07; // typical buffer write timeout
        t[0x21] = 0x0a; // typical block erase timeout
        t[0x23] = 0x04;
        t[0x24] = 0x04;
        t[0x25] = 0x04;
        t[0x27] = device_len.trailing_zeros() as u8; // device size, log2
        t[0x28] = 0x02; // x8/x16 interface
        t[0x2a] = 0x0b; // max multi-byte write, log2
        t[0x2c] = 0x01; // one uniform erase region
        t[0x2d] = (blocks_per_device - 1) as u8;
        t[0x2e] = ((blocks_per_device - 1) >> 8) as u8;
        t[0x2f] = (SECTOR_LEN >> 8) as u8;
        t[0x30] = (SECTOR_LEN >> 16) as u8;
        t[0x31..0x34].copy_from_slice(b"PRI");
        t[0x34] = b'1';
        t[0x35] = b'0';
        t[0x3f] = 0x01; // protection fields
        PFlash {
            cfi: t,
            sectors: BTreeMap::new(),
            wcycle: 0,
            cmd: 0,
            status: 0,
            counter: 0,
        }
    }

    /// System reset: back to read-array mode; the contents stay.
    pub fn reset(&mut self) {
        self.wcycle = 0;
        self.cmd = 0;
        self.status = 0;
        self.counter = 0;
    }

    fn byte(&self, off: u64) -> u8 {
        let s = off / SECTOR_LEN;
        self.sectors
            .get(&s)
            .map_or(0, |b| b[(off % SECTOR_LEN) as usize])
    }

    fn set_byte(&mut self, off: u64, v: u8) {
        let s = off / SECTOR_LEN;
        let sec = self
            .sectors
            .entry(s)
            .or_insert_with(|| vec![0; SECTOR_LEN as usize].into_boxed_slice());
        sec[(off % SECTOR_LEN) as usize] = v;
    }

    /// Replicates one device's `resp` across the bank (two x16 devices).
    fn replicate(resp: u32) -> u32 {
        resp & 0xffff | (resp & 0xffff) << 16
    }

    fn cfi_query(&self, off: u64) -> u32 {
        let boff = (off >> BANK_WIDTH.trailing_zeros()) as usize;
        Self::replicate(self.cfi.get(boff).copied().unwrap_or(0) as u32)
    }

    fn id_query(&self, off: u64) -> u32 {
        let boff = off >> BANK_WIDTH.trailing_zeros();
        Self::replicate(match boff & 0xff {
            0 => IDENT0,
            1 => IDENT1,
            _ => 0,
        })
    }

    fn reset_mode(&mut self) {
        self.wcycle = 0;
        self.cmd = 0;
    }

    pub fn digest_state(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.wcycle, self.cmd, self.status]);
        out.extend_from_slice(&self.counter.to_le_bytes());
        for (s, data) in &self.sectors {
            out.extend_from_slice(&s.to_le_bytes());
            out.extend_from_slice(data);
        }
    }
}

impl MmioDevice for PFlash {
    fn read(&mut self, off: u64, size: u8) -> Result<u64, BusFault> {
        if off + size as u64 > BANK_SIZE {
            return Err(BusFault::Unmapped);
        }
        let mask = if size >= 8 {
            u64::MAX
        } else {
            (1u64 << (8 * size)) - 1
        };
        let v: u64 = match self.cmd {
            CMD_PROGRAM | CMD_PROGRAM_ALT | CMD_BLOCK_ERASE | CMD_CLEAR_STATUS | CMD_LOCK
            | CMD_READ_STATUS | CMD_WRITE_BUFFER => {
                let mut r = self.status as u64;
                let mut shift = 8 * DEVICE_WIDTH;
                while shift + 8 * DEVICE_WIDTH <= 8 * size as u32 {
                    r |= (self.status as u64) << shift;
                    shift += 8 * DEVICE_WIDTH;
                }
                r
            }
            CMD_READ_ID | CMD_QUERY => {
                let q = |o| {
                    if self.cmd == CMD_QUERY {
                        self.cfi_query(o)
                    } else {
                        self.id_query(o)
                    }
                };
                let mut r = q(off) as u64;
                if size == 8 {
                    r |= (q(off + BANK_WIDTH as u64) as u64) << 32;
                }
                r
            }
            _ => {
                self.reset_mode();
                (0..size as u64).fold(0u64, |acc, i| acc | (self.byte(off + i) as u64) << (8 * i))
            }
        };
        Ok(v & mask)
    }

    fn write(&mut self, off: u64, size: u8, val: u64) -> Result<(), BusFault> {
        if off + size as u64 > BANK_SIZE {
            return Err(BusFault::Unmapped);
        }
        let cmd = val as u8;
        match self.wcycle {
            0 => match cmd {
                0x00 | CMD_AMD_RESET | CMD_READ_ARRAY => self.reset_mode(),
                CMD_CLEAR_STATUS => {
                    self.status = 0;
                    self.reset_mode();
                }
                CMD_READ_STATUS | CMD_READ_ID => self.cmd = cmd,
                CMD_PROGRAM | CMD_PROGRAM_ALT | CMD_LOCK | CMD_QUERY => {
                    self.wcycle = 1;
                    self.cmd = cmd;
                }
                CMD_BLOCK_ERASE => {
                    let base = off & !(SECTOR_LEN - 1);
                    self.sectors.remove(&(base / SECTOR_LEN));
                    // Erased flash reads as all ones.
                    self.sectors.insert(
                        base / SECTOR_LEN,
                        vec![0xff; SECTOR_LEN as usize].into_boxed_slice(),
                    );
                    self.status |= STATUS_READY;
                    self.wcycle = 1;
                    self.cmd = cmd;
                }
                CMD_WRITE_BUFFER => {
                    self.status |= STATUS_READY;
                    self.wcycle = 1;
                    self.cmd = cmd;
                }
                _ => self.reset_mode(),
            },
            1 => match self.cmd {
                CMD_PROGRAM | CMD_PROGRAM_ALT => {
                    for i in 0..size as u64 {
                        self.set_byte(off + i, (val >> (8 * i)) as u8);
                    }
                    self.status |= STATUS_READY;
                    self.wcycle = 0;
                }
                CMD_BLOCK_ERASE | CMD_LOCK => {
                    if cmd == CMD_CONFIRM || (self.cmd == CMD_LOCK && cmd == 0x01) {
                        self.wcycle = 0;
                        self.status |= STATUS_READY;
                    } else {
                        self.reset_mode();
                    }
                }
                CMD_WRITE_BUFFER => {
                    self.counter = (val & ((1 << (8 * DEVICE_WIDTH)) - 1)) as u32;
                    self.wcycle = 2;
                }
                // Only "read array" leaves query mode (QEMU keeps it on 0xf0).
                CMD_QUERY if cmd == CMD_READ_ARRAY => self.reset_mode(),
                CMD_QUERY => {}
                _ => self.reset_mode(),
            },
            2 => {
                for i in 0..size as u64 {
                    self.set_byte(off + i, (val >> (8 * i)) as u8);
                }
                self.status |= STATUS_READY;
                if self.counter == 0 {
                    self.wcycle = 3;
                }
                self.counter = self.counter.wrapping_sub(1);
            }
            _ => {
                if cmd == CMD_CONFIRM {
                    self.wcycle = 0;
                    self.status |= STATUS_READY;
                } else {
                    self.reset_mode();
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cfi_query_reports_qry_and_16mib_devices() {
        let mut f = PFlash::new();
        f.write(0x55 * 4, 4, 0x0098_0098).unwrap();
        assert_eq!(f.read(0x10 * 4, 4).unwrap(), 0x0051_0051); // 'Q' twice
        assert_eq!(f.read(0x11 * 4, 1).unwrap(), b'R' as u64);
        assert_eq!(f.read(0x27 * 4, 4).unwrap() & 0xff, 24);
        // AMD reset does not leave query mode; read-array does.
        f.write(0, 4, 0xf0).unwrap();
        assert_eq!(f.read(0x12 * 4, 1).unwrap(), b'Y' as u64);
        f.write(0, 4, 0xff).unwrap();
        assert_eq!(f.read(0x12 * 4, 1).unwrap(), 0);
    }

    #[test]
    fn id_and_program_and_erase() {
        let mut f = PFlash::new();
        f.write(0, 4, 0x90).unwrap();
        assert_eq!(f.read(0, 4).unwrap(), 0x0089_0089);
        assert_eq!(f.read(4, 4).unwrap(), 0x0018_0018);
        f.write(0, 4, 0xff).unwrap();
        f.write(0x100, 4, 0x40).unwrap();
        f.write(0x100, 4, 0x1234_5678).unwrap();
        assert_eq!(
            f.read(0x100, 4).unwrap() & 0x80,
            0x80,
            "status after program"
        );
        f.write(0, 4, 0xff).unwrap();
        assert_eq!(f.read(0x100, 4).unwrap(), 0x1234_5678);
        f.write(0x100, 4, 0x20).unwrap();
        f.write(0x100, 4, 0xd0).unwrap();
        f.write(0, 4, 0xff).unwrap();
        assert_eq!(f.read(0x100, 4).unwrap(), 0xffff_ffff);
        assert!(f.read(BANK_SIZE, 4).is_err());
        f.write(0x200, 4, 0x40).unwrap();
        f.write(0x200, 4, 0xabcd).unwrap();
        f.write(0, 4, 0x90).unwrap();
        f.reset();
        assert_eq!(
            f.read(0x200, 4).unwrap(),
            0xabcd,
            "contents survive a reset, in array mode"
        );
    }
}
