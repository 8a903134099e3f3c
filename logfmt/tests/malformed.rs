//! Hand-built malformed logs (via `test_util::LogBuilder`, not the writer):
//! each gives the right error kind at the right offset and index, and the
//! reader never panics.

use logfmt::test_util::LogBuilder;
use logfmt::{
    ByteOffset, Event, EventIndex, Numbering, ReadError, ReadErrorKind, ReadOptions, Reader,
    Version,
};

const C72: Version = Version::E0200c(Numbering::Qemu7_2);

/// Reads to the end, returning the events and the error (if any); also
/// checks that nothing comes after the error.
fn read(bytes: &[u8]) -> (Vec<Event<'_>>, Option<ReadError>) {
    let mut r = Reader::new(bytes).expect("header");
    let mut events = Vec::new();
    let mut err = None;
    for rec in r.by_ref() {
        match rec {
            Ok(rec) => events.push(rec.event),
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    assert!(
        r.next().is_none(),
        "iterator must be fused after an error or END"
    );
    (events, err)
}

/// A small 7.2 log with one of nearly every payload shape, ids as in spec
/// table 5.3 (7.2+ column).
fn small_log() -> LogBuilder {
    let mut b = LogBuilder::new(C72);
    b.id(37); // CP_INIT
    b.id(28).u64(1_700_000_000); // CLOCK_HOST
    b.id(27).u32(32).array(&[9; 32]); // RANDOM
    b.id(0).u32(1000); // INSTRUCTION
    b.id(2); // EXCEPTION
    b.id(22).u32(1).u32(1); // CHAR_WRITE
    b.id(7).u8(0).array(b"hi"); // ASYNC_CHAR_READ
    b.id(5).u32(0).u32(1).u32(36).u8(1); // ASYNC_INPUT key qcode a down
    b.id(6); // ASYNC_INPUT_SYNC
    b.id(8).u64(3); // ASYNC_BLOCK
    b.id(9).u8(0).u32(0).array(&[1, 2, 3]); // ASYNC_NET
    b.id(26).u64(1).u64(5).raw(&[7; 16]); // AUDIO_IN
    b.id(31); // CP_CLOCK_WARP_ACCOUNT
    b.id(0).u32(24);
    b.id(14); // SHUTDOWN host-signal
    b.id(39); // END
    b
}

#[test]
fn small_log_is_valid() {
    let b = small_log();
    let (events, err) = read(b.bytes());
    assert_eq!(err, None);
    assert_eq!(events.len(), b.events());
    assert_eq!(events.last(), Some(&Event::End));
}

/// Cut the small log at every byte: the header part fails in `Reader::new`,
/// every other cut yields all events before the cut and then exactly one
/// Truncated (inside an event) or MissingEnd (between events) error, at the
/// start of the cut event, naming the last complete one.
#[test]
fn truncation_at_every_byte() {
    let b = small_log();
    let full = b.bytes();
    for cut in 0..full.len() {
        let bytes = &full[..cut];
        if cut < 12 {
            let e = Reader::new(bytes).unwrap_err();
            assert_eq!(
                e.kind,
                ReadErrorKind::Truncated {
                    needed: (12 - cut) as u64,
                    last_complete: ByteOffset(0)
                }
            );
            continue;
        }
        // Forced version: with a cut the END byte is gone and detection
        // would trial-parse; the layout is known here.
        let opts = ReadOptions {
            version: Some(C72),
            numbering: None,
        };
        let mut r = Reader::with_options(bytes, opts).unwrap();
        let complete = (0..b.events()).filter(|&i| {
            let end = if i + 1 < b.events() {
                b.start(i + 1)
            } else {
                full.len() as u64
            };
            end <= cut as u64
        });
        let n_complete = complete.count();
        let mut seen = 0;
        let err = loop {
            match r.next().expect("must end in an error") {
                Ok(_) => seen += 1,
                Err(e) => break e,
            }
        };
        assert!(r.next().is_none());
        assert_eq!(seen, n_complete, "cut {cut}");
        let at = if n_complete < b.events() {
            b.start(n_complete)
        } else {
            unreachable!()
        };
        assert_eq!(err.offset, ByteOffset(at), "cut {cut}");
        assert_eq!(err.index, EventIndex(n_complete as u64), "cut {cut}");
        let last_complete = ByteOffset(if n_complete == 0 {
            12
        } else {
            b.start(n_complete - 1)
        });
        if at == cut as u64 {
            assert_eq!(
                err.kind,
                ReadErrorKind::MissingEnd { last_complete },
                "cut {cut}"
            );
        } else {
            let ReadErrorKind::Truncated {
                needed,
                last_complete: lc,
            } = err.kind
            else {
                panic!("cut {cut}: {err}");
            };
            assert_eq!(lc, last_complete, "cut {cut}");
            assert!(needed >= 1, "cut {cut}");
        }
    }
}

#[test]
fn truncated_needed_counts_missing_bytes() {
    let mut b = LogBuilder::new(C72);
    b.id(0).u32(5);
    let bytes = &b.bytes()[..b.len() - 3];
    let (_, err) = read(bytes);
    let err = err.unwrap();
    assert_eq!(
        err.kind,
        ReadErrorKind::Truncated {
            needed: 3,
            last_complete: ByteOffset(12)
        }
    );
}

#[test]
fn unknown_ids() {
    for (v, bad) in [
        (C72, 40u8),
        (Version::E0200c(Numbering::Qemu7_1), 39),
        (Version::E0200a, 33),
    ] {
        for id in [bad, 0x80, 0xff] {
            let mut b = LogBuilder::new(v);
            b.id(0).u32(1).id(id).id(v.end_id());
            let opts = ReadOptions {
                version: Some(v),
                numbering: None,
            };
            let r = Reader::with_options(b.bytes(), opts).unwrap();
            let err = r.last().unwrap().unwrap_err();
            assert_eq!(err.kind, ReadErrorKind::UnknownEventId(id), "{v}");
            assert_eq!(err.offset, ByteOffset(b.start(1)));
            assert_eq!(err.index, EventIndex(1));
        }
    }
}

#[test]
fn shutdown_max_slot_is_rejected() {
    for (v, id) in [
        (C72, 21u8),
        (Version::E0200c(Numbering::Qemu7_1), 20),
        (Version::E0200a, 14),
    ] {
        let mut b = LogBuilder::new(v);
        b.id(id).id(v.end_id());
        let opts = ReadOptions {
            version: Some(v),
            numbering: None,
        };
        let err = Reader::with_options(b.bytes(), opts)
            .unwrap()
            .last()
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind, ReadErrorKind::ShutdownMaxSlot(id), "{v}");
        assert_eq!(err.offset, ByteOffset(12));
    }
}

#[test]
fn bad_checkpoint_and_async_kind_bytes() {
    // 0xe0200a: 03 cp kind; cp 9 does not exist.
    let mut b = LogBuilder::new(Version::E0200a);
    b.id(24).id(3).u8(9).u8(4).u8(0).array(b"x").id(32);
    let (events, err) = read(b.bytes());
    assert_eq!(
        events,
        [Event::Checkpoint(logfmt::Checkpoint::ClockWarpAccount)]
    );
    let err = err.unwrap();
    assert_eq!(err.kind, ReadErrorKind::BadCheckpointByte(9));
    assert_eq!((err.offset, err.index), (ByteOffset(13), EventIndex(1)));

    // 0xe0200a: kind 7 does not exist.
    let mut b = LogBuilder::new(Version::E0200a);
    b.id(3).u8(1).u8(7).id(32);
    assert_eq!(
        read(b.bytes()).1.unwrap().kind,
        ReadErrorKind::BadAsyncKind(7)
    );

    // 0xe0200b: 03 kind; kind 200.
    let mut b = LogBuilder::new(Version::E0200b);
    b.id(0).u32(3).id(3).u8(200).id(32);
    let err = read(b.bytes()).1.unwrap();
    assert_eq!(err.kind, ReadErrorKind::BadAsyncKind(200));
    assert_eq!((err.offset, err.index), (ByteOffset(17), EventIndex(1)));

    // 0xe02007 has no BH_ONESHOT: kind 6 (NET there) is the last one.
    let mut b = LogBuilder::with_raw_header(0xe02007, [0; 8]);
    b.id(3).u8(1).u8(6).u64(0).id(31);
    assert_eq!(
        read(b.bytes()).1.unwrap().kind,
        ReadErrorKind::BadAsyncKind(6)
    );
}

#[test]
fn bad_input_payloads() {
    let cases: [(Vec<u8>, ReadErrorKind); 4] = [
        (vec![0, 0, 0, 5], ReadErrorKind::BadInputKind(5)),
        (
            vec![0xff, 0xff, 0xff, 0xff],
            ReadErrorKind::BadInputKind(u32::MAX),
        ),
        (
            vec![0, 0, 0, 0, 0, 0, 0, 2],
            ReadErrorKind::BadKeyValueKind(2),
        ),
        (vec![0, 0, 0, 1, 0, 0, 0, 0, 2], ReadErrorKind::BadBool(2)),
    ];
    for (payload, kind) in cases {
        let mut b = LogBuilder::new(C72);
        b.id(0).u32(10).id(5).raw(&payload).id(39);
        let err = read(b.bytes()).1.unwrap();
        assert_eq!(err.kind, kind);
        assert_eq!((err.offset, err.index), (ByteOffset(17), EventIndex(1)));
    }
}

#[test]
fn absurd_lengths() {
    // CHAR_READ_ALL, RANDOM, ASYNC_CHAR_READ and ASYNC_NET with 0xFFFFFFFF.
    let mut cases: Vec<LogBuilder> = Vec::new();
    let mut b = LogBuilder::new(C72);
    b.id(23).u32(u32::MAX).raw(b"abc");
    cases.push(b);
    let mut b = LogBuilder::new(C72);
    b.id(27).u32(0).u32(u32::MAX);
    cases.push(b);
    let mut b = LogBuilder::new(C72);
    b.id(7).u8(0).u32(u32::MAX).raw(&[0; 100]);
    cases.push(b);
    let mut b = LogBuilder::new(C72);
    b.id(9).u8(0).u32(0).u32(u32::MAX);
    cases.push(b);
    for b in cases {
        // Forced: these bytes do not end in END, and a wrong numbering's
        // trial parse may get further through garbage.
        let opts = ReadOptions {
            version: Some(C72),
            numbering: None,
        };
        let err = Reader::with_options(b.bytes(), opts)
            .unwrap()
            .last()
            .unwrap()
            .unwrap_err();
        let ReadErrorKind::LengthTooLarge {
            declared,
            available,
        } = err.kind
        else {
            panic!("{err}");
        };
        assert_eq!(declared, u64::from(u32::MAX));
        assert!(available < 200);
        assert_eq!((err.offset, err.index), (ByteOffset(12), EventIndex(0)));
        assert!(err.to_string().contains("4294967295"));
    }
    // AUDIO_IN whose sample count overflows recorded * 16.
    let mut b = LogBuilder::new(C72);
    b.id(26).u64(u64::MAX).u64(0);
    let opts = ReadOptions {
        version: Some(C72),
        numbering: None,
    };
    let err = Reader::with_options(b.bytes(), opts)
        .unwrap()
        .last()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err.kind, ReadErrorKind::LengthTooLarge { .. }),
        "{err}"
    );
}

#[test]
fn trailing_bytes_after_end() {
    let mut b = small_log();
    b.raw(&[0, 0, 0]);
    let (events, err) = read(b.bytes());
    assert_eq!(events.last(), Some(&Event::End));
    let err = err.unwrap();
    assert_eq!(err.kind, ReadErrorKind::TrailingBytes(3));
    assert_eq!(err.offset, ByteOffset(b.len() as u64 - 3));
    assert_eq!(err.index, EventIndex(b.events() as u64));
}

#[test]
fn unknown_version_and_unfinished_detection() {
    let b = LogBuilder::with_raw_header(0x1234_5678, [0; 8]);
    let e = Reader::new(b.bytes()).unwrap_err();
    assert_eq!(e.kind, ReadErrorKind::UnknownVersion(0x1234_5678));
    assert_eq!(e.offset, ByteOffset(0));
    assert!(e.to_string().contains("0x12345678"));

    // Version 0 + a 0xe0200a body: CLOCK_HOST (21) is the __MAX slot in
    // 7.2, RANDOM (20) the __MAX slot in 7.1; only 0xe0200a parses it.
    let mut b = LogBuilder::with_raw_header(0, [0; 8]);
    b.id(30)
        .id(21)
        .u64(5)
        .id(20)
        .u32(0)
        .array(b"x")
        .id(3)
        .u8(1)
        .u8(4)
        .u8(0)
        .array(b"h");
    b.id(0).u32(9);
    let r = Reader::new(b.bytes()).unwrap();
    assert!(r.is_unfinished());
    assert_eq!(r.version(), Version::E0200a);

    // Version 0 + a 7.1 body (CHAR_WRITE is 21 in 7.1, the __MAX slot in 7.2).
    let mut b = LogBuilder::with_raw_header(0, [0; 8]);
    b.id(36).id(0).u32(9).id(21).u32(1).u32(1);
    let r = Reader::new(b.bytes()).unwrap();
    assert!(r.is_unfinished());
    assert_eq!(r.version(), Version::E0200c(Numbering::Qemu7_1));
    let (events, err) = read(b.bytes());
    assert_eq!(events.len(), 3);
    assert_eq!(
        err.unwrap().kind,
        ReadErrorKind::MissingEnd {
            last_complete: ByteOffset(18)
        }
    );
}

#[test]
fn numbering_by_trial_when_last_byte_is_not_end() {
    // A 7.1 log with trailing garbage: last byte is neither 0x26 nor 0x27.
    let mut b = LogBuilder::new(Version::E0200c(Numbering::Qemu7_1));
    b.id(21).u32(1).u32(1).id(14).id(38).raw(&[0xAB]);
    let r = Reader::new(b.bytes()).unwrap();
    assert_eq!(r.version(), Version::E0200c(Numbering::Qemu7_1));
    assert_eq!(
        read(b.bytes()).1.unwrap().kind,
        ReadErrorKind::TrailingBytes(1)
    );
}

/// Random garbage after each header never panics and always ends.
#[test]
fn garbage_never_panics() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for v in Version::ALL {
        for _ in 0..2000 {
            let len = (next() % 64) as usize;
            let mut b = LogBuilder::new(v);
            for _ in 0..len {
                // Small values are ids and lengths that mean something.
                let x = next();
                b.u8(if x % 3 == 0 {
                    (x >> 8) as u8
                } else {
                    (x >> 8) as u8 % 48
                });
            }
            let opts = ReadOptions {
                version: Some(v),
                numbering: None,
            };
            let r = Reader::with_options(b.bytes(), opts).unwrap();
            let n = r.count();
            assert!(n <= len + 1);
            let _ = Reader::new(b.bytes()).map(|r| r.count());
        }
    }
}
