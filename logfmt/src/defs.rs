//! Format definitions as data: the versions, the header, and for each version
//! the table that maps an event id byte to what follows it.
//!
//! Reading and writing both derive every id from one [`Layout`] per version,
//! so the two directions cannot disagree. The id tables follow spec sections
//! 4, 5 and 11 (`shared/docs/replay-format.md`).

use crate::event::{AsyncKind, Checkpoint, ClockKind, ShutdownCause};
use std::fmt;

/// Size of the file header: u32 version + 8 reserved bytes.
pub const HEADER_LEN: usize = 12;

/// Which ShutdownCause list a 0xe0200c log was written with. QEMU 7.2 added
/// `snapshot-load` without bumping REPLAY_VERSION, which moved every id from
/// CHAR_WRITE upwards by one (spec section 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Numbering {
    /// QEMU 7.1: 10 shutdown causes, END = 38.
    Qemu7_1,
    /// QEMU 7.2 and later: 11 shutdown causes, END = 39.
    Qemu7_2,
}

/// A log format version (the u32 in the header, plus the numbering for
/// 0xe0200c). The last three are read-only: no QEMU we can run wrote them,
/// so we do not produce them either.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// QEMU 5.1 .. 7.0: async events carry a checkpoint byte and a kind byte.
    E0200a,
    /// Git-only (June 2022): async header is the kind byte alone.
    E0200b,
    /// QEMU 7.1 onwards: the async kind is folded into the event id.
    E0200c(Numbering),
    /// QEMU 5.0: same bytes as 0xe0200a.
    E02009,
    /// QEMU 4.2: no RANDOM event.
    E02008,
    /// QEMU 2.10 .. 4.1: no BH_ONESHOT kind (10 shutdown causes assumed,
    /// as in 4.1; earlier releases had fewer).
    E02007,
}

impl Version {
    /// The newest layout: what a QEMU 7.2 .. 10.x writes.
    pub const LATEST: Version = Version::E0200c(Numbering::Qemu7_2);

    /// Every version this crate can read.
    pub const ALL: [Version; 7] = [
        Version::E0200a,
        Version::E0200b,
        Version::E0200c(Numbering::Qemu7_1),
        Version::E0200c(Numbering::Qemu7_2),
        Version::E02009,
        Version::E02008,
        Version::E02007,
    ];

    /// Every version this crate can write.
    pub const WRITABLE: [Version; 4] = [
        Version::E0200a,
        Version::E0200b,
        Version::E0200c(Numbering::Qemu7_1),
        Version::E0200c(Numbering::Qemu7_2),
    ];

    /// The REPLAY_VERSION value stored in the header.
    pub fn raw(self) -> u32 {
        match self {
            Version::E0200a => 0xe0200a,
            Version::E0200b => 0xe0200b,
            Version::E0200c(_) => 0xe0200c,
            Version::E02009 => 0xe02009,
            Version::E02008 => 0xe02008,
            Version::E02007 => 0xe02007,
        }
    }

    /// The version for a header value. `numbering` only matters for
    /// 0xe0200c; `None` there means the current numbering (7.2+).
    pub fn from_raw(raw: u32, numbering: Option<Numbering>) -> Option<Version> {
        Some(match raw {
            0xe0200a => Version::E0200a,
            0xe0200b => Version::E0200b,
            0xe0200c => Version::E0200c(numbering.unwrap_or(Numbering::Qemu7_2)),
            0xe02009 => Version::E02009,
            0xe02008 => Version::E02008,
            0xe02007 => Version::E02007,
            _ => return None,
        })
    }

    /// The header value in QEMU's spelling, e.g. `"0xe0200c"`.
    pub fn name(self) -> &'static str {
        match self {
            Version::E0200a => "0xe0200a",
            Version::E0200b => "0xe0200b",
            Version::E0200c(_) => "0xe0200c",
            Version::E02009 => "0xe02009",
            Version::E02008 => "0xe02008",
            Version::E02007 => "0xe02007",
        }
    }

    /// Whether [`crate::Writer`] accepts this version.
    pub fn writable(self) -> bool {
        matches!(self, Version::E0200a | Version::E0200b | Version::E0200c(_))
    }

    /// The numbering, for 0xe0200c only.
    pub fn numbering(self) -> Option<Numbering> {
        match self {
            Version::E0200c(n) => Some(n),
            _ => None,
        }
    }

    /// The id of the END event, which is also the last byte of a closed log.
    pub fn end_id(self) -> u8 {
        self.layout().ids.end
    }

    pub(crate) fn layout(self) -> &'static Layout {
        match self {
            Version::E0200a | Version::E02009 => &LAYOUT_A,
            Version::E0200b => &LAYOUT_B,
            Version::E0200c(Numbering::Qemu7_1) => &LAYOUT_C71,
            Version::E0200c(Numbering::Qemu7_2) => &LAYOUT_C72,
            Version::E02008 => &LAYOUT_08,
            Version::E02007 => &LAYOUT_07,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Version::E0200c(Numbering::Qemu7_1) => f.write_str("0xe0200c (QEMU 7.1 numbering)"),
            Version::E0200c(Numbering::Qemu7_2) => f.write_str("0xe0200c (QEMU 7.2+ numbering)"),
            v => f.write_str(v.name()),
        }
    }
}

/// The 12-byte file header exactly as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Header {
    /// The u32 at offset 0. 0 means QEMU never reached `replay_finish`.
    pub raw_version: u32,
    /// Bytes 4..12. QEMU never writes them, so they are zero in real logs.
    pub reserved: [u8; 8],
}

impl Header {
    /// The header QEMU leaves for a closed log of `version`.
    pub fn for_version(version: Version) -> Header {
        Header {
            raw_version: version.raw(),
            reserved: [0; 8],
        }
    }

    /// The stored bytes.
    pub fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[..4].copy_from_slice(&self.raw_version.to_be_bytes());
        b[4..].copy_from_slice(&self.reserved);
        b
    }
}

/// How a version writes the header of an asynchronous event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AsyncHeader {
    /// `03 checkpoint kind` (0xe0200a and older).
    CheckpointThenKind,
    /// `03 kind` (0xe0200b).
    KindByte,
    /// `03+kind` (0xe0200c).
    InId,
}

/// What an id byte announces. One 256-entry table of these per version is
/// the reader's dispatch: one load and one match per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Invalid,
    Instruction,
    Interrupt,
    Exception,
    /// Id 3 in versions whose async kind is a separate byte.
    AsyncHeader,
    /// An id of the 0xe0200c async range.
    Async(AsyncKind),
    Shutdown(ShutdownCause),
    /// The `__MAX` slot at the end of the shutdown range: reserved, never
    /// written by QEMU, and not an event we can represent.
    ShutdownMax,
    CharWrite,
    CharReadAll,
    CharReadAllError,
    AudioOut,
    AudioIn,
    Random,
    Clock(ClockKind),
    Checkpoint(Checkpoint),
    End,
}

/// The first id of each event group in one version.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ids {
    pub shutdown: u8,
    pub char_write: u8,
    pub char_read_all: u8,
    pub char_read_all_error: u8,
    pub audio_out: u8,
    pub audio_in: u8,
    /// None before 0xe02009.
    pub random: Option<u8>,
    pub clock: u8,
    pub checkpoint: u8,
    pub end: u8,
}

/// Everything that differs between versions.
#[derive(Debug)]
pub(crate) struct Layout {
    pub async_header: AsyncHeader,
    /// Wire kind number -> kind.
    pub async_kinds: &'static [AsyncKind],
    /// Number of ShutdownCause values (the range holds one more id).
    pub shutdown_causes: u8,
    pub ids: Ids,
    pub table: [Slot; 256],
}

/// The fixed id of INSTRUCTION, INTERRUPT, EXCEPTION and the (first) async id.
pub(crate) const ID_INSTRUCTION: u8 = 0;
pub(crate) const ID_INTERRUPT: u8 = 1;
pub(crate) const ID_EXCEPTION: u8 = 2;
pub(crate) const ID_ASYNC: u8 = 3;

const ASYNC_KINDS: [AsyncKind; 7] = [
    AsyncKind::Bh,
    AsyncKind::BhOneshot,
    AsyncKind::Input,
    AsyncKind::InputSync,
    AsyncKind::CharRead,
    AsyncKind::Block,
    AsyncKind::Net,
];

/// 0xe02007 had no BH_ONESHOT; the kinds after BH are one lower.
const ASYNC_KINDS_07: [AsyncKind; 6] = [
    AsyncKind::Bh,
    AsyncKind::Input,
    AsyncKind::InputSync,
    AsyncKind::CharRead,
    AsyncKind::Block,
    AsyncKind::Net,
];

pub(crate) const SHUTDOWN_CAUSES: [ShutdownCause; 11] = [
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

pub(crate) const CHECKPOINTS: [Checkpoint; 9] = [
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

const CLOCKS: [ClockKind; 2] = [ClockKind::Host, ClockKind::VirtualRt];

/// Builds a layout the way QEMU builds its id enum (spec section 4):
/// INSTRUCTION, INTERRUPT, EXCEPTION, ASYNC (one id or a range), SHUTDOWN
/// range (causes + 1), CHAR_WRITE, CHAR_READ_ALL, CHAR_READ_ALL_ERROR,
/// AUDIO_OUT, AUDIO_IN, [RANDOM], CLOCK x2, CHECKPOINT x9, END.
const fn layout(
    async_header: AsyncHeader,
    async_kinds: &'static [AsyncKind],
    shutdown_causes: u8,
    has_random: bool,
) -> Layout {
    let mut table = [Slot::Invalid; 256];
    table[ID_INSTRUCTION as usize] = Slot::Instruction;
    table[ID_INTERRUPT as usize] = Slot::Interrupt;
    table[ID_EXCEPTION as usize] = Slot::Exception;
    let mut id = ID_ASYNC as usize;
    match async_header {
        AsyncHeader::InId => {
            let mut k = 0;
            while k < async_kinds.len() {
                table[id] = Slot::Async(async_kinds[k]);
                id += 1;
                k += 1;
            }
        }
        AsyncHeader::CheckpointThenKind | AsyncHeader::KindByte => {
            table[id] = Slot::AsyncHeader;
            id += 1;
        }
    }
    let shutdown = id as u8;
    let mut c = 0;
    while c < shutdown_causes as usize {
        table[id] = Slot::Shutdown(SHUTDOWN_CAUSES[c]);
        id += 1;
        c += 1;
    }
    table[id] = Slot::ShutdownMax;
    id += 1;
    let char_write = id as u8;
    table[id] = Slot::CharWrite;
    table[id + 1] = Slot::CharReadAll;
    table[id + 2] = Slot::CharReadAllError;
    table[id + 3] = Slot::AudioOut;
    table[id + 4] = Slot::AudioIn;
    id += 5;
    let random = if has_random {
        table[id] = Slot::Random;
        id += 1;
        Some(id as u8 - 1)
    } else {
        None
    };
    let clock = id as u8;
    let mut k = 0;
    while k < CLOCKS.len() {
        table[id] = Slot::Clock(CLOCKS[k]);
        id += 1;
        k += 1;
    }
    let checkpoint = id as u8;
    let mut k = 0;
    while k < CHECKPOINTS.len() {
        table[id] = Slot::Checkpoint(CHECKPOINTS[k]);
        id += 1;
        k += 1;
    }
    let end = id as u8;
    table[id] = Slot::End;
    Layout {
        async_header,
        async_kinds,
        shutdown_causes,
        ids: Ids {
            shutdown,
            char_write,
            char_read_all: char_write + 1,
            char_read_all_error: char_write + 2,
            audio_out: char_write + 3,
            audio_in: char_write + 4,
            random,
            clock,
            checkpoint,
            end,
        },
        table,
    }
}

static LAYOUT_A: Layout = layout(AsyncHeader::CheckpointThenKind, &ASYNC_KINDS, 10, true);
static LAYOUT_B: Layout = layout(AsyncHeader::KindByte, &ASYNC_KINDS, 10, true);
static LAYOUT_C71: Layout = layout(AsyncHeader::InId, &ASYNC_KINDS, 10, true);
static LAYOUT_C72: Layout = layout(AsyncHeader::InId, &ASYNC_KINDS, 11, true);
static LAYOUT_08: Layout = layout(AsyncHeader::CheckpointThenKind, &ASYNC_KINDS, 10, false);
static LAYOUT_07: Layout = layout(AsyncHeader::CheckpointThenKind, &ASYNC_KINDS_07, 10, false);

impl Layout {
    /// The wire number of an async kind, or None if the version lacks it.
    pub(crate) fn async_wire_kind(&self, kind: AsyncKind) -> Option<u8> {
        self.async_kinds
            .iter()
            .position(|&k| k == kind)
            .map(|p| p as u8)
    }

    /// The id of a shutdown cause, or None if the version lacks it.
    pub(crate) fn shutdown_id(&self, cause: ShutdownCause) -> Option<u8> {
        ((cause as u8) < self.shutdown_causes).then(|| self.ids.shutdown + cause as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spot checks against the tables in spec section 5 and the END ids.
    #[test]
    fn ids_match_spec_tables() {
        let a = Version::E0200a.layout();
        assert_eq!(a.ids.shutdown, 4);
        assert_eq!(a.ids.char_write, 15);
        assert_eq!(a.ids.random, Some(20));
        assert_eq!(a.ids.clock, 21);
        assert_eq!(a.ids.checkpoint, 23);
        assert_eq!(a.ids.end, 32);
        assert_eq!(a.table[14], Slot::ShutdownMax);
        assert_eq!(a.table[3], Slot::AsyncHeader);
        assert_eq!(a.table[33], Slot::Invalid);

        let c72 = Version::LATEST.layout();
        assert_eq!(c72.table[7], Slot::Async(AsyncKind::CharRead));
        assert_eq!(c72.table[20], Slot::Shutdown(ShutdownCause::SnapshotLoad));
        assert_eq!(c72.table[21], Slot::ShutdownMax);
        assert_eq!(c72.ids.char_write, 22);
        assert_eq!(c72.ids.clock, 28);
        assert_eq!(c72.ids.checkpoint, 30);
        assert_eq!(c72.ids.end, 39);
        assert_eq!(c72.table[40], Slot::Invalid);

        let c71 = Version::E0200c(Numbering::Qemu7_1).layout();
        assert_eq!(c71.table[20], Slot::ShutdownMax);
        assert_eq!(c71.ids.char_write, 21);
        assert_eq!(c71.ids.end, 38);

        let v08 = Version::E02008.layout();
        assert_eq!(v08.ids.random, None);
        assert_eq!(v08.ids.clock, 20);
        assert_eq!(v08.ids.checkpoint, 22);
        assert_eq!(v08.ids.end, 31);
        assert_eq!(
            Version::E02007
                .layout()
                .async_wire_kind(AsyncKind::BhOneshot),
            None
        );
        assert_eq!(
            Version::E02007.layout().async_wire_kind(AsyncKind::Input),
            Some(1)
        );
    }

    #[test]
    fn raw_round_trip() {
        for v in Version::ALL {
            assert_eq!(Version::from_raw(v.raw(), v.numbering()), Some(v));
            assert_eq!(v.name(), format!("{:#x}", v.raw()));
        }
        assert_eq!(Version::from_raw(0, None), None);
        assert_eq!(Version::from_raw(0xe0200c, None), Some(Version::LATEST));
    }
}
