//! The record/replay front end: which door the machine gets, the log file
//! and its machine side file, and QEMU's `-icount ...,rr=...` spelling.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};

use logfmt::{MappedLog, Numbering, Version};
use sha2::{Digest, Sha256};

use super::{MachineFacts, Recorder, Replayer};
use crate::machine::nondet::{HostEvent, Live, Nondet, NondetError};

/// How a run treats non-determinism.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RrMode {
    /// Take everything from the host, log nothing.
    Live,
    /// Take everything from the host and log it to `log`.
    Record {
        log: PathBuf,
        legacy: bool,
        force: bool,
    },
    /// Take everything from `log`; the host is not touched.
    Replay { log: PathBuf, ignore_config: bool },
}

impl RrMode {
    pub fn log(&self) -> Option<&Path> {
        match self {
            RrMode::Live => None,
            RrMode::Record { log, .. } | RrMode::Replay { log, .. } => Some(log),
        }
    }
    pub fn is_replay(&self) -> bool {
        matches!(self, RrMode::Replay { .. })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RrError {
    #[error("{path} exists; pass --force to overwrite a recording")]
    Exists { path: PathBuf },
    #[error("cannot create {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read {path}: {source}")]
    Image {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Open(#[from] logfmt::OpenError),
    #[error("{path}: {source}")]
    Log {
        path: PathBuf,
        source: logfmt::ReadError,
    },
    #[error(transparent)]
    Facts(#[from] super::config::ConfigError),
    #[error("{path} was recorded on a different machine:\n  {}\n(pass --ignore-config to replay anyway)", .mismatches.join("\n  "))]
    Mismatch {
        path: PathBuf,
        mismatches: Vec<String>,
    },
    #[error(transparent)]
    Door(#[from] NondetError),
    #[error("bad -icount `{0}`: expected shift=N|auto[,rr=record|replay,rrfile=FILE]")]
    Icount(String),
    #[error("replay of {path} ended in a different state than its recording:\n  {}", .differences.join("\n  "))]
    EndState {
        path: PathBuf,
        differences: Vec<String>,
    },
}

impl RrError {
    /// Whether the error says that a replay disagreed with its recording.
    pub fn is_divergence(&self) -> bool {
        matches!(
            self,
            RrError::EndState { .. } | RrError::Door(NondetError::Diverged(_))
        )
    }
}

/// Passes the guest's console output on and hashes it, so a replay can
/// show that it printed exactly what the recording printed.
pub struct OutputHasher {
    inner: Box<dyn std::io::Write>,
    hash: std::sync::Arc<std::sync::Mutex<Sha256>>,
}

impl OutputHasher {
    /// Wraps `inner`; the returned handle gives the hash at the end.
    pub fn wrap(inner: Box<dyn std::io::Write>) -> (Box<dyn std::io::Write>, OutputHash) {
        let hash = std::sync::Arc::new(std::sync::Mutex::new(Sha256::new()));
        (
            Box::new(OutputHasher {
                inner,
                hash: hash.clone(),
            }),
            OutputHash(hash),
        )
    }
}

impl std::io::Write for OutputHasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Ok(mut h) = self.hash.lock() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The console-output hash of a run.
#[derive(Clone)]
pub struct OutputHash(std::sync::Arc<std::sync::Mutex<Sha256>>);

impl OutputHash {
    /// The hash state so far (snapshots rewind it with the machine).
    pub fn save(&self) -> Sha256 {
        self.0.lock().map(|h| h.clone()).unwrap_or_default()
    }
    pub fn restore(&self, state: &Sha256) {
        if let Ok(mut h) = self.0.lock() {
            *h = state.clone();
        }
    }

    pub fn hex(&self) -> String {
        let h = self
            .0
            .lock()
            .map(|h| h.clone().finalize())
            .unwrap_or_default();
        h.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// How a run ended, as far as record and replay compare it.
pub struct RunEnd {
    pub icount: u64,
    pub digest: u64,
    pub serial_sha256: String,
}

/// After the run: a recording notes how it ended in `LOG.machine`; a
/// replay compares its end with that note.
pub fn settle(mode: &RrMode, facts: &MachineFacts, end: &RunEnd) -> Result<(), RrError> {
    let end = [
        ("result.icount", end.icount.to_string()),
        ("result.state-digest", format!("{:016x}", end.digest)),
        ("result.serial-sha256", end.serial_sha256.clone()),
    ];
    match mode {
        RrMode::Live => Ok(()),
        RrMode::Record { log, .. } => {
            let mut facts = facts.clone();
            for (k, v) in &end {
                facts.set(k, v);
            }
            Ok(facts.write(&MachineFacts::side_file(log))?)
        }
        RrMode::Replay { log, .. } => {
            // Checked even with --ignore-config: that option lets a replay
            // start on another machine, it does not make the ends agree.
            let side = MachineFacts::side_file(log);
            if !side.exists() {
                return Ok(());
            }
            let recorded = MachineFacts::read(&side)?;
            let differences: Vec<String> = end
                .iter()
                .filter_map(|(k, now)| {
                    let was = recorded.get(k)?;
                    (was != now).then(|| format!("{}: recorded {was}, replayed {now}", &k[7..]))
                })
                .collect();
            if differences.is_empty() {
                Ok(())
            } else {
                Err(RrError::EndState {
                    path: log.clone(),
                    differences,
                })
            }
        }
    }
}

/// QEMU's `-icount shift=N|auto,rr=record|replay,rrfile=FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcountOption {
    /// `None` for `auto`: emu keeps its fixed default (auto is QEMU's
    /// host-speed adaptation, which a deterministic machine does not need).
    pub shift: Option<u32>,
    pub mode: RrMode,
}

impl IcountOption {
    pub fn parse(s: &str) -> Result<IcountOption, RrError> {
        let bad = || RrError::Icount(s.to_string());
        let (mut shift, mut rr, mut file) = (None, None, None);
        for item in s.split(',') {
            match item.split_once('=') {
                Some(("shift", "auto")) => {}
                Some(("shift", n)) => {
                    shift = Some(n.parse::<u32>().ok().filter(|n| *n <= 10).ok_or_else(bad)?)
                }
                Some(("rr", m @ ("record" | "replay" | "off"))) => rr = Some(m),
                Some(("rrfile", f)) if !f.is_empty() => file = Some(PathBuf::from(f)),
                Some(("sleep" | "align" | "rrsnapshot", _)) => {}
                None if item.parse::<u32>().is_ok() => shift = item.parse().ok(),
                None if item == "auto" => {}
                _ => return Err(bad()),
            }
        }
        let mode = match (rr, file) {
            (None | Some("off"), _) => RrMode::Live,
            (Some("record"), Some(log)) => RrMode::Record {
                log,
                legacy: false,
                force: true,
            },
            (Some("replay"), Some(log)) => RrMode::Replay {
                log,
                ignore_config: false,
            },
            _ => return Err(bad()),
        };
        Ok(IcountOption { shift, mode })
    }
}

/// `sha256:HEX` of a file, to name guest images in the side file.
pub fn file_sha256(path: &Path) -> Result<String, RrError> {
    let err = |source| RrError::Image {
        path: path.to_path_buf(),
        source,
    };
    let mut f = File::open(path).map_err(err)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(err)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("sha256:{hex}"))
}

/// Builds the door for `mode`. `live` carries the host receivers; in
/// replay only the disk thread feeds it (no stdin, no network backend).
pub fn open_door(
    mode: &RrMode,
    live: Live,
    host_rx: Option<crossbeam_channel::Receiver<HostEvent>>,
    facts: &MachineFacts,
) -> Result<Box<dyn Nondet>, RrError> {
    match mode {
        RrMode::Live => Ok(Box::new(live)),
        RrMode::Record { log, legacy, force } => {
            if !force && log.exists() {
                return Err(RrError::Exists { path: log.clone() });
            }
            let create = |p: &Path| {
                OpenOptions::new()
                    .write(true)
                    .create(true)
                    .truncate(true)
                    .open(p)
                    .map_err(|source| RrError::Create {
                        path: p.to_path_buf(),
                        source,
                    })
            };
            let file = create(log)?;
            facts.write(&MachineFacts::side_file(log))?;
            let version = if *legacy {
                Version::E0200a
            } else {
                Version::E0200c(Numbering::Qemu7_2)
            };
            Ok(Box::new(Recorder::new(
                live,
                BufWriter::with_capacity(1 << 16, file),
                version,
            )?))
        }
        RrMode::Replay { log, ignore_config } => {
            let side = MachineFacts::side_file(log);
            if !ignore_config && side.exists() {
                let recorded = MachineFacts::read(&side)?;
                let mismatches: Vec<String> = recorded
                    .compare(facts)
                    .iter()
                    .map(|m| m.to_string())
                    .collect();
                if !mismatches.is_empty() {
                    return Err(RrError::Mismatch {
                        path: log.clone(),
                        mismatches,
                    });
                }
            }
            drop(live);
            replay_door(open_log(log)?, log, host_rx)
        }
    }
}

/// Maps a replay log for the rest of the process: the machine's door is
/// `'static`, and a replay reads its log until the machine stops. A debug
/// session maps it once and starts every re-run from the same map.
pub fn open_log(log: &Path) -> Result<&'static MappedLog, RrError> {
    Ok(Box::leak(Box::new(MappedLog::open(log)?)))
}

/// A replayer from the start of an already mapped log (`log` names it in
/// errors).
pub fn replay_door(
    mapped: &'static MappedLog,
    log: &Path,
    host_rx: Option<crossbeam_channel::Receiver<HostEvent>>,
) -> Result<Box<dyn Nondet>, RrError> {
    let reader = mapped.reader().map_err(|source| RrError::Log {
        path: log.to_path_buf(),
        source,
    })?;
    Ok(Box::new(Replayer::new(reader, host_rx)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_icount_spelling() {
        let o = IcountOption::parse("shift=auto,rr=record,rrfile=x.bin").unwrap();
        assert_eq!(o.shift, None);
        assert_eq!(
            o.mode,
            RrMode::Record {
                log: "x.bin".into(),
                legacy: false,
                force: true
            }
        );
        let o = IcountOption::parse("shift=7,rr=replay,rrfile=y.bin").unwrap();
        assert_eq!(o.shift, Some(7));
        assert!(o.mode.is_replay());
        assert_eq!(IcountOption::parse("3").unwrap().mode, RrMode::Live);
        assert!(IcountOption::parse("shift=3,rr=record").is_err());
        assert!(IcountOption::parse("shift=99").is_err());
        assert!(IcountOption::parse("rr=sideways,rrfile=z").is_err());
    }
}
