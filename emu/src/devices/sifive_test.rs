//! SiFive test finisher (QEMU's `riscv.sifive.test`): a write of 0x5555
//! powers off, 0x7777 resets, 0x3333 | code << 16 fails with `code`.
//! The device only records the request; the machine acts on it.

use super::MmioDevice;
use crate::bus::BusFault;

pub const TEST_SIZE: u64 = 0x1000;
const FINISHER_FAIL: u32 = 0x3333;
const FINISHER_PASS: u32 = 0x5555;
const FINISHER_RESET: u32 = 0x7777;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestRequest {
    PowerOff,
    Reset,
    Fail(u16),
}

#[derive(Debug, Default)]
pub struct SifiveTest {
    request: Option<TestRequest>,
}

impl SifiveTest {
    /// The only state: a request not yet taken by the board.
    pub fn save_state(&self) -> Option<TestRequest> {
        self.request
    }
    pub fn restore_state(&mut self, s: Option<TestRequest>) {
        self.request = s;
    }
    pub fn new() -> Self {
        Self::default()
    }
    pub fn take_request(&mut self) -> Option<TestRequest> {
        self.request.take()
    }
}

impl MmioDevice for SifiveTest {
    fn read(&mut self, _off: u64, _size: u8) -> Result<u64, BusFault> {
        Ok(0)
    }
    fn write(&mut self, off: u64, _size: u8, val: u64) -> Result<(), BusFault> {
        if off == 0 {
            let v = val as u32;
            self.request = match v & 0xffff {
                FINISHER_PASS => Some(TestRequest::PowerOff),
                FINISHER_RESET => Some(TestRequest::Reset),
                FINISHER_FAIL => Some(TestRequest::Fail((v >> 16) as u16)),
                _ => self.request,
            };
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finisher_codes() {
        let mut t = SifiveTest::new();
        t.write(0, 4, 0x1234).unwrap();
        assert_eq!(t.take_request(), None);
        t.write(0, 4, 0x5555).unwrap();
        assert_eq!(t.take_request(), Some(TestRequest::PowerOff));
        t.write(0, 4, 0x7777).unwrap();
        assert_eq!(t.take_request(), Some(TestRequest::Reset));
        t.write(0, 4, 0x0003_3333).unwrap();
        assert_eq!(t.take_request(), Some(TestRequest::Fail(3)));
        assert_eq!(t.read(0, 4).unwrap(), 0);
    }
}
