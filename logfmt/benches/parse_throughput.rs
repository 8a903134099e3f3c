//! Full-parse throughput on a >= 1 GiB log with the event mix of a real one.
//!
//! Builds the log from `fixtures/qemu-10.0.2/rv-linux-tiny-mincpu.bin`: the
//! middle 80 % of its events (INSTRUCTION, EXCEPTION, INTERRUPT, CHAR_WRITE,
//! clocks, checkpoints, ASYNC_CHAR_READ) repeated, with CP_INIT in front and
//! SHUTDOWN host-signal + END at the back, written with `logfmt::Writer` to
//! a temporary file (deleted at the end). Then maps it and times full
//! parses: iterate every event, sum the instruction count.
//!
//! Run: `cargo bench -p logfmt --bench parse_throughput`
//! (`LOGFMT_BENCH_BYTES=N` changes the size, `LOGFMT_BENCH_RUNS=N` the number
//! of timed parses).

use logfmt::{Checkpoint, Event, MappedLog, OwnedEvent, ShutdownCause, Version, Writer};
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Instant;

fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time this thread has run, in seconds (first field of schedstat, ns).
/// On a shared machine wall time includes waiting for a core; CPU time is
/// what the parse itself costs on one core.
fn thread_cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
        })
        .map_or(f64::NAN, |ns| ns as f64 / 1e9)
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; anything else (e.g. `cargo test
    // --benches`) must not write a gigabyte.
    if !std::env::args().any(|a| a == "--bench") {
        println!("parse_throughput: run with `cargo bench` (skipped)");
        return;
    }
    let target = env_u64("LOGFMT_BENCH_BYTES", 1 << 30);
    let runs = env_u64("LOGFMT_BENCH_RUNS", 5);

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures/qemu-10.0.2/rv-linux-tiny-mincpu.bin");
    let src = MappedLog::open(&fixture).expect("fixture");
    let all: Vec<OwnedEvent> = src
        .reader()
        .expect("fixture header")
        .map(|r| r.expect("fixture parses").event.to_owned())
        .collect();
    let chunk = &all[all.len() / 10..all.len() * 9 / 10];
    let chunk_instr: u64 = chunk
        .iter()
        .map(|e| u64::from(e.as_event().instructions()))
        .sum();

    // --- generate ---
    let tmp = tempfile::Builder::new()
        .prefix("logfmt-bench-")
        .suffix(".bin")
        .tempfile()
        .expect("temp file");
    let t0 = Instant::now();
    let mut w = Writer::new(
        BufWriter::with_capacity(1 << 20, tmp.as_file()),
        Version::LATEST,
    )
    .expect("writer");
    w.write(&Event::Checkpoint(Checkpoint::Init)).unwrap();
    let mut repeats = 0u64;
    while w.position().0 < target {
        for e in chunk {
            w.write(&e.as_event()).unwrap();
        }
        repeats += 1;
    }
    w.write(&Event::Shutdown(ShutdownCause::HostSignal))
        .unwrap();
    w.write(&Event::End).unwrap();
    let events_written = w.events_written();
    let mut out = w.finish().unwrap();
    out.flush().unwrap();
    drop(out);
    let gen_secs = t0.elapsed().as_secs_f64();
    let size = tmp.as_file().metadata().unwrap().len();
    println!(
        "generated {size} bytes, {events_written} events ({repeats} x {} events) in {gen_secs:.2} s \
         = {:.2} GB/s write",
        chunk.len(),
        size as f64 / gen_secs / 1e9
    );
    let hwm_after_gen = status_kib("VmHWM:");

    // --- parse ---
    let log = MappedLog::open(tmp.path()).expect("map");

    // First a streaming pass that hands pages back behind the reader, so
    // the peak resident set shows the parser's own footprint rather than
    // the mapped file's (measured before any pass has kept pages mapped).
    let t = Instant::now();
    let cpu0 = thread_cpu_secs();
    let mut next_release = 0u64;
    let mut events = 0u64;
    for rec in log.reader().expect("header") {
        let rec = rec.expect("generated log parses");
        if rec.offset.0 >= next_release {
            log.release_before(rec.offset);
            next_release = rec.offset.0 + (16 << 20);
        }
        events += 1;
    }
    assert_eq!(events, events_written);
    let (secs, cpu) = (t.elapsed().as_secs_f64(), thread_cpu_secs() - cpu0);
    println!(
        "streaming pass (release_before every 16 MiB): wall {secs:.3} s = {:.2} GB/s, cpu {cpu:.3} s \
         = {:.2} GB/s; VmHWM = {} kB, RssFile = {} kB",
        size as f64 / secs / 1e9,
        size as f64 / cpu / 1e9,
        status_kib("VmHWM:"),
        status_kib("RssFile:")
    );
    let mut best = f64::MAX;
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    for run in 0..=runs {
        let t = Instant::now();
        let cpu0 = thread_cpu_secs();
        let reader = log.reader().expect("header");
        let mut icount = 0u64;
        let mut events = 0u64;
        for rec in reader {
            let rec = rec.expect("generated log parses");
            icount = rec.icount.0;
            events += 1;
        }
        let secs = t.elapsed().as_secs_f64();
        let cpu = thread_cpu_secs() - cpu0;
        assert_eq!(events, events_written);
        assert_eq!(icount, repeats * chunk_instr);
        // Run 0 faults the pages in; it is reported but not counted.
        println!(
            "parse run {run}{}: {events} events, icount {icount}, wall {secs:.3} s = {:.2} GB/s, \
             cpu {cpu:.3} s = {:.2} GB/s, {:.1} M events/s (cpu)",
            if run == 0 { " (warm-up)" } else { "" },
            size as f64 / secs / 1e9,
            size as f64 / cpu / 1e9,
            events as f64 / cpu / 1e6
        );
        if run > 0 {
            best = best.min(secs);
            times.push(secs);
            cpu_times.push(cpu);
        }
    }
    times.sort_by(f64::total_cmp);
    cpu_times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    let cpu_median = cpu_times[cpu_times.len() / 2];
    println!(
        "RESULT size={size} B events={events_written} wall: best={:.2} GB/s median={:.2} GB/s; \
         cpu: best={:.2} GB/s median={:.2} GB/s",
        size as f64 / best / 1e9,
        size as f64 / median / 1e9,
        size as f64 / cpu_times[0] / 1e9,
        size as f64 / cpu_median / 1e9
    );
    println!(
        "load average: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    println!(
        "memory: VmHWM after generating = {hwm_after_gen} kB; after parsing: VmHWM = {} kB, \
         RssAnon = {} kB, RssFile = {} kB (the mapped log's pages count as RssFile)",
        status_kib("VmHWM:"),
        status_kib("RssAnon:"),
        status_kib("RssFile:")
    );
    drop(log);
    tmp.close().expect("delete temp file");
}
