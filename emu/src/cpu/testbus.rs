//! A RAM-only bus for unit tests, with an optional MMIO byte sink.

use crate::bus::{BusFault, PhysAddr, Ram, SystemBus};

pub(crate) struct TestBus {
    pub ram: Ram,
    pub lines: u64,
    pub mmio_writes: Vec<(u64, u64)>,
}

impl TestBus {
    pub fn new(base: u64, size: usize) -> TestBus {
        TestBus { ram: Ram::new(PhysAddr(base), size), lines: 0, mmio_writes: Vec::new() }
    }
    /// Places 32-bit instruction words at `addr`.
    pub fn code(&mut self, addr: u64, words: &[u32]) {
        let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        self.ram.write_bytes(PhysAddr(addr), &bytes).unwrap();
    }
}

impl SystemBus for TestBus {
    fn ram(&mut self) -> &mut Ram {
        &mut self.ram
    }
    fn mmio_read(&mut self, _addr: PhysAddr, _size: u8, _icount: u64) -> Result<u64, BusFault> {
        Err(BusFault::Unmapped)
    }
    fn mmio_write(&mut self, addr: PhysAddr, _size: u8, value: u64, _icount: u64) -> Result<(), BusFault> {
        if addr.0 < 0x1000_0000 {
            self.mmio_writes.push((addr.0, value));
            Ok(())
        } else {
            Err(BusFault::Unmapped)
        }
    }
    fn irq_lines(&self) -> u64 {
        self.lines
    }
    fn mtime(&self, icount: u64) -> u64 {
        icount / 10
    }
}
