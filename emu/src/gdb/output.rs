//! Serial output across the machines of one debug session. Reverse
//! execution in replay restores an earlier state (a snapshot, or a machine
//! rebuilt at power-on) and runs it again; the guest writes the same bytes
//! again, and the user has already seen them. Every machine of a session
//! writes through a [`SessionOutput`] that counts the bytes it produced and
//! passes on only those past the most the user has been shown. The count
//! ([`OutputPosition`]) rewinds with a snapshot.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::io::{self, Write};
use std::rc::Rc;

use crate::snapshot::HostSideState;

/// The real console, shared by the machines of one session.
#[derive(Clone)]
pub struct SharedConsole {
    inner: Rc<RefCell<Box<dyn Write>>>,
    shown: Rc<Cell<u64>>,
}

impl SharedConsole {
    pub fn new(inner: Box<dyn Write>) -> SharedConsole {
        SharedConsole {
            inner: Rc::new(RefCell::new(inner)),
            shown: Rc::new(Cell::new(0)),
        }
    }

    /// A writer for a machine started from power-on.
    pub fn writer(&self) -> Box<dyn Write> {
        self.tracked_writer().0
    }

    /// A writer for a machine started from power-on, and its position.
    pub fn tracked_writer(&self) -> (Box<dyn Write>, OutputPosition) {
        let produced = OutputPosition(Rc::new(Cell::new(0)));
        let w = SessionOutput {
            console: self.clone(),
            produced: produced.clone(),
        };
        (Box::new(w), produced)
    }
}

/// How many bytes one machine has produced since power-on.
#[derive(Clone)]
pub struct OutputPosition(Rc<Cell<u64>>);

impl HostSideState for OutputPosition {
    fn save(&self) -> Box<dyn Any> {
        Box::new(self.0.get())
    }
    fn restore(&mut self, saved: &dyn Any) {
        if let Some(&n) = saved.downcast_ref::<u64>() {
            self.0.set(n);
        }
    }
}

/// One machine's serial output: its bytes from power-on, of which only the
/// part past what was already shown reaches the console.
struct SessionOutput {
    console: SharedConsole,
    produced: OutputPosition,
}

impl Write for SessionOutput {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let start = self.produced.0.get();
        let end = start + buf.len() as u64;
        let shown = self.console.shown.get();
        if end > shown {
            let skip = shown.saturating_sub(start) as usize;
            self.console.inner.borrow_mut().write_all(&buf[skip..])?;
            self.console.shown.set(end);
        }
        self.produced.0.set(end);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.console.inner.borrow_mut().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Rc<RefCell<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_rerun_prints_only_what_is_new() {
        let sink = Sink::default();
        let console = SharedConsole::new(Box::new(sink.clone()));
        let mut first = console.writer();
        first.write_all(b"hello ").unwrap();
        let mut second = console.writer();
        second.write_all(b"hel").unwrap();
        assert_eq!(&*sink.0.borrow(), b"hello ");
        second.write_all(b"lo world").unwrap();
        assert_eq!(&*sink.0.borrow(), b"hello world");
    }

    #[test]
    fn a_rewound_position_prints_only_what_is_new() {
        let sink = Sink::default();
        let console = SharedConsole::new(Box::new(sink.clone()));
        let (mut w, mut pos) = console.tracked_writer();
        w.write_all(b"abc").unwrap();
        let saved = pos.save();
        w.write_all(b"def").unwrap();
        pos.restore(saved.as_ref());
        w.write_all(b"defgh").unwrap();
        assert_eq!(&*sink.0.borrow(), b"abcdefgh");
    }
}
