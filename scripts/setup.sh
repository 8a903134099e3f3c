#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian bookworm machine (as root, or with sudo),
# then fetches and builds the Debian guest. Idempotent: what is present is skipped quickly.
set -euo pipefail

# QEMU 10 (the reference we compare against) and OpenSBI 1.5.1 come from bookworm-backports.
BACKPORTS=(qemu-system-misc opensbi)
PACKAGES=(
  gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf  # rebuilds and checks our guest programs
  device-tree-compiler                                  # compares our device tree with QEMU's
  gdb-multiarch                                         # real gdb as a client
  u-boot-qemu                                           # Debian's U-Boot images, checked against fixtures
  libslirp-dev pkg-config                               # user-mode networking backend
  libglib2.0-dev                                        # slirp.pc requires glib-2.0.pc
  python3                                               # QEMU's replay-dump.py in benchmarks, debian-guest.py
  e2fsprogs                                             # mkfs.ext4/debugfs for the Debian guest's disk
  debian-archive-keyring                                # trixie's key: the Debian guest's packages
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# The Debian mirror this machine already uses: the URIs of the deb822 entry
# whose Suites name bookworm (or of a one-line `deb` entry for bookworm).
# No mirror is written into this repository.
debian_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
      {
        uris = ""; bookworm = 0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris); sub(/[ \t].*/, "", uris) }
          if ($i ~ /^Suites:/ && $i ~ /[ \t]bookworm([ \t]|$)/) bookworm = 1
        }
        if (bookworm && uris != "") { print uris; exit }
      }' "$f"
  done
  if [ -e /etc/apt/sources.list ]; then
    awk '$1 == "deb" && $0 ~ / bookworm / { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' /etc/apt/sources.list
  fi
}

add_backports() {
  grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
  local mirror
  mirror=$(debian_mirror | head -n 1)
  if [ -z "$mirror" ]; then
    echo "setup: no Debian bookworm entry in /etc/apt/sources.list{,.d}: cannot add bookworm-backports" >&2
    exit 1
  fi
  echo "setup: adding bookworm-backports from $mirror"
  $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null <<SRC
Types: deb
URIs: $mirror
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
}

missing=()
for p in "${PACKAGES[@]}" "${BACKPORTS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
else
  echo "setup: installing ${missing[*]}"
  add_backports
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
  $SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports "${BACKPORTS[@]}"
fi

# Debian trixie's stock riscv64 kernel + busybox, fetched by package name
# through a private apt configuration, pinned by sha256, cached outside git
# (~115 MB once, into ${RR_CACHE:-~/.cache/rr-virt}); emu/tests/debian_guest.rs.
python3 "$(dirname "$0")/debian-guest.py" >/dev/null
echo "setup: Debian guest ready"
