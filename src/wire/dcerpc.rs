//! Connection-oriented DCE/RPC PDUs (`ncacn_ip_tcp`), as far as a passive KMS decoder needs.
//!
//! Layouts follow the C706 DCE 1.1 RPC specification §12.6 and Microsoft's MS-RPCE §2.2.2:
//! a 16-byte common header, then bind and alter_context (presentation context lists), their
//! acknowledgments (result lists), request, response and fault. [`parse`] takes untrusted bytes
//! from the start of a PDU and returns `Ok(None)` while the PDU is incomplete. It never panics:
//! every read is bounds-checked, a PDU longer than [`MAX_FRAG_LEN`] is refused before it is
//! waited for, and the lists it returns are capped by the constants below.

use std::fmt;

/// Length of the common header.
pub const HEADER_LEN: usize = 16;

/// Longest PDU accepted. Clients negotiate fragments of at most 5840 bytes for KMS, Windows
/// uses up to 5840 or 4280 elsewhere; anything longer is not a conversation worth buffering.
pub const MAX_FRAG_LEN: usize = 16 * 1024;

/// Presentation context items kept from a bind or alter_context. KMS clients offer three;
/// n_context_elem is a byte, so a hostile bind could otherwise claim 255.
pub const MAX_CONTEXT_ITEMS: usize = 16;

/// Transfer syntaxes kept per context item (n_transfer_syn is a byte too).
pub const MAX_TRANSFER_SYNTAXES: usize = 8;

/// PDU types (C706 §12.6.4.1) this module decodes.
pub mod ptype {
    /// A call's request.
    pub const REQUEST: u8 = 0;
    /// A call's response.
    pub const RESPONSE: u8 = 2;
    /// A call that failed at the RPC layer.
    pub const FAULT: u8 = 3;
    /// Association setup with presentation contexts.
    pub const BIND: u8 = 11;
    /// The server's answer to a bind.
    pub const BIND_ACK: u8 = 12;
    /// The server's refusal of a bind.
    pub const BIND_NAK: u8 = 13;
    /// More presentation contexts on an existing association.
    pub const ALTER_CONTEXT: u8 = 14;
    /// The server's answer to an alter_context.
    pub const ALTER_CONTEXT_RESP: u8 = 15;
}

/// pfc_flags bit: first fragment of a call.
pub const PFC_FIRST_FRAG: u8 = 0x01;
/// pfc_flags bit: last fragment of a call.
pub const PFC_LAST_FRAG: u8 = 0x02;
/// pfc_flags bit: an object UUID follows the request header.
pub const PFC_OBJECT_UUID: u8 = 0x80;

/// A UUID as it appears on the wire (NDR little-endian: the first three fields byte-swapped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The UUID whose text form is `s` (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`), for constants
    /// and tests; `None` if `s` is not one.
    pub fn parse(s: &str) -> Option<Uuid> {
        let hex: Vec<u8> = s.bytes().filter(|&b| b != b'-').collect();
        if hex.len() != 32 || s.len() != 36 {
            return None;
        }
        let mut text = [0u8; 16];
        for (i, pair) in hex.chunks(2).enumerate() {
            let pair = std::str::from_utf8(pair).ok()?;
            text[i] = u8::from_str_radix(pair, 16).ok()?;
        }
        let mut wire = text;
        wire[..4].reverse();
        wire[4..6].reverse();
        wire[6..8].reverse();
        Some(Uuid(wire))
    }

    /// Whether every byte is zero.
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
            b[3],
            b[2],
            b[1],
            b[0],
            b[5],
            b[4],
            b[7],
            b[6],
            b[8],
            b[9],
            b[10],
            b[11],
            b[12],
            b[13],
            b[14],
            b[15]
        )
    }
}

/// An interface or transfer syntax: UUID and version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyntaxId {
    /// The syntax's UUID.
    pub uuid: Uuid,
    /// Major version in the low 16 bits, minor in the high 16 bits.
    pub version: u32,
}

/// One presentation context a client proposes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextItem {
    /// Presentation context id, used by later requests.
    pub id: u16,
    /// The interface.
    pub abstract_syntax: SyntaxId,
    /// Transfer syntaxes offered for it (at most [`MAX_TRANSFER_SYNTAXES`]).
    pub transfer_syntaxes: Vec<SyntaxId>,
}

/// The server's answer to one proposed context, in the order of the proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContextResult {
    /// 0 acceptance, 1 user rejection, 2 provider rejection, 3 negotiate acknowledgment.
    pub result: u16,
    /// The transfer syntax chosen when accepted.
    pub transfer_syntax: SyntaxId,
}

/// What follows the common header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body<'a> {
    /// bind or alter_context: proposed contexts.
    Bind(Vec<ContextItem>),
    /// bind_ack or alter_context_resp: one result per proposed context.
    BindAck(Vec<ContextResult>),
    /// A request fragment.
    Request {
        /// Presentation context of the call.
        context_id: u16,
        /// Operation number.
        opnum: u16,
        /// Stub data of this fragment.
        stub: &'a [u8],
    },
    /// A response fragment.
    Response {
        /// Presentation context of the call.
        context_id: u16,
        /// Stub data of this fragment.
        stub: &'a [u8],
    },
    /// A fault.
    Fault {
        /// Presentation context of the call.
        context_id: u16,
        /// The fault status (MS-RPCE §2.2.2.11 lists the values).
        status: u32,
    },
    /// Any other PDU type, including bind_nak.
    Other,
}

/// A whole PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu<'a> {
    /// PDU type.
    pub ptype: u8,
    /// pfc_flags.
    pub flags: u8,
    /// Call id, pairing requests with responses.
    pub call_id: u32,
    /// Bytes the PDU occupies (frag_length).
    pub len: usize,
    /// The type-specific part.
    pub body: Body<'a>,
}

/// Why bytes are not a PDU this module accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Not RPC version 5.0/5.1 with a known data representation.
    NotRpc,
    /// frag_length shorter than the header or longer than [`MAX_FRAG_LEN`].
    BadLength(usize),
    /// A field runs past the end of the PDU; the offset where reading stopped.
    Truncated(usize),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotRpc => write!(f, "not a DCE/RPC v5 PDU"),
            Error::BadLength(n) => write!(f, "fragment length {n} out of range"),
            Error::Truncated(at) => write!(f, "PDU truncated at offset {at}"),
        }
    }
}

impl std::error::Error for Error {}

/// Reads integers in the PDU's byte order.
struct Reader<'a> {
    data: &'a [u8],
    little_endian: bool,
}

impl<'a> Reader<'a> {
    fn bytes(&self, at: usize, n: usize) -> Result<&'a [u8], Error> {
        at.checked_add(n)
            .and_then(|end| self.data.get(at..end))
            .ok_or(Error::Truncated(at))
    }

    fn u8(&self, at: usize) -> Result<u8, Error> {
        self.data.get(at).copied().ok_or(Error::Truncated(at))
    }

    fn u16(&self, at: usize) -> Result<u16, Error> {
        let b: [u8; 2] = self
            .bytes(at, 2)?
            .try_into()
            .map_err(|_| Error::Truncated(at))?;
        Ok(if self.little_endian {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, at: usize) -> Result<u32, Error> {
        let b: [u8; 4] = self
            .bytes(at, 4)?
            .try_into()
            .map_err(|_| Error::Truncated(at))?;
        Ok(if self.little_endian {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn syntax(&self, at: usize) -> Result<SyntaxId, Error> {
        let mut uuid = [0u8; 16];
        uuid.copy_from_slice(self.bytes(at, 16)?);
        if !self.little_endian {
            uuid[..4].reverse();
            uuid[4..6].reverse();
            uuid[6..8].reverse();
        }
        Ok(SyntaxId {
            uuid: Uuid(uuid),
            version: self.u32(at + 16)?,
        })
    }
}

/// Whether `data` starts like a DCE/RPC connection-oriented PDU of type `ptype`: cheap enough
/// to try on the first bytes of every TCP stream.
pub fn starts_pdu(data: &[u8], ptype: u8) -> bool {
    matches!(data, [5, 0 | 1, t, _, drep, ..] if *t == ptype && (*drep & 0xe0) == 0 && (*drep & 0x0f) == 0)
}

/// Parses the PDU at the start of `data`: `Ok(None)` until all of it is there.
pub fn parse(data: &[u8]) -> Result<Option<Pdu<'_>>, Error> {
    if data.len() < HEADER_LEN {
        return match data {
            [] | [5] | [5, 0 | 1] | [5, 0 | 1, ..] => Ok(None),
            _ => Err(Error::NotRpc),
        };
    }
    let (version, minor, ptype, flags, drep) = (data[0], data[1], data[2], data[3], data[4]);
    if version != 5 || minor > 1 || drep & 0xe0 != 0 || drep & 0x0f != 0 {
        return Err(Error::NotRpc);
    }
    let little_endian = drep & 0x10 != 0;
    let head = Reader {
        data,
        little_endian,
    };
    let len = usize::from(head.u16(8)?);
    if !(HEADER_LEN..=MAX_FRAG_LEN).contains(&len) {
        return Err(Error::BadLength(len));
    }
    let Some(pdu) = data.get(..len) else {
        return Ok(None);
    };
    let r = Reader {
        data: pdu,
        little_endian,
    };
    let auth_len = usize::from(r.u16(10)?);
    let call_id = r.u32(12)?;
    // The authentication verifier (8-byte sec_trailer and auth_len bytes) ends the PDU.
    let body_end = if auth_len == 0 {
        len
    } else {
        len.checked_sub(auth_len + 8)
            .filter(|&e| e >= HEADER_LEN)
            .ok_or(Error::Truncated(len))?
    };
    let body = match ptype {
        ptype::BIND | ptype::ALTER_CONTEXT => Body::Bind(contexts(&r, 24)?),
        ptype::BIND_ACK | ptype::ALTER_CONTEXT_RESP => {
            // max_xmit, max_recv, assoc_group, then the secondary address and padding to 4.
            let addr_len = usize::from(r.u16(24)?);
            let after = 26 + addr_len;
            let list = after.next_multiple_of(4);
            Body::BindAck(results(&r, list)?)
        }
        ptype::REQUEST => {
            let context_id = r.u16(20)?;
            let opnum = r.u16(22)?;
            let start = if flags & PFC_OBJECT_UUID != 0 { 40 } else { 24 };
            Body::Request {
                context_id,
                opnum,
                stub: pdu.get(start..body_end).ok_or(Error::Truncated(start))?,
            }
        }
        ptype::RESPONSE => Body::Response {
            context_id: r.u16(20)?,
            stub: pdu.get(24..body_end).ok_or(Error::Truncated(24))?,
        },
        ptype::FAULT => Body::Fault {
            context_id: r.u16(20)?,
            status: r.u32(24)?,
        },
        _ => Body::Other,
    };
    Ok(Some(Pdu {
        ptype,
        flags,
        call_id,
        len,
        body,
    }))
}

/// The p_cont_list_t at `at`: a count byte, three reserved bytes, then the items.
fn contexts(r: &Reader<'_>, at: usize) -> Result<Vec<ContextItem>, Error> {
    let count = usize::from(r.u8(at)?);
    let mut items = Vec::with_capacity(count.min(MAX_CONTEXT_ITEMS));
    let mut off = at + 4;
    for _ in 0..count {
        let id = r.u16(off)?;
        let n = usize::from(r.u8(off + 2)?);
        let abstract_syntax = r.syntax(off + 4)?;
        let mut transfer_syntaxes = Vec::with_capacity(n.min(MAX_TRANSFER_SYNTAXES));
        for i in 0..n {
            let syntax = r.syntax(off + 24 + 20 * i)?;
            if transfer_syntaxes.len() < MAX_TRANSFER_SYNTAXES {
                transfer_syntaxes.push(syntax);
            }
        }
        if items.len() < MAX_CONTEXT_ITEMS {
            items.push(ContextItem {
                id,
                abstract_syntax,
                transfer_syntaxes,
            });
        }
        off += 24 + 20 * n;
    }
    Ok(items)
}

/// The p_result_list_t at `at`.
fn results(r: &Reader<'_>, at: usize) -> Result<Vec<ContextResult>, Error> {
    let count = usize::from(r.u8(at)?);
    let mut out = Vec::with_capacity(count.min(MAX_CONTEXT_ITEMS));
    for i in 0..count.min(MAX_CONTEXT_ITEMS) {
        let off = at + 4 + 24 * i;
        out.push(ContextResult {
            result: r.u16(off)?,
            transfer_syntax: r.syntax(off + 4)?,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A bind vlmcs sent (shared/data/kms/kms_v6_win10_pro_2req_ndr32_ndr64_vlmcsd.pcap).
    const BIND: &str = "05000b1310000000a000000002000000d016d0160000000003000000000001007521c8514e845047b0d8ec255555bc0601000000045d888aeb1cc9119fe808002b10486002000000010001007521c8514e845047b0d8ec255555bc060100000033057171babe37498319b5dbef9ccc3601000000020001007521c8514e845047b0d8ec255555bc06010000002c1cb76c12984045030000000000000001000000";
    /// vlmcsd's bind_ack to it.
    const BIND_ACK: &str = "05000c13100000006c00000002000000d016d016083dd4510500313638380000030000000200020000000000000000000000000000000000000000000000000033057171babe37498319b5dbef9ccc3601000000030003000000000000000000000000000000000000000000";
    /// An error response: empty KMS payload, HRESULT 0x8007000D.
    const ERROR_RESPONSE: &str =
        "050002031000000024000000020000000c0000000000000000000000000000000d000780";

    #[test]
    fn uuid_text_round_trips_through_wire_order() {
        let u = Uuid::parse("51c82175-844e-4750-b0d8-ec255555bc06").unwrap();
        assert_eq!(u.0, hex("7521c8514e845047b0d8ec255555bc06").as_slice());
        assert_eq!(u.to_string(), "51c82175-844e-4750-b0d8-ec255555bc06");
        assert_eq!(Uuid::parse("51c82175844e4750b0d8ec255555bc06"), None);
        assert_eq!(Uuid::parse("51c82175-844e-4750-b0d8-ec255555bcxx"), None);
    }

    #[test]
    fn bind_lists_contexts_and_syntaxes() {
        let data = hex(BIND);
        assert!(starts_pdu(&data, ptype::BIND));
        let pdu = parse(&data).unwrap().unwrap();
        assert_eq!((pdu.ptype, pdu.call_id, pdu.len), (ptype::BIND, 2, 160));
        let Body::Bind(items) = pdu.body else {
            panic!("not a bind")
        };
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[0].abstract_syntax.uuid.to_string(),
            "51c82175-844e-4750-b0d8-ec255555bc06"
        );
        assert_eq!(items[0].abstract_syntax.version, 1);
        assert_eq!(
            items[1].transfer_syntaxes[0].uuid.to_string(),
            "71710533-beba-4937-8319-b5dbef9ccc36"
        );
        assert_eq!(items[2].id, 2);
    }

    #[test]
    fn bind_ack_skips_the_secondary_address() {
        let data = hex(BIND_ACK);
        let pdu = parse(&data).unwrap().unwrap();
        let Body::BindAck(results) = pdu.body else {
            panic!("not a bind_ack")
        };
        let codes: Vec<u16> = results.iter().map(|r| r.result).collect();
        assert_eq!(codes, [2, 0, 3]);
        assert_eq!(
            results[1].transfer_syntax.uuid.to_string(),
            "71710533-beba-4937-8319-b5dbef9ccc36"
        );
    }

    #[test]
    fn response_stub_excludes_the_header() {
        let data = hex(ERROR_RESPONSE);
        let pdu = parse(&data).unwrap().unwrap();
        assert_eq!(
            pdu.body,
            Body::Response {
                context_id: 0,
                stub: &hex("0000000000000000 0d000780".replace(' ', "").as_str())
            }
        );
    }

    #[test]
    fn every_truncation_waits_or_fails_cleanly() {
        for whole in [BIND, BIND_ACK, ERROR_RESPONSE] {
            let data = hex(whole);
            for cut in 0..data.len() {
                assert_eq!(parse(&data[..cut]), Ok(None), "{whole} cut at {cut}");
            }
        }
    }

    #[test]
    fn hostile_lengths_are_refused() {
        let mut data = hex(BIND);
        data[8..10].copy_from_slice(&8u16.to_le_bytes());
        assert_eq!(parse(&data), Err(Error::BadLength(8)));
        // A context count that claims more items than the PDU holds.
        let mut data = hex(BIND);
        data[24] = 200;
        assert!(matches!(parse(&data), Err(Error::Truncated(_))));
        // An auth length longer than the PDU.
        let mut data = hex(ERROR_RESPONSE);
        data[10..12].copy_from_slice(&100u16.to_le_bytes());
        assert!(matches!(parse(&data), Err(Error::Truncated(_))));
        assert_eq!(parse(b"GET / HTTP/1.1\r\n\r\n"), Err(Error::NotRpc));
        assert!(!starts_pdu(b"\x16\x03\x01", ptype::BIND));
    }

    #[test]
    fn big_endian_pdus_read_the_same() {
        // The error response rewritten in big-endian data representation.
        let mut data = hex(ERROR_RESPONSE);
        data[4] = 0x00;
        data[8..10].copy_from_slice(&36u16.to_be_bytes());
        data[12..16].copy_from_slice(&2u32.to_be_bytes());
        let pdu = parse(&data).unwrap().unwrap();
        assert_eq!((pdu.call_id, pdu.len), (2, 36));
    }
}
