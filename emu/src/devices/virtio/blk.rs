//! virtio-blk (id 2). The device parses requests and queues them in an
//! outbox; the machine sends them to the disk backend thread, and the
//! completion comes back through the non-determinism door at a slice
//! boundary (QEMU's ASYNC_BLOCK), where [`VirtioBlk::complete`] writes the
//! data and status into guest memory.

use std::any::Any;

use super::{device_id, DescChain, DeviceState, QueueCtx, VirtioDevice};
use crate::devices::StateError;

pub const SECTOR_SIZE: u64 = 512;
/// QEMU's default virtio-blk queue size.
const QUEUE_SIZE: u16 = 256;

const VIRTIO_BLK_F_SEG_MAX: u64 = 1 << 2;
const VIRTIO_BLK_F_BLK_SIZE: u64 = 1 << 6;
const VIRTIO_BLK_F_FLUSH: u64 = 1 << 9;

const VIRTIO_BLK_T_IN: u32 = 0;
const VIRTIO_BLK_T_OUT: u32 = 1;
const VIRTIO_BLK_T_FLUSH: u32 = 4;
const VIRTIO_BLK_T_GET_ID: u32 = 8;

const VIRTIO_BLK_S_OK: u8 = 0;
const VIRTIO_BLK_S_IOERR: u8 = 1;
const VIRTIO_BLK_S_UNSUPP: u8 = 2;

/// Length of the request header (type, reserved, sector).
const HEADER_LEN: usize = 16;

/// What the disk backend must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockOp {
    Read { sector: u64, len: u32 },
    Write { sector: u64, data: Vec<u8> },
    Flush,
}

/// One request for the disk backend. `id` counts requests from 0 in
/// submission order, so it is the same in record and replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRequest {
    pub id: u64,
    pub op: BlockOp,
}

/// The backend's answer. `data` holds the bytes read (empty otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockCompletion {
    pub id: u64,
    pub ok: bool,
    pub data: Vec<u8>,
}

/// [`VirtioBlk`] as plain data (snapshots).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlkState {
    pub capacity_sectors: u64,
    pub next_id: u64,
    /// Requests handed to the disk backend, by id, with the chain they answer.
    pub in_flight: Vec<(u64, DescChain)>,
    pub outbox: Vec<BlockRequest>,
}

struct InFlight {
    id: u64,
    chain: DescChain,
}

pub struct VirtioBlk {
    capacity_sectors: u64,
    next_id: u64,
    in_flight: Vec<InFlight>,
    outbox: Vec<BlockRequest>,
}

impl VirtioBlk {
    pub fn new(size_bytes: u64) -> Self {
        VirtioBlk {
            capacity_sectors: size_bytes / SECTOR_SIZE,
            next_id: 0,
            in_flight: Vec::new(),
            outbox: Vec::new(),
        }
    }

    /// Requests parsed since the last call, in submission order.
    pub fn take_requests(&mut self) -> Vec<BlockRequest> {
        std::mem::take(&mut self.outbox)
    }

    /// Whether request `id` is still waiting for the backend.
    pub fn is_in_flight(&self, id: u64) -> bool {
        self.in_flight.iter().any(|f| f.id == id)
    }

    /// Finishes request `c.id`: copies read data, writes the status byte,
    /// returns the chain. Unknown ids (e.g. after a device reset) are dropped.
    pub fn complete(&mut self, c: &BlockCompletion, ctx: &mut QueueCtx<'_>) {
        let Some(pos) = self.in_flight.iter().position(|f| f.id == c.id) else {
            return;
        };
        let f = self.in_flight.remove(pos);
        let status = if c.ok {
            VIRTIO_BLK_S_OK
        } else {
            VIRTIO_BLK_S_IOERR
        };
        let data: &[u8] = if c.ok { &c.data } else { &[] };
        finish(&f.chain, data, status, ctx);
    }

    fn parse(&mut self, chain: DescChain, ctx: &mut QueueCtx<'_>) {
        let Ok(readable) = chain.read_all(&ctx.mem) else {
            ctx.broken = true;
            return;
        };
        let writable = chain.writable_len();
        if readable.len() < HEADER_LEN || writable == 0 {
            // No header or no status byte: a driver bug, as QEMU's virtio_error.
            ctx.broken = true;
            return;
        }
        let kind = u32::from_le_bytes(readable[0..4].try_into().unwrap_or_default());
        let sector = u64::from_le_bytes(readable[8..16].try_into().unwrap_or_default());
        let payload = &readable[HEADER_LEN..];
        let data_in = writable - 1;
        let in_range = |len: u64| {
            sector
                .checked_mul(SECTOR_SIZE)
                .and_then(|b| b.checked_add(len))
                .is_some_and(|end| end <= self.capacity_sectors * SECTOR_SIZE)
                && len.is_multiple_of(SECTOR_SIZE)
        };
        let op = match kind {
            VIRTIO_BLK_T_IN if in_range(data_in) => BlockOp::Read {
                sector,
                len: data_in as u32,
            },
            VIRTIO_BLK_T_OUT if in_range(payload.len() as u64) => BlockOp::Write {
                sector,
                data: payload.to_vec(),
            },
            VIRTIO_BLK_T_IN | VIRTIO_BLK_T_OUT => {
                return finish(&chain, &[], VIRTIO_BLK_S_IOERR, ctx)
            }
            VIRTIO_BLK_T_FLUSH => BlockOp::Flush,
            // No serial configured: QEMU answers an empty (all zero) id.
            VIRTIO_BLK_T_GET_ID => return finish(&chain, &[0; 20], VIRTIO_BLK_S_OK, ctx),
            _ => return finish(&chain, &[], VIRTIO_BLK_S_UNSUPP, ctx),
        };
        let id = self.next_id;
        self.next_id += 1;
        self.outbox.push(BlockRequest { id, op });
        self.in_flight.push(InFlight { id, chain });
    }
}

/// Writes `data` to the start of the writable area and `status` to its last
/// byte, then returns the chain to the used ring.
fn finish(chain: &DescChain, data: &[u8], status: u8, ctx: &mut QueueCtx<'_>) {
    let room = chain.writable_len().saturating_sub(1) as usize;
    let data = &data[..data.len().min(room)];
    // Bytes between the data and the status byte are left as the guest
    // wrote them: write the data, then the status byte on its own.
    let r = chain.write_all(&mut ctx.mem, data).and_then(|_| {
        let last = chain
            .descs
            .iter()
            .rev()
            .find(|d| d.write && d.len > 0)
            .copied();
        match last {
            Some(d) => ctx.mem.write(d.addr + d.len as u64 - 1, &[status]),
            None => Ok(()),
        }
    });
    let used = r
        .map_err(super::QueueError::from)
        .and_then(|_| ctx.queues[0].push_used(&mut ctx.mem, chain.head, data.len() as u32 + 1));
    match used {
        Ok(()) => ctx.notify_guest = true,
        Err(_) => ctx.broken = true,
    }
}

impl VirtioDevice for VirtioBlk {
    fn device_id(&self) -> u32 {
        device_id::BLOCK
    }
    fn features(&self) -> u64 {
        VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH
    }
    fn num_queues(&self) -> usize {
        1
    }
    fn queue_max_size(&self, _q: usize) -> u16 {
        QUEUE_SIZE
    }
    fn read_config(&self, offset: u64, data: &mut [u8]) {
        // struct virtio_blk_config: capacity@0, size_max@8, seg_max@12,
        // geometry@16, blk_size@20, ..., num_queues@34.
        let mut cfg = [0u8; 64];
        cfg[0..8].copy_from_slice(&self.capacity_sectors.to_le_bytes());
        cfg[12..16].copy_from_slice(&(QUEUE_SIZE as u32 - 2).to_le_bytes());
        cfg[20..24].copy_from_slice(&(SECTOR_SIZE as u32).to_le_bytes());
        cfg[34..36].copy_from_slice(&1u16.to_le_bytes());
        for (i, b) in data.iter_mut().enumerate() {
            *b = cfg.get(offset as usize + i).copied().unwrap_or(0);
        }
    }
    fn write_config(&mut self, _offset: u64, _data: &[u8]) {}
    fn activate(&mut self, _features: u64) {}
    fn reset(&mut self) {
        // Completions for dropped requests are ignored by `complete`.
        self.in_flight.clear();
        self.outbox.clear();
    }
    fn queue_notify(&mut self, queue: u16, ctx: &mut QueueCtx<'_>) {
        if queue != 0 {
            return;
        }
        loop {
            match ctx.queues[0].pop(&ctx.mem) {
                Ok(Some(chain)) => self.parse(chain, ctx),
                Ok(None) => break,
                Err(_) => {
                    ctx.broken = true;
                    break;
                }
            }
        }
    }
    fn digest_state(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.capacity_sectors.to_le_bytes());
        out.extend_from_slice(&self.next_id.to_le_bytes());
        for f in &self.in_flight {
            out.extend_from_slice(&f.id.to_le_bytes());
            out.extend_from_slice(&f.chain.head.to_le_bytes());
        }
    }
    fn save_state(&self) -> DeviceState {
        DeviceState::Blk(BlkState {
            capacity_sectors: self.capacity_sectors,
            next_id: self.next_id,
            in_flight: self
                .in_flight
                .iter()
                .map(|f| (f.id, f.chain.clone()))
                .collect(),
            outbox: self.outbox.clone(),
        })
    }
    fn restore_state(&mut self, s: &DeviceState) -> Result<(), StateError> {
        let DeviceState::Blk(s) = s else {
            return Err(StateError::new(
                "virtio-blk",
                format!("saved state is {}", s.kind()),
            ));
        };
        if s.capacity_sectors != self.capacity_sectors {
            return Err(StateError::new(
                "virtio-blk",
                format!(
                    "a disk of {} sectors, this one has {}",
                    s.capacity_sectors, self.capacity_sectors
                ),
            ));
        }
        for (_, c) in &s.in_flight {
            super::check_chain("virtio-blk", c, QUEUE_SIZE)?;
        }
        self.next_id = s.next_id;
        self.in_flight = s
            .in_flight
            .iter()
            .map(|(id, chain)| InFlight {
                id: *id,
                chain: chain.clone(),
            })
            .collect();
        self.outbox = s.outbox.clone();
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
    use crate::devices::virtio::queue::tests::{publish, ready_queue, AVAIL, DESC, USED};
    use crate::devices::virtio::GuestMem;
    use crate::devices::IrqLine;

    const HDR: u64 = 0x8000_4000;
    const BUF: u64 = 0x8000_5000;
    const STATUS: u64 = 0x8000_6000;

    fn setup() -> (VirtioMmio, Ram, std::rc::Rc<crate::devices::IrqLevels>) {
        let (irq, levels) = IrqLine::recording(8);
        let mut ram = Ram::new(PhysAddr(0x8000_0000), 1 << 20);
        let mut t = VirtioMmio::new(Some(Box::new(VirtioBlk::new(1 << 20))), irq);
        for (reg, v) in [
            (mmio::STATUS, 1),
            (mmio::STATUS, 3),
            (mmio::STATUS, 11),
            (mmio::QUEUE_NUM, 8),
            (mmio::QUEUE_DESC_LOW, DESC),
            (mmio::QUEUE_DRIVER_LOW, AVAIL),
            (mmio::QUEUE_DEVICE_LOW, USED),
            (mmio::QUEUE_READY, 1),
            (mmio::STATUS, 15),
        ] {
            t.write(reg, 4, v, &mut ram).unwrap();
        }
        (t, ram, levels)
    }

    fn header(ram: &mut Ram, kind: u32, sector: u64) {
        let mut mem = GuestMem::new(ram);
        mem.write_u32(HDR, kind).unwrap();
        mem.write(HDR + 8, &sector.to_le_bytes()).unwrap();
        mem.write(STATUS, &[0xff]).unwrap();
    }

    #[test]
    fn capacity_in_config_space() {
        let (mut t, _, _) = setup();
        assert_eq!(t.read(mmio::CONFIG, 4).unwrap(), 2048);
        assert_eq!(t.read(mmio::CONFIG + 20, 4).unwrap(), 512);
    }

    #[test]
    fn read_completes_only_when_backend_answers() {
        let (mut t, mut ram, levels) = setup();
        header(&mut ram, VIRTIO_BLK_T_IN, 3);
        publish(
            &mut ram,
            &ready_queue(8),
            0,
            &[(HDR, 16, false), (BUF, 512, true), (STATUS, 1, true)],
        );
        t.write(mmio::QUEUE_NOTIFY, 4, 0, &mut ram).unwrap();
        let reqs = t
            .with_device(&mut ram, |d, _| {
                d.as_any_mut()
                    .downcast_mut::<VirtioBlk>()
                    .unwrap()
                    .take_requests()
            })
            .unwrap();
        assert_eq!(
            reqs,
            vec![BlockRequest {
                id: 0,
                op: BlockOp::Read {
                    sector: 3,
                    len: 512
                }
            }]
        );
        assert!(levels.history().is_empty());
        let done = BlockCompletion {
            id: 0,
            ok: true,
            data: vec![0xab; 512],
        };
        t.with_device(&mut ram, |d, ctx| {
            d.as_any_mut()
                .downcast_mut::<VirtioBlk>()
                .unwrap()
                .complete(&done, ctx)
        });
        let mem = GuestMem::new(&mut ram);
        assert_eq!(mem.read_u32(BUF).unwrap(), 0xabab_abab);
        assert_eq!(mem.read_u16(STATUS).unwrap() & 0xff, VIRTIO_BLK_S_OK as u16);
        assert_eq!(mem.read_u32(USED + 8).unwrap(), 513);
        assert_eq!(levels.history(), vec![(8, true)]);
    }

    #[test]
    fn out_of_range_read_fails_at_once() {
        let (mut t, mut ram, levels) = setup();
        header(&mut ram, VIRTIO_BLK_T_IN, 2048);
        publish(
            &mut ram,
            &ready_queue(8),
            0,
            &[(HDR, 16, false), (BUF, 512, true), (STATUS, 1, true)],
        );
        t.write(mmio::QUEUE_NOTIFY, 4, 0, &mut ram).unwrap();
        let mem = GuestMem::new(&mut ram);
        assert_eq!(
            mem.read_u16(STATUS).unwrap() & 0xff,
            VIRTIO_BLK_S_IOERR as u16
        );
        assert_eq!(levels.history(), vec![(8, true)]);
    }

    #[test]
    fn write_carries_payload_and_unknown_type_is_unsupported() {
        let (mut t, mut ram, _) = setup();
        header(&mut ram, VIRTIO_BLK_T_OUT, 1);
        GuestMem::new(&mut ram).write(BUF, &[7; 512]).unwrap();
        publish(
            &mut ram,
            &ready_queue(8),
            0,
            &[(HDR, 16, false), (BUF, 512, false), (STATUS, 1, true)],
        );
        t.write(mmio::QUEUE_NOTIFY, 4, 0, &mut ram).unwrap();
        let reqs = t
            .with_device(&mut ram, |d, _| {
                d.as_any_mut()
                    .downcast_mut::<VirtioBlk>()
                    .unwrap()
                    .take_requests()
            })
            .unwrap();
        assert_eq!(
            reqs[0].op,
            BlockOp::Write {
                sector: 1,
                data: vec![7; 512]
            }
        );
        header(&mut ram, 99, 0);
        publish(
            &mut ram,
            &ready_queue(8),
            3,
            &[(HDR, 16, false), (STATUS, 1, true)],
        );
        t.write(mmio::QUEUE_NOTIFY, 4, 0, &mut ram).unwrap();
        let mem = GuestMem::new(&mut ram);
        assert_eq!(
            mem.read_u16(STATUS).unwrap() & 0xff,
            VIRTIO_BLK_S_UNSUPP as u16
        );
    }
}
