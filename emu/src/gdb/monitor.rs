//! gdb's `monitor` commands: the position (icount), jumping to one, and
//! the snapshots reverse execution keeps.

use std::time::{Duration, Instant};

use super::engine::Debuggee;

/// How often a long `goto` tells gdb it is still going (gdb gives up on a
/// command whose reply takes longer than its `remotetimeout`, 2 s).
const PROGRESS: Duration = Duration::from_millis(500);

const HELP: &str = "\
emu monitor commands:
  icount          the current position: instructions retired since power-on
  goto ICOUNT     go to that position (replay; forwards or backwards); then
                  `maintenance flush register-cache` so gdb rereads registers
  snapshots       the snapshots reverse execution restores from, and their memory
  help            this text
";

/// Runs one command line; the text gdb prints. `progress` passes a line
/// on to gdb at once.
pub fn run(d: &mut Debuggee<'_>, line: &str, progress: &mut dyn FnMut(&str)) -> String {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("icount"), None, _) => format!("icount {}\n", d.icount()),
        (Some("goto"), Some(n), None) => match parse_icount(n) {
            Some(target) => goto(d, target, progress),
            None => format!("goto: `{n}` is not an icount\n"),
        },
        (Some("snapshots"), None, _) => snapshots(d),
        (Some("help"), None, _) | (None, _, _) => HELP.to_string(),
        _ => format!("unknown monitor command `{}`\n{HELP}", line.trim()),
    }
}

/// Decimal, `0x` hex, with optional `_` separators.
fn parse_icount(s: &str) -> Option<u64> {
    let s = s.replace('_', "");
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn goto(d: &mut Debuggee<'_>, target: u64, progress: &mut dyn FnMut(&str)) -> String {
    let mut last = Instant::now();
    let mut tick = |icount: u64| {
        if last.elapsed() >= PROGRESS {
            progress(&format!("goto: at icount {icount}\n"));
            last = Instant::now();
        }
    };
    match d.goto(target, &mut tick) {
        Ok(at) if d.at_end.is_some() && at < target => {
            format!("the replay ends at icount {at}: stopped there\n")
        }
        Ok(at) => format!("icount {at}\n"),
        Err(e) => format!("goto failed: {e}\n"),
    }
}

fn snapshots(d: &Debuggee<'_>) -> String {
    if !d.replay() {
        return "no snapshots: a live run cannot go backwards\n".to_string();
    }
    let list = d.history.checkpoints();
    if list.is_empty() {
        return "no snapshots: reverse execution replays from power-on\n".to_string();
    }
    let used = d.history.memory_used();
    let mut out = format!(
        "{} snapshots, {used} bytes in all ({:.1} MiB)\n",
        list.len(),
        used as f64 / (1 << 20) as f64
    );
    for c in list {
        out.push_str(&format!(
            "  icount {:>14}  {:>12} bytes\n",
            c.icount, c.bytes
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse_icount;

    #[test]
    fn icount_spellings() {
        assert_eq!(parse_icount("1_000"), Some(1000));
        assert_eq!(parse_icount("0x10"), Some(16));
        assert_eq!(parse_icount("-1"), None);
        assert_eq!(parse_icount("ten"), None);
    }
}
