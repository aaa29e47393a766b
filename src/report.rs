//! Human-readable output: the per-host summary and the run statistics.

use crate::app::DATAGRAM_PARSERS;
use crate::capture::CaptureTotals;
use crate::inventory::Inventory;
use crate::inventory::alerts::Alert;
use crate::inventory::hosts::Host;
use crate::pipeline::stats::Counters;
use crate::signature::Signatures;
use crate::signature::schema::Category;
use std::fmt::Write as _;

/// The host's products, one line per category.
fn product_lines(h: &Host, sigs: &Signatures) -> String {
    let mut out = String::new();
    let reported = h.software.reported(sigs);
    for category in Category::ALL {
        let items: Vec<String> = reported
            .iter()
            .filter_map(|(p, confidence)| {
                let product = sigs
                    .products
                    .get(p.product as usize)
                    .filter(|x| x.category == category)?;
                let version = p
                    .versions
                    .first()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default();
                Some(format!("{}{version} ({confidence:.2})", product.name))
            })
            .collect();
        if !items.is_empty() {
            let _ = write!(out, "\n    {:<10} {}", category.as_str(), items.join(", "));
        }
    }
    out
}

/// The alerts of a host record: those raised on its address while the record was its own.
pub fn host_alerts<'a>(inv: &'a Inventory, h: &'a Host) -> impl Iterator<Item = &'a Alert> {
    inv.alerts.of_host(h.ip).filter(move |a| {
        a.last_seen >= h.first_seen && h.ended.is_none_or(|end| a.first_seen <= end)
    })
}

/// One line per alert of a host.
fn alert_lines(inv: &Inventory, h: &Host) -> String {
    let mut out = String::new();
    for a in host_alerts(inv, h) {
        let server = a.server.as_ref().map_or(String::new(), |s| {
            let name = s
                .name
                .clone()
                .or_else(|| s.address.map(|ip| ip.to_string()))
                .unwrap_or_default();
            format!(" {name}")
        });
        let product = a
            .product
            .as_deref()
            .map_or(String::new(), |p| format!(" [{p}]"));
        let _ = write!(
            out,
            "\n    ALERT {}{server}{product} ×{}: {}",
            a.kind.as_str(),
            a.count,
            a.reason
        );
    }
    out
}

fn host_line(inv: &Inventory, h: &Host) -> String {
    let sigs = &inv.signatures;
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
    s.push_str(&product_lines(h, sigs));
    s.push_str(&alert_lines(inv, h));
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
        out.push_str(&host_line(inv, h));
        out.push('\n');
    }
    out
}

/// Run statistics for stderr.
pub fn statistics(c: &Counters, inv: &Inventory, live: Option<CaptureTotals>) -> String {
    let mut s = format!(
        "packets {} ({} bytes), non-IP {}, flows {} (timed out {}, evicted {}, at most {} at once), events {}",
        c.packets,
        c.bytes,
        c.non_ip,
        c.flows_created,
        c.flows_timed_out,
        c.flows_evicted,
        inv.peak_flows,
        c.events
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
    let alerts: Vec<String> = inv
        .alerts
        .counts()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{} {n}", k.as_str()))
        .collect();
    if !alerts.is_empty() || inv.alerts.dropped + inv.usage_dropped > 0 {
        let _ = write!(
            s,
            "\nalerts: {} (not kept, table full: {}; hosts not counted for seats: {})",
            if alerts.is_empty() {
                "none".to_string()
            } else {
                alerts.join(", ")
            },
            inv.alerts.dropped,
            inv.usage_dropped
        );
    }
    let _ = write!(
        s,
        "\nhosts {} (evicted {}, ended records dropped {}, side-table entries cleared {}), dns names {} (evicted {}), software evidence dropped {}, waiting DHCP clients dropped {}",
        inv.hosts.len(),
        inv.hosts.evicted,
        inv.hosts.ended_dropped,
        inv.hosts.aux_cleared,
        inv.dns_names.len(),
        inv.dns_names.evicted,
        inv.hosts.software_dropped(),
        inv.pending_dhcp_dropped
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

/// A host's reported products as JSON, strongest first.
fn products_json(h: &Host, sigs: &Signatures) -> Vec<serde_json::Value> {
    h.software
        .reported(sigs)
        .into_iter()
        .filter_map(|(p, confidence)| {
            let product = sigs.products.get(p.product as usize)?;
            let evidence: Vec<serde_json::Value> = p
                .evidence
                .iter()
                .map(|e| {
                    serde_json::json!({
                        "kind": e.kind.as_str(),
                        "rule": sigs.rules.get(e.rule as usize).map_or("", |r| r.id.as_str()),
                        "observable": e.observable,
                        "count": e.count,
                        "first_seen": e.first_seen,
                        "last_seen": e.last_seen,
                    })
                })
                .collect();
            Some(serde_json::json!({
                "id": product.id,
                "name": product.name,
                "name_zh": product.name_zh,
                "vendor": product.vendor,
                "category": product.category.as_str(),
                "versions": p.versions,
                "confidence": (confidence * 1000.0).round() / 1000.0,
                "evidence": evidence,
            }))
        })
        .collect()
}

/// One host as the inventory document and the API show it.
pub fn host_json(inv: &Inventory, h: &Host) -> serde_json::Value {
    let mut v = serde_json::json!({
        "ip": h.ip,
        "mac": h.mac,
        "hostnames": h.names.iter().map(|n| n.name.as_str()).collect::<Vec<_>>(),
        "first_seen": h.first_seen,
        "last_seen": h.last_seen,
        "products": products_json(h, &inv.signatures),
        "alerts": host_alerts(inv, h).collect::<Vec<_>>(),
    });
    if let Some(end) = h.ended {
        v["ended"] = serde_json::json!(end);
    }
    v
}

/// The inventory document `--json` prints: hosts with their names and products, and run totals.
pub fn inventory_document(inv: &Inventory, c: &Counters) -> String {
    let hosts: Vec<serde_json::Value> = inv
        .hosts
        .all()
        .into_iter()
        .map(|h| host_json(inv, h))
        .collect();
    let doc = serde_json::json!({
        "hosts": hosts,
        "alerts": inv.alerts.all(),
        "stats": {
            "packets": c.packets,
            "bytes": c.bytes,
            "flows": c.flows_created,
            "hosts": inv.hosts.len(),
        },
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// Products reported on at least one current host, with how many: `/api/v1/products`.
pub fn products_document(inv: &Inventory) -> serde_json::Value {
    let sigs = &inv.signatures;
    let mut hosts_of: std::collections::BTreeMap<u32, u64> = std::collections::BTreeMap::new();
    for h in inv.hosts.all().into_iter().filter(|h| h.ended.is_none()) {
        for (p, _) in h.software.reported(sigs) {
            *hosts_of.entry(p.product).or_default() += 1;
        }
    }
    let products: Vec<serde_json::Value> = hosts_of
        .into_iter()
        .filter_map(|(index, hosts)| {
            let p = sigs.products.get(index as usize)?;
            Some(serde_json::json!({
                "id": p.id,
                "name": p.name,
                "name_zh": p.name_zh,
                "vendor": p.vendor,
                "category": p.category.as_str(),
                "hosts": hosts,
            }))
        })
        .collect();
    serde_json::json!({ "products": products })
}
