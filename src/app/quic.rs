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

/// Where a connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Progress {
    /// Collecting CRYPTO data.
    #[default]
    Collecting,
    /// The ClientHello was read.
    Done,
    /// The CRYPTO stream overflowed or did not start with a ClientHello: given up, buffers freed.
    Failed,
}

/// One QUIC connection's progress towards its ClientHello.
#[derive(Debug, Default)]
pub struct Connection {
    /// Destination Connection ID of the client's first Initial: its keys protect the first flight.
    dcid: Vec<u8>,
    crypto: CryptoStream,
    progress: Progress,
}

impl Connection {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.crypto.heap_bytes() + self.dcid.capacity()
    }

    /// Whether the ClientHello was never completed.
    pub fn unfinished(&self) -> bool {
        self.progress != Progress::Done
    }

    /// Stops collecting and frees the buffers.
    fn settle(&mut self, progress: Progress) {
        self.progress = progress;
        self.crypto = CryptoStream::new();
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
        if matches!(sink.state.as_deref(), Some(ParserState::Quic(c)) if c.progress != Progress::Collecting)
        {
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
        let ParserState::Quic(conn) = &mut **state else {
            // UDP flows only ever hold QUIC state.
            return Err(Malformed);
        };
        if conn.dcid.is_empty() {
            conn.dcid = info.dcid.clone();
        } else if conn.dcid != info.dcid {
            // A new connection attempt on the same ports: start over with its first flight.
            *conn = Connection {
                dcid: info.dcid.clone(),
                ..Connection::default()
            };
        }
        for f in &frames {
            if conn.crypto.add(f.offset, &f.data).is_err() {
                conn.settle(Progress::Failed);
                return Err(Malformed);
            }
        }
        let contiguous = conn.crypto.contiguous();
        if contiguous.first().is_some_and(|t| *t != tls::CLIENT_HELLO) {
            conn.settle(Progress::Failed);
            return Err(Malformed);
        }
        let Some(body) = client_hello_body(contiguous) else {
            return Ok(());
        };
        let parsed = tls::parse_client_hello(body);
        conn.settle(if parsed.is_ok() {
            Progress::Done
        } else {
            Progress::Failed
        });
        let hello = parsed.map_err(|_| Malformed)?;
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
