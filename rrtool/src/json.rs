//! Hand-written JSON output: one small object builder and string escaping.
//! The output shapes are flat and fixed, so a serializer would add a
//! dependency for nothing.

use std::fmt::Write as _;

/// Appends `s` as a JSON string literal (with quotes) to `out`.
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Builds one JSON object, field by field, into a reusable buffer.
pub struct Obj<'b> {
    buf: &'b mut String,
    first: bool,
}

impl<'b> Obj<'b> {
    pub fn new(buf: &'b mut String) -> Self {
        buf.push('{');
        Obj { buf, first: true }
    }

    fn key(&mut self, k: &str) {
        if !self.first {
            self.buf.push(',');
        }
        self.first = false;
        push_str(self.buf, k);
        self.buf.push(':');
    }

    pub fn num(&mut self, k: &str, v: impl std::fmt::Display) -> &mut Self {
        self.key(k);
        let _ = write!(self.buf, "{v}");
        self
    }

    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        push_str(self.buf, v);
        self
    }

    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        self.buf.push_str(if v { "true" } else { "false" });
        self
    }

    pub fn null(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.buf.push_str("null");
        self
    }

    /// A field whose value is already valid JSON text.
    pub fn raw(&mut self, k: &str, json: &str) -> &mut Self {
        self.key(k);
        self.buf.push_str(json);
        self
    }

    pub fn close(self) {
        self.buf.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_quotes_and_backslashes() {
        let mut s = String::new();
        push_str(&mut s, "a\"b\\c\r\n\u{1}\u{7f}é");
        assert_eq!(s, r#""a\"b\\c\r\n\u0001\u007fé""#);
    }

    #[test]
    fn builds_objects() {
        let mut s = String::new();
        let mut o = Obj::new(&mut s);
        o.num("index", 3)
            .str("kind", "END")
            .bool("ok", true)
            .null("x")
            .raw("m", "{}");
        o.close();
        assert_eq!(s, r#"{"index":3,"kind":"END","ok":true,"x":null,"m":{}}"#);
    }
}
