//! `rrtool stats`: counts by kind, totals, async kinds, shutdown causes.

use comfy_table::{presets::UTF8_BORDERS_ONLY, Cell, CellAlignment, Table};

use crate::cli::StatsArgs;
use crate::error::{Outcome, Result};
use crate::input;
use crate::json::Obj;
use crate::output::{progress_tick, Output};
use crate::render::{kind_slot, slot_name, KIND_SLOTS};

/// Slots of [`crate::render::kind_slot`] that are async events and shutdowns.
const ASYNC_SLOTS: std::ops::Range<usize> = 3..10;
const SHUTDOWN_SLOTS: std::ops::Range<usize> = 10..21;

/// What one pass over a log counts.
pub struct Counts {
    pub events: u64,
    pub icount: u64,
    pub per_kind: [u64; KIND_SLOTS],
    pub bytes_per_kind: [u64; KIND_SLOTS],
}

pub fn run(args: &StatsArgs, out: &mut Output) -> Result<Outcome> {
    let path = &args.input.file;
    let log = input::Log::open(path)?;
    let reader = input::reader(path, &log, input::options_for(&args.input))?;
    let version = reader.version();
    let size = log.len();
    let unfinished = reader.is_unfinished();
    let progress = out.progress(size, "stats");
    let mut c = Counts {
        events: 0,
        icount: 0,
        per_kind: [0; KIND_SLOTS],
        bytes_per_kind: [0; KIND_SLOTS],
    };
    // A killed recording is counted up to its last complete event; the
    // damage is reported after the numbers.
    let mut damage = None;
    for rec in reader {
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                damage = Some(e);
                break;
            }
        };
        let slot = kind_slot(&rec.event);
        c.per_kind[slot] += 1;
        c.bytes_per_kind[slot] += u64::from(rec.len);
        c.events += 1;
        c.icount = rec.icount.0;
        if progress_tick(c.events) {
            progress.set(rec.offset.0);
            log.release_before(rec.offset.0);
        }
    }
    drop(progress);
    let numbering = input::numbering_name(version.numbering());
    if out.json() {
        let mut s = String::new();
        let mut o = Obj::new(&mut s);
        o.str("file", &path.display().to_string())
            .str("version", version.name());
        match numbering {
            Some(n) => o.str("numbering", n),
            None => o.null("numbering"),
        };
        o.bool("unfinished", unfinished)
            .num("size", size)
            .num("events", c.events)
            .num("icount", c.icount);
        o.raw(
            "kinds",
            &count_map(&c.per_kind, 0..KIND_SLOTS, |n| n.to_string()),
        );
        o.raw(
            "async",
            &count_map(&c.per_kind, ASYNC_SLOTS, |n| {
                n["ASYNC_".len()..].to_string()
            }),
        );
        o.raw(
            "shutdown",
            &count_map(&c.per_kind, SHUTDOWN_SLOTS, |n| {
                n["SHUTDOWN_".len()..].to_string()
            }),
        );
        match &damage {
            Some(e) => {
                o.bool("complete", false);
                let mut d = String::new();
                let mut od = Obj::new(&mut d);
                od.num("offset", e.offset.0)
                    .num("index", e.index.0)
                    .str("message", &e.kind.to_string())
                    .str("hint", REPAIR_HINT);
                od.close();
                o.raw("damage", &d);
            }
            None => {
                o.bool("complete", true);
                o.null("damage");
            }
        };
        o.close();
        out.line(&s)?;
        return Ok(outcome(&damage));
    }
    out.line(&format!("file:        {}", path.display()))?;
    let vtext = match numbering {
        Some(n) => format!("{} (QEMU {n} numbering)", version.name()),
        None => version.name().to_string(),
    };
    out.line(&format!(
        "version:     {vtext}{}",
        if unfinished {
            " — header says 0: unfinished"
        } else {
            ""
        }
    ))?;
    out.line(&format!("size:        {size} bytes"))?;
    let partial = if damage.is_some() {
        " (complete prefix)"
    } else {
        ""
    };
    out.line(&format!("events:      {}{partial}", c.events))?;
    out.line(&format!("icount:      {}", c.icount))?;
    out.line("")?;
    out.line(&kind_table(&c, 0..KIND_SLOTS, "event kind").to_string())?;
    if c.per_kind[ASYNC_SLOTS].iter().any(|&n| n > 0) {
        out.line("")?;
        out.line(&kind_table(&c, ASYNC_SLOTS, "async event").to_string())?;
    }
    if c.per_kind[SHUTDOWN_SLOTS].iter().any(|&n| n > 0) {
        out.line("")?;
        out.line(&kind_table(&c, SHUTDOWN_SLOTS, "shutdown cause").to_string())?;
    }
    if let Some(e) = &damage {
        out.line("")?;
        out.line(&format!(
            "damage:      at byte offset {} (event #{}): {}",
            e.offset, e.index, e.kind
        ))?;
        out.line(&format!(
            "             {REPAIR_HINT}: rrtool repair {} -o FIXED",
            path.display()
        ))?;
    }
    Ok(outcome(&damage))
}

const REPAIR_HINT: &str =
    "the numbers above cover the complete events before it; `rrtool repair` keeps them and ends the log as QEMU would";

/// A log that cannot be read to its END is a finding (exit 1), not an
/// error: its complete prefix was still summarised.
fn outcome(damage: &Option<logfmt::ReadError>) -> Outcome {
    if damage.is_some() {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

/// A JSON object of the non-zero counts in `slots`, most frequent first.
fn count_map(
    counts: &[u64],
    slots: std::ops::Range<usize>,
    key: impl Fn(&str) -> String,
) -> String {
    let mut s = String::new();
    let mut o = Obj::new(&mut s);
    for slot in sorted_slots(counts, slots) {
        o.num(&key(slot_name(slot)), counts[slot]);
    }
    o.close();
    s
}

fn sorted_slots(counts: &[u64], slots: std::ops::Range<usize>) -> Vec<usize> {
    let mut v: Vec<usize> = slots.filter(|&s| counts[s] > 0).collect();
    v.sort_by_key(|&s| (std::cmp::Reverse(counts[s]), s));
    v
}

fn kind_table(c: &Counts, slots: std::ops::Range<usize>, title: &str) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    t.set_header(vec!["#", title, "count", "%", "bytes"]);
    let total: u64 = c.per_kind[slots.clone()].iter().sum();
    for (rank, slot) in sorted_slots(&c.per_kind, slots).into_iter().enumerate() {
        let n = c.per_kind[slot];
        t.add_row(vec![
            Cell::new(rank + 1).set_alignment(CellAlignment::Right),
            Cell::new(slot_name(slot)),
            Cell::new(n).set_alignment(CellAlignment::Right),
            Cell::new(format!("{:.2}", 100.0 * n as f64 / total.max(1) as f64))
                .set_alignment(CellAlignment::Right),
            Cell::new(c.bytes_per_kind[slot]).set_alignment(CellAlignment::Right),
        ]);
    }
    t
}
