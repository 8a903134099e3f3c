//! Private nom parsers for one event: the id byte, then the payload the id
//! table announces. Everything here works on the bytes after the header and
//! knows nothing of offsets; `read::Reader` adds those when it turns a
//! [`Fail`] into a [`crate::ReadError`].

use crate::defs::{AsyncHeader, Layout, Slot, CHECKPOINTS};
use crate::error::ReadErrorKind;
use crate::event::{AsyncEvent, AsyncKind, Event, InputEvent};
use nom::number::streaming::{be_u32, be_u64, be_u8};
use nom::{Err as NomErr, IResult, Needed};

/// Why an event could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Fail {
    /// The input ends inside the event; at least this many more bytes needed.
    Incomplete(u64),
    /// The bytes break a rule of the format.
    Bad(ReadErrorKind),
}

type PResult<'a, T> = Result<(&'a [u8], T), Fail>;

/// Array lengths above this that also run past the end of the file are
/// reported as [`ReadErrorKind::LengthTooLarge`] rather than as truncation:
/// QEMU's arrays are chardev reads, packets and random buffers, all far
/// smaller, so such a length is corruption, not a log cut off mid-array.
pub(crate) const PLAUSIBLE_ARRAY_LEN: u64 = 16 << 20;

/// Above this an array cannot be part of a valid event at all (the event
/// length must fit a u32 with its id and fixed fields).
const MAX_ARRAY_LEN: u64 = u32::MAX as u64 - 64;

/// nom's streaming number parsers only fail with `Incomplete`; turn that
/// into our own error so nom never leaks out of this module.
#[inline(always)]
fn lift<T>(r: IResult<&[u8], T, ()>) -> PResult<'_, T> {
    r.map_err(|e| match e {
        NomErr::Incomplete(Needed::Size(n)) => Fail::Incomplete(n.get() as u64),
        NomErr::Incomplete(Needed::Unknown) | NomErr::Error(()) | NomErr::Failure(()) => {
            Fail::Incomplete(1)
        }
    })
}

#[inline(always)]
fn u8_(i: &[u8]) -> PResult<'_, u8> {
    lift(be_u8(i))
}

#[inline(always)]
fn u32_(i: &[u8]) -> PResult<'_, u32> {
    lift(be_u32(i))
}

#[inline(always)]
fn u64_(i: &[u8]) -> PResult<'_, u64> {
    lift(be_u64(i))
}

/// QEMU stores a bool as one byte; anything but 0/1 would not survive a
/// byte-exact rewrite, so it is rejected.
fn bool_(i: &[u8]) -> PResult<'_, bool> {
    let (i, b) = u8_(i)?;
    match b {
        0 => Ok((i, false)),
        1 => Ok((i, true)),
        other => Err(Fail::Bad(ReadErrorKind::BadBool(other))),
    }
}

/// `n` raw bytes whose count came from the log itself.
fn take_declared(i: &[u8], n: u64) -> PResult<'_, &[u8]> {
    let available = i.len() as u64;
    if n > MAX_ARRAY_LEN || (n > available && n > PLAUSIBLE_ARRAY_LEN) {
        return Err(Fail::Bad(ReadErrorKind::LengthTooLarge {
            declared: n,
            available,
        }));
    }
    lift(nom::bytes::streaming::take::<_, _, ()>(n as usize)(i))
}

/// u32 byte count, then the bytes.
fn array(i: &[u8]) -> PResult<'_, &[u8]> {
    let (i, n) = u32_(i)?;
    take_declared(i, u64::from(n))
}

fn input_event(i: &[u8]) -> PResult<'_, InputEvent> {
    let (i, kind) = u32_(i)?;
    match kind {
        0 => {
            let (i, value_kind) = u32_(i)?;
            match value_kind {
                0 => {
                    let (i, number) = u64_(i)?;
                    let (i, down) = bool_(i)?;
                    Ok((i, InputEvent::KeyNumber { number, down }))
                }
                1 => {
                    let (i, qcode) = u32_(i)?;
                    let (i, down) = bool_(i)?;
                    Ok((i, InputEvent::KeyQcode { qcode, down }))
                }
                other => Err(Fail::Bad(ReadErrorKind::BadKeyValueKind(other))),
            }
        }
        1 => {
            let (i, button) = u32_(i)?;
            let (i, down) = bool_(i)?;
            Ok((i, InputEvent::Btn { button, down }))
        }
        2 | 3 => {
            let (i, axis) = u32_(i)?;
            let (i, value) = u64_(i)?;
            let ev = if kind == 2 {
                InputEvent::Rel { axis, value }
            } else {
                InputEvent::Abs { axis, value }
            };
            Ok((i, ev))
        }
        4 => {
            let (i, kind) = u32_(i)?;
            let (i, slot) = u64_(i)?;
            let (i, tracking_id) = u64_(i)?;
            let (i, axis) = u32_(i)?;
            let (i, value) = u64_(i)?;
            Ok((
                i,
                InputEvent::Mtt {
                    kind,
                    slot,
                    tracking_id,
                    axis,
                    value,
                },
            ))
        }
        other => Err(Fail::Bad(ReadErrorKind::BadInputKind(other))),
    }
}

/// The payload of an async event of `kind` (spec section 6.2).
fn async_payload(i: &[u8], kind: AsyncKind) -> PResult<'_, AsyncEvent<'_>> {
    match kind {
        AsyncKind::Bh => u64_(i).map(|(i, id)| (i, AsyncEvent::Bh { id })),
        AsyncKind::BhOneshot => u64_(i).map(|(i, id)| (i, AsyncEvent::BhOneshot { id })),
        AsyncKind::Input => input_event(i).map(|(i, e)| (i, AsyncEvent::Input(e))),
        AsyncKind::InputSync => Ok((i, AsyncEvent::InputSync)),
        AsyncKind::CharRead => {
            let (i, chardev) = u8_(i)?;
            let (i, data) = array(i)?;
            Ok((i, AsyncEvent::CharRead { chardev, data }))
        }
        AsyncKind::Block => u64_(i).map(|(i, id)| (i, AsyncEvent::Block { id })),
        AsyncKind::Net => {
            let (i, filter) = u8_(i)?;
            let (i, flags) = u32_(i)?;
            let (i, packet) = array(i)?;
            Ok((
                i,
                AsyncEvent::Net {
                    filter,
                    flags,
                    packet,
                },
            ))
        }
    }
}

/// The kind byte of 0xe0200a/0xe0200b async headers.
fn async_kind<'a>(i: &'a [u8], layout: &Layout) -> PResult<'a, AsyncKind> {
    let (i, k) = u8_(i)?;
    match layout.async_kinds.get(usize::from(k)) {
        Some(&kind) => Ok((i, kind)),
        None => Err(Fail::Bad(ReadErrorKind::BadAsyncKind(k))),
    }
}

/// Id 3 in versions with a separate async header (spec section 7).
fn async_with_header<'a>(i: &'a [u8], layout: &Layout) -> PResult<'a, Event<'a>> {
    let (i, checkpoint) = match layout.async_header {
        AsyncHeader::CheckpointThenKind => {
            let (i, cp) = u8_(i)?;
            match CHECKPOINTS.get(usize::from(cp)) {
                Some(&c) => (i, Some(c)),
                None => return Err(Fail::Bad(ReadErrorKind::BadCheckpointByte(cp))),
            }
        }
        AsyncHeader::KindByte | AsyncHeader::InId => (i, None),
    };
    let (i, kind) = async_kind(i, layout)?;
    let (i, event) = async_payload(i, kind)?;
    Ok((i, Event::Async { checkpoint, event }))
}

/// Parses the event at the start of `input` (which must hold at least the id
/// byte) and returns it with its length in bytes, id included.
#[inline(always)]
pub(crate) fn parse<'a>(layout: &Layout, input: &'a [u8]) -> Result<(Event<'a>, usize), Fail> {
    let Some((&id, rest)) = input.split_first() else {
        return Err(Fail::Incomplete(1));
    };
    let (after, event) = match layout.table[usize::from(id)] {
        // The hot events first; for these the compiler inlines everything
        // into the reader loop.
        Slot::Instruction => {
            let (i, n) = u32_(rest)?;
            (i, Event::Instruction(n))
        }
        Slot::Exception => (rest, Event::Exception),
        Slot::Checkpoint(c) => (rest, Event::Checkpoint(c)),
        Slot::CharWrite => {
            let (i, res) = u32_(rest)?;
            let (i, offset) = u32_(i)?;
            (i, Event::CharWrite { res, offset })
        }
        Slot::Clock(kind) => {
            let (i, value) = u64_(rest)?;
            (i, Event::Clock { kind, value })
        }
        Slot::Interrupt => (rest, Event::Interrupt),
        Slot::Shutdown(c) => (rest, Event::Shutdown(c)),
        Slot::End => (rest, Event::End),
        Slot::Async(kind) => {
            let (i, event) = async_payload(rest, kind)?;
            (
                i,
                Event::Async {
                    checkpoint: None,
                    event,
                },
            )
        }
        Slot::AsyncHeader => async_with_header(rest, layout)?,
        Slot::CharReadAll => {
            let (i, data) = array(rest)?;
            (i, Event::CharReadAll(data))
        }
        Slot::CharReadAllError => {
            let (i, r) = u32_(rest)?;
            (i, Event::CharReadAllError(r))
        }
        Slot::AudioOut => {
            let (i, played) = u64_(rest)?;
            (i, Event::AudioOut { played })
        }
        Slot::AudioIn => {
            let (i, recorded) = u64_(rest)?;
            let (i, wpos) = u64_(i)?;
            // The spec (6.1): `recorded` (left, right) u64 pairs follow,
            // assuming recorded < ring size, which the log does not store.
            let bytes = recorded.saturating_mul(16);
            let (i, samples) = take_declared(i, bytes)?;
            (
                i,
                Event::AudioIn {
                    recorded,
                    wpos,
                    samples,
                },
            )
        }
        Slot::Random => {
            let (i, ret) = u32_(rest)?;
            let (i, data) = array(i)?;
            (i, Event::Random { ret, data })
        }
        Slot::ShutdownMax => return Err(Fail::Bad(ReadErrorKind::ShutdownMaxSlot(id))),
        Slot::Invalid => return Err(Fail::Bad(ReadErrorKind::UnknownEventId(id))),
    };
    Ok((event, input.len() - after.len()))
}
