//! Reverse execution latency as gdb sees it, at the end of a long
//! recording: `reverse-stepi` and a `reverse-continue` to a breakpoint some
//! distance back, against re-running the log from power-on (what a
//! reverse step cost before snapshots), plus the memory the snapshots use.
//!
//! Speaks gdb's remote protocol to `emu replay -S -gdb` (the packets gdb
//! sends: `Z1`, `c`, `bs`, `bc`, `qRcmd`), so the times include the stub.
//!
//! Run: `cargo bench -p emu --bench gdb_reverse` records the small Linux
//! fixture and uses it. Any recording:
//! `cargo bench -p emu --bench gdb_reverse -- [--break ADDR] [--back N] -- REPLAY_ARGS`
//! where REPLAY_ARGS are `emu replay`'s (`--log L --bios ... --kernel ...`),
//! `--break ADDR` stops the forward run at a pc (e.g. `kernel_power_off`
//! from System.map; default: the end of the log) and `--back N` is how far
//! back the reverse-continue's breakpoint lies (default 50 M instructions).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const EMU: &str = env!("CARGO_BIN_EXE_emu");

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

struct Options {
    brk: Option<u64>,
    back: u64,
    replay: Vec<String>,
}

fn parse_u64(s: &str) -> u64 {
    let s = s.replace('_', "");
    let v = match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => s.parse(),
    };
    v.unwrap_or_else(|_| panic!("not a number: {s}"))
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut o = Options {
        brk: None,
        back: 50_000_000,
        replay: Vec::new(),
    };
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--break" => {
                o.brk = Some(parse_u64(&args[i + 1]));
                i += 1;
            }
            "--back" => {
                o.back = parse_u64(&args[i + 1]);
                i += 1;
            }
            "--" => {
                // cargo bench appends its own `--bench`.
                o.replay = args[i + 1..]
                    .iter()
                    .filter(|a| *a != "--bench")
                    .cloned()
                    .collect();
                break;
            }
            _ => {} // cargo bench's own flags (--bench)
        }
        i += 1;
    }
    o
}

/// Records the small Linux fixture (boot to init, poweroff) with emu.
fn record_linux_tiny(dir: &Path) -> Vec<String> {
    let f = fixtures();
    let p = |rel: &str| f.join(rel).display().to_string();
    let log = dir.join("linux-tiny.bin").display().to_string();
    let machine = vec![
        "--cpu".to_string(),
        "mincpu".into(),
        "--bios".into(),
        p("guest/opensbi-1.5.1-fw_dynamic.bin"),
        "--kernel".into(),
        p("guest/linux-6.1.192-tiny-Image"),
        "--append".into(),
        "console=ttyS0 earlycon=sbi".into(),
    ];
    let status = Command::new(EMU)
        .args(["record", "--force", "--serial", "null", "--log", &log])
        .args(&machine)
        .status()
        .expect("run emu record");
    assert!(status.success(), "recording the Linux fixture failed");
    let mut args = vec!["--log".to_string(), log];
    args.extend(machine);
    args
}

/// One gdb remote connection.
struct Gdb(TcpStream);

impl Gdb {
    fn send(&mut self, body: &str) {
        let sum = body.bytes().fold(0u8, |a, b| a.wrapping_add(b));
        write!(self.0, "${body}#{sum:02x}").expect("write to emu");
    }

    /// The next packet's payload (acks skipped, console `O` packets kept).
    fn reply(&mut self) -> String {
        let mut byte = [0u8];
        loop {
            self.0.read_exact(&mut byte).expect("read from emu");
            if byte[0] == b'$' {
                break;
            }
        }
        let mut body = Vec::new();
        loop {
            self.0.read_exact(&mut byte).unwrap();
            if byte[0] == b'#' {
                break;
            }
            body.push(byte[0]);
        }
        let mut sum = [0u8; 2];
        self.0.read_exact(&mut sum).unwrap();
        self.0.write_all(b"+").unwrap();
        // Run-length encoding: `X*n` repeats X (n - 29) more times.
        let mut out = Vec::new();
        let mut i = 0;
        while i < body.len() {
            if body[i] == b'*' && i + 1 < body.len() {
                let last = *out.last().expect("a run follows a byte");
                out.extend(std::iter::repeat_n(last, (body[i + 1] - 29) as usize));
                i += 2;
            } else {
                out.push(body[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn packet(&mut self, body: &str) -> String {
        self.send(body);
        self.reply()
    }

    /// Sends a packet and times its reply.
    fn timed(&mut self, body: &str) -> (String, Duration) {
        let t = Instant::now();
        let r = self.packet(body);
        (r, t.elapsed())
    }

    /// A `monitor` command's text output.
    fn monitor(&mut self, cmd: &str) -> String {
        let hex: String = cmd.bytes().map(|b| format!("{b:02x}")).collect();
        self.send(&format!("qRcmd,{hex}"));
        let mut text = String::new();
        loop {
            let r = self.reply();
            match r.strip_prefix('O') {
                Some(h) if r != "OK" => {
                    let bytes: Vec<u8> = (0..h.len() / 2)
                        .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16).unwrap())
                        .collect();
                    text.push_str(&String::from_utf8_lossy(&bytes));
                }
                _ => return text,
            }
        }
    }

    fn icount(&mut self) -> u64 {
        let t = self.monitor("icount");
        parse_u64(t.trim().strip_prefix("icount ").expect("icount reply"))
    }

    fn pc(&mut self) -> u64 {
        let r = self.packet("p20");
        let bytes: Vec<u8> = (0..8)
            .map(|i| u8::from_str_radix(&r[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        u64::from_le_bytes(bytes.try_into().unwrap())
    }
}

fn secs(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn main() {
    let o = options();
    let scratch = std::env::temp_dir().join(format!("emu-gdb-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let replay = if o.replay.is_empty() {
        println!("recording the small Linux fixture (no REPLAY_ARGS given)");
        record_linux_tiny(&scratch)
    } else {
        o.replay.clone()
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let mut child: Child = Command::new(EMU)
        .arg("replay")
        .args(&replay)
        .args(["--serial", "null", "-S", "-gdb", &format!("tcp::{port}")])
        .stderr(Stdio::null())
        .spawn()
        .expect("start emu replay");
    let stream = (0..200)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(25));
            TcpStream::connect(("127.0.0.1", port)).ok()
        })
        .expect("emu listens for gdb");
    stream.set_nodelay(true).unwrap();
    let mut g = Gdb(stream);
    g.packet("?");

    // Forwards to the breakpoint (or the end), keeping snapshots on the way.
    if let Some(b) = o.brk {
        assert_eq!(g.packet(&format!("Z1,{b:x},2")), "OK");
    }
    let (stop, forward) = g.timed("c");
    if let Some(b) = o.brk {
        assert_eq!(g.packet(&format!("z1,{b:x},2")), "OK");
    }
    let at = g.icount();
    println!("forward run to icount {at} ({stop}): {}", secs(forward));

    let mut steps = Vec::new();
    for _ in 0..3 {
        let (r, t) = g.timed("bs");
        assert!(r.starts_with('T') || r.starts_with('S'), "{r}");
        steps.push(t);
    }
    let here = g.icount();

    // A pc executed about `back` instructions ago, as the reverse-continue's
    // breakpoint: it stops at that pc's last execution, at most that far.
    let back_to = here.saturating_sub(o.back);
    g.monitor(&format!("goto {back_to}"));
    let target_pc = g.pc();
    g.monitor(&format!("goto {here}"));
    assert_eq!(g.packet(&format!("Z1,{target_pc:x},2")), "OK");
    let (r, rc) = g.timed("bc");
    let stopped = g.icount();
    assert_eq!(g.packet(&format!("z1,{target_pc:x},2")), "OK");
    let snapshots = g.monitor("snapshots");
    g.send("k");
    let _ = child.wait();

    // Without snapshots a reverse step rebuilt the machine and replayed
    // from power-on to icount - 1.
    let t = Instant::now();
    let _ = Command::new(EMU)
        .arg("replay")
        .args(&replay)
        .args(["--serial", "null", "--max-insns", &(here - 1).to_string()])
        .stderr(Stdio::null())
        .status()
        .expect("run emu replay");
    let rerun = t.elapsed();
    let _ = std::fs::remove_dir_all(&scratch);

    println!();
    println!("| at icount {here} | latency |");
    println!("|---|---|");
    for (i, s) in steps.iter().enumerate() {
        println!("| reverse-stepi #{} | {} |", i + 1, secs(*s));
    }
    println!(
        "| reverse-continue to pc {target_pc:#x}, {} instructions back ({r}) | {} |",
        here - stopped,
        secs(rc)
    );
    println!(
        "| re-running from power-on to icount - 1 (no snapshots) | {} |",
        secs(rerun)
    );
    println!();
    print!("{snapshots}");
}
