//! [`MappedLog`]: a log file mapped read-only into memory, lending
//! zero-copy [`Reader`]s.

use crate::error::{OpenError, ReadError};
use crate::read::{ReadOptions, Reader};
use memmap2::Mmap;
use std::fs::File;
use std::path::{Path, PathBuf};

/// An open log file. Empty files are not mapped (mapping zero bytes fails on
/// Linux); they read as an empty slice.
#[derive(Debug)]
pub struct MappedLog {
    path: PathBuf,
    map: Option<Mmap>,
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
