//! Fuzz target for the agent inventory readers (CSV in any encoding, GLPI JSON, osquery
//! results): any bytes give hosts and problems within the readers' caps, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use wiretally::coverage::agents::{Agents, Format, MAX_SOFTWARE_PER_HOST};

fuzz_target!(|data: &[u8]| {
    let format = match data.first().map(|b| b % 4) {
        Some(0) => Some(Format::Csv),
        Some(1) => Some(Format::Glpi),
        Some(2) => Some(Format::Osquery),
        _ => None,
    };
    let mut agents = Agents::default();
    agents.read_bytes(Path::new("fuzz"), data.get(1..).unwrap_or_default(), format);
    for h in &agents.hosts {
        assert!(h.software.len() <= MAX_SOFTWARE_PER_HOST);
        assert!(h.hostname.is_some() || !h.macs.is_empty() || !h.ips.is_empty());
    }
});
