//! Debian trixie's stock kernel (`linux-image-riscv64`, 6.12) with a busybox
//! initramfs (scripts/debian-guest.py builds it from the pinned packages):
//! OpenSBI, the kernel, modules virtio-mmio/virtio-blk/virtio-net/ext4 loaded
//! by /init, the ext4 disk mounted, eth0 over `-netdev user`, a file fetched
//! with busybox wget from a python http.server on the host's loopback, then a
//! shell where `cat /proc/cpuinfo`, `uname -a` and `poweroff -f` are typed.
//!
//! Runs on emu and on QEMU 10 with the same command line and compares the
//! transcripts, then records on emu and replays to the same instruction
//! count, state digest, console and disk contents.

mod boot_support;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(300);

/// The built guest (CACHE/guest), or `None` (skip) when it cannot be built
/// here and RR_REQUIRE_TOOLS is unset.
fn guest() -> Option<&'static Path> {
    static GUEST: OnceLock<Option<PathBuf>> = OnceLock::new();
    GUEST
        .get_or_init(|| {
            let out = Command::new("python3")
                .arg(boot_support::repo().join("scripts/debian-guest.py"))
                .stderr(Stdio::inherit())
                .output();
            match out {
                Ok(o) if o.status.success() => {
                    Some(PathBuf::from(String::from_utf8(o.stdout).unwrap().trim()))
                }
                other => {
                    assert!(
                        !boot_support::tools_required(),
                        "RR_REQUIRE_TOOLS is set but scripts/debian-guest.py failed: {other:?}"
                    );
                    eprintln!("skipped: the Debian guest cannot be built here: {other:?}");
                    None
                }
            }
        })
        .as_deref()
}

/// A python http.server on 127.0.0.1 (the guest's 10.0.2.2) serving
/// `root`, stopped when dropped.
struct HttpServer {
    child: Child,
    port: u16,
}

impl HttpServer {
    fn start(root: &Path) -> HttpServer {
        let mut child = Command::new("python3")
            .args(["-u", "-m", "http.server", "--bind", "127.0.0.1", "0"])
            .arg("--directory")
            .arg(root)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 http.server starts");
        // "Serving HTTP on 127.0.0.1 port 40123 (http://127.0.0.1:40123/) ..."
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("http.server said `{line}`");
        };
        HttpServer { child, port }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("debian-guest")
        .join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The command line QEMU and emu are given (apart from the program name).
/// The CPU is QEMU 10's default without H and debug triggers, which emu
/// does not implement: on emu that is its default CPU (`tests/boot_dt.rs`
/// checks that emu's default device tree is QEMU's default one less `h`).
fn machine(g: &Path, port: u16, disk: &Path, snapshot: &str) -> Vec<String> {
    let p = |f: &str| g.join(f).display().to_string();
    [
        "-M",
        "virt",
        "-cpu",
        "rv64,h=off,debug=off",
        "-m",
        "512M",
        "-nographic",
        "-bios",
        "default",
        "-kernel",
        &p("Image"),
        "-initrd",
        &p("initrd.cpio"),
        "-append",
        &format!("console=ttyS0 rr.http={port}"),
        "-drive",
        &format!(
            "file={},format=raw,if=none,id=d,snapshot={snapshot}",
            disk.display()
        ),
        "-device",
        "virtio-blk-device,drive=d",
        "-netdev",
        "user,id=n",
        "-device",
        "virtio-net-device,netdev=n",
    ]
    .map(String::from)
    .to_vec()
}

/// What is typed once the shell is up (as fixtures' expect scripts).
fn session_script(g: &Path) -> PathBuf {
    g.join("session.script")
}

/// What a guest run printed: console (stdout) and stderr.
struct Session {
    serial: String,
    stderr: String,
}

impl Session {
    fn value(&self, key: &str) -> Option<String> {
        let prefix = format!("{key}: ");
        self.stderr
            .lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
    }
}

/// Runs `program args`, typing the session script into its console over
/// stdin (one key at a time, after each `expect`), the same way for emu and
/// QEMU: emu's own `--serial-script` gives up after 120 s of wall time, too
/// short for this guest on a loaded 2-core host. `None` when the program
/// is missing and RR_REQUIRE_TOOLS is unset. Console output is kept in
/// `dir/name.serial`.
fn session(
    dir: &Path,
    name: &str,
    program: &str,
    args: &[String],
    script: &str,
    env: &[(&str, &str)],
) -> Option<Session> {
    let stderr_path = dir.join(format!("{name}.stderr"));
    let spawned = Command::new(program)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn();
    let mut child = boot_support::spawned_tool(program, spawned)?;
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
    let text = || String::from_utf8_lossy(&out.lock().unwrap()).into_owned();
    let mut stdin = child.stdin.take();
    let start = Instant::now();
    let mut seen = 0;
    for line in script.lines() {
        let (cmd, arg) = line.split_once(' ').unwrap_or((line, ""));
        match cmd {
            "expect" => loop {
                let t = text().replace('\r', "");
                if let Some(at) = t.get(seen..).and_then(|rest| rest.find(arg)) {
                    seen += at + arg.len();
                    break;
                }
                if start.elapsed() > LIMIT || child.try_wait().unwrap().is_some() {
                    fail(&mut child, format!("{name}: `{arg}` never came:\n{t}"));
                }
                std::thread::sleep(Duration::from_millis(10));
            },
            "send" => {
                let stdin = stdin.as_mut().unwrap();
                for b in format!("{arg}\r").bytes() {
                    stdin.write_all(&[b]).unwrap();
                    stdin.flush().unwrap();
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            "" => {}
            other => fail(&mut child, format!("script command {other}")),
        }
    }
    // A replay takes no input: without a script it just runs to its end.
    drop(stdin);
    let status = boot_support::wait_or_kill(&mut child, LIMIT, name);
    reader.join().unwrap();
    let run = Session {
        serial: text(),
        stderr: std::fs::read_to_string(&stderr_path).unwrap_or_default(),
    };
    std::fs::write(dir.join(format!("{name}.serial")), &run.serial).unwrap();
    assert!(
        status.success(),
        "{name} {args:?}: {status}\nstderr:\n{}\nconsole:\n{}",
        run.stderr,
        run.serial
    );
    Some(run)
}

/// Kills the guest (a test never leaves one running) and fails with `why`.
fn fail(child: &mut Child, why: String) -> ! {
    let _ = child.kill();
    let _ = child.wait();
    panic!("{why}");
}

fn emu(dir: &Path, name: &str, args: &[String], script: &str) -> Session {
    emu_env(dir, name, args, script, &[])
}

fn emu_env(dir: &Path, name: &str, args: &[String], script: &str, env: &[(&str, &str)]) -> Session {
    let mut args = args.to_vec();
    args.push("--digest".into());
    session(dir, name, env!("CARGO_BIN_EXE_emu"), &args, script, env).expect("emu runs")
}

/// What the guest itself must have printed, on either machine.
fn check_session(t: &str) {
    for want in [
        "Linux version 6.12.",
        "[vda] 32768 512-byte logical blocks",
        "EXT4-fs (vda): mounted filesystem",
        "hello from the ext4 disk",
        "greeting over HTTP from the host through slirp",
        "init: ready",
        "BusyBox v1.37.0",
        "Linux (none) 6.12.",
    ] {
        assert!(t.contains(want), "missing `{want}` in\n{t}");
    }
    assert!(!t.contains("init: insmod"), "a module did not load:\n{t}");
}

/// Both transcripts, from one run each (the comparison tests share them).
fn both_sessions() -> Option<&'static (String, String)> {
    static BOTH: OnceLock<Option<(String, String)>> = OnceLock::new();
    BOTH.get_or_init(|| {
        let g = guest()?;
        let script = std::fs::read_to_string(session_script(g)).unwrap();
        let server = HttpServer::start(&g.join("www"));
        // One command line for both; snapshot=on keeps the image as built.
        let args = machine(g, server.port, &g.join("disk.img"), "on");
        let dir = scratch("vs-qemu");
        let q = session(&dir, "qemu", "qemu-system-riscv64", &args, &script, &[])?;
        let e = emu(&dir, "emu", &args, &script);
        drop(server);
        Some((e.serial, q.serial))
    })
    .as_ref()
}

/// A transcript line without what depends on host speed or the host
/// clock (each entry says why).
fn normalise(line: &str) -> String {
    let l = line.trim_end_matches('\r');
    // printk times: emu's clock is virtual (instructions), QEMU's is the host's.
    let l = match l.strip_prefix('[').and_then(|r| r.split_once("] ")) {
        Some((t, rest)) if t.trim().parse::<f64>().is_ok() => rest,
        _ => l,
    };
    // Elapsed or measured time: deferred struct-page init, the audit
    // record's timestamp, the kernel's unaligned-access timing probe.
    for (key, keep) in [
        (
            "deferred pages initialised in ",
            "deferred pages initialised in",
        ),
        ("audit(", "audit("),
        (
            "Ratio of byte access time to unaligned word access is ",
            "Ratio",
        ),
        // The RTC reads the host's wall clock.
        ("setting system clock to ", "setting system clock to"),
    ] {
        if let Some(i) = l.find(key) {
            return format!("{}{keep} <time>", &l[..i]);
        }
    }
    l.to_string()
}

fn normalised(t: &str) -> Vec<String> {
    t.replace('\r', "").lines().map(normalise).collect()
}

/// The lines of `/proc/cpuinfo` as the typed `cat` printed them.
fn cpuinfo(t: &str) -> Vec<String> {
    normalised(t)
        .into_iter()
        .skip_while(|l| !l.ends_with("cat /proc/cpuinfo"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect()
}

#[test]
fn cpuinfo_isa_and_mmu_match_qemu() {
    let Some((ours, qemu)) = both_sessions() else {
        return;
    };
    let (a, b) = (cpuinfo(ours), cpuinfo(qemu));
    assert!(a.iter().any(|l| l.starts_with("isa")), "{ours}");
    let pick = |v: &[String], key: &str| -> Vec<String> {
        v.iter().filter(|l| l.starts_with(key)).cloned().collect()
    };
    for key in ["isa", "mmu", "hart isa"] {
        assert_eq!(pick(&a, key), pick(&b, key), "/proc/cpuinfo `{key}`");
    }
}

#[test]
fn transcript_matches_qemu_apart_from_timing() {
    let Some((ours, qemu)) = both_sessions() else {
        return;
    };
    check_session(ours);
    check_session(qemu);
    let (mut a, mut b) = (normalised(ours), normalised(qemu));
    // The initramfs is unpacked by an async kernel thread: where its two
    // lines fall among the initcalls' depends on how timer ticks meet host
    // speed (QEMU runs on host time). They must be there, in any position.
    let (ra, rb) = (take_async(&mut a), take_async(&mut b));
    assert_eq!(ra, rb, "initramfs unpacking lines");
    assert_eq!(ra.len(), 2, "{ra:?}");
    let diff = line_diff(&b, &a);
    assert!(
        diff.is_empty(),
        "transcripts differ (- QEMU, + emu; full transcripts in \
         target/tmp/debian-guest/vs-qemu/):\n{}",
        diff.join("\n")
    );
}

/// Removes and returns the lines of the async initramfs unpacking.
fn take_async(lines: &mut Vec<String>) -> Vec<String> {
    let is_async = |l: &String| {
        l.starts_with("Trying to unpack rootfs image as initramfs")
            || l.starts_with("Freeing initrd memory:")
    };
    let taken = lines.iter().filter(|l| is_async(l)).cloned().collect();
    lines.retain(|l| !is_async(l));
    taken
}

/// The lines only in `old` (`- `) or only in `new` (`+ `), from a longest
/// common subsequence: a few hundred lines each, so the table is small.
fn line_diff(old: &[String], new: &[String]) -> Vec<String> {
    let (n, m) = (old.len(), new.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if old[i] == new[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < n || j < m {
        if i < n && j < m && old[i] == new[j] {
            (i, j) = (i + 1, j + 1);
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(format!("+ {}", new[j]));
            j += 1;
        } else {
            out.push(format!("- {}", old[i]));
            i += 1;
        }
    }
    out
}

#[test]
fn recording_replays_to_the_same_digest_console_and_disk() {
    let Some(g) = guest() else {
        return;
    };
    let dir = scratch("rr");
    // Both runs write the disk (snapshot=off) from their own copy of the
    // built image; the replay must leave the same bytes as the recording.
    let (rec_disk, rep_disk) = (dir.join("record.img"), dir.join("replay.img"));
    std::fs::copy(g.join("disk.img"), &rec_disk).unwrap();
    std::fs::copy(g.join("disk.img"), &rep_disk).unwrap();
    let log = dir.join("debian.bin").display().to_string();
    let server = HttpServer::start(&g.join("www"));
    let port = server.port;
    let script = std::fs::read_to_string(session_script(g)).unwrap();
    let mut rec_args = vec![
        "record".to_string(),
        "--log".into(),
        log.clone(),
        "--force".into(),
    ];
    rec_args.extend(machine(g, port, &rec_disk, "off"));
    let rec = emu(&dir, "record", &rec_args, &script);
    drop(server);
    check_session(&rec.serial);

    // Nothing listens on the port any more: the replay's wget answer can
    // only come from the log.
    let mut rep_args = vec!["replay".to_string(), "--log".into(), log.clone()];
    rep_args.extend(machine(g, port, &rep_disk, "off"));
    let rep = emu(&dir, "replay", &rep_args, "");
    assert_eq!(rep.serial, rec.serial, "replay console differs");
    assert!(rec.value("icount").is_some(), "{}", rec.stderr);
    assert_eq!(rep.value("icount"), rec.value("icount"));
    assert_eq!(rep.value("state-digest"), rec.value("state-digest"));

    // The recording ran hot blocks as translated code (cpu::jit); the
    // interpreter alone must reach the same state over the whole session.
    let interp_disk = dir.join("interp.img");
    std::fs::copy(g.join("disk.img"), &interp_disk).unwrap();
    let mut interp_args = vec!["replay".to_string(), "--log".into(), log];
    interp_args.extend(machine(g, port, &interp_disk, "off"));
    let interp = emu_env(&dir, "interp", &interp_args, "", &[("EMU_JIT", "off")]);
    assert_eq!(
        interp.serial, rec.serial,
        "interpreter replay console differs"
    );
    assert_eq!(interp.value("icount"), rec.value("icount"));
    assert_eq!(
        interp.value("state-digest"),
        rec.value("state-digest"),
        "the interpreter replays the translated recording to another state"
    );

    let (a, b) = (
        std::fs::read(&rec_disk).unwrap(),
        std::fs::read(&rep_disk).unwrap(),
    );
    assert_ne!(
        a,
        std::fs::read(g.join("disk.img")).unwrap(),
        "the session should have written the disk"
    );
    assert!(
        a == b,
        "the replay left other disk contents than the recording"
    );
    let greeting = std::fs::read(g.join("www/greeting.txt")).unwrap();
    assert!(
        a.windows(greeting.len()).any(|w| w == greeting),
        "the fetched file is not on the disk"
    );
}
