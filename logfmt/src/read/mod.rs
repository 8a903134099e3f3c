//! Reading: [`Reader`] walks the events of a log held in memory (usually a
//! [`crate::MappedLog`]) without copying or allocating per event.

mod detect;
pub(crate) mod event;
mod header;

use crate::defs::{Header, Layout, Version, HEADER_LEN};
use crate::error::{ReadError, ReadErrorKind};
use crate::event::Event;
use crate::units::{ByteOffset, EventIndex, Icount};
use event::Fail;

pub use crate::defs::Numbering;

/// Overrides for version detection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Force the 0xe0200c numbering (7.1 or 7.2+) instead of detecting it.
    pub numbering: Option<Numbering>,
    /// Force the layout, whatever the header says. Needed for unfinished
    /// logs (header version 0) whose layout trial parsing cannot settle.
    pub version: Option<Version>,
}

/// One event with its place in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Offset of the id byte.
    pub offset: ByteOffset,
    pub index: EventIndex,
    /// Guest instructions executed up to and including this event.
    pub icount: Icount,
    /// Bytes of the event, id byte included.
    pub len: u32,
    pub event: Event<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Events,
    AfterEnd,
    Done,
}

/// Iterator over the events of a log.
///
/// Yields events up to and including END, then `None`. Bytes after END give
/// one `Err(TrailingBytes)`; a cut-off event or end of file without END
/// gives one `Err` (`Truncated` / `MissingEnd`). After an error it yields
/// `None`. It never panics, whatever the input.
#[derive(Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    index: u64,
    icount: u64,
    /// Start of the last complete event (the header end before the first).
    last_start: usize,
    layout: &'static Layout,
    version: Version,
    header: Header,
    unfinished: bool,
    state: State,
}

/// Shows the position, not the (possibly huge) input.
impl std::fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("len", &self.data.len())
            .field("pos", &self.pos)
            .field("index", &self.index)
            .field("icount", &self.icount)
            .field("version", &self.version)
            .field("header", &self.header)
            .field("unfinished", &self.unfinished)
            .field("state", &self.state)
            .finish()
    }
}

impl<'a> Reader<'a> {
    /// A reader that detects the version (and the 0xe0200c numbering).
    pub fn new(data: &'a [u8]) -> Result<Self, ReadError> {
        Self::with_options(data, ReadOptions::default())
    }

    /// A reader with detection overridden by `opts`.
    pub fn with_options(data: &'a [u8], opts: ReadOptions) -> Result<Self, ReadError> {
        let header = header::parse(data).map_err(|needed| ReadError {
            offset: ByteOffset(0),
            index: EventIndex(0),
            kind: ReadErrorKind::Truncated {
                needed,
                last_complete: ByteOffset(0),
            },
        })?;
        let (version, unfinished) = detect::choose(data, header, &opts)?;
        Ok(Self::at(data, header, version, unfinished))
    }

    /// A reader for a known layout; `data` must hold the whole header.
    pub(crate) fn at(data: &'a [u8], header: Header, version: Version, unfinished: bool) -> Self {
        let start = HEADER_LEN.min(data.len());
        Reader {
            data,
            pos: start,
            index: 0,
            icount: 0,
            last_start: start,
            layout: version.layout(),
            version,
            header,
            unfinished,
            state: State::Events,
        }
    }

    /// The layout the events are read with.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The header as stored.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The header says version 0: QEMU was killed before `replay_finish`
    /// wrote the version, so the log has no END and may be cut anywhere.
    pub fn is_unfinished(&self) -> bool {
        self.unfinished
    }

    /// Offset of the next event (after an error: of the failing event).
    pub fn position(&self) -> ByteOffset {
        ByteOffset(self.pos as u64)
    }

    /// Instructions counted so far.
    pub fn icount(&self) -> Icount {
        Icount(self.icount)
    }

    /// Index the next event will get.
    pub fn next_index(&self) -> EventIndex {
        EventIndex(self.index)
    }

    /// A reader of the same log that goes on at `offset` as if it had
    /// read the `index` events before it, which counted `icount`
    /// instructions (snapshots resume a replay in the middle of its log).
    /// `offset` must be the start of an event this log's reader reported;
    /// one that is not gives a parse error or wrong events, never a panic.
    /// `None` if `offset` lies outside the events.
    pub fn resume(
        &self,
        offset: ByteOffset,
        index: EventIndex,
        icount: Icount,
    ) -> Option<Reader<'a>> {
        let pos = usize::try_from(offset.0).ok()?;
        if pos < HEADER_LEN || pos > self.data.len() {
            return None;
        }
        Some(Reader {
            pos,
            index: index.0,
            icount: icount.0,
            last_start: pos,
            state: State::Events,
            ..self.clone()
        })
    }

    /// The whole input, header included.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    #[cold]
    #[inline(never)]
    fn fail(&mut self, kind: ReadErrorKind) -> ReadError {
        self.state = State::Done;
        ReadError {
            offset: ByteOffset(self.pos as u64),
            index: EventIndex(self.index),
            kind,
        }
    }

    #[cold]
    #[inline(never)]
    fn fail_parse(&mut self, f: Fail) -> ReadError {
        let kind = match f {
            Fail::Incomplete(needed) => ReadErrorKind::Truncated {
                needed,
                last_complete: ByteOffset(self.last_start as u64),
            },
            Fail::Bad(kind) => kind,
        };
        self.fail(kind)
    }

    #[cold]
    #[inline(never)]
    fn after_end(&mut self) -> Option<Result<Record<'a>, ReadError>> {
        self.state = State::Done;
        let left = self.data.len().saturating_sub(self.pos) as u64;
        (left > 0).then(|| Err(self.fail(ReadErrorKind::TrailingBytes(left))))
    }
}

impl<'a> Iterator for Reader<'a> {
    type Item = Result<Record<'a>, ReadError>;

    // Always inlined: a call per event, with the record written to memory
    // and read back, cost callers such as `rrtool validate` about a quarter
    // of their time; inlined, the record stays in registers.
    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        match self.state {
            State::Events => {}
            State::AfterEnd => return self.after_end(),
            State::Done => return None,
        }
        let input = self.data.get(self.pos..).unwrap_or_default();
        if input.is_empty() {
            let last_complete = ByteOffset(self.last_start as u64);
            return Some(Err(self.fail(ReadErrorKind::MissingEnd { last_complete })));
        }
        let (event, len) = match event::parse(self.layout, input) {
            Ok(ok) => ok,
            Err(f) => return Some(Err(self.fail_parse(f))),
        };
        let Some(icount) = self.icount.checked_add(u64::from(event.instructions())) else {
            return Some(Err(self.fail(ReadErrorKind::IcountOverflow)));
        };
        let record = Record {
            offset: ByteOffset(self.pos as u64),
            index: EventIndex(self.index),
            icount: Icount(icount),
            // The array parsers cap lengths well below u32::MAX.
            len: len as u32,
            event,
        };
        self.last_start = self.pos;
        self.pos += len;
        self.index += 1;
        self.icount = icount;
        if matches!(event, Event::End) {
            self.state = State::AfterEnd;
        }
        Some(Ok(record))
    }
}

impl std::iter::FusedIterator for Reader<'_> {}
