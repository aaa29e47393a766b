//! DHCPv6 (RFC 8415) parser: client and server DUIDs, FQDN, vendor class, option request list
//! and IA addresses, unwrapping relay-forward/relay-reply layers to the message inside.
//!
//! No-panic promise: [`parse`] returns `Ok` or `Err` for every input slice. Every read goes through
//! `slice::get`, offsets use saturating arithmetic, relay recursion is capped by
//! [`MAX_RELAY_DEPTH`], and the options walked over all nesting levels are capped by
//! [`MAX_OPTIONS`], so hostile input cannot panic, overflow, recurse deeply or loop.
//!
//! Choices a caller should know:
//! - An option whose length runs past the end of its enclosing area stops the parse with
//!   [`Error::Truncated`] (offset of the option's code). Error offsets are always relative to the
//!   outermost input, also inside relayed messages.
//! - Options with a fixed minimum size that is not met fail with [`Error::BadOption`].
//! - When an option repeats, the first instance wins, except option 6 (ORO) whose instances are
//!   appended up to [`MAX_OPTION_REQUEST`].
//! - Strings are lossy UTF-8 with control characters replaced and capped at
//!   [`MAX_STRING_CHARS`] characters; the FQDN is rendered in DNS presentation form.

use std::fmt;
use std::net::Ipv6Addr;

/// Most characters kept from any string taken from the wire (shared with DHCPv4).
pub use super::dhcp::MAX_STRING_CHARS;
use super::dhcp::{dns_name, wire_string};

/// RFC 8415 7.6: "HOP_COUNT_LIMIT 8".
const HOP_COUNT_LIMIT: usize = 8;

/// Most relay layers unwrapped. RFC 8415 19.1.2 has a relay drop a Relay-forward whose hop-count
/// has reached HOP_COUNT_LIMIT and otherwise send hop-count + 1; the first relay sends 0, so a
/// legitimate chain carries hop-counts 0..=8, that is at most HOP_COUNT_LIMIT + 1 layers.
pub const MAX_RELAY_DEPTH: usize = HOP_COUNT_LIMIT + 1;

/// Most options walked per input over all nesting levels. A relayed client message with a few
/// IAs has well under 100; 512 bounds the work on a 64 KiB packet of empty options.
pub const MAX_OPTIONS: usize = 512;

/// Most DUID bytes kept. RFC 8415 11.1: a DUID is a 2-octet type code plus "at most 128 octets".
pub const MAX_DUID_LEN: usize = 130;

/// Most ORO entries kept: real clients ask for a few dozen options at most.
pub const MAX_OPTION_REQUEST: usize = 255;

/// Most IA addresses kept: a host rarely holds more than a handful of DHCPv6 leases.
pub const MAX_ADDRESSES: usize = 64;

/// Most vendor-class-data strings kept from option 16: Windows sends one.
pub const MAX_VENDOR_STRINGS: usize = 16;

/// Relay header: msg-type (1), hop-count (1), link-address (16), peer-address (16).
const RELAY_HEADER_LEN: usize = 34;
/// Client/server header: msg-type (1), transaction-id (3).
const CLIENT_HEADER_LEN: usize = 4;
/// Option header: option-code (2), option-len (2).
const OPTION_HEADER_LEN: usize = 4;

const OPTION_CLIENTID: u16 = 1;
const OPTION_SERVERID: u16 = 2;
const OPTION_IA_NA: u16 = 3;
const OPTION_IA_TA: u16 = 4;
const OPTION_IAADDR: u16 = 5;
const OPTION_ORO: u16 = 6;
const OPTION_RELAY_MSG: u16 = 9;
const OPTION_VENDOR_CLASS: u16 = 16;
const OPTION_CLIENT_FQDN: u16 = 39;

/// IA_NA payload before its options: IAID, T1, T2 (RFC 8415 21.4).
const IA_NA_FIXED: usize = 12;
/// IA_TA payload before its options: IAID (RFC 8415 21.5).
const IA_TA_FIXED: usize = 4;
/// IAADDR payload before its options: address, preferred and valid lifetimes (RFC 8415 21.6).
const IAADDR_FIXED: usize = 24;

/// DHCPv6 message type, kept as a number so unknown values stay visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType(pub u8);

impl MessageType {
    /// SOLICIT (RFC 8415 7.3).
    pub const SOLICIT: Self = Self(1);
    /// ADVERTISE (RFC 8415 7.3).
    pub const ADVERTISE: Self = Self(2);
    /// REQUEST (RFC 8415 7.3).
    pub const REQUEST: Self = Self(3);
    /// CONFIRM (RFC 8415 7.3).
    pub const CONFIRM: Self = Self(4);
    /// RENEW (RFC 8415 7.3).
    pub const RENEW: Self = Self(5);
    /// REBIND (RFC 8415 7.3).
    pub const REBIND: Self = Self(6);
    /// REPLY (RFC 8415 7.3).
    pub const REPLY: Self = Self(7);
    /// RELEASE (RFC 8415 7.3).
    pub const RELEASE: Self = Self(8);
    /// DECLINE (RFC 8415 7.3).
    pub const DECLINE: Self = Self(9);
    /// RECONFIGURE (RFC 8415 7.3).
    pub const RECONFIGURE: Self = Self(10);
    /// INFORMATION-REQUEST (RFC 8415 7.3).
    pub const INFORMATION_REQUEST: Self = Self(11);
    /// RELAY-FORW (RFC 8415 7.3).
    pub const RELAY_FORW: Self = Self(12);
    /// RELAY-REPL (RFC 8415 7.3).
    pub const RELAY_REPL: Self = Self(13);

    /// Lowercase name for logs and the inventory, or "unknown".
    pub fn name(self) -> &'static str {
        match self {
            Self::SOLICIT => "solicit",
            Self::ADVERTISE => "advertise",
            Self::REQUEST => "request",
            Self::CONFIRM => "confirm",
            Self::RENEW => "renew",
            Self::REBIND => "rebind",
            Self::REPLY => "reply",
            Self::RELEASE => "release",
            Self::DECLINE => "decline",
            Self::RECONFIGURE => "reconfigure",
            Self::INFORMATION_REQUEST => "information-request",
            Self::RELAY_FORW => "relay-forw",
            Self::RELAY_REPL => "relay-repl",
            _ => "unknown",
        }
    }
}

/// Vendor class option (16): enterprise number and the vendor-class-data strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorClass {
    /// IANA private enterprise number (311 is Microsoft).
    pub enterprise: u32,
    /// Vendor-class-data entries, sanitised, at most [`MAX_VENDOR_STRINGS`].
    pub data: Vec<String>,
}

/// The fields of one DHCPv6 client/server message that matter for host inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Message type of the innermost (non-relay) message.
    pub msg_type: MessageType,
    /// 24-bit transaction id.
    pub transaction_id: u32,
    /// Client DUID (option 1), at most [`MAX_DUID_LEN`] bytes.
    pub client_duid: Option<Vec<u8>>,
    /// Server DUID (option 2), at most [`MAX_DUID_LEN`] bytes.
    pub server_duid: Option<Vec<u8>>,
    /// Client FQDN (option 39, RFC 4704) in presentation form without trailing dot.
    pub fqdn: Option<String>,
    /// Vendor class (option 16).
    pub vendor_class: Option<VendorClass>,
    /// Option request list (option 6) in wire order.
    pub option_request: Vec<u16>,
    /// Addresses from IAADDR options nested in IA_NA and IA_TA, at most [`MAX_ADDRESSES`].
    pub addresses: Vec<Ipv6Addr>,
    /// True when the message was found inside one or more relay messages.
    pub relayed: bool,
}

/// Why a buffer is not a usable DHCPv6 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The header or option starting at `offset` runs past the end of its enclosing area.
    Truncated {
        /// Start of the structure that could not be read in full.
        offset: usize,
    },
    /// Option `code` at `offset` is shorter than its fixed fields or otherwise malformed.
    BadOption {
        /// Option code.
        code: u16,
        /// Offset of the option's code.
        offset: usize,
    },
    /// More than [`MAX_RELAY_DEPTH`] relay layers; `offset` is the first one not unwrapped.
    RelayTooDeep {
        /// Offset of the relay message header.
        offset: usize,
    },
    /// A relay message without a Relay Message option (9).
    MissingRelayMessage {
        /// Offset of the relay message header.
        offset: usize,
    },
    /// More than [`MAX_OPTIONS`] options; `offset` is the first one not walked.
    TooManyOptions {
        /// Offset of the option's code.
        offset: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { offset } => write!(f, "DHCPv6 message truncated at offset {offset}"),
            Self::BadOption { code, offset } => {
                write!(f, "malformed DHCPv6 option {code} at offset {offset}")
            }
            Self::RelayTooDeep { offset } => write!(
                f,
                "more than {MAX_RELAY_DEPTH} DHCPv6 relay layers, stopped at offset {offset}"
            ),
            Self::MissingRelayMessage { offset } => {
                write!(
                    f,
                    "DHCPv6 relay at offset {offset} has no relay message option"
                )
            }
            Self::TooManyOptions { offset } => write!(
                f,
                "more than {MAX_OPTIONS} DHCPv6 options, stopped at offset {offset}"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// Parses one DHCPv6 message (the UDP payload), unwrapping relay layers to the inner message.
pub fn parse(bytes: &[u8]) -> Result<Message, Error> {
    let mut budget = MAX_OPTIONS;
    parse_at(bytes, 0, 0, &mut budget)
}

/// Renders a DUID as lowercase hex pairs joined by ':', at most [`MAX_DUID_LEN`] bytes shown.
pub fn duid_to_string(duid: &[u8]) -> String {
    let shown = duid.get(..MAX_DUID_LEN).unwrap_or(duid);
    let mut out = String::with_capacity(shown.len().saturating_mul(3));
    for (i, b) in shown.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        for nibble in [b >> 4, b & 0x0f] {
            out.push(char::from_digit(u32::from(nibble), 16).unwrap_or('?'));
        }
    }
    out
}

/// Parses the message in `bytes`, which starts at `base` in the outermost input and sits inside
/// `depth` relay layers.
fn parse_at(bytes: &[u8], base: usize, depth: usize, budget: &mut usize) -> Result<Message, Error> {
    let msg_type = MessageType(
        bytes
            .first()
            .copied()
            .ok_or(Error::Truncated { offset: base })?,
    );
    if msg_type == MessageType::RELAY_FORW || msg_type == MessageType::RELAY_REPL {
        return parse_relay(bytes, base, depth, budget);
    }

    let header = bytes
        .get(..CLIENT_HEADER_LEN)
        .ok_or(Error::Truncated { offset: base })?;
    let transaction_id = header
        .iter()
        .skip(1)
        .fold(0u32, |acc, &b| (acc << 8) | u32::from(b));
    let mut msg = Message {
        msg_type,
        transaction_id,
        client_duid: None,
        server_duid: None,
        fqdn: None,
        vendor_class: None,
        option_request: Vec::new(),
        addresses: Vec::new(),
        relayed: false,
    };
    let area = bytes.get(CLIENT_HEADER_LEN..).unwrap_or_default();
    for opt in Options::new(area, base.saturating_add(CLIENT_HEADER_LEN)) {
        let opt = opt?;
        spend(budget, opt.at)?;
        record_option(&mut msg, opt, budget)?;
    }
    Ok(msg)
}

/// Unwraps one Relay-forward or Relay-reply layer (RFC 8415 9) and parses the message inside.
fn parse_relay(
    bytes: &[u8],
    base: usize,
    depth: usize,
    budget: &mut usize,
) -> Result<Message, Error> {
    if depth >= MAX_RELAY_DEPTH {
        return Err(Error::RelayTooDeep { offset: base });
    }
    let area = bytes
        .get(RELAY_HEADER_LEN..)
        .ok_or(Error::Truncated { offset: base })?;
    let mut relayed = None;
    for opt in Options::new(area, base.saturating_add(RELAY_HEADER_LEN)) {
        let opt = opt?;
        spend(budget, opt.at)?;
        // RFC 8415 9.1 (as RFC 3315 7.1): options "MUST include a Relay Message option"; when a
        // hostile sender includes several, the first one wins.
        if opt.code == OPTION_RELAY_MSG && relayed.is_none() {
            relayed = Some(opt);
        }
    }
    let inner = relayed.ok_or(Error::MissingRelayMessage { offset: base })?;
    let inner_base = inner.at.saturating_add(OPTION_HEADER_LEN);
    let mut msg = parse_at(inner.data, inner_base, depth.saturating_add(1), budget)?;
    msg.relayed = true;
    Ok(msg)
}

/// Takes one option from the shared budget.
fn spend(budget: &mut usize, at: usize) -> Result<(), Error> {
    *budget = budget
        .checked_sub(1)
        .ok_or(Error::TooManyOptions { offset: at })?;
    Ok(())
}

/// Stores one top-level option of a client/server message into `msg`.
fn record_option(msg: &mut Message, opt: RawOption<'_>, budget: &mut usize) -> Result<(), Error> {
    let bad = Error::BadOption {
        code: opt.code,
        offset: opt.at,
    };
    let payload_at = opt.at.saturating_add(OPTION_HEADER_LEN);
    match opt.code {
        OPTION_CLIENTID if msg.client_duid.is_none() => {
            msg.client_duid = Some(capped(opt.data, MAX_DUID_LEN));
        }
        OPTION_SERVERID if msg.server_duid.is_none() => {
            msg.server_duid = Some(capped(opt.data, MAX_DUID_LEN));
        }
        OPTION_ORO => {
            // RFC 8415 21.7: a list of 2-octet option codes, so an odd length is malformed.
            if !opt.data.len().is_multiple_of(2) {
                return Err(bad);
            }
            let room = MAX_OPTION_REQUEST.saturating_sub(msg.option_request.len());
            msg.option_request.extend(
                opt.data
                    .chunks_exact(2)
                    .take(room)
                    .map(|c| c.iter().fold(0u16, |acc, &b| (acc << 8) | u16::from(b))),
            );
        }
        OPTION_VENDOR_CLASS if msg.vendor_class.is_none() => {
            msg.vendor_class = Some(decode_vendor_class(opt.data).ok_or(bad)?);
        }
        OPTION_CLIENT_FQDN if msg.fqdn.is_none() => {
            // RFC 4704 4.1: a flags octet, then the domain name in uncompressed DNS wire format
            // (RFC 8415 10); the client may send a partial name without the root label.
            let name = opt.data.get(1..).ok_or(bad)?;
            msg.fqdn = Some(dns_name(name));
        }
        OPTION_IA_NA | OPTION_IA_TA => {
            let fixed = if opt.code == OPTION_IA_NA {
                IA_NA_FIXED
            } else {
                IA_TA_FIXED
            };
            let inner = opt.data.get(fixed..).ok_or(bad)?;
            for sub in Options::new(inner, payload_at.saturating_add(fixed)) {
                let sub = sub?;
                spend(budget, sub.at)?;
                if sub.code == OPTION_IAADDR {
                    let addr = sub
                        .data
                        .get(..16)
                        .and_then(|a| <[u8; 16]>::try_from(a).ok())
                        .filter(|_| sub.data.len() >= IAADDR_FIXED)
                        .ok_or(Error::BadOption {
                            code: sub.code,
                            offset: sub.at,
                        })?;
                    if msg.addresses.len() < MAX_ADDRESSES {
                        msg.addresses.push(Ipv6Addr::from(addr));
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// Decodes option 16 (RFC 8415 21.16): a 4-octet enterprise-number, then vendor-class-data items,
/// each a 2-octet length and that many opaque octets. None if an item runs past the end.
fn decode_vendor_class(data: &[u8]) -> Option<VendorClass> {
    let enterprise = u32::from_be_bytes(data.get(..4)?.try_into().ok()?);
    let mut rest = data.get(4..)?;
    let mut strings = Vec::new();
    while !rest.is_empty() && strings.len() < MAX_VENDOR_STRINGS {
        let len = usize::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?));
        let end = len.saturating_add(2);
        strings.push(wire_string(rest.get(2..end)?));
        rest = rest.get(end..)?;
    }
    Some(VendorClass {
        enterprise,
        data: strings,
    })
}

fn capped(data: &[u8], cap: usize) -> Vec<u8> {
    data.get(..cap).unwrap_or(data).to_vec()
}

/// One option as found on the wire, with the offset of its code in the outermost input.
#[derive(Clone, Copy)]
struct RawOption<'a> {
    code: u16,
    data: &'a [u8],
    at: usize,
}

/// Iterates the options in one area; yields an error once and then stops.
struct Options<'a> {
    area: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Options<'a> {
    fn new(area: &'a [u8], base: usize) -> Self {
        Self { area, pos: 0, base }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = Result<RawOption<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.area.get(self.pos..).filter(|r| !r.is_empty())?;
        let at = self.base.saturating_add(self.pos);
        let parsed = rest.get(..OPTION_HEADER_LEN).and_then(|h| {
            let code = u16::from_be_bytes(h.get(..2)?.try_into().ok()?);
            let len = usize::from(u16::from_be_bytes(h.get(2..)?.try_into().ok()?));
            let end = OPTION_HEADER_LEN.saturating_add(len);
            Some((code, rest.get(OPTION_HEADER_LEN..end)?, end))
        });
        match parsed {
            Some((code, data, end)) => {
                self.pos = self.pos.saturating_add(end);
                Some(Ok(RawOption { code, data, at }))
            }
            None => {
                self.pos = self.area.len();
                Some(Err(Error::Truncated { offset: at }))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends an option header (code, length) and payload.
    fn opt(buf: &mut Vec<u8>, code: u16, payload: &[u8]) {
        buf.extend_from_slice(&code.to_be_bytes());
        let len = u16::try_from(payload.len()).expect("test payload fits");
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(payload);
    }

    const DUID_LLT: [u8; 14] = [
        0x00, 0x01, // DUID type 1: link-layer address plus time
        0x00, 0x01, // hardware type 1: Ethernet
        0x2c, 0x8a, 0x1b, 0x3d, // time
        0x00, 0x15, 0x5d, 0x01, 0x02, 0x03, // MAC
    ];

    const SERVER_DUID: [u8; 10] = [
        0x00, 0x03, // DUID type 3: link-layer address
        0x00, 0x01, // hardware type 1: Ethernet
        0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc, // MAC
    ];

    /// IA_NA (IAID 0x0e155d01, T1 3600, T2 5400) holding one IAADDR for 2001:db8::1234.
    fn ia_na() -> Vec<u8> {
        let mut ia = vec![
            0x0e, 0x15, 0x5d, 0x01, // IAID
            0x00, 0x00, 0x0e, 0x10, // T1 3600
            0x00, 0x00, 0x15, 0x18, // T2 5400
        ];
        let mut addr = "2001:db8::1234"
            .parse::<Ipv6Addr>()
            .expect("literal")
            .octets()
            .to_vec(); // address
        addr.extend_from_slice(&[0x00, 0x00, 0x1c, 0x20]); // preferred lifetime 7200
        addr.extend_from_slice(&[0x00, 0x00, 0x1d, 0x4c]); // valid lifetime 7500
        opt(&mut ia, OPTION_IAADDR, &addr);
        ia
    }

    /// A SOLICIT shaped like one from a Windows client.
    fn solicit() -> Vec<u8> {
        let mut b = vec![1, 0x12, 0x34, 0x56]; // msg-type SOLICIT, transaction-id 0x123456
        opt(&mut b, OPTION_CLIENTID, &DUID_LLT); // client id: DUID-LLT
        opt(&mut b, 8, &[0x00, 0x00]); // elapsed time 0
        let mut fqdn = vec![0x00]; // flags: none
        fqdn.extend_from_slice(b"\x0dDESKTOP-LAB01\x03lab\x07example\x00"); // wire name
        opt(&mut b, OPTION_CLIENT_FQDN, &fqdn);
        let mut vendor = vec![0x00, 0x00, 0x01, 0x37]; // enterprise 311 (Microsoft)
        vendor.extend_from_slice(b"\x00\x08MSFT 5.0"); // one data string, 8 bytes
        opt(&mut b, OPTION_VENDOR_CLASS, &vendor);
        opt(&mut b, OPTION_ORO, &[0, 17, 0, 23, 0, 24, 0, 39]); // ORO: 17, 23, 24, 39
        opt(&mut b, OPTION_IA_NA, &ia_na());
        b
    }

    /// A REQUEST naming the server it chose.
    fn request() -> Vec<u8> {
        let mut b = vec![3, 0xab, 0xcd, 0xef]; // msg-type REQUEST, transaction-id 0xabcdef
        opt(&mut b, OPTION_CLIENTID, &DUID_LLT); // client id
        opt(&mut b, OPTION_SERVERID, &SERVER_DUID); // server id
        opt(&mut b, OPTION_IA_NA, &ia_na()); // IA_NA with the offered address
        b
    }

    /// Wraps `inner` in one Relay-forward layer.
    fn relay_forw(inner: &[u8], hop_count: u8) -> Vec<u8> {
        let mut b = vec![12, hop_count]; // msg-type RELAY-FORW, hop-count
        b.extend_from_slice(&"2001:db8:1::1".parse::<Ipv6Addr>().expect("ip").octets()); // link-address
        b.extend_from_slice(
            &"fe80::215:5dff:fe01:203"
                .parse::<Ipv6Addr>()
                .expect("ip")
                .octets(),
        ); // peer-address
        opt(&mut b, 18, b"eth0"); // interface-id
        opt(&mut b, OPTION_RELAY_MSG, inner); // relay message
        b
    }

    #[test]
    fn parse_solicit() {
        let m = parse(&solicit()).expect("valid solicit");
        assert_eq!(m.msg_type, MessageType::SOLICIT);
        assert_eq!(m.msg_type.name(), "solicit");
        assert_eq!(m.transaction_id, 0x12_3456);
        assert_eq!(m.client_duid.as_deref(), Some(&DUID_LLT[..]));
        assert_eq!(m.server_duid, None);
        assert_eq!(m.fqdn.as_deref(), Some("DESKTOP-LAB01.lab.example"));
        assert_eq!(
            m.vendor_class,
            Some(VendorClass {
                enterprise: 311,
                data: vec!["MSFT 5.0".to_owned()]
            })
        );
        assert_eq!(m.option_request, [17, 23, 24, 39]);
        assert_eq!(
            m.addresses,
            ["2001:db8::1234".parse::<Ipv6Addr>().expect("ip")]
        );
        assert!(!m.relayed);
    }

    #[test]
    fn parse_relay_forw() {
        let b = relay_forw(&request(), 0);
        let m = parse(&b).expect("valid relay-forward");
        assert!(m.relayed);
        assert_eq!(m.msg_type, MessageType::REQUEST);
        assert_eq!(m.transaction_id, 0xab_cdef);
        assert_eq!(m.server_duid.as_deref(), Some(&SERVER_DUID[..]));
        assert_eq!(m.client_duid.as_deref(), Some(&DUID_LLT[..]));
        assert_eq!(m.addresses.len(), 1);
    }

    #[test]
    fn parse_truncated_at_every_length() {
        for msg in [solicit(), relay_forw(&request(), 0)] {
            for len in 0..msg.len() {
                // Must not panic; prefixes ending between options may parse.
                let _ = parse(msg.get(..len).unwrap_or_default());
            }
            assert!(parse(&msg).is_ok());
        }
        assert_eq!(parse(&[]), Err(Error::Truncated { offset: 0 }));
        assert_eq!(parse(&[1, 0]), Err(Error::Truncated { offset: 0 }));
        assert_eq!(parse(&[12; 20]), Err(Error::Truncated { offset: 0 }));
    }

    #[test]
    fn parse_option_length_past_end() {
        let mut b = vec![1, 0, 0, 1]; // SOLICIT, transaction-id 1
        b.extend_from_slice(&[0x00, 0x01, 0x00, 0xff]); // client id claiming 255 bytes...
        b.extend_from_slice(&[0x00, 0x01]); // ...but only 2 follow
        assert_eq!(parse(&b), Err(Error::Truncated { offset: 4 }));

        // Inside a relay, the inner option may not run past the Relay Message option either,
        // and the offset is reported relative to the outer buffer.
        let mut inner = vec![1, 0, 0, 1]; // SOLICIT, transaction-id 1
        inner.extend_from_slice(&[0x00, 0x01, 0x00, 0x08, 0xaa]); // client id claiming 8 bytes, 1 given
        let outer = relay_forw(&inner, 0);
        // 34 relay header + 8 interface-id option + 4 relay-msg header + 4 inner header.
        assert_eq!(parse(&outer), Err(Error::Truncated { offset: 50 }));

        let mut b = vec![1, 0, 0, 1]; // SOLICIT, transaction-id 1
        b.extend_from_slice(&[0x00, 0x06, 0x00]); // option header cut short
        assert_eq!(parse(&b), Err(Error::Truncated { offset: 4 }));
    }

    #[test]
    fn parse_relay_nesting_too_deep() {
        let mut b = solicit();
        for hop in 0..MAX_RELAY_DEPTH {
            b = relay_forw(&b, u8::try_from(hop).expect("small"));
        }
        let m = parse(&b).expect("hop-counts 0..=8 are legitimate");
        assert!(m.relayed);
        assert_eq!(m.msg_type, MessageType::SOLICIT);

        b = relay_forw(&b, 9); // one layer more than any relay chain can build
        assert_eq!(
            parse(&b),
            Err(Error::RelayTooDeep {
                offset: 46 * MAX_RELAY_DEPTH
            })
        );
    }

    #[test]
    fn parse_relay_without_relay_message() {
        let mut b = vec![12, 0]; // RELAY-FORW, hop-count 0
        b.extend_from_slice(&[0; 32]); // link-address and peer-address, unspecified
        opt(&mut b, 18, b"eth0"); // interface-id, but no relay message
        assert_eq!(parse(&b), Err(Error::MissingRelayMessage { offset: 0 }));
    }

    #[test]
    fn parse_zero_length_options() {
        let mut b = vec![11, 0, 0, 7]; // INFORMATION-REQUEST, transaction-id 7
        opt(&mut b, OPTION_CLIENTID, &[]); // client id, empty
        opt(&mut b, OPTION_ORO, &[]); // ORO, empty
        opt(&mut b, 8, &[]); // elapsed time, empty (not decoded)
        opt(&mut b, OPTION_IA_TA, &[0, 0, 0, 1]); // IA_TA with IAID only, no addresses
        let m = parse(&b).expect("empty options are tolerated");
        assert_eq!(m.client_duid.as_deref(), Some(&[][..]));
        assert!(m.option_request.is_empty());
        assert!(m.addresses.is_empty());

        for code in [
            OPTION_CLIENT_FQDN,
            OPTION_VENDOR_CLASS,
            OPTION_IA_NA,
            OPTION_IA_TA,
        ] {
            let mut b = vec![1, 0, 0, 1]; // SOLICIT, transaction-id 1
            opt(&mut b, code, &[]); // option lacking its fixed fields
            assert_eq!(parse(&b), Err(Error::BadOption { code, offset: 4 }));
        }

        let mut b = vec![1, 0, 0, 1]; // SOLICIT, transaction-id 1
        let mut ia = vec![0; 12]; // IA_NA: IAID, T1, T2
        opt(&mut ia, OPTION_IAADDR, &[]); // IAADDR without an address
        opt(&mut b, OPTION_IA_NA, &ia);
        assert_eq!(
            parse(&b),
            Err(Error::BadOption {
                code: OPTION_IAADDR,
                offset: 20
            })
        );

        let mut b = vec![12, 0]; // RELAY-FORW, hop-count 0
        b.extend_from_slice(&[0; 32]); // link-address and peer-address
        opt(&mut b, OPTION_RELAY_MSG, &[]); // relay message, empty
        assert_eq!(parse(&b), Err(Error::Truncated { offset: 38 }));
    }

    #[test]
    fn parse_odd_oro_and_bad_vendor_class() {
        let mut b = vec![1, 0, 0, 1]; // SOLICIT, transaction-id 1
        opt(&mut b, OPTION_ORO, &[0, 23, 0]); // ORO with a dangling byte
        assert_eq!(
            parse(&b),
            Err(Error::BadOption {
                code: OPTION_ORO,
                offset: 4
            })
        );

        let mut b = vec![1, 0, 0, 1]; // SOLICIT, transaction-id 1
        opt(&mut b, OPTION_VENDOR_CLASS, &[0, 0, 1, 0x37, 0, 9, b'x']); // string claims 9, has 1
        assert_eq!(
            parse(&b),
            Err(Error::BadOption {
                code: OPTION_VENDOR_CLASS,
                offset: 4
            })
        );
    }

    #[test]
    fn parse_too_many_options() {
        let mut b = vec![1, 0, 0, 1]; // SOLICIT, transaction-id 1
        for _ in 0..=MAX_OPTIONS {
            opt(&mut b, 8, &[]); // empty elapsed-time option, repeated
        }
        assert_eq!(
            parse(&b),
            Err(Error::TooManyOptions {
                offset: 4 + 4 * MAX_OPTIONS
            })
        );
    }

    #[test]
    fn parse_caps_lists() {
        let mut b = vec![1, 0, 0, 1]; // SOLICIT, transaction-id 1
        opt(&mut b, OPTION_CLIENTID, &[0xaa; 300]); // oversized DUID
        opt(&mut b, OPTION_ORO, &[0x01; 600]); // 300 requested options
        let mut vendor = vec![0, 0, 1, 0x37]; // enterprise 311
        for _ in 0..40 {
            vendor.extend_from_slice(b"\x00\x01v"); // 40 one-byte strings
        }
        opt(&mut b, OPTION_VENDOR_CLASS, &vendor);
        let mut ia = vec![0; 12]; // IA_NA: IAID, T1, T2
        for _ in 0..100 {
            opt(&mut ia, OPTION_IAADDR, &[0x20; 24]); // 100 addresses
        }
        opt(&mut b, OPTION_IA_NA, &ia);
        let m = parse(&b).expect("valid");
        assert_eq!(m.client_duid.map(|d| d.len()), Some(MAX_DUID_LEN));
        assert_eq!(m.option_request.len(), MAX_OPTION_REQUEST);
        assert_eq!(
            m.vendor_class.map(|v| v.data.len()),
            Some(MAX_VENDOR_STRINGS)
        );
        assert_eq!(m.addresses.len(), MAX_ADDRESSES);
    }

    #[test]
    fn duid_to_string_formats_and_caps() {
        assert_eq!(duid_to_string(&[0x00, 0x01, 0xab, 0x0f]), "00:01:ab:0f");
        assert_eq!(duid_to_string(&[]), "");
        assert_eq!(duid_to_string(&[0xff; 500]).len(), MAX_DUID_LEN * 3 - 1);
    }

    #[test]
    fn message_type_names() {
        assert_eq!(MessageType::RELAY_FORW.name(), "relay-forw");
        assert_eq!(MessageType(11).name(), "information-request");
        assert_eq!(MessageType(200).name(), "unknown");
    }

    #[test]
    fn parse_mutations_never_panic() {
        let seeds = [solicit(), relay_forw(&request(), 0)];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            // xorshift64: deterministic, so a failure reproduces.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut ok = 0usize;
        for i in 0..10_000usize {
            let mut msg = seeds.get(i % seeds.len()).cloned().unwrap_or_default();
            let flips = 1 + next() % 6;
            for _ in 0..flips {
                let r = next();
                let pos = usize::try_from((r >> 8) % msg.len() as u64).unwrap_or(0);
                if let Some(byte) = msg.get_mut(pos) {
                    *byte = (r >> 32) as u8;
                }
            }
            if next() % 10 == 0 {
                let cut = usize::try_from(next() % msg.len() as u64).unwrap_or(0);
                msg.truncate(cut);
            }
            if let Ok(m) = parse(&msg) {
                ok += 1;
                assert!(m.transaction_id < 1 << 24);
                assert!(m.option_request.len() <= MAX_OPTION_REQUEST);
                assert!(m.addresses.len() <= MAX_ADDRESSES);
                for d in [&m.client_duid, &m.server_duid].into_iter().flatten() {
                    assert!(d.len() <= MAX_DUID_LEN);
                }
                assert!(m.fqdn.is_none_or(|f| f.chars().count() <= MAX_STRING_CHARS));
            }
        }
        assert!(ok > 500, "only {ok} mutants parsed");
    }
}
