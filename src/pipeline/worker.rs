//! A worker: IP and transport decoding, fragments, flows, stream starts and parsers for the
//! packets of its shard.
//!
//! Workers share nothing: both directions of an address pair, and so every fragment of a
//! datagram, reach the same worker. Everything a worker produces carries an [`OrderKey`] derived
//! from packet sequence numbers and flow creation order only, so the merged output does not depend
//! on how many workers there are. A packet of a flow no parser wants costs a table lookup and a
//! few counter updates, and no allocation.

use crate::app::{self, DATAGRAM_PARSERS, STREAM_PARSERS, Sink, Verdict};
use crate::event::{Event, Mac, Proto, Timestamp};
use crate::pipeline::batch::{Activity, Batch, Control, Item, OrderKey, PacketMeta, Report};
use crate::pipeline::flow::{Direction, Flow, FlowKey, FlowLimits, FlowTable, TcpStart};
use crate::pipeline::fragment::{Defragmenter, FragKey, FragLimits};
use crate::pipeline::stats::{Counters, MAX_PARSERS};
use crate::pipeline::stream::{Added, StreamStart};
use etherparse::{IpNumber, LaxIpSlice, TcpSlice, UdpSlice};

/// Per-worker settings.
#[derive(Debug, Clone, Copy)]
pub struct WorkerConfig {
    /// Flow table limits (for this worker's share).
    pub flows: FlowLimits,
    /// Bytes of each TCP direction's start handed to stream parsers.
    pub stream_depth: usize,
    /// Fragment reassembly limits.
    pub fragments: FragLimits,
}

/// The transport part of a decoded packet.
struct Transport<'a> {
    proto: Proto,
    src_port: u16,
    dst_port: u16,
    tcp: Option<TcpInfo>,
    payload: &'a [u8],
}

#[derive(Clone, Copy)]
struct TcpInfo {
    seq: u32,
    ack: u32,
    syn: bool,
    has_ack: bool,
    fin_or_rst: bool,
}

/// Everything of a worker except its flow table, so both can be borrowed at once.
struct State {
    config: WorkerConfig,
    defrag: Defragmenter,
    counters: Counters,
    items: Vec<(OrderKey, Item)>,
    /// Reused for each packet's events.
    scratch: Vec<Event>,
}

/// One worker.
pub struct Worker {
    id: usize,
    flows: FlowTable,
    state: State,
}

impl Worker {
    /// A worker with empty tables.
    pub fn new(id: usize, config: WorkerConfig) -> Self {
        Worker {
            id,
            flows: FlowTable::new(config.flows),
            state: State {
                config,
                defrag: Defragmenter::new(config.fragments),
                counters: Counters::default(),
                items: Vec::new(),
                scratch: Vec::new(),
            },
        }
    }

    /// Processes a batch and returns the report for it.
    pub fn process(&mut self, batch: &Batch) -> Report {
        for meta in &batch.packets {
            self.packet(meta, batch.frame(meta));
        }
        let finished = match batch.control {
            Control::None => false,
            Control::Tick(now) => {
                self.state.defrag.expire(now);
                for (key, flow) in self.flows.expire(now) {
                    self.state.counters.flows_timed_out += 1;
                    self.state.end_flow(&key, flow, batch.upto, 0);
                }
                false
            }
            Control::Finish => {
                for (key, flow) in self.flows.drain() {
                    self.state.end_flow(&key, flow, u64::MAX, 0);
                }
                true
            }
        };
        let fr = self.state.defrag.counters;
        self.state.counters.fragments = fr;
        self.state.defrag.counters = Default::default();
        Report {
            worker: self.id,
            upto: if finished { u64::MAX } else { batch.upto },
            items: std::mem::take(&mut self.state.items),
            counters: std::mem::take(&mut self.state.counters),
            finished,
            flows: self.flows.len(),
            buffer_bytes: self.state.defrag.bytes(),
        }
    }

    fn packet(&mut self, meta: &PacketMeta, frame: &[u8]) {
        let st = &mut self.state;
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
            let Some(frag) = fragment_of(&ip) else {
                st.counters.bad_transport += 1;
                return;
            };
            match st
                .defrag
                .add(frag.0, frag.1, frag.2, payload.payload, meta.ts)
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
        let Some(t) = transport(number, bytes) else {
            if number == IpNumber::TCP || number == IpNumber::UDP {
                st.counters.bad_transport += 1;
            } else {
                st.counters.other_ip += 1;
            }
            return;
        };
        let (key, src_is_lo) = FlowKey::of((src, t.src_port), (dst, t.dst_port), t.proto);
        let limits = self.flows.limits();
        if let Some(flow) = self.flows.get_mut(&key) {
            if !is_expired(&limits, &key, flow, meta.ts) {
                st.on_packet(&key, flow, src_is_lo, meta, &t);
                return;
            }
        }
        if let Some(stale) = self.flows.remove(&key) {
            st.counters.flows_timed_out += 1;
            st.end_flow(&key, stale, meta.seq, 1);
        }
        if self.flows.full() {
            for (k, f) in self.flows.evict_oldest() {
                st.counters.flows_evicted += 1;
                st.end_flow(&k, f, meta.seq, 1);
            }
        }
        let flow = st.new_flow(&key, src_is_lo, meta, &t);
        let flow = self.flows.insert(key, flow);
        st.on_packet(&key, flow, src_is_lo, meta, &t);
    }
}

fn is_expired(limits: &FlowLimits, key: &FlowKey, flow: &Flow, now: Timestamp) -> bool {
    let secs = if flow.closing {
        limits.closed_secs
    } else if key.proto == Proto::Tcp {
        limits.tcp_idle_secs
    } else {
        limits.udp_idle_secs
    };
    flow.last_ts.plus_secs(secs) < now
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
            })
        }
        _ => None,
    }
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
                    })
                })
            }
            Proto::Udp => None,
        };
        self.counters.flows_created += 1;
        let flow = Flow {
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
            pending: None,
            events: 0,
        };
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
        let key = OrderKey {
            seq: meta.seq,
            phase: 1,
            flow: meta.seq,
            index: 0,
        };
        self.items.push((
            key,
            Item::Activity(Activity {
                ts: meta.ts,
                client: (client, cmac),
                server: (server, smac),
            }),
        ));
        flow
    }

    fn on_packet(
        &mut self,
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
                    self.datagram(key, flow, dir, usize::from(i), meta, t.payload);
                }
            }
            Some(tcp) => {
                if tcp.fin_or_rst {
                    flow.closing = true;
                }
                if flow.tcp.is_some() {
                    self.segment(key, flow, dir, tcp, meta, t.payload);
                }
            }
        }
    }

    fn datagram(
        &mut self,
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
        let endpoints = flow.endpoints(key, dir);
        let mut sink = Sink {
            ts: meta.ts,
            endpoints: &endpoints,
            out: &mut self.scratch,
            held: &mut flow.pending,
        };
        if p.parse(payload, &mut sink).is_err() {
            if let Some(c) = self
                .counters
                .datagram_malformed
                .get_mut(parser.min(MAX_PARSERS - 1))
            {
                *c += 1;
            }
        }
        self.collect(flow, meta.seq, 1);
    }

    fn segment(
        &mut self,
        key: &FlowKey,
        flow: &mut Flow,
        dir: Direction,
        tcp: TcpInfo,
        meta: &PacketMeta,
        payload: &[u8],
    ) {
        let depth = self.config.stream_depth;
        let d = dir.index();
        let endpoints = flow.endpoints(key, dir);
        let Some(start) = flow.tcp.as_mut() else {
            return;
        };
        if tcp.syn && start.dirs[d].is_none() {
            start.dirs[d] = Some(StreamStart::new(tcp.seq.wrapping_add(1)));
        }
        // Without the SYN-ACK (asymmetric capture), the client's first ACK still tells where the
        // server's data begins, provided the server has not sent any yet.
        if dir == Direction::ToServer
            && tcp.has_ack
            && !tcp.syn
            && start.dirs[0].is_some()
            && start.dirs[1].is_none()
            && flow.packets[1] == 0
        {
            start.dirs[1] = Some(StreamStart::new(tcp.ack));
        }
        if payload.is_empty() || start.interest[d] == 0 {
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
        match stream.add(tcp.seq, payload, depth) {
            Added::Grew => {}
            Added::Unchanged => return,
            Added::Overflow => {
                self.counters.stream_overflows += 1;
                return;
            }
        }
        let mut sink = Sink {
            ts: meta.ts,
            endpoints: &endpoints,
            out: &mut self.scratch,
            held: &mut flow.pending,
        };
        let data = stream.data();
        for (i, parser) in STREAM_PARSERS.iter().enumerate().take(app::MAX_STREAM_APPS) {
            let bit = 1u32 << i;
            if start.interest[d] & bit == 0 {
                continue;
            }
            let cursor = start.cursors[d][i] as usize;
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
            };
            if finished {
                start.interest[d] &= !bit;
            }
        }
        if start.interest[d] == 0 {
            start.dirs[d] = None;
        }
        self.release_if_done(flow);
        self.collect(flow, meta.seq, 1);
    }

    /// Frees a flow's stream-start state once no parser wants either direction.
    fn release_if_done(&mut self, flow: &mut Flow) {
        if flow.tcp.as_ref().is_some_and(|t| t.interest == [0, 0]) {
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

    fn end_flow(&mut self, key: &FlowKey, mut flow: Flow, seq: u64, phase: u8) {
        if let Some(ev) = flow.pending.take() {
            self.scratch.push(*ev);
            self.collect(&mut flow, seq, phase);
        }
        let (client, server) = if flow.client_is_lo {
            (key.lo.0, key.hi.0)
        } else {
            (key.hi.0, key.lo.0)
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
                client: (client, flow.macs[0]),
                server: (server, flow.macs[1]),
            }),
        ));
    }
}

/// A MAC worth attributing to an endpoint: not all-zero, not multicast or broadcast.
fn usable(mac: Option<Mac>) -> Option<Mac> {
    mac.filter(|m| !m.is_zero() && !m.is_group())
}
