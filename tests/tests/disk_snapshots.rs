//! Snapshot files, cuts and going live on a machine with a virtio-blk
//! drive, end to end with the built binaries: OpenSBI and S-mode U-Boot
//! read a FAT image, write a file to it (fatwrite) and list it again.
//! Snapshots are taken where a disk request is in flight (just before the
//! log delivers its completion), so the saved completions matter.

use std::path::{Path, PathBuf};
use std::time::Duration;

use e2e::{arg, cut_args, emu_with, fixture, replay_args, rrtool, run, Run, Scratch};

const LIMIT: Duration = Duration::from_secs(240);

fn s(p: &Path) -> String {
    arg(p)
}

fn machine(drive: &Path) -> Vec<String> {
    vec![
        "--bios".into(),
        s(&fixture("guest/opensbi-1.5.1-fw_dynamic.bin")),
        "--kernel".into(),
        s(&fixture("guest/u-boot-2023.01-qemu-riscv64_smode.bin")),
        "--drive".into(),
        s(drive),
    ]
}

fn disk() -> PathBuf {
    fixture("inputs/rr-disk.img")
}

fn emu_run(args: &[String]) -> Run {
    emu_with(args, LIMIT)
}

struct Recorded {
    dir: Scratch,
    log: PathBuf,
    /// Icounts at which the log delivers a disk completion.
    completions: Vec<u64>,
}

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
        s(&fixture("scripts/uboot-smode-disk.script")),
        "--digest".into(),
    ];
    args.extend(machine(&disk()));
    emu_run(&args).ok();
    let bytes = std::fs::read(&log).unwrap();
    let completions = logfmt::Reader::new(&bytes)
        .unwrap()
        .filter_map(|r| {
            let r = r.unwrap();
            matches!(
                r.event,
                logfmt::Event::Async {
                    event: logfmt::AsyncEvent::Block { .. },
                    ..
                }
            )
            .then_some(r.icount.0)
        })
        .collect::<Vec<_>>();
    assert!(completions.len() >= 8, "{completions:?}");
    Recorded {
        dir,
        log,
        completions,
    }
}

/// `emu replay --log LOG --serial file:SERIAL --digest EXTRA... MACHINE`.
fn replay(log: &Path, serial: &Path, extra: &[String], drive: &Path) -> Run {
    emu_run(&replay_args(log, serial, extra, machine(drive)))
}

/// A snapshot of `rec` at `at`; the digest a replay has there.
fn snapshot_at(rec: &Recorded, at: u64, out: &Path, serial: &Path) -> String {
    let r = replay(
        &rec.log,
        serial,
        &["--snapshot-at".into(), at.to_string(), "-o".into(), s(out)],
        &disk(),
    );
    r.ok();
    assert_eq!(r.stderr_value("icount"), at.to_string());
    r.stderr_value("state-digest")
}

#[test]
fn a_snapshot_with_a_request_in_flight_resumes_exactly() {
    let rec = record("disksnap-file");
    // After fatwrite: the overlay holds the new file; a read is in flight.
    let at = rec.completions[rec.completions.len() - 2] - 1;
    let snap = rec.dir.path("mid.snap");
    snapshot_at(&rec, at, &snap, &rec.dir.path("snap.txt"));
    let text = String::from_utf8_lossy(&std::fs::read(&snap).unwrap()).into_owned();
    assert!(
        text.contains("disk.pending = 1\n"),
        "no completion in flight"
    );
    assert!(!text.contains("disk.sectors = 0\n"), "nothing written");
    let straight = replay(&rec.log, &rec.dir.path("straight.txt"), &[], &disk());
    straight.ok();
    let from = replay(
        &rec.log,
        &rec.dir.path("from.txt"),
        &["--from-snapshot".into(), s(&snap)],
        &disk(),
    );
    from.ok();
    assert_eq!(from.stderr_value("icount"), straight.stderr_value("icount"));
    assert_eq!(
        from.stderr_value("state-digest"),
        straight.stderr_value("state-digest")
    );
    let all = std::fs::read(rec.dir.path("straight.txt")).unwrap();
    let tail = std::fs::read(rec.dir.path("from.txt")).unwrap();
    assert!(!tail.is_empty() && all.ends_with(&tail));

    // The same snapshot over another image (one byte differs) is refused,
    // by the drive's sha256, before anything runs.
    let other = rec.dir.path("other.img");
    let mut img = std::fs::read(disk()).unwrap();
    img[1000] ^= 1;
    std::fs::write(&other, img).unwrap();
    let r = replay(
        &rec.log,
        &rec.dir.path("other.txt"),
        &["--from-snapshot".into(), s(&snap), "--ignore-config".into()],
        &other,
    );
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains(&s(&snap))
            && r.stderr.contains("taken on a different machine")
            && r.stderr.contains("drive"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("state-digest"), "it ran:\n{}", r.stderr);
}

#[test]
fn snapshots_refuse_a_drive_that_writes_its_image() {
    let rec = record("disksnap-off");
    let img = rec.dir.path("disk.img");
    std::fs::copy(disk(), &img).unwrap();
    let drive = PathBuf::from(format!("{},snapshot=off", s(&img)));
    let at = rec.completions[2] - 1;
    let r = replay(
        &rec.log,
        &rec.dir.path("off.txt"),
        &[
            "--snapshot-at".into(),
            at.to_string(),
            "-o".into(),
            s(&rec.dir.path("off.snap")),
        ],
        &drive,
    );
    assert!(r.code.is_some_and(|c| c != 0), "{}", r.stderr);
    assert!(r.stderr.contains("snapshot=off"), "{}", r.stderr);
}

#[test]
fn a_cut_across_disk_writes_replays_alone_to_the_originals_state() {
    let rec = record("disksnap-cut");
    let c = &rec.completions;
    // From a request in flight in the first half, to past the last read.
    let (from, to) = (c[c.len() / 3] - 1, c[c.len() - 1] + 1_000);
    let at_to = rec.dir.path("to.txt");
    let want = snapshot_at(&rec, to, &rec.dir.path("to.snap"), &at_to);
    let cut = rec.dir.path("part.bin");
    let r = emu_run(&cut_args(&rec.log, (from, to), &cut, machine(&disk())));
    r.ok();
    assert_eq!(r.stderr_value("state-digest"), want);
    run(&rrtool(), &["validate", &s(&cut)], LIMIT).ok();
    let snap = std::fs::read(rec.dir.path("part.bin.snap")).unwrap();
    assert!(String::from_utf8_lossy(&snap).contains("disk.pending = 1\n"));
    // Replayed alone: the state and console output up to `to`.
    std::fs::remove_file(&rec.log).unwrap();
    let cut_txt = rec.dir.path("cut.txt");
    let r = replay(&cut, &cut_txt, &[], &disk());
    r.ok();
    assert_eq!(r.stderr_value("icount"), to.to_string());
    assert_eq!(r.stderr_value("state-digest"), want);
    let all = std::fs::read(&at_to).unwrap();
    let tail = std::fs::read(&cut_txt).unwrap();
    let shown = String::from_utf8_lossy(&tail);
    assert!(shown.contains("bytes written"), "{shown}");
    assert!(all.ends_with(&tail), "the cut printed other text");
}

#[test]
fn going_live_with_a_request_in_flight_writes_on_and_replays_alone() {
    let rec = record("disksnap-live");
    // Inside the last `ls` (its two reads are the last completions), after
    // fatwrite, the first read in flight: its completion must reach the
    // live guest, which then writes another file next to copy.txt.
    let at = rec.completions[rec.completions.len() - 2] - 1;
    // The recording typed `poweroff` during that `ls`: its first keys may
    // be in the UART already. Backspaces erase them first.
    let script = rec.dir.write(
        "live.script",
        "expect 3 file(s)\nexpect => \nsendraw \\x08\\x08\\x08\\x08\\x08\\x08\\x08\\x08\n\
         send fatwrite virtio 0 ${kernel_addr_r} live.txt 10\n\
         expect bytes written\nexpect => \nsend ls virtio 0\nexpect => \nsend poweroff\n",
    );
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
        &disk(),
    );
    live.ok();
    let live_out = String::from_utf8_lossy(&std::fs::read(&live_txt).unwrap()).into_owned();
    assert!(
        live_out.contains("16   live.txt") && live_out.contains("4 file(s)"),
        "{live_out}"
    );
    run(&rrtool(), &["validate", &s(&new)], LIMIT).ok();
    let again_txt = rec.dir.path("again.txt");
    let again = replay(&new, &again_txt, &[], &disk());
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
