//! Plain-data snapshot of the hart's architectural state (for digests,
//! traces and tests).

use super::csr::Csrs;
use super::{Hart, Priv};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HartState {
    pub pc: u64,
    pub x: [u64; 32],
    pub f: [u64; 32],
    pub privilege: Priv,
    pub icount: u64,
    pub csrs: Csrs,
    /// pmpcfg0, pmpcfg2 (8 entries each).
    pub pmpcfg: [u64; 2],
    pub pmpaddr: [u64; 16],
    /// The last LR's reservation, if any: its address and the value it read
    /// (an SC succeeds only if memory still holds that value, as QEMU's).
    pub reservation: Option<(u64, u64)>,
}

impl Hart {
    /// Puts the hart back into `s` (snapshot restore). The TLB and the
    /// decoded-block cache are flushed, not restored: they are caches of
    /// RAM and translation state, rebuilt on demand. Refuses a state of a
    /// differently configured hart (misa, hart id, PMP entries) before
    /// changing anything.
    pub fn restore_state(&mut self, s: &HartState) -> Result<(), crate::devices::StateError> {
        let bad = |what: String| Err(crate::devices::StateError::new("hart", what));
        let mine = Csrs::new(&self.cfg);
        if s.csrs.misa != mine.misa || s.csrs.mhartid != mine.mhartid {
            return bad(format!(
                "misa {:#x} / hart {}, this hart has misa {:#x} / hart {}",
                s.csrs.misa, s.csrs.mhartid, mine.misa, mine.mhartid
            ));
        }
        let mut pmp = self.pmp.clone();
        if let Err(e) = pmp.restore(s.pmpcfg, &s.pmpaddr) {
            return bad(e);
        }
        self.pmp = pmp;
        self.pc = s.pc;
        self.x = [0; 256];
        self.x[..32].copy_from_slice(&s.x);
        self.x[0] = 0;
        self.f = s.f;
        self.prv = s.privilege;
        self.icount = s.icount;
        self.csr = s.csrs.clone();
        self.reservation = s.reservation;
        self.did_mmio = false;
        self.wfi = false;
        self.trap_streak = 0;
        self.update_dprv();
        self.invalidate_code();
        Ok(())
    }
}

impl HartState {
    pub(crate) fn capture(h: &Hart) -> HartState {
        HartState {
            pc: h.pc,
            x: h.x[..32].try_into().expect("32 registers"),
            f: h.f,
            privilege: h.prv,
            icount: h.icount,
            csrs: h.csr.clone(),
            pmpcfg: [h.pmp.read_cfg(0), h.pmp.read_cfg(1)],
            pmpaddr: std::array::from_fn(|i| h.pmp.read_addr(i)),
            reservation: h.reservation,
        }
    }

    /// A stable byte encoding (little-endian fields in a fixed order), for
    /// machine digests.
    pub fn to_bytes(&self) -> Vec<u8> {
        let c = &self.csrs;
        let mut out = Vec::with_capacity(1024);
        let mut put = |v: u64| out.extend_from_slice(&v.to_le_bytes());
        put(self.pc);
        self.x.iter().for_each(|&v| put(v));
        self.f.iter().for_each(|&v| put(v));
        put(self.privilege as u64);
        put(self.icount);
        for v in [
            c.mstatus,
            c.misa,
            c.medeleg,
            c.mideleg,
            c.mie,
            c.mip_sw,
            c.mtvec,
            c.mscratch,
            c.mepc,
            c.mcause,
            c.mtval,
            c.mcounteren,
            c.mcountinhibit,
            c.menvcfg,
            c.stvec,
            c.sscratch,
            c.sepc,
            c.scause,
            c.stval,
            c.scounteren,
            c.senvcfg,
            c.satp,
            c.fflags,
            c.frm,
            c.mcycle_base,
            c.minstret_base,
            c.mhartid,
            c.stimecmp,
            c.stimer_at.unwrap_or(u64::MAX),
            c.stimer_at.is_some() as u64,
        ] {
            put(v);
        }
        c.hpm.stored.iter().for_each(|&v| put(v));
        c.hpm.event.iter().for_each(|&v| put(v));
        c.hpm.map.iter().for_each(|&v| put(v as u64));
        self.pmpcfg.iter().for_each(|&v| put(v));
        self.pmpaddr.iter().for_each(|&v| put(v));
        put(self.reservation.map_or(u64::MAX, |(va, _)| va));
        out
    }
}
