//! A GDB remote stub for `emu run` and `emu replay` (QEMU's `-gdb`, `-s`,
//! `-S`), on the `gdbstub` crate.
//!
//! - [`arch`]: the registers gdb sees (integer, FP, CSRs) and their XML;
//! - [`mem`]: debugger reads and writes at guest virtual addresses (RAM only);
//! - [`target`]: the machine as a gdbstub target;
//! - [`engine`]: running forwards and backwards, breakpoints, watchpoints;
//! - [`history`]: the checkpoints reverse execution restores from;
//! - [`monitor`]: `monitor` commands;
//! - [`output`]: serial output shared by the machines of one session, so a
//!   reverse run (a replay from power-on) does not print the console again;
//! - [`event_loop`]: running the guest while watching the connection.
//!
//! The machine runs on the calling thread; gdb is served between runs, and
//! the no-debugger path is untouched.

pub mod arch;
pub mod engine;
pub mod event_loop;
pub mod history;
pub mod mem;
pub mod monitor;
pub mod output;
pub mod target;

use std::io::ErrorKind;
use std::net::{TcpListener, TcpStream};

use gdbstub::stub::{DisconnectReason, GdbStub};

use crate::machine::{Machine, MachineError, Outcome};
use crate::replay::session::OutputHash;
pub use engine::Debuggee;
pub use history::{History, Live, Rebuild, Rerun, Snapshots};
pub use output::{OutputPosition, SharedConsole};

/// QEMU's `-s`: `-gdb tcp::1234`.
pub const DEFAULT_PORT: u16 = 1234;

/// Instructions run between two looks for a connecting gdb (without `-S`).
const ATTACH_CHUNK: u64 = 1 << 18;

#[derive(Debug, thiserror::Error)]
pub enum GdbError {
    #[error("bad -gdb `{0}`: expected tcp::PORT or tcp:HOST:PORT")]
    Spec(String),
    #[error("cannot listen for gdb on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("gdb connection on {addr}: {source}")]
    Accept {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Machine(#[from] MachineError),
    #[error("cannot restart the replay for reverse execution: {0}")]
    Rebuild(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("reverse execution: {0}")]
    Timeline(#[from] crate::snapshot::TimelineError),
    #[error("reverse execution needs a replay")]
    NotReplay,
    #[error("gdb protocol: {0}")]
    Protocol(String),
}

/// Where to listen and whether to wait for gdb before running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GdbOptions {
    /// `host:port` to listen on.
    pub addr: String,
    /// `-S`: do not run the guest until gdb says so.
    pub wait: bool,
}

/// Parses QEMU's `-gdb` device: `tcp::PORT` (localhost) or `tcp:HOST:PORT`.
pub fn parse_spec(spec: &str) -> Result<String, GdbError> {
    let bad = || GdbError::Spec(spec.to_string());
    let rest = spec.strip_prefix("tcp:").ok_or_else(bad)?;
    let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    // QEMU listens on every interface for an empty host; a debug port that
    // can rewrite guest memory stays on this machine unless asked.
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    if host.contains(',') || host.contains(' ') {
        return Err(bad());
    }
    Ok(format!("{host}:{port}"))
}

/// How a debug session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The guest ended (while gdb watched, or before gdb attached).
    Outcome(Outcome),
    /// gdb detached or went away: the guest runs on without it.
    Detached,
    /// gdb killed the guest: stop here, without end-of-run checks.
    Killed,
}

/// The machine after a session (reverse execution may have replaced it).
pub struct Served {
    pub machine: Machine,
    pub serial_hash: OutputHash,
    pub end: End,
}

/// Listens on `opts.addr`, runs the guest until gdb connects (or waits
/// for it with `-S`), then serves gdb until it detaches, kills, or the
/// guest ends. A replay's `history` enables reverse execution.
pub fn serve<'a>(
    opts: &GdbOptions,
    mut history: Box<dyn History + 'a>,
) -> Result<Served, GdbError> {
    let listener = TcpListener::bind(&opts.addr).map_err(|source| GdbError::Bind {
        addr: opts.addr.clone(),
        source,
    })?;
    let shown = listener
        .local_addr()
        .map_or_else(|_| opts.addr.clone(), |a| a.to_string());
    eprintln!("emu: waiting for gdb on {shown}");
    let accept_err = |source| GdbError::Accept {
        addr: shown.clone(),
        source,
    };
    let stream = if opts.wait {
        listener.accept().map_err(accept_err)?.0
    } else {
        listener.set_nonblocking(true).map_err(accept_err)?;
        loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(e) => return Err(accept_err(e)),
            }
            let machine = history.machine_mut();
            let limit = machine.icount().saturating_add(ATTACH_CHUNK);
            if let Some(o) = machine.run_until(limit)? {
                let (machine, serial_hash) = history.into_parts();
                return Ok(Served {
                    machine,
                    serial_hash,
                    end: End::Outcome(o),
                });
            }
            history.maybe_checkpoint()?;
        }
    };
    drop(listener);
    prepare(&stream).map_err(accept_err)?;
    let mut target = Debuggee::new(history);
    let end = match GdbStub::new(stream).run_blocking::<event_loop::EmuEventLoop<'a>>(&mut target) {
        Ok(DisconnectReason::TargetExited(_)) => match target.ended {
            Some(o) => End::Outcome(o),
            None => End::Detached,
        },
        Ok(DisconnectReason::Disconnect) => End::Detached,
        Ok(DisconnectReason::Kill | DisconnectReason::TargetTerminated(_)) => End::Killed,
        Err(e) if e.is_target_error() => match e.into_target_error() {
            Some(t) => return Err(t),
            None => End::Detached,
        },
        Err(e) if e.is_connection_error() => {
            eprintln!("emu: gdb connection lost ({e}); the guest runs on");
            End::Detached
        }
        Err(e) => return Err(GdbError::Protocol(e.to_string())),
    };
    // The guest may have ended while gdb was still attached.
    let end = match (end, target.ended) {
        (End::Detached, Some(o)) => End::Outcome(o),
        (end, _) => end,
    };
    // The guest runs on (or is checked) without gdb's points.
    target.clear_points();
    let (machine, serial_hash) = target.history.into_parts();
    Ok(Served {
        machine,
        serial_hash,
        end,
    })
}

fn prepare(stream: &TcpStream) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_gdb_specs() {
        assert_eq!(parse_spec("tcp::1234").unwrap(), "127.0.0.1:1234");
        assert_eq!(parse_spec("tcp:0.0.0.0:9000").unwrap(), "0.0.0.0:9000");
        assert_eq!(parse_spec("tcp:localhost:1").unwrap(), "localhost:1");
        for bad in [
            "1234",
            "tcp:1234",
            "tcp::",
            "tcp::99999",
            "udp::1234",
            "tcp::12x",
        ] {
            assert!(parse_spec(bad).is_err(), "{bad}");
        }
    }
}
