//! End-to-end tests of the `rrtool` binary on the real QEMU logs in
//! `fixtures/`, plus damaged copies of them.
//!
//! Golden outputs live in `tests/golden/`; `RRTOOL_BLESS=1 cargo test`
//! rewrites them.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::Duration;

use assert_cmd::Command;

const A_FIXTURES: [&str; 3] = [
    "rv52-uboot-smode-serial",
    "rv52-uboot-virtio-blk",
    "rv52-linux-tiny",
];
const C_FIXTURES: [&str; 4] = [
    "rv-uboot-smode-serial",
    "rv-uboot-mmode-mincpu-reset",
    "rv-uboot-virtio-blk",
    "rv-linux-tiny-mincpu",
];

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

fn a_log(name: &str) -> PathBuf {
    fixtures().join("qemu-5.2").join(format!("{name}.bin"))
}

fn c_log(name: &str) -> PathBuf {
    fixtures().join("qemu-10.0.2").join(format!("{name}.bin"))
}

fn truncated_fixture() -> PathBuf {
    fixtures().join("qemu-10.0.2/uboot-killed-record.truncated.bin")
}

/// Every run has a deadline: a hang is a failure, not a stuck CI job.
fn rrtool() -> Command {
    let mut c = Command::cargo_bin("rrtool").expect("binary built");
    c.timeout(Duration::from_secs(120));
    c
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    let out = rrtool()
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("rrtool ran");
    let r = Run {
        code: out.status.code().expect("exited, not killed (timeout?)"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !r.stderr.contains("panicked"),
        "rrtool panicked: {}",
        r.stderr
    );
    r
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

// ---- tiny JSON field readers for our own flat output -------------------

fn json_num(s: &str, key: &str) -> u64 {
    let pat = format!("\"{key}\":");
    let at = s
        .find(&pat)
        .unwrap_or_else(|| panic!("{key} missing in {s}"))
        + pat.len();
    s[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap()
}

fn json_map(s: &str, key: &str) -> Vec<(String, u64)> {
    let pat = format!("\"{key}\":{{");
    let at = s
        .find(&pat)
        .unwrap_or_else(|| panic!("{key} missing in {s}"))
        + pat.len();
    let body = &s[at..at + s[at..].find('}').unwrap()];
    body.split(',')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once(':').unwrap();
            (k.trim_matches('"').to_string(), v.parse().unwrap())
        })
        .collect()
}

/// The independent counts of `recipes/rrstat.py` in `NAME.stat.txt`:
/// (version, size, icount, kind -> count) with kinds in our spelling.
fn stat_txt(bin: &Path) -> (String, u64, u64, Vec<(String, u64)>) {
    let text = fs::read_to_string(bin.with_extension("stat.txt")).unwrap();
    let mut lines = text.lines();
    let head = lines.next().unwrap();
    let field = |k: &str| {
        head.split_whitespace()
            .find_map(|w| w.strip_prefix(k))
            .unwrap()
            .to_string()
    };
    let mut kinds: Vec<(String, u64)> = lines
        .filter(|l| !l.trim_start().starts_with("serial input"))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let (k, n) = (it.next()?, it.next()?);
            Some((k.to_uppercase().replace('-', "_"), n.parse().ok()?))
        })
        .collect();
    kinds.sort();
    (
        field("version="),
        field("size=").parse().unwrap(),
        field("instructions=").parse().unwrap(),
        kinds,
    )
}

// ---- stats --------------------------------------------------------------

#[test]
fn stats_match_the_independent_counts() {
    let all = A_FIXTURES
        .iter()
        .map(|n| a_log(n))
        .chain(C_FIXTURES.iter().map(|n| c_log(n)));
    for bin in all {
        let r = run(&[&"stats", &bin, &"--json"]);
        assert_eq!(r.code, 0, "{}: {}", bin.display(), r.stderr);
        let (version, size, icount, kinds) = stat_txt(&bin);
        assert!(
            r.stdout.contains(&format!("\"version\":\"{version}\"")),
            "{}",
            r.stdout
        );
        assert_eq!(json_num(&r.stdout, "size"), size);
        assert_eq!(json_num(&r.stdout, "icount"), icount, "{}", bin.display());
        let mut got = json_map(&r.stdout, "kinds");
        got.sort();
        assert_eq!(got, kinds, "{}", bin.display());
        assert_eq!(
            json_num(&r.stdout, "events"),
            kinds.iter().map(|(_, n)| n).sum::<u64>()
        );
    }
}

#[test]
fn stats_of_a_killed_recording_counts_the_complete_prefix_then_the_damage() {
    let f = truncated_fixture();
    let dumped = run(&[&"dump", &f]);
    assert_eq!(dumped.code, 2);
    let complete = dumped.stdout.lines().count() as u64;
    assert_eq!(complete, 7665);

    let r = run(&[&"stats", &f, &"--json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(json_num(&r.stdout, "events"), complete);
    assert_eq!(json_num(&r.stdout, "icount"), 29798576);
    assert!(r.stdout.contains("\"unfinished\":true,"), "{}", r.stdout);
    assert!(r.stdout.contains("\"complete\":false"), "{}", r.stdout);
    let damage = &r.stdout[r.stdout.find("\"damage\"").unwrap()..];
    assert_eq!(json_num(damage, "offset"), 49157);
    assert_eq!(json_num(damage, "index"), 7665);
    assert!(damage.contains("rrtool repair"), "{damage}");
    let kinds: u64 = json_map(&r.stdout, "kinds").iter().map(|(_, n)| n).sum();
    assert_eq!(kinds, complete);

    let r = run(&[&"stats", &f]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("events:      7665 (complete prefix)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("damage:      at byte offset 49157 (event #7665): log cut off"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("rrtool repair "), "{}", r.stdout);
    assert!(r.stderr.is_empty(), "{}", r.stderr);

    // A finished log says so.
    let ok = run(&[&"stats", &c_log("rv-uboot-virtio-blk"), &"--json"]);
    assert_eq!(ok.code, 0);
    assert!(
        ok.stdout.contains("\"complete\":true,\"damage\":null"),
        "{}",
        ok.stdout
    );
}

#[test]
fn stats_text_has_tables_and_numbering() {
    let r = run(&[&"stats", &c_log("rv-uboot-virtio-blk")]);
    assert_eq!(r.code, 0);
    assert!(
        r.stdout.contains("0xe0200c (QEMU 7.2 numbering)"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("ASYNC_BLOCK"), "{}", r.stdout);
    assert!(r.stdout.contains("shutdown cause"), "{}", r.stdout);
    let json = run(&[&"stats", &c_log("rv-uboot-virtio-blk"), &"--json"]).stdout;
    assert!(json.contains("\"numbering\":\"7.2\""));
    assert_eq!(
        json_map(&json, "async"),
        vec![("CHAR_READ".to_string(), 231), ("BLOCK".to_string(), 15)]
    );
}

// ---- validate -----------------------------------------------------------

#[test]
fn every_fixture_validates() {
    for bin in A_FIXTURES
        .iter()
        .map(|n| a_log(n))
        .chain(C_FIXTURES.iter().map(|n| c_log(n)))
    {
        let r = run(&[&"validate", &bin]);
        assert_eq!(r.code, 0, "{}: {}", bin.display(), r.stdout);
        assert!(r.stdout.contains(": valid ("), "{}", r.stdout);
    }
}

#[test]
fn unfinished_recording_is_invalid_with_header_and_cut_findings() {
    let r = run(&[&"validate", &truncated_fixture(), &"--json"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].contains("\"rule\":\"header-unfinished\""),
        "{}",
        r.stdout
    );
    assert!(
        lines[1].contains("\"rule\":\"structure\"")
            && lines[1].contains("\"offset\":49157")
            && lines[1].contains("\"index\":7665"),
        "{}",
        r.stdout
    );
    assert!(lines[2].contains("\"valid\":false") && lines[2].contains("\"findings\":2"));
}

// ---- upgrade / convert / diff on the 0xe0200a fixtures ------------------

/// Async groups after checkpoints other than CP_CLOCK_WARP_ACCOUNT: 0xe0200c
/// replays input only before CP_CLOCK_WARP_ACCOUNT, so they move to the next
/// one. The 5.2 Linux log has 13 serial-input groups after
/// CP_CLOCK_VIRTUAL_RT, each with a CP_CLOCK_WARP_ACCOUNT at the same icount.
fn groups_after_other_checkpoints(name: &str) -> usize {
    if name == "rv52-linux-tiny" {
        13
    } else {
        0
    }
}

#[test]
fn a_fixtures_upgrade_to_logs_that_validate_and_diff_equal() {
    let dir = tempfile::tempdir().unwrap();
    for name in A_FIXTURES {
        let src = a_log(name);
        let up = dir.path().join(format!("{name}.c.bin"));
        let r = run(&[&"upgrade", &src, &"-o", &up, &"--json"]);
        assert_eq!(r.code, 0, "{name}: {}", r.stderr);
        let moved: Vec<&str> = r
            .stdout
            .lines()
            .filter(|l| l.starts_with("{\"moved\":\"CP_CLOCK_VIRTUAL_RT\""))
            .collect();
        assert_eq!(
            moved.len(),
            groups_after_other_checkpoints(name),
            "{name}: {}",
            r.stdout
        );
        for m in &moved {
            assert!(m.contains("\"equivalent\":true"), "{m}");
            assert_eq!(json_num(m, "icount"), json_num(m, "to_icount"), "{m}");
        }
        assert!(!r.stdout.contains("\"concern\""), "{name}: {}", r.stdout);
        assert!(r.stdout.contains("\"not_equivalent\":0"), "{}", r.stdout);
        assert_eq!(&fs::read(&up).unwrap()[..4], &[0, 0xe0, 0x20, 0x0c]);

        let v = run(&[&"validate", &up]);
        assert_eq!(v.code, 0, "{name}: {}", v.stdout);

        let d = run(&[&"diff", &src, &up]);
        assert_eq!(d.code, 0, "{name}: {}", d.stdout);
        assert!(d.stdout.contains("same: "), "{}", d.stdout);
    }
}

#[test]
fn upgrade_text_report_says_what_moved_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let up = dir.path().join("linux-c.bin");
    let r = run(&[&"upgrade", &a_log("rv52-linux-tiny"), &"-o", &up]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "moved: event 19011 at byte 105795 (icount 58934648): async group of 1 event(s) after \
             CP_CLOCK_VIRTUAL_RT moved to just before CP_CLOCK_WARP_ACCOUNT (event 19018 at byte \
             105850, icount 58934648): equivalent"
        ),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("13 from another checkpoint to the next CP_CLOCK_WARP_ACCOUNT, 0 of them shifted), 0 place(s) not provably equivalent"),
        "{}",
        r.stdout
    );
}

#[test]
fn a_to_c_to_a_round_trip_is_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    for name in A_FIXTURES {
        let src = a_log(name);
        let c = dir.path().join(format!("{name}.c.bin"));
        let back = dir.path().join(format!("{name}.a.bin"));
        let again = dir.path().join(format!("{name}.c2.bin"));
        assert_eq!(
            run(&[&"convert", &src, &"-o", &c, &"--to", &"e0200c"]).code,
            0
        );
        assert_eq!(
            run(&[&"convert", &c, &"-o", &back, &"--to", &"e0200a"]).code,
            0
        );
        if groups_after_other_checkpoints(name) == 0 {
            assert!(
                fs::read(&src).unwrap() == fs::read(&back).unwrap(),
                "{name}: a -> c -> a differs"
            );
        } else {
            // Moved groups come back after their CP_WA; from there the round
            // trip is exact.
            assert_eq!(run(&[&"upgrade", &back, &"-o", &again]).code, 0);
            assert!(
                fs::read(&c).unwrap() == fs::read(&again).unwrap(),
                "{name}: c -> a -> c differs"
            );
        }
    }
}

/// A hand-built 0xe0200a log: serial input after CP_CLOCK_VIRTUAL_RT, then
/// 5 instructions before the next CP_CLOCK_WARP_ACCOUNT.
fn hand_built_shift_log() -> Vec<u8> {
    let mut b = vec![0x00, 0xe0, 0x20, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0];
    b.push(29); // CP_CLOCK_VIRTUAL_RT (offset 12)
    b.extend([3, 6, 4, 0, 0, 0, 0, 1, b'x']); // ASYNC cp=6 CHAR_READ "x" (offset 13)
    b.extend([0, 0, 0, 0, 5]); // INSTRUCTION +5
    b.push(24); // CP_CLOCK_WARP_ACCOUNT
    b.extend([8, 32]); // SHUTDOWN host-signal, END
    b
}

/// A real log made into a shift case: rv52-linux-tiny without the
/// CP_CLOCK_WARP_ACCOUNTs at the icount of its first serial character (event
/// 17814, after CP_CLOCK_VIRTUAL_RT), so the next one is instructions later.
fn real_shift_log(dir: &Path) -> PathBuf {
    let src = a_log("rv52-linux-tiny");
    let dump = run(&[&"dump", &src, &"--json", &"--from", &"17814"]).stdout;
    let mut offsets: Vec<usize> = dump
        .lines()
        .filter(|l| {
            l.contains("\"kind\":\"CP_CLOCK_WARP_ACCOUNT\"") && json_num(l, "icount") == 58805704
        })
        .map(|l| json_num(l, "offset") as usize)
        .collect();
    assert!(!offsets.is_empty());
    offsets.reverse();
    let mut bytes = fs::read(&src).unwrap();
    for off in offsets {
        assert_eq!(bytes.remove(off), 24);
    }
    let path = dir.join("linux-no-wa.bin");
    fs::write(&path, &bytes).unwrap();
    assert_eq!(run(&[&"validate", &path]).code, 0, "still a valid 5.2 log");
    path
}

#[test]
fn shifted_groups_are_refused_without_output_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let hand = dir.path().join("hand.bin");
    fs::write(&hand, hand_built_shift_log()).unwrap();
    let real = real_shift_log(dir.path());
    for (src, at, shift) in [
        (hand, "event 1 at byte 13 (icount 0)", "5 instruction(s)"),
        (real, "event 17814 at byte 99898 (icount 58805704)", ""),
    ] {
        let out = dir.path().join("out.bin");
        let r = run(&[&"upgrade", &src, &"-o", &out]);
        assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.contains(&format!("not provably equivalent: {at}"))
                && r.stdout.contains("[shifted-group]"),
            "{}",
            r.stdout
        );
        assert!(
            r.stderr.contains("refused") && r.stderr.contains("--allow-shift"),
            "{}",
            r.stderr
        );
        assert!(!out.exists(), "no output on refusal");

        let r = run(&[&"upgrade", &src, &"-o", &out, &"--allow-shift"]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stdout.contains(&format!("moved: {at}")) && r.stdout.contains("SHIFTED by"),
            "{}",
            r.stdout
        );
        assert!(r.stdout.contains(shift), "{}", r.stdout);
        assert!(
            r.stdout.contains("them shifted") && !r.stdout.contains(" 0 of them shifted"),
            "{}",
            r.stdout
        );
        let v = run(&[&"validate", &out]);
        assert_eq!(v.code, 0, "{}", v.stdout);
        fs::remove_file(&out).unwrap();
    }
}

#[test]
fn a_group_no_warp_account_follows_is_refused_even_with_allow_shift() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = hand_built_shift_log();
    let wa = b.len() - 3;
    assert_eq!(b.remove(wa), 24);
    let src = dir.path().join("no-wa.bin");
    fs::write(&src, b).unwrap();
    let out = dir.path().join("out.bin");
    let r = run(&[&"upgrade", &src, &"-o", &out, &"--allow-shift", &"--json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout.contains("\"concern\":\"no-warp-account-after\""),
        "{}",
        r.stdout
    );
    assert!(!out.exists());
}

#[test]
fn c_to_a_to_c_and_via_b_and_7_1_are_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    for name in C_FIXTURES {
        let src = c_log(name);
        let original = fs::read(&src).unwrap();
        for via in ["e0200a", "e0200b", "e0200c-7.1"] {
            let mid = dir.path().join(format!("{name}.{via}.bin"));
            let back = dir.path().join(format!("{name}.{via}.back.bin"));
            let r = run(&[&"convert", &src, &"-o", &mid, &"--to", &via, &"--strict"]);
            assert_eq!(r.code, 0, "{name} -> {via}: {}{}", r.stdout, r.stderr);
            assert_eq!(run(&[&"upgrade", &mid, &"-o", &back]).code, 0);
            assert!(
                fs::read(&back).unwrap() == original,
                "{name}: c -> {via} -> c differs"
            );
        }
    }
}

#[test]
fn same_version_conversion_is_byte_exact() {
    let dir = tempfile::tempdir().unwrap();
    for (src, to) in [
        (a_log("rv52-uboot-virtio-blk"), "e0200a"),
        (c_log("rv-uboot-virtio-blk"), "e0200c"),
    ] {
        let out = dir.path().join(format!("same-{to}.bin"));
        assert_eq!(run(&[&"convert", &src, &"-o", &out, &"--to", &to]).code, 0);
        assert!(fs::read(&src).unwrap() == fs::read(&out).unwrap());
    }
}

#[test]
fn strict_conversion_fails_without_leaving_output() {
    // c -> a of a log whose async run is followed by a CLOCK before its
    // CP_CLOCK_WARP_ACCOUNT: the converse placement is ambiguous.
    let dir = tempfile::tempdir().unwrap();
    let mut b = vec![0x00, 0xe0, 0x20, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0];
    b.extend([7, 0, 0, 0, 0, 1, b'x']); // ASYNC_CHAR_READ "x"
    b.extend([29, 0, 0, 0, 0, 0, 0, 0, 9]); // CLOCK_VIRTUAL_RT 9
    b.push(31); // CP_CLOCK_WARP_ACCOUNT
    b.extend([14, 39]); // SHUTDOWN host-signal, END
    let src = dir.path().join("c.bin");
    fs::write(&src, b).unwrap();
    let out = dir.path().join("strict.bin");
    let r = run(&[
        &"convert",
        &src,
        &"-o",
        &out,
        &"--to",
        &"e0200a",
        &"--strict",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("1 place(s) not provably equivalent"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("at byte 19"), "{}", r.stderr);
    assert!(!out.exists());
    let r = run(&[&"convert", &src, &"-o", &out, &"--to", &"e0200a"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(out.exists());
}

#[test]
fn diff_reports_first_divergence_with_context() {
    let r = run(&[
        &"diff",
        &a_log("rv52-uboot-smode-serial"),
        &c_log("rv-uboot-smode-serial"),
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stdout.contains("first difference at normalised event #0"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("A: source event #0 at byte 12, icount 0: CLOCK_HOST"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("summary: equal for 0 events; A has 8023 events"),
        "{}",
        r.stdout
    );

    // A divergence in the middle: same log, one CHAR_WRITE result changed.
    let dir = tempfile::tempdir().unwrap();
    let src = c_log("rv-uboot-mmode-mincpu-reset");
    let mut bytes = fs::read(&src).unwrap();
    let dump = run(&[&"dump", &src, &"--json"]).stdout;
    let line = dump
        .lines()
        .skip(3000)
        .find(|l| l.contains("CHAR_WRITE"))
        .unwrap();
    let (off, index) = (json_num(line, "offset") as usize, json_num(line, "index"));
    bytes[off + 4] ^= 0x02; // low byte of `res`
    let changed = dir.path().join("changed.bin");
    fs::write(&changed, &bytes).unwrap();
    let r = run(&[&"diff", &src, &changed, &"--json"]);
    assert_eq!(r.code, 1);
    assert!(r.stdout.starts_with("{\"same\":false"), "{}", r.stdout);
    let fd = &r.stdout[r.stdout.find("\"first_difference\"").unwrap()..];
    assert_eq!(json_num(fd, "normalised_index"), index);
    assert!(fd.contains(&format!("\"offset\":{off}")));
    assert!(fd.contains("\"context_a\":["));
}

// ---- repair -------------------------------------------------------------

#[test]
fn repair_makes_the_killed_recording_valid() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("repaired.bin");
    let r = run(&[&"repair", &truncated_fixture(), &"-o", &out]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("cut 7 byte(s) from offset 49157 (event #7665)"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("appended SHUTDOWN_HOST_SIGNAL, END"),
        "{}",
        r.stdout
    );
    let v = run(&[&"validate", &out]);
    assert_eq!(v.code, 0, "{}", v.stdout);
    let tail = run(&[&"dump", &out, &"--from", &"7664"]).stdout;
    let kinds: Vec<&str> = tail
        .lines()
        .map(|l| l.split_whitespace().nth(3).unwrap())
        .collect();
    assert_eq!(kinds, ["INSTRUCTION", "SHUTDOWN_HOST_SIGNAL", "END"]);
    assert_eq!(&fs::read(&out).unwrap()[..4], &[0, 0xe0, 0x20, 0x0c]);
}

#[test]
fn repair_drops_an_async_run_without_its_checkpoint() {
    // Cut the smode log right after an ASYNC_CHAR_READ, before its CP_WA.
    let src = c_log("rv-uboot-smode-serial");
    let dump = run(&[&"dump", &src, &"--json"]).stdout;
    let line = dump
        .lines()
        .find(|l| l.contains("ASYNC_CHAR_READ"))
        .unwrap();
    let off = json_num(line, "offset") as usize;
    let mut bytes = fs::read(&src).unwrap()[..off + 7].to_vec();
    bytes[..4].copy_from_slice(&[0; 4]);
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.bin");
    let out = dir.path().join("fixed.bin");
    fs::write(&cut, &bytes).unwrap();
    let r = run(&[&"repair", &cut, &"-o", &out]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "dropped an incomplete async run of 1 event(s) at offset {off}"
        )),
        "{}",
        r.stdout
    );
    assert_eq!(run(&[&"validate", &out]).code, 0);
}

// ---- dump golden output -------------------------------------------------

fn golden(name: &str, actual: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("RRTOOL_BLESS").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, actual).unwrap();
    }
    let expected = fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} missing; RRTOOL_BLESS=1", path.display()));
    assert_eq!(
        actual, expected,
        "golden {name} differs (RRTOOL_BLESS=1 to accept)"
    );
}

#[test]
fn dump_golden_slices() {
    let r = run(&[
        &"dump",
        &a_log("rv52-uboot-smode-serial"),
        &"--from",
        &"6318",
        &"--count",
        &"16",
    ]);
    assert_eq!(r.code, 0);
    golden("dump-rv52-uboot-smode-serial-6318.txt", &r.stdout);
    let r = run(&[
        &"dump",
        &c_log("rv-uboot-smode-serial"),
        &"--count",
        &"10",
        &"--json",
    ]);
    assert_eq!(r.code, 0);
    golden("dump-rv-uboot-smode-serial-0.jsonl", &r.stdout);
    let r = run(&[
        &"dump",
        &c_log("rv-uboot-virtio-blk"),
        &"--from",
        &"7938",
        &"--count",
        &"16",
    ]);
    golden("dump-rv-uboot-virtio-blk-7938.txt", &r.stdout);
}

#[test]
fn dump_json_has_required_fields_on_every_line() {
    let r = run(&[&"dump", &c_log("rv-linux-tiny-mincpu"), &"--json"]);
    assert_eq!(r.code, 0);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 20004);
    for (i, l) in lines.iter().enumerate() {
        assert!(
            l.starts_with(&format!("{{\"index\":{i},\"offset\":")) && l.ends_with('}'),
            "{l}"
        );
        assert!(
            l.contains("\"icount\":") && l.contains("\"kind\":\""),
            "{l}"
        );
    }
}

#[test]
fn broken_pipe_exits_quietly() {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("rrtool"))
        .args(["dump".as_ref(), c_log("rv-uboot-smode-serial").as_os_str()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 100];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take()); // like `| head -c 100`
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {err}");
    assert_eq!(err, "");
}

// ---- bad input ----------------------------------------------------------

/// Runs every reading command on `file` and checks: no panic, expected exit
/// codes, messages naming the file, and no output file left behind.
fn check_bad(file: &Path, needles: &[&str], validate_code: i32) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.bin");
    let name = file.display().to_string();
    for cmd in ["dump", "stats"] {
        let r = run(&[&cmd, &file]);
        // stats summarises the readable prefix of a damaged stream (exit 1,
        // damage on stdout); a file without a readable header is an error.
        let text = if cmd == "stats" && r.code == 1 {
            assert!(r.stdout.contains("rrtool repair"), "{}", r.stdout);
            &r.stdout
        } else {
            assert_eq!(r.code, 2, "{cmd} {name}: {}", r.stderr);
            &r.stderr
        };
        assert!(text.contains(&name), "{cmd}: {text}");
        for n in needles {
            assert!(text.contains(n), "{cmd} {name}: '{n}' not in {text}");
        }
    }
    let r = run(&[&"validate", &file]);
    assert_eq!(r.code, validate_code, "{}{}", r.stdout, r.stderr);
    for n in needles {
        assert!(
            r.stdout.contains(n) || r.stderr.contains(n),
            "validate: '{n}' not in {}{}",
            r.stdout,
            r.stderr
        );
    }
    for args in [vec!["upgrade"], vec!["convert", "--to", "e0200a"]] {
        let mut a: Vec<&dyn AsRef<std::ffi::OsStr>> = args
            .iter()
            .map(|s| s as &dyn AsRef<std::ffi::OsStr>)
            .collect();
        a.push(&file);
        a.push(&"-o");
        a.push(&out);
        let r = run(&a);
        assert_eq!(r.code, 2, "{args:?} {name}: {}", r.stderr);
        assert!(
            files_in(dir.path()).is_empty(),
            "{args:?} left {:?}",
            files_in(dir.path())
        );
    }
    let r = run(&[&"diff", &file, &file]);
    assert_eq!(r.code, 2, "diff: {}", r.stderr);
}

#[test]
fn truncated_logs_name_offset_and_index() {
    let dir = tempfile::tempdir().unwrap();
    let src = fs::read(c_log("rv-uboot-smode-serial")).unwrap();
    for cut in [13usize, 41, src.len() / 2, src.len() - 1] {
        let f = dir.path().join(format!("cut-{cut}.bin"));
        fs::write(&f, &src[..cut]).unwrap();
        check_bad(&f, &["at byte offset", "(event #"], 1);
    }
}

#[test]
fn flipped_id_byte_is_reported_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let src = c_log("rv-uboot-smode-serial");
    let mut bytes = fs::read(&src).unwrap();
    let dump = run(&[&"dump", &src, &"--json"]).stdout;
    let line = dump
        .lines()
        .skip(1000)
        .find(|l| l.contains("INSTRUCTION"))
        .unwrap();
    let (off, index) = (json_num(line, "offset"), json_num(line, "index"));
    assert_eq!(bytes[off as usize], 0x00);
    bytes[off as usize] = 0xff;
    let f = dir.path().join("flipped.bin");
    fs::write(&f, &bytes).unwrap();
    check_bad(
        &f,
        &[
            &format!("at byte offset {off} (event #{index})"),
            "unknown event id 0xff",
        ],
        1,
    );
}

#[test]
fn absurd_array_length_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = fs::read(c_log("rv-uboot-smode-serial")).unwrap();
    // Event #4 is RANDOM at byte 40: id, u32 ret, u32 length, data.
    assert_eq!(bytes[40], 27);
    bytes[45..49].copy_from_slice(&[0xff; 4]);
    let f = dir.path().join("huge-array.bin");
    fs::write(&f, &bytes).unwrap();
    check_bad(
        &f,
        &["at byte offset 40 (event #4)", "array length 4294967295"],
        1,
    );
}

#[test]
fn empty_file_is_not_a_log() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("empty.bin");
    fs::write(&f, b"").unwrap();
    check_bad(&f, &["at byte offset 0"], 1);
}

#[test]
fn directory_and_missing_file_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.bin");
    for f in [dir.path().to_path_buf(), missing] {
        for cmd in ["dump", "stats", "validate"] {
            let r = run(&[&cmd, &f]);
            assert_eq!(r.code, 2, "{cmd} {}: {}", f.display(), r.stderr);
            assert!(r.stderr.contains(&f.display().to_string()), "{}", r.stderr);
        }
    }
    let r = run(&[&"dump", &dir.path()]);
    assert!(r.stderr.contains("is a directory"), "{}", r.stderr);
}

#[test]
fn unfinished_log_is_refused_by_convert() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.bin");
    let r = run(&[&"upgrade", &truncated_fixture(), &"-o", &out]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("rrtool repair"), "{}", r.stderr);
    assert!(files_in(dir.path()).is_empty());
}

// ---- output file protection ---------------------------------------------

#[test]
fn existing_output_needs_force_and_input_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.bin");
    fs::copy(a_log("rv52-uboot-smode-serial"), &input).unwrap();
    let out = dir.path().join("out.bin");
    fs::write(&out, b"keep me").unwrap();

    let r = run(&[&"upgrade", &input, &"-o", &out]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("output exists"), "{}", r.stderr);
    assert_eq!(fs::read(&out).unwrap(), b"keep me");

    let r = run(&[&"upgrade", &input, &"-o", &out, &"--force"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(&fs::read(&out).unwrap()[..4], &[0, 0xe0, 0x20, 0x0c]);

    let before = fs::read(&input).unwrap();
    let same = dir.path().join(".").join("in.bin");
    for cmd in [
        vec!["upgrade"],
        vec!["repair"],
        vec!["convert", "--to", "e0200b"],
    ] {
        let mut a: Vec<&dyn AsRef<std::ffi::OsStr>> = cmd
            .iter()
            .map(|s| s as &dyn AsRef<std::ffi::OsStr>)
            .collect();
        a.extend([
            &input as &dyn AsRef<std::ffi::OsStr>,
            &"-o",
            &same,
            &"--force",
        ]);
        let r = run(&a);
        assert_eq!(r.code, 2, "{cmd:?}");
        assert!(r.stderr.contains("is the input file"), "{}", r.stderr);
    }
    assert_eq!(fs::read(&input).unwrap(), before);
    assert_eq!(files_in(dir.path()), ["in.bin", "out.bin"]);
}

#[test]
fn help_has_examples() {
    for sub in [
        "dump", "stats", "validate", "diff", "convert", "upgrade", "repair",
    ] {
        let r = run(&[&sub, &"--help"]);
        assert_eq!(r.code, 0);
        assert!(
            r.stdout.contains("Example:\n  rrtool "),
            "{sub}: {}",
            r.stdout
        );
    }
}

// ---- ordering rules on damaged real logs ---------------------------------

/// Offset and index of the first event of `kind` in `file` (from dump --json).
fn find_event(file: &Path, kind: &str) -> (usize, u64) {
    let dump = run(&[&"dump", &file, &"--json"]).stdout;
    let line = dump
        .lines()
        .find(|l| l.contains(&format!("\"kind\":\"{kind}\"")))
        .unwrap();
    (json_num(line, "offset") as usize, json_num(line, "index"))
}

fn validate_changed(src: &Path, change: impl FnOnce(&mut Vec<u8>)) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = fs::read(src).unwrap();
    change(&mut bytes);
    let f = dir.path().join("changed.bin");
    fs::write(&f, &bytes).unwrap();
    run(&[&"validate", &f, &"--json"])
}

#[test]
fn never_written_shutdown_max_slot_is_a_structure_finding() {
    let src = c_log("rv-uboot-smode-serial");
    let (off, index) = find_event(&src, "SHUTDOWN_HOST_SIGNAL");
    // 7.2+ numbering: SHUTDOWN = 10 + cause, the __MAX slot is 21.
    let r = validate_changed(&src, |b| b[off] = 21);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("\"rule\":\"structure\""), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("\"offset\":{off},\"index\":{index}")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("__MAX"), "{}", r.stdout);
}

#[test]
fn end_without_host_signal_before_it_is_reported() {
    let src = c_log("rv-uboot-smode-serial");
    let (off, index) = find_event(&src, "SHUTDOWN_HOST_SIGNAL");
    // host-signal (10 + 4) becomes host-ui (10 + 5).
    let r = validate_changed(&src, |b| b[off] = 15);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("\"rule\":\"tail-host-signal\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("\"index\":{}", index + 1)),
        "{}",
        r.stdout
    );
}

#[test]
fn wrong_async_checkpoint_byte_in_a_5_2_log_is_reported() {
    let src = a_log("rv52-uboot-smode-serial");
    let (off, index) = find_event(&src, "ASYNC_CHAR_READ");
    let r = validate_changed(&src, |b| {
        assert_eq!(&b[off..off + 3], &[3, 1, 4]); // ASYNC, cp WARP_ACCOUNT, kind CHAR_READ
        b[off + 1] = 7; // cp INIT
    });
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("\"rule\":\"async-checkpoint-byte\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("\"offset\":{off},\"index\":{index}")),
        "{}",
        r.stdout
    );
}

#[test]
fn zero_and_adjacent_instructions_are_reported() {
    let src = c_log("rv-uboot-mmode-mincpu-reset");
    let dump = run(&[&"dump", &src, &"--json"]).stdout;
    let lines: Vec<&str> = dump.lines().collect();
    // INSTRUCTION, a 1-byte event, INSTRUCTION: removing the middle byte
    // makes the two INSTRUCTION events adjacent.
    let at = (1..lines.len() - 1)
        .find(|&i| {
            lines[i - 1].contains("\"kind\":\"INSTRUCTION\"")
                && lines[i + 1].contains("\"kind\":\"INSTRUCTION\"")
                && json_num(lines[i + 1], "offset") - json_num(lines[i], "offset") == 1
        })
        .unwrap();
    let (off, index) = (
        json_num(lines[at], "offset") as usize,
        json_num(lines[at], "index"),
    );
    let r = validate_changed(&src, |b| {
        b.remove(off);
    });
    assert_eq!(r.code, 1, "{}", r.stdout);
    let expected =
        format!("{{\"rule\":\"instruction-adjacent\",\"offset\":{off},\"index\":{index},");
    assert!(r.stdout.contains(&expected), "{}", r.stdout);

    let first = lines
        .iter()
        .position(|l| l.contains("\"kind\":\"INSTRUCTION\""))
        .unwrap();
    let ioff = json_num(lines[first], "offset") as usize;
    let r = validate_changed(&src, |b| b[ioff + 1..ioff + 5].copy_from_slice(&[0; 4]));
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("\"rule\":\"instruction-zero\""),
        "{}",
        r.stdout
    );
}

#[test]
fn repair_detects_a_killed_0xe0200a_recording() {
    // What a SIGKILLed QEMU 5.2 leaves: header version 0, tail cut mid-event.
    let src = a_log("rv52-uboot-smode-serial");
    let mut bytes = fs::read(&src).unwrap()[..30001].to_vec();
    bytes[..4].copy_from_slice(&[0; 4]);
    let dir = tempfile::tempdir().unwrap();
    let killed = dir.path().join("killed.bin");
    let fixed = dir.path().join("fixed.bin");
    fs::write(&killed, &bytes).unwrap();
    let r = run(&[&"repair", &killed, &"-o", &fixed]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("read as 0xe0200a"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("cut 1 byte(s) from offset 30000 (event #4296)"),
        "{}",
        r.stdout
    );
    assert_eq!(run(&[&"validate", &fixed]).code, 0);
    // The kept events are the original's, event for event.
    let d = run(&[&"diff", &fixed, &src]);
    assert_eq!(d.code, 1);
    assert!(
        d.stdout.contains("summary: equal for 4296 events"),
        "{}",
        d.stdout
    );
}

// ---- plot ---------------------------------------------------------------

#[test]
fn plot_draws_svg_and_png_timelines() {
    let dir = tempfile::tempdir().unwrap();
    let dense = fixtures().join("dense/qemu-10.0.2-dense-50k.bin");
    let svg = dir.path().join("t.svg");
    let r = run(&[&"plot", &dense, &"-o", &svg]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("100307 events over icount 0..600294"),
        "{}",
        r.stdout
    );
    let text = fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "{}", &text[..100]);
    for needle in [
        "EXCEPTION (50000)",
        "INTERRUPT (24)",
        "clock warp (CP_CLOCK_WARP_ACCOUNT) (75)",
        "qemu-10.0.2-dense-50k.bin: 100307 events, icount 600294",
    ] {
        assert!(text.contains(needle), "{needle} not in the SVG");
    }

    let png = dir.path().join("t.png");
    let r = run(&[&"plot", &c_log("rv-uboot-virtio-blk"), &"-o", &png]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bytes = fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    // IHDR: width and height, big-endian, after the 8-byte signature and
    // the chunk's length and type.
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    assert_eq!(width, 1400);
    assert!(bytes.len() > 50_000, "a real picture, not a blank one");
}

#[test]
fn plot_refuses_unknown_formats_and_cut_logs_say_where_they_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.jpg");
    let r = run(&[&"plot", &c_log("rv-uboot-virtio-blk"), &"-o", &out]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("use .svg or .png"), "{}", r.stderr);
    assert!(files_in(dir.path()).is_empty());

    let svg = dir.path().join("cut.svg");
    let r = run(&[&"plot", &truncated_fixture(), &"-o", &svg]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stdout
            .contains("the picture ends at byte offset 49157 (event #7665)"),
        "{}",
        r.stdout
    );
    assert!(svg.exists());
}

#[test]
fn diff_plot_marks_the_first_divergence() {
    let dir = tempfile::tempdir().unwrap();
    let src = c_log("rv-uboot-mmode-mincpu-reset");
    let mut bytes = fs::read(&src).unwrap();
    let dump = run(&[&"dump", &src, &"--json"]).stdout;
    let line = dump
        .lines()
        .skip(5000)
        .find(|l| l.contains("CHAR_WRITE"))
        .unwrap();
    let (off, index, icount) = (
        json_num(line, "offset") as usize,
        json_num(line, "index"),
        json_num(line, "icount"),
    );
    bytes[off + 4] ^= 0x02;
    let changed = dir.path().join("changed.bin");
    fs::write(&changed, &bytes).unwrap();
    let svg = dir.path().join("diff.svg");
    let r = run(&[&"diff", &src, &changed, &"--plot", &svg]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let text = fs::read_to_string(&svg).unwrap();
    let mark = format!("first divergence: normalised event #{index}, icount {icount}");
    assert_eq!(text.matches(&mark).count(), 2, "one mark per log");
}

// ---- two threads on large logs ------------------------------------------

fn run_env(env: &[(&str, &str)], args: &[&dyn AsRef<std::ffi::OsStr>]) -> Run {
    let mut c = rrtool();
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c
        .args(args.iter().map(|a| a.as_ref()))
        .output()
        .expect("rrtool ran");
    Run {
        code: out.status.code().expect("exited"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// validate and dump split logs of 8 MiB and more between two threads; the
/// output must be byte-for-byte what one thread prints, findings in the
/// second half included.
#[test]
fn two_threads_print_exactly_what_one_thread_prints() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("big.bin");
    let r = run(&[
        &"bench-gen",
        &c_log("rv-uboot-smode-serial"),
        &"-o",
        &log,
        &"--size-mib",
        &"9",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut bytes = fs::read(&log).unwrap();
    // Zero the delta of INSTRUCTIONs at 30 % and 70 % of the events.
    let events = json_num(&run(&[&"stats", &log, &"--json"]).stdout, "events");
    let mut broken = Vec::new();
    for frac in [3, 7] {
        let from = (events * frac / 10).to_string();
        let dump = run(&[
            &"dump", &log, &"--json", &"--from", &from, &"--count", &"50",
        ])
        .stdout;
        let line = dump
            .lines()
            .find(|l| l.contains("\"kind\":\"INSTRUCTION\""))
            .unwrap();
        let off = json_num(line, "offset") as usize;
        bytes[off + 1..off + 5].fill(0);
        broken.push(json_num(line, "index"));
    }
    fs::write(&log, &bytes).unwrap();
    let one = run_env(
        &[("RRTOOL_ONE_THREAD", "1")],
        &[&"validate", &log, &"--json"],
    );
    let two = run(&[&"validate", &log, &"--json"]);
    assert_eq!(one.code, 1);
    assert_eq!(two.code, 1);
    assert_eq!(one.stdout, two.stdout);
    for index in broken {
        assert!(
            two.stdout
                .contains(&format!("\"rule\":\"instruction-zero\",\"offset\":{}", ""))
                && two.stdout.contains(&format!("\"index\":{index},")),
            "{index}: {}",
            two.stdout
        );
    }
    let one = run_env(&[("RRTOOL_ONE_THREAD", "1")], &[&"dump", &log]);
    let two = run(&[&"dump", &log]);
    assert_eq!(one.code, 0);
    assert!(
        one.stdout == two.stdout,
        "dump differs between 1 and 2 threads"
    );
    let one = run_env(
        &[("RRTOOL_ONE_THREAD", "1")],
        &[&"dump", &log, &"--from", &"100000", &"--count", &"70000"],
    );
    let two = run(&[&"dump", &log, &"--from", &"100000", &"--count", &"70000"]);
    assert_eq!(one.stdout.lines().count(), 70000);
    assert!(one.stdout == two.stdout);
}
