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

/// An external initrd reaches the kernel at the address the DT names
/// (`/chosen/linux,initrd-start/end`): 4 KiB that are not a cpio archive
/// make the kernel report exactly that, free those 4 KiB, and boot on with
/// its built-in initramfs.
#[test]
fn linux_finds_the_initrd_the_dt_describes() {
    let initrd = std::env::temp_dir().join(format!("emu-boot-linux-{}.initrd", std::process::id()));
    std::fs::write(&initrd, vec![b'Z'; 4096]).unwrap();
    let cfg = MachineConfig {
        cpu: CpuKind::Min,
        firmware: Firmware::File(fixture("guest/opensbi-1.5.1-fw_dynamic.bin")),
        kernel: Some(fixture("guest/linux-6.1.192-tiny-Image")),
        initrd: Some(initrd.clone()),
        append: Some("console=ttyS0 ask".into()),
        max_insns: Some(2_000_000_000),
        ..MachineConfig::default()
    };
    let steps = vec![
        Step::Expect("Type a line:".into()),
        Step::Type(b"x\r".to_vec()),
    ];
    let (outcome, text, _) = run_scripted(&cfg, steps, None);
    let _ = std::fs::remove_file(&initrd);
    assert_eq!(outcome, Outcome::PowerOff, "output:\n{text}");
    assert!(
        text.contains("Initramfs unpacking failed: invalid magic at start of compressed archive"),
        "{text}"
    );
    assert!(text.contains("Freeing initrd memory: 4K"), "{text}");
    assert!(text.contains("init read: x"), "{text}");
}
