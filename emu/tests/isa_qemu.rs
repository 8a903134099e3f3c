//! Re-checks the ISA programs' expectations on real QEMU (spike machine,
//! HTIF exit code = failing test number), when `qemu-system-riscv64` is
//! installed: the emulator and QEMU must both pass every program.

use std::path::PathBuf;
use std::process::Command;

fn qemu_present() -> bool {
    Command::new("qemu-system-riscv64")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

#[test]
fn every_isa_program_passes_on_qemu() {
    if !qemu_present() {
        // CI (scripts/test.sh) sets RR_REQUIRE_TOOLS: there a missing QEMU fails.
        assert!(
            std::env::var_os("RR_REQUIRE_TOOLS").is_none(),
            "RR_REQUIRE_TOOLS is set but qemu-system-riscv64 cannot run"
        );
        eprintln!("skipped: qemu-system-riscv64 not installed");
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
