//! The ordering rules of spec §8 as a streaming checker over [`Record`]s.
//! Structure (ids, lengths, END, trailing bytes) is the reader's job; this
//! module checks what a well-formed stream must also satisfy to be a log
//! QEMU could have written.

use std::fmt;

use logfmt::convert::drains_queue;
use logfmt::{ByteOffset, Checkpoint, Event, EventIndex, Record, ShutdownCause, Version};

/// A rule of the format, with a stable id for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// Header u32 is 0: QEMU never reached `replay_finish`.
    HeaderUnfinished,
    /// Header bytes 4..12 are not zero (QEMU never writes them).
    HeaderReserved,
    /// The event stream does not parse (reader error).
    Structure,
    /// INSTRUCTION with delta 0.
    InstructionZero,
    /// INSTRUCTION directly after INSTRUCTION.
    InstructionAdjacent,
    /// 0xe0200a: async event not directly inside a group opened by a
    /// draining checkpoint.
    AsyncOutsideGroup,
    /// 0xe0200a: async checkpoint byte differs from the opening checkpoint.
    AsyncCheckpointByte,
    /// 0xe0200b/c: async run not closed by CP_CLOCK_WARP_ACCOUNT.
    AsyncNotBeforeWarpAccount,
    /// The event before END is not SHUTDOWN host-signal.
    TailHostSignal,
}

impl Rule {
    pub fn id(self) -> &'static str {
        match self {
            Rule::HeaderUnfinished => "header-unfinished",
            Rule::HeaderReserved => "header-reserved",
            Rule::Structure => "structure",
            Rule::InstructionZero => "instruction-zero",
            Rule::InstructionAdjacent => "instruction-adjacent",
            Rule::AsyncOutsideGroup => "async-outside-group",
            Rule::AsyncCheckpointByte => "async-checkpoint-byte",
            Rule::AsyncNotBeforeWarpAccount => "async-not-before-warp-account",
            Rule::TailHostSignal => "tail-host-signal",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// One broken rule at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub offset: ByteOffset,
    pub index: Option<EventIndex>,
    pub rule: Rule,
    pub detail: String,
}

/// Where 0xe0200a async events may appear.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GroupA {
    Closed,
    /// Right after a draining checkpoint: a group may start here.
    AwaitFirst(Checkpoint),
    Open(Checkpoint),
}

/// A 0xe0200b/c async run waiting for its CP_CLOCK_WARP_ACCOUNT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Run {
    offset: ByteOffset,
    index: EventIndex,
    len: u64,
}

/// Streaming checker; feed every record in order.
///
/// This runs once per event on logs of hundreds of millions of events, so
/// the common events (INSTRUCTION, CHAR_WRITE, checkpoints) take one match
/// arm and a couple of predictable branches; "was the previous event X" is
/// answered by remembering X's index instead of storing a flag per event.
pub struct Checker {
    /// 0xe0200b/c placement (before CP_WA) instead of 0xe0200a (after CPs).
    before_warp: bool,
    group: GroupA,
    run: Option<Run>,
    /// Index + 1 of the last INSTRUCTION / SHUTDOWN host-signal (u64::MAX:
    /// none yet), i.e. the index at which "the previous event was X" holds.
    after_instruction: u64,
    after_host_signal: u64,
}

impl Checker {
    pub fn new(version: Version) -> Self {
        Checker {
            // 0xe0200a and the older versions attach groups to checkpoints.
            before_warp: matches!(version, Version::E0200b | Version::E0200c(_)),
            group: GroupA::Closed,
            run: None,
            after_instruction: u64::MAX,
            after_host_signal: u64::MAX,
        }
    }

    /// Checks one record; violations go to `out`.
    #[inline]
    pub fn check(&mut self, rec: &Record<'_>, out: &mut Vec<Violation>) {
        // Only plain values reach the out-of-line paths below: handing them
        // `rec` itself would force a copy of the whole record per event.
        let (index, offset) = (rec.index.0, rec.offset.0);
        match rec.event {
            Event::Instruction(n) => {
                if n == 0 || self.after_instruction == index {
                    self.instruction_findings(index, offset, n, out);
                }
                self.after_instruction = index + 1;
                self.vcpu_event(index, offset, "INSTRUCTION", out);
            }
            Event::Interrupt => self.vcpu_event(index, offset, "INTERRUPT", out),
            Event::Exception => self.vcpu_event(index, offset, "EXCEPTION", out),
            Event::End => {
                if self.after_host_signal != index {
                    out.push(at(
                        index,
                        offset,
                        Rule::TailHostSignal,
                        "END is not directly preceded by SHUTDOWN_HOST_SIGNAL (QEMU always writes it at exit)"
                            .into(),
                    ));
                }
                self.vcpu_event(index, offset, "END", out);
            }
            Event::Checkpoint(cp) => {
                if self.before_warp {
                    if let Some(run) = self.run.take() {
                        if cp != Checkpoint::ClockWarpAccount {
                            out.push(run_not_closed(run, index, offset, cp.kind_name()));
                        }
                    }
                } else {
                    self.group = if drains_queue(cp) {
                        GroupA::AwaitFirst(cp)
                    } else {
                        GroupA::Closed
                    };
                }
            }
            Event::Async { checkpoint, .. } => self.async_event(index, offset, checkpoint, out),
            Event::Shutdown(cause) => {
                if cause == ShutdownCause::HostSignal {
                    self.after_host_signal = index + 1;
                }
                self.side_effect();
            }
            // Side effects of a group's events stay inside the group.
            _ => self.side_effect(),
        }
    }

    #[inline]
    fn side_effect(&mut self) {
        if let GroupA::AwaitFirst(_) = self.group {
            self.group = GroupA::Closed;
        }
    }

    /// The vCPU ran (or the log ended): no group or run can continue.
    #[inline]
    fn vcpu_event(
        &mut self,
        index: u64,
        offset: u64,
        kind: &'static str,
        out: &mut Vec<Violation>,
    ) {
        self.group = GroupA::Closed;
        if let Some(run) = self.run.take() {
            out.push(run_not_closed(run, index, offset, kind));
        }
    }

    #[cold]
    fn instruction_findings(&self, index: u64, offset: u64, n: u32, out: &mut Vec<Violation>) {
        if n == 0 {
            out.push(at(
                index,
                offset,
                Rule::InstructionZero,
                "INSTRUCTION with a delta of 0 (QEMU never writes one)".into(),
            ));
        }
        if self.after_instruction == index {
            out.push(at(
                index,
                offset,
                Rule::InstructionAdjacent,
                "INSTRUCTION directly after INSTRUCTION (QEMU merges them)".into(),
            ));
        }
    }

    fn async_event(
        &mut self,
        index: u64,
        offset: u64,
        checkpoint: Option<Checkpoint>,
        out: &mut Vec<Violation>,
    ) {
        if self.before_warp {
            match &mut self.run {
                Some(run) => run.len += 1,
                None => {
                    self.run = Some(Run {
                        offset: ByteOffset(offset),
                        index: EventIndex(index),
                        len: 1,
                    })
                }
            }
            return;
        }
        match self.group {
            GroupA::AwaitFirst(cp) | GroupA::Open(cp) => {
                if checkpoint != Some(cp) {
                    out.push(at(
                        index,
                        offset,
                        Rule::AsyncCheckpointByte,
                        format!(
                            "async checkpoint byte {} but the group was opened by {}",
                            checkpoint.map_or("none", |c| c.kind_name()),
                            cp.kind_name()
                        ),
                    ));
                }
                self.group = GroupA::Open(cp);
            }
            GroupA::Closed => out.push(at(
                index,
                offset,
                Rule::AsyncOutsideGroup,
                "async event not directly after a draining checkpoint or inside its group \
                 (0xe0200a writes async events only right after a checkpoint other than \
                 CLOCK_WARP_START and CLOCK_VIRTUAL)"
                    .into(),
            )),
        }
    }
}

fn at(index: u64, offset: u64, rule: Rule, detail: String) -> Violation {
    Violation {
        offset: ByteOffset(offset),
        index: Some(EventIndex(index)),
        rule,
        detail,
    }
}

#[cold]
fn run_not_closed(run: Run, index: u64, offset: u64, closer: &'static str) -> Violation {
    Violation {
        offset: run.offset,
        index: Some(run.index),
        rule: Rule::AsyncNotBeforeWarpAccount,
        detail: format!(
            "run of {} async event(s) is closed by {} at event #{} (offset {}), not by CP_CLOCK_WARP_ACCOUNT",
            run.len,
            closer,
            index,
            offset
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use logfmt::{AsyncEvent, Icount, Numbering};

    fn recs<'a>(events: &[Event<'a>]) -> Vec<Record<'a>> {
        let mut icount = 0u64;
        events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                icount += u64::from(e.instructions());
                Record {
                    offset: ByteOffset(12 + i as u64),
                    index: EventIndex(i as u64),
                    icount: Icount(icount),
                    len: 1,
                    event: *e,
                }
            })
            .collect()
    }

    fn rules(version: Version, events: &[Event<'_>]) -> Vec<(u64, &'static str)> {
        let mut c = Checker::new(version);
        let mut out = Vec::new();
        for r in recs(events) {
            c.check(&r, &mut out);
        }
        out.iter()
            .map(|v| (v.index.unwrap().0, v.rule.id()))
            .collect()
    }

    const C: Version = Version::E0200c(Numbering::Qemu7_2);
    const TAIL: [Event<'static>; 2] = [Event::Shutdown(ShutdownCause::HostSignal), Event::End];

    fn chr(cp: Option<Checkpoint>) -> Event<'static> {
        Event::Async {
            checkpoint: cp,
            event: AsyncEvent::CharRead {
                chardev: 0,
                data: b"x",
            },
        }
    }

    #[test]
    fn clean_c_log_has_no_findings() {
        let wa = Event::Checkpoint(Checkpoint::ClockWarpAccount);
        let ev = [
            Event::Instruction(5),
            chr(None),
            Event::CharWrite { res: 1, offset: 1 },
            chr(None),
            wa,
            TAIL[0],
            TAIL[1],
        ];
        assert_eq!(rules(C, &ev), vec![]);
    }

    #[test]
    fn instruction_rules() {
        let ev = [
            Event::Instruction(0),
            Event::Instruction(3),
            TAIL[0],
            TAIL[1],
        ];
        assert_eq!(
            rules(C, &ev),
            vec![(0, "instruction-zero"), (1, "instruction-adjacent")]
        );
    }

    #[test]
    fn c_run_must_end_at_warp_account() {
        let ev = [
            chr(None),
            Event::Instruction(3),
            chr(None),
            Event::Checkpoint(Checkpoint::ClockHost),
            TAIL[0],
            TAIL[1],
        ];
        assert_eq!(
            rules(C, &ev),
            vec![
                (0, "async-not-before-warp-account"),
                (2, "async-not-before-warp-account")
            ]
        );
    }

    #[test]
    fn a_groups_follow_draining_checkpoints_with_matching_byte() {
        let wa = Checkpoint::ClockWarpAccount;
        let ev = [
            Event::Checkpoint(wa),
            chr(Some(wa)),
            Event::CharWrite { res: 1, offset: 1 },
            chr(Some(Checkpoint::Init)),
            Event::Instruction(9),
            chr(Some(wa)),
            Event::Checkpoint(Checkpoint::ClockVirtual),
            chr(Some(Checkpoint::ClockVirtual)),
            TAIL[0],
            TAIL[1],
        ];
        assert_eq!(
            rules(Version::E0200a, &ev),
            vec![
                (3, "async-checkpoint-byte"),
                (5, "async-outside-group"),
                (7, "async-outside-group")
            ]
        );
    }

    #[test]
    fn end_needs_host_signal_before_it() {
        let ev = [
            Event::Instruction(1),
            Event::Shutdown(ShutdownCause::GuestShutdown),
            Event::End,
        ];
        assert_eq!(rules(C, &ev), vec![(2, "tail-host-signal")]);
    }
}
