//! NetBIOS Name Service messages (UDP port 137, RFC 1002 §4.2).
//!
//! [`parse`] takes untrusted bytes and returns an owned [`Message`] or an [`Error`]
//! carrying the offset where parsing stopped. It never panics on any input: every
//! read goes through `get`, offsets are built with checked arithmetic, and every loop
//! over a count taken from the wire is capped by a named constant below. Compression
//! pointers must point strictly backwards, so a pointer loop is impossible by
//! construction. Names and scopes are returned as escaped text of bounded length.

use std::fmt;
use std::net::Ipv4Addr;

/// Length of the fixed header, shared with DNS (RFC 1002 §4.2.1.1).
pub const HEADER_LEN: usize = 12;

/// Entries walked per section. RFC 1002 packets carry at most one question and one
/// resource record per section, so 16 leaves room for odd stacks while bounding work.
pub const MAX_ENTRIES_PER_SECTION: usize = 16;

/// NB addresses kept per record. A multi-homed host lists one entry per interface; 16
/// covers real hosts, and rdlength could otherwise claim ~10 000 entries.
pub const MAX_ADDRESSES_PER_RECORD: usize = 16;

/// Node names kept from a node status response. NUM_NAMES is a byte (up to 255); hosts
/// register well under 32 names, and the rest would only inflate one inventory row.
pub const MAX_NODE_NAMES: usize = 32;

/// Encoded name length limit, after following pointers. NetBIOS names are DNS names,
/// and RFC 1035 §2.3.4 says "names 255 octets or less"; this also bounds pointer walks.
pub const MAX_ENCODED_NAME_LEN: usize = 255;

/// Byte cap on a decoded name's text: 15 name bytes, each at most 4 chars (`\xHH`).
pub const MAX_NAME_TEXT_LEN: usize = 60;

/// Byte cap on a scope's text; longer escaped scopes are cut (they are rare and odd).
pub const MAX_SCOPE_TEXT_LEN: usize = 255;

/// RR type NB: general name service resource record (RFC 1002 §4.2.1.3).
pub const RTYPE_NB: u16 = 0x0020;
/// RR type NBSTAT: node status resource record (RFC 1002 §4.2.1.3).
pub const RTYPE_NBSTAT: u16 = 0x0021;

/// R bit: "RESPONSE flag: if bit == 0 then request packet" (RFC 1002 §4.2.1.1).
const FLAG_RESPONSE: u16 = 0x8000;
/// B bit of NM_FLAGS: "Broadcast flag. = 1: packet was broadcast or multicast".
const FLAG_BROADCAST: u16 = 0x0010;
/// Length byte of the only valid first label: 16 bytes, first-level encoded to 32.
const ENCODED_NAME_LABEL_LEN: u8 = 0x20;
/// Size of one NB rdata entry: NB_FLAGS (2) + NB_ADDRESS (4).
const NB_ENTRY_LEN: usize = 6;
/// Size of one NODE_NAME entry: 15-byte name, suffix byte, NAME_FLAGS (2).
const NODE_NAME_ENTRY_LEN: usize = 18;
/// Size of UNIT_ID, the first field of the node status STATISTICS.
const UNIT_ID_LEN: usize = 6;

/// OPCODE field of the header (4 bits), kept as a number so unknown values survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Opcode(pub u8);

impl Opcode {
    /// Name query, node status request and their responses.
    pub const QUERY: Opcode = Opcode(0);
    /// Name registration (and its overwrite demand).
    pub const REGISTRATION: Opcode = Opcode(5);
    /// Name release.
    pub const RELEASE: Opcode = Opcode(6);
    /// Wait for acknowledgement response.
    pub const WACK: Opcode = Opcode(7);
    /// Name refresh.
    pub const REFRESH: Opcode = Opcode(8);
    /// Name refresh, alternate value seen from some stacks; treated as refresh.
    pub const REFRESH_ALT: Opcode = Opcode(9);

    /// Lower-case label for logs and inventory ("unknown" for unassigned values).
    pub fn name(self) -> &'static str {
        match self.0 {
            0 => "query",
            5 => "registration",
            6 => "release",
            7 => "wack",
            8 | 9 => "refresh",
            _ => "unknown",
        }
    }
}

/// Message section a [`NameEntry`] came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Section {
    /// Question section (name, type, class only).
    Question,
    /// Answer resource records.
    Answer,
    /// Authority resource records.
    Authority,
    /// Additional resource records (registrations carry the claimed address here).
    Additional,
}

/// One name from a node status response (RFC 1002 §4.2.18 NODE_NAME entry).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeName {
    /// Escaped 15-byte name, trailing spaces and NULs trimmed.
    pub name: String,
    /// 16th byte of the name (service suffix).
    pub suffix: u8,
    /// NAME_FLAGS word (G, ONT, DRG, CNF, ACT, PRM bits).
    pub flags: u16,
}

impl NodeName {
    /// True when the G bit marks a group name rather than a unique one.
    pub fn is_group(&self) -> bool {
        self.flags & 0x8000 != 0
    }
}

/// One question or resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameEntry {
    /// Section the entry came from.
    pub section: Section,
    /// Decoded NetBIOS name (15 bytes), escaped, trailing spaces and NULs trimmed.
    pub name: String,
    /// 16th byte: 0x00 workstation, 0x20 server, 0x1C domain controllers, ...
    pub suffix: u8,
    /// Scope labels joined with '.', escaped, or None when the name has no scope.
    pub scope: Option<String>,
    /// RR type: 0x20 NB, 0x21 NBSTAT.
    pub rtype: u16,
    /// Addresses from NB rdata (empty for questions and other types).
    pub addresses: Vec<Ipv4Addr>,
    /// Names listed by a node status (NBSTAT) resource record.
    pub node_names: Vec<NodeName>,
    /// UNIT_ID (usually the MAC address) from a node status record, when present.
    pub unit_id: Option<[u8; UNIT_ID_LEN]>,
}

/// A parsed name service message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// NAME_TRN_ID, pairs requests with responses.
    pub id: u16,
    /// R bit: true for responses.
    pub is_response: bool,
    /// OPCODE field.
    pub opcode: Opcode,
    /// RCODE field (0 means success).
    pub rcode: u8,
    /// B bit: the packet was broadcast or multicast.
    pub broadcast: bool,
    /// Entries of all sections, in wire order.
    pub names: Vec<NameEntry>,
    /// True when a count exceeded one of the caps above and the excess was skipped.
    pub capped: bool,
}

/// Why bytes could not be parsed as a name service message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The message ends before a field that starts or ends at `offset`.
    Truncated {
        /// Offset of the field that did not fit.
        offset: usize,
    },
    /// The name at `offset` is not a 32-byte first-level encoding of 'A'..'P' pairs.
    BadEncodedName {
        /// Offset of the offending length byte or character.
        offset: usize,
    },
    /// The compression pointer at `offset` does not point before the current name.
    PointerNotBackwards {
        /// Offset of the pointer's first byte.
        offset: usize,
    },
    /// The length byte at `offset` uses the reserved 0x40 or 0x80 label types.
    BadLabel {
        /// Offset of the length byte.
        offset: usize,
    },
    /// The name starting at `offset` is longer than [`MAX_ENCODED_NAME_LEN`].
    NameTooLong {
        /// Offset where the name starts.
        offset: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated { offset } => {
                write!(f, "netbios message truncated at offset {offset}")
            }
            Error::BadEncodedName { offset } => {
                write!(f, "bad first-level encoded netbios name at offset {offset}")
            }
            Error::PointerNotBackwards { offset } => {
                write!(
                    f,
                    "compression pointer at offset {offset} does not point backwards"
                )
            }
            Error::BadLabel { offset } => write!(f, "reserved label type at offset {offset}"),
            Error::NameTooLong { offset } => {
                write!(
                    f,
                    "name at offset {offset} exceeds {MAX_ENCODED_NAME_LEN} octets"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// Parses one NetBIOS name service message from a UDP payload.
pub fn parse(bytes: &[u8]) -> Result<Message, Error> {
    let header = bytes
        .get(..HEADER_LEN)
        .ok_or(Error::Truncated { offset: 0 })?;
    let id = be16(header, 0)?;
    let flags = be16(header, 2)?;
    let counts = [
        (Section::Question, be16(header, 4)?),
        (Section::Answer, be16(header, 6)?),
        (Section::Authority, be16(header, 8)?),
        (Section::Additional, be16(header, 10)?),
    ];

    let mut msg = Message {
        id,
        is_response: flags & FLAG_RESPONSE != 0,
        // "OPCODE ... 4 bits" right after R, i.e. bits 11-14 of the word.
        opcode: Opcode(((flags >> 11) & 0x0F) as u8),
        rcode: (flags & 0x000F) as u8,
        broadcast: flags & FLAG_BROADCAST != 0,
        names: Vec::new(),
        capped: false,
    };

    let mut pos = HEADER_LEN;
    for (section, count) in counts {
        let count = usize::from(count);
        let walked = count.min(MAX_ENTRIES_PER_SECTION);
        for _ in 0..walked {
            let (entry, next) = parse_entry(bytes, pos, section, &mut msg.capped)?;
            msg.names.push(entry);
            pos = next;
        }
        if walked < count {
            // Skipped entries would be read as the next section's, so stop here.
            msg.capped = true;
            break;
        }
    }
    Ok(msg)
}

/// Reads one question (name, type, class) or resource record starting at `pos`.
fn parse_entry(
    bytes: &[u8],
    pos: usize,
    section: Section,
    capped: &mut bool,
) -> Result<(NameEntry, usize), Error> {
    let name = read_name(bytes, pos)?;
    let pos = name.end;
    let rtype = be16(bytes, pos)?;
    // The class (always IN, 0x0001) carries nothing we keep.
    let _class = be16(bytes, add(pos, 2)?)?;
    let mut entry = NameEntry {
        section,
        name: name.name,
        suffix: name.suffix,
        scope: name.scope,
        rtype,
        addresses: Vec::new(),
        node_names: Vec::new(),
        unit_id: None,
    };
    let pos = add(pos, 4)?;
    if section == Section::Question {
        return Ok((entry, pos));
    }

    // Resource record: TTL (4), RDLENGTH (2), RDATA.
    let rdlength = usize::from(be16(bytes, add(pos, 4)?)?);
    let rdata_start = add(pos, 6)?;
    let rdata_end = add(rdata_start, rdlength)?;
    let rdata = bytes.get(rdata_start..rdata_end).ok_or(Error::Truncated {
        offset: rdata_start,
    })?;
    match rtype {
        RTYPE_NB => parse_nb_rdata(rdata, &mut entry, capped),
        RTYPE_NBSTAT => parse_node_status(rdata, &mut entry, capped),
        _ => {}
    }
    Ok((entry, rdata_end))
}

/// Fills addresses from NB rdata: repeated NB_FLAGS (2) + NB_ADDRESS (4) entries.
fn parse_nb_rdata(rdata: &[u8], entry: &mut NameEntry, capped: &mut bool) {
    // A negative or WACK rdata may not be a multiple of 6; a partial tail is ignored.
    let mut chunks = rdata.chunks_exact(NB_ENTRY_LEN);
    for chunk in chunks.by_ref().take(MAX_ADDRESSES_PER_RECORD) {
        if let [_, _, a, b, c, d] = *chunk {
            entry.addresses.push(Ipv4Addr::new(a, b, c, d));
        }
    }
    if chunks.next().is_some() {
        *capped = true;
    }
}

/// Fills node names and unit ID from NODE STATUS RESPONSE rdata (RFC 1002 §4.2.18).
fn parse_node_status(rdata: &[u8], entry: &mut NameEntry, capped: &mut bool) {
    let Some((&num_names, rest)) = rdata.split_first() else {
        return;
    };
    let num_names = usize::from(num_names);
    // Names that the rdata claims but does not hold are simply absent.
    for chunk in rest
        .chunks_exact(NODE_NAME_ENTRY_LEN)
        .take(num_names.min(MAX_NODE_NAMES))
    {
        let (Some(raw), Some(&suffix), Some(flags)) =
            (chunk.get(..15), chunk.get(15), chunk.get(16..18))
        else {
            continue;
        };
        let flags = match *flags {
            [hi, lo] => u16::from_be_bytes([hi, lo]),
            _ => 0,
        };
        entry.node_names.push(NodeName {
            name: name_text(raw),
            suffix,
            flags,
        });
    }
    if num_names > MAX_NODE_NAMES {
        *capped = true;
    }
    // STATISTICS follows the last NODE_NAME entry and opens with the 6-byte UNIT_ID.
    // num_names <= 255, so this product cannot overflow.
    let stats = num_names * NODE_NAME_ENTRY_LEN;
    if let Some(unit) = rest.get(stats..).and_then(|s| s.get(..UNIT_ID_LEN)) {
        let mut id = [0u8; UNIT_ID_LEN];
        id.copy_from_slice(unit);
        entry.unit_id = Some(id);
    }
}

/// A decoded name plus the offset just after it in the original (unfollowed) bytes.
struct DecodedName {
    name: String,
    suffix: u8,
    scope: Option<String>,
    end: usize,
}

/// Reads a possibly compressed, first-level encoded name starting at `start`.
fn read_name(bytes: &[u8], start: usize) -> Result<DecodedName, Error> {
    let mut pos = start;
    // RFC 1035 §4.1.4 lets a pointer reference "a prior occurance of the same name";
    // we require each target to lie before the segment being read, so targets strictly
    // decrease and the walk ends within `start` jumps whatever the bytes say.
    let mut limit = start;
    let mut end: Option<usize> = None;
    let mut encoded_len = 0usize;
    let mut netbios: Option<[u8; 16]> = None;
    let mut scope = String::new();
    let mut has_scope = false;

    loop {
        let len = *bytes.get(pos).ok_or(Error::Truncated { offset: pos })?;
        match len & 0xC0 {
            0x00 => {
                encoded_len = add(encoded_len, usize::from(len) + 1)?;
                if encoded_len > MAX_ENCODED_NAME_LEN {
                    return Err(Error::NameTooLong { offset: start });
                }
                let label_start = add(pos, 1)?;
                if len == 0 {
                    if netbios.is_none() {
                        return Err(Error::BadEncodedName { offset: pos });
                    }
                    end.get_or_insert(label_start);
                    break;
                }
                let label_end = add(label_start, usize::from(len))?;
                let label = bytes
                    .get(label_start..label_end)
                    .ok_or(Error::Truncated { offset: pos })?;
                if netbios.is_none() {
                    if len != ENCODED_NAME_LABEL_LEN {
                        return Err(Error::BadEncodedName { offset: pos });
                    }
                    netbios = Some(decode_first_level(label, label_start)?);
                } else {
                    if has_scope {
                        push_capped(&mut scope, ".", MAX_SCOPE_TEXT_LEN);
                    }
                    has_scope = true;
                    escape_into(&mut scope, label, MAX_SCOPE_TEXT_LEN);
                }
                pos = label_end;
            }
            0xC0 => {
                let lo = *bytes
                    .get(add(pos, 1)?)
                    .ok_or(Error::Truncated { offset: pos })?;
                let target = (usize::from(len & 0x3F) << 8) | usize::from(lo);
                if target >= limit {
                    return Err(Error::PointerNotBackwards { offset: pos });
                }
                end.get_or_insert(add(pos, 2)?);
                pos = target;
                limit = target;
            }
            // 0x40 and 0x80 are reserved label types (RFC 1035 §4.1.4).
            _ => return Err(Error::BadLabel { offset: pos }),
        }
    }

    let (Some(raw), Some(end)) = (netbios, end) else {
        return Err(Error::BadEncodedName { offset: start });
    };
    // The 16 decoded bytes are 15 name bytes then the suffix (service type) byte.
    let [name_bytes @ .., suffix] = raw;
    Ok(DecodedName {
        name: name_text(&name_bytes),
        suffix,
        scope: has_scope.then_some(scope),
        end,
    })
}

/// Reverses first-level encoding (RFC 1001 §14.1): "Each 4-bit, half-octet of the
/// NetBIOS name is treated as an 8-bit, right-adjusted, zero-filled binary number.
/// This number is added to value of the ASCII character 'A'".
fn decode_first_level(label: &[u8], label_start: usize) -> Result<[u8; 16], Error> {
    let mut out = [0u8; 16];
    let mut pairs = label.chunks_exact(2);
    for (i, (slot, pair)) in out.iter_mut().zip(pairs.by_ref()).enumerate() {
        let nibble = |c: u8, at: usize| match c {
            b'A'..=b'P' => Ok(c - b'A'),
            _ => Err(Error::BadEncodedName {
                offset: label_start.saturating_add(at),
            }),
        };
        if let [hi, lo] = *pair {
            *slot = (nibble(hi, 2 * i)? << 4) | nibble(lo, 2 * i + 1)?;
        }
    }
    Ok(out)
}

/// Turns raw name bytes into text: trailing padding trimmed, non-printables escaped.
fn name_text(raw: &[u8]) -> String {
    // Names are padded with spaces; the node status wildcard "*" is padded with NULs.
    let trimmed_len = raw
        .iter()
        .rposition(|&b| b != b' ' && b != 0)
        .map_or(0, |i| i + 1);
    let mut out = String::new();
    escape_into(
        &mut out,
        raw.get(..trimmed_len).unwrap_or(raw),
        MAX_NAME_TEXT_LEN,
    );
    out
}

/// Appends bytes as printable ASCII, with `\\` and `\xHH` escapes, up to `cap` bytes.
/// NetBIOS names are OEM code page bytes, not UTF-8, so escaping keeps them exact.
fn escape_into(out: &mut String, raw: &[u8], cap: usize) {
    for &b in raw {
        let ok = match b {
            b'\\' => push_capped(out, "\\\\", cap),
            0x20..=0x7E => push_capped(out, char::from(b).encode_utf8(&mut [0u8; 4]), cap),
            _ => push_capped(out, &format!("\\x{b:02x}"), cap),
        };
        if !ok {
            return;
        }
    }
}

/// Appends `s` whole if the result stays within `cap` bytes; returns false otherwise.
fn push_capped(out: &mut String, s: &str, cap: usize) -> bool {
    if out.len().saturating_add(s.len()) > cap {
        return false;
    }
    out.push_str(s);
    true
}

/// Reads a big-endian u16 at `pos`.
fn be16(bytes: &[u8], pos: usize) -> Result<u16, Error> {
    match bytes.get(pos..add(pos, 2)?) {
        Some(&[hi, lo]) => Ok(u16::from_be_bytes([hi, lo])),
        _ => Err(Error::Truncated { offset: pos }),
    }
}

/// Adds offsets; an overflow can only mean the field lies past any real buffer.
fn add(pos: usize, n: usize) -> Result<usize, Error> {
    pos.checked_add(n).ok_or(Error::Truncated { offset: pos })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes a name the way a sender would, for tests that need many names.
    fn encode_name(name: &str, suffix: u8) -> Vec<u8> {
        let mut raw = [b' '; 16];
        for (slot, b) in raw.iter_mut().zip(name.bytes().take(15)) {
            *slot = b;
        }
        raw[15] = suffix;
        let mut out = vec![0x20];
        for b in raw {
            out.push(b'A' + (b >> 4));
            out.push(b'A' + (b & 0x0F));
        }
        out.push(0x00);
        out
    }

    /// Name query broadcast for WORKGROUP<1D> (master browser lookup).
    fn workgroup_query() -> Vec<u8> {
        let mut m = vec![
            0x12, 0x34, // NAME_TRN_ID
            0x01, 0x10, // flags: request, opcode 0 query, RD, B
            0x00, 0x01, // QDCOUNT 1
            0x00, 0x00, // ANCOUNT
            0x00, 0x00, // NSCOUNT
            0x00, 0x00, // ARCOUNT
            0x20, // label length 32
        ];
        // "WORKGROUP" + 6 spaces + 0x1D, first-level encoded.
        m.extend_from_slice(b"FHEPFCELEHFCEPFFFACACACACACACABN");
        m.extend_from_slice(&[
            0x00, // end of name, no scope
            0x00, 0x20, // QUESTION_TYPE NB
            0x00, 0x01, // QUESTION_CLASS IN
        ]);
        m
    }

    /// Registration request for DESKTOP-LAB01<00> claiming 10.1.2.3.
    fn registration_request() -> Vec<u8> {
        let mut m = vec![
            0x7a, 0x01, // NAME_TRN_ID
            0x29, 0x10, // flags: request, opcode 5 registration, RD, B
            0x00, 0x01, // QDCOUNT 1
            0x00, 0x00, // ANCOUNT
            0x00, 0x00, // NSCOUNT
            0x00, 0x01, // ARCOUNT 1
        ];
        m.extend(encode_name("DESKTOP-LAB01", 0x00)); // question name at offset 12
        m.extend_from_slice(&[
            0x00, 0x20, // QUESTION_TYPE NB
            0x00, 0x01, // QUESTION_CLASS IN
            0xC0, 0x0C, // RR_NAME: pointer to offset 12
            0x00, 0x20, // RR_TYPE NB
            0x00, 0x01, // RR_CLASS IN
            0x00, 0x04, 0x93, 0xE0, // TTL 300000 s
            0x00, 0x06, // RDLENGTH 6
            0x00, 0x00, // NB_FLAGS: unique, B node
            10, 1, 2, 3, // NB_ADDRESS
        ]);
        m
    }

    /// Positive name query response for FILESRV<20>, answer name compressed.
    fn positive_response() -> Vec<u8> {
        let mut m = vec![
            0x55, 0x66, // NAME_TRN_ID
            0x85, 0x00, // flags: response, opcode 0, AA, RD
            0x00, 0x01, // QDCOUNT 1 (echoed question, so the pointer has a target)
            0x00, 0x01, // ANCOUNT 1
            0x00, 0x00, // NSCOUNT
            0x00, 0x00, // ARCOUNT
        ];
        m.extend(encode_name("FILESRV", 0x20)); // question name at offset 12
        m.extend_from_slice(&[
            0x00, 0x20, // QUESTION_TYPE NB
            0x00, 0x01, // QUESTION_CLASS IN
            0xC0, 0x0C, // RR_NAME: pointer to offset 12
            0x00, 0x20, // RR_TYPE NB
            0x00, 0x01, // RR_CLASS IN
            0x00, 0x00, 0x0e, 0x10, // TTL 3600 s
            0x00, 0x0C, // RDLENGTH 12: two addresses
            0x60, 0x00, // NB_FLAGS: unique, H node
            192, 168, 1, 10, // NB_ADDRESS
            0x60, 0x00, // NB_FLAGS
            172, 16, 0, 10, // NB_ADDRESS
        ]);
        m
    }

    /// Node status response listing two names and a unit ID.
    fn node_status_response() -> Vec<u8> {
        let mut m = vec![
            0x00, 0x07, // NAME_TRN_ID
            0x84, 0x00, // flags: response, opcode 0, AA
            0x00, 0x00, // QDCOUNT
            0x00, 0x01, // ANCOUNT 1
            0x00, 0x00, // NSCOUNT
            0x00, 0x00, // ARCOUNT
        ];
        // RR_NAME: the wildcard "*" padded with NULs (suffix 0).
        let mut wildcard = vec![0x20, b'C', b'K'];
        wildcard.extend(std::iter::repeat_n(b'A', 30));
        wildcard.push(0);
        m.extend(wildcard);
        m.extend_from_slice(&[
            0x00, 0x21, // RR_TYPE NBSTAT
            0x00, 0x01, // RR_CLASS IN
            0x00, 0x00, 0x00, 0x00, // TTL 0
            0x00, 0x2B, // RDLENGTH 1 + 2*18 + 6 = 43
            0x02, // NUM_NAMES
        ]);
        m.extend_from_slice(b"PRINTER7       "); // NETBIOS_NAME (15 bytes)
        m.extend_from_slice(&[0x00, 0x04, 0x00]); // suffix 00, NAME_FLAGS: ACT
        m.extend_from_slice(b"OFFICE         "); // NETBIOS_NAME (15 bytes)
        m.extend_from_slice(&[0x00, 0x84, 0x00]); // suffix 00, NAME_FLAGS: G, ACT
        m.extend_from_slice(&[0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc]); // UNIT_ID
        m
    }

    fn all_samples() -> Vec<Vec<u8>> {
        vec![
            workgroup_query(),
            registration_request(),
            positive_response(),
            node_status_response(),
        ]
    }

    #[test]
    fn parse_name_query_broadcast() {
        assert_eq!(
            workgroup_query()[12..46],
            encode_name("WORKGROUP", 0x1D)[..]
        );
        let m = parse(&workgroup_query()).unwrap();
        assert_eq!(m.id, 0x1234);
        assert!(!m.is_response);
        assert!(m.broadcast);
        assert_eq!(m.opcode, Opcode::QUERY);
        assert_eq!(m.opcode.name(), "query");
        assert_eq!(m.rcode, 0);
        assert!(!m.capped);
        assert_eq!(m.names.len(), 1);
        let q = &m.names[0];
        assert_eq!(q.section, Section::Question);
        assert_eq!(q.name, "WORKGROUP");
        assert_eq!(q.suffix, 0x1D);
        assert_eq!(q.scope, None);
        assert_eq!(q.rtype, RTYPE_NB);
        assert!(q.addresses.is_empty());
    }

    #[test]
    fn parse_registration_request() {
        let m = parse(&registration_request()).unwrap();
        assert_eq!(m.opcode, Opcode::REGISTRATION);
        assert_eq!(m.opcode.name(), "registration");
        assert!(m.broadcast);
        assert_eq!(m.names.len(), 2);
        assert_eq!(m.names[0].name, "DESKTOP-LAB01");
        assert_eq!(m.names[0].suffix, 0x00);
        let rr = &m.names[1];
        assert_eq!(rr.section, Section::Additional);
        assert_eq!(rr.name, "DESKTOP-LAB01");
        assert_eq!(rr.addresses, vec![Ipv4Addr::new(10, 1, 2, 3)]);
    }

    #[test]
    fn parse_positive_response() {
        let m = parse(&positive_response()).unwrap();
        assert!(m.is_response);
        assert!(!m.broadcast);
        let rr = &m.names[1];
        assert_eq!(rr.section, Section::Answer);
        assert_eq!((rr.name.as_str(), rr.suffix), ("FILESRV", 0x20));
        assert_eq!(
            rr.addresses,
            vec![
                Ipv4Addr::new(192, 168, 1, 10),
                Ipv4Addr::new(172, 16, 0, 10)
            ]
        );
    }

    #[test]
    fn parse_node_status_response() {
        let m = parse(&node_status_response()).unwrap();
        let rr = &m.names[0];
        assert_eq!((rr.name.as_str(), rr.suffix), ("*", 0));
        assert_eq!(rr.rtype, RTYPE_NBSTAT);
        assert_eq!(rr.node_names.len(), 2);
        assert_eq!(rr.node_names[0].name, "PRINTER7");
        assert!(!rr.node_names[0].is_group());
        assert_eq!(rr.node_names[1].name, "OFFICE");
        assert!(rr.node_names[1].is_group());
        assert_eq!(rr.unit_id, Some([0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc]));
    }

    #[test]
    fn parse_name_with_scope_and_escapes() {
        let mut m = vec![
            0x00, 0x01, // NAME_TRN_ID
            0x00, 0x00, // flags: query
            0x00, 0x01, // QDCOUNT 1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // AN/NS/AR counts
        ];
        let mut name = encode_name("A\u{7}B\\", 0x03);
        name.pop(); // drop the terminator to append scope labels
        m.extend(name);
        m.extend_from_slice(&[4, b'c', b'o', b'r', b'p', 3, b'l', 0xff, b'n', 0]); // scope
        m.extend_from_slice(&[0x00, 0x20, 0x00, 0x01]); // type NB, class IN
        let e = &parse(&m).unwrap().names[0];
        assert_eq!(e.name, "A\\x07B\\\\");
        assert_eq!(e.suffix, 0x03);
        assert_eq!(e.scope.as_deref(), Some("corp.l\\xffn"));
    }

    #[test]
    fn parse_truncated_at_every_length() {
        for sample in all_samples() {
            assert!(parse(&sample).is_ok());
            for len in 0..sample.len() {
                assert!(
                    matches!(parse(&sample[..len]), Err(Error::Truncated { .. })),
                    "prefix {len}"
                );
            }
        }
    }

    #[test]
    fn parse_pointer_loop() {
        let header = [
            0x00, 0x01, // NAME_TRN_ID
            0x00, 0x00, // flags
            0x00, 0x01, // QDCOUNT 1
            0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // AN/NS/AR counts
        ];
        // A pointer to itself.
        let mut m = header.to_vec();
        m.extend_from_slice(&[0xC0, 0x0C, 0x00, 0x20, 0x00, 0x01]);
        assert_eq!(parse(&m), Err(Error::PointerNotBackwards { offset: 12 }));

        // Two pointers pointing at each other: offset 12 -> 14 (forward, rejected).
        let mut m = header.to_vec();
        m.extend_from_slice(&[0xC0, 0x0E, 0xC0, 0x0C]);
        assert_eq!(parse(&m), Err(Error::PointerNotBackwards { offset: 12 }));

        // A pointer into the header is backwards but lands on a bad name, not a loop.
        let mut m = header.to_vec();
        m.extend_from_slice(&[0xC0, 0x00]);
        assert!(matches!(parse(&m), Err(Error::BadEncodedName { .. })));

        // A second-level pointer must point before the segment it was reached from.
        let mut m = header.to_vec();
        m[5] = 2; // QDCOUNT 2
        let mut name = encode_name("X", 0);
        name.pop();
        m.extend(name); // offset 12: 0x20 + 32 chars, then
        m.extend_from_slice(&[0xC0, 0x30]); // offset 45: pointer forward to 48
        m.extend_from_slice(&[0x00, 0x20, 0x00, 0x01]); // type, class
        assert_eq!(parse(&m), Err(Error::PointerNotBackwards { offset: 45 }));
    }

    #[test]
    fn parse_bad_encoded_name() {
        let mut m = workgroup_query();
        m[13] = b'Q'; // first character outside 'A'..'P'
        assert_eq!(parse(&m), Err(Error::BadEncodedName { offset: 13 }));
        let mut m = workgroup_query();
        m[44] = b'a'; // lower case is outside the alphabet too
        assert_eq!(parse(&m), Err(Error::BadEncodedName { offset: 44 }));
        let mut m = workgroup_query();
        m[12] = 0x1F; // first label not 32 bytes long
        assert_eq!(parse(&m), Err(Error::BadEncodedName { offset: 12 }));
        let mut m = workgroup_query();
        m[12] = 0x60; // reserved label type
        assert_eq!(parse(&m), Err(Error::BadLabel { offset: 12 }));
    }

    #[test]
    fn parse_name_too_long() {
        let mut m = vec![
            0x00, 0x01, 0x00, 0x00, // id, flags
            0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // QDCOUNT 1
        ];
        let mut name = encode_name("LONG", 0);
        name.pop();
        m.extend(name);
        for _ in 0..8 {
            m.push(63); // scope label of 63 bytes, 8 of them overflow 255
            m.extend(std::iter::repeat_n(b'x', 63));
        }
        m.extend_from_slice(&[0, 0x00, 0x20, 0x00, 0x01]);
        assert_eq!(parse(&m), Err(Error::NameTooLong { offset: 12 }));
    }

    #[test]
    fn parse_counts_over_caps() {
        // QDCOUNT 0xFFFF with only one real question: capped, never a long loop.
        let mut m = workgroup_query();
        m[4] = 0xFF;
        m[5] = 0xFF;
        let one = m[12..].to_vec();
        for _ in 0..MAX_ENTRIES_PER_SECTION {
            m.extend_from_slice(&one);
        }
        let msg = parse(&m).unwrap();
        assert!(msg.capped);
        assert_eq!(msg.names.len(), MAX_ENTRIES_PER_SECTION);

        // RDLENGTH holding 20 addresses keeps 16.
        let mut m = registration_request();
        let rdlen_at = m.len() - 8;
        m[rdlen_at + 1] = 6 * 20;
        for i in 0..19u8 {
            m.extend_from_slice(&[0x00, 0x00, 10, 0, 0, i]);
        }
        let msg = parse(&m).unwrap();
        assert!(msg.capped);
        assert_eq!(msg.names[1].addresses.len(), MAX_ADDRESSES_PER_RECORD);
    }

    #[test]
    fn parse_mutations_never_panic() {
        let samples = all_samples();
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = move || {
            // xorshift64: deterministic, so a failure reproduces from the test alone.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..10_000 {
            let mut buf = samples[(next() % samples.len() as u64) as usize].clone();
            for _ in 0..=(next() % 4) {
                let at = (next() % (buf.len() as u64 + 1)) as usize;
                match next() % 4 {
                    0 if at < buf.len() => buf[at] = next() as u8,
                    1 if at < buf.len() => buf[at] ^= 1 << (next() % 8),
                    2 => buf.insert(at, next() as u8),
                    _ => buf.truncate(at),
                }
            }
            if let Ok(m) = parse(&buf) {
                assert!(m.names.len() <= 4 * MAX_ENTRIES_PER_SECTION);
                for e in &m.names {
                    assert!(e.name.len() <= MAX_NAME_TEXT_LEN);
                    assert!(
                        e.scope
                            .as_ref()
                            .is_none_or(|s| s.len() <= MAX_SCOPE_TEXT_LEN)
                    );
                    assert!(e.addresses.len() <= MAX_ADDRESSES_PER_RECORD);
                    assert!(e.node_names.len() <= MAX_NODE_NAMES);
                }
            }
        }
    }
}
