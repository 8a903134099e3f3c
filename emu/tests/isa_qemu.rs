//! Re-checks the ISA programs' expectations on real QEMU (spike machine,
//! HTIF exit code = failing test number), when `qemu-system-riscv64` is
//! installed: the emulator and QEMU must both pass every program. The
//! programs for the optional extensions (QEMU 10's default CPU, `max` for
//! Zicond, and all off) run with the CPU `run-qemu.sh` names for each.

mod boot_support;

use std::path::PathBuf;
use std::process::Command;

#[test]
fn every_isa_program_passes_on_qemu() {
    // CI (scripts/test.sh) sets RR_REQUIRE_TOOLS: there a missing QEMU fails.
    if !boot_support::have_tool("qemu-system-riscv64") {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/isa");
    let mut elfs: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".elf"))
        .collect();
    elfs.sort();
    assert!(
        elfs.len() >= 14,
        "expected the ISA programs in {}",
        dir.display()
    );
    let out = Command::new("sh")
        .arg("run-qemu.sh")
        .args(&elfs)
        .current_dir(&dir)
        .output()
        .expect("run-qemu.sh");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "some programs fail on QEMU:\n{text}");
    assert_eq!(
        text.lines().filter(|l| l.starts_with("PASS")).count(),
        elfs.len(),
        "{text}"
    );
}

/// The committed programs of the optional extensions are what their
/// sources build to (the older programs predate this check).
#[test]
fn committed_extension_programs_match_their_sources() {
    for name in ["zb", "zicbo", "zicond", "hints", "ext_off", "zfa"] {
        let src = format!("{name}.S");
        boot_support::assert_committed_build_matches(
            "isa",
            &[&src, "test.h", "fp.h", "paging.h", "link.ld"],
            &format!("{name}.elf"),
        );
    }
}
