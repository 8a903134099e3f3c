//! How one event is shown: payload text for `dump` and JSON fields for
//! `dump --json`. Shared by `dump` and `diff` so both print events alike.

use std::fmt::Write as _;

use logfmt::event::ALL_KIND_NAMES;
use logfmt::{AsyncEvent, Checkpoint, Event, InputEvent};

use crate::json::{self, Obj};

/// How many payload bytes a text line shows as hex before eliding.
const HEX_PREVIEW: usize = 16;
/// How many characters of char data a text line shows before eliding.
const TEXT_PREVIEW: usize = 64;

/// Index of the event's kind in [`ALL_KIND_NAMES`]: a dense counter slot,
/// so statistics avoid hashing names per event.
#[inline]
pub fn kind_slot(e: &Event<'_>) -> usize {
    match e {
        Event::Instruction(_) => 0,
        Event::Interrupt => 1,
        Event::Exception => 2,
        Event::Async { event, .. } => 3 + event.kind() as usize,
        Event::Shutdown(c) => 10 + *c as usize,
        Event::CharWrite { .. } => 21,
        Event::CharReadAll(_) => 22,
        Event::CharReadAllError(_) => 23,
        Event::AudioOut { .. } => 24,
        Event::AudioIn { .. } => 25,
        Event::Random { .. } => 26,
        Event::Clock { kind, .. } => 27 + *kind as usize,
        Event::Checkpoint(c) => 29 + *c as usize,
        Event::End => 38,
    }
}

pub const KIND_SLOTS: usize = 39;

pub fn slot_name(slot: usize) -> &'static str {
    ALL_KIND_NAMES[slot]
}

/// Char data as a quoted string: printable ASCII as is, the rest escaped.
pub fn escape_bytes(data: &[u8], limit: usize, out: &mut String) {
    out.push('"');
    for &b in data.iter().take(limit) {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
    if data.len() > limit {
        out.push('…');
    }
}

fn hex_preview(data: &[u8], out: &mut String) {
    out.push_str(&json::hex(&data[..data.len().min(HEX_PREVIEW)]));
    if data.len() > HEX_PREVIEW {
        out.push('…');
    }
}

fn checkpoint_name(cp: Checkpoint) -> &'static str {
    // "CP_CLOCK_WARP_ACCOUNT" -> "CLOCK_WARP_ACCOUNT"
    &cp.kind_name()[3..]
}

fn updown(down: bool) -> &'static str {
    if down {
        "down"
    } else {
        "up"
    }
}

fn input_text(i: &InputEvent, out: &mut String) {
    let _ = match *i {
        InputEvent::KeyNumber { number, down } => {
            write!(out, "key number={number} {}", updown(down))
        }
        InputEvent::KeyQcode { qcode, down } => match logfmt::names::qkeycode(qcode) {
            Some(n) => write!(out, "key {n} {}", updown(down)),
            None => write!(out, "key qcode={qcode} {}", updown(down)),
        },
        InputEvent::Btn { button, down } => match logfmt::names::input_button(button) {
            Some(n) => write!(out, "btn {n} {}", updown(down)),
            None => write!(out, "btn button={button} {}", updown(down)),
        },
        InputEvent::Rel { axis, value } => write!(out, "rel {} {}", axis_text(axis), value as i64),
        InputEvent::Abs { axis, value } => write!(out, "abs {} {}", axis_text(axis), value as i64),
        InputEvent::Mtt {
            kind,
            slot,
            tracking_id,
            axis,
            value,
        } => write!(
            out,
            "mtt type={kind} slot={slot} tracking_id={tracking_id} {} {}",
            axis_text(axis),
            value as i64
        ),
    };
}

fn axis_text(axis: u32) -> String {
    logfmt::names::input_axis(axis)
        .map(str::to_string)
        .unwrap_or_else(|| format!("axis={axis}"))
}

/// The decoded payload of `e` for a text line (empty for marker events).
pub fn payload_text(e: &Event<'_>, out: &mut String) {
    let _ = match *e {
        Event::Instruction(n) => write!(out, "+{n}"),
        Event::Interrupt
        | Event::Exception
        | Event::Shutdown(_)
        | Event::Checkpoint(_)
        | Event::End => Ok(()),
        Event::Async { checkpoint, event } => {
            if let Some(cp) = checkpoint {
                let _ = write!(out, "cp={} ", checkpoint_name(cp));
            }
            match event {
                AsyncEvent::Bh { id } | AsyncEvent::BhOneshot { id } | AsyncEvent::Block { id } => {
                    write!(out, "id={id}")
                }
                AsyncEvent::Input(i) => {
                    input_text(&i, out);
                    Ok(())
                }
                AsyncEvent::InputSync => Ok(()),
                AsyncEvent::CharRead { chardev, data } => {
                    let _ = write!(out, "chardev={chardev} len={} ", data.len());
                    escape_bytes(data, TEXT_PREVIEW, out);
                    Ok(())
                }
                AsyncEvent::Net {
                    filter,
                    flags,
                    packet,
                } => {
                    let _ = write!(
                        out,
                        "filter={filter} flags={flags:#x} len={} ",
                        packet.len()
                    );
                    hex_preview(packet, out);
                    Ok(())
                }
            }
        }
        Event::CharWrite { res, offset } => write!(out, "res={} offset={offset}", res as i32),
        Event::CharReadAll(data) => {
            let _ = write!(out, "len={} ", data.len());
            escape_bytes(data, TEXT_PREVIEW, out);
            Ok(())
        }
        Event::CharReadAllError(res) => write!(out, "res={}", res as i32),
        Event::AudioOut { played } => write!(out, "played={played}"),
        Event::AudioIn {
            recorded,
            wpos,
            samples,
        } => {
            write!(
                out,
                "recorded={recorded} wpos={wpos} pairs={}",
                samples.len() / 16
            )
        }
        Event::Random { ret, data } => {
            let _ = write!(out, "ret={} len={} ", ret as i32, data.len());
            hex_preview(data, out);
            Ok(())
        }
        Event::Clock { value, .. } => write!(out, "{}", value as i64),
    };
}

fn input_json(i: &InputEvent, o: &mut Obj<'_>) {
    match *i {
        InputEvent::KeyNumber { number, down } => {
            o.str("input", "key")
                .num("number", number)
                .bool("down", down);
        }
        InputEvent::KeyQcode { qcode, down } => {
            o.str("input", "key").num("qcode", qcode);
            if let Some(n) = logfmt::names::qkeycode(qcode) {
                o.str("key", n);
            }
            o.bool("down", down);
        }
        InputEvent::Btn { button, down } => {
            o.str("input", "btn").num("button", button);
            if let Some(n) = logfmt::names::input_button(button) {
                o.str("button_name", n);
            }
            o.bool("down", down);
        }
        InputEvent::Rel { axis, value } | InputEvent::Abs { axis, value } => {
            let kind = if matches!(i, InputEvent::Rel { .. }) {
                "rel"
            } else {
                "abs"
            };
            o.str("input", kind).num("axis", axis);
            if let Some(n) = logfmt::names::input_axis(axis) {
                o.str("axis_name", n);
            }
            o.num("value", value as i64);
        }
        InputEvent::Mtt {
            kind,
            slot,
            tracking_id,
            axis,
            value,
        } => {
            o.str("input", "mtt")
                .num("type", kind)
                .num("slot", slot)
                .num("tracking_id", tracking_id)
                .num("axis", axis)
                .num("value", value as i64);
        }
    }
}

fn text_json(o: &mut Obj<'_>, data: &[u8]) {
    o.num("len", data.len()).str("hex", &json::hex(data));
    // Also as text when it is text (serial input usually is).
    if let Ok(s) = std::str::from_utf8(data) {
        o.str("text", s);
    }
}

/// The payload fields of `e` for a JSON object.
pub fn payload_json(e: &Event<'_>, o: &mut Obj<'_>) {
    match *e {
        Event::Instruction(n) => {
            o.num("delta", n);
        }
        Event::Interrupt
        | Event::Exception
        | Event::Checkpoint(_)
        | Event::End
        | Event::Shutdown(_) => {}
        Event::Async { checkpoint, event } => {
            if let Some(cp) = checkpoint {
                o.str("checkpoint", checkpoint_name(cp));
            }
            match event {
                AsyncEvent::Bh { id } | AsyncEvent::BhOneshot { id } | AsyncEvent::Block { id } => {
                    o.num("id", id);
                }
                AsyncEvent::Input(i) => input_json(&i, o),
                AsyncEvent::InputSync => {}
                AsyncEvent::CharRead { chardev, data } => {
                    o.num("chardev", chardev);
                    text_json(o, data);
                }
                AsyncEvent::Net {
                    filter,
                    flags,
                    packet,
                } => {
                    o.num("filter", filter)
                        .num("flags", flags)
                        .num("len", packet.len());
                    o.str("hex", &json::hex(packet));
                }
            }
        }
        Event::CharWrite { res, offset } => {
            o.num("res", res as i32).num("written", offset);
        }
        Event::CharReadAll(data) => text_json(o, data),
        Event::CharReadAllError(res) => {
            o.num("res", res as i32);
        }
        Event::AudioOut { played } => {
            o.num("played", played);
        }
        Event::AudioIn {
            recorded,
            wpos,
            samples,
        } => {
            o.num("recorded", recorded)
                .num("wpos", wpos)
                .str("samples_hex", &json::hex(samples));
        }
        Event::Random { ret, data } => {
            o.num("ret", ret as i32)
                .num("len", data.len())
                .str("hex", &json::hex(data));
        }
        Event::Clock { value, .. } => {
            o.num("value", value as i64);
        }
    }
}

/// Room every text line is guaranteed before it is written; longer
/// payloads grow the buffer.
const LINE_ROOM: usize = 256;

/// Kind names padded to 32 bytes, so copying one is a fixed-size move
/// instead of a `memcpy` call (the longest name has 30 bytes).
const KIND_NAMES_32: [([u8; 32], usize); KIND_SLOTS] = {
    let mut t = [([0u8; 32], 0usize); KIND_SLOTS];
    let mut i = 0;
    while i < KIND_SLOTS {
        let name = ALL_KIND_NAMES[i].as_bytes();
        let mut j = 0;
        while j < name.len() {
            t[i].0[j] = name[j];
            j += 1;
        }
        t[i].1 = name.len();
        i += 1;
    }
    t
};

/// An output buffer for `dump` text lines. This is the hot path of
/// `rrtool dump`: numbers and the frequent payloads are written by hand
/// with fixed-size copies, without `fmt` or per-field `memcpy` calls
/// (see docs/benchmarks-rrtool.md).
pub struct TextBuf {
    buf: Vec<u8>,
    len: usize,
    /// The index, offset and icount columns of the previous line: their
    /// values, and their text while no line of this buffer holds it.
    prefix: Prefix,
    /// Where the previous line (and so the current prefix text) starts in
    /// `buf`. The next line's prefix is that text copied and moved forward
    /// in place: updating a separate copy digit by digit and then copying
    /// it whole made the copy wait for the byte stores (store forwarding).
    last: Option<usize>,
}

/// Field ends (exclusive) and widths of the three leading columns
/// `{index:>9} {offset:>10} {icount:>14} `.
const FIELDS: [(usize, usize); 3] = [(9, 9), (20, 10), (35, 14)];
/// Bytes of the prefix, trailing space included.
const PREFIX_LEN: usize = 36;

/// The three leading columns of a line, kept as text and moved forward by
/// adding the difference digit by digit. The columns only grow from one
/// line to the next (index by 1, offset by the event length, icount by the
/// INSTRUCTION delta), so this replaces ~30 divisions per line by a few
/// digit additions and one fixed-size copy of the whole prefix.
struct Prefix {
    text: [u8; PREFIX_LEN],
    values: [u64; 3],
    /// `text` matches `values`, and every value fits its column.
    valid: bool,
}

impl Prefix {
    const NEW: Prefix = Prefix {
        text: [b' '; PREFIX_LEN],
        values: [0; 3],
        valid: false,
    };

    /// Moves to the new values. False when a value does not fit its column
    /// (the caller then formats the line the slow way).
    #[inline(always)]
    fn update(&mut self, text: &mut [u8], values: [u64; 3]) -> bool {
        for (k, &v) in values.iter().enumerate() {
            let ok = match v.checked_sub(self.values[k]) {
                Some(0) if self.valid => true,
                Some(d) if d < 10 && self.valid => Self::add_digit(text, k, d as u8),
                Some(d) if d < 1_000_000 && self.valid => Self::add_wide(text, k, d),
                _ => Self::format(text, k, v),
            };
            if !ok {
                self.valid = false;
                return false;
            }
        }
        self.values = values;
        self.valid = true;
        true
    }

    /// Rewrites column `k`; false when `v` has more digits than the column.
    fn format(text: &mut [u8], k: usize, mut v: u64) -> bool {
        let (end, width) = FIELDS[k];
        let start = end - width;
        text[start..end].fill(b' ');
        let mut i = end;
        loop {
            if i == start {
                return false;
            }
            i -= 1;
            text[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                return true;
            }
        }
    }

    /// Adds `d` to column `k` digit by digit; false when the number
    /// outgrows the column.
    fn add_wide(text: &mut [u8], k: usize, mut d: u64) -> bool {
        let (end, width) = FIELDS[k];
        let start = end - width;
        let mut i = end;
        let mut carry = 0u8;
        while d > 0 || carry > 0 {
            if i == start {
                return false;
            }
            i -= 1;
            let sum = text[i].saturating_sub(b'0') + (d % 10) as u8 + carry;
            d /= 10;
            carry = sum / 10;
            text[i] = b'0' + sum % 10;
        }
        true
    }

    /// Adds `d` < 10 to column `k`, rippling the carry; false when the
    /// number outgrows the column.
    #[inline(always)]
    fn add_digit(text: &mut [u8], k: usize, d: u8) -> bool {
        let (end, width) = FIELDS[k];
        let start = end - width;
        let mut i = end - 1;
        let mut d = d;
        loop {
            // Columns left of the number hold spaces, which count as 0.
            let sum = text[i].saturating_sub(b'0') + d;
            if sum < 10 {
                text[i] = b'0' + sum;
                return true;
            }
            text[i] = b'0' + sum - 10;
            d = 1;
            if i == start {
                return false;
            }
            i -= 1;
        }
    }
}

impl TextBuf {
    pub fn with_capacity(cap: usize) -> Self {
        TextBuf {
            buf: vec![0; cap.max(LINE_ROOM)],
            len: 0,
            prefix: Prefix::NEW,
            last: None,
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn clear(&mut self) {
        self.keep_prefix();
        self.len = 0;
    }

    /// Saves the previous line's prefix text before its bytes go away.
    fn keep_prefix(&mut self) {
        if let Some(p) = self.last.take() {
            self.prefix
                .text
                .copy_from_slice(&self.buf[p..p + PREFIX_LEN]);
        }
    }

    /// Empties the buffer and forgets the previous line, for reuse on
    /// events that do not follow the last ones written.
    pub fn restart(&mut self) {
        self.len = 0;
        self.prefix = Prefix::NEW;
        self.last = None;
    }

    fn reserve(&mut self, n: usize) {
        if self.len + n > self.buf.len() {
            // (`last` stays valid: resizing keeps the bytes.)
            self.buf.resize((self.len + n).max(2 * self.buf.len()), 0);
        }
    }

    #[inline]
    fn byte(&mut self, b: u8) {
        self.buf[self.len] = b;
        self.len += 1;
    }

    fn bytes(&mut self, b: &[u8]) {
        self.reserve(b.len());
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
    }

    /// `v` in decimal, right-aligned in `width` (at most 24) columns: a
    /// hand-rolled `{:>width}`.
    #[inline(always)]
    pub fn padded(&mut self, mut v: u64, width: usize) {
        let digits = v.checked_ilog10().map_or(1, |l| l as usize + 1);
        let pad = width.min(24).saturating_sub(digits);
        let at = self.len;
        self.buf[at..at + 24].copy_from_slice(&[b' '; 24]);
        let mut end = at + pad + digits;
        while v >= 100 {
            let r = (v % 100) as usize * 2;
            v /= 100;
            end -= 2;
            self.buf[end..end + 2].copy_from_slice(&DIGIT_PAIRS[r..r + 2]);
        }
        if v >= 10 {
            let r = v as usize * 2;
            self.buf[end - 2..end].copy_from_slice(&DIGIT_PAIRS[r..r + 2]);
        } else {
            self.buf[end - 1] = b'0' + v as u8;
        }
        self.len = at + pad + digits;
    }

    #[inline]
    fn kind(&mut self, slot: usize) {
        let (name, len) = &KIND_NAMES_32[slot];
        let at = self.len;
        self.buf[at..at + 32].copy_from_slice(name);
        self.len = at + len;
    }

    #[inline]
    fn fixed<const N: usize>(&mut self, s: &[u8; N]) {
        let at = self.len;
        self.buf[at..at + N].copy_from_slice(s);
        self.len = at + N;
    }

    /// One `dump` text line with its newline.
    #[inline]
    pub fn text_line(&mut self, index: u64, offset: u64, icount: u64, e: &Event<'_>) {
        self.reserve(LINE_ROOM);
        let at = self.len;
        match self.last {
            Some(p) => self.buf.copy_within(p..p + PREFIX_LEN, at),
            None => self.buf[at..at + PREFIX_LEN].copy_from_slice(&self.prefix.text),
        }
        if self
            .prefix
            .update(&mut self.buf[at..at + PREFIX_LEN], [index, offset, icount])
        {
            self.last = Some(at);
            self.len = at + PREFIX_LEN;
        } else {
            // Start the next line from clean columns.
            self.last = None;
            self.prefix.text = Prefix::NEW.text;
            // A number wider than its column (≥ 10^9 events, ≥ 10 GB, …).
            self.padded(index, 9);
            self.byte(b' ');
            self.padded(offset, 10);
            self.byte(b' ');
            self.padded(icount, 14);
            self.byte(b' ');
        }
        self.kind(kind_slot(e));
        // The fast arms fit in the LINE_ROOM reserved above, newline included.
        match *e {
            Event::Instruction(n) => {
                self.fixed(b" +");
                self.decimal(u64::from(n));
            }
            Event::CharWrite { res, offset } if (res as i32) >= 0 => {
                self.fixed(b" res=");
                self.decimal(u64::from(res));
                self.fixed(b" offset=");
                self.decimal(u64::from(offset));
            }
            Event::Interrupt
            | Event::Exception
            | Event::Shutdown(_)
            | Event::Checkpoint(_)
            | Event::End => {}
            _ => {
                let mut s = String::from(" ");
                payload_text(e, &mut s);
                self.bytes(s.as_bytes());
                self.reserve(1);
            }
        }
        self.byte(b'\n');
    }

    /// `v` in decimal without padding; one- and two-digit numbers (most
    /// INSTRUCTION deltas of dense logs) without the padded path's fill.
    #[inline(always)]
    fn decimal(&mut self, v: u64) {
        let at = self.len;
        if v < 10 {
            self.buf[at] = b'0' + v as u8;
            self.len = at + 1;
        } else if v < 100 {
            let r = v as usize * 2;
            self.buf[at..at + 2].copy_from_slice(&DIGIT_PAIRS[r..r + 2]);
            self.len = at + 2;
        } else {
            self.padded(v, 0);
        }
    }
}

/// One `dump` text line (without newline).
pub fn text_line(index: u64, offset: u64, icount: u64, e: &Event<'_>) -> String {
    let mut b = TextBuf::with_capacity(LINE_ROOM);
    b.text_line(index, offset, icount, e);
    let line = &b.as_bytes()[..b.len() - 1];
    String::from_utf8_lossy(line).into_owned()
}

/// "00" "01" … "99": two digits per lookup.
const DIGIT_PAIRS: [u8; 200] = {
    let mut t = [0u8; 200];
    let mut i = 0;
    while i < 100 {
        t[2 * i] = b'0' + (i / 10) as u8;
        t[2 * i + 1] = b'0' + (i % 10) as u8;
        i += 1;
    }
    t
};

/// One `dump --json` object (without newline).
pub fn json_line(index: u64, offset: u64, icount: u64, e: &Event<'_>, out: &mut String) {
    let mut o = Obj::new(out);
    o.num("index", index)
        .num("offset", offset)
        .num("icount", icount)
        .str("kind", e.kind_name());
    payload_json(e, &mut o);
    o.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use logfmt::{ClockKind, ShutdownCause};

    #[test]
    fn kind_slot_matches_kind_name() {
        let mut events = vec![
            Event::Instruction(1),
            Event::Interrupt,
            Event::Exception,
            Event::CharWrite { res: 1, offset: 1 },
            Event::CharReadAll(b""),
            Event::CharReadAllError(0),
            Event::AudioOut { played: 0 },
            Event::AudioIn {
                recorded: 0,
                wpos: 0,
                samples: b"",
            },
            Event::Random { ret: 0, data: b"" },
            Event::Clock {
                kind: ClockKind::Host,
                value: 0,
            },
            Event::Clock {
                kind: ClockKind::VirtualRt,
                value: 0,
            },
            Event::End,
        ];
        for c in [
            ShutdownCause::None,
            ShutdownCause::HostSignal,
            ShutdownCause::SnapshotLoad,
        ] {
            events.push(Event::Shutdown(c));
        }
        for cp in [
            Checkpoint::ClockWarpStart,
            Checkpoint::Init,
            Checkpoint::Reset,
        ] {
            events.push(Event::Checkpoint(cp));
        }
        let asyncs = [
            AsyncEvent::Bh { id: 1 },
            AsyncEvent::BhOneshot { id: 1 },
            AsyncEvent::Input(InputEvent::Btn {
                button: 0,
                down: true,
            }),
            AsyncEvent::InputSync,
            AsyncEvent::CharRead {
                chardev: 0,
                data: b"x",
            },
            AsyncEvent::Block { id: 2 },
            AsyncEvent::Net {
                filter: 0,
                flags: 0,
                packet: b"",
            },
        ];
        for a in asyncs {
            events.push(Event::Async {
                checkpoint: None,
                event: a,
            });
        }
        for e in events {
            assert_eq!(slot_name(kind_slot(&e)), e.kind_name(), "{e:?}");
        }
    }

    #[test]
    fn padded_numbers_match_fmt() {
        for (v, w) in [
            (0u64, 0usize),
            (7, 3),
            (10, 0),
            (99, 1),
            (100, 5),
            (123, 2),
            (1234567, 9),
            (u64::MAX, 24),
            (u64::MAX, 9),
            (42, 14),
        ] {
            let mut b = TextBuf::with_capacity(0);
            b.padded(v, w);
            assert_eq!(
                String::from_utf8(b.as_bytes().to_vec()).unwrap(),
                format!("{v:>w$}")
            );
        }
    }

    #[test]
    fn prefix_columns_match_fmt_across_carries_jumps_and_overflow() {
        let mut b = TextBuf::with_capacity(0);
        let mut expect = String::new();
        let values = [
            0u64,
            1,
            9,
            10,
            99,
            100,
            999_999,
            1_000_000,
            1_000_009,
            99_999_999,
            999_999_999,
            1_000_000_000,
            1_000_000_001,
            5_000_000_000,
            5_000_000_001,
            3,
            4,
        ];
        for (i, &v) in values.iter().enumerate() {
            b.text_line(v, v * 7, v * 1000, &Event::End);
            expect.push_str(&format!("{v:>9} {:>10} {:>14} END\n", v * 7, v * 1000));
            assert_eq!(String::from_utf8_lossy(b.as_bytes()), expect, "after {i}");
        }
    }

    #[test]
    fn escapes_char_data() {
        let mut s = String::new();
        escape_bytes(b"ok\r\"\\\x01", 64, &mut s);
        assert_eq!(s, r#""ok\r\"\\\x01""#);
        let mut s = String::new();
        escape_bytes(b"abcdef", 3, &mut s);
        assert_eq!(s, "\"abc\"…");
    }

    #[test]
    fn text_and_json_lines() {
        let e = Event::Async {
            checkpoint: Some(Checkpoint::ClockWarpAccount),
            event: AsyncEvent::CharRead {
                chardev: 0,
                data: b"v",
            },
        };
        let s = text_line(5, 99, 1000, &e);
        assert_eq!(s, "        5         99           1000 ASYNC_CHAR_READ cp=CLOCK_WARP_ACCOUNT chardev=0 len=1 \"v\"");
        let mut s = String::new();
        json_line(5, 99, 1000, &e, &mut s);
        assert_eq!(
            s,
            r#"{"index":5,"offset":99,"icount":1000,"kind":"ASYNC_CHAR_READ","checkpoint":"CLOCK_WARP_ACCOUNT","chardev":0,"len":1,"hex":"76","text":"v"}"#
        );
        let s = text_line(0, 12, 0, &Event::End);
        assert_eq!(s, "        0         12              0 END");
    }
}
