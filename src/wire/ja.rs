//! TLS client fingerprints from a parsed [`ClientHello`]: JA3 (Salesforce) and JA4 (FoxIO,
//! BSD-licensed part of JA4+ only; implemented from the specification text, not FoxIO's code).
//!
//! JA3: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`, decimal
//! values `-`-joined, GREASE (RFC 8701) removed from every list, SSLVersion = `legacy_version`;
//! the fingerprint is the MD5 of that string.
//!
//! JA4 (technical_details/JA4.md): `a_b_c` where `a` = transport (`t`/`q`/`d`), version, SNI
//! flag, cipher and extension counts and an ALPN tag; `b` and `c` = the first 12 hex digits of
//! SHA-256 over the sorted cipher list and over the sorted extension list (SNI and ALPN left
//! out) followed by the signature algorithms in wire order.
//!
//! Allocation: each function allocates only its output string. JA4's sort buffers live on the
//! stack ([`SORT_STACK_LEN`] entries); only a hello with more non-GREASE ciphers or extensions
//! than that (none seen in practice) sorts in one heap `Vec` of at most the hello's own list
//! length. Hash input is streamed into the hasher, never built as a string. Nothing here panics.

use std::fmt::Write as _;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::wire::tls::{ClientHello, is_grease};

/// Entries sorted on the stack before falling back to the heap. Browsers send 15 to 20 cipher
/// suites and 15 to 20 extensions; scanners offering every suite send a few hundred.
pub const SORT_STACK_LEN: usize = 256;

/// Extension types JA4 counts but leaves out of its extension hash.
const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;

/// The transport a ClientHello arrived on: the first character of JA4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TLS over TCP (`t`).
    Tcp,
    /// QUIC (`q`).
    Quic,
    /// DTLS (`d`).
    Dtls,
}

/// The JA3 string: `SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats`.
pub fn ja3_string(ch: &ClientHello) -> String {
    // Up to 6 characters per value ("65535-"), plus the version and commas.
    let values = ch.cipher_suites.len()
        + ch.extensions.len()
        + ch.supported_groups.len()
        + ch.ec_point_formats.len();
    let mut out = String::with_capacity(10 + 6 * values);
    let _ = write!(out, "{},", ch.legacy_version);
    join_decimal(&mut out, ch.cipher_suites.iter().copied());
    out.push(',');
    join_decimal(&mut out, ch.extensions.iter().copied());
    out.push(',');
    join_decimal(&mut out, ch.supported_groups.iter().copied());
    out.push(',');
    // Point formats are single bytes, outside the GREASE space.
    join_decimal(&mut out, ch.ec_point_formats.iter().copied().map(u16::from));
    out
}

/// Appends non-GREASE `values` as decimal, `-`-joined.
fn join_decimal(out: &mut String, values: impl Iterator<Item = u16>) {
    for (i, v) in values.filter(|&v| !is_grease(v)).enumerate() {
        if i > 0 {
            out.push('-');
        }
        let _ = write!(out, "{v}");
    }
}

/// JA3 fingerprint: lowercase hex MD5 of the JA3 string.
pub fn ja3_hash(s: &str) -> String {
    let digest = Md5::digest(s.as_bytes());
    let mut out = String::with_capacity(32);
    push_hex(&mut out, &digest);
    out
}

/// JA4 fingerprint (`t13d1516h2_8daaf6152771_e5627efa2ab1`).
pub fn ja4(ch: &ClientHello, transport: Transport) -> String {
    let mut out = String::with_capacity(36);
    out.push(match transport {
        Transport::Tcp => 't',
        Transport::Quic => 'q',
        Transport::Dtls => 'd',
    });
    out.push_str(version_tag(ja4_version(ch)));
    out.push(if ch.extensions.contains(&EXT_SERVER_NAME) {
        'd'
    } else {
        'i'
    });
    let ciphers = ch.cipher_suites.iter().filter(|&&v| !is_grease(v)).count();
    let extensions = ch.extensions.iter().filter(|&&v| !is_grease(v)).count();
    push_count(&mut out, ciphers);
    push_count(&mut out, extensions);
    push_alpn_tag(&mut out, &ch.alpn_first_raw);

    out.push('_');
    let cipher_list = ch.cipher_suites.iter().copied().filter(|&v| !is_grease(v));
    with_sorted(cipher_list, |sorted| {
        if sorted.is_empty() {
            out.push_str("000000000000");
        } else {
            let mut hasher = Sha256::new();
            hash_hex_list(&mut hasher, sorted.iter().copied());
            push_hex(&mut out, &hasher.finalize()[..6]);
        }
    });

    out.push('_');
    let ext_list = ch
        .extensions
        .iter()
        .copied()
        .filter(|&v| !is_grease(v) && v != EXT_SERVER_NAME && v != EXT_ALPN);
    with_sorted(ext_list, |sorted| {
        // Spec: "If there are no extensions in the sorted extensions list, then the value of
        // JA4_c is set to 000000000000".
        if sorted.is_empty() {
            out.push_str("000000000000");
            return;
        }
        let mut hasher = Sha256::new();
        hash_hex_list(&mut hasher, sorted.iter().copied());
        let mut algorithms = ch
            .signature_algorithms
            .iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .peekable();
        // Spec: "If there are no signature algorithms in the hello packet, then the string
        // ends without an underscore and is hashed."
        if algorithms.peek().is_some() {
            hasher.update(b"_");
            hash_hex_list(&mut hasher, algorithms);
        }
        push_hex(&mut out, &hasher.finalize()[..6]);
    });
    out
}

/// The version JA4 reports: the highest non-GREASE supported_versions entry if the extension
/// is present, else `legacy_version`. DTLS numbers count down (0xFEFC is DTLS 1.3, above
/// 0xFEFD, DTLS 1.2), so they are ranked by their complement.
fn ja4_version(ch: &ClientHello) -> u16 {
    let rank = |v: u16| {
        if v >> 8 == 0xfe {
            u32::from(!v & 0xff)
        } else {
            u32::from(v)
        }
    };
    ch.supported_versions
        .iter()
        .copied()
        .filter(|&v| !is_grease(v))
        .max_by_key(|&v| rank(v))
        .unwrap_or(ch.legacy_version)
}

/// JA4's two-character version. The spec lists SSL 2.0 as 0x0002 in its current text and as
/// 0x0200 in earlier ones; both are accepted, as is 0x0100 (SSL 1.0) from the earlier text.
fn version_tag(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0200 | 0x0002 => "s2",
        0x0100 => "s1",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

/// Two decimal digits, capped at 99 ("If there's > 99, which there should never be, then
/// output 99").
fn push_count(out: &mut String, n: usize) {
    let n = n.min(99);
    out.push(char::from(b'0' + (n / 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// ALPN tag from the first ALPN name: its first and last characters when both are ASCII
/// alphanumeric (a one-character name gives that character twice); otherwise the first and
/// last characters of the name's hex form (high nibble of the first byte, low nibble of the
/// last); "00" with no ALPN extension, no names, or an empty first name.
fn push_alpn_tag(out: &mut String, first: &[u8]) {
    let (Some(&a), Some(&z)) = (first.first(), first.last()) else {
        out.push_str("00");
        return;
    };
    if a.is_ascii_alphanumeric() && z.is_ascii_alphanumeric() {
        out.push(char::from(a));
        out.push(char::from(z));
    } else {
        out.push(hex_digit(a >> 4));
        out.push(hex_digit(z & 0x0f));
    }
}

/// Feeds `values` to `hasher` as 4-digit lowercase hex, comma-separated.
fn hash_hex_list(hasher: &mut Sha256, values: impl Iterator<Item = u16>) {
    for (i, v) in values.enumerate() {
        let [hi, lo] = v.to_be_bytes();
        let item = [
            b',',
            hex_byte(hi >> 4),
            hex_byte(hi),
            hex_byte(lo >> 4),
            hex_byte(lo),
        ];
        hasher.update(if i == 0 { &item[1..] } else { &item[..] });
    }
}

/// Collects `values` into a sort buffer (stack up to [`SORT_STACK_LEN`], else heap), sorts it
/// and hands it to `f`.
fn with_sorted<R>(values: impl Iterator<Item = u16> + Clone, f: impl FnOnce(&[u16]) -> R) -> R {
    let n = values.clone().count();
    if n <= SORT_STACK_LEN {
        let mut stack = [0u16; SORT_STACK_LEN];
        for (slot, v) in stack.iter_mut().zip(values) {
            *slot = v;
        }
        let sorted = stack.get_mut(..n).unwrap_or_default();
        sorted.sort_unstable();
        f(sorted)
    } else {
        let mut heap: Vec<u16> = values.collect();
        heap.sort_unstable();
        f(&heap)
    }
}

/// Lowercase hex digit of the low nibble, as an ASCII byte.
fn hex_byte(nibble: u8) -> u8 {
    b"0123456789abcdef"[usize::from(nibble & 0x0f)]
}

/// Lowercase hex digit of the low nibble.
fn hex_digit(nibble: u8) -> char {
    char::from(hex_byte(nibble))
}

/// Appends `bytes` as lowercase hex.
fn push_hex(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        out.push(hex_digit(b >> 4));
        out.push(hex_digit(b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example hello of the JA4 specification (technical_details/JA4.md, "Example").
    fn spec_hello() -> ClientHello {
        ClientHello {
            legacy_version: 0x0303,
            cipher_suites: vec![
                0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013,
                0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
            ],
            extensions: vec![
                0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023,
                0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
            ],
            signature_algorithms: vec![
                0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601,
            ],
            supported_versions: vec![0x0304, 0x0303],
            alpn: vec!["h2".into(), "http/1.1".into()],
            alpn_first_raw: b"h2".to_vec(),
            ..ClientHello::default()
        }
    }

    /// The same fingerprint built the obvious way, through strings, to check the streaming one.
    fn naive_ja4(ch: &ClientHello, transport: Transport) -> String {
        let hex = |v: &[u16]| v.iter().map(|x| format!("{x:04x}")).collect::<Vec<_>>();
        let hash12 = |s: &str| {
            if s.is_empty() {
                "000000000000".to_string()
            } else {
                let mut out = String::new();
                push_hex(&mut out, &Sha256::digest(s.as_bytes())[..6]);
                out
            }
        };
        let mut a = String::new();
        a.push(match transport {
            Transport::Tcp => 't',
            Transport::Quic => 'q',
            Transport::Dtls => 'd',
        });
        a.push_str(version_tag(ja4_version(ch)));
        a.push(if ch.extensions.contains(&0) { 'd' } else { 'i' });
        let ciphers: Vec<u16> = ch
            .cipher_suites
            .iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .collect();
        let exts: Vec<u16> = ch
            .extensions
            .iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .collect();
        a.push_str(&format!(
            "{:02}{:02}",
            ciphers.len().min(99),
            exts.len().min(99)
        ));
        push_alpn_tag(&mut a, &ch.alpn_first_raw);
        let mut sorted_ciphers = ciphers.clone();
        sorted_ciphers.sort_unstable();
        let mut sorted_exts: Vec<u16> = exts.into_iter().filter(|&v| v != 0 && v != 16).collect();
        sorted_exts.sort_unstable();
        let algs: Vec<u16> = ch
            .signature_algorithms
            .iter()
            .copied()
            .filter(|&v| !is_grease(v))
            .collect();
        let mut c = hex(&sorted_exts).join(",");
        if !algs.is_empty() && !c.is_empty() {
            c = format!("{c}_{}", hex(&algs).join(","));
        }
        format!(
            "{a}_{}_{}",
            hash12(&hex(&sorted_ciphers).join(",")),
            hash12(&c)
        )
    }

    #[test]
    fn ja4_spec_example() {
        let mut hello = spec_hello();
        assert_eq!(
            ja4(&hello, Transport::Tcp),
            "t13d1516h2_8daaf6152771_e5627efa2ab1"
        );
        // GREASE anywhere changes nothing.
        hello.cipher_suites.insert(0, 0x0a0a);
        hello.extensions.insert(0, 0x1a1a);
        hello.extensions.push(0xfafa);
        hello.signature_algorithms.insert(3, 0x2a2a);
        hello.supported_versions.insert(0, 0x3a3a);
        assert_eq!(
            ja4(&hello, Transport::Tcp),
            "t13d1516h2_8daaf6152771_e5627efa2ab1"
        );
        // Spec: without signature algorithms the list "ends without an underscore".
        hello.signature_algorithms.clear();
        assert_eq!(
            ja4(&hello, Transport::Quic),
            "q13d1516h2_8daaf6152771_6d807ffa2a79"
        );
    }

    #[test]
    fn ja3_known_answer() {
        // tls12.pcap frame 1, tshark 4.0.17's ja3_full and ja3.
        let full = "771,4865-4867-4866-49195-49199-52393-52392-49196-49200-49162-49161-49171-\
                    49172-156-157-47-53,0-23-65281-10-11-35-16-5-34-51-43-13-45-28-21,\
                    29-23-24-25-256-257,0";
        assert_eq!(ja3_hash(full), "579ccef312d18482fc42e2b822ca2430");
        let mut hello = ClientHello {
            legacy_version: 771,
            cipher_suites: vec![
                4865, 4867, 4866, 49195, 49199, 52393, 52392, 49196, 49200, 49162, 49161, 49171,
                49172, 156, 157, 47, 53,
            ],
            extensions: vec![0, 23, 65281, 10, 11, 35, 16, 5, 34, 51, 43, 13, 45, 28, 21],
            supported_groups: vec![29, 23, 24, 25, 256, 257],
            ec_point_formats: vec![0],
            ..ClientHello::default()
        };
        assert_eq!(ja3_string(&hello), full);
        // GREASE is removed from every list.
        hello.cipher_suites.insert(0, 0xdada);
        hello.extensions.insert(0, 0x4a4a);
        hello.extensions.push(0x5a5a);
        hello.supported_groups.insert(0, 0x6a6a);
        assert_eq!(ja3_string(&hello), full);
        // Empty lists leave empty fields.
        let bare = ClientHello {
            legacy_version: 769,
            cipher_suites: vec![47],
            ..ClientHello::default()
        };
        assert_eq!(ja3_string(&bare), "769,47,,,");
        assert_eq!(ja3_hash(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn ja4_alpn_tags() {
        // Spec "ALPN Extension Value" examples, plus the ordinary cases.
        let cases: &[(&[u8], &str)] = &[
            (b"h2", "h2"),
            (b"http/1.1", "h1"),
            (b"h3-29", "h9"),
            (b"x", "xx"),
            (b"", "00"),
            (&[0xab], "ab"),
            (&[0xab, 0xcd], "ad"),
            (&[0x30, 0xab], "3b"),
            (&[0x30, 0x31, 0xab, 0xcd], "3d"),
            (&[0x30, 0xab, 0xcd, 0x31], "01"),
            (&[0xba, 0xad], "bd"), // tls-non-ascii-alpn.pcapng (reference tools print "99")
        ];
        for &(alpn, tag) in cases {
            let mut out = String::new();
            push_alpn_tag(&mut out, alpn);
            assert_eq!(out, tag, "{alpn:?}");
        }
    }

    #[test]
    fn ja4_versions_counts_and_empty_lists() {
        let tag = |ch: &ClientHello| ja4(ch, Transport::Tcp)[1..3].to_string();
        let with = |legacy: u16, supported: &[u16]| ClientHello {
            legacy_version: legacy,
            supported_versions: supported.to_vec(),
            ..ClientHello::default()
        };
        assert_eq!(tag(&with(0x0303, &[])), "12");
        assert_eq!(tag(&with(0x0303, &[0x0a0a])), "12"); // only GREASE: legacy
        assert_eq!(tag(&with(0x0303, &[0x0a0a, 0x0302, 0x0304])), "13");
        assert_eq!(tag(&with(0x0301, &[])), "10");
        assert_eq!(tag(&with(0x0300, &[])), "s3");
        assert_eq!(tag(&with(0x0002, &[])), "s2");
        assert_eq!(tag(&with(0x0200, &[])), "s2");
        assert_eq!(tag(&with(0x7f1c, &[])), "00");
        assert_eq!(tag(&with(0xfeff, &[])), "d1");
        // DTLS 1.3 (0xfefc) outranks DTLS 1.2 (0xfefd) although it is numerically lower.
        assert_eq!(tag(&with(0xfefd, &[0xfefd, 0xfefc])), "d3");

        // No ciphers, no extensions: zeros, not the hash of nothing; 'i' without SNI.
        let empty = ClientHello::default();
        assert_eq!(
            ja4(&empty, Transport::Dtls),
            "d00i000000_000000000000_000000000000"
        );
        // Only SNI and ALPN: counted in a, absent from c.
        let sni_alpn = ClientHello {
            legacy_version: 0x0303,
            extensions: vec![0, 16],
            ..ClientHello::default()
        };
        assert_eq!(
            ja4(&sni_alpn, Transport::Tcp),
            "t12d000200_000000000000_000000000000"
        );

        // Counts cap at 99.
        let big = ClientHello {
            legacy_version: 0x0303,
            cipher_suites: (1..=150).collect(),
            extensions: (100..400).collect(),
            ..ClientHello::default()
        };
        assert!(ja4(&big, Transport::Tcp).starts_with("t12i9999"));
    }

    #[test]
    fn ja4_matches_naive_implementation() {
        /// xorshift64 (Marsaglia 2003).
        fn next(state: &mut u64) -> u64 {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            *state
        }
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let list = |state: &mut u64, max: u64| -> Vec<u16> {
            let len = next(state) % max;
            (0..len)
                .map(|_| {
                    let r = next(state);
                    // One value in eight is GREASE, SNI or ALPN, to exercise the filters.
                    match r % 8 {
                        0 => 0x0a0a | ((r >> 8) as u16 & 0xf0f0),
                        1 => [0, 16][(r >> 8) as usize % 2],
                        _ => (r >> 16) as u16,
                    }
                })
                .collect()
        };
        for round in 0..500 {
            // Every tenth hello is larger than the stack sort buffer.
            let max = if round % 10 == 0 { 600 } else { 40 };
            let hello = ClientHello {
                legacy_version: [0x0301, 0x0303, 0xfefd][round % 3],
                cipher_suites: list(&mut state, max),
                extensions: list(&mut state, max),
                signature_algorithms: list(&mut state, 12),
                supported_versions: list(&mut state, 4),
                alpn_first_raw: (next(&mut state) % 3..2)
                    .map(|i| b"h2"[i as usize])
                    .collect(),
                ..ClientHello::default()
            };
            for transport in [Transport::Tcp, Transport::Quic, Transport::Dtls] {
                assert_eq!(
                    ja4(&hello, transport),
                    naive_ja4(&hello, transport),
                    "{hello:?}"
                );
            }
        }
    }
}
