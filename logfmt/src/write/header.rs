//! Writing the 12-byte file header.

use crate::defs::Header;
use std::io::{self, Write};

/// Writes `header` byte for byte (version 0 and non-zero reserved bytes
/// included, so any parsed log can be rewritten exactly).
pub(crate) fn write<W: Write>(w: &mut W, header: Header) -> io::Result<()> {
    w.write_all(&header.to_bytes())
}
