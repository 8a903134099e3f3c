#!/usr/bin/env python3
"""Side-by-side benchmark of emu and QEMU 10 on the same guest.

Both run M-mode U-Boot 2023.01 as the only firmware (mincpu), driven over a
pipe by this script:
  1. boot-to-prompt: wall time from process start until U-Boot's `=>`
     prompt (autoboot is stopped with a key as soon as it offers to);
  2. CPU-bound: `crc32 0x80200000 0x4000000` (64 MiB), wall time from
     typing the command to the next prompt;
  3. OpenSBI + Linux 6.1 tiny (mincpu): wall time from start to init's
     `Type a line:` prompt.
MIPS for the crc32 uses emu's exact instruction count for that command
(the difference of --digest icounts with and without it; the guest code is
the same under QEMU). QEMU runs with `-icount shift=auto`.

Usage: scripts/bench-emu.py [--emu PATH] [--runs N]
"""
import argparse
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UBOOT = os.path.join(ROOT, "fixtures/guest/u-boot-2023.01-qemu-riscv64-mmode.bin")
MINCPU = "rv64i,m=on,a=on,c=on,zicsr=on,zifencei=on,zicntr=on,s=on,u=on,mmu=on,sv39=on,pmp=on,debug=off"
CRC_CMD = "crc32 0x80200000 0x4000000"
SBI = os.path.join(ROOT, "fixtures/guest/opensbi-1.5.1-fw_dynamic.bin")
KIMG = os.path.join(ROOT, "fixtures/guest/linux-6.1.192-tiny-Image")
APPEND = "console=ttyS0 earlycon=sbi ask"


def expect(proc, pattern, buf, timeout=600):
    """Reads proc's stdout until `pattern` appears after position buf[1]."""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while True:
        m = buf[0].find(pattern, buf[1])
        if m >= 0:
            buf[1] = m + len(pattern)
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {pattern!r} in output:\n{buf[0][-2000:]!r}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise EOFError(f"guest exited before {pattern!r}:\n{buf[0][-2000:]!r}")
        buf[0] += chunk


def reaped(p):
    """Kills `p` unless it has exited: a failed session must not leave a
    guest running (it would skew every later measurement)."""
    if p.poll() is None:
        p.kill()
        p.wait()


def session(argv, crc):
    """Runs one guest session; returns (boot_s, crc_s or None, stderr text)."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        return session_steps(p, t0, crc)
    finally:
        reaped(p)


def session_steps(p, t0, crc):
    buf = [b"", 0]
    expect(p, b"autoboot", buf)
    p.stdin.write(b" ")
    p.stdin.flush()
    expect(p, b"=> ", buf)
    boot = time.monotonic() - t0
    crc_s = None
    if crc:
        p.stdin.write(CRC_CMD.encode() + b"\r")
        p.stdin.flush()
        t1 = time.monotonic()
        expect(p, b"==> ", buf)
        expect(p, b"=> ", buf)
        crc_s = time.monotonic() - t1
    p.stdin.write(b"poweroff\r")
    p.stdin.flush()
    _, err = p.communicate(timeout=600)
    return boot, crc_s, err.decode(errors="replace")


def linux_session(argv):
    """OpenSBI + Linux tiny: seconds from start to init's prompt."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        return linux_steps(p, t0)
    finally:
        reaped(p)


def linux_steps(p, t0):
    buf = [b"", 0]
    expect(p, b"Type a line:", buf)
    t = time.monotonic() - t0
    p.stdin.write(b"hi\r")
    p.stdin.flush()
    p.communicate(timeout=600)
    return t


def icount(err):
    m = re.search(r"icount: (\d+)", err)
    if not m:
        raise RuntimeError(f"no icount in emu stderr: {err}")
    return int(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--emu", default=os.path.join(ROOT, "target/release/emu"))
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    emu = [a.emu, "run", "--bios", UBOOT, "--cpu", "mincpu", "--serial", "stdio", "--digest"]
    qemu = ["qemu-system-riscv64", "-M", "virt", "-m", "128M", "-cpu", MINCPU, "-display", "none",
            "-serial", "stdio", "-monitor", "none", "-net", "none", "-bios", UBOOT, "-icount", "shift=auto"]

    emu_linux = [a.emu, "run", "--bios", SBI, "--kernel", KIMG, "--append", APPEND, "--cpu", "mincpu",
                 "--serial", "stdio"]
    qemu_linux = ["qemu-system-riscv64", "-M", "virt", "-m", "128M", "-cpu", MINCPU, "-display", "none",
                  "-serial", "stdio", "-monitor", "none", "-net", "none", "-bios", SBI, "-kernel", KIMG,
                  "-append", APPEND, "-icount", "shift=auto"]

    # Instructions of the crc32 command alone (emu is deterministic).
    _, _, e_plain = session(emu, False)
    _, _, e_crc = session(emu, True)
    crc_insns = icount(e_crc) - icount(e_plain)

    rows = []
    for name, argv in (("emu", emu), ("qemu", qemu)):
        boots, crcs = [], []
        for _ in range(a.runs):
            b, c, _ = session(argv, True)
            boots.append(b)
            crcs.append(c)
        linux_argv = emu_linux if name == "emu" else qemu_linux
        linux = min(linux_session(linux_argv) for _ in range(a.runs))
        rows.append((name, min(boots), min(crcs), linux))
    print(f"boot to prompt + poweroff: {icount(e_plain)} guest instructions (emu icount)")
    print(f"crc32 of 64 MiB: {crc_insns} guest instructions (emu icount)")
    print(f"{'':6} {'U-Boot prompt s':>16} {'crc32 s':>9} {'crc32 MIPS':>11} {'Linux init s':>13}")
    for name, b, c, lx in rows:
        print(f"{name:6} {b:16.3f} {c:9.3f} {crc_insns / c / 1e6:11.1f} {lx:13.3f}")
    (_, eb, ec, el), (_, qb, qc, ql) = rows
    print(f"ratio emu/qemu: U-Boot boot {eb / qb:.2f}x time, crc32 {ec / qc:.2f}x time "
          f"({qc / ec:.2f}x QEMU's speed), Linux boot {el / ql:.2f}x time")


if __name__ == "__main__":
    sys.exit(main())
