//! OpenSBI + the tiny Linux 6.1 kernel on the minimal CPU, with QEMU
//! 10.0.2's rv-linux-tiny-mincpu command line: the kernel boots to its
//! init, which reads the typed line, echoes it and powers off. Exercises
//! Sv39, the SBI timer through ACLINT mtimecmp, the PLIC and the 8250 UART
//! interrupt path.

mod boot_support;

use boot_support::*;
use emu::machine::{CpuKind, Firmware, MachineConfig, Outcome};

#[test]
fn linux_tiny_boots_to_init_and_powers_off() {
    let cfg = MachineConfig {
        cpu: CpuKind::Min,
        firmware: Firmware::File(fixture("guest/opensbi-1.5.1-fw_dynamic.bin")),
        kernel: Some(fixture("guest/linux-6.1.192-tiny-Image")),
        append: Some("console=ttyS0 earlycon=sbi ask".into()),
        max_insns: Some(2_000_000_000),
        ..MachineConfig::default()
    };
    let steps = parse_input(&read_fixture_text("qemu-10.0.2/rv-linux-tiny-mincpu.input"));
    let (outcome, text, _) = run_scripted(&cfg, steps, None);
    assert_eq!(outcome, Outcome::PowerOff, "output:\n{text}");
    let qemu = read_fixture_text("qemu-10.0.2/rv-linux-tiny-mincpu.record.txt");
    assert_transcripts_match(&text, &qemu, |_| false);
}
