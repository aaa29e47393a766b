//! TLS and QUIC through the whole pipeline, with exact event counts: several hellos on one
//! connection, a HelloRetryRequest with its ChangeCipherSpec in a segment of its own, a hello cut
//! short, and a QUIC Initial sent again after its hello was read.

mod common;

use common::*;

const C: [u8; 4] = [10, 0, 0, 8];
const S: [u8; 4] = [192, 0, 2, 44];
const T0: i64 = 1_800_000_000_000_000;

fn vec16(body: &[u8]) -> Vec<u8> {
    let mut v = (body.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(body);
    v
}

fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![msg_type];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    v.extend_from_slice(body);
    v
}

fn record(content_type: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![content_type, 3, 3];
    v.extend_from_slice(&vec16(payload));
    v
}

/// A TLS 1.3 ClientHello record for `sni`.
fn client_hello(sni: &str) -> Vec<u8> {
    let mut body = vec![3, 3];
    body.extend_from_slice(&[7; 32]); // random
    body.push(0); // session id
    body.extend_from_slice(&vec16(&[0x13, 0x01, 0x13, 0x02])); // cipher suites
    body.extend_from_slice(&[1, 0]); // compression: null
    let mut name = vec![0];
    name.extend_from_slice(&vec16(sni.as_bytes()));
    let mut ext = vec![0, 0];
    ext.extend_from_slice(&vec16(&vec16(&name))); // server_name
    ext.extend_from_slice(&[0, 0x2b]);
    ext.extend_from_slice(&vec16(&[2, 3, 4])); // supported_versions: TLS 1.3
    body.extend_from_slice(&vec16(&ext));
    record(22, &handshake(1, &body))
}

/// A ServerHello record choosing TLS 1.3 and TLS_AES_128_GCM_SHA256; with `retry`, a
/// HelloRetryRequest (RFC 8446 §4.1.3: the special random).
fn server_hello(retry: bool) -> Vec<u8> {
    const HRR_RANDOM: [u8; 32] = [
        0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8,
        0x91, 0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8,
        0x33, 0x9c,
    ];
    let mut body = vec![3, 3];
    body.extend_from_slice(if retry { &HRR_RANDOM } else { &[9; 32] });
    body.push(0);
    body.extend_from_slice(&[0x13, 0x01, 0]);
    body.extend_from_slice(&vec16(&[0, 0x2b, 0, 2, 3, 4]));
    record(22, &handshake(2, &body))
}

const CCS: [u8; 6] = [20, 3, 3, 0, 1, 1];

/// Frames of a connection: handshake, then each payload in its own segment in the given direction.
fn connection(port: u16, payloads: &[(bool, Vec<u8>)]) -> Vec<Frame> {
    let (mut cs, mut ss) = (1000u32, 9000u32);
    let mut frames = vec![
        tcp(T0, (C, port), (S, 443), cs, 0, "S", b""),
        tcp(T0 + 1, (S, 443), (C, port), ss, cs + 1, "SA", b""),
    ];
    cs += 1;
    ss += 1;
    for (i, (from_client, p)) in payloads.iter().enumerate() {
        let t = T0 + 10 + i as i64;
        if *from_client {
            frames.push(tcp(t, (C, port), (S, 443), cs, ss, "AP", p));
            cs += p.len() as u32;
        } else {
            frames.push(tcp(t, (S, 443), (C, port), ss, cs, "AP", p));
            ss += p.len() as u32;
        }
    }
    frames
}

#[test]
fn one_connection_gives_at_most_two_hellos() {
    let payloads: Vec<(bool, Vec<u8>)> = (0..6)
        .map(|i| (true, client_hello(&format!("h{i}.example"))))
        .collect();
    let (events, _) = run_capture(&connection(40100, &payloads), &[]);
    let snis: Vec<&str> = events
        .iter()
        .map(|e| e["tls"]["sni"].as_str().unwrap())
        .collect();
    assert_eq!(snis, ["h0.example", "h1.example"]);
}

#[test]
fn hello_retry_request_with_a_separate_change_cipher_spec() {
    let mut second = CCS.to_vec();
    second.extend_from_slice(&client_hello("retry.example"));
    let frames = connection(
        40101,
        &[
            (true, client_hello("retry.example")),
            (false, server_hello(true)),
            (false, CCS.to_vec()),
            (true, second),
            (false, server_hello(false)),
        ],
    );
    let (events, _) = run_capture(&frames, &[]);
    assert_eq!(events.len(), 2, "{events:?}");
    for e in &events {
        assert_eq!(e["tls"]["version"], "TLS 1.3");
        assert_eq!(e["tls"]["cipher_suite"], "0x1301");
    }
}

#[test]
fn a_hello_cut_short_is_counted() {
    let hello = client_hello("cut.example");
    let frames = connection(40102, &[(true, hello[..30].to_vec())]);
    let (events, stderr) = run_capture(&frames, &[]);
    assert!(events.is_empty());
    assert!(stderr.contains("TCP stream starts 1"), "{stderr}");
}

#[test]
fn a_quic_initial_sent_again_gives_one_event() {
    // RFC 9001 Appendix A.2's client Initial (SNI example.com), sent three times.
    let initial = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fuzz/corpus/quic/rfc9001-a2-client-initial"
    ))
    .unwrap();
    let frames: Vec<Frame> = (0..3)
        .map(|i| udp(T0 + i, (C, 50000), (S, 443), &initial))
        .collect();
    let (events, stderr) = run_capture(&frames, &[]);
    assert_eq!(events.len(), 1, "{stderr}");
    assert_eq!(events[0]["quic"]["sni"], "example.com");
    assert_eq!(events[0]["quic"]["version"], "1");
    assert!(!stderr.contains("budget exhausted"), "{stderr}");
}

#[test]
fn datagrams_without_state_never_exhaust_the_budget() {
    // Early TCP segments fill every shard's stream budget...
    let mut frames = stalled_streams(5, S, T0, 3000);
    let tcp_only = run_capture(&frames, &["--stream-memory-mib", "1"]).1;
    // ...and DNS queries, which keep no state, must not be counted against it.
    for i in 0..200u16 {
        frames.push(udp(
            T0 + 5_000 + i64::from(i),
            ([10, 6, 0, (i % 250) as u8], 40000 + i),
            (S, 53),
            &dns_query(i, "a.example", 1),
        ));
    }
    let with_dns = run_capture(&frames, &["--stream-memory-mib", "1"]).1;
    let exhausted = |s: &str| {
        s.split("budget exhausted ").nth(1).map(|t| {
            t.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .to_string()
        })
    };
    assert!(exhausted(&tcp_only).is_some(), "{tcp_only}");
    assert_eq!(exhausted(&tcp_only), exhausted(&with_dns));
}
