//! `rrtool convert` and `rrtool upgrade`: rewrite a log in another format
//! version through `logfmt::convert`, into a file that appears only whole.

use std::path::Path;

use logfmt::convert::{self, Concern, ConversionReport, ConvertError, ConvertOptions};
use logfmt::Version;

use crate::cli::{ConvertArgs, InputArgs, OutputArgs, UpgradeArgs};
use crate::error::{CliError, Outcome, Result};
use crate::input;
use crate::json::Obj;
use crate::outfile::{check_target, AtomicFile};
use crate::output::{progress_tick, Output};

pub fn run(args: &ConvertArgs, out: &mut Output) -> Result<Outcome> {
    let opts = ConvertOptions {
        allow_shift: args.allow_shift,
    };
    convert_file(
        &args.input,
        &args.out,
        args.to.into(),
        args.strict,
        opts,
        out,
    )
}

pub fn run_upgrade(args: &UpgradeArgs, out: &mut Output) -> Result<Outcome> {
    let opts = ConvertOptions {
        allow_shift: args.allow_shift,
    };
    convert_file(
        &args.input,
        &args.out,
        Version::LATEST,
        args.strict,
        opts,
        out,
    )
}

fn convert_file(
    inp: &InputArgs,
    dest: &OutputArgs,
    to: Version,
    strict: bool,
    opts: ConvertOptions,
    out: &mut Output,
) -> Result<Outcome> {
    let path = &inp.file;
    check_target(path, &dest.output, dest.force)?;
    let log = input::Log::open(path)?;
    let reader = input::reader(path, &log, input::options_for(inp))?;
    if reader.is_unfinished() {
        return Err(CliError::Unfinished { path: path.clone() });
    }
    let from = reader.version();
    let header = *reader.header();
    let progress = out.progress(log.len(), "convert");
    let records = reader.inspect(|r| {
        if let Ok(r) = r {
            if progress_tick(r.index.0) {
                progress.set(r.offset.0);
                log.release_before(r.offset.0);
            }
        }
    });
    let mut file = AtomicFile::create(&dest.output)?;
    let (_, report, events) = convert::convert_with(records, from, header, to, opts, file.writer())
        .map_err(|e| map_err(e, path, &dest.output))?;
    drop(progress);
    print_report(out, path, &report)?;
    if let Some(first) = report.first_blocking() {
        // `file` is dropped uncommitted: no output is left behind.
        return Err(CliError::Refused {
            path: path.clone(),
            total: report.blocking,
            first,
            shift_helps: !opts.allow_shift
                && report
                    .findings
                    .iter()
                    .any(|f| matches!(f.concern, Concern::ShiftedGroup { .. })),
        });
    }
    if strict && !report.is_equivalent() {
        // `file` is dropped uncommitted: no output is left behind.
        return Err(CliError::NotEquivalent {
            path: path.clone(),
            total: report.total,
            first: report.findings[0],
        });
    }
    print_moves(out, path, &report)?;
    file.commit()?;
    let summary = format!(
        "{} ({from}) -> {} ({to}): {events} events, {} async group(s) moved ({} from another checkpoint to the next CP_CLOCK_WARP_ACCOUNT, {} of them shifted), {} place(s) not provably equivalent",
        path.display(),
        dest.output.display(),
        report.groups_moved,
        report.moves_total,
        report.shifted,
        report.total
    );
    if out.json() {
        let mut s = String::new();
        let mut o = Obj::new(&mut s);
        o.str("input", &path.display().to_string())
            .str("output", &dest.output.display().to_string())
            .str("from", from.name())
            .str("to", to.name())
            .num("events", events)
            .num("groups_moved", report.groups_moved)
            .num("moved_to_warp_account", report.moves_total)
            .num("shifted", report.shifted)
            .num("not_equivalent", report.total);
        o.close();
        out.line(&s)?;
    } else {
        out.line(&summary)?;
    }
    Ok(Outcome::Clean)
}

/// Read problems name the input, write problems the output.
fn map_err(e: ConvertError, input: &Path, output: &Path) -> CliError {
    match e {
        ConvertError::Write(source) => CliError::Encode {
            path: output.to_path_buf(),
            source,
        },
        source => CliError::Convert {
            path: input.to_path_buf(),
            source,
        },
    }
}

/// The groups moved to the next CP_CLOCK_WARP_ACCOUNT and why (printed
/// only when the output is written).
fn print_moves(out: &mut Output, path: &Path, report: &ConversionReport) -> Result<()> {
    for m in &report.moves {
        if out.json() {
            let mut s = String::new();
            let mut o = Obj::new(&mut s);
            o.str("moved", m.checkpoint.kind_name())
                .num("offset", m.from.offset.0)
                .num("index", m.from.index.0)
                .num("icount", m.from.icount.0)
                .num("events", m.events)
                .num("to_index", m.to.index.0)
                .num("to_offset", m.to.offset.0)
                .num("to_icount", m.to.icount.0)
                .num("shift_instructions", m.shift())
                .num("shift_guest_events", m.guest_events)
                .bool("equivalent", m.is_exact());
            o.close();
            out.line(&s)?;
        } else {
            out.line(&format!("{}: moved: {m}", path.display()))?;
        }
    }
    Ok(())
}

fn print_report(out: &mut Output, path: &Path, report: &ConversionReport) -> Result<()> {
    for f in &report.findings {
        if out.json() {
            let mut s = String::new();
            let mut o = Obj::new(&mut s);
            o.str("concern", f.concern.id())
                .num("offset", f.at.offset.0)
                .num("index", f.at.index.0)
                .num("icount", f.at.icount.0)
                .str("message", &f.concern.to_string());
            o.close();
            out.line(&s)?;
        } else {
            out.line(&format!(
                "{}: not provably equivalent: {f} [{}]",
                path.display(),
                f.concern.id()
            ))?;
        }
    }
    let hidden = report.total - report.findings.len() as u64;
    if hidden > 0 && !out.json() {
        out.line(&format!("{}: … and {hidden} more", path.display()))?;
    }
    Ok(())
}
