//! A worker: IP and transport decoding, fragments, flows, stream starts and parsers for the
//! packets of the virtual shards it owns.
//!
//! Traffic is split into [`VIRTUAL_SHARDS`] shards by a symmetric hash of the address pair, so
//! both directions of a flow and every fragment of a datagram land in the same shard. Each shard
//! has its own flow table, fragment reassembler and stream-buffer budget, with limits that are a
//! fixed fraction of the totals, and a worker owns whole shards. What a shard does therefore does
//! not depend on how many workers there are, even when its tables are full; together with
//! [`OrderKey`]s derived from packet sequence numbers only, that makes the merged output identical
//! for any worker count. A packet of a flow no parser wants costs a table lookup and a few counter
//! updates, and no allocation.

use crate::app::{self, DATAGRAM_PARSERS, STREAM_PARSERS, Sink, Verdict};
use crate::event::{Endpoints, Event, Mac, Proto};
use crate::pipeline::batch::{
    Activity, Batch, Control, Item, Opened, OrderKey, PacketMeta, Report,
};
use crate::pipeline::flow::{Direction, Flow, FlowKey, FlowLimits, FlowTable, TcpStart};
use crate::pipeline::fragment::{Defragmenter, FragKey, FragLimits};
use crate::pipeline::stats::{Counters, MAX_PARSERS};
use crate::pipeline::stream::{Added, StreamStart};
use etherparse::{IpNumber, LaxIpSlice, TcpSlice, UdpSlice};

/// Fixed number of shards the traffic is split into, whatever the worker count: enough to spread
/// over many workers, few enough that per-shard limits stay meaningful.
pub const VIRTUAL_SHARDS: usize = 64;

/// Pipeline-wide settings, divided between the virtual shards.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Flow table limits; `max_flows` is the total over all shards.
    pub flows: FlowLimits,
    /// Bytes of each TCP direction's start handed to stream parsers.
    pub stream_depth: usize,
    /// Total heap bytes all stream-start buffers may hold.
    pub stream_memory: usize,
    /// Fragment reassembly limits; counts and bytes are totals over all shards.
    pub fragments: FragLimits,
}

/// The transport part of a decoded packet.
struct Transport<'a> {
    proto: Proto,
    src_port: u16,
    dst_port: u16,
    tcp: Option<TcpInfo>,
    payload: &'a [u8],
    /// TCP options of a SYN without ACK (empty otherwise).
    syn_options: &'a [u8],
    /// IP time to live or hop limit.
    ttl: u8,
}

#[derive(Clone, Copy)]
struct TcpInfo {
    seq: u32,
    ack: u32,
    syn: bool,
    has_ack: bool,
    fin_or_rst: bool,
}

/// One virtual shard's state.
struct Shard {
    flows: FlowTable,
    defrag: Defragmenter,
    /// Heap bytes of stream-start buffers charged to this shard.
    stream_bytes: usize,
}

/// What the worker produces, apart from the shards.
struct State {
    config: WorkerConfig,
    /// Stream-buffer budget of one shard.
    stream_budget: usize,
    counters: Counters,
    items: Vec<(OrderKey, Item)>,
    /// Reused for each packet's events.
    scratch: Vec<Event>,
}

/// One worker.
pub struct Worker {
    id: usize,
    workers: usize,
    shards: Vec<Shard>,
    state: State,
}

impl Worker {
    /// Worker `id` of `workers`, owning shards `id`, `id + workers`, `id + 2 * workers`…
    pub fn new(id: usize, workers: usize, config: WorkerConfig) -> Self {
        let per_shard = |total: usize| (total / VIRTUAL_SHARDS).max(1);
        let flows = FlowLimits {
            max_flows: per_shard(config.flows.max_flows),
            ..config.flows
        };
        let fragments = FragLimits {
            max_datagrams: per_shard(config.fragments.max_datagrams),
            max_bytes: per_shard(config.fragments.max_bytes),
            ..config.fragments
        };
        let shards = (id..VIRTUAL_SHARDS)
            .step_by(workers.max(1))
            .map(|_| Shard {
                flows: FlowTable::new(flows),
                defrag: Defragmenter::new(fragments),
                stream_bytes: 0,
            })
            .collect();
        Worker {
            id,
            workers: workers.max(1),
            shards,
            state: State {
                config,
                stream_budget: per_shard(config.stream_memory),
                counters: Counters::default(),
                items: Vec::new(),
                scratch: Vec::new(),
            },
        }
    }

    /// The worker that owns a virtual shard.
    pub fn owner(shard: usize, workers: usize) -> usize {
        shard % workers.max(1)
    }

    /// Processes a batch and returns the report for it.
    pub fn process(&mut self, batch: &Batch) -> Report {
        for meta in &batch.packets {
            self.packet(meta, batch.frame(meta));
        }
        let st = &mut self.state;
        let finished = match batch.control {
            Control::None => false,
            Control::Tick(now) => {
                for shard in &mut self.shards {
                    shard.defrag.expire(now);
                    for (key, flow) in shard.flows.expire(now) {
                        st.counters.flows_timed_out += 1;
                        st.end_flow(shard, &key, flow, batch.upto, 0);
                    }
                }
                false
            }
            Control::Finish => {
                for shard in &mut self.shards {
                    for (key, flow) in shard.flows.drain() {
                        st.end_flow(shard, &key, flow, u64::MAX, 0);
                    }
                }
                true
            }
        };
        for shard in &mut self.shards {
            let c = std::mem::take(&mut shard.defrag.counters);
            st.counters.fragments.reassembled += c.reassembled;
            st.counters.fragments.timed_out += c.timed_out;
            st.counters.fragments.over_limit += c.over_limit;
            st.counters.fragments.invalid += c.invalid;
        }
        Report {
            worker: self.id,
            upto: if finished { u64::MAX } else { batch.upto },
            items: std::mem::take(&mut st.items),
            counters: std::mem::take(&mut st.counters),
            finished,
            flows: self.shards.iter().map(|s| s.flows.len()).sum(),
            buffer_bytes: self
                .shards
                .iter()
                .map(|s| s.defrag.bytes() + s.stream_bytes)
                .sum(),
            capture_stats: None,
        }
    }

    fn packet(&mut self, meta: &PacketMeta, frame: &[u8]) {
        let st = &mut self.state;
        let Some(shard) = self.shards.get_mut(usize::from(meta.shard) / self.workers) else {
            st.counters.bad_transport += 1;
            return;
        };
        let Some(ip_bytes) = frame.get(meta.ip_offset..) else {
            st.counters.bad_transport += 1;
            return;
        };
        let Ok((ip, _)) = LaxIpSlice::from_slice(ip_bytes) else {
            st.counters
                .decode_error(crate::pipeline::decode::DecodeError::BadIp);
            return;
        };
        let (src, dst) = (ip.source_addr(), ip.destination_addr());
        let payload = ip.payload();
        let reassembled;
        let (number, bytes) = if payload.fragmented {
            let Some((key, offset, more)) = fragment_of(&ip) else {
                st.counters.bad_transport += 1;
                return;
            };
            match shard
                .defrag
                .add(key, offset, more, payload.payload, meta.ts)
            {
                Some(done) => {
                    reassembled = done;
                    (reassembled.0, reassembled.1.as_slice())
                }
                None => return,
            }
        } else {
            (payload.ip_number, payload.payload)
        };
        let Some(mut t) = transport(number, bytes) else {
            if number == IpNumber::TCP || number == IpNumber::UDP {
                st.counters.bad_transport += 1;
            } else {
                st.counters.other_ip += 1;
            }
            return;
        };
        t.ttl = match &ip {
            LaxIpSlice::Ipv4(v4) => v4.header().ttl(),
            LaxIpSlice::Ipv6(v6) => v6.header().hop_limit(),
        };
        let (key, src_is_lo) = FlowKey::of((src, t.src_port), (dst, t.dst_port), t.proto);
        let limits = shard.flows.limits();
        if let Some(flow) = shard.flows.get_mut(&key)
            && !limits.expired(&key, flow, meta.ts)
            && !starts_anew(flow, &t)
        {
            st.on_packet(&mut shard.stream_bytes, &key, flow, src_is_lo, meta, &t);
            return;
        }
        if let Some(old) = shard.flows.remove(&key) {
            if limits.expired(&key, &old, meta.ts) {
                st.counters.flows_timed_out += 1;
            } else {
                st.counters.flows_reused += 1;
            }
            st.end_flow(shard, &key, old, meta.seq, 1);
        }
        if shard.flows.full() {
            for (k, f) in shard.flows.evict_oldest() {
                st.counters.flows_evicted += 1;
                st.end_flow(shard, &k, f, meta.seq, 1);
            }
        }
        let flow = st.new_flow(&key, src_is_lo, meta, &t);
        let flow = shard.flows.insert(key, flow);
        st.on_packet(&mut shard.stream_bytes, &key, flow, src_is_lo, meta, &t);
    }
}

/// Whether a packet opens a new connection on the ports of an existing TCP flow: a SYN without
/// ACK after the old one closed, or with another initial sequence number.
fn starts_anew(flow: &Flow, t: &Transport<'_>) -> bool {
    match t.tcp {
        Some(tcp) if tcp.syn && !tcp.has_ack => {
            flow.closing || flow.client_isn.is_some_and(|isn| isn != tcp.seq)
        }
        _ => false,
    }
}

/// Fragment key, offset and more-fragments flag of a fragmenting IP packet.
fn fragment_of(ip: &LaxIpSlice<'_>) -> Option<(FragKey, etherparse::IpFragOffset, bool)> {
    let number = ip.payload().ip_number.0;
    match ip {
        LaxIpSlice::Ipv4(v4) => {
            let h = v4.header();
            let key = FragKey {
                src: h.source_addr().to_ipv6_mapped().octets(),
                dst: h.destination_addr().to_ipv6_mapped().octets(),
                id: u32::from(h.identification()),
                proto: number,
            };
            Some((key, h.fragments_offset(), h.more_fragments()))
        }
        LaxIpSlice::Ipv6(v6) => {
            let frag = v6.extensions().clone().into_iter().find_map(|e| match e {
                etherparse::Ipv6ExtensionSlice::Fragment(f) => Some(f),
                _ => None,
            })?;
            let key = FragKey {
                src: v6.header().source(),
                dst: v6.header().destination(),
                id: frag.identification(),
                proto: number,
            };
            Some((key, frag.fragment_offset(), frag.more_fragments()))
        }
    }
}

fn transport(number: IpNumber, bytes: &[u8]) -> Option<Transport<'_>> {
    match number {
        IpNumber::TCP => {
            let t = TcpSlice::from_slice(bytes).ok()?;
            Some(Transport {
                proto: Proto::Tcp,
                src_port: t.source_port(),
                dst_port: t.destination_port(),
                tcp: Some(TcpInfo {
                    seq: t.sequence_number(),
                    ack: t.acknowledgment_number(),
                    syn: t.syn(),
                    has_ack: t.ack(),
                    fin_or_rst: t.fin() || t.rst(),
                }),
                payload: t.payload(),
                // The options follow the 20-byte fixed header.
                syn_options: if t.syn() && !t.ack() {
                    t.header_slice().get(20..).unwrap_or_default()
                } else {
                    &[]
                },
                ttl: 0,
            })
        }
        IpNumber::UDP => {
            let u = UdpSlice::from_slice_lax(bytes).ok()?;
            Some(Transport {
                proto: Proto::Udp,
                src_port: u.source_port(),
                dst_port: u.destination_port(),
                tcp: None,
                payload: u.payload(),
                syn_options: &[],
                ttl: 0,
            })
        }
        _ => None,
    }
}

/// Endpoints of a message, with the MACs of the packet that carried it (a flow's first packet
/// may have come from another host: every DHCP client shares 0.0.0.0:68 → 255.255.255.255:67).
fn message_endpoints(flow: &Flow, key: &FlowKey, dir: Direction, meta: &PacketMeta) -> Endpoints {
    let mut e = flow.endpoints(key, dir);
    e.src_mac = meta.src_mac;
    e.dest_mac = meta.dst_mac;
    e
}

impl State {
    fn new_flow(
        &mut self,
        key: &FlowKey,
        src_is_lo: bool,
        meta: &PacketMeta,
        t: &Transport<'_>,
    ) -> Flow {
        // The client is whoever sent the first packet, except when that packet is plainly an
        // answer: a SYN-ACK, or UDP from a well-known port to an ephemeral one.
        let reply = match t.tcp {
            Some(tcp) => tcp.syn && tcp.has_ack,
            None => t.src_port < 1024 && t.dst_port >= 1024,
        };
        let client_is_lo = src_is_lo != reply;
        let (cport, sport) = if reply {
            (t.dst_port, t.src_port)
        } else {
            (t.src_port, t.dst_port)
        };
        let tcp = match t.proto {
            Proto::Tcp => {
                let mask = app::stream_interest(cport, sport);
                (mask != 0).then(|| {
                    Box::new(TcpStart {
                        dirs: [None, None],
                        interest: [mask; 2],
                        cursors: [[0; app::MAX_STREAM_APPS]; 2],
                        charged: 0,
                    })
                })
            }
            Proto::Udp => None,
        };
        self.counters.flows_created += 1;
        let (client, server) = if client_is_lo {
            (key.lo.0, key.hi.0)
        } else {
            (key.hi.0, key.lo.0)
        };
        let (cmac, smac) = if reply {
            (meta.dst_mac, meta.src_mac)
        } else {
            (meta.src_mac, meta.dst_mac)
        };
        // Index 0 of the flow's items is this activity record; its events follow.
        let order = OrderKey {
            seq: meta.seq,
            phase: 1,
            flow: meta.seq,
            index: 0,
        };
        self.items.push((
            order,
            Item::Activity(Activity {
                ts: meta.ts,
                client: (client, cmac),
                server: (server, smac),
                opened: Some(Opened {
                    flow_id: FlowTable::flow_id(key, meta.ts),
                    port: sport,
                    proto: t.proto,
                    syn_shape: (!reply && t.tcp.is_some_and(|c| c.syn))
                        .then(|| syn_shape(t.ttl, t.syn_options)),
                    at: meta.ts,
                }),
                unnamed: None,
                answered: false,
            }),
        ));
        Flow {
            id: FlowTable::flow_id(key, meta.ts),
            first_seq: meta.seq,
            first_ts: meta.ts,
            last_ts: meta.ts,
            client_is_lo,
            packets: [0; 2],
            bytes: [0; 2],
            macs: [None; 2],
            datagram_app: match t.proto {
                Proto::Udp => app::datagram_parser_for(cport, sport),
                Proto::Tcp => None,
            },
            tcp,
            closing: false,
            client_isn: None,
            pending: None,
            parser_state: None,
            events: 1,
        }
    }

    fn on_packet(
        &mut self,
        stream_bytes: &mut usize,
        key: &FlowKey,
        flow: &mut Flow,
        src_is_lo: bool,
        meta: &PacketMeta,
        t: &Transport<'_>,
    ) {
        let dir = flow.direction(src_is_lo);
        let d = dir.index();
        if meta.ts > flow.last_ts {
            flow.last_ts = meta.ts;
        }
        flow.packets[d] = flow.packets[d].saturating_add(1);
        flow.bytes[d] += u64::from(meta.wire_len);
        if flow.macs[d].is_none() {
            flow.macs[d] = usable(meta.src_mac);
        }
        if flow.macs[1 - d].is_none() {
            flow.macs[1 - d] = usable(meta.dst_mac);
        }
        match t.tcp {
            None => {
                if let Some(i) = flow.datagram_app {
                    self.datagram(
                        stream_bytes,
                        key,
                        flow,
                        dir,
                        usize::from(i),
                        meta,
                        t.payload,
                    );
                }
            }
            Some(tcp) => {
                if tcp.fin_or_rst {
                    flow.closing = true;
                }
                if tcp.syn && !tcp.has_ack {
                    flow.client_isn = Some(tcp.seq);
                }
                if flow.tcp.is_some() {
                    self.segment(stream_bytes, key, flow, dir, tcp, meta, t.payload);
                }
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn datagram(
        &mut self,
        stream_bytes: &mut usize,
        key: &FlowKey,
        flow: &mut Flow,
        dir: Direction,
        parser: usize,
        meta: &PacketMeta,
        payload: &[u8],
    ) {
        let Some(p) = DATAGRAM_PARSERS.get(parser) else {
            return;
        };
        let endpoints = message_endpoints(flow, key, dir, meta);
        let before = flow.parser_state.as_ref().map_or(0, |s| s.heap_bytes());
        let mut sink = Sink {
            ts: meta.ts,
            endpoints: &endpoints,
            out: &mut self.scratch,
            held: &mut flow.pending,
            state: &mut flow.parser_state,
            offset: 0,
        };
        if p.parse(payload, &mut sink).is_err()
            && let Some(c) = self
                .counters
                .datagram_malformed
                .get_mut(parser.min(MAX_PARSERS - 1))
        {
            *c += 1;
        }
        // Parser state between datagrams draws on the same per-shard budget as TCP stream
        // buffers; a connection that would overdraw it is dropped and counted.
        let after = flow.parser_state.as_ref().map_or(0, |s| s.heap_bytes());
        *stream_bytes = (*stream_bytes + after).saturating_sub(before);
        if after > before && *stream_bytes > self.stream_budget {
            self.counters.stream_budget_exhausted += 1;
            *stream_bytes = stream_bytes.saturating_sub(after);
            flow.parser_state = None;
        }
        self.collect(flow, meta.seq, 1);
    }

    #[allow(clippy::too_many_arguments)]
    fn segment(
        &mut self,
        stream_bytes: &mut usize,
        key: &FlowKey,
        flow: &mut Flow,
        dir: Direction,
        tcp: TcpInfo,
        meta: &PacketMeta,
        payload: &[u8],
    ) {
        let depth = self.config.stream_depth;
        let d = dir.index();
        let endpoints = message_endpoints(flow, key, dir, meta);
        let Some(start) = flow.tcp.as_mut() else {
            return;
        };
        // RFC 9293 §3.4: the SYN occupies the sequence number before the first data byte, so a
        // direction's data starts at ISN + 1 (data carried in the SYN itself included).
        let data_seq = if tcp.syn {
            tcp.seq.wrapping_add(1)
        } else {
            tcp.seq
        };
        if tcp.syn && start.dirs[d].is_none() {
            start.dirs[d] = Some(StreamStart::new(data_seq));
        }
        // With one side of the handshake missing (asymmetric capture), the other side's
        // acknowledgment still says where the missing side's data begins.
        let other = 1 - d;
        if tcp.has_ack
            && start.dirs[other].is_none()
            && flow.packets[other] == 0
            && (tcp.syn || start.dirs[d].is_some())
        {
            start.dirs[other] = Some(StreamStart::new(tcp.ack));
        }
        if payload.is_empty() || start.interest[d] == 0 {
            return;
        }
        if *stream_bytes + payload.len() > self.stream_budget {
            // The shard's buffers are spent: this direction goes unparsed rather than growing
            // memory, and the count says how often that happens.
            self.counters.stream_budget_exhausted += 1;
            start.interest[d] = 0;
            self.release(stream_bytes, flow, d);
            return;
        }
        let stream = match &mut start.dirs[d] {
            Some(s) => s,
            None => {
                // The flow began before the capture did: pick the direction up at this segment,
                // as Suricata's midstream option and Zeek's partial connections do. Parsers reject
                // bytes that do not start a message of theirs, so a pickup mid-body costs little.
                self.counters.tcp_midstream_pickups += 1;
                start.dirs[d].insert(StreamStart::new(tcp.seq))
            }
        };
        let added = stream.add(data_seq, payload, depth);
        let held = start
            .dirs
            .iter()
            .flatten()
            .map(StreamStart::heap_bytes)
            .sum::<usize>();
        *stream_bytes = (*stream_bytes + held).saturating_sub(start.charged);
        start.charged = held;
        match added {
            Added::Grew => {}
            Added::Unchanged => return,
            Added::Overflow => {
                self.counters.stream_overflows += 1;
                return;
            }
        }
        let Some(stream) = start.dirs[d].as_ref() else {
            return;
        };
        let state_before = flow.parser_state.as_ref().map_or(0, |s| s.heap_bytes());
        let mut sink = Sink {
            ts: meta.ts,
            endpoints: &endpoints,
            out: &mut self.scratch,
            held: &mut flow.pending,
            state: &mut flow.parser_state,
            offset: 0,
        };
        let data = stream.data();
        for (i, parser) in STREAM_PARSERS.iter().enumerate().take(app::MAX_STREAM_APPS) {
            let bit = 1u32 << i;
            if start.interest[d] & bit == 0 {
                continue;
            }
            let cursor = start.cursors[d][i] as usize;
            sink.offset = cursor;
            let (used, verdict) =
                parser.parse(dir, data.get(cursor..).unwrap_or_default(), &mut sink);
            start.cursors[d][i] = u32::try_from(cursor + used).unwrap_or(u32::MAX);
            let finished = match verdict {
                Verdict::NeedMore if data.len() >= depth => {
                    self.counters.stream_depth_reached += 1;
                    true
                }
                Verdict::NeedMore => false,
                Verdict::Done | Verdict::NotMine => true,
                Verdict::DoneWithFlow => {
                    start.interest[1 - d] &= !bit;
                    true
                }
            };
            if finished {
                start.interest[d] &= !bit;
            }
        }
        // State a stream parser keeps between messages (KMS contexts and partial stubs) draws
        // on the shard's buffer budget like the stream starts themselves.
        let state_after = flow.parser_state.as_ref().map_or(0, |s| s.heap_bytes());
        *stream_bytes = (*stream_bytes + state_after).saturating_sub(state_before);
        if state_after > state_before && *stream_bytes > self.stream_budget {
            self.counters.stream_budget_exhausted += 1;
            *stream_bytes = stream_bytes.saturating_sub(state_after);
            flow.parser_state = None;
        }
        let idle = [start.interest[0] == 0, start.interest[1] == 0];
        for (side, done) in idle.into_iter().enumerate() {
            if done {
                self.release(stream_bytes, flow, side);
            }
        }
        self.collect(flow, meta.seq, 1);
    }

    /// Frees direction `d`'s buffer once no parser wants it, and the whole stream-start record
    /// once neither direction is wanted, returning their bytes to the shard's budget.
    fn release(&mut self, stream_bytes: &mut usize, flow: &mut Flow, d: usize) {
        let Some(start) = flow.tcp.as_mut() else {
            return;
        };
        start.dirs[d] = None;
        let held = start
            .dirs
            .iter()
            .flatten()
            .map(StreamStart::heap_bytes)
            .sum::<usize>();
        *stream_bytes = (*stream_bytes + held).saturating_sub(start.charged);
        start.charged = held;
        if start.interest == [0, 0] {
            flow.tcp = None;
        }
    }

    /// Moves the packet's events into the report with their order keys.
    fn collect(&mut self, flow: &mut Flow, seq: u64, phase: u8) {
        for ev in self.scratch.drain(..) {
            let key = OrderKey {
                seq,
                phase,
                flow: flow.first_seq,
                index: flow.events,
            };
            flow.events = flow.events.saturating_add(1);
            self.counters.events += 1;
            self.items.push((key, Item::Event(Box::new(ev))));
        }
    }

    fn end_flow(&mut self, shard: &mut Shard, key: &FlowKey, mut flow: Flow, seq: u64, phase: u8) {
        if let Some(start) = flow.tcp.take() {
            shard.stream_bytes = shard.stream_bytes.saturating_sub(start.charged);
            // A parser still reading a message when the flow ends (a ClientHello cut short)
            // is counted, not guessed at.
            for (d, stream) in start.dirs.iter().enumerate() {
                let held = stream.as_ref().map_or(0, |s| s.data().len());
                let waiting = (0..app::MAX_STREAM_APPS).any(|i| {
                    start.interest[d] & (1 << i) != 0 && (start.cursors[d][i] as usize) < held
                });
                if waiting {
                    self.counters.streams_unfinished += 1;
                }
            }
        }
        if let Some(state) = flow.parser_state.take() {
            shard.stream_bytes = shard.stream_bytes.saturating_sub(state.heap_bytes());
            if state.unfinished() {
                self.counters.unfinished_parser_states += 1;
            }
        }
        if let Some(ev) = flow.pending.take() {
            self.scratch.push(*ev);
            self.collect(&mut flow, seq, phase);
        }
        let (client, server) = if flow.client_is_lo {
            (key.lo, key.hi)
        } else {
            (key.hi, key.lo)
        };
        let order = OrderKey {
            seq,
            phase,
            flow: flow.first_seq,
            index: flow.events,
        };
        self.items.push((
            order,
            Item::Activity(Activity {
                ts: flow.last_ts,
                client: (client.0, flow.macs[0]),
                server: (server.0, flow.macs[1]),
                opened: None,
                // Only the activity record (index 0) and no event: the flow named nothing itself.
                unnamed: (flow.events <= 1).then_some(Opened {
                    flow_id: flow.id,
                    port: server.1,
                    proto: key.proto,
                    syn_shape: None,
                    at: flow.first_ts,
                }),
                answered: flow.packets[Direction::ToClient.index()] > 0,
            }),
        ));
    }
}

/// A SYN's shape as p0f describes one: the initial TTL the observed one was counted down from,
/// and the TCP options in order (`mss`, `nop`, `ws`, `sok`, `sack`, `ts`, `eol`, `?N` for others).
fn syn_shape(ttl: u8, options: &[u8]) -> String {
    let initial = match ttl {
        0..=32 => 32,
        33..=64 => 64,
        65..=128 => 128,
        _ => 255,
    };
    let mut names: Vec<String> = Vec::new();
    let mut i = 0;
    while let Some(&kind) = options.get(i) {
        let name = match kind {
            0 => "eol".to_string(),
            1 => "nop".to_string(),
            2 => "mss".to_string(),
            3 => "ws".to_string(),
            4 => "sok".to_string(),
            5 => "sack".to_string(),
            8 => "ts".to_string(),
            other => format!("?{other}"),
        };
        names.push(name);
        i += match kind {
            0 => break,
            1 => 1,
            _ => usize::from(*options.get(i + 1).unwrap_or(&0)).max(2),
        };
    }
    format!("{initial}:{}", names.join(","))
}

/// A MAC worth attributing to an endpoint: not all-zero, not multicast or broadcast.
fn usable(mac: Option<Mac>) -> Option<Mac> {
    mac.filter(|m| !m.is_zero() && !m.is_group())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use crate::event::Timestamp;
    use crate::pipeline::decode::{Frame, locate};
    use etherparse::PacketBuilder;

    fn config(max_flows: usize) -> WorkerConfig {
        WorkerConfig {
            flows: FlowLimits {
                max_flows,
                ..FlowLimits::default()
            },
            stream_depth: 4096,
            stream_memory: 1 << 20,
            fragments: FragLimits::default(),
        }
    }

    /// DNS queries from many hosts, as batches for `workers` workers.
    fn batches(workers: usize) -> Vec<Batch> {
        let mut out: Vec<Batch> = (0..workers).map(|_| Batch::default()).collect();
        for i in 0..500u32 {
            let mut frame = Vec::new();
            let query = [0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 0, 0, 1, 0, 1];
            PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                .ipv4([10, 9, (i >> 8) as u8, i as u8], [192, 0, 2, 53], 64)
                .udp(40000, 53)
                .write(&mut frame, &query)
                .unwrap();
            let Ok(Frame::Ip(l)) = locate(LinkType::Ethernet, &frame) else {
                panic!("decodes")
            };
            let shard = (l.shard % VIRTUAL_SHARDS as u64) as usize;
            let b = &mut out[Worker::owner(shard, workers)];
            let start = b.data.len();
            b.data.extend_from_slice(&frame);
            b.packets.push(PacketMeta {
                seq: u64::from(i) + 1,
                ts: Timestamp(i64::from(i)),
                start,
                len: frame.len(),
                wire_len: frame.len() as u32,
                ip_offset: l.ip_offset,
                shard: shard as u16,
                src_mac: l.src_mac,
                dst_mac: l.dst_mac,
            });
        }
        for b in &mut out {
            b.upto = 501;
            b.control = Control::Finish;
        }
        out
    }

    fn items(workers: usize, max_flows: usize) -> Vec<(OrderKey, Item)> {
        let mut all = Vec::new();
        for (id, batch) in batches(workers).iter().enumerate() {
            let mut w = Worker::new(id, workers, config(max_flows));
            let report = w.process(batch);
            assert!(report.finished && report.flows == 0);
            all.extend(report.items);
        }
        all.sort_by_key(|(k, _)| *k);
        all
    }

    #[test]
    fn shards_make_results_independent_of_the_worker_count() {
        let one = items(1, 100);
        assert_eq!(
            one.len(),
            500 * 3,
            "per flow: activity at start, the query, activity at end"
        );
        let keys: std::collections::BTreeSet<OrderKey> = one.iter().map(|(k, _)| *k).collect();
        assert_eq!(keys.len(), one.len(), "order keys are unique");
        for workers in [2, 3, 8] {
            assert_eq!(items(workers, 100), one, "{workers} workers");
        }
    }

    #[test]
    fn syn_shapes_read_like_p0f() {
        // Windows: MSS 1460, NOP, window scale 8, NOP, NOP, SACK permitted; TTL 125 after 3 hops.
        let windows = [2, 4, 5, 180, 1, 3, 3, 8, 1, 1, 4, 2];
        assert_eq!(syn_shape(125, &windows), "128:mss,nop,ws,nop,nop,sok");
        // Linux: MSS, SACK permitted, timestamps, NOP, window scale.
        let linux = [
            2, 4, 5, 180, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7,
        ];
        assert_eq!(syn_shape(64, &linux), "64:mss,sok,ts,nop,ws");
        // End of options, an unknown kind, and a length that runs past the end.
        assert_eq!(syn_shape(255, &[30, 3, 0, 0]), "255:?30,eol");
        assert_eq!(syn_shape(1, &[2, 200]), "32:mss");
    }

    #[test]
    fn every_shard_has_an_owner() {
        for workers in 1..=9 {
            let mut owned = vec![0; VIRTUAL_SHARDS];
            for id in 0..workers {
                let w = Worker::new(id, workers, config(1000));
                for (local, _) in w.shards.iter().enumerate() {
                    owned[id + local * workers] += 1;
                }
            }
            assert!(owned.iter().all(|n| *n == 1), "{workers} workers");
        }
    }
}
