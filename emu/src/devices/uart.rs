//! NS16550A UART as QEMU's `serial` device (hw/char/serial.c): 16-byte
//! receive FIFO with trigger levels and the character-timeout interrupt,
//! THRE interrupt, line status, modem status and loopback. Transmission is
//! instantaneous, as in QEMU: a THR write goes straight to the output queue.
//!
//! Time enters only as the virtual-ns `now` the machine passes with each
//! access; the FIFO timeout is a deadline the run loop honours.

use std::collections::VecDeque;

// Register offsets (regshift 0), named as in the 16550 data sheet.
pub const RBR: u64 = 0; // read, DLAB=0
pub const THR: u64 = 0; // write, DLAB=0
pub const IER: u64 = 1;
pub const IIR: u64 = 2; // read
pub const FCR: u64 = 2; // write
pub const LCR: u64 = 3;
pub const MCR: u64 = 4;
pub const LSR: u64 = 5;
pub const MSR: u64 = 6;
pub const SCR: u64 = 7;

const IER_RDI: u8 = 0x01;
const IER_THRI: u8 = 0x02;
const IER_RLSI: u8 = 0x04;
const IER_MSI: u8 = 0x08;

const IIR_NO_INT: u8 = 0x01;
const IIR_MSI: u8 = 0x00;
const IIR_THRI: u8 = 0x02;
const IIR_RDI: u8 = 0x04;
const IIR_RLSI: u8 = 0x06;
const IIR_CTI: u8 = 0x0c;
const IIR_FIFO_ENABLED: u8 = 0xc0;

const FCR_FE: u8 = 0x01;
const FCR_RFR: u8 = 0x02;
const FCR_XFR: u8 = 0x04;

const LCR_DLAB: u8 = 0x80;
const MCR_LOOP: u8 = 0x10;

const LSR_DR: u8 = 0x01;
const LSR_OE: u8 = 0x02;
const LSR_BI: u8 = 0x10;
const LSR_THRE: u8 = 0x20;
const LSR_TEMT: u8 = 0x40;
const LSR_INT_ANY: u8 = 0x1e;

const MSR_DCD: u8 = 0x80;
const MSR_DSR: u8 = 0x20;
const MSR_CTS: u8 = 0x10;
const MSR_ANY_DELTA: u8 = 0x0f;

const FIFO_LEN: usize = 16;
/// QEMU's virt board passes 399193 as the UART's baud base.
const BAUDBASE: u64 = 399_193;

use super::{IrqLine, StateError};

/// [`Uart`] as plain data (snapshots).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UartState {
    /// rbr, ier, iir, lcr, mcr, lsr, msr, scr, fcr.
    pub regs: [u8; 9],
    pub divider: u16,
    pub thr_ipending: bool,
    pub timeout_ipending: bool,
    pub recv_fifo: Vec<u8>,
    pub recv_fifo_itl: u8,
    pub timeout_at: Option<u64>,
    pub output: Vec<u8>,
}

pub struct Uart {
    irq: IrqLine,
    rbr: u8,
    ier: u8,
    iir: u8,
    lcr: u8,
    mcr: u8,
    lsr: u8,
    msr: u8,
    scr: u8,
    fcr: u8,
    divider: u16,
    thr_ipending: bool,
    timeout_ipending: bool,
    recv_fifo: VecDeque<u8>,
    recv_fifo_itl: usize,
    /// Virtual-ns deadline of the character-timeout interrupt.
    timeout_at: Option<u64>,
    /// Bytes the guest sent, for the machine to forward to the host.
    output: Vec<u8>,
}

impl Uart {
    pub fn new(irq: IrqLine) -> Self {
        let mut u = Uart {
            irq,
            rbr: 0,
            ier: 0,
            iir: IIR_NO_INT,
            lcr: 0,
            mcr: 0,
            lsr: 0,
            msr: 0,
            scr: 0,
            fcr: 0,
            divider: 0,
            thr_ipending: false,
            timeout_ipending: false,
            recv_fifo: VecDeque::with_capacity(FIFO_LEN),
            recv_fifo_itl: 1,
            timeout_at: None,
            output: Vec::new(),
        };
        u.reset();
        u
    }

    /// Power-on state (QEMU's serial_reset).
    pub fn reset(&mut self) {
        self.rbr = 0;
        self.ier = 0;
        self.iir = IIR_NO_INT;
        self.lcr = 0;
        self.lsr = LSR_TEMT | LSR_THRE;
        self.msr = MSR_DCD | MSR_DSR | MSR_CTS;
        self.mcr = 0x08; // OUT2
        self.scr = 0;
        self.fcr = 0;
        self.divider = 12;
        self.thr_ipending = false;
        self.timeout_ipending = false;
        self.recv_fifo.clear();
        self.recv_fifo_itl = 1;
        self.timeout_at = None;
        self.update_irq();
    }

    /// Nanoseconds one frame takes on the wire at the programmed rate.
    fn char_time_ns(&self) -> u64 {
        let div = self.divider.max(1) as u64;
        let speed = (BAUDBASE / div).max(1);
        let data_bits = (self.lcr & 3) as u64 + 5;
        let parity = (self.lcr >> 3 & 1) as u64;
        let stop = if self.lcr & 4 != 0 { 2 } else { 1 };
        (1_000_000_000 / speed) * (1 + data_bits + parity + stop)
    }

    fn update_irq(&mut self) {
        let fifo = self.fcr & FCR_FE != 0;
        let tmp = if self.ier & IER_RLSI != 0 && self.lsr & LSR_INT_ANY != 0 {
            IIR_RLSI
        } else if self.ier & IER_RDI != 0 && self.timeout_ipending {
            IIR_CTI
        } else if self.ier & IER_RDI != 0
            && self.lsr & LSR_DR != 0
            && (!fifo || self.recv_fifo.len() >= self.recv_fifo_itl)
        {
            IIR_RDI
        } else if self.ier & IER_THRI != 0 && self.thr_ipending {
            IIR_THRI
        } else if self.ier & IER_MSI != 0 && self.msr & MSR_ANY_DELTA != 0 {
            IIR_MSI
        } else {
            IIR_NO_INT
        };
        self.iir = tmp | (self.iir & 0xf0);
        self.irq.set(tmp != IIR_NO_INT);
    }

    /// How many bytes the UART can take now (QEMU's serial_can_receive):
    /// with the FIFO on, up to the trigger level, so the guest sees the
    /// interrupt pacing it asked for.
    pub fn can_receive(&self) -> usize {
        if self.fcr & FCR_FE != 0 {
            let n = self.recv_fifo.len();
            if n < FIFO_LEN {
                if n <= self.recv_fifo_itl {
                    self.recv_fifo_itl - n
                } else {
                    1
                }
            } else {
                0
            }
        } else if self.lsr & LSR_DR == 0 {
            1
        } else {
            0
        }
    }

    /// Host input arriving on the line at virtual time `now`.
    pub fn receive(&mut self, bytes: &[u8], now: u64) {
        if bytes.is_empty() {
            return;
        }
        if self.fcr & FCR_FE != 0 {
            for &b in bytes {
                if self.recv_fifo.len() >= FIFO_LEN {
                    self.lsr |= LSR_OE;
                } else {
                    self.recv_fifo.push_back(b);
                }
            }
            self.lsr |= LSR_DR;
            self.timeout_at = Some(now + 4 * self.char_time_ns());
        } else {
            if self.lsr & LSR_DR != 0 {
                self.lsr |= LSR_OE;
            }
            self.rbr = bytes[bytes.len() - 1];
            self.lsr |= LSR_DR;
        }
        self.update_irq();
    }

    /// The next virtual-ns deadline this device needs the run loop to stop at.
    pub fn next_deadline(&self) -> Option<u64> {
        self.timeout_at
    }

    /// Fires the character timeout if its deadline has passed.
    pub fn tick(&mut self, now: u64) {
        if let Some(t) = self.timeout_at {
            if now >= t {
                self.timeout_at = None;
                if !self.recv_fifo.is_empty() {
                    self.timeout_ipending = true;
                    self.update_irq();
                }
            }
        }
    }

    /// Bytes the guest transmitted since the last call.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    pub fn read(&mut self, off: u64, now: u64) -> u8 {
        match off & 7 {
            RBR if self.lcr & LCR_DLAB != 0 => self.divider as u8,
            RBR => {
                let ret;
                if self.fcr & FCR_FE != 0 {
                    ret = self.recv_fifo.pop_front().unwrap_or(0);
                    if self.recv_fifo.is_empty() {
                        self.lsr &= !(LSR_DR | LSR_BI);
                        self.timeout_at = None;
                    } else {
                        self.timeout_at = Some(now + 4 * self.char_time_ns());
                    }
                    self.timeout_ipending = false;
                } else {
                    ret = self.rbr;
                    self.lsr &= !(LSR_DR | LSR_BI);
                }
                self.update_irq();
                ret
            }
            IER if self.lcr & LCR_DLAB != 0 => (self.divider >> 8) as u8,
            IER => self.ier,
            IIR => {
                let ret = self.iir;
                if ret & 0x0f == IIR_THRI {
                    self.thr_ipending = false;
                    self.update_irq();
                }
                ret
            }
            LCR => self.lcr,
            MCR => self.mcr,
            LSR => {
                let ret = self.lsr;
                if self.lsr & (LSR_BI | LSR_OE) != 0 {
                    self.lsr &= !(LSR_BI | LSR_OE);
                    self.update_irq();
                }
                ret
            }
            MSR => {
                if self.mcr & MCR_LOOP != 0 {
                    // Loopback: modem inputs mirror the outputs.
                    (self.mcr & 0x0c) << 4 | (self.mcr & 0x02) << 3 | (self.mcr & 0x01) << 5
                } else {
                    let ret = self.msr;
                    if self.msr & MSR_ANY_DELTA != 0 {
                        self.msr &= 0xf0;
                        self.update_irq();
                    }
                    ret
                }
            }
            _ => self.scr,
        }
    }

    pub fn write(&mut self, off: u64, val: u8, now: u64) {
        match off & 7 {
            THR if self.lcr & LCR_DLAB != 0 => self.divider = (self.divider & 0xff00) | val as u16,
            THR => {
                self.thr_ipending = false;
                if self.mcr & MCR_LOOP != 0 {
                    self.receive(&[val], now);
                } else {
                    self.output.push(val);
                }
                // Sent at once: the holding register is empty again.
                self.lsr |= LSR_THRE | LSR_TEMT;
                self.thr_ipending = true;
                self.update_irq();
            }
            IER if self.lcr & LCR_DLAB != 0 => {
                self.divider = (self.divider & 0x00ff) | (val as u16) << 8;
            }
            IER => {
                let changed = (self.ier ^ val) & 0x0f;
                self.ier = val & 0x0f;
                if changed & IER_THRI != 0 {
                    self.thr_ipending = self.ier & IER_THRI != 0 && self.lsr & LSR_THRE != 0;
                }
                if changed != 0 {
                    self.update_irq();
                }
            }
            FCR => {
                // FIFO enable toggles clear both FIFOs.
                if (val ^ self.fcr) & FCR_FE != 0 {
                    self.recv_fifo.clear();
                    self.timeout_at = None;
                    self.timeout_ipending = false;
                }
                if val & FCR_RFR != 0 {
                    self.recv_fifo.clear();
                    self.lsr &= !(LSR_DR | LSR_BI);
                    self.timeout_at = None;
                    self.timeout_ipending = false;
                }
                let _ = FCR_XFR; // transmit FIFO is always empty here
                self.fcr = val & 0xc9;
                if self.fcr & FCR_FE != 0 {
                    self.iir |= IIR_FIFO_ENABLED;
                    self.recv_fifo_itl = match val >> 6 {
                        0 => 1,
                        1 => 4,
                        2 => 8,
                        _ => 14,
                    };
                } else {
                    self.iir &= !IIR_FIFO_ENABLED;
                }
                self.update_irq();
            }
            LCR => self.lcr = val,
            MCR => self.mcr = val & 0x1f,
            LSR | MSR => {}
            _ => self.scr = val,
        }
    }

    /// The device's state as plain data (snapshots).
    pub fn save_state(&self) -> UartState {
        UartState {
            regs: [
                self.rbr, self.ier, self.iir, self.lcr, self.mcr, self.lsr, self.msr, self.scr,
                self.fcr,
            ],
            divider: self.divider,
            thr_ipending: self.thr_ipending,
            timeout_ipending: self.timeout_ipending,
            recv_fifo: self.recv_fifo.iter().copied().collect(),
            recv_fifo_itl: self.recv_fifo_itl as u8,
            timeout_at: self.timeout_at,
            output: self.output.clone(),
        }
    }

    /// Takes `s` after checking it could be a 16550A's state; the interrupt
    /// line is the board's to restore.
    pub fn restore_state(&mut self, s: &UartState) -> Result<(), StateError> {
        if s.recv_fifo.len() > FIFO_LEN {
            return Err(StateError::new(
                "uart",
                format!("{} bytes in a 16-byte FIFO", s.recv_fifo.len()),
            ));
        }
        if ![1, 4, 8, 14].contains(&s.recv_fifo_itl) {
            return Err(StateError::new(
                "uart",
                format!("FIFO trigger level {}", s.recv_fifo_itl),
            ));
        }
        [
            self.rbr, self.ier, self.iir, self.lcr, self.mcr, self.lsr, self.msr, self.scr,
            self.fcr,
        ] = s.regs;
        self.divider = s.divider;
        self.thr_ipending = s.thr_ipending;
        self.timeout_ipending = s.timeout_ipending;
        self.recv_fifo = s.recv_fifo.iter().copied().collect();
        self.recv_fifo_itl = s.recv_fifo_itl as usize;
        self.timeout_at = s.timeout_at;
        self.output = s.output.clone();
        Ok(())
    }

    pub fn digest_state(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[
            self.rbr, self.ier, self.iir, self.lcr, self.mcr, self.lsr, self.msr, self.scr,
            self.fcr,
        ]);
        out.extend_from_slice(&self.divider.to_le_bytes());
        out.push(self.thr_ipending as u8);
        out.push(self.timeout_ipending as u8);
        out.push(self.recv_fifo.len() as u8);
        out.extend(self.recv_fifo.iter());
        out.extend_from_slice(&self.timeout_at.unwrap_or(u64::MAX).to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uart() -> (Uart, std::rc::Rc<crate::devices::IrqLevels>) {
        let (irq, levels) = IrqLine::recording(10);
        (Uart::new(irq), levels)
    }

    #[test]
    fn reset_state_matches_qemu() {
        let (mut u, levels) = uart();
        assert_eq!(u.read(LSR, 0), LSR_THRE | LSR_TEMT);
        assert_eq!(u.read(IIR, 0), IIR_NO_INT);
        assert_eq!(u.read(MSR, 0), 0xb0);
        assert!(levels.history().is_empty());
    }

    #[test]
    fn transmit_is_immediate_and_thre_interrupts() {
        let (mut u, levels) = uart();
        u.write(THR, b'h', 0);
        u.write(THR, b'i', 0);
        assert_eq!(u.take_output(), b"hi");
        u.write(IER, IER_THRI, 0);
        assert_eq!(levels.history(), vec![(10, true)]);
        assert_eq!(u.read(IIR, 0) & 0x0f, IIR_THRI);
        // Reading IIR acknowledges THRE.
        assert_eq!(levels.history(), vec![(10, true), (10, false)]);
    }

    #[test]
    fn divisor_latch() {
        let (mut u, _) = uart();
        u.write(LCR, LCR_DLAB, 0);
        u.write(RBR, 2, 0);
        u.write(IER, 0, 0);
        assert_eq!(u.read(RBR, 0), 2);
        u.write(LCR, 3, 0);
        assert_eq!(u.char_time_ns(), (1_000_000_000 / (BAUDBASE / 2)) * 10);
    }

    #[test]
    fn fifo_trigger_level_and_timeout() {
        let (mut u, levels) = uart();
        u.write(FCR, FCR_FE | 0x80, 0); // trigger level 8
        u.write(IER, IER_RDI, 0);
        assert_eq!(u.can_receive(), 8);
        u.receive(b"ab", 1000);
        assert!(levels.history().is_empty(), "below trigger level");
        let t = u.next_deadline().unwrap();
        u.tick(t - 1);
        assert!(levels.history().is_empty());
        u.tick(t);
        assert_eq!(u.read(IIR, t) & 0x0f, IIR_CTI);
        assert_eq!(u.read(RBR, t), b'a');
        assert_eq!(u.read(LSR, t) & LSR_DR, LSR_DR);
        assert_eq!(u.read(RBR, t), b'b');
        assert_eq!(u.read(LSR, t) & LSR_DR, 0);
        assert_eq!(levels.history(), vec![(10, true), (10, false)]);
        u.receive(b"0123456789", t);
        assert_eq!(u.read(IIR, t) & 0x0f, IIR_RDI);
    }

    #[test]
    fn overrun_without_fifo() {
        let (mut u, _) = uart();
        assert_eq!(u.can_receive(), 1);
        u.receive(b"x", 0);
        assert_eq!(u.can_receive(), 0);
        u.receive(b"y", 0);
        assert_eq!(u.read(LSR, 0) & (LSR_OE | LSR_DR), LSR_OE | LSR_DR);
        assert_eq!(u.read(LSR, 0) & LSR_OE, 0, "OE clears on read");
        assert_eq!(u.read(RBR, 0), b'y');
    }

    #[test]
    fn loopback_feeds_receiver() {
        let (mut u, _) = uart();
        u.write(MCR, MCR_LOOP | 0x0b, 0);
        u.write(THR, 0x5a, 0);
        assert!(u.take_output().is_empty());
        assert_eq!(u.read(RBR, 0), 0x5a);
        assert_eq!(u.read(MSR, 0), 0x80 | 0x10 | 0x20);
    }
}
