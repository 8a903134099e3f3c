//! Hidden `rrtool bench-gen`: a large, valid 0xe0200c log made of a real
//! log's events, for benchmarks. The part between two CP_CLOCK_WARP_ACCOUNT
//! events (a quarter and three quarters in) is repeated; every seam is a
//! transition that already occurs in the original, so the result is as valid
//! as the template.

use logfmt::{Checkpoint, Event, Version, Writer};

use crate::cli::BenchGenArgs;
use crate::error::{CliError, Outcome, Result};
use crate::input;
use crate::outfile::{check_target, AtomicFile};
use crate::output::Output;

pub fn run(args: &BenchGenArgs, out: &mut Output) -> Result<Outcome> {
    let path = &args.template;
    check_target(path, &args.out.output, args.out.force)?;
    let log = input::Log::open(path)?;
    let reader = input::reader(path, &log, input::options(None))?;
    let version = reader.version();
    if version != Version::LATEST {
        return Err(CliError::Convert {
            path: path.clone(),
            source: logfmt::convert::ConvertError::Unsupported {
                from: version.name(),
                to: "bench-gen (0xe0200c 7.2+ only)",
            },
        });
    }
    let mut events: Vec<(Event<'_>, u32)> = Vec::new();
    for rec in reader {
        let rec = rec.map_err(|source| CliError::Read {
            path: path.clone(),
            source,
        })?;
        events.push((rec.event, rec.len));
    }
    let wa: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, (e, _))| matches!(e, Event::Checkpoint(Checkpoint::ClockWarpAccount)))
        .map(|(i, _)| i)
        .collect();
    let (start, end) = match wa.len() {
        0 | 1 => (0, events.len().saturating_sub(3)),
        n => (wa[n / 4] + 1, wa[3 * n / 4]),
    };
    let bytes = |r: &[(Event<'_>, u32)]| r.iter().map(|(_, l)| u64::from(*l)).sum::<u64>();
    let middle = &events[start..=end];
    let fixed = 12 + bytes(&events[..start]) + bytes(&events[end + 1..]);
    let target = args.size_mib << 20;
    let reps = target
        .saturating_sub(fixed)
        .div_ceil(bytes(middle).max(1))
        .max(1);

    let mut file = AtomicFile::create(&args.out.output)?;
    let encode = |source| CliError::Encode {
        path: args.out.output.clone(),
        source,
    };
    let mut w = Writer::new(file.writer(), version)
        .map_err(encode)?
        .strict(true);
    for (e, _) in &events[..start] {
        w.write(e).map_err(encode)?;
    }
    for _ in 0..reps {
        for (e, _) in middle {
            w.write(e).map_err(encode)?;
        }
    }
    for (e, _) in &events[end + 1..] {
        w.write(e).map_err(encode)?;
    }
    let size = w.position();
    let n = w.events_written();
    w.finish().map_err(encode)?;
    file.commit()?;
    out.line(&format!(
        "{}: {size} bytes, {n} events ({} x events {start}..={end} of {})",
        args.out.output.display(),
        reps,
        path.display()
    ))?;
    Ok(Outcome::Clean)
}
