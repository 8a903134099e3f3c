//! Shared helpers for the end-to-end tests in `tests/tests/*.rs`: paths to
//! the built `emu` and `rrtool` binaries (built on first use), fixtures,
//! scratch directories, and running a command with a time limit so a hang
//! fails the test instead of stalling CI.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// A file under `fixtures/`.
pub fn fixture(rel: &str) -> PathBuf {
    let p = root().join("fixtures").join(rel);
    assert!(p.exists(), "missing fixture {}", p.display());
    p
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Builds the workspace binaries once per test process (a no-op when they
/// are up to date), so the tests always run what the sources say.
fn built() -> &'static PathBuf {
    static BIN_DIR: OnceLock<PathBuf> = OnceLock::new();
    BIN_DIR.get_or_init(|| {
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "-q", "-p", "emu", "-p", "rrtool", "--bins"]);
        if cfg!(feature = "user-net") {
            build.args(["--features", "emu/user-net"]);
        }
        let status = build.current_dir(root()).status().expect("run cargo build");
        assert!(status.success(), "building emu and rrtool failed");
        target_dir().join("debug")
    })
}

pub fn emu() -> PathBuf {
    built().join("emu")
}

pub fn rrtool() -> PathBuf {
    built().join("rrtool")
}

/// A scratch directory, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = target_dir()
            .join("e2e-scratch")
            .join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create scratch dir");
        Scratch(dir)
    }
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    /// Writes `text` to a file in the directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, text).expect("write scratch file");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a finished command produced.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "command failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
    /// The value of a `key: value` line on stderr (emu's `--digest` lines).
    pub fn stderr_value(&self, key: &str) -> String {
        let prefix = format!("{key}: ");
        self.stderr
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no `{key}:` line in stderr:\n{}", self.stderr))
            .to_string()
    }
}

/// Runs `program args` with no stdin, killing it after `limit`.
pub fn run(program: &Path, args: &[&str], limit: Duration) -> Run {
    let start = Instant::now();
    let child = Command::new(program)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(limit).is_err() {
            // Still running: kill it so the test fails instead of hanging.
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    });
    let out: Output = child.wait_with_output().expect("wait for child");
    let _ = done_tx.send(());
    let _ = watchdog.join();
    let elapsed = start.elapsed();
    assert!(
        elapsed < limit,
        "{} {:?} did not finish within {limit:?}",
        program.display(),
        args
    );
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed,
    }
}

/// Whether tests must fail rather than skip when a tool is missing (CI).
pub fn tools_required() -> bool {
    std::env::var_os("RR_REQUIRE_TOOLS").is_some()
}

/// A path as a command-line argument.
pub fn arg(p: &Path) -> String {
    p.display().to_string()
}

/// Runs emu with owned arguments, bounded by `limit`.
pub fn emu_with(args: &[String], limit: Duration) -> Run {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    run(&emu(), &argv, limit)
}

/// `emu replay --log LOG --serial file:SERIAL --digest EXTRA... MACHINE`.
pub fn replay_args(
    log: &Path,
    serial: &Path,
    extra: &[String],
    machine: Vec<String>,
) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "replay".into(),
        "--log".into(),
        arg(log),
        "--serial".into(),
        format!("file:{}", arg(serial)),
        "--digest".into(),
    ];
    args.extend(extra.iter().cloned());
    args.extend(machine);
    args
}

/// `emu cut --log LOG --from FROM --to TO -o OUT --serial null --digest MACHINE`.
pub fn cut_args(
    log: &Path,
    (from, to): (u64, u64),
    out: &Path,
    machine: Vec<String>,
) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "cut".into(),
        "--log".into(),
        arg(log),
        "--from".into(),
        from.to_string(),
        "--to".into(),
        to.to_string(),
        "-o".into(),
        arg(out),
        "--serial".into(),
        "null".into(),
        "--digest".into(),
    ];
    args.extend(machine);
    args
}
