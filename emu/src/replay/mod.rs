//! Record and replay: the two [`Nondet`](crate::machine::nondet::Nondet)
//! implementations that write and read a QEMU-format log.
//!
//! * [`Recorder`] wraps the live host door and appends one `logfmt` event
//!   for every non-deterministic input, at the icount where the machine
//!   took it, in QEMU's order (0xe0200c: async groups end with
//!   CP_CLOCK_WARP_ACCOUNT; legacy 0xe0200a: they follow it and carry the
//!   checkpoint byte).
//! * [`Replayer`] answers the same questions from the log alone. Every
//!   answer is checked against what the machine asks for at which icount;
//!   the first disagreement stops the run with a
//!   [`Divergence`](crate::machine::nondet::Divergence) naming the
//!   event index, byte offset and icount, instead of a silent hang.
//! * [`MachineFacts`] is the side file (`LOG.machine`) that lets a replay
//!   refuse a different machine before it runs a single instruction.
//!
//! The event vocabulary, and where each event sits, is documented in
//! `docs/recording.md`.

mod config;
pub mod demo;
mod playback;
mod record;
pub mod session;

pub use config::{ConfigError, ConfigMismatch, MachineFacts};
pub use playback::Replayer;
pub use record::Recorder;

/// The longest INSTRUCTION delta a log can hold. A longer quiet stretch is
/// split with a CP_CLOCK_VIRTUAL marker, which the replayer skips.
const MAX_INSTRUCTION_DELTA: u64 = u32::MAX as u64;

/// What a log says about the time the machine spent idle.
///
/// The recorder writes `CP_CLOCK_WARP_START` when the hart goes idle, then
/// `CLOCK_VIRTUAL_RT` holding the virtual time (ns) after the warp. The
/// replayer takes the warp from the difference.
pub(crate) fn warp_from_log(now_ns: u64, logged_ns: u64) -> Option<u64> {
    logged_ns.checked_sub(now_ns)
}

/// A log event as a divergence report names it (kind and the size or value
/// the machine is compared against).
pub(crate) fn describe(event: &logfmt::Event) -> String {
    use logfmt::{AsyncEvent, Event};
    match event {
        Event::Instruction(n) => format!("INSTRUCTION {n}"),
        Event::CharWrite { res, .. } => format!("CHAR_WRITE of {res} byte(s)"),
        Event::Random { data, .. } => format!("RANDOM of {} byte(s)", data.len()),
        Event::Clock { value, .. } => format!("{} = {value}", event.kind_name()),
        Event::Async {
            event: AsyncEvent::CharRead { data, .. },
            ..
        } => {
            format!("ASYNC_CHAR_READ of {} byte(s)", data.len())
        }
        Event::Async {
            event: AsyncEvent::Block { id },
            ..
        } => format!("ASYNC_BLOCK request {id}"),
        Event::Async {
            event: AsyncEvent::Net { packet, .. },
            ..
        } => {
            format!("ASYNC_NET packet of {} byte(s)", packet.len())
        }
        other => other.kind_name().to_string(),
    }
}
