//! SSDP (UPnP discovery, HTTP over UDP 1900) requests become `http` events with `proto` UDP.
//!
//! Desktop software announces itself here: browsers and media clients send M-SEARCH with a
//! User-Agent naming product, version and operating system ("Google Chrome/114.0.5735.199
//! Windows"), and devices NOTIFY with their Server string.

use super::{DatagramParser, Malformed, Sink};
use crate::event::{EventBody, HttpEvent};
use crate::wire::http;

/// The SSDP parser.
pub struct Ssdp;

/// SSDP, port 1900 (UPnP Device Architecture 2.0 §1).
pub static SSDP: Ssdp = Ssdp;

impl DatagramParser for Ssdp {
    fn name(&self) -> &'static str {
        "ssdp"
    }

    fn wants(&self, client_port: u16, server_port: u16) -> bool {
        client_port == 1900 || server_port == 1900
    }

    fn parse(&self, payload: &[u8], sink: &mut Sink<'_>) -> Result<(), Malformed> {
        if http::looks_like_response(payload) {
            let resp = http::parse_response(payload)
                .map_err(|_| Malformed)?
                .ok_or(Malformed)?;
            sink.emit(EventBody::Http(HttpEvent {
                status: Some(resp.status),
                server: resp.server,
                protocol: format!("HTTP/1.{}", resp.version),
                ..HttpEvent::default()
            }));
            return Ok(());
        }
        let req = http::parse_request(payload)
            .map_err(|_| Malformed)?
            .ok_or(Malformed)?;
        sink.emit(EventBody::Http(HttpEvent {
            hostname: req.host,
            url: req.uri,
            http_method: req.method,
            protocol: format!("HTTP/1.{}", req.version),
            http_user_agent: req.user_agent,
            ..HttpEvent::default()
        }));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Endpoints, Proto, Timestamp};

    #[test]
    fn parse_m_search_with_user_agent() {
        let ep = Endpoints {
            flow_id: 1,
            src_ip: "10.0.0.5".parse().unwrap(),
            src_port: 52000,
            dest_ip: "239.255.255.250".parse().unwrap(),
            dest_port: 1900,
            proto: Proto::Udp,
            src_mac: None,
            dest_mac: None,
        };
        let (mut out, mut held) = (vec![], None);
        let mut sink = Sink {
            ts: Timestamp(0),
            endpoints: &ep,
            out: &mut out,
            held: &mut held,
            state: &mut None,
            offset: 0,
        };
        let msg = b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: urn:dial-multiscreen-org:service:dial:1\r\nUSER-AGENT: Google Chrome/114.0.5735.199 Windows\r\n\r\n";
        SSDP.parse(msg, &mut sink).unwrap();
        let EventBody::Http(h) = &out[0].body else {
            panic!("not http")
        };
        assert_eq!(h.http_method, "M-SEARCH");
        assert_eq!(h.hostname.as_deref(), Some("239.255.255.250:1900"));
        assert_eq!(
            h.http_user_agent.as_deref(),
            Some("Google Chrome/114.0.5735.199 Windows")
        );
        let mut sink = Sink {
            ts: Timestamp(0),
            endpoints: &ep,
            out: &mut out,
            held: &mut held,
            state: &mut None,
            offset: 0,
        };
        assert_eq!(SSDP.parse(b"\x16\x03\x01binary", &mut sink), Err(Malformed));
    }
}
