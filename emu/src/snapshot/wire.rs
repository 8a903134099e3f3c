//! The byte encoding of machine state in snapshot files: little-endian
//! fixed-width integers, `u8` tags for enums and options, a `u32` count
//! before sequences. Decoding never trusts a count: a sequence may not
//! claim more items than bytes remain, so a damaged length cannot make the
//! reader allocate without bound. See docs/snapshot-format.md.

use crate::cpu::csr::hpm::Hpm;
use crate::cpu::csr::Csrs;
use crate::cpu::{HartState, Priv};
use crate::devices::aclint::AclintState;
use crate::devices::fw_cfg::FwCfgState;
use crate::devices::goldfish_rtc::RtcState;
use crate::devices::pflash::PFlashState;
use crate::devices::plic::PlicState;
use crate::devices::sifive_test::TestRequest;
use crate::devices::uart::UartState;
use crate::devices::virtio::blk::{BlkState, BlockCompletion, BlockOp, BlockRequest};
use crate::devices::virtio::mmio::VirtioMmioState;
use crate::devices::virtio::net::{NetCounters, NetState};
use crate::devices::virtio::queue::Desc;
use crate::devices::virtio::rng::RngState;
use crate::devices::virtio::{DescChain, DeviceState, Queue};
use crate::machine::board::{BoardState, StopReason};
use crate::machine::nondet::ReplayPosition;
use crate::machine::MachineState;

/// Where and why decoding failed (offset within the section).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {at} of the section: {what}")]
pub struct WireError {
    pub at: usize,
    pub what: String,
}

#[derive(Default)]
pub struct Enc {
    pub out: Vec<u8>,
}

pub struct Dec<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Dec<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Dec { data, pos: 0 }
    }
    fn fail<T>(&self, what: impl Into<String>) -> Result<T, WireError> {
        Err(WireError {
            at: self.pos,
            what: what.into(),
        })
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        if self.data.len() - self.pos < n {
            return self.fail(format!(
                "{n} byte(s) needed, {} left",
                self.data.len() - self.pos
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }
    /// Fails unless every byte was used.
    pub fn finish(&self) -> Result<(), WireError> {
        if self.remaining() != 0 {
            return self.fail(format!("{} unexpected trailing byte(s)", self.remaining()));
        }
        Ok(())
    }
}

pub trait Wire: Sized {
    fn put(&self, e: &mut Enc);
    fn get(d: &mut Dec) -> Result<Self, WireError>;
}

/// Encodes `v` on its own.
pub fn encode<T: Wire>(v: &T) -> Vec<u8> {
    let mut e = Enc::default();
    v.put(&mut e);
    e.out
}

/// Decodes a `T` that must fill `data` exactly.
pub fn decode<T: Wire>(data: &[u8]) -> Result<T, WireError> {
    let mut d = Dec::new(data);
    let v = T::get(&mut d)?;
    d.finish()?;
    Ok(v)
}

macro_rules! wire_int {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            fn put(&self, e: &mut Enc) {
                e.out.extend_from_slice(&self.to_le_bytes());
            }
            fn get(d: &mut Dec) -> Result<Self, WireError> {
                let b = d.take(std::mem::size_of::<$t>())?;
                Ok(<$t>::from_le_bytes(b.try_into().expect("sized take")))
            }
        }
    )*};
}
wire_int!(u8, u16, u32, u64, u128, i64);

impl Wire for bool {
    fn put(&self, e: &mut Enc) {
        e.out.push(*self as u8);
    }
    fn get(d: &mut Dec) -> Result<Self, WireError> {
        match u8::get(d)? {
            0 => Ok(false),
            1 => Ok(true),
            v => d.fail(format!("boolean byte {v}")),
        }
    }
}

impl<T: Wire> Wire for Option<T> {
    fn put(&self, e: &mut Enc) {
        match self {
            None => e.out.push(0),
            Some(v) => {
                e.out.push(1);
                v.put(e);
            }
        }
    }
    fn get(d: &mut Dec) -> Result<Self, WireError> {
        match u8::get(d)? {
            0 => Ok(None),
            1 => Ok(Some(T::get(d)?)),
            v => d.fail(format!("option tag {v}")),
        }
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn put(&self, e: &mut Enc) {
        (self.len() as u32).put(e);
        self.iter().for_each(|v| v.put(e));
    }
    fn get(d: &mut Dec) -> Result<Self, WireError> {
        let n = u32::get(d)? as usize;
        // Every item takes at least one byte.
        if n > d.remaining() {
            return d.fail(format!("{n} items claimed, {} bytes left", d.remaining()));
        }
        (0..n).map(|_| T::get(d)).collect()
    }
}

impl<T: Wire, const N: usize> Wire for [T; N] {
    fn put(&self, e: &mut Enc) {
        self.iter().for_each(|v| v.put(e));
    }
    fn get(d: &mut Dec) -> Result<Self, WireError> {
        let v: Vec<T> = (0..N).map(|_| T::get(d)).collect::<Result<_, _>>()?;
        match v.try_into() {
            Ok(a) => Ok(a),
            Err(_) => d.fail("array length"),
        }
    }
}

impl<A: Wire, B: Wire> Wire for (A, B) {
    fn put(&self, e: &mut Enc) {
        self.0.put(e);
        self.1.put(e);
    }
    fn get(d: &mut Dec) -> Result<Self, WireError> {
        Ok((A::get(d)?, B::get(d)?))
    }
}

/// A struct of public fields, encoded field by field in declaration order.
macro_rules! wire_struct {
    ($t:ident { $($f:ident),* $(,)? }) => {
        impl Wire for $t {
            fn put(&self, e: &mut Enc) {
                $(self.$f.put(e);)*
            }
            fn get(d: &mut Dec) -> Result<Self, WireError> {
                Ok($t { $($f: Wire::get(d)?,)* })
            }
        }
    };
}

wire_struct!(Csrs {
    mstatus,
    misa,
    medeleg,
    mideleg,
    mie,
    mip_sw,
    mtvec,
    mscratch,
    mepc,
    mcause,
    mtval,
    mcounteren,
    mcountinhibit,
    menvcfg,
    stvec,
    sscratch,
    sepc,
    scause,
    stval,
    scounteren,
    senvcfg,
    satp,
    fflags,
    frm,
    mcycle_base,
    minstret_base,
    mhartid,
    stimecmp,
    stimer_at,
    hpm,
});
wire_struct!(Hpm { stored, event, map });
wire_struct!(HartState {
    pc,
    x,
    f,
    privilege,
    icount,
    csrs,
    pmpcfg,
    pmpaddr,
    reservation
});
wire_struct!(AclintState {
    msip,
    mtimecmp,
    mtime_delta
});
wire_struct!(RtcState {
    tick_offset,
    time_high,
    alarm_next,
    alarm_at,
    irq_enabled,
    irq_pending
});
wire_struct!(PlicState {
    priority,
    pending,
    claimed,
    enable,
    threshold,
    levels
});
wire_struct!(UartState {
    regs,
    divider,
    thr_ipending,
    timeout_ipending,
    recv_fifo,
    recv_fifo_itl,
    timeout_at,
    output,
});
wire_struct!(PFlashState {
    sectors,
    wcycle,
    cmd,
    status,
    counter
});
wire_struct!(FwCfgState {
    cur_entry,
    cur_offset,
    dma_addr
});
wire_struct!(Queue {
    max_size,
    size,
    ready,
    desc,
    avail,
    used,
    last_avail,
    next_used
});
wire_struct!(Desc { addr, len, write });
wire_struct!(DescChain { head, descs });
wire_struct!(BlockRequest { id, op });
wire_struct!(BlkState {
    capacity_sectors,
    next_id,
    in_flight,
    outbox
});
wire_struct!(NetCounters {
    tx_frames,
    rx_frames,
    rx_dropped_full,
    rx_dropped_too_big
});
wire_struct!(NetState {
    mac,
    active,
    features,
    pending_rx,
    counters
});
wire_struct!(RngState { waiting });
wire_struct!(VirtioMmioState {
    regs,
    driver_features,
    queues,
    device
});
wire_struct!(BoardState {
    test,
    rtc,
    clint,
    plic,
    uart,
    virtio,
    flash,
    ecam,
    fw_cfg,
    irq_levels,
    warp_bias,
    lines,
    serial_backlog,
    stop,
    resched,
});
wire_struct!(BlockCompletion { id, ok, data });

/// The drive's state is bulk data with its own section (disk_section.rs):
/// not here, and `None` until that section is read.
impl Wire for MachineState {
    fn put(&self, e: &mut Enc) {
        self.hart.put(e);
        self.board.put(e);
        self.rng_seed.put(e);
        self.replay.put(e);
    }
    fn get(d: &mut Dec) -> Result<Self, WireError> {
        Ok(MachineState {
            hart: Wire::get(d)?,
            board: Wire::get(d)?,
            rng_seed: Wire::get(d)?,
            replay: Wire::get(d)?,
            disk: None,
        })
    }
}

impl Wire for Priv {
    fn put(&self, e: &mut Enc) {
        (*self as u8).put(e);
    }
    fn get(d: &mut Dec) -> Result<Self, WireError> {
        match u8::get(d)? {
            0 => Ok(Priv::U),
            1 => Ok(Priv::S),
            3 => Ok(Priv::M),
            v => d.fail(format!("privilege {v}")),
        }
    }
}

impl Wire for TestRequest {
    fn put(&self, e: &mut Enc) {
        match self {
            TestRequest::PowerOff => 0u8.put(e),
            TestRequest::Reset => 1u8.put(e),
            TestRequest::Fail(code) => {
                2u8.put(e);
                code.put(e);
            }
        }
    }
    fn get(d: &mut Dec) -> Result<Self, WireError> {
        match u8::get(d)? {
            0 => Ok(TestRequest::PowerOff),
            1 => Ok(TestRequest::Reset),
            2 => Ok(TestRequest::Fail(u16::get(d)?)),
            v => d.fail(format!("test-device request {v}")),
        }
    }
}

impl Wire for StopReason {
    fn put(&self, e: &mut Enc) {
        match self {
            StopReason::Test(r) => {
                0u8.put(e);
                r.put(e);
            }
            StopReason::Quit => 1u8.put(e),
            StopReason::Error => 2u8.put(e),
        }
    }
    fn get(d: &mut Dec) -> Result<Self, WireError> {
        match u8::get(d)? {
            0 => Ok(StopReason::Test(TestRequest::get(d)?)),
            1 => Ok(StopReason::Quit),
            v => d.fail(format!("stop reason {v}")),
        }
    }
}

impl Wire for BlockOp {
    fn put(&self, e: &mut Enc) {
        match self {
            BlockOp::Read { sector, len } => {
                0u8.put(e);
                sector.put(e);
                len.put(e);
            }
            BlockOp::Write { sector, data } => {
                1u8.put(e);
                sector.put(e);
                data.put(e);
            }
            BlockOp::Flush => 2u8.put(e),
        }
    }
    fn get(d: &mut Dec) -> Result<Self, WireError> {
        match u8::get(d)? {
            0 => Ok(BlockOp::Read {
                sector: u64::get(d)?,
                len: u32::get(d)?,
            }),
            1 => Ok(BlockOp::Write {
                sector: u64::get(d)?,
                data: Vec::get(d)?,
            }),
            2 => Ok(BlockOp::Flush),
            v => d.fail(format!("block operation {v}")),
        }
    }
}

impl Wire for DeviceState {
    fn put(&self, e: &mut Enc) {
        match self {
            DeviceState::Blk(s) => {
                0u8.put(e);
                s.put(e);
            }
            DeviceState::Net(s) => {
                1u8.put(e);
                s.put(e);
            }
            DeviceState::Rng(s) => {
                2u8.put(e);
                s.put(e);
            }
        }
    }
    fn get(d: &mut Dec) -> Result<Self, WireError> {
        match u8::get(d)? {
            0 => Ok(DeviceState::Blk(BlkState::get(d)?)),
            1 => Ok(DeviceState::Net(NetState::get(d)?)),
            2 => Ok(DeviceState::Rng(RngState::get(d)?)),
            v => d.fail(format!("virtio device kind {v}")),
        }
    }
}

impl Wire for ReplayPosition {
    fn put(&self, e: &mut Enc) {
        self.offset.0.put(e);
        self.index.0.put(e);
        self.icount.0.put(e);
    }
    fn get(d: &mut Dec) -> Result<Self, WireError> {
        Ok(ReplayPosition {
            offset: logfmt::ByteOffset(u64::get(d)?),
            index: logfmt::EventIndex(u64::get(d)?),
            icount: logfmt::Icount(u64::get(d)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_cannot_claim_more_than_the_bytes_left() {
        let mut bytes = encode(&vec![1u8, 2, 3]);
        assert_eq!(decode::<Vec<u8>>(&bytes).unwrap(), vec![1, 2, 3]);
        bytes[0] = 0xff;
        assert!(decode::<Vec<u8>>(&bytes).is_err());
        assert!(decode::<bool>(&[2]).is_err());
        assert!(decode::<Option<u8>>(&[1]).is_err());
        assert!(decode::<u8>(&[1, 2]).is_err(), "trailing bytes");
    }
}
