//! KMS conversations built from the PDUs of the shared captures (tests/data/kms), between any
//! client and server, for tests that need addresses, ports or times of their own.

use super::{Frame, tcp};
use std::path::Path;

fn data(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/kms")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// Bytes from hex text (whitespace ignored).
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The bind and bind_ack of kms_v6_win10_pro_2req_ndr32_ndr64_vlmcsd.pcap (call 2).
pub const BIND: &str = "05000b1310000000a000000002000000d016d0160000000003000000000001007521c8514e845047b0d8ec255555bc0601000000045d888aeb1cc9119fe808002b10486002000000010001007521c8514e845047b0d8ec255555bc060100000033057171babe37498319b5dbef9ccc3601000000020001007521c8514e845047b0d8ec255555bc06010000002c1cb76c12984045030000000000000001000000";
/// vlmcsd's bind_ack to it.
pub const BIND_ACK: &str = "05000c13100000006c00000002000000d016d016083dd4510500313638380000030000000200020000000000000000000000000000000000000000000000000033057171babe37498319b5dbef9ccc3601000000030003000000000000000000000000000000000000000000";

/// A request or response PDU of call 2 on context 1 (NDR64 was accepted there) carrying `stub`.
pub fn pdu(ptype: u8, flags: u8, stub: &[u8]) -> Vec<u8> {
    let len = 24 + stub.len();
    let mut p = vec![5, 0, ptype, flags, 0x10, 0, 0, 0];
    p.extend_from_slice(&(len as u16).to_le_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&2u32.to_le_bytes());
    p.extend_from_slice(&(stub.len() as u32).to_le_bytes());
    p.extend_from_slice(&1u16.to_le_bytes()); // context 1
    p.extend_from_slice(&0u16.to_le_bytes()); // opnum 0 (a response's cancel count and pad)
    p.extend_from_slice(stub);
    p
}

/// The NDR32 stubs of the shared capture, re-framed as NDR64 for context 1.
pub fn ndr64_stubs() -> (Vec<u8>, Vec<u8>) {
    let req32 = hex(&data("v6_request_stub.hex"));
    let resp32 = hex(&data("v6_response_stub.hex"));
    let msg = &req32[8..];
    let mut req = Vec::new();
    req.extend_from_slice(&(msg.len() as u64).to_le_bytes());
    req.extend_from_slice(&(msg.len() as u64).to_le_bytes());
    req.extend_from_slice(msg);
    let size = u32::from_le_bytes(resp32[..4].try_into().unwrap()) as usize;
    let body = &resp32[12..12 + size];
    let hresult = &resp32[resp32.len() - 4..];
    let mut resp = Vec::new();
    resp.extend_from_slice(&(size as u64).to_le_bytes());
    resp.extend_from_slice(&0x20000u64.to_le_bytes());
    resp.extend_from_slice(&(size as u64).to_le_bytes());
    resp.extend_from_slice(body);
    resp.extend_from_slice(hresult);
    (req, resp)
}

/// A KMS conversation from `client` to `server` starting at `t0` µs: bind, bind_ack, the
/// request PDUs (each split over two segments) and the response. The client's frames carry
/// `client_mac`.
pub fn conversation(
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
    t0: i64,
    client_mac: [u8; 6],
    request_pdus: &[Vec<u8>],
    response: &[u8],
) -> Vec<Frame> {
    let (c, s) = (client, server);
    let bind = hex(BIND);
    let ack = hex(BIND_ACK);
    let mut frames = vec![
        tcp(t0, c, s, 1000, 0, "S", &[]),
        tcp(t0 + 10, s, c, 5000, 1001, "SA", &[]),
        tcp(t0 + 20, c, s, 1001, 5001, "A", &[]),
    ];
    let mut cseq = 1001;
    let mut sseq = 5001;
    let mut t = t0 + 30;
    frames.push(tcp(t, c, s, cseq, sseq, "PA", &bind));
    cseq += bind.len() as u32;
    t += 10;
    frames.push(tcp(t, s, c, sseq, cseq, "PA", &ack));
    sseq += ack.len() as u32;
    for pdu in request_pdus {
        let half = pdu.len() / 2;
        for part in [&pdu[..half], &pdu[half..]] {
            t += 10;
            frames.push(tcp(t, c, s, cseq, sseq, "PA", part));
            cseq += part.len() as u32;
        }
    }
    t += 10;
    frames.push(tcp(t, s, c, sseq, cseq, "PA", response));
    // Ethernet source of the client's frames, destination of the server's.
    for f in &mut frames {
        let from_client = f.data[26..30] == c.0;
        let range = if from_client { 6..12 } else { 0..6 };
        f.data[range].copy_from_slice(&client_mac);
    }
    frames
}

/// The shared capture's NDR64 call from `client` to `server`, whole.
pub fn activation(
    client: ([u8; 4], u16),
    server: ([u8; 4], u16),
    t0: i64,
    client_mac: [u8; 6],
) -> Vec<Frame> {
    let (req, resp) = ndr64_stubs();
    conversation(
        client,
        server,
        t0,
        client_mac,
        &[pdu(0, 0x03, &req)],
        &pdu(2, 0x03, &resp),
    )
}
