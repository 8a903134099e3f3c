#!/usr/bin/env python3
"""Debian trixie's stock riscv64 kernel as a test guest (docs/debian-guest.md).

    scripts/debian-guest.py                 fetch the pinned packages, build the guest
    scripts/debian-guest.py --update-pins   same, accepting what trixie has now (rewrites the pins)
    scripts/debian-guest.py record [--emu PATH]
                                            also record "boot, one command, poweroff" on emu

Packages come from Debian trixie (riscv64) by name, through a private apt configuration that
uses the mirror of this machine's own apt sources and trixie's archive key: apt checks the
InRelease signature and the sha256 chain from it down to each .deb. Each .deb's sha256 is also
pinned in fixtures/debian/packages.sha256 and checked on every run. Everything downloaded or
built lives outside git, in ${RR_CACHE:-$HOME/.cache/rr-virt}/debian-trixie/; a second run with
everything in place touches no network and rebuilds nothing.

Built (in CACHE/guest/): Image (the kernel, a flat Image with an EFI header), initrd.cpio (cpio
newc: static busybox, the modules for virtio-mmio, virtio-blk, virtio-net and ext4 with their
dependencies, fixtures/debian/init), disk.img (ext4, made with mkfs.ext4 -d, no root needed),
www/greeting.txt (served to the guest over HTTP by whoever runs it). Prints CACHE/guest.
"""

import argparse
import contextlib
import hashlib
import http.server
import lzma
import os
import select
import shlex
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PINS = REPO / "fixtures" / "debian" / "packages.sha256"
INIT = REPO / "fixtures" / "debian" / "init"
SUITE = "trixie"
ARCH = "riscv64"
KEYRING = Path("/usr/share/keyrings/debian-archive-trixie-stable.gpg")
META = "linux-image-riscv64"
PACKAGES = [META, "busybox-static"]
# Loaded by /init in this order after their dependencies. crc32c_generic is
# not a link-time dependency of ext4 or jbd2: they ask the crypto API for
# "crc32c" at mount time, which would need a modprobe the initramfs lacks.
MODULES = ["virtio_mmio", "virtio_blk", "virtio_net", "crc32c_generic", "ext4"]
# The disk and the initramfs are built the same every time (fixed times,
# UUID and hash seed), so a recording's LOG.machine sums stay valid.
FIXED_TIME = 1767225600  # 2026-01-01T00:00:00Z
DISK_UUID = "5e1f0c9a-7d0b-4c65-9e5f-2a51d7c0ffee"
DISK_MB = 16
HELLO = "hello from the ext4 disk\n"
GREETING = "greeting over HTTP from the host through slirp\n"
# What the recording types once the shell is up (the test types the same).
SESSION_SCRIPT = """\
expect init: ready
expect # 
send cat /proc/cpuinfo
expect # 
send uname -a
expect # 
send poweroff -f
"""


class Failure(Exception):
    pass


def cache_dir() -> Path:
    base = os.environ.get("RR_CACHE") or str(Path.home() / ".cache" / "rr-virt")
    return Path(base) / "debian-trixie"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_pins() -> dict:
    pins = {}
    for n, line in enumerate(PINS.read_text().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or len(parts[0]) != 64:
            raise Failure(f"{PINS}:{n}: expected `SHA256  FILE.deb`, got `{line}`")
        pins[parts[1]] = parts[0]
    return pins


def write_pins(debs: dict) -> None:
    lines = [
        "# sha256 of the Debian trixie riscv64 packages scripts/debian-guest.py uses.",
        "# To move to what trixie has now: scripts/debian-guest.py --update-pins, then commit.",
    ]
    lines += [f"{sha}  {name}" for name, sha in sorted(debs.items())]
    tmp = PINS.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.rename(PINS)


def mirror() -> str:
    """The Debian mirror of this machine's own apt sources (never a name of
    ours), as scripts/debian-mirror.sh finds it for every script here."""
    found = subprocess.run([str(Path(__file__).with_name("debian-mirror.sh"))],
                           capture_output=True, text=True)
    if found.returncode != 0 or not found.stdout.strip():
        raise Failure("no Debian bookworm entry in /etc/apt/sources.list.d/*.sources (URIs:) or sources.list")
    return found.stdout.strip()


class Apt:
    """apt-get and apt-cache on a private configuration: own sources, state and cache."""

    def __init__(self, root: Path):
        self.root = root
        if not KEYRING.exists():
            raise Failure(
                f"{KEYRING} is missing: install debian-archive-keyring (2023.3 or later has "
                "trixie's keys); without it apt cannot check trixie's signature"
            )
        for d in ["etc/apt.conf.d", "state/lists/partial", "cache/archives/partial"]:
            (root / d).mkdir(parents=True, exist_ok=True)
        src = root / "etc" / "sources.list"
        src.write_text(f"deb [arch={ARCH} signed-by={KEYRING}] {mirror()} {SUITE} main\n")
        self.opts = [
            f"-oDir::Etc::SourceList={src}",
            "-oDir::Etc::SourceParts=-",
            # No host apt.conf.d: it would add index targets (DEP-11, ...) we do not need.
            f"-oDir::Etc::Parts={root / 'etc' / 'apt.conf.d'}",
            "-oDir::Etc::Preferences=/dev/null",
            "-oDir::Etc::PreferencesParts=-",
            f"-oDir::State={root / 'state'}",
            "-oDir::State::Status=/dev/null",
            f"-oDir::Cache={root / 'cache'}",
            f"-oAPT::Architecture={ARCH}",
            f"-oAPT::Architectures={ARCH}",
            "-oAcquire::Languages=none",
        ]
        if os.geteuid() == 0:
            # apt's _apt download user cannot write into root's home cache.
            self.opts.append("-oAPT::Sandbox::User=root")

    def run(self, tool: str, *args: str, cwd: Path | None = None) -> str:
        cmd = [tool, *self.opts, *args]
        p = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
        if p.returncode != 0:
            raise Failure(f"{' '.join([tool, *args])} failed:\n{p.stdout}{p.stderr}")
        return p.stdout

    def update(self) -> None:
        log(f"apt: updating the {SUITE}/{ARCH} index (signature: {KEYRING.name})")
        self.run("apt-get", "-q", "update")

    def depends(self, pkg: str) -> list:
        out = self.run("apt-cache", "show", "--no-all-versions", pkg)
        for line in out.splitlines():
            if line.startswith("Depends:"):
                return [d.split()[0] for d in line[len("Depends:") :].split(",")]
        return []

    def download(self, pkgs: list, into: Path) -> None:
        self.run("apt-get", "-q", "download", *pkgs, cwd=into)


def log(msg: str) -> None:
    print(f"debian-guest: {msg}", file=sys.stderr)


def fetch_packages(cache: Path, update_pins: bool) -> dict:
    """The pinned .debs in CACHE/debs (downloaded when missing), name -> path."""
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    pins = {} if update_pins else read_pins()
    if pins and all((debs / n).exists() and sha256(debs / n) == s for n, s in pins.items()):
        return {n: debs / n for n in pins}
    apt = Apt(cache / "apt")
    apt.update()
    image = [d for d in apt.depends(META) if d.startswith("linux-image-")]
    if len(image) != 1:
        raise Failure(f"{META} in {SUITE} should depend on one linux-image-*: {image}")
    want = PACKAGES + image
    with tempfile.TemporaryDirectory(dir=debs) as tmp:
        apt.download(want, Path(tmp))
        got = {p.name: sha256(p) for p in Path(tmp).iterdir()}
        if len(got) != len(want):
            raise Failure(f"apt-get download {' '.join(want)} gave {sorted(got)}")
        if update_pins:
            write_pins(got)
            log(f"pinned {len(got)} packages in {PINS.relative_to(REPO)}")
        elif got != pins:
            now = "\n".join(f"  {s}  {n}" for n, s in sorted(got.items()))
            raise Failure(
                f"Debian {SUITE} now has other packages than pinned in {PINS}:\n{now}\n"
                "To move the pin: scripts/debian-guest.py --update-pins, check the guest "
                "still passes (cargo test -p emu --features user-net --test debian_guest), "
                "and commit fixtures/debian/packages.sha256."
            )
        for name in got:
            os.replace(Path(tmp) / name, debs / name)
    return {n: debs / n for n in got}


def extract(deb: Path, cache: Path) -> Path:
    """The .deb's files, unpacked once into CACHE/root/SHA."""
    dest = cache / "root" / sha256(deb)[:16]
    if (dest / ".done").exists():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    tmp = dest.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True)
    (tmp / ".done").touch()
    tmp.rename(dest)
    return dest


def modinfo(ko: bytes, path: Path) -> dict:
    """The key=value strings of an ELF64 module's .modinfo section."""
    if ko[:4] != b"\x7fELF" or ko[4] != 2:
        raise Failure(f"{path}: not an ELF64 module")
    shoff = struct.unpack_from("<Q", ko, 0x28)[0]
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", ko, 0x3A)
    secs = [struct.unpack_from("<IIQQQQIIQQ", ko, shoff + i * shentsize) for i in range(shnum)]
    names = secs[shstrndx][4]
    for s in secs:
        name = ko[names + s[0] : ko.index(b"\0", names + s[0])]
        if name == b".modinfo":
            info = {}
            for kv in ko[s[4] : s[4] + s[5]].split(b"\0"):
                k, _, v = kv.decode().partition("=")
                if k:
                    info[k] = v
            return info
    raise Failure(f"{path}: no .modinfo section")


def resolve_modules(moddir: Path) -> list:
    """(name, uncompressed bytes) of MODULES and their dependencies, in load order.

    The package has no modules.dep (depmod makes it at install), so the
    dependencies come from each module's own `depends=`. The modules are
    decompressed: busybox insmod hands the kernel the file as it is."""
    files = {}
    for p in moddir.rglob("*.ko*"):
        files[p.name.split(".ko")[0].replace("-", "_")] = p
    order, seen = [], set()

    def visit(name: str, chain: list) -> None:
        if name in seen:
            return
        if name in chain:
            raise Failure(f"module dependency loop: {' -> '.join(chain + [name])}")
        p = files.get(name)
        if p is None:
            raise Failure(f"module {name} not in {moddir} (needed by {' -> '.join(chain)})")
        data = p.read_bytes()
        if p.name.endswith(".xz"):
            data = lzma.decompress(data)
        elif not p.name.endswith(".ko"):
            raise Failure(f"{p}: unknown module compression")
        for dep in filter(None, modinfo(data, p).get("depends", "").split(",")):
            visit(dep, chain + [name])
        seen.add(name)
        order.append((name, data))

    for m in MODULES:
        visit(m, [])
    return order


class Cpio:
    """A cpio archive in the kernel's `newc` format, made without root."""

    def __init__(self):
        self.out = bytearray()
        self.ino = 1

    def add(self, name: str, mode: int, data: bytes = b"", rdev=(0, 0)) -> None:
        fields = [self.ino, mode, 0, 0, 1, FIXED_TIME, len(data), 0, 0, rdev[0], rdev[1]]
        fields += [len(name) + 1, 0]
        self.ino += 1
        self.out += b"070701" + b"".join(b"%08X" % f for f in fields)
        self.out += name.encode() + b"\0"
        self.out += b"\0" * (-len(self.out) % 4)
        self.out += data
        self.out += b"\0" * (-len(self.out) % 4)

    def dir(self, name: str) -> None:
        self.add(name, 0o040755)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self.add(name, 0o100000 | mode, data)

    def symlink(self, name: str, target: str) -> None:
        self.add(name, 0o120777, target.encode())

    def finish(self) -> bytes:
        self.add("TRAILER!!!", 0)
        self.out += b"\0" * (-len(self.out) % 512)
        return bytes(self.out)


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.rename(path)


def build_initramfs(busybox: Path, modules: list) -> bytes:
    c = Cpio()
    for d in ["bin", "dev", "etc", "lib", "lib/modules", "mnt", "proc", "sys", "tmp"]:
        c.dir(d)
    # The kernel opens /dev/console for init before anything is mounted.
    c.add("dev/console", 0o020600, rdev=(5, 1))
    c.file("bin/busybox", busybox.read_bytes(), 0o755)
    c.symlink("bin/sh", "busybox")
    c.file("init", INIT.read_bytes(), 0o755)
    c.file("etc/modules", "".join(f"{n}\n" for n, _ in modules).encode())
    for name, data in modules:
        c.file(f"lib/modules/{name}.ko", data)
    return c.finish()


def build_disk(path: Path) -> None:
    with tempfile.TemporaryDirectory() as src:
        Path(src, "hello.txt").write_text(HELLO)
        os.utime(Path(src, "hello.txt"), (FIXED_TIME, FIXED_TIME))
        os.utime(src, (FIXED_TIME, FIXED_TIME))
        tmp = path.with_name(path.name + ".tmp")
        tmp.unlink(missing_ok=True)
        env = dict(os.environ, E2FSPROGS_FAKE_TIME=str(FIXED_TIME), SOURCE_DATE_EPOCH=str(FIXED_TIME))
        p = subprocess.run(
            ["mkfs.ext4", "-q", "-F", "-U", DISK_UUID, "-E", f"hash_seed={DISK_UUID}",
             "-L", "rrdisk", "-d", src, str(tmp), f"{DISK_MB}M"],
            env=env, capture_output=True, text=True,
        )
        if p.returncode != 0:
            raise Failure(f"mkfs.ext4 failed (package e2fsprogs):\n{p.stderr}")
        # mkfs.ext4 -d copies each file's ctime, which only root could set on
        # the source; debugfs sets it in the image instead.
        stamp = "@" + str(FIXED_TIME)
        cmds = "".join(f"set_inode_field {f} ctime {stamp}\n" for f in ["/", "/hello.txt"])
        p = subprocess.run(["debugfs", "-w", "-f", "-", str(tmp)], input=cmds,
                           capture_output=True, text=True)
        if p.returncode != 0 or "rror" in p.stderr:
            raise Failure(f"debugfs (package e2fsprogs) could not fix the times:\n{p.stderr}")
        tmp.rename(path)


def build(update_pins: bool) -> Path:
    cache = cache_dir()
    debs = fetch_packages(cache, update_pins)
    guest = cache / "guest"
    guest.mkdir(parents=True, exist_ok=True)
    stamp_want = hashlib.sha256(
        PINS.read_bytes() + INIT.read_bytes() + Path(__file__).read_bytes()
    ).hexdigest()
    stamp = guest / "stamp"
    if stamp.exists() and stamp.read_text() == stamp_want:
        return guest
    stamp.unlink(missing_ok=True)
    image_deb = next(p for n, p in debs.items() if n.startswith("linux-image-6"))
    bb_deb = next(p for n, p in debs.items() if n.startswith("busybox-static"))
    kroot, bbroot = extract(image_deb, cache), extract(bb_deb, cache)
    kernels = sorted((kroot / "boot").glob("vmlinu*-*"))
    if len(kernels) != 1:
        raise Failure(f"{image_deb}: expected one boot/vmlinu*, found {kernels}")
    version = kernels[0].name.split("-", 1)[1]
    modules = resolve_modules(kroot / "usr" / "lib" / "modules" / version)
    log(f"kernel {version}; modules {' '.join(n for n, _ in modules)}")
    write_atomic(guest / "Image", kernels[0].read_bytes())
    write_atomic(guest / "initrd.cpio", build_initramfs(bbroot / "usr/bin/busybox", modules))
    build_disk(guest / "disk.img")
    (guest / "www").mkdir(exist_ok=True)
    write_atomic(guest / "www" / "greeting.txt", GREETING.encode())
    (guest / "session.script").write_text(SESSION_SCRIPT)
    stamp.write_text(stamp_want)
    return guest


def machine_args(guest: Path, port: int, disk: Path, snapshot: str) -> list:
    """The command line QEMU and emu share (docs/debian-guest.md): QEMU 10's
    default CPU less H and debug triggers, which emu does not implement."""
    return [
        "-M", "virt", "-cpu", "rv64,h=off,debug=off", "-m", "512M", "-nographic",
        "-bios", "default",
        "-kernel", str(guest / "Image"),
        "-initrd", str(guest / "initrd.cpio"),
        "-append", f"console=ttyS0 rr.http={port}",
        "-drive", f"file={disk},format=raw,if=none,id=d,snapshot={snapshot}",
        "-device", "virtio-blk-device,drive=d",
        "-netdev", "user,id=n",
        "-device", "virtio-net-device,netdev=n",
    ]


@contextlib.contextmanager
def http_server(root: Path):
    """Serves ROOT on 127.0.0.1 (guest: 10.0.2.2) on a free port until the block ends."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *a, **kw):
            super().__init__(*a, directory=str(root), **kw)

        def log_message(self, *a):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv.server_address[1]
    finally:
        srv.shutdown()
        srv.server_close()


def drive(argv: list, script: str, timeout: float = 900) -> tuple:
    """Runs argv, typing SCRIPT into its console over stdin (expect/send,
    one key at a time); returns (console output, stderr, exit code)."""
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)
        out, seen = b"", 0
        deadline = time.monotonic() + timeout
        try:
            for line in script.splitlines():
                cmd, _, arg = line.partition(" ")
                if cmd == "expect":
                    while (at := out.replace(b"\r", b"").find(arg.encode(), seen)) < 0:
                        ready, _, _ = select.select([p.stdout], [], [], 1)
                        chunk = os.read(p.stdout.fileno(), 65536) if ready else b""
                        if (ready and not chunk) or time.monotonic() > deadline:
                            raise Failure(f"`{arg}` never came; console:\n{out.decode(errors='replace')}")
                        out += chunk
                    seen = at + len(arg)
                elif cmd == "send":
                    for b in (arg + "\r").encode():
                        p.stdin.write(bytes([b]))
                        p.stdin.flush()
                        time.sleep(0.005)
            p.stdin.close()
            out += p.stdout.read()
            code = p.wait(timeout=max(1, deadline - time.monotonic()))
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        err.seek(0)
        return out.decode(errors="replace"), err.read().decode(errors="replace"), code


def record(guest: Path, emu: str) -> None:
    """Records the session on emu into CACHE/recording, with replay.sh beside it."""
    out = cache_dir() / "recording"
    out.mkdir(exist_ok=True)
    found = shutil.which(emu)
    if found is None:
        raise Failure(f"{emu} not found: cargo build --release -p emu --features user-net, or --emu PATH")
    emu = str(Path(found).resolve())
    # The session writes the disk (the fetched file): the recording and each
    # replay start from their own copy of the built image.
    disk = out / "disk-record.img"
    shutil.copyfile(guest / "disk.img", disk)
    log_file = out / "debian.bin"
    with http_server(guest / "www") as port:
        argv = [emu, "record", "--log", str(log_file), "--force", "--digest",
                *machine_args(guest, port, disk, "off")]
        log("recording: " + " ".join(argv))
        console, err, code = drive(argv, SESSION_SCRIPT)
    if code != 0:
        raise Failure(f"emu record exited {code}:\n{err}")
    (out / "record.serial").write_text(console)
    (out / "record.digest").write_text(err)
    replay_disk = out / "disk-replay.img"
    replay = [emu, "replay", "--log", str(log_file), "--digest",
              *machine_args(guest, port, replay_disk, "off")]
    (out / "replay.sh").write_text(
        "#!/bin/sh\n"
        "# Replays the recording (extra emu options may follow, e.g. -s -S for gdb).\n"
        "# The disk starts from the image the recording started from.\n"
        f"cp {shlex.quote(str(guest / 'disk.img'))} {shlex.quote(str(replay_disk))}\n"
        f"exec {' '.join(shlex.quote(a) for a in replay)} \"$@\"\n"
    )
    (out / "replay.sh").chmod(0o755)
    log(f"recorded {err.strip()}")
    print(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", nargs="?", choices=["build", "record"], default="build")
    ap.add_argument("--update-pins", action="store_true", help="accept trixie's packages as they are now")
    ap.add_argument("--emu", default=str(REPO / "target" / "release" / "emu"), help="emu binary for record")
    a = ap.parse_args()
    try:
        guest = build(a.update_pins)
        if a.mode == "record":
            record(guest, a.emu)
        else:
            print(guest)
    except Failure as e:
        print(f"debian-guest: error: {e}", file=sys.stderr)
        return 1
    except (OSError, subprocess.CalledProcessError) as e:
        # A missing tool (apt-get, dpkg-deb, mkfs.ext4) or an unreadable/unwritable file.
        print(f"debian-guest: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
