//! Test support for the boot tests: a deterministic [`Nondet`] that types
//! into the console the way the fixtures' `expect` scripts did (wait for
//! text in the output, then type), plus transcript normalisation.
//!
//! Unlike the live console, it delivers input and disk completions at
//! slice boundaries that depend only on the guest's output and state, so
//! every run of a test is the same run.

#![allow(dead_code)]

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crossbeam_channel::Receiver;
use emu::machine::board::VirtioSetup;
use emu::machine::nondet::{AsyncInput, HostEvent, Nondet, NondetError, Result};
use emu::machine::{Machine, MachineConfig, Outcome};

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn fixture(rel: &str) -> PathBuf {
    repo().join("fixtures").join(rel)
}

/// One step of an expect script (the fixtures' `.input` language).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Wait until this text appears in the output (`\r*\n` = any CRs then LF).
    Expect(String),
    /// Type these bytes.
    Type(Vec<u8>),
}

/// Parses a fixture `.input` file: `expect X`, `send X` (X + CR), `sendraw X`,
/// `interrupt P` (wait for P), `wait` (nothing more to type).
pub fn parse_input(text: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (cmd, arg) = line.split_once(' ').unwrap_or((line, ""));
        match cmd {
            "expect" => steps.push(Step::Expect(arg.replace("\\r*\\n", "\n"))),
            "send" => steps.push(Step::Type(format!("{arg}\r").into_bytes())),
            "sendraw" => steps.push(Step::Type(arg.as_bytes().to_vec())),
            // expect's `interrupt` types a space once a second until P shows;
            // the fixtures always `sendraw` a space first, which already stops
            // the countdown at once here, so only the wait remains.
            "interrupt" => steps.push(Step::Expect(arg.to_string())),
            "wait" | "quit" => {}
            other => panic!("unknown .input command {other}"),
        }
    }
    steps
}

/// Guest console output, shared between the machine's writer and the script.
#[derive(Clone, Default)]
pub struct Transcript(Rc<RefCell<Vec<u8>>>);

impl Transcript {
    pub fn bytes(&self) -> Vec<u8> {
        self.0.borrow().clone()
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.borrow()).into_owned()
    }
}

impl Write for Transcript {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The deterministic door: fixed clock, counter-based random bytes,
/// idle = warp to the deadline, input typed per script, disk completions
/// awaited at the next slice boundary.
pub struct Expect {
    steps: VecDeque<Step>,
    out: Transcript,
    /// Output consumed by matched `expect`s (CRs removed).
    seen: usize,
    random_counter: u8,
    disk: Option<Receiver<HostEvent>>,
    disk_in_flight: u64,
    pub shutdowns: Vec<logfmt::ShutdownCause>,
    pub chars_written: usize,
}

/// 2026-01-01T00:00:00Z in ns: what the RTC reads in tests.
pub const FIXED_HOST_NS: i64 = 1_767_225_600_000_000_000;

impl Expect {
    pub fn new(steps: Vec<Step>, out: Transcript, disk: Option<Receiver<HostEvent>>) -> Self {
        Expect {
            steps: steps.into(),
            out,
            seen: 0,
            random_counter: 0,
            disk,
            disk_in_flight: 0,
            shutdowns: Vec::new(),
            chars_written: 0,
        }
    }

    fn advance(&mut self, inputs: &mut Vec<AsyncInput>) {
        loop {
            match self.steps.front() {
                Some(Step::Expect(pat)) => {
                    let text: String = self.out.text().replace('\r', "");
                    match text.get(self.seen..).and_then(|t| t.find(pat.as_str())) {
                        Some(pos) => {
                            self.seen += pos + pat.len();
                            self.steps.pop_front();
                        }
                        None => return,
                    }
                }
                Some(Step::Type(bytes)) => {
                    inputs.push(AsyncInput::Serial(bytes.clone()));
                    self.steps.pop_front();
                }
                None => return,
            }
        }
    }

    pub fn remaining(&self) -> usize {
        self.steps.len()
    }
}

impl Nondet for Expect {
    fn host_clock_ns(&mut self, icount: u64) -> Result<i64> {
        Ok(FIXED_HOST_NS + icount as i64)
    }
    fn random(&mut self, _icount: u64, buf: &mut [u8]) -> Result<()> {
        for b in buf {
            self.random_counter = self.random_counter.wrapping_add(37);
            *b = self.random_counter;
        }
        Ok(())
    }
    fn idle(&mut self, icount: u64, now_ns: u64, deadline_ns: Option<u64>) -> Result<u64> {
        if self.disk_in_flight > 0 {
            return Ok(0);
        }
        deadline_ns
            .map(|d| d.saturating_sub(now_ns))
            .ok_or(NondetError::Deadlock { icount })
    }
    fn poll_async(&mut self, _icount: u64, out: &mut Vec<AsyncInput>) -> Result<()> {
        if let Some(rx) = &self.disk {
            while self.disk_in_flight > 0 {
                match rx.recv() {
                    Ok(HostEvent::Input(a)) => {
                        self.disk_in_flight -= 1;
                        out.push(a);
                    }
                    // No snapshots here: no control replies either.
                    Ok(HostEvent::Closed(_) | HostEvent::Disk(_)) | Err(_) => break,
                }
            }
        }
        self.advance(out);
        Ok(())
    }
    fn char_write(&mut self, _icount: u64, written: usize) -> Result<()> {
        self.chars_written += written;
        Ok(())
    }
    fn shutdown(&mut self, _icount: u64, cause: logfmt::ShutdownCause) -> Result<()> {
        self.shutdowns.push(cause);
        Ok(())
    }
    fn trap(&mut self, _icount: u64, _interrupt: bool) -> Result<()> {
        Ok(())
    }
    fn block_submitted(&mut self, _icount: u64, _request: u64) -> Result<()> {
        self.disk_in_flight += 1;
        Ok(())
    }
}

/// Runs `cfg` with the steps of fixture input `input` (None = no typing).
pub fn run_scripted(
    cfg: &MachineConfig,
    steps: Vec<Step>,
    drive: Option<&Path>,
) -> (Outcome, String, Machine) {
    let out = Transcript::default();
    // The demo looks for a virtio-rng device, as `emu run` provides for it.
    let mut setup = VirtioSetup {
        rng: cfg.firmware == emu::machine::Firmware::Demo,
        ..VirtioSetup::default()
    };
    let mut disk_rx = None;
    if let Some(p) = drive {
        let (tx, rx) = crossbeam_channel::unbounded();
        setup.blk = Some(emu::host::disk::DiskHandle::open(p, true, tx).expect("disk image opens"));
        disk_rx = Some(rx);
    }
    let nondet = Expect::new(steps, out.clone(), disk_rx);
    let mut m =
        Machine::new(cfg, Box::new(nondet), Box::new(out.clone()), setup).expect("machine builds");
    let outcome = m
        .run()
        .unwrap_or_else(|e| panic!("run failed: {e}\n--- output ---\n{}", out.text()));
    (outcome, out.text(), m)
}

/// Drops CRs and the lines whose text depends on host timing or on how
/// fast input was typed (autoboot countdown, transfer rates).
pub fn normalize(text: &str) -> Vec<String> {
    text.replace('\r', "")
        .lines()
        .filter(|l| {
            !(l.contains("Hit any key to stop autoboot")
                || l.contains(" bytes read in ")
                || l.contains(" bytes written in "))
        })
        .map(str::to_string)
        .collect()
}

/// Asserts that our transcript equals QEMU's, apart from timing lines and
/// the lines `skip` selects (e.g. CPU-model-dependent ones), showing the
/// first difference.
pub fn assert_transcripts_match(ours: &str, qemu: &str, skip: impl Fn(&str) -> bool) {
    let a: Vec<String> = normalize(ours).into_iter().filter(|l| !skip(l)).collect();
    let b: Vec<String> = normalize(qemu).into_iter().filter(|l| !skip(l)).collect();
    for (i, (x, y)) in a.iter().zip(b.iter()).enumerate() {
        assert_eq!(x, y, "transcripts differ at line {i}\n--- ours ---\n{ours}");
    }
    assert_eq!(
        a.len(),
        b.len(),
        "transcripts differ in length\n--- ours ---\n{ours}\n--- qemu ---\n{qemu}"
    );
}

pub fn read_fixture_text(rel: &str) -> String {
    std::fs::read_to_string(fixture(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// Whether CI demands every outside tool (`scripts/test.sh` sets
/// RR_REQUIRE_TOOLS): then a missing tool fails a test instead of skipping it.
pub fn tools_required() -> bool {
    std::env::var_os("RR_REQUIRE_TOOLS").is_some()
}

/// The reference tool `what` as spawned, or `None` after printing a skip
/// when it cannot run and CI does not require it (then it panics).
pub fn spawned_tool(
    what: &str,
    spawned: std::io::Result<std::process::Child>,
) -> Option<std::process::Child> {
    match spawned {
        Ok(c) => Some(c),
        Err(e) if !tools_required() => {
            eprintln!("skipping the comparison: {what}: {e}");
            None
        }
        Err(e) => panic!("RR_REQUIRE_TOOLS is set but {what} cannot run: {e}"),
    }
}

/// Whether `program --version` runs; if not, prints a skip, or panics
/// when CI requires the tool.
pub fn have_tool(program: &str) -> bool {
    let ok = std::process::Command::new(program)
        .arg("--version")
        .output()
        .is_ok();
    if !ok {
        assert!(
            !tools_required(),
            "RR_REQUIRE_TOOLS is set but {program} is missing"
        );
        eprintln!("skipped: {program} not installed");
    }
    ok
}

/// Rebuilds `target` in fixture folder `folder` from a scratch copy of
/// `sources` with its Makefile (Debian's riscv64-unknown-elf-gcc) and
/// asserts the committed file is byte-identical. Without the toolchain the
/// check is skipped, unless RR_REQUIRE_TOOLS is set (CI), where it fails.
pub fn assert_committed_build_matches(folder: &str, sources: &[&str], target: &str) {
    if !have_tool("riscv64-unknown-elf-gcc") {
        return;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("committed-builds")
        .join(folder);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for f in sources.iter().chain(&["Makefile"]) {
        std::fs::copy(fixture(&format!("{folder}/{f}")), dir.join(f)).unwrap();
    }
    let out = std::process::Command::new("make")
        .arg("-C")
        .arg(&dir)
        .arg(target)
        .output()
        .expect("make runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read(dir.join(target)).unwrap(),
        std::fs::read(fixture(&format!("{folder}/{target}"))).unwrap(),
        "rebuild fixtures/{folder} (make -C fixtures/{folder})"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Waits for `child` to exit; past `limit` kills it (so a test never leaves
/// an emulator running) and panics with `what` and how long it ran.
pub fn wait_or_kill(
    child: &mut std::process::Child,
    limit: std::time::Duration,
    what: &str,
) -> std::process::ExitStatus {
    let start = std::time::Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} still running after {limit:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Runs the reference tool `program` as `cmd` (stdin closed, stderr
/// dropped), killing it after `limit` (`what` names it then), and returns
/// its exit status and standard output; `None` as [`spawned_tool`].
pub fn tool_output(
    program: &str,
    mut cmd: std::process::Command,
    limit: std::time::Duration,
    what: &str,
) -> Option<(std::process::ExitStatus, String)> {
    use std::io::Read;
    use std::process::Stdio;
    let spawned = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = spawned_tool(program, spawned)?;
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let status = wait_or_kill(&mut child, limit, what);
    let text = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
    Some((status, text))
}
