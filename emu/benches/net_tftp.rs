//! Throughput of the user-mode network backend alone (real libslirp, no
//! guest): TFTP reads of a 1 MiB file at two block sizes, and ICMP echo
//! round trips to the gateway. Each frame crosses the channel to the
//! backend thread and back, as in the emulator.
//!
//! The second part runs the emulator itself: OpenSBI + U-Boot fetching a
//! 1 MiB file with `tftpboot`, against the same session fetching 51 bytes;
//! the difference is the guest-side cost of the transfer.
//!
//! Run: `cargo bench -p emu --bench net_tftp --profile fast`

#[path = "../tests/net_frames/mod.rs"]
mod net_frames;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use emu::host::net::{NetTx, UserNet, UserNetConfig};
use net_frames::*;

const FILE_LEN: usize = 1 << 20;
const RUNS: usize = 7;
const WAIT: Duration = Duration::from_secs(10);

struct Guest {
    tx: NetTx,
    rx: Receiver<Vec<u8>>,
    gw: [u8; 6],
}

impl Guest {
    /// The next frame `pick` accepts; answers libslirp's ARP for the guest.
    fn expect<T>(&self, mut pick: impl FnMut(&[u8]) -> Option<T>) -> T {
        loop {
            let f = self.rx.recv_timeout(WAIT).expect("backend answered");
            if let Some(r) = arp_reply_for(&f, GUEST_IP) {
                self.tx.send(r).unwrap();
            } else if let Some(v) = pick(&f) {
                return v;
            }
        }
    }

    fn tftp_get(&self, name: &str, blksize: Option<u16>, sport: u16) -> (usize, usize) {
        let send = |p: Vec<u8>, dport: u16| {
            self.tx
                .send(udp_frame(self.gw, GUEST_IP, HOST_IP, sport, dport, &p))
                .unwrap()
        };
        send(tftp_rrq(name, blksize), 69);
        let (mut bytes, mut blocks) = (0, 0);
        let mut size = 512;
        loop {
            let (port, pkt) = self.expect(|f| {
                let (s, d, p) = parse_udp(&parse_ipv4(f)?)?;
                (d == sport).then_some((s, p))
            });
            match pkt[1] {
                // OACK: libslirp may lower the block size asked for.
                6 => {
                    let f: Vec<&[u8]> = pkt[2..].split(|&b| b == 0).collect();
                    let i = f
                        .iter()
                        .position(|k| k.eq_ignore_ascii_case(b"blksize"))
                        .unwrap();
                    size = std::str::from_utf8(f[i + 1]).unwrap().parse().unwrap();
                    send(tftp_ack(0), port)
                }
                3 => {
                    send(tftp_ack(u16::from_be_bytes([pkt[2], pkt[3]])), port);
                    bytes += pkt.len() - 4;
                    blocks += 1;
                    if pkt.len() - 4 < size {
                        return (bytes, blocks);
                    }
                }
                op => panic!("TFTP opcode {op}"),
            }
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("net-bench-tftp");
    std::fs::create_dir_all(&dir).unwrap();
    let content: Vec<u8> = (0..FILE_LEN).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &content).unwrap();

    let (to_guest, rx) = crossbeam_channel::unbounded();
    let cfg = UserNetConfig {
        restrict: true,
        tftp_root: Some(dir.clone()),
        ..Default::default()
    };
    let net = UserNet::spawn(cfg, move |f| to_guest.send(f).is_ok()).unwrap();
    let tx = net.sender();
    tx.send(arp_request(HOST_IP)).unwrap();
    let mut g = Guest { tx, rx, gw: [0; 6] };
    g.gw = g.expect(|f| match parse_arp(f)? {
        (2, mac, ip) if ip == HOST_IP => Some(mac),
        _ => None,
    });

    println!("libslirp {}", emu::host::net::slirp_version());
    let mut port = 10_000;
    for blksize in [None, Some(1468)] {
        let mut rates = Vec::new();
        let mut per_block = Vec::new();
        for _ in 0..RUNS {
            port += 1;
            let t = Instant::now();
            let (bytes, blocks) = g.tftp_get("big.bin", blksize, port);
            let s = t.elapsed().as_secs_f64();
            assert_eq!(bytes, FILE_LEN);
            rates.push(bytes as f64 / s / 1e6);
            per_block.push(s * 1e6 / blocks as f64);
        }
        println!(
            "tftp 1 MiB, blksize asked {:>4}: median {:7.1} MB/s, {:6.1} us per block round trip ({RUNS} runs)",
            blksize.unwrap_or(512),
            median(rates),
            median(per_block)
        );
    }

    let mut rtts = Vec::new();
    for seq in 0..2000u16 {
        let t = Instant::now();
        g.tx.send(icmp_echo_frame(g.gw, HOST_IP, 9, seq, &[0x5a; 56]))
            .unwrap();
        g.expect(|f| {
            let ip = parse_ipv4(f)?;
            (ip.proto == 1 && ip.payload[0] == 0 && ip.payload[6..8] == seq.to_be_bytes())
                .then_some(())
        });
        rtts.push(t.elapsed().as_secs_f64() * 1e6);
    }
    println!(
        "icmp echo to 10.0.2.2: median {:.1} us round trip (2000 pings)",
        median(rtts)
    );
    net.shutdown().unwrap();

    uboot_tftpboot(&dir);
}

/// Wall time of a whole U-Boot session on emu that `tftpboot`s `file`.
fn uboot_session(tftp: &std::path::Path, file: &str) -> f64 {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("net-bench-uboot");
    std::fs::create_dir_all(&out).unwrap();
    let script = out.join("script");
    std::fs::write(
        &script,
        format!(
            "expect autoboot\nsendraw   \nexpect =>\nsend setenv autoload no\nexpect =>\n\
             send dhcp\nexpect =>\nsend tftpboot ${{kernel_addr_r}} {file}\n\
             expect Bytes transferred\nexpect =>\nsend poweroff\n"
        ),
    )
    .unwrap();
    let serial = out.join("serial.txt");
    let t = Instant::now();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_emu"))
        .arg("run")
        .arg("--bios")
        .arg(fixtures.join("guest/opensbi-1.5.1-fw_dynamic.bin"))
        .arg("--kernel")
        .arg(fixtures.join("guest/u-boot-2023.01-qemu-riscv64_smode.bin"))
        .arg("-netdev")
        .arg(format!("user,id=net0,restrict=on,tftp={}", tftp.display()))
        .arg("-device")
        .arg("virtio-net-device,netdev=net0")
        .arg("--serial-script")
        .arg(&script)
        .arg("--serial")
        .arg(format!("file:{}", serial.display()))
        .stdin(std::process::Stdio::null())
        .status()
        .expect("emu runs");
    let secs = t.elapsed().as_secs_f64();
    assert!(status.success());
    let text = std::fs::read_to_string(&serial).unwrap();
    assert!(text.contains("Bytes transferred"), "{text}");
    secs
}

fn uboot_tftpboot(dir: &std::path::Path) {
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/inputs/tftp/hello.txt"),
        dir.join("hello.txt"),
    )
    .unwrap();
    let small = median((0..3).map(|_| uboot_session(dir, "hello.txt")).collect());
    let big = median((0..3).map(|_| uboot_session(dir, "big.bin")).collect());
    println!(
        "u-boot session on emu: {small:.2} s with 51-byte tftpboot, {big:.2} s with 1 MiB; \
         1 MiB costs {:.2} s = {:.1} MB/s guest-side (median of 3)",
        big - small,
        FILE_LEN as f64 / (big - small) / 1e6
    );
}
