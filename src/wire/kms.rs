//! Microsoft Key Management Service (KMS) activation messages, protocol versions 4, 5 and 6.
//!
//! A KMS client calls opnum 0 of RPC interface 51c82175-844e-4750-b0d8-ec255555bc06 with one
//! byte array and gets one back (shared/reference/kms.md §2–§5, after Microsoft's *Volume
//! Activation 2.0 Operations Guide*, vlmcsd `kms.h`/`kms.c` and py-kms). This module unwraps the
//! NDR32 or NDR64 stub ([`request_payload`], [`response_payload`]) and decodes the messages
//! ([`decode_request`], [`decode_response`]). v4 is plaintext; v5 and v6 are AES-128-CBC with
//! public keys, so they decrypt passively; a message only decodes when its padding and its inner
//! version check out, which also keeps unrelated bytes from passing as KMS.
//!
//! Inputs are untrusted: nothing panics, every length is checked, and messages longer than
//! [`MAX_MESSAGE_LEN`] are refused, so decryption works in fixed stack buffers.

use super::dcerpc::Uuid;
use super::kms_aes::{BLOCK, RoundKeys};
use std::fmt;

/// The KMS RPC interface (MS-RPCE abstract syntax), version 1.0.
pub const INTERFACE: &str = "51c82175-844e-4750-b0d8-ec255555bc06";
/// NDR transfer syntax, version 2.
pub const NDR32: &str = "8a885d04-1ceb-11c9-9fe8-08002b104860";
/// NDR64 transfer syntax, version 1.
pub const NDR64: &str = "71710533-beba-4937-8319-b5dbef9ccc36";

/// Longest KMS message accepted. Real requests are 252 or 260 bytes and responses 160 to 260;
/// a generous bound still lets every decryption run in a stack buffer.
pub const MAX_MESSAGE_LEN: usize = 512;

/// Length of the request's base structure, common to all versions.
pub const REQUEST_BASE_LEN: usize = 236;

/// Longest ePID accepted, in bytes of UTF-16 including the terminating NUL. Real ePIDs are 49
/// characters (100 bytes).
pub const MAX_EPID_BYTES: usize = 128;

/// AES key of protocol v5 (vlmcsd `crypto.c` `AesKeyV5`, py-kms `pykms_RequestV5.py`).
const KEY_V5: [u8; 16] = [
    0xCD, 0x7E, 0x79, 0x6F, 0x2A, 0xB2, 0x5D, 0xCB, 0x55, 0xFF, 0xC8, 0xEF, 0x83, 0x64, 0xC4, 0x70,
];
/// AES key of protocol v6 (vlmcsd `crypto.c` `AesKeyV6`, py-kms `pykms_RequestV6.py`).
const KEY_V6: [u8; 16] = [
    0xA9, 0x4A, 0x41, 0x95, 0xE2, 0x01, 0x43, 0x2D, 0x9B, 0xCB, 0x46, 0x04, 0x05, 0xD8, 0x4A, 0x21,
];

/// The two ciphers a v5/v6 message may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cipher {
    V5,
    V6,
}

impl Cipher {
    fn round_keys(self) -> RoundKeys {
        match self {
            Cipher::V5 => RoundKeys::expand(&KEY_V5),
            Cipher::V6 => {
                // v6 alters the expanded schedule: byte 0 of round keys 4, 6 and 8.
                let mut keys = RoundKeys::expand(&KEY_V6);
                keys.0[4][0] ^= 0x73;
                keys.0[6][0] ^= 0x09;
                keys.0[8][0] ^= 0xE4;
                keys
            }
        }
    }
}

/// Which NDR transfer syntax a call's stub uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ndr {
    /// NDR (32-bit), 8a885d04-….
    Ndr32,
    /// NDR64, 71710533-….
    Ndr64,
}

impl Ndr {
    /// The syntax a transfer-syntax UUID names, if it is one of the two.
    pub fn of(uuid: &Uuid) -> Option<Ndr> {
        let text = uuid.to_string();
        match text.as_str() {
            NDR32 => Some(Ndr::Ndr32),
            NDR64 => Some(Ndr::Ndr64),
            _ => None,
        }
    }

    /// `NDR32` or `NDR64`.
    pub fn as_str(self) -> &'static str {
        match self {
            Ndr::Ndr32 => "NDR32",
            Ndr::Ndr64 => "NDR64",
        }
    }

    fn word(self) -> usize {
        match self {
            Ndr::Ndr32 => 4,
            Ndr::Ndr64 => 8,
        }
    }
}

/// Why bytes are not a KMS message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// Shorter than the structure needs; the offset where reading stopped.
    Truncated(usize),
    /// The NDR framing's sizes disagree or exceed [`MAX_MESSAGE_LEN`].
    BadStub,
    /// Neither key gives valid padding and a matching inner version.
    Undecryptable,
    /// A protocol major version below 4.
    UnknownVersion(u16),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Truncated(at) => write!(f, "KMS message truncated at offset {at}"),
            Error::BadStub => write!(f, "NDR stub sizes disagree"),
            Error::Undecryptable => write!(f, "no KMS key decrypts the message"),
            Error::UnknownVersion(v) => write!(f, "KMS protocol major version {v}"),
        }
    }
}

impl std::error::Error for Error {}

/// A protocol version, major.minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Major version: 4, 5 or 6 in practice.
    pub major: u16,
    /// Minor version, 0 in practice.
    pub minor: u16,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A decoded activation request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Protocol version.
    pub version: Version,
    /// Whether the client says it is a virtual machine.
    pub is_client_vm: bool,
    /// Licence status: 0 unlicensed, 1 licensed, 2 OOB grace, 3 OOT grace, 4 non-genuine
    /// grace, 5 notification, 6 extended grace.
    pub license_status: u32,
    /// Minutes left in the current licence state.
    pub grace_minutes: u32,
    /// Application (Windows, Office 2010, Office 2013+).
    pub application_id: Uuid,
    /// The edition (activation id).
    pub sku_id: Uuid,
    /// The product group the host counts.
    pub kms_counted_id: Uuid,
    /// Client machine id, stable per installation.
    pub client_machine_id: Uuid,
    /// Activation threshold the client asks for (25 Windows clients, 5 servers and Office).
    pub required_client_count: u32,
    /// Client clock as a Windows FILETIME.
    pub request_time: u64,
    /// Previous client machine id, usually nil.
    pub previous_client_machine_id: Uuid,
    /// Workstation name (FQDN or NetBIOS name), up to 64 UTF-16 units.
    pub machine_name: String,
    /// Bytes of the message on the wire.
    pub len: usize,
}

/// A decoded activation response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Protocol version.
    pub version: Version,
    /// The host's extended product id.
    pub epid: String,
    /// Client machine id echoed from the request.
    pub client_machine_id: Uuid,
    /// Request time echoed from the request.
    pub request_time: u64,
    /// Clients the host has counted.
    pub current_count: u32,
    /// Minutes between activation retries.
    pub activation_interval: u32,
    /// Minutes between renewals.
    pub renewal_interval: u32,
    /// The host's hardware id (v6 only).
    pub hwid: Option<[u8; 8]>,
    /// Bytes of the message on the wire.
    pub len: usize,
}

/// A response stub: the KMS message, empty when the call failed, and the call's HRESULT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseStub<'a> {
    /// The KMS response message; empty on failure.
    pub message: &'a [u8],
    /// HRESULT of the call (0 on success).
    pub hresult: u32,
}

fn uint(data: &[u8], at: usize, width: usize) -> Result<u64, Error> {
    let b = at
        .checked_add(width)
        .and_then(|end| data.get(at..end))
        .ok_or(Error::Truncated(at))?;
    Ok(b.iter().rev().fold(0u64, |v, &x| v << 8 | u64::from(x)))
}

fn u32_at(data: &[u8], at: usize) -> Result<u32, Error> {
    uint(data, at, 4).map(|v| v as u32)
}

fn uuid_at(data: &[u8], at: usize) -> Result<Uuid, Error> {
    let mut u = [0u8; 16];
    u.copy_from_slice(data.get(at..at + 16).ok_or(Error::Truncated(at))?);
    Ok(Uuid(u))
}

fn version_at(data: &[u8]) -> Result<Version, Error> {
    Ok(Version {
        minor: uint(data, 0, 2)? as u16,
        major: uint(data, 2, 2)? as u16,
    })
}

/// The KMS request inside a request stub: `size`, `max_count`, then the bytes.
pub fn request_payload(stub: &[u8], ndr: Ndr) -> Result<&[u8], Error> {
    let w = ndr.word();
    let size = uint(stub, 0, w)?;
    let count = uint(stub, w, w)?;
    let size = usize::try_from(size).map_err(|_| Error::BadStub)?;
    if u64::try_from(size).ok() != Some(count) || size > MAX_MESSAGE_LEN {
        return Err(Error::BadStub);
    }
    stub.get(2 * w..2 * w + size).ok_or(Error::Truncated(2 * w))
}

/// The KMS response and HRESULT inside a response stub: `size`, a pointer, then (when the
/// pointer is not null) `max_count` and the bytes, padding to 4, and the HRESULT.
pub fn response_payload(stub: &[u8], ndr: Ndr) -> Result<ResponseStub<'_>, Error> {
    let w = ndr.word();
    let size = usize::try_from(uint(stub, 0, w)?).map_err(|_| Error::BadStub)?;
    let referent = uint(stub, w, w)?;
    if referent == 0 {
        return Ok(ResponseStub {
            message: &[],
            hresult: u32_at(stub, 2 * w)?,
        });
    }
    let count = uint(stub, 2 * w, w)?;
    if u64::try_from(size).ok() != Some(count) || size > MAX_MESSAGE_LEN {
        return Err(Error::BadStub);
    }
    let start = 3 * w;
    let message = stub
        .get(start..start + size)
        .ok_or(Error::Truncated(start))?;
    let hresult = u32_at(stub, (start + size).next_multiple_of(4))?;
    Ok(ResponseStub { message, hresult })
}

/// Decrypts `cipher` (whole blocks) with `iv` into `buf` and returns the plaintext without its
/// PKCS#7 padding, if the padding is valid.
fn decrypt<'b>(
    cipher: Cipher,
    iv: &[u8; BLOCK],
    data: &[u8],
    buf: &'b mut [u8; MAX_MESSAGE_LEN],
) -> Option<&'b [u8]> {
    if data.is_empty() || !data.len().is_multiple_of(BLOCK) || data.len() > buf.len() {
        return None;
    }
    let plain = &mut buf[..data.len()];
    plain.copy_from_slice(data);
    cipher.round_keys().decrypt_cbc(iv, plain);
    let pad = usize::from(*plain.last()?);
    if pad == 0
        || pad > BLOCK
        || plain[plain.len() - pad..]
            .iter()
            .any(|&b| usize::from(b) != pad)
    {
        return None;
    }
    Some(&plain[..plain.len() - pad])
}

/// The ciphers to try for a message of this major version, likeliest first.
fn ciphers(major: u16) -> [Cipher; 2] {
    if major == 5 {
        [Cipher::V5, Cipher::V6]
    } else {
        [Cipher::V6, Cipher::V5]
    }
}

/// Decrypts a v5/v6 message (version, 16-byte IV, ciphertext) into `buf` with the first cipher
/// whose padding and inner version check out and whose plaintext holds at least `min_len` bytes;
/// returns the plaintext's length and the cipher.
fn decrypt_message(
    msg: &[u8],
    version: Version,
    min_len: usize,
    buf: &mut [u8; MAX_MESSAGE_LEN],
) -> Result<(usize, Cipher), Error> {
    let iv: [u8; BLOCK] = msg
        .get(4..4 + BLOCK)
        .and_then(|b| b.try_into().ok())
        .ok_or(Error::Truncated(4))?;
    let data = &msg[4 + BLOCK..];
    for cipher in ciphers(version.major) {
        if let Some(plain) = decrypt(cipher, &iv, data, buf)
            && plain.len() >= min_len
            && version_at(plain).ok() == Some(version)
        {
            return Ok((plain.len(), cipher));
        }
    }
    Err(Error::Undecryptable)
}

/// Decodes a KMS request message (the bytes inside the NDR stub).
pub fn decode_request(msg: &[u8]) -> Result<Request, Error> {
    let version = version_at(msg)?;
    let mut buf = [0u8; MAX_MESSAGE_LEN];
    if msg.len() > MAX_MESSAGE_LEN {
        return Err(Error::BadStub);
    }
    let base: &[u8] = match version.major {
        0..=3 => return Err(Error::UnknownVersion(version.major)),
        // v4: the base structure in clear, then a 16-byte CBC-MAC.
        4 => msg
            .get(..REQUEST_BASE_LEN + BLOCK)
            .map(|m| &m[..REQUEST_BASE_LEN])
            .ok_or(Error::Truncated(msg.len()))?,
        // v5, v6 (and later versions in the v6 layout): version, IV, then the encrypted base.
        _ => {
            decrypt_message(msg, version, REQUEST_BASE_LEN, &mut buf)?;
            &buf[..REQUEST_BASE_LEN]
        }
    };
    let name: Vec<u16> = base[108..236]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    Ok(Request {
        version,
        is_client_vm: u32_at(base, 4)? != 0,
        license_status: u32_at(base, 8)?,
        grace_minutes: u32_at(base, 12)?,
        application_id: uuid_at(base, 16)?,
        sku_id: uuid_at(base, 32)?,
        kms_counted_id: uuid_at(base, 48)?,
        client_machine_id: uuid_at(base, 64)?,
        required_client_count: u32_at(base, 80)?,
        request_time: uint(base, 84, 8)?,
        previous_client_machine_id: uuid_at(base, 92)?,
        machine_name: crate::app::printable(&String::from_utf16_lossy(&name)),
        len: msg.len(),
    })
}

/// Decodes a KMS response message (the bytes inside the NDR stub).
pub fn decode_response(msg: &[u8]) -> Result<Response, Error> {
    let version = version_at(msg)?;
    if msg.len() > MAX_MESSAGE_LEN {
        return Err(Error::BadStub);
    }
    let mut buf = [0u8; MAX_MESSAGE_LEN];
    let (body, cipher) = match version.major {
        0..=3 => return Err(Error::UnknownVersion(version.major)),
        4 => (msg, None),
        // The server encrypts from the IV field on under a null IV, so the first 16 bytes after
        // the version serve as the IV of the rest.
        _ => {
            let (len, cipher) = decrypt_message(msg, version, 0, &mut buf)?;
            (&buf[..len], Some(cipher))
        }
    };
    let pid_size = usize::try_from(u32_at(body, 4)?).map_err(|_| Error::BadStub)?;
    if pid_size > MAX_EPID_BYTES || !pid_size.is_multiple_of(2) {
        return Err(Error::BadStub);
    }
    let epid_bytes = body.get(8..8 + pid_size).ok_or(Error::Truncated(8))?;
    let epid: Vec<u16> = epid_bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    let at = 8 + pid_size;
    // After the base: v5 adds RandomXoredIVs (16) and a hash (32); v6 then the HwId.
    let base_end = at + 16 + 8 + 12;
    let hwid = match cipher {
        Some(Cipher::V6) => {
            let off = base_end + 16 + 32;
            let b = body.get(off..off + 8).ok_or(Error::Truncated(off))?;
            let mut h = [0u8; 8];
            h.copy_from_slice(b);
            Some(h)
        }
        _ => None,
    };
    Ok(Response {
        version,
        epid: crate::app::printable(&String::from_utf16_lossy(&epid)),
        client_machine_id: uuid_at(body, at)?,
        request_time: uint(body, at + 16, 8)?,
        current_count: u32_at(body, at + 24)?,
        activation_interval: u32_at(body, at + 28)?,
        renewal_interval: u32_at(body, at + 32)?,
        hwid,
        len: msg.len(),
    })
}

/// What an ePID says about the KMS host that issued it
/// (`06401-00206-471-111111-03-1033-17763.0000-2822018`, shared/reference/kms.md §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpidInfo {
    /// Platform id of the host's operating system.
    pub platform_id: u32,
    /// Group id of the host key (CSVLK).
    pub group_id: u32,
    /// Licence channel (03 volume).
    pub channel: u32,
    /// Language id of the host.
    pub lcid: u32,
    /// Build number of the host's operating system.
    pub host_build: u32,
    /// Day the host was activated, `YYYY-MM-DD`, when the ePID's last field is a valid date.
    pub activation_date: Option<String>,
}

/// Reads the fields of an ePID; `None` if it does not have the usual shape.
pub fn epid_info(epid: &str) -> Option<EpidInfo> {
    let parts: Vec<&str> = epid.split('-').collect();
    let [platform, group, _key1, _key2, channel, lcid, build, date] = parts.as_slice() else {
        return None;
    };
    let num = |s: &str| {
        (!s.is_empty() && s.len() <= 9 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u32>().ok())
            .flatten()
    };
    let (build, _) = build.split_once('.').unwrap_or((build, ""));
    // Day of year (3 digits) and year (4); checked as ASCII digits before it is cut, since an
    // ePID is text the server chose.
    let activation_date = (date.len() == 7 && date.bytes().all(|b| b.is_ascii_digit()))
        .then(|| Some((num(date.get(..3)?)?, num(date.get(3..)?)?)))
        .flatten()
        .and_then(|(day, year)| date_of(year, day));
    Some(EpidInfo {
        platform_id: num(platform)?,
        group_id: num(group)?,
        channel: num(channel)?,
        lcid: num(lcid)?,
        host_build: num(build)?,
        activation_date,
    })
}

/// `YYYY-MM-DD` of day `day` (1-based) of `year`.
fn date_of(year: u32, day: u32) -> Option<String> {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let months = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut left = day;
    if !(1900..=9999).contains(&year) || left == 0 {
        return None;
    }
    for (m, &len) in months.iter().enumerate() {
        if left <= len {
            return Some(format!("{year:04}-{:02}-{left:02}", m + 1));
        }
        left -= len;
    }
    None
}

/// Microsoft's name for an HRESULT a KMS host returns, for the common ones (Microsoft Learn,
/// "Resolve Windows activation error codes"; vlmcsd(8) for 0x8007000D).
pub fn hresult_name(hresult: u32) -> Option<&'static str> {
    Some(match hresult {
        0 => "S_OK",
        0x8007_000D => "ERROR_INVALID_DATA (protocol version not accepted)",
        0xC004_F038 => "SL_E_VL_NOT_ENOUGH_COUNT (the KMS count is insufficient)",
        0xC004_F039 => "SL_E_VL_NOT_ENABLED_CLIENT (the KMS host is not enabled)",
        0xC004_F041 => "SL_E_VL_MACHINE_NOT_BOUND (the KMS host is not activated)",
        0xC004_F042 => {
            "SL_E_VL_KEY_MANAGEMENT_SERVICE_ID_MISMATCH (the KMS host refused the product)"
        }
        0xC004_F06C => "SL_E_VL_BINDING_SERVICE_NOT_ENABLED (request time out of range)",
        _ => return None,
    })
}

/// A FILETIME (100 ns since 1601-01-01) as microseconds since the Unix epoch.
pub fn filetime_to_unix_micros(filetime: u64) -> i64 {
    const EPOCH_DIFFERENCE_MICROS: i64 = 11_644_473_600 * 1_000_000;
    // filetime / 10 is below 2^61, so it fits an i64 and the subtraction cannot overflow.
    (filetime / 10) as i64 - EPOCH_DIFFERENCE_MICROS
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

    /// Request and response stubs of the NDR32 call in
    /// shared/data/kms/kms_v6_win10_pro_2req_ndr32_ndr64_vlmcsd.pcap, decoded by hand in
    /// shared/data/kms/expected.json.
    const V6_REQUEST_STUB: &str = include_str!("../../tests/data/kms/v6_request_stub.hex");
    const V6_RESPONSE_STUB: &str = include_str!("../../tests/data/kms/v6_response_stub.hex");

    #[test]
    fn decodes_a_v6_request() {
        let stub = hex(V6_REQUEST_STUB.trim());
        let msg = request_payload(&stub, Ndr::Ndr32).unwrap();
        let r = decode_request(msg).unwrap();
        assert_eq!(r.version.to_string(), "6.0");
        assert_eq!(r.machine_name, "TWO-REQ-PC.campus.example");
        assert_eq!(r.sku_id.to_string(), "2de67392-b7a7-462a-b1ca-108dd189f588");
        assert_eq!(
            r.client_machine_id.to_string(),
            "11111111-0000-4000-8000-000000000018"
        );
        assert_eq!((r.license_status, r.grace_minutes), (2, 43200));
        assert_eq!(r.required_client_count, 25);
        assert_eq!(r.request_time, 134_408_561_310_000_000);
        assert_eq!(r.len, 260);
    }

    #[test]
    fn decodes_a_v6_response() {
        let stub = hex(V6_RESPONSE_STUB.trim());
        let s = response_payload(&stub, Ndr::Ndr32).unwrap();
        assert_eq!(s.hresult, 0);
        let r = decode_response(s.message).unwrap();
        assert_eq!(r.epid, "06401-00206-471-111111-03-1033-17763.0000-2822018");
        assert_eq!(r.hwid, Some([1, 2, 3, 4, 5, 6, 7, 8]));
        assert_eq!(
            (r.current_count, r.activation_interval, r.renewal_interval),
            (50, 120, 10080)
        );
        assert_eq!(r.request_time, 134_408_561_310_000_000);
    }

    #[test]
    fn tampering_fails_the_padding_or_version_check() {
        let stub = hex(V6_REQUEST_STUB.trim());
        let msg = request_payload(&stub, Ndr::Ndr32).unwrap().to_vec();
        // Byte 243 ends the second-to-last block: in CBC it flips the last padding byte.
        // Byte 259 garbles the whole last block. Byte 2 makes the outer major version 7, no
        // longer the inner one.
        for i in [243, 259, 2] {
            let mut bad = msg.clone();
            bad[i] ^= 0x01;
            assert_eq!(decode_request(&bad), Err(Error::Undecryptable), "byte {i}");
        }
    }

    #[test]
    fn every_truncation_fails_cleanly() {
        let stub = hex(V6_REQUEST_STUB.trim());
        let msg = request_payload(&stub, Ndr::Ndr32).unwrap();
        for cut in 0..msg.len() {
            assert!(decode_request(&msg[..cut]).is_err(), "request cut at {cut}");
        }
        for cut in 0..stub.len() {
            assert!(request_payload(&stub[..cut], Ndr::Ndr32).is_err());
        }
        let stub = hex(V6_RESPONSE_STUB.trim());
        let msg = response_payload(&stub, Ndr::Ndr32).unwrap().message;
        for cut in 0..msg.len() {
            assert!(
                decode_response(&msg[..cut]).is_err(),
                "response cut at {cut}"
            );
        }
        for cut in 0..stub.len() {
            assert!(response_payload(&stub[..cut], Ndr::Ndr32).is_err());
        }
    }

    #[test]
    fn error_stub_carries_only_the_hresult() {
        let stub = hex("00000000000000000d000780");
        assert_eq!(
            response_payload(&stub, Ndr::Ndr32),
            Ok(ResponseStub {
                message: &[],
                hresult: 0x8007_000D
            })
        );
        assert!(hresult_name(0x8007_000D).is_some());
    }

    #[test]
    fn stub_sizes_must_agree_and_stay_bounded() {
        assert_eq!(
            request_payload(&hex("0401000005010000"), Ndr::Ndr32),
            Err(Error::BadStub)
        );
        assert_eq!(
            request_payload(&hex("ffffffffffffffff"), Ndr::Ndr32),
            Err(Error::BadStub)
        );
        assert_eq!(
            request_payload(&hex("04000000000000000400000000000000aabbccdd"), Ndr::Ndr64),
            Ok(&[0xaa, 0xbb, 0xcc, 0xdd][..])
        );
    }

    #[test]
    fn epid_fields() {
        let info = epid_info("06401-00206-471-111111-03-1033-17763.0000-2822018").unwrap();
        assert_eq!(
            (
                info.platform_id,
                info.group_id,
                info.channel,
                info.lcid,
                info.host_build
            ),
            (6401, 206, 3, 1033, 17763)
        );
        assert_eq!(info.activation_date.as_deref(), Some("2018-10-09"));
        let info = epid_info("06401-00206-271-999999-03-1033-17763.0000-0012026").unwrap();
        assert_eq!(info.activation_date.as_deref(), Some("2026-01-01"));
        assert_eq!(
            epid_info("06401-00206-271-999999-03-1033-17763.0000-3672024")
                .unwrap()
                .activation_date,
            None,
            "day 367"
        );
        assert_eq!(epid_info("not-an-epid"), None);
        // A date field of seven bytes that are not seven ASCII digits.
        let odd = epid_info("06401-00206-471-111111-03-1033-17763.0000-aaéxxx").unwrap();
        assert_eq!(odd.activation_date, None);
    }

    #[test]
    fn the_largest_filetime_converts_without_overflow() {
        assert!(filetime_to_unix_micros(u64::MAX) > 0);
        assert!(filetime_to_unix_micros(0) < 0);
    }

    #[test]
    fn filetime_converts_to_unix_time() {
        // 134408561310000000 is 2026-12-04T11:08:51Z, the day the shared corpus was captured.
        assert_eq!(
            filetime_to_unix_micros(134_408_561_310_000_000),
            1_796_382_531_000_000
        );
    }
}
