#!/usr/bin/env python3
"""Side-by-side benchmark of emu and QEMU 10 on the same guest.

Both run M-mode U-Boot 2023.01 as the only firmware (mincpu), driven over a
pipe by this script:
  1. boot-to-prompt: wall time from process start until U-Boot's `=>`
     prompt (autoboot is stopped with a key as soon as it offers to);
  2. CPU-bound: `crc32 0x80200000 0x4000000` (64 MiB), wall time from
     typing the command to the next prompt;
  3. OpenSBI + Linux 6.1 tiny (mincpu): wall time from start to init's
     `Type a line:` prompt;
  4. Debian trixie's stock kernel (scripts/debian-guest.py) with the
     busybox initramfs, virtio disk and user network, emu and QEMU on the
     same command line (QEMU without -icount, as a user runs it): wall time
     from start to the shell prompt; then on emu alone the whole typed
     session (boot, `cat /proc/cpuinfo`, `uname -a`, `poweroff -f`) run,
     recorded and replayed: wall and CPU time, record overhead and
     replay/record ratio.
MIPS for the crc32 uses emu's exact instruction count for that command
(the difference of --digest icounts with and without it; the guest code is
the same under QEMU). QEMU runs with `-icount shift=auto`.

Usage: scripts/bench-emu.py [--emu PATH] [--runs N] [--only debian]
"""
import argparse
import importlib.util
import os
import re
import resource
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


def debian_guest():
    """scripts/debian-guest.py as a module (its http server and command line)."""
    spec = importlib.util.spec_from_file_location("debian_guest", os.path.join(ROOT, "scripts/debian-guest.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def children_cpu():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def debian_boot(argv):
    """(wall s from start to the Debian guest's shell prompt, CPU s of the
    whole session including `poweroff -f`)."""
    c0 = children_cpu()
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        buf = [b"", 0]
        expect(p, b"init: ready", buf)
        expect(p, b"# ", buf)
        t = time.monotonic() - t0
        p.stdin.write(b"poweroff -f\r")
        p.stdin.flush()
        p.communicate(timeout=600)
    finally:
        reaped(p)
    return t, children_cpu() - c0


def timed(argv):
    """(wall s, CPU s of the child, stderr) of one non-interactive emu run."""
    t0 = time.monotonic()
    with open(os.devnull, "wb") as null:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=null, stderr=subprocess.PIPE)
        try:
            err = p.stderr.read()
            _, status, ru = os.wait4(p.pid, 0)
            p.returncode = os.waitstatus_to_exitcode(status)
        finally:
            reaped(p)
    if p.returncode != 0:
        raise RuntimeError(f"{argv[:2]} exited {p.returncode}: {err.decode(errors='replace')}")
    return time.monotonic() - t0, ru.ru_utime + ru.ru_stime, err.decode(errors="replace")


def debian(emu_bin, runs):
    """Debian kernel to shell, emu vs QEMU; record/replay of the session on emu."""
    dg = debian_guest()
    guest = dg.build(False)
    script = os.path.join(guest, "session.script")
    logf = os.path.join(dg.cache_dir(), "bench-debian.bin")
    with dg.http_server(guest / "www") as port:
        args = dg.machine_args(guest, port, guest / "disk.img", "on")
        boot = {"emu": [], "qemu": []}
        for _ in range(runs):  # interleaved: a host whose load changes hits both alike
            boot["emu"].append(debian_boot([emu_bin, *args]))
            boot["qemu"].append(debian_boot(["qemu-system-riscv64", *args]))
        rr = {"run": [], "record": [], "replay": []}
        for _ in range(runs):
            rr["run"].append(timed([emu_bin, "run", "--serial-script", script, "--serial", "null",
                                    "--digest", *args]))
            rr["record"].append(timed([emu_bin, "record", "--log", logf, "--force", "--serial-script",
                                       script, "--serial", "null", "--digest", *args]))
            rr["replay"].append(timed([emu_bin, "replay", "--log", logf, "--serial", "null", "--digest",
                                       *args]))
    # Typed input lands at other icounts in each live run; a replay matches its recording.
    for rec, rep in zip(rr["record"], rr["replay"]):
        assert icount(rec[2]) == icount(rep[2]), f"replay icount differs:\n{rec[2]}\n{rep[2]}"
    n = icount(rr["record"][0][2])
    e, q = (min(w for w, _ in boot[k]) for k in ("emu", "qemu"))
    for name in ("emu", "qemu"):
        print(f"Debian 6.12 kernel to shell, {name}: wall {', '.join(f'{w:.2f}' for w, _ in boot[name])} s; "
              f"CPU (boot + poweroff) {', '.join(f'{c:.2f}' for _, c in boot[name])} s")
    print(f"  best of {runs}: emu {e:.2f} s, QEMU {q:.2f} s: emu/QEMU {e / q:.2f}x wall; "
          f"CPU {min(c for _, c in boot['emu']) / min(c for _, c in boot['qemu']):.2f}x")
    print(f"Debian session (boot, 2 commands, poweroff): {n} guest instructions "
          f"(runs: {', '.join(str(icount(r[2])) for r in rr['run'])}), log {os.path.getsize(logf)} bytes")
    best = {k: (min(w for w, _, _ in v), min(c for _, c, _ in v)) for k, v in rr.items()}
    for k, (w, c) in best.items():
        print(f"  {k:7} wall {w:6.2f} s  CPU {c:6.2f} s  ({n / c / 1e6:.0f} MIPS on CPU time; "
              f"CPU of each run {', '.join(f'{x[1]:.2f}' for x in rr[k])})")
    print(f"  record overhead vs run: CPU {best['record'][1] / best['run'][1] - 1:+.1%}, "
          f"wall {best['record'][0] / best['run'][0] - 1:+.1%}; replay/record: CPU "
          f"{best['replay'][1] / best['record'][1]:.2f}x, wall {best['replay'][0] / best['record'][0]:.2f}x")


def icount(err):
    m = re.search(r"icount: (\d+)", err)
    if not m:
        raise RuntimeError(f"no icount in emu stderr: {err}")
    return int(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--emu", default=os.path.join(ROOT, "target/release/emu"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=["debian"], help="run only this part")
    a = ap.parse_args()
    if a.only == "debian":
        return debian(a.emu, a.runs)
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
    debian(a.emu, a.runs)


if __name__ == "__main__":
    sys.exit(main())
