//! The property the fuzzers check, shared by the cargo-fuzz target
//! (`logfmt/fuzz`) and the stable driver (`tests/fuzz_driver.rs`) so both
//! run exactly the same code.
//!
//! For any input: reading never panics and ends; offsets are contiguous and
//! the instruction count is the prefix sum; an error is the last item and
//! sits where the reader stopped; and (for writable layouts) writing the
//! events back with the same header reproduces the input byte for byte up
//! to the first error.

use crate::{Event, ReadOptions, Reader, Version, Writer, HEADER_LEN};

/// Runs the property on `data`. The first byte picks the layout (forced to
/// one of [`Version::ALL`], or auto-detected), the rest is the log. Panics
/// if the property does not hold.
pub fn check(data: &[u8]) {
    let Some((&mode, log)) = data.split_first() else {
        return;
    };
    let forced = Version::ALL.get(usize::from(mode % 8)).copied();
    let opts = ReadOptions {
        version: forced,
        numbering: None,
    };
    let mut reader = match Reader::with_options(log, opts) {
        Ok(r) => r,
        Err(e) => {
            assert!(
                log.len() < HEADER_LEN || forced.is_none(),
                "header error with a forced layout: {e}"
            );
            return;
        }
    };
    let version = reader.version();
    let header = *reader.header();
    let mut writer = version
        .writable()
        .then(|| Writer::with_header(Vec::new(), version, header).expect("writable"));
    let mut expect_offset = HEADER_LEN as u64;
    let mut icount = 0u64;
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut failed = false;
    let mut valid_end = HEADER_LEN;
    for rec in reader.by_ref() {
        assert!(!failed, "item after an error");
        match rec {
            Ok(rec) => {
                assert_eq!(rec.offset.0, expect_offset);
                assert_eq!(rec.index.0, events.len() as u64);
                icount += u64::from(rec.event.instructions());
                assert_eq!(rec.icount.0, icount);
                expect_offset += u64::from(rec.len);
                valid_end = expect_offset as usize;
                if let Some(w) = writer.as_mut() {
                    w.write(&rec.event)
                        .expect("a parsed event must be writable");
                    assert_eq!(w.position().0, expect_offset);
                }
                events.push(rec.event);
            }
            Err(e) => {
                assert_eq!(e.offset.0, expect_offset, "{e}");
                assert_eq!(e.index.0, events.len() as u64);
                failed = true;
            }
        }
    }
    assert!(expect_offset as usize <= log.len());
    if let Some(w) = writer {
        let out = w.finish().expect("Vec never fails");
        assert!(out == log[..valid_end], "write-back differs from the input");
        let again = Reader::with_options(
            &out,
            ReadOptions {
                version: Some(version),
                numbering: None,
            },
        )
        .expect("header")
        .map_while(Result::ok)
        .map(|r| r.event);
        assert!(again.eq(events.iter().copied()), "re-read differs");
    }
}
