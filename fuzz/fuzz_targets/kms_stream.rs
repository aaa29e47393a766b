//! Fuzz target for the KMS stream parser's RPC reassembly: the input is cut into segments for
//! either direction, each direction's stream grows as the pipeline would grow it, and the parser
//! must never consume more than it was given or hold more state than its bounds allow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretally::app::kms::{KMS, MAX_CONTEXTS, MAX_STUB_LEN};
use wiretally::app::{ParserState, Sink, StreamParser, Verdict};
use wiretally::event::{Endpoints, Proto, Timestamp};
use wiretally::pipeline::flow::Direction;

fuzz_target!(|data: &[u8]| {
    let endpoints = Endpoints {
        flow_id: 1,
        src_ip: [10, 0, 0, 2].into(),
        src_port: 50000,
        dest_ip: [10, 0, 0, 1].into(),
        dest_port: 1688,
        proto: Proto::Tcp,
        src_mac: None,
        dest_mac: None,
    };
    let mut out = Vec::new();
    let mut held = None;
    let mut state: Option<Box<ParserState>> = None;
    let mut streams: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut cursors = [0usize; 2];
    let mut live = [true, true];
    let mut rest = data;
    while let [head, len, tail @ ..] = rest {
        let d = usize::from(head & 1);
        let n = usize::from(*len).min(tail.len());
        streams[d].extend_from_slice(&tail[..n]);
        rest = &tail[n..];
        if !live[d] {
            continue;
        }
        let dir = if d == 0 { Direction::ToServer } else { Direction::ToClient };
        let mut sink = Sink {
            ts: Timestamp(0),
            endpoints: &endpoints,
            out: &mut out,
            held: &mut held,
            state: &mut state,
            offset: cursors[d],
        };
        let (used, verdict) = KMS.parse(dir, &streams[d][cursors[d]..], &mut sink);
        assert!(cursors[d] + used <= streams[d].len());
        cursors[d] += used;
        if verdict != Verdict::NeedMore {
            live[d] = false;
        }
        if let Some(s) = &state {
            // Each direction's partial stub may have grown its capacity to twice its bound.
            assert!(s.heap_bytes() <= 4 * MAX_STUB_LEN + 3 * MAX_CONTEXTS * 16);
        }
    }
});
