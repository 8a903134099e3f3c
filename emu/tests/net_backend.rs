//! The user-mode network backend alone (real libslirp, no guest): DHCP,
//! ARP, ICMP echo to the gateway, TFTP with and without block-size
//! negotiation, and what `restrict=on` changes.

mod net_frames;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use emu::host::net::{NetTx, UserNet, UserNetConfig};
use net_frames::*;

/// Long enough for a loaded 2-core CI machine; every reply here is immediate.
const WAIT: Duration = Duration::from_secs(10);

fn tftp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/inputs/tftp")
}

/// A fake guest NIC: sends frames to the backend and reads its replies,
/// answering the ARP requests libslirp makes for the guest's address.
struct Guest {
    net: UserNet,
    tx: NetTx,
    rx: Receiver<Vec<u8>>,
}

impl Guest {
    fn start(cfg: UserNetConfig) -> Guest {
        let (to_guest, rx) = crossbeam_channel::unbounded();
        let net = UserNet::spawn(cfg, move |f| to_guest.send(f).is_ok()).expect("backend starts");
        let tx = net.sender();
        Guest { net, tx, rx }
    }

    fn restricted_with_tftp() -> Guest {
        Guest::start(UserNetConfig {
            restrict: true,
            tftp_root: Some(tftp_dir()),
            ..UserNetConfig::default()
        })
    }

    fn send(&self, frame: Vec<u8>) {
        self.tx.send(frame).expect("backend alive");
    }

    /// The first frame for which `pick` returns Some, within [`WAIT`].
    fn expect<T>(&self, what: &str, mut pick: impl FnMut(&[u8]) -> Option<T>) -> T {
        self.try_expect(WAIT, &mut pick)
            .unwrap_or_else(|| panic!("no {what} within {WAIT:?}"))
    }

    fn try_expect<T>(&self, wait: Duration, pick: &mut dyn FnMut(&[u8]) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + wait;
        while let Ok(frame) = self.rx.recv_deadline(deadline) {
            if let Some(reply) = arp_reply_for(&frame, GUEST_IP) {
                self.send(reply);
                continue;
            }
            if let Some(v) = pick(&frame) {
                return Some(v);
            }
        }
        None
    }

    /// DISCOVER/OFFER/REQUEST/ACK; returns the acknowledged address.
    fn dhcp(&self) -> [u8; 4] {
        self.send(dhcp_frame(DHCP_DISCOVER, 0x1234_5678, None, None));
        let (ip, server) = self.expect("DHCP OFFER", |f| {
            let (_, dport, body) = parse_udp(&parse_ipv4(f)?)?;
            let r = parse_dhcp_reply(&body)?;
            (dport == 68 && r.xid == 0x1234_5678 && r.kind == DHCP_OFFER)
                .then_some((r.yiaddr, r.server))
        });
        self.send(dhcp_frame(DHCP_REQUEST, 0x1234_5678, Some(ip), server));
        self.expect("DHCP ACK", |f| {
            let (_, _, body) = parse_udp(&parse_ipv4(f)?)?;
            let r = parse_dhcp_reply(&body)?;
            (r.xid == 0x1234_5678 && r.kind == DHCP_ACK).then_some(r.yiaddr)
        })
    }

    /// The gateway's MAC, learnt by ARP as a guest would.
    fn gateway_mac(&self) -> [u8; 6] {
        self.send(arp_request(HOST_IP));
        self.expect("ARP reply for 10.0.2.2", |f| match parse_arp(f)? {
            (2, mac, ip) if ip == HOST_IP => Some(mac),
            _ => None,
        })
    }

    /// Reads a file over TFTP from port `sport`, acknowledging each block.
    /// Returns the content and the block sizes seen.
    fn tftp_get(
        &self,
        name: &str,
        blksize: Option<u16>,
        sport: u16,
    ) -> Result<(Vec<u8>, Vec<usize>), String> {
        let gw = self.gateway_mac();
        let send =
            |p: Vec<u8>, dport: u16| self.send(udp_frame(gw, GUEST_IP, HOST_IP, sport, dport, &p));
        send(tftp_rrq(name, blksize), 69);
        let (mut data, mut sizes, mut expect_block) = (Vec::new(), Vec::new(), 1u16);
        let mut block_size = 512;
        loop {
            let (server_port, pkt) = self.expect("TFTP packet", |f| {
                let (s, d, p) = parse_udp(&parse_ipv4(f)?)?;
                (d == sport).then_some((s, p))
            });
            match u16::from_be_bytes([pkt[0], pkt[1]]) {
                // OACK: the options the server accepted.
                6 => {
                    let fields: Vec<&[u8]> = pkt[2..].split(|&b| b == 0).collect();
                    let pos = fields
                        .iter()
                        .position(|k| k.eq_ignore_ascii_case(b"blksize"))
                        .ok_or("OACK without blksize")?;
                    block_size = std::str::from_utf8(fields[pos + 1])
                        .unwrap()
                        .parse()
                        .unwrap();
                    send(tftp_ack(0), server_port);
                }
                3 => {
                    let block = u16::from_be_bytes([pkt[2], pkt[3]]);
                    assert_eq!(block, expect_block, "blocks in order");
                    let chunk = &pkt[4..];
                    data.extend_from_slice(chunk);
                    sizes.push(chunk.len());
                    send(tftp_ack(block), server_port);
                    if chunk.len() < block_size {
                        return Ok((data, sizes));
                    }
                    expect_block += 1;
                }
                5 => {
                    return Err(String::from_utf8_lossy(&pkt[4..])
                        .trim_end_matches('\0')
                        .to_string())
                }
                op => panic!("unexpected TFTP opcode {op}"),
            }
        }
    }
}

#[test]
fn dhcp_discover_gets_offer_of_10_0_2_15_from_10_0_2_2() {
    let g = Guest::restricted_with_tftp();
    g.send(dhcp_frame(DHCP_DISCOVER, 0xcafe_0001, None, None));
    let (ip, reply) = g.expect("DHCP OFFER", |f| {
        let ip = parse_ipv4(f)?;
        let (sport, dport, body) = parse_udp(&ip)?;
        let reply = parse_dhcp_reply(&body)?;
        (sport == 67 && dport == 68).then_some((ip, reply))
    });
    let DhcpReply {
        xid,
        kind,
        yiaddr,
        server,
        router,
    } = reply;
    assert_eq!(xid, 0xcafe_0001, "the client's transaction id");
    assert_eq!(kind, DHCP_OFFER);
    assert_eq!(yiaddr, [10, 0, 2, 15]);
    assert_eq!(server, Some(HOST_IP));
    // libslirp leaves out the router (and DNS) options when restricted:
    // there is nowhere to route to.
    assert_eq!(router, None);
    assert_eq!(ip.src, HOST_IP);
    // libslirp broadcasts its replies (the client has no address yet).
    assert!(
        ip.dst_mac == BROADCAST || ip.dst_mac == GUEST_MAC,
        "{:?}",
        ip.dst_mac
    );
    assert_eq!(
        g.dhcp(),
        [10, 0, 2, 15],
        "REQUEST is acknowledged with the same address"
    );
    assert!(
        g.net
            .stats()
            .from_guest
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 3
    );
}

#[test]
fn unrestricted_dhcp_offer_names_the_gateway_as_router() {
    let g = Guest::start(UserNetConfig::default());
    g.send(dhcp_frame(DHCP_DISCOVER, 0xcafe_0002, None, None));
    let router = g.expect("DHCP OFFER", |f| {
        let (_, _, body) = parse_udp(&parse_ipv4(f)?)?;
        let r = parse_dhcp_reply(&body)?;
        (r.kind == DHCP_OFFER && r.yiaddr == GUEST_IP).then_some(r.router)
    });
    assert_eq!(router, Some(HOST_IP));
}

/// Every prefix of real frames, and pseudo-random bytes, go through the
/// FFI boundary into libslirp; afterwards the stack still serves DHCP and
/// ICMP as before.
#[test]
fn malformed_frames_do_not_disturb_the_stack() {
    let g = Guest::restricted_with_tftp();
    let gw = g.gateway_mac();
    let samples = [
        dhcp_frame(DHCP_DISCOVER, 1, None, None),
        icmp_echo_frame(gw, HOST_IP, 1, 1, b"abcdefgh"),
        udp_frame(
            gw,
            GUEST_IP,
            HOST_IP,
            1234,
            69,
            &tftp_rrq("hello.txt", Some(1468)),
        ),
        arp_request(HOST_IP),
        tcp_syn_frame(gw, HOST_IP, 999, 80, 5),
    ];
    for frame in &samples {
        for len in 0..frame.len() {
            g.send(frame[..len].to_vec());
        }
        // The same frame with each header byte flipped in turn.
        for i in 0..frame.len().min(64) {
            let mut f = frame.clone();
            f[i] ^= 0xff;
            g.send(f);
        }
    }
    let mut x: u32 = 0x9e37_79b9;
    for n in 0..2000usize {
        let frame: Vec<u8> = (0..n % 1600)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        g.send(frame);
    }
    assert_eq!(g.dhcp(), GUEST_IP);
    let gw = g.gateway_mac();
    g.send(icmp_echo_frame(gw, HOST_IP, 0x77, 1, b"still alive"));
    g.expect("ICMP echo reply after the garbage", |f| {
        let ip = parse_ipv4(f)?;
        (ip.proto == 1 && ip.payload[0] == 0 && ip.payload[4..6] == [0, 0x77]).then_some(())
    });
}

#[test]
fn arp_for_gateway_and_dns_is_answered() {
    let g = Guest::restricted_with_tftp();
    let gw = g.gateway_mac();
    assert_eq!(gw[0] & 1, 0, "unicast MAC");
    g.send(arp_request([10, 0, 2, 3]));
    g.expect("ARP reply for 10.0.2.3", |f| match parse_arp(f)? {
        (2, _, [10, 0, 2, 3]) => Some(()),
        _ => None,
    });
}

#[test]
fn icmp_echo_to_gateway_is_answered() {
    let g = Guest::restricted_with_tftp();
    let gw = g.gateway_mac();
    let payload: Vec<u8> = (0..56u8).collect();
    g.send(icmp_echo_frame(gw, HOST_IP, 0x4242, 7, &payload));
    let reply = g.expect("ICMP echo reply", |f| {
        let ip = parse_ipv4(f)?;
        (ip.proto == 1 && ip.payload[0] == 0).then_some(ip)
    });
    assert_eq!(reply.src, HOST_IP);
    assert_eq!(reply.dst, GUEST_IP);
    assert_eq!(checksum(&reply.payload), 0, "ICMP checksum");
    assert_eq!(
        reply.payload[4..8],
        [0x42, 0x42, 0, 7],
        "same id and sequence"
    );
    assert_eq!(reply.payload[8..], payload[..], "same data");
}

#[test]
fn tftp_reads_hello_txt_with_and_without_blksize() {
    let want = std::fs::read(tftp_dir().join("hello.txt")).unwrap();
    assert_eq!(want.len(), 51);
    let g = Guest::restricted_with_tftp();
    let (got, sizes) = g.tftp_get("hello.txt", None, 2000).unwrap();
    assert_eq!(got, want);
    assert_eq!(sizes, [51]);
    // U-Boot asks for blksize 1468 (its default tftpblocksize).
    let (got, _) = g.tftp_get("hello.txt", Some(1468), 2001).unwrap();
    assert_eq!(got, want);
}

#[test]
fn tftp_block_size_negotiation_splits_a_larger_file() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("net-backend-tftp");
    std::fs::create_dir_all(&dir).unwrap();
    let content: Vec<u8> = (0..3000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &content).unwrap();
    let g = Guest::start(UserNetConfig {
        restrict: true,
        tftp_root: Some(dir),
        ..Default::default()
    });
    let (got, sizes) = g.tftp_get("big.bin", Some(1024), 3000).unwrap();
    assert_eq!(sizes, [1024, 1024, 952]);
    assert_eq!(got, content);
    // libslirp caps the block size at 1428 (what fits its 1500-byte MTU
    // with room to spare), and says so in the OACK.
    let (got, sizes) = g.tftp_get("big.bin", Some(1468), 3002).unwrap();
    assert_eq!(sizes, [1428, 1428, 144]);
    assert_eq!(got, content);
    let (got, sizes) = g.tftp_get("big.bin", None, 3001).unwrap();
    assert_eq!(sizes, [512, 512, 512, 512, 512, 440]);
    assert_eq!(got, content);
}

#[test]
fn tftp_missing_file_and_escape_attempt_get_errors() {
    let g = Guest::restricted_with_tftp();
    assert!(g.tftp_get("no-such-file", None, 2100).is_err());
    // libslirp refuses names that climb out of the TFTP root.
    assert!(g.tftp_get("../tftp/hello.txt", None, 2101).is_err());
}

/// A TCP SYN to 10.0.2.2:PORT, which libslirp maps to the host's 127.0.0.1:PORT
/// when unrestricted. Returns the TCP flags of the answer and whether the
/// host listener saw a connection.
fn syn_to_host_port(restrict: bool) -> (u8, bool) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let g = Guest::start(UserNetConfig {
        restrict,
        ..Default::default()
    });
    let gw = g.gateway_mac();
    g.send(tcp_syn_frame(gw, HOST_IP, 40000, port, 1000));
    let flags = g.expect("TCP answer", |f| {
        let ip = parse_ipv4(f)?;
        tcp_flags(&ip)
    });
    let connected = listener.accept().is_ok();
    (flags, connected)
}

#[test]
fn restrict_on_refuses_what_restrict_off_forwards_to_loopback() {
    let (flags, connected) = syn_to_host_port(false);
    assert_eq!(
        flags & 0x12,
        0x12,
        "SYN-ACK when unrestricted, got {flags:#x}"
    );
    assert!(connected, "libslirp connected to the host listener");
    let (flags, connected) = syn_to_host_port(true);
    assert_ne!(flags & 0x04, 0, "RST when restricted, got {flags:#x}");
    assert!(!connected, "nothing reached the host");
}

#[test]
fn slirp_version_is_reported() {
    let v = emu::host::net::slirp_version();
    assert!(v.starts_with("4."), "{v}");
}
