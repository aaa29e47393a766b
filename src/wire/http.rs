//! HTTP/1.x request and response heads, seen at the start of a TCP stream on any port.
//!
//! [`looks_like_request`] and [`looks_like_response`] are cheap checks on the first
//! bytes, so binary streams are dropped after their first segment without running the
//! full parser. [`parse_request`] and [`parse_response`] run `httparse` over at most
//! [`MAX_HEAD_LEN`] bytes with a fixed header array (no allocation inside `httparse`).
//! None of these functions panics on any input, and every returned string is lossy
//! UTF-8 with control characters replaced and at most its documented cap in bytes.

use std::fmt;

/// Header slots given to `httparse`. Browsers send 10-20 headers and API clients fewer;
/// 64 fits any real head, and more makes the parse fail as `TooManyHeaders`.
pub const MAX_HEADERS: usize = 64;

/// Head bytes examined. Common servers reject heads over 8-16 KiB, so a head not
/// finished by 16 KiB is not traffic we need to understand; it also bounds the work.
pub const MAX_HEAD_LEN: usize = 16 * 1024;

/// Byte cap on the URI. Long query strings are common and 2048 keeps the path and the
/// useful start of the query, while bounding each inventory row.
pub const MAX_URI_LEN: usize = 2048;

/// Byte cap on other strings (method, Host, User-Agent, Server, Content-Type). Real
/// values fit well within 512; longer ones are padding or attacks and are cut.
pub const MAX_FIELD_LEN: usize = 512;

/// Method tokens accepted by the early check. RFC 9110 §9.1: "The method token is
/// case-sensitive", so only these exact upper-case spellings count.
const METHODS: &[&[u8]] = &[
    b"GET",
    b"POST",
    b"HEAD",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"CONNECT",
    b"PATCH",
    b"TRACE",
    // WebDAV (RFC 4918) and its extensions, common against file servers and NAS.
    b"PROPFIND",
    b"PROPPATCH",
    b"MKCOL",
    b"COPY",
    b"MOVE",
    b"LOCK",
    b"UNLOCK",
    b"SEARCH",
    b"REPORT",
    // UPnP eventing (GENA) runs HTTP/1.1 over TCP between devices.
    b"SUBSCRIBE",
    b"UNSUBSCRIBE",
    b"NOTIFY",
    // SSDP discovery (UPnP Device Architecture 2.0 §1.3), HTTP over UDP 1900.
    b"M-SEARCH",
];

/// Prefix every HTTP/1.x status line starts with.
const RESPONSE_PREFIX: &[u8] = b"HTTP/1.";

/// Fields kept from a request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Method token, e.g. "GET".
    pub method: String,
    /// Request target, capped at [`MAX_URI_LEN`] bytes.
    pub uri: String,
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// First Host header value.
    pub host: Option<String>,
    /// First User-Agent header value.
    pub user_agent: Option<String>,
    /// Bytes up to and including the blank line that ends the head.
    pub head_len: usize,
}

/// Fields kept from a response head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Minor version: 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Status code, e.g. 200.
    pub status: u16,
    /// First Server header value.
    pub server: Option<String>,
    /// First Content-Type header value.
    pub content_type: Option<String>,
    /// Bytes up to and including the blank line that ends the head.
    pub head_len: usize,
}

/// Why bytes are not (yet) a usable HTTP/1.x head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The first bytes are not a known method (or "HTTP/1." for responses).
    NotHttp,
    /// No end of head within [`MAX_HEAD_LEN`] bytes.
    TooLarge,
    /// The head starts like HTTP but `httparse` rejected it.
    Malformed(httparse::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotHttp => f.write_str("not an HTTP/1.x head"),
            Error::TooLarge => write!(f, "HTTP head not finished within {MAX_HEAD_LEN} bytes"),
            Error::Malformed(e) => write!(f, "malformed HTTP head: {e}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Malformed(e) => Some(e),
            _ => None,
        }
    }
}

/// True when `bytes` start with a known method and a space, or with a prefix of that.
pub fn looks_like_request(bytes: &[u8]) -> bool {
    METHODS.iter().any(|m| {
        // zip stops at the shorter side, so a short segment matches on its prefix.
        bytes
            .iter()
            .zip(m.iter().chain(std::iter::once(&b' ')))
            .all(|(a, b)| a == b)
    })
}

/// True when `bytes` start with "HTTP/1.", or with a prefix of it.
pub fn looks_like_response(bytes: &[u8]) -> bool {
    bytes.iter().zip(RESPONSE_PREFIX).all(|(a, b)| a == b)
}

/// Ok(Some(..)) when a whole head is present, Ok(None) when more bytes could complete it, Err(NotHttp/..) when these bytes are not an HTTP/1.x request.
pub fn parse_request(bytes: &[u8]) -> Result<Option<Request>, Error> {
    if !looks_like_request(bytes) {
        return Err(Error::NotHttp);
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let Some(head_len) = complete_len(req.parse(window(bytes)), bytes.len())? else {
        return Ok(None);
    };
    Ok(Some(Request {
        method: clean(req.method.unwrap_or_default().as_bytes(), MAX_FIELD_LEN),
        uri: clean(req.path.unwrap_or_default().as_bytes(), MAX_URI_LEN),
        version: req.version.unwrap_or_default(),
        host: header(req.headers, "host"),
        user_agent: header(req.headers, "user-agent"),
        head_len,
    }))
}

/// Ok(Some(..)) when a whole head is present, Ok(None) when more bytes could complete it, Err(NotHttp/..) when these bytes are not an HTTP/1.x response.
pub fn parse_response(bytes: &[u8]) -> Result<Option<Response>, Error> {
    if !looks_like_response(bytes) {
        return Err(Error::NotHttp);
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let Some(head_len) = complete_len(resp.parse(window(bytes)), bytes.len())? else {
        return Ok(None);
    };
    Ok(Some(Response {
        version: resp.version.unwrap_or_default(),
        status: resp.code.unwrap_or_default(),
        server: header(resp.headers, "server"),
        content_type: header(resp.headers, "content-type"),
        head_len,
    }))
}

/// The bytes handed to `httparse`: never more than [`MAX_HEAD_LEN`].
fn window(bytes: &[u8]) -> &[u8] {
    bytes.get(..MAX_HEAD_LEN).unwrap_or(bytes)
}

/// Maps an `httparse` result to the head length, None for "need more bytes", or an error.
fn complete_len(status: httparse::Result<usize>, available: usize) -> Result<Option<usize>, Error> {
    match status {
        Ok(httparse::Status::Complete(n)) => Ok(Some(n)),
        // A partial head can still finish only while we have not reached the cap.
        Ok(httparse::Status::Partial) if available < MAX_HEAD_LEN => Ok(None),
        Ok(httparse::Status::Partial) => Err(Error::TooLarge),
        Err(e) => Err(Error::Malformed(e)),
    }
}

/// First value of the header called `name`; RFC 9110 §5.1: "Field names are
/// case-insensitive".
fn header(headers: &[httparse::Header<'_>], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| clean(h.value, MAX_FIELD_LEN))
}

/// Lossy UTF-8 with control characters replaced by U+FFFD, cut to at most `cap` bytes.
fn clean(raw: &[u8], cap: usize) -> String {
    // Cutting the input first bounds the work; the output check below bounds the
    // result, since each replaced byte grows to three.
    let raw = raw.get(..cap).unwrap_or(raw);
    let mut out = String::new();
    for c in String::from_utf8_lossy(raw).chars() {
        let c = if c.is_control() {
            char::REPLACEMENT_CHARACTER
        } else {
            c
        };
        if out.len().saturating_add(c.len_utf8()) > cap {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: &[u8] = b"GET /msdownload/update/v3/static/trustedr/en/authrootstl.cab HTTP/1.1\r\n\
Connection: Keep-Alive\r\n\
Accept: */*\r\n\
User-Agent: Microsoft-CryptoAPI/10.0\r\n\
hOsT: ctldl.windowsupdate.com\r\n\
\r\n";

    const RESPONSE: &[u8] = b"HTTP/1.0 404 Not Found\r\n\
content-type: text/html; charset=utf-8\r\n\
Server: lighttpd/1.4.59\r\n\
Content-Length: 0\r\n\
\r\n\
body follows";

    #[test]
    fn parse_get_request() {
        let r = parse_request(GET).unwrap().unwrap();
        assert_eq!(r.method, "GET");
        assert_eq!(
            r.uri,
            "/msdownload/update/v3/static/trustedr/en/authrootstl.cab"
        );
        assert_eq!(r.version, 1);
        assert_eq!(r.host.as_deref(), Some("ctldl.windowsupdate.com"));
        assert_eq!(r.user_agent.as_deref(), Some("Microsoft-CryptoAPI/10.0"));
        assert_eq!(r.head_len, GET.len());
    }

    #[test]
    fn parse_response_with_server() {
        let r = parse_response(RESPONSE).unwrap().unwrap();
        assert_eq!(r.version, 0);
        assert_eq!(r.status, 404);
        assert_eq!(r.server.as_deref(), Some("lighttpd/1.4.59"));
        assert_eq!(r.content_type.as_deref(), Some("text/html; charset=utf-8"));
        assert_eq!(&RESPONSE[r.head_len..], b"body follows");
    }

    #[test]
    fn parse_split_request() {
        // First segment ends mid-header: more bytes could complete it.
        let split = GET.len() / 2;
        assert_eq!(parse_request(&GET[..split]), Ok(None));
        assert!(parse_request(GET).unwrap().is_some());
    }

    #[test]
    fn parse_truncated_at_every_length() {
        for len in 0..GET.len() {
            assert_eq!(parse_request(&GET[..len]), Ok(None), "request prefix {len}");
        }
        assert!(parse_request(GET).unwrap().is_some());
        let head_len = RESPONSE.len() - b"body follows".len();
        for len in 0..head_len {
            assert_eq!(
                parse_response(&RESPONSE[..len]),
                Ok(None),
                "response prefix {len}"
            );
        }
        for len in head_len..=RESPONSE.len() {
            assert!(parse_response(&RESPONSE[..len]).unwrap().is_some());
        }
    }

    #[test]
    fn parse_binary_is_not_http() {
        let client_hello = [
            0x16, // TLS record type: handshake
            0x03, 0x01, // legacy record version TLS 1.0
            0x02, 0x00, // record length
            0x01, // handshake type: ClientHello
        ];
        assert!(!looks_like_request(&client_hello));
        assert_eq!(parse_request(&client_hello), Err(Error::NotHttp));
        assert_eq!(parse_response(&client_hello), Err(Error::NotHttp));
        // SSH banner and HTTP/2 preface are not HTTP/1.x either.
        assert_eq!(
            parse_request(b"SSH-2.0-OpenSSH_9.6\r\n"),
            Err(Error::NotHttp)
        );
        assert_eq!(
            parse_request(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            Err(Error::NotHttp)
        );
        // Methods are case-sensitive, and need the space after them.
        assert!(!looks_like_request(b"get / HTTP/1.1"));
        assert!(!looks_like_request(b"GETX / HTTP/1.1"));
        assert!(!looks_like_response(b"HTTP/2 200"));
    }

    #[test]
    fn parse_looks_like_prefixes() {
        for prefix in [
            &b""[..],
            b"G",
            b"GE",
            b"GET",
            b"GET ",
            b"PROPF",
            b"OPTIONS *",
        ] {
            assert!(looks_like_request(prefix), "{prefix:?}");
        }
        for prefix in [&b""[..], b"H", b"HTTP/", b"HTTP/1.", b"HTTP/1.1 200"] {
            assert!(looks_like_response(prefix), "{prefix:?}");
        }
    }

    #[test]
    fn parse_head_too_large() {
        let mut big = b"GET / HTTP/1.1\r\nCookie: ".to_vec();
        big.resize(MAX_HEAD_LEN + 100, b'a');
        assert_eq!(parse_request(&big), Err(Error::TooLarge));
        // Exactly at the cap without an end is already too large.
        assert_eq!(parse_request(&big[..MAX_HEAD_LEN]), Err(Error::TooLarge));
        // One byte short of it could still finish.
        assert_eq!(parse_request(&big[..MAX_HEAD_LEN - 1]), Ok(None));
        // A head that would finish just past the cap is rejected too.
        big.truncate(MAX_HEAD_LEN - 2);
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(parse_request(&big), Err(Error::TooLarge));

        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..=MAX_HEADERS {
            many.extend_from_slice(format!("X-H{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert_eq!(
            parse_request(&many),
            Err(Error::Malformed(httparse::Error::TooManyHeaders))
        );
    }

    #[test]
    fn parse_header_with_control_chars() {
        // Tab and UTF-8 encoded C1 control (U+0085) pass httparse and get replaced.
        let head = b"GET /a HTTP/1.1\r\nHost: h\tx\r\nUser-Agent: ua\xc2\x85\xff!\r\n\r\n";
        let r = parse_request(head).unwrap().unwrap();
        assert_eq!(r.host.as_deref(), Some("h\u{fffd}x"));
        assert_eq!(r.user_agent.as_deref(), Some("ua\u{fffd}\u{fffd}!"));
        // Bare C0 controls are rejected by httparse: an error, not a panic.
        let head = b"GET /a HTTP/1.1\r\nHost: h\x01x\r\n\r\n";
        assert_eq!(
            parse_request(head),
            Err(Error::Malformed(httparse::Error::HeaderValue))
        );
        let head = b"GET /a\x00 HTTP/1.1\r\n\r\n";
        assert!(matches!(parse_request(head), Err(Error::Malformed(_))));
    }

    #[test]
    fn parse_long_strings_are_capped() {
        let mut head = b"GET /".to_vec();
        head.extend(std::iter::repeat_n(b'u', 5000));
        head.extend_from_slice(b" HTTP/1.1\r\nUser-Agent: ");
        // Invalid UTF-8 bytes triple in size when replaced; the cap still holds.
        head.extend(std::iter::repeat_n(0xFF, 600));
        head.extend_from_slice(b"\r\n\r\n");
        let r = parse_request(&head).unwrap().unwrap();
        assert_eq!(r.uri.len(), MAX_URI_LEN);
        let ua = r.user_agent.unwrap();
        assert!(ua.len() <= MAX_FIELD_LEN && ua.len() > MAX_FIELD_LEN - 3);
    }

    #[test]
    fn parse_mutations_never_panic() {
        let samples: [&[u8]; 2] = [GET, RESPONSE];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = move || {
            // xorshift64: deterministic, so a failure reproduces from the test alone.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..10_000 {
            let mut buf = samples[(next() % 2) as usize].to_vec();
            for _ in 0..=(next() % 4) {
                let at = (next() % (buf.len() as u64 + 1)) as usize;
                match next() % 4 {
                    0 if at < buf.len() => buf[at] = next() as u8,
                    1 if at < buf.len() => buf[at] ^= 1 << (next() % 8),
                    2 => buf.insert(at, next() as u8),
                    _ => buf.truncate(at),
                }
            }
            if let Ok(Some(r)) = parse_request(&buf) {
                assert!(r.head_len <= buf.len());
                assert!(r.method.len() <= MAX_FIELD_LEN && r.uri.len() <= MAX_URI_LEN);
                assert!(
                    r.method
                        .chars()
                        .chain(r.uri.chars())
                        .all(|c| !c.is_control())
                );
            }
            if let Ok(Some(r)) = parse_response(&buf) {
                assert!(r.head_len <= buf.len());
                assert!(r.server.is_none_or(|s| s.len() <= MAX_FIELD_LEN));
            }
        }
    }
}
