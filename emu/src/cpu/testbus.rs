//! A RAM-only bus for unit tests, with an optional MMIO byte sink.

use crate::bus::{BusFault, PhysAddr, Ram, SystemBus};

pub(crate) struct TestBus {
    pub ram: Ram,
    pub lines: u64,
    pub mmio_writes: Vec<(u64, u64)>,
    /// Ask the hart to stop once any MMIO write happened.
    pub stop_on_mmio: bool,
}

/// Tiny encoders for hand-assembled test programs.
pub(crate) mod enc {
    pub fn i(op: u32, rd: u32, f3: u32, rs1: u32, imm: i32) -> u32 {
        ((imm as u32) << 20) | rs1 << 15 | f3 << 12 | rd << 7 | op
    }
    pub fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
        i(0x13, rd, 0, rs1, imm)
    }
    pub fn s(f3: u32, rs1: u32, rs2: u32, imm: i32) -> u32 {
        let imm = imm as u32;
        (imm >> 5) << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | (imm & 31) << 7 | 0x23
    }
    pub fn jal(rd: u32, imm: i32) -> u32 {
        let v = imm as u32;
        ((v >> 20) & 1) << 31
            | ((v >> 1) & 0x3ff) << 21
            | ((v >> 11) & 1) << 20
            | ((v >> 12) & 0xff) << 12
            | rd << 7
            | 0x6f
    }
    pub fn csrrs(rd: u32, csr: u32, rs1: u32) -> u32 {
        csr << 20 | rs1 << 15 | 2 << 12 | rd << 7 | 0x73
    }
    pub fn csrrc(rd: u32, csr: u32, rs1: u32) -> u32 {
        csr << 20 | rs1 << 15 | 3 << 12 | rd << 7 | 0x73
    }
    pub fn lui(rd: u32, imm20: u32) -> u32 {
        imm20 << 12 | rd << 7 | 0x37
    }
    pub const WFI: u32 = 0x1050_0073;
    pub const ECALL: u32 = 0x0000_0073;
}

impl TestBus {
    pub fn new(base: u64, size: usize) -> TestBus {
        TestBus {
            ram: Ram::new(PhysAddr(base), size),
            lines: 0,
            mmio_writes: Vec::new(),
            stop_on_mmio: false,
        }
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
    fn mmio_write(
        &mut self,
        addr: PhysAddr,
        _size: u8,
        value: u64,
        _icount: u64,
    ) -> Result<(), BusFault> {
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
    fn stop_requested(&self) -> bool {
        self.stop_on_mmio && !self.mmio_writes.is_empty()
    }
}
