//! Fuzz target for the FlexLM parser: a stream of messages parses or fails cleanly, what parses
//! lies within the input and the module's caps, and more bytes never change a whole message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretally::wire::flexlm::{self, FrameBody, MAX_FIELD_LEN, Message};

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    while let Ok(Some((message, used))) = flexlm::parse(rest) {
        assert!(used > 0 && used <= rest.len());
        let mut longer = rest[..used].to_vec();
        longer.extend_from_slice(b"/h13");
        assert_eq!(flexlm::parse(&longer), Ok(Some((message.clone(), used))));
        match &message {
            Message::Hello(h) => {
                for f in [&h.host, &h.vendor, &h.platform] {
                    assert!(f.chars().count() <= MAX_FIELD_LEN);
                }
            }
            Message::Frame { body: FrameBody::Redirect { host, port }, .. } => {
                assert!(*port != 0 && host.chars().count() <= MAX_FIELD_LEN);
            }
            Message::Frame { .. } => {}
        }
        rest = &rest[used..];
    }
});
