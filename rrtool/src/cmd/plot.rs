//! `rrtool plot`: a timeline picture of a log; also used by `diff --plot`.

use std::io::Write;
use std::path::Path;

use crate::cli::PlotArgs;
use crate::error::{CliError, Outcome, Result};
use crate::input;
use crate::outfile::{check_target, AtomicFile};
use crate::output::Output;
use crate::picture::{self, Format, Panel};
use crate::timeline::Timeline;

pub fn run(args: &PlotArgs, out: &mut Output) -> Result<Outcome> {
    let path = &args.input.file;
    check_target(path, &args.out.output, args.out.force)?;
    let format = format_of(&args.out.output)?;
    let timeline = collect(path, input::options_for(&args.input), out)?;
    let panel = Panel {
        title: title(path, &timeline),
        timeline: &timeline,
        divergence: None,
    };
    write(&args.out.output, format, &[panel])?;
    out.line(&format!(
        "{}: wrote {} ({} events over icount 0..{}, {} instructions per bin)",
        path.display(),
        args.out.output.display(),
        timeline.events,
        timeline.icount,
        timeline.bin_width()
    ))?;
    Ok(match &timeline.damage {
        None => Outcome::Clean,
        Some(e) => {
            out.line(&format!(
                "{}: the picture ends at byte offset {} (event #{}): {}",
                path.display(),
                e.offset,
                e.index,
                e.kind
            ))?;
            Outcome::Findings
        }
    })
}

pub fn format_of(path: &Path) -> Result<Format> {
    Format::of(path).ok_or_else(|| CliError::PictureFormat {
        path: path.to_path_buf(),
    })
}

/// One pass over the log at `path`, with a progress bar on long runs.
pub fn collect(path: &Path, opts: logfmt::ReadOptions, out: &Output) -> Result<Timeline> {
    let log = input::Log::open(path)?;
    let reader = input::reader(path, &log, opts)?;
    let progress = out.progress(log.len(), "plot");
    Ok(Timeline::collect(reader, |offset| {
        progress.set(offset);
        log.release_before(offset);
    }))
}

pub fn title(path: &Path, t: &Timeline) -> String {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    format!("{name}: {} events, icount {}", t.events, t.icount)
}

/// Draws `panels` into `dest` (written whole or not at all).
pub fn write(dest: &Path, format: Format, panels: &[Panel<'_>]) -> Result<()> {
    let err = |source| CliError::Picture {
        path: dest.to_path_buf(),
        source,
    };
    let bytes = match format {
        Format::Svg => picture::svg(panels).map_err(err)?.into_bytes(),
        Format::Png => picture::png(panels).map_err(err)?,
    };
    let mut file = AtomicFile::create(dest)?;
    file.writer()
        .write_all(&bytes)
        .map_err(|source| CliError::Write {
            path: dest.to_path_buf(),
            source,
        })?;
    file.commit()
}
