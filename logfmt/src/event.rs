//! The version-independent event model.
//!
//! One `Event` is one record of the log. Payload bytes borrow from the input
//! (`&'a [u8]`), so reading a memory-mapped log copies nothing.

/// Why QEMU shut the machine down (QAPI `ShutdownCause`). The discriminant is
/// the QAPI value, which is also the offset inside the SHUTDOWN id range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ShutdownCause {
    None = 0,
    HostError = 1,
    HostQmpQuit = 2,
    HostQmpSystemReset = 3,
    HostSignal = 4,
    HostUi = 5,
    GuestShutdown = 6,
    GuestReset = 7,
    GuestPanic = 8,
    SubsystemReset = 9,
    /// Added in QEMU 7.2 without a version bump.
    SnapshotLoad = 10,
}

/// `ReplayClockKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClockKind {
    Host = 0,
    VirtualRt = 1,
}

/// `ReplayCheckpoint`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Checkpoint {
    ClockWarpStart = 0,
    ClockWarpAccount = 1,
    ResetRequested = 2,
    SuspendRequested = 3,
    ClockVirtual = 4,
    ClockHost = 5,
    ClockVirtualRt = 6,
    Init = 7,
    Reset = 8,
}

/// `ReplayAsyncEventKind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AsyncKind {
    Bh = 0,
    BhOneshot = 1,
    Input = 2,
    InputSync = 3,
    CharRead = 4,
    Block = 5,
    Net = 6,
}

/// A QEMU `InputEvent` as `replay-input.c` stores it. Enum values (qcodes,
/// buttons, axes) are kept as the raw QAPI numbers; `names` in this crate
/// turns them into QEMU's spelling for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputEvent {
    /// Key with a `KeyValueKind::number` value.
    KeyNumber {
        number: u64,
        down: bool,
    },
    /// Key with a `KeyValueKind::qcode` value.
    KeyQcode {
        qcode: u32,
        down: bool,
    },
    Btn {
        button: u32,
        down: bool,
    },
    Rel {
        axis: u32,
        value: u64,
    },
    Abs {
        axis: u32,
        value: u64,
    },
    Mtt {
        kind: u32,
        slot: u64,
        tracking_id: u64,
        axis: u32,
        value: u64,
    },
}

/// The payload of an asynchronous event (the part after the async header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsyncEvent<'a> {
    Bh {
        id: u64,
    },
    BhOneshot {
        id: u64,
    },
    Input(InputEvent),
    InputSync,
    CharRead {
        chardev: u8,
        data: &'a [u8],
    },
    Block {
        id: u64,
    },
    Net {
        filter: u8,
        flags: u32,
        packet: &'a [u8],
    },
}

/// One event of a replay log, independent of the format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event<'a> {
    /// Instructions executed since the previous INSTRUCTION event (never 0).
    Instruction(u32),
    Interrupt,
    Exception,
    /// An asynchronous event. `checkpoint` is `Some` exactly in 0xe0200a logs,
    /// where the async header carries the id of the checkpoint that opened
    /// the group; 0xe0200b and 0xe0200c have no such byte.
    Async {
        checkpoint: Option<Checkpoint>,
        event: AsyncEvent<'a>,
    },
    Shutdown(ShutdownCause),
    CharWrite {
        res: u32,
        offset: u32,
    },
    CharReadAll(&'a [u8]),
    CharReadAllError(u32),
    AudioOut {
        played: u64,
    },
    /// `samples` is the raw (u64 left, u64 right) big-endian pairs, 16 bytes each.
    AudioIn {
        recorded: u64,
        wpos: u64,
        samples: &'a [u8],
    },
    Random {
        ret: u32,
        data: &'a [u8],
    },
    Clock {
        kind: ClockKind,
        value: u64,
    },
    Checkpoint(Checkpoint),
    End,
}

/// Every name [`Event::kind_name`] can return, in id order of the 0xe0200c
/// (7.2+) table.
pub const ALL_KIND_NAMES: &[&str] = &[
    "INSTRUCTION",
    "INTERRUPT",
    "EXCEPTION",
    "ASYNC_BH",
    "ASYNC_BH_ONESHOT",
    "ASYNC_INPUT",
    "ASYNC_INPUT_SYNC",
    "ASYNC_CHAR_READ",
    "ASYNC_BLOCK",
    "ASYNC_NET",
    "SHUTDOWN_NONE",
    "SHUTDOWN_HOST_ERROR",
    "SHUTDOWN_HOST_QMP_QUIT",
    "SHUTDOWN_HOST_QMP_SYSTEM_RESET",
    "SHUTDOWN_HOST_SIGNAL",
    "SHUTDOWN_HOST_UI",
    "SHUTDOWN_GUEST_SHUTDOWN",
    "SHUTDOWN_GUEST_RESET",
    "SHUTDOWN_GUEST_PANIC",
    "SHUTDOWN_SUBSYSTEM_RESET",
    "SHUTDOWN_SNAPSHOT_LOAD",
    "CHAR_WRITE",
    "CHAR_READ_ALL",
    "CHAR_READ_ALL_ERROR",
    "AUDIO_OUT",
    "AUDIO_IN",
    "RANDOM",
    "CLOCK_HOST",
    "CLOCK_VIRTUAL_RT",
    "CP_CLOCK_WARP_START",
    "CP_CLOCK_WARP_ACCOUNT",
    "CP_RESET_REQUESTED",
    "CP_SUSPEND_REQUESTED",
    "CP_CLOCK_VIRTUAL",
    "CP_CLOCK_HOST",
    "CP_CLOCK_VIRTUAL_RT",
    "CP_INIT",
    "CP_RESET",
    "END",
];

impl ShutdownCause {
    /// The `SHUTDOWN_*` kind name.
    pub fn kind_name(self) -> &'static str {
        ALL_KIND_NAMES[10 + self as usize]
    }
}

impl AsyncKind {
    /// The `ASYNC_*` kind name.
    pub fn kind_name(self) -> &'static str {
        ALL_KIND_NAMES[3 + self as usize]
    }
}

impl ClockKind {
    /// The `CLOCK_*` kind name.
    pub fn kind_name(self) -> &'static str {
        ALL_KIND_NAMES[27 + self as usize]
    }
}

impl Checkpoint {
    /// The `CP_*` kind name.
    pub fn kind_name(self) -> &'static str {
        ALL_KIND_NAMES[29 + self as usize]
    }
}

impl AsyncEvent<'_> {
    /// Which kind of async event this is.
    pub fn kind(&self) -> AsyncKind {
        match self {
            AsyncEvent::Bh { .. } => AsyncKind::Bh,
            AsyncEvent::BhOneshot { .. } => AsyncKind::BhOneshot,
            AsyncEvent::Input(_) => AsyncKind::Input,
            AsyncEvent::InputSync => AsyncKind::InputSync,
            AsyncEvent::CharRead { .. } => AsyncKind::CharRead,
            AsyncEvent::Block { .. } => AsyncKind::Block,
            AsyncEvent::Net { .. } => AsyncKind::Net,
        }
    }

    /// A copy that owns its payload bytes.
    pub fn to_owned_async(&self) -> OwnedAsyncEvent {
        match *self {
            AsyncEvent::Bh { id } => OwnedAsyncEvent::Bh { id },
            AsyncEvent::BhOneshot { id } => OwnedAsyncEvent::BhOneshot { id },
            AsyncEvent::Input(i) => OwnedAsyncEvent::Input(i),
            AsyncEvent::InputSync => OwnedAsyncEvent::InputSync,
            AsyncEvent::CharRead { chardev, data } => OwnedAsyncEvent::CharRead {
                chardev,
                data: data.to_vec(),
            },
            AsyncEvent::Block { id } => OwnedAsyncEvent::Block { id },
            AsyncEvent::Net {
                filter,
                flags,
                packet,
            } => OwnedAsyncEvent::Net {
                filter,
                flags,
                packet: packet.to_vec(),
            },
        }
    }
}

impl Event<'_> {
    /// QEMU's name for the event kind without the `EVENT_` prefix, e.g.
    /// `"CP_CLOCK_WARP_ACCOUNT"`. One of [`ALL_KIND_NAMES`].
    pub fn kind_name(&self) -> &'static str {
        match self {
            Event::Instruction(_) => "INSTRUCTION",
            Event::Interrupt => "INTERRUPT",
            Event::Exception => "EXCEPTION",
            Event::Async { event, .. } => event.kind().kind_name(),
            Event::Shutdown(c) => c.kind_name(),
            Event::CharWrite { .. } => "CHAR_WRITE",
            Event::CharReadAll(_) => "CHAR_READ_ALL",
            Event::CharReadAllError(_) => "CHAR_READ_ALL_ERROR",
            Event::AudioOut { .. } => "AUDIO_OUT",
            Event::AudioIn { .. } => "AUDIO_IN",
            Event::Random { .. } => "RANDOM",
            Event::Clock { kind, .. } => kind.kind_name(),
            Event::Checkpoint(c) => c.kind_name(),
            Event::End => "END",
        }
    }

    /// The INSTRUCTION delta, 0 for every other event.
    #[inline]
    pub fn instructions(&self) -> u32 {
        match self {
            Event::Instruction(n) => *n,
            _ => 0,
        }
    }

    /// A copy that owns its payload bytes, for callers that keep events
    /// beyond the life of the buffer they were read from.
    #[allow(clippy::should_implement_trait)]
    pub fn to_owned(&self) -> OwnedEvent {
        match *self {
            Event::Instruction(n) => OwnedEvent::Instruction(n),
            Event::Interrupt => OwnedEvent::Interrupt,
            Event::Exception => OwnedEvent::Exception,
            Event::Async { checkpoint, event } => OwnedEvent::Async {
                checkpoint,
                event: event.to_owned_async(),
            },
            Event::Shutdown(c) => OwnedEvent::Shutdown(c),
            Event::CharWrite { res, offset } => OwnedEvent::CharWrite { res, offset },
            Event::CharReadAll(d) => OwnedEvent::CharReadAll(d.to_vec()),
            Event::CharReadAllError(r) => OwnedEvent::CharReadAllError(r),
            Event::AudioOut { played } => OwnedEvent::AudioOut { played },
            Event::AudioIn {
                recorded,
                wpos,
                samples,
            } => OwnedEvent::AudioIn {
                recorded,
                wpos,
                samples: samples.to_vec(),
            },
            Event::Random { ret, data } => OwnedEvent::Random {
                ret,
                data: data.to_vec(),
            },
            Event::Clock { kind, value } => OwnedEvent::Clock { kind, value },
            Event::Checkpoint(c) => OwnedEvent::Checkpoint(c),
            Event::End => OwnedEvent::End,
        }
    }
}

/// [`AsyncEvent`] with owned payload bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OwnedAsyncEvent {
    Bh {
        id: u64,
    },
    BhOneshot {
        id: u64,
    },
    Input(InputEvent),
    InputSync,
    CharRead {
        chardev: u8,
        data: Vec<u8>,
    },
    Block {
        id: u64,
    },
    Net {
        filter: u8,
        flags: u32,
        packet: Vec<u8>,
    },
}

impl OwnedAsyncEvent {
    /// The borrowed view, as the writer takes it.
    pub fn as_async(&self) -> AsyncEvent<'_> {
        match self {
            OwnedAsyncEvent::Bh { id } => AsyncEvent::Bh { id: *id },
            OwnedAsyncEvent::BhOneshot { id } => AsyncEvent::BhOneshot { id: *id },
            OwnedAsyncEvent::Input(i) => AsyncEvent::Input(*i),
            OwnedAsyncEvent::InputSync => AsyncEvent::InputSync,
            OwnedAsyncEvent::CharRead { chardev, data } => AsyncEvent::CharRead {
                chardev: *chardev,
                data,
            },
            OwnedAsyncEvent::Block { id } => AsyncEvent::Block { id: *id },
            OwnedAsyncEvent::Net {
                filter,
                flags,
                packet,
            } => AsyncEvent::Net {
                filter: *filter,
                flags: *flags,
                packet,
            },
        }
    }
}

/// [`Event`] with owned payload bytes (for the emulator, which builds events
/// from its own short-lived buffers, and for tests).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OwnedEvent {
    Instruction(u32),
    Interrupt,
    Exception,
    Async {
        checkpoint: Option<Checkpoint>,
        event: OwnedAsyncEvent,
    },
    Shutdown(ShutdownCause),
    CharWrite {
        res: u32,
        offset: u32,
    },
    CharReadAll(Vec<u8>),
    CharReadAllError(u32),
    AudioOut {
        played: u64,
    },
    AudioIn {
        recorded: u64,
        wpos: u64,
        samples: Vec<u8>,
    },
    Random {
        ret: u32,
        data: Vec<u8>,
    },
    Clock {
        kind: ClockKind,
        value: u64,
    },
    Checkpoint(Checkpoint),
    End,
}

impl OwnedEvent {
    /// The borrowed view, as the writer takes it.
    pub fn as_event(&self) -> Event<'_> {
        match self {
            OwnedEvent::Instruction(n) => Event::Instruction(*n),
            OwnedEvent::Interrupt => Event::Interrupt,
            OwnedEvent::Exception => Event::Exception,
            OwnedEvent::Async { checkpoint, event } => Event::Async {
                checkpoint: *checkpoint,
                event: event.as_async(),
            },
            OwnedEvent::Shutdown(c) => Event::Shutdown(*c),
            OwnedEvent::CharWrite { res, offset } => Event::CharWrite {
                res: *res,
                offset: *offset,
            },
            OwnedEvent::CharReadAll(d) => Event::CharReadAll(d),
            OwnedEvent::CharReadAllError(r) => Event::CharReadAllError(*r),
            OwnedEvent::AudioOut { played } => Event::AudioOut { played: *played },
            OwnedEvent::AudioIn {
                recorded,
                wpos,
                samples,
            } => Event::AudioIn {
                recorded: *recorded,
                wpos: *wpos,
                samples,
            },
            OwnedEvent::Random { ret, data } => Event::Random { ret: *ret, data },
            OwnedEvent::Clock { kind, value } => Event::Clock {
                kind: *kind,
                value: *value,
            },
            OwnedEvent::Checkpoint(c) => Event::Checkpoint(*c),
            OwnedEvent::End => Event::End,
        }
    }
}

impl<'a> From<Event<'a>> for OwnedEvent {
    fn from(e: Event<'a>) -> OwnedEvent {
        e.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_distinct_and_complete() {
        let mut names: Vec<&str> = ALL_KIND_NAMES.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), 39);
        assert_eq!(
            Event::Shutdown(ShutdownCause::HostSignal).kind_name(),
            "SHUTDOWN_HOST_SIGNAL"
        );
        assert_eq!(Event::Checkpoint(Checkpoint::Reset).kind_name(), "CP_RESET");
        assert_eq!(
            Event::Clock {
                kind: ClockKind::VirtualRt,
                value: 0
            }
            .kind_name(),
            "CLOCK_VIRTUAL_RT"
        );
        let e = Event::Async {
            checkpoint: None,
            event: AsyncEvent::Net {
                filter: 1,
                flags: 2,
                packet: b"x",
            },
        };
        assert_eq!(e.kind_name(), "ASYNC_NET");
        assert_eq!(e.to_owned().as_event(), e);
    }
}
