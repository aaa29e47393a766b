//! Link-layer header types (libpcap DLT values) that wiretally decodes.

/// A link-layer header type, from the capture's DLT number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkType {
    /// DLT_EN10MB: Ethernet II, with optional 802.1Q/802.1ad tags.
    Ethernet,
    /// DLT_LINUX_SLL: Linux "cooked" capture v1 (`-i any`), 16-byte header.
    LinuxSll,
    /// DLT_LINUX_SLL2: Linux "cooked" capture v2, 20-byte header.
    LinuxSll2,
    /// DLT_RAW and its aliases: the packet starts with the IP header.
    RawIp,
    /// DLT_NULL: BSD loopback, 4-byte address family in the capturing host's byte order.
    Null,
    /// DLT_LOOP: OpenBSD loopback, 4-byte address family in network byte order.
    Loop,
}

impl LinkType {
    /// Maps a DLT number to a link type; `None` for types wiretally does not decode.
    pub fn from_dlt(dlt: i32) -> Option<Self> {
        // Numbers from https://www.tcpdump.org/linktypes.html; DLT_RAW is 12 on most systems, 14 on
        // OpenBSD, and LINKTYPE_RAW (101) in files.
        match dlt {
            1 => Some(LinkType::Ethernet),
            113 => Some(LinkType::LinuxSll),
            276 => Some(LinkType::LinuxSll2),
            12 | 14 | 101 => Some(LinkType::RawIp),
            0 => Some(LinkType::Null),
            108 => Some(LinkType::Loop),
            _ => None,
        }
    }
}
