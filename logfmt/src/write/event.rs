//! Encoding one event: the mirror of `read::event`. Fixed-size fields go
//! into a small stack buffer; a variable-length array is handed back as a
//! borrowed tail, so encoding never allocates.

use crate::defs::{AsyncHeader, Layout, ID_ASYNC, ID_EXCEPTION, ID_INSTRUCTION, ID_INTERRUPT};
use crate::event::{AsyncEvent, Event, InputEvent};

/// The longest fixed part: `03 cp kind` + an mtt input event (4 + 32 bytes).
const MAX_FIXED: usize = 48;

/// Why an event could not be encoded; `Writer` adds the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EncodeError {
    NotInVersion(&'static str),
    ArrayTooLong(usize),
    AudioSamplesMismatch,
}

/// The encoded event: `fixed[..len]` followed by `tail`.
pub(crate) struct Encoded<'e> {
    fixed: [u8; MAX_FIXED],
    len: usize,
    pub tail: &'e [u8],
}

impl<'e> Encoded<'e> {
    fn new() -> Self {
        Encoded {
            fixed: [0; MAX_FIXED],
            len: 0,
            tail: &[],
        }
    }

    pub fn fixed(&self) -> &[u8] {
        &self.fixed[..self.len]
    }

    /// Total bytes of the event.
    pub fn total_len(&self) -> u64 {
        (self.len + self.tail.len()) as u64
    }

    fn put(&mut self, b: &[u8]) {
        // MAX_FIXED covers the largest fixed part of any event.
        self.fixed[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }

    fn u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.put(&v.to_be_bytes());
    }

    /// u32 length prefix; the bytes become the tail.
    fn array(&mut self, data: &'e [u8]) -> Result<(), EncodeError> {
        let n = u32::try_from(data.len()).map_err(|_| EncodeError::ArrayTooLong(data.len()))?;
        self.u32(n);
        self.tail = data;
        Ok(())
    }
}

fn input_event(out: &mut Encoded<'_>, e: &InputEvent) {
    match *e {
        InputEvent::KeyNumber { number, down } => {
            out.u32(0);
            out.u32(0);
            out.u64(number);
            out.u8(u8::from(down));
        }
        InputEvent::KeyQcode { qcode, down } => {
            out.u32(0);
            out.u32(1);
            out.u32(qcode);
            out.u8(u8::from(down));
        }
        InputEvent::Btn { button, down } => {
            out.u32(1);
            out.u32(button);
            out.u8(u8::from(down));
        }
        InputEvent::Rel { axis, value } => {
            out.u32(2);
            out.u32(axis);
            out.u64(value);
        }
        InputEvent::Abs { axis, value } => {
            out.u32(3);
            out.u32(axis);
            out.u64(value);
        }
        InputEvent::Mtt {
            kind,
            slot,
            tracking_id,
            axis,
            value,
        } => {
            out.u32(4);
            out.u32(kind);
            out.u64(slot);
            out.u64(tracking_id);
            out.u32(axis);
            out.u64(value);
        }
    }
}

fn async_event<'e>(
    layout: &Layout,
    out: &mut Encoded<'e>,
    checkpoint: Option<crate::event::Checkpoint>,
    event: &AsyncEvent<'e>,
) -> Result<(), EncodeError> {
    let kind = layout
        .async_wire_kind(event.kind())
        .ok_or(EncodeError::NotInVersion(
            "this async kind does not exist in this version",
        ))?;
    match (layout.async_header, checkpoint) {
        (AsyncHeader::CheckpointThenKind, Some(cp)) => {
            out.u8(ID_ASYNC);
            out.u8(cp as u8);
            out.u8(kind);
        }
        (AsyncHeader::CheckpointThenKind, None) => {
            return Err(EncodeError::NotInVersion(
                "async events need the checkpoint byte (checkpoint: Some) in this version",
            ))
        }
        (AsyncHeader::KindByte, None) => {
            out.u8(ID_ASYNC);
            out.u8(kind);
        }
        (AsyncHeader::InId, None) => out.u8(ID_ASYNC + kind),
        (AsyncHeader::KindByte | AsyncHeader::InId, Some(_)) => {
            return Err(EncodeError::NotInVersion(
                "async events carry no checkpoint byte in this version (checkpoint must be None)",
            ))
        }
    }
    match *event {
        AsyncEvent::Bh { id } | AsyncEvent::BhOneshot { id } | AsyncEvent::Block { id } => {
            out.u64(id)
        }
        AsyncEvent::Input(ref i) => input_event(out, i),
        AsyncEvent::InputSync => {}
        AsyncEvent::CharRead { chardev, data } => {
            out.u8(chardev);
            out.array(data)?;
        }
        AsyncEvent::Net {
            filter,
            flags,
            packet,
        } => {
            out.u8(filter);
            out.u32(flags);
            out.array(packet)?;
        }
    }
    Ok(())
}

/// Encodes `e` in `layout`.
pub(crate) fn encode<'e>(layout: &Layout, e: &Event<'e>) -> Result<Encoded<'e>, EncodeError> {
    let ids = &layout.ids;
    let mut out = Encoded::new();
    match *e {
        Event::Instruction(n) => {
            out.u8(ID_INSTRUCTION);
            out.u32(n);
        }
        Event::Interrupt => out.u8(ID_INTERRUPT),
        Event::Exception => out.u8(ID_EXCEPTION),
        Event::Async {
            checkpoint,
            ref event,
        } => async_event(layout, &mut out, checkpoint, event)?,
        Event::Shutdown(c) => out.u8(layout.shutdown_id(c).ok_or(EncodeError::NotInVersion(
            "this shutdown cause is not in this numbering",
        ))?),
        Event::CharWrite { res, offset } => {
            out.u8(ids.char_write);
            out.u32(res);
            out.u32(offset);
        }
        Event::CharReadAll(data) => {
            out.u8(ids.char_read_all);
            out.array(data)?;
        }
        Event::CharReadAllError(r) => {
            out.u8(ids.char_read_all_error);
            out.u32(r);
        }
        Event::AudioOut { played } => {
            out.u8(ids.audio_out);
            out.u64(played);
        }
        Event::AudioIn {
            recorded,
            wpos,
            samples,
        } => {
            if recorded.checked_mul(16) != Some(samples.len() as u64) {
                return Err(EncodeError::AudioSamplesMismatch);
            }
            out.u8(ids.audio_in);
            out.u64(recorded);
            out.u64(wpos);
            out.tail = samples;
        }
        Event::Random { ret, data } => {
            let id = ids.random.ok_or(EncodeError::NotInVersion(
                "RANDOM does not exist in this version",
            ))?;
            out.u8(id);
            out.u32(ret);
            out.array(data)?;
        }
        Event::Clock { kind, value } => {
            out.u8(ids.clock + kind as u8);
            out.u64(value);
        }
        Event::Checkpoint(c) => out.u8(ids.checkpoint + c as u8),
        Event::End => out.u8(ids.end),
    }
    Ok(out)
}
