//! Fuzz target for frame decoding: every link type, any bytes; a located IP header must lie
//! inside the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wiretally::capture::LinkType;
use wiretally::pipeline::decode::{Frame, locate};

fuzz_target!(|data: &[u8]| {
    for link in [
        LinkType::Ethernet,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::RawIp,
        LinkType::Null,
        LinkType::Loop,
    ] {
        if let Ok(Frame::Ip(l)) = locate(link, data) {
            assert!(l.ip_offset < data.len());
        }
    }
});
