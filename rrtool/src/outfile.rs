//! Output files that appear whole or not at all: written to a temporary file
//! in the destination directory (so the final rename stays on one file
//! system) and renamed into place only on `commit`. Dropping an uncommitted
//! file removes the temporary, so an error never leaves a partial output.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{CliError, Result};

/// Checks that `output` may be written: it is not the input (even with
/// `--force`, since the input is still being read while the output is
/// written) and it does not exist unless `force` is given.
pub fn check_target(input: &Path, output: &Path, force: bool) -> Result<()> {
    if same_file(input, output) {
        return Err(CliError::OutputIsInput {
            path: output.to_path_buf(),
        });
    }
    if !force && fs::symlink_metadata(output).is_ok() {
        return Err(CliError::OutputExists {
            path: output.to_path_buf(),
        });
    }
    Ok(())
}

/// True when both paths name the same file: same path after
/// canonicalisation, or same device and inode (hard links).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    if let (Ok(ca), Ok(cb)) = (fs::canonicalize(a), fs::canonicalize(b)) {
        if ca == cb {
            return true;
        }
    }
    match (fs::metadata(a), fs::metadata(b)) {
        (Ok(ma), Ok(mb)) => ma.dev() == mb.dev() && ma.ino() == mb.ino(),
        _ => false,
    }
}

/// A file being written under a temporary name next to its final path.
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub fn create(target: &Path) -> Result<Self> {
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let write_err = |source| CliError::Write {
            path: target.to_path_buf(),
            source,
        };
        // pid + attempt counter: unique among concurrent rrtool runs.
        for attempt in 0..100u32 {
            let temp = dir.join(format!(
                ".{name}.rrtool-{}-{attempt}.tmp",
                std::process::id()
            ));
            match OpenOptions::new().write(true).create_new(true).open(&temp) {
                Ok(f) => {
                    return Ok(AtomicFile {
                        target: target.to_path_buf(),
                        temp,
                        file: Some(BufWriter::with_capacity(1 << 20, f)),
                    })
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(write_err(e)),
            }
        }
        Err(write_err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "no free temporary file name",
        )))
    }

    /// The writer to fill. Valid until `commit`.
    pub fn writer(&mut self) -> &mut BufWriter<File> {
        self.file.as_mut().expect("writer used after commit")
    }

    /// Flushes, syncs and renames the temporary onto the target.
    pub fn commit(mut self) -> Result<()> {
        let write_err = |source| CliError::Write {
            path: self.target.clone(),
            source,
        };
        let file = self.file.take().expect("commit called twice");
        let file = file.into_inner().map_err(|e| write_err(e.into_error()))?;
        file.sync_all().map_err(write_err)?;
        drop(file);
        fs::rename(&self.temp, &self.target).map_err(write_err)?;
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        {
            let mut f = AtomicFile::create(&target).unwrap();
            f.write_all(b"partial").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn committed_file_appears_whole() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.bin");
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"whole").unwrap();
        f.commit().unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"whole");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_input_as_output_even_via_other_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.bin");
        fs::write(&input, b"x").unwrap();
        let other = dir.path().join(".").join("in.bin");
        assert!(matches!(
            check_target(&input, &other, true),
            Err(CliError::OutputIsInput { .. })
        ));
        let link = dir.path().join("hard.bin");
        fs::hard_link(&input, &link).unwrap();
        assert!(matches!(
            check_target(&input, &link, true),
            Err(CliError::OutputIsInput { .. })
        ));
        assert!(matches!(
            check_target(&input, &dir.path().join("new.bin"), false),
            Ok(())
        ));
    }

    #[test]
    fn refuses_existing_output_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.bin");
        let out = dir.path().join("out.bin");
        fs::write(&input, b"x").unwrap();
        fs::write(&out, b"y").unwrap();
        assert!(matches!(
            check_target(&input, &out, false),
            Err(CliError::OutputExists { .. })
        ));
        assert!(check_target(&input, &out, true).is_ok());
    }
}
