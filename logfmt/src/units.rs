//! Numbers with a unit. A byte offset, an event index and an instruction
//! count are all `u64` on the wire or in memory; wrapping them keeps them from
//! being mixed up in signatures such as `ReadError { offset, index }`.

use std::fmt;

/// A position in the log file, counted in bytes from the start of the file
/// (the header included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct ByteOffset(pub u64);

/// The zero-based position of an event in the stream (the first event after
/// the header has index 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EventIndex(pub u64);

/// A guest instruction count: the prefix sum of INSTRUCTION deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Icount(pub u64);

impl fmt::Display for ByteOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for EventIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Icount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The offset `n` bytes further on.
impl std::ops::Add<u64> for ByteOffset {
    type Output = ByteOffset;
    fn add(self, n: u64) -> ByteOffset {
        ByteOffset(self.0 + n)
    }
}

impl From<ByteOffset> for u64 {
    fn from(v: ByteOffset) -> u64 {
        v.0
    }
}

impl From<EventIndex> for u64 {
    fn from(v: EventIndex) -> u64 {
        v.0
    }
}

impl From<Icount> for u64 {
    fn from(v: Icount) -> u64 {
        v.0
    }
}
