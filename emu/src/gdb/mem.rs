//! Debugger memory access at guest *virtual* addresses, translated as the
//! hart translates its own data accesses right now (satp, privilege and
//! MPRV; Sv39/Sv48 through [`Hart::translate`]). Only RAM is reachable: a
//! debugger read must never reach an MMIO device (a UART read pops its
//! FIFO), so MMIO and unmapped addresses are errors, as is a page fault.
//! Nothing here changes the TLB or any other hart state.

use crate::bus::PhysAddr;
use crate::cpu::mmu::Access;
use crate::cpu::Hart;
use crate::machine::Machine;

const PAGE: u64 = 4096;

/// Why a debugger access failed (gdb shows "Cannot access memory").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemError {
    /// The hart's translation faults (page fault or PTE outside RAM).
    Translate { va: u64 },
    /// The address translates outside RAM (MMIO, boot ROM, unmapped).
    NotRam { va: u64, pa: u64 },
}

/// Physical address of `va` as a data access of the hart would see it;
/// falls back to an instruction fetch's view so execute-only code is
/// readable too.
fn translate(m: &mut Machine, va: u64, write: bool) -> Result<u64, MemError> {
    let hart: &mut Hart = &mut m.hart;
    let prv = hart.dprv;
    if write {
        return hart
            .translate(&mut m.board, va, Access::Write, prv)
            .map_err(|_| MemError::Translate { va });
    }
    hart.translate(&mut m.board, va, Access::Read, prv)
        .or_else(|_| {
            let prv = hart.privilege();
            hart.translate(&mut m.board, va, Access::Exec, prv)
        })
        .map_err(|_| MemError::Translate { va })
}

/// Reads `buf.len()` bytes at `va`, page by page. Returns how many bytes
/// were read before the first inaccessible byte, or the error if none.
pub fn read_virt(m: &mut Machine, va: u64, buf: &mut [u8]) -> Result<usize, MemError> {
    let mut done = 0usize;
    while done < buf.len() {
        let addr = va.wrapping_add(done as u64);
        let in_page = (PAGE - addr % PAGE).min((buf.len() - done) as u64) as usize;
        let chunk = &mut buf[done..done + in_page];
        let r = translate(m, addr, false).and_then(|pa| {
            m.board
                .ram
                .read_bytes(PhysAddr(pa), chunk)
                .map_err(|_| MemError::NotRam { va: addr, pa })
        });
        match r {
            Ok(()) => done += in_page,
            Err(e) if done == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(done)
}

/// Writes `data` at `va` (RAM only, all or nothing per page) and drops the
/// hart's decoded code so a patched instruction is executed as written.
pub fn write_virt(m: &mut Machine, va: u64, data: &[u8]) -> Result<(), MemError> {
    let mut done = 0usize;
    while done < data.len() {
        let addr = va.wrapping_add(done as u64);
        let in_page = (PAGE - addr % PAGE).min((data.len() - done) as u64) as usize;
        let pa = translate(m, addr, true)?;
        m.board
            .ram
            .write_bytes(PhysAddr(pa), &data[done..done + in_page])
            .map_err(|_| MemError::NotRam { va: addr, pa })?;
        done += in_page;
    }
    m.hart.invalidate_code();
    Ok(())
}
