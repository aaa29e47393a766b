//! TLS handshakes on any TCP port become `tls` events: the ClientHello with its JA3 and JA4
//! fingerprints, completed by the server's choice of version, cipher and ALPN and, for TLS 1.2 and
//! earlier, the leaf certificate's names.
//!
//! The client's event is held on its flow until the server's flight arrives (or the flow ends),
//! as the HTTP parser does with requests.

use super::{Sink, StreamParser, Verdict};
use crate::event::{EventBody, Ja3, TlsEvent};
use crate::pipeline::flow::Direction;
use crate::wire::ja::{self, Transport};
use crate::wire::tls::{self, CERTIFICATE, CLIENT_HELLO, ClientHello, SERVER_HELLO};

/// The TLS stream parser.
pub struct Tls;

/// TLS on any port.
pub static TLS: Tls = Tls;

/// Handshake messages read from the server's first flight: ServerHello, Certificate, and room for
/// what may sit between them in odd stacks.
const SERVER_FLIGHT_MESSAGES: usize = 4;

/// The fingerprint fields shared by `tls` and `quic` events.
pub fn fingerprints(hello: &ClientHello, transport: Transport) -> (Ja3, String) {
    let string = ja::ja3_string(hello);
    let hash = ja::ja3_hash(&string);
    (Ja3 { hash, string }, ja::ja4(hello, transport))
}

/// The highest version a ClientHello offers, for the event before the server answers.
fn offered_version(hello: &ClientHello) -> u16 {
    hello
        .supported_versions
        .iter()
        .copied()
        .filter(|v| !tls::is_grease(*v))
        .max()
        .unwrap_or(hello.legacy_version)
}

impl StreamParser for Tls {
    fn name(&self) -> &'static str {
        "tls"
    }

    fn wants(&self, _client_port: u16, _server_port: u16) -> bool {
        true
    }

    fn parse(&self, dir: Direction, data: &[u8], sink: &mut Sink<'_>) -> (usize, Verdict) {
        match dir {
            Direction::ToServer => client(data, sink),
            Direction::ToClient => server(data, sink),
        }
    }
}

/// Record content types of RFC 8446 §5.1 that may follow a client's hello.
const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
const CONTENT_ALERT: u8 = 21;
const CONTENT_APPLICATION_DATA: u8 = 23;

/// Bytes at the start of `data` taken by ChangeCipherSpec records (RFC 8446 appendix D.4 sends
/// one for middlebox compatibility); `None` when one is cut short.
fn skip_change_cipher_spec(data: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(&[CONTENT_CHANGE_CIPHER_SPEC, 3, _, hi, lo]) = data.get(at..at + 5) {
        at += 5 + usize::from(u16::from_be_bytes([hi, lo]));
    }
    (at <= data.len()).then_some(at)
}

/// Reads the client's hellos: the first at the start of the stream and, right after it, the
/// second a HelloRetryRequest asks for (RFC 8446 §4.1.4; the server's side may be missing from
/// the capture). A client sends no more in the clear, so at most two events come from one
/// connection.
fn client(data: &[u8], sink: &mut Sink<'_>) -> (usize, Verdict) {
    let first = sink.offset == 0;
    let (stop, at) = if first {
        (Verdict::NotMine, 0)
    } else {
        match skip_change_cipher_spec(data) {
            Some(at) => (Verdict::Done, at),
            None => return (0, Verdict::NeedMore),
        }
    };
    let rest = data.get(at..).unwrap_or_default();
    match rest.first() {
        None => return (at, Verdict::NeedMore),
        Some(&(CONTENT_APPLICATION_DATA | CONTENT_ALERT)) => return (at, stop),
        Some(_) if !tls::looks_like_handshake(rest) => return (at, stop),
        Some(_) => {}
    }
    let message = match tls::first_handshake(rest) {
        Ok(Some(m)) => m,
        Ok(None) => return (at, Verdict::NeedMore),
        Err(_) => return (at, stop),
    };
    if message.msg_type != CLIENT_HELLO {
        return (at, stop);
    }
    let Ok(hello) = tls::parse_client_hello(&message.body) else {
        return (at, stop);
    };
    let (ja3, ja4) = fingerprints(&hello, Transport::Tcp);
    sink.hold(EventBody::Tls(TlsEvent {
        sni: hello.sni.clone(),
        version: tls::version_name(offered_version(&hello)).to_string(),
        alpn: hello.alpn.clone(),
        server_alpn: None,
        cipher_suite: None,
        ja3,
        ja4,
        subject: None,
        issuerdn: None,
        subjectaltname: Vec::new(),
    }));
    let consumed = at + message.consumed;
    if first {
        (consumed, Verdict::NeedMore)
    } else {
        (consumed, Verdict::Done)
    }
}

fn server(data: &[u8], sink: &mut Sink<'_>) -> (usize, Verdict) {
    // A ChangeCipherSpec may follow a HelloRetryRequest, in its own segment before the client's
    // second hello: step over it without touching the held event.
    let Some(skip) = skip_change_cipher_spec(data) else {
        return (0, Verdict::NeedMore);
    };
    if skip > 0 {
        return (skip, Verdict::NeedMore);
    }
    let Some(mut held) = sink.take_held() else {
        return (0, Verdict::NotMine);
    };
    let EventBody::Tls(ev) = &mut held.body else {
        *sink.held = Some(held);
        return (0, Verdict::NotMine);
    };
    let (messages, consumed) = match tls::handshakes(data, SERVER_FLIGHT_MESSAGES) {
        Ok(found) => found,
        Err(_) => {
            sink.emit_event(*held);
            return (0, Verdict::NotMine);
        }
    };
    let mut version = None;
    let mut has_certificate = false;
    for m in &messages {
        match m.msg_type {
            SERVER_HELLO => {
                if let Ok(sh) = tls::parse_server_hello(&m.body) {
                    if sh.hello_retry_request {
                        // The client will send a second hello: this one is logged as it
                        // stands, and the server's real ServerHello completes the next.
                        ev.version = tls::version_name(sh.version).to_string();
                        ev.cipher_suite = Some(format!("0x{:04x}", sh.cipher));
                        sink.emit_event(*held);
                        return (m.consumed, Verdict::NeedMore);
                    }
                    version = Some(sh.version);
                    ev.version = tls::version_name(sh.version).to_string();
                    ev.cipher_suite = Some(format!("0x{:04x}", sh.cipher));
                    ev.server_alpn = sh.alpn;
                }
            }
            CERTIFICATE => {
                has_certificate = true;
                if let Ok(Some(cert)) = tls::parse_certificate(&m.body) {
                    ev.subject = Some(cert.subject);
                    ev.issuerdn = Some(cert.issuer);
                    ev.subjectaltname = cert.sans;
                }
            }
            _ => {}
        }
    }
    // TLS 1.3 encrypts everything after the ServerHello; earlier versions send the certificate
    // in the clear (unless the session is resumed, when the flight ends without one).
    let complete = match version {
        Some(0x0304) => true,
        Some(_) => {
            has_certificate
                || messages.len() >= SERVER_FLIGHT_MESSAGES
                || data
                    .get(consumed)
                    .is_some_and(|b| *b != tls::CONTENT_HANDSHAKE)
        }
        None => false,
    };
    if complete {
        sink.emit_event(*held);
        (consumed, Verdict::DoneWithFlow)
    } else {
        *sink.held = Some(held);
        (0, Verdict::NeedMore)
    }
}
