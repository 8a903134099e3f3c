//! A stable-toolchain fuzz driver: the same property as the cargo-fuzz
//! target (`logfmt::fuzz_target::check`) over inputs mutated from the real
//! fixtures. A short run is part of the normal tests; the long run is
//! `#[ignore]`d:
//!
//! `LOGFMT_FUZZ_ITERS=5000000 cargo test -p logfmt --profile fast --test fuzz_driver -- --ignored --nocapture`

use logfmt::fuzz_target::check;
use logfmt::MappedLog;
use std::path::Path;
use std::time::Instant;

const SOURCES: &[&str] = &[
    "qemu-10.0.2/rv-linux-tiny-mincpu.bin",
    "qemu-10.0.2/rv-uboot-virtio-blk.bin",
    "qemu-10.0.2/uboot-killed-record.truncated.bin",
    "qemu-5.2/rv52-uboot-smode-serial.bin",
    "qemu-5.2/rv52-uboot-virtio-blk.bin",
];

/// xorshift64*: deterministic, so a failure can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A real log with the offsets where its events start.
struct Source {
    bytes: Vec<u8>,
    starts: Vec<usize>,
}

fn load() -> Vec<Source> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    SOURCES
        .iter()
        .map(|name| {
            let log = MappedLog::open(&dir.join(name)).unwrap();
            let starts = log
                .reader()
                .unwrap()
                .map_while(Result::ok)
                .map(|r| r.offset.0 as usize)
                .collect();
            Source {
                bytes: log.bytes().to_vec(),
                starts,
            }
        })
        .collect()
}

/// Ids and lengths that mean something to the parser.
const INTERESTING: &[u8] = &[
    0, 1, 2, 3, 4, 7, 9, 14, 20, 21, 22, 26, 27, 32, 38, 39, 40, 0x7f, 0x80, 0xff,
];

/// Header + a window of real events starting at an event boundary, then a
/// few random mutations; the first byte picks the layout for `check`.
fn make_input(rng: &mut Rng, sources: &[Source], buf: &mut Vec<u8>) {
    let src = &sources[rng.below(sources.len())];
    buf.clear();
    buf.push(rng.next() as u8);
    buf.extend_from_slice(&src.bytes[..12]);
    let start = src.starts[rng.below(src.starts.len())];
    let max = if rng.below(4) == 0 { 4096 } else { 256 };
    let len = 1 + rng.below(max);
    let end = (start + len).min(src.bytes.len());
    buf.extend_from_slice(&src.bytes[start..end]);
    // Sometimes end with the real END byte so detection takes the fast path.
    if rng.below(3) == 0 {
        buf.push(*src.bytes.last().unwrap());
    }
    for _ in 0..rng.below(5) {
        let n = buf.len();
        let at = 1 + rng.below(n - 1);
        match rng.below(7) {
            0 => buf[at] ^= 1 << rng.below(8),
            1 => buf[at] = INTERESTING[rng.below(INTERESTING.len())],
            2 => buf[at] = rng.next() as u8,
            3 => buf.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            4 => {
                buf.remove(at);
            }
            5 => buf.truncate(at.max(1)),
            _ => {
                // A big-endian 0xFFFFFFFF or 0 where a length might be.
                let v = if rng.below(2) == 0 { 0xff } else { 0 };
                for b in buf.iter_mut().skip(at).take(4) {
                    *b = v;
                }
            }
        }
        if buf.len() < 2 {
            break;
        }
    }
}

fn run(iters: u64, seed: u64) {
    let sources = load();
    let mut rng = Rng(seed);
    let mut buf = Vec::new();
    let t = Instant::now();
    let mut bytes = 0u64;
    for i in 0..iters {
        make_input(&mut rng, &sources, &mut buf);
        bytes += buf.len() as u64;
        let r = std::panic::catch_unwind(|| check(&buf));
        if r.is_err() {
            let path = std::env::temp_dir().join(format!("logfmt-fuzz-crash-{seed}-{i}.bin"));
            std::fs::write(&path, &buf).unwrap();
            panic!(
                "property failed on iteration {i} (seed {seed}); input saved to {}",
                path.display()
            );
        }
    }
    println!(
        "fuzz_driver: {iters} inputs, {bytes} bytes, seed {seed}, {:.1} s, no failure",
        t.elapsed().as_secs_f64()
    );
}

#[test]
fn short_fuzz_run() {
    run(100_000, 1);
}

#[test]
#[ignore = "long run; see the module doc"]
fn long_fuzz_run() {
    let iters = std::env::var("LOGFMT_FUZZ_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000_000);
    let seed = std::env::var("LOGFMT_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    run(iters, seed);
}

/// Inputs kept from fuzzing, beside the parser tests: `crash-*` files are
/// inputs that once broke the property (none so far), `corpus-*` files are
/// small samples of the cargo-fuzz corpus. All are replayed on every run.
#[test]
fn kept_fuzz_inputs() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-inputs");
    let mut n = 0;
    for e in std::fs::read_dir(&dir).expect("tests/fuzz-inputs") {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        check(&data);
        n += 1;
    }
    assert!(n > 0, "no kept fuzz inputs in {}", dir.display());
}
