//! fw_cfg end to end: `fixtures/fwcfg/fwcfg_dump.elf` probes every register
//! access, item, file and DMA case of the device and prints what it sees.
//! It runs on emu and on QEMU 10.0.2 (`qemu-system-riscv64`, the
//! reference), and the two transcripts must match apart from the files emu
//! deliberately does not build. Without QEMU the comparison is skipped,
//! unless RR_REQUIRE_TOOLS is set (CI), where it fails.

mod boot_support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use boot_support::{assert_transcripts_match, fixture};

/// QEMU's minimal fixture CPU (`fixtures/qemu-10.0.2/*mincpu*.cmdline`);
/// emu's `--cpu mincpu` is the same hart.
const QEMU_MINCPU: &str = "rv64i,m=on,a=on,c=on,zicsr=on,zifencei=on,zicntr=on,s=on,u=on,\
                           mmu=on,sv39=on,pmp=on,debug=off";

/// Files QEMU builds that emu does not (docs/emu.md, "fw_cfg"): the ACPI
/// tables with their loader script, and the SMBIOS tables. Their lines are
/// left out of both transcripts, and the directory count differs by these.
const ABSENT_FILES: [&str; 5] = [
    "etc/acpi/rsdp",
    "etc/acpi/tables",
    "etc/table-loader",
    "etc/smbios/smbios-anchor",
    "etc/smbios/smbios-tables",
];

const QEMU_LIMIT: Duration = Duration::from_secs(60);

fn elf() -> PathBuf {
    fixture("fwcfg/fwcfg_dump.elf")
}

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("fwcfg-qemu")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run_emu() -> String {
    let serial = scratch("run").join("emu-serial.txt");
    let out = Command::new(env!("CARGO_BIN_EXE_emu"))
        .args(["run", "--cpu", "mincpu", "--bios"])
        .arg(elf())
        .arg("--serial")
        .arg(format!("file:{}", serial.display()))
        .stdin(Stdio::null())
        .output()
        .expect("emu runs");
    let text = std::fs::read_to_string(&serial).unwrap_or_default();
    assert!(out.status.success(), "emu failed: {out:?}\n{text}");
    text
}

/// QEMU's transcript, or None if QEMU is not installed and RR_REQUIRE_TOOLS
/// is unset.
fn run_qemu() -> Option<String> {
    let mut cmd = Command::new("qemu-system-riscv64");
    cmd.args([
        "-M",
        "virt",
        "-m",
        "128M",
        "-cpu",
        QEMU_MINCPU,
        "-nographic",
    ])
    .arg("-bios")
    .arg(elf());
    let (status, text) =
        boot_support::tool_output("qemu-system-riscv64", cmd, QEMU_LIMIT, "QEMU (no poweroff)")?;
    assert!(status.success(), "QEMU failed: {status}\n{text}");
    Some(text)
}

/// Whether a line is about one of [`ABSENT_FILES`] ("file NAME size ...",
/// "data NAME: ...", "dma NAME: ...", "skip NAME: ...").
fn names_absent_file(line: &str) -> bool {
    line.split_whitespace()
        .nth(1)
        .is_some_and(|w| ABSENT_FILES.contains(&w.trim_end_matches(':')))
}

/// The transcript with the absent files' lines left out and the directory
/// count taken out (returned apart). mtval is dropped from faults of
/// misaligned register accesses: QEMU's TCG splits such an access into
/// aligned pieces and reports the piece that faulted (e.g. +0x18 for an
/// 8-byte load at +0x11), emu's hart reports where the access starts.
/// Whether and how they fault still has to match.
fn comparable(transcript: &str) -> (String, Option<u64>) {
    let mut count = None;
    let mut out = String::new();
    for line in transcript.replace('\r', "").lines() {
        if names_absent_file(line) {
            continue;
        }
        if let Some(n) = line.strip_prefix("files: ") {
            count = n.parse().ok();
            continue;
        }
        if misaligned_access(line) == Some(true) {
            out.push_str(&drop_tval(line));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    (out, count)
}

/// "w +14/8: fault 7 tval +18 -> data ..." without " tval +18".
fn drop_tval(line: &str) -> String {
    match line.split_once(" tval +") {
        Some((head, tail)) => match tail.split_once(' ') {
            Some((_, rest)) => format!("{head} {rest}"),
            None => head.to_string(),
        },
        None => line.to_string(),
    }
}

/// For a register-probe line ("r +11/8: ..." or "w +14/8: ..."), whether
/// the access is misaligned for its size.
fn misaligned_access(line: &str) -> Option<bool> {
    let rest = line
        .strip_prefix("r +")
        .or_else(|| line.strip_prefix("w +"))?;
    let (off, rest) = rest.split_once('/')?;
    let size: u64 = rest.split(':').next()?.parse().ok()?;
    let off = u64::from_str_radix(off, 16).ok()?;
    Some(off % size != 0)
}

#[test]
fn fwcfg_dump_matches_qemu() {
    let ours = run_emu();
    assert!(
        ours.contains("== after guest reset") && ours.contains("fwcfg_dump: done"),
        "emu's run did not finish:\n{ours}"
    );
    for name in ABSENT_FILES {
        assert!(!ours.contains(name), "emu lists {name}");
    }
    let Some(qemu) = run_qemu() else { return };
    // If QEMU stops offering one of them, the list (and docs/emu.md) is stale.
    for name in ABSENT_FILES {
        assert!(
            qemu.contains(&format!("file {name} size ")),
            "QEMU no longer lists {name}:\n{qemu}"
        );
    }
    let (a, ours_count) = comparable(&ours);
    let (b, qemu_count) = comparable(&qemu);
    let (ours_count, qemu_count) = (ours_count.unwrap(), qemu_count.unwrap());
    assert_eq!(ours_count + ABSENT_FILES.len() as u64, qemu_count);
    assert_transcripts_match(&a, &b, |_| false);
}

/// The comparison keeps what matters: a changed select number or fault.
#[test]
fn comparison_sees_selects_and_faults() {
    let (a, _) = comparable("file bootorder size 0 select 0021 reserved 0000 nul-padded\n");
    let (b, _) = comparable("file bootorder size 0 select 0022 reserved 0000 nul-padded\n");
    assert_ne!(a, b);
    let (a, _) = comparable("w +14/8: fault 7 tval +18 -> data 00000001 ctl 00000000\r\n");
    let (b, _) = comparable("w +14/8: fault 7 tval +14 -> data 00000001 ctl 00000000\n");
    assert_eq!(a, b);
    assert_eq!(a, "w +14/8: fault 7 -> data 00000001 ctl 00000000\n");
    let (a, _) = comparable("r +10/4: fault 5 tval +10\n");
    let (b, _) = comparable("r +10/4: fault 5 tval +18\n");
    assert_ne!(a, b, "aligned accesses keep mtval");
    let (a, _) = comparable("r +11/8: fault 5 tval +18\n");
    assert_eq!(a, "r +11/8: fault 5\n");
    assert!(comparable("data etc/acpi/rsdp: 52 53\n").0.is_empty());
}

/// The committed ELF is what its sources build to.
#[test]
fn committed_elf_matches_its_sources() {
    boot_support::assert_committed_build_matches(
        "fwcfg",
        &["start.S", "fwcfg_dump.c", "fwcfg_dump.ld"],
        "fwcfg_dump.elf",
    );
}
