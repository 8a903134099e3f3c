//! Guest-physical memory as virtio devices see it (DMA into RAM only).

use crate::bus::{PhysAddr, Ram};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MemError {
    #[error("DMA of {len} bytes at {addr:#x} is outside guest RAM")]
    OutOfRange { addr: u64, len: u64 },
}

/// A borrowed view of guest RAM with bounds-checked little-endian access.
pub struct GuestMem<'a> {
    ram: &'a mut Ram,
}

impl<'a> GuestMem<'a> {
    pub fn new(ram: &'a mut Ram) -> Self {
        GuestMem { ram }
    }

    fn range(&self, addr: u64, len: usize) -> Result<usize, MemError> {
        self.ram
            .offset_of(PhysAddr(addr), len as u64)
            .ok_or(MemError::OutOfRange {
                addr,
                len: len as u64,
            })
    }

    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), MemError> {
        let off = self.range(addr, buf.len())?;
        buf.copy_from_slice(&self.ram.bytes()[off..off + buf.len()]);
        Ok(())
    }

    /// Writes through [`Ram::write_bytes`], which keeps the hart's decoded
    /// code coherent (a guest may `load` code by DMA and jump to it).
    pub fn write(&mut self, addr: u64, data: &[u8]) -> Result<(), MemError> {
        self.ram
            .write_bytes(PhysAddr(addr), data)
            .map_err(|_| MemError::OutOfRange {
                addr,
                len: data.len() as u64,
            })
    }

    pub fn read_u16(&self, addr: u64) -> Result<u16, MemError> {
        let mut b = [0; 2];
        self.read(addr, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }
    pub fn read_u32(&self, addr: u64) -> Result<u32, MemError> {
        let mut b = [0; 4];
        self.read(addr, &mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    pub fn read_u64(&self, addr: u64) -> Result<u64, MemError> {
        let mut b = [0; 8];
        self.read(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    pub fn write_u16(&mut self, addr: u64, v: u16) -> Result<(), MemError> {
        self.write(addr, &v.to_le_bytes())
    }
    pub fn write_u32(&mut self, addr: u64, v: u32) -> Result<(), MemError> {
        self.write(addr, &v.to_le_bytes())
    }
}
