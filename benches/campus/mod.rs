//! A synthetic campus uplink capture, generated deterministically for the pipeline benchmark.
//!
//! What a sensor on a campus uplink mostly sees is bulk data in the middle of flows: downloads
//! (and some uploads) in MSS-sized segments with a delayed ACK every second segment. Around that
//! bulk are the packets the sensor exists for: TCP handshakes followed by a TLS ClientHello or an
//! HTTP request and their answers, DNS queries to public resolvers with their answers, and relayed
//! DHCP exchanges (DISCOVER/OFFER/REQUEST/ACK between the campus relay and the central DHCP
//! server). Flow sizes are heavy-tailed, about a thousand flows are in progress at once and their
//! packets interleave, timestamps advance 8–12 µs per packet.
//!
//! Everything comes from one fixed-seed xorshift generator, so the same arguments always give a
//! byte-identical file. Frames are built with etherparse's `PacketBuilder` and written with a tiny
//! pcap writer (classic libpcap format, microsecond timestamps, DLT_EN10MB).

use etherparse::PacketBuilder;
use std::io::{self, Write};

/// Client hosts on the campus side (10.20.0.0/21).
pub const CLIENTS: usize = 2_000;
/// Servers on the Internet side.
pub const SERVERS: usize = 300;
/// TCP flows in the whole file.
pub const TCP_FLOWS: usize = 20_000;
/// TCP flows in progress at once (their packets interleave).
const CONCURRENT_FLOWS: usize = 1_000;
/// Payload of a full data segment: a 1500-byte MTU less IPv4, TCP and a timestamp option's worth.
pub const MSS: usize = 1_448;
/// Out of 100 flows, how many are TLS on 443; the rest are HTTP on 80 or 8080.
const TLS_PERCENT: u64 = 75;
/// Out of 100 flows, how many are uploads (the client sends the bulk).
const UPLOAD_PERCENT: u64 = 10;
/// Out of 100 flows, how many are preceded by a DNS lookup of their server.
const DNS_BEFORE_FLOW_PERCENT: u64 = 70;
/// Extra DNS lookups with no flow after them (names that are looked up and not used, PTRs…).
const EXTRA_DNS_LOOKUPS: usize = 6_000;
/// The first timestamp: 2024-12-01T00:00:00Z.
const START_SECS: u32 = 1_733_011_200;

/// The campus gateway's MAC: every frame from or to the Internet passes it.
const ROUTER_MAC: [u8; 6] = [0x00, 0x1b, 0x54, 0x0a, 0x0b, 0x0c];
/// The central DHCP server's MAC.
const DHCP_SERVER_MAC: [u8; 6] = [0x00, 0x50, 0x56, 0x01, 0x00, 0x0a];
/// The central DHCP server, reached through the uplink by the relays.
const DHCP_SERVER: [u8; 4] = [10, 1, 0, 10];
/// Public resolvers the clients use.
const RESOLVERS: [[u8; 4]; 3] = [[8, 8, 8, 8], [1, 1, 1, 1], [9, 9, 9, 9]];

/// xorshift64*: small, fast, and the same sequence everywhere.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `0..n` (n > 0; the modulo bias is irrelevant here).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }
}

/// Address of client `i`.
pub fn client_ip(i: usize) -> [u8; 4] {
    [10, 20, (i / 250) as u8, (i % 250 + 2) as u8]
}

/// MAC of client `i` (locally administered, unicast).
pub fn client_mac(i: usize) -> [u8; 6] {
    [0x02, 0x00, 0x5e, 0x10, (i >> 8) as u8, i as u8]
}

/// The relay (first-hop gateway) of client `i`'s /24.
fn relay_ip(i: usize) -> [u8; 4] {
    [10, 20, (i / 250) as u8, 1]
}

/// Address of server `j`: public space only (no RFC 1918, no 100.64/10).
pub fn server_ip(j: usize) -> [u8; 4] {
    [
        23 + (j % 7) as u8 * 20,
        (j * 37 % 256) as u8,
        (j * 11 % 256) as u8,
        (j % 250 + 1) as u8,
    ]
}

/// DNS name of server `j`.
fn server_name(j: usize) -> String {
    const SITES: [&str; 8] = [
        "cdn.example-video.com",
        "update.example-os.com",
        "mail.example-cloud.net",
        "static.example-news.org",
        "api.example-storage.com",
        "www.example-univ.edu",
        "fonts.example-cdn.net",
        "telemetry.example-app.io",
    ];
    format!("s{j}.{}", SITES[j % SITES.len()])
}

/// What a generated packet is, for the tallies printed after generation.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// All packets.
    pub packets: u64,
    /// Bytes on the wire (sum of frame lengths).
    pub wire_bytes: u64,
    /// SYN, SYN-ACK, handshake ACK, FINs and their ACKs.
    pub handshake: u64,
    /// First data segment of each direction (ClientHello/ServerHello, HTTP request/response).
    pub app_first: u64,
    /// Bulk data segments after the first one of a direction.
    pub bulk_data: u64,
    /// Pure ACKs of bulk data.
    pub bulk_acks: u64,
    /// DNS queries and answers.
    pub dns: u64,
    /// DHCP messages.
    pub dhcp: u64,
}

/// Kinds of packet, for [`Tally`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SYN, SYN-ACK, handshake ACK, FINs and the last ACK.
    Handshake,
    /// First data of a direction.
    AppFirst,
    /// Bulk data.
    BulkData,
    /// ACK of bulk data.
    BulkAck,
    /// DNS.
    Dns,
    /// DHCP.
    Dhcp,
}

/// A minimal writer of classic pcap files.
pub struct PcapWriter<W: Write> {
    out: W,
    /// Current time in microseconds since the epoch.
    now_us: u64,
    rng: Rng,
    /// What has been written.
    pub tally: Tally,
}

impl<W: Write> PcapWriter<W> {
    /// Writes the file header (version 2.4, snap length 65535, Ethernet).
    pub fn new(mut out: W, seed: u64) -> io::Result<Self> {
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&65_535u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?;
        Ok(PcapWriter {
            out,
            now_us: u64::from(START_SECS) * 1_000_000,
            rng: Rng::new(seed ^ 0x7469_6d65),
            tally: Tally::default(),
        })
    }

    /// Appends one frame as a record, 8–12 µs after the previous one, and tallies it as `kind`.
    pub fn record(&mut self, frame: &[u8], kind: Kind) -> io::Result<()> {
        self.now_us += 8 + self.rng.below(5);
        let len = frame.len() as u32;
        self.out
            .write_all(&((self.now_us / 1_000_000) as u32).to_le_bytes())?;
        self.out
            .write_all(&((self.now_us % 1_000_000) as u32).to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(frame)?;
        let t = &mut self.tally;
        t.packets += 1;
        t.wire_bytes += u64::from(len);
        match kind {
            Kind::Handshake => t.handshake += 1,
            Kind::AppFirst => t.app_first += 1,
            Kind::BulkData => t.bulk_data += 1,
            Kind::BulkAck => t.bulk_acks += 1,
            Kind::Dns => t.dns += 1,
            Kind::Dhcp => t.dhcp += 1,
        }
        Ok(())
    }

    /// Flushes and returns the inner writer.
    pub fn finish(mut self) -> io::Result<(W, Tally)> {
        self.out.flush()?;
        Ok((self.out, self.tally))
    }
}

/// TCP flags of a segment.
#[derive(Clone, Copy, Default)]
pub struct Flags {
    /// SYN.
    pub syn: bool,
    /// ACK (the acknowledgment number is valid).
    pub ack: bool,
    /// FIN.
    pub fin: bool,
    /// PSH.
    pub psh: bool,
}

/// Appends one Ethernet/IPv4/TCP frame to `buf`.
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    buf: &mut Vec<u8>,
    macs: ([u8; 6], [u8; 6]),
    ips: ([u8; 4], [u8; 4]),
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    flags: Flags,
    ttl: u8,
    payload: &[u8],
) {
    let mut b = PacketBuilder::ethernet2(macs.0, macs.1)
        .ipv4(ips.0, ips.1, ttl)
        .tcp(ports.0, ports.1, seq, 64_240);
    if flags.syn {
        b = b.syn();
    }
    if flags.ack {
        b = b.ack(ack);
    }
    if flags.fin {
        b = b.fin();
    }
    if flags.psh {
        b = b.psh();
    }
    b.write(buf, payload).expect("writing to a Vec");
}

/// Appends one Ethernet/IPv4/UDP frame to `buf`.
pub fn udp_frame(
    buf: &mut Vec<u8>,
    macs: ([u8; 6], [u8; 6]),
    ips: ([u8; 4], [u8; 4]),
    ports: (u16, u16),
    ttl: u8,
    payload: &[u8],
) {
    PacketBuilder::ethernet2(macs.0, macs.1)
        .ipv4(ips.0, ips.1, ttl)
        .udp(ports.0, ports.1)
        .write(buf, payload)
        .expect("writing to a Vec");
}

/// A TLS 1.3-style ClientHello record carrying SNI, ALPN and supported_versions.
pub fn client_hello(sni: &str, rng: &mut Rng) -> Vec<u8> {
    let mut ext = Vec::new();
    // server_name (RFC 6066 §3): list length, type host_name, name length, name.
    let name = sni.as_bytes();
    ext.extend_from_slice(&[0x00, 0x00]);
    ext.extend_from_slice(&(name.len() as u16 + 5).to_be_bytes());
    ext.extend_from_slice(&(name.len() as u16 + 3).to_be_bytes());
    ext.push(0);
    ext.extend_from_slice(&(name.len() as u16).to_be_bytes());
    ext.extend_from_slice(name);
    // ALPN h2, http/1.1.
    ext.extend_from_slice(&[
        0x00, 0x10, 0x00, 0x0e, 0x00, 0x0c, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1',
        b'.', b'1',
    ]);
    // supported_groups x25519, secp256r1.
    ext.extend_from_slice(&[0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17]);
    // supported_versions TLS 1.3, 1.2.
    ext.extend_from_slice(&[0x00, 0x2b, 0x00, 0x05, 0x04, 0x03, 0x04, 0x03, 0x03]);
    // key_share x25519 with a 32-byte key.
    ext.extend_from_slice(&[0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20]);
    ext.extend((0..32).map(|_| rng.next() as u8));
    let mut body = vec![0x03, 0x03];
    body.extend((0..32).map(|_| rng.next() as u8));
    body.push(32);
    body.extend((0..32).map(|_| rng.next() as u8));
    let suites: [u16; 5] = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f];
    body.extend_from_slice(&((suites.len() * 2) as u16).to_be_bytes());
    for s in suites {
        body.extend_from_slice(&s.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    handshake_record(1, &body)
}

/// A ServerHello record choosing TLS 1.3.
pub fn server_hello(rng: &mut Rng) -> Vec<u8> {
    let mut body = vec![0x03, 0x03];
    body.extend((0..32).map(|_| rng.next() as u8));
    body.push(32);
    body.extend((0..32).map(|_| rng.next() as u8));
    body.extend_from_slice(&[0x13, 0x01, 0]);
    let ext = [0x00, 0x2b, 0x00, 0x02, 0x03, 0x04];
    body.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    body.extend_from_slice(&ext);
    handshake_record(2, &body)
}

fn handshake_record(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend_from_slice(&(body.len() as u16 + 4).to_be_bytes());
    rec.push(msg_type);
    rec.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    rec.extend_from_slice(body);
    rec
}

/// An HTTP/1.1 GET as browsers and update agents send it.
pub fn http_request(host: &str, n: u64) -> Vec<u8> {
    const AGENTS: [&str; 4] = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "Microsoft-Delivery-Optimization/10.0",
        "Debian APT-HTTP/1.3 (2.6.1)",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    ];
    format!(
        "GET /content/{n:08x}.bin HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {}\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n",
        AGENTS[(n % 4) as usize]
    )
    .into_bytes()
}

/// An HTTP/1.1 200 response head.
pub fn http_response_head(length: u64) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\nCache-Control: max-age=86400\r\n\r\n"
    )
    .into_bytes()
}

/// A DNS message with one question (type A) and, for answers, one A record.
pub fn dns_message(id: u16, name: &str, answer: Option<[u8; 4]>) -> Vec<u8> {
    let mut m = Vec::with_capacity(64);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(if answer.is_some() {
        &[0x81, 0x80]
    } else {
        &[0x01, 0x00]
    });
    m.extend_from_slice(&[0, 1, 0, u8::from(answer.is_some()), 0, 0, 0, 0]);
    for label in name.split('.') {
        m.push(label.len() as u8);
        m.extend_from_slice(label.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    if let Some(ip) = answer {
        // Name: compression pointer to the question at offset 12; A, IN, TTL 300, 4 bytes.
        m.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x01, 0x2c, 0, 4]);
        m.extend_from_slice(&ip);
    }
    m
}

/// A relayed DHCPv4 message (RFC 2131) for client `i`.
fn dhcp_message(i: usize, msg_type: u8, xid: u32) -> Vec<u8> {
    let reply = matches!(msg_type, 2 | 5);
    let mut m = vec![0u8; 236];
    m[0] = if reply { 2 } else { 1 };
    m[1] = 1;
    m[2] = 6;
    m[3] = 1; // hops: one relay
    m[4..8].copy_from_slice(&xid.to_be_bytes());
    if reply {
        m[16..20].copy_from_slice(&client_ip(i));
        m[20..24].copy_from_slice(&DHCP_SERVER);
    }
    m[24..28].copy_from_slice(&relay_ip(i));
    m[28..34].copy_from_slice(&client_mac(i));
    m.extend_from_slice(&[99, 130, 83, 99]);
    m.extend_from_slice(&[53, 1, msg_type]);
    if reply {
        m.extend_from_slice(&[54, 4]);
        m.extend_from_slice(&DHCP_SERVER);
        m.extend_from_slice(&[51, 4, 0, 0, 0x0e, 0x10, 1, 4, 255, 255, 255, 0, 3, 4]);
        m.extend_from_slice(&relay_ip(i));
    } else {
        m.extend_from_slice(&[61, 7, 1]);
        m.extend_from_slice(&client_mac(i));
        let host = format!("lab-pc-{i:04}");
        m.extend_from_slice(&[12, host.len() as u8]);
        m.extend_from_slice(host.as_bytes());
        if msg_type == 3 {
            m.extend_from_slice(&[50, 4]);
            m.extend_from_slice(&client_ip(i));
            m.extend_from_slice(&[54, 4]);
            m.extend_from_slice(&DHCP_SERVER);
        }
        m.extend_from_slice(&[60, 8]);
        m.extend_from_slice(b"MSFT 5.0");
        m.extend_from_slice(&[55, 6, 1, 3, 6, 15, 31, 33]);
    }
    m.push(255);
    m
}

/// Where a TCP flow is in its life.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Stage {
    /// Next: the client's SYN.
    Syn,
    /// Next: the server's SYN-ACK.
    SynAck,
    /// Next: the client's ACK.
    Ack,
    /// Next: the client's first data (ClientHello or request).
    Request,
    /// Next: the server's first data (ServerHello or response head).
    Response,
    /// Next: bulk data or its ACK.
    Bulk,
    /// Next: the sender's FIN.
    Fin,
    /// Next: the receiver's FIN-ACK.
    FinAck,
    /// Next: the last ACK.
    LastAck,
    /// Nothing more.
    Done,
}

/// One TCP flow of the synthetic mix.
#[derive(Clone, Debug)]
pub struct TcpFlow {
    /// Client index.
    pub client: usize,
    /// Server index.
    pub server: usize,
    /// Client's ephemeral port.
    pub cport: u16,
    /// Server port: 443 for TLS, 80 or 8080 for HTTP.
    pub sport: u16,
    /// The client sends the bulk instead of the server.
    pub upload: bool,
    /// Bulk data segments still to send.
    pub segments_left: u32,
    /// Total payload of the bulk, for Content-Length.
    pub bulk_bytes: u64,
    /// Next client sequence number.
    pub cseq: u32,
    /// Next server sequence number.
    pub sseq: u32,
    /// Data segments not yet acknowledged.
    pub unacked: u8,
    /// What comes next.
    pub stage: Stage,
}

impl TcpFlow {
    /// A new flow, before its SYN.
    pub fn new(client: usize, server: usize, cport: u16, segments: u32, rng: &mut Rng) -> Self {
        let sport = if rng.below(100) < TLS_PERCENT {
            443
        } else if rng.below(5) == 0 {
            8080
        } else {
            80
        };
        TcpFlow {
            client,
            server,
            cport,
            sport,
            upload: rng.below(100) < UPLOAD_PERCENT,
            segments_left: segments.max(1),
            bulk_bytes: u64::from(segments.max(1)) * MSS as u64,
            cseq: rng.next() as u32,
            sseq: rng.next() as u32,
            unacked: 0,
            stage: Stage::Syn,
        }
    }

    /// Appends the flow's next frame to `buf` and advances it; returns what kind of packet it was.
    pub fn step(&mut self, buf: &mut Vec<u8>, rng: &mut Rng, filler: &[u8]) -> Kind {
        let ack = Flags {
            ack: true,
            ..Flags::default()
        };
        // Downloads: the server sends the bulk and closes first; uploads the other way round.
        let sender_is_client = self.upload;
        match self.stage {
            Stage::Syn => {
                let syn = Flags {
                    syn: true,
                    ..Flags::default()
                };
                self.emit(buf, true, syn, &[]);
                self.stage = Stage::SynAck;
                Kind::Handshake
            }
            Stage::SynAck => {
                self.emit(buf, false, Flags { syn: true, ..ack }, &[]);
                self.stage = Stage::Ack;
                Kind::Handshake
            }
            Stage::Ack => {
                self.emit(buf, true, ack, &[]);
                self.stage = Stage::Request;
                Kind::Handshake
            }
            Stage::Request => {
                let p = if self.sport == 443 {
                    client_hello(&server_name(self.server), rng)
                } else {
                    http_request(&server_name(self.server), rng.next())
                };
                self.emit(buf, true, Flags { psh: true, ..ack }, &p);
                self.stage = Stage::Response;
                Kind::AppFirst
            }
            Stage::Response => {
                let mut p = if self.sport == 443 {
                    server_hello(rng)
                } else {
                    http_response_head(self.bulk_bytes)
                };
                // The rest of the segment: certificate or body bytes.
                let room = MSS - p.len();
                let at = rng.below((filler.len() - MSS) as u64) as usize;
                p.extend_from_slice(&filler[at..at + room]);
                self.emit(buf, false, ack, &p);
                self.stage = Stage::Bulk;
                Kind::AppFirst
            }
            Stage::Bulk => {
                // The receiver ACKs every second segment, and after the last one.
                if self.unacked >= 2 || (self.segments_left == 0 && self.unacked > 0) {
                    self.unacked = 0;
                    self.emit(buf, !sender_is_client, ack, &[]);
                    if self.segments_left == 0 {
                        self.stage = Stage::Fin;
                    }
                    return Kind::BulkAck;
                }
                let len = if self.segments_left == 1 {
                    1 + rng.below(MSS as u64) as usize
                } else {
                    MSS
                };
                let at = rng.below((filler.len() - len) as u64) as usize;
                let flags = Flags {
                    psh: self.segments_left == 1,
                    ..ack
                };
                self.emit(buf, sender_is_client, flags, &filler[at..at + len]);
                self.segments_left -= 1;
                self.unacked += 1;
                Kind::BulkData
            }
            Stage::Fin => {
                self.emit(buf, sender_is_client, Flags { fin: true, ..ack }, &[]);
                self.stage = Stage::FinAck;
                Kind::Handshake
            }
            Stage::FinAck => {
                self.emit(buf, !sender_is_client, Flags { fin: true, ..ack }, &[]);
                self.stage = Stage::LastAck;
                Kind::Handshake
            }
            Stage::LastAck => {
                self.emit(buf, sender_is_client, ack, &[]);
                self.stage = Stage::Done;
                Kind::Handshake
            }
            Stage::Done => unreachable!("a finished flow is not stepped"),
        }
    }

    /// Appends one segment of this flow and advances the sender's sequence number past it.
    pub fn emit(&mut self, buf: &mut Vec<u8>, from_client: bool, flags: Flags, payload: &[u8]) {
        let c = (client_mac(self.client), client_ip(self.client), self.cport);
        let s = (ROUTER_MAC, server_ip(self.server), self.sport);
        // SYN and FIN each take one sequence number (RFC 9293 §3.4).
        let used = payload.len() as u32 + u32::from(flags.syn) + u32::from(flags.fin);
        if from_client {
            let (seq, ackn) = (self.cseq, self.sseq);
            tcp_frame(
                buf,
                (c.0, s.0),
                (c.1, s.1),
                (c.2, s.2),
                seq,
                ackn,
                flags,
                64,
                payload,
            );
            self.cseq = self.cseq.wrapping_add(used);
        } else {
            let (seq, ackn) = (self.sseq, self.cseq);
            tcp_frame(
                buf,
                (s.0, c.0),
                (s.1, c.1),
                (s.2, c.2),
                seq,
                ackn,
                flags,
                52,
                payload,
            );
            self.sseq = self.sseq.wrapping_add(used);
        }
    }
}

/// Random bytes that stand in for encrypted or compressed payload.
pub fn filler(rng: &mut Rng) -> Vec<u8> {
    (0..64 * 1024).map(|_| rng.next() as u8).collect()
}

/// Bulk data segments per flow: heavy-tailed (Pareto, shape 1.2, capped) so that most flows are
/// short and a few large transfers carry most of the bytes, scaled so the file has about
/// `target_packets` packets.
fn flow_sizes(rng: &mut Rng, target_packets: u64) -> Vec<u32> {
    // Per flow besides bulk: 3 handshake, 2 first segments, 3 closing, ~1 final ACK.
    let overhead = TCP_FLOWS as u64 * 9
        + (TCP_FLOWS as u64 * 7 / 10 + EXTRA_DNS_LOOKUPS as u64) * 2
        + CLIENTS as u64 * 4;
    // Bulk packets are two data segments per ACK.
    let bulk_segments = target_packets.saturating_sub(overhead) * 2 / 3;
    let weights: Vec<f64> = (0..TCP_FLOWS)
        .map(|_| rng.unit().powf(-1.0 / 1.2).min(400.0))
        .collect();
    let sum: f64 = weights.iter().sum();
    weights
        .iter()
        .map(|w| ((w / sum) * bulk_segments as f64).round().max(1.0) as u32)
        .collect()
}

/// Writes the whole capture; returns what it contains.
pub fn generate<W: Write>(out: W, target_packets: u64, seed: u64) -> io::Result<Tally> {
    let mut rng = Rng::new(seed);
    let filler = filler(&mut rng);
    let sizes = flow_sizes(&mut rng, target_packets);
    let mut w = PcapWriter::new(out, seed)?;
    let mut frame = Vec::with_capacity(2048);
    let mut active: Vec<TcpFlow> = Vec::with_capacity(CONCURRENT_FLOWS);
    let mut next_flow = 0usize;
    let mut dns_id: u16 = 1;
    // DHCP exchanges and extra DNS lookups are spread evenly over the expected packet count.
    let dhcp_every = target_packets / CLIENTS as u64;
    let extra_dns_every = target_packets / EXTRA_DNS_LOOKUPS as u64;
    let (mut dhcp_done, mut extra_dns_done) = (0usize, 0usize);
    let mut dns = |w: &mut PcapWriter<W>, rng: &mut Rng, client: usize, server: usize| {
        let resolver = RESOLVERS[client % RESOLVERS.len()];
        let port = 1024 + rng.below(60_000) as u16;
        let name = server_name(server);
        let mut f = Vec::with_capacity(128);
        let q = dns_message(dns_id, &name, None);
        let c = (client_mac(client), client_ip(client));
        udp_frame(
            &mut f,
            (c.0, ROUTER_MAC),
            (c.1, resolver),
            (port, 53),
            64,
            &q,
        );
        w.record(&f, Kind::Dns)?;
        f.clear();
        let a = dns_message(dns_id, &name, Some(server_ip(server)));
        udp_frame(
            &mut f,
            (ROUTER_MAC, c.0),
            (resolver, c.1),
            (53, port),
            57,
            &a,
        );
        w.record(&f, Kind::Dns)?;
        dns_id = dns_id.wrapping_add(1);
        io::Result::Ok(())
    };
    loop {
        while active.len() < CONCURRENT_FLOWS && next_flow < TCP_FLOWS {
            let client = rng.below(CLIENTS as u64) as usize;
            let server = rng.below(SERVERS as u64) as usize;
            let cport = 32_768 + (next_flow % 28_000) as u16;
            let flow = TcpFlow::new(client, server, cport, sizes[next_flow], &mut rng);
            if rng.below(100) < DNS_BEFORE_FLOW_PERCENT {
                dns(&mut w, &mut rng, client, server)?;
            }
            active.push(flow);
            next_flow += 1;
        }
        // Once the flows are over, what is left of the DHCP and DNS schedule goes out at once.
        let flows_over = active.is_empty() && next_flow >= TCP_FLOWS;
        if dhcp_done < CLIENTS && (flows_over || w.tally.packets >= dhcp_done as u64 * dhcp_every) {
            let i = dhcp_done;
            let xid = rng.next() as u32;
            for msg_type in [1u8, 2, 3, 5] {
                frame.clear();
                let m = dhcp_message(i, msg_type, xid);
                if matches!(msg_type, 2 | 5) {
                    let macs = (DHCP_SERVER_MAC, ROUTER_MAC);
                    udp_frame(
                        &mut frame,
                        macs,
                        (DHCP_SERVER, relay_ip(i)),
                        (67, 67),
                        63,
                        &m,
                    );
                } else {
                    let macs = (ROUTER_MAC, DHCP_SERVER_MAC);
                    udp_frame(
                        &mut frame,
                        macs,
                        (relay_ip(i), DHCP_SERVER),
                        (67, 67),
                        64,
                        &m,
                    );
                }
                w.record(&frame, Kind::Dhcp)?;
            }
            dhcp_done += 1;
        }
        if extra_dns_done < EXTRA_DNS_LOOKUPS
            && (flows_over || w.tally.packets >= extra_dns_done as u64 * extra_dns_every)
        {
            let client = rng.below(CLIENTS as u64) as usize;
            let server = rng.below(SERVERS as u64) as usize;
            dns(&mut w, &mut rng, client, server)?;
            extra_dns_done += 1;
        }
        if flows_over {
            if dhcp_done >= CLIENTS && extra_dns_done >= EXTRA_DNS_LOOKUPS {
                break;
            }
            continue;
        }
        let k = rng.below(active.len() as u64) as usize;
        frame.clear();
        let kind = active[k].step(&mut frame, &mut rng, &filler);
        w.record(&frame, kind)?;
        if active[k].stage == Stage::Done {
            active.swap_remove(k);
        }
    }
    Ok(w.finish()?.1)
}
