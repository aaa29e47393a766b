//! DHCPv4 (RFC 2131, options from RFC 2132) parser: the fields a passive sensor uses to recognise
//! hosts (client MAC, hostname, vendor class, parameter request list, client identifier).
//!
//! No-panic promise: [`parse`] returns `Ok` or `Err` for every input slice. Every read goes through
//! `slice::get` (no panicking indexing), offsets use saturating arithmetic, and all work is bounded
//! by the input length and the `MAX_*` constants below, so hostile input cannot panic, overflow or
//! make the parser loop.
//!
//! Choices a caller should know:
//! - An option whose length runs past the end of its area stops the parse with
//!   [`Error::Truncated`] carrying the offset of that option's code byte. A later instance of an
//!   option could have concatenated with an earlier one (RFC 3396), so fields parsed before the
//!   break are not trustworthy enough to return.
//! - Variable-length options we decode (12, 55, 60, 61, 81) concatenate across instances, as
//!   RFC 3396 requires. Fixed-length ones (50, 51, 53, 54) must each have their exact length or the
//!   parse fails with [`Error::BadOption`]; when repeated, the first instance wins.
//! - Option overload (52) is honoured only in the main `options` field, so the `file` and `sname`
//!   areas cannot re-trigger it: an overload loop is impossible by construction.
//! - Strings are lossy UTF-8 with control characters replaced by U+FFFD and are capped at
//!   [`MAX_STRING_CHARS`] characters; DNS-encoded names are rendered in presentation form.

use std::fmt;
use std::net::Ipv4Addr;
use std::ops::Range;

/// Most characters kept from any string taken from the wire: 255 is the longest DHCP option
/// payload and the longest DNS name, so a legitimate value is never cut.
pub const MAX_STRING_CHARS: usize = 255;

/// Most non-pad options walked per message over all areas. There are 254 usable option codes and
/// real clients send under 30 options; 255 leaves room for RFC 3396 splits while bounding work on
/// a jumbo packet full of tiny options.
pub const MAX_OPTIONS: usize = 255;

/// Most client-identifier (option 61) bytes kept: one full option. Real identifiers are a MAC or a
/// DUID (at most 130 bytes), so anything longer is only kept as far as a fingerprint needs.
pub const MAX_CLIENT_ID: usize = 255;

/// Most parameter-request-list (option 55) entries kept: one full option, and there are only 254
/// distinct codes a client could ask for.
pub const MAX_PARAM_REQUEST: usize = 255;

/// Most bytes concatenated for one string option across RFC 3396 instances: four full instances
/// hold any DNS name (255) plus RFC 4702 header; beyond that the string cap cuts it anyway.
const MAX_CONCAT: usize = 1020;

/// Most labels decoded from a DNS wire name: a 255-byte name has at most 127 one-byte labels.
const MAX_LABELS: usize = 128;

/// RFC 1035 2.3.4: "labels 63 octets or less"; larger length bytes are compression pointers
/// (0xC0) or reserved label types, neither allowed in DHCP names.
const MAX_LABEL_LEN: u8 = 63;

// Fixed BOOTP header layout (RFC 2131 section 2, figure 1).
const OP: usize = 0;
const HTYPE: usize = 1;
const HLEN: usize = 2;
const XID: Range<usize> = 4..8;
const CIADDR: Range<usize> = 12..16;
const YIADDR: Range<usize> = 16..20;
const SIADDR: Range<usize> = 20..24;
const GIADDR: Range<usize> = 24..28;
const CHADDR_MAC: Range<usize> = 28..34;
const SNAME: Range<usize> = 44..108;
const FILE: Range<usize> = 108..236;
const COOKIE: Range<usize> = 236..240;
const OPTIONS_START: usize = 240;

/// RFC 2131 section 3: "the first four octets of the 'options' field of the DHCP message contain
/// the (decimal) values 99, 130, 83 and 99".
const MAGIC_COOKIE: [u8; 4] = [99, 130, 83, 99];

const HTYPE_ETHERNET: u8 = 1;
const BOOTREQUEST: u8 = 1;
const BOOTREPLY: u8 = 2;

const OPT_PAD: u8 = 0;
const OPT_HOSTNAME: u8 = 12;
const OPT_REQUESTED_IP: u8 = 50;
const OPT_LEASE_TIME: u8 = 51;
const OPT_OVERLOAD: u8 = 52;
const OPT_MESSAGE_TYPE: u8 = 53;
const OPT_SERVER_ID: u8 = 54;
const OPT_PARAM_REQUEST: u8 = 55;
const OPT_VENDOR_CLASS: u8 = 60;
const OPT_CLIENT_ID: u8 = 61;
const OPT_CLIENT_FQDN: u8 = 81;
const OPT_END: u8 = 255;

/// RFC 4702 section 2.1: the "E" flag; set means the name is in canonical wire format.
const FQDN_FLAG_E: u8 = 0x04;

/// DHCP message type (option 53), kept as a number so unknown values stay visible.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MessageType(pub u8);

impl MessageType {
    /// DHCPDISCOVER (RFC 2132 9.6).
    pub const DISCOVER: Self = Self(1);
    /// DHCPOFFER (RFC 2132 9.6).
    pub const OFFER: Self = Self(2);
    /// DHCPREQUEST (RFC 2132 9.6).
    pub const REQUEST: Self = Self(3);
    /// DHCPDECLINE (RFC 2132 9.6).
    pub const DECLINE: Self = Self(4);
    /// DHCPACK (RFC 2132 9.6).
    pub const ACK: Self = Self(5);
    /// DHCPNAK (RFC 2132 9.6).
    pub const NAK: Self = Self(6);
    /// DHCPRELEASE (RFC 2132 9.6).
    pub const RELEASE: Self = Self(7);
    /// DHCPINFORM (RFC 2132 9.6).
    pub const INFORM: Self = Self(8);
    /// DHCPFORCERENEW (RFC 3203).
    pub const FORCERENEW: Self = Self(9);
    /// DHCPLEASEQUERY (RFC 4388).
    pub const LEASEQUERY: Self = Self(10);
    /// DHCPLEASEUNASSIGNED (RFC 4388).
    pub const LEASEUNASSIGNED: Self = Self(11);
    /// DHCPLEASEUNKNOWN (RFC 4388).
    pub const LEASEUNKNOWN: Self = Self(12);
    /// DHCPLEASEACTIVE (RFC 4388).
    pub const LEASEACTIVE: Self = Self(13);

    /// Lowercase name for logs and the inventory, or "unknown".
    pub fn name(self) -> &'static str {
        match self {
            Self::DISCOVER => "discover",
            Self::OFFER => "offer",
            Self::REQUEST => "request",
            Self::DECLINE => "decline",
            Self::ACK => "ack",
            Self::NAK => "nak",
            Self::RELEASE => "release",
            Self::INFORM => "inform",
            Self::FORCERENEW => "forcerenew",
            Self::LEASEQUERY => "leasequery",
            Self::LEASEUNASSIGNED => "leaseunassigned",
            Self::LEASEUNKNOWN => "leaseunknown",
            Self::LEASEACTIVE => "leaseactive",
            _ => "unknown",
        }
    }
}

/// The fields of one DHCPv4 message that matter for host inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// BOOTP op: 1 request (client to server), 2 reply.
    pub op: u8,
    /// Transaction id chosen by the client.
    pub xid: u32,
    /// Client's current address (`ciaddr`).
    pub ciaddr: Ipv4Addr,
    /// Address offered or assigned by the server (`yiaddr`).
    pub yiaddr: Ipv4Addr,
    /// Next server to use in bootstrap (`siaddr`).
    pub siaddr: Ipv4Addr,
    /// Relay agent address (`giaddr`).
    pub giaddr: Ipv4Addr,
    /// Client MAC, only when htype is Ethernet (1) and hlen is 6.
    pub client_mac: Option<[u8; 6]>,
    /// DHCP message type (option 53).
    pub message_type: Option<MessageType>,
    /// Requested IP address (option 50).
    pub requested_ip: Option<Ipv4Addr>,
    /// Server identifier (option 54).
    pub server_id: Option<Ipv4Addr>,
    /// Lease time in seconds (option 51).
    pub lease_time: Option<u32>,
    /// Host name (option 12), sanitised and capped.
    pub hostname: Option<String>,
    /// Client FQDN name (option 81, RFC 4702) in presentation form without trailing dot.
    pub client_fqdn: Option<String>,
    /// Vendor class identifier (option 60), sanitised and capped.
    pub vendor_class: Option<String>,
    /// Parameter request list (option 55) in wire order: the order is an OS fingerprint.
    pub param_request_list: Vec<u8>,
    /// Client identifier (option 61), capped at [`MAX_CLIENT_ID`] bytes.
    pub client_id: Option<Vec<u8>>,
}

/// Why a buffer is not a usable DHCPv4 message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The header or the option starting at `offset` runs past the end of the input.
    Truncated {
        /// Start of the structure that could not be read in full.
        offset: usize,
    },
    /// Bytes 236..240 are not the DHCP magic cookie 99.130.83.99.
    BadMagicCookie,
    /// Option `code` at `offset` has a length or value its definition forbids.
    BadOption {
        /// Option code.
        code: u8,
        /// Offset of the option's code byte.
        offset: usize,
    },
    /// The op field is neither BOOTREQUEST (1) nor BOOTREPLY (2).
    NotBootp {
        /// The op value seen.
        op: u8,
    },
    /// More than [`MAX_OPTIONS`] options; `offset` is the first one not walked.
    TooManyOptions {
        /// Offset of the option's code byte.
        offset: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { offset } => write!(f, "DHCP message truncated at offset {offset}"),
            Self::BadMagicCookie => f.write_str("DHCP magic cookie missing at offset 236"),
            Self::BadOption { code, offset } => {
                write!(f, "malformed DHCP option {code} at offset {offset}")
            }
            Self::NotBootp { op } => write!(f, "BOOTP op {op} is neither request nor reply"),
            Self::TooManyOptions { offset } => {
                write!(
                    f,
                    "more than {MAX_OPTIONS} DHCP options, stopped at offset {offset}"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// Parses one DHCPv4 message (the UDP payload) into the fields the inventory uses.
pub fn parse(bytes: &[u8]) -> Result<Message, Error> {
    let header = bytes
        .get(..COOKIE.start)
        .ok_or(Error::Truncated { offset: 0 })?;
    let cookie = bytes.get(COOKIE).ok_or(Error::Truncated {
        offset: COOKIE.start,
    })?;
    let op = header.get(OP).copied().unwrap_or_default();
    if op != BOOTREQUEST && op != BOOTREPLY {
        return Err(Error::NotBootp { op });
    }
    if cookie != MAGIC_COOKIE {
        return Err(Error::BadMagicCookie);
    }

    let mut found = Found::default();
    let mut budget = MAX_OPTIONS;
    let options = bytes.get(OPTIONS_START..).unwrap_or_default();
    walk_options(options, OPTIONS_START, true, &mut budget, &mut found)?;

    // RFC 2132 9.3: "If this option is present, the client interprets the specified additional
    // fields after it concludes interpretation of the standard option fields." RFC 3396 fixes the
    // order: options, then file, then sname.
    let overload = found.overload.unwrap_or(0);
    if overload & 1 != 0 {
        let file = header.get(FILE).unwrap_or_default();
        walk_options(file, FILE.start, false, &mut budget, &mut found)?;
    }
    if overload & 2 != 0 {
        let sname = header.get(SNAME).unwrap_or_default();
        walk_options(sname, SNAME.start, false, &mut budget, &mut found)?;
    }

    let client_fqdn = match found.client_fqdn {
        Some((at, data)) => Some(decode_client_fqdn(&data, at)?),
        None => None,
    };
    let htype = header.get(HTYPE).copied();
    let hlen = header.get(HLEN).copied();
    let client_mac = if htype == Some(HTYPE_ETHERNET) && hlen == Some(6) {
        header.get(CHADDR_MAC).and_then(|m| m.try_into().ok())
    } else {
        None
    };

    Ok(Message {
        op,
        xid: header
            .get(XID)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_be_bytes),
        ciaddr: ipv4_at(header, CIADDR),
        yiaddr: ipv4_at(header, YIADDR),
        siaddr: ipv4_at(header, SIADDR),
        giaddr: ipv4_at(header, GIADDR),
        client_mac,
        message_type: found.message_type.map(MessageType),
        requested_ip: found.requested_ip.map(Ipv4Addr::from),
        server_id: found.server_id.map(Ipv4Addr::from),
        lease_time: found.lease_time.map(u32::from_be_bytes),
        hostname: found.hostname.as_deref().map(wire_string),
        client_fqdn,
        vendor_class: found.vendor_class.as_deref().map(wire_string),
        param_request_list: found.param_request_list.unwrap_or_default(),
        client_id: found.client_id,
    })
}

/// Options collected over all areas before decoding; variable-length ones are concatenated.
#[derive(Default)]
struct Found {
    message_type: Option<u8>,
    requested_ip: Option<[u8; 4]>,
    server_id: Option<[u8; 4]>,
    lease_time: Option<[u8; 4]>,
    overload: Option<u8>,
    hostname: Option<Vec<u8>>,
    /// Offset of the first instance (for errors) and the concatenated payload.
    client_fqdn: Option<(usize, Vec<u8>)>,
    vendor_class: Option<Vec<u8>>,
    param_request_list: Option<Vec<u8>>,
    client_id: Option<Vec<u8>>,
}

/// Walks one option area (`options`, `file` or `sname`); `base` is its offset in the message.
fn walk_options(
    area: &[u8],
    base: usize,
    allow_overload: bool,
    budget: &mut usize,
    found: &mut Found,
) -> Result<(), Error> {
    let mut pos = 0usize;
    while let Some(&code) = area.get(pos) {
        // RFC 2132 3.1 and 3.2: Pad and End are the only options without a length byte.
        if code == OPT_PAD {
            pos = pos.saturating_add(1);
            continue;
        }
        if code == OPT_END {
            break;
        }
        let at = base.saturating_add(pos);
        *budget = budget
            .checked_sub(1)
            .ok_or(Error::TooManyOptions { offset: at })?;
        let len = area
            .get(pos.saturating_add(1))
            .copied()
            .ok_or(Error::Truncated { offset: at })?;
        let start = pos.saturating_add(2);
        let end = start.saturating_add(usize::from(len));
        let data = area
            .get(start..end)
            .ok_or(Error::Truncated { offset: at })?;
        record_option(code, data, at, allow_overload, found)?;
        pos = end;
    }
    Ok(())
}

/// Stores one option instance into `found`, checking fixed-length options.
fn record_option(
    code: u8,
    data: &[u8],
    at: usize,
    allow_overload: bool,
    found: &mut Found,
) -> Result<(), Error> {
    let bad = Error::BadOption { code, offset: at };
    match code {
        OPT_MESSAGE_TYPE => {
            let [t] = <[u8; 1]>::try_from(data).map_err(|_| bad)?;
            found.message_type.get_or_insert(t);
        }
        OPT_REQUESTED_IP => {
            let v = <[u8; 4]>::try_from(data).map_err(|_| bad)?;
            found.requested_ip.get_or_insert(v);
        }
        OPT_SERVER_ID => {
            let v = <[u8; 4]>::try_from(data).map_err(|_| bad)?;
            found.server_id.get_or_insert(v);
        }
        OPT_LEASE_TIME => {
            let v = <[u8; 4]>::try_from(data).map_err(|_| bad)?;
            found.lease_time.get_or_insert(v);
        }
        // An overload option inside an overloaded field is ignored: RFC 2132 9.3 defines it for
        // the options field only, and ignoring it keeps the set of areas fixed (no loop).
        OPT_OVERLOAD if allow_overload => {
            let [v] = <[u8; 1]>::try_from(data).map_err(|_| bad)?;
            // RFC 2132 9.3: "Legal values for this option are" 1 (file), 2 (sname), 3 (both).
            if !(1..=3).contains(&v) {
                return Err(bad);
            }
            found.overload.get_or_insert(v);
        }
        OPT_HOSTNAME => append_capped(&mut found.hostname, data, MAX_CONCAT),
        OPT_VENDOR_CLASS => append_capped(&mut found.vendor_class, data, MAX_CONCAT),
        OPT_PARAM_REQUEST => {
            append_capped(&mut found.param_request_list, data, MAX_PARAM_REQUEST);
        }
        OPT_CLIENT_ID => append_capped(&mut found.client_id, data, MAX_CLIENT_ID),
        OPT_CLIENT_FQDN => {
            let (_, buf) = found.client_fqdn.get_or_insert_with(|| (at, Vec::new()));
            let room = MAX_CONCAT.saturating_sub(buf.len());
            buf.extend_from_slice(data.get(..room).unwrap_or(data));
        }
        _ => {}
    }
    Ok(())
}

/// RFC 3396 concatenation: "the contents of these options are concatenated together to form a
/// single option prior to processing." Marks the option present even when `data` is empty.
fn append_capped(dst: &mut Option<Vec<u8>>, data: &[u8], cap: usize) {
    let buf = dst.get_or_insert_with(Vec::new);
    let room = cap.saturating_sub(buf.len());
    buf.extend_from_slice(data.get(..room).unwrap_or(data));
}

/// Decodes option 81: RFC 4702 2: "Flags", "RCODE1", "RCODE2", then "Domain Name".
fn decode_client_fqdn(data: &[u8], at: usize) -> Result<String, Error> {
    let bad = Error::BadOption {
        code: OPT_CLIENT_FQDN,
        offset: at,
    };
    let flags = data.first().copied().ok_or(bad)?;
    let name = data.get(3..).ok_or(bad)?;
    if flags & FQDN_FLAG_E != 0 {
        Ok(dns_name(name))
    } else {
        // The deprecated ASCII encoding; some clients end it with a dot, which we drop so both
        // encodings give the same string.
        let name = name.strip_suffix(b".").unwrap_or(name);
        Ok(wire_string(name))
    }
}

fn ipv4_at(header: &[u8], range: Range<usize>) -> Ipv4Addr {
    header
        .get(range)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(Ipv4Addr::UNSPECIFIED, Ipv4Addr::from)
}

/// Turns wire bytes into a display-safe string: lossy UTF-8, control characters replaced by
/// U+FFFD (so logs and terminals cannot be steered), at most [`MAX_STRING_CHARS`] characters.
pub(crate) fn wire_string(bytes: &[u8]) -> String {
    // Four bytes per character at most, so this pre-cut never touches the characters kept and
    // bounds the lossy conversion work.
    let bytes = bytes
        .get(..MAX_STRING_CHARS.saturating_mul(4))
        .unwrap_or(bytes);
    String::from_utf8_lossy(bytes)
        .chars()
        .take(MAX_STRING_CHARS)
        .map(|c| {
            if c.is_control() {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

/// Renders an uncompressed DNS wire-format name in presentation form without trailing dot.
///
/// RFC 4702 2.3.1 and RFC 4704 4.1 use "the canonical wire format" without compression, and
/// allow a partial name (no terminating root label). Decoding is lenient: it stops at the root
/// label, at the end of the data, at a label that runs past the end, or at a length byte above
/// 63 (a compression pointer or reserved label type), keeping the labels read so far. Label
/// bytes are lossy UTF-8 with control characters replaced; '.' and '\' inside a label are
/// backslash-escaped so label boundaries stay unambiguous. At most [`MAX_STRING_CHARS`] chars.
pub(crate) fn dns_name(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut pos = 0usize;
    for _ in 0..MAX_LABELS {
        let Some(&len) = bytes.get(pos) else { break };
        if len == 0 || len > MAX_LABEL_LEN {
            break;
        }
        let start = pos.saturating_add(1);
        let end = start.saturating_add(usize::from(len));
        let Some(label) = bytes.get(start..end) else {
            break;
        };
        if !out.is_empty() {
            out.push('.');
        }
        for c in String::from_utf8_lossy(label).chars() {
            match c {
                '.' | '\\' => {
                    out.push('\\');
                    out.push(c);
                }
                c if c.is_control() => out.push(char::REPLACEMENT_CHARACTER),
                c => out.push(c),
            }
        }
        pos = end;
    }
    if out.chars().nth(MAX_STRING_CHARS).is_some() {
        out = out.chars().take(MAX_STRING_CHARS).collect();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds the 240-byte fixed header (BOOTP fields plus magic cookie) for hand-made messages.
    fn header(op: u8, xid: u32, yiaddr: [u8; 4]) -> Vec<u8> {
        let mut b = Vec::with_capacity(400);
        b.push(op); // op
        b.push(1); // htype: Ethernet
        b.push(6); // hlen: 6-byte MAC
        b.push(0); // hops
        b.extend_from_slice(&xid.to_be_bytes()); // xid
        b.extend_from_slice(&[0, 0]); // secs
        b.extend_from_slice(&[0x80, 0x00]); // flags: broadcast
        b.extend_from_slice(&[0; 4]); // ciaddr
        b.extend_from_slice(&yiaddr); // yiaddr
        b.extend_from_slice(&[0; 4]); // siaddr
        b.extend_from_slice(&[0; 4]); // giaddr
        b.extend_from_slice(&[0x00, 0x15, 0x5d, 0x01, 0x02, 0x03]); // chaddr: MAC
        b.extend_from_slice(&[0; 10]); // chaddr padding to 16 bytes
        b.extend_from_slice(&[0; 64]); // sname
        b.extend_from_slice(&[0; 128]); // file
        b.extend_from_slice(&MAGIC_COOKIE); // magic cookie
        assert_eq!(b.len(), OPTIONS_START);
        b
    }

    /// A DHCPDISCOVER shaped like one from a Windows 10/11 client.
    fn windows_discover() -> Vec<u8> {
        let mut b = header(1, 0x3903_f326, [0; 4]);
        b.extend_from_slice(&[53, 1, 1]); // message type: DISCOVER
        b.extend_from_slice(&[61, 7, 1, 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03]); // client id: htype 1 + MAC
        b.extend_from_slice(&[50, 4, 192, 168, 1, 50]); // requested IP 192.168.1.50
        b.extend_from_slice(&[12, 13]); // host name, 13 bytes
        b.extend_from_slice(b"DESKTOP-LAB01");
        b.extend_from_slice(&[81, 16, 0, 0, 0]); // client FQDN: flags 0 (ASCII), rcode1, rcode2
        b.extend_from_slice(b"DESKTOP-LAB01");
        b.extend_from_slice(&[60, 8]); // vendor class, 8 bytes
        b.extend_from_slice(b"MSFT 5.0");
        b.extend_from_slice(&[
            55, 14, 1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252,
        ]); // PRL
        b.push(255); // end
        b
    }

    /// A DHCPACK from a server assigning 192.168.1.50 for a day.
    fn ack() -> Vec<u8> {
        let mut b = header(2, 0x3903_f326, [192, 168, 1, 50]);
        b.extend_from_slice(&[53, 1, 5]); // message type: ACK
        b.extend_from_slice(&[54, 4, 192, 168, 1, 1]); // server id 192.168.1.1
        b.extend_from_slice(&[51, 4, 0x00, 0x01, 0x51, 0x80]); // lease time 86400 s
        b.extend_from_slice(&[1, 4, 255, 255, 255, 0]); // subnet mask (not decoded)
        b.extend_from_slice(&[81, 3, 0x03, 255, 255]); // client FQDN: flags S|O, no name
        b.push(255); // end
        b.extend_from_slice(&[0; 8]); // trailing pad after end, as many servers send
        b
    }

    #[test]
    fn parse_discover() {
        let m = parse(&windows_discover()).expect("valid discover");
        assert_eq!(m.op, 1);
        assert_eq!(m.xid, 0x3903_f326);
        assert_eq!(m.message_type, Some(MessageType::DISCOVER));
        assert_eq!(m.message_type.map(MessageType::name), Some("discover"));
        assert_eq!(m.client_mac, Some([0x00, 0x15, 0x5d, 0x01, 0x02, 0x03]));
        assert_eq!(
            m.client_id.as_deref(),
            Some(&[1, 0x00, 0x15, 0x5d, 0x01, 0x02, 0x03][..])
        );
        assert_eq!(m.requested_ip, Some(Ipv4Addr::new(192, 168, 1, 50)));
        assert_eq!(m.hostname.as_deref(), Some("DESKTOP-LAB01"));
        assert_eq!(m.client_fqdn.as_deref(), Some("DESKTOP-LAB01"));
        assert_eq!(m.vendor_class.as_deref(), Some("MSFT 5.0"));
        assert_eq!(
            m.param_request_list,
            [1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252]
        );
        assert_eq!(m.server_id, None);
        assert_eq!(m.lease_time, None);
    }

    #[test]
    fn parse_ack() {
        let m = parse(&ack()).expect("valid ack");
        assert_eq!(m.op, 2);
        assert_eq!(m.message_type, Some(MessageType::ACK));
        assert_eq!(m.yiaddr, Ipv4Addr::new(192, 168, 1, 50));
        assert_eq!(m.server_id, Some(Ipv4Addr::new(192, 168, 1, 1)));
        assert_eq!(m.lease_time, Some(86_400));
        assert_eq!(m.client_fqdn.as_deref(), Some(""));
        assert_eq!(m.hostname, None);
        assert!(m.param_request_list.is_empty());
    }

    #[test]
    fn parse_fqdn_wire_encoding() {
        let mut b = header(1, 1, [0; 4]);
        b.extend_from_slice(&[81, 21, FQDN_FLAG_E | 0x01, 0, 0]); // FQDN: E|S flags, rcodes
        b.extend_from_slice(b"\x04host\x03lab\x07example\x00"); // host.lab.example.
        b.push(255); // end
        let m = parse(&b).expect("valid");
        assert_eq!(m.client_fqdn.as_deref(), Some("host.lab.example"));
    }

    #[test]
    fn parse_fqdn_compression_pointer_stops_name() {
        let mut b = header(1, 1, [0; 4]);
        b.extend_from_slice(&[81, 11, FQDN_FLAG_E, 0, 0]); // FQDN: E flag, rcodes
        b.extend_from_slice(b"\x04host\xc0\x0c"); // "host" then a forbidden compression pointer
        b.push(255); // end
        let m = parse(&b).expect("valid");
        assert_eq!(m.client_fqdn.as_deref(), Some("host"));
    }

    #[test]
    fn parse_truncated_at_every_length() {
        for msg in [windows_discover(), ack()] {
            for len in 0..msg.len() {
                // Must not panic; most prefixes fail, a few end exactly between options.
                let _ = parse(msg.get(..len).unwrap_or_default());
            }
            assert!(parse(&msg).is_ok());
        }
        assert_eq!(parse(&[]), Err(Error::Truncated { offset: 0 }));
        assert_eq!(parse(&[1; 238]), Err(Error::Truncated { offset: 236 }));
    }

    #[test]
    fn parse_option_length_past_end() {
        let mut b = header(1, 1, [0; 4]);
        b.extend_from_slice(&[53, 1, 1]); // message type: DISCOVER
        b.extend_from_slice(&[12, 200]); // host name claiming 200 bytes...
        b.extend_from_slice(b"ab"); // ...but only 2 follow
        assert_eq!(parse(&b), Err(Error::Truncated { offset: 243 }));

        let mut b = header(1, 1, [0; 4]);
        b.push(12); // host name code with no length byte
        assert_eq!(parse(&b), Err(Error::Truncated { offset: 240 }));
    }

    #[test]
    fn parse_zero_length_options() {
        let mut b = header(1, 1, [0; 4]);
        b.extend_from_slice(&[12, 0]); // host name, empty
        b.extend_from_slice(&[55, 0]); // parameter request list, empty
        b.extend_from_slice(&[61, 0]); // client id, empty
        b.extend_from_slice(&[60, 0]); // vendor class, empty
        b.extend_from_slice(&[200, 0]); // unknown option, empty
        b.push(255); // end
        let m = parse(&b).expect("empty variable-length options are legal");
        assert_eq!(m.hostname.as_deref(), Some(""));
        assert_eq!(m.vendor_class.as_deref(), Some(""));
        assert_eq!(m.client_id.as_deref(), Some(&[][..]));
        assert!(m.param_request_list.is_empty());

        let mut b = header(1, 1, [0; 4]);
        b.extend_from_slice(&[53, 0]); // message type with no value
        assert_eq!(
            parse(&b),
            Err(Error::BadOption {
                code: 53,
                offset: 240
            })
        );

        let mut b = header(1, 1, [0; 4]);
        b.extend_from_slice(&[81, 0]); // client FQDN missing its 3 header bytes
        b.push(255); // end
        assert_eq!(
            parse(&b),
            Err(Error::BadOption {
                code: 81,
                offset: 240
            })
        );
    }

    #[test]
    fn parse_overload_loop() {
        let mut b = header(1, 7, [0; 4]);
        // file field (108..236): second host name part, then an overload option that must be
        // ignored, then end.
        let file = [12, 4, b'T', b'O', b'P', b'-', 52, 1, 3, 55, 2, 3, 6, 255];
        b.get_mut(FILE.start..FILE.start + file.len())
            .expect("in header")
            .copy_from_slice(&file);
        // sname field (44..108): last host name part, then end.
        let sname = [12, 5, b'L', b'A', b'B', b'0', b'1', 255];
        b.get_mut(SNAME.start..SNAME.start + sname.len())
            .expect("in header")
            .copy_from_slice(&sname);
        b.extend_from_slice(&[52, 1, 3]); // overload: both file and sname
        b.extend_from_slice(&[12, 4, b'D', b'E', b'S', b'K']); // first host name part
        b.extend_from_slice(&[55, 1, 1]); // first PRL part
        b.push(255); // end
        let m = parse(&b).expect("valid overloaded message");
        // RFC 3396 order: options, then file, then sname.
        assert_eq!(m.hostname.as_deref(), Some("DESKTOP-LAB01"));
        assert_eq!(m.param_request_list, [1, 3, 6]);

        let mut b = header(1, 7, [0; 4]);
        b.extend_from_slice(&[52, 1, 4]); // overload value 4 is not defined
        assert_eq!(
            parse(&b),
            Err(Error::BadOption {
                code: 52,
                offset: 240
            })
        );
    }

    #[test]
    fn parse_overloaded_field_truncated_option() {
        let mut b = header(1, 7, [0; 4]);
        let sname = [12, 80]; // host name claiming more bytes than sname holds
        b.get_mut(SNAME.start..SNAME.start + sname.len())
            .expect("in header")
            .copy_from_slice(&sname);
        b.extend_from_slice(&[52, 1, 2]); // overload: sname
        b.push(255); // end
        assert_eq!(parse(&b), Err(Error::Truncated { offset: 44 }));
    }

    #[test]
    fn parse_too_many_options() {
        let mut b = header(1, 1, [0; 4]);
        for _ in 0..=MAX_OPTIONS {
            b.extend_from_slice(&[200, 0]); // unknown empty option, repeated
        }
        assert_eq!(
            parse(&b),
            Err(Error::TooManyOptions {
                offset: OPTIONS_START + 2 * MAX_OPTIONS
            })
        );
        // Pads are not options and do not count.
        let mut b = header(1, 1, [0; 4]);
        b.extend_from_slice(&[0; 2000]); // pad
        b.push(255); // end
        assert!(parse(&b).is_ok());
    }

    #[test]
    fn parse_concatenated_caps() {
        let mut b = header(1, 1, [0; 4]);
        for _ in 0..6 {
            b.push(55); // PRL instance
            b.push(255); // of 255 entries
            b.extend_from_slice(&[1; 255]);
            b.push(12); // host name instance
            b.push(255); // of 255 bytes
            b.extend_from_slice(&[b'a'; 255]);
        }
        b.push(255); // end
        let m = parse(&b).expect("valid");
        assert_eq!(m.param_request_list.len(), MAX_PARAM_REQUEST);
        assert_eq!(
            m.hostname.map(|h| h.chars().count()),
            Some(MAX_STRING_CHARS)
        );
    }

    #[test]
    fn parse_bad_magic_cookie() {
        let mut b = header(1, 1, [0; 4]);
        b.get_mut(COOKIE)
            .expect("in header")
            .copy_from_slice(&[1, 2, 3, 4]);
        assert_eq!(parse(&b), Err(Error::BadMagicCookie));
    }

    #[test]
    fn parse_not_bootp() {
        let mut b = windows_discover();
        if let Some(op) = b.first_mut() {
            *op = 3; // op: neither request nor reply
        }
        assert_eq!(parse(&b), Err(Error::NotBootp { op: 3 }));
    }

    #[test]
    fn parse_non_ethernet_has_no_mac() {
        let mut b = windows_discover();
        if let Some(htype) = b.get_mut(HTYPE) {
            *htype = 6; // htype: IEEE 802
        }
        assert_eq!(parse(&b).map(|m| m.client_mac), Ok(None));
    }

    #[test]
    fn wire_string_sanitises_and_caps() {
        assert_eq!(
            wire_string(b"a\x1b[31mb\n\xff"),
            "a\u{fffd}[31mb\u{fffd}\u{fffd}"
        );
        assert_eq!(wire_string(&[b'x'; 1000]).len(), MAX_STRING_CHARS);
        let multi = "é".repeat(400);
        assert_eq!(
            wire_string(multi.as_bytes()).chars().count(),
            MAX_STRING_CHARS
        );
    }

    #[test]
    fn dns_name_escapes_and_caps() {
        assert_eq!(dns_name(b"\x03a.b\x01\\\x00"), "a\\.b.\\\\");
        assert_eq!(dns_name(b"\x02a\x07"), "a\u{fffd}");
        assert_eq!(dns_name(b"\x05ab"), ""); // label runs past the end
        let long: Vec<u8> = (0..200).flat_map(|_| [3, b'a', b'b', b'c']).collect();
        assert_eq!(dns_name(&long).chars().count(), MAX_STRING_CHARS);
    }

    #[test]
    fn message_type_names() {
        let names: Vec<&str> = (1..=8).map(|t| MessageType(t).name()).collect();
        assert_eq!(
            names,
            [
                "discover", "offer", "request", "decline", "ack", "nak", "release", "inform"
            ]
        );
        assert_eq!(MessageType(13).name(), "leaseactive");
        assert_eq!(MessageType(99).name(), "unknown");
    }

    #[test]
    fn parse_mutations_never_panic() {
        let seeds = [windows_discover(), ack()];
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
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
            let flips = 1 + next() % 8;
            for _ in 0..flips {
                let r = next();
                // Bias towards the options area, where the interesting logic is.
                let len = msg.len() as u64;
                let pos = if r & 1 == 0 {
                    OPTIONS_START as u64 + (r >> 8) % (len - OPTIONS_START as u64)
                } else {
                    (r >> 8) % len
                };
                if let Some(byte) = usize::try_from(pos).ok().and_then(|p| msg.get_mut(p)) {
                    *byte = (r >> 32) as u8;
                }
            }
            if next() % 10 == 0 {
                let cut = usize::try_from(next() % msg.len() as u64).unwrap_or(0);
                msg.truncate(cut);
            }
            if let Ok(m) = parse(&msg) {
                ok += 1;
                assert!(m.param_request_list.len() <= MAX_PARAM_REQUEST);
                assert!(m.client_id.is_none_or(|c| c.len() <= MAX_CLIENT_ID));
                for s in [m.hostname, m.client_fqdn, m.vendor_class]
                    .into_iter()
                    .flatten()
                {
                    assert!(s.chars().count() <= MAX_STRING_CHARS);
                    assert!(!s.chars().any(char::is_control));
                }
            }
        }
        // Many mutations land in ignored bytes, so a good share must still parse.
        assert!(ok > 1_000, "only {ok} mutants parsed");
    }
}
