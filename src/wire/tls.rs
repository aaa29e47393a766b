//! TLS handshake parser (RFC 5246, RFC 8446) for the first flight of a TCP stream: handshake
//! record reassembly, ClientHello (SNI, ALPN and everything JA3/JA4 need), ServerHello, and the
//! leaf certificate of a TLS <= 1.2 Certificate message.
//!
//! No-panic promise: no function here panics, loops unboundedly or allocates in proportion to a
//! count read from the wire, whatever bytes it is given. Every read goes through `Cursor`,
//! which checks bounds with `get` and `checked_add`; lists are allocated only after their bytes
//! were found present, so memory is at most proportional to the input (itself capped by
//! [`MAX_HANDSHAKE_LEN`]); strings taken from the wire are cut at [`MAX_STRING_LEN`] and escaped.
//!
//! Recoverable oddities (an extension whose content does not match its type's format, a
//! duplicated extension, values beyond a cap) become [`HelloFlags`] on an `Ok` result, so a
//! fingerprint is still computed from every extension type on the wire; malformed framing (a
//! length running past its container, trailing bytes) is an [`Error`] carrying the offset where
//! parsing stopped. Offsets are from the start of the stream for the record-layer functions and
//! from the start of the handshake body for the `parse_*` functions.
//!
//! Why not `tls-parser` (0.12.2): its extension list parser (`many0(complete(..))`) stops
//! silently at the first extension whose *content* fails to parse and drops every later
//! extension, which silently changes JA3/JA4 instead of failing or flagging; its GREASE test
//! (`t & 0x0f0f == 0x0a0a`) also matches values such as 0x1a2a that RFC 8701 does not reserve;
//! and it parses whole records only, so messages spread over several records need the
//! reassembly below anyway. The ClientHello walk is short enough to own, and owning it keeps the
//! raw extension order, GREASE values and unknown extension types exactly as sent.
//!
//! DTLS: [`parse_client_hello`] understands the DTLS ClientHello body (cookie after the session
//! ID, selected by a 0xFExx version), but the DTLS record and 12-byte handshake headers are the
//! caller's business. QUIC: pass the CRYPTO stream to [`handshake_message`], then the body to
//! [`parse_client_hello`].

use std::borrow::Cow;
use std::fmt;

/// TLS record header: content type, version, length (RFC 8446 §5.1).
pub const RECORD_HEADER_LEN: usize = 5;

/// Handshake header: message type and 24-bit length (RFC 8446 §4).
pub const HANDSHAKE_HEADER_LEN: usize = 4;

/// Largest record payload accepted. Plaintext records carry at most 2^14 bytes (RFC 8446 §5.1,
/// RFC 5246 §6.2.1); 2^14 + 2048 is the TLSCiphertext bound of RFC 5246 §6.2.3, the largest any
/// TLS version allows on the wire, so it tolerates sloppy stacks without buffering garbage.
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;

/// Largest handshake message reassembled. ClientHellos are under 2 KiB (8 KiB with post-quantum
/// key shares) and certificate chains rarely exceed 16 KiB; 64 KiB leaves ample room while
/// bounding what a forged 24-bit length (16 MiB) can make us buffer.
pub const MAX_HANDSHAKE_LEN: usize = 64 * 1024;

/// Most ALPN protocol names kept from one ClientHello. Browsers offer two or three; the rest are
/// bounds-checked and skipped ([`HelloFlags::capped`]).
pub const MAX_ALPN_VALUES: usize = 32;

/// Longest string kept from the wire (SNI, ALPN name, user agent, certificate names), in bytes
/// before escaping. A DNS name is at most 253 characters, so this only cuts hostile values.
pub const MAX_STRING_LEN: usize = 1024;

/// Most subjectAltName DNS names kept from a certificate. CDN certificates carry a few hundred;
/// 1024 keeps them all while bounding the work a crafted certificate can cause.
pub const MAX_SANS: usize = 1024;

/// Record content type of handshake records (RFC 8446 §5.1).
pub const CONTENT_HANDSHAKE: u8 = 22;

/// Handshake type of ClientHello (RFC 8446 §4).
pub const CLIENT_HELLO: u8 = 1;
/// Handshake type of ServerHello (and HelloRetryRequest).
pub const SERVER_HELLO: u8 = 2;
/// Handshake type of Certificate.
pub const CERTIFICATE: u8 = 11;

/// Extension types this module decodes (IANA TLS ExtensionType registry).
mod ext {
    pub const SERVER_NAME: u16 = 0;
    pub const SUPPORTED_GROUPS: u16 = 10;
    pub const EC_POINT_FORMATS: u16 = 11;
    pub const SIGNATURE_ALGORITHMS: u16 = 13;
    pub const ALPN: u16 = 16;
    pub const SUPPORTED_VERSIONS: u16 = 43;
    pub const QUIC_TRANSPORT_PARAMETERS: u16 = 0x39;
    /// Codepoint used by QUIC drafts before RFC 9001 assigned 0x39.
    pub const QUIC_TRANSPORT_PARAMETERS_DRAFT: u16 = 0xffa5;
}

/// Chrome's `google_user_agent` QUIC transport parameter, carrying its user-agent string.
const QUIC_GOOGLE_USER_AGENT: u64 = 0x3129;

/// RFC 8446 §4.1.3: a ServerHello whose Random is SHA-256("HelloRetryRequest") is a
/// HelloRetryRequest.
const HELLO_RETRY_REQUEST_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// One reassembled handshake message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake<'a> {
    /// Handshake type (1 ClientHello, 2 ServerHello, 11 Certificate, ...).
    pub msg_type: u8,
    /// Message body without the 4-byte header: borrowed when it sits in one record, copied
    /// when it spans several.
    pub body: Cow<'a, [u8]>,
    /// Bytes of the stream up to the end of the record holding the message's last byte (for
    /// [`handshake_message`], up to the end of the message).
    pub consumed: usize,
}

/// Recoverable oddities met while parsing a hello.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HelloFlags {
    /// An extension's content did not match its type's format; its type is still listed, its
    /// values were dropped.
    pub malformed_extension: bool,
    /// A decoded extension type appeared more than once; the first occurrence was kept.
    pub duplicate_extension: bool,
    /// More than [`MAX_ALPN_VALUES`] names, or a string longer than [`MAX_STRING_LEN`].
    pub capped: bool,
}

/// The parts of a ClientHello that identify the client (RFC 8446 §4.1.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHello {
    /// `legacy_version` (`client_version` before TLS 1.3); JA3's SSLVersion.
    pub legacy_version: u16,
    /// Cipher suites in wire order, GREASE included.
    pub cipher_suites: Vec<u16>,
    /// Extension types in wire order, GREASE and unknown types included.
    pub extensions: Vec<u16>,
    /// First `host_name` of the server_name extension, escaped (see [`escape_into`]).
    pub sni: Option<String>,
    /// ALPN protocol names in wire order, escaped, at most [`MAX_ALPN_VALUES`].
    pub alpn: Vec<String>,
    /// Raw bytes of the first ALPN name, for JA4 (empty when there is none).
    pub alpn_first_raw: Vec<u8>,
    /// supported_versions list in wire order, GREASE included.
    pub supported_versions: Vec<u16>,
    /// supported_groups (elliptic_curves) in wire order, GREASE included.
    pub supported_groups: Vec<u16>,
    /// ec_point_formats in wire order.
    pub ec_point_formats: Vec<u8>,
    /// signature_algorithms in wire order, GREASE included.
    pub signature_algorithms: Vec<u16>,
    /// Chrome's `google_user_agent` (0x3129) from quic_transport_parameters, escaped.
    pub quic_user_agent: Option<String>,
    /// Recoverable oddities.
    pub flags: HelloFlags,
}

/// The parts of a ServerHello an inventory uses (RFC 8446 §4.1.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerHello {
    /// `legacy_version` as sent.
    pub legacy_version: u16,
    /// Negotiated version: supported_versions' `selected_version` if present, else
    /// `legacy_version`.
    pub version: u16,
    /// Selected cipher suite.
    pub cipher: u16,
    /// Selected ALPN protocol, escaped.
    pub alpn: Option<String>,
    /// Extension types in wire order.
    pub extensions: Vec<u16>,
    /// The Random marks this as a HelloRetryRequest (RFC 8446 §4.1.3).
    pub hello_retry_request: bool,
    /// Recoverable oddities.
    pub flags: HelloFlags,
}

/// Identity of the leaf (first) certificate of a Certificate message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Certificate {
    /// Subject DN like EVE's `tls.subject`: RDNs in certificate order, `", "`-joined
    /// (`C=US, O=Example, CN=example.com`), which is x509-parser's rendering Suricata uses; RFC
    /// 4514 proper would reverse the order and drop the spaces.
    pub subject: String,
    /// Issuer DN, same format (EVE `tls.issuerdn`).
    pub issuer: String,
    /// First commonName of the subject, if it is a string type.
    pub common_name: Option<String>,
    /// subjectAltName DNS names, at most [`MAX_SANS`].
    pub sans: Vec<String>,
}

/// Why bytes could not be parsed; see the module doc for what offsets count from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The stream does not start with a TLS handshake record (type 22, version 3.0 to 3.4).
    NotHandshake {
        /// Offset of the record header.
        offset: usize,
    },
    /// A record length is zero or above [`MAX_RECORD_LEN`].
    BadRecordLength {
        /// Offset of the record header.
        offset: usize,
        /// Announced length.
        length: u16,
    },
    /// A handshake message announces more than [`MAX_HANDSHAKE_LEN`] bytes.
    MessageTooLarge {
        /// Offset of the handshake header's first byte.
        offset: usize,
        /// Announced length.
        length: usize,
    },
    /// A non-handshake record arrived in the middle of a handshake message (RFC 8446 §5.1:
    /// "Handshake messages MUST NOT be interleaved with other record types").
    Interleaved {
        /// Offset of the intruding record.
        offset: usize,
    },
    /// A field starting at `offset` runs past the end of its container.
    Truncated {
        /// Start of the incomplete field.
        offset: usize,
    },
    /// A length is inconsistent with its element size (odd cipher suite list and the like).
    BadLength {
        /// Offset of the length field.
        offset: usize,
    },
    /// Bytes follow the last field of a message.
    TrailingBytes {
        /// Offset of the first unexpected byte.
        offset: usize,
    },
    /// The leaf certificate is not parseable DER X.509.
    BadCertificate {
        /// Offset of the certificate's DER.
        offset: usize,
    },
    /// More records than [`MAX_RECORDS`] before the messages were complete.
    TooManyRecords {
        /// Offset of the record over the cap.
        offset: usize,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NotHandshake { offset } => {
                write!(f, "no TLS handshake record at offset {offset}")
            }
            Self::BadRecordLength { offset, length } => {
                write!(
                    f,
                    "TLS record length {length} at offset {offset} is invalid"
                )
            }
            Self::MessageTooLarge { offset, length } => {
                write!(
                    f,
                    "TLS handshake message of {length} bytes at offset {offset} exceeds the cap"
                )
            }
            Self::Interleaved { offset } => {
                write!(
                    f,
                    "TLS record at offset {offset} interrupts a handshake message"
                )
            }
            Self::Truncated { offset } => write!(f, "TLS field at offset {offset} is truncated"),
            Self::BadLength { offset } => {
                write!(f, "TLS length at offset {offset} is inconsistent")
            }
            Self::TrailingBytes { offset } => {
                write!(f, "unexpected bytes at offset {offset} after a TLS message")
            }
            Self::BadCertificate { offset } => {
                write!(f, "certificate at offset {offset} is not valid X.509")
            }
            Self::TooManyRecords { offset } => {
                write!(
                    f,
                    "more than {MAX_RECORDS} TLS records before offset {offset}"
                )
            }
        }
    }
}

impl std::error::Error for Error {}

/// Whether `bytes` (the start of a TCP stream, at least 3 bytes) look like a TLS handshake
/// record: content type 22 and record version 3.0 to 3.4. A cheap test before buffering.
pub fn looks_like_handshake(bytes: &[u8]) -> bool {
    matches!(bytes, [CONTENT_HANDSHAKE, 3, 0..=4, ..])
}

/// Reassembles the first handshake message from the TLS records starting `stream`:
/// `Ok(Some(_))` once complete, `Ok(None)` while more bytes could complete it, `Err` for a
/// stream that is not TLS or is malformed.
pub fn first_handshake(stream: &[u8]) -> Result<Option<Handshake<'_>>, Error> {
    let mut reader = Reader::start(stream)?;
    match reader.message()? {
        Step::Message(message) => Ok(Some(message)),
        Step::Incomplete | Step::End => Ok(None),
    }
}

/// Reassembles up to `max` consecutive handshake messages from the records starting `stream`
/// (server direction: ServerHello, then for TLS <= 1.2 Certificate, ...). Stops early at an
/// incomplete message or at the first non-handshake record (ChangeCipherSpec, encrypted data).
/// Returns the messages and the bytes consumed through the last returned one.
pub fn handshakes(stream: &[u8], max: usize) -> Result<(Vec<Handshake<'_>>, usize), Error> {
    let mut reader = Reader::start(stream)?;
    let mut messages = Vec::new();
    let mut consumed = 0;
    while messages.len() < max {
        match reader.message()? {
            Step::Message(message) => {
                consumed = message.consumed;
                messages.push(message);
            }
            Step::Incomplete | Step::End => break,
        }
    }
    Ok((messages, consumed))
}

/// Splits one handshake message off bytes without a record layer (the QUIC CRYPTO stream, RFC
/// 9001 §4): `Ok(None)` while incomplete, `Err` above [`MAX_HANDSHAKE_LEN`].
pub fn handshake_message(bytes: &[u8]) -> Result<Option<Handshake<'_>>, Error> {
    let Some(&[msg_type, l0, l1, l2]) = bytes.get(..HANDSHAKE_HEADER_LEN) else {
        return Ok(None);
    };
    let length = u24([l0, l1, l2]);
    if length > MAX_HANDSHAKE_LEN {
        return Err(Error::MessageTooLarge { offset: 0, length });
    }
    let end = HANDSHAKE_HEADER_LEN + length;
    Ok(bytes.get(HANDSHAKE_HEADER_LEN..end).map(|body| Handshake {
        msg_type,
        body: Cow::Borrowed(body),
        consumed: end,
    }))
}

/// Outcome of reading one message from the record layer.
enum Step<'a> {
    Message(Handshake<'a>),
    /// More stream bytes could complete the message.
    Incomplete,
    /// A non-handshake record ends the handshake layer at a message boundary.
    End,
}

/// Outcome of fetching handshake-layer bytes.
enum Chunk<'a> {
    /// Bytes and their offset in the stream.
    Data(&'a [u8], usize),
    Incomplete,
    /// A non-handshake record starts at this offset.
    End(usize),
}

/// A record header and payload, checked.
struct Record<'a> {
    content_type: u8,
    payload: &'a [u8],
    /// Offset just past the record.
    end: usize,
}

/// Reads the record at `pos`: `Ok(None)` when incomplete. A non-handshake record is returned
/// with an empty payload and not checked further: it only tells the caller to stop.
fn record_at(stream: &[u8], pos: usize) -> Result<Option<Record<'_>>, Error> {
    let rest = stream.get(pos..).unwrap_or_default();
    match rest {
        [] => return Ok(None),
        [content_type, ..] if *content_type != CONTENT_HANDSHAKE => {
            return Ok(Some(Record {
                content_type: *content_type,
                payload: &[],
                end: pos,
            }));
        }
        // RFC 8446 §5.1: legacy_record_version is 0x0301 for all but the first ClientHello,
        // which may use 0x0300..; TLS 1.3 stacks never send above 0x0303, but 0x0304 is harmless.
        [_, major, ..] if *major != 3 => return Err(Error::NotHandshake { offset: pos }),
        [_, _, minor, ..] if *minor > 4 => return Err(Error::NotHandshake { offset: pos }),
        _ => {}
    }
    let Some(&[_, _, _, l0, l1]) = rest.get(..RECORD_HEADER_LEN) else {
        return Ok(None);
    };
    let length = u16::from_be_bytes([l0, l1]);
    // RFC 8446 §5.1: "Implementations MUST NOT send zero-length fragments of Handshake types".
    if length == 0 || usize::from(length) > MAX_RECORD_LEN {
        return Err(Error::BadRecordLength {
            offset: pos,
            length,
        });
    }
    let end = RECORD_HEADER_LEN + usize::from(length);
    Ok(rest.get(RECORD_HEADER_LEN..end).map(|payload| Record {
        content_type: CONTENT_HANDSHAKE,
        payload,
        end: pos + end,
    }))
}

/// Walks the handshake layer across records.
/// Records walked from the stream start before giving up. Real stacks put a hello in one or two
/// records and a server flight in a handful; a hello in 1-byte records is an attack, and since the
/// walk is repeated as the stream grows, the cap also bounds that repeated work.
pub const MAX_RECORDS: usize = 64;

struct Reader<'a> {
    stream: &'a [u8],
    /// Records entered so far.
    records: usize,
    /// Offset of the next record header.
    next_record: usize,
    /// Unread part of the current record's payload.
    payload: &'a [u8],
    /// Stream offset of `payload`'s first byte.
    payload_offset: usize,
}

impl<'a> Reader<'a> {
    /// Starts at the stream's first record, which must be a handshake record if present.
    fn start(stream: &'a [u8]) -> Result<Self, Error> {
        if stream.first().is_some_and(|&t| t != CONTENT_HANDSHAKE) {
            return Err(Error::NotHandshake { offset: 0 });
        }
        Ok(Self {
            stream,
            records: 0,
            next_record: 0,
            payload: &[],
            payload_offset: 0,
        })
    }

    /// Up to `want` (> 0) bytes from the current record, moving to the next record when the
    /// current one is used up. Terminates: each loop pass advances `next_record` by at least
    /// `RECORD_HEADER_LEN + 1`, or returns.
    fn chunk(&mut self, want: usize) -> Result<Chunk<'a>, Error> {
        while self.payload.is_empty() {
            let Some(record) = record_at(self.stream, self.next_record)? else {
                return Ok(Chunk::Incomplete);
            };
            if record.content_type != CONTENT_HANDSHAKE {
                return Ok(Chunk::End(self.next_record));
            }
            self.records += 1;
            if self.records > MAX_RECORDS {
                return Err(Error::TooManyRecords {
                    offset: self.next_record,
                });
            }
            self.payload = record.payload;
            self.payload_offset = self.next_record + RECORD_HEADER_LEN;
            self.next_record = record.end;
        }
        let (head, tail) = self.payload.split_at(want.min(self.payload.len()));
        let offset = self.payload_offset;
        self.payload = tail;
        self.payload_offset += head.len();
        Ok(Chunk::Data(head, offset))
    }

    /// Reads the next handshake message.
    fn message(&mut self) -> Result<Step<'a>, Error> {
        let mut header = [0u8; HANDSHAKE_HEADER_LEN];
        let mut filled = 0;
        let mut start = None;
        while filled < HANDSHAKE_HEADER_LEN {
            match self.chunk(HANDSHAKE_HEADER_LEN - filled)? {
                Chunk::Data(bytes, offset) => {
                    start.get_or_insert(offset);
                    header[filled..filled + bytes.len()].copy_from_slice(bytes);
                    filled += bytes.len();
                }
                Chunk::Incomplete => return Ok(Step::Incomplete),
                Chunk::End(_) if filled == 0 => return Ok(Step::End),
                Chunk::End(offset) => return Err(Error::Interleaved { offset }),
            }
        }
        let [msg_type, l0, l1, l2] = header;
        let length = u24([l0, l1, l2]);
        if length > MAX_HANDSHAKE_LEN {
            return Err(Error::MessageTooLarge {
                offset: start.unwrap_or_default(),
                length,
            });
        }
        let mut body: Cow<'a, [u8]> = Cow::Borrowed(&[]);
        while body.len() < length {
            match self.chunk(length - body.len())? {
                Chunk::Data(bytes, _) if body.is_empty() => body = Cow::Borrowed(bytes),
                // Spread over records: copy. `length` is capped, and bytes are appended only
                // as they arrive, so memory follows the input, not the announced length.
                Chunk::Data(bytes, _) => body.to_mut().extend_from_slice(bytes),
                Chunk::Incomplete => return Ok(Step::Incomplete),
                Chunk::End(offset) => return Err(Error::Interleaved { offset }),
            }
        }
        Ok(Step::Message(Handshake {
            msg_type,
            body,
            consumed: self.next_record,
        }))
    }
}

/// Bounds-checked reader over one message body; every read reports the offset it failed at.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Offset of `bytes[0]` from the start of the body, for error offsets.
    base: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            base: 0,
        }
    }

    /// Offset of the next byte from the start of the body.
    fn offset(&self) -> usize {
        self.base + self.pos
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.bytes.len()
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        let truncated = Error::Truncated {
            offset: self.offset(),
        };
        let end = self.pos.checked_add(n).ok_or(truncated)?;
        let slice = self.bytes.get(self.pos..end).ok_or(truncated)?;
        self.pos = end;
        Ok(slice)
    }

    /// The next `N` bytes as an array.
    fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let offset = self.offset();
        <[u8; N]>::try_from(self.take(N)?).map_err(|_| Error::Truncated { offset })
    }

    fn u8(&mut self) -> Result<u8, Error> {
        let [b] = self.array()?;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// A sub-cursor over a vector with a `len_bytes`-byte length prefix (RFC 8446 §3.4).
    fn vector(&mut self, len_bytes: usize) -> Result<Cursor<'a>, Error> {
        let length = match len_bytes {
            1 => usize::from(self.u8()?),
            2 => usize::from(self.u16()?),
            _ => u24(self.array()?),
        };
        let base = self.offset();
        Ok(Cursor {
            bytes: self.take(length)?,
            pos: 0,
            base,
        })
    }

    /// The remaining bytes as big-endian u16s; `BadLength` for an odd count.
    fn u16_list(&mut self, length_offset: usize) -> Result<Vec<u16>, Error> {
        let rest = self.take(self.bytes.len().saturating_sub(self.pos))?;
        if rest.len() % 2 != 0 {
            return Err(Error::BadLength {
                offset: length_offset,
            });
        }
        Ok(rest
            .chunks_exact(2)
            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
            .collect())
    }

    /// Fails unless every byte was read.
    fn finish(&self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes {
                offset: self.offset(),
            })
        }
    }
}

fn u24(b: [u8; 3]) -> usize {
    (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2])
}

/// RFC 8701 §2: GREASE values are 0x0A0A, 0x1A1A, ..., 0xFAFA (both bytes equal, low nibble A).
pub fn is_grease(v: u16) -> bool {
    let [hi, lo] = v.to_be_bytes();
    hi == lo && lo & 0x0f == 0x0a
}

/// Version as EVE's `tls.version` spells it (Suricata's `JsonTlsLogVersion`).
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0304 => "TLS 1.3",
        0x0303 => "TLS 1.2",
        0x0302 => "TLS 1.1",
        // Suricata writes "TLSv1" here, not "TLS 1.0"; kept for EVE compatibility.
        0x0301 => "TLSv1",
        0x0300 => "SSLv3",
        0x0200 => "SSLv2",
        _ => "UNDETERMINED",
    }
}

/// Parses a ClientHello body (after the 4-byte handshake header), TLS or DTLS.
pub fn parse_client_hello(body: &[u8]) -> Result<ClientHello, Error> {
    let mut c = Cursor::new(body);
    let mut hello = ClientHello {
        legacy_version: c.u16()?,
        ..ClientHello::default()
    };
    c.take(32)?; // random
    c.vector(1)?; // legacy_session_id
    // RFC 6347 §4.2.1 / RFC 9147 §5.3: DTLS adds a cookie after the session ID. DTLS
    // versions are one's complements of TLS-like numbers, all 0xFExx.
    if hello.legacy_version >> 8 == 0xfe {
        c.vector(1)?; // cookie
    }
    let suites_offset = c.offset();
    hello.cipher_suites = c.vector(2)?.u16_list(suites_offset)?;
    c.vector(1)?; // legacy_compression_methods
    // RFC 5246 §7.4.1.2: clients before extensions end the message here.
    if c.is_empty() {
        return Ok(hello);
    }
    let mut list = c.vector(2)?;
    c.finish()?;
    let mut seen = Seen::default();
    // Bounded: every pass consumes at least 4 bytes of a list of at most 65535.
    while !list.is_empty() {
        let ext_type = list.u16()?;
        let data = list.vector(2)?;
        hello.extensions.push(ext_type);
        if seen.first(ext_type, &mut hello.flags)
            && decode_client_extension(&mut hello, ext_type, data).is_err()
        {
            hello.flags.malformed_extension = true;
        }
    }
    Ok(hello)
}

/// Records which decoded extension types were met, for first-wins on duplicates.
#[derive(Default)]
struct Seen(u16);

impl Seen {
    /// True the first time a decoded type is met; flags later copies.
    fn first(&mut self, ext_type: u16, flags: &mut HelloFlags) -> bool {
        let bit = match ext_type {
            ext::SERVER_NAME => 1,
            ext::SUPPORTED_GROUPS => 2,
            ext::EC_POINT_FORMATS => 4,
            ext::SIGNATURE_ALGORITHMS => 8,
            ext::ALPN => 16,
            ext::SUPPORTED_VERSIONS => 32,
            ext::QUIC_TRANSPORT_PARAMETERS | ext::QUIC_TRANSPORT_PARAMETERS_DRAFT => 64,
            _ => return false,
        };
        if self.0 & bit != 0 {
            flags.duplicate_extension = true;
            return false;
        }
        self.0 |= bit;
        true
    }
}

/// Decodes one ClientHello extension into `hello`; on `Err` nothing was stored.
fn decode_client_extension(
    hello: &mut ClientHello,
    ext_type: u16,
    mut data: Cursor<'_>,
) -> Result<(), Error> {
    match ext_type {
        ext::SERVER_NAME => {
            // RFC 6066 §3: ServerNameList server_name_list<1..2^16-1>; NameType host_name(0).
            let mut names = data.vector(2)?;
            data.finish()?;
            let mut host = None;
            while !names.is_empty() {
                let name_type = names.u8()?;
                let name = names.vector(2)?;
                if name_type == 0 && host.is_none() {
                    host = Some(name.bytes);
                }
            }
            if let Some(name) = host {
                hello.sni = Some(wire_string(name, &mut hello.flags));
            }
        }
        ext::ALPN => {
            let (names, first) = alpn_list(&mut data, &mut hello.flags)?;
            hello.alpn = names;
            hello.alpn_first_raw = first.to_vec();
        }
        ext::SUPPORTED_GROUPS => {
            let offset = data.offset();
            let list = data.vector(2)?.u16_list(offset)?;
            data.finish()?;
            hello.supported_groups = list;
        }
        ext::SIGNATURE_ALGORITHMS => {
            let offset = data.offset();
            let list = data.vector(2)?.u16_list(offset)?;
            data.finish()?;
            hello.signature_algorithms = list;
        }
        ext::EC_POINT_FORMATS => {
            let list = data.vector(1)?;
            data.finish()?;
            hello.ec_point_formats = list.bytes.to_vec();
        }
        ext::SUPPORTED_VERSIONS => {
            // RFC 8446 §4.2.1: ProtocolVersion versions<2..254> in the ClientHello.
            let offset = data.offset();
            let list = data.vector(1)?.u16_list(offset)?;
            data.finish()?;
            hello.supported_versions = list;
        }
        ext::QUIC_TRANSPORT_PARAMETERS | ext::QUIC_TRANSPORT_PARAMETERS_DRAFT => {
            // RFC 9000 §18: a sequence of (id varint, length varint, value). Drafts before 27
            // used 16-bit fields under 0xffa5; those fail here and only set the flag.
            while !data.is_empty() {
                let id = varint(&mut data)?;
                let length = varint(&mut data)?;
                let length = usize::try_from(length).map_err(|_| Error::Truncated {
                    offset: data.offset(),
                })?;
                let value = data.take(length)?;
                if id == QUIC_GOOGLE_USER_AGENT && hello.quic_user_agent.is_none() {
                    hello.quic_user_agent = Some(wire_string(value, &mut hello.flags));
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// RFC 7301 §3.1: ProtocolNameList protocol_name_list<2..2^16-1>, ProtocolName<1..2^8-1>.
/// Returns the escaped names (capped) and the first name's raw bytes. Empty names, which the
/// RFC forbids, are kept as empty strings: they are what the client sent.
fn alpn_list<'a>(
    data: &mut Cursor<'a>,
    flags: &mut HelloFlags,
) -> Result<(Vec<String>, &'a [u8]), Error> {
    let mut list = data.vector(2)?;
    data.finish()?;
    let mut names = Vec::new();
    let mut first: &[u8] = &[];
    let mut index = 0usize;
    while !list.is_empty() {
        let name = list.vector(1)?.bytes;
        if index == 0 {
            first = name;
        }
        if names.len() < MAX_ALPN_VALUES {
            names.push(wire_string(name, flags));
        } else {
            flags.capped = true;
        }
        index += 1;
    }
    Ok((names, first))
}

/// RFC 9000 §16 variable-length integer.
fn varint(c: &mut Cursor<'_>) -> Result<u64, Error> {
    let first = c.u8()?;
    let extra = (1usize << (first >> 6)) - 1;
    let mut value = u64::from(first & 0x3f);
    for &byte in c.take(extra)? {
        value = (value << 8) | u64::from(byte);
    }
    Ok(value)
}

/// Parses a ServerHello body (after the 4-byte handshake header).
pub fn parse_server_hello(body: &[u8]) -> Result<ServerHello, Error> {
    let mut c = Cursor::new(body);
    let legacy_version = c.u16()?;
    let random = c.take(32)?;
    c.vector(1)?; // legacy_session_id_echo
    let mut hello = ServerHello {
        legacy_version,
        version: legacy_version,
        cipher: c.u16()?,
        hello_retry_request: random == HELLO_RETRY_REQUEST_RANDOM,
        ..ServerHello::default()
    };
    c.u8()?; // legacy_compression_method
    if c.is_empty() {
        return Ok(hello);
    }
    let mut list = c.vector(2)?;
    c.finish()?;
    while !list.is_empty() {
        let ext_type = list.u16()?;
        let mut data = list.vector(2)?;
        hello.extensions.push(ext_type);
        let decoded = match ext_type {
            // RFC 8446 §4.2.1: the ServerHello carries one selected_version.
            ext::SUPPORTED_VERSIONS => data.u16().and_then(|v| {
                data.finish()?;
                hello.version = v;
                Ok(())
            }),
            // RFC 7301 §3.1: "the list MUST contain exactly one ProtocolName".
            ext::ALPN => alpn_list(&mut data, &mut hello.flags).map(|(names, _)| {
                hello.alpn = names.into_iter().next();
            }),
            _ => Ok(()),
        };
        if decoded.is_err() {
            hello.flags.malformed_extension = true;
        }
    }
    Ok(hello)
}

/// Parses a TLS <= 1.2 Certificate body (RFC 5246 §7.4.2) and decodes its leaf certificate;
/// `Ok(None)` for an empty list (a client declining to authenticate). TLS 1.3 Certificate
/// messages are encrypted and never reach this function.
pub fn parse_certificate(body: &[u8]) -> Result<Option<Certificate>, Error> {
    let mut c = Cursor::new(body);
    let mut list = c.vector(3)?;
    c.finish()?;
    if list.is_empty() {
        return Ok(None);
    }
    let der = list.vector(3)?;
    let offset = der.base;
    let (_, x509) = x509_parser::parse_x509_certificate(der.bytes)
        .map_err(|_| Error::BadCertificate { offset })?;
    let mut flags = HelloFlags::default();
    let common_name = x509
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(|cn| wire_string(cn.as_bytes(), &mut flags));
    let mut sans = Vec::new();
    if let Ok(Some(san)) = x509.subject_alternative_name() {
        let names = san.value.general_names.iter();
        for name in names.take(MAX_SANS) {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                sans.push(wire_string(dns.as_bytes(), &mut flags));
            }
        }
    }
    Ok(Some(Certificate {
        subject: wire_string(x509.subject().to_string().as_bytes(), &mut flags),
        issuer: wire_string(x509.issuer().to_string().as_bytes(), &mut flags),
        common_name,
        sans,
    }))
}

/// Owned, escaped copy of a string from the wire, cut at [`MAX_STRING_LEN`] bytes.
fn wire_string(bytes: &[u8], flags: &mut HelloFlags) -> String {
    let kept = bytes.get(..MAX_STRING_LEN).unwrap_or(bytes);
    flags.capped |= kept.len() < bytes.len();
    let mut out = String::with_capacity(kept.len());
    escape_into(&mut out, kept);
    out
}

/// Appends `bytes` as an inert string: valid UTF-8 is kept except `\`, control characters and
/// bidirectional formatting characters; those and every byte of invalid UTF-8 are written as
/// `\DDD` (decimal, as DNS presentation form does). A hostile name can thus never smuggle a
/// control byte, a bidi override or invalid UTF-8 into logs, while IDN U-labels and UTF8String
/// DNs stay readable.
pub fn escape_into(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        for ch in chunk.valid().chars() {
            if ch == '\\' || ch.is_control() || is_bidi_control(ch) {
                let mut utf8 = [0u8; 4];
                ch.encode_utf8(&mut utf8)
                    .bytes()
                    .for_each(|b| push_decimal(out, b));
            } else {
                out.push(ch);
            }
        }
        chunk.invalid().iter().for_each(|&b| push_decimal(out, b));
    }
}

/// Unicode bidirectional controls (UAX #9): they reorder how a log line is displayed.
fn is_bidi_control(ch: char) -> bool {
    matches!(ch, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Appends `\DDD`.
fn push_decimal(out: &mut String, byte: u8) {
    out.push('\\');
    out.push(char::from(b'0' + byte / 100));
    out.push(char::from(b'0' + byte / 10 % 10));
    out.push(char::from(b'0' + byte % 10));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Self-signed test certificate; see tests/data/README.md.
    const EXAMPLE_CERT: &[u8] = include_bytes!("../../tests/data/example-cert.der");

    /// `bytes` with a `width`-byte big-endian length prefix.
    fn vec_of(width: usize, bytes: &[u8]) -> Vec<u8> {
        let len = bytes.len().to_be_bytes();
        let mut out = len[len.len() - width..].to_vec();
        out.extend_from_slice(bytes);
        out
    }

    /// One extension: type, 2-byte length, data.
    fn extension(ext_type: u16, data: &[u8]) -> Vec<u8> {
        let mut out = ext_type.to_be_bytes().to_vec();
        out.extend(vec_of(2, data));
        out
    }

    /// A ClientHello body with the given extension block (`None`: no extensions at all).
    fn client_hello(version: u16, suites: &[u16], extensions: Option<&[Vec<u8>]>) -> Vec<u8> {
        let mut body = version.to_be_bytes().to_vec(); // legacy_version
        body.extend([0x11; 32]); // random
        body.extend(vec_of(1, &[0x22; 32])); // legacy_session_id
        let suites: Vec<u8> = suites.iter().flat_map(|s| s.to_be_bytes()).collect();
        body.extend(vec_of(2, &suites)); // cipher_suites
        body.extend([1, 0]); // compression methods: null only
        if let Some(extensions) = extensions {
            body.extend(vec_of(2, &extensions.concat()));
        }
        body
    }

    /// A browser-like hello: GREASE first and last, SNI, ALPN, groups, point formats,
    /// signature algorithms, supported_versions, an unknown type and QUIC parameters.
    fn sample_extensions() -> Vec<Vec<u8>> {
        vec![
            extension(0x0a0a, &[]), // GREASE
            // server_name: list len, host_name(0), name len, "example.com"
            extension(
                0,
                &vec_of(2, &[&[0][..], &vec_of(2, b"example.com")].concat()),
            ),
            // ALPN: list len, "h2", "http/1.1"
            extension(
                16,
                &vec_of(2, &[vec_of(1, b"h2"), vec_of(1, b"http/1.1")].concat()),
            ),
            // supported_groups: GREASE, x25519, secp256r1
            extension(10, &vec_of(2, &[0x3a, 0x3a, 0x00, 0x1d, 0x00, 0x17])),
            extension(11, &vec_of(1, &[0])), // ec_point_formats: uncompressed
            // signature_algorithms: ecdsa_secp256r1_sha256, rsa_pss_rsae_sha256
            extension(13, &vec_of(2, &[0x04, 0x03, 0x08, 0x04])),
            // supported_versions: GREASE, TLS 1.3, TLS 1.2
            extension(43, &vec_of(1, &[0x7a, 0x7a, 0x03, 0x04, 0x03, 0x03])),
            extension(0x4469, &[0, 3, 2, b'h', b'2']), // ALPS (unknown here): kept as a type
            // quic_transport_parameters: initial_max_data(4) = 1 byte; google_user_agent
            // (0x3129 as a 2-byte varint 0x7129) = "Chrome/1"
            extension(
                0x39,
                &[&[0x04, 0x01, 0x20, 0x71, 0x29, 0x08][..], b"Chrome/1"].concat(),
            ),
            extension(0xfafa, &[0]), // GREASE with one byte of data
        ]
    }

    fn sample_body() -> Vec<u8> {
        let exts = sample_extensions();
        client_hello(0x0303, &[0x2a2a, 0x1301, 0xc02b, 0x002f], Some(&exts))
    }

    /// `body` as a ClientHello handshake message.
    fn message(msg_type: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![msg_type];
        out.extend(vec_of(3, body));
        out
    }

    /// `payload` as one TLS handshake record.
    fn record(content_type: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![content_type, 3, 1];
        out.extend(vec_of(2, payload));
        out
    }

    #[test]
    fn parse_hello_in_too_many_records() {
        // A hello cut into 1-byte records: the walk stops at MAX_RECORDS instead of re-walking
        // thousands of records every time the stream grows.
        let msg = message(CLIENT_HELLO, &sample_body());
        let split =
            |n: usize| -> Vec<u8> { msg.iter().take(n).flat_map(|b| record(22, &[*b])).collect() };
        assert!(matches!(first_handshake(&split(MAX_RECORDS)), Ok(None)));
        assert!(matches!(
            first_handshake(&split(MAX_RECORDS + 1)),
            Err(Error::TooManyRecords { .. })
        ));
        let two_records: Vec<u8> = [record(22, &msg[..10]), record(22, &msg[10..])].concat();
        assert!(first_handshake(&two_records).unwrap().is_some());
    }

    #[test]
    fn parse_client_hello_sample() {
        let hello = parse_client_hello(&sample_body()).expect("valid hello");
        assert_eq!(hello.legacy_version, 0x0303);
        assert_eq!(hello.cipher_suites, [0x2a2a, 0x1301, 0xc02b, 0x002f]);
        assert_eq!(
            hello.extensions,
            [0x0a0a, 0, 16, 10, 11, 13, 43, 0x4469, 0x39, 0xfafa]
        );
        assert_eq!(hello.sni.as_deref(), Some("example.com"));
        assert_eq!(hello.alpn, ["h2", "http/1.1"]);
        assert_eq!(hello.alpn_first_raw, b"h2");
        assert_eq!(hello.supported_groups, [0x3a3a, 0x1d, 0x17]);
        assert_eq!(hello.ec_point_formats, [0]);
        assert_eq!(hello.signature_algorithms, [0x0403, 0x0804]);
        assert_eq!(hello.supported_versions, [0x7a7a, 0x0304, 0x0303]);
        assert_eq!(hello.quic_user_agent.as_deref(), Some("Chrome/1"));
        assert_eq!(hello.flags, HelloFlags::default());
    }

    #[test]
    fn parse_client_hello_without_extensions() {
        // SSLv3/TLS 1.0 era: the message ends after the compression methods.
        let hello = parse_client_hello(&client_hello(0x0300, &[0x000a], None)).expect("valid");
        assert_eq!((hello.legacy_version, hello.extensions.len()), (0x0300, 0));
        // An empty extension block is just as valid.
        let hello = parse_client_hello(&client_hello(0x0301, &[0x000a], Some(&[]))).expect("ok");
        assert!(hello.extensions.is_empty() && hello.sni.is_none());
    }

    #[test]
    fn parse_dtls_client_hello_skips_cookie() {
        let mut body = 0xfefdu16.to_be_bytes().to_vec(); // DTLS 1.2
        body.extend([0; 32]); // random
        body.push(0); // empty session ID
        body.extend(vec_of(1, &[0xcc; 20])); // cookie
        body.extend(vec_of(2, &[0xc0, 0x2b])); // one suite
        body.extend([1, 0]); // null compression
        body.extend(vec_of(2, &extension(43, &vec_of(1, &[0xfe, 0xfc]))));
        let hello = parse_client_hello(&body).expect("DTLS hello");
        assert_eq!(hello.cipher_suites, [0xc02b]);
        assert_eq!(hello.supported_versions, [0xfefc]);
    }

    #[test]
    fn parse_truncated_at_every_length() {
        let body = sample_body();
        // Cutting exactly after the compression methods leaves a valid extension-less hello.
        let no_extensions_len = 2 + 32 + 33 + 10 + 2;
        for len in 0..body.len() {
            let result = parse_client_hello(&body[..len]);
            if len == no_extensions_len {
                assert!(result.expect("extension-less prefix").extensions.is_empty());
            } else {
                assert!(
                    matches!(result, Err(Error::Truncated { .. })),
                    "prefix {len}: {result:?}"
                );
            }
        }

        // Record layer: every strict prefix of the stream needs more bytes.
        let stream = record(22, &message(CLIENT_HELLO, &body));
        for len in 0..stream.len() {
            assert_eq!(first_handshake(&stream[..len]), Ok(None), "prefix {len}");
        }
        let whole = first_handshake(&stream).expect("ok").expect("complete");
        assert_eq!(
            (whole.msg_type, whole.consumed),
            (CLIENT_HELLO, stream.len())
        );
        assert!(matches!(whole.body, Cow::Borrowed(_)));
    }

    #[test]
    fn parse_extension_past_end() {
        let mut exts = sample_extensions();
        // ALPS claims 0x0100 bytes of data but carries five.
        exts[7] = [&[0x44, 0x69, 0x01, 0x00][..], &[0, 3, 2, b'h', b'2']].concat();
        let body = client_hello(0x0303, &[0x1301], Some(&exts));
        assert!(matches!(
            parse_client_hello(&body),
            Err(Error::Truncated { .. })
        ));

        // Extension block length one past the end: the block, not an extension, is cut.
        let mut body = client_hello(0x0303, &[0x1301], Some(&[extension(23, &[])]));
        let block_len_at = 2 + 32 + 33 + 4 + 2;
        body[block_len_at + 1] += 1;
        assert_eq!(
            parse_client_hello(&body),
            Err(Error::Truncated {
                offset: block_len_at + 2
            })
        );

        // Bytes after the extension block.
        let mut body = client_hello(0x0303, &[0x1301], Some(&[extension(23, &[])]));
        body.push(0);
        assert_eq!(
            parse_client_hello(&body),
            Err(Error::TrailingBytes {
                offset: body.len() - 1
            })
        );
    }

    #[test]
    fn parse_hostile_cipher_count() {
        // 65534 bytes of suites (32767 suites) announced, four present: no allocation for
        // the announced count, an error at the list.
        let mut body = 0x0303u16.to_be_bytes().to_vec(); // version
        body.extend([0; 32]); // random
        body.push(0); // session ID
        body.extend([0xff, 0xfe, 0x13, 0x01, 0x13, 0x02]); // suites: len 65534, two present
        assert_eq!(
            parse_client_hello(&body),
            Err(Error::Truncated { offset: 37 })
        );

        // 65535 (odd) with the bytes present: inconsistent length.
        let mut body = 0x0303u16.to_be_bytes().to_vec();
        body.extend([0; 32]);
        body.push(0);
        body.extend(vec_of(2, &[0x13; 65535]));
        body.extend([1, 0]);
        assert_eq!(
            parse_client_hello(&body),
            Err(Error::BadLength { offset: 35 })
        );

        // 32767 real suites parse: memory follows the bytes present.
        let suites: Vec<u16> = (0..32767).collect();
        let hello = parse_client_hello(&client_hello(0x0303, &suites, None)).expect("big");
        assert_eq!(hello.cipher_suites.len(), 32767);
    }

    #[test]
    fn parse_alpn_zero_length_value() {
        // ALPN list: "" then "h2". RFC 7301 forbids empty names; we keep what was sent.
        let alpn = extension(16, &vec_of(2, &[0, 2, b'h', b'2']));
        let hello =
            parse_client_hello(&client_hello(0x0303, &[0x1301], Some(&[alpn]))).expect("parses");
        assert_eq!(hello.alpn, ["", "h2"]);
        assert!(hello.alpn_first_raw.is_empty());
        assert!(!hello.flags.malformed_extension);

        // Empty list: no names.
        let alpn = extension(16, &vec_of(2, &[]));
        let hello =
            parse_client_hello(&client_hello(0x0303, &[0x1301], Some(&[alpn]))).expect("parses");
        assert!(hello.alpn.is_empty());

        // More names than the cap: capped and flagged.
        let names: Vec<u8> = (0..40).flat_map(|_| [1, b'x']).collect();
        let alpn = extension(16, &vec_of(2, &names));
        let hello =
            parse_client_hello(&client_hello(0x0303, &[0x1301], Some(&[alpn]))).expect("parses");
        assert_eq!(hello.alpn.len(), MAX_ALPN_VALUES);
        assert!(hello.flags.capped);
    }

    #[test]
    fn parse_sni_non_utf8() {
        let cases: &[(&[u8], &str)] = &[
            (b"Host-1.example", "Host-1.example"),
            (&[0xff, b'a', 0x00, b'\\'], "\\255a\\000\\092"), // invalid UTF-8, NUL, backslash
            (b"a\nb\x1b[31m", "a\\010b\\027[31m"),            // newline, terminal escape
            ("bücher.de".as_bytes(), "bücher.de"),            // valid UTF-8 kept
            ("x\u{202e}y".as_bytes(), "x\\226\\128\\174y"),   // bidi override escaped
        ];
        for &(name, expected) in cases {
            // server_name: list len, host_name(0), name
            let sni = extension(0, &vec_of(2, &[&[0][..], &vec_of(2, name)].concat()));
            let hello =
                parse_client_hello(&client_hello(0x0303, &[0x1301], Some(&[sni]))).expect("parses");
            assert_eq!(hello.sni.as_deref(), Some(expected));
        }

        // A 2000-byte name is cut at MAX_STRING_LEN and flagged.
        let long = vec![b'a'; 2000];
        let sni = extension(0, &vec_of(2, &[&[0][..], &vec_of(2, &long)].concat()));
        let hello =
            parse_client_hello(&client_hello(0x0303, &[0x1301], Some(&[sni]))).expect("parses");
        assert_eq!(hello.sni.map(|s| s.len()), Some(MAX_STRING_LEN));
        assert!(hello.flags.capped);
    }

    #[test]
    fn parse_nested_length_overflow() {
        let cases: &[(&str, Vec<u8>)] = &[
            // server_name list claims 0x00ff bytes, 6 follow
            (
                "SNI list",
                extension(0, &[0x00, 0xff, 0, 0, 3, b'a', b'b', b'c']),
            ),
            // host_name claims 9 bytes, 3 follow
            (
                "SNI name",
                extension(0, &[0x00, 0x06, 0, 0, 9, b'a', b'b', b'c']),
            ),
            // ALPN name claims 5 bytes inside a 3-byte list
            ("ALPN name", extension(16, &[0x00, 0x03, 5, b'h', b'2'])),
            // supported_groups odd length
            ("groups", extension(10, &[0x00, 0x03, 0x00, 0x1d, 0x00])),
            // supported_versions list longer than the extension
            ("versions", extension(43, &[0x08, 0x03, 0x04])),
            // QUIC parameter length varint 0x3f past the end
            ("quic", extension(0x39, &[0x71, 0x29, 0x3f, b'x'])),
            // signature_algorithms with a byte after the list
            ("sigalgs", extension(13, &[0x00, 0x02, 0x04, 0x03, 0x00])),
        ];
        for (what, ext) in cases {
            let exts = [ext.clone(), extension(23, &[])];
            let hello = parse_client_hello(&client_hello(0x0303, &[0x1301], Some(&exts)))
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let ext_type = u16::from_be_bytes([ext[0], ext[1]]);
            // The type still counts for fingerprints; the values were dropped and flagged.
            assert_eq!(hello.extensions, [ext_type, 23], "{what}");
            assert!(hello.flags.malformed_extension, "{what}");
            assert!(hello.sni.is_none() && hello.alpn.is_empty(), "{what}");
            assert!(hello.supported_groups.is_empty() && hello.supported_versions.is_empty());
            assert!(hello.signature_algorithms.is_empty() && hello.quic_user_agent.is_none());
        }
    }

    #[test]
    fn parse_duplicate_extension() {
        let sni = |name: &[u8]| extension(0, &vec_of(2, &[&[0][..], &vec_of(2, name)].concat()));
        let exts = [sni(b"first.example"), sni(b"second.example")];
        let hello =
            parse_client_hello(&client_hello(0x0303, &[0x1301], Some(&exts))).expect("parses");
        assert_eq!(hello.sni.as_deref(), Some("first.example"));
        assert_eq!(hello.extensions, [0, 0]);
        assert!(hello.flags.duplicate_extension);
    }

    #[test]
    fn parse_records_spanning_and_hostile() {
        let msg = message(CLIENT_HELLO, &sample_body());
        // The message split over three records of 1, 100 and the rest.
        let (a, rest) = msg.split_at(1);
        let (b, c) = rest.split_at(100);
        let stream = [record(22, a), record(22, b), record(22, c)].concat();
        let first = first_handshake(&stream).expect("ok").expect("complete");
        assert!(matches!(first.body, Cow::Owned(_)));
        assert_eq!(first.body.as_ref(), &msg[4..]);
        assert_eq!(first.consumed, stream.len());
        for len in 0..stream.len() {
            assert_eq!(first_handshake(&stream[..len]), Ok(None), "prefix {len}");
        }

        // An alert between the fragments.
        let alert = record(21, &[2, 40]);
        let stream = [record(22, a), alert.clone(), record(22, b)].concat();
        assert_eq!(
            first_handshake(&stream),
            Err(Error::Interleaved { offset: 6 })
        );

        let cases: &[(&str, Vec<u8>, Error)] = &[
            (
                "HTTP",
                b"GET / HTTP/1.1\r\n".to_vec(),
                Error::NotHandshake { offset: 0 },
            ),
            (
                "SSH",
                b"SSH-2.0-x".to_vec(),
                Error::NotHandshake { offset: 0 },
            ),
            // handshake type, version 2.0
            (
                "version",
                vec![22, 2, 0, 0, 1, 1],
                Error::NotHandshake { offset: 0 },
            ),
            (
                "version 3.5",
                vec![22, 3, 5],
                Error::NotHandshake { offset: 0 },
            ),
            // zero-length record
            (
                "empty record",
                vec![22, 3, 1, 0, 0],
                Error::BadRecordLength {
                    offset: 0,
                    length: 0,
                },
            ),
            // record of 0xffff bytes
            (
                "huge record",
                vec![22, 3, 1, 0xff, 0xff],
                Error::BadRecordLength {
                    offset: 0,
                    length: 0xffff,
                },
            ),
            // handshake header announcing 16 MiB - 1
            (
                "huge message",
                record(22, &[1, 0xff, 0xff, 0xff]),
                Error::MessageTooLarge {
                    offset: 5,
                    length: 0xff_ffff,
                },
            ),
        ];
        for (what, stream, expected) in cases {
            assert_eq!(first_handshake(stream), Err(*expected), "{what}");
            assert!(!looks_like_handshake(stream) || *what != "HTTP");
        }
        // A message of exactly MAX_HANDSHAKE_LEN is accepted while incomplete.
        let at_cap = record(22, &[1, 0x01, 0x00, 0x00]);
        assert_eq!(first_handshake(&at_cap), Ok(None));
    }

    #[test]
    fn looks_like_handshake_table() {
        let cases: &[(&[u8], bool)] = &[
            (&[22, 3, 1, 2, 0], true),
            (&[22, 3, 0], true),
            (&[22, 3, 4], true),
            (&[22, 3, 5], false),
            (&[23, 3, 3], false),
            (&[22, 2, 0], false),
            (&[22, 3], false),
            (b"GET", false),
        ];
        for &(bytes, expected) in cases {
            assert_eq!(looks_like_handshake(bytes), expected, "{bytes:?}");
        }
    }

    /// A ServerHello body: TLS 1.2 legacy version, `random`, cipher, extensions.
    fn server_hello(random: [u8; 32], cipher: u16, extensions: &[Vec<u8>]) -> Vec<u8> {
        let mut body = vec![3, 3]; // legacy_version
        body.extend(random);
        body.extend(vec_of(1, &[0x22; 32])); // session ID echo
        body.extend(cipher.to_be_bytes());
        body.push(0); // compression
        body.extend(vec_of(2, &extensions.concat()));
        body
    }

    /// A Certificate body holding `certs`.
    fn certificate(certs: &[&[u8]]) -> Vec<u8> {
        let list: Vec<u8> = certs.iter().flat_map(|c| vec_of(3, c)).collect();
        vec_of(3, &list)
    }

    #[test]
    fn parse_server_hello_variants() {
        let tls13 = server_hello(
            [7; 32],
            0x1301,
            &[extension(43, &[3, 4]), extension(51, &[0, 0x1d, 0, 0])],
        );
        let hello = parse_server_hello(&tls13).expect("TLS 1.3");
        assert_eq!((hello.version, hello.cipher), (0x0304, 0x1301));
        assert_eq!(version_name(hello.version), "TLS 1.3");
        assert!(!hello.hello_retry_request);

        let hrr = server_hello(
            HELLO_RETRY_REQUEST_RANDOM,
            0x1302,
            &[extension(43, &[3, 4])],
        );
        assert!(parse_server_hello(&hrr).expect("HRR").hello_retry_request);

        let tls12 = server_hello(
            [7; 32],
            0xc02f,
            &[extension(16, &vec_of(2, &vec_of(1, b"h2")))],
        );
        let hello = parse_server_hello(&tls12).expect("TLS 1.2");
        assert_eq!((hello.version, hello.alpn.as_deref()), (0x0303, Some("h2")));

        // Malformed selected_version: flagged, version falls back to legacy.
        let bad = server_hello([7; 32], 0x1301, &[extension(43, &[3])]);
        let hello = parse_server_hello(&bad).expect("flagged");
        assert!(hello.flags.malformed_extension && hello.version == 0x0303);

        for len in 0..tls13.len() {
            // Only the prefix ending after the compression byte is a valid hello.
            if parse_server_hello(&tls13[..len]).is_ok() {
                assert_eq!(len, 2 + 32 + 33 + 2 + 1);
            }
        }
    }

    #[test]
    fn parse_certificate_leaf() {
        let body = certificate(&[EXAMPLE_CERT, b"second cert is never parsed"]);
        let cert = parse_certificate(&body).expect("ok").expect("leaf");
        assert_eq!(cert.subject, "C=US, O=Example Org, CN=example.com");
        assert_eq!(cert.issuer, cert.subject);
        assert_eq!(cert.common_name.as_deref(), Some("example.com"));
        assert_eq!(cert.sans, ["example.com", "*.example.com"]); // the IP SAN is not a DNS name

        assert_eq!(parse_certificate(&certificate(&[])), Ok(None));
        assert_eq!(
            parse_certificate(&certificate(&[b"not DER"])),
            Err(Error::BadCertificate { offset: 6 })
        );
        for len in 0..body.len() {
            assert!(parse_certificate(&body[..len]).is_err(), "prefix {len}");
        }
    }

    #[test]
    fn handshakes_server_flight() {
        let sh = message(SERVER_HELLO, &server_hello([7; 32], 0xc02f, &[]));
        let cert = message(CERTIFICATE, &certificate(&[EXAMPLE_CERT]));
        let done = message(14, &[]); // ServerHelloDone
        let ccs = record(20, &[1]);

        // All three in one record, then ChangeCipherSpec and "encrypted" handshake bytes.
        let one = record(22, &[sh.clone(), cert.clone(), done.clone()].concat());
        let stream = [one.clone(), ccs.clone(), record(22, &[0xee; 40])].concat();
        let (messages, consumed) = handshakes(&stream, 8).expect("flight");
        let types: Vec<u8> = messages.iter().map(|m| m.msg_type).collect();
        assert_eq!((types.as_slice(), consumed), (&[2, 11, 14][..], one.len()));
        assert!(messages.iter().all(|m| matches!(m.body, Cow::Borrowed(_))));
        let leaf = parse_certificate(&messages[1].body)
            .expect("ok")
            .expect("leaf");
        assert_eq!(leaf.common_name.as_deref(), Some("example.com"));

        // `max` stops early.
        assert_eq!(handshakes(&stream, 1).expect("ok").0.len(), 1);

        // ServerHello in its own record, Certificate split over two; stream cut mid-certificate.
        let (c1, c2) = cert.split_at(200);
        let stream = [record(22, &sh), record(22, c1), record(22, c2)].concat();
        let (messages, consumed) = handshakes(&stream, 8).expect("flight");
        assert_eq!((messages.len(), consumed), (2, stream.len()));
        assert_eq!(messages[1].body.as_ref(), &cert[4..]);
        let cut = &stream[..stream.len() - 1];
        let (messages, consumed) = handshakes(cut, 8).expect("partial");
        assert_eq!((messages.len(), consumed), (1, sh.len() + 5));

        // TLS 1.3: ServerHello, then ChangeCipherSpec and application data.
        let stream = [record(22, &sh), ccs, record(23, &[0xee; 40])].concat();
        assert_eq!(handshakes(&stream, 8).expect("ok").0.len(), 1);
    }

    #[test]
    fn handshake_message_without_records() {
        let msg = message(CLIENT_HELLO, &sample_body());
        let mut crypto = msg.clone();
        crypto.extend([2, 0]); // start of whatever follows
        let split = handshake_message(&crypto).expect("ok").expect("complete");
        assert_eq!((split.msg_type, split.consumed), (CLIENT_HELLO, msg.len()));
        assert!(parse_client_hello(&split.body).is_ok());
        for len in 0..msg.len() {
            assert_eq!(handshake_message(&msg[..len]), Ok(None));
        }
        assert_eq!(
            handshake_message(&[1, 0x01, 0x00, 0x01]),
            Err(Error::MessageTooLarge {
                offset: 0,
                length: MAX_HANDSHAKE_LEN + 1
            })
        );
    }

    #[test]
    fn grease_and_version_names() {
        let grease: Vec<u16> = (0..=0xffffu16).filter(|&v| is_grease(v)).collect();
        let expected: Vec<u16> = (0..16u16)
            .map(|i| (i << 12) | 0x0a00 | (i << 4) | 0x0a)
            .collect();
        assert_eq!(grease, expected);
        assert!(!is_grease(0x1a2a) && is_grease(0xfafa));

        let names = [
            (0x0304, "TLS 1.3"),
            (0x0303, "TLS 1.2"),
            (0x0302, "TLS 1.1"),
            (0x0301, "TLSv1"),
            (0x0300, "SSLv3"),
            (0x0200, "SSLv2"),
            (0x7f1c, "UNDETERMINED"),
            (0xfefd, "UNDETERMINED"),
        ];
        for (v, name) in names {
            assert_eq!(version_name(v), name);
        }
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
        let hello_stream = record(22, &message(CLIENT_HELLO, &sample_body()));
        let server_stream = record(
            22,
            &[
                message(
                    SERVER_HELLO,
                    &server_hello([7; 32], 0xc02f, &[extension(43, &[3, 3])]),
                ),
                message(CERTIFICATE, &certificate(&[EXAMPLE_CERT])),
            ]
            .concat(),
        );
        let bases = [hello_stream, server_stream];
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut parsed_ok = 0;
        for round in 0..10_000 {
            let mut bytes = bases[round % bases.len()].clone();
            let edits = 1 + next(&mut state) % 4;
            for _ in 0..edits {
                let roll = next(&mut state);
                let at = usize::try_from(roll >> 8).expect("64-bit usize") % bytes.len().max(1);
                let byte = roll.to_le_bytes()[0];
                match roll % 4 {
                    0 => bytes[at] ^= 1 << (byte % 8),
                    1 => bytes[at] = byte,
                    2 => bytes.truncate(at.max(6)),
                    _ => bytes.insert(at.min(bytes.len()), byte),
                }
            }
            if let Ok(Some(message)) = first_handshake(&bytes) {
                assert!(message.consumed <= bytes.len());
                assert!(message.body.len() <= MAX_HANDSHAKE_LEN);
                if let Ok(hello) = parse_client_hello(&message.body) {
                    parsed_ok += 1;
                    assert!(hello.alpn.len() <= MAX_ALPN_VALUES);
                    assert!(hello.sni.iter().all(|s| !s.contains(['\n', '\0'])));
                    let ja4 = crate::wire::ja::ja4(&hello, crate::wire::ja::Transport::Tcp);
                    assert_eq!(ja4.len(), 36);
                    let ja3 = crate::wire::ja::ja3_hash(&crate::wire::ja::ja3_string(&hello));
                    assert_eq!(ja3.len(), 32);
                }
                let _ = parse_server_hello(&message.body);
            }
            if let Ok((messages, consumed)) = handshakes(&bytes, 4) {
                assert!(consumed <= bytes.len() && messages.len() <= 4);
                for message in &messages {
                    let _ = parse_certificate(&message.body);
                    let _ = parse_server_hello(&message.body);
                }
            }
            // Bodies without a record layer too.
            let _ = parse_client_hello(bytes.get(9..).unwrap_or_default());
        }
        // The mutations must not all be fatal, or the loop would not reach the deep paths.
        assert!(parsed_ok > 500, "only {parsed_ok} mutants parsed");
    }
}
