//! One module per subcommand; each `run` takes its args and the output and
//! returns an [`crate::error::Outcome`].

pub mod bench_gen;
pub mod convert;
pub mod cut;
pub mod diff;
pub mod dump;
mod dump_parallel;
pub mod plot;
pub mod repair;
pub mod stats;
pub mod validate;

use crate::cli::Command;
use crate::error::{Outcome, Result};
use crate::output::Output;

/// Runs the parsed command.
pub fn dispatch(command: &Command, out: &mut Output) -> Result<Outcome> {
    match command {
        Command::Dump(a) => dump::run(a, out),
        Command::Stats(a) => stats::run(a, out),
        Command::Validate(a) => validate::run(a, out),
        Command::Diff(a) => diff::run(a, out),
        Command::Convert(a) => convert::run(a, out),
        Command::Upgrade(a) => convert::run_upgrade(a, out),
        Command::Repair(a) => repair::run(a, out),
        Command::Plot(a) => plot::run(a, out),
        Command::BenchGen(a) => bench_gen::run(a, out),
        Command::Cut(a) => cut::run(a, out),
    }
}

/// Whether the command asked for JSON output.
pub fn wants_json(command: &Command) -> bool {
    match command {
        Command::Dump(a) => a.json,
        Command::Stats(a) => a.json,
        Command::Validate(a) => a.json,
        Command::Diff(a) => a.json,
        Command::Convert(a) => a.json,
        Command::Upgrade(a) => a.json,
        Command::Repair(_) | Command::Plot(_) | Command::BenchGen(_) | Command::Cut(_) => false,
    }
}
