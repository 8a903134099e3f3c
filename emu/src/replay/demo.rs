//! `emu demo`: the main job in one command. Records the built-in demo
//! guest while a script types into its console, replays the log with no
//! input at all, and shows that serial output and machine state agree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use super::session::RrMode;
use crate::cli::{run_with, Cli, Command, RunArgs, RunReport};

/// What the demo types: lines at the guest's `demo> ` prompt, then `quit`.
/// The same script the end-to-end tests use, so the two cannot drift.
const SCRIPT: &str = include_str!("../../../fixtures/scripts/demo.script");

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the log here (default: a temporary directory, removed afterwards).
    #[arg(long)]
    pub log: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
enum DemoError {
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Run(#[from] crate::cli::CliError),
}

fn io<T>(what: &str, r: std::io::Result<T>) -> Result<T, DemoError> {
    r.map_err(|e| DemoError::Io(format!("{what}: {e}")))
}

fn run_args(serial_out: &Path, script: &Path) -> RunArgs {
    let argv = ["emu", "run", "--serial"]
        .into_iter()
        .map(String::from)
        .chain([
            format!("file:{}", serial_out.display()),
            "--serial-script".into(),
            script.display().to_string(),
        ]);
    match Cli::parse_from(argv).command {
        Command::Run(a) => a,
        _ => unreachable!("parsed a run command"),
    }
}

fn show_transcript(title: &str, path: &Path) -> Result<Vec<u8>, DemoError> {
    let bytes = io("reading the serial transcript", std::fs::read(path))?;
    println!("---- {title} ----");
    print!("{}", String::from_utf8_lossy(&bytes));
    println!("---- end ----");
    Ok(bytes)
}

fn log_summary(log: &Path) -> String {
    let Ok(mapped) = logfmt::MappedLog::open(log) else {
        return String::from("(log unreadable)");
    };
    let Ok(reader) = mapped.reader() else {
        return String::from("(log unreadable)");
    };
    let version = reader.version();
    let mut kinds: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut events = 0;
    for rec in reader.flatten() {
        *kinds.entry(rec.event.kind_name()).or_default() += 1;
        events += 1;
    }
    let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
    format!(
        "{} bytes, {version}, {events} events: {}",
        mapped.bytes().len(),
        list.join(", ")
    )
}

fn demo(a: &DemoArgs) -> Result<bool, DemoError> {
    let dir = std::env::temp_dir().join(format!("emu-demo-{}", std::process::id()));
    io("creating a work directory", std::fs::create_dir_all(&dir))?;
    let log = a.log.clone().unwrap_or_else(|| dir.join("demo.bin"));
    let script = dir.join("demo.script");
    io("writing the typing script", std::fs::write(&script, SCRIPT))?;
    let (rec_txt, rep_txt) = (dir.join("record.txt"), dir.join("replay.txt"));

    println!(
        "== 1. record: the demo guest runs, a script types into its console, every input is logged"
    );
    let rec: RunReport = run_with(
        &run_args(&rec_txt, &script),
        &RrMode::Record {
            log: log.clone(),
            legacy: false,
            force: true,
        },
    )?;
    let recorded = show_transcript("serial output while recording", &rec_txt)?;
    println!("log {}: {}", log.display(), log_summary(&log));

    println!("\n== 2. replay: the same machine runs from the log alone (no typing, no host clock, no host randomness)");
    let rep = run_with(
        &run_args(&rep_txt, &script),
        &RrMode::Replay {
            log: log.clone(),
            ignore_config: false,
        },
    )?;
    let replayed = show_transcript("serial output while replaying", &rep_txt)?;

    println!("\n== 3. compare");
    println!(
        "record: icount {:>12}  state-digest {:016x}  {:?}",
        rec.icount, rec.digest, rec.outcome
    );
    println!(
        "replay: icount {:>12}  state-digest {:016x}  {:?}",
        rep.icount, rep.digest, rep.outcome
    );
    let same = rec == rep && recorded == replayed;
    if same {
        println!(
            "identical: {} bytes of serial output, same instruction count, same machine state",
            recorded.len()
        );
    } else {
        println!("DIFFERENT: the replay did not reproduce the recording");
    }
    if a.log.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        for f in [&script, &rec_txt, &rep_txt] {
            let _ = std::fs::remove_file(f);
        }
        let _ = std::fs::remove_dir(&dir);
    }
    Ok(same)
}

pub fn run(a: &DemoArgs) -> ExitCode {
    match demo(a) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("emu demo: {e}");
            ExitCode::from(2)
        }
    }
}
