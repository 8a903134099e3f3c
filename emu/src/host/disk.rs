//! Disk image backend: a thread that owns the image file and executes
//! virtio-blk requests in submission order. With `snapshot` (the default,
//! like QEMU's `snapshot=on`) writes land in an in-memory overlay and the
//! file is never modified.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender};

use crate::devices::virtio::blk::{BlockCompletion, BlockOp, BlockRequest, SECTOR_SIZE};
use crate::machine::nondet::{AsyncInput, HostEvent, HostSource};

#[derive(Debug, thiserror::Error)]
pub enum DiskError {
    #[error("cannot open disk image {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("disk image {path} is {size} bytes, not a multiple of 512")]
    Size { path: PathBuf, size: u64 },
}

/// The machine's end: submit requests; completions arrive as host events.
pub struct DiskHandle {
    tx: Sender<BlockRequest>,
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
            overlay: BTreeMap::new(),
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
        let _ = self.tx.send(req);
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
    overlay: BTreeMap<u64, Box<[u8; SECTOR_SIZE as usize]>>,
}

impl Disk {
    fn serve(&mut self, rx: Receiver<BlockRequest>, events: Sender<HostEvent>) {
        for req in rx.iter() {
            let done = self.execute(req);
            if events
                .send(HostEvent::Input(AsyncInput::BlockDone(done)))
                .is_err()
            {
                break;
            }
        }
        let _ = events.send(HostEvent::Closed(HostSource::Disk));
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
            if let Some(s) = self.overlay.get(&(sector + i as u64)) {
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
            let mut s = Box::new([0u8; SECTOR_SIZE as usize]);
            s[..chunk.len()].copy_from_slice(chunk);
            self.overlay.insert(sector + i as u64, s);
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
