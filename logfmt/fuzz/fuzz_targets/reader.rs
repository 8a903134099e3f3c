//! Reader over every layout + write-back round trip; the property lives in
//! `logfmt::fuzz_target::check` so the stable driver runs the same code.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    logfmt::fuzz_target::check(data);
});
