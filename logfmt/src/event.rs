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
    KeyNumber { number: u64, down: bool },
    /// Key with a `KeyValueKind::qcode` value.
    KeyQcode { qcode: u32, down: bool },
    Btn { button: u32, down: bool },
    Rel { axis: u32, value: u64 },
    Abs { axis: u32, value: u64 },
    Mtt { kind: u32, slot: u64, tracking_id: u64, axis: u32, value: u64 },
}

/// The payload of an asynchronous event (the part after the async header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AsyncEvent<'a> {
    Bh { id: u64 },
    BhOneshot { id: u64 },
    Input(InputEvent),
    InputSync,
    CharRead { chardev: u8, data: &'a [u8] },
    Block { id: u64 },
    Net { filter: u8, flags: u32, packet: &'a [u8] },
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
    Async { checkpoint: Option<Checkpoint>, event: AsyncEvent<'a> },
    Shutdown(ShutdownCause),
    CharWrite { res: u32, offset: u32 },
    CharReadAll(&'a [u8]),
    CharReadAllError(u32),
    AudioOut { played: u64 },
    /// `samples` is the raw (u64 left, u64 right) big-endian pairs, 16 bytes each.
    AudioIn { recorded: u64, wpos: u64, samples: &'a [u8] },
    Random { ret: u32, data: &'a [u8] },
    Clock { kind: ClockKind, value: u64 },
    Checkpoint(Checkpoint),
    End,
}
