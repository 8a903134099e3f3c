//! Scripted typing on the serial console, the way `expect` drives QEMU in
//! the fixtures' recipes: wait for text in the guest's output, then type.
//!
//! The script thread is a host input source like the stdin reader: its
//! bytes reach the guest through the `Live` door at slice boundaries, so a
//! recording logs them and a replay never runs the script.
//!
//! Script lines:
//! * `expect TEXT` — wait until TEXT has appeared in the output (since the
//!   previous `expect` matched);
//! * `send TEXT` — type TEXT and a carriage return;
//! * `sendraw TEXT` — type TEXT as is (`\n`, `\r`, `\xHH` escapes);
//! * `sleep MS` — pause;
//! * `quit` — like Ctrl-A x;
//! * blank lines and `#` comments are ignored.

use std::io::{self, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::machine::nondet::{AsyncInput, HostEvent, HostSource};

/// Pause between typed characters, as a person (or expect) types.
const CHAR_DELAY: Duration = Duration::from_millis(2);
/// How long an `expect` waits before the script gives up.
const EXPECT_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Expect(String),
    Send(Vec<u8>),
    Sleep(Duration),
    Quit,
}

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("cannot read serial script {path}: {source}")]
    Read { path: String, source: io::Error },
    #[error("serial script line {line}: {what}")]
    Syntax { line: usize, what: String },
}

fn unescape(s: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'\\' => out.push(b'\\'),
                b'x' if i + 4 <= b.len() && s.is_char_boundary(i + 4) => {
                    match u8::from_str_radix(&s[i + 2..i + 4], 16) {
                        Ok(v) => out.push(v),
                        Err(_) => out.extend_from_slice(&b[i..i + 4]),
                    }
                }
                b'x' => out.extend_from_slice(b"\\x"),
                other => {
                    out.push(b'\\');
                    out.push(other);
                }
            }
            i += if b[i + 1] == b'x' && i + 4 <= b.len() {
                4
            } else {
                2
            };
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

/// Parses a script.
pub fn parse(text: &str) -> Result<Vec<Step>, ScriptError> {
    let mut steps = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r');
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (cmd, arg) = trimmed.split_once(' ').unwrap_or((trimmed, ""));
        let step = match cmd {
            "expect" if !arg.is_empty() => Step::Expect(arg.to_string()),
            "send" => {
                let mut bytes = unescape(arg);
                bytes.push(b'\r');
                Step::Send(bytes)
            }
            "sendraw" => Step::Send(unescape(arg)),
            "sleep" => Step::Sleep(Duration::from_millis(arg.trim().parse().map_err(|_| {
                ScriptError::Syntax {
                    line: n + 1,
                    what: format!("`sleep` takes milliseconds, not `{arg}`"),
                }
            })?)),
            "quit" => Step::Quit,
            _ => {
                return Err(ScriptError::Syntax {
                    line: n + 1,
                    what: format!("unknown command `{trimmed}`"),
                })
            }
        };
        steps.push(step);
    }
    Ok(steps)
}

pub fn load(path: &Path) -> Result<Vec<Step>, ScriptError> {
    let text = std::fs::read_to_string(path).map_err(|source| ScriptError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text)
}

/// A writer that passes the guest's output on and lets the script see it.
pub struct Tee {
    inner: Box<dyn Write>,
    tx: Sender<Vec<u8>>,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        let _ = self.tx.send(buf[..n].to_vec());
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Starts the script thread. Returns the output writer to give the
/// machine (it feeds the script's `expect`s).
pub fn spawn(
    steps: Vec<Step>,
    out: Box<dyn Write>,
    events: Sender<HostEvent>,
) -> io::Result<Box<dyn Write>> {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::Builder::new()
        .name("serial-script".into())
        .spawn(move || {
            run_script(&steps, &rx, &events);
            let _ = events.send(HostEvent::Closed(HostSource::Serial));
        })?;
    Ok(Box::new(Tee { inner: out, tx }))
}

fn run_script(steps: &[Step], output: &Receiver<Vec<u8>>, events: &Sender<HostEvent>) {
    let mut seen: Vec<u8> = Vec::new();
    for step in steps {
        match step {
            Step::Expect(text) => {
                let deadline = Instant::now() + EXPECT_TIMEOUT;
                // Where a match not yet seen may start: output arrives a few
                // bytes at a time, so only the new tail is searched.
                let mut from = 0;
                loop {
                    if let Some(pos) = find(&seen[from..], text.as_bytes()) {
                        seen.drain(..from + pos + text.len());
                        break;
                    }
                    from = seen.len().saturating_sub(text.len().saturating_sub(1));
                    match output.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                        Ok(bytes) => seen.extend(bytes),
                        Err(RecvTimeoutError::Timeout) => {
                            eprintln!("emu: serial script: `{text}` did not appear within {EXPECT_TIMEOUT:?}");
                            return;
                        }
                        Err(RecvTimeoutError::Disconnected) => return,
                    }
                }
            }
            Step::Send(bytes) => {
                for b in bytes {
                    if events
                        .send(HostEvent::Input(AsyncInput::Serial(vec![*b])))
                        .is_err()
                    {
                        return;
                    }
                    std::thread::sleep(CHAR_DELAY);
                }
            }
            Step::Sleep(d) => std::thread::sleep(*d),
            Step::Quit => {
                let _ = events.send(HostEvent::Input(AsyncInput::Quit));
                return;
            }
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_steps() {
        let s =
            parse("# c\nexpect => \nsend version\nsendraw a\\x01x\\n\nsleep 5\nquit\n").unwrap();
        assert_eq!(
            s,
            vec![
                Step::Expect("=> ".into()),
                Step::Send(b"version\r".to_vec()),
                Step::Send(b"a\x01x\n".to_vec()),
                Step::Sleep(Duration::from_millis(5)),
                Step::Quit
            ]
        );
        assert!(parse("type x").is_err());
        assert!(parse("sleep soon").is_err());
    }

    #[test]
    fn types_after_expected_output() {
        let (ev_tx, ev_rx) = crossbeam_channel::unbounded();
        let mut out = spawn(
            parse("expect ok>\nsend hi\n").unwrap(),
            Box::new(io::sink()),
            ev_tx,
        )
        .unwrap();
        assert!(
            ev_rx.recv_timeout(Duration::from_millis(50)).is_err(),
            "typed before the prompt"
        );
        out.write_all(b"boot... ok> ").unwrap();
        let mut typed = Vec::new();
        while let Ok(HostEvent::Input(AsyncInput::Serial(b))) =
            ev_rx.recv_timeout(Duration::from_secs(5))
        {
            typed.extend(b);
        }
        assert_eq!(typed, b"hi\r");
    }
}
