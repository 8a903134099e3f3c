//! Snapshots of the whole machine, for time travel in replay.
//!
//! * [`Timeline`] (timeline.rs): a replaying machine plus snapshots taken
//!   along its log under a memory budget; `seek` reaches any icount by
//!   restoring the latest snapshot before it and replaying forward.
//! * pages.rs: RAM as a chain of page deltas. Only pages written since the
//!   previous snapshot are stored; which ones comes from the RAM's dirty
//!   record, which the hart's fast-path stores never touch (write TLB
//!   entries are filled by a slow-path store that marks the page, and are
//!   flushed when a snapshot is taken).
//!
//! * disk_section.rs: a drive's part of a snapshot file. In memory it is
//!   `host::disk::DiskState`: the disk thread's overlay (sectors shared
//!   between snapshots) and the completions of requests in flight, both
//!   fetched through the thread's request channel so they follow every
//!   request submitted before (machine/board/disk.rs).
//!
//! Device and hart state are plain-data structs beside each device
//! (`save_state` / `restore_state`; restore re-validates). The TLB and the
//! decoded-block cache are flushed on restore, never saved.

pub mod cli_ops;
pub mod disk_section;
pub mod file;
pub mod pages;
pub mod timeline;
pub mod wire;

pub use timeline::{HostSideState, SnapshotInfo, Timeline};

use crate::devices::StateError;
use crate::machine::nondet::NondetError;
use crate::machine::{MachineError, Outcome};

/// How much memory the snapshots of a [`Timeline`] may hold, and how far
/// apart they start (the interval doubles each time old snapshots are
/// thinned out to stay within `bytes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotBudget {
    pub bytes: usize,
    /// Instructions between snapshots at the start.
    pub interval: u64,
}

/// 512 MiB; a snapshot every 20 M instructions to begin with (about a
/// second of replay at the interpreter's speed, so a seek replays well under
/// a second until thinning spreads the series).
impl Default for SnapshotBudget {
    fn default() -> Self {
        SnapshotBudget {
            bytes: 512 << 20,
            interval: 20_000_000,
        }
    }
}

impl SnapshotBudget {
    /// `--snapshot-budget`: a size with an optional K/M/G suffix (bytes
    /// when none), at least 1 MiB.
    pub fn parse(s: &str) -> Result<SnapshotBudget, String> {
        let t = s.trim();
        let (num, mul) = match t.chars().last() {
            Some('K' | 'k') => (&t[..t.len() - 1], 1usize << 10),
            Some('M' | 'm') => (&t[..t.len() - 1], 1 << 20),
            Some('G' | 'g') => (&t[..t.len() - 1], 1 << 30),
            _ => (t, 1),
        };
        let bytes = num
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_mul(mul))
            .filter(|&b| b >= 1 << 20)
            .ok_or_else(|| {
                format!("bad snapshot budget `{s}`: expected a size like 512M (at least 1M)")
            })?;
        Ok(SnapshotBudget {
            bytes,
            ..SnapshotBudget::default()
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TimelineError {
    #[error("snapshot: {0}")]
    State(#[from] StateError),
    #[error(transparent)]
    Machine(#[from] MachineError),
    #[error(transparent)]
    Door(#[from] NondetError),
    #[error("snapshots need a replay (the machine's door is not reading a log)")]
    NotReplaying,
    #[error("{0}")]
    Unsupported(String),
    #[error("icount {target} is before the first snapshot (icount {start})")]
    BeforeStart { target: u64, start: u64 },
    #[error("the replay ended ({outcome:?}) at icount {icount}, before icount {target}")]
    Ended {
        target: u64,
        icount: u64,
        outcome: Outcome,
    },
}
