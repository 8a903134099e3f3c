//! The CLI's error type and the one place that maps outcomes to exit codes.

use std::io;
use std::path::PathBuf;

use logfmt::convert::{ConvertError, Finding};
use logfmt::{OpenError, ReadError, WriteError};

/// Exit codes, named once. `validate` and `diff` use `FINDINGS` for "the
/// input is readable but violates a rule / differs".
pub mod exit {
    /// Success: valid, identical, written.
    pub const OK: u8 = 0;
    /// Findings: validation violations, differences, non-equivalence.
    pub const FINDINGS: u8 = 1;
    /// The command could not do its job: usage, I/O or parse error.
    pub const ERROR: u8 = 2;
}

/// What a command reports when it ran to completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Clean,
    Findings,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Clean => exit::OK,
            Outcome::Findings => exit::FINDINGS,
        }
    }
}

pub type Result<T> = std::result::Result<T, CliError>;

/// Everything that stops a command. Every variant names the file; variants
/// that come from the log carry the byte offset and event index inside the
/// wrapped logfmt error.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// `OpenError` already names the file.
    #[error("{source}")]
    Open { path: PathBuf, source: OpenError },
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: ReadError },
    #[error("{}: {source}", path.display())]
    Convert { path: PathBuf, source: ConvertError },
    #[error("{}: cannot write: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("{}: cannot encode: {source}", path.display())]
    Encode { path: PathBuf, source: WriteError },
    #[error("{}: output exists (use --force to overwrite)", path.display())]
    OutputExists { path: PathBuf },
    #[error("{}: output is the input file; refusing to overwrite the input", path.display())]
    OutputIsInput { path: PathBuf },
    #[error("{}: {total} place(s) not provably equivalent; first: {first} (--strict)", path.display())]
    NotEquivalent {
        path: PathBuf,
        total: u64,
        first: Finding,
    },
    #[error(
        "{}: refused: {total} place(s) cannot be converted without changing when the guest sees an input; first: {first}{}",
        path.display(),
        if *shift_helps { " (--allow-shift moves shifted groups anyway)" } else { "" }
    )]
    Refused {
        path: PathBuf,
        total: u64,
        first: Finding,
        shift_helps: bool,
    },
    #[error(
        "{}: unfinished recording (header version 0, QEMU did not exit cleanly); run `rrtool repair` first",
        path.display()
    )]
    Unfinished { path: PathBuf },
    #[error("{}: nothing to repair: no complete event could be read after the header ({source})", path.display())]
    NothingRecoverable { path: PathBuf, source: ReadError },
    #[error("{}: {source}", path.display())]
    Picture {
        path: PathBuf,
        source: crate::picture::PictureError,
    },
    #[error("{}: unknown picture format (use .svg or .png)", path.display())]
    PictureFormat { path: PathBuf },
    /// A cut's side file or snapshot that cannot be shown.
    #[error("{}: {what}", path.display())]
    Snapshot { path: PathBuf, what: String },
    /// Writing to stdout failed (a broken pipe is handled in `main`).
    #[error("stdout: {0}")]
    Stdout(#[source] io::Error),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::NotEquivalent { .. } | CliError::Refused { .. } => exit::FINDINGS,
            _ => exit::ERROR,
        }
    }

    /// `rrtool dump big.bin | head` closes the pipe early: that is success.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, CliError::Stdout(e) if e.kind() == io::ErrorKind::BrokenPipe)
    }
}

impl From<io::Error> for CliError {
    fn from(e: io::Error) -> Self {
        CliError::Stdout(e)
    }
}
