//! Snapshot costs on a real recording, measured in-process:
//! * a straight replay, for reference;
//! * the same replay taking a snapshot every INTERVAL instructions: time
//!   per snapshot, memory per snapshot (pages and bytes);
//! * seek latency: random targets in random order through a `Timeline`,
//!   against replaying from power-on to the same targets.
//!
//! Default workload: the tiny Linux fixture, recorded here with its typing
//! script. Another recording: `SNAP_BENCH_LOG=LOG SNAP_BENCH_ARGS='--bios
//! ... --kernel ...'` (the machine options of its replay, split on spaces).
//! `SNAP_BENCH_INTERVAL=N` (default 10 M instructions), `SNAP_BENCH_SEEKS=N`
//! (default 20), `SNAP_BENCH_BUDGET=512M`.
//!
//! Run: `cargo bench -p emu --bench snapshot`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use emu::cli::{run_with, Cli, Command, RunArgs};
use emu::replay::session::RrMode;
use emu::snapshot::cli_ops::replay_machine;
use emu::snapshot::{SnapshotBudget, Timeline};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn run_args(machine: &[String], extra: &[String]) -> RunArgs {
    let argv = ["emu", "run", "--serial", "null"]
        .iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned())
        .chain(machine.iter().cloned());
    match Cli::parse_from(argv).command {
        Command::Run(a) => a,
        _ => unreachable!("parsed a run command"),
    }
}

fn env_u64(key: &str, default: u64) -> u64 {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The recording to measure and its machine options (recorded here when
/// none is given; the directory is removed at the end).
fn recording() -> (PathBuf, Vec<String>, Option<PathBuf>) {
    if let Ok(log) = std::env::var("SNAP_BENCH_LOG") {
        let args = std::env::var("SNAP_BENCH_ARGS").unwrap_or_default();
        return (
            log.into(),
            args.split_whitespace().map(str::to_string).collect(),
            None,
        );
    }
    let f = fixtures();
    let machine: Vec<String> = vec![
        "--cpu".into(),
        "mincpu".into(),
        "--bios".into(),
        f.join("guest/opensbi-1.5.1-fw_dynamic.bin")
            .display()
            .to_string(),
        "--kernel".into(),
        f.join("guest/linux-6.1.192-tiny-Image")
            .display()
            .to_string(),
        "--append".into(),
        "console=ttyS0 earlycon=sbi ask".into(),
    ];
    let dir = std::env::temp_dir().join(format!("emu-snap-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("bench directory");
    let log = dir.join("linux.bin");
    let script = f.join("scripts/linux-tiny.script").display().to_string();
    let a = run_args(&machine, &["--serial-script".into(), script]);
    run_with(
        &a,
        &RrMode::Record {
            log: log.clone(),
            legacy: false,
            force: true,
        },
    )
    .expect("recording the workload");
    (log, machine, Some(dir))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let (log, machine, scratch) = recording();
    let a = run_args(&machine, &[]);
    let interval = env_u64("SNAP_BENCH_INTERVAL", 10_000_000);
    let seeks = env_u64("SNAP_BENCH_SEEKS", 20) as usize;
    let budget = std::env::var("SNAP_BENCH_BUDGET")
        .ok()
        .map(|b| SnapshotBudget::parse(&b).expect("SNAP_BENCH_BUDGET"))
        .unwrap_or_default();
    let fresh = || {
        replay_machine(&a, &log, false, Some(Box::new(std::io::sink())))
            .expect("replay machine")
            .machine
    };

    // Straight replay.
    let mut m = fresh();
    let t0 = Instant::now();
    m.run().expect("straight replay");
    let straight = t0.elapsed();
    let end = m.icount();
    drop(m);

    // Replay with snapshots: chunks of `interval`, each followed by one.
    let mut t = Timeline::try_new(
        fresh(),
        SnapshotBudget {
            interval: u64::MAX / 2,
            ..budget
        },
    )
    .expect("timeline");
    let base = t.memory_used();
    let mut snap_time = Duration::ZERO;
    let mut taken = 0u32;
    let t0 = Instant::now();
    loop {
        let next = t.icount() + interval;
        if t.machine_mut().run_until(next).expect("replay").is_some() {
            break;
        }
        let s0 = Instant::now();
        t.snapshot_now().expect("snapshot");
        snap_time += s0.elapsed();
        taken += 1;
    }
    let with_snaps = t0.elapsed();
    let infos = t.snapshots();
    let deltas: Vec<_> = infos.iter().skip(1).collect();
    let pages: usize = deltas.iter().map(|s| s.pages).sum();
    let bytes: usize = deltas.iter().map(|s| s.bytes).sum();

    // Seeks: random targets, random order.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut rnd = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let targets: Vec<u64> = (0..seeks).map(|_| 1 + rnd() % (end - 1)).collect();
    let mut lat = Vec::new();
    for &target in &targets {
        let s0 = Instant::now();
        t.seek(target).expect("seek");
        lat.push(s0.elapsed());
    }
    lat.sort();
    let mean = lat.iter().sum::<Duration>() / lat.len().max(1) as u32;
    // Without snapshots: replay from power-on to each target.
    let mut from_start = Duration::ZERO;
    for &target in targets.iter().take(5) {
        let mut m = fresh();
        let s0 = Instant::now();
        m.run_until(target).expect("replay to target");
        from_start += s0.elapsed();
    }
    let from_start = from_start / targets.len().clamp(1, 5) as u32;

    println!("snapshot bench: {} ({end} instructions)", log.display());
    println!("  straight replay:               {}", ms(straight));
    println!(
        "  replay + {taken} snapshots:        {} (every {interval} instructions)",
        ms(with_snaps)
    );
    println!(
        "  per snapshot:                  {} ({} dirty pages, {} KiB on average)",
        ms(snap_time / taken.max(1)),
        pages / deltas.len().max(1),
        bytes / deltas.len().max(1) / 1024
    );
    println!(
        "  base (power-on images):        {} KiB; all snapshots: {} KiB",
        base / 1024,
        t.memory_used() / 1024
    );
    println!(
        "  seek, {} random targets:        mean {}, median {}, max {}",
        lat.len(),
        ms(mean),
        ms(lat[lat.len() / 2]),
        ms(*lat.last().expect("seeks"))
    );
    println!(
        "  replay from power-on instead:  mean {} (5 of the targets)",
        ms(from_start)
    );
    if let Some(dir) = scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
}
