//! FlexLM / FlexNet Publisher licence-manager messages, as far as they are readable in the clear.
//!
//! Flexera documents no wire format; the layouts here are the ones shared/reference/kms.md §9
//! collects from public reverse engineering (prusswan/flexnet's lmstat client, Metasploit's
//! lmgrd module, nmap's probes):
//!
//! - the client's hello: `'h'`, a check byte (the sum of the body but its last two bytes, mod 256),
//!   `"13"`, then NUL-padded fixed-width fields: user (21), host (33), vendor daemon (11),
//!   tty (33), 13 unknown bytes, pid (11), platform (13), two version bytes and 6 more;
//! - framed messages (FlexNet 11.10 and later): `0x2f`, a check byte (0x2f plus the sum of
//!   bytes 2 to 19, mod 256), a CRC, the total length and message type (big-endian), a UNIX time
//!   and padding to 20 bytes, then the body. The hello response (0x010e) carries the server's
//!   version at 20–21 and, from 24, its host name and daemon name; the redirect (0x0113) names
//!   the vendor daemon's host and port.
//!
//! [`parse`] takes untrusted bytes from the start of a message, returns `Ok(None)` until the
//! message is whole, and never panics. Strings are cut at their field or at
//! [`MAX_FIELD_LEN`]. The user name of a hello is never returned: it is personal, and the sensor
//! keeps metadata about hosts, not people.

use std::fmt;

/// Length of a client hello.
pub const HELLO_LEN: usize = 147;
/// Length of a framed message's header.
pub const FRAME_HEADER_LEN: usize = 20;
/// Longest framed message accepted (the length field is 16 bits; license files travel in
/// several messages).
pub const MAX_FRAME_LEN: usize = 16 * 1024;
/// Longest string kept from a message.
pub const MAX_FIELD_LEN: usize = 64;

/// Whether licence managers listen on a TCP port by default or by product documentation
/// (shared/reference/kms.md §9): lmgrd's 27000–27009 (FlexNet clients try them in turn), Ansys
/// 1055, SOLIDWORKS 25734, Siemens PLM 28000, COMSOL 1718 and 1719.
pub fn is_license_port(port: u16) -> bool {
    matches!(port, 27000..=27009 | 1055 | 1718 | 1719 | 25734 | 28000)
}

/// Framed message types that are known to occur (prusswan/flexnet `client.py`).
pub mod msg {
    /// License status (vendor daemon).
    pub const LICENSE_STATUS: u16 = 0x004e;
    /// Command request (to lmgrd).
    pub const COMMAND: u16 = 0x0108;
    /// Hello response.
    pub const HELLO_RESPONSE: u16 = 0x010e;
    /// Redirect to the vendor daemon.
    pub const REDIRECT: u16 = 0x0113;
    /// License usage (vendor daemon).
    pub const LICENSE_USAGE: u16 = 0x0114;
    /// Request for a vendor's licences.
    pub const LICENSE_SET_REQUEST: u16 = 0x0127;
    /// A vendor's licences.
    pub const LICENSE_SET: u16 = 0x0128;
    /// Request for a vendor's features.
    pub const FEATURES_REQUEST: u16 = 0x013b;
    /// Request for license status.
    pub const STATUS_REQUEST: u16 = 0x013c;
    /// Command response.
    pub const COMMAND_RESPONSE: u16 = 0x0146;
    /// Every type above.
    pub const KNOWN: [u16; 10] = [
        LICENSE_STATUS,
        COMMAND,
        HELLO_RESPONSE,
        REDIRECT,
        LICENSE_USAGE,
        LICENSE_SET_REQUEST,
        LICENSE_SET,
        FEATURES_REQUEST,
        STATUS_REQUEST,
        COMMAND_RESPONSE,
    ];
}

/// A client hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The client's host name.
    pub host: String,
    /// The vendor daemon asked for (empty when the client asks lmgrd itself).
    pub vendor: String,
    /// Platform, `x64_lsb`.
    pub platform: String,
    /// FlexNet version of the client, major and minor.
    pub version: (u8, u8),
}

/// What a framed message says, for the types read further.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameBody {
    /// The server's hello response: its version, host and daemon.
    HelloResponse {
        /// FlexNet version of the server.
        version: (u8, u8),
        /// The server's host name.
        host: String,
        /// The daemon that answered (`lmgrd` or a vendor daemon).
        daemon: String,
    },
    /// Where the vendor daemon listens.
    Redirect {
        /// Its host.
        host: String,
        /// Its port.
        port: u16,
    },
    /// Another known type.
    Other,
}

/// One message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A client hello.
    Hello(Hello),
    /// A framed message.
    Frame {
        /// Message type.
        kind: u16,
        /// What it says.
        body: FrameBody,
    },
}

/// Why bytes are not a FlexLM message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The first byte starts no known message.
    NotFlexlm,
    /// The check byte does not match.
    BadCheck,
    /// A length or type out of range.
    BadHeader,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFlexlm => write!(f, "not a FlexLM message"),
            Error::BadCheck => write!(f, "FlexLM check byte mismatch"),
            Error::BadHeader => write!(f, "FlexLM header out of range"),
        }
    }
}

impl std::error::Error for Error {}

/// The printable text of a NUL-terminated field, cut at [`MAX_FIELD_LEN`].
fn field(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let text: String = bytes[..end]
        .iter()
        .take(MAX_FIELD_LEN)
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '\u{fffd}'
            }
        })
        .collect();
    text
}

/// Parses the message at the start of `data`; `Ok(None)` until it is whole. Returns the message
/// and the bytes it occupies.
pub fn parse(data: &[u8]) -> Result<Option<(Message, usize)>, Error> {
    match data.first() {
        None => Ok(None),
        Some(b'h') => hello(data),
        Some(0x2f) => frame(data),
        Some(_) => Err(Error::NotFlexlm),
    }
}

fn hello(data: &[u8]) -> Result<Option<(Message, usize)>, Error> {
    if let Some(tag) = data.get(2..4.min(data.len()))
        && !b"13".starts_with(tag)
    {
        return Err(Error::NotFlexlm);
    }
    let Some(msg) = data.get(..HELLO_LEN) else {
        return Ok(None);
    };
    let body = &msg[4..];
    let sum = body[..body.len() - 2]
        .iter()
        .fold(0u8, |s, &b| s.wrapping_add(b));
    if sum != msg[1] {
        return Err(Error::BadCheck);
    }
    // Field offsets within the message (each field is its width plus a NUL).
    let hello = Hello {
        host: field(&msg[25..58]),
        vendor: field(&msg[58..69]),
        platform: field(&msg[126..139]),
        version: (msg[139], msg[140]),
    };
    Ok(Some((Message::Hello(hello), HELLO_LEN)))
}

fn frame(data: &[u8]) -> Result<Option<(Message, usize)>, Error> {
    let Some(head) = data.get(..FRAME_HEADER_LEN) else {
        return Ok(None);
    };
    let check = head[2..].iter().fold(0x2fu8, |s, &b| s.wrapping_add(b));
    if check != head[1] {
        return Err(Error::BadCheck);
    }
    let len = usize::from(u16::from_be_bytes([head[4], head[5]]));
    let kind = u16::from_be_bytes([head[6], head[7]]);
    if !(FRAME_HEADER_LEN..=MAX_FRAME_LEN).contains(&len) || !msg::KNOWN.contains(&kind) {
        return Err(Error::BadHeader);
    }
    let Some(whole) = data.get(..len) else {
        return Ok(None);
    };
    let body = match kind {
        msg::HELLO_RESPONSE => {
            let version = match whole.get(20..22) {
                Some(v) => (v[0], v[1]),
                None => return Err(Error::BadHeader),
            };
            let mut strings = whole
                .get(24..)
                .unwrap_or_default()
                .split(|&b| b == 0)
                .filter(|s| !s.is_empty());
            FrameBody::HelloResponse {
                version,
                host: strings.next().map(field).unwrap_or_default(),
                daemon: strings.next().map(field).unwrap_or_default(),
            }
        }
        msg::REDIRECT => {
            let payload = &whole[FRAME_HEADER_LEN..];
            let nul = payload
                .iter()
                .position(|&b| b == 0)
                .ok_or(Error::BadHeader)?;
            let port = payload
                .get(nul + 1..nul + 5)
                .map(|p| u32::from_be_bytes([p[0], p[1], p[2], p[3]]))
                .and_then(|p| u16::try_from(p).ok())
                .filter(|&p| p != 0)
                .ok_or(Error::BadHeader)?;
            FrameBody::Redirect {
                host: field(&payload[..nul]),
                port,
            }
        }
        _ => FrameBody::Other,
    };
    Ok(Some((Message::Frame { kind, body }, len)))
}

/// Builders of well-formed messages, for tests and fuzz seeds.
pub mod build {
    use super::{FRAME_HEADER_LEN, HELLO_LEN};

    /// A client hello as lmstat sends it.
    pub fn hello(user: &str, host: &str, vendor: &str, platform: &str) -> Vec<u8> {
        let mut body = Vec::new();
        for (text, width) in [
            (user, 20),
            (host, 32),
            (vendor, 10),
            ("/dev/pts/1", 32),
            ("\u{84}", 12),
            ("4242", 10),
            (platform, 12),
        ] {
            let mut f = text.as_bytes().to_vec();
            f.resize(width + 1, 0);
            body.extend_from_slice(&f);
        }
        body.extend_from_slice(&[11, 11]);
        body.extend_from_slice(b"78\x0014\x00");
        let sum = body[..body.len() - 2]
            .iter()
            .fold(0u8, |s, &b| s.wrapping_add(b));
        let mut msg = vec![b'h', sum, b'1', b'3'];
        msg.extend_from_slice(&body);
        debug_assert_eq!(msg.len(), HELLO_LEN);
        msg
    }

    /// A framed message of `kind` with `payload` after the 20-byte header. The CRC field is
    /// left zero: the parser checks only the check byte.
    pub fn frame(kind: u16, payload: &[u8]) -> Vec<u8> {
        let len = (FRAME_HEADER_LEN + payload.len()) as u16;
        let mut msg = vec![0x2f, 0, 0, 0];
        msg.extend_from_slice(&len.to_be_bytes());
        msg.extend_from_slice(&kind.to_be_bytes());
        msg.extend_from_slice(&1_800_000_000u32.to_be_bytes());
        msg.resize(FRAME_HEADER_LEN, 0);
        msg[1] = msg[2..].iter().fold(0x2fu8, |s, &b| s.wrapping_add(b));
        msg.extend_from_slice(payload);
        msg
    }

    /// A redirect to the vendor daemon at `host:port`.
    pub fn redirect(host: &str, port: u16) -> Vec<u8> {
        let mut p = host.as_bytes().to_vec();
        p.push(0);
        p.extend_from_slice(&u32::from(port).to_be_bytes());
        frame(super::msg::REDIRECT, &p)
    }

    /// A hello response from `daemon` on `host`.
    pub fn hello_response(host: &str, daemon: &str) -> Vec<u8> {
        let mut p = vec![11, 18, 0, 0];
        p.extend_from_slice(host.as_bytes());
        p.push(0);
        p.extend_from_slice(daemon.as_bytes());
        p.push(0);
        frame(super::msg::HELLO_RESPONSE, &p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hello_gives_host_vendor_platform_and_version_but_no_user() {
        let msg = build::hello("alice", "LAB-PC-07", "MLM", "x64_w6");
        let (m, used) = parse(&msg).unwrap().unwrap();
        assert_eq!(used, HELLO_LEN);
        assert_eq!(
            m,
            Message::Hello(Hello {
                host: "LAB-PC-07".into(),
                vendor: "MLM".into(),
                platform: "x64_w6".into(),
                version: (11, 11),
            })
        );
        assert!(!format!("{m:?}").contains("alice"));
    }

    #[test]
    fn frames_redirect_and_hello_response() {
        let (m, used) = parse(&build::redirect("lic.example.edu.cn", 27011))
            .unwrap()
            .unwrap();
        assert_eq!(used, 20 + 19 + 4);
        assert_eq!(
            m,
            Message::Frame {
                kind: msg::REDIRECT,
                body: FrameBody::Redirect {
                    host: "lic.example.edu.cn".into(),
                    port: 27011
                }
            }
        );
        let (m, _) = parse(&build::hello_response("licsrv", "lmgrd"))
            .unwrap()
            .unwrap();
        assert_eq!(
            m,
            Message::Frame {
                kind: msg::HELLO_RESPONSE,
                body: FrameBody::HelloResponse {
                    version: (11, 18),
                    host: "licsrv".into(),
                    daemon: "lmgrd".into()
                }
            }
        );
    }

    #[test]
    fn every_truncation_waits_and_every_flip_of_the_check_fails() {
        for whole in [
            build::hello("u", "h", "adskflex", "x64_w6"),
            build::redirect("h", 2080),
            build::hello_response("h", "MLM"),
        ] {
            for cut in 0..whole.len() {
                assert_eq!(parse(&whole[..cut]), Ok(None), "cut at {cut}");
            }
            let mut bad = whole.clone();
            bad[1] ^= 1;
            assert_eq!(parse(&bad), Err(Error::BadCheck));
        }
    }

    #[test]
    fn other_bytes_are_refused() {
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(Error::NotFlexlm));
        assert_eq!(parse(b"hello world"), Err(Error::NotFlexlm));
        // A frame of an unknown type, or shorter than its header.
        let mut odd = build::frame(0x7777, b"");
        assert_eq!(parse(&odd), Err(Error::BadHeader));
        odd = build::frame(msg::COMMAND, b"");
        odd[5] = 4;
        odd[1] = odd[2..20].iter().fold(0x2fu8, |s, &b| s.wrapping_add(b));
        assert_eq!(parse(&odd), Err(Error::BadHeader));
        // A redirect with no port.
        let bad = build::frame(msg::REDIRECT, b"host\0\0\0");
        assert_eq!(parse(&bad), Err(Error::BadHeader));
    }
}
