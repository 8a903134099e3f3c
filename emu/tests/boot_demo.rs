//! The built-in demo guest (fixtures/demo): runs to poweroff with typed
//! lines, on its own idle timeout without input, and through the `emu`
//! binary with `--serial null` (what CI runs).

mod boot_support;

use std::process::Command;

use boot_support::*;
use emu::machine::{MachineConfig, Outcome};

#[test]
fn demo_echoes_lines_and_powers_off_on_quit() {
    let steps = vec![
        Step::Expect("demo> ".into()),
        Step::Type(b"hello replay\r".to_vec()),
        Step::Expect("you typed: hello replay".into()),
        Step::Type(b"quit\r".to_vec()),
    ];
    let cfg = MachineConfig {
        max_insns: Some(50_000_000),
        ..MachineConfig::default()
    };
    let (outcome, text, _) = run_scripted(&cfg, steps, None);
    assert_eq!(outcome, Outcome::PowerOff, "{text}");
    let lines = normalize(&text);
    // FIXED_HOST_NS is 2026-01-01T00:00:00Z; the test clock adds icount ns.
    assert!(
        lines.contains(&"rtc: 2026-01-01 00:00:00 UTC".to_string()),
        "{text}"
    );
    // The test door's random bytes are multiples of 37: the rng-seed took
    // 2 x 32 of them, so virtio-rng's 16 bytes continue the sequence.
    let expect_rng: String = (65..81u32)
        .map(|i| format!("{:02x}", (i * 37) as u8))
        .collect();
    assert!(
        lines.contains(&format!("virtio-rng: {expect_rng}")),
        "{text}"
    );
    assert!(text.ends_with("demo> quit\r\nbye\r\n"), "{text}");
}

#[test]
fn demo_powers_off_after_idle_timeout_without_input() {
    let cfg = MachineConfig {
        max_insns: Some(50_000_000),
        ..MachineConfig::default()
    };
    let (outcome, text, m) = run_scripted(&cfg, vec![], None);
    assert_eq!(outcome, Outcome::PowerOff, "{text}");
    assert!(text.contains("no input for 10 s, powering off"), "{text}");
    // The 10 s wait was warped, not executed.
    assert!(m.icount() < 1_000_000, "icount {}", m.icount());
}

#[test]
fn demo_runs_the_same_twice() {
    let cfg = MachineConfig {
        max_insns: Some(50_000_000),
        ..MachineConfig::default()
    };
    let steps = || {
        vec![
            Step::Expect("demo> ".into()),
            Step::Type(b"x\rquit\r".to_vec()),
        ]
    };
    let (_, a, ma) = run_scripted(&cfg, steps(), None);
    let (_, b, mb) = run_scripted(&cfg, steps(), None);
    assert_eq!(a, b);
    assert_eq!((ma.icount(), ma.digest()), (mb.icount(), mb.digest()));
}

#[test]
fn emu_binary_runs_demo_to_poweroff_with_null_serial() {
    let out = Command::new(env!("CARGO_BIN_EXE_emu"))
        .args(["run", "--serial", "null", "--digest"])
        .output()
        .expect("emu runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}: {stderr}", out.status);
    assert!(stderr.contains("state-digest: "), "{stderr}");
    assert!(stderr.contains("icount: "), "{stderr}");
}

#[test]
fn emu_binary_reports_missing_firmware_with_exit_code_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_emu"))
        .args(["run", "--serial", "null", "--bios", "/nonexistent/fw.bin"])
        .output()
        .expect("emu runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent/fw.bin"), "{stderr}");
}

#[test]
fn htif_elf_failure_is_reported_with_its_code() {
    let out = Command::new(env!("CARGO_BIN_EXE_emu"))
        .args(["run", "--serial", "null", "--kernel"])
        .arg(fixture("demo/htif-fail.elf"))
        .output()
        .expect("emu runs");
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("FAIL: HTIF test 3"));
}

#[test]
fn htif_elf_pass_exits_zero() {
    let out = Command::new(env!("CARGO_BIN_EXE_emu"))
        .args(["run", "--serial", "null", "--kernel"])
        .arg(fixture("isa/rv64i.elf"))
        .output()
        .expect("emu runs");
    assert!(out.status.success(), "{out:?}");
}

/// The committed demo.bin is what its sources build to.
#[test]
fn committed_demo_bin_matches_its_sources() {
    assert_committed_build_matches(
        "demo",
        &["start.S", "demo.c", "demo.ld", "htif-fail.S"],
        "demo.bin",
    );
}
