//! Fuzz target for a worker: the input is a run of Ethernet frames (2-byte length prefix each)
//! fed through IP decoding, fragment reassembly, the flow table, stream-start reassembly and
//! every application parser. Nothing may panic, and the report must account for the flows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretally::event::Timestamp;
use wiretally::pipeline::batch::{Batch, Control, PacketMeta};
use wiretally::pipeline::decode::{Frame, locate};
use wiretally::pipeline::flow::FlowLimits;
use wiretally::pipeline::fragment::FragLimits;
use wiretally::pipeline::worker::{VIRTUAL_SHARDS, Worker, WorkerConfig};

fuzz_target!(|data: &[u8]| {
    let config = WorkerConfig {
        flows: FlowLimits { max_flows: 8 * VIRTUAL_SHARDS, ..FlowLimits::default() },
        stream_depth: 2048,
        stream_memory: 8192 * VIRTUAL_SHARDS,
        fragments: FragLimits {
            max_datagrams: 4 * VIRTUAL_SHARDS,
            max_bytes: 16 * 1024 * VIRTUAL_SHARDS,
            timeout_secs: 30,
        },
    };
    let mut worker = Worker::new(0, 1, config);
    let mut batch = Batch::default();
    let mut rest = data;
    let mut seq = 0;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]])).min(rest.len() - 2);
        let frame = &rest[2..2 + len];
        rest = &rest[2 + len..];
        seq += 1;
        if let Ok(Frame::Ip(l)) = locate(wiretally::capture::LinkType::Ethernet, frame) {
            let start = batch.data.len();
            batch.data.extend_from_slice(frame);
            batch.packets.push(PacketMeta {
                seq,
                ts: Timestamp(seq as i64 * 1_000_000),
                start,
                len: frame.len(),
                wire_len: frame.len() as u32,
                ip_offset: l.ip_offset,
                shard: (l.shard % VIRTUAL_SHARDS as u64) as u16,
                src_mac: l.src_mac,
                dst_mac: l.dst_mac,
            });
        }
    }
    batch.upto = seq + 1;
    let report = worker.process(&batch);
    assert!(report.flows <= 8 * VIRTUAL_SHARDS);
    batch.clear();
    batch.control = Control::Finish;
    let last = worker.process(&batch);
    assert!(last.finished && last.flows == 0);
});
