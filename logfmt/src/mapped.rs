//! [`MappedLog`]: a log file mapped read-only into memory, lending
//! zero-copy [`Reader`]s.

use crate::error::{OpenError, ReadError};
use crate::read::{ReadOptions, Reader};
use crate::units::ByteOffset;
use memmap2::Mmap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// [`MappedLog::release_before`] works in steps of this many bytes: few
/// system calls, a small resident set.
const RELEASE_STEP: usize = 16 << 20;

/// An open log file. Empty files are not mapped (mapping zero bytes fails on
/// Linux); they read as an empty slice.
#[derive(Debug)]
pub struct MappedLog {
    path: PathBuf,
    map: Option<Mmap>,
    /// Bytes from the start already handed back by `release_before`.
    released: AtomicUsize,
}

impl MappedLog {
    /// Opens and maps `path`.
    pub fn open(path: &Path) -> Result<Self, OpenError> {
        let io = |source| OpenError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let meta = file.metadata().map_err(io)?;
        if meta.is_dir() {
            return Err(OpenError::IsDirectory {
                path: path.to_path_buf(),
            });
        }
        let map = if meta.len() == 0 {
            None
        } else {
            // SAFETY: the map is read-only and private to this value. If
            // another process truncates or rewrites the file while it is
            // mapped, reads may see changed bytes or fault (SIGBUS); that is
            // the documented cost of mmap and acceptable for log files that
            // are not being written.
            Some(unsafe { Mmap::map(&file) }.map_err(io)?)
        };
        Ok(MappedLog {
            path: path.to_path_buf(),
            map,
            released: AtomicUsize::new(0),
        })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }

    /// The path it was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A reader with version detection.
    pub fn reader(&self) -> Result<Reader<'_>, ReadError> {
        Reader::new(self.bytes())
    }

    /// Tells the kernel that this process no longer needs the mapped pages
    /// before `offset` (rounded down to a 16 MiB step), so that one pass
    /// over a huge log keeps a small resident set instead of one that grows
    /// with the file. The bytes stay valid: touching them again (a payload
    /// still borrowed from an earlier event) faults the same file pages back
    /// in. Errors from the kernel are ignored; this is only a hint.
    pub fn release_before(&self, offset: ByteOffset) {
        let Some(map) = &self.map else { return };
        let upto = usize::try_from(offset.0)
            .unwrap_or(usize::MAX)
            .min(map.len());
        let upto = upto / RELEASE_STEP * RELEASE_STEP;
        if upto <= self.released.fetch_max(upto, Ordering::Relaxed) {
            return;
        }
        // SAFETY: MADV_DONTNEED on a read-only, private, never-written file
        // mapping only drops this process's page-table entries; the next
        // access maps the same file bytes again, so no live reference ever
        // sees different contents (absent outside writers, the same caveat
        // as for mapping the file at all). The range is inside the map.
        let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, 0, upto) };
    }

    /// A reader with detection overridden.
    pub fn reader_with(&self, opts: ReadOptions) -> Result<Reader<'_>, ReadError> {
        Reader::with_options(self.bytes(), opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_and_missing_file_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let e = MappedLog::open(dir.path()).unwrap_err();
        assert!(matches!(e, OpenError::IsDirectory { .. }), "{e}");
        assert!(e.to_string().contains("is a directory"));
        let missing = dir.path().join("nope.bin");
        let e = MappedLog::open(&missing).unwrap_err();
        assert!(matches!(e, OpenError::Io { .. }));
        assert!(e.to_string().contains("nope.bin"), "{e}");
    }

    #[test]
    fn released_pages_read_back_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.bin");
        let data: Vec<u8> = (0..(40usize << 20))
            .map(|i| (i * 7 + i / 4096) as u8)
            .collect();
        std::fs::write(&p, &data).unwrap();
        let log = MappedLog::open(&p).unwrap();
        let before = log.bytes()[..4096].to_vec();
        log.release_before(ByteOffset(33 << 20));
        log.release_before(ByteOffset(1)); // below what was released: no-op
        assert_eq!(&log.bytes()[..4096], &before[..]);
        assert!(log.bytes() == &data[..]);
    }

    #[test]
    fn empty_file_reads_as_truncated_header() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("empty.bin");
        std::fs::write(&p, b"").unwrap();
        let log = MappedLog::open(&p).unwrap();
        assert!(log.bytes().is_empty());
        let e = log.reader().unwrap_err();
        assert_eq!(
            e.kind,
            crate::ReadErrorKind::Truncated {
                needed: 12,
                last_complete: crate::ByteOffset(0)
            }
        );
    }
}
