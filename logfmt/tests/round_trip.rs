//! Writer -> Reader round trips: every Event variant in every writable
//! version, then random event streams (proptest).

use logfmt::{
    AsyncEvent, Checkpoint, ClockKind, Event, Header, InputEvent, Numbering, OwnedAsyncEvent,
    OwnedEvent, ReadOptions, Reader, ShutdownCause, Version, WriteError, Writer,
};
use proptest::prelude::*;

const CAUSES: [ShutdownCause; 11] = [
    ShutdownCause::None,
    ShutdownCause::HostError,
    ShutdownCause::HostQmpQuit,
    ShutdownCause::HostQmpSystemReset,
    ShutdownCause::HostSignal,
    ShutdownCause::HostUi,
    ShutdownCause::GuestShutdown,
    ShutdownCause::GuestReset,
    ShutdownCause::GuestPanic,
    ShutdownCause::SubsystemReset,
    ShutdownCause::SnapshotLoad,
];

const CHECKPOINTS: [Checkpoint; 9] = [
    Checkpoint::ClockWarpStart,
    Checkpoint::ClockWarpAccount,
    Checkpoint::ResetRequested,
    Checkpoint::SuspendRequested,
    Checkpoint::ClockVirtual,
    Checkpoint::ClockHost,
    Checkpoint::ClockVirtualRt,
    Checkpoint::Init,
    Checkpoint::Reset,
];

fn has_snapshot_load(v: Version) -> bool {
    v == Version::E0200c(Numbering::Qemu7_2)
}

/// The checkpoint byte an async event needs in `v`.
fn async_cp(v: Version, cp: Checkpoint) -> Option<Checkpoint> {
    (v == Version::E0200a).then_some(cp)
}

fn inputs() -> Vec<InputEvent> {
    vec![
        InputEvent::KeyNumber {
            number: 0x1234_5678_9abc,
            down: true,
        },
        InputEvent::KeyQcode {
            qcode: 36,
            down: false,
        },
        InputEvent::Btn {
            button: 2,
            down: true,
        },
        InputEvent::Rel {
            axis: 0,
            value: u64::MAX,
        },
        InputEvent::Abs {
            axis: 1,
            value: 0x7ffff,
        },
        InputEvent::Mtt {
            kind: 4,
            slot: 3,
            tracking_id: 99,
            axis: 1,
            value: 17,
        },
    ]
}

/// One of every variant (and every cause, checkpoint, clock, input kind)
/// that `v` can hold.
fn every_variant(v: Version) -> Vec<OwnedEvent> {
    let cp = |c| async_cp(v, c);
    let mut out = vec![
        OwnedEvent::Instruction(1),
        OwnedEvent::Interrupt,
        OwnedEvent::Instruction(u32::MAX),
        OwnedEvent::Exception,
    ];
    let asyncs = [
        OwnedAsyncEvent::Bh { id: 7 },
        OwnedAsyncEvent::BhOneshot { id: u64::MAX },
        OwnedAsyncEvent::InputSync,
        OwnedAsyncEvent::CharRead {
            chardev: 0,
            data: b"hello\r".to_vec(),
        },
        OwnedAsyncEvent::CharRead {
            chardev: 255,
            data: vec![],
        },
        OwnedAsyncEvent::Block { id: 15 },
        OwnedAsyncEvent::Net {
            filter: 1,
            flags: 0xdead_beef,
            packet: vec![0xaa; 1514],
        },
    ];
    for a in asyncs {
        out.push(OwnedEvent::Async {
            checkpoint: cp(Checkpoint::ClockWarpAccount),
            event: a,
        });
    }
    for i in inputs() {
        out.push(OwnedEvent::Async {
            checkpoint: cp(Checkpoint::ClockHost),
            event: OwnedAsyncEvent::Input(i),
        });
    }
    for c in CAUSES {
        if c != ShutdownCause::SnapshotLoad || has_snapshot_load(v) {
            out.push(OwnedEvent::Shutdown(c));
        }
    }
    out.extend([
        OwnedEvent::CharWrite { res: 1, offset: 1 },
        OwnedEvent::CharWrite {
            res: (-5i32) as u32,
            offset: 0,
        },
        OwnedEvent::CharReadAll(b"abc".to_vec()),
        OwnedEvent::CharReadAllError((-11i32) as u32),
        OwnedEvent::AudioOut { played: 4096 },
        OwnedEvent::AudioIn {
            recorded: 2,
            wpos: 10,
            samples: (0u8..32).collect(),
        },
        OwnedEvent::AudioIn {
            recorded: 0,
            wpos: 0,
            samples: vec![],
        },
        OwnedEvent::Random {
            ret: 0,
            data: vec![0x5a; 32],
        },
        OwnedEvent::Clock {
            kind: ClockKind::Host,
            value: 1_700_000_000_000_000_000,
        },
        OwnedEvent::Clock {
            kind: ClockKind::VirtualRt,
            value: u64::MAX,
        },
    ]);
    for c in CHECKPOINTS {
        out.push(OwnedEvent::Checkpoint(c));
    }
    out.push(OwnedEvent::End);
    out
}

fn write_all(v: Version, events: &[OwnedEvent]) -> Vec<u8> {
    let mut w = Writer::new(Vec::new(), v).unwrap();
    for e in events {
        w.write(&e.as_event()).unwrap();
    }
    assert_eq!(w.events_written(), events.len() as u64);
    w.finish().unwrap()
}

/// Reads with the version forced, so the test does not depend on detection.
fn read_all(v: Version, bytes: &[u8]) -> Vec<OwnedEvent> {
    let opts = ReadOptions {
        version: Some(v),
        numbering: None,
    };
    Reader::with_options(bytes, opts)
        .unwrap()
        .map(|r| r.unwrap().event.to_owned())
        .collect()
}

#[test]
fn every_variant_in_every_writable_version() {
    for v in Version::WRITABLE {
        let events = every_variant(v);
        let bytes = write_all(v, &events);
        assert_eq!(bytes[..4], v.raw().to_be_bytes());
        assert_eq!(*bytes.last().unwrap(), v.end_id());
        assert_eq!(read_all(v, &bytes), events, "{v}");
        // Detection alone finds the same version (END byte for 0xe0200c).
        assert_eq!(Reader::new(&bytes).unwrap().version(), v);
    }
}

/// Exact bytes of a few events, straight from the spec tables, so the
/// writer and reader cannot agree on a wrong encoding.
#[test]
fn known_encodings() {
    let enc = |v: Version, e: Event| {
        let mut w = Writer::new(Vec::new(), v).unwrap();
        w.write(&e).unwrap();
        w.finish().unwrap()[12..].to_vec()
    };
    let char_read = |cp| Event::Async {
        checkpoint: cp,
        event: AsyncEvent::CharRead {
            chardev: 0,
            data: b"h",
        },
    };
    // spec section 0: `03 01 04 00 00000001 68`
    assert_eq!(
        enc(
            Version::E0200a,
            char_read(Some(Checkpoint::ClockWarpAccount))
        ),
        [3, 1, 4, 0, 0, 0, 0, 1, 0x68]
    );
    assert_eq!(
        enc(Version::E0200b, char_read(None)),
        [3, 4, 0, 0, 0, 0, 1, 0x68]
    );
    assert_eq!(
        enc(Version::LATEST, char_read(None)),
        [7, 0, 0, 0, 0, 1, 0x68]
    );
    // spec 6.3: `05 | 00000000 00000001 00000024 01`
    let key = Event::Async {
        checkpoint: None,
        event: AsyncEvent::Input(InputEvent::KeyQcode {
            qcode: 36,
            down: true,
        }),
    };
    assert_eq!(
        enc(Version::LATEST, key),
        [5, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x24, 1]
    );
    let tail = |v| {
        [
            enc(v, Event::Shutdown(ShutdownCause::HostSignal)),
            enc(v, Event::End),
        ]
        .concat()
    };
    assert_eq!(tail(Version::E0200a), [0x08, 0x20]);
    assert_eq!(tail(Version::E0200c(Numbering::Qemu7_1)), [0x0e, 0x26]);
    assert_eq!(tail(Version::LATEST), [0x0e, 0x27]);
    assert_eq!(
        enc(Version::LATEST, Event::CharWrite { res: 1, offset: 1 }),
        [22, 0, 0, 0, 1, 0, 0, 0, 1]
    );
}

#[test]
fn writer_rejects_what_a_version_cannot_hold() {
    let mut w = Writer::new(Vec::new(), Version::E0200c(Numbering::Qemu7_1)).unwrap();
    let e = w
        .write(&Event::Shutdown(ShutdownCause::SnapshotLoad))
        .unwrap_err();
    assert!(matches!(
        e,
        WriteError::EventNotInVersion {
            event: "SHUTDOWN_SNAPSHOT_LOAD",
            ..
        }
    ));
    let mut w = Writer::new(Vec::new(), Version::E0200a).unwrap();
    let no_cp = Event::Async {
        checkpoint: None,
        event: AsyncEvent::InputSync,
    };
    assert!(matches!(
        w.write(&no_cp).unwrap_err(),
        WriteError::EventNotInVersion { .. }
    ));
    let mut w = Writer::new(Vec::new(), Version::LATEST).unwrap();
    let with_cp = Event::Async {
        checkpoint: Some(Checkpoint::Init),
        event: AsyncEvent::InputSync,
    };
    assert!(matches!(
        w.write(&with_cp).unwrap_err(),
        WriteError::EventNotInVersion { .. }
    ));
    let bad_audio = Event::AudioIn {
        recorded: 3,
        wpos: 0,
        samples: &[0; 16],
    };
    assert!(matches!(
        w.write(&bad_audio).unwrap_err(),
        WriteError::AudioSamplesMismatch { .. }
    ));
    // Nothing of the refused events was written.
    assert_eq!(w.events_written(), 0);
    assert_eq!(w.finish().unwrap().len(), 12);
    for v in [Version::E02009, Version::E02008, Version::E02007] {
        assert!(matches!(
            Writer::new(Vec::new(), v).unwrap_err(),
            WriteError::ReadOnlyVersion { .. }
        ));
    }
}

#[test]
fn strict_mode_checks_instruction_rules() {
    let mut w = Writer::new(Vec::new(), Version::LATEST)
        .unwrap()
        .strict(true);
    assert!(matches!(
        w.write(&Event::Instruction(0)).unwrap_err(),
        WriteError::ZeroInstruction { .. }
    ));
    w.write(&Event::Instruction(5)).unwrap();
    assert!(matches!(
        w.write(&Event::Instruction(5)).unwrap_err(),
        WriteError::AdjacentInstruction { .. }
    ));
    w.write(&Event::End).unwrap();
    assert!(matches!(
        w.write(&Event::Exception).unwrap_err(),
        WriteError::AfterEnd { .. }
    ));
    // Lenient (default) mode writes all of these, as a parsed log may hold them.
    let mut w = Writer::new(Vec::new(), Version::LATEST).unwrap();
    w.write(&Event::Instruction(0)).unwrap();
    w.write(&Event::Instruction(0)).unwrap();
}

#[test]
fn unusual_header_is_kept_by_with_header() {
    let header = Header {
        raw_version: 0,
        reserved: [1, 2, 3, 4, 5, 6, 7, 8],
    };
    let mut w = Writer::with_header(Vec::new(), Version::E0200a, header).unwrap();
    w.write(&Event::Checkpoint(Checkpoint::Init)).unwrap();
    let bytes = w.finish().unwrap();
    assert_eq!(bytes[..12], header.to_bytes());
    let r = Reader::new(&bytes).unwrap();
    assert!(r.is_unfinished());
    assert_eq!(*r.header(), header);
}

// ---- property tests ----

fn checkpoint() -> impl Strategy<Value = Checkpoint> {
    (0usize..9).prop_map(|i| CHECKPOINTS[i])
}

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn input() -> impl Strategy<Value = InputEvent> {
    prop_oneof![
        (any::<u64>(), any::<bool>())
            .prop_map(|(number, down)| InputEvent::KeyNumber { number, down }),
        (any::<u32>(), any::<bool>())
            .prop_map(|(qcode, down)| InputEvent::KeyQcode { qcode, down }),
        (any::<u32>(), any::<bool>()).prop_map(|(button, down)| InputEvent::Btn { button, down }),
        (any::<u32>(), any::<u64>()).prop_map(|(axis, value)| InputEvent::Rel { axis, value }),
        (any::<u32>(), any::<u64>()).prop_map(|(axis, value)| InputEvent::Abs { axis, value }),
        (
            any::<u32>(),
            any::<u64>(),
            any::<u64>(),
            any::<u32>(),
            any::<u64>()
        )
            .prop_map(|(kind, slot, tracking_id, axis, value)| InputEvent::Mtt {
                kind,
                slot,
                tracking_id,
                axis,
                value
            }),
    ]
}

fn async_event() -> impl Strategy<Value = OwnedAsyncEvent> {
    prop_oneof![
        any::<u64>().prop_map(|id| OwnedAsyncEvent::Bh { id }),
        any::<u64>().prop_map(|id| OwnedAsyncEvent::BhOneshot { id }),
        input().prop_map(OwnedAsyncEvent::Input),
        Just(OwnedAsyncEvent::InputSync),
        (any::<u8>(), bytes(64))
            .prop_map(|(chardev, data)| OwnedAsyncEvent::CharRead { chardev, data }),
        any::<u64>().prop_map(|id| OwnedAsyncEvent::Block { id }),
        (any::<u8>(), any::<u32>(), bytes(256)).prop_map(|(filter, flags, packet)| {
            OwnedAsyncEvent::Net {
                filter,
                flags,
                packet,
            }
        }),
    ]
}

/// Any event `v` can hold, END excluded.
fn event(v: Version) -> impl Strategy<Value = OwnedEvent> {
    let n_causes: usize = if has_snapshot_load(v) { 11 } else { 10 };
    prop_oneof![
        4 => any::<u32>().prop_map(OwnedEvent::Instruction),
        1 => Just(OwnedEvent::Interrupt),
        2 => Just(OwnedEvent::Exception),
        2 => (checkpoint(), async_event())
            .prop_map(move |(cp, event)| OwnedEvent::Async { checkpoint: async_cp(v, cp), event }),
        1 => (0..n_causes).prop_map(|i| OwnedEvent::Shutdown(CAUSES[i])),
        2 => (any::<u32>(), any::<u32>()).prop_map(|(res, offset)| OwnedEvent::CharWrite { res, offset }),
        1 => bytes(32).prop_map(OwnedEvent::CharReadAll),
        1 => any::<u32>().prop_map(OwnedEvent::CharReadAllError),
        1 => any::<u64>().prop_map(|played| OwnedEvent::AudioOut { played }),
        1 => (0u64..4, any::<u64>(), any::<u64>()).prop_map(|(recorded, wpos, seed)| OwnedEvent::AudioIn {
            recorded,
            wpos,
            samples: (0..recorded * 16).map(|i| (seed >> (i % 64)) as u8).collect(),
        }),
        1 => (any::<u32>(), bytes(48)).prop_map(|(ret, data)| OwnedEvent::Random { ret, data }),
        1 => (any::<bool>(), any::<u64>()).prop_map(|(h, value)| OwnedEvent::Clock {
            kind: if h { ClockKind::Host } else { ClockKind::VirtualRt },
            value
        }),
        2 => checkpoint().prop_map(OwnedEvent::Checkpoint),
    ]
}

fn version() -> impl Strategy<Value = Version> {
    (0usize..4).prop_map(|i| Version::WRITABLE[i])
}

fn stream() -> impl Strategy<Value = (Version, Vec<OwnedEvent>)> {
    version().prop_flat_map(|v| (Just(v), prop::collection::vec(event(v), 0..60)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random valid streams written and re-read give the same events, the
    /// same offsets and the same running instruction count.
    #[test]
    fn random_streams_round_trip((v, mut events) in stream()) {
        events.push(OwnedEvent::End);
        let bytes = write_all(v, &events);
        let opts = ReadOptions { version: Some(v), numbering: None };
        let mut icount = 0u64;
        let mut offset = 12u64;
        let mut got = Vec::new();
        for rec in Reader::with_options(&bytes, opts).unwrap() {
            let rec = rec.unwrap();
            icount += u64::from(rec.event.instructions());
            prop_assert_eq!(rec.icount.0, icount);
            prop_assert_eq!(rec.offset.0, offset);
            offset += u64::from(rec.len);
            got.push(rec.event.to_owned());
        }
        prop_assert_eq!(offset, bytes.len() as u64);
        prop_assert_eq!(got, events);
    }

    /// Every prefix of a valid log is reported as cut off (or, right after
    /// an event, as missing END), never as anything else.
    #[test]
    fn prefixes_report_truncation((v, mut events) in stream(), cut in any::<prop::sample::Index>()) {
        events.push(OwnedEvent::End);
        let bytes = write_all(v, &events);
        let cut = 12 + cut.index(bytes.len() - 12);
        let opts = ReadOptions { version: Some(v), numbering: None };
        let last = Reader::with_options(&bytes[..cut], opts).unwrap().last().unwrap();
        let err = last.unwrap_err();
        prop_assert_eq!(err.offset.0 as usize <= cut, true);
        prop_assert!(matches!(
            err.kind,
            logfmt::ReadErrorKind::Truncated { .. } | logfmt::ReadErrorKind::MissingEnd { .. }
        ), "{}", err);
    }
}
