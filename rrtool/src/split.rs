//! Splitting one log between two threads.
//!
//! Events have no framing, so a thread starting in the middle of a file
//! cannot know where an event begins. It guesses: decoding from any byte
//! falls into step with the true event sequence within a few events (ids
//! are dense, payloads short), so it decodes a warm-up stretch from the
//! middle and starts right after the first EXCEPTION or INTERRUPT after it.
//! There the per-event checkers are in their initial state (no async group
//! or run open, the previous event is not an INSTRUCTION or SHUTDOWN).
//!
//! The thread reading from the start stops at that offset and confirms it
//! lands on it exactly; otherwise the guess is discarded and the first
//! thread reads on alone. No result ever depends on the guess.

use logfmt::{ByteOffset, Event, EventIndex, Icount, Reader};

/// Smaller logs are read by one thread: starting a second costs more.
pub const SPLIT_MIN_BYTES: u64 = 8 << 20;

/// Events decoded before a start is chosen, to fall into step.
const WARM_UP: u32 = 4096;

/// Events searched for an EXCEPTION or INTERRUPT after the warm-up.
const SEARCH: u32 = 1 << 16;

/// Whether a second thread can help for a log of `len` bytes.
/// `RRTOOL_ONE_THREAD=1` turns splitting off (for benchmarks and tests
/// comparing both ways).
pub fn worth_splitting(len: u64) -> bool {
    len >= SPLIT_MIN_BYTES
        && std::env::var_os("RRTOOL_ONE_THREAD").is_none()
        && std::thread::available_parallelism().is_ok_and(|n| n.get() >= 2)
}

/// Where a second thread should start reading (see the module comment),
/// searching from byte `from`; `None` if no EXCEPTION or INTERRUPT shows up.
pub fn second_start(reader: &Reader<'_>, from: u64) -> Option<u64> {
    let end = reader.data().len() as u64;
    let mut pos = from;
    let mut steps = 0u32;
    while pos < end && steps < WARM_UP + SEARCH {
        let mut r = reader.resume(ByteOffset(pos), EventIndex(0), Icount(0))?;
        match r.next() {
            Some(Ok(rec)) => {
                pos += u64::from(rec.len);
                steps += 1;
                if steps > WARM_UP && matches!(rec.event, Event::Exception | Event::Interrupt) {
                    return Some(pos);
                }
            }
            // Not an event here (or the end): step one byte and warm up again.
            _ => {
                pos += 1;
                steps = 0;
            }
        }
    }
    None
}
