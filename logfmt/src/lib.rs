//! `logfmt`: QEMU record/replay log (`replay.bin`) reader and writer.
//!
//! * [`Reader`] iterates the events of an in-memory log (zero-copy, no
//!   allocation per event), detecting the version, the 0xe0200c numbering
//!   and unfinished logs; [`MappedLog`] maps a file and lends readers.
//! * [`Writer`] writes events back, byte-exact with what QEMU writes.
//! * [`Event`] is the version-independent model; [`OwnedEvent`] owns its
//!   payload bytes.
//!
//! See the crate README and `shared/docs/replay-format.md` for the format.

pub mod convert;
mod defs;
mod error;
pub mod event;
#[cfg(any(test, feature = "test-utils"))]
pub mod fuzz_target;
mod mapped;
pub mod names;
mod read;
#[cfg(any(test, feature = "test-utils"))]
pub mod test_util;
mod units;
mod write;

pub use defs::{Header, Numbering, Version, HEADER_LEN};
pub use error::{Error, OpenError, ReadError, ReadErrorKind, Result, WriteError};
pub use event::{
    AsyncEvent, AsyncKind, Checkpoint, ClockKind, Event, InputEvent, OwnedAsyncEvent, OwnedEvent,
    ShutdownCause, ALL_KIND_NAMES,
};
pub use mapped::MappedLog;
pub use read::{ReadOptions, Reader, Record};
pub use units::{ByteOffset, EventIndex, Icount};
pub use write::Writer;

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
