//! The virtio-mmio transport, version 2 (virtio 1.2, 4.2.2), as QEMU's
//! `virtio-mmio` with `force-legacy=off`. An empty slot (no device) answers
//! the magic/version and device id 0, which is how drivers skip it.

use super::{GuestMem, Queue, QueueCtx, VirtioDevice, VIRTIO_F_VERSION_1};
use crate::bus::{BusFault, Ram};
use crate::devices::{IrqLine, StateError};

// Register offsets (virtio 1.2, table 4.1), named as in the spec.
pub const MAGIC_VALUE: u64 = 0x000;
pub const VERSION: u64 = 0x004;
pub const DEVICE_ID: u64 = 0x008;
pub const VENDOR_ID: u64 = 0x00c;
pub const DEVICE_FEATURES: u64 = 0x010;
pub const DEVICE_FEATURES_SEL: u64 = 0x014;
pub const DRIVER_FEATURES: u64 = 0x020;
pub const DRIVER_FEATURES_SEL: u64 = 0x024;
pub const QUEUE_SEL: u64 = 0x030;
pub const QUEUE_NUM_MAX: u64 = 0x034;
pub const QUEUE_NUM: u64 = 0x038;
pub const QUEUE_READY: u64 = 0x044;
pub const QUEUE_NOTIFY: u64 = 0x050;
pub const INTERRUPT_STATUS: u64 = 0x060;
pub const INTERRUPT_ACK: u64 = 0x064;
pub const STATUS: u64 = 0x070;
pub const QUEUE_DESC_LOW: u64 = 0x080;
pub const QUEUE_DESC_HIGH: u64 = 0x084;
pub const QUEUE_DRIVER_LOW: u64 = 0x090;
pub const QUEUE_DRIVER_HIGH: u64 = 0x094;
pub const QUEUE_DEVICE_LOW: u64 = 0x0a0;
pub const QUEUE_DEVICE_HIGH: u64 = 0x0a4;
pub const SHM_SEL: u64 = 0x0ac;
pub const SHM_LEN_LOW: u64 = 0x0b0;
pub const SHM_LEN_HIGH: u64 = 0x0b4;
pub const CONFIG_GENERATION: u64 = 0x0fc;
pub const CONFIG: u64 = 0x100;

/// "virt" in little-endian ASCII.
const MAGIC: u32 = 0x7472_6976;
/// "QEMU", the vendor id QEMU reports.
const VENDOR_QEMU: u32 = 0x554d_4551;

pub const STATUS_DRIVER_OK: u32 = 4;
pub const STATUS_FEATURES_OK: u32 = 8;
pub const STATUS_DEVICE_NEEDS_RESET: u32 = 64;
/// ISR bit: the device used buffers.
pub const INT_VRING: u32 = 1;
/// ISR bit: configuration changed.
pub const INT_CONFIG: u32 = 2;

/// [`VirtioMmio`] as plain data (snapshots): transport registers, the
/// queues, and the device's own state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtioMmioState {
    /// device_features_sel, driver_features_sel, queue_sel, status,
    /// interrupt_status, config_generation, shm_sel.
    pub regs: [u32; 7],
    pub driver_features: u64,
    pub queues: Vec<Queue>,
    pub device: Option<super::DeviceState>,
}

/// One virtio-mmio slot with an optional device behind it.
pub struct VirtioMmio {
    device: Option<Box<dyn VirtioDevice>>,
    irq: IrqLine,
    queues: Vec<Queue>,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    queue_sel: u32,
    status: u32,
    interrupt_status: u32,
    config_generation: u32,
    shm_sel: u32,
}

impl VirtioMmio {
    pub fn new(device: Option<Box<dyn VirtioDevice>>, irq: IrqLine) -> Self {
        let queues = match &device {
            Some(d) => (0..d.num_queues())
                .map(|q| Queue::new(d.queue_max_size(q)))
                .collect(),
            None => Vec::new(),
        };
        VirtioMmio {
            device,
            irq,
            queues,
            device_features_sel: 0,
            driver_features_sel: 0,
            driver_features: 0,
            queue_sel: 0,
            status: 0,
            interrupt_status: 0,
            config_generation: 0,
            shm_sel: 0,
        }
    }

    pub fn device(&self) -> Option<&dyn VirtioDevice> {
        self.device.as_deref()
    }

    pub fn device_mut(&mut self) -> Option<&mut (dyn VirtioDevice + 'static)> {
        self.device.as_deref_mut()
    }

    /// Runs `f` on the device with its queues and guest RAM, then raises the
    /// interrupt if the device used buffers. The machine uses this to deliver
    /// asynchronous completions (block I/O done, packet received, entropy).
    pub fn with_device<R>(
        &mut self,
        ram: &mut Ram,
        f: impl FnOnce(&mut dyn VirtioDevice, &mut QueueCtx<'_>) -> R,
    ) -> Option<R> {
        let dev = self.device.as_deref_mut()?;
        let mut ctx = QueueCtx {
            queues: &mut self.queues,
            mem: GuestMem::new(ram),
            notify_guest: false,
            broken: false,
        };
        let r = f(dev, &mut ctx);
        let (notify, broken) = (ctx.notify_guest, ctx.broken);
        if broken {
            self.status |= STATUS_DEVICE_NEEDS_RESET;
            self.interrupt_status |= INT_CONFIG;
            self.update_irq();
        }
        if notify {
            self.interrupt_status |= INT_VRING;
            self.update_irq();
        }
        Some(r)
    }

    fn update_irq(&self) {
        self.irq.set(self.interrupt_status != 0);
    }

    fn reset(&mut self) {
        if let Some(d) = self.device.as_deref_mut() {
            d.reset();
        }
        self.queues.iter_mut().for_each(Queue::reset);
        self.device_features_sel = 0;
        self.driver_features_sel = 0;
        self.driver_features = 0;
        self.queue_sel = 0;
        self.status = 0;
        self.interrupt_status = 0;
        self.update_irq();
    }

    fn device_features(&self) -> u64 {
        self.device
            .as_ref()
            .map_or(0, |d| d.features() | VIRTIO_F_VERSION_1)
    }

    fn queue(&mut self) -> Option<&mut Queue> {
        self.queues.get_mut(self.queue_sel as usize)
    }

    /// Register read. Needs no RAM.
    pub fn read(&mut self, off: u64, size: u8) -> Result<u64, BusFault> {
        if off >= CONFIG {
            let Some(d) = self.device.as_deref() else {
                return Ok(0);
            };
            let mut buf = [0u8; 8];
            d.read_config(off - CONFIG, &mut buf[..size as usize]);
            return Ok(u64::from_le_bytes(buf));
        }
        // QEMU logs and ignores non-32-bit register accesses; reads give 0.
        if size != 4 {
            return Ok(0);
        }
        if self.device.is_none() {
            return Ok(match off {
                MAGIC_VALUE => MAGIC,
                VERSION => 2,
                VENDOR_ID => VENDOR_QEMU,
                _ => 0,
            } as u64);
        }
        let q = self.queues.get(self.queue_sel as usize);
        let v: u32 = match off {
            MAGIC_VALUE => MAGIC,
            VERSION => 2,
            DEVICE_ID => self.device.as_ref().map_or(0, |d| d.device_id()),
            VENDOR_ID => VENDOR_QEMU,
            DEVICE_FEATURES => match self.device_features_sel {
                0 => self.device_features() as u32,
                1 => (self.device_features() >> 32) as u32,
                _ => 0,
            },
            QUEUE_NUM_MAX => q.map_or(0, |q| q.max_size as u32),
            QUEUE_READY => q.map_or(0, |q| q.ready as u32),
            INTERRUPT_STATUS => self.interrupt_status,
            STATUS => self.status,
            CONFIG_GENERATION => self.config_generation,
            // No shared memory regions: length reads as all ones (absent).
            SHM_LEN_LOW | SHM_LEN_HIGH => u32::MAX,
            QUEUE_DESC_LOW => q.map_or(0, |q| q.desc as u32),
            QUEUE_DESC_HIGH => q.map_or(0, |q| (q.desc >> 32) as u32),
            QUEUE_DRIVER_LOW => q.map_or(0, |q| q.avail as u32),
            QUEUE_DRIVER_HIGH => q.map_or(0, |q| (q.avail >> 32) as u32),
            QUEUE_DEVICE_LOW => q.map_or(0, |q| q.used as u32),
            QUEUE_DEVICE_HIGH => q.map_or(0, |q| (q.used >> 32) as u32),
            QUEUE_NUM => q.map_or(0, |q| q.size as u32),
            _ => 0,
        };
        Ok(v as u64)
    }

    /// Register write. A queue notify runs the device, hence the RAM.
    pub fn write(&mut self, off: u64, size: u8, val: u64, ram: &mut Ram) -> Result<(), BusFault> {
        if off >= CONFIG {
            if let Some(d) = self.device.as_deref_mut() {
                let bytes = val.to_le_bytes();
                d.write_config(off - CONFIG, &bytes[..size as usize]);
            }
            return Ok(());
        }
        if size != 4 || self.device.is_none() {
            return Ok(());
        }
        let v = val as u32;
        let set_lo = |x: &mut u64| *x = (*x & !0xffff_ffff) | v as u64;
        let set_hi = |x: &mut u64| *x = (*x & 0xffff_ffff) | (v as u64) << 32;
        match off {
            DEVICE_FEATURES_SEL => self.device_features_sel = v,
            DRIVER_FEATURES_SEL => self.driver_features_sel = v,
            DRIVER_FEATURES => match self.driver_features_sel {
                0 => set_lo(&mut self.driver_features),
                1 => set_hi(&mut self.driver_features),
                _ => {}
            },
            QUEUE_SEL => self.queue_sel = v,
            QUEUE_NUM => {
                if let Some(q) = self.queue() {
                    // Sizes must be powers of two no larger than the maximum.
                    if v != 0 && v <= q.max_size as u32 && v.is_power_of_two() {
                        q.size = v as u16;
                    }
                }
            }
            QUEUE_READY => {
                if let Some(q) = self.queue() {
                    q.ready = v & 1 == 1;
                }
            }
            QUEUE_DESC_LOW => self.queue().into_iter().for_each(|q| set_lo(&mut q.desc)),
            QUEUE_DESC_HIGH => self.queue().into_iter().for_each(|q| set_hi(&mut q.desc)),
            QUEUE_DRIVER_LOW => self.queue().into_iter().for_each(|q| set_lo(&mut q.avail)),
            QUEUE_DRIVER_HIGH => self.queue().into_iter().for_each(|q| set_hi(&mut q.avail)),
            QUEUE_DEVICE_LOW => self.queue().into_iter().for_each(|q| set_lo(&mut q.used)),
            QUEUE_DEVICE_HIGH => self.queue().into_iter().for_each(|q| set_hi(&mut q.used)),
            QUEUE_NOTIFY => {
                let qi = v as usize;
                let ready = self.queues.get(qi).is_some_and(|q| q.ready);
                if ready && self.status & STATUS_DRIVER_OK != 0 {
                    self.with_device(ram, |d, ctx| d.queue_notify(qi as u16, ctx));
                }
            }
            INTERRUPT_ACK => {
                self.interrupt_status &= !v;
                self.update_irq();
            }
            STATUS => {
                if v == 0 {
                    self.reset();
                } else {
                    let was_ok = self.status & STATUS_DRIVER_OK != 0;
                    // FEATURES_OK sticks only if the driver accepted what we offer.
                    let mut v = v;
                    if v & STATUS_FEATURES_OK != 0
                        && self.driver_features & !self.device_features() != 0
                    {
                        v &= !STATUS_FEATURES_OK;
                    }
                    self.status = v;
                    if !was_ok && v & STATUS_DRIVER_OK != 0 {
                        let f = self.driver_features;
                        if let Some(d) = self.device.as_deref_mut() {
                            d.activate(f);
                        }
                    }
                }
            }
            SHM_SEL => self.shm_sel = v,
            _ => {}
        }
        Ok(())
    }

    pub fn save_state(&self) -> VirtioMmioState {
        VirtioMmioState {
            regs: [
                self.device_features_sel,
                self.driver_features_sel,
                self.queue_sel,
                self.status,
                self.interrupt_status,
                self.config_generation,
                self.shm_sel,
            ],
            driver_features: self.driver_features,
            queues: self.queues.clone(),
            device: self.device.as_ref().map(|d| d.save_state()),
        }
    }

    /// Takes `s` if it is a state of this slot: the same device kind and
    /// queue count, queue sizes within their maximum. The device is
    /// restored before anything else changes, so a refused state leaves
    /// the slot as it was.
    pub fn restore_state(&mut self, s: &VirtioMmioState) -> Result<(), StateError> {
        if s.queues.len() != self.queues.len() {
            return Err(StateError::new(
                "virtio-mmio",
                format!(
                    "{} queues, the device has {}",
                    s.queues.len(),
                    self.queues.len()
                ),
            ));
        }
        for (q, mine) in s.queues.iter().zip(&self.queues) {
            if q.max_size != mine.max_size || q.size > q.max_size {
                return Err(StateError::new(
                    "virtio-mmio",
                    format!("queue of {} entries (max {})", q.size, mine.max_size),
                ));
            }
        }
        match (&mut self.device, &s.device) {
            (Some(d), Some(saved)) => d.restore_state(saved)?,
            (None, None) => {}
            (mine, _) => {
                return Err(StateError::new(
                    "virtio-mmio",
                    format!(
                        "saved slot {} a device, this one {}",
                        if s.device.is_some() { "has" } else { "has no" },
                        if mine.is_some() {
                            "has one"
                        } else {
                            "has none"
                        }
                    ),
                ));
            }
        }
        [
            self.device_features_sel,
            self.driver_features_sel,
            self.queue_sel,
            self.status,
            self.interrupt_status,
            self.config_generation,
            self.shm_sel,
        ] = s.regs;
        self.driver_features = s.driver_features;
        self.queues = s.queues.clone();
        Ok(())
    }

    pub fn digest_state(&self, out: &mut Vec<u8>) {
        for v in [
            self.device_features_sel,
            self.driver_features_sel,
            self.queue_sel,
            self.status,
            self.interrupt_status,
            self.config_generation,
            self.shm_sel,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.driver_features.to_le_bytes());
        for q in &self.queues {
            q.digest_state(out);
        }
        if let Some(d) = &self.device {
            d.digest_state(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::PhysAddr;
    use crate::devices::virtio::rng::VirtioRng;

    #[test]
    fn empty_slot_answers_probe() {
        let (irq, _) = IrqLine::recording(8);
        let mut t = VirtioMmio::new(None, irq);
        assert_eq!(t.read(MAGIC_VALUE, 4).unwrap(), 0x7472_6976);
        assert_eq!(t.read(VERSION, 4).unwrap(), 2);
        assert_eq!(t.read(DEVICE_ID, 4).unwrap(), 0);
    }

    #[test]
    fn feature_negotiation_and_ack_lowers_irq() {
        let (irq, levels) = IrqLine::recording(8);
        let mut ram = Ram::new(PhysAddr(0x8000_0000), 1 << 20);
        let mut t = VirtioMmio::new(Some(Box::new(VirtioRng::new())), irq);
        assert_eq!(t.read(DEVICE_ID, 4).unwrap(), 4);
        t.write(DEVICE_FEATURES_SEL, 4, 1, &mut ram).unwrap();
        assert_eq!(
            t.read(DEVICE_FEATURES, 4).unwrap(),
            1,
            "VERSION_1 is bit 32"
        );
        // Accepting a feature we do not offer makes FEATURES_OK not stick.
        t.write(DRIVER_FEATURES_SEL, 4, 0, &mut ram).unwrap();
        t.write(DRIVER_FEATURES, 4, 1 << 5, &mut ram).unwrap();
        t.write(STATUS, 4, 1 | 2 | 8, &mut ram).unwrap();
        assert_eq!(t.read(STATUS, 4).unwrap(), 3);
        t.interrupt_status = INT_VRING;
        t.update_irq();
        t.write(INTERRUPT_ACK, 4, INT_VRING as u64, &mut ram)
            .unwrap();
        assert_eq!(levels.history(), vec![(8, true), (8, false)]);
        t.write(STATUS, 4, 0, &mut ram).unwrap();
        assert_eq!(t.read(STATUS, 4).unwrap(), 0);
    }

    #[test]
    fn queue_registers_round_trip() {
        let (irq, _) = IrqLine::recording(8);
        let mut ram = Ram::new(PhysAddr(0x8000_0000), 1 << 20);
        let mut t = VirtioMmio::new(Some(Box::new(VirtioRng::new())), irq);
        t.write(QUEUE_SEL, 4, 0, &mut ram).unwrap();
        assert_eq!(t.read(QUEUE_NUM_MAX, 4).unwrap(), 8);
        t.write(QUEUE_NUM, 4, 4, &mut ram).unwrap();
        t.write(QUEUE_NUM, 4, 3, &mut ram).unwrap(); // not a power of two: ignored
        assert_eq!(t.read(QUEUE_NUM, 4).unwrap(), 4);
        t.write(QUEUE_DESC_LOW, 4, 0x8000_1000, &mut ram).unwrap();
        t.write(QUEUE_DESC_HIGH, 4, 1, &mut ram).unwrap();
        assert_eq!(t.queues[0].desc, 0x1_8000_1000);
        t.write(QUEUE_READY, 4, 1, &mut ram).unwrap();
        assert_eq!(t.read(QUEUE_READY, 4).unwrap(), 1);
        // Another queue index is out of range: reads 0, writes ignored.
        t.write(QUEUE_SEL, 4, 5, &mut ram).unwrap();
        assert_eq!(t.read(QUEUE_NUM_MAX, 4).unwrap(), 0);
    }
}
