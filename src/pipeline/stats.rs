//! Counters of what the pipeline did, summed across threads.
//!
//! Each thread keeps its own copy and sends deltas with its reports, so the hot path never
//! touches a shared cache line; the output thread adds them up.

use crate::pipeline::decode::DecodeError;
use crate::pipeline::fragment::FragCounters;

/// Most parsers of each kind the per-parser counters hold.
pub const MAX_PARSERS: usize = 16;

/// Everything the pipeline counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Packets read from the sources.
    pub packets: u64,
    /// Bytes on the wire of those packets.
    pub bytes: u64,
    /// Frames that were not IP (ARP, LLDP…).
    pub non_ip: u64,
    /// Frames that failed to decode, by reason (index = position in [`DecodeError::ALL`]).
    pub decode_errors: [u64; DecodeError::ALL.len()],
    /// IP packets with a malformed or cut-short TCP or UDP header.
    pub bad_transport: u64,
    /// IP packets of other protocols (ICMP, ESP…), not tracked as flows.
    pub other_ip: u64,
    /// Fragment reassembly.
    pub fragments: FragCounters,
    /// Flows created.
    pub flows_created: u64,
    /// Flows ended by their idle timeout.
    pub flows_timed_out: u64,
    /// Flows evicted because the table was full.
    pub flows_evicted: u64,
    /// TCP flows ended because a new connection reused their ports.
    pub flows_reused: u64,
    /// TCP directions picked up mid-stream because their start was not seen (flow began before capture).
    pub tcp_midstream_pickups: u64,
    /// Early TCP segments dropped because a stream's pending list was full.
    pub stream_overflows: u64,
    /// Stream directions whose parser still wanted more when the depth was reached.
    pub stream_depth_reached: u64,
    /// Stream directions (and parser states) dropped because their shard's buffer budget was spent.
    pub stream_budget_exhausted: u64,
    /// TCP stream directions a parser was still reading (an unfinished ClientHello or HTTP head)
    /// when their flow ended.
    pub streams_unfinished: u64,
    /// Flows that ended while a parser still waited for the rest of a message (QUIC connections
    /// whose ClientHello never completed).
    pub unfinished_parser_states: u64,
    /// Payloads a datagram parser claimed but found malformed, per parser.
    pub datagram_malformed: [u64; MAX_PARSERS],
    /// Events emitted.
    pub events: u64,
    /// Worker threads that panicked (a bug: their flows were lost, and the run fails).
    pub worker_panics: u64,
}

impl Counters {
    /// Adds another thread's counts to these.
    pub fn add(&mut self, o: &Counters) {
        self.packets += o.packets;
        self.worker_panics += o.worker_panics;
        self.bytes += o.bytes;
        self.non_ip += o.non_ip;
        for (a, b) in self.decode_errors.iter_mut().zip(o.decode_errors) {
            *a += b;
        }
        self.bad_transport += o.bad_transport;
        self.other_ip += o.other_ip;
        self.fragments.reassembled += o.fragments.reassembled;
        self.fragments.timed_out += o.fragments.timed_out;
        self.fragments.over_limit += o.fragments.over_limit;
        self.fragments.invalid += o.fragments.invalid;
        self.flows_created += o.flows_created;
        self.flows_timed_out += o.flows_timed_out;
        self.flows_evicted += o.flows_evicted;
        self.flows_reused += o.flows_reused;
        self.tcp_midstream_pickups += o.tcp_midstream_pickups;
        self.stream_overflows += o.stream_overflows;
        self.stream_depth_reached += o.stream_depth_reached;
        self.stream_budget_exhausted += o.stream_budget_exhausted;
        self.unfinished_parser_states += o.unfinished_parser_states;
        self.streams_unfinished += o.streams_unfinished;
        for (a, b) in self.datagram_malformed.iter_mut().zip(o.datagram_malformed) {
            *a += b;
        }
        self.events += o.events;
    }

    /// Counts one decode error.
    pub fn decode_error(&mut self, e: DecodeError) {
        if let Some(i) = DecodeError::ALL.iter().position(|x| *x == e) {
            self.decode_errors[i] += 1;
        }
    }

    /// Decode errors with their reason names, for reports.
    pub fn decode_errors_by_reason(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        DecodeError::ALL
            .iter()
            .zip(self.decode_errors)
            .map(|(e, n)| (e.reason(), n))
    }
}
