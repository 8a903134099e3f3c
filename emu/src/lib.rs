//! `emu`: an RV64GC machine compatible with QEMU's riscv64 `virt` board,
//! with deterministic record and replay in QEMU's log format.

pub mod bus;
pub mod cli;
pub mod cpu;
pub mod devices;
pub mod gdb;
pub mod host;
pub mod machine;
pub mod replay;
pub mod snapshot;

pub use bus::{PhysAddr, VirtAddr};
