//! Stand-in for `slirp.rs` when emu is built without the `user-net`
//! feature, so that a fresh machine without libslirp-dev still builds emu
//! (the demo, record and replay need no network). The interface is the
//! same; creating a stack reports how to get user networking. Replay never
//! creates one, so network recordings still replay in such a build.

use std::path::PathBuf;

use super::options::UserNetConfig;
use super::poll::PollFd;

#[derive(Debug, thiserror::Error)]
pub enum SlirpError {
    #[error("TFTP root {path}: {source}")]
    TftpRoot {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("TFTP root {0} is not a directory")]
    TftpRootNotDir(PathBuf),
    #[error("option `{0}` contains a NUL byte")]
    NulInOption(&'static str),
    #[error("libslirp refused the configuration (slirp_new returned NULL)")]
    InitFailed,
    #[error(
        "this emu was built without user networking: install libslirp-dev and libglib2.0-dev \
         (scripts/setup.sh does) and build with `--features user-net`"
    )]
    NotBuilt,
}

pub(super) type FrameSink = Box<dyn FnMut(&[u8]) + Send>;

/// Never constructed: [`Stack::new`] always fails.
pub(super) enum Stack {}

impl Stack {
    pub(super) fn new(_cfg: &UserNetConfig, _sink: FrameSink) -> Result<Self, SlirpError> {
        Err(SlirpError::NotBuilt)
    }
    pub(super) fn input(&mut self, _frame: &[u8]) {
        match *self {}
    }
    pub(super) fn now_ms(&self) -> i64 {
        match *self {}
    }
    pub(super) fn next_timer_ms(&self) -> Option<i64> {
        match *self {}
    }
    pub(super) fn run_due_timers(&mut self) {
        match *self {}
    }
    pub(super) fn pollfds_fill(&mut self, _timeout_ms: &mut u32) -> Vec<PollFd> {
        match *self {}
    }
    pub(super) fn pollfds_poll(&mut self, _fds: &[PollFd], _select_error: bool) {
        match *self {}
    }
    pub(super) fn guest_errors(&self) -> u64 {
        match *self {}
    }
    pub fn version() -> String {
        "none (built without the user-net feature)".to_string()
    }
}
