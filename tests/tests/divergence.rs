//! Tampered logs and wrong machines: every replay that cannot reproduce
//! its recording stops within seconds with a report that names the event
//! index, byte offset and icount, and exits non-zero (3 = divergence).

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::{emu, fixture, rrtool, run, Run, Scratch};
use logfmt::{AsyncEvent, Event, MappedLog};

const LIMIT: Duration = Duration::from_secs(120);
/// "Within seconds": a divergent replay of the demo must stop this fast.
const PROMPT: Duration = Duration::from_secs(20);

/// Records the demo guest with typed input; returns (dir, log, digest).
fn record_demo(name: &str, legacy: bool) -> (Scratch, PathBuf, String) {
    let dir = Scratch::new(name);
    let log = dir.path("demo.bin");
    let script = fixture("scripts/demo.script").display().to_string();
    let log_s = log.display().to_string();
    let mut argv = vec![
        "record",
        "--log",
        &log_s,
        "--serial",
        "null",
        "--serial-script",
        &script,
        "--digest",
    ];
    if legacy {
        argv.push("--legacy");
    }
    let r = run(&emu(), &argv, LIMIT);
    r.ok();
    let digest = r.stderr_value("state-digest");
    (dir, log, digest)
}

fn replay(log: &Path, extra: &[&str]) -> Run {
    let log_s = log.display().to_string();
    let mut argv = vec!["replay", "--log", &log_s, "--serial", "null", "--digest"];
    argv.extend_from_slice(extra);
    run(&emu(), &argv, LIMIT)
}

/// A copy of `log` (with its machine side file) whose bytes `edit` changed.
fn tampered(dir: &Scratch, log: &Path, name: &str, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let mut bytes = std::fs::read(log).unwrap();
    edit(&mut bytes);
    let out = dir.path(name);
    std::fs::write(&out, bytes).unwrap();
    copy_machine_file(log, &out);
    out
}

/// Gives `to` the machine side file (`LOG.machine`) of the log `from`.
fn copy_machine_file(from: &Path, to: &Path) {
    let side = |p: &Path| {
        let mut s = p.as_os_str().to_owned();
        s.push(".machine");
        PathBuf::from(s)
    };
    std::fs::copy(side(from), side(to)).unwrap();
}

/// (offset, len) of the first event that `pick` selects.
fn find_event(log: &Path, pick: impl Fn(&Event) -> bool) -> (usize, usize) {
    let mapped = MappedLog::open(log).unwrap();
    let rec = mapped
        .reader()
        .unwrap()
        .map(Result::unwrap)
        .find(|r| pick(&r.event))
        .expect("event present");
    (rec.offset.0 as usize, rec.len as usize)
}

fn assert_divergence(r: &Run) {
    assert_eq!(
        r.code,
        Some(3),
        "expected exit 3 (divergence)\nstderr:\n{}",
        r.stderr
    );
    assert!(r.elapsed < PROMPT, "took {:?}", r.elapsed);
}

fn assert_located(r: &Run) {
    for word in ["event", "byte offset", "icount"] {
        assert!(
            r.stderr.contains(word),
            "report lacks `{word}`:\n{}",
            r.stderr
        );
    }
}

#[test]
fn changed_serial_byte_is_reported() {
    let (dir, log, _) = record_demo("tamper-byte", false);
    // The first typed character: `h` of "hello" becomes `j`.
    let (off, len) = find_event(&log, |e| {
        matches!(
            e,
            Event::Async {
                event: AsyncEvent::CharRead { .. },
                ..
            }
        )
    });
    let bad = tampered(&dir, &log, "byte.bin", |b| b[off + len - 1] ^= 0x02);
    let r = replay(&bad, &[]);
    assert_divergence(&r);
    assert!(r.stderr.contains("serial-sha256: recorded"), "{}", r.stderr);
}

#[test]
fn removed_event_is_reported_with_its_position() {
    let (dir, log, _) = record_demo("tamper-remove", false);
    let (off, len) = find_event(&log, |e| matches!(e, Event::CharWrite { .. }));
    let bad = tampered(&dir, &log, "removed.bin", |b| {
        b.drain(off..off + len);
    });
    let r = replay(&bad, &[]);
    assert_divergence(&r);
    assert_located(&r);
}

#[test]
fn truncated_log_is_reported() {
    let (dir, log, _) = record_demo("tamper-truncate", false);
    let bad = tampered(&dir, &log, "cut.bin", |b| {
        let half = b.len() / 2;
        b.truncate(half)
    });
    let r = replay(&bad, &[]);
    assert_divergence(&r);
    assert_located(&r);
}

#[test]
fn different_memory_size_is_refused_before_running() {
    let (_dir, log, _) = record_demo("wrong-memory", false);
    let r = replay(&log, &["-m", "256M"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("memory: recorded 134217728, now 268435456"),
        "{}",
        r.stderr
    );
    assert!(r.elapsed < PROMPT);
    // Forced past the side file, the log itself shows the difference.
    let r = replay(&log, &["-m", "256M", "--ignore-config"]);
    assert_divergence(&r);
    assert!(r.stderr.contains("state-digest: recorded"), "{}", r.stderr);
}

#[test]
fn legacy_recording_upgraded_replays_to_the_same_state() {
    let (dir, log, digest) = record_demo("legacy", true);
    let head = std::fs::read(&log).unwrap();
    assert_eq!(
        &head[..4],
        &[0x00, 0xe0, 0x20, 0x0a],
        "legacy mode writes 0xe0200a"
    );
    let legacy = replay(&log, &[]);
    legacy.ok();
    assert_eq!(legacy.stderr_value("state-digest"), digest);

    let upgraded = dir.path("upgraded.bin");
    run(
        &rrtool(),
        &[
            "upgrade",
            &log.display().to_string(),
            "-o",
            &upgraded.display().to_string(),
        ],
        LIMIT,
    )
    .ok();
    run(
        &rrtool(),
        &["validate", &upgraded.display().to_string()],
        LIMIT,
    )
    .ok();
    copy_machine_file(&log, &upgraded);
    let r = replay(&upgraded, &[]);
    r.ok();
    assert_eq!(r.stderr_value("state-digest"), digest);
    // And rrtool sees the two logs as the same recording.
    run(
        &rrtool(),
        &[
            "diff",
            &log.display().to_string(),
            &upgraded.display().to_string(),
        ],
        LIMIT,
    )
    .ok();
}
