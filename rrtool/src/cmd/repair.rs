//! `rrtool repair`: make an unfinished recording (QEMU killed before
//! `replay_finish`: header version 0, cut-off tail, no END) a valid log that
//! ends as QEMU ends one: `[INSTRUCTION] SHUTDOWN host-signal END`.

use logfmt::{
    ByteOffset, Checkpoint, Event, ReadError, ReadOptions, ShutdownCause, Version, Writer,
};

use crate::cli::RepairArgs;
use crate::error::{CliError, Outcome, Result};
use crate::input;
use crate::outfile::{check_target, AtomicFile};
use crate::output::{progress_tick, Output};

/// What the repair kept, cut and added.
struct Repair {
    kept: u64,
    /// Where the readable stream stopped and why.
    cut: Option<ReadError>,
    /// A trailing async run with no CP_CLOCK_WARP_ACCOUNT after it (0xe0200b/c):
    /// its first offset and its length in events.
    dropped_run: Option<(ByteOffset, u64)>,
    appended: Vec<&'static str>,
    had_end: bool,
}

pub fn run(args: &RepairArgs, out: &mut Output) -> Result<Outcome> {
    let path = &args.file;
    let dest = &args.out;
    check_target(path, &dest.output, dest.force)?;
    let log = input::Log::open(path)?;
    let opts = ReadOptions {
        version: args.assume.map(Into::into),
        ..ReadOptions::default()
    };
    let reader = input::reader(path, &log, opts)?;
    let version = reader.version();
    let unfinished = reader.is_unfinished();
    let size = log.len();
    let progress = out.progress(size, "repair");

    let mut file = AtomicFile::create(&dest.output)?;
    let encode = |source| CliError::Encode {
        path: dest.output.clone(),
        source,
    };
    let mut w = Writer::new(file.writer(), version).map_err(encode)?;
    let before_warp = matches!(version, Version::E0200b | Version::E0200c(_));
    // 0xe0200b/c: an async run is only valid once its CP_WA follows, so it
    // is held back until then (runs are a handful of events).
    let mut held: Vec<Event<'_>> = Vec::new();
    let mut held_at = ByteOffset(0);
    let mut last: Option<Event<'_>> = None;
    let mut r = Repair {
        kept: 0,
        cut: None,
        dropped_run: None,
        appended: Vec::new(),
        had_end: false,
    };
    for rec in reader {
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                r.cut = Some(e);
                break;
            }
        };
        if progress_tick(rec.index.0) {
            progress.set(rec.offset.0);
            log.release_before(rec.offset.0);
        }
        let e = rec.event;
        if before_warp && (matches!(e, Event::Async { .. }) || !held.is_empty()) {
            if held.is_empty() {
                held_at = rec.offset;
            }
            held.push(e);
            if !matches!(e, Event::Checkpoint(Checkpoint::ClockWarpAccount)) {
                continue;
            }
            for h in held.drain(..) {
                w.write(&h).map_err(encode)?;
                r.kept += 1;
            }
        } else {
            w.write(&e).map_err(encode)?;
            r.kept += 1;
        }
        last = Some(e);
        if matches!(e, Event::End) {
            r.had_end = true;
        }
    }
    if !held.is_empty() {
        r.dropped_run = Some((held_at, held.len() as u64));
    }
    if r.kept == 0 {
        if let Some(source) = r.cut.take() {
            return Err(CliError::NothingRecoverable {
                path: path.clone(),
                source,
            });
        }
    }
    if !r.had_end {
        if !matches!(last, Some(Event::Shutdown(ShutdownCause::HostSignal))) {
            w.write(&Event::Shutdown(ShutdownCause::HostSignal))
                .map_err(encode)?;
            r.appended.push("SHUTDOWN_HOST_SIGNAL");
        }
        w.write(&Event::End).map_err(encode)?;
        r.appended.push("END");
    }
    let written = w.position();
    w.finish().map_err(encode)?;
    drop(progress);
    file.commit()?;

    let src = path.display();
    if !unfinished && r.had_end && r.cut.is_none() {
        out.line(&format!(
            "{src}: already a finished log; copied unchanged to {}",
            dest.output.display()
        ))?;
        return Ok(Outcome::Clean);
    }
    if unfinished {
        out.line(&format!(
            "{src}: header version 0 (unfinished recording); read as {version}"
        ))?;
    }
    match &r.cut {
        Some(e) => out.line(&format!(
            "{src}: cut {} byte(s) from offset {} (event #{}): {}",
            size - e.offset.0,
            e.offset,
            e.index,
            e.kind
        ))?,
        None => out.line(&format!("{src}: no bytes cut"))?,
    }
    if let Some((at, n)) = r.dropped_run {
        out.line(&format!(
            "{src}: dropped an incomplete async run of {n} event(s) at offset {at} (no CP_CLOCK_WARP_ACCOUNT after it)"
        ))?;
    }
    let appended = if r.appended.is_empty() {
        "nothing".to_string()
    } else {
        r.appended.join(", ")
    };
    out.line(&format!(
        "{}: wrote {} bytes: {} events kept, appended {appended}, header version {}",
        dest.output.display(),
        written,
        r.kept,
        version.name()
    ))?;
    Ok(Outcome::Clean)
}
