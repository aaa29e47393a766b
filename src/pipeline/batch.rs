//! What the capture thread hands to workers and what workers report back.

use crate::capture::CaptureStats;
use crate::event::{Event, Mac, Timestamp};
use crate::pipeline::stats::Counters;
use std::net::IpAddr;

/// One packet's place in a batch's byte buffer, plus what the capture thread learnt of it.
#[derive(Debug, Clone, Copy)]
pub struct PacketMeta {
    /// Position in the whole input, from 1; orders everything downstream.
    pub seq: u64,
    /// Capture time.
    pub ts: Timestamp,
    /// Start of the frame in the batch buffer.
    pub start: usize,
    /// Captured length.
    pub len: usize,
    /// Length on the wire.
    pub wire_len: u32,
    /// Where the inner IP header starts within the frame.
    pub ip_offset: usize,
    /// Virtual shard of the packet's address pair (below `worker::VIRTUAL_SHARDS`).
    pub shard: u16,
    /// Innermost Ethernet source, when known.
    pub src_mac: Option<Mac>,
    /// Innermost Ethernet destination, when known.
    pub dst_mac: Option<Mac>,
}

/// What a batch asks of a worker besides its packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Control {
    /// Only packets.
    #[default]
    None,
    /// After the packets, end flows idle at this packet time.
    Tick(Timestamp),
    /// After the packets, end every flow: the input is over.
    Finish,
}

/// Packets for one worker, in sequence order, in one reusable buffer.
#[derive(Debug, Default)]
pub struct Batch {
    /// Frame bytes, back to back.
    pub data: Vec<u8>,
    /// The frames.
    pub packets: Vec<PacketMeta>,
    /// Every packet with a sequence number below this has been dispatched to some worker.
    pub upto: u64,
    /// Tick or finish instruction.
    pub control: Control,
    /// What the capture thread counted since its previous note (carried by one worker's batch
    /// and passed on in its report, so the totals reach the output thread while capturing).
    pub capture_counters: Counters,
    /// libpcap's statistics when the capture thread last read them.
    pub capture_stats: Option<CaptureStats>,
}

impl Batch {
    /// Empties the batch, keeping its allocations.
    pub fn clear(&mut self) {
        self.data.clear();
        self.packets.clear();
        self.control = Control::None;
        self.capture_counters = Counters::default();
        self.capture_stats = None;
    }

    /// The bytes of one packet.
    pub fn frame(&self, p: &PacketMeta) -> &[u8] {
        self.data.get(p.start..p.start + p.len).unwrap_or_default()
    }
}

/// Total order of everything workers produce, independent of how packets were spread over workers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderKey {
    /// Sequence number of the packet (or tick) that caused the item.
    pub seq: u64,
    /// 0 for flow endings at a tick or at the end, 1 for items of a packet; a tick at sequence n
    /// comes before packet n.
    pub phase: u8,
    /// The flow's first packet sequence number.
    pub flow: u64,
    /// Position among the flow's items.
    pub index: u32,
}

/// A host took part in a flow at this time: feeds hosts' first and last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    /// When.
    pub ts: Timestamp,
    /// Client address and MAC.
    pub client: (IpAddr, Option<Mac>),
    /// Server address and MAC.
    pub server: (IpAddr, Option<Mac>),
    /// At a flow's start, what it opened with (the end of a flow reports `None`).
    pub opened: Option<Opened>,
    /// At the end of a flow that gave no event (no name of its own: no SNI, Host or query), how
    /// it had opened, so it can be named through its client's DNS lookups.
    pub unnamed: Option<Opened>,
    /// At the end of a flow, whether the server sent anything (a SYN-ACK at least).
    pub answered: bool,
}

/// How a flow started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opened {
    /// The flow's id.
    pub flow_id: u64,
    /// Server port.
    pub port: u16,
    /// Transport protocol.
    pub proto: crate::event::Proto,
    /// For a TCP flow seen from its SYN: the client's initial TTL and option order
    /// (`128:mss,nop,ws,nop,nop,sok`), a weak operating-system hint in the manner of p0f.
    pub syn_shape: Option<String>,
    /// When the flow began.
    pub at: crate::event::Timestamp,
}

/// Something a worker produced.
#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    /// An event (boxed: events are large and rare next to activity records).
    Event(Box<Event>),
    /// Host activity.
    Activity(Activity),
}

/// A worker's report after a batch.
#[derive(Debug)]
pub struct Report {
    /// Which worker.
    pub worker: usize,
    /// The worker will never again produce an item whose key's `seq` is below this.
    pub upto: u64,
    /// Items with their keys, in no particular order.
    pub items: Vec<(OrderKey, Item)>,
    /// Counts since the previous report.
    pub counters: Counters,
    /// The worker has finished for good.
    pub finished: bool,
    /// Flows and stream-buffer bytes held now (gauges, not deltas).
    pub flows: usize,
    /// Bytes held by stream-start buffers and fragment reassembly now.
    pub buffer_bytes: usize,
    /// libpcap's statistics the capture thread passed along with the batch.
    pub capture_stats: Option<CaptureStats>,
}
