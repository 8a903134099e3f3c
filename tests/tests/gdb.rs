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
    /// What emu said before it listened.
    early: String,
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
        let mut emu = Emu {
            child,
            stderr: rx,
            early: String::new(),
        };
        loop {
            let line = emu
                .stderr
                .recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("emu says where it waits for gdb: {}", emu.early));
            if line.contains("waiting for gdb") {
                break;
            }
            assert!(emu.early.len() < 4096, "unexpected: {}", emu.early);
            emu.early.push_str(&line);
            emu.early.push('\n');
        }
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
        let mut err = std::mem::take(&mut self.early);
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
    gdb_batch_on(gdb, &fixture("demo/demo.elf"), port, commands)
}

/// Runs gdb in batch mode on `elf` against `port`.
fn gdb_batch_on(gdb: &Path, elf: &Path, port: u16, commands: &[&str]) -> Run {
    let elf = elf.display().to_string();
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

// ---- The gdb guest (fixtures/gdb): an Sv39 kernel at a high virtual
// address, functions calling functions, a watched global, a long loop. ----

fn guest_elf() -> PathBuf {
    fixture("gdb/guest.elf")
}

/// The gdb guest's recording, made once for all the tests here (each
/// replays it in its own emu).
fn guest_log() -> String {
    static LOG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    LOG.get_or_init(|| {
        // Kept for the process's life; Scratch removes a stale one first.
        let dir = Box::leak(Box::new(Scratch::new("gdb-guest")));
        let log = dir.path("guest.bin").display().to_string();
        let elf = guest_elf().display().to_string();
        run(
            &emu(),
            &[
                "record", "--log", &log, "--bios", &elf, "--serial", "null", "--digest",
            ],
            LIMIT,
        )
        .ok();
        log
    })
    .clone()
}

/// `emu replay` of the gdb guest's `log`, waiting for gdb on a new port.
fn replay_guest(log: &str) -> (Emu, u16) {
    let port = free_port();
    let emu = Emu::start(&strings(&[
        "replay",
        "--log",
        log,
        "--bios",
        &guest_elf().display().to_string(),
        "-S",
        "-gdb",
        &format!("tcp::{port}"),
        "--serial",
        "null",
        "--digest",
    ]));
    (emu, port)
}

/// The guest's disassembly by address: (mnemonic, operands) per instruction.
fn disassembly() -> Option<std::collections::BTreeMap<u64, (String, String)>> {
    let tool = "riscv64-unknown-elf-objdump";
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(!tools_required(), "{tool} is missing (RR_REQUIRE_TOOLS=1)");
        eprintln!("skipped: {tool} is not installed");
        return None;
    }
    let elf = guest_elf().display().to_string();
    let out = run(Path::new(tool), &["-d", "--no-show-raw-insn", &elf], LIMIT);
    out.ok();
    let mut map = std::collections::BTreeMap::new();
    for line in out.stdout.lines() {
        // "ffffffc0000100cc:\tsd\ta4,0(a5)"
        let mut parts = line.trim().splitn(2, ":\t");
        let (Some(addr), Some(rest)) = (parts.next(), parts.next()) else {
            continue;
        };
        let Ok(addr) = u64::from_str_radix(addr, 16) else {
            continue;
        };
        let mut f = rest.splitn(2, '\t');
        let mnemonic = f.next().unwrap_or("").to_string();
        let operands = f.next().unwrap_or("").to_string();
        map.insert(addr, (mnemonic, operands));
    }
    Some(map)
}

/// The address of `symbol` in the guest ELF, as gdb resolves it.
fn symbol(gdb: &Path, name: &str) -> u64 {
    let elf = guest_elf().display().to_string();
    let cmd = format!("p/x &{name}");
    let r = run(gdb, &["-batch", "-nx", &elf, "-ex", &cmd], LIMIT);
    let v = r
        .stdout
        .lines()
        .find_map(|l| l.split(" = 0x").nth(1))
        .unwrap_or_else(|| panic!("no address for {name}: {}", r.stdout));
    u64::from_str_radix(v.split_whitespace().next().unwrap(), 16).unwrap()
}

fn ctx(g: &Run) -> String {
    format!("gdb stdout:\n{}\ngdb stderr:\n{}", g.stdout, g.stderr)
}

/// Ends a replay session cleanly: the log's end, then the guest's exit.
const TO_THE_END: [&str; 2] = ["delete", "continue"];

#[test]
fn hbreak_at_a_virtual_address_set_at_power_on_and_registers() {
    let Some(gdb) = gdb() else { return };
    let log = guest_log();
    let (emu, port) = replay_guest(&log);
    let mut cmds = vec![
        "info registers pc",
        // Set with the MMU off; the kernel reaches them after satp is set.
        "hbreak kmain",
        "break leaf",
        "hbreak middle",
        "continue",
        "info registers pc",
        "continue",
        "continue",
        "continue",
        "continue",
        "p $priv",
        "p/x $satp",
        "p/x $mstatus & 0x1800",
        "p/x $misa",
        "info registers float",
        "info registers csr",
    ];
    cmds.extend(TO_THE_END);
    cmds.push("continue");
    let g = gdb_batch_on(&gdb, &guest_elf(), port, &cmds);
    let out = &g.stdout;
    let c = ctx(&g);
    let kmain = symbol(&gdb, "kmain");
    assert!(kmain >> 32 == 0xffff_ffc0, "{kmain:#x}");
    let p = pcs(out);
    assert_eq!(p[0], 0x1000, "{c}");
    assert!(p[1] >> 32 == 0xffff_ffc0 && p[1] - kmain < 16, "{c}");
    let stops: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("Breakpoint ") && l.contains(" at fixtures/gdb/guest.c:"))
        .collect();
    assert_eq!(
        stops,
        [
            "Breakpoint 1, kmain () at fixtures/gdb/guest.c:53",
            "Breakpoint 3, middle (x=0) at fixtures/gdb/guest.c:38",
            "Breakpoint 2, leaf (x=0) at fixtures/gdb/guest.c:33",
            "Breakpoint 3, middle (x=1) at fixtures/gdb/guest.c:38",
            "Breakpoint 2, leaf (x=1) at fixtures/gdb/guest.c:33",
        ],
        "{c}"
    );
    // S-mode under Sv39 (satp.MODE 8), entered by mret with MPP = S.
    assert!(out.contains("$1 = 1 '\\001'"), "{c}");
    assert!(out.contains("$2 = 0x8000000000080001"), "{c}");
    assert!(out.contains("$3 = 0x0"), "{c}");
    assert!(out.contains("$4 = 0x800000000014112d"), "{c}");
    for reg in ["ft0 ", "fa0 ", "ft11 ", "fflags ", "frm ", "fcsr "] {
        assert!(out.lines().any(|l| l.starts_with(reg)), "{reg}: {c}");
    }
    for reg in [
        "mstatus ", "satp ", "mtvec ", "mepc ", "sstatus ", "mhartid ",
    ] {
        assert!(out.lines().any(|l| l.starts_with(reg)), "{reg}: {c}");
    }
    assert!(out.contains("No more reverse-execution history."), "{c}");
    assert!(out.contains("exited normally"), "{c}");
    let (code, err) = emu.finish();
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn watchpoints_forwards_and_backwards_stop_at_the_access() {
    let Some(gdb) = gdb() else { return };
    let Some(dis) = disassembly() else { return };
    let log = guest_log();
    let (emu, port) = replay_guest(&log);
    let mut cmds = vec![
        "hbreak kmain",
        "continue",
        "delete",
        "watch counter",
        "continue",
        "info registers pc",
        "continue",
        "continue",
        "continue",
        // Past the last write: to the end of the log.
        "continue",
        "reverse-continue",
        "info registers pc",
        "p counter",
        "stepi",
        "p counter",
        "delete",
        "rwatch results[3]",
        "continue",
        "info registers pc",
        "continue",
        "reverse-continue",
        "info registers pc",
        // An access watchpoint backwards from the load: the store before it.
        "delete",
        "awatch results[3]",
        "reverse-continue",
        "info registers pc",
    ];
    cmds.extend(TO_THE_END);
    cmds.push("continue");
    let g = gdb_batch_on(&gdb, &guest_elf(), port, &cmds);
    let out = &g.stdout;
    let c = ctx(&g);
    let counter = symbol(&gdb, "counter");
    let results3 = symbol(&gdb, "results[3]");
    let p = pcs(out);
    assert_eq!(p.len(), 5, "{c}");
    let insn = |pc: u64| {
        dis.get(&pc)
            .unwrap_or_else(|| panic!("{pc:#x} is not an instruction: {c}"))
    };
    // Backwards, gdb stops at the store that last wrote `counter`: a store
    // through the register that holds &counter (the instruction before
    // computes it), and stepping it writes the final value.
    let store = p[1];
    let (m, ops) = insn(store);
    assert!(
        ["sd", "sw"].contains(&m.as_str()),
        "{store:#x}: {m} {ops}\n{c}"
    );
    let (prev_pc, (_, prev_ops)) = dis.range(..store).next_back().unwrap();
    assert!(
        dis.range(..store)
            .rev()
            .take(3)
            .any(|(_, (_, o))| o.contains(&format!("{counter:x} <counter>"))),
        "{store:#x} (after {prev_pc:#x} {prev_ops}) does not write counter: {c}"
    );
    // Forwards, the stop is right after that store (the first write).
    let next = *dis.range(store + 1..).next().unwrap().0;
    assert_eq!(p[0], next, "{c}");
    assert!(out.contains("Old value = 0\nNew value = 1"), "{c}");
    assert!(out.contains("Old value = 10\nNew value = 7"), "{c}");
    let values: Vec<&str> = out.lines().filter(|l| l.starts_with('$')).collect();
    assert_eq!(values, ["$1 = 7", "$2 = 10"], "{c}");
    // The read watchpoint: forwards just after the load of results[3],
    // backwards at the load itself.
    assert!(
        out.contains("Hardware read watchpoint 3: results[3]\n\nValue = 26"),
        "{c}"
    );
    let load = p[3];
    let (m, ops) = insn(load);
    assert_eq!(m, "ld", "{load:#x}: {ops}\n{c}");
    assert_eq!(p[2], *dis.range(load + 1..).next().unwrap().0, "{c}");
    assert!(results3 > counter - 0x100, "{results3:#x}");
    let (m, ops) = insn(p[4]);
    assert_eq!(m, "sd", "{:#x}: {ops}\n{c}", p[4]);
    assert!(p[4] < load, "{c}");
    assert!(
        out.contains("Hardware access (read/write) watchpoint 4: results[3]"),
        "{c}"
    );
    assert!(out.contains("exited normally"), "{c}");
    let (code, err) = emu.finish();
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn reverse_finish_next_and_step_over_functions() {
    let Some(gdb) = gdb() else { return };
    let log = guest_log();
    let (emu, port) = replay_guest(&log);
    let mut cmds = vec![
        "break leaf",
        "continue",
        "continue",
        "delete",
        "reverse-finish",
        "next",
        "next",
        "reverse-next",
        "reverse-next",
        "reverse-step",
        "bt",
    ];
    cmds.extend(TO_THE_END);
    cmds.push("continue");
    let g = gdb_batch_on(&gdb, &guest_elf(), port, &cmds);
    let out = &g.stdout;
    let c = ctx(&g);
    assert!(
        out.contains("Breakpoint 1, leaf (x=1) at fixtures/gdb/guest.c:33"),
        "{c}"
    );

    // Source lines as gdb shows them after each command.
    let lines: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.split_once('\t')
                .is_some_and(|(n, _)| n.parse::<u32>().is_ok())
        })
        .collect();
    assert_eq!(
        lines,
        [
            "33\t    return x * 3 + 1;",
            "33\t    return x * 3 + 1;",
            "38\t    uint64_t r = leaf(x);",
            "39\t    counter = r;",
            "40\t    return r + 1;",
            "39\t    counter = r;",
            "38\t    uint64_t r = leaf(x);",
            "56\t        acc += middle(i);",
            // The end of the log.
            "64\t    for (;;)",
        ],
        "{c}"
    );
    // reverse-finish stops at the call; reverse-step from a function's
    // first line goes back into the caller.
    assert!(
        out.contains("0xffffffc0000100b8 in middle (x=1) at fixtures/gdb/guest.c:38"),
        "{c}"
    );
    assert!(
        out.contains("#0  kmain () at fixtures/gdb/guest.c:56"),
        "{c}"
    );
    assert!(out.contains("exited normally"), "{c}");
    let (code, err) = emu.finish();
    assert_eq!(code, Some(0), "{err}");
}

#[test]
fn monitor_commands() {
    let Some(gdb) = gdb() else { return };
    let log = guest_log();
    let (emu, port) = replay_guest(&log);
    let mut cmds = vec![
        "monitor help",
        "monitor icount",
        "monitor goto 1_000",
        "maintenance flush register-cache",
        "monitor icount",
        "info registers pc",
        "monitor goto 0x5",
        "maintenance flush register-cache",
        "info registers pc",
        "monitor snapshots",
        "monitor goto 99999999999",
        "monitor frobnicate",
    ];
    cmds.extend(TO_THE_END);
    let g = gdb_batch_on(&gdb, &guest_elf(), port, &cmds);
    let err = &g.stderr;
    let c = ctx(&g);
    for want in [
        "emu monitor commands:",
        "icount 0\n",
        "icount 1000\n",
        "icount 5\n",
        " snapshots, ",
        " bytes in all (",
        "unknown monitor command `frobnicate`",
    ] {
        assert!(err.contains(want), "{want}: {c}");
    }
    let end: u64 = err
        .lines()
        .find_map(|l| l.strip_prefix("the replay ends at icount "))
        .and_then(|l| l.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no end: {c}"));
    // The two gotos moved the guest: in the kernel at 1000, in boot code at 5.
    let p = pcs(&g.stdout);
    assert_eq!(p.len(), 2, "{c}");
    assert!(p[0] >> 32 == 0xffff_ffc0 && p[1] >> 32 == 0, "{c}");
    let (code, err) = emu.finish();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        err.lines().find_map(|l| l.strip_prefix("icount: ")),
        Some(end.to_string().as_str()),
        "{err}"
    );
}

/// Hex of a `qRcmd` command.
fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn ctrl_c_interrupts_a_long_reverse_continue() {
    // The raw protocol, as gdb sends it on Ctrl-C; gdb only resolves a symbol.
    let Some(gdb) = gdb() else { return };
    let kmain = symbol(&gdb, "kmain");
    let log = guest_log();
    let (emu, port) = replay_guest(&log);
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    assert!(packet(&mut s, "?").starts_with('T'));
    // To the end of the log (no breakpoints), then back towards kmain: a
    // reverse run over the whole recording.
    let end = packet(&mut s, "c");
    assert!(end.contains("replaylog:end"), "{end}");
    assert_eq!(packet(&mut s, &format!("Z1,{kmain:x},2")), "OK");
    write!(s, "$bc#c5").unwrap();
    std::thread::sleep(Duration::from_millis(150));
    let sent = Instant::now();
    s.write_all(&[0x03]).unwrap();
    let stop = reply(&mut s);
    let waited = sent.elapsed();
    assert!(stop.starts_with("T02") || stop.starts_with("S02"), "{stop}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    // Still serving, stopped somewhere in between.
    let icount = packet(&mut s, &format!("qRcmd,{}", hex("icount")));
    assert!(icount.starts_with('O'), "{icount}");
    write!(s, "$k#6b").unwrap();
    let (code, err) = emu.finish();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("killed by gdb"), "{err}");
}

/// Records the demo with `drive` attached, then reverse-continues under
/// gdb in its replay. Returns gdb's run and emu's stderr; checks the
/// reverse steps and the end state.
fn reverse_with_a_drive(name: &str, drive: &str) -> (Run, String) {
    let gdb = gdb().expect("checked by the caller");
    let dir = Scratch::new(name);
    let log = dir.path("demo-disk.bin").display().to_string();
    let script = fixture("scripts/demo.script").display().to_string();
    let record = run(
        &emu(),
        &[
            "record",
            "--log",
            &log,
            "--drive",
            drive,
            "--serial",
            "null",
            "--serial-script",
            &script,
            "--digest",
        ],
        LIMIT,
    );
    record.ok();
    let port = free_port();
    let emu = Emu::start(&strings(&[
        "replay",
        "--log",
        &log,
        "--drive",
        drive,
        "-S",
        "-gdb",
        &format!("tcp::{port}"),
        "--serial",
        "null",
        "--digest",
    ]));
    let g = gdb_batch(
        &gdb,
        port,
        &[
            "break puts_",
            "continue",
            "continue",
            "reverse-continue",
            "p/x $ra",
            "reverse-stepi",
            "monitor snapshots",
            "delete",
            "continue",
            "continue",
        ],
    );
    let c = ctx(&g);
    // Back to the first puts_ call, then one instruction before it.
    assert!(g.stdout.contains("$1 = 0x8000021a"), "{c}");
    assert!(g.stdout.contains("exited normally"), "{c}");
    let (code, err) = emu.finish();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        err.lines().find_map(|l| l.strip_prefix("state-digest: ")),
        Some(record.stderr_value("state-digest").as_str()),
        "{err}"
    );
    (g, err)
}

#[test]
fn with_a_disk_reverse_execution_restores_snapshots() {
    if gdb().is_none() {
        return;
    }
    let disk = fixture("inputs/rr-disk.img").display().to_string();
    let (g, err) = reverse_with_a_drive("gdb-disk", &disk);
    let c = ctx(&g);
    assert!(g.stderr.contains(" snapshots, "), "{c}");
    assert!(!g.stderr.contains("no snapshots"), "{c}");
    assert!(!err.contains("from power-on instead"), "{err}");
}

#[test]
fn without_snapshots_reverse_execution_replays_from_power_on() {
    // A drive that writes its image file (snapshot=off) keeps the
    // snapshots out: reverse execution falls back to re-running the log.
    if gdb().is_none() {
        return;
    }
    let dir = Scratch::new("gdb-rerun-img");
    let img = dir.path("disk.img");
    std::fs::copy(fixture("inputs/rr-disk.img"), &img).unwrap();
    let drive = format!("{},snapshot=off", img.display());
    let (g, err) = reverse_with_a_drive("gdb-rerun", &drive);
    let c = ctx(&g);
    assert!(
        g.stderr
            .contains("no snapshots: reverse execution replays from power-on"),
        "{c}"
    );
    assert!(
        err.contains("snapshot=off")
            && err.contains("reverse execution replays from power-on instead"),
        "{err}"
    );
}
