//! From traffic to products: captures built here, run through `wiretally analyze --json` with the
//! shipped signature packs.

mod common;

use common::*;
use serde_json::Value;

const PC: [u8; 4] = [10, 3, 0, 21];
const OTHER: [u8; 4] = [10, 3, 0, 22];
const RESOLVER: [u8; 4] = [10, 3, 0, 1];
const T0: i64 = 1_800_000_000_000_000;

fn http_get(host: &str, ua: &str) -> Vec<u8> {
    format!("GET /connecttest.txt HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {ua}\r\n\r\n")
        .into_bytes()
}

fn inventory(frames: &[Frame]) -> Value {
    inventory_with(frames, &[])
}

/// `analyze --json` with extra arguments.
fn inventory_with(frames: &[Frame], extra: &[&str]) -> Value {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = temp_dir(&format!("inference-{n}"));
    let pcap = dir.join("i.pcap");
    write_pcap(&pcap, 1, frames);
    let packs = concat!(env!("CARGO_MANIFEST_DIR"), "/signatures");
    let mut args = vec![
        "analyze",
        "--json",
        "--signatures",
        packs,
        pcap.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = wiretally(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn host<'a>(doc: &'a Value, ip: &str) -> &'a Value {
    doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["ip"] == ip)
        .unwrap_or_else(|| panic!("no host {ip}: {doc}"))
}

fn product<'a>(h: &'a Value, id: &str) -> Option<&'a Value> {
    h["products"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
}

/// One field of every piece of a product's evidence.
fn evidence<'a>(p: &'a Value, field: &str) -> Vec<&'a str> {
    p["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e[field].as_str().unwrap())
        .collect()
}

/// A Windows PC: DHCP vendor class, an NCSI probe with a Windows User-Agent, a licensing lookup.
fn windows_pc() -> Vec<Frame> {
    let mut discover = dhcp(1, 1, 7, CLIENT_MAC, [0; 4], Some("LIB-PC-07"));
    let end = discover.len() - 1; // before option 255
    discover.splice(
        end..end,
        [60, 8, b'M', b'S', b'F', b'T', b' ', b'5', b'.', b'0'],
    );
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36";
    let probe = http_get("www.msftconnecttest.com", ua);
    vec![
        udp(
            T0,
            ([0, 0, 0, 0], 68),
            ([255, 255, 255, 255], 67),
            &discover,
        ),
        udp(
            T0 + 10,
            (RESOLVER, 67),
            (PC, 68),
            &dhcp(2, 5, 7, CLIENT_MAC, PC, None),
        ),
        udp(
            T0 + 20,
            (PC, 40000),
            (RESOLVER, 53),
            &dns_query(1, "www.msftconnecttest.com", 1),
        ),
        tcp(T0 + 30, (PC, 50000), ([192, 0, 2, 80], 80), 1, 0, "S", b""),
        tcp(T0 + 31, ([192, 0, 2, 80], 80), (PC, 50000), 9, 2, "SA", b""),
        tcp(
            T0 + 32,
            (PC, 50000),
            ([192, 0, 2, 80], 80),
            2,
            10,
            "AP",
            &probe,
        ),
    ]
}

#[test]
fn a_windows_pc_is_recognised_with_its_evidence() {
    let doc = inventory(&windows_pc());
    let h = host(&doc, "10.3.0.21");
    assert_eq!(h["hostnames"], serde_json::json!(["LIB-PC-07"]));
    let win = product(h, "microsoft.windows").unwrap_or_else(|| panic!("{h}"));
    assert_eq!(win["category"], "os");
    assert_eq!(win["versions"], serde_json::json!(["10.0"]));
    let kinds = evidence(win, "kind");
    assert!(
        kinds.contains(&"usage") && kinds.contains(&"telemetry"),
        "{kinds:?}"
    );
    let rules = evidence(win, "rule");
    assert!(
        rules.contains(&"microsoft.windows.dhcp-msft")
            && rules.contains(&"microsoft.windows.ua-windows-nt"),
        "{rules:?}"
    );
    // Two independent kinds combine: usage (DHCP, 0.6) and telemetry (the NCSI probe, 0.5, which
    // Windows Server shares, so it counts 0.6 of that: 0.3) give 1 - (1 - 0.6)(1 - 0.3) = 0.72,
    // more than either alone; the User-Agent (usage, 0.5) adds no second usage.
    let c = win["confidence"].as_f64().unwrap();
    assert!((c - 0.72).abs() < 1e-9, "{c}");
    assert!(
        product(h, "microsoft.windows-server").is_none(),
        "shared evidence alone stays below the minimum"
    );
    assert_eq!(doc["stats"]["hosts"], 2);
}

#[test]
fn browsing_a_website_is_not_software() {
    // A page view: DNS and TLS to www.baidu.com, a Chrome hello. Neither Baidu nor anything else
    // from the site's name may become a product of the host.
    let mut frames = vec![udp(
        T0,
        (PC, 40001),
        (RESOLVER, 53),
        &dns_query(2, "www.baidu.com", 1),
    )];
    let hello = b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"; // not a full hello: no fingerprint either
    frames.push(tcp(
        T0 + 10,
        (PC, 50001),
        ([198, 51, 100, 9], 443),
        1,
        0,
        "S",
        b"",
    ));
    frames.push(tcp(
        T0 + 11,
        (PC, 50001),
        ([198, 51, 100, 9], 443),
        2,
        1,
        "AP",
        hello,
    ));
    let doc = inventory(&frames);
    let h = host(&doc, "10.3.0.21");
    assert_eq!(h["products"], serde_json::json!([]), "{h}");
}

#[test]
fn a_name_less_flow_is_named_by_its_clients_own_lookup() {
    // PC resolves the Adobe licensing host, then connects to its address without a name in the
    // flow; OTHER connects to the same address without having asked.
    let adobe = [203, 0, 113, 77];
    let frames = vec![
        udp(
            T0,
            (PC, 40002),
            (RESOLVER, 53),
            &dns_query(3, "lcs-cops.adobe.io", 1),
        ),
        udp(
            T0 + 5,
            (RESOLVER, 53),
            (PC, 40002),
            &dns_answer_a(3, "lcs-cops.adobe.io", adobe, 300),
        ),
        tcp(T0 + 10, (PC, 50002), (adobe, 443), 1, 0, "S", b""),
        tcp(T0 + 20, (OTHER, 50003), (adobe, 443), 1, 0, "S", b""),
    ];
    // The licensing host is shared with Acrobat, so alone it counts 0.3: show what is below the
    // default minimum too.
    let doc = inventory_with(&frames, &["--min-confidence", "0.2"]);
    let pc =
        product(host(&doc, "10.3.0.21"), "adobe.creative-cloud").unwrap_or_else(|| panic!("{doc}"));
    let e = pc["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["observable"] == "lcs-cops.adobe.io")
        .unwrap();
    assert_eq!(e["count"], 2, "the lookup and the connection it named");
    assert!(
        product(host(&doc, "10.3.0.22"), "adobe.creative-cloud").is_none(),
        "another host's lookup names nothing"
    );
}

#[test]
fn software_events_report_each_product_once() {
    let dir = temp_dir("software-events");
    let pcap = dir.join("w.pcap");
    let mut frames = windows_pc();
    frames.extend(windows_pc().into_iter().map(|mut f| {
        f.ts_us += 1_000_000;
        f
    }));
    write_pcap(&pcap, 1, &frames);
    let packs = concat!(env!("CARGO_MANIFEST_DIR"), "/signatures");
    let events = analyze_events(&[&pcap], &["--signatures", packs]);
    let windows: Vec<_> = of_type(&events, "software")
        .into_iter()
        .filter(|e| e["software"]["product"] == "microsoft.windows")
        .collect();
    // Gained once (at the first rule that reached the minimum), then its version once; the
    // same traffic a second later adds nothing.
    assert_eq!(windows.len(), 2, "{windows:?}");
    assert!(windows.iter().all(|e| {
        e["timestamp"]
            .as_str()
            .unwrap()
            .starts_with("2027-01-15T08:00:00.")
    }));
    assert_eq!(
        windows[0]["src_ip"], "10.3.0.21",
        "the host, even for evidence from DHCP"
    );
    assert_eq!(windows[0]["software"]["category"], "os");
    assert_eq!(windows[1]["software"]["version"], "10.0");
}

#[test]
fn a_weak_match_alone_is_below_the_reporting_minimum() {
    // TCP 27000 is FlexNet's default licence port, shared by many vendors at low weight.
    let frames = vec![tcp(
        T0,
        (PC, 50010),
        ([192, 0, 2, 27], 27000),
        1,
        0,
        "S",
        b"",
    )];
    let doc = inventory(&frames);
    assert_eq!(host(&doc, "10.3.0.21")["products"], serde_json::json!([]));
}

#[test]
fn an_ubuntu_host_updating_from_a_campus_mirror() {
    // apt fetches the release file of jammy from a university mirror over plain HTTP.
    let get = b"GET /ubuntu/dists/jammy/InRelease HTTP/1.1\r\nHost: mirrors.tuna.tsinghua.edu.cn\r\nUser-Agent: Debian APT-HTTP/1.3 (2.4.11)\r\n\r\n";
    let mirror = [101, 6, 15, 130];
    let frames = vec![
        tcp(T0, (PC, 50020), (mirror, 80), 1, 0, "S", b""),
        tcp(T0 + 1, (mirror, 80), (PC, 50020), 7, 2, "SA", b""),
        tcp(T0 + 2, (PC, 50020), (mirror, 80), 2, 8, "AP", get),
    ];
    // A mirror path is weak evidence (0.3): browsing a mirror's directory listing looks the same.
    let doc = inventory_with(&frames, &["--min-confidence", "0.2"]);
    let ubuntu =
        product(host(&doc, "10.3.0.21"), "canonical.ubuntu").unwrap_or_else(|| panic!("{doc}"));
    let observed = evidence(ubuntu, "observable");
    assert!(
        observed.contains(&"mirrors.tuna.tsinghua.edu.cn/ubuntu/dists/jammy/InRelease"),
        "{observed:?}"
    );
    assert_eq!(ubuntu["category"], "os");
}

#[test]
fn syn_shape_and_dhcp_parameter_list_are_operating_system_hints() {
    // A Windows SYN (initial TTL 128, options mss,nop,ws,nop,nop,sok) seen 3 hops away, and a
    // DHCP request with Windows 10's option-55 list, acknowledged to broadcast.
    use etherparse::TcpOptionElement::*;
    let mut syn = Vec::new();
    etherparse::PacketBuilder::ethernet2(CLIENT_MAC, SERVER_MAC)
        .ipv4(PC, [192, 0, 2, 90], 125)
        .tcp(50030, 443, 1, 64240)
        .syn()
        .options(&[
            MaximumSegmentSize(1460),
            Noop,
            WindowScale(8),
            Noop,
            Noop,
            SelectiveAcknowledgementPermitted,
        ])
        .unwrap()
        .write(&mut syn, &[])
        .unwrap();
    let mut request = dhcp(1, 3, 9, CLIENT_MAC, [0; 4], None);
    let at = request.iter().position(|b| *b == 55).unwrap();
    request.splice(
        at..at + 6,
        [
            55, 14, 1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252,
        ],
    );
    request.splice(at..at, [50, 4, 10, 3, 0, 21]); // requested address
    let frames = vec![
        Frame {
            ts_us: T0,
            data: syn,
        },
        udp(
            T0 + 10,
            ([0, 0, 0, 0], 68),
            ([255, 255, 255, 255], 67),
            &request,
        ),
        udp(
            T0 + 20,
            (RESOLVER, 67),
            ([255, 255, 255, 255], 68),
            &dhcp(2, 5, 9, CLIENT_MAC, PC, None),
        ),
    ];
    let dir = temp_dir("os-hints");
    let pcap = dir.join("h.pcap");
    write_pcap(&pcap, 1, &frames);
    let packs = concat!(env!("CARGO_MANIFEST_DIR"), "/signatures");
    let out = wiretally(&[
        "analyze",
        "--json",
        "--min-confidence",
        "0.1",
        "--signatures",
        packs,
        pcap.to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let win =
        product(host(&doc, "10.3.0.21"), "microsoft.windows").unwrap_or_else(|| panic!("{doc}"));
    let observed = evidence(win, "observable");
    assert!(
        observed.contains(&"128:mss,nop,ws,nop,nop,sok"),
        "{observed:?}"
    );
    assert!(
        observed.contains(&"1,3,6,15,31,33,43,44,46,47,119,121,249,252"),
        "{observed:?}"
    );
    // Both are usage evidence: the stronger (0.4) counts, the SYN adds nothing on its own.
    assert!((win["confidence"].as_f64().unwrap() - 0.4).abs() < 1e-9);
}

#[test]
fn the_quick_start_capture_shows_products() {
    let lab = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/lab.pcap");
    let packs = concat!(env!("CARGO_MANIFEST_DIR"), "/signatures");
    let out = wiretally(&[
        "analyze",
        "--json",
        "--home-net",
        "198.18.0.0/15",
        "--signatures",
        packs,
        lab,
    ]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let pc = doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hostnames"] == serde_json::json!(["lab-pc-01"]))
        .unwrap();
    let mut ids: Vec<&str> = pc["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    // Exactly what the lab PC showed: nothing from the lab's own names or the generic
    // User-Agent, one product each in os, office, antivirus and other.
    assert_eq!(
        ids,
        [
            "adobe.creative-cloud",
            "microsoft.defender",
            "microsoft.office",
            "microsoft.windows"
        ]
    );
    let category = |id: &str| {
        pc["products"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == id)
            .map(|p| p["category"].as_str().unwrap().to_string())
    };
    assert_eq!(category("microsoft.office").as_deref(), Some("office"));
    assert_eq!(category("microsoft.defender").as_deref(), Some("antivirus"));
}

#[test]
fn a_dhcp_request_waits_for_the_ack() {
    // A Windows client asks for 10.3.0.77 (option 50) with vendor class "MSFT 5.0". A refusal
    // must not credit whoever holds that address; an ACK to broadcast credits the address it
    // gives, seen from the client's side.
    let asked = [10, 3, 0, 77];
    let mut request = dhcp(1, 3, 21, CLIENT_MAC, [0; 4], None);
    let at = request.iter().position(|b| *b == 55).unwrap();
    request.splice(at..at, [50, 4, 10, 3, 0, 77]);
    request.splice(
        at..at,
        [60, 8, b'M', b'S', b'F', b'T', b' ', b'5', b'.', b'0'],
    );
    let request = udp(T0, ([0, 0, 0, 0], 68), ([255, 255, 255, 255], 67), &request);
    let answer = |msg_type| {
        udp(
            T0 + 10,
            (RESOLVER, 67),
            ([255, 255, 255, 255], 68),
            &dhcp(2, msg_type, 21, CLIENT_MAC, asked, None),
        )
    };
    let holder = udp(T0 - 10, (asked, 5353), ([224, 0, 0, 251], 5353), b"");
    let events = temp_dir("dhcp-wait").join("events.ndjson");
    let events_arg = events.to_str().unwrap();

    let refused = inventory_with(
        &[holder.clone(), request.clone(), answer(6)],
        &["--events", events_arg],
    );
    assert!(
        product(host(&refused, "10.3.0.77"), "microsoft.windows").is_none(),
        "{refused}"
    );

    let doc = inventory_with(&[holder, request, answer(5)], &["--events", events_arg]);
    assert!(
        product(host(&doc, "10.3.0.77"), "microsoft.windows").is_some(),
        "{doc}"
    );
    let log = std::fs::read_to_string(&events).unwrap();
    let software: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["event_type"] == "software")
        .collect();
    assert_eq!(software.len(), 1, "{log}");
    assert_eq!(software[0]["src_ip"], "10.3.0.77");
    assert_eq!(software[0]["src_mac"], "02:11:22:33:44:55");
    assert_eq!(software[0]["src_port"], 68);
}
