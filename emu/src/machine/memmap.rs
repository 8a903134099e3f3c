//! QEMU 10.0.2 virt memory map and interrupt numbers (hw/riscv/virt.c).

pub const MROM_BASE: u64 = 0x1000;
pub const TEST_BASE: u64 = 0x10_0000;
pub const RTC_BASE: u64 = 0x10_1000;
pub const CLINT_BASE: u64 = 0x200_0000;
pub const CLINT_SIZE: u64 = 0x1_0000;
pub const PCIE_PIO_BASE: u64 = 0x300_0000;
pub const PCIE_PIO_SIZE: u64 = 0x1_0000;
pub const PLATFORM_BUS_BASE: u64 = 0x400_0000;
pub const PLATFORM_BUS_SIZE: u64 = 0x200_0000;
pub const PLIC_BASE: u64 = 0xc00_0000;
pub const PLIC_SIZE: u64 = 0x60_0000;
pub const UART_BASE: u64 = 0x1000_0000;
pub const UART_SIZE: u64 = 0x100;
pub const VIRTIO_BASE: u64 = 0x1000_1000;
pub const VIRTIO_SIZE: u64 = 0x1000;
pub const VIRTIO_COUNT: usize = 8;
pub const FW_CFG_BASE: u64 = 0x1010_0000;
pub const FW_CFG_SIZE: u64 = 0x18;
pub const FLASH_BASE: u64 = 0x2000_0000;
pub const FLASH_BANK_SIZE: u64 = 0x200_0000;
pub const PCIE_ECAM_BASE: u64 = 0x3000_0000;
pub const PCIE_ECAM_SIZE: u64 = 0x1000_0000;
pub const PCIE_MMIO_BASE: u64 = 0x4000_0000;
pub const PCIE_MMIO_SIZE: u64 = 0x4000_0000;
pub const DRAM_BASE: u64 = 0x8000_0000;

pub const UART_IRQ: u32 = 10;
pub const RTC_IRQ: u32 = 11;
pub const VIRTIO_IRQ: u32 = 1;
pub const PCIE_IRQ: u32 = 0x20;

pub const TIMEBASE_HZ: u32 = 10_000_000;

pub fn virtio_base(slot: usize) -> u64 {
    VIRTIO_BASE + VIRTIO_SIZE * slot as u64
}

pub fn virtio_irq(slot: usize) -> u32 {
    VIRTIO_IRQ + slot as u32
}

/// QEMU plugs `-device`s into virtio-mmio transports from the highest
/// address down (qbus_realize prepends buses; see the blk fixture: the
/// only device sits at 0x10008000). The n-th configured device's slot.
pub fn virtio_slot_for_device(n: usize) -> usize {
    VIRTIO_COUNT - 1 - n
}
