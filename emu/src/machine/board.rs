//! The virt board as the hart sees it: the physical address map, device
//! dispatch, interrupt wiring, virtual time, and the points where devices
//! need the host (through [`Nondet`]) or produce host output.

use std::collections::VecDeque;
use std::io::Write;
use std::rc::Rc;

use super::clock::VirtualClock;
use super::memmap as mm;
use super::nondet::{AsyncInput, Nondet, NondetError};
use crate::bus::{BusFault, PhysAddr, Ram, SystemBus};
use crate::devices::aclint::Aclint;
use crate::devices::fw_cfg::FwCfg;
use crate::devices::goldfish_rtc::{self, GoldfishRtc};
use crate::devices::mrom::{Mrom, MROM_SIZE};
use crate::devices::pci_ecam::PciEcam;
use crate::devices::pflash::PFlash;
use crate::devices::plic::Plic;
use crate::devices::sifive_test::{SifiveTest, TestRequest, TEST_SIZE};
use crate::devices::uart::Uart;
use crate::devices::virtio::blk::{BlockCompletion, VirtioBlk};
use crate::devices::virtio::mmio::VirtioMmio;
use crate::devices::virtio::net::VirtioNet;
use crate::devices::virtio::rng::VirtioRng;
use crate::devices::{IrqLevels, IrqLine, MmioDevice};
use crate::host::disk::DiskHandle;

mod disk;
mod net;
mod state;
pub use state::BoardState;

/// Why the hart was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The guest wrote the SiFive test device.
    Test(TestRequest),
    /// The user asked to quit (Ctrl-A x).
    Quit,
    /// The non-determinism door failed (see [`Board::take_error`]).
    Error,
}

/// Which device models sit in which virtio-mmio slots.
#[derive(Default)]
pub struct VirtioSetup {
    /// Block device: its backend and size.
    pub blk: Option<DiskHandle>,
    pub net: Option<VirtioNet>,
    pub rng: bool,
}

pub struct Board {
    pub ram: Ram,
    mrom: Mrom,
    test: SifiveTest,
    rtc: GoldfishRtc,
    clint: Aclint,
    plic: Plic,
    uart: Uart,
    virtio: Vec<VirtioMmio>,
    flash: [PFlash; 2],
    ecam: PciEcam,
    fw_cfg: FwCfg,
    levels: Rc<IrqLevels>,
    pub clock: VirtualClock,
    /// mip bits from the ACLINT and PLIC as of the last update.
    lines: u64,
    nondet: Box<dyn Nondet>,
    serial_out: Box<dyn Write>,
    /// Host serial input not yet accepted by the UART (it takes what fits).
    serial_backlog: VecDeque<u8>,
    stop: Option<StopReason>,
    /// A device access moved the next deadline during this slice (see
    /// `note_deadline_change`).
    resched: bool,
    error: Option<NondetError>,
    /// Where the current slice ends, and whether a device access in it
    /// asked the door something (see `note_door_limit`).
    slice_end: u64,
    door_asked: bool,
    disk: Option<DiskHandle>,
    blk_slot: Option<usize>,
    rng_slot: Option<usize>,
    net_slot: Option<usize>,
}

impl Board {
    pub fn new(
        ram_size: u64,
        mrom: Mrom,
        setup: VirtioSetup,
        clock: VirtualClock,
        nondet: Box<dyn Nondet>,
        serial_out: Box<dyn Write>,
    ) -> Board {
        let levels = IrqLevels::new();
        // One hart. The item set is fixed and valid (a unit test builds it).
        let fw_cfg = FwCfg::qemu_virt(1).expect("the virt board's fw_cfg items fit the device");
        let mut slots: Vec<Option<Box<dyn crate::devices::virtio::VirtioDevice>>> =
            (0..mm::VIRTIO_COUNT).map(|_| None).collect();
        let mut n = 0;
        let mut place = |dev: Box<dyn crate::devices::virtio::VirtioDevice>| {
            let slot = mm::virtio_slot_for_device(n);
            n += 1;
            slots[slot] = Some(dev);
            slot
        };
        let blk_slot = setup
            .blk
            .as_ref()
            .map(|d| place(Box::new(VirtioBlk::new(d.size()))));
        let net_slot = setup.net.map(|d| place(Box::new(d)));
        let rng_slot = setup.rng.then(|| place(Box::new(VirtioRng::new())));
        let virtio = slots
            .into_iter()
            .enumerate()
            .map(|(i, d)| VirtioMmio::new(d, IrqLine::new(&levels, mm::virtio_irq(i))))
            .collect();
        Board {
            ram: Ram::new(PhysAddr(mm::DRAM_BASE), ram_size as usize),
            mrom,
            test: SifiveTest::new(),
            rtc: GoldfishRtc::new(IrqLine::new(&levels, mm::RTC_IRQ)),
            clint: Aclint::new(),
            plic: Plic::new(),
            uart: Uart::new(IrqLine::new(&levels, mm::UART_IRQ)),
            virtio,
            flash: [PFlash::new(), PFlash::new()],
            ecam: PciEcam::new(),
            fw_cfg,
            levels,
            clock,
            lines: 0,
            nondet,
            serial_out,
            serial_backlog: VecDeque::new(),
            stop: None,
            resched: false,
            error: None,
            slice_end: u64::MAX,
            door_asked: false,
            disk: setup.blk,
            blk_slot,
            rng_slot,
            net_slot,
        }
    }

    pub fn nondet(&mut self) -> &mut dyn Nondet {
        self.nondet.as_mut()
    }

    pub fn set_mrom(&mut self, mrom: Mrom) {
        self.mrom = mrom;
    }

    /// Devices back to power-on state (guest reset). RAM is kept, as QEMU
    /// keeps it; the caller reloads the images.
    pub fn reset_devices(&mut self) {
        self.test = SifiveTest::new();
        self.clint.reset();
        self.rtc.reset();
        self.uart.reset();
        self.plic.reset();
        for v in &mut self.virtio {
            // Status 0 is the transport's reset.
            let _ = v.write(crate::devices::virtio::mmio::STATUS, 4, 0, &mut self.ram);
        }
        // Flash keeps its contents over a reset (it is storage), as in QEMU.
        self.flash.iter_mut().for_each(PFlash::reset);
        self.ecam = PciEcam::new();
        self.fw_cfg.reset();
        // Typed input not yet taken by the UART stays queued, as it stays in
        // QEMU's character backend.
        self.stop = None;
    }

    /// Remembers a door failure and stops the hart.
    fn fail(&mut self, e: NondetError) {
        if self.error.is_none() {
            self.error = Some(e);
        }
        self.stop = Some(StopReason::Error);
    }

    pub fn take_error(&mut self) -> Option<NondetError> {
        self.error.take()
    }

    pub fn take_stop(&mut self) -> Option<StopReason> {
        self.stop.take()
    }

    /// Whether a stop (poweroff, reset, quit, error) is waiting.
    pub fn stop_pending(&self) -> bool {
        self.stop.is_some()
    }

    /// The icount at which the slice the hart runs now ends.
    pub fn set_slice_end(&mut self, end: u64) {
        self.slice_end = end;
    }

    /// Replay: a device access just consumed a logged event (console
    /// output, a clock read, random bytes), and the next event may be an
    /// input due inside this slice. End the slice after this instruction
    /// so the run loop stops at the input's icount. Without this, a replay
    /// whose slices are cut differently from the recording's (one that
    /// started from a snapshot, or stopped at a debugger's icount) would
    /// run past the input. Record and live doors set no limit.
    fn note_door_limit(&mut self, icount: u64) {
        if !std::mem::take(&mut self.door_asked) {
            return;
        }
        match self.nondet.run_limit(icount) {
            Ok(Some(limit)) if limit < self.slice_end => self.resched = true,
            Ok(_) => {}
            Err(e) => self.fail(e),
        }
    }

    /// Starts a new slice: forget device accesses of the previous one.
    pub fn begin_slice(&mut self) {
        self.resched = false;
    }

    pub fn request_stop(&mut self, r: StopReason) {
        self.stop = Some(r);
    }

    /// Recomputes the hart's interrupt lines at virtual time `now`.
    pub fn update_lines(&mut self, now: u64) {
        self.plic.set_levels(self.levels.bits());
        self.lines = self.plic.lines() | self.clint.lines(now);
    }

    pub fn lines(&self) -> u64 {
        self.lines
    }

    /// Fires device timers whose deadline passed and refreshes the lines.
    pub fn tick(&mut self, now: u64) {
        self.uart.tick(now);
        self.rtc.tick(now);
        self.update_lines(now);
    }

    /// Earliest virtual-ns deadline of any device timer.
    pub fn next_deadline(&self, now: u64) -> Option<u64> {
        [
            self.clint.next_deadline(now),
            self.uart.next_deadline(),
            self.rtc.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The virtual ns at which mtime reaches `ticks` (the hart's Sstc
    /// deadline), if representable.
    pub fn mtime_ns(&self, ticks: u64) -> Option<u64> {
        self.clint.ns_at(ticks)
    }

    /// Takes the host events that arrived (slice boundary) and applies them.
    pub fn poll_async(&mut self, icount: u64) {
        let mut inputs = Vec::new();
        if let Err(e) = self.nondet.poll_async(icount, &mut inputs) {
            self.fail(e);
            return;
        }
        let now = self.clock.now(icount);
        for input in inputs {
            self.apply_input(input);
        }
        self.feed_uart(now);
        self.update_lines(now);
    }

    /// Hands one host event to its device. Serial bytes wait in the backlog
    /// until the UART has room (`feed_uart`).
    fn apply_input(&mut self, input: AsyncInput) {
        match input {
            AsyncInput::Serial(bytes) => self.serial_backlog.extend(bytes),
            AsyncInput::BlockDone(c) => self.complete_block(&c),
            AsyncInput::NetRx { packet } => {
                if let Some(slot) = self.net_slot {
                    self.virtio[slot].with_device(&mut self.ram, |d, ctx| {
                        if let Some(net) = d.as_any_mut().downcast_mut::<VirtioNet>() {
                            net.receive(&packet, ctx);
                        }
                    });
                }
            }
            AsyncInput::Quit => self.stop = Some(StopReason::Quit),
        }
    }

    fn complete_block(&mut self, c: &BlockCompletion) {
        if let Some(slot) = self.blk_slot {
            self.virtio[slot].with_device(&mut self.ram, |d, ctx| {
                if let Some(blk) = d.as_any_mut().downcast_mut::<VirtioBlk>() {
                    blk.complete(c, ctx);
                }
            });
        }
    }

    /// Moves backlog bytes into the UART as far as it accepts them.
    fn feed_uart(&mut self, now: u64) {
        while !self.serial_backlog.is_empty() {
            let n = self.uart.can_receive().min(self.serial_backlog.len());
            if n == 0 {
                break;
            }
            let chunk: Vec<u8> = self.serial_backlog.drain(..n).collect();
            self.uart.receive(&chunk, now);
        }
    }

    /// Whether host input is still queued for the guest.
    pub fn has_backlog(&self) -> bool {
        !self.serial_backlog.is_empty()
    }

    /// Sends new block requests to the disk thread; serves entropy requests.
    fn service_virtio(&mut self, slot: usize, icount: u64) {
        if Some(slot) == self.blk_slot {
            let reqs = self.virtio[slot]
                .with_device(&mut self.ram, |d, _| {
                    d.as_any_mut()
                        .downcast_mut::<VirtioBlk>()
                        .map(|b| b.take_requests())
                        .unwrap_or_default()
                })
                .unwrap_or_default();
            for r in reqs {
                self.door_asked = true;
                if let Err(e) = self.nondet.block_submitted(icount, r.id) {
                    self.fail(e);
                }
                if let Some(d) = &self.disk {
                    d.submit(r);
                }
            }
        }
        if Some(slot) == self.rng_slot {
            self.door_asked = true;
            let nondet = &mut self.nondet;
            let mut err = None;
            self.virtio[slot].with_device(&mut self.ram, |d, ctx| {
                let Some(rng) = d.as_any_mut().downcast_mut::<VirtioRng>() else {
                    return;
                };
                while let Some(n) = rng.wanted() {
                    let mut buf = vec![0u8; n];
                    if let Err(e) = nondet.random(icount, &mut buf) {
                        err = Some(e);
                        break;
                    }
                    rng.provide(&buf, ctx);
                }
            });
            if let Some(e) = err {
                self.fail(e);
            }
        }
    }

    fn flush_uart_output(&mut self, icount: u64) {
        let out = self.uart.take_output();
        if out.is_empty() {
            return;
        }
        // A closed or full host console must not stop the guest (QEMU drops too).
        let _ = self.serial_out.write_all(&out);
        let _ = self.serial_out.flush();
        self.door_asked = true;
        if let Err(e) = self.nondet.char_write(icount, out.len()) {
            self.fail(e);
        }
    }

    fn host_clock(&mut self, icount: u64) -> Option<i64> {
        self.door_asked = true;
        match self.nondet.host_clock_ns(icount) {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(e);
                None
            }
        }
    }

    /// Appends every device's state to `out` (digest).
    pub fn digest_devices(&self, out: &mut Vec<u8>) {
        self.clint.digest_state(out);
        self.plic.digest_state(out);
        self.uart.digest_state(out);
        self.rtc.digest_state(out);
        for v in &self.virtio {
            v.digest_state(out);
        }
        for f in &self.flash {
            f.digest_state(out);
        }
        self.ecam.digest_state(out);
        self.fw_cfg.digest_state(out);
        out.extend_from_slice(&self.clock.warp_bias().to_le_bytes());
        out.extend(self.serial_backlog.iter());
    }
}

/// Size of an access as a mask.
fn mask(size: u8) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (8 * size)) - 1
    }
}

fn within(addr: u64, base: u64, size: u64) -> bool {
    addr >= base && addr - base < size
}

impl SystemBus for Board {
    #[inline(always)]
    fn ram(&mut self) -> &mut Ram {
        &mut self.ram
    }

    fn mmio_read(&mut self, addr: PhysAddr, size: u8, icount: u64) -> Result<u64, BusFault> {
        let now = self.clock.now(icount);
        let before = self.next_deadline(now);
        let v = self.device_read(addr, size, icount);
        self.note_deadline_change(before, now);
        self.note_door_limit(icount);
        v
    }

    fn mmio_write(
        &mut self,
        addr: PhysAddr,
        size: u8,
        value: u64,
        icount: u64,
    ) -> Result<(), BusFault> {
        let now = self.clock.now(icount);
        let before = self.next_deadline(now);
        let r = self.device_write(addr, size, value, icount);
        self.note_deadline_change(before, now);
        self.note_door_limit(icount);
        r
    }

    #[inline(always)]
    fn irq_lines(&self) -> u64 {
        self.lines
    }

    fn mtime(&self, icount: u64) -> u64 {
        self.clint.mtime(self.clock.now(icount))
    }

    fn stop_requested(&self) -> bool {
        self.stop.is_some() || self.resched
    }
}

impl Board {
    /// A device access moved the next deadline (mtimecmp, RTC alarm, UART
    /// timeout): the hart must end the slice after this instruction so the
    /// run loop recomputes the budget. Otherwise the new deadline would be
    /// noticed at the end of a slice whose length depends on where replay
    /// splits it, and record and replay would see the interrupt at
    /// different instructions. (Interrupt lines themselves are re-read by
    /// the hart right after every device access.)
    fn note_deadline_change(&mut self, before: Option<u64>, now: u64) {
        if self.next_deadline(now) != before {
            self.resched = true;
        }
    }

    fn device_read(&mut self, addr: PhysAddr, size: u8, icount: u64) -> Result<u64, BusFault> {
        let a = addr.0;
        let now = self.clock.now(icount);
        let v = if within(a, mm::MROM_BASE, MROM_SIZE) {
            self.mrom.read(a - mm::MROM_BASE, size)?
        } else if within(a, mm::TEST_BASE, TEST_SIZE) {
            self.test.read(a - mm::TEST_BASE, size)?
        } else if within(a, mm::RTC_BASE, goldfish_rtc::RTC_SIZE) {
            let off = a - mm::RTC_BASE;
            let host = if goldfish_rtc::needs_host_clock(off, false) {
                self.host_clock(icount)
            } else {
                None
            };
            self.rtc.read(off, host) as u64
        } else if within(a, mm::CLINT_BASE, mm::CLINT_SIZE) {
            self.clint.read(a - mm::CLINT_BASE, size, now)?
        } else if within(a, mm::PLIC_BASE, mm::PLIC_SIZE) {
            let v = self.plic.read(a - mm::PLIC_BASE, size);
            self.update_lines(now);
            v
        } else if within(a, mm::UART_BASE, mm::UART_SIZE) {
            let v = self.uart.read(a - mm::UART_BASE, now) as u64;
            // The guest made room: let more typed input in (QEMU re-polls the
            // chardev when the FIFO drains).
            self.feed_uart(now);
            self.update_lines(now);
            v
        } else if within(
            a,
            mm::VIRTIO_BASE,
            mm::VIRTIO_SIZE * mm::VIRTIO_COUNT as u64,
        ) {
            let slot = ((a - mm::VIRTIO_BASE) / mm::VIRTIO_SIZE) as usize;
            self.virtio[slot].read((a - mm::VIRTIO_BASE) % mm::VIRTIO_SIZE, size)?
        } else if within(a, mm::FLASH_BASE, 2 * mm::FLASH_BANK_SIZE) {
            let bank = ((a - mm::FLASH_BASE) / mm::FLASH_BANK_SIZE) as usize;
            self.flash[bank].read((a - mm::FLASH_BASE) % mm::FLASH_BANK_SIZE, size)?
        } else if within(a, mm::PCIE_ECAM_BASE, mm::PCIE_ECAM_SIZE) {
            self.ecam.read(a - mm::PCIE_ECAM_BASE, size)?
        } else if within(a, mm::FW_CFG_BASE, mm::FW_CFG_SIZE) {
            self.fw_cfg.read(a - mm::FW_CFG_BASE, size)?
        } else {
            return Err(BusFault::Unmapped);
        };
        Ok(v & mask(size))
    }

    fn device_write(
        &mut self,
        addr: PhysAddr,
        size: u8,
        value: u64,
        icount: u64,
    ) -> Result<(), BusFault> {
        let a = addr.0;
        let now = self.clock.now(icount);
        let value = value & mask(size);
        if within(a, mm::MROM_BASE, MROM_SIZE) {
            self.mrom.write(a - mm::MROM_BASE, size, value)?;
        } else if within(a, mm::TEST_BASE, TEST_SIZE) {
            self.test.write(a - mm::TEST_BASE, size, value)?;
            if let Some(r) = self.test.take_request() {
                self.stop = Some(StopReason::Test(r));
            }
        } else if within(a, mm::RTC_BASE, goldfish_rtc::RTC_SIZE) {
            let off = a - mm::RTC_BASE;
            let host = if goldfish_rtc::needs_host_clock(off, true) {
                self.host_clock(icount)
            } else {
                None
            };
            self.rtc.write(off, value as u32, now, host);
            self.update_lines(now);
        } else if within(a, mm::CLINT_BASE, mm::CLINT_SIZE) {
            self.clint.write(a - mm::CLINT_BASE, size, value, now)?;
            self.update_lines(now);
            // A write to mtime moves the hart's Sstc deadline too, which
            // the board cannot see: end the slice after any CLINT write.
            self.resched = true;
        } else if within(a, mm::PLIC_BASE, mm::PLIC_SIZE) {
            self.plic.write(a - mm::PLIC_BASE, size, value);
            self.update_lines(now);
        } else if within(a, mm::UART_BASE, mm::UART_SIZE) {
            self.uart.write(a - mm::UART_BASE, value as u8, now);
            self.flush_uart_output(icount);
            self.feed_uart(now);
            self.update_lines(now);
        } else if within(
            a,
            mm::VIRTIO_BASE,
            mm::VIRTIO_SIZE * mm::VIRTIO_COUNT as u64,
        ) {
            let slot = ((a - mm::VIRTIO_BASE) / mm::VIRTIO_SIZE) as usize;
            self.virtio[slot].write(
                (a - mm::VIRTIO_BASE) % mm::VIRTIO_SIZE,
                size,
                value,
                &mut self.ram,
            )?;
            self.service_virtio(slot, icount);
            self.update_lines(now);
        } else if within(a, mm::FLASH_BASE, 2 * mm::FLASH_BANK_SIZE) {
            let bank = ((a - mm::FLASH_BASE) / mm::FLASH_BANK_SIZE) as usize;
            self.flash[bank].write((a - mm::FLASH_BASE) % mm::FLASH_BANK_SIZE, size, value)?;
        } else if within(a, mm::PCIE_ECAM_BASE, mm::PCIE_ECAM_SIZE) {
            self.ecam.write(a - mm::PCIE_ECAM_BASE, size, value)?;
        } else if within(a, mm::FW_CFG_BASE, mm::FW_CFG_SIZE) {
            // DMA writes RAM through `Ram::write_bytes`, which keeps decoded code coherent.
            self.fw_cfg
                .write(a - mm::FW_CFG_BASE, size, value, &mut self.ram)?;
        } else {
            return Err(BusFault::Unmapped);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::irq;
    use crate::machine::nondet::Live;

    fn board() -> Board {
        Board::new(
            16 << 20,
            Mrom::new(mm::DRAM_BASE, 0x80f0_0000, 0),
            VirtioSetup {
                rng: true,
                ..VirtioSetup::default()
            },
            VirtualClock::new(3),
            Box::new(Live::new(None, vec![])),
            Box::new(std::io::sink()),
        )
    }

    #[test]
    fn unmapped_addresses_fault_like_qemu() {
        let mut b = board();
        for a in [
            0x0,
            0x10_2000,
            // Right after fw_cfg's 0x18 bytes, in the same page.
            mm::FW_CFG_BASE + mm::FW_CFG_SIZE,
            mm::PLATFORM_BUS_BASE,
            0x7fff_fff0,
        ] {
            assert_eq!(
                b.mmio_read(PhysAddr(a), 4, 0),
                Err(BusFault::Unmapped),
                "{a:#x}"
            );
            assert_eq!(
                b.mmio_write(PhysAddr(a), 4, 0, 0),
                Err(BusFault::Unmapped),
                "{a:#x}"
            );
        }
    }

    /// What M-mode U-Boot saw on QEMU 10.0.2: `md.l 0x10100000 2` reads
    /// "QEMU" and faults at 0x10100004; `md.b 0x10100000 4` faults at
    /// 0x10100001.
    #[test]
    fn fw_cfg_answers_like_qemu() {
        let mut b = board();
        let base = mm::FW_CFG_BASE;
        assert_eq!(b.mmio_read(PhysAddr(base), 4, 0), Ok(0x554d_4551));
        assert_eq!(
            b.mmio_read(PhysAddr(base + 4), 4, 0),
            Err(BusFault::Rejected)
        );
        assert_eq!(b.mmio_read(PhysAddr(base), 1, 0), Ok(0));
        assert_eq!(
            b.mmio_read(PhysAddr(base + 1), 1, 0),
            Err(BusFault::Rejected)
        );
        // Selector: big-endian key, 2-byte writes only.
        let sel = PhysAddr(base + 8);
        assert_eq!(b.mmio_write(sel, 4, 0x0500, 0), Err(BusFault::Rejected));
        b.mmio_write(sel, 2, 0x0500, 0).unwrap();
        assert_eq!(b.mmio_read(PhysAddr(base), 2, 0), Ok(1), "NB_CPUS");
        // DMA: the descriptor and the target in guest RAM.
        let desc = mm::DRAM_BASE + 0x1000;
        let target = mm::DRAM_BASE + 0x2000;
        let mut raw = [0u8; 16];
        raw[0..4].copy_from_slice(&0x0000_000au32.to_be_bytes()); // select 0 + read
        raw[4..8].copy_from_slice(&4u32.to_be_bytes());
        raw[8..16].copy_from_slice(&target.to_be_bytes());
        b.ram.write_bytes(PhysAddr(desc), &raw).unwrap();
        b.mmio_write(PhysAddr(base + 0x10), 8, desc.swap_bytes(), 0)
            .unwrap();
        assert_eq!(b.ram.read_u32(PhysAddr(desc)), Ok(0), "control: done");
        assert_eq!(b.ram.read_u32(PhysAddr(target)), Ok(0x554d_4551));
        assert_eq!(
            b.mmio_read(PhysAddr(base + 0x10), 8, 0),
            Ok(u64::from_le_bytes(*b"QEMU CFG"))
        );
        assert_eq!(
            b.mmio_read(PhysAddr(base + 0xc), 4, 0),
            Err(BusFault::Rejected),
            "the hole between selector and DMA"
        );
    }

    #[test]
    fn fw_cfg_state_is_digested_and_reset_with_the_board() {
        let mut b = board();
        let digest = |b: &Board| {
            let mut v = Vec::new();
            b.digest_devices(&mut v);
            v
        };
        let d0 = digest(&b);
        b.mmio_write(PhysAddr(mm::FW_CFG_BASE + 8), 2, 0x0100, 0)
            .unwrap();
        assert_ne!(digest(&b), d0, "the selector moved");
        b.reset_devices();
        assert_eq!(digest(&b), d0);
        assert_eq!(
            b.mmio_read(PhysAddr(mm::FW_CFG_BASE), 4, 0),
            Ok(0x554d_4551)
        );
    }

    #[test]
    fn reset_vector_and_device_probes() {
        let mut b = board();
        assert_eq!(b.mmio_read(PhysAddr(mm::MROM_BASE), 4, 0), Ok(0x0000_0297));
        assert_eq!(
            b.mmio_read(PhysAddr(mm::UART_BASE + 5), 1, 0),
            Ok(0x60),
            "LSR: THRE|TEMT"
        );
        // The rng is the first device: highest slot, device id 4; slot 0 is empty.
        assert_eq!(b.mmio_read(PhysAddr(mm::virtio_base(7) + 8), 4, 0), Ok(4));
        assert_eq!(b.mmio_read(PhysAddr(mm::virtio_base(0) + 8), 4, 0), Ok(0));
        assert_eq!(
            b.mmio_read(PhysAddr(mm::PCIE_ECAM_BASE), 4, 0),
            Ok(0x0008_1b36)
        );
    }

    #[test]
    fn timer_interrupt_follows_virtual_time() {
        let mut b = board();
        let cmp = PhysAddr(mm::CLINT_BASE + 0x4000);
        b.mmio_write(cmp, 8, 10, 0).unwrap(); // 10 ticks = 1000 ns = 125 insns at shift 3
        assert_eq!(b.irq_lines() & irq::MTIP, 0);
        assert_eq!(b.next_deadline(0), Some(1000));
        assert_eq!(b.clock.insns_until(0, 1000), 125);
        b.tick(b.clock.now(125));
        assert_eq!(b.irq_lines() & irq::MTIP, irq::MTIP);
        assert_eq!(b.mtime(125), 10);
    }

    #[test]
    fn poweroff_write_requests_a_stop() {
        let mut b = board();
        b.mmio_write(PhysAddr(mm::TEST_BASE), 4, 0x5555, 0).unwrap();
        assert!(b.stop_requested());
        assert_eq!(b.take_stop(), Some(StopReason::Test(TestRequest::PowerOff)));
    }

    #[test]
    fn serial_backlog_waits_for_room_in_the_uart() {
        let mut b = board();
        b.apply_input(AsyncInput::Serial(b"ab".to_vec()));
        b.feed_uart(0);
        let rbr = PhysAddr(mm::UART_BASE);
        // No FIFO: one byte at a time, the next after the guest reads.
        assert!(b.has_backlog());
        assert_eq!(b.mmio_read(rbr, 1, 0), Ok(b'a' as u64));
        assert!(!b.has_backlog());
        assert_eq!(b.mmio_read(rbr, 1, 0), Ok(b'b' as u64));
    }
}
