#!/usr/bin/env bash
# rrtool validate and dump on event-dense real logs, end to end (process
# start, mapping, everything, as a user runs them), side by side with QEMU's
# scripts/replay-dump.py. Numbers and how to read them:
# docs/benchmarks-rrtool.md ("Dense real logs").
#
#   rrtool/benches/dense.sh [WORKDIR]          (default /tmp/rrbench)
#
# Records the guest fixtures/dense/dense-16m.elf (an ecall every ~11
# instructions) with QEMU 10 and with emu (logs not in git: ~96 MB each),
# and a 4M-iteration build of the same source for replay-dump.py, which
# decodes these logs completely but takes ~3 us per event.
#
# replay-dump.py: REPLAY_DUMP=/path/to/replay-dump.py, or else it is taken
# from Debian's qemu source package (bookworm-backports, QEMU 10.0.2) with a
# private apt configuration built from this machine's own apt sources; it
# stays in WORKDIR and is never committed.
#
# Needs: qemu-system-riscv64, riscv64-unknown-elf-gcc, /usr/bin/time
# (package `time`), python3, apt-get (for replay-dump.py).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=${1:-/tmp/rrbench}
runs=${RUNS:-5}
mkdir -p "$work"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
cargo build --release -p rrtool
rr=$CARGO_TARGET_DIR/release/rrtool
emu=$CARGO_TARGET_DIR/debug/emu

# The guest: the committed 16M-iteration build, and a 4M one for the
# (slow) replay-dump.py comparison, built from the same source.
make -s -C fixtures/dense dense-16m.elf
if [ ! -f "$work/dense-4m.elf" ]; then
    cp fixtures/dense/{dense.S,dense.ld,Makefile} "$work/"
    sed -i 's/dense-50k/dense-4m/g; s/ITERATIONS=50000/ITERATIONS=4000000/' "$work/Makefile"
    make -s -C "$work" dense-4m.elf
fi

record_qemu() { # elf, log
    [ -f "$2" ] || qemu-system-riscv64 -M virt -m 128M -display none -serial null \
        -monitor none -bios none -net none -kernel "$1" \
        -icount "shift=3,rr=record,rrfile=$2"
}
record_qemu fixtures/dense/dense-16m.elf "$work/qemu-dense-16m.bin"
record_qemu "$work/dense-4m.elf" "$work/qemu-dense-4m.bin"
# emu only records the log: its speed is not measured here.
[ -f "$work/emu-dense-16m.bin" ] || cargo build -p emu
[ -f "$work/emu-dense-16m.bin" ] || "$emu" record --log "$work/emu-dense-16m.bin" \
    --bios none --kernel fixtures/dense/dense-16m.elf --serial null

dump_py=${REPLAY_DUMP:-$work/qemu-10.0.2/scripts/replay-dump.py}
if [ ! -f "$dump_py" ]; then
    apt=$work/apt
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
    uri=$("$root/scripts/debian-mirror.sh")
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri bookworm-backports main" \
        > "$apt/sources.list"
    printf 'Dir::Etc::SourceList "%s";\nDir::Etc::SourceParts "/dev/null";\nDir::State::Lists "%s";\nDir::Cache "%s";\n' \
        "$apt/sources.list" "$apt/lists" "$apt/cache" > "$apt/apt.conf"
    APT_CONFIG=$apt/apt.conf apt-get -q update
    # Only the upstream tarball is needed (the .dsc may already be gone).
    (cd "$work" && APT_CONFIG=$apt/apt.conf apt-get -q source --download-only qemu || true)
    tar -C "$work" -xJf "$work"/qemu_10.0.2+ds.orig.tar.xz qemu-10.0.2/scripts/replay-dump.py
fi
echo "replay-dump.py: $dump_py, md5 $(md5sum < "$dump_py" | cut -d' ' -f1)"

t() { # label, command...: wall, CPU and peak RSS of one run; output discarded
    local label=$1; shift
    /usr/bin/time -f "$label: %e s wall, user %U s, sys %S s, max RSS %M KB" "$@" > /dev/null
}

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
for log in "$work/qemu-dense-16m.bin" "$work/emu-dense-16m.bin" "$work/qemu-dense-4m.bin"; do
    name=$(basename "$log" .bin)
    echo "$name: $(stat -c %s "$log") bytes, $("$rr" stats "$log" --json | sed 's/.*"events":\([0-9]*\).*/\1/') events"
    cat "$log" > /dev/null # page cache warm, as for every run after the first
    for run in $(seq "$runs"); do
        t "validate $name #$run" "$rr" validate "$log"
        RRTOOL_ONE_THREAD=1 t "validate (one thread) $name #$run" "$rr" validate "$log"
    done
    for run in $(seq "$runs"); do
        t "dump $name #$run" "$rr" dump "$log"
        RRTOOL_ONE_THREAD=1 t "dump (one thread) $name #$run" "$rr" dump "$log"
    done
done
log=$work/qemu-dense-4m.bin
python3 "$dump_py" -f "$log" | tail -1
for run in 1 2; do
    t "replay-dump.py qemu-dense-4m #$run" python3 "$dump_py" -f "$log"
done
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
