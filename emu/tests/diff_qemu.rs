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

/// Every optional extension off on both: the new instructions must trap
/// on both, and RV64GC must still agree.
const ALL_OFF: &str = "rv64,zba=off,zbb=off,zbc=off,zbs=off,zfa=off,zicond=off,zicbom=off,\
                       zicboz=off,zihintntl=off,zihintpause=off,zawrs=off";

fn same_cpu(model: &str, wild: bool) -> CpuModel {
    CpuModel {
        emu: model.into(),
        qemu: Some(model.into()),
        wild,
        for_qemu_max: false,
        translate_all: false,
    }
}

#[test]
fn default_cpu_matches_qemu() {
    // QEMU's own default (no -cpu) against emu's rv64.
    let cpu = CpuModel {
        emu: "rv64".into(),
        qemu: None,
        wild: true,
        for_qemu_max: false,
        translate_all: false,
    };
    check("default", cpu, 600, seed_from_env(1));
}

/// The same against emu's block translator (`cpu::jit`) instead of its
/// interpreter: every block translated on its first run.
#[test]
fn translated_default_cpu_matches_qemu() {
    let cpu = CpuModel {
        emu: "rv64".into(),
        qemu: None,
        wild: true,
        for_qemu_max: false,
        translate_all: true,
    };
    check("translated", cpu, 600, seed_from_env(5));
}

#[test]
fn zicond_on_matches_qemu() {
    check(
        "zicond",
        same_cpu("rv64,zicond=on", true),
        300,
        seed_from_env(2),
    );
}

#[test]
fn extensions_off_match_qemu() {
    check("all-off", same_cpu(ALL_OFF, true), 300, seed_from_env(3));
}

/// QEMU's `max` implements far more than emu's (V, Zfh, Zcb, ...): only
/// the generator's own instructions, no random encodings, no misaligned
/// AMOs (Zama16b: they do not trap there) and no `c.lui xodd,0` (Zcmop).
#[test]
fn max_cpu_matches_qemu() {
    let cpu = CpuModel {
        for_qemu_max: true,
        ..same_cpu("max", false)
    };
    check("max", cpu, 300, seed_from_env(4));
}

/// Re-runs cases FIRST..=LAST of a stream (RR_DIFF_CASES=FIRST-LAST,
/// RR_DIFF_SEED, RR_DIFF_CPU=default|max, RR_DIFF_QEMU_CPU, RR_DIFF_TRANSLATE
/// to run emu's translator) as one program
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
        for_qemu_max: false,
        translate_all: std::env::var_os("RR_DIFF_TRANSLATE").is_some(),
    };
    let all = diff_support::run::cases(seed, b + 1, &cpu);
    let chosen = &all[a..=b];
    for (i, c) in chosen.iter().enumerate() {
        eprintln!("--- case {} ---\n{}", a + i, diff_support::run::listing(c));
    }
    if std::env::var_os("RR_DIFF_SHRINK").is_some() {
        for (i, c) in chosen.iter().enumerate() {
            let d = diff_support::run::shrink(c, a + i, &cpu, &scratch("repro"));
            eprintln!("{}", d.report);
        }
        return;
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

/// The generator's encodings, disassembled by binutils (which knows every
/// extension here but Zicond and Zfa): each mnemonic must be the one the
/// generator meant, so the differential test covers what it claims to.
#[test]
fn generator_encodings_match_binutils() {
    if !boot_support::have_tool("riscv64-unknown-elf-objdump") {
        return;
    }
    let mut insts = Vec::new();
    for c in diff_support::run::cases(11, 60, &same_cpu("rv64", true)) {
        insts.extend(c.body);
    }
    let mut raw = Vec::new();
    for i in &insts {
        raw.extend_from_slice(&i.bits.to_le_bytes()[..i.len as usize]);
    }
    let dir = scratch("objdump");
    std::fs::create_dir_all(&dir).unwrap();
    let bin = dir.join("body.bin");
    std::fs::write(&bin, &raw).unwrap();
    let out = std::process::Command::new("riscv64-unknown-elf-objdump")
        .args(["-D", "-b", "binary", "-m", "riscv:rv64", "-M", "no-aliases"])
        .arg(&bin)
        .output()
        .expect("objdump runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let theirs: Vec<String> = text
        .lines()
        .filter_map(|l| {
            let mut parts = l.split('\t');
            let addr = parts.next()?;
            addr.trim().strip_suffix(':')?;
            let _hex = parts.next()?;
            Some(parts.next()?.trim().to_string())
        })
        .collect();
    assert_eq!(
        theirs.len(),
        insts.len(),
        "one objdump line per instruction"
    );
    let mut checked = 0;
    let mut bad = Vec::new();
    for (i, t) in insts.iter().zip(&theirs) {
        let ours = i.text.split(' ').next().unwrap();
        // binutils 2.40 has no Zicond/Zfa; reserved forms print as .insn/unknown.
        if t.starts_with("0x")
            || t.starts_with(".")
            || t.starts_with("unimp")
            || ours.starts_with('.')
        {
            continue;
        }
        checked += 1;
        // Hints print as the instruction they are.
        let ours = match ours {
            "pause" => "fence",
            "c.ntl" => "c.add",
            o if o.starts_with("ntl.") => "add",
            o => o,
        };
        let got = t.split(['\t', ' ']).next().unwrap();
        // A compressed shift by 0 is the `c.slli64`-style hint.
        if got != ours && got != format!("{ours}64") {
            bad.push(format!("{:08x}: ours `{}` binutils `{t}`", i.bits, i.text));
        }
    }
    eprintln!("{checked} encodings checked against binutils");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
