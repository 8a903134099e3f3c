//! `rrtool validate`: structure and ordering rules; every finding is
//! reported and checking goes on while the stream can still be read.

use logfmt::{ByteOffset, EventIndex, Icount, ReadError, Reader, Version};

use crate::cli::ValidateArgs;
use crate::error::{CliError, Outcome, Result};
use crate::input;
use crate::json::Obj;
use crate::output::Output;
use crate::rules::{Checker, Rule, Violation};
use crate::split;

pub fn run(args: &ValidateArgs, out: &mut Output) -> Result<Outcome> {
    let path = &args.input.file;
    let log = input::Log::open(path)?;
    let mut found = 0u64;
    let mut batch: Vec<Violation> = Vec::new();
    let (version, events) = match input::reader(path, &log, input::options_for(&args.input)) {
        // A file that is not a log at all (empty, unknown version) is an
        // invalid log, not an unreadable file.
        Err(CliError::Read { source, .. }) => {
            batch.push(structure(&source));
            (None, 0)
        }
        Err(e) => return Err(e),
        Ok(reader) => {
            let version = reader.version();
            let header = reader.header();
            if reader.is_unfinished() {
                batch.push(Violation {
                    offset: ByteOffset(0),
                    index: None,
                    rule: Rule::HeaderUnfinished,
                    detail: format!(
                        "header version is 0: QEMU did not exit cleanly (read as {version}); `rrtool repair` fixes this"
                    ),
                });
            }
            if header.reserved != [0; 8] {
                batch.push(Violation {
                    offset: ByteOffset(4),
                    index: None,
                    rule: Rule::HeaderReserved,
                    detail: format!(
                        "reserved header bytes are {:02x?}, QEMU leaves them zero",
                        header.reserved
                    ),
                });
            }
            let progress = out.progress(log.len(), "validate");
            let mut checker = Checker::new(version);
            let mut reader = reader;
            // A second thread checks the second half of a large log; the
            // first one checks up to where it starts (`split`).
            let second = if split::worth_splitting(log.len()) {
                split::second_start(&reader, log.len() / 2)
            } else {
                None
            };
            let stop = second.unwrap_or(u64::MAX);
            let (log_ref, template) = (&log, reader.clone());
            let (mut events, stopped, later) = std::thread::scope(|scope| -> Result<_> {
                let later = second.map(|start| {
                    scope.spawn(move || check_rest(log_ref, &template, start, version))
                });
                let mut events = 0u64;
                let stopped = loop {
                    let scan = scan(&mut reader, &mut checker, &mut batch, stop);
                    events += scan.events;
                    progress.set(scan.offset);
                    log.release_before(scan.offset);
                    if !batch.is_empty() {
                        found += print(out, path, &mut batch)?;
                    }
                    if scan.done {
                        break scan.stopped;
                    }
                };
                Ok((
                    events,
                    stopped,
                    later.map(|h| h.join().expect("checker thread")),
                ))
            })?;
            if let (Some(stopped), Some(rest)) = (stopped, later) {
                if Some(stopped.offset.0) == second && !rest.gave_up {
                    // In step: the second thread's findings are the truth;
                    // its indices count from its start.
                    for mut v in rest.findings {
                        v.index = v.index.map(|i| EventIndex(i.0 + events));
                        batch.push(v);
                    }
                    events += rest.events;
                } else {
                    // The guess was wrong (or the second part had too much
                    // to say): read on alone from the first unchecked event.
                    let mut reader = reader
                        .resume(stopped.offset, stopped.index, stopped.icount)
                        .expect("an offset the reader reported lies inside the log");
                    loop {
                        let scan = scan(&mut reader, &mut checker, &mut batch, u64::MAX);
                        events += scan.events;
                        progress.set(scan.offset);
                        log.release_before(scan.offset);
                        if !batch.is_empty() {
                            found += print(out, path, &mut batch)?;
                        }
                        if scan.done {
                            break;
                        }
                    }
                }
            }
            (Some(version), events)
        }
    };
    found += print(out, path, &mut batch)?;
    let valid = found == 0;
    if out.json() {
        let mut s = String::new();
        let mut o = Obj::new(&mut s);
        o.str("file", &path.display().to_string())
            .bool("valid", valid);
        match version {
            Some(v) => o.str("version", v.name()),
            None => o.null("version"),
        };
        o.num("events", events).num("findings", found);
        o.close();
        out.line(&s)?;
    } else if valid {
        let v = version.map_or("?", |v| v.name());
        out.line(&format!("{}: valid ({v}, {events} events)", path.display()))?;
    } else {
        out.line(&format!(
            "{}: INVALID: {found} finding(s) in {events} events read",
            path.display()
        ))?;
    }
    Ok(if valid {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// How far one [`scan`] call got.
struct Scan {
    events: u64,
    /// Offset of the last record checked.
    offset: u64,
    /// The stream ended (END, error or no more bytes), or `stop` was reached.
    done: bool,
    /// Set when `stop` was reached.
    stopped: Option<Resume>,
}

/// Events per [`scan`] call: the progress and page-release granularity.
const SCAN_BUDGET: usize = 1 << 18;

/// The hot loop, kept apart from printing and progress so it compiles to a
/// tight loop: checks records until a finding is made, `SCAN_BUDGET` events
/// have passed, or the stream ends.
#[inline(never)]
fn scan(
    reader: &mut Reader<'_>,
    checker: &mut Checker,
    batch: &mut Vec<Violation>,
    stop: u64,
) -> Scan {
    let mut s = Scan {
        events: 0,
        offset: 0,
        done: true,
        stopped: None,
    };
    for item in reader.by_ref().take(SCAN_BUDGET) {
        match item {
            Ok(rec) => {
                // Compared on the record, not the reader: the record is in
                // registers, the reader's position would be a load.
                if rec.offset.0 >= stop {
                    s.stopped = Some(Resume {
                        offset: rec.offset,
                        index: rec.index,
                        icount: Icount(rec.icount.0 - u64::from(rec.event.instructions())),
                    });
                    return s;
                }
                checker.check(&rec, batch);
                s.events += 1;
                s.offset = rec.offset.0;
                if !batch.is_empty() {
                    s.done = false;
                    return s;
                }
            }
            Err(e) => {
                batch.push(structure(&e));
                return s;
            }
        }
    }
    s.done = s.events < SCAN_BUDGET as u64;
    s
}

/// The first event a [`scan`] with a stop offset read but did not check.
#[derive(Debug, Clone, Copy)]
struct Resume {
    offset: ByteOffset,
    index: EventIndex,
    /// Instructions before it.
    icount: Icount,
}

/// What the second thread found from its start to the end of the log.
struct Rest {
    events: u64,
    /// Indices count from the start of the second part.
    findings: Vec<Violation>,
    /// Too many findings to hold: the first thread reads this part itself.
    gave_up: bool,
}

/// Findings the second thread holds at most before leaving its part to the
/// first one (which prints them as it goes).
const REST_MAX_FINDINGS: usize = 100_000;

/// Checks the log from `start` (right after an EXCEPTION or INTERRUPT, where
/// a fresh checker has the state the first thread's will have) to the end.
fn check_rest(log: &input::Log, reader: &Reader<'_>, start: u64, version: Version) -> Rest {
    let mut reader = reader
        .resume(ByteOffset(start), EventIndex(0), Icount(0))
        .expect("split::second_start returns an offset inside the log");
    let mut checker = Checker::new(version);
    let mut rest = Rest {
        events: 0,
        findings: Vec::new(),
        gave_up: false,
    };
    let mut released = start;
    loop {
        let scan = scan(&mut reader, &mut checker, &mut rest.findings, u64::MAX);
        rest.events += scan.events;
        released = log.release_range(released, scan.offset) as u64;
        if rest.findings.len() > REST_MAX_FINDINGS {
            rest.gave_up = true;
            return rest;
        }
        if scan.done {
            return rest;
        }
    }
}

fn structure(e: &ReadError) -> Violation {
    Violation {
        offset: e.offset,
        index: Some(e.index),
        rule: Rule::Structure,
        detail: e.kind.to_string(),
    }
}

fn print(out: &mut Output, path: &std::path::Path, batch: &mut Vec<Violation>) -> Result<u64> {
    let n = batch.len() as u64;
    for v in batch.drain(..) {
        if out.json() {
            let mut s = String::new();
            let mut o = Obj::new(&mut s);
            o.str("rule", v.rule.id()).num("offset", v.offset.0);
            match v.index {
                Some(i) => o.num("index", i.0),
                None => o.null("index"),
            };
            o.str("message", &v.detail);
            o.close();
            out.line(&s)?;
        } else {
            let at = match v.index {
                Some(i) => format!("at byte offset {} (event #{})", v.offset, i),
                None => format!("at byte offset {} (header)", v.offset),
            };
            out.line(&format!(
                "{}: {at}: [{}] {}",
                path.display(),
                v.rule,
                v.detail
            ))?;
        }
    }
    Ok(n)
}
