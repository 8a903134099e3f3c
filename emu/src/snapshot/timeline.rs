//! [`Timeline`]: a replaying machine plus the snapshots taken along its
//! log, so that any icount is reached by restoring the nearest earlier
//! snapshot and replaying forward — not by replaying from power-on.

use std::any::Any;
use std::collections::BTreeSet;

use super::pages::{self, Delta};
use super::{SnapshotBudget, TimelineError};
use crate::machine::{Machine, MachineState, Outcome};

/// Host-side state a replay's results depend on (the console hash, a
/// debugger's count of bytes shown) that must rewind with the machine.
pub trait HostSideState {
    fn save(&self) -> Box<dyn Any>;
    /// Takes back what `save` returned.
    fn restore(&mut self, saved: &dyn Any);
}

impl HostSideState for crate::replay::session::OutputHash {
    fn save(&self) -> Box<dyn Any> {
        Box::new(crate::replay::session::OutputHash::save(self))
    }
    fn restore(&mut self, saved: &dyn Any) {
        if let Some(h) = saved.downcast_ref::<sha2::Sha256>() {
            crate::replay::session::OutputHash::restore(self, h);
        }
    }
}

/// One snapshot as the `monitor` listing shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub icount: u64,
    /// Memory it holds (pages, device state, disk sectors).
    pub bytes: usize,
    /// Pages in its delta.
    pub pages: usize,
}

struct Snapshot {
    icount: u64,
    state: MachineState,
    delta: Delta,
    host: Vec<Box<dyn Any>>,
    /// Disk memory not shared with the previous snapshot (sectors are
    /// shared between snapshots, see host/disk/overlay.rs).
    disk_bytes: usize,
}

impl Snapshot {
    fn new(icount: u64, state: MachineState, delta: Delta, prev: Option<&Snapshot>) -> Self {
        let disk_bytes = disk_bytes(&state, prev);
        Snapshot {
            icount,
            state,
            delta,
            host: Vec::new(),
            disk_bytes,
        }
    }

    fn bytes(&self) -> usize {
        // Device state is small next to pages; count it roughly.
        self.delta.bytes() + 4096 + self.state.board.serial_backlog.len() + self.disk_bytes
    }
}

fn disk_bytes(state: &MachineState, prev: Option<&Snapshot>) -> usize {
    state.disk.as_ref().map_or(0, |d| {
        d.bytes_beyond(prev.and_then(|p| p.state.disk.as_ref()))
    })
}

/// A replaying [`Machine`] plus its snapshot series.
pub struct Timeline {
    machine: Machine,
    /// Oldest first; `snaps[0]` is the base (where the timeline started).
    snaps: Vec<Snapshot>,
    /// The snapshot RAM was last in sync with (taken or restored): `dirty`
    /// and the RAM's own dirty record are relative to it.
    sync: usize,
    /// Pages written since `sync` (drained from the RAM's record).
    dirty: BTreeSet<u32>,
    budget: SnapshotBudget,
    /// Current instructions between snapshots (grows when thinning).
    interval: u64,
    host: Vec<Box<dyn HostSideState>>,
    /// How the machine ended, if it is at its end.
    ended: Option<Outcome>,
    /// Why the base snapshot could not be taken (reported by every call).
    broken: Option<String>,
}

impl Timeline {
    /// Starts a timeline on `machine`, a replay at power-on (or at any
    /// point, as long as nothing has taken its RAM's dirty record). A
    /// machine that cannot be snapshotted is reported by the first call
    /// that needs a snapshot; [`Timeline::try_new`] reports it at once.
    pub fn new(machine: Machine, budget: SnapshotBudget) -> Self {
        let mut t = Timeline {
            machine,
            snaps: Vec::new(),
            sync: 0,
            dirty: BTreeSet::new(),
            interval: budget.interval.max(1),
            budget,
            host: Vec::new(),
            ended: None,
            broken: None,
        };
        if let Err(e) = t.take_base() {
            t.broken = Some(e.to_string());
        }
        t
    }

    /// As [`Timeline::new`], failing if the machine cannot be snapshotted.
    pub fn try_new(machine: Machine, budget: SnapshotBudget) -> Result<Self, TimelineError> {
        let t = Timeline::new(machine, budget);
        match &t.broken {
            Some(e) => Err(TimelineError::Unsupported(e.clone())),
            None => Ok(t),
        }
    }

    fn check(&self) -> Result<(), TimelineError> {
        match &self.broken {
            Some(e) => Err(TimelineError::Unsupported(e.clone())),
            None => Ok(()),
        }
    }

    fn take_base(&mut self) -> Result<(), TimelineError> {
        let state = self.machine.save_state()?;
        if state.replay.is_none() {
            return Err(TimelineError::NotReplaying);
        }
        let pages = self.drain_dirty();
        let delta = Delta::capture(&self.machine.board.ram, pages);
        let base = Snapshot::new(self.machine.icount(), state, delta, None);
        self.snaps.push(base);
        self.sync = 0;
        self.dirty.clear();
        Ok(())
    }

    /// Rewinds `state` with the machine from now on (the console hash, a
    /// debugger's output counter). Snapshots taken before this call do not
    /// hold it; restoring one of them leaves `state` as it is.
    pub fn track(&mut self, state: Box<dyn HostSideState>) {
        self.host.push(state);
    }

    pub fn machine(&self) -> &Machine {
        &self.machine
    }

    pub fn machine_mut(&mut self) -> &mut Machine {
        &mut self.machine
    }

    /// The machine, for a caller done with time travel.
    pub fn into_machine(self) -> Machine {
        self.machine
    }

    pub fn icount(&self) -> u64 {
        self.machine.icount()
    }

    /// How the machine ended, when it stands at its end.
    pub fn outcome(&self) -> Option<Outcome> {
        self.ended
    }

    /// Takes the RAM's dirty record into `self.dirty` and re-arms it.
    fn drain_dirty(&mut self) -> Vec<u32> {
        let pages = self.machine.board.ram.take_dirty();
        self.machine.hart.flush_write_tlb();
        pages
    }

    /// Pages whose contents may differ between the RAM now and snapshot `k`.
    fn pages_differing_from(&mut self, k: usize) -> BTreeSet<u32> {
        let drained = self.drain_dirty();
        self.dirty.extend(drained);
        let mut pages = self.dirty.clone();
        let (lo, hi) = (self.sync.min(k), self.sync.max(k));
        for s in &self.snaps[lo + 1..=hi] {
            pages.extend(s.delta.pages.keys().copied());
        }
        pages
    }

    /// Restore the latest snapshot at or before `target`, replay forward to
    /// exactly `target`. Going forward past the newest snapshot takes new
    /// ones on the way.
    pub fn seek(&mut self, target: u64) -> Result<(), TimelineError> {
        self.check()?;
        let now = self.icount();
        let k = self.snaps.iter().rposition(|s| s.icount <= target).ok_or(
            TimelineError::BeforeStart {
                target,
                start: self.snaps[0].icount,
            },
        )?;
        if now == target {
            return Ok(());
        }
        // Running on from here is no longer than from the snapshot.
        let run_on = now < target && now >= self.snaps[k].icount && self.ended.is_none();
        if !run_on {
            self.restore(k)?;
        }
        if let Some(o) = self.run_until(target)? {
            if self.icount() != target {
                return Err(TimelineError::Ended {
                    target,
                    icount: self.icount(),
                    outcome: o,
                });
            }
        }
        Ok(())
    }

    /// Runs forward to `limit` (as [`Machine::run_until`]), taking
    /// snapshots when due. `Some(outcome)` if the machine ended first.
    pub fn run_until(&mut self, limit: u64) -> Result<Option<Outcome>, TimelineError> {
        self.check()?;
        if let Some(o) = self.ended {
            return Ok(Some(o));
        }
        loop {
            let now = self.icount();
            let newest = self.snaps.last().map_or(0, |s| s.icount);
            // Behind the newest snapshot, stop there first; past it, when
            // the next one is due.
            let due = if now >= newest {
                newest.saturating_add(self.interval).max(now + 1)
            } else {
                newest
            };
            let stop = limit.min(due);
            if now >= limit {
                return Ok(None);
            }
            if let Some(o) = self.machine.run_until(stop)? {
                self.ended = Some(o);
                return Ok(Some(o));
            }
            self.maybe_snapshot()?;
        }
    }

    /// Called between chunks by whoever runs the machine forward: takes a
    /// snapshot if one is due (the machine is past the newest snapshot by
    /// the current interval), then keeps memory under the budget.
    pub fn maybe_snapshot(&mut self) -> Result<(), TimelineError> {
        self.check()?;
        let now = self.icount();
        let newest = self.snaps.last().map_or(0, |s| s.icount);
        if self.ended.is_some() || now < newest.saturating_add(self.interval) {
            return Ok(());
        }
        self.snapshot_now()
    }

    /// Takes a snapshot here (past the newest one), whether due or not.
    pub fn snapshot_now(&mut self) -> Result<(), TimelineError> {
        self.check()?;
        let now = self.icount();
        let newest = self.snaps.len() - 1;
        if now <= self.snaps[newest].icount {
            return Ok(());
        }
        let state = self.machine.save_state()?;
        if state.replay.is_none() {
            return Err(TimelineError::NotReplaying);
        }
        let pages = self.pages_differing_from(newest);
        let delta = Delta::capture(&self.machine.board.ram, pages);
        let mut snap = Snapshot::new(now, state, delta, self.snaps.last());
        snap.host = self.host.iter().map(|h| h.save()).collect();
        self.snaps.push(snap);
        self.sync = self.snaps.len() - 1;
        self.dirty.clear();
        self.enforce_budget();
        Ok(())
    }

    /// Puts the machine back into snapshot `k`.
    fn restore(&mut self, k: usize) -> Result<(), TimelineError> {
        let pages = self.pages_differing_from(k);
        let state = &self.snaps[k].state;
        if state.replay.is_none() {
            return Err(TimelineError::NotReplaying);
        }
        self.machine.restore_state(state)?;
        self.machine.resume_replay(state)?;
        pages::restore(
            &mut self.machine.board.ram,
            self.snaps[..=k].iter().map(|s| &s.delta),
            &pages,
        );
        // The writes above are the snapshot's own contents: not dirty.
        self.drain_dirty();
        self.dirty.clear();
        self.sync = k;
        for (h, saved) in self.host.iter_mut().zip(&self.snaps[k].host) {
            h.restore(saved.as_ref());
        }
        // Snapshots are only taken while the machine runs.
        self.ended = None;
        Ok(())
    }

    /// Drops snapshots until memory fits the budget, keeping a logarithmic
    /// spread: dense near the newest snapshot, sparser further back. Each
    /// round removes the snapshot whose removal leaves the smallest gap
    /// relative to its distance from the newest; the base and the newest
    /// stay. The interval doubles with every thinning, so the series grows
    /// ever more slowly.
    fn enforce_budget(&mut self) {
        if self.memory_used() <= self.budget.bytes {
            return;
        }
        while self.memory_used() > self.budget.bytes && self.snaps.len() > 2 {
            let newest = self.snaps[self.snaps.len() - 1].icount;
            let victim = (1..self.snaps.len() - 1)
                .min_by_key(|&j| {
                    let gap = self.snaps[j + 1].icount - self.snaps[j - 1].icount;
                    let age = (newest - self.snaps[j].icount).max(1);
                    // gap/age, as a fraction scaled to stay in integers.
                    ((gap as u128) << 32) / age as u128
                })
                .expect("more than two snapshots");
            self.remove(victim);
        }
        self.interval = self.interval.saturating_mul(2);
    }

    /// Removes snapshot `j` (neither the base nor the newest), folding its
    /// pages into the next one so the chain stays whole.
    fn remove(&mut self, j: usize) {
        let gone = self.snaps.remove(j);
        self.snaps[j].delta.absorb_older(gone.delta);
        // Disk memory the removed one shared with its successor is the
        // successor's to count now.
        self.snaps[j].disk_bytes = disk_bytes(&self.snaps[j].state, self.snaps.get(j - 1));
        if self.sync == j {
            // RAM was in sync with the removed one: it differs from the
            // previous snapshot in the removed pages too (now part of j).
            self.dirty.extend(self.snaps[j].delta.pages.keys().copied());
            self.sync = j - 1;
        } else if self.sync > j {
            self.sync -= 1;
        }
    }

    /// Every snapshot, oldest first.
    pub fn snapshots(&self) -> Vec<SnapshotInfo> {
        self.snaps
            .iter()
            .map(|s| SnapshotInfo {
                icount: s.icount,
                bytes: s.bytes(),
                pages: s.delta.pages.len(),
            })
            .collect()
    }

    /// The latest snapshot strictly before `icount`.
    pub fn snapshot_before(&self, icount: u64) -> Option<u64> {
        self.snaps
            .iter()
            .rev()
            .map(|s| s.icount)
            .find(|&i| i < icount)
    }

    /// Memory the snapshots hold.
    pub fn memory_used(&self) -> usize {
        self.snaps.iter().map(Snapshot::bytes).sum()
    }

    /// Instructions between snapshots now.
    pub fn interval(&self) -> u64 {
        self.interval
    }
}
