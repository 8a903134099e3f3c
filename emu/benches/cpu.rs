//! Interpreter throughput on a RAM-only bus, for three programs of
//! fixtures/isa:
//! - `crc32`: U-Boot's CRC-32 loop (table-driven, as lib/crc32.c), built
//!   from crc32.c with -DROUNDS=1024 (about 218 M instructions);
//! - `fp`: the F/D kernels of fpbench.c (fused multiply-add, division,
//!   square root, conversions, single and double) in round-to-nearest;
//! - `fp-rtz`: the same with `frm` = round-towards-zero, where no host fast
//!   path applies and every operation takes the exact soft-float path.
//!
//! Run: `cargo bench -p emu --bench cpu` (prints MIPS per run-slice size,
//! from wall-clock time and from this thread's CPU time);
//! `cargo bench -p emu --bench cpu -- fp` runs only the programs whose name
//! starts with `fp`.

use emu::bus::{PhysAddr, Ram, RamOnlyBus};
use emu::cpu::{Exit, Hart, HartConfig};
use object::{Object, ObjectSegment, ObjectSymbol};
use std::time::Instant;

const TOHOST: u64 = 0x8001_0000;

/// CPU time of this thread: the machine is shared, so wall-clock time
/// mostly measures the other processes.
fn thread_cpu_secs() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we pass.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// A benchmark program: its ELF in fixtures/isa and, for the F/D kernels,
/// the symbol holding the checksum the program computed.
struct Program {
    name: &'static str,
    elf: &'static str,
    checksum_symbol: Option<&'static str>,
}

const PROGRAMS: [Program; 3] = [
    Program {
        name: "crc32",
        elf: "crc32_bench.elf",
        checksum_symbol: None,
    },
    Program {
        name: "fp",
        elf: "fpbench_bench.elf",
        checksum_symbol: Some("fp_result"),
    },
    Program {
        name: "fp-rtz",
        elf: "fpbench_rtz_bench.elf",
        checksum_symbol: Some("fp_result"),
    },
];

/// One finished run.
struct Run {
    insns: u64,
    wall: f64,
    cpu: f64,
    checksum: Option<u64>,
}

/// Runs the program to completion in slices of `slice` instructions.
fn run_once(elf: &[u8], checksum_symbol: Option<&str>, slice: u64) -> Run {
    let file = object::File::parse(elf).expect("parse the benchmark ELF");
    let mut bus = RamOnlyBus {
        ram: Ram::new(PhysAddr(0x8000_0000), 4 << 20),
    };
    for seg in file.segments() {
        let data = seg.data().unwrap();
        if !data.is_empty() {
            bus.ram.write_bytes(PhysAddr(seg.address()), data).unwrap();
        }
    }
    let mut hart = Hart::new(HartConfig::default());
    hart.reset(file.entry());
    let t = Instant::now();
    let c = thread_cpu_secs();
    loop {
        match hart.run(&mut bus, slice) {
            Exit::BudgetExhausted => {}
            e => panic!("unexpected exit {e:?}"),
        }
        let v = bus.ram.read_u64(PhysAddr(TOHOST)).unwrap();
        if v != 0 {
            assert_eq!(v, 1, "the program's self-check failed");
            break;
        }
    }
    let (wall, cpu) = (t.elapsed().as_secs_f64(), thread_cpu_secs() - c);
    let checksum = checksum_symbol.map(|name| {
        let sym = file
            .symbols()
            .find(|s| s.name() == Ok(name))
            .unwrap_or_else(|| panic!("no symbol {name}"));
        bus.ram.read_u64(PhysAddr(sym.address())).unwrap()
    });
    Run {
        insns: hart.icount(),
        wall,
        cpu,
        checksum,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument filters programs.
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    // CPU_BENCH_QUICK=N: N runs of the first slice size only, each time
    // printed (for profilers such as callgrind, and to see run-to-run spread).
    let quick: Option<usize> = std::env::var("CPU_BENCH_QUICK")
        .ok()
        .map(|v| v.parse().unwrap_or(1));
    let (slices, runs): (&[u64], usize) = match quick {
        Some(n) => (&[10_000_000], n),
        None => (&[10_000_000, 100_000, 1_000], 5),
    };
    for prog in PROGRAMS
        .iter()
        .filter(|p| filter.is_empty() || filter.iter().any(|f| p.name.starts_with(f.as_str())))
    {
        let path = format!(
            "{}/../fixtures/isa/{}",
            env!("CARGO_MANIFEST_DIR"),
            prog.elf
        );
        let elf = std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
        // Slices: the board's timer-bounded slices are large; 1000 shows the
        // cost of frequent returns (replay stops at exact counts).
        for &slice in slices {
            let (mut wall, mut cpu) = (f64::MAX, f64::MAX);
            let (mut n, mut checksum) = (0, None);
            for _ in 0..runs {
                let r = run_once(&elf, prog.checksum_symbol, slice);
                if quick.is_some() {
                    eprintln!(
                        "run: {} instructions, wall {:.3} s, CPU {:.3} s",
                        r.insns, r.wall, r.cpu
                    );
                }
                n = r.insns;
                checksum = r.checksum;
                wall = wall.min(r.wall);
                cpu = cpu.min(r.cpu);
            }
            let sum = checksum
                .map(|c| format!(" checksum {c:#018x};"))
                .unwrap_or_default();
            println!(
                "{:<6} slice={slice:>10}: {n} instructions;{sum} best wall {wall:.3} s = {:.0} MIPS; best CPU {cpu:.3} s = {:.0} MIPS",
                prog.name,
                n as f64 / wall / 1e6,
                n as f64 / cpu / 1e6
            );
        }
    }
}
