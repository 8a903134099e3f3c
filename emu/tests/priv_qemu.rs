//! The privileged architecture end to end: `fixtures/priv/priv_probe.elf`
//! probes every CSR in a list (readable or not, WARL masks), what S and U
//! may read under the counter-enable and STCE bits, Sstc's STIP rules and
//! a supervisor timer interrupt, the hpm counters, the satp modes, an
//! Sv57/48/39 walk and A/D updates. It runs on emu and on QEMU 10.0.2 for
//! several `--cpu` models, and the transcripts must be the same. QEMU runs
//! with `-icount` so its timer fires at a fixed instruction, as emu's does.
//! Without QEMU the comparison is skipped, unless RR_REQUIRE_TOOLS is set
//! (CI), where it fails.

mod boot_support;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use boot_support::{assert_transcripts_match, fixture};

const QEMU_LIMIT: Duration = Duration::from_secs(60);

fn elf() -> PathBuf {
    fixture("priv/priv_probe.elf")
}

fn run_emu(cpu: &str) -> String {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("priv-qemu");
    std::fs::create_dir_all(&dir).unwrap();
    let serial = dir.join(format!("{}.txt", cpu.replace([',', '='], "_")));
    let _ = std::fs::remove_file(&serial);
    let out = Command::new(env!("CARGO_BIN_EXE_emu"))
        .args(["run", "--cpu", cpu, "--bios"])
        .arg(elf())
        .arg("--serial")
        .arg(format!("file:{}", serial.display()))
        .stdin(Stdio::null())
        .output()
        .expect("emu runs");
    let text = std::fs::read_to_string(&serial).unwrap_or_default();
    assert!(
        out.status.success(),
        "emu --cpu {cpu} failed: {out:?}\n{text}"
    );
    assert!(
        text.contains("priv_probe: done"),
        "emu --cpu {cpu}:\n{text}"
    );
    text
}

fn run_qemu(cpu: &str) -> Option<String> {
    let mut cmd = Command::new("qemu-system-riscv64");
    cmd.args([
        "-M",
        "virt",
        "-m",
        "128M",
        "-nographic",
        "-icount",
        "shift=3",
    ])
    .args(["-cpu", cpu, "-bios"])
    .arg(elf());
    let (status, text) =
        boot_support::tool_output("qemu-system-riscv64", cmd, QEMU_LIMIT, "QEMU (no poweroff)")?;
    assert!(status.success(), "QEMU -cpu {cpu} failed: {status}\n{text}");
    Some(text)
}

/// emu's `--cpu` and the QEMU `-cpu` that gives the same hart: QEMU's own
/// spelling plus `h=off,debug=off`, which emu's models always imply.
fn compare(emu_cpu: &str, qemu_cpu: &str) {
    let ours = run_emu(emu_cpu);
    let Some(qemu) = run_qemu(qemu_cpu) else {
        return;
    };
    let clean = |t: &str| t.replace('\r', "");
    assert_transcripts_match(&clean(&ours), &clean(&qemu), |_| false);
}

#[test]
fn default_cpu_matches_qemu() {
    compare("rv64", "rv64,h=off,debug=off");
}

#[test]
fn mincpu_matches_qemu() {
    compare("mincpu", emu::cpu::model::QEMU_MINCPU);
}

#[test]
fn cpu_without_sstc_zihpm_svadu_on_sv48_matches_qemu() {
    let props = "sv57=off,sstc=off,zihpm=off,svadu=off,zicbom=off";
    compare(
        &format!("rv64,{props}"),
        &format!("rv64,h=off,debug=off,{props}"),
    );
}

#[test]
fn sv39_cpu_matches_qemu() {
    compare("rv64,sv48=off", "rv64,h=off,debug=off,sv48=off");
}

/// OpenSBI probes the hart's CSRs (Sstc, Zihpm counters, Svadu, PMP, priv
/// version) and prints what it found; Linux 6.1 reads `riscv,isa` and
/// picks its timer. On the default CPU the whole serial transcript must be
/// QEMU's for `-cpu rv64,h=off,debug=off`.
#[test]
fn opensbi_and_linux_see_the_default_cpu_as_on_qemu() {
    use emu::machine::{CpuKind, Firmware, MachineConfig, Outcome};
    let opensbi = fixture("guest/opensbi-1.5.1-fw_dynamic.bin");
    let kernel = fixture("guest/linux-6.1.192-tiny-Image");
    let append = "console=ttyS0 earlycon=sbi";
    let cfg = MachineConfig {
        cpu: CpuKind::Default,
        firmware: Firmware::File(opensbi.clone()),
        kernel: Some(kernel.clone()),
        append: Some(append.into()),
        max_insns: Some(400_000_000),
        ..MachineConfig::default()
    };
    let (outcome, ours, _) = boot_support::run_scripted(&cfg, Vec::new(), None);
    assert_eq!(outcome, Outcome::PowerOff, "{ours}");
    for line in [
        "Boot HART ISA Extensions  : sstc,zicntr,zihpm,zicboz,zicbom,svadu",
        "Boot HART MHPM Info       : 16 (0x0007fff8)",
        "riscv-timer: Timer interrupt in S-mode is available via sstc extension",
    ] {
        assert!(ours.contains(line), "no `{line}` in\n{ours}");
    }
    let spawned = Command::new("qemu-system-riscv64")
        .args(["-M", "virt", "-m", "128M", "-nographic", "-net", "none"])
        .args(["-cpu", "rv64,h=off,debug=off", "-bios"])
        .arg(&opensbi)
        .arg("-kernel")
        .arg(&kernel)
        .args(["-append", append])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Some(mut child) = boot_support::spawned_tool("qemu-system-riscv64", spawned) else {
        return;
    };
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let status = boot_support::wait_or_kill(&mut child, QEMU_LIMIT, "QEMU (no poweroff)");
    let qemu = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    assert!(status.success(), "QEMU failed: {status}\n{qemu}");
    assert_transcripts_match(&ours, &qemu, |_| false);
}

/// A supervisor timer interrupt is taken at the same instruction however
/// the run is cut into slices (a replay adds cuts at every logged event;
/// the debugger at every step): the stimecmp write ends its slice and the
/// compare value is a slice deadline. Linux on the default CPU programs
/// its timer through stimecmp; priv_probe takes Sstc interrupts spinning,
/// after `wfi` and in M.
#[test]
fn sstc_interrupts_do_not_depend_on_slicing() {
    use emu::machine::{CpuKind, Firmware, MachineConfig, Outcome};
    let guests = [
        MachineConfig {
            cpu: CpuKind::Default,
            firmware: Firmware::File(elf()),
            ..MachineConfig::default()
        },
        MachineConfig {
            cpu: CpuKind::Default,
            firmware: Firmware::File(fixture("guest/opensbi-1.5.1-fw_dynamic.bin")),
            kernel: Some(fixture("guest/linux-6.1.192-tiny-Image")),
            append: Some("console=ttyS0 earlycon=sbi".into()),
            max_insns: Some(400_000_000),
            ..MachineConfig::default()
        },
    ];
    for guest in guests {
        let runs: Vec<(u64, u64, String)> = [emu::machine::run::DEFAULT_QUANTUM, 4099, 997]
            .into_iter()
            .map(|quantum| {
                let cfg = MachineConfig {
                    quantum,
                    ..guest.clone()
                };
                let (outcome, text, m) = boot_support::run_scripted(&cfg, Vec::new(), None);
                assert_eq!(outcome, Outcome::PowerOff, "{text}");
                (m.icount(), m.digest(), text)
            })
            .collect();
        assert!(
            runs[0].2.contains("priv_probe: done")
                || runs[0]
                    .2
                    .contains("Timer interrupt in S-mode is available via sstc extension"),
            "{}",
            runs[0].2
        );
        for r in &runs[1..] {
            assert_eq!((r.0, r.1), (runs[0].0, runs[0].1), "{}", r.2);
        }
    }
}

/// The committed ELF is what its sources build to.
#[test]
fn committed_elf_matches_its_sources() {
    boot_support::assert_committed_build_matches(
        "priv",
        &["start.S", "priv_probe.c", "priv_probe.ld"],
        "priv_probe.elf",
    );
}
