//! gdbstub's blocking event loop: run the guest on this thread, looking at
//! the connection between runs for gdb's Ctrl-C.

use std::net::TcpStream;

use gdbstub::conn::ConnectionExt;
use gdbstub::stub::run_blocking::{BlockingEventLoop, Event, WaitForStopReasonError};

use super::engine::{interrupted, Debuggee, RunEvent, StopReason};
use super::GdbError;

/// The loop for a [`Debuggee`] borrowing for `'a` (its history).
pub struct EmuEventLoop<'a>(std::marker::PhantomData<&'a ()>);

impl<'a> BlockingEventLoop for EmuEventLoop<'a> {
    type Target = Debuggee<'a>;
    type Connection = TcpStream;
    type StopReason = StopReason;

    fn wait_for_stop_reason(
        target: &mut Debuggee<'a>,
        conn: &mut TcpStream,
    ) -> Result<Event<StopReason>, WaitForStopReasonError<GdbError, std::io::Error>> {
        // A broken connection counts as incoming data: the read below then
        // reports the error and the session ends.
        let incoming = || conn.peek().map(|b| b.is_some()).unwrap_or(true);
        match target
            .run(incoming)
            .map_err(WaitForStopReasonError::Target)?
        {
            RunEvent::IncomingData => {
                let byte = conn.read().map_err(WaitForStopReasonError::Connection)?;
                Ok(Event::IncomingData(byte))
            }
            RunEvent::Stopped(stop) => Ok(Event::TargetStopped(stop)),
        }
    }

    fn on_interrupt(_target: &mut Debuggee<'a>) -> Result<Option<StopReason>, GdbError> {
        // The guest only runs inside `wait_for_stop_reason`: it is stopped.
        Ok(Some(interrupted()))
    }
}
