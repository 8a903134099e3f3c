//! Real Ethernet/IPv4/UDP/ICMP/ARP/DHCP/TFTP frames for the network tests,
//! built and parsed byte by byte (RFC 826, 791, 768, 792, 2131, 1350, 2348).
#![allow(dead_code)]

pub const GUEST_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
pub const BROADCAST: [u8; 6] = [0xff; 6];
pub const ETH_IPV4: u16 = 0x0800;
pub const ETH_ARP: u16 = 0x0806;
pub const GUEST_IP: [u8; 4] = [10, 0, 2, 15];
pub const HOST_IP: [u8; 4] = [10, 0, 2, 2];

/// The Internet checksum (RFC 1071).
pub fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for c in data.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], 0])
        };
        sum += u32::from(w);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

pub fn ethernet(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

pub fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = (20 + payload.len()) as u16;
    let mut h = vec![0x45, 0, 0, 0, 0, 1, 0, 0, 64, proto, 0, 0];
    h[2..4].copy_from_slice(&total.to_be_bytes());
    h.extend_from_slice(&src);
    h.extend_from_slice(&dst);
    let c = checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    h.extend_from_slice(payload);
    h
}

pub fn udp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let len = (8 + payload.len()) as u16;
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&len.to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&len.to_be_bytes());
    pseudo.extend_from_slice(&u);
    let c = match checksum(&pseudo) {
        0 => 0xffff,
        c => c,
    };
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

/// A whole UDP/IPv4 frame from the guest.
pub fn udp_frame(
    dst_mac: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    ethernet(
        dst_mac,
        GUEST_MAC,
        ETH_IPV4,
        &ipv4(src, dst, 17, &udp(src, dst, sport, dport, payload)),
    )
}

pub const DHCP_DISCOVER: u8 = 1;
pub const DHCP_OFFER: u8 = 2;
pub const DHCP_REQUEST: u8 = 3;
pub const DHCP_ACK: u8 = 5;

/// A BOOTP/DHCP client message (op 1) as U-Boot sends it.
pub fn dhcp_client(
    msg_type: u8,
    xid: u32,
    requested: Option<[u8; 4]>,
    server: Option<[u8; 4]>,
) -> Vec<u8> {
    let mut b = vec![0u8; 236];
    b[0] = 1; // BOOTREQUEST
    b[1] = 1; // htype Ethernet
    b[2] = 6; // hlen
    b[4..8].copy_from_slice(&xid.to_be_bytes());
    b[28..34].copy_from_slice(&GUEST_MAC);
    b.extend_from_slice(&[99, 130, 83, 99]); // magic cookie
    b.extend_from_slice(&[53, 1, msg_type]);
    if let Some(ip) = requested {
        b.extend_from_slice(&[50, 4]);
        b.extend_from_slice(&ip);
    }
    if let Some(ip) = server {
        b.extend_from_slice(&[54, 4]);
        b.extend_from_slice(&ip);
    }
    b.extend_from_slice(&[55, 3, 1, 3, 6]); // subnet mask, router, DNS
    b.push(255);
    while b.len() < 300 {
        b.push(0);
    }
    b
}

pub fn dhcp_frame(
    msg_type: u8,
    xid: u32,
    requested: Option<[u8; 4]>,
    server: Option<[u8; 4]>,
) -> Vec<u8> {
    udp_frame(
        BROADCAST,
        [0; 4],
        [255; 4],
        68,
        67,
        &dhcp_client(msg_type, xid, requested, server),
    )
}

/// An ICMP echo request to `dst`.
pub fn icmp_echo_frame(dst_mac: [u8; 6], dst: [u8; 4], id: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0];
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    ethernet(dst_mac, GUEST_MAC, ETH_IPV4, &ipv4(GUEST_IP, dst, 1, &m))
}

/// An ARP request "who has `target`" from the guest.
pub fn arp_request(target: [u8; 4]) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4, 0, 1];
    a.extend_from_slice(&GUEST_MAC);
    a.extend_from_slice(&GUEST_IP);
    a.extend_from_slice(&[0; 6]);
    a.extend_from_slice(&target);
    ethernet(BROADCAST, GUEST_MAC, ETH_ARP, &a)
}

/// A TFTP read request, optionally asking for a block size (RFC 2348).
pub fn tftp_rrq(name: &str, blksize: Option<u16>) -> Vec<u8> {
    let mut p = vec![0, 1];
    p.extend_from_slice(name.as_bytes());
    p.push(0);
    p.extend_from_slice(b"octet\0");
    if let Some(b) = blksize {
        p.extend_from_slice(b"blksize\0");
        p.extend_from_slice(b.to_string().as_bytes());
        p.push(0);
    }
    p
}

pub fn tftp_ack(block: u16) -> Vec<u8> {
    let mut p = vec![0, 4];
    p.extend_from_slice(&block.to_be_bytes());
    p
}

/// The parts of a received IPv4 frame the tests look at.
#[derive(Debug, Clone)]
pub struct Ipv4View {
    pub dst_mac: [u8; 6],
    pub src_mac: [u8; 6],
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub proto: u8,
    pub payload: Vec<u8>,
}

/// Parses an Ethernet/IPv4 frame, checking the header checksum.
pub fn parse_ipv4(frame: &[u8]) -> Option<Ipv4View> {
    if frame.len() < 34 || u16::from_be_bytes([frame[12], frame[13]]) != ETH_IPV4 {
        return None;
    }
    let ip = &frame[14..];
    let ihl = usize::from(ip[0] & 0xf) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if ip[0] >> 4 != 4 || ihl < 20 || total > ip.len() || total < ihl {
        return None;
    }
    assert_eq!(checksum(&ip[..ihl]), 0, "bad IPv4 header checksum");
    Some(Ipv4View {
        dst_mac: frame[0..6].try_into().unwrap(),
        src_mac: frame[6..12].try_into().unwrap(),
        src: ip[12..16].try_into().unwrap(),
        dst: ip[16..20].try_into().unwrap(),
        proto: ip[9],
        payload: ip[ihl..total].to_vec(),
    })
}

/// (source port, destination port, payload) of a UDP datagram.
pub fn parse_udp(ip: &Ipv4View) -> Option<(u16, u16, Vec<u8>)> {
    if ip.proto != 17 || ip.payload.len() < 8 {
        return None;
    }
    let u = &ip.payload;
    let len = usize::from(u16::from_be_bytes([u[4], u[5]]));
    Some((
        u16::from_be_bytes([u[0], u[1]]),
        u16::from_be_bytes([u[2], u[3]]),
        u[8..len.min(u.len())].to_vec(),
    ))
}

/// The DHCP reply fields the tests check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DhcpReply {
    /// Transaction id, echoed from the request.
    pub xid: u32,
    /// Option 53.
    pub kind: u8,
    pub yiaddr: [u8; 4],
    /// Option 54, the server identifier.
    pub server: Option<[u8; 4]>,
    /// Option 3, the first router.
    pub router: Option<[u8; 4]>,
}

pub fn parse_dhcp_reply(b: &[u8]) -> Option<DhcpReply> {
    if b.len() < 240 || b[0] != 2 || b[236..240] != [99, 130, 83, 99] {
        return None;
    }
    let yiaddr: [u8; 4] = b[16..20].try_into().unwrap();
    let (mut kind, mut server, mut router) = (0, None, None);
    let mut i = 240;
    while i < b.len() && b[i] != 255 {
        if b[i] == 0 {
            i += 1;
            continue;
        }
        let (code, len) = (b[i], usize::from(*b.get(i + 1)?));
        let val = b.get(i + 2..i + 2 + len)?;
        match code {
            53 => kind = val[0],
            54 if len == 4 => server = Some(val.try_into().unwrap()),
            3 if len >= 4 => router = Some(val[..4].try_into().unwrap()),
            _ => {}
        }
        i += 2 + len;
    }
    Some(DhcpReply {
        xid: u32::from_be_bytes(b[4..8].try_into().unwrap()),
        kind,
        yiaddr,
        server,
        router,
    })
}

/// A TCP segment with only a SYN, from the guest to `dst:dport`.
pub fn tcp_syn_frame(dst_mac: [u8; 6], dst: [u8; 4], sport: u16, dport: u16, seq: u32) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&0u32.to_be_bytes());
    t.extend_from_slice(&[5 << 4, 0x02]); // data offset 5 words; SYN
    t.extend_from_slice(&64240u16.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&GUEST_IP);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 6]);
    pseudo.extend_from_slice(&(t.len() as u16).to_be_bytes());
    pseudo.extend_from_slice(&t);
    let c = checksum(&pseudo);
    t[16..18].copy_from_slice(&c.to_be_bytes());
    ethernet(dst_mac, GUEST_MAC, ETH_IPV4, &ipv4(GUEST_IP, dst, 6, &t))
}

/// TCP flags byte of a segment (FIN 1, SYN 2, RST 4, ACK 16).
pub fn tcp_flags(ip: &Ipv4View) -> Option<u8> {
    (ip.proto == 6 && ip.payload.len() >= 20).then(|| ip.payload[13])
}

/// If `frame` is an ARP request for `ip`, the guest's reply to it.
pub fn arp_reply_for(frame: &[u8], ip: [u8; 4]) -> Option<Vec<u8>> {
    if frame.len() < 42 || u16::from_be_bytes([frame[12], frame[13]]) != ETH_ARP {
        return None;
    }
    let a = &frame[14..42];
    if a[6..8] != [0, 1] || a[24..28] != ip {
        return None;
    }
    let mut r = vec![0, 1, 8, 0, 6, 4, 0, 2];
    r.extend_from_slice(&GUEST_MAC);
    r.extend_from_slice(&ip);
    r.extend_from_slice(&a[8..14]);
    r.extend_from_slice(&a[14..18]);
    Some(ethernet(
        a[8..14].try_into().unwrap(),
        GUEST_MAC,
        ETH_ARP,
        &r,
    ))
}

/// (opcode, sender MAC, sender IP) of an ARP frame.
pub fn parse_arp(frame: &[u8]) -> Option<(u16, [u8; 6], [u8; 4])> {
    if frame.len() < 42 || u16::from_be_bytes([frame[12], frame[13]]) != ETH_ARP {
        return None;
    }
    let a = &frame[14..];
    Some((
        u16::from_be_bytes([a[6], a[7]]),
        a[8..14].try_into().unwrap(),
        a[14..18].try_into().unwrap(),
    ))
}
