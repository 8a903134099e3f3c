//! `rrtool cut`: what a cut (a recording that starts from a snapshot, as
//! `emu cut` and `emu replay --live-at --record-to` write) contains: the
//! snapshot it starts from, where it ends, its log, the machine. Given a
//! snapshot file, shows that file's header.
//!
//! rrtool reads the snapshot's preamble and META section only (format in
//! docs/snapshot-format.md); emu verifies the checksum and the rest when
//! it loads one.

use std::path::{Path, PathBuf};

use crate::error::{CliError, Outcome, Result};
use crate::input;
use crate::output::Output;

/// Arguments of `rrtool cut`.
#[derive(Debug, clap::Args)]
pub struct CutArgs {
    /// A cut's log (its LOG.machine names the snapshot) or a snapshot file.
    pub file: PathBuf,
}

const MAGIC: &[u8; 8] = b"EMUSNAP\0";

fn bad(path: &Path, what: impl Into<String>) -> CliError {
    CliError::Snapshot {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

/// `key = value` lines, in file order.
type Pairs = Vec<(String, String)>;

fn pairs(text: &str) -> Pairs {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

fn get<'a>(p: &'a [(String, String)], key: &str) -> Option<&'a str> {
    p.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// The format version and META lines of snapshot `path`.
fn snapshot_meta(path: &Path) -> Result<(u32, u64, Pairs)> {
    let bytes = std::fs::read(path).map_err(|e| bad(path, format!("cannot read: {e}")))?;
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        return Err(bad(path, "not an emu snapshot (no EMUSNAP magic)"));
    }
    if bytes.len() < 28 || &bytes[16..20] != b"META" {
        return Err(bad(path, "truncated or damaged snapshot header"));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    let len = u64::from_le_bytes(bytes[20..28].try_into().expect("8 bytes"));
    let end = 28usize.saturating_add(len as usize);
    let meta = bytes
        .get(28..end)
        .and_then(|m| std::str::from_utf8(m).ok())
        .ok_or_else(|| bad(path, "damaged META section"))?;
    Ok((version, bytes.len() as u64, pairs(meta)))
}

fn show_snapshot(out: &mut Output, path: &Path) -> Result<()> {
    let (version, size, meta) = snapshot_meta(path)?;
    let v = |k: &str| get(&meta, k).unwrap_or("?").to_string();
    out.line(&format!(
        "snapshot:    {} ({size} bytes, format {version})",
        path.display()
    ))?;
    out.line(&format!("icount:      {}", v("icount")))?;
    out.line(&format!(
        "log at:      byte {}, event {}, log icount {}",
        v("log.offset"),
        v("log.index"),
        v("log.icount")
    ))?;
    out.line(&format!(
        "RAM:         {} non-zero pages of {} bytes",
        v("ram.pages"),
        v("ram.bytes")
    ))?;
    for (k, val) in meta.iter().filter(|(k, _)| k.starts_with("machine.")) {
        out.line(&format!("  {:<22} {val}", &k["machine.".len()..]))?;
    }
    Ok(())
}

pub fn run(args: &CutArgs, out: &mut Output) -> Result<Outcome> {
    let path = &args.file;
    let mut head = [0u8; 8];
    let is_snapshot = std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
        .is_ok()
        && &head == MAGIC;
    if is_snapshot {
        show_snapshot(out, path)?;
        return Ok(Outcome::Clean);
    }
    let mut side = path.as_os_str().to_owned();
    side.push(".machine");
    let side = PathBuf::from(side);
    let facts = std::fs::read_to_string(&side)
        .map(|t| pairs(&t))
        .map_err(|e| bad(&side, format!("cannot read the side file: {e}")))?;
    let Some(snap) = get(&facts, "start.snapshot") else {
        return Err(bad(
            path,
            "not a cut: its side file names no start snapshot",
        ));
    };
    let log = input::Log::open(path)?;
    let reader = input::reader(path, &log, input::options(None))?;
    let version = reader.version();
    let (mut events, mut instructions) = (0u64, 0u64);
    for rec in reader {
        let rec = rec.map_err(|source| CliError::Read {
            path: path.clone(),
            source,
        })?;
        events += 1;
        instructions = rec.icount.0;
    }
    let start: u64 = get(&facts, "start.icount")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    out.line(&format!("cut:         {}", path.display()))?;
    out.line(&format!(
        "log:         {}, {events} events, {instructions} instructions (icount {start}..{})",
        version.name(),
        start + instructions
    ))?;
    out.line(&format!(
        "ends at:     icount {}, state-digest {}, serial-sha256 {}",
        get(&facts, "result.icount").unwrap_or("?"),
        get(&facts, "result.state-digest").unwrap_or("?"),
        get(&facts, "result.serial-sha256").unwrap_or("?")
    ))?;
    let snap_path = path.parent().unwrap_or(Path::new(".")).join(snap);
    out.line("starts from:")?;
    show_snapshot(out, &snap_path)?;
    Ok(Outcome::Clean)
}
