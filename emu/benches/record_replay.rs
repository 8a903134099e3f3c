//! Record/replay costs on real guests, measured in-process:
//! * record overhead against a plain run of the same guest (target <= 5 %);
//! * replay time against record time (target <= 1.0x);
//! * log bytes per guest second, against QEMU 10 recording the same guest.
//!
//! The workloads need no input, so run, record and replay execute the same
//! instructions; times are the CPU time of the thread that runs the machine.
//!
//! Run: `cargo bench -p emu --bench record_replay` (add `-- --quick` for one
//! repetition). Needs `qemu-system-riscv64` for the QEMU column.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use clap::Parser;
use emu::cli::{run_with, Cli, Command as EmuCommand, RunArgs, RunReport};
use emu::replay::session::RrMode;

struct Workload {
    name: &'static str,
    /// emu machine options.
    emu: Vec<String>,
    /// The same guest for qemu-system-riscv64 (None: not compared).
    qemu: Option<Vec<String>>,
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn workloads() -> Vec<Workload> {
    let f = fixtures();
    let p = |rel: &str| f.join(rel).display().to_string();
    let mincpu = "rv64i,m=on,a=on,c=on,zicsr=on,zifencei=on,zicntr=on,s=on,u=on,mmu=on,sv39=on,pmp=on,debug=off";
    vec![
        Workload {
            name: "linux-tiny boot to init and poweroff",
            emu: vec![
                "--cpu".into(),
                "mincpu".into(),
                "--bios".into(),
                p("guest/opensbi-1.5.1-fw_dynamic.bin"),
                "--kernel".into(),
                p("guest/linux-6.1.192-tiny-Image"),
                "--append".into(),
                "console=ttyS0 earlycon=sbi".into(),
            ],
            qemu: Some(vec![
                "-M".into(),
                "virt".into(),
                "-m".into(),
                "128M".into(),
                "-cpu".into(),
                mincpu.into(),
                "-display".into(),
                "none".into(),
                "-serial".into(),
                "null".into(),
                "-monitor".into(),
                "none".into(),
                "-bios".into(),
                p("guest/opensbi-1.5.1-fw_dynamic.bin"),
                "-kernel".into(),
                p("guest/linux-6.1.192-tiny-Image"),
                "-append".into(),
                "console=ttyS0 earlycon=sbi".into(),
                "-net".into(),
                "none".into(),
            ]),
        },
        Workload {
            name: "OpenSBI + U-Boot: boot, autoboot, prompt (600 M insns)",
            emu: vec![
                "--bios".into(),
                p("guest/opensbi-1.5.1-fw_dynamic.bin"),
                "--kernel".into(),
                p("guest/u-boot-2023.01-qemu-riscv64_smode.bin"),
                "--max-insns".into(),
                "600000000".into(),
            ],
            qemu: None,
        },
    ]
}

fn args(machine: &[String]) -> RunArgs {
    let argv = ["emu", "run", "--serial", "null"]
        .into_iter()
        .map(String::from)
        .chain(machine.iter().cloned());
    match Cli::parse_from(argv).command {
        EmuCommand::Run(a) => a,
        _ => unreachable!(),
    }
}

/// CPU time of the calling thread, which is where the machine runs. It is
/// steadier than wall time on a shared machine; host threads (disk, net,
/// typing) do not run in these no-input workloads.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn timed(a: &RunArgs, mode: &RrMode) -> (Duration, RunReport) {
    let t = thread_cpu();
    let r = run_with(a, mode).unwrap_or_else(|e| panic!("run failed: {e}"));
    (thread_cpu() - t, r)
}

/// The fastest repetition: on a shared machine other work only ever adds
/// time, so the minimum is the steadiest estimate of a run's own cost.
fn fastest(v: Vec<Duration>) -> Duration {
    v.into_iter().min().expect("at least one repetition")
}

/// QEMU recording of the same guest: (wall time, log bytes, icount).
fn qemu_record(args: &[String], log: &Path) -> Option<(Duration, u64, u64)> {
    let t = Instant::now();
    let status = Command::new("qemu-system-riscv64")
        .args(args)
        .arg("-icount")
        .arg(format!("shift=3,rr=record,rrfile={}", log.display()))
        .status()
        .ok()?;
    let wall = t.elapsed();
    if !status.success() {
        return None;
    }
    let mapped = logfmt::MappedLog::open(log).ok()?;
    let icount = mapped.reader().ok()?.flatten().last().map(|r| r.icount.0)?;
    Some((wall, mapped.bytes().len() as u64, icount))
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let reps = if quick { 1 } else { 7 };
    let dir = std::env::temp_dir().join(format!("emu-rr-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    println!("| workload | run | record | overhead | replay | replay/record | log bytes | guest s | log B/guest s | QEMU log B/guest s |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for w in workloads() {
        let a = args(&w.emu);
        let log = dir.join("bench.bin");
        let (mut run_t, mut rec_t, mut rep_t) = (Vec::new(), Vec::new(), Vec::new());
        let mut last = None;
        for _ in 0..reps {
            let (t, live) = timed(&a, &RrMode::Live);
            run_t.push(t);
            let (t, rec) = timed(
                &a,
                &RrMode::Record {
                    log: log.clone(),
                    legacy: false,
                    force: true,
                },
            );
            rec_t.push(t);
            let (t, rep) = timed(
                &a,
                &RrMode::Replay {
                    log: log.clone(),
                    ignore_config: false,
                },
            );
            rep_t.push(t);
            assert_eq!(
                (rec.icount, rec.digest),
                (rep.icount, rep.digest),
                "replay must reproduce the recording"
            );
            assert_eq!(
                live.icount, rec.icount,
                "a no-input workload runs the same in every mode"
            );
            last = Some(rec);
        }
        let rec = last.expect("at least one repetition");
        let bytes = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let guest_s = rec.virtual_ns as f64 / 1e9;
        let (run_m, rec_m, rep_m) = (fastest(run_t), fastest(rec_t), fastest(rep_t));
        let qemu = w
            .qemu
            .as_ref()
            .and_then(|q| qemu_record(q, &dir.join("qemu.bin")));
        let qemu_col = match qemu {
            // QEMU's guest time: icount << shift (the lower bound; idle warps add to it).
            Some((_, qb, qi)) => format!(
                "{:.0} ({} B, {:.3} s)",
                qb as f64 / (qi as f64 * 8e-9),
                qb,
                qi as f64 * 8e-9
            ),
            None => "-".into(),
        };
        println!(
            "| {} | {:.3} s | {:.3} s | {:+.1} % | {:.3} s | {:.2}x | {} | {:.3} | {:.0} (icount-time: {:.0}) | {} |",
            w.name,
            run_m.as_secs_f64(),
            rec_m.as_secs_f64(),
            (rec_m.as_secs_f64() / run_m.as_secs_f64() - 1.0) * 100.0,
            rep_m.as_secs_f64(),
            rep_m.as_secs_f64() / rec_m.as_secs_f64(),
            bytes,
            guest_s,
            bytes as f64 / guest_s,
            bytes as f64 / (rec.icount as f64 * 8e-9),
            qemu_col
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
