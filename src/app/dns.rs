//! DNS, mDNS and LLMNR messages become `dns`, `mdns` and `llmnr` events.
//!
//! All three share the RFC 1035 message format (`wire::dns`); they differ in port and in what a
//! message says about its sender: an mDNS or LLMNR response claims names for the host that sent
//! it, a unicast DNS response describes other hosts.

use super::{DatagramParser, Malformed, Sink, StreamParser, Verdict};
use crate::event::{DnsAnswer, DnsEvent, EventBody, SrvData};
use crate::pipeline::flow::Direction;
use crate::wire::dns::{self, Message, RData, Record};

/// Which of the three protocols a parser instance serves.
#[derive(Debug, Clone, Copy)]
enum Flavor {
    Unicast,
    Multicast,
    LinkLocal,
}

/// DNS over UDP, port 53.
pub struct Udp(Flavor);

/// Unicast DNS over UDP (RFC 1035), port 53.
pub static UNICAST_DNS: Udp = Udp(Flavor::Unicast);
/// Multicast DNS (RFC 6762), port 5353.
pub static MULTICAST_DNS: Udp = Udp(Flavor::Multicast);
/// Link-Local Multicast Name Resolution (RFC 4795), port 5355.
pub static LLMNR: Udp = Udp(Flavor::LinkLocal);

impl DatagramParser for Udp {
    fn name(&self) -> &'static str {
        match self.0 {
            Flavor::Unicast => "dns",
            Flavor::Multicast => "mdns",
            Flavor::LinkLocal => "llmnr",
        }
    }

    fn wants(&self, client_port: u16, server_port: u16) -> bool {
        let port = match self.0 {
            Flavor::Unicast => 53,
            Flavor::Multicast => 5353,
            Flavor::LinkLocal => 5355,
        };
        client_port == port || server_port == port
    }

    fn parse(&self, payload: &[u8], sink: &mut Sink<'_>) -> Result<(), Malformed> {
        let msg = dns::parse(payload).map_err(|_| Malformed)?;
        if let Some(ev) = to_event(&msg, !matches!(self.0, Flavor::Unicast)) {
            sink.emit(match self.0 {
                Flavor::Unicast => EventBody::Dns(ev),
                Flavor::Multicast => EventBody::Mdns(ev),
                Flavor::LinkLocal => EventBody::Llmnr(ev),
            });
        }
        Ok(())
    }
}

/// DNS over TCP (RFC 1035 §4.2.2, RFC 7766): length-prefixed messages on port 53.
pub struct Tcp;

/// The DNS-over-TCP stream parser.
pub static DNS_OVER_TCP: Tcp = Tcp;

/// Messages taken from one stream start; a zone transfer sends many, the sensor needs a few.
const MAX_TCP_MESSAGES: usize = 16;

impl StreamParser for Tcp {
    fn name(&self) -> &'static str {
        "dns_tcp"
    }

    fn wants(&self, client_port: u16, server_port: u16) -> bool {
        client_port == 53 || server_port == 53
    }

    fn parse(&self, _dir: Direction, data: &[u8], sink: &mut Sink<'_>) -> (usize, Verdict) {
        let mut used = 0;
        for _ in 0..MAX_TCP_MESSAGES {
            let rest = data.get(used..).unwrap_or_default();
            match dns::split_tcp_message(rest) {
                Ok(Some((msg, consumed))) => {
                    used += consumed;
                    match dns::parse(msg) {
                        Ok(m) => {
                            if let Some(ev) = to_event(&m, false) {
                                sink.emit(EventBody::Dns(ev));
                            }
                        }
                        Err(_) => return (used, Verdict::NotMine),
                    }
                }
                Ok(None) => return (used, Verdict::NeedMore),
                Err(_) => return (used, Verdict::NotMine),
            }
        }
        (used, Verdict::Done)
    }
}

/// Response code names of RFC 1035 §4.1.1 and RFC 2136 §2.2.
fn rcode_name(rcode: u8) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        other => format!("RCODE{other}"),
    }
}

fn answer(r: &Record) -> Option<DnsAnswer> {
    let (rdata, srv) = match &r.data {
        RData::A(a) => (Some(a.to_string()), None),
        RData::Aaaa(a) => (Some(a.to_string()), None),
        RData::Cname(n) | RData::Ptr(n) => (Some(n.clone()), None),
        RData::Srv {
            priority,
            weight,
            port,
            target,
        } => (
            None,
            Some(SrvData {
                priority: *priority,
                weight: *weight,
                port: *port,
                name: target.clone(),
            }),
        ),
        RData::Txt | RData::Other => (None, None),
    };
    if r.rtype == dns::RecordType::OPT {
        return None;
    }
    Some(DnsAnswer {
        rrname: r.name.clone(),
        rrtype: r.rtype.to_string(),
        ttl: r.ttl,
        rdata,
        srv,
    })
}

/// Builds the event for a message; multicast responses also list their additional records,
/// where mDNS puts the addresses of announced services.
fn to_event(msg: &Message, multicast: bool) -> Option<DnsEvent> {
    let (rrname, rrtype) = match (msg.questions.first(), msg.answers.first()) {
        (Some(q), _) => (q.name.clone(), q.rtype.to_string()),
        (None, Some(a)) => (a.name.clone(), a.rtype.to_string()),
        (None, None) => return None,
    };
    if !msg.is_response {
        return Some(DnsEvent {
            kind: "query",
            id: msg.id,
            rcode: None,
            rrname,
            rrtype,
            answers: vec![],
        });
    }
    let extra: &[Record] = if multicast { &msg.additionals } else { &[] };
    let answers = msg.answers.iter().chain(extra).filter_map(answer).collect();
    Some(DnsEvent {
        kind: "answer",
        id: msg.id,
        rcode: Some(rcode_name(msg.rcode)),
        rrname,
        rrtype,
        answers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Endpoints, Proto, Timestamp};

    fn endpoints() -> Endpoints {
        Endpoints {
            flow_id: 1,
            src_ip: "10.0.0.1".parse().unwrap(),
            src_port: 40000,
            dest_ip: "10.0.0.53".parse().unwrap(),
            dest_port: 53,
            proto: Proto::Udp,
            src_mac: None,
            dest_mac: None,
        }
    }

    /// A response for _vlmcs._tcp.lab.test SRV with the target's address.
    fn srv_response() -> Vec<u8> {
        let mut m = vec![
            0x12, 0x34, 0x81, 0x80, // id, QR RD RA, NOERROR
            0, 1, 0, 1, 0, 0, 0, 1, // 1 question, 1 answer, 1 additional
        ];
        for l in ["_vlmcs", "_tcp", "lab", "test"] {
            m.push(l.len() as u8);
            m.extend_from_slice(l.as_bytes());
        }
        m.extend_from_slice(&[0, 0, 33, 0, 1]); // root, SRV, IN
        m.extend_from_slice(&[0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 60, 0, 12]); // ptr, SRV, IN, ttl 60, len
        m.extend_from_slice(&[0, 0, 0, 0, 0x06, 0x98, 3, b'k', b'm', b's', 0xc0, 24]); // 0 0 1688 kms.lab.test
        m.extend_from_slice(&[0xc0, 56, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 198, 18, 0, 1]); // kms A
        m
    }

    #[test]
    fn srv_answer_becomes_event() {
        let ep = endpoints();
        let (mut out, mut held) = (vec![], None);
        let mut sink = Sink {
            ts: Timestamp(0),
            endpoints: &ep,
            out: &mut out,
            held: &mut held,
            state: &mut None,
            offset: 0,
        };
        UNICAST_DNS.parse(&srv_response(), &mut sink).unwrap();
        let EventBody::Dns(ev) = &out[0].body else {
            panic!("not dns")
        };
        assert_eq!(
            (ev.kind, ev.rrname.as_str(), ev.rrtype.as_str()),
            ("answer", "_vlmcs._tcp.lab.test", "SRV")
        );
        assert_eq!(ev.rcode.as_deref(), Some("NOERROR"));
        let srv = ev.answers[0].srv.as_ref().unwrap();
        assert_eq!((srv.port, srv.name.as_str()), (1688, "kms.lab.test"));
        assert_eq!(
            ev.answers.len(),
            1,
            "unicast responses list only the answer section"
        );
    }

    #[test]
    fn tcp_stream_yields_each_framed_message() {
        let msg = srv_response();
        let mut stream = Vec::new();
        for _ in 0..2 {
            stream.extend_from_slice(&(msg.len() as u16).to_be_bytes());
            stream.extend_from_slice(&msg);
        }
        let ep = endpoints();
        let (mut out, mut held) = (vec![], None);
        let mut sink = Sink {
            ts: Timestamp(0),
            endpoints: &ep,
            out: &mut out,
            held: &mut held,
            state: &mut None,
            offset: 0,
        };
        let (used, verdict) =
            DNS_OVER_TCP.parse(Direction::ToClient, &stream[..stream.len() - 1], &mut sink);
        assert_eq!((used, verdict), (msg.len() + 2, Verdict::NeedMore));
        let (used2, _) = DNS_OVER_TCP.parse(Direction::ToClient, &stream[used..], &mut sink);
        assert_eq!(used + used2, stream.len());
        assert_eq!(out.len(), 2);
    }
}
