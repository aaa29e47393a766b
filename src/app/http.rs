//! HTTP/1.x request and response heads on any TCP port become `http` events.
//!
//! The request is held on its flow until the response head arrives, so one event carries both
//! halves as EVE's does; if the flow ends first, the request is logged alone. Only the first
//! exchange of a connection is read: that is where update agents and licence checks say who they
//! are, and it keeps the per-flow cost to the stream-start window.

use super::{Sink, StreamParser, Verdict};
use crate::event::{EventBody, HttpEvent};
use crate::pipeline::flow::Direction;
use crate::wire::http;

/// The HTTP/1.x stream parser.
pub struct Http;

/// HTTP/1.x on any port.
pub static HTTP: Http = Http;

fn protocol(version: u8) -> String {
    format!("HTTP/1.{version}")
}

impl StreamParser for Http {
    fn name(&self) -> &'static str {
        "http"
    }

    fn wants(&self, _client_port: u16, _server_port: u16) -> bool {
        true
    }

    fn parse(&self, dir: Direction, data: &[u8], sink: &mut Sink<'_>) -> (usize, Verdict) {
        match dir {
            Direction::ToServer => match http::parse_request(data) {
                Ok(Some(req)) => {
                    sink.hold(EventBody::Http(HttpEvent {
                        hostname: req.host,
                        url: req.uri,
                        http_method: req.method,
                        protocol: protocol(req.version),
                        http_user_agent: req.user_agent,
                        ..HttpEvent::default()
                    }));
                    (req.head_len, Verdict::Done)
                }
                Ok(None) => (0, Verdict::NeedMore),
                Err(_) => (0, Verdict::NotMine),
            },
            Direction::ToClient => {
                // Only a held request of ours: another parser (TLS) may hold its own event.
                let Some(mut held) = sink.take_held() else {
                    return (0, Verdict::NotMine);
                };
                if !matches!(held.body, EventBody::Http(_)) {
                    *sink.held = Some(held);
                    return (0, Verdict::NotMine);
                }
                let result = http::parse_response(data);
                // RFC 9110 §15.2: interim 1xx responses precede the final one (101 switches
                // protocols and is final for HTTP/1.x).
                if let Ok(Some(interim)) = &result
                    && (100..200).contains(&interim.status)
                    && interim.status != 101
                {
                    *sink.held = Some(held);
                    return (interim.head_len, Verdict::NeedMore);
                }
                if let (Ok(Some(resp)), EventBody::Http(ev)) = (&result, &mut held.body) {
                    ev.status = Some(resp.status);
                    ev.server = resp.server.clone();
                    ev.http_content_type = resp.content_type.clone();
                }
                match result {
                    Ok(None) => {
                        *sink.held = Some(held);
                        (0, Verdict::NeedMore)
                    }
                    Ok(Some(resp)) => {
                        sink.emit_event(*held);
                        (resp.head_len, Verdict::Done)
                    }
                    Err(_) => {
                        sink.emit_event(*held);
                        (0, Verdict::NotMine)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Endpoints, Event, Proto, Timestamp};

    #[test]
    fn request_waits_for_its_response() {
        let ep = Endpoints {
            flow_id: 1,
            src_ip: "10.0.0.1".parse().unwrap(),
            src_port: 40000,
            dest_ip: "10.0.0.2".parse().unwrap(),
            dest_port: 8080,
            proto: Proto::Tcp,
            src_mac: None,
            dest_mac: None,
        };
        let mut out: Vec<Event> = vec![];
        let mut held = None;
        let mut sink = Sink {
            ts: Timestamp(1),
            endpoints: &ep,
            out: &mut out,
            held: &mut held,
            state: &mut None,
            offset: 0,
        };
        let req = b"GET /update.cab HTTP/1.1\r\nHost: dl.example\r\nUser-Agent: Agent/2\r\n\r\n";
        assert_eq!(
            HTTP.parse(Direction::ToServer, &req[..20], &mut sink),
            (0, Verdict::NeedMore)
        );
        assert_eq!(
            HTTP.parse(Direction::ToServer, req, &mut sink),
            (req.len(), Verdict::Done)
        );
        assert!(sink.out.is_empty() && sink.held.is_some());
        let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
        assert_eq!(
            HTTP.parse(Direction::ToClient, cont, &mut sink),
            (cont.len(), Verdict::NeedMore)
        );
        assert!(
            sink.out.is_empty(),
            "an interim response does not complete the exchange"
        );
        let resp = b"HTTP/1.1 200 OK\r\nServer: nginx\r\n\r\nbody";
        assert_eq!(
            HTTP.parse(Direction::ToClient, &resp[..10], &mut sink),
            (0, Verdict::NeedMore)
        );
        assert_eq!(
            HTTP.parse(Direction::ToClient, resp, &mut sink),
            (resp.len() - 4, Verdict::Done)
        );
        let EventBody::Http(ev) = &out[0].body else {
            panic!("not http")
        };
        assert_eq!(ev.hostname.as_deref(), Some("dl.example"));
        assert_eq!(ev.http_user_agent.as_deref(), Some("Agent/2"));
        assert_eq!(
            (ev.status, ev.server.as_deref()),
            (Some(200), Some("nginx"))
        );
        assert_eq!(
            out[0].endpoints.src_port, 40000,
            "the event reads client to server"
        );
    }
}
