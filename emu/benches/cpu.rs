//! Interpreter throughput on U-Boot's CRC-32 loop (table-driven, as
//! lib/crc32.c), built from fixtures/isa/crc32.c with -DROUNDS=1024
//! (about 218 M instructions), on a RAM-only bus.
//!
//! Run: `cargo bench -p emu --bench cpu` (prints MIPS per run-slice size,
//! from wall-clock time and from this thread's CPU time).

use emu::bus::{PhysAddr, Ram, RamOnlyBus};
use emu::cpu::{Exit, Hart, HartConfig};
use object::{Object, ObjectSegment};
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

/// Runs the program to completion in slices of `slice` instructions;
/// returns (instructions, wall seconds, CPU seconds).
fn run_once(elf: &[u8], slice: u64) -> (u64, f64, f64) {
    let file = object::File::parse(elf).expect("parse crc32_bench.elf");
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
            assert_eq!(v, 1, "crc32 self-check failed");
            break;
        }
    }
    (
        hart.icount(),
        t.elapsed().as_secs_f64(),
        thread_cpu_secs() - c,
    )
}

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/isa/crc32_bench.elf"
    );
    let elf = std::fs::read(path).expect("read crc32_bench.elf");
    // CPU_BENCH_QUICK=N: N runs of the first slice size only, each time
    // printed (for profilers such as callgrind, and to see run-to-run spread).
    let quick: Option<usize> = std::env::var("CPU_BENCH_QUICK")
        .ok()
        .map(|v| v.parse().unwrap_or(1));
    let (slices, runs): (&[u64], usize) = match quick {
        Some(n) => (&[10_000_000], n),
        None => (&[10_000_000, 100_000, 1_000], 5),
    };
    // Slices: the board's timer-bounded slices are large; 1000 shows the
    // cost of frequent returns (replay stops at exact counts).
    for &slice in slices {
        let (mut wall, mut cpu) = (f64::MAX, f64::MAX);
        let mut n = 0;
        for _ in 0..runs {
            let (insns, w, c) = run_once(&elf, slice);
            if quick.is_some() {
                eprintln!("run: {insns} instructions, wall {w:.3} s, CPU {c:.3} s");
            }
            n = insns;
            wall = wall.min(w);
            cpu = cpu.min(c);
        }
        println!(
            "crc32 slice={slice:>10}: {n} instructions; best wall {wall:.3} s = {:.0} MIPS; best CPU {cpu:.3} s = {:.0} MIPS",
            n as f64 / wall / 1e6,
            n as f64 / cpu / 1e6
        );
    }
}
