//! OpenSBI 1.5.1 fw_dynamic + S-mode U-Boot with virtio-blk on
//! fixtures/inputs/rr-disk.img, typed the commands of QEMU 10.0.2's
//! rv-uboot-virtio-blk fixture (virtio scan/info/part, ls, load, md, crc32,
//! fatwrite to the snapshot overlay, ls, poweroff). QEMU ran that fixture
//! with its default CPU, so the lines naming the CPU's ISA (and what depends
//! on the DT size) are left out of the comparison.

mod boot_support;

use boot_support::*;
use emu::machine::{CpuKind, Firmware, MachineConfig, Outcome};

fn isa_dependent(l: &str) -> bool {
    l.starts_with("CPU:")
        || l.starts_with("Model:")
        || l.starts_with("Boot HART Base ISA")
        || l.starts_with("Boot HART ISA Extensions")
        || l.starts_with("Boot HART MHPM Info")
        || l.starts_with("Boot HART Debug Triggers")
        || l.starts_with("Boot HART MIDELEG")
        || l.starts_with("Boot HART MEDELEG")
        || l.starts_with("Boot HART Priv Version")
        || l.starts_with("Platform Features")
        // OpenSBI keeps per-hart data for the extensions it found (H, Sstc,
        // debug triggers, hpm counters on QEMU's default CPU).
        || l.starts_with("Firmware Heap Size")
        || l.starts_with("Firmware Scratch Size")
        // `sbi` prints marchid/mimpid, which depend on the CPU model.
        || l.starts_with("  Architecture ID")
        || l.starts_with("  Implementation ID")
        // U-Boot relocates the FDT below itself: the address depends on the blob size.
        || l.starts_with("Working FDT set to")
        || l.starts_with("fdt_blob")
        || l.starts_with("new_fdt")
        || l.starts_with("fdt_size")
        || l.starts_with(" reserved[")
}

#[test]
fn opensbi_uboot_virtio_blk_matches_qemu_transcript() {
    let cfg = MachineConfig {
        cpu: CpuKind::Default,
        firmware: Firmware::File(fixture("guest/opensbi-1.5.1-fw_dynamic.bin")),
        kernel: Some(fixture("guest/u-boot-2023.01-qemu-riscv64_smode.bin")),
        max_insns: Some(6_000_000_000),
        ..MachineConfig::default()
    };
    let steps = parse_input(&read_fixture_text("qemu-10.0.2/rv-uboot-virtio-blk.input"));
    let disk = fixture("inputs/rr-disk.img");
    let before = std::fs::read(&disk).unwrap();
    let (outcome, text, _) = run_scripted(&cfg, steps, Some(&disk));
    assert_eq!(outcome, Outcome::PowerOff, "output:\n{text}");
    let qemu = read_fixture_text("qemu-10.0.2/rv-uboot-virtio-blk.record.txt");
    assert_transcripts_match(&text, &qemu, isa_dependent);
    assert_eq!(
        std::fs::read(&disk).unwrap(),
        before,
        "fatwrite went to the overlay, not the image"
    );
}

/// The rv-uboot-smode-serial fixture: `version`, `sbi`, `cpu list`,
/// `coninfo`, `bdinfo`, `sleep 1`, `virtio scan/info` with no devices.
#[test]
fn opensbi_uboot_serial_session_matches_qemu_transcript() {
    let cfg = MachineConfig {
        cpu: CpuKind::Default,
        firmware: Firmware::File(fixture("guest/opensbi-1.5.1-fw_dynamic.bin")),
        kernel: Some(fixture("guest/u-boot-2023.01-qemu-riscv64_smode.bin")),
        max_insns: Some(6_000_000_000),
        ..MachineConfig::default()
    };
    let steps = parse_input(&read_fixture_text(
        "qemu-10.0.2/rv-uboot-smode-serial.input",
    ));
    let (outcome, text, _) = run_scripted(&cfg, steps, None);
    assert_eq!(outcome, Outcome::PowerOff, "output:\n{text}");
    let qemu = read_fixture_text("qemu-10.0.2/rv-uboot-smode-serial.record.txt");
    assert_transcripts_match(&text, &qemu, isa_dependent);
}
