//! A byte builder for hand-made logs, so reader tests do not depend on the
//! writer (and can build what the writer refuses to: bad ids, bad kinds,
//! absurd lengths, cut-off events).

use crate::defs::Version;

/// Builds a log byte by byte. Methods return `&mut Self` for chaining and
/// record where each event starts, so tests can assert error offsets.
#[derive(Debug, Clone, Default)]
pub struct LogBuilder {
    bytes: Vec<u8>,
    starts: Vec<usize>,
}

impl LogBuilder {
    /// A log with the header of `version` (version + 8 zero bytes).
    pub fn new(version: Version) -> Self {
        Self::with_raw_header(version.raw(), [0; 8])
    }

    /// A log with an arbitrary header.
    pub fn with_raw_header(raw_version: u32, reserved: [u8; 8]) -> Self {
        let mut bytes = raw_version.to_be_bytes().to_vec();
        bytes.extend_from_slice(&reserved);
        LogBuilder {
            bytes,
            starts: Vec::new(),
        }
    }

    /// Starts a new event with id byte `id`.
    pub fn id(&mut self, id: u8) -> &mut Self {
        self.starts.push(self.bytes.len());
        self.bytes.push(id);
        self
    }

    /// One payload byte.
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes.push(v);
        self
    }

    /// A big-endian u32.
    pub fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// A big-endian u64.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes.extend_from_slice(&v.to_be_bytes());
        self
    }

    /// Raw bytes.
    pub fn raw(&mut self, b: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(b);
        self
    }

    /// A u32 length and the bytes.
    pub fn array(&mut self, b: &[u8]) -> &mut Self {
        self.u32(b.len() as u32).raw(b)
    }

    /// Start offset of event `i`.
    pub fn start(&self, i: usize) -> u64 {
        self.starts[i] as u64
    }

    /// Number of events started.
    pub fn events(&self) -> usize {
        self.starts.len()
    }

    /// Current length.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing (not even a header) was written.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The bytes so far.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Takes the bytes.
    pub fn build(&self) -> Vec<u8> {
        self.bytes.clone()
    }
}
