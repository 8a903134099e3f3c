//! virtio-net (id 1), virtio 1.x, as QEMU's `virtio-net-device` behind a
//! user-mode (no vnet header) netdev: one rx/tx queue pair, no offloads.
//!
//! TX: frames the guest queues go, without their virtio header, to a sink
//! the machine gives (the host backend in live/record mode; nothing in
//! replay, where the recorded replies stand in for the host).
//! RX: the machine hands in each frame delivered through the
//! non-determinism door (`AsyncInput::NetRx`); frames wait in a bounded
//! queue until the guest offers receive buffers, as QEMU's net queue does
//! while `virtio_net_can_receive` is false. The queue is guest-visible
//! state: it is part of the digest.

use std::any::Any;
use std::collections::VecDeque;

use super::{device_id, DeviceState, QueueCtx, VirtioDevice};
use crate::devices::StateError;

/// Feature bits (virtio 1.2, 5.1.3).
pub const VIRTIO_NET_F_MAC: u64 = 1 << 5;
pub const VIRTIO_NET_F_STATUS: u64 = 1 << 16;
/// `status` field of the config space.
const VIRTIO_NET_S_LINK_UP: u16 = 1;

pub const RX_QUEUE: u16 = 0;
pub const TX_QUEUE: u16 = 1;
/// QEMU's default rx_queue_size / tx_queue_size.
const QUEUE_SIZE: u16 = 256;

/// `struct virtio_net_hdr_v1`: flags, gso_type, hdr_len, gso_size,
/// csum_start, csum_offset, num_buffers. Its length with VERSION_1.
pub const NET_HDR_LEN: usize = 12;
/// Largest frame the guest may transmit: 64 KiB GSO frames are not
/// negotiated, so this only guards against absurd descriptor lengths.
const MAX_TX_FRAME: u64 = 65_536;
/// Frames waiting for rx buffers; more are dropped (QEMU drops past its
/// net queue limit too, and the guest's TCP/UDP retry).
const MAX_PENDING_RX: usize = 1024;

/// Where transmitted frames go.
pub type TxSink = Box<dyn FnMut(Vec<u8>)>;

/// Counters; all deterministic, so they are digested too.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct NetCounters {
    pub tx_frames: u64,
    pub rx_frames: u64,
    /// Frames dropped because the pending queue was full.
    pub rx_dropped_full: u64,
    /// Frames dropped because the guest's buffer was too small for them.
    pub rx_dropped_too_big: u64,
}

/// [`VirtioNet`] as plain data (snapshots); the host sink is not state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetState {
    pub mac: [u8; 6],
    pub active: bool,
    pub features: u64,
    pub pending_rx: Vec<Vec<u8>>,
    pub counters: NetCounters,
}

pub struct VirtioNet {
    mac: [u8; 6],
    tx: Option<TxSink>,
    /// DRIVER_OK seen and not reset since.
    active: bool,
    features: u64,
    pending_rx: VecDeque<Vec<u8>>,
    counters: NetCounters,
}

impl VirtioNet {
    /// A NIC with address `mac` whose transmitted frames go to `tx` (`None`:
    /// dropped, as in replay).
    pub fn new(mac: [u8; 6], tx: Option<TxSink>) -> Self {
        VirtioNet {
            mac,
            tx,
            active: false,
            features: 0,
            pending_rx: VecDeque::new(),
            counters: NetCounters::default(),
        }
    }

    pub fn mac(&self) -> [u8; 6] {
        self.mac
    }

    /// Connects transmission to `tx` (a replay going live gets the host
    /// network it did not have).
    pub fn set_tx_sink(&mut self, tx: TxSink) {
        self.tx = Some(tx);
    }

    pub fn counters(&self) -> NetCounters {
        self.counters
    }

    /// Frames received but not yet placed in guest buffers.
    pub fn pending_rx(&self) -> usize {
        self.pending_rx.len()
    }

    /// Delivers one Ethernet frame from the network (without virtio header).
    /// It lands in the next rx buffer now, or waits for one.
    pub fn receive(&mut self, frame: &[u8], ctx: &mut QueueCtx<'_>) {
        if self.pending_rx.len() >= MAX_PENDING_RX {
            self.counters.rx_dropped_full += 1;
            return;
        }
        self.pending_rx.push_back(frame.to_vec());
        self.flush_rx(ctx);
    }

    /// Moves pending frames into the guest's rx buffers while both exist.
    /// Each frame takes one buffer chain (no MRG_RXBUF), so the loop ends
    /// when either runs out; at most one queue's worth of chains per call.
    fn flush_rx(&mut self, ctx: &mut QueueCtx<'_>) {
        let Some(q) = ctx.queues.get_mut(RX_QUEUE as usize) else {
            return;
        };
        if !self.active || !q.ready {
            return;
        }
        for _ in 0..q.size {
            let Some(frame) = self.pending_rx.front() else {
                return;
            };
            let chain = match q.pop(&ctx.mem) {
                Ok(Some(c)) => c,
                Ok(None) => return,
                Err(_) => {
                    ctx.broken = true;
                    return;
                }
            };
            if chain.writable_len() < (NET_HDR_LEN + frame.len()) as u64 {
                // As QEMU without mergeable buffers: give the chain back
                // unused and drop the frame.
                q.last_avail = q.last_avail.wrapping_sub(1);
                self.pending_rx.pop_front();
                self.counters.rx_dropped_too_big += 1;
                continue;
            }
            let mut buf = vec![0u8; NET_HDR_LEN + frame.len()];
            // flags 0, GSO_NONE, no checksum offload; num_buffers = 1.
            buf[10..12].copy_from_slice(&1u16.to_le_bytes());
            buf[NET_HDR_LEN..].copy_from_slice(frame);
            let done = chain
                .write_all(&mut ctx.mem, &buf)
                .map_err(super::QueueError::from)
                .and_then(|n| q.push_used(&mut ctx.mem, chain.head, n));
            if done.is_err() {
                ctx.broken = true;
                return;
            }
            self.pending_rx.pop_front();
            self.counters.rx_frames += 1;
            ctx.notify_guest = true;
        }
    }

    /// Sends every frame the guest queued for transmission, at most one
    /// queue's worth per notify.
    fn process_tx(&mut self, ctx: &mut QueueCtx<'_>) {
        let Some(q) = ctx.queues.get_mut(TX_QUEUE as usize) else {
            return;
        };
        for _ in 0..q.size {
            let chain = match q.pop(&ctx.mem) {
                Ok(Some(c)) => c,
                Ok(None) => return,
                Err(_) => {
                    ctx.broken = true;
                    return;
                }
            };
            let readable: u64 = chain
                .descs
                .iter()
                .filter(|d| !d.write)
                .map(|d| u64::from(d.len))
                .sum();
            if readable < NET_HDR_LEN as u64 || readable > NET_HDR_LEN as u64 + MAX_TX_FRAME {
                // QEMU: "virtio-net header incorrect" -> virtio_error.
                ctx.broken = true;
                return;
            }
            let Ok(bytes) = chain.read_all(&ctx.mem) else {
                ctx.broken = true;
                return;
            };
            if q.push_used(&mut ctx.mem, chain.head, 0).is_err() {
                ctx.broken = true;
                return;
            }
            ctx.notify_guest = true;
            self.counters.tx_frames += 1;
            if let Some(tx) = self.tx.as_mut() {
                tx(bytes[NET_HDR_LEN..].to_vec());
            }
        }
    }
}

impl VirtioDevice for VirtioNet {
    fn device_id(&self) -> u32 {
        device_id::NET
    }
    fn features(&self) -> u64 {
        VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS
    }
    fn num_queues(&self) -> usize {
        2
    }
    fn queue_max_size(&self, _q: usize) -> u16 {
        QUEUE_SIZE
    }
    fn read_config(&self, offset: u64, data: &mut [u8]) {
        // struct virtio_net_config: mac[6]@0, status@6 (more fields only
        // with features we do not offer).
        let mut cfg = [0u8; 8];
        cfg[..6].copy_from_slice(&self.mac);
        cfg[6..8].copy_from_slice(&VIRTIO_NET_S_LINK_UP.to_le_bytes());
        for (i, b) in data.iter_mut().enumerate() {
            *b = usize::try_from(offset)
                .ok()
                .and_then(|o| cfg.get(o + i))
                .copied()
                .unwrap_or(0);
        }
    }
    fn write_config(&mut self, _offset: u64, _data: &[u8]) {
        // The MAC is read-only for VERSION_1 drivers (virtio 1.2, 5.1.4.2).
    }
    fn activate(&mut self, features: u64) {
        self.features = features;
        self.active = true;
    }
    fn reset(&mut self) {
        self.active = false;
        self.features = 0;
        self.pending_rx.clear();
    }
    fn queue_notify(&mut self, queue: u16, ctx: &mut QueueCtx<'_>) {
        match queue {
            RX_QUEUE => self.flush_rx(ctx),
            TX_QUEUE => self.process_tx(ctx),
            _ => {}
        }
    }
    fn digest_state(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.mac);
        out.push(self.active as u8);
        out.extend_from_slice(&self.features.to_le_bytes());
        let c = self.counters;
        for v in [
            c.tx_frames,
            c.rx_frames,
            c.rx_dropped_full,
            c.rx_dropped_too_big,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&(self.pending_rx.len() as u32).to_le_bytes());
        for f in &self.pending_rx {
            out.extend_from_slice(&(f.len() as u32).to_le_bytes());
            out.extend_from_slice(f);
        }
    }
    fn save_state(&self) -> DeviceState {
        DeviceState::Net(NetState {
            mac: self.mac,
            active: self.active,
            features: self.features,
            pending_rx: self.pending_rx.iter().cloned().collect(),
            counters: self.counters,
        })
    }
    fn restore_state(&mut self, s: &DeviceState) -> Result<(), StateError> {
        let DeviceState::Net(s) = s else {
            return Err(StateError::new(
                "virtio-net",
                format!("saved state is {}", s.kind()),
            ));
        };
        if s.pending_rx.len() > MAX_PENDING_RX {
            return Err(StateError::new(
                "virtio-net",
                format!(
                    "{} frames waiting, at most {MAX_PENDING_RX}",
                    s.pending_rx.len()
                ),
            ));
        }
        self.mac = s.mac;
        self.active = s.active;
        self.features = s.features;
        self.pending_rx = s.pending_rx.iter().cloned().collect();
        self.counters = s.counters;
        Ok(())
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
