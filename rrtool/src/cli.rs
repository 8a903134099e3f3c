//! Command-line interface. Doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use logfmt::{Numbering, Version};

/// Inspect, validate, compare, convert and repair QEMU record/replay logs
/// (replay.bin, REPLAY_VERSION 0xe0200a, 0xe0200b and 0xe0200c).
///
/// Exit codes: 0 ok, 1 findings (invalid log, logs differ, not equivalent
/// with --strict), 2 error (cannot read or write).
#[derive(Debug, Parser)]
#[command(name = "rrtool", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print one line per event: index, byte offset, running icount, event
    /// name and decoded payload.
    #[command(
        after_help = "Example:\n  rrtool dump replay.bin --from 100 --count 20\n  rrtool dump replay.bin --json | head"
    )]
    Dump(DumpArgs),
    /// Summarise a log: version, size, event count, total icount, events by
    /// kind, async events by kind, shutdown causes.
    #[command(
        after_help = "Example:\n  rrtool stats replay.bin\n  rrtool stats replay.bin --json"
    )]
    Stats(StatsArgs),
    /// Check structure and the ordering rules of the format; report every
    /// violation with offset, event index and rule id. Exit 0 valid, 1
    /// invalid, 2 cannot read.
    #[command(after_help = "Example:\n  rrtool validate replay.bin && echo valid")]
    Validate(ValidateArgs),
    /// Compare two logs event by event after normalising both to the
    /// 0xe0200c model (a 0xe0200a log and its upgrade compare equal). Exit 0
    /// same, 1 different, 2 error.
    #[command(after_help = "Example:\n  rrtool diff old-5.2.bin upgraded.bin")]
    Diff(DiffArgs),
    /// Convert a log to another format version, moving async groups as the
    /// target version places them. Places that are not provably equivalent
    /// are reported (errors with --strict); a group the guest would see at a
    /// different instruction is refused unless --allow-shift.
    #[command(
        after_help = "Example:\n  rrtool convert rv52.bin -o rv52-c.bin --to e0200c\n  rrtool convert new.bin -o old.bin --to e0200a --strict"
    )]
    Convert(ConvertArgs),
    /// Convert a log to the newest version (0xe0200c, QEMU 7.2+ numbering).
    /// The result always validates: a 0xe0200a group after a checkpoint other
    /// than CLOCK_WARP_ACCOUNT moves to the next CP_CLOCK_WARP_ACCOUNT; if
    /// the guest runs in between, the upgrade is refused unless --allow-shift.
    #[command(
        after_help = "Example:\n  rrtool upgrade rv52.bin -o rv52-upgraded.bin\n  rrtool upgrade rv52.bin -o rv52-upgraded.bin --allow-shift"
    )]
    Upgrade(UpgradeArgs),
    /// Turn an unfinished recording (QEMU killed: header version 0, cut-off
    /// tail, no END) into a valid log ending as QEMU ends one:
    /// [INSTRUCTION] SHUTDOWN host-signal END.
    #[command(after_help = "Example:\n  rrtool repair killed.bin -o fixed.bin")]
    Repair(RepairArgs),
    /// Draw the log over icount and virtual time (SVG or PNG, by the output's
    /// extension): events per kind, async inputs, interrupts, exceptions,
    /// clock warps, resets, and the CLOCK_VIRTUAL_RT reads.
    #[command(
        after_help = "Example:\n  rrtool plot replay.bin -o timeline.svg\n  rrtool plot replay.bin -o timeline.png"
    )]
    Plot(PlotArgs),
    /// Show what a cut contains (`emu cut`, `emu replay --record-to`): the
    /// snapshot it starts from, where it ends, its log, the machine; or the
    /// header of a snapshot file.
    #[command(after_help = "Example:\n  rrtool cut part.bin\n  rrtool cut part.bin.snap")]
    Cut(crate::cmd::cut::CutArgs),
    /// Generate a large valid 0xe0200c log by repeating the middle of a real
    /// one (for benchmarks).
    #[command(hide = true)]
    BenchGen(BenchGenArgs),
}

/// How to read the input log.
#[derive(Debug, Args, Clone, Default)]
pub struct InputArgs {
    /// The replay log to read.
    pub file: PathBuf,
    /// Numbering of a 0xe0200c log (QEMU 7.1 vs 7.2+); detected from the
    /// last byte when not given.
    #[arg(long, value_enum)]
    pub numbering: Option<NumberingArg>,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// One JSON object per event per line.
    #[arg(long)]
    pub json: bool,
    /// First event index to print.
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Number of events to print (default: all).
    #[arg(long)]
    pub count: Option<u64>,
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// One JSON object instead of tables.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// One JSON object per finding per line, then a summary object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// First log.
    pub a: PathBuf,
    /// Second log.
    pub b: PathBuf,
    /// Numbering of 0xe0200c inputs (applies to both; detected when absent).
    #[arg(long, value_enum)]
    pub numbering: Option<NumberingArg>,
    /// Events of context to show around the first divergence.
    #[arg(long, default_value_t = 3)]
    pub context: usize,
    /// One JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also draw both logs' timelines with the first divergence marked
    /// (SVG or PNG, by the extension; an existing file is replaced).
    #[arg(long, value_name = "OUT")]
    pub plot: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlotArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Where to write the result (written to a temporary file, then renamed).
    #[arg(short, long)]
    pub output: PathBuf,
    /// Overwrite an existing output file (never the input).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Target format version.
    #[arg(long, value_enum)]
    pub to: TargetArg,
    /// Treat places that are not provably equivalent as errors (exit 1, no output).
    #[arg(long)]
    pub strict: bool,
    /// Also move 0xe0200a async groups across guest activity to the next
    /// CP_CLOCK_WARP_ACCOUNT (the input then reaches the guest later; each
    /// shift is reported in instructions). Without it such places are
    /// refused: exit 1, no output.
    #[arg(long)]
    pub allow_shift: bool,
    /// Print findings as JSON lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpgradeArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Treat places that are not provably equivalent as errors (exit 1, no output).
    #[arg(long)]
    pub strict: bool,
    /// Also move 0xe0200a async groups across guest activity to the next
    /// CP_CLOCK_WARP_ACCOUNT (the input then reaches the guest later; each
    /// shift is reported in instructions). Without it such places are
    /// refused: exit 1, no output.
    #[arg(long)]
    pub allow_shift: bool,
    /// Print findings as JSON lines.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// The unfinished recording.
    pub file: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Format the recording was made in (its header says 0). Default: the
    /// candidate that decodes the most bytes, newest first on a tie.
    #[arg(long, value_enum)]
    pub assume: Option<TargetArg>,
}

#[derive(Debug, Args)]
pub struct BenchGenArgs {
    /// A real, finished 0xe0200c log whose middle is repeated.
    pub template: PathBuf,
    #[command(flatten)]
    pub out: OutputArgs,
    /// Minimum size of the generated log in MiB.
    #[arg(long, default_value_t = 1024)]
    pub size_mib: u64,
}

/// A writable target version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// QEMU 5.1 … 7.0.
    E0200a,
    /// Git-only intermediate of the 7.1 cycle.
    E0200b,
    /// QEMU 7.2 … 10.x numbering.
    E0200c,
    /// QEMU 7.1 numbering (no snapshot-load shutdown cause).
    #[value(name = "e0200c-7.1")]
    E0200c71,
}

impl From<TargetArg> for Version {
    fn from(t: TargetArg) -> Version {
        match t {
            TargetArg::E0200a => Version::E0200a,
            TargetArg::E0200b => Version::E0200b,
            TargetArg::E0200c => Version::E0200c(Numbering::Qemu7_2),
            TargetArg::E0200c71 => Version::E0200c(Numbering::Qemu7_1),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NumberingArg {
    #[value(name = "7.1")]
    Qemu71,
    #[value(name = "7.2")]
    Qemu72,
}

impl From<NumberingArg> for Numbering {
    fn from(n: NumberingArg) -> Numbering {
        match n {
            NumberingArg::Qemu71 => Numbering::Qemu7_1,
            NumberingArg::Qemu72 => Numbering::Qemu7_2,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_visible_subcommand_has_an_example() {
        let cmd = Cli::command();
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let help = sub
                .get_after_help()
                .map(|h| h.to_string())
                .unwrap_or_default();
            assert!(
                help.contains("Example:"),
                "{} has no example",
                sub.get_name()
            );
        }
    }

    #[test]
    fn target_names_parse() {
        let cli = Cli::try_parse_from(["rrtool", "convert", "a", "-o", "b", "--to", "e0200c-7.1"])
            .unwrap();
        match cli.command {
            Command::Convert(c) => {
                assert_eq!(Version::from(c.to), Version::E0200c(Numbering::Qemu7_1))
            }
            other => panic!("parsed as {other:?}"),
        }
    }
}
