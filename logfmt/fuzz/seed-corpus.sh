#!/usr/bin/env bash
# Seeds corpus/reader from the real fixtures: for each log, its first 3000
# bytes and its header + last 2000 bytes. The first byte of a fuzz input
# picks the layout (0..6 = Version::ALL forced, 7 = auto-detect).
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p corpus/reader
i=0
for f in ../../fixtures/qemu-*/*.bin; do
    i=$((i + 1))
    { printf '\x07'; head -c 3000 "$f"; } > "corpus/reader/seed$i"
    { printf '\x02'; head -c 12 "$f"; tail -c 2000 "$f"; } > "corpus/reader/tail$i"
done
echo "seeded $(ls corpus/reader | wc -l) inputs"
