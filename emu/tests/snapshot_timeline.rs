//! Snapshots on real guests: record a session, then replay it with a
//! [`Timeline`] and check that restoring snapshots and replaying forward
//! reaches exactly the states a straight replay reaches (icount, state
//! digest, console hash).

mod boot_support;

use std::path::{Path, PathBuf};

use clap::Parser;
use emu::cli::{run_with, Cli, Command, RunArgs};
use emu::machine::Outcome;
use emu::replay::session::RrMode;
use emu::snapshot::cli_ops::replay_machine;
use emu::snapshot::{SnapshotBudget, Timeline};

use boot_support::fixture;

struct Recording {
    dir: PathBuf,
    log: PathBuf,
    args: RunArgs,
}

impl Drop for Recording {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn run_args(machine: &[String], serial: &Path, script: Option<&Path>) -> RunArgs {
    let mut argv: Vec<String> = ["emu", "run", "--serial"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    argv.push(format!("file:{}", serial.display()));
    if let Some(s) = script {
        argv.push("--serial-script".into());
        argv.push(s.display().to_string());
    }
    argv.extend(machine.iter().cloned());
    match Cli::parse_from(argv).command {
        Command::Run(a) => a,
        _ => unreachable!("parsed a run command"),
    }
}

/// Records `machine` while `script` types.
fn record(name: &str, machine: &[String], script: &str) -> Recording {
    let dir = std::env::temp_dir().join(format!("emu-snap-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("rec.bin");
    let args = run_args(
        machine,
        &dir.join("record.txt"),
        Some(&fixture(&format!("scripts/{script}"))),
    );
    run_with(
        &args,
        &RrMode::Record {
            log: log.clone(),
            legacy: false,
            force: true,
        },
    )
    .expect("recording");
    let args = run_args(machine, &dir.join("replay.txt"), None);
    Recording { dir, log, args }
}

fn linux() -> Vec<String> {
    [
        "--cpu".to_string(),
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
        "console=ttyS0 earlycon=sbi ask".into(),
    ]
    .to_vec()
}

fn uboot_reset() -> Vec<String> {
    [
        "--cpu".to_string(),
        "mincpu".into(),
        "--bios".into(),
        fixture("guest/u-boot-2023.01-qemu-riscv64-mmode.bin")
            .display()
            .to_string(),
    ]
    .to_vec()
}

/// A tiny deterministic generator for the property test.
struct XorShift(u64);
impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct Straight {
    end_icount: u64,
    end_digest: u64,
    end_hash: String,
    outcome: Outcome,
    /// (icount, digest) at the probe points, ascending.
    probes: Vec<(u64, u64)>,
}

/// A straight replay from power-on, stopping at each probe on the way.
fn straight(rec: &Recording, probes: &[u64]) -> Straight {
    let mut s = replay_machine(&rec.args, &rec.log, false, Some(Box::new(std::io::sink())))
        .expect("replay machine");
    let mut sorted = probes.to_vec();
    sorted.sort_unstable();
    let mut out = Vec::new();
    for &p in &sorted {
        assert!(
            s.machine.run_until(p).expect("replay").is_none(),
            "ended before {p}"
        );
        assert_eq!(s.machine.icount(), p);
        out.push((p, s.machine.digest()));
    }
    let outcome = s.machine.run().expect("replay to the end");
    Straight {
        end_icount: s.machine.icount(),
        end_digest: s.machine.digest(),
        end_hash: s.serial_hash.hex(),
        outcome,
        probes: out,
    }
}

fn timeline(rec: &Recording, interval: u64) -> (Timeline, emu::replay::session::OutputHash) {
    timeline_in(rec, interval, 256 << 20)
}

fn timeline_in(
    rec: &Recording,
    interval: u64,
    bytes: usize,
) -> (Timeline, emu::replay::session::OutputHash) {
    let s = replay_machine(&rec.args, &rec.log, false, Some(Box::new(std::io::sink())))
        .expect("replay machine");
    let budget = SnapshotBudget { bytes, interval };
    let mut t = Timeline::try_new(s.machine, budget).expect("timeline");
    t.track(Box::new(s.serial_hash.clone()));
    (t, s.serial_hash)
}

/// Runs the timeline to the end of the recording and checks the end state.
fn run_to_end(t: &mut Timeline, hash: &emu::replay::session::OutputHash, want: &Straight) {
    let o = t.run_until(u64::MAX).expect("timeline replay");
    assert_eq!(o, Some(want.outcome));
    assert_eq!(t.icount(), want.end_icount, "end icount");
    assert_eq!(t.machine().digest(), want.end_digest, "end digest");
    assert_eq!(hash.hex(), want.end_hash, "console hash");
}

/// Restore several snapshots, replay each to the end: same icount,
/// digest and console hash as the uninterrupted replay. Then seek to
/// random icounts in random order and compare with the straight replay.
fn check_guest(rec: &Recording, interval: u64, seed: u64) {
    let (mut t, hash) = timeline(rec, interval);
    // First pass: learn the length and take the snapshots.
    let o = t.run_until(u64::MAX).expect("first pass");
    assert!(o.is_some());
    let end = t.icount();
    let mut rng = XorShift(seed);
    let probes: Vec<u64> = (0..12).map(|_| 1 + rng.next() % (end - 1)).collect();
    let want = straight(rec, &probes);
    assert_eq!(want.end_icount, end);
    assert_eq!(t.machine().digest(), want.end_digest);
    assert_eq!(hash.hex(), want.end_hash);
    let snaps = t.snapshots();
    assert!(snaps.len() >= 4, "too few snapshots: {snaps:?}");
    // Several snapshots, each replayed to the end.
    for &i in &[snaps.len() / 3, 1, snaps.len() - 1, 2 * snaps.len() / 3] {
        let at = snaps[i].icount;
        t.seek(at).expect("seek to a snapshot");
        assert_eq!(t.icount(), at);
        run_to_end(&mut t, &hash, &want);
    }
    // Random seeks in random order, backwards and forwards.
    for &(icount, digest) in want
        .probes
        .iter()
        .rev()
        .step_by(2)
        .chain(want.probes.iter().step_by(2))
    {
        t.seek(icount).expect("seek");
        assert_eq!(t.icount(), icount);
        assert_eq!(t.machine().digest(), digest, "digest at icount {icount}");
    }
    let mut order: Vec<usize> = (0..want.probes.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    for i in order {
        let (icount, digest) = want.probes[i];
        t.seek(icount).expect("seek");
        assert_eq!(t.machine().digest(), digest, "digest at icount {icount}");
    }
    assert!(t.snapshot_before(end).is_some());
    assert!(t.memory_used() > 0);
    run_to_end(&mut t, &hash, &want);
}

#[test]
fn linux_snapshots_restore_to_the_same_states() {
    let rec = record("linux", &linux(), "linux-tiny.script");
    check_guest(&rec, 3_000_000, 0x5eed_1234);
}

#[test]
fn uboot_reset_snapshots_restore_to_the_same_states() {
    let rec = record("uboot", &uboot_reset(), "uboot-mmode-reset.script");
    check_guest(&rec, 2_000_000, 0xfeed_beef);
}

#[test]
fn a_small_budget_thins_snapshots_and_stays_correct() {
    let rec = record("thin", &linux(), "linux-tiny.script");
    let (base, _) = timeline_in(&rec, 500_000, 256 << 20);
    let base_bytes = base.memory_used();
    drop(base);
    // Room for the base and a few megabytes of deltas: thinning must happen.
    let budget = base_bytes + (6 << 20);
    let (mut t, _hash) = timeline_in(&rec, 500_000, budget);
    let o = t.run_until(u64::MAX).expect("first pass");
    assert!(o.is_some());
    let end = t.icount();
    let infos = t.snapshots();
    eprintln!(
        "{} snapshots, {} bytes (budget {budget}), interval {}",
        infos.len(),
        t.memory_used(),
        t.interval()
    );
    assert!(t.memory_used() <= budget, "over budget");
    assert!(t.interval() > 500_000, "never thinned");
    assert!(infos.len() >= 3, "{infos:?}");
    // Logarithmic spread: gaps do not shrink going back in time.
    let gaps: Vec<u64> = infos
        .windows(2)
        .map(|w| w[1].icount - w[0].icount)
        .collect();
    let probes = [end / 7, end / 2, end - 1000, 3 * end / 4];
    let want = straight(&rec, &probes);
    for &(icount, digest) in want.probes.iter().rev() {
        t.seek(icount).unwrap();
        assert_eq!(
            t.machine().digest(),
            digest,
            "icount {icount} (gaps {gaps:?})"
        );
    }
}

fn uboot_disk() -> Vec<String> {
    [
        "--bios".to_string(),
        fixture("guest/opensbi-1.5.1-fw_dynamic.bin")
            .display()
            .to_string(),
        "--kernel".into(),
        fixture("guest/u-boot-2023.01-qemu-riscv64_smode.bin")
            .display()
            .to_string(),
        "--drive".into(),
        fixture("inputs/rr-disk.img").display().to_string(),
    ]
    .to_vec()
}

/// The icounts at which the log delivers a disk completion.
fn block_completions(log: &Path) -> Vec<u64> {
    let bytes = std::fs::read(log).unwrap();
    let reader = logfmt::Reader::new(&bytes).unwrap();
    reader
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
        .collect()
}

/// Requests the virtio-blk device has handed to the disk thread and not
/// yet seen completed.
fn blk_in_flight(m: &emu::machine::Machine) -> usize {
    m.board
        .save_state()
        .unwrap()
        .virtio
        .iter()
        .filter_map(|v| match &v.device {
            Some(emu::devices::virtio::DeviceState::Blk(b)) => Some(b.in_flight.len()),
            _ => None,
        })
        .sum()
}

/// A replay from power-on stopping at each probe: the digest and the
/// drive's state (overlay and completions in flight) there.
fn straight_disk(rec: &Recording, probes: &[u64]) -> Vec<(u64, u64, emu::host::disk::DiskState)> {
    let mut s = replay_machine(&rec.args, &rec.log, false, Some(Box::new(std::io::sink())))
        .expect("replay machine");
    let mut out = Vec::new();
    for &p in probes {
        assert!(s.machine.run_until(p).expect("replay").is_none());
        let disk = s.machine.save_state().unwrap().disk.expect("a drive");
        out.push((p, s.machine.digest(), disk));
    }
    out
}

/// U-Boot reads a FAT disk and writes a file to it (fatwrite), then lists
/// it again. Snapshots taken while requests are in flight and after the
/// write, restored backwards and forwards, give the states of a straight
/// replay: digest, overlay, completions in flight; and the console and end
/// state over the whole run.
#[test]
fn disk_snapshots_restore_to_the_same_states() {
    let rec = record("disk", &uboot_disk(), "uboot-smode-disk.script");
    let done = block_completions(&rec.log);
    assert!(done.len() >= 8, "{} disk completions", done.len());
    // Just before a completion is delivered, its request is in flight:
    // a spread of them, from the reads at the start to the write's.
    let step = done.len() / 8;
    let in_flight: Vec<u64> = done.iter().step_by(step).map(|&i| i - 1).collect();
    let (mut t, hash) = timeline(&rec, 5_000_000);
    for &p in &in_flight {
        assert!(t.run_until(p).unwrap().is_none());
        assert!(blk_in_flight(t.machine()) > 0, "nothing in flight at {p}");
        t.snapshot_now().unwrap();
    }
    let o = t.run_until(u64::MAX).expect("first pass");
    assert!(o.is_some());
    let end = t.icount();
    let last = *done.last().unwrap();
    // Right after the snapshots in flight (the completion is delivered
    // from the saved ones), after the last disk write, and between.
    let mut probes: Vec<u64> = in_flight.iter().flat_map(|&p| [p + 1, p + 2_000]).collect();
    probes.extend([
        last + 10,
        (last + end) / 2,
        end - 1,
        done[done.len() / 2] + 1,
    ]);
    probes.sort_unstable();
    probes.dedup();
    let want = straight_disk(&rec, &probes);
    let plain = straight(&rec, &[]);
    assert_eq!(plain.end_icount, end);
    let after_write = want.iter().find(|w| w.0 > last).unwrap();
    assert!(!after_write.2.overlay.is_empty(), "fatwrite wrote nothing");
    let check = |t: &mut Timeline,
                 (icount, digest, disk): &(u64, u64, emu::host::disk::DiskState)| {
        t.seek(*icount).expect("seek");
        assert_eq!(t.icount(), *icount);
        assert_eq!(t.machine().digest(), *digest, "digest at icount {icount}");
        let now = t.machine_mut().save_state().unwrap().disk.unwrap();
        assert_eq!(&now, disk, "drive at icount {icount}");
    };
    // Backwards, then forwards, then in a scrambled order.
    for w in want.iter().rev() {
        check(&mut t, w);
    }
    for w in want.iter().step_by(2) {
        check(&mut t, w);
    }
    let mut rng = XorShift(0xd15c);
    let mut order: Vec<usize> = (0..want.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
    }
    for i in order {
        check(&mut t, &want[i]);
    }
    // From each in-flight snapshot straight to the end.
    for &p in in_flight.iter().rev().step_by(3) {
        t.seek(p).unwrap();
        run_to_end(&mut t, &hash, &plain);
    }
    let bytes: usize = t.snapshots().iter().map(|s| s.bytes).sum();
    assert_eq!(bytes, t.memory_used());
}
