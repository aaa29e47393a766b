//! Application parsers and their registry.
//!
//! Each application protocol is one module that turns a wire parser's result into event bodies,
//! plus one line in [`DATAGRAM_PARSERS`] or [`STREAM_PARSERS`]. The pipeline calls datagram
//! parsers once per UDP payload of a flow whose ports they claimed, and stream parsers with the
//! in-order start of each TCP direction until they say they are done or the bytes are not theirs.

mod dhcp;
mod dns;
pub mod flexlm;
mod http;
pub mod kms;
mod netbios;
mod quic;
mod ssdp;
mod tls;

use crate::event::{Endpoints, Event, EventBody, Timestamp};
use crate::pipeline::flow::Direction;

/// Most stream parsers the registry may hold (the per-flow interest mask is this wide).
pub const MAX_STREAM_APPS: usize = 8;

/// A parser's complaint about bytes it claimed but could not parse; counted per parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed;

/// Where a parser puts what it found.
pub struct Sink<'a> {
    /// Time of the packet being parsed.
    pub ts: Timestamp,
    /// Addresses of the message being parsed (its sender is `src`).
    pub endpoints: &'a Endpoints,
    /// Events produced so far for this packet.
    pub out: &'a mut Vec<Event>,
    /// The flow's held-back event (see [`Sink::hold`]).
    pub held: &'a mut Option<Box<Event>>,
    /// State a parser keeps on the flow between messages.
    pub state: &'a mut Option<Box<ParserState>>,
    /// Where the bytes a stream parser is given start in its direction's stream (0 for datagrams).
    pub offset: usize,
}

/// State a parser keeps on a flow between datagrams; one variant per parser that needs any.
#[derive(Debug)]
pub enum ParserState {
    /// A QUIC connection collecting its ClientHello.
    Quic(quic::Connection),
    /// A KMS connection's presentation contexts and partial stubs.
    Kms(kms::Conversation),
    /// A FlexLM connection's vendor daemon.
    Flexlm(flexlm::Conversation),
}

impl ParserState {
    /// Heap bytes held, charged to the shard's buffer budget.
    pub fn heap_bytes(&self) -> usize {
        match self {
            ParserState::Quic(c) => c.heap_bytes(),
            ParserState::Kms(c) => c.heap_bytes(),
            ParserState::Flexlm(c) => c.heap_bytes(),
        }
    }

    /// Whether the parser was still waiting for the rest of a message.
    pub fn unfinished(&self) -> bool {
        match self {
            ParserState::Quic(c) => c.unfinished(),
            ParserState::Kms(c) => c.unfinished(),
            ParserState::Flexlm(_) => false,
        }
    }
}

impl Sink<'_> {
    /// Emits an event for the current message.
    pub fn emit(&mut self, body: EventBody) {
        self.out.push(Event {
            timestamp: self.ts,
            endpoints: self.endpoints.clone(),
            body,
        });
    }

    /// Holds an event for the current message back, to be completed by a later message of the
    /// same flow; it is emitted as it stands if the flow ends first.
    pub fn hold(&mut self, body: EventBody) {
        if let Some(old) = self.held.take() {
            self.out.push(*old);
        }
        *self.held = Some(Box::new(Event {
            timestamp: self.ts,
            endpoints: self.endpoints.clone(),
            body,
        }));
    }

    /// Takes the held event back, to complete and emit it.
    pub fn take_held(&mut self) -> Option<Box<Event>> {
        self.held.take()
    }

    /// Emits an event built earlier (a completed held event).
    pub fn emit_event(&mut self, event: Event) {
        self.out.push(event);
    }
}

/// A parser for UDP payloads.
pub trait DatagramParser: Sync {
    /// Short name, used in counters.
    fn name(&self) -> &'static str;
    /// Whether a UDP flow between these ports is this parser's (asked once per flow).
    fn wants(&self, client_port: u16, server_port: u16) -> bool;
    /// Parses one payload.
    fn parse(&self, payload: &[u8], sink: &mut Sink<'_>) -> Result<(), Malformed>;
}

/// What a stream parser made of the bytes so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// More bytes could complete a message: call again when the stream grows.
    NeedMore,
    /// Finished with this direction.
    Done,
    /// These bytes are not this parser's protocol.
    NotMine,
    /// Finished with this flow in both directions: the other direction's bytes are not needed
    /// either (a TLS server's answer shows no retried client hello will follow).
    DoneWithFlow,
}

/// A parser for the start of TCP streams.
pub trait StreamParser: Sync {
    /// Short name, used in counters.
    fn name(&self) -> &'static str;
    /// Whether to offer this flow's streams to the parser at all (asked once per flow).
    fn wants(&self, client_port: u16, server_port: u16) -> bool;
    /// Parses the bytes of one direction from where this parser stopped last time; returns how
    /// many bytes it consumed and what it wants next.
    fn parse(&self, dir: Direction, data: &[u8], sink: &mut Sink<'_>) -> (usize, Verdict);
}

/// Every UDP parser; adding one is one line here.
pub static DATAGRAM_PARSERS: &[&dyn DatagramParser] = &[
    &dns::UNICAST_DNS,
    &dns::MULTICAST_DNS,
    &dns::LLMNR,
    &netbios::NAME_SERVICE,
    &dhcp::DHCP_V4,
    &dhcp::DHCP_V6,
    &ssdp::SSDP,
    &quic::QUIC,
];

/// Every TCP stream parser; adding one is one line here.
pub static STREAM_PARSERS: &[&dyn StreamParser] = &[
    &http::HTTP,
    &dns::DNS_OVER_TCP,
    &tls::TLS,
    &kms::KMS,
    &flexlm::FLEXLM,
];

/// Index of the first datagram parser that wants a UDP flow between these ports.
pub fn datagram_parser_for(client_port: u16, server_port: u16) -> Option<u8> {
    DATAGRAM_PARSERS
        .iter()
        .position(|p| p.wants(client_port, server_port))
        .and_then(|i| u8::try_from(i).ok())
}

/// Bit mask of the stream parsers that want a TCP flow between these ports.
pub fn stream_interest(client_port: u16, server_port: u16) -> u32 {
    STREAM_PARSERS
        .iter()
        .take(MAX_STREAM_APPS)
        .enumerate()
        .filter(|(_, p)| p.wants(client_port, server_port))
        .fold(0, |mask, (i, _)| mask | 1 << i)
}

/// Strings from the wire become printable text: control characters are replaced so that a log
/// line or terminal cannot be corrupted by what a host sent.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_fits_the_interest_mask() {
        assert!(STREAM_PARSERS.len() <= MAX_STREAM_APPS);
        assert!(DATAGRAM_PARSERS.len() <= usize::from(u8::MAX));
    }

    #[test]
    fn ports_pick_parsers() {
        let name = |p: Option<u8>| p.map(|i| DATAGRAM_PARSERS[usize::from(i)].name());
        assert_eq!(name(datagram_parser_for(40000, 53)), Some("dns"));
        assert_eq!(name(datagram_parser_for(5353, 5353)), Some("mdns"));
        assert_eq!(name(datagram_parser_for(68, 67)), Some("dhcp"));
        assert_eq!(name(datagram_parser_for(546, 547)), Some("dhcpv6"));
        assert_eq!(name(datagram_parser_for(137, 137)), Some("netbios"));
        assert_eq!(name(datagram_parser_for(40000, 5355)), Some("llmnr"));
        assert_eq!(name(datagram_parser_for(52000, 1900)), Some("ssdp"));
        assert_eq!(name(datagram_parser_for(40000, 443)), Some("quic"));
        assert_eq!(datagram_parser_for(40000, 4433), None);
        assert_eq!(stream_interest(40000, 53), 0b11111);
        assert_eq!(stream_interest(40000, 8080), 0b11101);
    }
}
