//! The drive's part of a snapshot: the disk thread's overlay and the
//! completions of requests in flight, fetched and put back through the
//! thread's request channel and the replaying door (see host/disk.rs).

use crossbeam_channel::Sender;

use super::Board;
use crate::devices::virtio::blk::{BlockCompletion, SECTOR_SIZE};
use crate::devices::StateError;
use crate::host::disk::{DiskControl, DiskReply, DiskState};
use crate::machine::nondet::{HostEvent, NondetError};

fn unexpected(reply: DiskReply, wanted: &str) -> NondetError {
    NondetError::Engine(format!(
        "the disk thread answered {reply:?}, expected {wanted}"
    ))
}

impl Board {
    /// The drive's state now: after every request submitted so far, with
    /// the completions not yet delivered. `None` without a drive. Replay
    /// only (the door holds the completions).
    pub fn save_disk(&mut self) -> Result<Option<DiskState>, StateError> {
        let Some(disk) = &self.disk else {
            return Ok(None);
        };
        let bytes = disk.size();
        disk.control(DiskControl::Save);
        let fail = |what: String| StateError::new("disk", what);
        match self
            .nondet
            .disk_sync(false)
            .map_err(|e| fail(e.to_string()))?
        {
            DiskReply::Saved(overlay) => Ok(Some(DiskState {
                bytes,
                overlay,
                pending: self.nondet.disk_read_ahead(),
            })),
            DiskReply::Refused(why) => Err(fail(why)),
            other => Err(fail(unexpected(other, "its overlay").to_string())),
        }
    }

    /// Whether `s` fits this board's drive (checked before anything of a
    /// restore changes). `next_id` is the restored virtio-blk's next
    /// request id: pending completions must answer earlier requests.
    pub fn check_disk(
        &self,
        s: Option<&DiskState>,
        next_id: Option<u64>,
    ) -> Result<(), StateError> {
        let fail = |what: String| Err(StateError::new("disk", what));
        let (disk, s) = match (&self.disk, s) {
            (None, None) => return Ok(()),
            (Some(d), Some(s)) => (d, s),
            (None, Some(_)) => {
                return fail("the snapshot has a drive, this machine has none".into())
            }
            (Some(_), None) => {
                return fail("the snapshot has no drive, this machine has one".into())
            }
        };
        if s.bytes != disk.size() {
            return fail(format!(
                "taken with a {}-byte image, this drive's is {} bytes",
                s.bytes,
                disk.size()
            ));
        }
        if let Some(last) = s.overlay.last_sector() {
            if last >= s.bytes / SECTOR_SIZE {
                return fail(format!("written sector {last} lies outside the image"));
            }
        }
        let next = next_id.unwrap_or(0);
        if let Some(c) = s.pending.iter().find(|c| c.id >= next) {
            return fail(format!(
                "a completion for request {} that was never submitted (next id {next})",
                c.id
            ));
        }
        Ok(())
    }

    /// Puts the drive back into `s` (checked with [`Board::check_disk`]):
    /// requests still running for the abandoned timeline are finished and
    /// their completions dropped, then the overlay and the completions in
    /// flight become the snapshot's. Call after the door is positioned.
    pub fn restore_disk(&mut self, s: Option<&DiskState>) -> Result<(), NondetError> {
        let (Some(disk), Some(s)) = (&self.disk, s) else {
            return Ok(());
        };
        disk.control(DiskControl::Restore(s.overlay.clone()));
        match self.nondet.disk_sync(true)? {
            DiskReply::Restored => self.nondet.set_disk_read_ahead(s.pending.clone()),
            DiskReply::Refused(why) => Err(NondetError::Engine(why)),
            other => Err(unexpected(other, "restored")),
        }
    }

    /// A replay going live: the disk thread reports to `to` from now on.
    /// Returns the completions of requests already submitted and not yet
    /// delivered, which the live door must hand to the guest.
    pub fn hand_disk_over(
        &mut self,
        to: Sender<HostEvent>,
    ) -> Result<Vec<BlockCompletion>, NondetError> {
        let Some(disk) = &self.disk else {
            return Ok(Vec::new());
        };
        disk.control(DiskControl::Handover(to));
        match self.nondet.disk_sync(false)? {
            DiskReply::HandedOver => Ok(self.nondet.disk_read_ahead()),
            other => Err(unexpected(other, "handed over")),
        }
    }
}
