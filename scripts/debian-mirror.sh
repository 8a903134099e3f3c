#!/usr/bin/env bash
# Prints the Debian mirror this machine's apt already uses: the URIs of the
# deb822 entry whose Suites name bookworm (or of a one-line `deb` entry for
# bookworm). No mirror is written into this repository; setup.sh,
# debian-guest.py and rrtool/benches/dense.sh all take it from here.
# Exits 1, printing nothing, if there is none.
set -euo pipefail
for f in /etc/apt/sources.list.d/*.sources; do
  [ -e "$f" ] || continue
  m=$(awk 'BEGIN { RS = ""; FS = "\n" }
    {
      uris = ""; bookworm = 0
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris); sub(/[ \t].*/, "", uris) }
        if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) bookworm = 1
      }
      if (bookworm && uris != "") { print uris; exit }
    }' "$f")
  if [ -n "$m" ]; then echo "$m"; exit 0; fi
done
if [ -e /etc/apt/sources.list ]; then
  m=$(awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  if [ -n "$m" ]; then echo "$m"; exit 0; fi
fi
exit 1
