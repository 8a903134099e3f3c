//! Snapshot files, cuts and going live, end to end with the built
//! binaries on the tiny Linux guest: `emu replay --snapshot-at`, every
//! kind of damaged or foreign snapshot refused by name, `emu cut` checked
//! by `rrtool validate` and by replaying it alone, and `emu replay
//! --live-at --record-to` replayed from its own recording.

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::{arg, cut_args, emu_with, fixture, replay_args, rrtool, run, Run, Scratch};

const LIMIT: Duration = Duration::from_secs(240);

fn machine(append: &str) -> Vec<String> {
    vec![
        "--cpu".into(),
        "mincpu".into(),
        "--bios".into(),
        fixture("guest/opensbi-1.5.1-fw_dynamic.bin")
            .display()
            .to_string(),
        "--kernel".into(),
        fixture("guest/linux-6.1.192-tiny-Image")
            .display()
            .to_string(),
        "--append".into(),
        append.into(),
    ]
}

const APPEND: &str = "console=ttyS0 earlycon=sbi ask";

fn emu_run(args: &[String]) -> Run {
    emu_with(args, LIMIT)
}

fn s(p: &Path) -> String {
    arg(p)
}

struct Recorded {
    dir: Scratch,
    log: PathBuf,
    end_icount: u64,
}

/// Records the tiny Linux guest typing a line.
fn record(name: &str) -> Recorded {
    let dir = Scratch::new(name);
    let log = dir.path("rec.bin");
    let mut args: Vec<String> = vec![
        "record".into(),
        "--log".into(),
        s(&log),
        "--serial".into(),
        format!("file:{}", s(&dir.path("rec.txt"))),
        "--serial-script".into(),
        s(&fixture("scripts/linux-tiny.script")),
        "--digest".into(),
    ];
    args.extend(machine(APPEND));
    let r = emu_run(&args);
    r.ok();
    let end_icount = r.stderr_value("icount").parse().unwrap();
    Recorded {
        dir,
        log,
        end_icount,
    }
}

/// `emu replay --log LOG EXTRA... MACHINE --serial file:SERIAL --digest`.
fn replay(log: &Path, serial: &Path, extra: &[String], append: &str) -> Run {
    emu_run(&replay_args(log, serial, extra, machine(append)))
}

/// A snapshot of `rec` at `at`, with the digest a replay has there.
fn snapshot_at(rec: &Recorded, at: u64, out: &Path) -> String {
    let r = replay(
        &rec.log,
        &rec.dir.path("snap.txt"),
        &["--snapshot-at".into(), at.to_string(), "-o".into(), s(out)],
        APPEND,
    );
    r.ok();
    assert_eq!(r.stderr_value("icount"), at.to_string());
    r.stderr_value("state-digest")
}

/// Replays `log` from snapshot `snap` and expects a refusal naming `snap`
/// and containing `what`; nothing may run.
fn refused(rec: &Recorded, snap: &Path, what: &str, extra: &[&str], append: &str) {
    let mut args: Vec<String> = vec!["--from-snapshot".into(), s(snap)];
    args.extend(extra.iter().map(|a| a.to_string()));
    let r = replay(&rec.log, &rec.dir.path("refused.txt"), &args, append);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(&s(snap)) && r.stderr.contains(what),
        "expected `{what}` naming {}:\n{}",
        snap.display(),
        r.stderr
    );
    assert!(!r.stderr.contains("state-digest"), "it ran:\n{}", r.stderr);
}

#[test]
fn snapshot_file_resumes_the_replay_exactly() {
    let rec = record("snapfile");
    let at = rec.end_icount / 2;
    let snap = rec.dir.path("mid.snap");
    snapshot_at(&rec, at, &snap);
    let straight = replay(&rec.log, &rec.dir.path("straight.txt"), &[], APPEND);
    straight.ok();
    let from = replay(
        &rec.log,
        &rec.dir.path("from.txt"),
        &["--from-snapshot".into(), s(&snap)],
        APPEND,
    );
    from.ok();
    assert_eq!(from.stderr_value("icount"), straight.stderr_value("icount"));
    assert_eq!(
        from.stderr_value("state-digest"),
        straight.stderr_value("state-digest")
    );
    // The output after the snapshot is the end of the straight replay's.
    let all = std::fs::read(rec.dir.path("straight.txt")).unwrap();
    let tail = std::fs::read(rec.dir.path("from.txt")).unwrap();
    assert!(!tail.is_empty() && all.ends_with(&tail));
}

#[test]
fn damaged_foreign_and_mismatched_snapshots_are_refused_by_name() {
    let rec = record("snapdamage");
    let at = rec.end_icount / 3;
    let good = rec.dir.path("good.snap");
    snapshot_at(&rec, at, &good);
    let bytes = std::fs::read(&good).unwrap();
    let bad = rec.dir.path("bad.snap");
    // Flipped bytes: in the magic, the version, the section table, the
    // metadata, the device state, RAM, and the checksum itself.
    let meta_at = 16 + 12;
    let positions = [
        0,
        7,
        8,
        12,
        16,
        20,
        meta_at + 3,
        meta_at + 40,
        bytes.len() / 2,
        bytes.len() - 33,
        bytes.len() - 1,
    ];
    for &p in &positions {
        let mut b = bytes.clone();
        b[p] ^= 0x01;
        std::fs::write(&bad, &b).unwrap();
        let what = match p {
            0..8 => "not an emu snapshot",
            // 2 becomes 3: a newer format's number, not damage.
            8 => "format version 3",
            _ => "damaged",
        };
        refused(&rec, &bad, what, &[], APPEND);
    }
    // Truncated anywhere.
    for len in [0, 5, 8, 40, bytes.len() / 2, bytes.len() - 1] {
        std::fs::write(&bad, &bytes[..len]).unwrap();
        let what = if len < 8 {
            "not an emu snapshot"
        } else if len < 48 {
            "truncated"
        } else {
            "damaged"
        };
        refused(&rec, &bad, what, &[], APPEND);
    }
    // Foreign files: the log itself, a text file.
    refused(&rec, &rec.log, "not an emu snapshot", &[], APPEND);
    let text = rec
        .dir
        .write("notes.snap", "just some text, no snapshot here\n");
    refused(&rec, &text, "not an emu snapshot", &[], APPEND);
    // A missing file.
    refused(
        &rec,
        &rec.dir.path("absent.snap"),
        "cannot read",
        &[],
        APPEND,
    );
    // Another machine (kernel command line), past the side-file check.
    refused(
        &rec,
        &good,
        "taken on a different machine",
        &["--ignore-config"],
        "console=ttyS0 earlycon=sbi",
    );
    // Another recording: the snapshot a cut starts from names its own log.
    let cut = rec.dir.path("cut.bin");
    let mut args: Vec<String> = vec![
        "cut".into(),
        "--log".into(),
        s(&rec.log),
        "--from".into(),
        at.to_string(),
        "--to".into(),
        (at + 1_000_000).to_string(),
        "-o".into(),
        s(&cut),
        "--serial".into(),
        "null".into(),
    ];
    args.extend(machine(APPEND));
    emu_run(&args).ok();
    refused(
        &rec,
        &rec.dir.path("cut.bin.snap"),
        "does not belong to this recording",
        &[],
        APPEND,
    );
    // The good file still loads.
    let r = replay(
        &rec.log,
        &rec.dir.path("good.txt"),
        &["--from-snapshot".into(), s(&good)],
        APPEND,
    );
    r.ok();
    assert!(!std::fs::read_dir(rec.dir.path("")).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".tmp-")));
}

#[test]
fn a_cut_replays_alone_to_the_originals_state() {
    let rec = record("cut");
    let (from, to) = (rec.end_icount / 4, 3 * rec.end_icount / 4);
    let want = snapshot_at(&rec, to, &rec.dir.path("at-to.snap"));
    let cut = rec.dir.path("part.bin");
    let args = cut_args(&rec.log, (from, to), &cut, machine(APPEND));
    let r = emu_run(&args);
    r.ok();
    assert_eq!(r.stderr_value("state-digest"), want);
    // A valid log on its own, with its side file and snapshot beside it.
    let v = run(&rrtool(), &["validate", &s(&cut)], LIMIT);
    v.ok();
    assert!(v.stdout.contains("valid"), "{}", v.stdout);
    let stats = run(&rrtool(), &["stats", &s(&cut)], LIMIT);
    stats.ok();
    assert!(stats.stdout.contains("CP_INIT"), "{}", stats.stdout);
    // rrtool shows what the cut contains.
    let shown = run(&rrtool(), &["cut", &s(&cut)], LIMIT);
    shown.ok();
    assert!(
        shown.stdout.contains(&format!("icount {from}..{to}"))
            && shown.stdout.contains("starts from:")
            && shown.stdout.contains(&format!("icount:      {from}")),
        "{}",
        shown.stdout
    );
    run(&rrtool(), &["dump", &s(&cut)], LIMIT).ok();
    let side = std::fs::read_to_string(rec.dir.path("part.bin.machine")).unwrap();
    assert!(side.contains("start.snapshot = part.bin.snap"), "{side}");
    assert!(side.contains(&format!("start.icount = {from}")), "{side}");
    // Replayed alone (the original log is gone): the state at `to`.
    std::fs::remove_file(&rec.log).unwrap();
    let r = replay(&cut, &rec.dir.path("cut.txt"), &[], APPEND);
    r.ok();
    assert_eq!(r.stderr_value("icount"), to.to_string());
    assert_eq!(r.stderr_value("state-digest"), want);
    // Bad ranges are refused.
    let mut bad = args.clone();
    let i = bad.iter().position(|a| a == "--to").unwrap();
    bad[i + 1] = from.to_string();
    let r = emu_run(&bad);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
}

#[test]
fn going_live_records_a_continuation_that_replays_alone() {
    let rec = record("live");
    // Before the guest asks for its line: the live run types another one.
    let at = rec.end_icount / 4;
    let script = rec
        .dir
        .write("live.script", "expect Type a line:\nsend live words\n");
    let new = rec.dir.path("new.bin");
    let live_txt = rec.dir.path("live.txt");
    let live = replay(
        &rec.log,
        &live_txt,
        &[
            "--live-at".into(),
            at.to_string(),
            "--record-to".into(),
            s(&new),
            "--serial-script".into(),
            s(&script),
        ],
        APPEND,
    );
    live.ok();
    let live_out = String::from_utf8_lossy(&std::fs::read(&live_txt).unwrap()).into_owned();
    assert!(live_out.contains("init read: live words"), "{live_out}");
    run(&rrtool(), &["validate", &s(&new)], LIMIT).ok();
    let again_txt = rec.dir.path("again.txt");
    let again = replay(&new, &again_txt, &[], APPEND);
    again.ok();
    assert_eq!(again.stderr_value("icount"), live.stderr_value("icount"));
    assert_eq!(
        again.stderr_value("state-digest"),
        live.stderr_value("state-digest")
    );
    let again_out = std::fs::read(&again_txt).unwrap();
    assert!(
        live_out.as_bytes().ends_with(&again_out) && !again_out.is_empty(),
        "the replay printed other text than the live continuation"
    );
}
