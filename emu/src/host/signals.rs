//! SIGINT, SIGTERM and SIGHUP end a run the way Ctrl-A x does: the machine
//! stops at its next slice boundary and a recording is closed properly
//! (QEMU, too, finishes its log when it is killed with a signal). Only a
//! SIGKILL leaves an unfinished log, which `rrtool repair` can close.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use crossbeam_channel::Sender;

use crate::machine::nondet::{AsyncInput, HostEvent};

static SIGNALLED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: nothing else is async-signal-safe here.
    SIGNALLED.store(true, Ordering::SeqCst);
}

/// How often the watcher looks at the flag.
const POLL: Duration = Duration::from_millis(20);

/// Where the watcher sends quit requests: the current run's host channel.
static LISTENER: Mutex<Option<Sender<HostEvent>>> = Mutex::new(None);

/// Installs the handlers (once) and makes the next signal a quit request
/// on `events`. One watcher thread serves every run of the process.
pub fn watch(events: Sender<HostEvent>) -> io::Result<()> {
    static STARTED: OnceLock<io::Result<()>> = OnceLock::new();
    if let Ok(mut l) = LISTENER.lock() {
        *l = Some(events);
    }
    let started = STARTED.get_or_init(|| {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // SAFETY: `on_signal` only performs an atomic store.
            let old = unsafe {
                libc::signal(
                    sig,
                    on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t,
                )
            };
            if old == libc::SIG_ERR {
                return Err(io::Error::last_os_error());
            }
        }
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(|| loop {
                std::thread::sleep(POLL);
                if SIGNALLED.swap(false, Ordering::SeqCst) {
                    if let Ok(l) = LISTENER.lock() {
                        if let Some(tx) = l.as_ref() {
                            let _ = tx.send(HostEvent::Input(AsyncInput::Quit));
                        }
                    }
                }
            })
            .map(|_| ())
    });
    match started {
        Ok(()) => Ok(()),
        Err(e) => Err(io::Error::new(e.kind(), e.to_string())),
    }
}

/// The run is over: signals no longer have a machine to stop.
pub fn unwatch() {
    if let Ok(mut l) = LISTENER.lock() {
        *l = None;
    }
}
