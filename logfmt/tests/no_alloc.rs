//! Reading allocates nothing per event: a counting global allocator sees
//! zero allocations while every event of the real fixtures is iterated.

use logfmt::MappedLog;
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn iterating_allocates_nothing() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    for name in [
        "qemu-10.0.2/rv-linux-tiny-mincpu.bin",
        "qemu-10.0.2/uboot-killed-record.truncated.bin",
        "qemu-5.2/rv52-uboot-virtio-blk.bin",
    ] {
        let log = MappedLog::open(&dir.join(name)).unwrap();
        let reader = log.reader().unwrap();
        let before = ALLOCS.load(Ordering::Relaxed);
        let mut events = 0u64;
        let mut last_icount = 0;
        for rec in reader {
            match rec {
                Ok(r) => {
                    events += 1;
                    last_icount = r.icount.0;
                }
                // The killed log ends in a Truncated error; building it
                // allocates nothing either.
                Err(e) => assert!(e.offset.0 > 0),
            }
        }
        let after = ALLOCS.load(Ordering::Relaxed);
        assert!(events > 5_000 && last_icount > 0, "{name}");
        assert_eq!(
            after - before,
            0,
            "{name}: {events} events, {} allocations",
            after - before
        );
    }
}
