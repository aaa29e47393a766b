//! The bounded, bidirectional flow table.
//!
//! A flow is keyed by its address and port pair in a canonical order, so both directions find the
//! same entry. Flows end after an idle timeout (checked lazily on every packet and by periodic
//! sweeps), at the end of the input, or when the table is full and the least recently active
//! flows are evicted; every ending is counted by cause.

use crate::event::{Endpoints, Event, Mac, Proto, Timestamp};
use crate::pipeline::stream::StreamStart;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::IpAddr;

/// A flow's identity: both addresses and ports in canonical (sorted) order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    /// The lower (address, port) endpoint.
    pub lo: (IpAddr, u16),
    /// The higher endpoint.
    pub hi: (IpAddr, u16),
    /// Transport protocol.
    pub proto: Proto,
}

impl FlowKey {
    /// Builds the key of a packet and says whether the packet's source is the `lo` endpoint.
    pub fn of(src: (IpAddr, u16), dst: (IpAddr, u16), proto: Proto) -> (FlowKey, bool) {
        if src <= dst {
            (
                FlowKey {
                    lo: src,
                    hi: dst,
                    proto,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    lo: dst,
                    hi: src,
                    proto,
                },
                false,
            )
        }
    }
}

/// Which way a packet travels relative to the flow's initiator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the endpoint that sent the first packet (the client).
    ToServer,
    /// Back to it.
    ToClient,
}

impl Direction {
    /// 0 for [`Direction::ToServer`], 1 for [`Direction::ToClient`].
    pub fn index(self) -> usize {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 1,
        }
    }
}

/// Per-flow TCP stream-start state; boxed and dropped once no parser wants more bytes.
#[derive(Debug)]
pub struct TcpStart {
    /// Each direction's buffer, once its first sequence number is known.
    pub dirs: [Option<StreamStart>; 2],
    /// Per direction, a bit per stream parser still interested.
    pub interest: [u32; 2],
    /// Per direction and parser, how many bytes that parser has consumed.
    pub cursors: [[u32; crate::app::MAX_STREAM_APPS]; 2],
    /// Heap bytes the two buffers hold, as charged to the shard's stream budget.
    pub charged: usize,
}

/// One bidirectional flow.
#[derive(Debug)]
pub struct Flow {
    /// EVE flow id.
    pub id: u64,
    /// Sequence number of the packet that created the flow; orders events deterministically.
    pub first_seq: u64,
    /// First packet time.
    pub first_ts: Timestamp,
    /// Last packet time.
    pub last_ts: Timestamp,
    /// Whether the client (initiator) is the key's `lo` endpoint.
    pub client_is_lo: bool,
    /// Packets per direction.
    pub packets: [u32; 2],
    /// Bytes on the wire per direction.
    pub bytes: [u64; 2],
    /// Client and server MAC as the link layer showed them.
    pub macs: [Option<Mac>; 2],
    /// Datagram parser chosen for this UDP flow, by index in the registry.
    pub datagram_app: Option<u8>,
    /// TCP stream-start state while parsers still want bytes.
    pub tcp: Option<Box<TcpStart>>,
    /// A FIN or RST was seen: the flow ends after the short closed timeout.
    pub closing: bool,
    /// Sequence number of the client's SYN, to tell a new connection on the same ports.
    pub client_isn: Option<u32>,
    /// An event held back to merge with a later message (an HTTP request awaiting its response).
    pub pending: Option<Box<Event>>,
    /// A parser's state between datagrams (a QUIC connection's CRYPTO stream).
    pub parser_state: Option<Box<crate::app::ParserState>>,
    /// Events emitted so far; orders this flow's events.
    pub events: u32,
}

impl Flow {
    /// Endpoints as seen by a message travelling in `dir`.
    pub fn endpoints(&self, key: &FlowKey, dir: Direction) -> Endpoints {
        let (client, server) = if self.client_is_lo {
            (key.lo, key.hi)
        } else {
            (key.hi, key.lo)
        };
        let (src, dst, smac, dmac) = match dir {
            Direction::ToServer => (client, server, self.macs[0], self.macs[1]),
            Direction::ToClient => (server, client, self.macs[1], self.macs[0]),
        };
        Endpoints {
            flow_id: self.id,
            src_ip: src.0,
            src_port: src.1,
            dest_ip: dst.0,
            dest_port: dst.1,
            proto: key.proto,
            src_mac: smac,
            dest_mac: dmac,
        }
    }

    /// Direction of a packet whose source is the key's `lo` endpoint or not.
    pub fn direction(&self, src_is_lo: bool) -> Direction {
        if src_is_lo == self.client_is_lo {
            Direction::ToServer
        } else {
            Direction::ToClient
        }
    }
}

/// Idle timeouts and size of the table.
#[derive(Debug, Clone, Copy)]
pub struct FlowLimits {
    /// Most flows tracked at once (by this table).
    pub max_flows: usize,
    /// Seconds a TCP flow may be idle.
    pub tcp_idle_secs: u64,
    /// Seconds a UDP flow may be idle.
    pub udp_idle_secs: u64,
    /// Seconds a TCP flow lingers after FIN or RST (late retransmissions still find it).
    pub closed_secs: u64,
}

impl FlowLimits {
    /// Whether `flow` has been idle past its timeout at `now`.
    pub fn expired(&self, key: &FlowKey, flow: &Flow, now: Timestamp) -> bool {
        let secs = if flow.closing {
            self.closed_secs
        } else if key.proto == Proto::Tcp {
            self.tcp_idle_secs
        } else {
            self.udp_idle_secs
        };
        flow.last_ts.plus_secs(secs) < now
    }
}

impl Default for FlowLimits {
    fn default() -> Self {
        // Zeek's defaults: 5 minutes for TCP inactivity, 1 minute for UDP.
        FlowLimits {
            max_flows: 1_000_000,
            tcp_idle_secs: 300,
            udp_idle_secs: 60,
            closed_secs: 10,
        }
    }
}

/// Entries reserved when a table is made; it grows on demand up to `max_flows`. Small, because a
/// worker holds one table per virtual shard.
const INITIAL_CAPACITY: usize = 256;

/// When full, this fraction (1/n) of the flows, the least recently active, is evicted at once, so
/// the cost of finding them is paid rarely.
const EVICT_FRACTION: usize = 64;

/// The flow table of one worker.
pub struct FlowTable {
    flows: HashMap<FlowKey, Flow, foldhash::fast::RandomState>,
    limits: FlowLimits,
}

impl FlowTable {
    /// An empty table.
    pub fn new(limits: FlowLimits) -> Self {
        let cap = INITIAL_CAPACITY.min(limits.max_flows);
        FlowTable {
            flows: HashMap::with_capacity_and_hasher(cap, foldhash::fast::RandomState::default()),
            limits,
        }
    }

    /// Flows tracked now.
    pub fn len(&self) -> usize {
        self.flows.len()
    }

    /// True when no flow is tracked.
    pub fn is_empty(&self) -> bool {
        self.flows.is_empty()
    }

    /// The limits in force.
    pub fn limits(&self) -> FlowLimits {
        self.limits
    }

    /// Looks up a flow.
    pub fn get_mut(&mut self, key: &FlowKey) -> Option<&mut Flow> {
        self.flows.get_mut(key)
    }

    /// Removes a flow.
    pub fn remove(&mut self, key: &FlowKey) -> Option<Flow> {
        self.flows.remove(key)
    }

    /// Inserts a flow; the caller has made room with [`FlowTable::full`] and [`FlowTable::evict_oldest`].
    pub fn insert(&mut self, key: FlowKey, flow: Flow) -> &mut Flow {
        self.flows.entry(key).insert_entry(flow).into_mut()
    }

    /// True when a new flow would exceed the limit.
    pub fn full(&self) -> bool {
        self.flows.len() >= self.limits.max_flows
    }

    /// Removes the least recently active flows (oldest first, ties by creation order) to make room.
    pub fn evict_oldest(&mut self) -> Vec<(FlowKey, Flow)> {
        let n = (self.flows.len() / EVICT_FRACTION).max(1);
        let mut by_age: Vec<(Timestamp, u64, FlowKey)> = self
            .flows
            .iter()
            .map(|(k, f)| (f.last_ts, f.first_seq, *k))
            .collect();
        by_age.sort_unstable();
        by_age.truncate(n);
        self.take_sorted(by_age.into_iter().map(|(_, _, k)| k))
    }

    /// Removes every flow idle past its timeout at `now`, in creation order.
    pub fn expire(&mut self, now: Timestamp) -> Vec<(FlowKey, Flow)> {
        let mut keys: Vec<(u64, FlowKey)> = self
            .flows
            .iter()
            .filter(|(k, f)| self.limits.expired(k, f, now))
            .map(|(k, f)| (f.first_seq, *k))
            .collect();
        keys.sort_unstable();
        self.take_sorted(keys.into_iter().map(|(_, k)| k))
    }

    /// Removes every flow, in creation order.
    pub fn drain(&mut self) -> Vec<(FlowKey, Flow)> {
        let mut all: Vec<(FlowKey, Flow)> = self.flows.drain().collect();
        all.sort_unstable_by_key(|(_, f)| f.first_seq);
        all
    }

    fn take_sorted(&mut self, keys: impl Iterator<Item = FlowKey>) -> Vec<(FlowKey, Flow)> {
        keys.filter_map(|k| self.flows.remove(&k).map(|f| (k, f)))
            .collect()
    }

    /// Flow id for a new flow: a fixed-seed hash of its key and first packet time, so the same
    /// input always gives the same ids, masked to 51 bits so JSON readers that use doubles keep it
    /// exact.
    pub fn flow_id(key: &FlowKey, first_ts: Timestamp) -> u64 {
        let h = foldhash::fast::FixedState::with_seed(0x7769_7265).hash_one((key, first_ts));
        h & ((1 << 51) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow(first_seq: u64, ts: i64) -> Flow {
        Flow {
            id: 0,
            first_seq,
            first_ts: Timestamp(ts),
            last_ts: Timestamp(ts),
            client_is_lo: true,
            packets: [0; 2],
            bytes: [0; 2],
            macs: [None; 2],
            datagram_app: None,
            tcp: None,
            closing: false,
            client_isn: None,
            pending: None,
            parser_state: None,
            events: 0,
        }
    }

    fn key(port: u16, proto: Proto) -> FlowKey {
        FlowKey::of(
            ("10.0.0.1".parse().unwrap(), port),
            ("10.0.0.2".parse().unwrap(), 80),
            proto,
        )
        .0
    }

    #[test]
    fn key_is_the_same_both_ways() {
        let a = ("10.0.0.9".parse().unwrap(), 4000);
        let b = ("10.0.0.1".parse().unwrap(), 53);
        let (k1, lo1) = FlowKey::of(a, b, Proto::Udp);
        let (k2, lo2) = FlowKey::of(b, a, Proto::Udp);
        assert_eq!(k1, k2);
        assert_ne!(lo1, lo2);
    }

    #[test]
    fn expire_uses_per_protocol_timeouts() {
        let mut t = FlowTable::new(FlowLimits::default());
        t.insert(key(1, Proto::Udp), flow(1, 0));
        t.insert(key(2, Proto::Tcp), flow(2, 0));
        let now = Timestamp(0).plus_secs(61);
        let gone = t.expire(now);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].0.proto, Proto::Udp);
        assert_eq!(t.len(), 1);
        assert_eq!(t.expire(Timestamp(0).plus_secs(301)).len(), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn eviction_takes_the_least_recently_active() {
        let limits = FlowLimits {
            max_flows: 128,
            ..FlowLimits::default()
        };
        let mut t = FlowTable::new(limits);
        for i in 0..128u16 {
            t.insert(
                key(1000 + i, Proto::Tcp),
                flow(u64::from(i), 1000 - i64::from(i)),
            );
        }
        assert!(t.full());
        let gone = t.evict_oldest();
        assert_eq!(gone.len(), 2);
        assert_eq!(gone[0].1.first_seq, 127, "oldest last_ts first");
        assert!(!t.full());
    }

    #[test]
    fn flow_ids_are_stable_and_distinct() {
        let a = FlowTable::flow_id(&key(1, Proto::Tcp), Timestamp(5));
        assert_eq!(a, FlowTable::flow_id(&key(1, Proto::Tcp), Timestamp(5)));
        assert_ne!(a, FlowTable::flow_id(&key(2, Proto::Tcp), Timestamp(5)));
        assert!(a < 1 << 51);
    }
}
