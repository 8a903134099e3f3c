//! Disk image backend: a thread that owns the image file and executes
//! virtio-blk requests in submission order. With `snapshot` (the default,
//! like QEMU's `snapshot=on`) writes land in an in-memory overlay and the
//! file is never modified.
//!
//! Snapshots reach the thread through the same channel as the requests,
//! so a control message is ordered after every request submitted before
//! it: its reply ([`HostEvent::Disk`]) comes after their completions.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use crate::devices::virtio::blk::{BlockCompletion, BlockOp, BlockRequest, SECTOR_SIZE};
use crate::machine::nondet::{AsyncInput, HostEvent, HostSource};

pub mod overlay;
pub use overlay::Overlay;

#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("cannot open disk image {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("disk image {path} is {size} bytes, not a multiple of 512")]
    Size { path: PathBuf, size: u64 },
}

/// What the thread is asked besides requests.
#[derive(Debug)]
pub enum DiskControl {
    /// Reply [`DiskReply::Saved`] with a copy of the overlay.
    Save,
    /// Replace the overlay, reply [`DiskReply::Restored`].
    Restore(Overlay),
    /// Reply [`DiskReply::HandedOver`], then send everything to the new
    /// channel (a replay going live).
    Handover(Sender<HostEvent>),
}

enum Command {
    Request(BlockRequest),
    Control(DiskControl),
}

/// The thread's answer to a [`DiskControl`], sent after the completions of
/// every request submitted before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskReply {
    Saved(Overlay),
    Restored,
    HandedOver,
    /// The drive writes its image file (`snapshot=off`): there is no
    /// overlay to save or restore.
    Refused(String),
}

/// A drive's part of a machine snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskState {
    /// The image's size (restoring checks it).
    pub bytes: u64,
    /// Sectors written before the snapshot.
    pub overlay: Overlay,
    /// Completions of requests submitted before the snapshot and not yet
    /// delivered to the guest, by ascending id. Restoring hands them back
    /// rather than executing the requests again: two requests in flight
    /// together (a read, then a write of the same sector) would not give
    /// the same answers.
    pub pending: Vec<BlockCompletion>,
}

impl DiskState {
    /// Memory held beyond `older`'s overlay (see [`Overlay::bytes_beyond`]).
    pub fn bytes_beyond(&self, older: Option<&DiskState>) -> usize {
        let pending: usize = self.pending.iter().map(|c| 32 + c.data.len()).sum();
        self.overlay.bytes_beyond(older.map(|o| &o.overlay)) + pending
    }
}

/// Why the thread refuses snapshots of a drive with `snapshot=off`.
pub const SNAPSHOT_OFF: &str = "the drive was opened with snapshot=off (its writes go to the image file, which a snapshot cannot rewind): snapshots need the default snapshot=on";

/// The machine's end: submit requests; completions arrive as host events.
pub struct DiskHandle {
    tx: Sender<Command>,
    size: u64,
    thread: Option<JoinHandle<()>>,
}

impl DiskHandle {
    /// Opens `path` and starts the disk thread, which reports to `events`.
    pub fn open(
        path: &Path,
        snapshot: bool,
        events: Sender<HostEvent>,
    ) -> Result<DiskHandle, DiskError> {
        let file = OpenOptions::new()
            .read(true)
            .write(!snapshot)
            .open(path)
            .map_err(|source| DiskError::Open {
                path: path.into(),
                source,
            })?;
        let size = file
            .metadata()
            .map_err(|source| DiskError::Open {
                path: path.into(),
                source,
            })?
            .len();
        if size % SECTOR_SIZE != 0 {
            return Err(DiskError::Size {
                path: path.into(),
                size,
            });
        }
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut disk = Disk {
            file,
            size,
            snapshot,
            overlay: Overlay::new(),
        };
        let thread = std::thread::Builder::new()
            .name("disk".into())
            .spawn(move || disk.serve(rx, events))
            .map_err(|source| DiskError::Open {
                path: path.into(),
                source,
            })?;
        Ok(DiskHandle {
            tx,
            size,
            thread: Some(thread),
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn submit(&self, req: BlockRequest) {
        // A send fails only if the thread ended, and it ends only when we drop.
        let _ = self.tx.send(Command::Request(req));
    }

    /// Sends `c`; the reply comes on the events channel after the
    /// completions of every request submitted so far.
    pub fn control(&self, c: DiskControl) {
        let _ = self.tx.send(Command::Control(c));
    }
}

impl Drop for DiskHandle {
    fn drop(&mut self) {
        let (dead, _) = crossbeam_channel::bounded(0);
        self.tx = dead;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct Disk {
    file: File,
    size: u64,
    snapshot: bool,
    /// Sectors written in snapshot mode.
    overlay: Overlay,
}

impl Disk {
    fn serve(&mut self, rx: Receiver<Command>, mut events: Sender<HostEvent>) {
        for cmd in rx.iter() {
            let event = match cmd {
                Command::Request(req) => HostEvent::Input(AsyncInput::BlockDone(self.execute(req))),
                Command::Control(DiskControl::Handover(to)) => {
                    let _ = events.send(HostEvent::Disk(DiskReply::HandedOver));
                    events = to;
                    continue;
                }
                Command::Control(DiskControl::Save) => HostEvent::Disk(self.save()),
                Command::Control(DiskControl::Restore(o)) => HostEvent::Disk(self.restore(o)),
            };
            if events.send(event).is_err() {
                break;
            }
        }
        let _ = events.send(HostEvent::Closed(HostSource::Disk));
    }

    fn save(&self) -> DiskReply {
        match self.snapshot {
            true => DiskReply::Saved(self.overlay.clone()),
            false => DiskReply::Refused(SNAPSHOT_OFF.into()),
        }
    }

    fn restore(&mut self, overlay: Overlay) -> DiskReply {
        if !self.snapshot {
            return DiskReply::Refused(SNAPSHOT_OFF.into());
        }
        self.overlay = overlay;
        DiskReply::Restored
    }

    fn execute(&mut self, req: BlockRequest) -> BlockCompletion {
        let r = match &req.op {
            BlockOp::Read { sector, len } => self.read(*sector, *len as usize),
            BlockOp::Write { sector, data } => self.write(*sector, data).map(|_| Vec::new()),
            BlockOp::Flush => if self.snapshot {
                Ok(())
            } else {
                self.file.sync_data()
            }
            .map(|_| Vec::new()),
        };
        match r {
            Ok(data) => BlockCompletion {
                id: req.id,
                ok: true,
                data,
            },
            Err(_) => BlockCompletion {
                id: req.id,
                ok: false,
                data: Vec::new(),
            },
        }
    }

    fn read(&self, sector: u64, len: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; len];
        if sector * SECTOR_SIZE + len as u64 > self.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "read past end",
            ));
        }
        self.file.read_exact_at(&mut buf, sector * SECTOR_SIZE)?;
        for (i, chunk) in buf.chunks_mut(SECTOR_SIZE as usize).enumerate() {
            if let Some(s) = self.overlay.get(sector + i as u64) {
                chunk.copy_from_slice(&s[..chunk.len()]);
            }
        }
        Ok(buf)
    }

    fn write(&mut self, sector: u64, data: &[u8]) -> io::Result<()> {
        if sector * SECTOR_SIZE + data.len() as u64 > self.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "write past end",
            ));
        }
        if !self.snapshot {
            return self.file.write_all_at(data, sector * SECTOR_SIZE);
        }
        for (i, chunk) in data.chunks(SECTOR_SIZE as usize).enumerate() {
            self.overlay.insert(sector + i as u64, chunk);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn image() -> (tempfile_path::TempPath, Vec<u8>) {
        let data: Vec<u8> = (0..2048u32).map(|i| i as u8).collect();
        let p = tempfile_path::TempPath::new("disk");
        std::fs::File::create(&p.0)
            .unwrap()
            .write_all(&data)
            .unwrap();
        (p, data)
    }

    /// A tiny self-deleting temp file (no extra dependency for one test).
    mod tempfile_path {
        pub struct TempPath(pub std::path::PathBuf);
        impl TempPath {
            pub fn new(tag: &str) -> Self {
                let n = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos();
                TempPath(
                    std::env::temp_dir().join(format!("emu-{tag}-{}-{n}.img", std::process::id())),
                )
            }
        }
        impl Drop for TempPath {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
    }

    fn done(rx: &Receiver<HostEvent>) -> BlockCompletion {
        match rx.recv().unwrap() {
            HostEvent::Input(AsyncInput::BlockDone(c)) => c,
            e => panic!("unexpected {e:?}"),
        }
    }

    #[test]
    fn snapshot_writes_stay_in_overlay() {
        let (p, data) = image();
        let (tx, rx) = crossbeam_channel::unbounded();
        let d = DiskHandle::open(&p.0, true, tx).unwrap();
        assert_eq!(d.size(), 2048);
        d.submit(BlockRequest {
            id: 0,
            op: BlockOp::Read {
                sector: 1,
                len: 512,
            },
        });
        assert_eq!(done(&rx).data, data[512..1024]);
        d.submit(BlockRequest {
            id: 1,
            op: BlockOp::Write {
                sector: 1,
                data: vec![9; 512],
            },
        });
        assert!(done(&rx).ok);
        d.submit(BlockRequest {
            id: 2,
            op: BlockOp::Read {
                sector: 0,
                len: 1024,
            },
        });
        let c = done(&rx);
        assert_eq!(c.data[..512], data[..512]);
        assert_eq!(c.data[512..], [9; 512]);
        d.submit(BlockRequest {
            id: 3,
            op: BlockOp::Read {
                sector: 4,
                len: 512,
            },
        });
        assert!(!done(&rx).ok, "past the end");
        drop(d);
        assert_eq!(std::fs::read(&p.0).unwrap(), data, "image untouched");
    }

    fn write(id: u64, sector: u64, byte: u8) -> BlockRequest {
        BlockRequest {
            id,
            op: BlockOp::Write {
                sector,
                data: vec![byte; 512],
            },
        }
    }

    fn read(id: u64, sector: u64) -> BlockRequest {
        BlockRequest {
            id,
            op: BlockOp::Read { sector, len: 512 },
        }
    }

    /// The events up to the thread's reply to a control message.
    fn until_reply(rx: &Receiver<HostEvent>) -> (Vec<BlockCompletion>, DiskReply) {
        let mut done = Vec::new();
        loop {
            match rx.recv().unwrap() {
                HostEvent::Input(AsyncInput::BlockDone(c)) => done.push(c),
                HostEvent::Disk(r) => return (done, r),
                e => panic!("unexpected {e:?}"),
            }
        }
    }

    #[test]
    fn save_follows_every_request_submitted_before_it() {
        let (p, _) = image();
        let (tx, rx) = crossbeam_channel::unbounded();
        let d = DiskHandle::open(&p.0, true, tx).unwrap();
        // Still in flight (nobody has received a completion) when Save goes.
        d.submit(write(0, 1, 0xaa));
        d.submit(read(1, 1));
        d.control(DiskControl::Save);
        d.submit(write(2, 2, 0xbb));
        let (done, reply) = until_reply(&rx);
        assert_eq!(done.iter().map(|c| c.id).collect::<Vec<_>>(), vec![0, 1]);
        assert_eq!(done[1].data, [0xaa; 512], "the read saw the earlier write");
        let DiskReply::Saved(o) = reply else {
            panic!("{reply:?}")
        };
        assert_eq!(o.get(1), Some(&[0xaa; 512]), "the write in flight is saved");
        assert_eq!(o.get(2), None, "the write after Save is not");
        assert_eq!(done_id(&rx), 2);
    }

    fn done_id(rx: &Receiver<HostEvent>) -> u64 {
        done(rx).id
    }

    #[test]
    fn restore_replaces_the_overlay_after_earlier_requests() {
        let (p, data) = image();
        let (tx, rx) = crossbeam_channel::unbounded();
        let d = DiskHandle::open(&p.0, true, tx).unwrap();
        d.submit(write(0, 0, 1));
        d.control(DiskControl::Save);
        let (_, reply) = until_reply(&rx);
        let DiskReply::Saved(saved) = reply else {
            panic!("{reply:?}")
        };
        // Later writes, one still queued when Restore is sent: all undone.
        d.submit(write(1, 0, 2));
        d.submit(write(2, 3, 3));
        d.control(DiskControl::Restore(saved));
        let (stale, reply) = until_reply(&rx);
        assert_eq!(stale.len(), 2, "stale completions come before the ack");
        assert_eq!(reply, DiskReply::Restored);
        d.submit(read(1, 0));
        assert_eq!(done(&rx).data, [1; 512]);
        d.submit(read(2, 3));
        assert_eq!(done(&rx).data, data[3 * 512..4 * 512]);
    }

    #[test]
    fn snapshot_off_refuses_save_and_restore() {
        let (p, _) = image();
        let (tx, rx) = crossbeam_channel::unbounded();
        let d = DiskHandle::open(&p.0, false, tx).unwrap();
        d.control(DiskControl::Save);
        let (_, reply) = until_reply(&rx);
        assert!(matches!(&reply, DiskReply::Refused(w) if w.contains("snapshot=off")));
        d.control(DiskControl::Restore(Overlay::new()));
        assert!(matches!(until_reply(&rx).1, DiskReply::Refused(_)));
    }

    #[test]
    fn handover_moves_later_completions_to_the_new_channel() {
        let (p, _) = image();
        let (tx, rx) = crossbeam_channel::unbounded();
        let d = DiskHandle::open(&p.0, true, tx).unwrap();
        let (live_tx, live_rx) = crossbeam_channel::unbounded();
        d.submit(read(0, 0));
        d.control(DiskControl::Handover(live_tx));
        d.submit(read(1, 0));
        let (done, reply) = until_reply(&rx);
        assert_eq!((done.len(), done[0].id), (1, 0));
        assert_eq!(reply, DiskReply::HandedOver);
        assert_eq!(done_id(&live_rx), 1);
        drop(d);
        assert_eq!(live_rx.recv().unwrap(), HostEvent::Closed(HostSource::Disk));
    }

    #[test]
    fn odd_sized_image_is_rejected() {
        let p = tempfile_path::TempPath::new("odd");
        std::fs::write(&p.0, [0u8; 100]).unwrap();
        let (tx, _rx) = crossbeam_channel::unbounded();
        assert!(matches!(
            DiskHandle::open(&p.0, true, tx),
            Err(DiskError::Size { size: 100, .. })
        ));
    }
}
