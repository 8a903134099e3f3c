//! emu's hart against QEMU 10's on random instruction streams (see
//! docs/differential-testing.md). Each program runs a batch of seeded
//! bodies and dumps x1..x31, f0..f31, fcsr, mstatus, the trap record and
//! the data area after each; both emulators must print the same.
//!
//! RR_DIFF_PROGRAMS=N runs N bodies per CPU model instead of the default
//! (the long mode, e.g. 10000), RR_DIFF_SEED=S another stream.

mod boot_support;
mod diff_support;

use diff_support::run::{compare, seed_from_env, CpuModel};
use std::path::PathBuf;

fn programs(default: usize) -> usize {
    std::env::var("RR_DIFF_PROGRAMS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("diff")
        .join(name)
}

fn check(name: &str, cpu: CpuModel, default_programs: usize, seed: u64) {
    if !boot_support::have_tool("qemu-system-riscv64") {
        return;
    }
    let n = programs(default_programs);
    let dir = scratch(name);
    let t = compare(seed, n, 150, &cpu, &dir);
    eprintln!(
        "{name}: seed {seed}: {} programs, {} instructions compared, {} differences",
        t.programs,
        t.instructions,
        t.differences.len()
    );
    for d in &t.differences {
        eprintln!("{}", d.report);
    }
    assert_eq!(t.programs, n, "every program ran");
    assert!(
        t.differences.is_empty(),
        "{name}: {} of {n} programs differ from QEMU (first: {})",
        t.differences.len(),
        t.differences[0].report
    );
    if std::env::var_os("RR_DIFF_KEEP").is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn rv64gc_without_new_extensions_matches_qemu() {
    let off = "rv64,zba=off,zbb=off,zbc=off,zbs=off,zfa=off,zicond=off,zicbom=off,zicboz=off,zihintntl=off,zihintpause=off,zawrs=off";
    check(
        "rv64gc",
        CpuModel {
            emu: "default".into(),
            qemu: Some(off.into()),
            wild: true,
        },
        300,
        seed_from_env(1),
    );
}

#[test]
fn default_cpu_matches_qemu() {
    check(
        "default",
        CpuModel {
            emu: "default".into(),
            qemu: None,
            wild: true,
        },
        300,
        seed_from_env(2),
    );
}

/// Re-runs cases FIRST..=LAST of a stream (RR_DIFF_CASES=FIRST-LAST,
/// RR_DIFF_SEED, RR_DIFF_CPU=default|max, RR_DIFF_QEMU_CPU) as one program
/// and prints their listings and every differing dump word.
#[test]
#[ignore]
fn repro() {
    let seed = seed_from_env(1);
    let range = std::env::var("RR_DIFF_CASES").unwrap_or_else(|_| "0-0".into());
    let (a, b) = range.split_once('-').unwrap_or((&range, &range));
    let (a, b): (usize, usize) = (a.parse().unwrap(), b.parse().unwrap());
    let cpu = CpuModel {
        emu: std::env::var("RR_DIFF_CPU").unwrap_or_else(|_| "default".into()),
        qemu: std::env::var("RR_DIFF_QEMU_CPU").ok(),
        wild: std::env::var("RR_DIFF_WILD").map_or(true, |v| v != "0"),
    };
    let all = diff_support::run::cases(seed, b + 1, cpu.wild);
    let chosen = &all[a..=b];
    for (i, c) in chosen.iter().enumerate() {
        eprintln!("--- case {} ---\n{}", a + i, diff_support::run::listing(c));
    }
    let (e, q) = diff_support::run::run_both(chosen, &cpu, &scratch("repro"), "repro").unwrap();
    for (i, (x, y)) in e.iter().zip(&q).enumerate() {
        for w in 0..x.len() {
            if x[w] != y[w] {
                eprintln!(
                    "case {}: {}: emu {:016x} qemu {:016x}",
                    a + i,
                    diff_support::prog::slot_name(w),
                    x[w],
                    y[w]
                );
            }
        }
    }
}
