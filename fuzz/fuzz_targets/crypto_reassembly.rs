//! Fuzz target for CRYPTO reassembly, checked against a byte-per-offset model: whatever frames
//! arrive, the contiguous prefix is exactly the model's first-copy-wins bytes, refused frames
//! change nothing, and the caps hold.
//!
//! Input: records of `flags (1) | offset (2, big-endian) | length (1) | data (length)`; flags bit
//! 0 shifts the offset left by 48 bits to reach the overflow paths.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretally::wire::crypto_reassembly::{
    CryptoStream, MAX_CRYPTO_BYTES, MAX_FRAGMENTS, client_hello_body,
};

fuzz_target!(|input: &[u8]| {
    let mut stream = CryptoStream::new();
    let mut model: Vec<Option<u8>> = vec![None; MAX_CRYPTO_BYTES];
    let mut rest = input;
    while let [flags, o0, o1, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let (data, next) = tail.split_at(len);
        rest = next;
        let mut offset = u64::from(u16::from_be_bytes([*o0, *o1]));
        if flags & 1 != 0 {
            offset <<= 48;
        }
        let before = stream.clone();
        match stream.add(offset, data) {
            Ok(()) => {
                let start = usize::try_from(offset).expect("accepted offsets are small");
                for (slot, &byte) in model[start..start + data.len()].iter_mut().zip(data) {
                    slot.get_or_insert(byte);
                }
            }
            Err(_) => assert_eq!(stream, before),
        }
        assert!(stream.pending_fragments() <= MAX_FRAGMENTS);
        let prefix: Vec<u8> = model.iter().map_while(|b| *b).collect();
        assert_eq!(stream.contiguous(), prefix.as_slice());
        if let Some(body) = client_hello_body(stream.contiguous()) {
            assert_eq!(body, &stream.contiguous()[4..4 + body.len()]);
        }
    }
});
