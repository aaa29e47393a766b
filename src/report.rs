//! Human-readable output: the per-host summary and the run statistics.

use crate::app::DATAGRAM_PARSERS;
use crate::capture::CaptureStats;
use crate::inventory::Inventory;
use crate::inventory::hosts::Host;
use crate::pipeline::stats::Counters;
use std::fmt::Write as _;

fn host_line(h: &Host) -> String {
    let mut s = format!("{}", h.ip);
    if let Some(mac) = h.mac {
        let _ = write!(s, "  {mac}");
    }
    if !h.names.is_empty() {
        let names: Vec<String> = h
            .names
            .iter()
            .map(|n| {
                format!(
                    "{} ({})",
                    n.name,
                    serde_json::to_value(n.source)
                        .ok()
                        .and_then(|v| v.as_str().map(String::from))
                        .unwrap_or_default()
                )
            })
            .collect();
        let _ = write!(s, "  {}", names.join(", "));
    }
    let _ = write!(s, "\n    seen {} .. {}", h.first_seen, h.last_seen);
    if let Some(end) = h.ended {
        let _ = write!(s, " (address given to another MAC at {end})");
    }
    let counts = h.events.nonzero();
    if !counts.is_empty() {
        let counts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = write!(s, "\n    events: {}", counts.join(", "));
    }
    if !h.queried.is_empty() {
        let _ = write!(s, "\n    looked up: {}", h.queried.join(", "));
    }
    if !h.tls.is_empty() {
        let _ = write!(s, "\n    tls/quic servers: {}", h.tls.join(", "));
    }
    if !h.http.is_empty() {
        let _ = write!(s, "\n    http: {}", h.http.join(", "));
    }
    s
}

/// The per-host summary `analyze` prints when no event log is requested.
pub fn host_summary(inv: &Inventory) -> String {
    let hosts = inv.hosts.all();
    let mut out = format!("{} host(s) in the home networks\n", hosts.len());
    for h in hosts {
        out.push_str(&host_line(h));
        out.push('\n');
    }
    out
}

/// Run statistics for stderr.
pub fn statistics(c: &Counters, inv: &Inventory, live: Option<CaptureStats>) -> String {
    let mut s = format!(
        "packets {} ({} bytes), non-IP {}, flows {} (timed out {}, evicted {}), events {}",
        c.packets, c.bytes, c.non_ip, c.flows_created, c.flows_timed_out, c.flows_evicted, c.events
    );
    let errors: Vec<String> = c
        .decode_errors_by_reason()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| format!("{r} {n}"))
        .chain((c.bad_transport > 0).then(|| format!("bad_transport {}", c.bad_transport)))
        .collect();
    if !errors.is_empty() {
        let _ = write!(s, "\ndecode errors: {}", errors.join(", "));
    }
    if c.other_ip > 0 || c.flows_reused > 0 {
        let _ = write!(
            s,
            "\nother IP protocols {}, TCP ports reused {}",
            c.other_ip, c.flows_reused
        );
    }
    let malformed: Vec<String> = DATAGRAM_PARSERS
        .iter()
        .zip(c.datagram_malformed)
        .filter(|(_, n)| *n > 0)
        .map(|(p, n)| format!("{} {n}", p.name()))
        .collect();
    if !malformed.is_empty() {
        let _ = write!(s, "\nmalformed messages: {}", malformed.join(", "));
    }
    if c.unfinished_parser_states + c.streams_unfinished > 0 {
        let _ = write!(
            s,
            "\nunfinished messages at flow end: TCP stream starts {}, QUIC handshakes {}",
            c.streams_unfinished, c.unfinished_parser_states
        );
    }
    let f = &c.fragments;
    if f.reassembled + f.timed_out + f.over_limit + f.invalid > 0 {
        let _ = write!(
            s,
            "\nfragments: reassembled {}, timed out {}, over limit {}, invalid {}",
            f.reassembled, f.timed_out, f.over_limit, f.invalid
        );
    }
    if c.tcp_midstream_pickups
        + c.stream_overflows
        + c.stream_depth_reached
        + c.stream_budget_exhausted
        > 0
    {
        let _ = write!(
            s,
            "\ntcp streams: picked up mid-stream {}, reorder overflows {}, depth reached {}, budget exhausted {}",
            c.tcp_midstream_pickups,
            c.stream_overflows,
            c.stream_depth_reached,
            c.stream_budget_exhausted
        );
    }
    let _ = write!(
        s,
        "\nhosts {} (evicted {}, ended records dropped {}, side-table entries cleared {}), dns names {} (evicted {})",
        inv.hosts.len(),
        inv.hosts.evicted,
        inv.hosts.ended_dropped,
        inv.hosts.aux_cleared,
        inv.dns_names.len(),
        inv.dns_names.evicted
    );
    if let Some(l) = live {
        let _ = write!(
            s,
            "\nlibpcap: received {}, dropped by kernel {}, dropped by interface {}",
            l.received, l.dropped_by_kernel, l.dropped_by_interface
        );
    }
    s
}
