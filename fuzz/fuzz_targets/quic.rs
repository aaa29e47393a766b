//! Fuzz target for the QUIC Initial parser: any datagram must parse or fail cleanly, leave the
//! caller's output as it was on error, respect the module's caps, and parse the same way twice.
//! Random bytes almost never pass AEAD authentication, so the input is also walked directly as
//! a decrypted Initial payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretally::wire::quic::{self, CryptoFrame};

fuzz_target!(|data: &[u8]| {
    let sentinel = CryptoFrame {
        offset: 7,
        data: vec![7],
    };
    let mut out = vec![sentinel.clone()];
    match quic::parse_client_datagram(data, &mut out) {
        Ok(info) => {
            assert!(info.dcid.len() <= quic::MAX_CID_LEN);
            assert!(info.scid.len() <= quic::MAX_CID_LEN);
            assert!(info.packets + info.skipped <= quic::MAX_COALESCED_PACKETS);
            assert!(out.len() - 1 <= info.packets * quic::MAX_CRYPTO_FRAMES_PER_PACKET);
            let mut again = vec![sentinel.clone()];
            assert_eq!(quic::parse_client_datagram(data, &mut again), Ok(info));
            assert_eq!(again, out);
        }
        Err(_) => assert_eq!(out.len(), 1),
    }
    assert_eq!(out[0], sentinel);

    let mut frames = Vec::new();
    match quic::parse_initial_frames(data, &mut frames) {
        Ok(()) => {
            assert!(frames.len() <= quic::MAX_CRYPTO_FRAMES_PER_PACKET);
            // Every CRYPTO byte came from the input, and no frame ends past 2^62 - 1.
            assert!(frames.iter().map(|f| f.data.len()).sum::<usize>() <= data.len());
            for frame in &frames {
                let end = frame.offset.checked_add(frame.data.len() as u64);
                assert!(end.is_some_and(|end| end <= quic::MAX_VARINT));
            }
        }
        Err(_) => assert!(frames.is_empty()),
    }
});
