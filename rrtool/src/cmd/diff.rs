//! `rrtool diff`: event-by-event comparison of two logs after normalising
//! both to the 0xe0200c model, so a 0xe0200a log and its upgrade compare
//! equal.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use logfmt::convert::{Converted, Converter};
use logfmt::{Reader, Version};

use crate::cli::DiffArgs;
use crate::error::{CliError, Outcome, Result};
use crate::input;
use crate::json::Obj;
use crate::output::{progress_tick, Output};
use crate::picture::Panel;
use crate::render;

use super::plot;

/// One normalised event with its place in both numberings.
#[derive(Clone, Copy)]
struct Item<'a> {
    /// Index in the normalised stream (what is compared).
    n: u64,
    c: Converted<'a>,
}

/// One side of the comparison: a normalising iterator plus counters.
struct Side<'a> {
    path: PathBuf,
    version: Version,
    conv: Converter<'a, Reader<'a>>,
    events: u64,
    icount: u64,
    recent: VecDeque<Item<'a>>,
}

impl<'a> Side<'a> {
    fn new(path: &Path, reader: Reader<'a>) -> Result<Self> {
        let version = reader.version();
        let conv = Converter::new(reader, version, Version::LATEST).map_err(|source| {
            CliError::Convert {
                path: path.to_path_buf(),
                source,
            }
        })?;
        Ok(Side {
            path: path.to_path_buf(),
            version,
            conv,
            events: 0,
            icount: 0,
            recent: VecDeque::new(),
        })
    }

    fn next(&mut self) -> Result<Option<Item<'a>>> {
        match self.conv.next() {
            None => Ok(None),
            Some(Err(source)) => Err(CliError::Convert {
                path: self.path.clone(),
                source,
            }),
            Some(Ok(c)) => {
                let item = Item { n: self.events, c };
                self.events += 1;
                self.icount = c.source.icount.0;
                Ok(Some(item))
            }
        }
    }

    fn remember(&mut self, item: Item<'a>, keep: usize) {
        if keep == 0 {
            return;
        }
        if self.recent.len() == keep {
            self.recent.pop_front();
        }
        self.recent.push_back(item);
    }
}

pub fn run(args: &DiffArgs, out: &mut Output) -> Result<Outcome> {
    let opts = || input::options(args.numbering.map(Into::into));
    let log_a = input::Log::open(&args.a)?;
    let log_b = input::Log::open(&args.b)?;
    let mut a = Side::new(&args.a, input::reader(&args.a, &log_a, opts())?)?;
    let mut b = Side::new(&args.b, input::reader(&args.b, &log_b, opts())?)?;

    let mut first: Option<(Option<Item>, Option<Item>)> = None;
    let mut after_a: Vec<Item> = Vec::new();
    let mut after_b: Vec<Item> = Vec::new();
    let mut step = 0u64;
    loop {
        let (x, y) = (a.next()?, b.next()?);
        if x.is_none() && y.is_none() {
            break;
        }
        step += 1;
        if progress_tick(step) {
            // Keep the resident size flat on huge logs (see input::Log).
            if let Some(p) = &x {
                log_a.release_before(p.c.source.offset.0);
            }
            if let Some(q) = &y {
                log_b.release_before(q.c.source.offset.0);
            }
        }
        match (first.is_none(), x, y) {
            (true, Some(p), Some(q)) if p.c.event == q.c.event => {
                a.remember(p, args.context);
                b.remember(q, args.context);
            }
            (true, x, y) => first = Some((x, y)),
            // Past the divergence: collect context, then only count.
            (false, x, y) => {
                if let Some(p) = x.filter(|_| after_a.len() < args.context) {
                    after_a.push(p);
                }
                if let Some(q) = y.filter(|_| after_b.len() < args.context) {
                    after_b.push(q);
                }
            }
        }
    }

    if out.json() {
        print_json(out, &a, &b, first, &after_a, &after_b)?;
    } else {
        print_text(out, &a, &b, first, &after_a, &after_b)?;
    }
    if let Some(dest) = &args.plot {
        // Where each side stands at the divergence (its end if it ran out).
        let at = first.map(|(x, y)| {
            let n = x.or(y).map_or(0, |i| i.n);
            let icount_a = x.map_or(a.icount, |p| p.c.source.icount.0);
            let icount_b = y.map_or(b.icount, |q| q.c.source.icount.0);
            (n, icount_a, icount_b)
        });
        plot_both(args, dest, at, out)?;
    }
    Ok(if first.is_none() {
        Outcome::Clean
    } else {
        Outcome::Findings
    })
}

/// `diff --plot`: both timelines, the first divergence marked in each.
fn plot_both(
    args: &DiffArgs,
    dest: &Path,
    at: Option<(u64, u64, u64)>,
    out: &mut Output,
) -> Result<()> {
    let format = plot::format_of(dest)?;
    let opts = || input::options(args.numbering.map(Into::into));
    let ta = plot::collect(&args.a, opts(), out)?;
    let tb = plot::collect(&args.b, opts(), out)?;
    let mark = |icount: u64| {
        at.map(|(n, _, _)| {
            (
                icount,
                format!("first divergence: normalised event #{n}, icount {icount}"),
            )
        })
    };
    let panels = [
        Panel {
            title: format!("A: {}", plot::title(&args.a, &ta)),
            timeline: &ta,
            divergence: mark(at.map_or(0, |a| a.1)),
        },
        Panel {
            title: format!("B: {}", plot::title(&args.b, &tb)),
            timeline: &tb,
            divergence: mark(at.map_or(0, |a| a.2)),
        },
    ];
    plot::write(dest, format, &panels)?;
    if !out.json() {
        out.line(&format!("plot: wrote {}", dest.display()))?;
    }
    Ok(())
}

fn describe(side: &str, item: &Item<'_>) -> String {
    let line = render::text_line(
        item.c.source.index.0,
        item.c.source.offset.0,
        item.c.source.icount.0,
        &item.c.event,
    );
    format!("{side} {:>9} |{line}", item.n)
}

fn print_text(
    out: &mut Output,
    a: &Side<'_>,
    b: &Side<'_>,
    first: Option<(Option<Item<'_>>, Option<Item<'_>>)>,
    after_a: &[Item<'_>],
    after_b: &[Item<'_>],
) -> Result<()> {
    out.line(&format!("A: {} ({})", a.path.display(), a.version))?;
    out.line(&format!("B: {} ({})", b.path.display(), b.version))?;
    match first {
        None => {
            out.line(&format!(
                "same: {} events, icount {} (compared in the 0xe0200c model)",
                a.events, a.icount
            ))?;
        }
        Some((x, y)) => {
            let n = x.or(y).map_or(0, |i| i.n);
            out.line(&format!("first difference at normalised event #{n}"))?;
            for (name, item) in [("A", x), ("B", y)] {
                match item {
                    Some(i) => out.line(&format!(
                        "  {name}: source event #{} at byte {}, icount {}: {}",
                        i.c.source.index,
                        i.c.source.offset,
                        i.c.source.icount,
                        event_text(&i.c)
                    ))?,
                    None => out.line(&format!("  {name}: (log ended after {} events)", n))?,
                }
            }
            out.line("context (normalised index, source index, byte offset, icount, event):")?;
            for (name, side, here, after) in [("A", a, x, after_a), ("B", b, y, after_b)] {
                for i in side.recent.iter() {
                    out.line(&format!("    {}", describe(name, i)))?;
                }
                if let Some(i) = here {
                    out.line(&format!("  > {}", describe(name, &i)))?;
                }
                for i in after {
                    out.line(&format!("    {}", describe(name, i)))?;
                }
            }
            out.line(&format!(
                "summary: equal for {n} events; A has {} events (icount {}), B has {} events (icount {})",
                a.events, a.icount, b.events, b.icount
            ))?;
        }
    }
    Ok(())
}

fn event_text(c: &Converted<'_>) -> String {
    let mut s = c.event.kind_name().to_string();
    let mark = s.len();
    s.push(' ');
    render::payload_text(&c.event, &mut s);
    if s.len() == mark + 1 {
        s.truncate(mark);
    }
    s
}

fn item_json(item: &Item<'_>) -> String {
    let mut s = String::new();
    let mut o = Obj::new(&mut s);
    o.num("normalised_index", item.n);
    o.close();
    // Merge: {"normalised_index":N, ...event fields}
    let mut ev = String::new();
    render::json_line(
        item.c.source.index.0,
        item.c.source.offset.0,
        item.c.source.icount.0,
        &item.c.event,
        &mut ev,
    );
    format!("{},{}", &s[..s.len() - 1], &ev[1..])
}

fn side_json(side: &Side<'_>) -> String {
    let mut s = String::new();
    let mut o = Obj::new(&mut s);
    o.str("file", &side.path.display().to_string())
        .str("version", side.version.name())
        .num("events", side.events)
        .num("icount", side.icount);
    o.close();
    s
}

fn print_json(
    out: &mut Output,
    a: &Side<'_>,
    b: &Side<'_>,
    first: Option<(Option<Item<'_>>, Option<Item<'_>>)>,
    after_a: &[Item<'_>],
    after_b: &[Item<'_>],
) -> Result<()> {
    let mut s = String::new();
    let mut o = Obj::new(&mut s);
    o.bool("same", first.is_none())
        .raw("a", &side_json(a))
        .raw("b", &side_json(b));
    match first {
        None => {
            o.null("first_difference");
        }
        Some((x, y)) => {
            let mut d = String::new();
            let mut f = Obj::new(&mut d);
            f.num("normalised_index", x.or(y).map_or(0, |i| i.n));
            let opt = |i: Option<Item<'_>>| i.map_or("null".to_string(), |i| item_json(&i));
            f.raw("a", &opt(x)).raw("b", &opt(y));
            let ctx = |side: &Side<'_>, here: Option<Item<'_>>, after: &[Item<'_>]| {
                let mut all: Vec<Item<'_>> = side.recent.iter().copied().collect();
                all.extend(here);
                all.extend(after.iter().copied());
                let v: Vec<String> = all.iter().map(item_json).collect();
                format!("[{}]", v.join(","))
            };
            f.raw("context_a", &ctx(a, x, after_a))
                .raw("context_b", &ctx(b, y, after_b));
            f.close();
            o.raw("first_difference", &d);
        }
    }
    o.close();
    out.line(&s)?;
    Ok(())
}
