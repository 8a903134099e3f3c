//! Runs the self-checking ISA programs of `fixtures/isa/` (built from the
//! `.S` sources there, checked against QEMU) on a RAM-only bus.
//!
//! Each program reports through HTIF `tohost`: 1 = pass, (n << 1) | 1 =
//! test n failed. The harness loads the ELF segments, runs the hart and
//! polls `tohost` (fixed at 0x8001_0000 by the linker script).

use emu::bus::{PhysAddr, Ram, RamOnlyBus};
use emu::cpu::{Exit, Hart, HartConfig, IsaExtensions};
use object::{Object, ObjectSegment};
use std::path::PathBuf;

const RAM_BASE: u64 = 0x8000_0000;
const TOHOST: u64 = 0x8001_0000;
const MAX_INSNS: u64 = 50_000_000;

fn elf_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/isa")
        .join(format!("{name}.elf"))
}

/// Loads `name`.elf and runs it; returns Ok(()) on pass or a description.
fn run(name: &str, cfg: HartConfig) -> Result<u64, String> {
    let path = elf_path(name);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let elf = object::File::parse(&*bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bus = RamOnlyBus {
        ram: Ram::new(PhysAddr(RAM_BASE), 4 << 20),
    };
    for seg in elf.segments() {
        let data = seg.data().map_err(|e| e.to_string())?;
        if !data.is_empty() {
            bus.ram
                .write_bytes(PhysAddr(seg.address()), data)
                .map_err(|e| format!("segment at {:#x}: {e:?}", seg.address()))?;
        }
    }
    let mut hart = Hart::new(cfg);
    hart.reset(elf.entry());
    while hart.icount() < MAX_INSNS {
        match hart.run(&mut bus, 10_000) {
            Exit::BudgetExhausted | Exit::Wfi => {}
            other => return Err(format!("{name}: unexpected exit {other:?}")),
        }
        let v = bus.ram.read_u64(PhysAddr(TOHOST)).unwrap();
        if v == 1 {
            return Ok(hart.icount());
        }
        if v != 0 {
            let st = hart.state();
            return Err(format!(
                "{name}: test {} failed (tohost={v:#x}); pc={:#x} mcause={:#x} mepc={:#x} mtval={:#x} t4={:#x} t5={:#x} a0={:#x} t6={:#x}",
                v >> 1,
                st.pc,
                st.csrs.mcause,
                st.csrs.mepc,
                st.csrs.mtval,
                st.x[29],
                st.x[30],
                st.x[10],
                st.x[31]
            ));
        }
    }
    Err(format!(
        "{name}: no result after {MAX_INSNS} instructions (pc={:#x})",
        hart.pc()
    ))
}

macro_rules! isa_tests {
    ($($name:ident),* $(,)?) => {$(
        #[test]
        fn $name() {
            if let Err(e) = run(stringify!($name), HartConfig::default()) {
                panic!("{e}");
            }
        }
    )*};
}

isa_tests!(
    rv64i, rv64m, rv64a, rv64c, rv64f, rv64d, fround, fpbench, zicsr, zifencei, priv_traps, sv39,
    sv48, pmp, crc32, zb, zicbo, hints, zfa
);

/// Zicond is in QEMU's `max` CPU only (fixtures/isa/run-qemu.sh runs it there).
#[test]
fn zicond() {
    let cfg = HartConfig {
        ext: IsaExtensions {
            zicond: true,
            ..IsaExtensions::QEMU_DEFAULT
        },
        ..HartConfig::default()
    };
    if let Err(e) = run("zicond", cfg) {
        panic!("{e}");
    }
}

/// Zicond is illegal on the default CPU.
#[test]
fn zicond_needs_its_flag() {
    let err = run("zicond", HartConfig::default()).unwrap_err();
    assert!(err.contains("test 1 failed"), "{err}");
}

/// Every optional extension off: their instructions are illegal (QEMU:
/// `-cpu rv64,zba=false,...`, see run-qemu.sh).
#[test]
fn ext_off() {
    let cfg = HartConfig {
        ext: IsaExtensions::NONE,
        ..HartConfig::default()
    };
    if let Err(e) = run("ext_off", cfg) {
        panic!("{e}");
    }
}

/// ... and with them on, the same program fails at its first test.
#[test]
fn ext_off_fails_with_extensions_on() {
    let err = run("ext_off", HartConfig::default()).unwrap_err();
    assert!(err.contains("test 1 failed"), "{err}");
}

/// The same instruction count every time (record/replay depends on it).
#[test]
fn deterministic_icount() {
    let a = run("rv64i", HartConfig::default()).unwrap();
    let b = run("rv64i", HartConfig::default()).unwrap();
    assert_eq!(a, b);
}
