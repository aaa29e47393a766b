//! Fuzz target for the TLS parser and fingerprints: any input must parse or fail cleanly, what
//! parses must respect the module's caps, and the record walk must account for its bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretally::wire::ja::{self, Transport};
use wiretally::wire::tls;

fuzz_target!(|data: &[u8]| {
    // As the start of a client stream.
    if let Ok(Some(message)) = tls::first_handshake(data) {
        assert!(message.consumed <= data.len());
        assert!(message.body.len() <= tls::MAX_HANDSHAKE_LEN);
        // The walk is a pure function of the bytes, and more bytes never change a complete
        // message.
        let mut longer = data.to_vec();
        longer.extend_from_slice(&[0x16, 3, 3, 0, 1, 0]);
        assert_eq!(tls::first_handshake(&longer), Ok(Some(message.clone())));
        check_hello(&message.body);
    }

    // As the start of a server stream: messages come back in order, consumed within the input.
    if let Ok((messages, consumed)) = tls::handshakes(data, 4) {
        assert!(messages.len() <= 4 && consumed <= data.len());
        assert_eq!(messages.is_empty(), consumed == 0);
        for message in &messages {
            let _ = tls::parse_server_hello(&message.body);
            if let Ok(Some(cert)) = tls::parse_certificate(&message.body) {
                assert!(cert.sans.len() <= tls::MAX_SANS);
            }
        }
    }

    // As a QUIC CRYPTO stream (no record layer), and as a bare body.
    if let Ok(Some(message)) = tls::handshake_message(data) {
        assert_eq!(message.consumed, message.body.len() + tls::HANDSHAKE_HEADER_LEN);
        check_hello(&message.body);
    }
    check_hello(data);
});

/// Parses a ClientHello body and fingerprints it; checks caps and fingerprint shapes.
fn check_hello(body: &[u8]) {
    let Ok(hello) = tls::parse_client_hello(body) else {
        return;
    };
    assert!(hello.alpn.len() <= tls::MAX_ALPN_VALUES);
    // Escaped strings carry no control characters.
    for s in hello.sni.iter().chain(&hello.alpn).chain(&hello.quic_user_agent) {
        assert!(!s.chars().any(char::is_control));
    }
    let ja3 = ja::ja3_string(&hello);
    assert_eq!(ja::ja3_hash(&ja3).len(), 32);
    for transport in [Transport::Tcp, Transport::Quic, Transport::Dtls] {
        let fp = ja::ja4(&hello, transport);
        assert_eq!(fp.len(), 36, "{fp}");
        assert!(fp.is_ascii());
    }
    assert_eq!(tls::parse_client_hello(body), Ok(hello));
}
