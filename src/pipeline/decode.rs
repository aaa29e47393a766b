//! Finds the innermost IP header of a captured frame.
//!
//! Runs on the capture thread, so it must be cheap and allocation-free: it walks the link layer,
//! VLAN tags and the remote-SPAN encapsulations campus switches send to a sensor (GRE, ERSPAN
//! type I/II/III, VXLAN), and returns where the inner IP header starts plus a symmetric hash of the
//! inner address pair, which picks the worker. Workers re-slice from that offset with etherparse.
//! Every read is bounds-checked; no input can make this panic.

use crate::capture::LinkType;
use crate::event::Mac;
use etherparse::{IpNumber, LaxIpSlice};

/// Where a frame's inner IP packet is and how to shard it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    /// Offset of the inner IP header in the frame.
    pub ip_offset: usize,
    /// Source MAC of the innermost Ethernet header, when there is one.
    pub src_mac: Option<Mac>,
    /// Destination MAC of the innermost Ethernet header, when there is one.
    pub dst_mac: Option<Mac>,
    /// Same value for both directions of an address pair (so for every fragment too).
    pub shard: u64,
}

/// Why a frame could not be decoded; each reason is a counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecodeError {
    /// The frame ended inside the link-layer header.
    TruncatedLink,
    /// The IP header is malformed or cut short.
    BadIp,
    /// A GRE header is malformed, cut short, or a GRE version other than 0.
    BadGre,
    /// An ERSPAN header is cut short or of an unknown version.
    BadErspan,
    /// A VXLAN header is cut short or lacks its valid-VNI flag.
    BadVxlan,
    /// More nested tunnels or VLAN tags than [`MAX_ENCAPSULATIONS`] / [`MAX_VLAN_TAGS`].
    TooDeep,
    /// A BSD loopback frame with an address family that is not IPv4 or IPv6.
    UnknownLoopbackFamily,
}

impl DecodeError {
    /// Every reason, for pre-registering counters.
    pub const ALL: [DecodeError; 7] = [
        DecodeError::TruncatedLink,
        DecodeError::BadIp,
        DecodeError::BadGre,
        DecodeError::BadErspan,
        DecodeError::BadVxlan,
        DecodeError::TooDeep,
        DecodeError::UnknownLoopbackFamily,
    ];

    /// Short stable name used in counters and logs.
    pub fn reason(self) -> &'static str {
        match self {
            DecodeError::TruncatedLink => "truncated_link",
            DecodeError::BadIp => "bad_ip",
            DecodeError::BadGre => "bad_gre",
            DecodeError::BadErspan => "bad_erspan",
            DecodeError::BadVxlan => "bad_vxlan",
            DecodeError::TooDeep => "too_deep",
            DecodeError::UnknownLoopbackFamily => "unknown_loopback_family",
        }
    }
}

/// What a frame is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// An IP packet, possibly inside tunnels.
    Ip(Located),
    /// ARP, LLDP, STP and other non-IP frames: not an error, just not ours.
    NotIp,
}

/// Tunnels inside tunnels: SPAN sessions rarely nest more than twice; more is hostile or a loop.
pub const MAX_ENCAPSULATIONS: usize = 4;
/// 802.1Q inside 802.1ad (QinQ) is two tags; allow a little more for provider-of-provider stacks.
pub const MAX_VLAN_TAGS: usize = 4;

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const ETHERTYPE_VLAN: u16 = 0x8100;
const ETHERTYPE_QINQ: u16 = 0x88a8;
const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
/// RFC 1701 "Transparent Ethernet Bridging": GRE carrying a whole Ethernet frame.
const ETHERTYPE_TEB: u16 = 0x6558;
/// ERSPAN type I and II (Cisco; draft-foschiano-erspan).
const ETHERTYPE_ERSPAN_II: u16 = 0x88be;
/// ERSPAN type III.
const ETHERTYPE_ERSPAN_III: u16 = 0x22eb;
/// IANA-assigned VXLAN port (RFC 7348 §5).
pub const VXLAN_PORT: u16 = 4789;

/// Locates the inner IP header of a frame of the given link type.
pub fn locate(link: LinkType, frame: &[u8]) -> Result<Frame, DecodeError> {
    let mut state = Walk {
        frame,
        src_mac: None,
        dst_mac: None,
        depth: 0,
    };
    match link {
        LinkType::Ethernet => state.ethernet(0),
        LinkType::LinuxSll => state.sll(),
        LinkType::LinuxSll2 => state.sll2(),
        LinkType::RawIp => state.raw_ip(0),
        LinkType::Null | LinkType::Loop => state.loopback(link),
    }
}

struct Walk<'a> {
    frame: &'a [u8],
    src_mac: Option<Mac>,
    dst_mac: Option<Mac>,
    depth: usize,
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn mac_at(b: &[u8], at: usize) -> Option<Mac> {
    let s: [u8; 6] = b.get(at..at + 6)?.try_into().ok()?;
    Some(Mac(s))
}

impl Walk<'_> {
    fn ethernet(&mut self, at: usize) -> Result<Frame, DecodeError> {
        let dst = mac_at(self.frame, at).ok_or(DecodeError::TruncatedLink)?;
        let src = mac_at(self.frame, at + 6).ok_or(DecodeError::TruncatedLink)?;
        self.dst_mac = Some(dst);
        self.src_mac = Some(src);
        let ethertype = be16(self.frame, at + 12).ok_or(DecodeError::TruncatedLink)?;
        self.ethertype(ethertype, at + 14)
    }

    /// Skips VLAN tags, then dispatches on the ethertype.
    fn ethertype(&mut self, mut ethertype: u16, mut at: usize) -> Result<Frame, DecodeError> {
        let mut tags = 0;
        while matches!(
            ethertype,
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
        ) {
            tags += 1;
            if tags > MAX_VLAN_TAGS {
                return Err(DecodeError::TooDeep);
            }
            ethertype = be16(self.frame, at + 2).ok_or(DecodeError::TruncatedLink)?;
            at += 4;
        }
        match ethertype {
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => self.ip(at),
            _ => Ok(Frame::NotIp),
        }
    }

    fn sll(&mut self) -> Result<Frame, DecodeError> {
        // struct sll_header: pkttype(2) hatype(2) halen(2) addr(8) protocol(2).
        let hatype = be16(self.frame, 2).ok_or(DecodeError::TruncatedLink)?;
        let halen = be16(self.frame, 4).ok_or(DecodeError::TruncatedLink)?;
        let proto = be16(self.frame, 14).ok_or(DecodeError::TruncatedLink)?;
        if hatype == 1 && halen == 6 {
            self.src_mac = mac_at(self.frame, 6);
        }
        self.ethertype(proto, 16)
    }

    fn sll2(&mut self) -> Result<Frame, DecodeError> {
        // struct sll2_header: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8).
        let proto = be16(self.frame, 0).ok_or(DecodeError::TruncatedLink)?;
        let hatype = be16(self.frame, 8).ok_or(DecodeError::TruncatedLink)?;
        let halen = *self.frame.get(11).ok_or(DecodeError::TruncatedLink)?;
        if self.frame.len() < 20 {
            return Err(DecodeError::TruncatedLink);
        }
        if hatype == 1 && halen == 6 {
            self.src_mac = mac_at(self.frame, 12);
        }
        self.ethertype(proto, 20)
    }

    fn raw_ip(&mut self, at: usize) -> Result<Frame, DecodeError> {
        match self.frame.get(at).map(|b| b >> 4) {
            Some(4) | Some(6) => self.ip(at),
            Some(_) => Err(DecodeError::BadIp),
            None => Err(DecodeError::TruncatedLink),
        }
    }

    fn loopback(&mut self, link: LinkType) -> Result<Frame, DecodeError> {
        let raw: [u8; 4] = self
            .frame
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or(DecodeError::TruncatedLink)?;
        // DLT_NULL stores the family in the capturing host's byte order, which the file does not
        // record; DLT_LOOP always uses network order. AF_INET is 2 everywhere; AF_INET6 is 10
        // (Linux), 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (macOS).
        let family = match link {
            LinkType::Loop => u32::from_be_bytes(raw),
            _ => {
                let le = u32::from_le_bytes(raw);
                if le < 256 {
                    le
                } else {
                    u32::from_be_bytes(raw)
                }
            }
        };
        match family {
            2 | 10 | 24 | 28 | 30 => self.raw_ip(4),
            _ => Err(DecodeError::UnknownLoopbackFamily),
        }
    }

    fn ip(&mut self, at: usize) -> Result<Frame, DecodeError> {
        let bytes = self.frame.get(at..).ok_or(DecodeError::TruncatedLink)?;
        let (ip, _) = LaxIpSlice::from_slice(bytes).map_err(|_| DecodeError::BadIp)?;
        let payload = ip.payload();
        // Tunnels inside fragments or cut short by the snap length are not opened: the outer
        // packet is what we have.
        if payload.fragmented || payload.incomplete {
            return Ok(self.found(at, &ip));
        }
        let inner_at = at + (payload.payload.as_ptr() as usize - bytes.as_ptr() as usize);
        match payload.ip_number {
            IpNumber::GRE => {
                self.enter()?;
                self.gre(inner_at)
            }
            IpNumber::UDP if be16(self.frame, inner_at + 2) == Some(VXLAN_PORT) => {
                self.enter()?;
                self.vxlan(inner_at + 8)
            }
            // Some VTEPs send from 4789 to another port (as Wireshark, accept either), but a
            // client's ephemeral port can be 4789 too: only a header whose reserved bytes are
            // zero, as RFC 7348 §5 requires, is taken for VXLAN then.
            IpNumber::UDP
                if be16(self.frame, inner_at) == Some(VXLAN_PORT)
                    && looks_like_vxlan(self.frame.get(inner_at + 8..inner_at + 16)) =>
            {
                self.enter()?;
                self.vxlan(inner_at + 8)
            }
            _ => Ok(self.found(at, &ip)),
        }
    }

    fn enter(&mut self) -> Result<(), DecodeError> {
        self.depth += 1;
        if self.depth > MAX_ENCAPSULATIONS {
            return Err(DecodeError::TooDeep);
        }
        // The outer frame's MACs belong to the SPAN session, not to the mirrored hosts.
        self.src_mac = None;
        self.dst_mac = None;
        Ok(())
    }

    fn gre(&mut self, at: usize) -> Result<Frame, DecodeError> {
        // RFC 2784 §2.1 and RFC 2890: C(0x80) K(0x20) S(0x10) flags, version in the low 3 bits of
        // the second byte; each of checksum, key and sequence adds 4 bytes when its flag is set.
        let flags = *self.frame.get(at).ok_or(DecodeError::BadGre)?;
        let version = self.frame.get(at + 1).ok_or(DecodeError::BadGre)? & 0x07;
        if version != 0 {
            return Err(DecodeError::BadGre);
        }
        let proto = be16(self.frame, at + 2).ok_or(DecodeError::BadGre)?;
        let has_seq = flags & 0x10 != 0;
        let len = 4
            + if flags & 0x80 != 0 { 4 } else { 0 }
            + if flags & 0x20 != 0 { 4 } else { 0 }
            + if has_seq { 4 } else { 0 };
        let inner = at + len;
        if self.frame.len() < inner {
            return Err(DecodeError::BadGre);
        }
        match proto {
            ETHERTYPE_TEB => self.ethernet(inner),
            ETHERTYPE_IPV4 | ETHERTYPE_IPV6 => self.ip(inner),
            // ERSPAN type I has no sequence number and no ERSPAN header; type II sets S and
            // carries an 8-byte header whose first nibble is version 1.
            ETHERTYPE_ERSPAN_II if !has_seq => self.ethernet(inner),
            ETHERTYPE_ERSPAN_II => match self.frame.get(inner).map(|b| b >> 4) {
                Some(1) => self.ethernet(inner + 8),
                _ => Err(DecodeError::BadErspan),
            },
            // ERSPAN type III: 12-byte header, version 2; the O flag (last bit) announces an
            // 8-byte platform-specific subheader.
            ETHERTYPE_ERSPAN_III => {
                let version = self.frame.get(inner).map(|b| b >> 4);
                let o_flag = self.frame.get(inner + 11).map(|b| b & 0x01);
                match (version, o_flag) {
                    (Some(2), Some(0)) => self.ethernet(inner + 12),
                    (Some(2), Some(_)) => self.ethernet(inner + 20),
                    _ => Err(DecodeError::BadErspan),
                }
            }
            _ => Ok(Frame::NotIp),
        }
    }

    fn vxlan(&mut self, at: usize) -> Result<Frame, DecodeError> {
        // RFC 7348 §5: 8-byte header; "The I flag MUST be set to 1 for a valid VXLAN Network ID".
        // VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe §3.2) adds the P flag (0x04) and a next-protocol
        // byte: 1 IPv4, 2 IPv6, 3 Ethernet.
        let header = self.frame.get(at..at + 8).ok_or(DecodeError::BadVxlan)?;
        let flags = header[0];
        if flags & 0x08 == 0 {
            return Err(DecodeError::BadVxlan);
        }
        match (flags & 0x04 != 0, header[3]) {
            (false, _) | (true, 3) => self.ethernet(at + 8),
            (true, 1 | 2) => self.raw_ip(at + 8),
            (true, _) => Err(DecodeError::BadVxlan),
        }
    }

    fn found(&self, at: usize, ip: &LaxIpSlice<'_>) -> Frame {
        let (a, b) = match ip {
            LaxIpSlice::Ipv4(v4) => (
                fold(&v4.header().source()),
                fold(&v4.header().destination()),
            ),
            LaxIpSlice::Ipv6(v6) => (
                fold(&v6.header().source()),
                fold(&v6.header().destination()),
            ),
        };
        Frame::Ip(Located {
            ip_offset: at,
            src_mac: self.src_mac,
            dst_mac: self.dst_mac,
            shard: shard_hash(a, b),
        })
    }
}

/// A VXLAN header with the I flag and zero reserved bytes, or a VXLAN-GPE header with a known
/// next protocol.
fn looks_like_vxlan(header: Option<&[u8]>) -> bool {
    matches!(
        header,
        Some([0x08, 0, 0, 0, _, _, _, 0]) | Some([0x0c, 0, 0, 1..=3, _, _, _, 0])
    )
}

/// FNV-1a over an address: cheap, fixed, and good enough to spread addresses over a few workers.
fn fold(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Order-independent combination, so both directions land on the same worker.
fn shard_hash(a: u64, b: u64) -> u64 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    (lo.rotate_left(29) ^ hi).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn udp_frame(src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
            .ipv4(src, dst, 64)
            .udp(5000, 53);
        let mut out = Vec::new();
        b.write(&mut out, b"hello").unwrap();
        out
    }

    fn located(f: Result<Frame, DecodeError>) -> Located {
        match f {
            Ok(Frame::Ip(l)) => l,
            other => panic!("expected an IP frame, got {other:?}"),
        }
    }

    #[test]
    fn locate_ethernet_ipv4() {
        let f = udp_frame([10, 0, 0, 1], [10, 0, 0, 2]);
        let l = located(locate(LinkType::Ethernet, &f));
        assert_eq!(l.ip_offset, 14);
        assert_eq!(l.src_mac, Some(Mac([2, 0, 0, 0, 0, 1])));
        assert_eq!(l.dst_mac, Some(Mac([2, 0, 0, 0, 0, 2])));
    }

    #[test]
    fn shard_is_symmetric() {
        let a = located(locate(
            LinkType::Ethernet,
            &udp_frame([10, 0, 0, 1], [10, 0, 0, 2]),
        ));
        let b = located(locate(
            LinkType::Ethernet,
            &udp_frame([10, 0, 0, 2], [10, 0, 0, 1]),
        ));
        let c = located(locate(
            LinkType::Ethernet,
            &udp_frame([10, 0, 0, 3], [10, 0, 0, 1]),
        ));
        assert_eq!(a.shard, b.shard);
        assert_ne!(a.shard, c.shard);
    }

    #[test]
    fn locate_qinq() {
        let inner = udp_frame([10, 0, 0, 1], [10, 0, 0, 2]);
        let mut f = inner[..12].to_vec();
        f.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64]); // 802.1ad outer tag, VLAN 100
        f.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]); // 802.1Q inner tag, VLAN 10
        f.extend_from_slice(&inner[12..]);
        assert_eq!(located(locate(LinkType::Ethernet, &f)).ip_offset, 22);
    }

    #[test]
    fn locate_too_many_vlan_tags() {
        let inner = udp_frame([10, 0, 0, 1], [10, 0, 0, 2]);
        let mut f = inner[..12].to_vec();
        for _ in 0..=MAX_VLAN_TAGS {
            f.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
        }
        f.extend_from_slice(&inner[12..]);
        assert_eq!(locate(LinkType::Ethernet, &f), Err(DecodeError::TooDeep));
    }

    fn wrap_gre(inner: &[u8], gre_header: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 8]).ipv4(
            [192, 0, 2, 1],
            [192, 0, 2, 2],
            64,
        );
        let mut payload = gre_header.to_vec();
        payload.extend_from_slice(inner);
        let mut out = Vec::new();
        b.write(&mut out, IpNumber::GRE, &payload).unwrap();
        out
    }

    #[test]
    fn locate_erspan_type_ii() {
        let inner = udp_frame([10, 0, 0, 1], [10, 0, 0, 2]);
        let gre = [
            0x10, 0x00, 0x88, 0xbe, // S flag, version 0, protocol ERSPAN
            0, 0, 0, 1, // sequence number
            0x10, 0x64, 0x00, 0x01, 0, 0, 0, 0, // ERSPAN II: version 1, VLAN 100, session 1
        ];
        let f = wrap_gre(&inner, &gre);
        let l = located(locate(LinkType::Ethernet, &f));
        assert_eq!(l.ip_offset, 14 + 20 + gre.len() + 14);
        assert_eq!(
            l.src_mac,
            Some(Mac([2, 0, 0, 0, 0, 1])),
            "inner MAC, not the SPAN session's"
        );
    }

    #[test]
    fn locate_erspan_type_iii_with_subheader() {
        let inner = udp_frame([10, 0, 0, 1], [10, 0, 0, 2]);
        let mut gre = vec![
            0x10, 0x00, 0x22, 0xeb, // S flag, protocol ERSPAN III
            0, 0, 0, 7, // sequence number
            0x20, 0x64, 0x00, 0x01, // version 2, VLAN, session
            0, 0, 0, 0, // timestamp
            0, 0, 0, 0x01, // SGT, flags with O set
        ];
        gre.extend_from_slice(&[0; 8]); // platform-specific subheader
        let f = wrap_gre(&inner, &gre);
        assert_eq!(
            located(locate(LinkType::Ethernet, &f)).ip_offset,
            14 + 20 + gre.len() + 14
        );
    }

    #[test]
    fn locate_gre_ip_and_teb() {
        let inner = udp_frame([10, 0, 0, 1], [10, 0, 0, 2]);
        let f = wrap_gre(&inner[14..], &[0x00, 0x00, 0x08, 0x00]);
        assert_eq!(
            located(locate(LinkType::Ethernet, &f)).ip_offset,
            14 + 20 + 4
        );
        let f = wrap_gre(&inner, &[0x20, 0x00, 0x65, 0x58, 0, 0, 0, 5]); // key present
        assert_eq!(
            located(locate(LinkType::Ethernet, &f)).ip_offset,
            14 + 20 + 8 + 14
        );
    }

    #[test]
    fn locate_vxlan() {
        let inner = udp_frame([10, 0, 0, 1], [10, 0, 0, 2]);
        let mut payload = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0]; // I flag, VNI 42
        payload.extend_from_slice(&inner);
        let b = PacketBuilder::ethernet2([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 8])
            .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .udp(40000, VXLAN_PORT);
        let mut f = Vec::new();
        b.write(&mut f, &payload).unwrap();
        assert_eq!(
            located(locate(LinkType::Ethernet, &f)).ip_offset,
            14 + 20 + 8 + 8 + 14
        );
        payload[0] = 0; // I flag cleared
        let mut f = Vec::new();
        PacketBuilder::ethernet2([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 8])
            .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
            .udp(40000, VXLAN_PORT)
            .write(&mut f, &payload)
            .unwrap();
        assert_eq!(locate(LinkType::Ethernet, &f), Err(DecodeError::BadVxlan));
    }

    #[test]
    fn locate_vxlan_from_source_port_only_when_it_looks_like_vxlan() {
        let inner = udp_frame([10, 0, 0, 1], [10, 0, 0, 2]);
        let outer = |payload: &[u8]| {
            let mut f = Vec::new();
            PacketBuilder::ethernet2([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 8])
                .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
                .udp(VXLAN_PORT, 4790)
                .write(&mut f, payload)
                .unwrap();
            f
        };
        let mut payload = vec![0x08, 0, 0, 0, 0, 0, 0x2a, 0];
        payload.extend_from_slice(&inner);
        let deep = 14 + 20 + 8 + 8 + 14;
        assert_eq!(
            located(locate(LinkType::Ethernet, &outer(&payload))).ip_offset,
            deep
        );
        let mut gpe = vec![0x0c, 0, 0, 1, 0, 0, 0x2a, 0]; // I and P flags, next protocol IPv4
        gpe.extend_from_slice(&inner[14..]);
        assert_eq!(
            located(locate(LinkType::Ethernet, &outer(&gpe))).ip_offset,
            deep - 14
        );
        // A DNS query from ephemeral port 4789 is not a tunnel.
        let dns = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            located(locate(LinkType::Ethernet, &outer(&dns))).ip_offset,
            14
        );
    }

    #[test]
    fn locate_cooked_and_loopback() {
        let eth = udp_frame([10, 0, 0, 1], [10, 0, 0, 2]);
        let ip = &eth[14..];
        let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(ip);
        let l = located(locate(LinkType::LinuxSll, &sll));
        assert_eq!(
            (l.ip_offset, l.src_mac),
            (16, Some(Mac([2, 0, 0, 0, 0, 1])))
        );
        let mut sll2 = vec![
            0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0,
        ];
        sll2.extend_from_slice(ip);
        assert_eq!(located(locate(LinkType::LinuxSll2, &sll2)).ip_offset, 20);
        let mut null = vec![2, 0, 0, 0];
        null.extend_from_slice(ip);
        assert_eq!(located(locate(LinkType::Null, &null)).ip_offset, 4);
        let mut lo = vec![0, 0, 0, 2];
        lo.extend_from_slice(ip);
        assert_eq!(located(locate(LinkType::Loop, &lo)).ip_offset, 4);
        assert_eq!(located(locate(LinkType::RawIp, ip)).ip_offset, 0);
    }

    #[test]
    fn locate_non_ip_is_not_an_error() {
        let mut arp = udp_frame([10, 0, 0, 1], [10, 0, 0, 2]);
        arp[12..14].copy_from_slice(&[0x08, 0x06]);
        assert_eq!(locate(LinkType::Ethernet, &arp), Ok(Frame::NotIp));
    }

    #[test]
    fn locate_truncated_at_every_length() {
        let inner = udp_frame([10, 0, 0, 1], [10, 0, 0, 2]);
        let gre = [
            0x10, 0x00, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0x64, 0x00, 0x01, 0, 0, 0, 0,
        ];
        let f = wrap_gre(&inner, &gre);
        for link in [
            LinkType::Ethernet,
            LinkType::LinuxSll,
            LinkType::LinuxSll2,
            LinkType::Null,
        ] {
            for n in 0..f.len() {
                let _ = locate(link, &f[..n]);
            }
        }
        assert_eq!(
            locate(LinkType::Ethernet, &f[..10]),
            Err(DecodeError::TruncatedLink)
        );
    }

    #[test]
    fn locate_nested_tunnels_are_capped() {
        let mut f = udp_frame([10, 0, 0, 1], [10, 0, 0, 2]);
        for _ in 0..=MAX_ENCAPSULATIONS {
            f = wrap_gre(&f, &[0x00, 0x00, 0x65, 0x58]);
        }
        assert_eq!(locate(LinkType::Ethernet, &f), Err(DecodeError::TooDeep));
    }
}
