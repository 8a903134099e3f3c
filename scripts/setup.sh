#!/usr/bin/env bash
# Installs what the test suite needs on a fresh Debian bookworm machine (as root, or with sudo).
# Idempotent: packages already present are skipped quickly.
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
  python3                                               # QEMU's replay-dump.py in benchmarks
)

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}" "${BACKPORTS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi
echo "setup: installing ${missing[*]}"

if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
  $SUDO tee /etc/apt/sources.list.d/bookworm-backports.sources >/dev/null <<'SRC'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}"
$SUDO apt-get install -y -qq --no-install-recommends -t bookworm-backports "${BACKPORTS[@]}"
