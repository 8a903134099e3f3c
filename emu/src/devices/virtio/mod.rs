//! virtio: one MMIO transport ([`mmio::VirtioMmio`], version 2) and the
//! device models behind it. A device implements [`VirtioDevice`]; the
//! transport owns the queues and hands them to the device through
//! [`QueueCtx`] whenever the guest notifies or the machine delivers an
//! asynchronous completion.
//!
//! This trait is the seam the network helper builds virtio-net on: keep it stable.

pub mod blk;
pub mod mem;
pub mod mmio;
pub mod net;
pub mod queue;
pub mod rng;

use std::any::Any;

use crate::devices::StateError;

pub use mem::{GuestMem, MemError};
pub use queue::{DescChain, Queue, QueueError};

/// Feature bit every modern device offers (the transport adds it).
pub const VIRTIO_F_VERSION_1: u64 = 1 << 32;

/// Device type ids (virtio 1.2, section 5).
pub mod device_id {
    pub const NET: u32 = 1;
    pub const BLOCK: u32 = 2;
    pub const RNG: u32 = 4;
}

/// What a device gets while it works on its queues.
pub struct QueueCtx<'a> {
    /// The device's virtqueues, indexed by queue number.
    pub queues: &'a mut [Queue],
    /// Guest RAM, for descriptor tables, rings and buffers.
    pub mem: GuestMem<'a>,
    /// Set by the device when it put buffers on a used ring and the guest
    /// should be interrupted (the transport raises "used buffer" in ISR).
    pub notify_guest: bool,
    /// Set when the device hit a guest error (bad descriptor): the transport
    /// sets DEVICE_NEEDS_RESET, as QEMU's virtio_error does.
    pub broken: bool,
}

/// A device model's state as plain data (snapshots).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceState {
    Blk(blk::BlkState),
    Net(net::NetState),
    Rng(rng::RngState),
}

impl DeviceState {
    pub fn kind(&self) -> &'static str {
        match self {
            DeviceState::Blk(_) => "virtio-blk",
            DeviceState::Net(_) => "virtio-net",
            DeviceState::Rng(_) => "virtio-rng",
        }
    }
}

/// Checks that a saved chain fits a queue of `size` entries.
pub(crate) fn check_chain(
    device: &'static str,
    c: &DescChain,
    size: u16,
) -> Result<(), StateError> {
    if c.head >= size.max(1) || c.descs.len() > size as usize {
        return Err(StateError::new(
            device,
            format!(
                "descriptor chain at head {} of {} entries",
                c.head,
                c.descs.len()
            ),
        ));
    }
    Ok(())
}

/// A virtio device model, independent of the transport.
pub trait VirtioDevice {
    /// Device type (`device_id::*`).
    fn device_id(&self) -> u32;
    /// Device-specific feature bits (without VIRTIO_F_VERSION_1).
    fn features(&self) -> u64;
    /// Number of virtqueues.
    fn num_queues(&self) -> usize;
    /// Largest size the guest may give queue `q`.
    fn queue_max_size(&self, q: usize) -> u16;
    /// Read device config space bytes at `offset` (out-of-range bytes read 0).
    fn read_config(&self, offset: u64, data: &mut [u8]);
    /// Write device config space (read-only fields ignore the write).
    fn write_config(&mut self, offset: u64, data: &[u8]);
    /// The driver set DRIVER_OK with the negotiated `features`.
    fn activate(&mut self, features: u64);
    /// The driver reset the device (status 0): drop all in-flight work.
    fn reset(&mut self);
    /// The guest notified queue `queue`.
    fn queue_notify(&mut self, queue: u16, ctx: &mut QueueCtx<'_>);
    /// Guest-visible device state, for the digest.
    fn digest_state(&self, out: &mut Vec<u8>);
    /// The device's state as plain data (snapshots).
    fn save_state(&self) -> DeviceState;
    /// Takes `s` after checking it is this kind of device's state.
    fn restore_state(&mut self, s: &DeviceState) -> Result<(), StateError>;
    /// For the machine to reach device-specific operations (block
    /// completions, received packets, entropy) through the transport.
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn as_any(&self) -> &dyn Any;
}
