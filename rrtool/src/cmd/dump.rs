//! `rrtool dump`: one line per event.

use crate::cli::DumpArgs;
use crate::error::{CliError, Outcome, Result};
use crate::input;
use crate::output::{progress_tick, Output};
use crate::render::{self, TextBuf};
use crate::split;

use super::dump_parallel;

pub fn run(args: &DumpArgs, out: &mut Output) -> Result<Outcome> {
    let path = &args.input.file;
    let log = input::Log::open(path)?;
    let reader = input::reader(path, &log, input::options_for(&args.input))?;
    let progress = out.progress(log.len(), "dump");
    let end = args.count.map(|c| args.from.saturating_add(c));
    let json = out.json();
    if !json && split::worth_splitting(log.len()) {
        let failed = dump_parallel::dump_text(&log, reader, args.from, end, out, &progress)?;
        return match failed {
            Some(source) => Err(CliError::Read {
                path: path.clone(),
                source,
            }),
            None => Ok(Outcome::Clean),
        };
    }
    // Lines are built straight into one chunk that goes to stdout whole:
    // no per-line copy through the BufWriter.
    let mut chunk = TextBuf::with_capacity(CHUNK + 4096);
    let mut json_line = String::new();
    let mut failed = None;
    let mut reader = reader;
    // Borrow each record where the iterator returned it instead of moving
    // it out: the move compiles to wide copies that stall on the narrower
    // stores that just wrote the record (~20 % of a dump).
    #[allow(clippy::while_let_on_iterator)]
    while let Some(item) = reader.next() {
        let rec = match &item {
            Ok(rec) => rec,
            Err(source) => {
                failed = Some(CliError::Read {
                    path: path.clone(),
                    source: source.clone(),
                });
                break;
            }
        };
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
        if json {
            json_line.clear();
            render::json_line(
                index,
                rec.offset.0,
                rec.icount.0,
                &rec.event,
                &mut json_line,
            );
            json_line.push('\n');
            out.writer().write_all(json_line.as_bytes())?;
        } else {
            chunk.text_line(index, rec.offset.0, rec.icount.0, &rec.event);
            if chunk.len() >= CHUNK {
                out.writer().write_all(chunk.as_bytes())?;
                chunk.clear();
            }
        }
    }
    // What was decoded before an error is still printed.
    out.writer().write_all(chunk.as_bytes())?;
    match failed {
        Some(e) => Err(e),
        None => Ok(Outcome::Clean),
    }
}

/// Bytes of output collected before one write.
const CHUNK: usize = 1 << 16;
