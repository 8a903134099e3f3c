//! The GDB stub with a real gdb (`gdb-multiarch`): breakpoints, stepping,
//! registers and memory in `emu run`; reverse-stepi and reverse-continue in
//! `emu replay`, which must still end with the recording's digest; Ctrl-C
//! over the raw protocol; bad options.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use e2e::{emu, fixture, root, run, tools_required, Run, Scratch};

const LIMIT: Duration = Duration::from_secs(60);

/// gdb-multiarch, or `None` (a printed skip) when it is not installed.
fn gdb() -> Option<PathBuf> {
    let found = Command::new("gdb-multiarch")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some(PathBuf::from("gdb-multiarch"));
    }
    assert!(
        !tools_required(),
        "gdb-multiarch is missing (RR_REQUIRE_TOOLS=1)"
    );
    eprintln!("skipped: gdb-multiarch is not installed (scripts/setup.sh installs it)");
    None
}

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// emu serving gdb; killed on drop if it is still running.
struct Emu {
    child: Child,
    stderr: mpsc::Receiver<String>,
}

impl Emu {
    /// Starts `emu ARGS` and waits until it listens for gdb.
    fn start(args: &[String]) -> Emu {
        let mut child = Command::new(emu())
            .args(args)
            .current_dir(root())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start emu");
        let (tx, rx) = mpsc::channel();
        let err = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let emu = Emu { child, stderr: rx };
        let line = emu
            .stderr
            .recv_timeout(Duration::from_secs(30))
            .expect("emu says where it waits for gdb");
        assert!(line.contains("waiting for gdb"), "unexpected: {line}");
        emu
    }

    /// Waits for emu to exit (killing it after `LIMIT`): exit code, stderr.
    fn finish(mut self) -> (Option<i32>, String) {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait for emu") {
                break s;
            }
            assert!(start.elapsed() < LIMIT, "emu did not exit");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        while let Ok(l) = self.stderr.recv_timeout(Duration::from_secs(2)) {
            err.push_str(&l);
            err.push('\n');
        }
        (status.code(), err)
    }
}

impl Drop for Emu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs gdb in batch mode on the demo's ELF against `port`.
fn gdb_batch(gdb: &Path, port: u16, commands: &[&str]) -> Run {
    let elf = fixture("demo/demo.elf").display().to_string();
    let remote = format!("target remote 127.0.0.1:{port}");
    let mut args = vec![
        "-batch",
        "-nx",
        elf.as_str(),
        "-ex",
        "set architecture riscv:rv64",
        "-ex",
        remote.as_str(),
    ];
    for c in commands {
        args.extend(["-ex", c]);
    }
    run(gdb, &args, LIMIT)
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// The pc gdb printed for each `info registers pc`, in order.
fn pcs(out: &str) -> Vec<u64> {
    out.lines()
        .filter_map(|l| l.strip_prefix("pc"))
        .filter_map(|l| l.split_whitespace().next())
        .map(|h| u64::from_str_radix(h.trim_start_matches("0x"), 16).expect("hex pc"))
        .collect()
}

const PUTS: u64 = 0x8000_0054;

#[test]
fn run_breakpoints_step_registers_memory() {
    let Some(gdb) = gdb() else { return };
    let port = free_port();
    let emu = Emu::start(&strings(&[
        "run",
        "-S",
        "-gdb",
        &format!("tcp::{port}"),
        "--serial",
        "null",
    ]));
    let g = gdb_batch(
        &gdb,
        port,
        &[
            "info registers pc",
            "break puts_",
            "continue",
            "info registers pc",
            "stepi",
            "info registers pc",
            "x/4xw 0x80000000",
            "set $a5 = 0x1234",
            "p/x $a5",
            "set {int}0x80004000 = 0x5a5a5a5a",
            "x/1xw 0x80004000",
            "x/1xw 0x10000000",
            "delete",
            "hbreak *0x80000092",
            "continue",
            "info registers pc",
            "delete",
            "continue",
        ],
    );
    let out = &g.stdout;
    assert_eq!(
        pcs(out),
        [0x1000, PUTS, PUTS + 4, 0x8000_0092],
        "gdb output:\n{out}\n{}",
        g.stderr
    );
    assert!(
        out.contains("Breakpoint 1, 0x0000000080000054 in puts_ ()"),
        "{out}"
    );
    // The first words of start.S, as in demo.bin.
    assert!(
        out.contains("0x00005117\t0x92010113\t0x00000297\t0x03028293"),
        "{out}"
    );
    assert!(out.contains("$1 = 0x1234"), "{out}");
    assert!(out.contains("0x5a5a5a5a"), "{out}");
    // The UART is MMIO: a debugger read must not reach it.
    assert!(
        g.stderr
            .contains("Cannot access memory at address 0x10000000"),
        "{}",
        g.stderr
    );
    assert!(out.contains("exited normally"), "{out}");
    let (code, err) = emu.finish();
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn replay_reverse_step_and_continue() {
    let Some(gdb) = gdb() else { return };
    let dir = Scratch::new("gdb-replay");
    let log = dir.path("demo.bin").display().to_string();
    let rec_serial = dir.path("record.txt");
    let script = fixture("scripts/demo.script").display().to_string();
    let record = run(
        &emu(),
        &[
            "record",
            "--log",
            &log,
            "--serial",
            &format!("file:{}", rec_serial.display()),
            "--serial-script",
            &script,
            "--digest",
        ],
        LIMIT,
    );
    record.ok();

    let port = free_port();
    let rep_serial = dir.path("replay.txt");
    let emu = Emu::start(&strings(&[
        "replay",
        "--log",
        &log,
        "-S",
        "-gdb",
        &format!("tcp::{port}"),
        "--serial",
        &format!("file:{}", rep_serial.display()),
        "--digest",
    ]));
    let g = gdb_batch(
        &gdb,
        port,
        &[
            "break puts_",
            "continue",
            "continue",
            "continue",
            "p/x $ra",
            "stepi",
            "stepi",
            "info registers pc",
            "reverse-stepi",
            "info registers pc",
            "reverse-continue",
            "info registers pc",
            "p/x $ra",
            "reverse-continue",
            "p/x $ra",
            "set {int}0x80004000 = 1",
            "set $a5 = 1",
            "delete",
            "reverse-continue",
            "info registers pc",
            "continue",
            "monitor icount",
            "reverse-stepi",
            "monitor icount",
            "continue",
            "continue",
        ],
    );
    let out = &g.stdout;
    let ctx = format!("gdb stdout:\n{out}\ngdb stderr:\n{}", g.stderr);
    // stepi, stepi from puts_ (two 2-byte instructions), then back one.
    assert_eq!(pcs(out), [PUTS + 6, PUTS + 4, PUTS, 0x1000], "{ctx}");
    // The third puts_ call came from demo_main+460; reverse-continue finds
    // the call before it (same caller), then the one before (+64).
    let ras: Vec<&str> = out.lines().filter(|l| l.starts_with("$")).collect();
    assert_eq!(
        ras,
        ["$1 = 0x800003c2", "$2 = 0x800003c2", "$3 = 0x80000236"],
        "{ctx}"
    );
    assert!(out.contains("No more reverse-execution history."), "{ctx}");
    // Writes would make the replay diverge: refused.
    assert!(
        g.stderr
            .contains("Cannot access memory at address 0x80004000"),
        "{ctx}"
    );
    assert!(g.stderr.contains("Could not write register"), "{ctx}");
    // The end of the log is a stop that can be reversed from; continuing
    // from it again ends the session.
    let icounts: Vec<u64> = g
        .stderr
        .lines()
        .filter_map(|l| l.strip_prefix("icount "))
        .map(|n| n.parse().expect("monitor icount"))
        .collect();
    assert_eq!(icounts.len(), 2, "{ctx}");
    assert_eq!(icounts[0], icounts[1] + 1, "{ctx}");
    assert_eq!(
        out.matches("No more reverse-execution history.").count(),
        3,
        "{ctx}"
    );
    assert!(out.contains("exited normally"), "{ctx}");
    let (code, err) = emu.finish();
    assert_eq!(code, Some(0), "{err}");
    // The end-of-replay checks passed, and the state is the recording's.
    let digest = |s: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix("state-digest: "))
            .map(str::to_string)
    };
    assert_eq!(digest(&err), digest(&record.stderr), "{err}");
    assert!(digest(&err).is_some(), "{err}");
    // Reverse runs did not print the console again.
    assert_eq!(
        std::fs::read(&rep_serial).unwrap(),
        std::fs::read(&rec_serial).unwrap()
    );
}

/// Sends one remote-protocol packet and returns the reply's payload.
fn packet(s: &mut TcpStream, body: &str) -> String {
    let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
    write!(s, "${body}#{sum:02x}").unwrap();
    reply(s)
}

/// Reads the next packet (skipping acks) and acknowledges it.
fn reply(s: &mut TcpStream) -> String {
    let mut body = Vec::new();
    let mut byte = [0u8];
    loop {
        s.read_exact(&mut byte).expect("read from the stub");
        if byte[0] == b'$' {
            break;
        }
    }
    loop {
        s.read_exact(&mut byte).unwrap();
        if byte[0] == b'#' {
            break;
        }
        body.push(byte[0]);
    }
    let mut sum = [0u8; 2];
    s.read_exact(&mut sum).unwrap();
    s.write_all(b"+").unwrap();
    String::from_utf8(body).unwrap()
}

#[test]
fn ctrl_c_stops_a_running_guest_and_kill_ends_emu() {
    // No gdb needed: the raw protocol, as gdb sends it on Ctrl-C.
    let port = free_port();
    let uboot = fixture("guest/u-boot-2023.01-qemu-riscv64-mmode.bin");
    let emu = Emu::start(&strings(&[
        "run",
        "-S",
        "-gdb",
        &format!("tcp::{port}"),
        "--serial",
        "null",
        "--cpu",
        "mincpu",
        "--bios",
        &uboot.display().to_string(),
    ]));
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    assert!(packet(&mut s, "?").starts_with('T'));
    write!(s, "$c#63").unwrap();
    // U-Boot counts down its autoboot delay: it is busy, not idle.
    std::thread::sleep(Duration::from_millis(300));
    s.write_all(&[0x03]).unwrap();
    let stop = reply(&mut s);
    assert!(stop.starts_with("T02") || stop.starts_with("S02"), "{stop}");
    write!(s, "$k#6b").unwrap();
    let (code, err) = emu.finish();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("killed by gdb"), "{err}");
}

#[test]
fn bad_gdb_options_are_clear_errors() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    let cases: &[(&[&str], &str)] = &[
        (&["run", "-gdb", "bogus"], "bad -gdb `bogus`"),
        (&["run", "-gdb", "tcp::70000"], "bad -gdb"),
        (&["run", "-S"], "-S waits for a debugger"),
        (
            &[
                "run",
                "-gdb",
                &format!("tcp::{busy_port}"),
                "--serial",
                "null",
            ],
            "cannot listen for gdb",
        ),
        (
            &["record", "--log", "/nonexistent/x.bin", "-s"],
            "gdb cannot attach to a recording",
        ),
    ];
    for (args, want) in cases {
        let r = run(&emu(), args, LIMIT);
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains(want), "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    }
    drop(busy);
}
