//! Real captures from FoxIO's JA4 repository: wiretally's observables must equal what tshark 4.0
//! extracts from the same files (tests/data/ja4/*.tsv, see tests/data/README.md).
//!
//! Compared as sets per capture and kind: DNS/mDNS/LLMNR question names, HTTP Host and User-Agent
//! (over TCP and SSDP's UDP), DHCP client MACs, DHCPv6 DUID link-layer addresses, NetBIOS names.
//! wiretally reads one exchange per TCP connection where tshark reads all, so sets, not counts.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Observables = BTreeMap<String, BTreeSet<String>>;

const KINDS: [&str; 6] = [
    "dns_query",
    "http_host",
    "http_user_agent",
    "dhcp_client_mac",
    "dhcpv6_duid_mac",
    "nbns_name",
];

fn data(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/ja4")
        .join(name)
}

fn expected(capture: &str) -> Observables {
    let tsv = std::fs::read_to_string(data(&format!("{capture}.tsv"))).unwrap();
    let mut out = Observables::new();
    for line in tsv.lines().skip(1) {
        let cols: Vec<&str> = line.splitn(5, '\t').collect();
        if let [_, _, _, kind, value] = cols[..] {
            if KINDS.contains(&kind) {
                out.entry(kind.to_string())
                    .or_default()
                    .insert(value.to_string());
            }
        }
    }
    out
}

fn observed(capture: &str) -> Observables {
    let mut out = Observables::new();
    let mut add = |k: &str, v: &str| {
        out.entry(k.to_string()).or_default().insert(v.to_string());
    };
    for e in common::analyze_events(&[&data(capture)], &[]) {
        let t = e["event_type"].as_str().unwrap();
        match t {
            "dns" | "mdns" | "llmnr" => add("dns_query", e[t]["rrname"].as_str().unwrap()),
            "http" => {
                if let Some(h) = e["http"]["hostname"].as_str() {
                    add("http_host", h);
                }
                if let Some(ua) = e["http"]["http_user_agent"].as_str() {
                    add("http_user_agent", ua);
                }
            }
            "dhcp" => {
                if let Some(mac) = e["dhcp"]["client_mac"].as_str() {
                    add("dhcp_client_mac", mac);
                }
                for id in ["client_id", "server_id"] {
                    // DUID-LL and DUID-LLT end with the link-layer address.
                    if let (Some(duid), 6) = (
                        e["dhcp"][id].as_str(),
                        e["dhcp"]["version"].as_u64().unwrap(),
                    ) {
                        add("dhcpv6_duid_mac", &duid[duid.len().saturating_sub(17)..]);
                    }
                }
            }
            "netbios" => {
                for n in e["netbios"]["names"].as_array().unwrap() {
                    add(
                        "nbns_name",
                        &format!(
                            "{}<{:02x}>",
                            n["name"].as_str().unwrap(),
                            n["suffix"].as_u64().unwrap()
                        ),
                    );
                }
            }
            _ => {}
        }
    }
    out
}

fn check(capture: &str) {
    let (want, got) = (expected(capture), observed(capture));
    assert!(
        !want.is_empty(),
        "{capture}: the reference has observables to compare"
    );
    for kind in KINDS {
        assert_eq!(got.get(kind), want.get(kind), "{capture}: {kind}");
    }
}

#[test]
fn dhcp_client_macs_match_tshark() {
    check("dhcp.pcapng");
}

#[test]
fn dhcpv6_duids_match_tshark() {
    check("dhcpv6.pcap");
}

#[test]
fn http_hosts_and_agents_match_tshark() {
    check("http1.pcapng"); // connections already open when the capture began
    check("http1-with-cookies.pcapng");
    check("https-connect.pcap");
}

#[test]
fn mixed_desktop_traffic_matches_tshark() {
    check("latest.pcapng");
    check("ssh2.pcapng"); // includes SSDP M-SEARCH user agents
    check("tls3.pcapng");
}

#[test]
fn ipv6_dns_matches_tshark() {
    check("v6.pcap");
}

#[test]
fn erspan_and_vxlan_capture_reaches_the_inner_hosts() {
    // Arkime's capture of an HTTP/1.0 exchange inside GRE/ERSPAN and VXLAN; the inner hosts are
    // 10.16.27.12 and 10.16.27.131, the tunnel endpoints are not.
    let out = common::wiretally(&["analyze", data("gre-erspan-vxlan.pcap").to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("2 host(s)"), "{text}");
    assert!(
        text.contains("\n10.16.27.12 ") && text.contains("\n10.16.27.131 "),
        "{text}"
    );
}
