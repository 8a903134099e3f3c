//! Error types: reading ([`ReadError`]), writing ([`WriteError`]) and opening
//! a file ([`OpenError`]), plus [`Error`] that wraps all three.

use crate::units::{ByteOffset, EventIndex};
use std::path::PathBuf;
use thiserror::Error;

/// A log that could not be read. `offset` is where the offending event (or
/// the header, or the trailing data) starts, `index` the event's index.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("at byte offset {offset} (event #{index}): {kind}")]
pub struct ReadError {
    pub offset: ByteOffset,
    pub index: EventIndex,
    pub kind: ReadErrorKind,
}

/// What exactly is wrong. Each variant names the broken rule and carries the
/// value found.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ReadErrorKind {
    #[error("unknown REPLAY_VERSION {0:#010x} in the header (expected 0xe0200a, 0xe0200b, 0xe0200c, 0xe02007..0xe02009, or 0 for an unfinished log)")]
    UnknownVersion(u32),
    #[error("unknown event id {0:#04x} (not in this version's id table)")]
    UnknownEventId(u8),
    #[error("event id {0:#04x} is the reserved SHUTDOWN __MAX slot, which QEMU never writes")]
    ShutdownMaxSlot(u8),
    /// The file ends inside this event. `last_complete` is where the last
    /// complete event starts (the header end if there is none); the
    /// error's own `offset` is where the cut-off event starts.
    #[error("log cut off inside this event: at least {needed} more byte(s) expected; the last complete event starts at offset {last_complete}")]
    Truncated {
        needed: u64,
        last_complete: ByteOffset,
    },
    /// The file ends between events but before END.
    #[error("end of file without an END event; the last complete event starts at offset {last_complete}")]
    MissingEnd { last_complete: ByteOffset },
    #[error("{0} byte(s) after the END event")]
    TrailingBytes(u64),
    #[error("bad checkpoint byte {0} in an async event header (expected 0..=8)")]
    BadCheckpointByte(u8),
    #[error("bad async event kind {0} (not a kind of this version)")]
    BadAsyncKind(u8),
    #[error("bad InputEventKind {0} (expected 0..=4: key, btn, rel, abs, mtt)")]
    BadInputKind(u32),
    #[error("bad KeyValueKind {0} in a key event (expected 0 = number or 1 = qcode)")]
    BadKeyValueKind(u32),
    #[error("bad boolean byte {0} (expected 0 or 1)")]
    BadBool(u8),
    /// A declared array length that cannot be real: past the end of the
    /// file and above 16 MiB (QEMU's arrays are chardev reads, packets and
    /// random buffers, all far smaller). A smaller length past the end of
    /// the file is reported as `Truncated`, since a cut-off log looks so.
    #[error("array length {declared} is larger than the {available} byte(s) left in the file")]
    LengthTooLarge { declared: u64, available: u64 },
    #[error("the instruction count overflows 64 bits")]
    IcountOverflow,
}

impl ReadError {
    /// The offset of the first byte that is not part of a complete, valid
    /// event: where a repair would cut the log.
    pub fn valid_up_to(&self) -> ByteOffset {
        self.offset
    }
}

/// An event that cannot be written as asked.
#[derive(Debug, Error)]
pub enum WriteError {
    #[error("I/O error while writing the log at byte offset {offset}: {source}")]
    Io {
        offset: ByteOffset,
        #[source]
        source: std::io::Error,
    },
    #[error("{version} can only be read, not written")]
    ReadOnlyVersion { version: crate::Version },
    #[error("event #{index} ({event}) cannot be expressed in {version}: {why}")]
    EventNotInVersion {
        index: crate::EventIndex,
        event: &'static str,
        version: crate::Version,
        why: &'static str,
    },
    #[error("event #{index}: INSTRUCTION with a delta of 0 (QEMU never writes one)")]
    ZeroInstruction { index: EventIndex },
    #[error("event #{index}: INSTRUCTION directly after another INSTRUCTION (QEMU merges them)")]
    AdjacentInstruction { index: EventIndex },
    #[error("event #{index}: written after END")]
    AfterEnd { index: EventIndex },
    #[error("event #{index} ({event}): payload of {len} bytes does not fit the u32 length prefix")]
    ArrayTooLong {
        index: EventIndex,
        event: &'static str,
        len: usize,
    },
    #[error("event #{index}: AUDIO_IN has {bytes} sample bytes, but recorded = {recorded} needs recorded x 16")]
    AudioSamplesMismatch {
        index: EventIndex,
        recorded: u64,
        bytes: usize,
    },
}

/// A log file that could not be opened or mapped.
#[derive(Debug, Error)]
pub enum OpenError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: is a directory, not a replay log")]
    IsDirectory { path: PathBuf },
}

/// Any error of this crate.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Open(#[from] OpenError),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Result with this crate's [`enum@Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
