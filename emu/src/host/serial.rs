//! Serial console backends. Output is a plain writer the machine writes to
//! (stdout, a file, or nothing). Input, for `stdio`, comes from a stdin
//! thread that puts a terminal into raw mode and handles QEMU's Ctrl-A
//! escapes: Ctrl-A x quits, Ctrl-A Ctrl-A sends a literal Ctrl-A.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::str::FromStr;

use crossbeam_channel::Sender;

use crate::machine::nondet::{AsyncInput, HostEvent, HostSource};

const CTRL_A: u8 = 0x01;

/// `--serial` choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SerialConfig {
    /// Input from stdin, output to stdout.
    Stdio,
    /// No input, output discarded.
    Null,
    /// No input, output written to a file.
    File(PathBuf),
}

impl FromStr for SerialConfig {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "stdio" | "mon:stdio" => Ok(SerialConfig::Stdio),
            "null" | "none" => Ok(SerialConfig::Null),
            _ => match s.strip_prefix("file:") {
                Some(p) if !p.is_empty() => Ok(SerialConfig::File(p.into())),
                _ => Err(format!(
                    "unknown serial backend `{s}` (expected stdio, null or file:PATH)"
                )),
            },
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("cannot open serial output file {path}: {source}")]
pub struct SerialError {
    path: PathBuf,
    source: io::Error,
}

/// The output side for `cfg`.
pub fn output(cfg: &SerialConfig) -> Result<Box<dyn Write>, SerialError> {
    Ok(match cfg {
        SerialConfig::Stdio => Box::new(io::stdout()),
        SerialConfig::Null => Box::new(io::sink()),
        SerialConfig::File(p) => Box::new(File::create(p).map_err(|source| SerialError {
            path: p.clone(),
            source,
        })?),
    })
}

/// Splits console input into guest bytes and a quit request, keeping the
/// escape state across reads (Ctrl-A may end one read and `x` start the next).
#[derive(Debug, Default)]
pub struct EscapeFilter {
    pending_ctrl_a: bool,
}

impl EscapeFilter {
    /// Returns the bytes for the guest and whether the user asked to quit.
    pub fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if self.pending_ctrl_a {
                self.pending_ctrl_a = false;
                match b {
                    b'x' | b'X' => return (out, true),
                    CTRL_A => out.push(CTRL_A),
                    _ => {} // other QEMU mux commands are not supported; dropped
                }
            } else if b == CTRL_A {
                self.pending_ctrl_a = true;
            } else {
                out.push(b);
            }
        }
        (out, false)
    }
}

/// Restores the terminal settings when dropped.
pub struct RawModeGuard {
    saved: Option<libc::termios>,
}

impl RawModeGuard {
    /// Puts stdin into raw mode if it is a terminal.
    pub fn enable() -> RawModeGuard {
        // SAFETY: isatty/tcgetattr/tcsetattr only read/write the termios we pass.
        unsafe {
            if libc::isatty(0) != 1 {
                return RawModeGuard { saved: None };
            }
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(0, &mut t) != 0 {
                return RawModeGuard { saved: None };
            }
            let saved = t;
            libc::cfmakeraw(&mut t);
            // Keep output post-processing so host newlines stay sane for logs.
            t.c_oflag |= libc::OPOST;
            libc::tcsetattr(0, libc::TCSANOW, &t);
            RawModeGuard { saved: Some(saved) }
        }
    }
}

impl Drop for RawModeGuard {
    fn drop(&mut self) {
        if let Some(t) = self.saved {
            // SAFETY: restores the settings read in `enable`.
            unsafe {
                libc::tcsetattr(0, libc::TCSANOW, &t);
            }
        }
    }
}

/// Starts the stdin reader thread. It ends at EOF (sending `Closed`) or on
/// Ctrl-A x (sending `Quit`). The thread is detached: a blocking read on
/// stdin cannot be cancelled, and the process exits without waiting for it.
pub fn spawn_stdin(events: Sender<HostEvent>) -> io::Result<()> {
    std::thread::Builder::new()
        .name("serial-stdin".into())
        .spawn(move || {
            let mut filter = EscapeFilter::default();
            let mut buf = [0u8; 256];
            let mut stdin = io::stdin().lock();
            loop {
                let n = match stdin.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                let (bytes, quit) = filter.feed(&buf[..n]);
                if !bytes.is_empty()
                    && events
                        .send(HostEvent::Input(AsyncInput::Serial(bytes)))
                        .is_err()
                {
                    return;
                }
                if quit {
                    let _ = events.send(HostEvent::Input(AsyncInput::Quit));
                    return;
                }
            }
            let _ = events.send(HostEvent::Closed(HostSource::Serial));
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctrl_a_escapes() {
        let mut f = EscapeFilter::default();
        assert_eq!(f.feed(b"ab\x01\x01c"), (b"ab\x01c".to_vec(), false));
        assert_eq!(f.feed(b"d\x01"), (b"d".to_vec(), false));
        assert_eq!(f.feed(b"x rest"), (Vec::new(), true));
    }

    #[test]
    fn parses_backends() {
        assert_eq!("stdio".parse::<SerialConfig>(), Ok(SerialConfig::Stdio));
        assert_eq!("null".parse::<SerialConfig>(), Ok(SerialConfig::Null));
        assert_eq!(
            "file:/tmp/x".parse::<SerialConfig>(),
            Ok(SerialConfig::File("/tmp/x".into()))
        );
        assert!("tcp:1".parse::<SerialConfig>().is_err());
    }
}
