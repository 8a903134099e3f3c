//! `logfmt`: QEMU record/replay log (`replay.bin`) reader and writer.
//!
//! See `docs/format.md` and the crate README for the supported versions.

pub mod convert;
pub mod event;

pub use event::{AsyncEvent, AsyncKind, Checkpoint, ClockKind, Event, InputEvent, ShutdownCause};
