//! virtio-rng (entropy device, id 4). The device only collects the guest's
//! requests; the machine asks the non-determinism door for the bytes and
//! hands them in with [`VirtioRng::provide`].

use std::any::Any;
use std::collections::VecDeque;

use super::{device_id, DescChain, DeviceState, QueueCtx, VirtioDevice};
use crate::devices::StateError;

/// QEMU's virtio-rng queue size.
const QUEUE_SIZE: u16 = 8;
/// Largest single request we serve (QEMU caps by its backend buffer too).
const MAX_REQUEST: u64 = 4096;

/// [`VirtioRng`] as plain data (snapshots).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RngState {
    pub waiting: Vec<DescChain>,
}

#[derive(Default)]
pub struct VirtioRng {
    /// Chains the guest offered and that still wait for entropy.
    waiting: VecDeque<DescChain>,
}

impl VirtioRng {
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes the oldest waiting request wants, if any.
    pub fn wanted(&self) -> Option<usize> {
        self.waiting
            .front()
            .map(|c| c.writable_len().min(MAX_REQUEST) as usize)
    }

    /// Completes the oldest waiting request with `bytes`.
    pub fn provide(&mut self, bytes: &[u8], ctx: &mut QueueCtx<'_>) {
        let Some(chain) = self.waiting.pop_front() else {
            return;
        };
        let ok = chain
            .write_all(&mut ctx.mem, bytes)
            .map_err(super::QueueError::from)
            .and_then(|n| ctx.queues[0].push_used(&mut ctx.mem, chain.head, n));
        match ok {
            Ok(()) => ctx.notify_guest = true,
            Err(_) => ctx.broken = true,
        }
    }
}

impl VirtioDevice for VirtioRng {
    fn device_id(&self) -> u32 {
        device_id::RNG
    }
    fn features(&self) -> u64 {
        0
    }
    fn num_queues(&self) -> usize {
        1
    }
    fn queue_max_size(&self, _q: usize) -> u16 {
        QUEUE_SIZE
    }
    fn read_config(&self, _offset: u64, data: &mut [u8]) {
        data.fill(0);
    }
    fn write_config(&mut self, _offset: u64, _data: &[u8]) {}
    fn activate(&mut self, _features: u64) {}
    fn reset(&mut self) {
        self.waiting.clear();
    }
    fn queue_notify(&mut self, queue: u16, ctx: &mut QueueCtx<'_>) {
        if queue != 0 {
            return;
        }
        loop {
            match ctx.queues[0].pop(&ctx.mem) {
                Ok(Some(c)) => self.waiting.push_back(c),
                Ok(None) => break,
                Err(_) => {
                    ctx.broken = true;
                    break;
                }
            }
        }
    }
    fn digest_state(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.waiting.len() as u32).to_le_bytes());
        for c in &self.waiting {
            out.extend_from_slice(&c.head.to_le_bytes());
        }
    }
    fn save_state(&self) -> DeviceState {
        DeviceState::Rng(RngState {
            waiting: self.waiting.iter().cloned().collect(),
        })
    }
    fn restore_state(&mut self, s: &DeviceState) -> Result<(), StateError> {
        let DeviceState::Rng(s) = s else {
            return Err(StateError::new(
                "virtio-rng",
                format!("saved state is {}", s.kind()),
            ));
        };
        for c in &s.waiting {
            super::check_chain("virtio-rng", c, QUEUE_SIZE)?;
        }
        self.waiting = s.waiting.iter().cloned().collect();
        Ok(())
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{PhysAddr, Ram};
    use crate::devices::virtio::mmio::{self, VirtioMmio};
    use crate::devices::virtio::queue::tests::{publish, AVAIL, DESC, USED};
    use crate::devices::virtio::GuestMem;
    use crate::devices::IrqLine;

    #[test]
    fn request_is_filled_and_interrupts() {
        let (irq, levels) = IrqLine::recording(7);
        let mut ram = Ram::new(PhysAddr(0x8000_0000), 1 << 20);
        let mut t = VirtioMmio::new(Some(Box::new(VirtioRng::new())), irq);
        for (reg, v) in [
            (mmio::STATUS, 1),
            (mmio::STATUS, 3),
            (mmio::STATUS, 11),
            (mmio::QUEUE_SEL, 0),
            (mmio::QUEUE_NUM, 8),
            (mmio::QUEUE_DESC_LOW, DESC),
            (mmio::QUEUE_DRIVER_LOW, AVAIL),
            (mmio::QUEUE_DEVICE_LOW, USED),
            (mmio::QUEUE_READY, 1),
            (mmio::STATUS, 15),
        ] {
            t.write(reg, 4, v, &mut ram).unwrap();
        }
        let q = crate::devices::virtio::queue::tests::ready_queue(8);
        publish(&mut ram, &q, 0, &[(0x8000_8000, 4, true)]);
        t.write(mmio::QUEUE_NOTIFY, 4, 0, &mut ram).unwrap();
        assert!(levels.history().is_empty(), "no entropy yet, no interrupt");
        t.with_device(&mut ram, |d, ctx| {
            let rng = d.as_any_mut().downcast_mut::<VirtioRng>().unwrap();
            assert_eq!(rng.wanted(), Some(4));
            rng.provide(&[1, 2, 3, 4], ctx);
            assert_eq!(rng.wanted(), None);
        });
        let mem = GuestMem::new(&mut ram);
        assert_eq!(mem.read_u32(0x8000_8000).unwrap(), 0x0403_0201);
        assert_eq!(mem.read_u32(USED + 8).unwrap(), 4, "used length");
        assert_eq!(levels.history(), vec![(7, true)]);
        assert_eq!(t.read(mmio::INTERRUPT_STATUS, 4).unwrap(), 1);
    }
}
