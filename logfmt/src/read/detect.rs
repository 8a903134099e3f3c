//! Choosing the layout of a log: from the header, from the last byte
//! (0xe0200c 7.1 vs 7.2 numbering, spec sections 5 and 9), or by trial
//! parsing when the header says 0 (QEMU killed before `replay_finish`).

use super::{ReadOptions, Reader};
use crate::defs::{Header, Numbering, Version, HEADER_LEN};
use crate::error::{ReadError, ReadErrorKind};
use crate::units::{ByteOffset, EventIndex};

/// END ids: the last byte of a closed 0xe0200c log.
const END_7_1: u8 = 38;
const END_7_2: u8 = 39;

/// How a trial parse of one candidate layout went.
struct Trial {
    /// The whole log (closed) or everything before the cut (unfinished)
    /// parsed without a format error.
    clean: bool,
    /// How far it got.
    reached: u64,
}

fn trial(data: &[u8], header: Header, version: Version, unfinished: bool) -> Trial {
    let mut reader = Reader::at(data, header, version, unfinished);
    let mut clean = true;
    for r in reader.by_ref() {
        if let Err(e) = r {
            let cut_off = matches!(
                e.kind,
                ReadErrorKind::Truncated { .. } | ReadErrorKind::MissingEnd { .. }
            );
            clean = unfinished && cut_off;
            break;
        }
    }
    Trial {
        clean,
        reached: reader.position().0,
    }
}

/// The first candidate that parses cleanly, else the one that got furthest
/// (its error is then the most useful one to show).
fn best_of(data: &[u8], header: Header, candidates: &[Version], unfinished: bool) -> Version {
    let mut best: Option<(Version, u64)> = None;
    for &v in candidates {
        let t = trial(data, header, v, unfinished);
        if t.clean {
            return v;
        }
        let further = match best {
            None => true,
            Some((_, reached)) => t.reached > reached,
        };
        if further {
            best = Some((v, t.reached));
        }
    }
    best.map_or(Version::LATEST, |(v, _)| v)
}

/// The version to read `data` with, and whether the log is unfinished.
pub(super) fn choose(
    data: &[u8],
    header: Header,
    opts: &ReadOptions,
) -> Result<(Version, bool), ReadError> {
    let unfinished = header.raw_version == 0;
    if let Some(v) = opts.version {
        let v = match (v, opts.numbering) {
            (Version::E0200c(_), Some(n)) => Version::E0200c(n),
            (v, _) => v,
        };
        return Ok((v, unfinished));
    }
    if unfinished {
        let candidates: Vec<Version> = match opts.numbering {
            Some(n) => vec![Version::E0200c(n), Version::E0200a],
            None => vec![
                Version::E0200c(Numbering::Qemu7_2),
                Version::E0200c(Numbering::Qemu7_1),
                Version::E0200a,
            ],
        };
        return Ok((best_of(data, header, &candidates, true), true));
    }
    let Some(v) = Version::from_raw(header.raw_version, opts.numbering) else {
        return Err(ReadError {
            offset: ByteOffset(0),
            index: EventIndex(0),
            kind: ReadErrorKind::UnknownVersion(header.raw_version),
        });
    };
    if !matches!(v, Version::E0200c(_)) || opts.numbering.is_some() {
        return Ok((v, false));
    }
    let last = if data.len() > HEADER_LEN {
        data.last().copied()
    } else {
        None
    };
    let v = match last {
        Some(END_7_2) => Version::E0200c(Numbering::Qemu7_2),
        Some(END_7_1) => Version::E0200c(Numbering::Qemu7_1),
        _ => best_of(
            data,
            header,
            &[
                Version::E0200c(Numbering::Qemu7_2),
                Version::E0200c(Numbering::Qemu7_1),
            ],
            false,
        ),
    };
    Ok((v, false))
}
