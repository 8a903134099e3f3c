//! `logfmt::convert` on the real QEMU logs in `fixtures/`: byte-exact round
//! trips between the 0xe0200a and 0xe0200c placement models.

use std::path::{Path, PathBuf};

use logfmt::convert::{convert, Concern, ConversionReport, Converter};
use logfmt::{Checkpoint, Event, Numbering, Reader, Version};

const C72: Version = Version::E0200c(Numbering::Qemu7_2);

fn fixture(dir: &str, name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .join(dir)
        .join(format!("{name}.bin"))
}

fn to(data: &[u8], target: Version) -> (Vec<u8>, ConversionReport) {
    let r = Reader::new(data).expect("header");
    let (from, header) = (r.version(), *r.header());
    let (out, report, _) = convert(r, from, header, target, Vec::new()).expect("converts");
    (out, report)
}

#[test]
fn qemu_5_2_logs_upgrade_exactly_and_round_trip() {
    for (name, moved) in [
        ("rv52-uboot-smode-serial", 0),
        ("rv52-uboot-virtio-blk", 0),
        ("rv52-linux-tiny", 13),
    ] {
        let a = std::fs::read(fixture("qemu-5.2", name)).unwrap();
        let (c, report) = to(&a, C72);
        assert_eq!(Reader::new(&c).unwrap().version(), C72);
        assert!(report.is_writable(), "{name}: {:?}", report.findings);
        // Groups after CP_CLOCK_VIRTUAL_RT move to the next CP_WA, and each
        // one is at the same icount with nothing guest-visible in between.
        assert_eq!(report.moves_total, moved, "{name}");
        assert_eq!(report.shifted, 0, "{name}");
        for m in &report.moves {
            assert_eq!(m.checkpoint, Checkpoint::ClockVirtualRt);
            assert!(m.is_exact(), "{name}: {m}");
        }
        assert!(
            !report
                .findings
                .iter()
                .any(|f| f.concern == Concern::ClockAfterGroup && moved > 0),
            "{name}: {:?}",
            report.findings
        );
        let (back, _) = to(&c, Version::E0200a);
        if moved == 0 {
            assert!(back == a, "{name}: a -> c -> a is not byte-exact");
        } else {
            // The moved groups come back after their CP_WA (where 0xe0200a
            // would have put input that arrived there); going up again
            // gives the same 0xe0200c log.
            assert!(back != a);
            assert!(to(&back, C72).0 == c, "{name}: c -> a -> c differs");
        }
    }
}

#[test]
fn qemu_10_logs_round_trip_c_a_c_byte_exact() {
    for name in [
        "rv-uboot-smode-serial",
        "rv-uboot-virtio-blk",
        "rv-linux-tiny-mincpu",
        "rv-uboot-mmode-mincpu-reset",
    ] {
        let c = std::fs::read(fixture("qemu-10.0.2", name)).unwrap();
        let (a, report) = to(&c, Version::E0200a);
        assert!(report.is_equivalent(), "{name}: {:?}", report.findings);
        let (back, _) = to(&a, C72);
        assert!(back == c, "{name}: c -> a -> c is not byte-exact");
    }
}

/// The upgraded 5.2 log has every async group directly before its
/// CP_CLOCK_WARP_ACCOUNT (with only side effects in between), and the same
/// events with the same icounts as the source, up to placement.
#[test]
fn upgraded_groups_sit_before_warp_account_at_the_same_icount() {
    for name in ["rv52-uboot-virtio-blk", "rv52-linux-tiny"] {
        groups_sit_before_warp_account(name);
    }
}

fn groups_sit_before_warp_account(name: &str) {
    let a = std::fs::read(fixture("qemu-5.2", name)).unwrap();
    let reader = Reader::new(&a).unwrap();
    let converted: Vec<_> = Converter::new(reader, Version::E0200a, C72)
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let mut icount = 0u64;
    let mut in_run = false;
    for c in &converted {
        icount += u64::from(c.event.instructions());
        // Moving events never moves an INSTRUCTION, so icounts agree.
        assert_eq!(icount, c.source.icount.0);
        match c.event {
            Event::Async { checkpoint, .. } => {
                assert_eq!(checkpoint, None);
                in_run = true;
            }
            Event::Checkpoint(Checkpoint::ClockWarpAccount) => in_run = false,
            Event::CharWrite { .. } | Event::Random { .. } => {}
            e => assert!(!in_run, "{e:?} inside an async run at source {}", c.source),
        }
    }
    assert_eq!(converted.len(), Reader::new(&a).unwrap().count());
}
