//! Fuzz target for stream-start reassembly: segments at arbitrary sequence numbers must never
//! grow the buffer past the depth, and bytes delivered in order are never rewritten.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretally::pipeline::stream::StreamStart;

const DEPTH: usize = 4096;

fuzz_target!(|data: &[u8]| {
    let mut s = StreamStart::new(1000);
    let mut rest = data;
    let mut delivered: Vec<u8> = Vec::new();
    while rest.len() >= 4 {
        let seq = 1000u32.wrapping_add(u32::from(u16::from_be_bytes([rest[0], rest[1]]))).wrapping_sub(256);
        let len = usize::from(rest[2]).min(rest.len() - 3);
        let seg = &rest[3..3 + len];
        rest = &rest[3 + len..];
        s.add(seq, seg, DEPTH);
        assert!(s.data().len() <= DEPTH);
        assert!(s.data().starts_with(&delivered));
        delivered = s.data().to_vec();
    }
});
