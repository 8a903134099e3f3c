//! Runs generated programs on emu and on QEMU, compares the dumps body by
//! body, and shrinks a difference to the first instruction that makes it.

use super::gen::{fname, xname, Gen};
use super::prog::{build, slot_name, Case, Seeds, DUMP_WORDS};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// One CPU model, spelled for each emulator.
#[derive(Debug, Clone)]
pub struct CpuModel {
    /// `emu --cpu` value.
    pub emu: String,
    /// `qemu-system-riscv64 -cpu` value (None = the board's default).
    pub qemu: Option<String>,
    /// Generate random encodings as well (only where both implement the
    /// same extensions, so an encoding is legal on both or on neither).
    pub wild: bool,
    /// Leave out what QEMU's `max` defines and emu does not (Zama16b's
    /// misaligned AMOs, Zcmop's `c.mop.n`).
    pub for_qemu_max: bool,
    /// Run emu with `EMU_JIT=eager`: every block translated on its first
    /// run, so the generated code, which runs once, tests the translator.
    pub translate_all: bool,
}

/// Body length in groups (one instruction under test plus its set-up).
pub const GROUPS: usize = 40;

/// The cases of seed `seed`: `count` bodies.
pub fn cases(seed: u64, count: usize, cpu: &CpuModel) -> Vec<Case> {
    let mut g = Gen::new(seed, cpu.wild);
    g.for_qemu_max = cpu.for_qemu_max;
    (0..count)
        .map(|_| {
            let seeds = Seeds::random(g.rng());
            let body = g.body(GROUPS);
            Case { seeds, body }
        })
        .collect()
}

fn emu_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_emu"))
}

/// Runs `cmd` with its stdout in `out`, killing it after `limit`.
fn run_to_file(
    mut cmd: Command,
    out: &Path,
    limit: Duration,
    what: &str,
) -> Result<String, String> {
    let f = std::fs::File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(f)
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: {e}"))?;
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{what} still running after {limit:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut err);
    }
    let text = std::fs::read_to_string(out).map_err(|e| format!("{}: {e}", out.display()))?;
    if !status.success() {
        return Err(format!("{what} exited with {status}: {err}"));
    }
    Ok(text)
}

pub fn emu_command(elf: &Path, cpu: &CpuModel) -> Command {
    let mut c = Command::new(emu_bin());
    c.args(["run", "--bios", "none", "--kernel"])
        .arg(elf)
        .args(["--cpu", &cpu.emu, "--max-insns", "200000000"]);
    if cpu.translate_all {
        c.env("EMU_JIT", "eager");
    }
    c
}

pub fn qemu_command(elf: &Path, cpu: &CpuModel) -> Command {
    let mut c = Command::new("qemu-system-riscv64");
    c.args(["-M", "virt", "-bios", "none", "-nographic", "-kernel"])
        .arg(elf);
    if let Some(q) = &cpu.qemu {
        c.args(["-cpu", q]);
    }
    c
}

/// The dumps in `text`, DUMP_WORDS words each.
pub fn parse_dumps(text: &str) -> Vec<Vec<u64>> {
    let words: Vec<u64> = text
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| l.len() == 16)
        .filter_map(|l| u64::from_str_radix(l, 16).ok())
        .collect();
    words.chunks_exact(DUMP_WORDS).map(|c| c.to_vec()).collect()
}

/// One run's dumps, one per body.
pub type Dumps = Vec<Vec<u64>>;

/// Both emulators' dumps for `cases`, run in parallel.
pub fn run_both(
    cases: &[Case],
    cpu: &CpuModel,
    dir: &Path,
    tag: &str,
) -> Result<(Dumps, Dumps), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let elf = dir.join(format!("{tag}.elf"));
    std::fs::write(&elf, build(cases)).map_err(|e| e.to_string())?;
    let limit = Duration::from_secs(120);
    let (eo, qo) = (
        dir.join(format!("{tag}.emu.out")),
        dir.join(format!("{tag}.qemu.out")),
    );
    let (e, q) = std::thread::scope(|s| {
        let q = s.spawn(|| run_to_file(qemu_command(&elf, cpu), &qo, limit, "qemu-system-riscv64"));
        let e = run_to_file(emu_command(&elf, cpu), &eo, limit, "emu");
        (e, q.join().expect("qemu runner thread"))
    });
    Ok((parse_dumps(&e?), parse_dumps(&q?)))
}

/// A difference, shrunk to its first instruction.
#[derive(Debug)]
pub struct Difference {
    pub case: usize,
    /// Index of the first body instruction whose prefix differs (None: the
    /// prologue alone already differs).
    pub insn: Option<usize>,
    pub report: String,
}

fn hexdiff(a: &[u64], b: &[u64]) -> Vec<usize> {
    (0..DUMP_WORDS.min(a.len()).min(b.len()))
        .filter(|&i| a[i] != b[i])
        .collect()
}

/// Shrinks case `idx` (which differs) by running all its prefixes in one program.
pub fn shrink(case: &Case, idx: usize, cpu: &CpuModel, dir: &Path) -> Difference {
    let n = case.body.len();
    let prefixes: Vec<Case> = (0..=n).map(|m| case.prefix(m)).collect();
    let (e, q) = match run_both(&prefixes, cpu, dir, &format!("shrink-{idx}")) {
        Ok(r) => r,
        Err(err) => {
            return Difference {
                case: idx,
                insn: None,
                report: format!("case {idx}: shrinking failed: {err}"),
            }
        }
    };
    let first = (0..=n).find(|&m| e.get(m) != q.get(m));
    let mut r = String::new();
    use std::fmt::Write;
    let Some(m) = first else {
        return Difference {
            case: idx,
            insn: None,
            report: format!("case {idx}: differs in the batch but no prefix differs alone"),
        };
    };
    if m == 0 {
        let _ = writeln!(r, "case {idx}: the state differs before the body runs");
    } else {
        let inst = &case.body[m - 1];
        let _ = writeln!(
            r,
            "case {idx}, instruction {}: {}   [{:0w$x}; emu disassembles: {}]",
            m - 1,
            inst.text,
            inst.bits,
            emu::cpu::disasm::disasm(inst.bits, 0),
            w = inst.len as usize * 2
        );
        if let Some(before) = q.get(m - 1) {
            // Operands as they were before it (same on both: prefix m-1 matched).
            let words: Vec<&str> = inst
                .text
                .split(|c: char| !(c.is_ascii_alphanumeric()))
                .collect();
            let mut shown = Vec::new();
            for w in words {
                let slot = (1..32)
                    .find(|&i| xname(i) == w)
                    .or_else(|| (0..32).find(|&i| fname(i) == w).map(|i| 32 + i));
                if let Some(s) = slot {
                    if !shown.contains(&s) {
                        shown.push(s);
                        let _ = writeln!(
                            r,
                            "  before: {:<14} {:016x}",
                            slot_name(s as usize),
                            before[s as usize]
                        );
                    }
                }
            }
            let _ = writeln!(r, "  before: {:<14} {:016x}", "fcsr", before[64]);
        }
    }
    match (e.get(m), q.get(m)) {
        (Some(a), Some(b)) => {
            for i in hexdiff(a, b) {
                let _ = writeln!(
                    r,
                    "  after:  {:<14} emu {:016x}  qemu {:016x}",
                    slot_name(i),
                    a[i],
                    b[i]
                );
            }
        }
        (a, b) => {
            let _ = writeln!(
                r,
                "  dump missing: emu {} qemu {}",
                if a.is_some() { "present" } else { "absent" },
                if b.is_some() { "present" } else { "absent" }
            );
        }
    }
    Difference {
        case: idx,
        insn: (m > 0).then(|| m - 1),
        report: r,
    }
}

/// What a comparison run covered and found.
#[derive(Debug, Default)]
pub struct Tally {
    pub programs: usize,
    pub instructions: usize,
    pub differences: Vec<Difference>,
}

/// Generates `count` cases from `seed`, runs them in batches of `batch`
/// bodies per program and shrinks every differing case (at most `max_shrink`).
pub fn compare(seed: u64, count: usize, batch: usize, cpu: &CpuModel, dir: &Path) -> Tally {
    let mut t = Tally::default();
    let all = cases(seed, count, cpu);
    let mut shrunk = 0;
    for (b, chunk) in all.chunks(batch).enumerate() {
        let tag = format!("seed{seed}-batch{b}");
        let (e, q) = match run_both(chunk, cpu, dir, &tag) {
            Ok(r) => r,
            Err(err) => {
                t.differences.push(Difference {
                    case: b * batch,
                    insn: None,
                    report: format!("batch {b}: {err}"),
                });
                continue;
            }
        };
        for (i, case) in chunk.iter().enumerate() {
            let idx = b * batch + i;
            t.programs += 1;
            t.instructions += case.body.len();
            if e.get(i) != q.get(i) || e.get(i).is_none() {
                if shrunk < 20 {
                    shrunk += 1;
                    t.differences.push(shrink(case, idx, cpu, dir));
                } else {
                    t.differences.push(Difference {
                        case: idx,
                        insn: None,
                        report: format!("case {idx}: differs (not shrunk: too many)"),
                    });
                }
            }
        }
    }
    t
}

/// Seed for a run: RR_DIFF_SEED, or a fixed default.
pub fn seed_from_env(default: u64) -> u64 {
    std::env::var("RR_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The body of `case` as text, one instruction per line.
pub fn listing(case: &Case) -> String {
    case.body
        .iter()
        .enumerate()
        .map(|(i, inst)| {
            format!(
                "{i:4}: {:0w$x}  {}\n",
                inst.bits,
                inst.text,
                w = inst.len as usize * 2
            )
        })
        .collect()
}
