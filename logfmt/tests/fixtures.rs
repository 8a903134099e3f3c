//! The real QEMU logs in `fixtures/`: every one parses to END with no byte
//! left, its event counts equal those of the independent parser
//! (`NAME.stat.txt`, from `rrstat.py`), its size and sha256 equal those in
//! `NAME.result`, and it round-trips byte-exact through the writer.

use logfmt::{
    ByteOffset, Event, EventIndex, MappedLog, Numbering, ReadErrorKind, Reader, Version, Writer,
};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every closed fixture; a missing file fails the test rather than
/// shrinking it.
const FIXTURES: &[&str] = &[
    "qemu-10.0.2/rv-linux-tiny-mincpu",
    "qemu-10.0.2/rv-uboot-mmode-mincpu-reset",
    "qemu-10.0.2/rv-uboot-smode-serial",
    "qemu-10.0.2/rv-uboot-virtio-blk",
    "qemu-5.2/rv52-linux-tiny",
    "qemu-5.2/rv52-uboot-smode-serial",
    "qemu-5.2/rv52-uboot-virtio-blk",
];

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// What `rrstat.py` printed for a log.
struct Stat {
    version: u32,
    size: u64,
    instructions: u64,
    counts: BTreeMap<String, u64>,
}

fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

fn parse_stat(text: &str) -> Stat {
    let mut lines = text.lines();
    let head = lines.next().expect("empty stat file");
    assert_eq!(field(head, "end"), "True");
    assert_eq!(field(head, "parsed"), field(head, "size"));
    let version = u32::from_str_radix(field(head, "version").trim_start_matches("0x"), 16).unwrap();
    let mut counts = BTreeMap::new();
    for line in lines {
        let mut words = line.split_whitespace();
        let (Some(name), Some(n), None) = (words.next(), words.next(), words.next()) else {
            continue; // "serial input bytes: ..." and similar
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        // rrstat spells causes the QAPI way (SHUTDOWN_host-signal).
        counts.insert(name.to_uppercase().replace('-', "_"), n);
    }
    Stat {
        version,
        size: field(head, "size").parse().unwrap(),
        instructions: field(head, "instructions").parse().unwrap(),
        counts,
    }
}

/// `size=` and `sha256=` from the `.result` line written when the fixture
/// was recorded.
fn result_size_sha(text: &str) -> (u64, String) {
    (
        field(text, "size").parse().unwrap(),
        field(text, "sha256").to_string(),
    )
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

#[test]
fn every_fixture_matches_the_independent_parser() {
    for name in FIXTURES {
        let base = fixtures_dir().join(name);
        let log = MappedLog::open(&base.with_extension("bin")).unwrap();
        let bytes = log.bytes();
        let stat = parse_stat(&std::fs::read_to_string(base.with_extension("stat.txt")).unwrap());
        let (size, sha) =
            result_size_sha(&std::fs::read_to_string(base.with_extension("result")).unwrap());
        assert_eq!(bytes.len() as u64, size, "{name}: size changed");
        assert_eq!(stat.size, size, "{name}");
        assert_eq!(sha256_hex(bytes), sha, "{name}: content changed");

        let mut reader = log.reader().unwrap();
        assert_eq!(reader.version().raw(), stat.version, "{name}");
        assert!(!reader.is_unfinished());
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut last = None;
        for rec in reader.by_ref() {
            let rec = rec.unwrap_or_else(|e| panic!("{name}: {e}"));
            *counts.entry(rec.event.kind_name().to_string()).or_default() += 1;
            last = Some(rec);
        }
        let last = last.unwrap();
        assert_eq!(last.event, Event::End, "{name}");
        assert_eq!(reader.position().0, size, "{name}: bytes left after END");
        assert_eq!(last.icount.0, stat.instructions, "{name}");
        assert_eq!(counts, stat.counts, "{name}");
    }
}

#[test]
fn version_detection_on_fixtures() {
    for name in FIXTURES {
        let log = MappedLog::open(&fixtures_dir().join(name).with_extension("bin")).unwrap();
        let v = log.reader().unwrap().version();
        if name.starts_with("qemu-5.2") {
            assert_eq!(v, Version::E0200a, "{name}");
        } else {
            assert_eq!(v, Version::E0200c(Numbering::Qemu7_2), "{name}");
        }
    }
}

#[test]
fn every_fixture_round_trips_byte_exact() {
    for name in FIXTURES {
        let log = MappedLog::open(&fixtures_dir().join(name).with_extension("bin")).unwrap();
        let reader = log.reader().unwrap();
        let mut w = Writer::with_header(Vec::new(), reader.version(), *reader.header()).unwrap();
        for rec in reader {
            let rec = rec.unwrap();
            w.write(&rec.event).unwrap();
            assert_eq!(
                w.position(),
                rec.offset + u64::from(rec.len),
                "{name} #{}",
                rec.index
            );
        }
        let out = w.finish().unwrap();
        assert!(out == log.bytes(), "{name}: rewrite differs");
    }
}

/// The real fixtures obey QEMU's writer rules, so strict mode accepts them.
#[test]
fn fixtures_pass_strict_writer() {
    for name in FIXTURES {
        let log = MappedLog::open(&fixtures_dir().join(name).with_extension("bin")).unwrap();
        let reader = log.reader().unwrap();
        let mut w = Writer::new(std::io::sink(), reader.version())
            .unwrap()
            .strict(true);
        for rec in reader {
            w.write(&rec.unwrap().event).unwrap();
        }
    }
}

/// A QEMU 10.0.2 recording killed with SIGKILL: header version 0, cut in
/// the middle of a CHAR_WRITE. The expected numbers come from running the
/// independent `rrstat.py -v` on a copy with the version patched in: 7665
/// complete events, the last an INSTRUCTION at 49152, then CHAR_WRITE (id
/// 0x16) at 49157 with only 7 of its 9 bytes.
#[test]
fn killed_recording_is_unfinished_with_last_complete_event() {
    let path = fixtures_dir().join("qemu-10.0.2/uboot-killed-record.truncated.bin");
    let log = MappedLog::open(&path).unwrap();
    assert_eq!(log.bytes().len(), 49164);
    let reader = log.reader().unwrap();
    assert!(reader.is_unfinished());
    assert_eq!(reader.header().raw_version, 0);
    assert_eq!(reader.version(), Version::E0200c(Numbering::Qemu7_2));
    let mut complete = 0u64;
    let mut err = None;
    for rec in reader {
        match rec {
            Ok(_) => complete += 1,
            Err(e) => err = Some(e),
        }
    }
    let err = err.expect("an unfinished log must end in an error");
    assert_eq!(complete, 7665);
    assert_eq!(err.offset, ByteOffset(49157));
    assert_eq!(err.index, EventIndex(7665));
    assert_eq!(
        err.kind,
        ReadErrorKind::Truncated {
            needed: 2,
            last_complete: ByteOffset(49152)
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("49157") && msg.contains("7665") && msg.contains("49152"),
        "{msg}"
    );

    // Cutting after the last complete event leaves a log that ends cleanly
    // but without END.
    let cut = &log.bytes()[..49157];
    let last = Reader::new(cut).unwrap().last().unwrap().unwrap_err();
    assert_eq!(
        last.kind,
        ReadErrorKind::MissingEnd {
            last_complete: ByteOffset(49152)
        }
    );
    assert_eq!(last.offset, ByteOffset(49157));
}

/// Forcing the 7.1 numbering on a 7.2 log is possible and shows up as an
/// error, not a silent mis-parse to END.
#[test]
fn forced_wrong_numbering_fails() {
    let log =
        MappedLog::open(&fixtures_dir().join("qemu-10.0.2/rv-linux-tiny-mincpu.bin")).unwrap();
    let opts = logfmt::ReadOptions {
        numbering: Some(Numbering::Qemu7_1),
        version: None,
    };
    let reader = log.reader_with(opts).unwrap();
    assert_eq!(reader.version(), Version::E0200c(Numbering::Qemu7_1));
    assert!(reader.into_iter().any(|r| r.is_err()));
}

/// `Reader::resume` at any event boundary continues exactly as the reader
/// that reported it (what rrtool's second thread relies on).
#[test]
fn resume_at_a_record_continues_like_the_whole_reader() {
    for name in FIXTURES {
        let data = std::fs::read(fixtures_dir().join(format!("{name}.bin"))).unwrap();
        let reader = Reader::new(&data).unwrap();
        let all: Vec<_> = reader.clone().map(|r| r.unwrap()).collect();
        for at in [1, all.len() / 3, all.len() / 2, all.len() - 1] {
            let rec = all[at];
            let before = logfmt::Icount(rec.icount.0 - u64::from(rec.event.instructions()));
            let resumed: Vec<_> = reader
                .resume(rec.offset, rec.index, before)
                .expect("an event's offset")
                .map(|r| r.unwrap())
                .collect();
            assert_eq!(resumed[..], all[at..], "{name} from event {at}");
        }
        // Past the end: nothing, not a panic.
        let end = reader.resume(ByteOffset(u64::MAX), EventIndex(0), logfmt::Icount(0));
        assert!(end.is_none());
    }
}
