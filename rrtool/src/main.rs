//! `rrtool`: parse, run, print the error once, map to an exit code.

mod cli;
mod cmd;
mod error;
mod input;
mod json;
mod outfile;
mod output;
mod picture;
mod render;
mod rules;
mod split;
mod timeline;

use std::process::ExitCode;

use clap::Parser;

use crate::error::exit;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let mut out = output::Output::stdout(cmd::wants_json(&cli.command));
    let result = cmd::dispatch(&cli.command, &mut out).and_then(|outcome| {
        out.flush().map_err(error::CliError::Stdout)?;
        Ok(outcome)
    });
    match result {
        Ok(outcome) => ExitCode::from(outcome.exit_code()),
        Err(e) if e.is_broken_pipe() => ExitCode::from(exit::OK),
        Err(e) => {
            // Whatever was printed before the error is still shown.
            let flushed = out.flush();
            if flushed
                .as_ref()
                .is_err_and(|f| f.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::from(exit::OK);
            }
            eprintln!("rrtool: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
