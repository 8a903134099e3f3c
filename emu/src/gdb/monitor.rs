//! gdb's `monitor` commands: the position (icount), jumping to one, and
//! the snapshots reverse execution keeps.

use super::engine::Debuggee;

const HELP: &str = "\
emu monitor commands:
  icount          the current position: instructions retired since power-on
  goto ICOUNT     go to that position (replay; forwards or backwards); then
                  `maintenance flush register-cache` so gdb rereads registers
  snapshots       the snapshots reverse execution restores from, and their memory
  help            this text
";

/// Runs one command line; the text gdb prints.
pub fn run(d: &mut Debuggee<'_>, line: &str) -> String {
    let mut words = line.split_whitespace();
    match (words.next(), words.next(), words.next()) {
        (Some("icount"), None, _) => format!("icount {}\n", d.icount()),
        (Some("goto"), Some(n), None) => match parse_icount(n) {
            Some(target) => goto(d, target),
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

fn goto(d: &mut Debuggee<'_>, target: u64) -> String {
    match d.goto(target) {
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
    let mut out = format!(
        "{} snapshots, {} bytes in all ({:.1} MiB); power-on is always a restart point\n",
        list.len(),
        d.history.memory_used(),
        d.history.memory_used() as f64 / (1 << 20) as f64
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
