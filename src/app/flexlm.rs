//! FlexLM / FlexNet licence-manager conversations on any TCP port become `license` events.
//!
//! A direction is taken for FlexLM only when its first bytes are a whole message whose check byte
//! matches (src/wire/flexlm.rs), so the parser can look at every port: lmgrd's 27000–27009, the
//! ports products document, and vendor daemons on the dynamic ports a redirect names. Per
//! connection it reports the client's hello (vendor daemon, client host, platform, version), the
//! server's hello response and its redirect to the vendor daemon, and, for a connection that
//! opens with a framed request instead of a hello, that first request. Later status and usage
//! messages are read past without events; their contents are encrypted or personal.

use super::{ParserState, Sink, StreamParser, Verdict};
use crate::event::{EventBody, LicenseEvent};
use crate::pipeline::flow::Direction;
use crate::wire::flexlm::{self, FrameBody, Message};
use std::net::IpAddr;

/// Messages read per direction before the parser stops: enough for the handshake, the redirect
/// and the first requests.
pub const MAX_MESSAGES: usize = 16;

/// The FlexLM stream parser.
pub struct Flexlm;

/// FlexLM on any port.
pub static FLEXLM: Flexlm = Flexlm;

/// What a FlexLM connection's parser keeps: the vendor daemon its client asked for and which
/// events it already gave.
#[derive(Debug, Default)]
pub struct Conversation {
    vendor: Option<String>,
    messages: [usize; 2],
    reported_request: bool,
}

impl Conversation {
    /// Heap bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.vendor.as_ref().map_or(0, String::capacity)
    }
}

fn version_text((major, minor): (u8, u8)) -> String {
    format!("{major}.{minor}")
}

fn event(server: (IpAddr, u16), message: &'static str, vendor: Option<String>) -> LicenseEvent {
    LicenseEvent {
        protocol: "flexlm",
        server: server.0,
        server_port: server.1,
        message,
        message_type: None,
        vendor_daemon: vendor,
        client_host: None,
        platform: None,
        version: None,
        redirect_host: None,
        redirect_port: None,
        product: None,
    }
}

impl StreamParser for Flexlm {
    fn name(&self) -> &'static str {
        "flexlm"
    }

    fn wants(&self, _client_port: u16, _server_port: u16) -> bool {
        true
    }

    fn parse(&self, dir: Direction, data: &[u8], sink: &mut Sink<'_>) -> (usize, Verdict) {
        let d = dir.index();
        let e = sink.endpoints;
        let server = match dir {
            Direction::ToServer => (e.dest_ip, e.dest_port),
            Direction::ToClient => (e.src_ip, e.src_port),
        };
        let mut used = 0;
        loop {
            let known = matches!(sink.state.as_deref(), Some(ParserState::Flexlm(_)));
            let rest = data.get(used..).unwrap_or_default();
            let (message, len) = match flexlm::parse(rest) {
                Ok(Some(m)) => m,
                Ok(None) => return (used, Verdict::NeedMore),
                Err(_) if known && used > 0 => return (used, Verdict::Done),
                Err(_) => return (used, Verdict::NotMine),
            };
            if !known {
                if sink.state.is_some() {
                    return (used, Verdict::NotMine);
                }
                *sink.state = Some(Box::new(ParserState::Flexlm(Conversation::default())));
            }
            used += len;
            let Some(ParserState::Flexlm(c)) = sink.state.as_deref_mut() else {
                return (used, Verdict::Done);
            };
            c.messages[d] += 1;
            let out = match (message, dir) {
                (Message::Hello(h), Direction::ToServer) => {
                    let vendor = (!h.vendor.is_empty()).then_some(h.vendor);
                    c.vendor.clone_from(&vendor);
                    c.reported_request = true;
                    Some(LicenseEvent {
                        client_host: (!h.host.is_empty()).then_some(h.host),
                        platform: (!h.platform.is_empty()).then_some(h.platform),
                        version: Some(version_text(h.version)),
                        ..event(server, "hello", vendor)
                    })
                }
                (Message::Frame { body, .. }, Direction::ToClient) => match body {
                    FrameBody::HelloResponse {
                        version,
                        daemon,
                        host: _,
                    } => {
                        let vendor = c.vendor.clone().or_else(|| {
                            (!daemon.is_empty() && daemon != "lmgrd").then_some(daemon)
                        });
                        Some(LicenseEvent {
                            version: Some(version_text(version)),
                            ..event(server, "hello-response", vendor)
                        })
                    }
                    FrameBody::Redirect { host, port } => Some(LicenseEvent {
                        redirect_host: (!host.is_empty()).then_some(host),
                        redirect_port: Some(port),
                        ..event(server, "redirect", c.vendor.clone())
                    }),
                    FrameBody::Other => None,
                },
                (Message::Frame { kind, .. }, Direction::ToServer) if !c.reported_request => {
                    c.reported_request = true;
                    Some(LicenseEvent {
                        message_type: Some(format!("0x{kind:04x}")),
                        ..event(server, "request", c.vendor.clone())
                    })
                }
                _ => None,
            };
            let done = c.messages[d] >= MAX_MESSAGES;
            if let Some(ev) = out {
                sink.emit(EventBody::License(ev));
            }
            if done {
                return (used, Verdict::Done);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Endpoints, Event, Proto, Timestamp};
    use crate::wire::flexlm::build;

    fn run(steps: &[(Direction, Vec<u8>)]) -> (Vec<Event>, [Verdict; 2]) {
        let endpoints = Endpoints {
            flow_id: 1,
            src_ip: [10, 0, 0, 2].into(),
            src_port: 50000,
            dest_ip: [10, 0, 0, 1].into(),
            dest_port: 27000,
            proto: Proto::Tcp,
            src_mac: None,
            dest_mac: None,
        };
        let mut out = Vec::new();
        let mut held = None;
        let mut state = None;
        let mut streams: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
        let mut cursors = [0usize; 2];
        let mut verdicts = [Verdict::NeedMore; 2];
        for (dir, bytes) in steps {
            let d = dir.index();
            streams[d].extend_from_slice(bytes);
            let mut sink = Sink {
                ts: Timestamp(0),
                endpoints: &endpoints,
                out: &mut out,
                held: &mut held,
                state: &mut state,
                offset: cursors[d],
            };
            let (used, v) = FLEXLM.parse(*dir, &streams[d][cursors[d]..], &mut sink);
            cursors[d] += used;
            verdicts[d] = v;
        }
        (out, verdicts)
    }

    fn license(e: &Event) -> &LicenseEvent {
        match &e.body {
            EventBody::License(l) => l,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn hello_response_and_redirect() {
        let hello = build::hello("bob", "LAB-PC-07", "MLM", "x64_w6");
        let (a, b) = hello.split_at(60);
        let (events, verdicts) = run(&[
            (Direction::ToServer, a.to_vec()),
            (Direction::ToServer, b.to_vec()),
            (
                Direction::ToClient,
                build::hello_response("licsrv", "lmgrd"),
            ),
            (
                Direction::ToClient,
                build::redirect("licsrv.example.edu.cn", 27011),
            ),
        ]);
        assert_eq!(verdicts, [Verdict::NeedMore; 2]);
        let got: Vec<(&str, Option<&str>)> = events
            .iter()
            .map(|e| (license(e).message, license(e).vendor_daemon.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("hello", Some("MLM")),
                ("hello-response", Some("MLM")),
                ("redirect", Some("MLM"))
            ]
        );
        let hello = license(&events[0]);
        assert_eq!(hello.client_host.as_deref(), Some("LAB-PC-07"));
        assert_eq!(hello.version.as_deref(), Some("11.11"));
        assert_eq!(license(&events[2]).redirect_port, Some(27011));
    }

    #[test]
    fn a_vendor_connection_reports_its_first_request_once() {
        let req = build::frame(flexlm::msg::FEATURES_REQUEST, b"\x01\x04features");
        let (events, _) = run(&[
            (Direction::ToServer, req.clone()),
            (Direction::ToServer, req),
        ]);
        assert_eq!(events.len(), 1);
        assert_eq!(license(&events[0]).message_type.as_deref(), Some("0x013b"));
    }

    #[test]
    fn other_protocols_are_not_taken() {
        let (events, verdicts) = run(&[
            (Direction::ToServer, b"GET / HTTP/1.1\r\n\r\n".to_vec()),
            (Direction::ToClient, b"SSH-2.0-OpenSSH_9.6\r\n".to_vec()),
        ]);
        assert!(events.is_empty());
        assert_eq!(verdicts, [Verdict::NotMine; 2]);
        // 'h' and a check byte followed by anything but the hello's tag.
        let (_, verdicts) = run(&[(Direction::ToServer, b"hx9Z".to_vec())]);
        assert_eq!(verdicts[0], Verdict::NotMine);
    }

    #[test]
    fn messages_per_direction_are_bounded() {
        let req = build::frame(flexlm::msg::STATUS_REQUEST, b"");
        let many: Vec<u8> = req.repeat(MAX_MESSAGES + 5);
        let (_, verdicts) = run(&[(Direction::ToServer, many)]);
        assert_eq!(verdicts[0], Verdict::Done);
    }
}
