//! M-mode U-Boot as the only firmware on the minimal CPU, driven with the
//! same typed commands as QEMU 10.0.2's fixture rv-uboot-mmode-mincpu-reset
//! (version, md.l of the reset vector, sleep, a guest reset, poweroff); the
//! serial transcript must match QEMU's apart from timing lines.

mod boot_support;

use boot_support::*;
use emu::machine::{CpuKind, Firmware, MachineConfig, Outcome};

#[test]
fn uboot_mmode_matches_qemu_transcript() {
    let cfg = MachineConfig {
        cpu: CpuKind::Min,
        firmware: Firmware::File(fixture("guest/u-boot-2023.01-qemu-riscv64-mmode.bin")),
        max_insns: Some(6_000_000_000),
        ..MachineConfig::default()
    };
    let steps = parse_input(&read_fixture_text(
        "qemu-10.0.2/rv-uboot-mmode-mincpu-reset.input",
    ));
    let (outcome, text, _) = run_scripted(&cfg, steps, None);
    assert_eq!(outcome, Outcome::PowerOff, "output:\n{text}");
    let qemu = read_fixture_text("qemu-10.0.2/rv-uboot-mmode-mincpu-reset.record.txt");
    assert_transcripts_match(&text, &qemu, |_| false);
}

/// The comparison itself must notice a difference.
#[test]
#[should_panic(expected = "transcripts differ")]
fn transcript_comparison_detects_differences() {
    assert_transcripts_match(
        "=> version\r\nU-Boot 2023.01\r\n",
        "=> version\r\nU-Boot 2023.04\r\n",
        |_| false,
    );
}
