//! DNS message parser (RFC 1035 §4) shared by DNS (UDP/TCP 53), mDNS (5353) and LLMNR (5355).
//!
//! No-panic promise: [`parse`] and [`split_tcp_message`] never panic, never loop unboundedly and
//! never allocate in proportion to a count read from the wire, whatever bytes they are given.
//! Every read goes through one helper (`take`) that checks bounds with `get` and `checked_add`;
//! every loop over an attacker-controlled count is capped by a named constant below.
//!
//! Recoverable oddities (more questions or records than we are willing to decode) become
//! [`ParseFlags`] on an `Ok` result, Suricata-style; malformed wire data is an [`Error`] carrying
//! the offset where parsing stopped. Names are returned in presentation form with unusual bytes
//! escaped, so a hostile label can never smuggle a dot, a control byte or invalid UTF-8 into logs.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// Length of the fixed DNS header (RFC 1035 §4.1.1).
pub const HEADER_LEN: usize = 12;

/// Most questions decoded per message. Real queries carry one (RFC 9619 even forbids more for
/// standard DNS) and mDNS queries batch a handful; 32 leaves room for chatty mDNS stacks while
/// bounding the work a forged QDCOUNT of 65535 can cause.
pub const MAX_QUESTIONS: usize = 32;

/// Most resource records decoded per message, summed over answer, authority and additional
/// sections. A full 64 KiB message can hold a few thousand records, but the sensor only needs
/// enough to identify hosts and services; 128 covers large mDNS announcements and DNSSEC-signed
/// referrals while keeping per-packet work and memory small and constant.
pub const MAX_RECORDS: usize = 128;

/// Longest name on the wire, counting length octets and the final root octet.
/// RFC 1035 §2.3.4: "names - 255 octets or less".
pub const MAX_NAME_WIRE_LEN: usize = 255;

/// Upper bound on the length of any name string this module returns. Each wire octet becomes at
/// most four characters (`\DDD`), and label length octets become at most one `.` each.
pub const MAX_NAME_PRESENTATION_LEN: usize = 4 * MAX_NAME_WIRE_LEN;

/// Longest label. RFC 1035 §2.3.4: "labels - 63 octets or less".
const MAX_LABEL_LEN: usize = 63;

// A length octet with type bits 0b00 can only encode 0..=63, so the label limit needs no
// run-time check; this fails the build if that reasoning ever stops holding.
const _: () = assert!(MAX_LABEL_LEN == 0x3f);

/// Most compression pointers followed while reading one name. A name has at most 127 labels
/// (255 octets, two per one-byte label), and an encoder never needs more than one pointer per
/// label; anything beyond is a pointer-to-pointer chain built only to burn CPU.
const MAX_POINTER_HOPS: usize = 127;

/// A parsed DNS message with owned, presentation-form names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Transaction ID chosen by the querier (always 0 in mDNS multicast).
    pub id: u16,
    /// QR bit: true for a response.
    pub is_response: bool,
    /// Four-bit OPCODE (0 = QUERY).
    pub opcode: u8,
    /// AA bit: the responder is authoritative.
    pub authoritative: bool,
    /// TC bit: the sender truncated the message (the client should retry over TCP).
    pub truncated: bool,
    /// Four-bit RCODE from the header (without EDNS extended bits).
    pub rcode: u8,
    /// Question section, at most [`MAX_QUESTIONS`] entries.
    pub questions: Vec<Question>,
    /// Answer section.
    pub answers: Vec<Record>,
    /// Authority section.
    pub authorities: Vec<Record>,
    /// Additional section (including any EDNS OPT pseudo-record).
    pub additionals: Vec<Record>,
    /// Recoverable oddities met while parsing.
    pub flags: ParseFlags,
}

/// One entry of the question section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// Queried name in presentation form.
    pub name: String,
    /// Queried type.
    pub rtype: RecordType,
    /// Raw class, including the mDNS unicast-response bit (0x8000, RFC 6762 §5.4).
    pub class: u16,
}

/// One resource record from the answer, authority or additional section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Owner name in presentation form.
    pub name: String,
    /// Record type.
    pub rtype: RecordType,
    /// Raw class, including the mDNS cache-flush bit (0x8000, RFC 6762 §10.2); UDP payload size
    /// for OPT.
    pub class: u16,
    /// Time to live in seconds (extended RCODE and flags for OPT).
    pub ttl: u32,
    /// Decoded record data for the types the sensor uses.
    pub data: RData,
}

/// Record data for the types the sensor uses; everything else is [`RData::Other`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    /// IPv4 address (RDATA exactly 4 bytes).
    A(Ipv4Addr),
    /// IPv6 address (RDATA exactly 16 bytes).
    Aaaa(Ipv6Addr),
    /// Canonical name target.
    Cname(String),
    /// Pointer target (reverse lookups, DNS-SD service enumeration).
    Ptr(String),
    /// Service location (RFC 2782).
    Srv {
        /// Lower is preferred.
        priority: u16,
        /// Load-balancing weight among equal priorities.
        weight: u16,
        /// Port the service listens on.
        port: u16,
        /// Host offering the service.
        target: String,
    },
    /// TXT record; content deliberately not kept, as it often carries personal data.
    Txt,
    /// Any other type; RDATA was bounds-checked and skipped.
    Other,
}

/// Record type code, kept as a number so unknown types stay readable (RFC 3597).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordType(pub u16);

impl RecordType {
    /// IPv4 host address (RFC 1035).
    pub const A: Self = Self(1);
    /// Authoritative name server (RFC 1035).
    pub const NS: Self = Self(2);
    /// Canonical name (RFC 1035).
    pub const CNAME: Self = Self(5);
    /// Start of authority (RFC 1035).
    pub const SOA: Self = Self(6);
    /// Domain name pointer (RFC 1035).
    pub const PTR: Self = Self(12);
    /// Host information (RFC 1035, RFC 8482).
    pub const HINFO: Self = Self(13);
    /// Mail exchange (RFC 1035).
    pub const MX: Self = Self(15);
    /// Text strings (RFC 1035).
    pub const TXT: Self = Self(16);
    /// IPv6 host address (RFC 3596).
    pub const AAAA: Self = Self(28);
    /// Service location (RFC 2782).
    pub const SRV: Self = Self(33);
    /// Naming authority pointer (RFC 3403).
    pub const NAPTR: Self = Self(35);
    /// EDNS(0) option pseudo-record (RFC 6891).
    pub const OPT: Self = Self(41);
    /// Delegation signer (RFC 4034).
    pub const DS: Self = Self(43);
    /// DNSSEC signature (RFC 4034).
    pub const RRSIG: Self = Self(46);
    /// Next secure (RFC 4034).
    pub const NSEC: Self = Self(47);
    /// DNSSEC public key (RFC 4034).
    pub const DNSKEY: Self = Self(48);
    /// Hashed next secure (RFC 5155).
    pub const NSEC3: Self = Self(50);
    /// Service binding (RFC 9460).
    pub const SVCB: Self = Self(64);
    /// HTTPS service binding (RFC 9460).
    pub const HTTPS: Self = Self(65);
    /// Incremental zone transfer (RFC 1995).
    pub const IXFR: Self = Self(251);
    /// Full zone transfer (RFC 1035).
    pub const AXFR: Self = Self(252);
    /// Any type, query only (RFC 1035 "*").
    pub const ANY: Self = Self(255);
    /// Certification authority authorization (RFC 8659).
    pub const CAA: Self = Self(257);

    /// Mnemonic for well-known types, `None` for the rest.
    pub fn name(&self) -> Option<&'static str> {
        let name = match *self {
            Self::A => "A",
            Self::NS => "NS",
            Self::CNAME => "CNAME",
            Self::SOA => "SOA",
            Self::PTR => "PTR",
            Self::HINFO => "HINFO",
            Self::MX => "MX",
            Self::TXT => "TXT",
            Self::AAAA => "AAAA",
            Self::SRV => "SRV",
            Self::NAPTR => "NAPTR",
            Self::OPT => "OPT",
            Self::DS => "DS",
            Self::RRSIG => "RRSIG",
            Self::NSEC => "NSEC",
            Self::DNSKEY => "DNSKEY",
            Self::NSEC3 => "NSEC3",
            Self::SVCB => "SVCB",
            Self::HTTPS => "HTTPS",
            Self::IXFR => "IXFR",
            Self::AXFR => "AXFR",
            Self::ANY => "ANY",
            Self::CAA => "CAA",
            _ => return None,
        };
        Some(name)
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            // RFC 3597 §5: "the type ... is represented by the word 'TYPE' immediately followed by
            // the decimal RR type number".
            None => write!(f, "TYPE{}", self.0),
        }
    }
}

/// Recoverable oddities: the message parsed, but not all of it was decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParseFlags {
    /// The header announced more records than were decoded (cap reached, or the sections could
    /// not be located because the question section was capped).
    pub records_capped: bool,
    /// The header announced more than [`MAX_QUESTIONS`] questions; the rest were not decoded.
    pub questions_capped: bool,
}

/// Why a message could not be parsed; offsets are from the start of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A field starting at `offset` runs past the end of the message.
    Truncated {
        /// Start of the incomplete field.
        offset: usize,
    },
    /// A label length octet uses the reserved 0b01 or 0b10 type bits.
    BadLabel {
        /// Offset of the length octet.
        offset: usize,
    },
    /// A compression pointer does not point strictly before the label sequence containing it.
    PointerNotBackwards {
        /// Offset of the pointer.
        offset: usize,
    },
    /// A name exceeds 255 octets in wire form.
    NameTooLong {
        /// Offset of the label that crossed the limit.
        offset: usize,
    },
    /// A name follows more than `MAX_POINTER_HOPS` compression pointers.
    TooManyPointers {
        /// Offset of the pointer that crossed the limit.
        offset: usize,
    },
    /// RDATA does not match its type (wrong address size, name not filling RDLENGTH).
    BadRdata {
        /// Offset where the RDATA problem was found.
        offset: usize,
    },
    /// A TCP length prefix announces an impossible message length.
    BadLength {
        /// Offset of the length prefix in the stream.
        offset: usize,
        /// Announced length.
        length: u16,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Truncated { offset } => write!(f, "DNS field at offset {offset} is truncated"),
            Self::BadLabel { offset } => {
                write!(f, "DNS label at offset {offset} has reserved type")
            }
            Self::PointerNotBackwards { offset } => {
                write!(
                    f,
                    "DNS compression pointer at offset {offset} does not point backwards"
                )
            }
            Self::NameTooLong { offset } => {
                write!(f, "DNS name exceeds 255 octets at offset {offset}")
            }
            Self::TooManyPointers { offset } => {
                write!(f, "DNS name follows too many pointers at offset {offset}")
            }
            Self::BadRdata { offset } => write!(f, "DNS RDATA at offset {offset} is malformed"),
            Self::BadLength { offset, length } => {
                write!(f, "DNS TCP length {length} at offset {offset} is invalid")
            }
        }
    }
}

impl std::error::Error for Error {}

/// Parses one DNS, mDNS or LLMNR message (without TCP length prefix).
pub fn parse(bytes: &[u8]) -> Result<Message, Error> {
    // RFC 1035 §4.1.1 header: ID, flags, then QDCOUNT, ANCOUNT, NSCOUNT, ARCOUNT, all 16-bit.
    let ([id0, id1, hi, lo, qd0, qd1, an0, an1, ns0, ns1, ar0, ar1], mut pos) =
        take_array::<HEADER_LEN>(bytes, 0)?;
    let id = u16::from_be_bytes([id0, id1]);
    let qdcount = usize::from(u16::from_be_bytes([qd0, qd1]));
    let ancount = usize::from(u16::from_be_bytes([an0, an1]));
    let nscount = usize::from(u16::from_be_bytes([ns0, ns1]));
    let arcount = usize::from(u16::from_be_bytes([ar0, ar1]));

    let mut flags = ParseFlags::default();
    let question_limit = qdcount.min(MAX_QUESTIONS);
    flags.questions_capped = qdcount > question_limit;
    // Capacity is the capped count, never the raw header value.
    let mut questions = Vec::with_capacity(question_limit);
    for _ in 0..question_limit {
        let (name, next) = read_name(bytes, pos)?;
        let ([t0, t1, c0, c1], next) = take_array::<4>(bytes, next)?;
        questions.push(Question {
            name,
            rtype: RecordType(u16::from_be_bytes([t0, t1])),
            class: u16::from_be_bytes([c0, c1]),
        });
        pos = next;
    }

    // Skipped questions leave us not knowing where the answer section starts, so record
    // decoding stops there too; the flag tells the caller.
    let mut sections = Sections {
        pos,
        budget: MAX_RECORDS,
        stopped: flags.questions_capped,
        skipped: false,
    };
    let answers = sections.parse(bytes, ancount)?;
    let authorities = sections.parse(bytes, nscount)?;
    let additionals = sections.parse(bytes, arcount)?;
    flags.records_capped = sections.skipped;

    Ok(Message {
        id,
        is_response: hi & 0x80 != 0,
        opcode: (hi >> 3) & 0x0f,
        authoritative: hi & 0x04 != 0,
        truncated: hi & 0x02 != 0,
        rcode: lo & 0x0f,
        questions,
        answers,
        authorities,
        additionals,
        flags,
    })
}

/// TCP framing (RFC 1035 §4.2.2): `Ok(Some((message, consumed)))` when a whole length-prefixed
/// message starts `stream`, `Ok(None)` when more bytes are needed, `Err` for a length below 12.
pub fn split_tcp_message(stream: &[u8]) -> Result<Option<(&[u8], usize)>, Error> {
    // RFC 1035 §4.2.2: "The message is prefixed with a two byte length field which gives the
    // message length, excluding the two byte length field."
    let Ok(([l0, l1], start)) = take_array::<2>(stream, 0) else {
        return Ok(None);
    };
    let length = u16::from_be_bytes([l0, l1]);
    // Nothing shorter than a header is a DNS message; rejecting early lets the stream reader
    // drop a desynchronised or non-DNS stream instead of buffering garbage.
    if usize::from(length) < HEADER_LEN {
        return Err(Error::BadLength { offset: 0, length });
    }
    match take(stream, start, usize::from(length)) {
        Ok((message, consumed)) => Ok(Some((message, consumed))),
        Err(_) => Ok(None),
    }
}

/// Cursor over the three record sections, sharing one [`MAX_RECORDS`] budget.
struct Sections {
    /// Offset of the next record.
    pos: usize,
    /// Records still allowed before the cap.
    budget: usize,
    /// Set once a section was cut short; later sections cannot be located.
    stopped: bool,
    /// Set once any announced record was left undecoded.
    skipped: bool,
}

impl Sections {
    /// Decodes up to `count` records (capped by the remaining budget) of one section.
    fn parse(&mut self, msg: &[u8], count: usize) -> Result<Vec<Record>, Error> {
        if self.stopped {
            self.skipped |= count > 0;
            return Ok(Vec::new());
        }
        let limit = count.min(self.budget);
        if count > limit {
            self.stopped = true;
            self.skipped = true;
        }
        // Capacity is bounded by MAX_RECORDS through `budget`, never the raw header count.
        let mut records = Vec::with_capacity(limit);
        for _ in 0..limit {
            let (record, next) = parse_record(msg, self.pos)?;
            records.push(record);
            self.pos = next;
        }
        self.budget = self.budget.saturating_sub(limit);
        Ok(records)
    }
}

/// Parses one resource record at `pos` (RFC 1035 §4.1.3); returns it and the offset after it.
fn parse_record(msg: &[u8], pos: usize) -> Result<(Record, usize), Error> {
    let (name, pos) = read_name(msg, pos)?;
    let ([t0, t1, c0, c1, ttl0, ttl1, ttl2, ttl3, r0, r1], rdata_start) =
        take_array::<10>(msg, pos)?;
    let rtype = RecordType(u16::from_be_bytes([t0, t1]));
    let rdlength = usize::from(u16::from_be_bytes([r0, r1]));
    let (rdata, rdata_end) = take(msg, rdata_start, rdlength)?;
    let data = parse_rdata(msg, rtype, rdata, rdata_start..rdata_end)?;
    let record = Record {
        name,
        rtype,
        class: u16::from_be_bytes([c0, c1]),
        ttl: u32::from_be_bytes([ttl0, ttl1, ttl2, ttl3]),
        data,
    };
    Ok((record, rdata_end))
}

/// Decodes the RDATA at `span` of `msg`; `rdata` is that same span, already bounds-checked.
fn parse_rdata(
    msg: &[u8],
    rtype: RecordType,
    rdata: &[u8],
    span: Range<usize>,
) -> Result<RData, Error> {
    let bad = Error::BadRdata { offset: span.start };
    let data = match rtype {
        RecordType::A => RData::A(Ipv4Addr::from(<[u8; 4]>::try_from(rdata).map_err(|_| bad)?)),
        RecordType::AAAA => RData::Aaaa(Ipv6Addr::from(
            <[u8; 16]>::try_from(rdata).map_err(|_| bad)?,
        )),
        RecordType::CNAME => RData::Cname(rdata_name(msg, span.start, span.end)?),
        RecordType::PTR => RData::Ptr(rdata_name(msg, span.start, span.end)?),
        RecordType::SRV => {
            // RFC 2782 forbids compressing the target, but mDNS responders do compress it
            // (RFC 6762 §18.14), so pointers are accepted here like anywhere else.
            let ([p0, p1, w0, w1, port0, port1], target_start) =
                take_array::<6>(rdata, 0).map_err(|_| bad)?;
            let target_start = span.start.checked_add(target_start).ok_or(bad)?;
            RData::Srv {
                priority: u16::from_be_bytes([p0, p1]),
                weight: u16::from_be_bytes([w0, w1]),
                port: u16::from_be_bytes([port0, port1]),
                target: rdata_name(msg, target_start, span.end)?,
            }
        }
        RecordType::TXT => RData::Txt,
        _ => RData::Other,
    };
    Ok(data)
}

/// Reads a name that must fill the RDATA from `start` exactly to `end`.
fn rdata_name(msg: &[u8], start: usize, end: usize) -> Result<String, Error> {
    // Reading within `msg[..end]` keeps the name inside RDLENGTH; pointers only go backwards,
    // so every legal target is still inside this view.
    let scope = msg.get(..end).ok_or(Error::BadRdata { offset: start })?;
    let (name, next) = read_name(scope, start).map_err(|err| match err {
        Error::Truncated { offset } => Error::BadRdata { offset },
        other => other,
    })?;
    if next == end {
        Ok(name)
    } else {
        Err(Error::BadRdata { offset: next })
    }
}

/// Reads a possibly compressed name at `start`; returns its presentation form and the offset just
/// after the name where it appears (after the first pointer, if any).
///
/// RFC 1035 §4.1.4: "an entire domain name or a list of labels at the end of a domain name is
/// replaced with a pointer to a prior occurance of the same name. [...] The first two bits are
/// ones. This allows a pointer to be distinguished from a label, since the label must begin with
/// two zero bits because labels are restricted to 63 octets or less."
fn read_name(msg: &[u8], start: usize) -> Result<(String, usize), Error> {
    let mut out = String::new();
    let mut pos = start;
    // Start of the label sequence being read: `start`, then each pointer's target.
    let mut sequence_start = start;
    // Where the caller continues: set by the first pointer, else after the root label.
    let mut resume: Option<usize> = None;
    // The root octet always counts towards the 255-octet limit.
    let mut wire_len: usize = 1;
    let mut hops: usize = 0;
    // Bounded: each label adds at least 2 to `wire_len` (capped at MAX_NAME_WIRE_LEN) and each
    // pointer adds 1 to `hops` (capped at MAX_POINTER_HOPS).
    loop {
        let ([len_octet], after_len) = take_array::<1>(msg, pos)?;
        match len_octet >> 6 {
            0b00 => {
                let len = usize::from(len_octet);
                if len == 0 {
                    if out.is_empty() {
                        out.push('.');
                    }
                    return Ok((out, resume.unwrap_or(after_len)));
                }
                wire_len = wire_len.saturating_add(len).saturating_add(1);
                if wire_len > MAX_NAME_WIRE_LEN {
                    return Err(Error::NameTooLong { offset: pos });
                }
                let (label, next) = take(msg, after_len, len)?;
                if !out.is_empty() {
                    out.push('.');
                }
                push_escaped(&mut out, label);
                pos = next;
            }
            0b11 => {
                let ([low], after_pointer) = take_array::<1>(msg, after_len)?;
                let target = usize::from(u16::from_be_bytes([len_octet & 0x3f, low]));
                // "Prior occurance" read strictly: the target must lie before the start of the
                // label sequence holding this pointer. Offsets then strictly decrease with each
                // hop, so a loop is impossible by construction, not merely detected.
                if target >= sequence_start {
                    return Err(Error::PointerNotBackwards { offset: pos });
                }
                hops = hops.saturating_add(1);
                if hops > MAX_POINTER_HOPS {
                    return Err(Error::TooManyPointers { offset: pos });
                }
                resume.get_or_insert(after_pointer);
                pos = target;
                sequence_start = target;
            }
            // RFC 1035 §4.1.4: "The 10 and 01 combinations are reserved for future use." (01 was
            // later spent on RFC 2671 extended labels, since deprecated by RFC 6891.)
            _ => return Err(Error::BadLabel { offset: pos }),
        }
    }
}

/// Appends `label` in presentation form: `[A-Za-z0-9_-]` as is, `.` as `\.`, the rest `\DDD`.
///
/// RFC 4343 §2.1 only requires escaping `.` and octets outside 0x21..=0x7E; we escape every
/// byte outside `[A-Za-z0-9_-]` so names are inert in logs, JSON, CSV and shells (no quotes,
/// slashes, `*`, spaces or non-ASCII to mis-handle), and stay unambiguous and case-preserving.
fn push_escaped(out: &mut String, label: &[u8]) {
    for &byte in label {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_' {
            out.push(char::from(byte));
        } else if byte == b'.' {
            // RFC 1035 §5.1: "\X where X is any character other than a digit (0-9), is used to
            // quote that character so that its special meaning does not apply. For example,
            // "\." can be used to place a dot character in a label."
            out.push_str("\\.");
        } else {
            // RFC 1035 §5.1: "\DDD where each D is a digit is the octet corresponding to the
            // decimal number described by DDD". Always three digits, so `\0651` is unambiguous.
            out.push('\\');
            out.push(char::from(b'0' + byte / 100));
            out.push(char::from(b'0' + byte / 10 % 10));
            out.push(char::from(b'0' + byte % 10));
        }
    }
}

/// Returns `n` bytes of `msg` at `pos` and the offset just after them.
fn take(msg: &[u8], pos: usize, n: usize) -> Result<(&[u8], usize), Error> {
    let truncated = Error::Truncated { offset: pos };
    let end = pos.checked_add(n).ok_or(truncated)?;
    let bytes = msg.get(pos..end).ok_or(truncated)?;
    Ok((bytes, end))
}

/// Returns `N` bytes of `msg` at `pos` as an array, and the offset just after them.
fn take_array<const N: usize>(msg: &[u8], pos: usize) -> Result<([u8; N], usize), Error> {
    let (bytes, end) = take(msg, pos, N)?;
    let array = <[u8; N]>::try_from(bytes).map_err(|_| Error::Truncated { offset: pos })?;
    Ok((array, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Query for example.com A, id 0x1234, RD set.
    const QUERY: &[u8] = &[
        0x12, 0x34, // ID
        0x01, 0x00, // flags: QR=0 OPCODE=0 RD=1
        0x00, 0x01, // QDCOUNT 1
        0x00, 0x00, // ANCOUNT 0
        0x00, 0x00, // NSCOUNT 0
        0x00, 0x00, // ARCOUNT 0
        7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', // label "example"
        3, b'c', b'o', b'm', // label "com"
        0,    // root
        0x00, 0x01, // QTYPE A
        0x00, 0x01, // QCLASS IN
    ];

    /// Response for www.example.com A: CNAME to web.example.com, then A and AAAA for it, all
    /// names compressed.
    const RESPONSE: &[u8] = &[
        0xab, 0xcd, // ID
        0x81, 0x80, // flags: QR=1 RD=1 RA=1 RCODE=0
        0x00, 0x01, // QDCOUNT 1
        0x00, 0x03, // ANCOUNT 3
        0x00, 0x00, // NSCOUNT 0
        0x00, 0x00, // ARCOUNT 0
        // offset 12: question name www.example.com
        3, b'w', b'w', b'w', // "www"
        7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', // offset 16: "example"
        3, b'c', b'o', b'm', 0, // "com", root
        0x00, 0x01, 0x00, 0x01, // QTYPE A, QCLASS IN
        // offset 33: answer 1, CNAME
        0xc0, 0x0c, // name: pointer to 12 (www.example.com)
        0x00, 0x05, 0x00, 0x01, // TYPE CNAME, CLASS IN
        0x00, 0x00, 0x01, 0x2c, // TTL 300
        0x00, 0x06, // RDLENGTH 6
        3, b'w', b'e', b'b', // offset 45: "web"
        0xc0, 0x10, // pointer to 16 (example.com)
        // offset 51: answer 2, A
        0xc0, 0x2d, // name: pointer to 45 (web.example.com)
        0x00, 0x01, 0x00, 0x01, // TYPE A, CLASS IN
        0x00, 0x00, 0x00, 0x3c, // TTL 60
        0x00, 0x04, // RDLENGTH 4
        93, 184, 216, 34, // 93.184.216.34
        // offset 67: answer 3, AAAA
        0xc0, 0x2d, // name: pointer to 45 (web.example.com)
        0x00, 0x1c, 0x00, 0x01, // TYPE AAAA, CLASS IN
        0x00, 0x00, 0x00, 0x3c, // TTL 60
        0x00, 0x10, // RDLENGTH 16
        0x26, 0x06, 0x28, 0x00, 0x02, 0x20, 0x00, 0x01, // 2606:2800:220:1:
        0x02, 0x48, 0x18, 0x93, 0x25, 0xc8, 0x19, 0x46, // 248:1893:25c8:1946
    ];

    /// KMS discovery: _vlmcs._tcp.example.edu.cn SRV answered with 0 0 1688 kms.example.edu.cn.
    const SRV_RESPONSE: &[u8] = &[
        0x00, 0x07, // ID
        0x85, 0x80, // flags: QR=1 AA=1 RD=1 RA=1
        0x00, 0x01, // QDCOUNT 1
        0x00, 0x01, // ANCOUNT 1
        0x00, 0x00, // NSCOUNT 0
        0x00, 0x00, // ARCOUNT 0
        // offset 12: question name
        6, b'_', b'v', b'l', b'm', b'c', b's', // "_vlmcs"
        4, b'_', b't', b'c', b'p', // "_tcp"
        7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', // offset 24: "example"
        3, b'e', b'd', b'u', 2, b'c', b'n', 0, // "edu", "cn", root
        0x00, 0x21, 0x00, 0x01, // QTYPE SRV, QCLASS IN
        // answer
        0xc0, 0x0c, // name: pointer to 12
        0x00, 0x21, 0x00, 0x01, // TYPE SRV, CLASS IN
        0x00, 0x00, 0x02, 0x58, // TTL 600
        0x00, 0x0c, // RDLENGTH 12
        0x00, 0x00, // priority 0
        0x00, 0x00, // weight 0
        0x06, 0x98, // port 1688
        3, b'k', b'm', b's', // "kms"
        0xc0, 0x18, // pointer to 24 (example.edu.cn)
    ];

    /// Unsolicited mDNS announcement of host.local A 192.168.1.10 with cache-flush set.
    const MDNS_ANNOUNCEMENT: &[u8] = &[
        0x00, 0x00, // ID 0 (RFC 6762 §18.1)
        0x84, 0x00, // flags: QR=1 AA=1
        0x00, 0x00, // QDCOUNT 0
        0x00, 0x01, // ANCOUNT 1
        0x00, 0x00, // NSCOUNT 0
        0x00, 0x00, // ARCOUNT 0
        4, b'h', b'o', b's', b't', // "host"
        5, b'l', b'o', b'c', b'a', b'l', 0, // "local", root
        0x00, 0x01, // TYPE A
        0x80, 0x01, // CLASS IN with cache-flush bit
        0x00, 0x00, 0x00, 0x78, // TTL 120
        0x00, 0x04, // RDLENGTH 4
        192, 168, 1, 10, // 192.168.1.10
    ];

    /// Query with EDNS OPT in the additional section (root name, class = UDP size 1232).
    const QUERY_WITH_OPT: &[u8] = &[
        0x00, 0x42, // ID
        0x01, 0x20, // flags: RD=1 AD=1
        0x00, 0x01, // QDCOUNT 1
        0x00, 0x00, // ANCOUNT 0
        0x00, 0x00, // NSCOUNT 0
        0x00, 0x01, // ARCOUNT 1
        1, b'x', 0, // "x", root
        0x00, 0x41, 0x00, 0x01, // QTYPE HTTPS, QCLASS IN
        0,    // OPT owner: root
        0x00, 0x29, // TYPE OPT
        0x04, 0xd0, // CLASS = UDP payload size 1232
        0x00, 0x00, 0x00, 0x00, // extended RCODE, version, flags
        0x00, 0x00, // RDLENGTH 0
    ];

    const VALID_MESSAGES: &[&[u8]] = &[
        QUERY,
        RESPONSE,
        SRV_RESPONSE,
        MDNS_ANNOUNCEMENT,
        QUERY_WITH_OPT,
    ];

    /// 12-byte header with the given section counts, id 0 and flags 0.
    fn header(qd: u16, an: u16, ns: u16, ar: u16) -> Vec<u8> {
        let mut out = vec![0, 0, 0, 0];
        for count in [qd, an, ns, ar] {
            out.extend_from_slice(&count.to_be_bytes());
        }
        out
    }

    /// Wire form of a name made of labels of the given lengths, filled with 'a'.
    fn name_of_lengths(lengths: &[usize]) -> Vec<u8> {
        let mut out = Vec::new();
        for &len in lengths {
            out.push(u8::try_from(len).expect("test label length fits a byte"));
            out.extend(std::iter::repeat_n(b'a', len));
        }
        out.push(0);
        out
    }

    fn all_names(msg: &Message) -> Vec<&str> {
        let mut names: Vec<&str> = msg.questions.iter().map(|q| q.name.as_str()).collect();
        for record in msg
            .answers
            .iter()
            .chain(&msg.authorities)
            .chain(&msg.additionals)
        {
            names.push(&record.name);
            match &record.data {
                RData::Cname(n) | RData::Ptr(n) | RData::Srv { target: n, .. } => names.push(n),
                _ => {}
            }
        }
        names
    }

    #[test]
    fn parse_query() {
        let msg = parse(QUERY).expect("valid query");
        assert_eq!(msg.id, 0x1234);
        assert!(!msg.is_response);
        assert_eq!(msg.opcode, 0);
        assert!(!msg.authoritative);
        assert!(!msg.truncated);
        assert_eq!(msg.rcode, 0);
        assert_eq!(
            msg.questions,
            vec![Question {
                name: "example.com".into(),
                rtype: RecordType::A,
                class: 1,
            }]
        );
        assert!(msg.answers.is_empty() && msg.authorities.is_empty() && msg.additionals.is_empty());
        assert_eq!(msg.flags, ParseFlags::default());
    }

    #[test]
    fn parse_response_with_compression() {
        let msg = parse(RESPONSE).expect("valid response");
        assert!(msg.is_response);
        assert_eq!(msg.questions[0].name, "www.example.com");
        let got: Vec<(&str, RecordType, u32, &RData)> = msg
            .answers
            .iter()
            .map(|r| (r.name.as_str(), r.rtype, r.ttl, &r.data))
            .collect();
        let cname = RData::Cname("web.example.com".into());
        let a = RData::A(Ipv4Addr::new(93, 184, 216, 34));
        let aaaa = RData::Aaaa("2606:2800:220:1:248:1893:25c8:1946".parse().expect("addr"));
        assert_eq!(
            got,
            vec![
                ("www.example.com", RecordType::CNAME, 300, &cname),
                ("web.example.com", RecordType::A, 60, &a),
                ("web.example.com", RecordType::AAAA, 60, &aaaa),
            ]
        );
    }

    #[test]
    fn parse_srv_answer() {
        let msg = parse(SRV_RESPONSE).expect("valid SRV response");
        assert!(msg.authoritative);
        assert_eq!(msg.questions[0].name, "_vlmcs._tcp.example.edu.cn");
        assert_eq!(msg.questions[0].rtype, RecordType::SRV);
        let answer = &msg.answers[0];
        assert_eq!(answer.name, "_vlmcs._tcp.example.edu.cn");
        assert_eq!(answer.ttl, 600);
        assert_eq!(
            answer.data,
            RData::Srv {
                priority: 0,
                weight: 0,
                port: 1688,
                target: "kms.example.edu.cn".into(),
            }
        );
    }

    #[test]
    fn parse_mdns_announcement() {
        let msg = parse(MDNS_ANNOUNCEMENT).expect("valid announcement");
        assert_eq!(msg.id, 0);
        assert!(msg.is_response && msg.authoritative);
        assert!(msg.questions.is_empty());
        assert_eq!(
            msg.answers,
            vec![Record {
                name: "host.local".into(),
                rtype: RecordType::A,
                class: 0x8001,
                ttl: 120,
                data: RData::A(Ipv4Addr::new(192, 168, 1, 10)),
            }]
        );
    }

    #[test]
    fn parse_edns_opt_record() {
        let msg = parse(QUERY_WITH_OPT).expect("valid query with OPT");
        assert_eq!(msg.questions[0].rtype, RecordType::HTTPS);
        let opt = &msg.additionals[0];
        assert_eq!(
            (opt.name.as_str(), opt.rtype, opt.class),
            (".", RecordType::OPT, 1232)
        );
        assert_eq!(opt.data, RData::Other);
    }

    #[test]
    fn parse_truncated_at_every_length() {
        for (index, &message) in VALID_MESSAGES.iter().enumerate() {
            assert!(parse(message).is_ok(), "message {index} must parse whole");
            for len in 0..message.len() {
                // None of the samples has trailing bytes, so every strict prefix lacks data.
                let result = parse(&message[..len]);
                assert!(
                    result.is_err(),
                    "message {index} prefix {len} parsed: {result:?}"
                );
            }
        }
    }

    #[test]
    fn parse_pointer_loop() {
        let cases: &[(&str, &[u8], usize)] = &[
            // pointer at 12 targets itself
            ("self pointer", &[0xc0, 0x0c], 12),
            // pointer at 12 targets 14, after itself
            ("forward pointer", &[0xc0, 0x0e, 1, b'a', 0], 12),
            // label "a" at 12, then pointer at 14 back to 12: a loop through the name's own start
            ("back into own sequence", &[1, b'a', 0xc0, 0x0c], 14),
            // pointer at 12 to 14 is forward even though 14 points back to 12
            ("two-pointer loop", &[0xc0, 0x0e, 0xc0, 0x0c], 12),
        ];
        for &(what, name, offset) in cases {
            let mut msg = header(1, 0, 0, 0);
            msg.extend_from_slice(name);
            msg.extend_from_slice(&[0, 1, 0, 1]); // QTYPE A, QCLASS IN
            assert_eq!(
                parse(&msg),
                Err(Error::PointerNotBackwards { offset }),
                "{what}"
            );
        }

        // A record's rdata name may not point into itself either.
        let mut msg = header(0, 1, 0, 0);
        msg.extend_from_slice(&[1, b'a', 0]); // owner "a" at 12
        msg.extend_from_slice(&[0, 5, 0, 1, 0, 0, 0, 0, 0, 2]); // CNAME IN TTL 0 RDLENGTH 2
        msg.extend_from_slice(&[0xc0, 25]); // offset 25: pointer to itself
        assert_eq!(parse(&msg), Err(Error::PointerNotBackwards { offset: 25 }));
    }

    #[test]
    fn parse_name_too_long() {
        // (label lengths, accepted?) — wire length is sum(len + 1) + 1 for the root.
        let cases: &[(&[usize], bool)] = &[
            (&[63, 63, 63, 61], true),  // 255 octets: the limit
            (&[63, 63, 63, 62], false), // 256 octets
            (&[63, 63, 63, 63, 63], false),
            (&[1; 127], true),  // 255 octets of one-byte labels
            (&[1; 128], false), // 257 octets
        ];
        for &(lengths, ok) in cases {
            let mut msg = header(1, 0, 0, 0);
            msg.extend(name_of_lengths(lengths));
            msg.extend_from_slice(&[0, 1, 0, 1]);
            let result = parse(&msg);
            if ok {
                let msg = result.expect("name at the limit");
                assert!(msg.questions[0].name.len() <= MAX_NAME_PRESENTATION_LEN);
            } else {
                assert!(
                    matches!(result, Err(Error::NameTooLong { .. })),
                    "{result:?}"
                );
            }
        }

        // Compression cannot be used to exceed the limit: the second name adds 63+1 octets in
        // front of a 255-octet name it points to.
        let mut msg = header(2, 0, 0, 0);
        msg.extend(name_of_lengths(&[63, 63, 63, 61]));
        msg.extend_from_slice(&[0, 1, 0, 1]);
        msg.push(63);
        msg.extend(std::iter::repeat_n(b'b', 63));
        msg.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        assert!(matches!(parse(&msg), Err(Error::NameTooLong { .. })));
    }

    #[test]
    fn parse_too_many_pointer_hops() {
        // Record 1 (owner "a" at 12) carries opaque RDATA holding `chain` pointers, each to the
        // one before it, the first to offset 12. Record 2's owner points at the last of them, so
        // reading it follows chain + 1 pointers, every one strictly backwards.
        for (chain, ok) in [(MAX_POINTER_HOPS - 1, true), (MAX_POINTER_HOPS, false)] {
            let mut msg = header(0, 2, 0, 0);
            msg.extend_from_slice(&[1, b'a', 0]); // offset 12: owner "a"
            msg.extend_from_slice(&[0xff, 0x00, 0, 1, 0, 0, 0, 0]); // TYPE65280, IN, TTL 0
            let rdlength = u16::try_from(2 * chain).expect("small");
            msg.extend_from_slice(&rdlength.to_be_bytes());
            let mut target = 12u16;
            for _ in 0..chain {
                let here = u16::try_from(msg.len()).expect("small");
                msg.extend_from_slice(&(0xc000 | target).to_be_bytes());
                target = here;
            }
            let owner_offset = msg.len();
            msg.extend_from_slice(&(0xc000 | target).to_be_bytes()); // owner: end of chain
            msg.extend_from_slice(&[0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 1]); // A 10.0.0.1
            let result = parse(&msg);
            if ok {
                assert_eq!(result.expect("chain within limit").answers[1].name, "a");
            } else {
                let offset = 12 + 3 + 10; // the first chain pointer is the hop over the limit
                assert_eq!(
                    result,
                    Err(Error::TooManyPointers { offset }),
                    "owner at {owner_offset}"
                );
            }
        }
    }

    #[test]
    fn parse_hostile_counts() {
        // Header claims 65535 answers, body empty: error, and no allocation for 65535 records.
        assert_eq!(
            parse(&header(0, 0xffff, 0, 0)),
            Err(Error::Truncated { offset: 12 })
        );
        assert_eq!(
            parse(&header(0xffff, 0, 0, 0)),
            Err(Error::Truncated { offset: 12 })
        );

        // 65535 questions announced, 40 present: first MAX_QUESTIONS decoded, flag set, and the
        // unlocatable answers reported as capped.
        let mut msg = header(0xffff, 1, 0, 0);
        for _ in 0..40 {
            msg.extend_from_slice(&[1, b'q', 0, 0, 1, 0, 1]);
        }
        let parsed = parse(&msg).expect("capped, not an error");
        assert_eq!(parsed.questions.len(), MAX_QUESTIONS);
        assert!(parsed.flags.questions_capped && parsed.flags.records_capped);
        assert!(parsed.answers.is_empty());

        // 65535 answers announced, 200 present: MAX_RECORDS decoded, flag set.
        let mut msg = header(0, 0xffff, 0xffff, 0xffff);
        msg.extend_from_slice(&[1, b'h', 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 1]);
        for _ in 1..200 {
            // owner: pointer to "h" at 12, A IN TTL 0, 10.0.0.1
            msg.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 1]);
        }
        let parsed = parse(&msg).expect("capped, not an error");
        assert_eq!(parsed.answers.len(), MAX_RECORDS);
        assert!(parsed.authorities.is_empty() && parsed.additionals.is_empty());
        assert!(parsed.flags.records_capped && !parsed.flags.questions_capped);

        // The record cap is shared across sections.
        let mut msg = header(0, 100, 0, 100);
        msg.extend_from_slice(&[1, b'h', 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 1]);
        for _ in 1..200 {
            msg.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 10, 0, 0, 1]);
        }
        let parsed = parse(&msg).expect("capped, not an error");
        assert_eq!((parsed.answers.len(), parsed.additionals.len()), (100, 28));
        assert!(parsed.flags.records_capped);
    }

    #[test]
    fn parse_escapes_unprintable_label() {
        // (label bytes, presentation)
        let cases: &[(&[u8], &str)] = &[
            (b"Host-1_x", "Host-1_x"),                // case kept, - and _ literal
            (b"a.b", "a\\.b"),                        // dot inside a label
            (b"my printer", "my\\032printer"),        // space
            (&[0x00, 0x07, 0x7f], "\\000\\007\\127"), // control bytes
            (&[0xc3, 0xa9, 0xff], "\\195\\169\\255"), // non-ASCII, invalid UTF-8
            (b"\\*\"$", "\\092\\042\\034\\036"),      // backslash, wildcard, quote
        ];
        for &(label, expected) in cases {
            let mut msg = header(1, 0, 0, 0);
            msg.push(u8::try_from(label.len()).expect("short label"));
            msg.extend_from_slice(label);
            msg.extend_from_slice(&[5, b'l', b'o', b'c', b'a', b'l', 0, 0, 1, 0, 1]);
            let parsed = parse(&msg).expect("escaped label parses");
            assert_eq!(parsed.questions[0].name, format!("{expected}.local"));
        }
    }

    #[test]
    fn parse_bad_label_and_rdata() {
        let mut reserved = header(1, 0, 0, 0);
        reserved.extend_from_slice(&[0x40, 0, 0, 1, 0, 1]); // 0b01 label type
        let mut reserved10 = header(1, 0, 0, 0);
        reserved10.extend_from_slice(&[0x80, 0, 0, 1, 0, 1]); // 0b10 label type
        // A with 5 bytes of RDATA
        let mut long_a = header(0, 1, 0, 0);
        long_a.extend_from_slice(&[0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 5, 1, 2, 3, 4, 5]);
        // AAAA with 4 bytes of RDATA
        let mut short_aaaa = header(0, 1, 0, 0);
        short_aaaa.extend_from_slice(&[0, 0, 28, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4]);
        // CNAME whose name runs past RDLENGTH 2 into the next bytes
        let mut cname_overrun = header(0, 1, 0, 0);
        cname_overrun.extend_from_slice(&[0, 0, 5, 0, 1, 0, 0, 0, 0, 0, 2, 3, b'a', b'b', b'c', 0]);
        // PTR with a byte left over after the name
        let mut ptr_trailing = header(0, 1, 0, 0);
        ptr_trailing.extend_from_slice(&[0, 0, 12, 0, 1, 0, 0, 0, 0, 0, 4, 1, b'a', 0, 9]);
        // SRV shorter than its fixed part
        let mut short_srv = header(0, 1, 0, 0);
        short_srv.extend_from_slice(&[0, 0, 33, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0]);
        // RDLENGTH past the end of the message
        let mut rdata_overrun = header(0, 1, 0, 0);
        rdata_overrun.extend_from_slice(&[0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 9, 1, 2]);

        let cases: &[(&str, &[u8], Error)] = &[
            ("0b01 label", &reserved, Error::BadLabel { offset: 12 }),
            ("0b10 label", &reserved10, Error::BadLabel { offset: 12 }),
            ("long A", &long_a, Error::BadRdata { offset: 23 }),
            ("short AAAA", &short_aaaa, Error::BadRdata { offset: 23 }),
            (
                "CNAME overrun",
                &cname_overrun,
                Error::BadRdata { offset: 24 },
            ),
            (
                "PTR trailing",
                &ptr_trailing,
                Error::BadRdata { offset: 26 },
            ),
            ("short SRV", &short_srv, Error::BadRdata { offset: 23 }),
            (
                "RDATA overrun",
                &rdata_overrun,
                Error::Truncated { offset: 23 },
            ),
        ];
        for (what, msg, expected) in cases {
            assert_eq!(parse(msg), Err(*expected), "{what}");
        }
    }

    #[test]
    fn split_tcp_message_framing() {
        let mut stream = Vec::new();
        for message in [QUERY, MDNS_ANNOUNCEMENT] {
            stream.extend_from_slice(&u16::try_from(message.len()).expect("small").to_be_bytes());
            stream.extend_from_slice(message);
        }

        // Two messages back to back.
        let (first, used) = split_tcp_message(&stream).expect("ok").expect("complete");
        assert_eq!((first, used), (QUERY, QUERY.len() + 2));
        let rest = &stream[used..];
        let (second, used2) = split_tcp_message(rest).expect("ok").expect("complete");
        assert_eq!((second, used2), (MDNS_ANNOUNCEMENT, rest.len()));
        assert_eq!(parse(second).expect("valid").answers.len(), 1);

        // Partial: every strict prefix of the first frame needs more bytes.
        for len in 0..QUERY.len() + 2 {
            assert_eq!(split_tcp_message(&stream[..len]), Ok(None), "prefix {len}");
        }

        // Lengths that cannot hold a header.
        for length in [0u16, 1, 11] {
            let mut bad = length.to_be_bytes().to_vec();
            bad.extend_from_slice(&[0; 20]);
            assert_eq!(
                split_tcp_message(&bad),
                Err(Error::BadLength { offset: 0, length })
            );
        }
        // Exactly a header is accepted.
        let mut header_only = 12u16.to_be_bytes().to_vec();
        header_only.extend(header(0, 0, 0, 0));
        assert_eq!(
            split_tcp_message(&header_only),
            Ok(Some((&header_only[2..], 14)))
        );
    }

    #[test]
    fn record_type_names() {
        let cases = [
            (RecordType::A, "A"),
            (RecordType::AAAA, "AAAA"),
            (RecordType::SRV, "SRV"),
            (RecordType::OPT, "OPT"),
            (RecordType::HTTPS, "HTTPS"),
            (RecordType::ANY, "ANY"),
            (RecordType(65280), "TYPE65280"),
            (RecordType(0), "TYPE0"),
        ];
        for (rtype, text) in cases {
            assert_eq!(rtype.to_string(), text);
        }
        assert_eq!(RecordType(99).name(), None);
    }

    #[test]
    fn parse_random_mutations() {
        /// xorshift64 (Marsaglia 2003): deterministic, no crates.
        fn next(state: &mut u64) -> u64 {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            *state
        }
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut parsed_ok = 0;
        for round in 0..10_000 {
            let base = VALID_MESSAGES[round % VALID_MESSAGES.len()];
            let mut msg = base.to_vec();
            let edits = 1 + next(&mut state) % 4;
            for _ in 0..edits {
                let roll = next(&mut state);
                let at = usize::try_from(roll >> 8).expect("64-bit usize") % msg.len().max(1);
                let byte = roll.to_le_bytes()[0];
                match roll % 4 {
                    0 => msg[at] ^= 1 << (byte % 8),
                    1 => msg[at] = byte,
                    2 => msg.truncate(at),
                    _ => msg.insert(at.min(msg.len()), byte),
                }
                if msg.is_empty() {
                    msg.push(byte);
                }
            }
            if let Ok(parsed) = parse(&msg) {
                parsed_ok += 1;
                for name in all_names(&parsed) {
                    assert!(name.len() <= MAX_NAME_PRESENTATION_LEN);
                }
            }
            if let Ok(Some((frame, used))) = split_tcp_message(&msg) {
                assert!(used <= msg.len() && frame.len() + 2 == used);
            }
        }
        // The mutations must not all be fatal, or the loop would not exercise the deep paths.
        assert!(parsed_ok > 100, "only {parsed_ok} mutants parsed");
    }
}
