//! End to end: OpenSBI + S-mode U-Boot on `emu` with `-netdev user` and a
//! virtio-net device. U-Boot's `dhcp` gets 10.0.2.15 from libslirp,
//! `tftpboot` loads fixtures/inputs/tftp/hello.txt (51 bytes), `md.b` shows
//! it, `ping 10.0.2.2` is answered. Recorded and replayed, the session is
//! identical, and the replay does not touch the host network.

mod boot_support;
mod net_frames;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use logfmt::{AsyncEvent, Event, Reader};

const LIMIT: Duration = Duration::from_secs(240);

/// What U-Boot's `md.b ${kernel_addr_r} 0x33` prints for hello.txt.
const MD_LINES: [&str; 4] = [
    "84000000: 48 65 6c 6c 6f 20 6f 76 65 72 20 54 46 54 50 20  Hello over TFTP ",
    "84000010: 66 72 6f 6d 20 73 6c 69 72 70 20 28 66 69 6c 74  from slirp (filt",
    "84000020: 65 72 2d 72 65 70 6c 61 79 20 66 69 78 74 75 72  er-replay fixtur",
    "84000030: 65 29 0a                                         e).",
];

const SCRIPT: &str = "\
expect autoboot
sendraw   
expect =>
send dhcp
expect =>
send tftpboot ${kernel_addr_r} hello.txt
expect Bytes transferred
expect =>
send md.b ${kernel_addr_r} 0x33
expect =>
send ping 10.0.2.2
expect =>
send poweroff
";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("net-uboot")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The machine: firmware, U-Boot, and the QEMU-spelled network options.
fn machine(tftp: &Path) -> Vec<String> {
    let mut m = firmware();
    m.extend([
        "-netdev".into(),
        format!("user,id=net0,restrict=on,tftp={}", tftp.display()),
        "-device".into(),
        "virtio-net-device,netdev=net0".into(),
    ]);
    m
}

fn firmware() -> Vec<String> {
    let g = fixtures().join("guest");
    vec![
        "--bios".into(),
        g.join("opensbi-1.5.1-fw_dynamic.bin").display().to_string(),
        "--kernel".into(),
        g.join("u-boot-2023.01-qemu-riscv64_smode.bin")
            .display()
            .to_string(),
    ]
}

struct Run {
    serial: String,
    stderr: String,
}

impl Run {
    fn value(&self, key: &str) -> Option<String> {
        let prefix = format!("{key}: ");
        self.stderr
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
    }
}

/// Runs emu with `args` plus a serial file, bounded by [`LIMIT`].
fn emu(dir: &Path, serial_name: &str, args: &[String]) -> Run {
    let serial = dir.join(serial_name);
    let stderr_path = dir.join(format!("{serial_name}.stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_emu"))
        .args(args)
        .arg("--serial")
        .arg(format!("file:{}", serial.display()))
        .arg("--digest")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("emu starts");
    let status = boot_support::wait_or_kill(&mut child, LIMIT, &format!("emu {args:?}"));
    let run = Run {
        serial: String::from_utf8_lossy(&std::fs::read(&serial).unwrap_or_default()).into_owned(),
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
    };
    assert!(
        status.success(),
        "emu {args:?}: {status}\nstderr:\n{}\nserial:\n{}",
        run.stderr,
        run.serial
    );
    run
}

fn check_transcript(t: &str) {
    assert!(t.contains("Net:   eth0: virtio-net#0"), "{t}");
    assert!(t.contains("DHCP client bound to address 10.0.2.15"), "{t}");
    assert!(
        t.contains("TFTP from server 10.0.2.2; our IP address is 10.0.2.15"),
        "{t}"
    );
    assert!(t.contains("Bytes transferred = 51 (33 hex)"), "{t}");
    for line in MD_LINES {
        assert!(t.contains(line), "missing `{line}` in\n{t}");
    }
    assert!(t.contains("host 10.0.2.2 is alive"), "{t}");
}

#[test]
fn uboot_dhcp_tftpboot_md_and_ping_over_user_networking() {
    let want = std::fs::read(fixtures().join("inputs/tftp/hello.txt")).unwrap();
    assert_eq!(want.len(), 51);
    let dir = scratch("live");
    std::fs::write(dir.join("script"), SCRIPT).unwrap();
    let mut args = vec![
        "run".to_string(),
        "--serial-script".into(),
        dir.join("script").display().to_string(),
    ];
    // Our own spelling: one --netdev without id, a NIC that names none.
    args.extend(firmware());
    args.extend([
        "--netdev".into(),
        format!(
            "user,tftp={},restrict=on",
            fixtures().join("inputs/tftp").display()
        ),
        "--device".into(),
        "virtio-net-device".into(),
    ]);
    let run = emu(&dir, "serial.txt", &args);
    check_transcript(&run.serial);
}

/// Packets of the ASYNC_NET events of a log.
fn logged_packets(log: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(log).unwrap();
    let mut out = Vec::new();
    for rec in Reader::new(&bytes).expect("log header") {
        let rec = rec.expect("log parses");
        if let Event::Async {
            event: AsyncEvent::Net { packet, .. },
            ..
        } = rec.event
        {
            out.push(packet.to_vec());
        }
    }
    out
}

#[test]
fn network_session_records_and_replays_without_the_host_network() {
    let dir = scratch("rr");
    std::fs::write(dir.join("script"), SCRIPT).unwrap();
    let log = dir.join("net.bin").display().to_string();
    let mut rec_args = vec![
        "record".to_string(),
        "--log".into(),
        log.clone(),
        "--force".into(),
        "--serial-script".into(),
        dir.join("script").display().to_string(),
    ];
    rec_args.extend(machine(&fixtures().join("inputs/tftp")));
    let rec = emu(&dir, "record.txt", &rec_args);
    check_transcript(&rec.serial);

    // The log holds what libslirp sent the guest: the DHCP offer of
    // 10.0.2.15 and the TFTP data block with the file's bytes.
    let packets = logged_packets(Path::new(&log));
    let want = std::fs::read(fixtures().join("inputs/tftp/hello.txt")).unwrap();
    let mut offer = false;
    let mut data = false;
    for p in &packets {
        let Some(ip) = net_frames::parse_ipv4(p) else {
            continue;
        };
        let Some((_, dport, body)) = net_frames::parse_udp(&ip) else {
            continue;
        };
        if let Some(r) = net_frames::parse_dhcp_reply(&body) {
            offer |= r.kind == net_frames::DHCP_OFFER && r.yiaddr == [10, 0, 2, 15];
        }
        data |= dport != 68
            && body.len() == 4 + want.len()
            && body[..4] == [0, 3, 0, 1]
            && body[4..] == want[..];
    }
    assert!(
        offer,
        "no DHCP OFFER among {} logged packets",
        packets.len()
    );
    assert!(
        data,
        "no TFTP DATA block 1 with hello.txt among {} logged packets",
        packets.len()
    );

    // Replay with a TFTP root that does not exist: a live run would refuse
    // to start, so an identical replay shows the backend was never started.
    let mut rep_args = vec!["replay".to_string(), "--log".into(), log];
    rep_args.extend(machine(Path::new("/nonexistent/tftp-root")));
    let rep = emu(&dir, "replay.txt", &rep_args);
    assert_eq!(rep.serial, rec.serial, "replay serial output differs");
    assert!(rec.value("icount").is_some(), "{}", rec.stderr);
    assert_eq!(rep.value("icount"), rec.value("icount"));
    assert_eq!(rep.value("state-digest"), rec.value("state-digest"));
}

#[test]
fn a_missing_tftp_root_is_a_clear_startup_error() {
    let dir = scratch("bad-root");
    let mut args = vec!["run".to_string(), "--max-insns".into(), "1000".into()];
    args.extend(machine(Path::new("/nonexistent/tftp-root")));
    let out = Command::new(env!("CARGO_BIN_EXE_emu"))
        .args(&args)
        .arg("--serial")
        .arg(format!("file:{}", dir.join("s.txt").display()))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/tftp-root"), "{err}");
}

/// Runs the same session on QEMU (`qemu-system-riscv64`, the reference) and
/// returns its console output, or `None` if QEMU is not installed and
/// RR_REQUIRE_TOOLS is unset.
fn qemu_session(script: &str) -> Option<String> {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};

    let g = fixtures().join("guest");
    let spawned = Command::new("qemu-system-riscv64")
        .args([
            "-M", "virt", "-m", "128M", "-display", "none", "-serial", "stdio", "-monitor", "none",
        ])
        .arg("-bios")
        .arg(g.join("opensbi-1.5.1-fw_dynamic.bin"))
        .arg("-kernel")
        .arg(g.join("u-boot-2023.01-qemu-riscv64_smode.bin"))
        .arg("-netdev")
        .arg(format!(
            "user,id=net0,restrict=on,tftp={}",
            fixtures().join("inputs/tftp").display()
        ))
        .args(["-device", "virtio-net-device,netdev=net0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = boot_support::spawned_tool("qemu-system-riscv64", spawned)?;
    let out = Arc::new(Mutex::new(Vec::<u8>::new()));
    let reader = {
        let out = out.clone();
        let mut stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                out.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let mut stdin = child.stdin.take().unwrap();
    let start = Instant::now();
    let text =
        |out: &Arc<Mutex<Vec<u8>>>| String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
    let mut seen = 0;
    for line in script.lines() {
        let (cmd, arg) = line.split_once(' ').unwrap_or((line, ""));
        match cmd {
            "expect" => loop {
                let t = text(&out);
                if let Some(at) = t.get(seen..).and_then(|rest| rest.find(arg)) {
                    seen += at + arg.len();
                    break;
                }
                if start.elapsed() > LIMIT {
                    let _ = child.kill();
                    panic!("QEMU never printed `{arg}`:\n{t}");
                }
                std::thread::sleep(Duration::from_millis(10));
            },
            "send" | "sendraw" => {
                let mut bytes = arg.as_bytes().to_vec();
                if cmd == "send" {
                    bytes.push(b'\r');
                }
                // One key at a time, as typed: U-Boot's console has no FIFO to spare.
                for b in bytes {
                    stdin.write_all(&[b]).unwrap();
                    stdin.flush().unwrap();
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            other => panic!("script command {other}"),
        }
    }
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("QEMU did not power off:\n{}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    reader.join().unwrap();
    let t = text(&out);
    Some(t)
}

/// The network part of a transcript (from the `dhcp` command to
/// `poweroff`) without what depends on host timing: transfer rates and
/// elapsed milliseconds, and how many typed spaces the autoboot ate. U-Boot
/// prints a rate in whatever unit fits (`Bytes/s`, `KiB/s`, `MiB/s`): on a
/// busy host a small transfer shows `Bytes/s`.
fn network_lines(t: &str) -> Vec<String> {
    let t = t.replace('\r', "");
    let from = t.find("dhcp\n").expect("dhcp typed");
    let to = t.find("poweroff ...").expect("poweroff typed");
    t[from..to]
        .lines()
        .filter(|l| !l.trim_end().ends_with("/s"))
        .map(|l| {
            let l = match (l.find(" ("), l.ends_with(" ms)")) {
                (Some(i), true) => &l[..i],
                _ => l,
            };
            l.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

#[test]
fn network_transcript_matches_qemu() {
    let Some(qemu) = qemu_session(SCRIPT) else {
        return;
    };
    check_transcript(&qemu);
    let dir = scratch("vs-qemu");
    std::fs::write(dir.join("script"), SCRIPT).unwrap();
    let mut args = vec![
        "run".to_string(),
        "--serial-script".into(),
        dir.join("script").display().to_string(),
    ];
    args.extend(machine(&fixtures().join("inputs/tftp")));
    let ours = emu(&dir, "serial.txt", &args).serial;
    let (a, b) = (network_lines(&ours), network_lines(&qemu));
    assert!(a.len() > 20, "{a:?}");
    assert_eq!(a, b, "\n--- emu ---\n{ours}\n--- qemu ---\n{qemu}");
}

/// A replay that goes live (`--live-at`) gets the host network back: the
/// recording has U-Boot take a DHCP lease and wait; live from the middle of
/// the wait, a `tftpboot` typed by the script fetches the file through a
/// fresh libslirp, and the continuation recorded with `--record-to`
/// replays on its own to the same end.
#[test]
fn going_live_reconnects_the_network() {
    let dir = scratch("go-live");
    let tftp = fixtures().join("inputs/tftp");
    std::fs::write(
        dir.join("record.script"),
        "expect autoboot\nsendraw   \nexpect =>\nsend dhcp\nexpect =>\nsend sleep 3\nexpect =>\nsend poweroff\n",
    )
    .unwrap();
    let log = dir.join("net.bin").display().to_string();
    let mut rec_args = vec![
        "record".to_string(),
        "--log".into(),
        log.clone(),
        "--force".into(),
        "--serial-script".into(),
        dir.join("record.script").display().to_string(),
    ];
    rec_args.extend(machine(&tftp));
    let rec = emu(&dir, "record.txt", &rec_args);
    assert!(
        rec.serial
            .contains("DHCP client bound to address 10.0.2.15"),
        "{}",
        rec.serial
    );
    let total: u64 = rec.value("icount").unwrap().parse().unwrap();

    // `sleep 3` spins on the timer: most of the recording lies after the
    // lease, inside the wait.
    let at = total * 3 / 4;
    std::fs::write(
        dir.join("live.script"),
        "expect autoboot\nexpect =>\nexpect =>\nexpect =>\nsend tftpboot ${kernel_addr_r} hello.txt\nexpect Bytes transferred\nexpect =>\nsend md.b ${kernel_addr_r} 0x33\nexpect =>\nsend poweroff\n",
    )
    .unwrap();
    let cont = dir.join("cont.bin").display().to_string();
    let mut live_args = vec![
        "replay".to_string(),
        "--log".into(),
        log,
        "--live-at".into(),
        at.to_string(),
        "--record-to".into(),
        cont.clone(),
        "--serial-script".into(),
        dir.join("live.script").display().to_string(),
    ];
    live_args.extend(machine(&tftp));
    let live = emu(&dir, "live.txt", &live_args);
    assert!(
        live.stderr.contains(&format!("live from icount {at}")),
        "{}",
        live.stderr
    );
    assert!(
        live.serial.contains("Bytes transferred = 51 (33 hex)"),
        "no TFTP transfer after going live:\n{}",
        live.serial
    );
    for line in MD_LINES {
        assert!(
            live.serial.contains(line),
            "missing `{line}` in\n{}",
            live.serial
        );
    }

    // The continuation replays alone (from the snapshot saved beside it),
    // without the host network.
    let mut rep_args = vec!["replay".to_string(), "--log".into(), cont];
    rep_args.extend(machine(Path::new("/nonexistent/tftp-root")));
    let rep = emu(&dir, "cont-replay.txt", &rep_args);
    assert_eq!(rep.value("icount"), live.value("icount"));
    assert_eq!(rep.value("state-digest"), live.value("state-digest"));
}
