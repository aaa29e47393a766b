//! QUIC client Initials become `quic` events: the Initial packets of a connection are decrypted
//! with the keys RFC 9001 §5.2 derives from their Destination Connection ID, their CRYPTO frames
//! are reassembled by offset across packets and datagrams (Chromium splits its post-quantum
//! ClientHello over several), and the ClientHello goes through the same parser and fingerprints
//! as TLS over TCP.

use super::tls::fingerprints;
use super::{DatagramParser, Malformed, ParserState, Sink};
use crate::event::{EventBody, QuicEvent};
use crate::wire::crypto_reassembly::{CryptoStream, client_hello_body};
use crate::wire::ja::Transport;
use crate::wire::quic::{self, CryptoFrame};
use crate::wire::tls;

/// One QUIC connection's progress towards its ClientHello.
#[derive(Debug, Default)]
pub struct Connection {
    crypto: CryptoStream,
    done: bool,
}

impl Connection {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.crypto.heap_bytes()
    }

    /// Whether the ClientHello was never completed.
    pub fn unfinished(&self) -> bool {
        !self.done
    }
}

/// The QUIC parser.
pub struct Quic;

/// QUIC (RFC 9000) client Initials to UDP 443 and 8443.
pub static QUIC: Quic = Quic;

impl DatagramParser for Quic {
    fn name(&self) -> &'static str {
        "quic"
    }

    fn wants(&self, _client_port: u16, server_port: u16) -> bool {
        matches!(server_port, 443 | 8443)
    }

    fn parse(&self, payload: &[u8], sink: &mut Sink<'_>) -> Result<(), Malformed> {
        // Only the client's packets are decrypted with client keys; the server's Initials use
        // server keys and carry nothing the sensor needs.
        if sink.endpoints.dest_port != 443 && sink.endpoints.dest_port != 8443 {
            return Ok(());
        }
        if matches!(sink.state, Some(s) if matches!(**s, ParserState::Quic(ref c) if c.done)) {
            return Ok(());
        }
        let mut frames: Vec<CryptoFrame> = Vec::new();
        let info = match quic::parse_client_datagram(payload, &mut frames) {
            Ok(info) => info,
            // Short-header packets follow the handshake; versions we do not decrypt are not ours.
            Err(quic::Error::NotLongHeader { .. } | quic::Error::UnsupportedVersion { .. }) => {
                return Ok(());
            }
            Err(_) => return Err(Malformed),
        };
        if frames.is_empty() {
            return Ok(());
        }
        let state = sink
            .state
            .get_or_insert_with(|| Box::new(ParserState::Quic(Connection::default())));
        let ParserState::Quic(conn) = &mut **state;
        for f in &frames {
            if conn.crypto.add(f.offset, &f.data).is_err() {
                return Err(Malformed);
            }
        }
        let Some(body) = client_hello_body(conn.crypto.contiguous()) else {
            return Ok(());
        };
        let hello = tls::parse_client_hello(body).map_err(|_| Malformed)?;
        conn.done = true;
        conn.crypto = CryptoStream::new();
        let (ja3, ja4) = fingerprints(&hello, Transport::Quic);
        sink.emit(EventBody::Quic(QuicEvent {
            version: info.version.name().unwrap_or("unknown").to_string(),
            sni: hello.sni,
            alpn: hello.alpn,
            ua: hello.quic_user_agent,
            ja3,
            ja4,
        }));
        Ok(())
    }
}
