//! The event-dense guest (`fixtures/dense/`): the committed binaries match
//! their sources, its committed QEMU 10 and emu logs read, validate and
//! count as the program says, and a fresh QEMU recording of it does too.

use std::path::{Path, PathBuf};
use std::process::Command as StdCommand;
use std::time::Duration;

use assert_cmd::Command;

const EXCEPTIONS: u64 = 50_000;

fn dense() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/dense")
}

fn tools_required() -> bool {
    std::env::var_os("RR_REQUIRE_TOOLS").is_some()
}

/// Whether `program --version` runs; a missing tool skips, or fails when
/// CI requires every tool (RR_REQUIRE_TOOLS).
fn have_tool(program: &str) -> bool {
    let ok = StdCommand::new(program).arg("--version").output().is_ok();
    assert!(
        ok || !tools_required(),
        "RR_REQUIRE_TOOLS is set but {program} is missing"
    );
    if !ok {
        eprintln!("skipped: {program} not installed");
    }
    ok
}

fn rrtool(args: &[&dyn AsRef<std::ffi::OsStr>]) -> (i32, String) {
    let out = Command::cargo_bin("rrtool")
        .unwrap()
        .timeout(Duration::from_secs(120))
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .unwrap();
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn json_num(s: &str, key: &str) -> u64 {
    let pat = format!("\"{key}\":");
    let at = s.find(&pat).unwrap_or_else(|| panic!("{key} in {s}")) + pat.len();
    s[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap()
}

/// A dense log: valid, one EXCEPTION per loop iteration, a dot per 1024.
fn check_dense_log(log: &Path) {
    let (code, out) = rrtool(&[&"validate", &log]);
    assert_eq!(code, 0, "{out}");
    let (code, stats) = rrtool(&[&"stats", &log, &"--json"]);
    assert_eq!(code, 0, "{stats}");
    let kinds = &stats[stats.find("\"kinds\"").unwrap()..];
    assert_eq!(json_num(kinds, "EXCEPTION"), EXCEPTIONS, "{stats}");
    // A dot whenever the countdown (49999 … 0) is a multiple of 1024, then
    // the final newline.
    assert_eq!(
        json_num(kinds, "CHAR_WRITE"),
        EXCEPTIONS / 1024 + 2,
        "{stats}"
    );
    assert!(json_num(kinds, "INTERRUPT") > 10, "{stats}");
    assert_eq!(json_num(kinds, "SHUTDOWN_GUEST_SHUTDOWN"), 1, "{stats}");
    // Mostly 5-byte INSTRUCTION + 1-byte EXCEPTION.
    let (size, events) = (json_num(&stats, "size"), json_num(&stats, "events"));
    assert!(size < 4 * events, "{size} bytes for {events} events");
}

#[test]
fn committed_dense_logs_validate_and_count() {
    check_dense_log(&dense().join("qemu-10.0.2-dense-50k.bin"));
    check_dense_log(&dense().join("emu-dense-50k.bin"));
}

#[test]
fn a_fresh_qemu_recording_of_the_dense_guest_is_the_same_shape() {
    if !have_tool("qemu-system-riscv64") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("dense.bin");
    let mut rrfile = std::ffi::OsString::from("shift=3,rr=record,rrfile=");
    rrfile.push(&log);
    let out = StdCommand::new("timeout")
        .args(["120", "qemu-system-riscv64", "-M", "virt", "-m", "128M"])
        .args(["-display", "none", "-serial", "null", "-monitor", "none"])
        .args(["-bios", "none", "-net", "none", "-kernel"])
        .arg(dense().join("dense-50k.elf"))
        .arg("-icount")
        .arg(rrfile)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_dense_log(&log);
}

#[test]
fn committed_dense_binaries_match_their_sources() {
    if !have_tool("riscv64-unknown-elf-gcc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for f in ["Makefile", "dense.S", "dense.ld"] {
        std::fs::copy(dense().join(f), dir.path().join(f)).unwrap();
    }
    let out = StdCommand::new("make")
        .arg("-C")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for elf in ["dense-50k.elf", "dense-16m.elf"] {
        assert!(
            std::fs::read(dir.path().join(elf)).unwrap()
                == std::fs::read(dense().join(elf)).unwrap(),
            "{elf} differs from a rebuild: make -C fixtures/dense"
        );
    }
}
