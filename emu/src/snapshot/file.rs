//! Snapshot files: one machine state at one icount of one recording, in
//! the versioned, checksummed format of docs/snapshot-format.md.
//!
//! Reading parses and verifies the whole file (size caps, magic, version,
//! sha256 trailer, every section, the state encoding, the page list, the
//! drive's sectors and completions in flight) into
//! a [`SnapshotFile`] before anything touches a machine; [`SnapshotFile::check`]
//! then ties it to the machine and log at hand, and only after both does
//! [`SnapshotFile::apply`] change the machine.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::wire::{self, WireError};
use crate::bus::{PhysAddr, PAGE_SIZE};
use crate::host::disk::DiskState;
use crate::machine::nondet::ReplayPosition;
use crate::machine::{Machine, MachineState};
use crate::replay::MachineFacts;

pub const MAGIC: [u8; 8] = *b"EMUSNAP\0";
/// Version 2 added the DISK section; version 1 files (no drive) still load.
pub const VERSION: u32 = 2;
const SECTIONS: [[u8; 4]; 4] = [*b"META", *b"STAT", *b"RAM\0", *b"DISK"];
const TRAILER: usize = 32;
const PREAMBLE: usize = 16;
/// Caps: the metadata is a few hundred bytes, device state a few KiB plus
/// queued input; RAM is at most 3 GiB (emu's limit) plus 4 bytes per page.
const MAX_META: u64 = 1 << 20;
const MAX_STATE: u64 = 64 << 20;
const MAX_RAM_BYTES: u64 = 3 << 30;
/// The drive's written sectors (8 bytes of index each) and the data of
/// the requests in flight; an overlay lives in the host's memory.
const MAX_DISK: u64 = 64 << 30;
const MAX_RAM: u64 = 12 + MAX_RAM_BYTES / PAGE_SIZE * (PAGE_SIZE + 4);
const MAX_FILE: u64 =
    PREAMBLE as u64 + 4 * 12 + MAX_META + MAX_STATE + MAX_RAM + MAX_DISK + TRAILER as u64;

/// What is wrong with a snapshot file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Defect {
    Io(String),
    TooLarge {
        size: u64,
        max: u64,
    },
    /// Not a snapshot at all.
    Foreign,
    Version(u32),
    Truncated {
        size: u64,
    },
    Checksum,
    Section {
        at: u64,
        what: String,
    },
    Meta(String),
    State(WireError),
    Ram(String),
    Disk(String),
    /// Made on another machine or from other images.
    Machine(Vec<String>),
    /// Made from another recording (or a different part of it).
    Recording(String),
    /// The state does not fit this machine (device checks on restore).
    Restore(String),
}

impl fmt::Display for Defect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Defect::Io(e) => write!(f, "{e}"),
            Defect::TooLarge { size, max } => {
                write!(f, "{size} bytes, more than a snapshot can hold ({max})")
            }
            Defect::Foreign => write!(f, "not an emu snapshot (no EMUSNAP magic)"),
            Defect::Version(v) => write!(
                f,
                "snapshot format version {v}; this emu reads versions 1 to {VERSION}"
            ),
            Defect::Truncated { size } => {
                write!(f, "truncated: {size} bytes is shorter than any snapshot")
            }
            Defect::Checksum => write!(
                f,
                "damaged: the sha256 over the file does not match its contents"
            ),
            Defect::Section { at, what } => write!(f, "bad section at byte {at}: {what}"),
            Defect::Meta(what) => write!(f, "bad META section: {what}"),
            Defect::State(e) => write!(f, "bad STAT section: {e}"),
            Defect::Ram(what) => write!(f, "bad RAM section: {what}"),
            Defect::Disk(what) => write!(f, "bad DISK section: {what}"),
            Defect::Machine(m) => write!(f, "taken on a different machine:\n  {}", m.join("\n  ")),
            Defect::Recording(what) => write!(f, "does not belong to this recording: {what}"),
            Defect::Restore(what) => write!(f, "does not fit this machine: {what}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("snapshot {path}: {defect}")]
pub struct SnapshotFileError {
    pub path: PathBuf,
    pub defect: Defect,
}

/// A snapshot as stored: the machine state at `icount` (with the drive's
/// overlay and completions in flight, if it has one), where the replay
/// stood in its log, the RAM pages that are not zero, and the facts tying
/// it to a machine and a recording (the drive image's sha256 among them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFile {
    pub icount: u64,
    pub position: ReplayPosition,
    /// `sha256:HEX` of the log's bytes before `position.offset`.
    pub log_prefix_sha256: String,
    /// `sha256:HEX` of the whole log, for a snapshot a new log starts from
    /// (a cut, a recorded continuation): its prefix is only a header.
    pub log_sha256: Option<String>,
    /// The machine's facts (`LOG.machine` without `result.*`).
    pub facts: MachineFacts,
    pub ram_bytes: u64,
    pub state: MachineState,
    /// Every page that is not all zero, ascending.
    pub pages: Vec<SavedPage>,
}

/// A page index and its 4 KiB.
pub type SavedPage = (u32, Box<[u8]>);

pub fn sha256_hex(bytes: &[u8]) -> String {
    let h = Sha256::digest(bytes);
    let hex: String = h.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

impl SnapshotFile {
    /// The snapshot of `machine` (a replay of `log`, between two runs).
    pub fn capture(
        machine: &mut Machine,
        facts: &MachineFacts,
        log: &[u8],
    ) -> Result<SnapshotFile, String> {
        let state = machine.save_state().map_err(|e| e.to_string())?;
        let position = state
            .replay
            .ok_or("the machine is not replaying a log (no position to save)")?;
        let end = (position.offset.0 as usize).min(log.len());
        let ram = &machine.board.ram;
        let pages = ram
            .written_pages()
            .filter(|(_, p)| !super::pages::is_zero(p))
            .map(|(i, p)| (i as u32, p.to_vec().into_boxed_slice()))
            .collect();
        let mut config = MachineFacts::new();
        for key in fact_keys(facts) {
            if let Some(v) = facts.get(&key) {
                config.set(&key, v);
            }
        }
        Ok(SnapshotFile {
            icount: machine.icount(),
            position,
            log_prefix_sha256: sha256_hex(&log[..end]),
            log_sha256: None,
            facts: config,
            ram_bytes: ram.size(),
            state,
            pages,
        })
    }

    fn meta_text(&self) -> String {
        let mut s = String::new();
        let mut put = |k: &str, v: String| s.push_str(&format!("{k} = {v}\n"));
        put("icount", self.icount.to_string());
        put("log.offset", self.position.offset.0.to_string());
        put("log.index", self.position.index.0.to_string());
        put("log.icount", self.position.icount.0.to_string());
        put("log.prefix-sha256", self.log_prefix_sha256.clone());
        if let Some(h) = &self.log_sha256 {
            put("log.sha256", h.clone());
        }
        put("ram.bytes", self.ram_bytes.to_string());
        put("ram.pages", self.pages.len().to_string());
        if let Some(d) = &self.state.disk {
            put("disk.bytes", d.bytes.to_string());
            put("disk.sectors", d.overlay.len().to_string());
            put("disk.pending", d.pending.len().to_string());
        }
        for key in fact_keys(&self.facts) {
            put(
                &format!("machine.{key}"),
                self.facts.get(&key).unwrap_or("").to_string(),
            );
        }
        s
    }

    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let meta = self.meta_text().into_bytes();
        let state = wire::encode(&self.state);
        let mut ram = Vec::with_capacity(12 + self.pages.len() * (4 + PAGE_SIZE as usize));
        ram.extend_from_slice(&PAGE_SIZE.to_le_bytes());
        ram.extend_from_slice(&(self.pages.len() as u32).to_le_bytes());
        for (i, p) in &self.pages {
            ram.extend_from_slice(&i.to_le_bytes());
            ram.extend_from_slice(p);
        }
        let disk = super::disk_section::encode(self.state.disk.as_ref());
        let mut out =
            Vec::with_capacity(PREAMBLE + meta.len() + state.len() + ram.len() + disk.len() + 100);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(SECTIONS.len() as u32).to_le_bytes());
        for (tag, body) in SECTIONS.iter().zip([&meta, &state, &ram, &disk]) {
            out.extend_from_slice(tag);
            out.extend_from_slice(&(body.len() as u64).to_le_bytes());
            out.extend_from_slice(body);
        }
        let sum = Sha256::digest(&out);
        out.extend_from_slice(&sum);
        out
    }

    /// Writes the file through a temporary file in the same directory and
    /// a rename, so `path` is either absent or complete.
    pub fn write(&self, path: &Path) -> Result<(), SnapshotFileError> {
        write_atomically(path, &self.to_bytes()).map_err(|e| SnapshotFileError {
            path: path.to_path_buf(),
            defect: Defect::Io(e.to_string()),
        })
    }

    /// Reads and verifies `path` completely (see the module notes).
    pub fn read(path: &Path) -> Result<SnapshotFile, SnapshotFileError> {
        let err = |defect| SnapshotFileError {
            path: path.to_path_buf(),
            defect,
        };
        let size = std::fs::metadata(path)
            .map_err(|e| err(Defect::Io(format!("cannot read: {e}"))))?
            .len();
        if size > MAX_FILE {
            return Err(err(Defect::TooLarge {
                size,
                max: MAX_FILE,
            }));
        }
        let bytes =
            std::fs::read(path).map_err(|e| err(Defect::Io(format!("cannot read: {e}"))))?;
        Self::parse(&bytes).map_err(err)
    }

    /// Parses and verifies a snapshot held in memory.
    pub fn parse(bytes: &[u8]) -> Result<SnapshotFile, Defect> {
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Err(Defect::Foreign);
        }
        if bytes.len() < PREAMBLE + TRAILER {
            return Err(Defect::Truncated {
                size: bytes.len() as u64,
            });
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
        let (body, sum) = bytes.split_at(bytes.len() - TRAILER);
        if Sha256::digest(body).as_slice() != sum {
            // A damaged version field is damage, not a newer format.
            return Err(
                if !(1..=VERSION).contains(&version) && is_plausible_version(version) {
                    Defect::Version(version)
                } else {
                    Defect::Checksum
                },
            );
        }
        // Version 1: the same, without the DISK section.
        let sections = match version {
            1 => 3,
            VERSION => SECTIONS.len(),
            v => return Err(Defect::Version(v)),
        };
        let count = u32::from_le_bytes(body[12..16].try_into().expect("4 bytes"));
        if count as usize != sections {
            return Err(Defect::Section {
                at: 12,
                what: format!("{count} sections, expected {sections}"),
            });
        }
        let mut at = PREAMBLE;
        let mut parts = Vec::new();
        let caps = [MAX_META, MAX_STATE, MAX_RAM, MAX_DISK];
        for (tag, cap) in SECTIONS.iter().zip(caps).take(sections) {
            let name = String::from_utf8_lossy(tag)
                .trim_end_matches('\0')
                .to_string();
            if body.len() - at < 12 {
                return Err(Defect::Section {
                    at: at as u64,
                    what: format!("{name} section header cut off"),
                });
            }
            if &body[at..at + 4] != tag {
                return Err(Defect::Section {
                    at: at as u64,
                    what: format!("expected the {name} section"),
                });
            }
            let len = u64::from_le_bytes(body[at + 4..at + 12].try_into().expect("8 bytes"));
            if len > cap || len > (body.len() - at - 12) as u64 {
                return Err(Defect::Section {
                    at: at as u64,
                    what: format!("{name} section of {len} bytes does not fit"),
                });
            }
            let start = at + 12;
            parts.push(&body[start..start + len as usize]);
            at = start + len as usize;
        }
        if at != body.len() {
            return Err(Defect::Section {
                at: at as u64,
                what: format!("{} bytes after the last section", body.len() - at),
            });
        }
        let mut snap = parse_meta(parts[0])?;
        snap.state = wire::decode(parts[1]).map_err(Defect::State)?;
        if snap.state.hart.icount != snap.icount {
            return Err(Defect::Meta(format!(
                "icount {} but the hart's state is at {}",
                snap.icount, snap.state.hart.icount
            )));
        }
        if snap.state.replay != Some(snap.position) {
            return Err(Defect::Meta(
                "the log position differs from the saved door's".into(),
            ));
        }
        snap.pages = parse_ram(parts[2], snap.ram_bytes, snap.pages.capacity())?;
        let disk = match parts.get(3) {
            Some(b) => super::disk_section::decode(b).map_err(Defect::Disk)?,
            None => None,
        };
        check_disk_meta(&meta_fields(parts[0])?, disk.as_ref())?;
        snap.state.disk = disk;
        Ok(snap)
    }

    /// Ties the snapshot to the machine and log at hand: the same machine
    /// facts (memory, CPU, devices, image hashes) and the same log bytes up
    /// to the saved position.
    pub fn check(&self, facts: &MachineFacts, log: &[u8]) -> Result<(), Defect> {
        let mut now = MachineFacts::new();
        for key in fact_keys(facts) {
            now.set(&key, facts.get(&key).unwrap_or(""));
        }
        let mismatches: Vec<String> = self
            .facts
            .compare(&now)
            .iter()
            .map(|m| m.to_string())
            .collect();
        if !mismatches.is_empty() {
            return Err(Defect::Machine(mismatches));
        }
        let end = self.position.offset.0;
        if end > log.len() as u64 {
            return Err(Defect::Recording(format!(
                "it resumes the log at byte {end}, the log has {} bytes",
                log.len()
            )));
        }
        if sha256_hex(&log[..end as usize]) != self.log_prefix_sha256 {
            return Err(Defect::Recording(format!(
                "the log's first {end} bytes are not the ones it was taken from"
            )));
        }
        if let Some(h) = &self.log_sha256 {
            if sha256_hex(log) != *h {
                return Err(Defect::Recording(
                    "it starts a log with other contents (log.sha256 differs)".into(),
                ));
            }
        }
        Ok(())
    }

    /// Puts `machine` (built for the same facts, its door already reading
    /// the log) into this state: devices and hart, every RAM page, the
    /// door's position. Call [`SnapshotFile::check`] first.
    pub fn apply(&self, machine: &mut Machine) -> Result<(), Defect> {
        if machine.board.ram.size() != self.ram_bytes {
            return Err(Defect::Restore(format!(
                "{} bytes of RAM, this machine has {}",
                self.ram_bytes,
                machine.board.ram.size()
            )));
        }
        machine
            .restore_state(&self.state)
            .map_err(|e| Defect::Restore(e.to_string()))?;
        machine
            .resume_replay(&self.state)
            .map_err(|e| Defect::Restore(e.to_string()))?;
        let ram = &mut machine.board.ram;
        let base = ram.base();
        let stale: Vec<u32> = ram
            .written_pages()
            .filter(|(_, p)| !super::pages::is_zero(p))
            .map(|(i, _)| i as u32)
            .collect();
        const ZERO: [u8; PAGE_SIZE as usize] = [0; PAGE_SIZE as usize];
        for i in stale {
            let _ = ram.write_bytes(
                PhysAddr(base + i as u64 * PAGE_SIZE),
                &ZERO[..ram.page(i).len()],
            );
        }
        for (i, p) in &self.pages {
            let _ = ram.write_bytes(PhysAddr(base + *i as u64 * PAGE_SIZE), p);
        }
        ram.invalidate_all_code();
        machine.hart.invalidate_code();
        Ok(())
    }
}

/// Version numbers a future emu might write (a flipped bit in the field
/// gives something far outside this).
fn is_plausible_version(v: u32) -> bool {
    (1..=64).contains(&v)
}

/// The configuration keys of `facts` (not `result.*` or a cut's `start.*`).
fn fact_keys(facts: &MachineFacts) -> Vec<String> {
    facts
        .keys()
        .filter(|k| !k.starts_with("result.") && !k.starts_with("start."))
        .map(str::to_string)
        .collect()
}

type Fields = std::collections::BTreeMap<String, String>;

/// META's `key = value` lines: the `machine.*` facts apart.
fn meta_lines(bytes: &[u8]) -> Result<(Fields, MachineFacts), Defect> {
    let text = std::str::from_utf8(bytes).map_err(|_| Defect::Meta("not UTF-8 text".into()))?;
    let mut facts = MachineFacts::new();
    let mut fields = Fields::new();
    for (n, line) in text.lines().enumerate() {
        let (k, v) = line
            .split_once(" = ")
            .ok_or_else(|| Defect::Meta(format!("line {}: expected `key = value`", n + 1)))?;
        match k.strip_prefix("machine.") {
            Some(fact) => facts.set(fact, v),
            None => {
                fields.insert(k.to_string(), v.to_string());
            }
        }
    }
    Ok((fields, facts))
}

fn meta_fields(bytes: &[u8]) -> Result<Fields, Defect> {
    Ok(meta_lines(bytes)?.0)
}

/// META's `disk.*` summary agrees with the DISK section.
fn check_disk_meta(fields: &Fields, disk: Option<&DiskState>) -> Result<(), Defect> {
    let keys = ["disk.bytes", "disk.sectors", "disk.pending"];
    let Some(d) = disk else {
        return match keys.iter().find(|k| fields.contains_key(**k)) {
            Some(k) => Err(Defect::Meta(format!("`{k}` but no DISK section"))),
            None => Ok(()),
        };
    };
    let want = [d.bytes, d.overlay.len() as u64, d.pending.len() as u64];
    for (k, want) in keys.iter().zip(want) {
        if fields.get(*k).map(String::as_str) != Some(want.to_string().as_str()) {
            return Err(Defect::Meta(format!(
                "`{k}` does not match the DISK section ({want})"
            )));
        }
    }
    Ok(())
}

fn parse_meta(bytes: &[u8]) -> Result<SnapshotFile, Defect> {
    let (fields, facts) = meta_lines(bytes)?;
    let num = |k: &str| -> Result<u64, Defect> {
        fields
            .get(k)
            .ok_or_else(|| Defect::Meta(format!("no `{k}`")))?
            .parse::<u64>()
            .map_err(|_| Defect::Meta(format!("`{k}` is not a number")))
    };
    let ram_bytes = num("ram.bytes")?;
    if ram_bytes > MAX_RAM_BYTES || ram_bytes % PAGE_SIZE != 0 {
        return Err(Defect::Meta(format!("RAM of {ram_bytes} bytes")));
    }
    let pages = num("ram.pages")?;
    if pages > ram_bytes / PAGE_SIZE {
        return Err(Defect::Meta(format!(
            "{pages} pages in {ram_bytes} bytes of RAM"
        )));
    }
    let prefix = fields
        .get("log.prefix-sha256")
        .filter(|v| v.len() == 71 && v.starts_with("sha256:"))
        .ok_or_else(|| Defect::Meta("no `log.prefix-sha256 = sha256:HEX`".into()))?;
    let placeholder = MachineState {
        hart: crate::cpu::Hart::new(crate::cpu::HartConfig::default()).state(),
        board: empty_board_state(),
        rng_seed: [0; 32],
        replay: None,
        disk: None,
    };
    Ok(SnapshotFile {
        icount: num("icount")?,
        position: ReplayPosition {
            offset: logfmt::ByteOffset(num("log.offset")?),
            index: logfmt::EventIndex(num("log.index")?),
            icount: logfmt::Icount(num("log.icount")?),
        },
        log_prefix_sha256: prefix.clone(),
        log_sha256: match fields.get("log.sha256") {
            Some(v) if v.len() == 71 && v.starts_with("sha256:") => Some(v.clone()),
            Some(_) => return Err(Defect::Meta("`log.sha256` is not sha256:HEX".into())),
            None => None,
        },
        facts,
        ram_bytes,
        state: placeholder,
        pages: Vec::with_capacity(pages as usize),
    })
}

/// A stand-in until the STAT section is decoded.
fn empty_board_state() -> crate::machine::board::BoardState {
    use crate::devices::uart::UartState;
    crate::machine::board::BoardState {
        test: None,
        rtc: Default::default(),
        clint: Default::default(),
        plic: crate::devices::plic::PlicState {
            priority: Vec::new(),
            pending: 0,
            claimed: 0,
            enable: [0; 2],
            threshold: [0; 2],
            levels: 0,
        },
        uart: UartState {
            regs: [0; 9],
            divider: 0,
            thr_ipending: false,
            timeout_ipending: false,
            recv_fifo: Vec::new(),
            recv_fifo_itl: 1,
            timeout_at: None,
            output: Vec::new(),
        },
        virtio: Vec::new(),
        flash: Vec::new(),
        ecam: [0; 256],
        fw_cfg: Default::default(),
        irq_levels: 0,
        warp_bias: 0,
        lines: 0,
        serial_backlog: Vec::new(),
        stop: None,
        resched: false,
    }
}

fn parse_ram(bytes: &[u8], ram_bytes: u64, pages: usize) -> Result<Vec<SavedPage>, Defect> {
    let bad = |what: String| Err(Defect::Ram(what));
    if bytes.len() < 12 {
        return bad("header cut off".into());
    }
    let page_size = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if page_size != PAGE_SIZE {
        return bad(format!("page size {page_size}, expected {PAGE_SIZE}"));
    }
    let count = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes")) as usize;
    if count != pages {
        return bad(format!("{count} pages, META says {pages}"));
    }
    let rec = 4 + PAGE_SIZE as usize;
    if bytes.len() - 12 != count * rec {
        return bad(format!("{} bytes for {count} pages", bytes.len() - 12));
    }
    let limit = ram_bytes / PAGE_SIZE;
    let mut out = Vec::with_capacity(count);
    let mut last = None;
    for chunk in bytes[12..].chunks_exact(rec) {
        let i = u32::from_le_bytes(chunk[..4].try_into().expect("4 bytes"));
        if i as u64 >= limit || last.is_some_and(|l| l >= i) {
            return bad(format!("page {i} out of order or outside {limit} pages"));
        }
        last = Some(i);
        out.push((i, chunk[4..].to_vec().into_boxed_slice()));
    }
    Ok(out)
}

/// Writes `bytes` to `path` through `path.tmp-PID` and a rename; the
/// temporary file is removed if anything fails.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = temp_path(path);
    let r = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// `path` with `.tmp-PID` appended, in the same directory (so the rename
/// stays on one file system).
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp-{}", std::process::id()));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::board::VirtioSetup;
    use crate::machine::{Live, MachineConfig};

    fn sample() -> SnapshotFile {
        let cfg = MachineConfig {
            ram_size: 16 << 20,
            ..MachineConfig::default()
        };
        let mut m = Machine::new(
            &cfg,
            Box::new(Live::new(None, vec![])),
            Box::new(std::io::sink()),
            VirtioSetup {
                rng: true,
                ..VirtioSetup::default()
            },
        )
        .unwrap();
        let mut state = m.save_state().unwrap();
        let position = ReplayPosition {
            offset: logfmt::ByteOffset(13),
            index: logfmt::EventIndex(1),
            icount: logfmt::Icount(0),
        };
        state.replay = Some(position);
        let mut facts = MachineFacts::new();
        facts.set("memory", cfg.ram_size);
        SnapshotFile {
            icount: 0,
            position,
            log_prefix_sha256: sha256_hex(b"log"),
            log_sha256: None,
            facts,
            ram_bytes: cfg.ram_size,
            state,
            pages: vec![(3, vec![0xa5; PAGE_SIZE as usize].into_boxed_slice())],
        }
    }

    #[test]
    fn round_trip() {
        let s = sample();
        assert_eq!(SnapshotFile::parse(&s.to_bytes()).unwrap(), s);
    }

    /// Every single flipped byte, and every truncation, is refused.
    #[test]
    fn any_flipped_byte_or_cut_is_refused() {
        let bytes = sample().to_bytes();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x40;
            let e = SnapshotFile::parse(&b).unwrap_err();
            assert!(
                matches!(e, Defect::Foreign | Defect::Checksum | Defect::Version(_)),
                "byte {i}: {e}"
            );
        }
        for len in (0..bytes.len()).step_by(97) {
            assert!(SnapshotFile::parse(&bytes[..len]).is_err(), "cut at {len}");
        }
    }

    /// With a valid checksum over bad contents (a buggy or hostile
    /// writer), parsing still refuses rather than panics or over-allocates.
    #[test]
    fn bad_contents_under_a_good_checksum_are_refused() {
        let good = sample().to_bytes();
        let body_len = good.len() - TRAILER;
        let reseal = |mut body: Vec<u8>| {
            let sum = Sha256::digest(&body);
            body.extend_from_slice(&sum);
            body
        };
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let mut body = good[..body_len].to_vec();
            let at = 8 + (x as usize % (body_len - 8));
            body[at] = (x >> 32) as u8;
            let _ = SnapshotFile::parse(&reseal(body));
        }
        let mut body = good[..body_len].to_vec();
        body[8] = 3;
        assert_eq!(SnapshotFile::parse(&reseal(body)), Err(Defect::Version(3)));
    }

    fn with_disk() -> SnapshotFile {
        let mut s = sample();
        let mut overlay = crate::host::disk::Overlay::new();
        overlay.insert(7, &[0x77; 512]);
        s.state.disk = Some(DiskState {
            bytes: 1 << 20,
            overlay,
            pending: vec![crate::devices::virtio::blk::BlockCompletion {
                id: 0,
                ok: true,
                data: vec![5; 512],
            }],
        });
        s
    }

    #[test]
    fn round_trip_with_a_drive() {
        let s = with_disk();
        let bytes = s.to_bytes();
        assert_eq!(SnapshotFile::parse(&bytes).unwrap(), s);
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("disk.sectors = 1\n"), "META sums the disk up");
    }

    /// META's disk summary must match the DISK section.
    #[test]
    fn disk_meta_and_section_must_agree() {
        let s = with_disk();
        let mut no_disk = s.clone();
        no_disk.state.disk = None;
        // META of `s` with the DISK section of `no_disk` (empty).
        let mut bytes = s.to_bytes();
        let body_len = bytes.len() - TRAILER;
        let disk_len = crate::snapshot::disk_section::encode(s.state.disk.as_ref()).len();
        bytes.truncate(body_len - disk_len);
        let at = bytes.len() - 8;
        bytes[at..].copy_from_slice(&0u64.to_le_bytes());
        let sum = Sha256::digest(&bytes);
        bytes.extend_from_slice(&sum);
        let e = SnapshotFile::parse(&bytes).unwrap_err();
        assert!(
            matches!(&e, Defect::Meta(w) if w.contains("disk.bytes")),
            "{e}"
        );
    }

    /// A version 1 file (three sections, no drive) still loads.
    #[test]
    fn version_1_files_still_load() {
        let s = sample();
        let v2 = s.to_bytes();
        // Drop the (empty) DISK section: its 12-byte header.
        let mut v1 = v2[..v2.len() - TRAILER - 12].to_vec();
        v1[8..12].copy_from_slice(&1u32.to_le_bytes());
        v1[12..16].copy_from_slice(&3u32.to_le_bytes());
        let sum = Sha256::digest(&v1);
        v1.extend_from_slice(&sum);
        assert_eq!(SnapshotFile::parse(&v1).unwrap(), s);
        // But not with a DISK section, nor claiming four sections.
        let mut bad = v2[..v2.len() - TRAILER].to_vec();
        bad[8..12].copy_from_slice(&1u32.to_le_bytes());
        let sum = Sha256::digest(&bad);
        bad.extend_from_slice(&sum);
        assert!(matches!(
            SnapshotFile::parse(&bad),
            Err(Defect::Section { .. })
        ));
    }
}
