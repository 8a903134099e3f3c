//! Writing: [`Writer`] turns events into the bytes QEMU would have written,
//! the exact mirror of [`crate::Reader`].

mod event;
mod header;

use crate::defs::{Header, Layout, Version, HEADER_LEN};
use crate::error::WriteError;
use crate::event::Event;
use crate::units::{ByteOffset, EventIndex};
use event::EncodeError;
use std::io::Write;

/// Writes a log. Wrap files in a `BufWriter`: every event is one or two
/// `write_all` calls.
///
/// By default it is lenient: whatever the reader accepts can be written
/// back byte for byte. [`Writer::strict`] adds QEMU's own invariants (no zero
/// and no adjacent INSTRUCTION events, nothing after END), for producers.
#[derive(Debug)]
pub struct Writer<W: Write> {
    w: W,
    layout: &'static Layout,
    version: Version,
    pos: u64,
    count: u64,
    strict: bool,
    last_was_instruction: bool,
    ended: bool,
}

impl<W: Write> Writer<W> {
    /// Starts a log of `version` and writes its header (the version and 8
    /// zero bytes) at once.
    pub fn new(w: W, version: Version) -> Result<Self, WriteError> {
        Self::with_header(w, version, Header::for_version(version))
    }

    /// Starts a log with an arbitrary header, e.g. version 0 or non-zero
    /// reserved bytes, for a byte-exact rewrite. `version` picks the layout.
    pub fn with_header(mut w: W, version: Version, header: Header) -> Result<Self, WriteError> {
        if !version.writable() {
            return Err(WriteError::ReadOnlyVersion { version });
        }
        header::write(&mut w, header).map_err(|source| WriteError::Io {
            offset: ByteOffset(0),
            source,
        })?;
        Ok(Writer {
            w,
            layout: version.layout(),
            version,
            pos: HEADER_LEN as u64,
            count: 0,
            strict: false,
            last_was_instruction: false,
            ended: false,
        })
    }

    /// Turns QEMU's writer invariants on or off.
    pub fn strict(mut self, on: bool) -> Self {
        self.strict = on;
        self
    }

    /// The layout being written.
    pub fn version(&self) -> Version {
        self.version
    }

    /// Appends one event.
    pub fn write(&mut self, e: &Event) -> Result<(), WriteError> {
        let index = EventIndex(self.count);
        if self.strict {
            self.check_strict(index, e)?;
        }
        let enc = event::encode(self.layout, e).map_err(|err| match err {
            EncodeError::NotInVersion(why) => WriteError::EventNotInVersion {
                index,
                event: e.kind_name(),
                version: self.version,
                why,
            },
            EncodeError::ArrayTooLong(len) => WriteError::ArrayTooLong {
                index,
                event: e.kind_name(),
                len,
            },
            EncodeError::AudioSamplesMismatch => {
                let (recorded, bytes) = match e {
                    Event::AudioIn {
                        recorded, samples, ..
                    } => (*recorded, samples.len()),
                    _ => (0, 0),
                };
                WriteError::AudioSamplesMismatch {
                    index,
                    recorded,
                    bytes,
                }
            }
        })?;
        let offset = ByteOffset(self.pos);
        self.w
            .write_all(enc.fixed())
            .map_err(|source| WriteError::Io { offset, source })?;
        if !enc.tail.is_empty() {
            self.w
                .write_all(enc.tail)
                .map_err(|source| WriteError::Io { offset, source })?;
        }
        self.pos += enc.total_len();
        self.count += 1;
        self.last_was_instruction = matches!(e, Event::Instruction(_));
        self.ended |= matches!(e, Event::End);
        Ok(())
    }

    fn check_strict(&self, index: EventIndex, e: &Event) -> Result<(), WriteError> {
        if self.ended {
            return Err(WriteError::AfterEnd { index });
        }
        if let Event::Instruction(n) = e {
            if *n == 0 {
                return Err(WriteError::ZeroInstruction { index });
            }
            if self.last_was_instruction {
                return Err(WriteError::AdjacentInstruction { index });
            }
        }
        Ok(())
    }

    /// Flushes and returns the inner writer. Writing END is the caller's
    /// job (a log cut short on purpose is allowed).
    pub fn finish(mut self) -> Result<W, WriteError> {
        let offset = ByteOffset(self.pos);
        self.w
            .flush()
            .map_err(|source| WriteError::Io { offset, source })?;
        Ok(self.w)
    }

    /// Offset the next event will be written at.
    pub fn position(&self) -> ByteOffset {
        ByteOffset(self.pos)
    }

    /// Events written so far.
    pub fn events_written(&self) -> u64 {
        self.count
    }

    /// The inner writer.
    pub fn get_ref(&self) -> &W {
        &self.w
    }
}
