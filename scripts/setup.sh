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
  fonts-dejavu-core                                     # text in rrtool plot's PNG pictures
  time                                                  # /usr/bin/time in rrtool/benches/*.sh
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

add_backports() {
  grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/ && return 0
  local mirror
  if ! mirror=$("$(dirname "$0")/debian-mirror.sh"); then
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
