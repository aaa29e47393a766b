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

/// ClientHellos read per connection: the first, and the second a HelloRetryRequest asks for
/// (RFC 8446 §4.1.4); a client never sends more in the clear.
const MAX_CLIENT_HELLOS: usize = 2;

/// Record content types of RFC 8446 §5.1 the client may send after its hello.
const CONTENT_CHANGE_CIPHER_SPEC: u8 = 20;
const CONTENT_ALERT: u8 = 21;
const CONTENT_APPLICATION_DATA: u8 = 23;

/// Reads the client's hellos. After the first, the parser keeps reading until the client's next
/// flight shows whether a second hello follows (after a HelloRetryRequest) or the handshake goes
/// on without one; the compatibility ChangeCipherSpec record in between is skipped.
fn client(data: &[u8], sink: &mut Sink<'_>) -> (usize, Verdict) {
    let mut at = 0;
    let mut hellos = 0;
    loop {
        let rest = data.get(at..).unwrap_or_default();
        if let [CONTENT_CHANGE_CIPHER_SPEC, 3, _, hi, lo, ..] = rest {
            let len = 5 + usize::from(u16::from_be_bytes([*hi, *lo]));
            if rest.len() < len {
                return (at, Verdict::NeedMore);
            }
            at += len;
            continue;
        }
        let started = at > 0 || hellos > 0;
        let stop = if started {
            Verdict::Done
        } else {
            Verdict::NotMine
        };
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
        at += message.consumed;
        hellos += 1;
        if hellos >= MAX_CLIENT_HELLOS {
            return (at, Verdict::Done);
        }
    }
}

fn server(data: &[u8], sink: &mut Sink<'_>) -> (usize, Verdict) {
    let Some(mut held) = sink.take_held() else {
        return (0, Verdict::NotMine);
    };
    let EventBody::Tls(ev) = &mut held.body else {
        *sink.held = Some(held);
        return (0, Verdict::NotMine);
    };
    // A ChangeCipherSpec record may follow a HelloRetryRequest (RFC 8446 appendix D.4).
    let mut skip = 0;
    while let Some([CONTENT_CHANGE_CIPHER_SPEC, 3, _, hi, lo]) = data.get(skip..skip + 5) {
        skip += 5 + usize::from(u16::from_be_bytes([*hi, *lo]));
    }
    let Some(data) = data.get(skip..) else {
        *sink.held = Some(held);
        return (0, Verdict::NeedMore);
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
                        return (skip + m.consumed, Verdict::NeedMore);
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
        (skip + consumed, Verdict::Done)
    } else {
        *sink.held = Some(held);
        (0, Verdict::NeedMore)
    }
}
