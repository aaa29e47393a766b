//! Packet sources: capture files and live interfaces, both through libpcap.
//!
//! Everything here does I/O; decoding what the packets contain happens in `pipeline`.

mod link;

pub use link::LinkType;

use crate::event::Timestamp;
use std::fmt;
use std::path::{Path, PathBuf};

/// Why a capture could not be opened or read.
#[derive(Debug)]
pub enum CaptureError {
    /// libpcap could not open the file (missing, unreadable, not a capture).
    OpenFile {
        /// The file.
        path: PathBuf,
        /// What libpcap said.
        reason: String,
    },
    /// libpcap could not open or configure the interface.
    OpenInterface {
        /// The interface.
        interface: String,
        /// What libpcap said.
        reason: String,
    },
    /// The BPF expression did not compile.
    Filter {
        /// The expression.
        expression: String,
        /// What libpcap said.
        reason: String,
    },
    /// The capture's link type is not one wiretally decodes.
    UnsupportedLinkType {
        /// File name or interface.
        source: String,
        /// The DLT number and name.
        linktype: String,
    },
    /// Reading failed part-way.
    Read {
        /// File name or interface.
        source: String,
        /// What libpcap said.
        reason: String,
    },
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::OpenFile { path, reason } => {
                write!(f, "{}: cannot open capture: {reason}", path.display())
            }
            CaptureError::OpenInterface { interface, reason } => {
                write!(f, "interface {interface}: cannot capture: {reason}")
            }
            CaptureError::Filter { expression, reason } => {
                write!(f, "BPF filter {expression:?}: {reason}")
            }
            CaptureError::UnsupportedLinkType { source, linktype } => write!(
                f,
                "{source}: link type {linktype} is not supported (Ethernet, Linux SLL/SLL2, raw IP and BSD loopback are)"
            ),
            CaptureError::Read { source, reason } => write!(f, "{source}: read failed: {reason}"),
        }
    }
}

impl std::error::Error for CaptureError {}

/// One captured packet, borrowed from libpcap's buffer until the next read.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// Capture time.
    pub ts: Timestamp,
    /// The captured bytes (at most the snap length).
    pub data: &'a [u8],
    /// The packet's length on the wire.
    pub wire_len: u32,
}

/// What a read returned.
#[derive(Debug)]
pub enum Read<'a> {
    /// A packet.
    Packet(RawPacket<'a>),
    /// A live capture's ring was empty: read again (the next read waits for packets).
    Empty,
    /// A live capture saw no packet for 100 ms; a chance to check for
    /// signals and end idle flows.
    Idle,
    /// The file ended.
    End,
    /// The file ended in the middle of a record; what came before was delivered.
    Truncated(String),
}

/// libpcap's counters for a live capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Packets received by the filter.
    pub received: u32,
    /// Packets dropped because the kernel buffer was full.
    pub dropped_by_kernel: u32,
    /// Packets dropped by the interface or its driver.
    pub dropped_by_interface: u32,
}

/// libpcap's counts as 64-bit totals. libpcap's own counters are 32 bits and wrap (after about
/// 1.7 hours at 700 kpps); each reading adds its difference from the one before.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureTotals {
    /// Packets received by the filter.
    pub received: u64,
    /// Packets dropped because the kernel buffer was full.
    pub dropped_by_kernel: u64,
    /// Packets dropped by the interface or its driver.
    pub dropped_by_interface: u64,
    last: CaptureStats,
}

impl CaptureTotals {
    /// Adds what a new reading counted since the previous one.
    pub fn advance(&mut self, now: CaptureStats) {
        self.received += u64::from(now.received.wrapping_sub(self.last.received));
        self.dropped_by_kernel += u64::from(
            now.dropped_by_kernel
                .wrapping_sub(self.last.dropped_by_kernel),
        );
        self.dropped_by_interface += u64::from(
            now.dropped_by_interface
                .wrapping_sub(self.last.dropped_by_interface),
        );
        self.last = now;
    }
}

/// Live capture settings.
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Interface name.
    pub interface: String,
    /// Optional BPF filter expression.
    pub bpf: Option<String>,
    /// Bytes kept of each packet.
    pub snaplen: i32,
    /// Kernel buffer size in MiB.
    pub buffer_mib: i32,
}

/// Waits until a non-blocking live capture has packets, or [`LIVE_READ_TIMEOUT_MS`] passed;
/// returns whether packets (or an error to report) wait. Reads never block longer, so the
/// capture loop notices a stop request and the pipeline keeps answering queries on a quiet link.
fn wait_readable(c: &pcap::Capture<pcap::Active>) -> bool {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(c.as_fd(), PollFlags::POLLIN)];
    // An interrupted wait counts as an idle turn; a failed one lets the read report the error.
    match poll(
        &mut fds,
        PollTimeout::try_from(LIVE_READ_TIMEOUT_MS).unwrap_or(PollTimeout::ZERO),
    ) {
        Ok(n) => n > 0,
        Err(nix::errno::Errno::EINTR) => false,
        Err(_) => true,
    }
}

/// How long a live read waits before returning [`Read::Idle`], so signals are noticed promptly.
const LIVE_READ_TIMEOUT_MS: i32 = 100;

enum Handle {
    File(pcap::Capture<pcap::Offline>),
    Live(pcap::Capture<pcap::Active>),
}

/// A source of packets: a capture file or a live interface.
pub struct Source {
    handle: Handle,
    name: String,
    link: LinkType,
    /// The last live read found the ring empty: the next one waits for packets first.
    drained: bool,
}

impl Source {
    /// Opens a pcap or pcapng file.
    pub fn open_file(path: &Path) -> Result<Self, CaptureError> {
        let cap = pcap::Capture::from_file(path).map_err(|e| CaptureError::OpenFile {
            path: path.to_path_buf(),
            reason: pcap_reason(&e),
        })?;
        let name = path.display().to_string();
        let link = link_of(&name, cap.get_datalink())?;
        Ok(Source {
            handle: Handle::File(cap),
            name,
            link,
            drained: false,
        })
    }

    /// Opens an interface in promiscuous, non-blocking mode and applies the filter. Immediate
    /// mode stays off: libpcap then uses TPACKET_V3, whose blocks pack packets of any size into
    /// the ring and are handed over when full or after 100 ms. In immediate
    /// mode it falls back to TPACKET_V2, whose fixed snaplen-sized slots hold about a thousand
    /// packets in 64 MiB; benches/live-loss.sh lost 0.46 % of a 620 kpps replay that way and
    /// none without it.
    pub fn open_live(opts: &LiveOptions) -> Result<Self, CaptureError> {
        let open_err = |e: pcap::Error| CaptureError::OpenInterface {
            interface: opts.interface.clone(),
            reason: pcap_reason(&e),
        };
        let mut cap = pcap::Capture::from_device(opts.interface.as_str())
            .map_err(open_err)?
            .promisc(true)
            .immediate_mode(false)
            .snaplen(opts.snaplen)
            .buffer_size(opts.buffer_mib.saturating_mul(1 << 20))
            .timeout(LIVE_READ_TIMEOUT_MS)
            .open()
            .and_then(|c| c.setnonblock())
            .map_err(open_err)?;
        if let Some(expr) = &opts.bpf {
            cap.filter(expr, true).map_err(|e| CaptureError::Filter {
                expression: expr.clone(),
                reason: pcap_reason(&e),
            })?;
        }
        let name = opts.interface.clone();
        let link = link_of(&name, cap.get_datalink())?;
        Ok(Source {
            handle: Handle::Live(cap),
            name,
            link,
            drained: false,
        })
    }

    /// File name or interface name, for messages.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The link type every packet of this source has.
    pub fn link_type(&self) -> LinkType {
        self.link
    }

    /// Reads the next packet.
    pub fn read(&mut self) -> Result<Read<'_>, CaptureError> {
        let is_file = matches!(self.handle, Handle::File(_));
        if std::mem::take(&mut self.drained)
            && let Handle::Live(c) = &self.handle
            && !wait_readable(c)
        {
            return Ok(Read::Idle);
        }
        let result = match &mut self.handle {
            Handle::File(c) => c.next_packet(),
            Handle::Live(c) => c.next_packet(),
        };
        match result {
            Ok(p) => Ok(Read::Packet(RawPacket {
                ts: Timestamp::from_parts(p.header.ts.tv_sec, p.header.ts.tv_usec),
                data: p.data,
                wire_len: p.header.len,
            })),
            Err(pcap::Error::NoMorePackets) => Ok(Read::End),
            Err(pcap::Error::TimeoutExpired) => {
                self.drained = true;
                Ok(Read::Empty)
            }
            Err(e) => {
                let reason = pcap_reason(&e);
                if is_file && reason.contains("truncated") {
                    Ok(Read::Truncated(reason))
                } else {
                    Err(CaptureError::Read {
                        source: self.name.clone(),
                        reason,
                    })
                }
            }
        }
    }

    /// Whether this is a live capture (not a file).
    pub fn is_live(&self) -> bool {
        matches!(self.handle, Handle::Live(_))
    }

    /// libpcap's statistics of a live capture; `None` for a file.
    pub fn stats(&mut self) -> Option<CaptureStats> {
        match &mut self.handle {
            Handle::File(_) => None,
            Handle::Live(c) => c.stats().ok().map(|s| CaptureStats {
                received: s.received,
                dropped_by_kernel: s.dropped,
                dropped_by_interface: s.if_dropped,
            }),
        }
    }
}

fn link_of(name: &str, dlt: pcap::Linktype) -> Result<LinkType, CaptureError> {
    LinkType::from_dlt(dlt.0).ok_or_else(|| CaptureError::UnsupportedLinkType {
        source: name.to_string(),
        linktype: match dlt.get_name() {
            Ok(n) => format!("{} ({n})", dlt.0),
            Err(_) => dlt.0.to_string(),
        },
    })
}

fn pcap_reason(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_carry_on_past_libpcaps_32_bit_wrap() {
        let mut t = CaptureTotals::default();
        let reading = |received, kernel| CaptureStats {
            received,
            dropped_by_kernel: kernel,
            dropped_by_interface: 0,
        };
        t.advance(reading(u32::MAX - 9, 5));
        t.advance(reading(u32::MAX - 9, 5));
        assert_eq!(t.received, u64::from(u32::MAX - 9));
        t.advance(reading(20, 7));
        assert_eq!(t.received, u64::from(u32::MAX) + 21);
        assert_eq!(t.dropped_by_kernel, 7);
    }
}
