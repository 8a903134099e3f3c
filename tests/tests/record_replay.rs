//! Record and replay of real guests, end to end: `emu record` with typed
//! input, `emu replay` from the log alone, the same serial output and the
//! same state digest; `rrtool` accepts every log emu writes.

use std::time::Duration;

use e2e::{emu, fixture, rrtool, run, Run, Scratch};

const LIMIT: Duration = Duration::from_secs(240);

/// One recorded session and its replay.
struct Session {
    dir: Scratch,
    log: std::path::PathBuf,
    machine: Vec<String>,
    record: Run,
    recorded_serial: Vec<u8>,
}

/// `emu MODE --log LOG --serial file:SERIAL --digest EXTRA... MACHINE...`.
fn emu_args(
    mode: &str,
    log: &std::path::Path,
    serial: &std::path::Path,
    extra: &[&str],
    machine: &[String],
) -> Vec<String> {
    let mut args = vec![
        mode.to_string(),
        "--log".into(),
        log.display().to_string(),
        "--serial".into(),
        format!("file:{}", serial.display()),
        "--digest".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(machine.iter().cloned());
    args
}

impl Session {
    /// Records `machine` while `script` types, checks `rrtool validate`.
    fn record(name: &str, machine: &[String], script: &str, extra: &[&str]) -> Session {
        let dir = Scratch::new(name);
        let log = dir.path("replay.bin");
        let serial = dir.path("record.txt");
        let script = fixture(&format!("scripts/{script}")).display().to_string();
        let mut extra_args = vec!["--serial-script", script.as_str()];
        extra_args.extend_from_slice(extra);
        let args = emu_args("record", &log, &serial, &extra_args, machine);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let record = run(&emu(), &argv, LIMIT);
        record.ok();
        let recorded_serial = std::fs::read(&serial).expect("record transcript");
        run(&rrtool(), &["validate", &log.display().to_string()], LIMIT).ok();
        Session {
            dir,
            log,
            machine: machine.to_vec(),
            record,
            recorded_serial,
        }
    }

    /// Replays `log` (default: the recording) and returns the run.
    fn replay_log(&self, log: &std::path::Path, extra: &[&str]) -> (Run, Vec<u8>) {
        let serial = self.dir.path("replay.txt");
        let args = emu_args("replay", log, &serial, extra, &self.machine);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let r = run(&emu(), &argv, LIMIT);
        let out = std::fs::read(&serial).unwrap_or_default();
        (r, out)
    }

    /// Replays the recording and asserts it reproduces it exactly.
    fn replay_matches(&self) -> Run {
        let (r, serial) = self.replay_log(&self.log, &[]);
        r.ok();
        assert_eq!(
            String::from_utf8_lossy(&serial),
            String::from_utf8_lossy(&self.recorded_serial),
            "replay serial output differs"
        );
        assert_eq!(r.stderr_value("icount"), self.record.stderr_value("icount"));
        assert_eq!(
            r.stderr_value("state-digest"),
            self.record.stderr_value("state-digest")
        );
        r
    }

    /// `rrtool stats --json` of the recording.
    fn stats(&self) -> String {
        run(
            &rrtool(),
            &["stats", "--json", &self.log.display().to_string()],
            LIMIT,
        )
        .ok()
        .stdout
        .clone()
    }

    fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.recorded_serial).into_owned()
    }
}

fn kind_count(stats_json: &str, kind: &str) -> u64 {
    let key = format!("\"{kind}\":");
    let Some(at) = stats_json.find(&key) else {
        return 0;
    };
    let rest = stats_json[at + key.len()..].trim_start();
    rest.chars()
        .take_while(|c| c.is_ascii_digit())
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn opensbi() -> String {
    fixture("guest/opensbi-1.5.1-fw_dynamic.bin")
        .display()
        .to_string()
}

#[test]
fn demo_command_records_and_replays_identically() {
    let r = run(&emu(), &["demo"], LIMIT);
    r.ok();
    assert!(r.stdout.contains("identical:"), "{}", r.stdout);
    assert!(
        r.stdout.contains("you typed: hello from the host"),
        "{}",
        r.stdout
    );
}

#[test]
fn demo_twenty_replays_give_the_same_digest() {
    let s = Session::record("demo20", &[], "demo.script", &[]);
    let stats = s.stats();
    for kind in [
        "ASYNC_CHAR_READ",
        "CHAR_WRITE",
        "RANDOM",
        "CLOCK_HOST",
        "CP_CLOCK_WARP_ACCOUNT",
        "END",
    ] {
        assert!(kind_count(&stats, kind) > 0, "no {kind} in {stats}");
    }
    assert_eq!(kind_count(&stats, "SHUTDOWN_GUEST_SHUTDOWN"), 1);
    for _ in 0..20 {
        s.replay_matches();
    }
}

#[test]
fn uboot_smode_session_with_disk_reads_and_writes() {
    let machine = args(&[
        "--bios",
        &opensbi(),
        "--kernel",
        &fixture("guest/u-boot-2023.01-qemu-riscv64_smode.bin")
            .display()
            .to_string(),
        "--drive",
        &fixture("inputs/rr-disk.img").display().to_string(),
    ]);
    let s = Session::record("uboot-disk", &machine, "uboot-smode-disk.script", &[]);
    let t = s.transcript();
    assert!(t.contains("U-Boot 2023.01"), "{t}");
    assert!(t.contains("hello.txt"), "{t}");
    assert!(t.contains("copy.txt"), "fatwrite result not listed:\n{t}");
    let stats = s.stats();
    assert!(kind_count(&stats, "ASYNC_BLOCK") >= 4, "{stats}");
    assert!(kind_count(&stats, "ASYNC_CHAR_READ") > 0, "{stats}");
    assert_eq!(kind_count(&stats, "RANDOM"), 2, "{stats}");
    s.replay_matches();
}

#[test]
#[cfg(feature = "user-net")]
fn uboot_network_dhcp_and_tftp_replay_without_a_network() {
    let tftp = fixture("inputs/tftp").display().to_string();
    let machine = args(&[
        "--bios",
        &opensbi(),
        "--kernel",
        &fixture("guest/u-boot-2023.01-qemu-riscv64_smode.bin")
            .display()
            .to_string(),
        "-netdev",
        &format!("user,id=net0,restrict=on,tftp={tftp}"),
        "-device",
        "virtio-net-device,netdev=net0",
    ]);
    let s = Session::record("uboot-net", &machine, "uboot-net.script", &[]);
    let t = s.transcript();
    assert!(t.contains("DHCP client bound to address 10.0.2.15"), "{t}");
    assert!(t.contains("Bytes transferred = 51 (33 hex)"), "{t}");
    let stats = s.stats();
    assert!(kind_count(&stats, "ASYNC_NET") >= 4, "{stats}");
    // Replay starts no network backend: the packets come from the log.
    s.replay_matches();
}

#[test]
fn uboot_mmode_guest_reset_replays() {
    let machine = args(&[
        "--cpu",
        "mincpu",
        "--bios",
        &fixture("guest/u-boot-2023.01-qemu-riscv64-mmode.bin")
            .display()
            .to_string(),
    ]);
    let s = Session::record("uboot-reset", &machine, "uboot-mmode-reset.script", &[]);
    assert!(s.transcript().contains("after reset"), "{}", s.transcript());
    let stats = s.stats();
    // Machine creation, power-on reset, guest reset: three DT seeds, as QEMU.
    assert_eq!(kind_count(&stats, "RANDOM"), 3, "{stats}");
    // QEMU logs a guest reset as a reset request, and the first reset once.
    assert_eq!(kind_count(&stats, "CP_RESET_REQUESTED"), 1, "{stats}");
    assert_eq!(kind_count(&stats, "CP_RESET"), 1, "{stats}");
    assert_eq!(kind_count(&stats, "SHUTDOWN_GUEST_RESET"), 0, "{stats}");
    s.replay_matches();
}

#[test]
fn linux_tiny_boot_with_typed_line_replays() {
    let machine = args(&[
        "--cpu",
        "mincpu",
        "--bios",
        &opensbi(),
        "--kernel",
        &fixture("guest/linux-6.1.192-tiny-Image")
            .display()
            .to_string(),
        "--append",
        "console=ttyS0 earlycon=sbi ask",
    ]);
    let s = Session::record("linux", &machine, "linux-tiny.script", &[]);
    let t = s.transcript();
    assert!(t.contains("init read: hello replay"), "{t}");
    let stats = s.stats();
    assert!(kind_count(&stats, "EXCEPTION") > 100, "{stats}");
    assert!(kind_count(&stats, "INTERRUPT") > 0, "{stats}");
    s.replay_matches();
}

/// QEMU 10's default CPU (less H): OpenSBI sets menvcfg.STCE and Linux
/// programs its timer through stimecmp (Sstc), so every timer interrupt
/// comes from the hart's own compare value, a slice deadline like
/// mtimecmp's. The replay, sliced differently at every logged event, must
/// take each of them at the same instruction.
#[test]
fn linux_tiny_default_cpu_sstc_timer_replays() {
    let machine = args(&[
        "--cpu",
        "rv64",
        "--bios",
        &opensbi(),
        "--kernel",
        &fixture("guest/linux-6.1.192-tiny-Image")
            .display()
            .to_string(),
        "--append",
        "console=ttyS0 earlycon=sbi ask",
    ]);
    let s = Session::record("linux-sstc", &machine, "linux-tiny.script", &[]);
    let t = s.transcript();
    assert!(
        t.contains("Boot HART ISA Extensions  : sstc,zicntr,zihpm,zicboz,zicbom,svadu"),
        "{t}"
    );
    assert!(
        t.contains("Timer interrupt in S-mode is available via sstc extension"),
        "{t}"
    );
    assert!(t.contains("init read: hello replay"), "{t}");
    let stats = s.stats();
    assert!(kind_count(&stats, "INTERRUPT") > 0, "{stats}");
    s.replay_matches();
}

#[test]
fn qemu_icount_spelling_records_and_replays() {
    let dir = Scratch::new("qemu-spelling");
    let log = dir.path("q.bin").display().to_string();
    let script = fixture("scripts/demo.script").display().to_string();
    let rec = run(
        &emu(),
        &[
            "-icount",
            &format!("shift=3,rr=record,rrfile={log}"),
            "-serial",
            "null",
            "--serial-script",
            &script,
            "--digest",
        ],
        LIMIT,
    );
    rec.ok();
    let rep = run(
        &emu(),
        &[
            "-icount",
            &format!("shift=3,rr=replay,rrfile={log}"),
            "-serial",
            "null",
            "--digest",
        ],
        LIMIT,
    );
    rep.ok();
    assert_eq!(
        rec.stderr_value("state-digest"),
        rep.stderr_value("state-digest")
    );
}

#[test]
fn sigterm_closes_the_recording_like_qemu() {
    let dir = Scratch::new("sigterm");
    let log = dir.path("killed.bin");
    let log_s = log.display().to_string();
    let kernel = fixture("guest/u-boot-2023.01-qemu-riscv64_smode.bin")
        .display()
        .to_string();
    let bios = opensbi();
    let machine = [
        "--bios",
        bios.as_str(),
        "--kernel",
        kernel.as_str(),
        "--serial",
        "null",
        "--digest",
    ];
    let child = std::process::Command::new(emu())
        .args(["record", "--log", &log_s])
        .args(machine)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start emu");
    std::thread::sleep(Duration::from_secs(3));
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let digest = stderr
        .lines()
        .find_map(|l| l.strip_prefix("state-digest: "))
        .expect("digest")
        .to_string();
    // Closed as QEMU closes a log at exit: the quit, then host-signal and END.
    let tail = run(&rrtool(), &["dump", &log_s], LIMIT).ok().stdout.clone();
    let last: Vec<&str> = tail.lines().rev().take(3).collect();
    assert!(
        last[0].ends_with("END") && last[1].contains("SHUTDOWN_HOST_SIGNAL"),
        "{tail}"
    );
    assert!(last[2].contains("SHUTDOWN_HOST_QMP_QUIT"), "{tail}");
    let r = run(
        &emu(),
        &[
            "replay", "--log", &log_s, "--bios", &bios, "--kernel", &kernel, "--serial", "null",
            "--digest",
        ],
        LIMIT,
    );
    r.ok();
    assert_eq!(r.stderr_value("state-digest"), digest);
}
