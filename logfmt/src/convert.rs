//! Conversion between format versions (spec §10).
//!
//! The event model is version-independent, so renumbering ids is the
//! writer's job. What this module does is the part that depends on *meaning*:
//! where async events sit relative to checkpoints.
//!
//! * 0xe0200a ("after-checkpoint" model): `CP A1 s1 … An sn`, every async
//!   event carries the id of the checkpoint that opened its group.
//! * 0xe0200b / 0xe0200c ("before-warp-account" model): `A1 s1 … An sn CP_WA`,
//!   no checkpoint byte.
//!
//! [`Converter`] is a streaming adapter: it pulls [`Record`]s and yields
//! events in the target order, buffering only the group being moved, so a
//! log of any size converts in constant memory. Everything that cannot be
//! proven equivalent is listed in a [`ConversionReport`].

use std::collections::VecDeque;
use std::fmt;
use std::io::Write;

use crate::event::{Checkpoint, Event, ShutdownCause};
use crate::{ByteOffset, EventIndex, Header, Icount, Numbering, ReadError, Record, Version};
use crate::{WriteError, Writer};

/// A group larger than this is not something QEMU writes (a drain runs only
/// the events queued in one main-loop turn); refusing it keeps memory bounded
/// on hostile input.
pub const MAX_GROUP_EVENTS: usize = 1 << 20;

/// At most this many findings are kept; the rest are only counted, so a
/// pathological log cannot grow the report without bound.
pub const MAX_FINDINGS: usize = 10_000;

/// Where an event sits in the *source* log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub offset: ByteOffset,
    pub index: EventIndex,
    /// Cumulative instruction count at this event.
    pub icount: Icount,
}

impl Position {
    fn of(rec: &Record<'_>) -> Self {
        Position {
            offset: rec.offset,
            index: rec.index,
            icount: rec.icount,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "event {} at byte {} (icount {})",
            self.index.0, self.offset.0, self.icount.0
        )
    }
}

/// One output event with the position of the source event it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Converted<'a> {
    pub event: Event<'a>,
    pub source: Position,
}

/// Why a place in the converted log is not provably equivalent to the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concern {
    /// 0xe0200a group opened by a checkpoint other than CLOCK_WARP_ACCOUNT
    /// that had to move to the next CP_CLOCK_WARP_ACCOUNT across guest
    /// activity: the guest sees the input `instructions` instructions later
    /// (and after `guest_events` other guest-visible events). Blocking unless
    /// [`ConvertOptions::allow_shift`].
    ShiftedGroup {
        checkpoint: Checkpoint,
        instructions: u64,
        guest_events: u64,
    },
    /// 0xe0200a group opened by a checkpoint other than CLOCK_WARP_ACCOUNT
    /// with no CP_CLOCK_WARP_ACCOUNT after it: 0xe0200b/c cannot replay it
    /// anywhere. Always blocking.
    NoWarpAccountAfter { checkpoint: Checkpoint },
    /// A CLOCK event directly follows the last async event of a group (after
    /// its side effects): it may belong to the warp, i.e. after the CP.
    ClockAfterGroup,
    /// An async event that no draining checkpoint precedes (0xe0200a) or that
    /// no checkpoint follows (0xe0200b/c).
    AsyncOutsideGroup,
    /// A 0xe0200a async event whose checkpoint byte differs from the
    /// checkpoint that opened the group.
    CheckpointByteMismatch {
        expected: Checkpoint,
        found: Option<Checkpoint>,
    },
    /// 0xe0200b/c async run followed by a checkpoint other than
    /// CLOCK_WARP_ACCOUNT (kept with that checkpoint's byte).
    RunBeforeOtherCheckpoint { checkpoint: Checkpoint },
    /// 0xe0200b/c: an event that is not a side effect (CLOCK, SHUTDOWN …)
    /// sits between the last async event and the checkpoint; moving the
    /// checkpoint in front of the run changes which side it is on.
    AmbiguousRunTail,
}

impl fmt::Display for Concern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Concern::ShiftedGroup {
                checkpoint,
                instructions,
                guest_events,
            } => write!(
                f,
                "async group after {}: 0xe0200b/c only replays async events before CP_CLOCK_WARP_ACCOUNT, \
                 and the guest runs {instructions} instruction(s) and {guest_events} other guest event(s) \
                 before the next one: the input would arrive later",
                checkpoint.kind_name()
            ),
            Concern::NoWarpAccountAfter { checkpoint } => write!(
                f,
                "async group after {}: no CP_CLOCK_WARP_ACCOUNT follows, so 0xe0200b/c cannot replay it",
                checkpoint.kind_name()
            ),
            Concern::ClockAfterGroup => {
                write!(f, "CLOCK directly after the last async event of a group: it may belong before or after the checkpoint")
            }
            Concern::AsyncOutsideGroup => write!(f, "async event outside a checkpoint group"),
            Concern::CheckpointByteMismatch { expected, found } => write!(
                f,
                "async checkpoint byte {} differs from the group's checkpoint {}",
                found.map_or("(none)", |c| c.kind_name()),
                expected.kind_name()
            ),
            Concern::RunBeforeOtherCheckpoint { checkpoint } => write!(
                f,
                "async run followed by {}, not CP_CLOCK_WARP_ACCOUNT",
                checkpoint.kind_name()
            ),
            Concern::AmbiguousRunTail => write!(
                f,
                "non-side-effect event between the last async event and its checkpoint"
            ),
        }
    }
}

impl Concern {
    /// Short stable id for machine-readable output.
    pub fn id(&self) -> &'static str {
        match self {
            Concern::ShiftedGroup { .. } => "shifted-group",
            Concern::NoWarpAccountAfter { .. } => "no-warp-account-after",
            Concern::ClockAfterGroup => "clock-after-group",
            Concern::AsyncOutsideGroup => "async-outside-group",
            Concern::CheckpointByteMismatch { .. } => "checkpoint-byte-mismatch",
            Concern::RunBeforeOtherCheckpoint { .. } => "run-before-other-checkpoint",
            Concern::AmbiguousRunTail => "ambiguous-run-tail",
        }
    }

    /// Concerns that make the output an invalid 0xe0200b/c log or change
    /// when the guest sees an input: a converter must refuse to write it.
    pub fn is_blocking(&self) -> bool {
        matches!(
            self,
            Concern::ShiftedGroup { .. } | Concern::NoWarpAccountAfter { .. }
        )
    }
}

/// Choices for a conversion.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConvertOptions {
    /// Move a 0xe0200a group after a checkpoint other than
    /// CLOCK_WARP_ACCOUNT to the next CP_CLOCK_WARP_ACCOUNT even when the
    /// guest runs in between; the shift is recorded in its [`Move`] instead
    /// of as a blocking [`Concern::ShiftedGroup`].
    pub allow_shift: bool,
}

/// A 0xe0200a async group opened by a checkpoint other than
/// CLOCK_WARP_ACCOUNT, moved to just before the next CP_CLOCK_WARP_ACCOUNT
/// (the only place a 0xe0200b/c replayer takes async events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    /// The checkpoint that opened the group in the source.
    pub checkpoint: Checkpoint,
    /// The group's first async event in the source.
    pub from: Position,
    /// The CP_CLOCK_WARP_ACCOUNT the group now precedes.
    pub to: Position,
    /// Async events and side effects moved.
    pub events: u64,
    /// Guest-visible events (INTERRUPT, EXCEPTION, CHAR_WRITE, RANDOM, …)
    /// between the group's old and new place.
    pub guest_events: u64,
}

impl Move {
    /// Instructions the guest runs between the old and the new place.
    pub fn shift(&self) -> u64 {
        self.to.icount.0 - self.from.icount.0
    }

    /// Nothing the guest can observe changes: no instruction and no guest
    /// event lies between the old and the new place, so the input reaches
    /// the guest at the same instruction.
    pub fn is_exact(&self) -> bool {
        self.shift() == 0 && self.guest_events == 0
    }
}

impl fmt::Display for Move {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: async group of {} event(s) after {} moved to just before CP_CLOCK_WARP_ACCOUNT (event {} at byte {}, icount {}): ",
            self.from,
            self.events,
            self.checkpoint.kind_name(),
            self.to.index.0,
            self.to.offset.0,
            self.to.icount.0
        )?;
        if self.is_exact() {
            write!(
                f,
                "equivalent: same icount, only clock reads and checkpoints in between, so the guest sees the input at the same instruction"
            )
        } else {
            write!(
                f,
                "SHIFTED by {} instruction(s) across {} guest event(s)",
                self.shift(),
                self.guest_events
            )
        }
    }
}

/// One non-equivalent place, named by the source event it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    pub at: Position,
    pub concern: Concern,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.at, self.concern)
    }
}

/// Every place where the result is not provably equivalent to the input.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConversionReport {
    /// The first [`MAX_FINDINGS`] findings, in source order of detection.
    pub findings: Vec<Finding>,
    /// All findings, including those not kept.
    pub total: u64,
    /// Findings that forbid writing the result ([`Concern::is_blocking`]).
    pub blocking: u64,
    /// Async groups moved across a checkpoint.
    pub groups_moved: u64,
    /// The first [`MAX_FINDINGS`] groups moved from a checkpoint other than
    /// CLOCK_WARP_ACCOUNT to the next CP_CLOCK_WARP_ACCOUNT.
    pub moves: Vec<Move>,
    /// All such moves, including those not kept.
    pub moves_total: u64,
    /// Moves that shift the input (see [`Move::is_exact`]).
    pub shifted: u64,
}

impl ConversionReport {
    pub fn is_equivalent(&self) -> bool {
        self.total == 0
    }

    /// Whether the result may be written (no [`Concern::is_blocking`]).
    pub fn is_writable(&self) -> bool {
        self.blocking == 0
    }

    /// The first blocking finding kept, if any.
    pub fn first_blocking(&self) -> Option<Finding> {
        self.findings
            .iter()
            .copied()
            .find(|f| f.concern.is_blocking())
    }

    fn push(&mut self, at: Position, concern: Concern) {
        self.total += 1;
        if concern.is_blocking() {
            self.blocking += 1;
        }
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(Finding { at, concern });
        }
    }

    fn push_move(&mut self, m: Move) {
        self.moves_total += 1;
        if !m.is_exact() {
            self.shifted += 1;
        }
        if self.moves.len() < MAX_FINDINGS {
            self.moves.push(m);
        }
    }
}

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("conversion from {from} to {to} is not supported (only 0xe0200a, 0xe0200b, 0xe0200c-7.1, 0xe0200c-7.2)")]
    Unsupported {
        from: &'static str,
        to: &'static str,
    },
    #[error("{at}: {what} cannot be expressed in {target}")]
    NotRepresentable {
        at: Position,
        what: &'static str,
        target: &'static str,
    },
    #[error("{at}: async group longer than {limit} events")]
    GroupTooLarge { at: Position, limit: usize },
}

/// Where a version places async events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Model {
    /// 0xe0200a: after the checkpoint, with a checkpoint byte.
    AfterCheckpoint,
    /// 0xe0200b / 0xe0200c: before CP_CLOCK_WARP_ACCOUNT, no checkpoint byte.
    BeforeWarpAccount,
}

fn model(v: Version) -> Option<Model> {
    match v {
        Version::E0200a => Some(Model::AfterCheckpoint),
        Version::E0200b | Version::E0200c(_) => Some(Model::BeforeWarpAccount),
        _ => None,
    }
}

/// Checkpoints after which 0xe0200a drains the async queue (all but
/// CLOCK_WARP_START and CLOCK_VIRTUAL, spec §8.2).
pub fn drains_queue(cp: Checkpoint) -> bool {
    !matches!(cp, Checkpoint::ClockWarpStart | Checkpoint::ClockVirtual)
}

/// Events that running an async event writes and that stay with the group
/// when the checkpoint is moved (spec §10.3 rule of thumb).
pub fn is_side_effect(e: &Event<'_>) -> bool {
    matches!(
        e,
        Event::CharWrite { .. }
            | Event::Random { .. }
            | Event::AudioOut { .. }
            | Event::AudioIn { .. }
    )
}

/// Events that cannot occur inside an async group: the vCPU runs or the
/// group's checkpoint has been passed.
fn ends_group(e: &Event<'_>) -> bool {
    matches!(
        e,
        Event::Instruction(_)
            | Event::Interrupt
            | Event::Exception
            | Event::Checkpoint(_)
            | Event::End
    )
}

fn with_checkpoint<'a>(e: Event<'a>, cp: Option<Checkpoint>) -> Event<'a> {
    match e {
        Event::Async { event, .. } => Event::Async {
            checkpoint: cp,
            event,
        },
        other => other,
    }
}

#[derive(Debug)]
enum State<'a> {
    Idle,
    /// Lift (a → b/c): a draining checkpoint was seen; its group (if any)
    /// starts with the very next event.
    AfterCp {
        cp: Checkpoint,
        item: Converted<'a>,
    },
    /// Lift: inside a group. `tail` holds non-async events after the last
    /// async event; they join the group if another async event follows.
    InGroup {
        cp: Checkpoint,
        item: Converted<'a>,
        group: Vec<Converted<'a>>,
        tail: Vec<Converted<'a>>,
    },
    /// Lower (b/c → a): a run of async events and their side effects,
    /// waiting for the checkpoint that follows it.
    Run {
        items: Vec<Converted<'a>>,
    },
}

/// A lifted group waiting for the next CP_CLOCK_WARP_ACCOUNT.
#[derive(Debug)]
struct Deferred<'a> {
    checkpoint: Checkpoint,
    items: Vec<Converted<'a>>,
    /// [`Converter::guest_events`] when the group was deferred.
    guest_mark: u64,
}

/// Events other than INSTRUCTION (counted as the shift itself) that show
/// the guest acted (the vCPU wrote them, or they answer a guest request):
/// moving input across one changes what the guest may have seen. Clock
/// reads and checkpoints are host-side timer work.
fn is_guest_event(e: &Event<'_>) -> bool {
    !matches!(
        e,
        Event::Instruction(_)
            | Event::Clock { .. }
            | Event::Checkpoint(_)
            | Event::Async { .. }
            | Event::End
    )
}

/// Streaming converter: an iterator of events in the target version's order.
pub struct Converter<'a, I> {
    input: I,
    from: Model,
    to: Model,
    /// Shutdown causes the target can number.
    target_has_snapshot_load: bool,
    target_name: &'static str,
    state: State<'a>,
    out: VecDeque<Converted<'a>>,
    report: ConversionReport,
    options: ConvertOptions,
    /// Lifted groups from checkpoints other than CLOCK_WARP_ACCOUNT, in
    /// source order, waiting for the next CP_CLOCK_WARP_ACCOUNT.
    deferred: Vec<Deferred<'a>>,
    deferred_events: usize,
    /// Guest events passed so far outside groups (see [`is_guest_event`]).
    guest_events: u64,
    input_done: bool,
    failed: bool,
}

impl<'a, I> Converter<'a, I>
where
    I: Iterator<Item = Result<Record<'a>, ReadError>>,
{
    /// Converts records of a `from` log into the order `to` expects.
    pub fn new(input: I, from: Version, to: Version) -> Result<Self, ConvertError> {
        Self::with_options(input, from, to, ConvertOptions::default())
    }

    /// [`Converter::new`] with explicit [`ConvertOptions`].
    pub fn with_options(
        input: I,
        from: Version,
        to: Version,
        options: ConvertOptions,
    ) -> Result<Self, ConvertError> {
        let unsupported = || ConvertError::Unsupported {
            from: from.name(),
            to: to.name(),
        };
        let (Some(fm), Some(tm)) = (model(from), model(to)) else {
            return Err(unsupported());
        };
        Ok(Converter {
            input,
            from: fm,
            to: tm,
            target_has_snapshot_load: matches!(to, Version::E0200c(Numbering::Qemu7_2)),
            target_name: to.name(),
            state: State::Idle,
            out: VecDeque::new(),
            report: ConversionReport::default(),
            options,
            deferred: Vec::new(),
            deferred_events: 0,
            guest_events: 0,
            input_done: false,
            failed: false,
        })
    }

    /// Findings so far (complete once the iterator returned `None`).
    pub fn report(&self) -> &ConversionReport {
        &self.report
    }

    pub fn into_report(self) -> ConversionReport {
        self.report
    }

    fn emit(&mut self, c: Converted<'a>) -> Result<(), ConvertError> {
        if let Event::Shutdown(ShutdownCause::SnapshotLoad) = c.event {
            if !self.target_has_snapshot_load {
                return Err(ConvertError::NotRepresentable {
                    at: c.source,
                    what: "SHUTDOWN snapshot-load (QEMU 7.2+)",
                    target: self.target_name,
                });
            }
        }
        self.out.push_back(c);
        Ok(())
    }

    fn step(&mut self, c: Converted<'a>) -> Result<(), ConvertError> {
        match (self.from, self.to) {
            (Model::AfterCheckpoint, Model::BeforeWarpAccount) => self.lift(c),
            (Model::BeforeWarpAccount, Model::AfterCheckpoint) => self.lower(c),
            // Same placement model: events go through unchanged.
            _ => self.emit(c),
        }
    }

    /// 0xe0200a → 0xe0200b/c: move each group in front of its checkpoint.
    fn lift(&mut self, c: Converted<'a>) -> Result<(), ConvertError> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => match c.event {
                Event::Checkpoint(cp) if drains_queue(cp) => {
                    if cp == Checkpoint::ClockWarpAccount {
                        self.place_deferred(c.source)?;
                    }
                    self.state = State::AfterCp { cp, item: c };
                    Ok(())
                }
                Event::Async { .. } => {
                    self.report.push(c.source, Concern::AsyncOutsideGroup);
                    self.emit(Converted {
                        event: with_checkpoint(c.event, None),
                        ..c
                    })
                }
                Event::End => {
                    self.strand_deferred()?;
                    self.emit(c)
                }
                _ => self.pass(c),
            },
            State::AfterCp { cp, item } => {
                if let Event::Async { checkpoint, .. } = c.event {
                    self.check_cp_byte(cp, checkpoint, c.source);
                    let first = Converted {
                        event: with_checkpoint(c.event, None),
                        ..c
                    };
                    self.state = State::InGroup {
                        cp,
                        item,
                        group: vec![first],
                        tail: Vec::new(),
                    };
                    Ok(())
                } else {
                    // No group after this checkpoint: nothing moves.
                    self.emit(item)?;
                    self.lift(c)
                }
            }
            State::InGroup {
                cp,
                item,
                mut group,
                mut tail,
            } => {
                if let Event::Async { checkpoint, .. } = c.event {
                    self.check_cp_byte(cp, checkpoint, c.source);
                    group.append(&mut tail);
                    group.push(Converted {
                        event: with_checkpoint(c.event, None),
                        ..c
                    });
                } else if ends_group(&c.event) {
                    self.finish_lifted_group(cp, item, group, tail)?;
                    return self.lift(c);
                } else {
                    tail.push(c);
                }
                if group.len() + tail.len() > MAX_GROUP_EVENTS {
                    return Err(ConvertError::GroupTooLarge {
                        at: item.source,
                        limit: MAX_GROUP_EVENTS,
                    });
                }
                self.state = State::InGroup {
                    cp,
                    item,
                    group,
                    tail,
                };
                Ok(())
            }
            State::Run { .. } => unreachable!("Run state only exists when lowering"),
        }
    }

    fn check_cp_byte(&mut self, expected: Checkpoint, found: Option<Checkpoint>, at: Position) {
        if found != Some(expected) {
            self.report
                .push(at, Concern::CheckpointByteMismatch { expected, found });
        }
    }

    fn finish_lifted_group(
        &mut self,
        cp: Checkpoint,
        item: Converted<'a>,
        mut group: Vec<Converted<'a>>,
        tail: Vec<Converted<'a>>,
    ) -> Result<(), ConvertError> {
        let effects = tail.iter().take_while(|t| is_side_effect(&t.event)).count();
        let mut rest = tail.into_iter();
        if cp != Checkpoint::ClockWarpAccount {
            // 0xe0200b/c takes async events only before CP_WA: the group
            // waits for the next one. The checkpoint and what follows the
            // group (its timer list's clock reads) stay where they were.
            group.extend(rest.by_ref().take(effects));
            self.emit(item)?;
            self.deferred_events += group.len();
            if self.deferred_events > MAX_GROUP_EVENTS {
                return Err(ConvertError::GroupTooLarge {
                    at: group[0].source,
                    limit: MAX_GROUP_EVENTS,
                });
            }
            self.deferred.push(Deferred {
                checkpoint: cp,
                items: group,
                guest_mark: self.guest_events,
            });
            for t in rest {
                self.pass(t)?;
            }
            return Ok(());
        }
        self.report.groups_moved += 1;
        for g in group {
            self.emit(g)?;
        }
        for t in rest.by_ref().take(effects) {
            self.emit(t)?;
        }
        self.emit(item)?;
        let mut rest = rest.peekable();
        if let Some(next) = rest.peek() {
            if matches!(next.event, Event::Clock { .. }) {
                self.report.push(next.source, Concern::ClockAfterGroup);
            }
        }
        for t in rest {
            self.pass(t)?;
        }
        Ok(())
    }

    /// Emits an event outside any group, counting guest activity that
    /// deferred groups are moved across.
    fn pass(&mut self, c: Converted<'a>) -> Result<(), ConvertError> {
        if is_guest_event(&c.event) {
            self.guest_events += 1;
        }
        self.emit(c)
    }

    /// A CP_CLOCK_WARP_ACCOUNT at `to` is next: the deferred groups go
    /// right before it (and before its own group), in source order.
    fn place_deferred(&mut self, to: Position) -> Result<(), ConvertError> {
        for d in std::mem::take(&mut self.deferred) {
            let m = Move {
                checkpoint: d.checkpoint,
                from: d.items[0].source,
                to,
                events: d.items.len() as u64,
                guest_events: self.guest_events - d.guest_mark,
            };
            if !m.is_exact() && !self.options.allow_shift {
                self.report.push(
                    m.from,
                    Concern::ShiftedGroup {
                        checkpoint: m.checkpoint,
                        instructions: m.shift(),
                        guest_events: m.guest_events,
                    },
                );
            }
            self.report.push_move(m);
            self.report.groups_moved += 1;
            for i in d.items {
                self.emit(i)?;
            }
        }
        self.deferred_events = 0;
        Ok(())
    }

    /// The log ends with groups still waiting: no CP_CLOCK_WARP_ACCOUNT
    /// can take them. They are emitted here and the result is blocked.
    fn strand_deferred(&mut self) -> Result<(), ConvertError> {
        for d in std::mem::take(&mut self.deferred) {
            self.report.push(
                d.items[0].source,
                Concern::NoWarpAccountAfter {
                    checkpoint: d.checkpoint,
                },
            );
            for i in d.items {
                self.emit(i)?;
            }
        }
        self.deferred_events = 0;
        Ok(())
    }

    /// 0xe0200b/c → 0xe0200a: move each checkpoint in front of the async run
    /// before it and stamp the run with its id.
    fn lower(&mut self, c: Converted<'a>) -> Result<(), ConvertError> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => match c.event {
                Event::Async { .. } => {
                    self.state = State::Run { items: vec![c] };
                    Ok(())
                }
                _ => self.emit(c),
            },
            State::Run { mut items } => match c.event {
                Event::Checkpoint(cp) if drains_queue(cp) => {
                    if cp != Checkpoint::ClockWarpAccount {
                        self.report.push(
                            c.source,
                            Concern::RunBeforeOtherCheckpoint { checkpoint: cp },
                        );
                    }
                    self.check_run_tail(&items);
                    self.report.groups_moved += 1;
                    self.emit(c)?;
                    self.emit_run(items, cp)
                }
                ref e if ends_group(e) => {
                    // No checkpoint to attach the run to: keep it in place,
                    // stamped as a WARP_ACCOUNT group, and say so.
                    self.report
                        .push(items[0].source, Concern::AsyncOutsideGroup);
                    self.emit_run(items, Checkpoint::ClockWarpAccount)?;
                    self.lower(c)
                }
                _ => {
                    items.push(c);
                    if items.len() > MAX_GROUP_EVENTS {
                        return Err(ConvertError::GroupTooLarge {
                            at: items[0].source,
                            limit: MAX_GROUP_EVENTS,
                        });
                    }
                    self.state = State::Run { items };
                    Ok(())
                }
            },
            State::AfterCp { .. } | State::InGroup { .. } => {
                unreachable!("lift states only exist when lifting")
            }
        }
    }

    /// Lifting the lowered run back must put the checkpoint where it was:
    /// that holds when only side effects follow the last async event.
    fn check_run_tail(&mut self, items: &[Converted<'a>]) {
        let last_async = items
            .iter()
            .rposition(|i| matches!(i.event, Event::Async { .. }));
        if let Some(last) = last_async {
            if let Some(odd) = items[last + 1..].iter().find(|i| !is_side_effect(&i.event)) {
                self.report.push(odd.source, Concern::AmbiguousRunTail);
            }
        }
    }

    fn emit_run(&mut self, items: Vec<Converted<'a>>, cp: Checkpoint) -> Result<(), ConvertError> {
        for i in items {
            self.emit(Converted {
                event: with_checkpoint(i.event, Some(cp)),
                ..i
            })?;
        }
        Ok(())
    }

    /// End of input: release whatever is still held back.
    fn flush(&mut self) -> Result<(), ConvertError> {
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => Ok(()),
            State::AfterCp { item, .. } => self.emit(item),
            State::InGroup {
                cp,
                item,
                group,
                tail,
            } => self.finish_lifted_group(cp, item, group, tail),
            State::Run { items } => {
                self.report
                    .push(items[0].source, Concern::AsyncOutsideGroup);
                self.emit_run(items, Checkpoint::ClockWarpAccount)
            }
        }?;
        self.strand_deferred()
    }
}

impl<'a, I> Iterator for Converter<'a, I>
where
    I: Iterator<Item = Result<Record<'a>, ReadError>>,
{
    type Item = Result<Converted<'a>, ConvertError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(c) = self.out.pop_front() {
                return Some(Ok(c));
            }
            if self.input_done || self.failed {
                return None;
            }
            let step = match self.input.next() {
                Some(Ok(rec)) => {
                    let c = Converted {
                        event: rec.event,
                        source: Position::of(&rec),
                    };
                    self.step(c)
                }
                Some(Err(e)) => Err(ConvertError::Read(e)),
                None => {
                    self.input_done = true;
                    self.flush()
                }
            };
            if let Err(e) = step {
                self.failed = true;
                self.out.clear();
                return Some(Err(e));
            }
        }
    }
}

/// Converts a whole log read by `records` (a `from` log with `header`) into
/// `to`, writing to `out`. Same-version conversion keeps the header's
/// reserved bytes so the output is byte-identical; otherwise they are zero.
pub fn convert<'a, I, W>(
    records: I,
    from: Version,
    header: Header,
    to: Version,
    out: W,
) -> Result<(W, ConversionReport, u64), ConvertError>
where
    I: Iterator<Item = Result<Record<'a>, ReadError>>,
    W: Write,
{
    convert_with(records, from, header, to, ConvertOptions::default(), out)
}

/// [`convert`] with explicit [`ConvertOptions`]. The output is written
/// whatever the report says; the caller decides whether to keep it
/// ([`ConversionReport::is_writable`]).
pub fn convert_with<'a, I, W>(
    records: I,
    from: Version,
    header: Header,
    to: Version,
    options: ConvertOptions,
    out: W,
) -> Result<(W, ConversionReport, u64), ConvertError>
where
    I: Iterator<Item = Result<Record<'a>, ReadError>>,
    W: Write,
{
    let mut conv = Converter::with_options(records, from, to, options)?;
    let header = if from == to {
        header
    } else {
        Header {
            raw_version: to.raw(),
            reserved: [0; 8],
        }
    };
    let mut writer = Writer::with_header(out, to, header)?;
    for c in conv.by_ref() {
        writer.write(&c?.event)?;
    }
    let n = writer.events_written();
    let w = writer.finish()?;
    Ok((w, conv.into_report(), n))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{AsyncEvent, ClockKind};
    use crate::Reader;

    const A: Version = Version::E0200a;
    const C: Version = Version::E0200c(Numbering::Qemu7_2);
    const C71: Version = Version::E0200c(Numbering::Qemu7_1);
    const WA: Checkpoint = Checkpoint::ClockWarpAccount;

    /// Records for `events`, with offsets and icounts as a reader would give.
    fn records<'a>(events: &[Event<'a>]) -> Vec<Result<Record<'a>, ReadError>> {
        let mut icount = 0;
        events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                icount += u64::from(e.instructions());
                Ok(Record {
                    offset: ByteOffset(12 + 10 * i as u64),
                    index: EventIndex(i as u64),
                    icount: Icount(icount),
                    len: 10,
                    event: *e,
                })
            })
            .collect()
    }

    fn run<'a>(
        events: &[Event<'a>],
        from: Version,
        to: Version,
    ) -> (Vec<Event<'a>>, ConversionReport) {
        let mut conv = Converter::new(records(events).into_iter(), from, to).unwrap();
        let out: Vec<Event<'a>> = conv.by_ref().map(|c| c.unwrap().event).collect();
        (out, conv.into_report())
    }

    fn chr(cp: Option<Checkpoint>, data: &'static [u8]) -> Event<'static> {
        Event::Async {
            checkpoint: cp,
            event: AsyncEvent::CharRead { chardev: 0, data },
        }
    }

    const CW: Event<'static> = Event::CharWrite { res: 1, offset: 1 };
    const RT: Event<'static> = Event::Clock {
        kind: ClockKind::VirtualRt,
        value: 7,
    };
    const TAIL: [Event<'static>; 2] = [Event::Shutdown(ShutdownCause::HostSignal), Event::End];

    #[test]
    fn lift_moves_checkpoint_after_group_and_side_effects() {
        let a = [
            Event::Instruction(5),
            Event::Checkpoint(WA),
            chr(Some(WA), b"a"),
            CW,
            chr(Some(WA), b"b"),
            CW,
            Event::Instruction(3),
            TAIL[0],
            TAIL[1],
        ];
        let (c, report) = run(&a, A, C);
        assert_eq!(
            c,
            vec![
                Event::Instruction(5),
                chr(None, b"a"),
                CW,
                chr(None, b"b"),
                CW,
                Event::Checkpoint(WA),
                Event::Instruction(3),
                TAIL[0],
                TAIL[1],
            ]
        );
        assert!(report.is_equivalent());
        assert_eq!(report.groups_moved, 1);
        // And back.
        let (back, report) = run(&c, C, A);
        assert_eq!(back, a);
        assert!(report.is_equivalent());
    }

    #[test]
    fn clock_after_group_stays_after_checkpoint_and_is_flagged() {
        let a = [
            Event::Checkpoint(WA),
            chr(Some(WA), b"a"),
            CW,
            RT,
            Event::Instruction(1),
            TAIL[0],
            TAIL[1],
        ];
        let (c, report) = run(&a, A, C);
        assert_eq!(c[..4], [chr(None, b"a"), CW, Event::Checkpoint(WA), RT]);
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].concern, Concern::ClockAfterGroup);
        assert_eq!(report.findings[0].at.index, EventIndex(3));
    }

    fn run_with<'a>(events: &[Event<'a>], allow_shift: bool) -> (Vec<Event<'a>>, ConversionReport) {
        let opts = ConvertOptions { allow_shift };
        let mut conv = Converter::with_options(records(events).into_iter(), A, C, opts).unwrap();
        let out: Vec<Event<'a>> = conv.by_ref().map(|c| c.unwrap().event).collect();
        (out, conv.into_report())
    }

    const VRT: Checkpoint = Checkpoint::ClockVirtualRt;
    const WS: Event<'static> = Event::Checkpoint(Checkpoint::ClockWarpStart);

    /// The real 5.2 pattern (rv52-linux-tiny event 19010): input after
    /// CP_CLOCK_VIRTUAL_RT, then only clock reads and checkpoints up to a
    /// CP_CLOCK_WARP_ACCOUNT at the same icount.
    #[test]
    fn group_after_other_checkpoint_moves_to_the_next_warp_account_at_the_same_icount() {
        let a = [
            Event::Instruction(2),
            Event::Checkpoint(VRT),
            chr(Some(VRT), b"\r"),
            RT,
            RT,
            WS,
            Event::Checkpoint(VRT),
            RT,
            Event::Checkpoint(WA),
            RT,
            Event::Instruction(1),
            TAIL[0],
            TAIL[1],
        ];
        let (c, report) = run(&a, A, C);
        assert_eq!(
            c,
            vec![
                Event::Instruction(2),
                Event::Checkpoint(VRT),
                RT,
                RT,
                WS,
                Event::Checkpoint(VRT),
                RT,
                chr(None, b"\r"),
                Event::Checkpoint(WA),
                RT,
                Event::Instruction(1),
                TAIL[0],
                TAIL[1],
            ]
        );
        assert!(report.is_equivalent(), "{:?}", report.findings);
        assert_eq!((report.moves_total, report.shifted), (1, 0));
        let m = report.moves[0];
        assert_eq!((m.from.index, m.to.index), (EventIndex(2), EventIndex(8)));
        assert!(m.is_exact() && m.checkpoint == VRT && m.events == 1);
        assert!(m.to_string().contains("same instruction"), "{m}");
        // Lowering puts it after the CP_WA, as 5.2 would have written it.
        let (back, report) = run(&c, C, A);
        assert!(report.is_equivalent());
        assert_eq!(back[7..9], [Event::Checkpoint(WA), chr(Some(WA), b"\r")]);
    }

    #[test]
    fn a_moved_group_goes_before_the_warp_accounts_own_group_with_its_side_effects() {
        let a = [
            Event::Checkpoint(VRT),
            chr(Some(VRT), b"a"),
            CW,
            RT,
            Event::Checkpoint(WA),
            chr(Some(WA), b"b"),
            CW,
            Event::Instruction(3),
            TAIL[0],
            TAIL[1],
        ];
        let (c, report) = run(&a, A, C);
        assert_eq!(
            c[..7],
            [
                Event::Checkpoint(VRT),
                RT,
                chr(None, b"a"),
                CW,
                chr(None, b"b"),
                CW,
                Event::Checkpoint(WA)
            ]
        );
        assert!(report.is_equivalent(), "{:?}", report.findings);
        assert_eq!(report.groups_moved, 2);
    }

    #[test]
    fn instructions_before_the_warp_account_block_unless_shifts_are_allowed() {
        let a = [
            Event::Checkpoint(VRT),
            chr(Some(VRT), b"x"),
            RT,
            Event::Instruction(5),
            Event::Exception,
            Event::Checkpoint(WA),
            TAIL[0],
            TAIL[1],
        ];
        let (c, report) = run_with(&a, false);
        assert!(!report.is_writable());
        assert_eq!(
            report.findings[0].concern,
            Concern::ShiftedGroup {
                checkpoint: VRT,
                instructions: 5,
                guest_events: 1
            }
        );
        assert_eq!(report.findings[0].at.index, EventIndex(1));
        let (c2, report) = run_with(&a, true);
        assert_eq!(c, c2);
        assert!(report.is_writable() && report.is_equivalent());
        assert_eq!((report.moves[0].shift(), report.shifted), (5, 1));
        assert_eq!(c[4..6], [chr(None, b"x"), Event::Checkpoint(WA)]);
    }

    #[test]
    fn guest_events_at_the_same_icount_also_count_as_a_shift() {
        let a = [
            Event::Checkpoint(VRT),
            chr(Some(VRT), b"x"),
            RT,
            Event::Interrupt,
            Event::Checkpoint(WA),
            TAIL[0],
            TAIL[1],
        ];
        let (_, report) = run_with(&a, false);
        assert_eq!(
            report.findings[0].concern,
            Concern::ShiftedGroup {
                checkpoint: VRT,
                instructions: 0,
                guest_events: 1
            }
        );
    }

    #[test]
    fn a_group_with_no_later_warp_account_blocks_even_with_shifts_allowed() {
        let a = [
            Event::Checkpoint(Checkpoint::Reset),
            chr(Some(Checkpoint::Reset), b"x"),
            Event::Instruction(2),
            TAIL[0],
            TAIL[1],
        ];
        let (c, report) = run_with(&a, true);
        assert!(!report.is_writable());
        assert_eq!(
            report.first_blocking().unwrap().concern,
            Concern::NoWarpAccountAfter {
                checkpoint: Checkpoint::Reset
            }
        );
        assert_eq!(c.len(), a.len());
        assert_eq!(*c.last().unwrap(), Event::End);
    }

    #[test]
    fn checkpoints_without_groups_do_not_move() {
        let a = [
            Event::Checkpoint(WA),
            RT,
            Event::Checkpoint(Checkpoint::ClockWarpStart),
            TAIL[0],
            TAIL[1],
        ];
        let (c, report) = run(&a, A, C);
        assert_eq!(c, a);
        assert_eq!(report, ConversionReport::default());
    }

    #[test]
    fn mismatched_and_stray_async_events_are_reported() {
        let a = [
            chr(Some(WA), b"x"),
            Event::Checkpoint(WA),
            chr(Some(Checkpoint::Init), b"y"),
            Event::Instruction(1),
            TAIL[0],
            TAIL[1],
        ];
        let (_, report) = run(&a, A, C);
        let concerns: Vec<Concern> = report.findings.iter().map(|f| f.concern).collect();
        assert_eq!(
            concerns,
            vec![
                Concern::AsyncOutsideGroup,
                Concern::CheckpointByteMismatch {
                    expected: WA,
                    found: Some(Checkpoint::Init)
                }
            ]
        );
        let c = [chr(None, b"x"), Event::Instruction(1), TAIL[0], TAIL[1]];
        let (a, report) = run(&c, C, A);
        assert_eq!(a[0], chr(Some(WA), b"x"));
        assert_eq!(report.findings[0].concern, Concern::AsyncOutsideGroup);
    }

    #[test]
    fn lowering_flags_a_non_side_effect_before_the_checkpoint() {
        let c = [chr(None, b"x"), RT, Event::Checkpoint(WA), TAIL[0], TAIL[1]];
        let (a, report) = run(&c, C, A);
        assert_eq!(a[..3], [Event::Checkpoint(WA), chr(Some(WA), b"x"), RT]);
        assert_eq!(report.findings[0].concern, Concern::AmbiguousRunTail);
        assert_eq!(report.findings[0].at.index, EventIndex(1));
    }

    #[test]
    fn a_group_cut_by_end_of_input_is_still_emitted() {
        let a = [Event::Checkpoint(WA), chr(Some(WA), b"x"), CW];
        let (c, _) = run(&a, A, C);
        assert_eq!(c, vec![chr(None, b"x"), CW, Event::Checkpoint(WA)]);
    }

    #[test]
    fn snapshot_load_cannot_go_to_7_1_or_a() {
        let c = [
            Event::Instruction(1),
            Event::Shutdown(ShutdownCause::SnapshotLoad),
            TAIL[0],
            TAIL[1],
        ];
        for to in [C71, A, Version::E0200b] {
            let mut conv = Converter::new(records(&c).into_iter(), C, to).unwrap();
            let err = conv.find_map(|r| r.err()).expect("error");
            match err {
                ConvertError::NotRepresentable { at, .. } => assert_eq!(at.index, EventIndex(1)),
                other => panic!("{other}"),
            }
            assert!(conv.next().is_none(), "iterator ends after an error");
        }
    }

    #[test]
    fn read_errors_pass_through_with_their_position() {
        let err = ReadError {
            offset: ByteOffset(99),
            index: EventIndex(4),
            kind: crate::ReadErrorKind::UnknownEventId(0xff),
        };
        let input = vec![
            Ok(records(&[Event::Instruction(1)]).remove(0).unwrap()),
            Err(err.clone()),
        ];
        let got: Vec<_> = Converter::new(input.into_iter(), C, A).unwrap().collect();
        assert!(matches!(&got[1], Err(ConvertError::Read(e)) if *e == err));
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn old_versions_are_not_converted() {
        let r = Converter::new(std::iter::empty(), Version::E02009, C);
        assert!(matches!(r, Err(ConvertError::Unsupported { .. })));
    }

    /// Bytes of `events` written as `version`.
    fn bytes(events: &[Event<'_>], version: Version) -> Vec<u8> {
        let mut w = Writer::new(Vec::new(), version).unwrap();
        for e in events {
            w.write(e).unwrap();
        }
        w.finish().unwrap()
    }

    fn convert_bytes(data: &[u8], to: Version) -> (Vec<u8>, ConversionReport) {
        let r = Reader::new(data).unwrap();
        let (from, header) = (r.version(), *r.header());
        let (out, report, _) = convert(r, from, header, to, Vec::new()).unwrap();
        (out, report)
    }

    #[test]
    fn same_version_is_byte_exact_including_reserved_bytes() {
        let a = [
            Event::Checkpoint(WA),
            chr(Some(WA), b"q"),
            CW,
            Event::Instruction(4),
            TAIL[0],
            TAIL[1],
        ];
        let mut data = bytes(&a, A);
        data[6] = 0x5a; // a reserved header byte
        assert_eq!(convert_bytes(&data, A).0, data);
    }

    #[test]
    fn a_to_c_to_a_is_byte_exact_and_b_equals_c_in_order() {
        let a = [
            Event::Instruction(9),
            Event::Checkpoint(WA),
            chr(Some(WA), b"q"),
            CW,
            Event::Instruction(4),
            Event::Checkpoint(Checkpoint::ClockVirtual),
            TAIL[0],
            TAIL[1],
        ];
        let data = bytes(&a, A);
        let (c, _) = convert_bytes(&data, C);
        assert_eq!(&c[..4], &[0x00, 0xe0, 0x20, 0x0c]);
        assert_eq!(*c.last().unwrap(), C.end_id());
        let (b, _) = convert_bytes(&c, Version::E0200b);
        assert_eq!(&b[..4], &[0x00, 0xe0, 0x20, 0x0b]);
        assert_eq!(convert_bytes(&b, C).0, c);
        assert_eq!(convert_bytes(&c, A).0, data);
        let (c71, _) = convert_bytes(&c, C71);
        assert_eq!(*c71.last().unwrap(), C71.end_id());
        assert_eq!(convert_bytes(&c71, C).0, c);
    }
}
