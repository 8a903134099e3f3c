//! The virt board: memory map, device tree, boot loading, the run loop.
//!
//! - [`memmap`]: addresses and interrupt numbers;
//! - [`board`]: address decoding, devices, interrupt lines ([`SystemBus`](crate::bus::SystemBus));
//! - [`fdt`]: the generated device tree;
//! - [`boot`]: image placement and ELF loading;
//! - [`clock`]: virtual time from icount;
//! - [`nondet`]: the one door to the host ([`Nondet`], [`Live`]);
//! - [`run`]: [`Machine`], its reset and run loop;
//! - [`digest`]: the end-of-run state hash.

pub mod board;
pub mod boot;
pub mod clock;
pub mod digest;
pub mod fdt;
pub mod memmap;
pub mod nondet;
pub mod run;

pub use nondet::{AsyncInput, Divergence, HostEvent, HostSource, Live, Nondet, NondetError};
pub use run::{CpuKind, Firmware, Machine, MachineConfig, MachineError, MachineState, Outcome};
