//! `rrtool dump` text output on several threads, for large logs.
//!
//! Formatting a line costs several times more than decoding its event, so
//! one thread only decodes (to learn where each segment of events starts,
//! with its index and icount), two threads format segments into buffers
//! by decoding them again from there, and the calling thread writes the
//! buffers in order. Every byte of output is what the one-thread loop
//! writes; only the work is spread.

use std::collections::BTreeMap;

use crossbeam::channel::{bounded, Receiver, Sender};
use logfmt::{ByteOffset, EventIndex, Icount, ReadError, Reader};

use crate::input::Log;
use crate::output::{Output, Progress};
use crate::render::TextBuf;

/// Events per segment: ~1.5 MB of text, few hand-offs.
const SEGMENT_EVENTS: u64 = 1 << 15;

/// Formatting threads.
const WORKERS: usize = 2;

/// A run of events for one worker.
struct Job {
    seq: u64,
    offset: ByteOffset,
    index: EventIndex,
    /// Instructions before the first event.
    icount: Icount,
    events: u64,
    /// Where the segment ends (for progress and page release).
    end: u64,
}

/// Dumps events `from..end` of `reader`'s log as text to `out`. Returns the
/// read error that ended the log early, if any (after everything before it
/// was written).
pub fn dump_text(
    log: &Log,
    reader: Reader<'_>,
    from: u64,
    end: Option<u64>,
    out: &mut Output,
    progress: &Progress,
) -> std::io::Result<Option<ReadError>> {
    let (job_tx, job_rx) = bounded::<Job>(2 * WORKERS);
    let (buf_tx, buf_rx) = bounded::<(u64, u64, TextBuf)>(4 * WORKERS);
    // Written buffers go back to the workers: a fresh one per segment would
    // be zeroed and faulted in each time (that doubled the CPU time).
    let (free_tx, free_rx) = bounded::<TextBuf>(8 * WORKERS);
    std::thread::scope(|scope| {
        let template = reader.clone();
        let counter = scope.spawn(move || split_into_jobs(reader, from, end, job_tx));
        for _ in 0..WORKERS {
            let (jobs, bufs, free, template) = (
                job_rx.clone(),
                buf_tx.clone(),
                free_rx.clone(),
                template.clone(),
            );
            scope.spawn(move || format_jobs(&template, jobs, bufs, free));
        }
        drop((job_rx, buf_tx, free_rx));
        let written = write_in_order(log, &buf_rx, &free_tx, out, progress);
        // On a write error, stop the others: they see closed channels.
        drop(buf_rx);
        let failed = counter.join().expect("dump counter thread");
        written.map(|()| failed)
    })
}

/// Decodes the log once, cutting it into jobs. Returns the read error that
/// ended it early, if any.
fn split_into_jobs(
    mut reader: Reader<'_>,
    from: u64,
    end: Option<u64>,
    jobs: Sender<Job>,
) -> Option<ReadError> {
    let mut seq = 0;
    let mut current: Option<Job> = None;
    let mut failed = None;
    for item in reader.by_ref() {
        let rec = match item {
            Ok(rec) => rec,
            Err(e) => {
                failed = Some(e);
                break;
            }
        };
        let index = rec.index.0;
        if index < from {
            continue;
        }
        if end.is_some_and(|e| index >= e) {
            break;
        }
        let job = current.get_or_insert_with(|| Job {
            seq,
            offset: rec.offset,
            index: rec.index,
            icount: Icount(rec.icount.0 - u64::from(rec.event.instructions())),
            events: 0,
            end: 0,
        });
        job.events += 1;
        job.end = rec.offset.0 + u64::from(rec.len);
        if job.events == SEGMENT_EVENTS {
            seq += 1;
            if jobs.send(current.take().expect("job")).is_err() {
                return failed;
            }
        }
    }
    if let Some(job) = current {
        let _ = jobs.send(job);
    }
    failed
}

fn format_jobs(
    template: &Reader<'_>,
    jobs: Receiver<Job>,
    bufs: Sender<(u64, u64, TextBuf)>,
    free: Receiver<TextBuf>,
) {
    for job in jobs {
        let reader = template
            .resume(job.offset, job.index, job.icount)
            .expect("segments start at offsets the reader reported");
        let mut buf = free
            .try_recv()
            .unwrap_or_else(|_| TextBuf::with_capacity(64 * SEGMENT_EVENTS as usize));
        buf.restart();
        // The counter already decoded these events: they cannot fail.
        // Records are borrowed where the iterator returned them, as in the
        // one-thread loop (moving them out costs wide copies).
        let mut reader = reader.take(job.events as usize);
        #[allow(clippy::while_let_on_iterator)]
        while let Some(item) = reader.next() {
            if let Ok(rec) = &item {
                buf.text_line(rec.index.0, rec.offset.0, rec.icount.0, &rec.event);
            }
        }
        if bufs.send((job.seq, job.end, buf)).is_err() {
            return;
        }
    }
}

fn write_in_order(
    log: &Log,
    bufs: &Receiver<(u64, u64, TextBuf)>,
    free: &Sender<TextBuf>,
    out: &mut Output,
    progress: &Progress,
) -> std::io::Result<()> {
    let mut next = 0u64;
    let mut waiting: BTreeMap<u64, (u64, TextBuf)> = BTreeMap::new();
    for (seq, end, buf) in bufs {
        waiting.insert(seq, (end, buf));
        while let Some((end, buf)) = waiting.remove(&next) {
            out.writer().write_all(buf.as_bytes())?;
            progress.set(end);
            log.release_before(end);
            next += 1;
            let _ = free.try_send(buf);
        }
    }
    Ok(())
}
