//! Where command output goes: a buffered stdout in human or JSON form, and a
//! progress bar on stderr that appears only for large files on a terminal.

use std::io::{self, BufWriter, IsTerminal, Write};

use indicatif::{ProgressBar, ProgressStyle};

/// Files at least this large get a progress bar (when stderr is a terminal).
const PROGRESS_MIN_BYTES: u64 = 256 << 20;

/// Update the bar every 2^18 events: cheap enough for ~1 G events/s.
const PROGRESS_MASK: u64 = (1 << 18) - 1;

/// Whether event number `n` should update the progress bar.
#[inline]
pub fn progress_tick(n: u64) -> bool {
    n & PROGRESS_MASK == 0
}

/// The command's report channel. Commands write lines here and never touch
/// stdout or stderr directly.
pub struct Output {
    out: Box<dyn Write>,
    json: bool,
    /// Whether progress bars may be drawn (stderr is a terminal).
    interactive: bool,
}

impl Output {
    pub fn stdout(json: bool) -> Self {
        Output {
            out: Box::new(BufWriter::with_capacity(1 << 16, io::stdout())),
            json,
            interactive: io::stderr().is_terminal(),
        }
    }

    pub fn json(&self) -> bool {
        self.json
    }

    pub fn line(&mut self, s: &str) -> io::Result<()> {
        self.out.write_all(s.as_bytes())?;
        self.out.write_all(b"\n")
    }

    /// Raw access for tight loops (dump).
    pub fn writer(&mut self) -> &mut dyn Write {
        &mut self.out
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// A progress bar over `total` bytes, or a no-op one.
    pub fn progress(&self, total: u64, what: &str) -> Progress {
        if !self.interactive || total < PROGRESS_MIN_BYTES {
            return Progress(None);
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template(
                "{msg} {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(what.to_string());
        Progress(Some(bar))
    }
}

/// A progress bar that may be absent.
pub struct Progress(Option<ProgressBar>);

impl Progress {
    pub fn set(&self, pos: u64) {
        if let Some(b) = &self.0 {
            b.set_position(pos);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = self.0.take() {
            b.finish_and_clear();
        }
    }
}
