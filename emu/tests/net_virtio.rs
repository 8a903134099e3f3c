//! virtio-net through the virtio-mmio transport, driven like a guest driver
//! would: split virtqueues laid out in guest RAM, registers written by
//! offset, interrupts observed on a recording line. The last test connects
//! the device to the real libslirp backend.

mod net_frames;

use std::cell::RefCell;
use std::rc::Rc;
#[cfg(feature = "user-net")]
use std::time::{Duration, Instant};

use emu::bus::{PhysAddr, Ram};
use emu::devices::virtio::mmio::{self, VirtioMmio};
use emu::devices::virtio::net::{
    VirtioNet, NET_HDR_LEN, RX_QUEUE, TX_QUEUE, VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS,
};
use emu::devices::virtio::{GuestMem, VIRTIO_F_VERSION_1};
use emu::devices::{IrqLevels, IrqLine};
#[cfg(feature = "user-net")]
use emu::host::net::{UserNet, UserNetConfig};

const RAM_BASE: u64 = 0x8000_0000;
const IRQ: u32 = 7;
const DESC_F_NEXT: u16 = 1;
const DESC_F_WRITE: u16 = 2;
const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

/// Ring addresses of one queue in guest RAM.
#[derive(Clone, Copy)]
struct Rings {
    desc: u64,
    avail: u64,
    used: u64,
    size: u16,
}

const RXQ: Rings = Rings {
    desc: RAM_BASE + 0x1000,
    avail: RAM_BASE + 0x2000,
    used: RAM_BASE + 0x3000,
    size: 16,
};
const TXQ: Rings = Rings {
    desc: RAM_BASE + 0x4000,
    avail: RAM_BASE + 0x5000,
    used: RAM_BASE + 0x6000,
    size: 16,
};
const BUFS: u64 = RAM_BASE + 0x1_0000;

/// The driver side: RAM, the transport, and a cursor per queue.
struct Driver {
    ram: Ram,
    dev: VirtioMmio,
    levels: Rc<IrqLevels>,
    sent: Rc<RefCell<Vec<Vec<u8>>>>,
    next_desc: [u16; 2],
    used_seen: [u16; 2],
    next_buf: u64,
}

impl Driver {
    /// A device whose transmitted frames are collected in `sent`.
    fn new() -> Driver {
        let sent = Rc::new(RefCell::new(Vec::new()));
        let sink = sent.clone();
        Driver::with_sink(Box::new(move |f| sink.borrow_mut().push(f)), sent)
    }

    fn with_sink(sink: Box<dyn FnMut(Vec<u8>)>, sent: Rc<RefCell<Vec<Vec<u8>>>>) -> Driver {
        let (irq, levels) = IrqLine::recording(IRQ);
        let dev = VirtioMmio::new(Some(Box::new(VirtioNet::new(MAC, Some(sink)))), irq);
        Driver {
            ram: Ram::new(PhysAddr(RAM_BASE), 1 << 20),
            dev,
            levels,
            sent,
            next_desc: [0; 2],
            used_seen: [0; 2],
            next_buf: BUFS,
        }
    }

    fn w(&mut self, reg: u64, v: u64) {
        self.dev.write(reg, 4, v, &mut self.ram).unwrap();
    }
    fn r(&mut self, reg: u64) -> u64 {
        self.dev.read(reg, 4).unwrap()
    }
    fn mem(&mut self) -> GuestMem<'_> {
        GuestMem::new(&mut self.ram)
    }

    /// The virtio 1.2 (3.1.1) initialisation sequence; accepts `features`.
    fn init(&mut self, features: u64) {
        self.w(mmio::STATUS, 0);
        self.w(mmio::STATUS, 1); // ACKNOWLEDGE
        self.w(mmio::STATUS, 3); // DRIVER
        self.w(mmio::DRIVER_FEATURES_SEL, 0);
        self.w(mmio::DRIVER_FEATURES, features & 0xffff_ffff);
        self.w(mmio::DRIVER_FEATURES_SEL, 1);
        self.w(mmio::DRIVER_FEATURES, features >> 32);
        self.w(mmio::STATUS, 11); // FEATURES_OK
        assert_eq!(self.r(mmio::STATUS) & 8, 8, "features accepted");
        for (q, rings) in [(RX_QUEUE, RXQ), (TX_QUEUE, TXQ)] {
            self.w(mmio::QUEUE_SEL, u64::from(q));
            assert_eq!(self.r(mmio::QUEUE_NUM_MAX), 256);
            self.w(mmio::QUEUE_NUM, u64::from(rings.size));
            self.w(mmio::QUEUE_DESC_LOW, rings.desc & 0xffff_ffff);
            self.w(mmio::QUEUE_DESC_HIGH, rings.desc >> 32);
            self.w(mmio::QUEUE_DRIVER_LOW, rings.avail & 0xffff_ffff);
            self.w(mmio::QUEUE_DRIVER_HIGH, rings.avail >> 32);
            self.w(mmio::QUEUE_DEVICE_LOW, rings.used & 0xffff_ffff);
            self.w(mmio::QUEUE_DEVICE_HIGH, rings.used >> 32);
            self.w(mmio::QUEUE_READY, 1);
        }
        self.w(mmio::STATUS, 15); // DRIVER_OK
    }

    fn init_default(&mut self) {
        self.init(VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_F_VERSION_1);
    }

    fn rings(q: u16) -> Rings {
        if q == RX_QUEUE {
            RXQ
        } else {
            TXQ
        }
    }

    /// Puts a chain of buffers `(addr, len, device-writable)` on queue `q`'s
    /// available ring. Returns the head index.
    fn publish(&mut self, q: u16, bufs: &[(u64, u32, bool)]) -> u16 {
        let rings = Self::rings(q);
        let first = self.next_desc[q as usize];
        for (i, &(addr, len, w)) in bufs.iter().enumerate() {
            let idx = (first + i as u16) % rings.size;
            let base = rings.desc + 16 * u64::from(idx);
            let mut flags = if w { DESC_F_WRITE } else { 0 };
            if i + 1 < bufs.len() {
                flags |= DESC_F_NEXT;
            }
            let next = (idx + 1) % rings.size;
            let mut m = self.mem();
            m.write(base, &addr.to_le_bytes()).unwrap();
            m.write_u32(base + 8, len).unwrap();
            m.write_u16(base + 12, flags).unwrap();
            m.write_u16(base + 14, next).unwrap();
        }
        self.next_desc[q as usize] = (first + bufs.len() as u16) % rings.size;
        let mut m = self.mem();
        let idx = m.read_u16(rings.avail + 2).unwrap();
        m.write_u16(rings.avail + 4 + 2 * u64::from(idx % rings.size), first)
            .unwrap();
        m.write_u16(rings.avail + 2, idx.wrapping_add(1)).unwrap();
        first
    }

    /// Allocates a buffer in guest RAM holding `data` (or zeroed, `len` long).
    fn buffer(&mut self, data: &[u8], len: usize) -> u64 {
        let addr = self.next_buf;
        self.next_buf += (len as u64 + 0xfff) & !0xfff;
        if !data.is_empty() {
            self.mem().write(addr, data).unwrap();
        }
        addr
    }

    fn notify(&mut self, q: u16) {
        self.w(mmio::QUEUE_NOTIFY, u64::from(q));
    }

    /// New used-ring entries of queue `q` as (head, len).
    fn take_used(&mut self, q: u16) -> Vec<(u16, u32)> {
        let rings = Self::rings(q);
        let mut out = Vec::new();
        let m = GuestMem::new(&mut self.ram);
        let idx = m.read_u16(rings.used + 2).unwrap();
        while self.used_seen[q as usize] != idx {
            let slot = u64::from(self.used_seen[q as usize] % rings.size);
            let e = rings.used + 4 + 8 * slot;
            out.push((m.read_u32(e).unwrap() as u16, m.read_u32(e + 4).unwrap()));
            self.used_seen[q as usize] = self.used_seen[q as usize].wrapping_add(1);
        }
        out
    }

    /// Transmits `frame` as a header descriptor plus a data descriptor.
    fn transmit(&mut self, frame: &[u8]) {
        let hdr = self.buffer(&[0; NET_HDR_LEN], NET_HDR_LEN);
        let data = self.buffer(frame, frame.len());
        self.publish(
            TX_QUEUE,
            &[
                (hdr, NET_HDR_LEN as u32, false),
                (data, frame.len() as u32, false),
            ],
        );
        self.notify(TX_QUEUE);
    }

    /// Offers one receive buffer of `len` bytes; returns its address.
    fn offer_rx(&mut self, len: u32) -> u64 {
        let addr = self.buffer(&[], len as usize);
        self.publish(RX_QUEUE, &[(addr, len, true)]);
        addr
    }

    /// The machine's side: a frame arrives from the network.
    fn deliver(&mut self, frame: &[u8]) {
        self.dev
            .with_device(&mut self.ram, |d, ctx| {
                d.as_any_mut()
                    .downcast_mut::<VirtioNet>()
                    .unwrap()
                    .receive(frame, ctx)
            })
            .unwrap();
    }

    fn net(&self) -> &VirtioNet {
        self.dev
            .device()
            .unwrap()
            .as_any()
            .downcast_ref::<VirtioNet>()
            .unwrap()
    }

    fn read(&mut self, addr: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.mem().read(addr, &mut v).unwrap();
        v
    }

    fn irq_raised(&self) -> bool {
        self.levels.level(IRQ)
    }

    fn ack_irq(&mut self) {
        let s = self.r(mmio::INTERRUPT_STATUS);
        self.w(mmio::INTERRUPT_ACK, s);
    }
}

#[test]
fn identity_features_and_config_space() {
    let mut d = Driver::new();
    assert_eq!(d.r(mmio::MAGIC_VALUE), 0x7472_6976);
    assert_eq!(d.r(mmio::DEVICE_ID), 1, "network card");
    d.w(mmio::DEVICE_FEATURES_SEL, 0);
    let lo = d.r(mmio::DEVICE_FEATURES);
    d.w(mmio::DEVICE_FEATURES_SEL, 1);
    let hi = d.r(mmio::DEVICE_FEATURES);
    let offered = lo | hi << 32;
    assert_eq!(offered & VIRTIO_NET_F_MAC, VIRTIO_NET_F_MAC);
    assert_eq!(offered & VIRTIO_NET_F_STATUS, VIRTIO_NET_F_STATUS);
    assert_eq!(offered & VIRTIO_F_VERSION_1, VIRTIO_F_VERSION_1);
    // Drivers read the MAC byte by byte (Linux's virtio_cread8).
    let mac: Vec<u8> = (0..6)
        .map(|i| d.dev.read(mmio::CONFIG + i, 1).unwrap() as u8)
        .collect();
    assert_eq!(mac, MAC);
    assert_eq!(d.dev.read(mmio::CONFIG + 6, 2).unwrap(), 1, "link up");
    // The MAC is read-only for a VERSION_1 driver.
    d.dev.write(mmio::CONFIG, 1, 0xaa, &mut d.ram).unwrap();
    assert_eq!(d.dev.read(mmio::CONFIG, 1).unwrap(), 0x52);
    // Accepting an unoffered feature (bit 15, MRG_RXBUF) is refused.
    d.w(mmio::STATUS, 3);
    d.w(mmio::DRIVER_FEATURES_SEL, 0);
    d.w(mmio::DRIVER_FEATURES, 1 << 15);
    d.w(mmio::STATUS, 11);
    assert_eq!(d.r(mmio::STATUS) & 8, 0);
}

#[test]
fn transmit_strips_the_header_and_returns_the_buffer() {
    let mut d = Driver::new();
    d.init_default();
    let frame = net_frames::arp_request([10, 0, 2, 2]);
    d.transmit(&frame);
    assert_eq!(*d.sent.borrow(), vec![frame.clone()]);
    assert_eq!(d.take_used(TX_QUEUE), vec![(0, 0)]);
    assert!(d.irq_raised());
    assert_eq!(d.r(mmio::INTERRUPT_STATUS), 1);
    d.ack_irq();
    assert!(!d.irq_raised());
    // Header and frame in one descriptor, as U-Boot sends them.
    let mut one = vec![0u8; NET_HDR_LEN];
    one.extend_from_slice(&frame);
    let buf = d.buffer(&one, one.len());
    d.publish(TX_QUEUE, &[(buf, one.len() as u32, false)]);
    d.notify(TX_QUEUE);
    assert_eq!(d.sent.borrow().len(), 2);
    assert_eq!(d.sent.borrow()[1], frame);
    assert_eq!(d.net().counters().tx_frames, 2);
}

#[test]
fn receive_fills_a_buffer_with_v1_header_and_interrupts() {
    let mut d = Driver::new();
    d.init_default();
    let a = d.offer_rx(1526);
    let b = d.offer_rx(1526);
    d.notify(RX_QUEUE);
    assert!(!d.irq_raised(), "buffers alone raise nothing");
    let frame = net_frames::icmp_echo_frame(MAC, [10, 0, 2, 15], 1, 2, b"ping");
    d.deliver(&frame);
    assert_eq!(
        d.take_used(RX_QUEUE),
        vec![(0, (NET_HDR_LEN + frame.len()) as u32)]
    );
    let hdr = d.read(a, NET_HDR_LEN);
    assert_eq!(
        hdr,
        [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0],
        "no offloads, num_buffers = 1"
    );
    assert_eq!(d.read(a + NET_HDR_LEN as u64, frame.len()), frame);
    assert!(d.irq_raised());
    d.ack_irq();
    d.deliver(&frame[..42]);
    assert_eq!(d.take_used(RX_QUEUE), vec![(1, (NET_HDR_LEN + 42) as u32)]);
    assert_eq!(d.read(b + NET_HDR_LEN as u64, 42), frame[..42]);
}

#[test]
fn frames_wait_for_buffers_in_order() {
    let mut d = Driver::new();
    d.init_default();
    let frames: Vec<Vec<u8>> = (0..3u8).map(|i| vec![i; 60]).collect();
    for f in &frames {
        d.deliver(f);
    }
    assert_eq!(d.net().pending_rx(), 3);
    assert!(!d.irq_raised());
    let bufs: Vec<u64> = (0..2).map(|_| d.offer_rx(1526)).collect();
    d.notify(RX_QUEUE);
    assert_eq!(d.take_used(RX_QUEUE).len(), 2);
    assert_eq!(d.net().pending_rx(), 1);
    for (i, &b) in bufs.iter().enumerate() {
        assert_eq!(d.read(b + NET_HDR_LEN as u64, 60), frames[i]);
    }
    let c = d.offer_rx(1526);
    d.notify(RX_QUEUE);
    assert_eq!(d.read(c + NET_HDR_LEN as u64, 60), frames[2]);
    assert_eq!(d.net().pending_rx(), 0);
    assert_eq!(d.net().counters().rx_frames, 3);
}

#[test]
fn too_small_buffer_drops_the_frame_but_keeps_the_buffer() {
    let mut d = Driver::new();
    d.init_default();
    let small = d.offer_rx(64);
    d.notify(RX_QUEUE);
    d.deliver(&[0xab; 100]);
    assert_eq!(d.take_used(RX_QUEUE), vec![]);
    assert_eq!(d.net().counters().rx_dropped_too_big, 1);
    d.deliver(&[0xcd; 40]);
    assert_eq!(d.take_used(RX_QUEUE), vec![(0, (NET_HDR_LEN + 40) as u32)]);
    assert_eq!(d.read(small + NET_HDR_LEN as u64, 40), [0xcd; 40]);
}

#[test]
fn malformed_tx_chains_mark_the_device_broken_without_allocating() {
    for len in [4u32, u32::MAX] {
        let mut d = Driver::new();
        d.init_default();
        let buf = d.buffer(&[], 16);
        d.publish(TX_QUEUE, &[(buf, len, false)]);
        d.notify(TX_QUEUE);
        assert!(d.sent.borrow().is_empty());
        assert_eq!(
            d.r(mmio::STATUS) & 64,
            64,
            "DEVICE_NEEDS_RESET for length {len}"
        );
    }
    // A descriptor outside RAM.
    let mut d = Driver::new();
    d.init_default();
    d.publish(TX_QUEUE, &[(0x1000, 60, false)]);
    d.notify(TX_QUEUE);
    assert_eq!(d.r(mmio::STATUS) & 64, 64);
}

#[test]
fn a_bogus_available_index_costs_at_most_one_queue_per_notify() {
    let mut d = Driver::new();
    d.init_default();
    let mut one = vec![0u8; NET_HDR_LEN];
    one.extend_from_slice(&[0x11; 60]);
    let buf = d.buffer(&one, one.len());
    d.publish(TX_QUEUE, &[(buf, one.len() as u32, false)]);
    // The guest claims 60000 entries; every ring slot names descriptor 0.
    d.mem().write_u16(TXQ.avail + 2, 60_000).unwrap();
    d.notify(TX_QUEUE);
    assert_eq!(d.sent.borrow().len(), usize::from(TXQ.size));
    d.notify(TX_QUEUE);
    assert_eq!(d.sent.borrow().len(), 2 * usize::from(TXQ.size));
}

#[test]
fn reset_forgets_pending_frames_and_nothing_is_received_before_driver_ok() {
    let mut d = Driver::new();
    d.init_default();
    d.deliver(&[1; 60]);
    assert_eq!(d.net().pending_rx(), 1);
    d.w(mmio::STATUS, 0);
    assert_eq!(d.net().pending_rx(), 0);
    // Queues set up again but DRIVER_OK not yet set: the frame waits.
    d.deliver(&[2; 60]);
    assert_eq!(d.net().pending_rx(), 1);
}

#[test]
fn without_a_sink_transmitted_frames_are_dropped() {
    let (irq, _levels) = IrqLine::recording(IRQ);
    let mut d = Driver::new();
    d.dev = VirtioMmio::new(Some(Box::new(VirtioNet::new(MAC, None))), irq);
    d.init_default();
    d.transmit(&[0x22; 60]);
    assert_eq!(d.take_used(TX_QUEUE), vec![(0, 0)], "buffer still returned");
    assert_eq!(d.net().counters().tx_frames, 1);
}

/// Device + real libslirp: a DHCP DISCOVER goes out through the tx queue and
/// the OFFER comes back through the rx queue, the machine's job (moving
/// frames from the backend's channel into the device) done by the test.
#[test]
#[cfg(feature = "user-net")]
fn dhcp_through_the_device_and_libslirp() {
    let (to_guest, from_host) = crossbeam_channel::unbounded();
    let net = UserNet::spawn(
        UserNetConfig {
            restrict: true,
            ..Default::default()
        },
        move |f| to_guest.send(f).is_ok(),
    )
    .unwrap();
    let tx = net.sender();
    let mut d = Driver::with_sink(
        Box::new(move |f| {
            let _ = tx.send(f);
        }),
        Rc::new(RefCell::new(Vec::new())),
    );
    d.init_default();
    let bufs: Vec<u64> = (0..4).map(|_| d.offer_rx(1526)).collect();
    d.notify(RX_QUEUE);
    d.transmit(&net_frames::dhcp_frame(
        net_frames::DHCP_DISCOVER,
        77,
        None,
        None,
    ));
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut offer = None;
    while offer.is_none() {
        let frame = from_host
            .recv_deadline(deadline)
            .expect("a frame from libslirp");
        d.deliver(&frame);
        for (head, len) in d.take_used(RX_QUEUE) {
            let got = d.read(
                bufs[head as usize] + NET_HDR_LEN as u64,
                len as usize - NET_HDR_LEN,
            );
            let parsed = net_frames::parse_ipv4(&got)
                .and_then(|ip| net_frames::parse_udp(&ip))
                .and_then(|(_, _, body)| net_frames::parse_dhcp_reply(&body));
            if let Some(r) = parsed {
                offer = Some((r.kind, r.yiaddr));
            }
        }
    }
    assert_eq!(offer, Some((net_frames::DHCP_OFFER, [10, 0, 2, 15])));
    assert!(d.irq_raised());
    net.shutdown().unwrap();
}
