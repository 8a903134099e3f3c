//! Opening input logs: map the file read-only and start a reader, with
//! errors that name the file.
//!
//! rrtool maps files itself rather than through `logfmt::MappedLog` for one
//! reason: a single pass over a multi-gigabyte log should not keep every
//! page it has read mapped, or the process's resident size grows with the
//! file. [`Log::release_before`] drops the pages behind the reader.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use logfmt::{Numbering, OpenError, ReadOptions, Reader};
use memmap2::{Mmap, UncheckedAdvice};

use crate::cli::InputArgs;
use crate::error::{CliError, Result};

/// Release in steps of this many bytes: few system calls, small footprint.
const RELEASE_STEP: usize = 16 << 20;

/// A read-only mapped log file.
pub struct Log {
    map: Option<Mmap>,
    /// Bytes from the start already handed back to the kernel.
    released: AtomicUsize,
}

impl Log {
    pub fn open(path: &Path) -> Result<Self> {
        let err = |source| CliError::Open {
            path: path.to_path_buf(),
            source,
        };
        let io = |source| {
            err(OpenError::Io {
                path: path.to_path_buf(),
                source,
            })
        };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(err(OpenError::IsDirectory {
                path: path.to_path_buf(),
            }));
        }
        // Mapping zero bytes fails on Linux; an empty file is an empty slice.
        let map = if meta.len() == 0 {
            None
        } else {
            // SAFETY: a read-only private mapping. If another process
            // truncates or rewrites the file meanwhile, reads may see new
            // bytes or fault; that is the accepted cost of mmap for logs
            // that are not being written.
            Some(unsafe { Mmap::map(&file) }.map_err(io)?)
        };
        Ok(Log {
            map,
            released: AtomicUsize::new(0),
        })
    }

    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }

    pub fn len(&self) -> u64 {
        self.bytes().len() as u64
    }

    /// Tells the kernel this process no longer needs the pages before
    /// `offset`. They stay in the page cache; touching them again (a
    /// borrowed payload in a held-back group) faults the same bytes back in.
    pub fn release_before(&self, offset: u64) {
        let done = self.released.load(Ordering::Relaxed);
        let upto = self.release_range(done as u64, offset);
        if upto > done {
            self.released.store(upto, Ordering::Relaxed);
        }
    }

    /// Releases the whole release steps between `from` and `to` (for a
    /// thread that reads a later part of the log); returns where the
    /// released range ends (`from` rounded down when nothing was released).
    pub fn release_range(&self, from: u64, to: u64) -> usize {
        let Some(map) = &self.map else { return 0 };
        let start = (from as usize).min(map.len()) / RELEASE_STEP * RELEASE_STEP;
        let upto = (to as usize).min(map.len()) / RELEASE_STEP * RELEASE_STEP;
        if upto <= start {
            return start;
        }
        // SAFETY: MADV_DONTNEED on a read-only, file-backed private mapping
        // that is never written has no copy-on-write pages to lose: a later
        // access re-reads the unchanged file bytes, so every live reference
        // into the range still sees the same data. A failure only means the
        // pages stay resident.
        let _ =
            unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, start, upto - start) };
        upto
    }
}

pub fn options(numbering: Option<Numbering>) -> ReadOptions {
    ReadOptions {
        numbering,
        ..ReadOptions::default()
    }
}

pub fn options_for(args: &InputArgs) -> ReadOptions {
    options(args.numbering.map(Into::into))
}

pub fn reader<'a>(path: &Path, log: &'a Log, opts: ReadOptions) -> Result<Reader<'a>> {
    Reader::with_options(log.bytes(), opts).map_err(|source| CliError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// `"7.1"` / `"7.2"` for 0xe0200c, nothing for versions without numberings.
pub fn numbering_name(n: Option<Numbering>) -> Option<&'static str> {
    n.map(|n| match n {
        Numbering::Qemu7_1 => "7.1",
        Numbering::Qemu7_2 => "7.2",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_pages_read_back_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data.bin");
        let data: Vec<u8> = (0..3 * RELEASE_STEP + 123)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&path, &data).unwrap();
        let log = Log::open(&path).unwrap();
        let early = &log.bytes()[..64];
        log.release_before(2 * RELEASE_STEP as u64 + 5);
        assert_eq!(log.released.load(Ordering::Relaxed), 2 * RELEASE_STEP);
        assert_eq!(early, &data[..64]);
        assert!(log.bytes() == &data[..]);
        log.release_before(u64::MAX);
        assert_eq!(log.released.load(Ordering::Relaxed), 3 * RELEASE_STEP);
    }

    #[test]
    fn empty_file_is_an_empty_slice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("empty.bin");
        std::fs::write(&path, b"").unwrap();
        let log = Log::open(&path).unwrap();
        assert!(log.bytes().is_empty());
        log.release_before(100);
    }
}
