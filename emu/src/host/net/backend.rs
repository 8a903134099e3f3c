//! The user-mode network backend thread: owns the libslirp stack, feeds it
//! the guest's frames, runs its timers and sockets, and hands the frames it
//! produces for the guest to the machine.
//!
//! Only the live and record modes start it. In replay the recorded frames are
//! the whole truth and this thread must not exist: its host clock and sockets
//! would otherwise leak host state into the run.

use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TryRecvError};

use super::options::UserNetConfig;
use super::poll::{self, PollFd, POLLIN};
use super::slirp::{SlirpError, Stack};

/// Longest sleep when libslirp has no deadline. Only bounds how late a stop
/// request that lost its wake-up byte is seen; frames always wake the thread.
const IDLE_POLL_MS: u32 = 1000;

/// Why the backend could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("user-mode network: {0}")]
    Slirp(#[from] SlirpError),
    #[error("user-mode network: cannot create the wake-up socket pair: {0}")]
    WakeSocket(io::Error),
    #[error("user-mode network: cannot start the thread: {0}")]
    Spawn(io::Error),
    #[error("user-mode network: poll(2) failed: {0}")]
    Poll(io::Error),
    #[error("user-mode network: the thread died while starting")]
    StartupLost,
    #[error("user-mode network: the thread panicked")]
    Panicked,
}

/// The backend thread has stopped; the frame was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the user-mode network backend has stopped")]
pub struct BackendGone;

/// Counters, readable while the backend runs.
#[derive(Debug, Default)]
pub struct NetStats {
    /// Frames the guest sent that reached libslirp.
    pub from_guest: AtomicU64,
    /// Frames libslirp produced for the guest.
    pub to_guest: AtomicU64,
    /// Malformed guest packets libslirp dropped.
    pub guest_errors: AtomicU64,
}

/// Wakes the backend thread out of poll(2).
#[derive(Debug)]
struct Waker(UnixStream);

impl Waker {
    fn wake(&self) {
        // A full socket buffer already guarantees a pending wake-up, so
        // WouldBlock is success; any other failure means the thread is gone,
        // which the channel reports to the sender on its own.
        let _ = (&self.0).write(&[1]);
    }
}

/// The guest->host side, held by the NIC: cheap to clone.
#[derive(Debug, Clone)]
pub struct NetTx {
    frames: Sender<Vec<u8>>,
    waker: Arc<Waker>,
}

impl NetTx {
    /// Queues one Ethernet frame (without virtio header) for the host side.
    pub fn send(&self, frame: Vec<u8>) -> Result<(), BackendGone> {
        self.frames.send(frame).map_err(|_| BackendGone)?;
        self.waker.wake();
        Ok(())
    }
}

/// A running user-mode network. Dropping it stops and joins the thread.
#[derive(Debug)]
pub struct UserNet {
    tx: NetTx,
    stop: Arc<AtomicBool>,
    stats: Arc<NetStats>,
    thread: Option<JoinHandle<Result<(), BackendError>>>,
}

impl UserNet {
    /// Starts the backend. `deliver` receives every frame for the guest, on
    /// the backend thread, in order; it returns `false` once nobody listens
    /// any more, which stops the backend. Returns once libslirp is set up, so
    /// configuration errors (a missing TFTP directory) surface here.
    pub fn spawn<F>(cfg: UserNetConfig, deliver: F) -> Result<Self, BackendError>
    where
        F: FnMut(Vec<u8>) -> bool + Send + 'static,
    {
        let (wake_tx, wake_rx) = UnixStream::pair().map_err(BackendError::WakeSocket)?;
        wake_tx
            .set_nonblocking(true)
            .map_err(BackendError::WakeSocket)?;
        wake_rx
            .set_nonblocking(true)
            .map_err(BackendError::WakeSocket)?;
        let (frames_tx, frames_rx) = crossbeam_channel::unbounded();
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(NetStats::default());
        let (ready_tx, ready_rx) = crossbeam_channel::bounded(1);
        let thread = {
            let (stop, stats) = (stop.clone(), stats.clone());
            std::thread::Builder::new()
                .name("net-user".into())
                .spawn(move || run(cfg, deliver, frames_rx, wake_rx, stop, stats, ready_tx))
                .map_err(BackendError::Spawn)?
        };
        let tx = NetTx {
            frames: frames_tx,
            waker: Arc::new(Waker(wake_tx)),
        };
        let mut net = UserNet {
            tx,
            stop,
            stats,
            thread: Some(thread),
        };
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(net),
            Ok(Err(e)) => {
                net.join_thread().ok();
                Err(e)
            }
            Err(_) => Err(net.join_thread().err().unwrap_or(BackendError::StartupLost)),
        }
    }

    /// A sender for guest frames (give it to the NIC).
    pub fn sender(&self) -> NetTx {
        self.tx.clone()
    }

    pub fn stats(&self) -> &NetStats {
        &self.stats
    }

    /// Stops the thread and reports how it ended.
    pub fn shutdown(mut self) -> Result<(), BackendError> {
        self.join_thread()
    }

    fn join_thread(&mut self) -> Result<(), BackendError> {
        let Some(t) = self.thread.take() else {
            return Ok(());
        };
        self.stop.store(true, Ordering::SeqCst);
        self.tx.waker.wake();
        t.join().map_err(|_| BackendError::Panicked)?
    }
}

impl Drop for UserNet {
    fn drop(&mut self) {
        let _ = self.join_thread();
    }
}

/// The thread body.
fn run<F>(
    cfg: UserNetConfig,
    mut deliver: F,
    frames: Receiver<Vec<u8>>,
    mut wake: UnixStream,
    stop: Arc<AtomicBool>,
    stats: Arc<NetStats>,
    ready: Sender<Result<(), BackendError>>,
) -> Result<(), BackendError>
where
    F: FnMut(Vec<u8>) -> bool + Send + 'static,
{
    let sink_stats = stats.clone();
    let sink_stop = stop.clone();
    let sink = Box::new(move |frame: &[u8]| {
        if sink_stop.load(Ordering::Relaxed) {
            return;
        }
        sink_stats.to_guest.fetch_add(1, Ordering::Relaxed);
        if !deliver(frame.to_vec()) {
            sink_stop.store(true, Ordering::SeqCst);
        }
    });
    let mut stack = match Stack::new(&cfg, sink) {
        Ok(s) => {
            let _ = ready.send(Ok(()));
            s
        }
        Err(e) => {
            let _ = ready.send(Err(e.into()));
            return Ok(());
        }
    };
    let mut scratch = [0u8; 256];
    loop {
        // Guest frames first: their replies are what the guest waits for.
        loop {
            match frames.try_recv() {
                Ok(frame) => {
                    stats.from_guest.fetch_add(1, Ordering::Relaxed);
                    stack.input(&frame);
                    stats
                        .guest_errors
                        .store(stack.guest_errors(), Ordering::Relaxed);
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Ok(()),
            }
        }
        if stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        stack.run_due_timers();

        let mut timeout = IDLE_POLL_MS;
        let mut fds = stack.pollfds_fill(&mut timeout);
        if let Some(t) = stack.next_timer_ms() {
            let left = (t - stack.now_ms()).clamp(0, i64::from(IDLE_POLL_MS));
            timeout = timeout.min(left as u32);
        }
        let wake_idx = fds.len();
        fds.push(PollFd {
            fd: wake.as_raw_fd(),
            events: POLLIN,
            revents: 0,
        });
        let res = poll::wait(&mut fds, timeout.min(i32::MAX as u32) as i32);
        if fds[wake_idx].revents != 0 {
            // Drain every pending wake-up byte; the frames are in the channel.
            while matches!(wake.read(&mut scratch), Ok(n) if n > 0) {}
        }
        stack.pollfds_poll(&fds[..wake_idx], res.is_err());
        res.map_err(BackendError::Poll)?;
    }
}

#[cfg(all(test, feature = "user-net"))]
mod tests {
    use super::*;

    #[test]
    fn missing_tftp_root_is_reported_at_spawn() {
        let cfg = UserNetConfig {
            tftp_root: Some("/nonexistent/tftp-root".into()),
            ..UserNetConfig::default()
        };
        let err = UserNet::spawn(cfg, |_| true).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/tftp-root"), "{err}");
    }

    #[test]
    fn a_deliver_that_refuses_stops_the_thread() {
        let cfg = UserNetConfig {
            restrict: true,
            ..Default::default()
        };
        let net = UserNet::spawn(cfg, |_| false).unwrap();
        let tx = net.sender();
        // An ARP request for the gateway makes libslirp answer at once.
        let mut arp = vec![0xff; 6];
        arp.extend_from_slice(&[0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x08, 0x06]);
        arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1, 0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        arp.extend_from_slice(&[10, 0, 2, 15, 0, 0, 0, 0, 0, 0, 10, 0, 2, 2]);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while tx.send(arp.clone()).is_ok() {
            assert!(
                std::time::Instant::now() < deadline,
                "backend still running"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert_eq!(net.stats().to_guest.load(Ordering::Relaxed), 1);
        net.shutdown().unwrap();
    }

    #[test]
    fn starts_and_stops_cleanly() {
        let net = UserNet::spawn(
            UserNetConfig {
                restrict: true,
                ..Default::default()
            },
            |_| true,
        )
        .unwrap();
        let tx = net.sender();
        net.shutdown().unwrap();
        assert_eq!(tx.send(vec![0; 60]), Err(BackendGone));
    }
}
