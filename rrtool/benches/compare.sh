#!/usr/bin/env bash
# rrtool throughput and memory benchmark, side by side with QEMU's
# scripts/replay-dump.py. Numbers and how to read them: docs/benchmarks-rrtool.md.
#
#   rrtool/benches/compare.sh [WORKDIR]          (default /tmp/rrbench)
#
# Needs: /usr/bin/time (package `time`), python3. For the replay-dump.py
# column set REPLAY_DUMP=/path/to/replay-dump.py (QEMU 10.0.2's, from
# Debian's qemu source package; see the doc for how to get it). The logs
# are generated from a real fixture with the hidden `rrtool bench-gen`.
set -euo pipefail
cd "$(dirname "$0")/../.."
work=${1:-/tmp/rrbench}
mkdir -p "$work"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -p rrtool
rr=$CARGO_TARGET_DIR/release/rrtool
template=fixtures/qemu-10.0.2/rv-uboot-smode-serial.bin

for size in 32 100 1024; do
    log=$work/bench-${size}m.bin
    [ -f "$log" ] || "$rr" bench-gen "$template" -o "$log" --size-mib "$size"
done

t() { # label, command...: wall, CPU and peak RSS of one run
    local label=$1; shift
    /usr/bin/time -f "$label: %e s wall, user %U s, sys %S s, max RSS %M KB" "$@" > /dev/null
}

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for size in 100 1024; do
    log=$work/bench-${size}m.bin
    cat "$log" > /dev/null # page cache warm, as for every run after the first
    for run in 1 2 3; do
        t "validate ${size}M #$run" "$rr" validate "$log"
        t "stats ${size}M #$run" "$rr" stats "$log"
        t "dump ${size}M #$run" "$rr" dump "$log"
    done
    t "upgrade-to-a ${size}M" "$rr" convert "$log" -o "$work/conv-${size}m-a.bin" --to e0200a --force
    t "diff ${size}M vs its 0xe0200a form" "$rr" diff "$log" "$work/conv-${size}m-a.bin"
done
log=$work/bench-32m.bin
for run in 1 2 3; do
    t "dump 32M #$run" "$rr" dump "$log"
done
if [ -n "${REPLAY_DUMP:-}" ]; then
    for run in 1 2; do
        t "replay-dump.py 32M #$run" python3 "$REPLAY_DUMP" -f "$log"
    done
fi
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
