//! `rrtool dump`: one line per event.

use crate::cli::DumpArgs;
use crate::error::{CliError, Outcome, Result};
use crate::input;
use crate::output::{progress_tick, Output};
use crate::render;

pub fn run(args: &DumpArgs, out: &mut Output) -> Result<Outcome> {
    let path = &args.input.file;
    let log = input::Log::open(path)?;
    let reader = input::reader(path, &log, input::options_for(&args.input))?;
    let progress = out.progress(log.len(), "dump");
    let end = args.count.map(|c| args.from.saturating_add(c));
    let mut line = String::with_capacity(256);
    for rec in reader {
        let rec = rec.map_err(|source| CliError::Read {
            path: path.clone(),
            source,
        })?;
        let index = rec.index.0;
        if progress_tick(index) {
            progress.set(rec.offset.0);
            log.release_before(rec.offset.0);
        }
        if index < args.from {
            continue;
        }
        if end.is_some_and(|e| index >= e) {
            break;
        }
        line.clear();
        if out.json() {
            render::json_line(index, rec.offset.0, rec.icount.0, &rec.event, &mut line);
        } else {
            render::text_line(index, rec.offset.0, rec.icount.0, &rec.event, &mut line);
        }
        line.push('\n');
        out.writer().write_all(line.as_bytes())?;
    }
    Ok(Outcome::Clean)
}
