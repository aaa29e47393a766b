//! Two hello-heavy synthetic captures for the pipeline benchmark, generated deterministically
//! (fixed-seed xorshift, same writer as `campus/mod.rs`):
//!
//! - `tls-heavy.pcap`: many short TLS-over-TCP connections. Each has a handshake, a ~1.8 KB
//!   post-quantum-size ClientHello (X25519MLKEM768 key share, GREASE ECH; Chrome-like with a
//!   shuffled extension order, or Firefox-like) in one TLS record split over two TCP segments, the
//!   server's flight (TLS 1.3: ServerHello with an ML-KEM key share, ChangeCipherSpec and an
//!   encrypted record; TLS 1.2 for [`TLS12_PERCENT`] % of the connections: ServerHello,
//!   a real DER Certificate, ServerKeyExchange and ServerHelloDone in the clear), a few encrypted
//!   data packets and FIN/FIN/ACK. About a third of the packets carry hello bytes.
//! - `quic-heavy.pcap`: many QUIC v1 connections. The client's first flight is two real,
//!   encrypted Initial packets in two 1250-byte datagrams (RFC 9001 §5: keys derived with
//!   `wiretally::wire::quic::initial_keys` from the client's DCID, AES-128-GCM payload protection,
//!   AES header protection), carrying a ~1.75 KB ClientHello split over three CRYPTO frames, out of
//!   order, with PING and PADDING between them (as Chromium's "chaos protection" does). Then two
//!   server datagrams (Initial+Handshake, Handshake; opaque), the client's Handshake packet
//!   coalesced with a short-header packet, and short-header 1-RTT packets both ways.
//!
//! Every connection has its own client address and port, and its expected SNI is returned with
//! the ClientHello bodies, so the benchmark can check that each connection produced exactly one
//! event with the right SNI and can time hello parsing and fingerprinting over exactly the hellos
//! of the file.

use super::campus::{self, Flags, Kind, PcapWriter, Rng, Stage, TcpFlow};
use aes::Aes128;
use aes::cipher::{BlockCipherEncrypt, KeyInit};
use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, Nonce};
use std::io::{self, Write};
use wiretally::wire::quic::{Version, initial_keys};

/// TLS connections in `tls-heavy.pcap`.
pub const TLS_CONNECTIONS: usize = 20_000;
/// QUIC connections in `quic-heavy.pcap`.
pub const QUIC_CONNECTIONS: usize = 25_000;
/// Connections in progress at once (their packets interleave).
const CONCURRENT: usize = 500;
/// Out of 100 TLS connections, how many the server answers with TLS 1.2 and a certificate.
pub const TLS12_PERCENT: u64 = 30;
/// Out of 100 connections, how many clients are Chrome-like (the rest Firefox-like).
const CHROME_PERCENT: u64 = 70;
/// Size of the client's Initial datagrams (Chromium pads to 1250 bytes).
const INITIAL_DATAGRAM: usize = 1_250;
/// The campus gateway's MAC, as in `campus/mod.rs`.
const ROUTER_MAC: [u8; 6] = [0x00, 0x1b, 0x54, 0x0a, 0x0b, 0x0c];

/// A self-signed P-256 certificate (CN www.example-bench.net, SANs www.example-bench.net and
/// *.example-bench.net), made once with `openssl req -x509` and fixed here so the file is
/// byte-identical on every run.
const CERT_DER_HEX: &str = concat!(
    "3082020d308201b2a00302010202021092300a06082a8648ce3d0403023048310b300906035504061302555331193017",
    "060355040a0c104578616d706c652042656e6368204341311e301c06035504030c157777772e6578616d706c652d6265",
    "6e63682e6e6574301e170d3236313230343136343132325a170d3336313230313136343132325a3048310b3009060355",
    "04061302555331193017060355040a0c104578616d706c652042656e6368204341311e301c06035504030c157777772e",
    "6578616d706c652d62656e63682e6e65743059301306072a8648ce3d020106082a8648ce3d03010703420004a661cf5a",
    "b99eda9544516ce892eb6d43bd07febaf8f9570237d8db8b79c51428984cbab54722206f8adf5b161dce9ae78c58da4b",
    "bef67e6db4e00c1c80d3aa84a3818b308188301d0603551d0e0416041434cc96c1f24e73649c3b1934ba32fd1c8e638a",
    "32301f0603551d2304183016801434cc96c1f24e73649c3b1934ba32fd1c8e638a32300f0603551d130101ff04053003",
    "0101ff30350603551d11042e302c82157777772e6578616d706c652d62656e63682e6e657482132a2e6578616d706c65",
    "2d62656e63682e6e6574300a06082a8648ce3d0403020349003046022100fda0001e928b47444ee66cf8887fafe760d0",
    "4cbbf8edba17d38879895c2166eb022100cdcd14f948a1f62e90bb8b0a9243687239e8a32417907216e4369777cab066",
    "4e",
);

/// What a mix's generator produced besides the file.
pub struct Mix {
    /// Packet tallies: `app_first` counts packets carrying hello bytes (client and server),
    /// `handshake` SYN/ACK/FIN and pure ACKs, `bulk_data` everything else.
    pub tally: campus::Tally,
    /// Packets carrying ClientHello bytes.
    pub client_hello_packets: u64,
    /// Every connection's ClientHello body (without the 4-byte handshake header), in connection
    /// order: exactly the hellos the file holds.
    pub hellos: Vec<Vec<u8>>,
    /// Every connection's client address, port and SNI, in connection order.
    pub expected: Vec<Expected>,
    /// Connections the server answered with TLS 1.2 (TLS mix only).
    pub tls12: usize,
}

/// One connection's identity and the SNI its event must carry.
pub struct Expected {
    /// Client address.
    pub client: [u8; 4],
    /// Client port.
    pub port: u16,
    /// SNI of its ClientHello.
    pub sni: String,
}

/// Server `j`'s name.
fn server_name(j: usize) -> String {
    const SITES: [&str; 10] = [
        "www.example-search.com",
        "static.example-video.net",
        "api.example-social.com",
        "cdn.example-shop.com",
        "mail.example-cloud.net",
        "login.example-id.com",
        "fonts.example-cdn.net",
        "ads.example-track.io",
        "www.example-news.org",
        "update.example-os.com",
    ];
    format!("h{j}.{}", SITES[j % SITES.len()])
}

fn grease(rng: &mut Rng) -> u16 {
    let n = rng.below(16) as u16;
    0x0a0a | (n << 12) | (n << 4)
}

fn u16be(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn random(rng: &mut Rng, n: usize) -> impl Iterator<Item = u8> + '_ {
    (0..n).map(move |_| rng.next() as u8)
}

/// u16-length-prefixed list of u16s.
fn u16_list(values: &[u16]) -> Vec<u8> {
    let mut v = Vec::with_capacity(2 + 2 * values.len());
    u16be(&mut v, (values.len() * 2) as u16);
    for &x in values {
        u16be(&mut v, x);
    }
    v
}

/// RFC 9000 §16 varint, shortest form.
fn varint(out: &mut Vec<u8>, v: u64) {
    if v < 64 {
        out.push(v as u8);
    } else if v < 16_384 {
        u16be(out, 0x4000 | v as u16);
    } else if v < (1 << 30) {
        out.extend_from_slice(&(0x8000_0000 | v as u32).to_be_bytes());
    } else {
        out.extend_from_slice(&(0xc000_0000_0000_0000 | v).to_be_bytes());
    }
}

fn key_share(rng: &mut Rng, groups: &[(u16, usize)]) -> Vec<u8> {
    let mut shares = Vec::new();
    for &(g, len) in groups {
        u16be(&mut shares, g);
        u16be(&mut shares, len as u16);
        shares.extend(random(rng, len));
    }
    let mut v = Vec::with_capacity(2 + shares.len());
    u16be(&mut v, shares.len() as u16);
    v.extend_from_slice(&shares);
    v
}

/// GREASE ECH (draft-ietf-tls-esni, outer ClientHello with random contents), as browsers send it.
fn ech_grease(rng: &mut Rng) -> Vec<u8> {
    let mut v = vec![0, 0x00, 0x01, 0x00, 0x01, rng.next() as u8];
    u16be(&mut v, 32);
    v.extend(random(rng, 32));
    let payload = [144usize, 176, 208, 240][rng.below(4) as usize];
    u16be(&mut v, payload as u16);
    v.extend(random(rng, payload));
    v
}

fn alpn(names: &[&str]) -> Vec<u8> {
    let mut list = Vec::new();
    for n in names {
        list.push(n.len() as u8);
        list.extend_from_slice(n.as_bytes());
    }
    let mut v = Vec::new();
    u16be(&mut v, list.len() as u16);
    v.extend_from_slice(&list);
    v
}

/// A ClientHello handshake message (header included): Chrome-like (GREASE, shuffled extension
/// order) or Firefox-like, with a post-quantum key share, for TCP or QUIC.
fn client_hello(sni: &str, chrome: bool, quic: bool, rng: &mut Rng) -> Vec<u8> {
    let sig_algs = u16_list(&[
        0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
    ]);
    let mut server_name = Vec::new();
    u16be(&mut server_name, sni.len() as u16 + 3);
    server_name.push(0);
    u16be(&mut server_name, sni.len() as u16);
    server_name.extend_from_slice(sni.as_bytes());
    let alpn_names: &[&str] = if quic { &["h3"] } else { &["h2", "http/1.1"] };
    let mut exts: Vec<(u16, Vec<u8>)> = Vec::new();
    let ciphers: Vec<u16>;
    if chrome {
        let g = grease(rng);
        let mut suites = vec![g];
        if quic {
            suites.extend_from_slice(&[0x1301, 0x1302, 0x1303]);
        } else {
            suites.extend_from_slice(&[
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ]);
        }
        ciphers = suites;
        let gg = grease(rng);
        exts.push((0, server_name));
        exts.push((10, u16_list(&[gg, 0x11ec, 0x001d, 0x0017, 0x0018])));
        exts.push((16, alpn(alpn_names)));
        exts.push((13, sig_algs));
        exts.push((51, key_share(rng, &[(gg, 1), (0x11ec, 1216), (0x001d, 32)])));
        exts.push((45, vec![1, 1]));
        let mut versions = vec![if quic { 4 } else { 6 }, 0, 0];
        versions[1..3].copy_from_slice(&grease(rng).to_be_bytes());
        versions.extend_from_slice(&[3, 4]);
        if !quic {
            versions.extend_from_slice(&[3, 3]);
        }
        exts.push((43, versions));
        exts.push((27, vec![2, 0, 2]));
        exts.push((0x44cd, {
            let mut v = Vec::new();
            let a = if quic { "h3" } else { "h2" };
            u16be(&mut v, 3);
            v.push(2);
            v.extend_from_slice(a.as_bytes());
            v
        }));
        exts.push((0xfe0d, ech_grease(rng)));
        if quic {
            exts.push((0x39, transport_parameters(true)));
        } else {
            exts.push((23, Vec::new()));
            exts.push((0xff01, vec![0]));
            exts.push((11, vec![1, 0]));
            exts.push((35, Vec::new()));
            exts.push((5, vec![1, 0, 0, 0, 0]));
            exts.push((18, Vec::new()));
        }
        // Chrome permutes its extensions on every connection (GREASE stays first and last).
        for i in (1..exts.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            exts.swap(i, j);
        }
        exts.insert(0, (grease(rng), Vec::new()));
        exts.push((grease(rng), vec![0]));
    } else {
        ciphers = if quic {
            vec![0x1301, 0x1303, 0x1302]
        } else {
            vec![
                0x1301, 0x1303, 0x1302, 0xc02b, 0xc02f, 0xcca9, 0xcca8, 0xc02c, 0xc030, 0xc00a,
                0xc009, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ]
        };
        exts.push((0, server_name));
        if !quic {
            exts.push((23, Vec::new()));
            exts.push((0xff01, vec![0]));
        }
        exts.push((
            10,
            u16_list(&[0x11ec, 0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101]),
        ));
        if !quic {
            exts.push((11, vec![1, 0]));
        }
        exts.push((16, alpn(alpn_names)));
        if !quic {
            exts.push((5, vec![1, 0, 0, 0, 0]));
            exts.push((34, u16_list(&[0x0403, 0x0503, 0x0603, 0x0203])));
        }
        exts.push((
            51,
            key_share(rng, &[(0x11ec, 1216), (0x001d, 32), (0x0017, 65)]),
        ));
        exts.push((
            43,
            if quic {
                vec![2, 3, 4]
            } else {
                vec![4, 3, 4, 3, 3]
            },
        ));
        exts.push((13, sig_algs));
        exts.push((45, vec![1, 1]));
        exts.push((28, vec![0x40, 0x01]));
        exts.push((27, vec![6, 0, 1, 0, 2, 0, 3]));
        if quic {
            exts.push((0x39, transport_parameters(false)));
        }
        exts.push((0xfe0d, ech_grease(rng)));
    }
    let mut ext_bytes = Vec::with_capacity(2048);
    for (t, d) in &exts {
        u16be(&mut ext_bytes, *t);
        u16be(&mut ext_bytes, d.len() as u16);
        ext_bytes.extend_from_slice(d);
    }
    let mut body = Vec::with_capacity(ext_bytes.len() + 128);
    body.extend_from_slice(&[3, 3]);
    body.extend(random(rng, 32));
    if quic {
        body.push(0);
    } else {
        body.push(32);
        body.extend(random(rng, 32));
    }
    body.extend_from_slice(&u16_list(&ciphers));
    body.extend_from_slice(&[1, 0]);
    u16be(&mut body, ext_bytes.len() as u16);
    body.extend_from_slice(&ext_bytes);
    handshake(1, &body)
}

/// quic_transport_parameters (RFC 9000 §18.2), with Chrome's google_user_agent for Chrome.
fn transport_parameters(chrome: bool) -> Vec<u8> {
    let mut v = Vec::new();
    let mut param = |id: u64, value: &[u8]| {
        varint(&mut v, id);
        varint(&mut v, value.len() as u64);
        v.extend_from_slice(value);
    };
    let num = |x: u64| {
        let mut b = Vec::new();
        varint(&mut b, x);
        b
    };
    param(0x01, &num(30_000)); // max_idle_timeout
    param(0x03, &num(1_472)); // max_udp_payload_size
    param(0x04, &num(15_728_640)); // initial_max_data
    param(0x05, &num(6_291_456)); // initial_max_stream_data_bidi_local
    param(0x06, &num(6_291_456));
    param(0x07, &num(6_291_456));
    param(0x08, &num(100)); // initial_max_streams_bidi
    param(0x09, &num(103));
    param(0x0f, &[]); // initial_source_connection_id: empty, as Chromium sends it
    if chrome {
        param(0x3129, b"Chrome/131.0.6778.86 Windows NT 10.0; Win64; x64");
        param(0x4752, &[0, 0, 0, 1]);
    }
    v
}

fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(body.len() + 4);
    m.push(msg_type);
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn record(content_type: u8, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type, 3, if content_type == 22 { 1 } else { 3 }];
    u16be(&mut r, payload.len() as u16);
    r.extend_from_slice(payload);
    r
}

fn cert_der() -> Vec<u8> {
    (0..CERT_DER_HEX.len() / 2)
        .map(|i| u8::from_str_radix(&CERT_DER_HEX[2 * i..2 * i + 2], 16).expect("hex"))
        .collect()
}

/// The server's first flight for TLS 1.3 (ServerHello with an ML-KEM share, CCS, encrypted
/// EncryptedExtensions..Finished) or TLS 1.2 (ServerHello, Certificate, ServerKeyExchange,
/// ServerHelloDone), as one byte stream.
fn server_flight(tls12: bool, cert: &[u8], rng: &mut Rng) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend(random(rng, 32));
    body.push(32);
    body.extend(random(rng, 32));
    let mut ext = Vec::new();
    if tls12 {
        body.extend_from_slice(&[0xc0, 0x2f, 0]);
        ext.extend_from_slice(&[0xff, 0x01, 0, 1, 0, 0, 23, 0, 0]);
        ext.extend_from_slice(&[0, 16, 0, 5, 0, 3, 2, b'h', b'2']);
    } else {
        body.extend_from_slice(&[0x13, 0x01, 0]);
        ext.extend_from_slice(&[0x00, 0x2b, 0x00, 0x02, 0x03, 0x04]);
        ext.extend_from_slice(&[0x00, 0x33]);
        u16be(&mut ext, 4 + 1120);
        u16be(&mut ext, 0x11ec);
        u16be(&mut ext, 1120);
        ext.extend(random(rng, 1120));
    }
    u16be(&mut body, ext.len() as u16);
    body.extend_from_slice(&ext);
    let mut flight = record(22, &handshake(2, &body));
    if tls12 {
        // Certificate: list of (u24 length, DER); the leaf plus an opaque "intermediate".
        let mut list = Vec::new();
        for der in [cert.to_vec(), random(rng, 900).collect()] {
            list.extend_from_slice(&(der.len() as u32).to_be_bytes()[1..]);
            list.extend_from_slice(&der);
        }
        let mut c = (list.len() as u32).to_be_bytes()[1..].to_vec();
        c.extend_from_slice(&list);
        flight.extend(record(22, &handshake(11, &c)));
        // ServerKeyExchange: ECDHE x25519, 32-byte point, ECDSA signature.
        let mut ske = vec![3, 0, 0x1d, 32];
        ske.extend(random(rng, 32));
        ske.extend_from_slice(&[4, 3, 0, 71]);
        ske.extend(random(rng, 71));
        flight.extend(record(22, &handshake(12, &ske)));
        flight.extend(record(22, &handshake(14, &[])));
    } else {
        flight.extend(record(20, &[1]));
        let n = 1_800 + rng.below(1_200) as usize;
        flight.extend(record(23, &random(rng, n).collect::<Vec<_>>()));
    }
    flight
}

/// One planned TCP segment.
struct Seg {
    from_client: bool,
    flags: Flags,
    payload: Vec<u8>,
    kind: Kind,
    client_hello: bool,
}

/// A TCP connection's whole packet sequence, planned at its start.
struct TcpConn {
    flow: TcpFlow,
    segs: Vec<Seg>,
    next: usize,
}

fn segments(stream: &[u8], from_client: bool, kind: Kind, ch: bool, out: &mut Vec<Seg>) {
    let ack = Flags {
        ack: true,
        ..Flags::default()
    };
    let chunks: Vec<&[u8]> = stream.chunks(campus::MSS).collect();
    let last = chunks.len() - 1;
    for (i, c) in chunks.into_iter().enumerate() {
        out.push(Seg {
            from_client,
            flags: Flags {
                psh: i == last,
                ..ack
            },
            payload: c.to_vec(),
            kind,
            client_hello: ch,
        });
    }
}

fn plan_tls(
    index: usize,
    cert: &[u8],
    rng: &mut Rng,
    hellos: &mut Vec<Vec<u8>>,
    expected: &mut Vec<Expected>,
) -> (TcpConn, bool) {
    let client = index % campus::CLIENTS;
    let server = rng.below(campus::SERVERS as u64) as usize;
    let cport = 20_000 + (index % 40_000) as u16;
    let sni = server_name(server);
    let chrome = rng.below(100) < CHROME_PERCENT;
    let tls12 = rng.below(100) < TLS12_PERCENT;
    let hello = client_hello(&sni, chrome, false, rng);
    hellos.push(hello[4..].to_vec());
    expected.push(Expected {
        client: campus::client_ip(client),
        port: cport,
        sni,
    });
    let ch_record = record(22, &hello);
    assert!(ch_record.len() > campus::MSS && ch_record.len() <= 2 * campus::MSS);
    let (syn, ack) = (
        Flags {
            syn: true,
            ..Flags::default()
        },
        Flags {
            ack: true,
            ..Flags::default()
        },
    );
    let ctl = |from_client, flags| Seg {
        from_client,
        flags,
        payload: Vec::new(),
        kind: Kind::Handshake,
        client_hello: false,
    };
    let mut segs = vec![
        ctl(true, syn),
        ctl(false, Flags { syn: true, ..ack }),
        ctl(true, ack),
    ];
    segments(&ch_record, true, Kind::AppFirst, true, &mut segs);
    segs.push(ctl(false, ack));
    segments(
        &server_flight(tls12, cert, rng),
        false,
        Kind::AppFirst,
        false,
        &mut segs,
    );
    let app = |rng: &mut Rng, n: usize| record(23, &random(rng, n).collect::<Vec<_>>());
    let request_len = 250 + rng.below(400) as usize;
    if tls12 {
        // ClientKeyExchange, ChangeCipherSpec, encrypted Finished; the server's CCS + Finished.
        let mut cke = vec![32];
        cke.extend(random(rng, 32));
        let mut c = record(22, &handshake(16, &cke));
        c.extend(record(20, &[1]));
        c.extend(record(22, &random(rng, 40).collect::<Vec<_>>()));
        segments(&c, true, Kind::BulkData, false, &mut segs);
        let mut s = record(20, &[1]);
        s.extend(record(22, &random(rng, 40).collect::<Vec<_>>()));
        segments(&s, false, Kind::BulkData, false, &mut segs);
        segments(
            &app(rng, request_len),
            true,
            Kind::BulkData,
            false,
            &mut segs,
        );
    } else {
        let mut c = record(20, &[1]);
        c.extend(app(rng, 53));
        c.extend(app(rng, request_len));
        segments(&c, true, Kind::BulkData, false, &mut segs);
    }
    let response = 600 + rng.below(3_000) as usize;
    segments(&app(rng, response), false, Kind::BulkData, false, &mut segs);
    segs.push(ctl(true, ack));
    segs.push(ctl(true, Flags { fin: true, ..ack }));
    segs.push(ctl(false, Flags { fin: true, ..ack }));
    segs.push(ctl(true, ack));
    let flow = TcpFlow {
        client,
        server,
        cport,
        sport: 443,
        upload: false,
        segments_left: 0,
        bulk_bytes: 0,
        cseq: rng.next() as u32,
        sseq: rng.next() as u32,
        unacked: 0,
        stage: Stage::Syn,
    };
    (
        TcpConn {
            flow,
            segs,
            next: 0,
        },
        tls12,
    )
}

/// Writes `tls-heavy.pcap`: `connections` short TLS connections, [`CONCURRENT`] at a time.
pub fn generate_tls<W: Write>(out: W, connections: usize, seed: u64) -> io::Result<Mix> {
    let mut rng = Rng::new(seed);
    let cert = cert_der();
    let mut w = PcapWriter::new(out, seed)?;
    let mut hellos = Vec::with_capacity(connections);
    let mut expected = Vec::with_capacity(connections);
    let mut active: Vec<TcpConn> = Vec::with_capacity(CONCURRENT);
    let (mut next, mut tls12, mut ch_packets) = (0, 0, 0);
    let mut frame = Vec::with_capacity(2048);
    loop {
        while active.len() < CONCURRENT && next < connections {
            let (conn, is12) = plan_tls(next, &cert, &mut rng, &mut hellos, &mut expected);
            tls12 += usize::from(is12);
            active.push(conn);
            next += 1;
        }
        if active.is_empty() {
            break;
        }
        let k = rng.below(active.len() as u64) as usize;
        let c = &mut active[k];
        let seg = &c.segs[c.next];
        frame.clear();
        c.flow
            .emit(&mut frame, seg.from_client, seg.flags, &seg.payload);
        w.record(&frame, seg.kind)?;
        ch_packets += u64::from(seg.client_hello);
        c.next += 1;
        if c.next == c.segs.len() {
            active.swap_remove(k);
        }
    }
    let (_, tally) = w.finish()?;
    Ok(Mix {
        tally,
        client_hello_packets: ch_packets,
        hellos,
        expected,
        tls12,
    })
}

/// Protects `frames` as a client Initial packet of QUIC v1 (RFC 9001 §5.3, §5.4) with a 1-byte
/// packet number, padded with PADDING frames so the packet is `size` bytes long.
fn initial_packet(dcid: &[u8], pn: u8, frames: &[u8], size: usize) -> Vec<u8> {
    let keys = initial_keys(Version::V1, dcid).expect("v1 keys");
    // Long header, fixed bit, type Initial (0b00), Packet Number Length 1 (bits 0b00).
    let mut packet = vec![0xc0];
    packet.extend_from_slice(&Version::V1.0.to_be_bytes());
    packet.push(dcid.len() as u8);
    packet.extend_from_slice(dcid);
    packet.push(0); // SCID: empty, as Chromium sends it
    packet.push(0); // Token Length 0
    let header_len = packet.len() + 2 + 1;
    let payload_len = size - header_len - 16;
    assert!(frames.len() <= payload_len, "frames do not fit");
    u16be(&mut packet, 0x4000 | (1 + payload_len + 16) as u16);
    let pn_offset = packet.len();
    packet.push(pn);
    let mut body = frames.to_vec();
    body.resize(payload_len, 0); // PADDING
    let mut nonce = keys.iv;
    nonce[11] ^= pn;
    let tag = Aes128Gcm::new(&keys.key.into())
        .encrypt_inout_detached(&Nonce::from(nonce), &packet, body.as_mut_slice().into())
        .expect("encrypting");
    packet.extend_from_slice(&body);
    packet.extend_from_slice(&tag);
    // Header protection: AES-ECB of the 16-byte sample 4 bytes after the packet number.
    let mut block: [u8; 16] = packet[pn_offset + 4..pn_offset + 20]
        .try_into()
        .expect("16 bytes");
    let mut b = block.into();
    Aes128::new(&keys.hp.into()).encrypt_block(&mut b);
    block = b.into();
    packet[0] ^= block[0] & 0x0f;
    packet[pn_offset] ^= block[1];
    assert_eq!(packet.len(), size);
    packet
}

fn crypto_frame(out: &mut Vec<u8>, offset: usize, data: &[u8]) {
    out.push(0x06);
    varint(out, offset as u64);
    varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

/// An opaque long-header packet (Initial or Handshake from the server, Handshake from the
/// client) of `len` payload bytes: headers right, contents random.
fn opaque_long(
    out: &mut Vec<u8>,
    handshake: bool,
    dcid: &[u8],
    scid: &[u8],
    len: usize,
    rng: &mut Rng,
) {
    out.push(if handshake { 0xe1 } else { 0xc1 });
    out.extend_from_slice(&Version::V1.0.to_be_bytes());
    out.push(dcid.len() as u8);
    out.extend_from_slice(dcid);
    out.push(scid.len() as u8);
    out.extend_from_slice(scid);
    if !handshake {
        out.push(0);
    }
    u16be(out, 0x4000 | len as u16);
    out.extend(random(rng, len));
}

/// A short-header (1-RTT) packet: first byte 0b01xxxxxx, DCID, opaque protected payload.
fn short_header(out: &mut Vec<u8>, dcid: &[u8], len: usize, rng: &mut Rng) {
    out.push(0x40 | (rng.next() as u8 & 0x3f));
    out.extend_from_slice(dcid);
    out.extend(random(rng, len));
}

/// One planned QUIC datagram.
struct Datagram {
    from_client: bool,
    payload: Vec<u8>,
    kind: Kind,
    client_hello: bool,
}

struct QuicConn {
    client: usize,
    server: usize,
    cport: u16,
    grams: Vec<Datagram>,
    next: usize,
}

fn plan_quic(
    index: usize,
    rng: &mut Rng,
    hellos: &mut Vec<Vec<u8>>,
    expected: &mut Vec<Expected>,
) -> QuicConn {
    let client = index % campus::CLIENTS;
    let server = rng.below(campus::SERVERS as u64) as usize;
    let cport = 20_000 + (index % 40_000) as u16;
    let sni = server_name(server);
    let chrome = rng.below(100) < CHROME_PERCENT;
    let hello = client_hello(&sni, chrome, true, rng);
    hellos.push(hello[4..].to_vec());
    expected.push(Expected {
        client: campus::client_ip(client),
        port: cport,
        sni,
    });
    let dcid: Vec<u8> = random(rng, 8).collect();
    let server_cid: Vec<u8> = random(rng, 8).collect();
    // First Initial: bytes a..b, PING and PADDING, then bytes 0..a; second Initial: b.. .
    let b = 1_100;
    assert!(hello.len() > b + 200, "hello must need two Initials");
    let a = 200 + rng.below(700) as usize;
    let mut f1 = Vec::with_capacity(1_200);
    crypto_frame(&mut f1, a, &hello[a..b]);
    f1.push(0x01);
    f1.extend_from_slice(&[0, 0, 0]);
    crypto_frame(&mut f1, 0, &hello[..a]);
    let mut f2 = Vec::with_capacity(1_200);
    f2.extend_from_slice(&[0, 0]);
    crypto_frame(&mut f2, b, &hello[b..]);
    let mut grams = vec![
        Datagram {
            from_client: true,
            payload: initial_packet(&dcid, 0, &f1, INITIAL_DATAGRAM),
            kind: Kind::AppFirst,
            client_hello: true,
        },
        Datagram {
            from_client: true,
            payload: initial_packet(&dcid, 1, &f2, INITIAL_DATAGRAM),
            kind: Kind::AppFirst,
            client_hello: true,
        },
    ];
    // Server: Initial (ServerHello) + Handshake, then more Handshake (certificate chain).
    let mut s1 = Vec::with_capacity(1_300);
    opaque_long(&mut s1, false, &[], &server_cid, 1_200 - 60, rng);
    opaque_long(&mut s1, true, &[], &server_cid, 60, rng);
    let mut s2 = Vec::with_capacity(1_300);
    opaque_long(
        &mut s2,
        true,
        &[],
        &server_cid,
        1_000 + rng.below(200) as usize,
        rng,
    );
    grams.push(Datagram {
        from_client: false,
        payload: s1,
        kind: Kind::BulkData,
        client_hello: false,
    });
    grams.push(Datagram {
        from_client: false,
        payload: s2,
        kind: Kind::BulkData,
        client_hello: false,
    });
    // Client: Handshake (Finished) coalesced with its first 1-RTT packet (the request).
    let mut c3 = Vec::with_capacity(300);
    opaque_long(&mut c3, true, &server_cid, &[], 60, rng);
    short_header(&mut c3, &server_cid, 120 + rng.below(200) as usize, rng);
    grams.push(Datagram {
        from_client: true,
        payload: c3,
        kind: Kind::BulkData,
        client_hello: false,
    });
    for i in 0..5 {
        let from_client = i % 2 == 1;
        let mut p = Vec::with_capacity(1_400);
        if from_client {
            short_header(&mut p, &server_cid, 30 + rng.below(20) as usize, rng);
        } else {
            short_header(&mut p, &[], 1_200 + rng.below(150) as usize, rng);
        }
        grams.push(Datagram {
            from_client,
            payload: p,
            kind: if from_client {
                Kind::BulkAck
            } else {
                Kind::BulkData
            },
            client_hello: false,
        });
    }
    QuicConn {
        client,
        server,
        cport,
        grams,
        next: 0,
    }
}

/// Writes `quic-heavy.pcap`: `connections` QUIC v1 connections, [`CONCURRENT`] at a time.
pub fn generate_quic<W: Write>(out: W, connections: usize, seed: u64) -> io::Result<Mix> {
    let mut rng = Rng::new(seed);
    let mut w = PcapWriter::new(out, seed)?;
    let mut hellos = Vec::with_capacity(connections);
    let mut expected = Vec::with_capacity(connections);
    let mut active: Vec<QuicConn> = Vec::with_capacity(CONCURRENT);
    let (mut next, mut ch_packets) = (0, 0);
    let mut frame = Vec::with_capacity(2048);
    loop {
        while active.len() < CONCURRENT && next < connections {
            active.push(plan_quic(next, &mut rng, &mut hellos, &mut expected));
            next += 1;
        }
        if active.is_empty() {
            break;
        }
        let k = rng.below(active.len() as u64) as usize;
        let c = &mut active[k];
        let g = &c.grams[c.next];
        let cl = (
            campus::client_mac(c.client),
            campus::client_ip(c.client),
            c.cport,
        );
        let sv = (ROUTER_MAC, campus::server_ip(c.server), 443u16);
        frame.clear();
        if g.from_client {
            campus::udp_frame(
                &mut frame,
                (cl.0, sv.0),
                (cl.1, sv.1),
                (cl.2, sv.2),
                64,
                &g.payload,
            );
        } else {
            campus::udp_frame(
                &mut frame,
                (sv.0, cl.0),
                (sv.1, cl.1),
                (sv.2, cl.2),
                52,
                &g.payload,
            );
        }
        w.record(&frame, g.kind)?;
        ch_packets += u64::from(g.client_hello);
        c.next += 1;
        if c.next == c.grams.len() {
            active.swap_remove(k);
        }
    }
    let (_, tally) = w.finish()?;
    Ok(Mix {
        tally,
        client_hello_packets: ch_packets,
        hellos,
        expected,
        tls12: 0,
    })
}
