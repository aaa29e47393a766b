//! `wiretally analyze` on captures crafted here, checked field by field.

mod common;

use common::*;
use std::path::Path;

const CLIENT: [u8; 4] = [10, 0, 0, 50];
const GATEWAY: [u8; 4] = [10, 0, 0, 1];
const UPDATE_SERVER: [u8; 4] = [203, 0, 113, 10];

/// A small campus morning: a PC gets its address by DHCP, looks up an update server and fetches
/// a file over HTTP on port 8080, the request split over three segments that arrive out of
/// order, one of them twice.
fn campus_frames() -> Vec<Frame> {
    let t = 1_800_000_000_000_000i64;
    let c = |port| (CLIENT, port);
    let s = |port| (UPDATE_SERVER, port);
    let req = b"GET /pkgs/agent-5.2.cab HTTP/1.1\r\nHost: update.example.edu.cn:8080\r\nUser-Agent: CampusAgent/5.2 (Windows NT 10.0)\r\nAccept: */*\r\n\r\n";
    let (a, b) = (20, 60);
    let resp = b"HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: application/octet-stream\r\nContent-Length: 4\r\n\r\nMSCF";
    let (cs, ss) = (1_000u32, 50_000u32);
    vec![
        udp(
            t,
            ([0, 0, 0, 0], 68),
            ([255, 255, 255, 255], 67),
            &dhcp(1, 1, 0xabcd, CLIENT_MAC, [0; 4], Some("lab-pc-07")),
        ),
        udp(
            t + 1_000,
            (GATEWAY, 67),
            (CLIENT, 68),
            &dhcp(2, 5, 0xabcd, CLIENT_MAC, CLIENT, None),
        ),
        udp(
            t + 10_000,
            c(40000),
            (GATEWAY, 53),
            &dns_query(7, "update.example.edu.cn", 1),
        ),
        udp(
            t + 11_000,
            (GATEWAY, 53),
            c(40000),
            &dns_answer_a(7, "update.example.edu.cn", UPDATE_SERVER, 300),
        ),
        tcp(t + 20_000, c(50123), s(8080), cs, 0, "S", b""),
        tcp(t + 21_000, s(8080), c(50123), ss, cs + 1, "SA", b""),
        tcp(t + 22_000, c(50123), s(8080), cs + 1, ss + 1, "A", b""),
        tcp(
            t + 23_000,
            c(50123),
            s(8080),
            cs + 1 + b as u32,
            ss + 1,
            "AP",
            &req[b..],
        ),
        tcp(
            t + 23_500,
            c(50123),
            s(8080),
            cs + 1,
            ss + 1,
            "A",
            &req[..a],
        ),
        tcp(
            t + 23_600,
            c(50123),
            s(8080),
            cs + 1,
            ss + 1,
            "A",
            &req[..a],
        ),
        tcp(
            t + 24_000,
            c(50123),
            s(8080),
            cs + 1 + a as u32,
            ss + 1,
            "A",
            &req[a..b],
        ),
        tcp(
            t + 30_000,
            s(8080),
            c(50123),
            ss + 1,
            cs + 1 + req.len() as u32,
            "A",
            &resp[..25],
        ),
        tcp(
            t + 30_500,
            s(8080),
            c(50123),
            ss + 26,
            cs + 1 + req.len() as u32,
            "AP",
            &resp[25..],
        ),
        tcp(
            t + 40_000,
            c(50123),
            s(8080),
            cs + 1 + req.len() as u32,
            ss + 1 + resp.len() as u32,
            "AF",
            b"",
        ),
    ]
}

#[test]
fn analyze_reports_dhcp_dns_http_fields() {
    let dir = temp_dir("fields");
    let pcap = dir.join("campus.pcap");
    write_pcap(&pcap, 1, &campus_frames());
    let events = analyze_events(&[&pcap], &[]);

    let dhcp = of_type(&events, "dhcp");
    assert_eq!(dhcp.len(), 2);
    assert_eq!(dhcp[0]["dhcp"]["dhcp_type"], "discover");
    assert_eq!(dhcp[0]["dhcp"]["hostname"], "lab-pc-07");
    assert_eq!(dhcp[0]["dhcp"]["client_mac"], "02:11:22:33:44:55");
    assert_eq!(dhcp[0]["dhcp"]["params"], serde_json::json!([1, 3, 6, 15]));
    assert_eq!(dhcp[0]["src_mac"], "02:11:22:33:44:55");
    assert_eq!(dhcp[1]["dhcp"]["dhcp_type"], "ack");
    assert_eq!(dhcp[1]["dhcp"]["assigned_ip"], "10.0.0.50");
    assert_eq!(dhcp[1]["dhcp"]["lease_time"], 3600);

    let dns = of_type(&events, "dns");
    assert_eq!(dns.len(), 2);
    assert_eq!(dns[0]["dns"]["type"], "query");
    assert_eq!(dns[0]["dns"]["rrname"], "update.example.edu.cn");
    assert_eq!(dns[0]["dns"]["rrtype"], "A");
    assert_eq!(dns[0]["src_ip"], "10.0.0.50");
    assert_eq!(dns[0]["dest_port"], 53);
    assert_eq!(dns[0]["proto"], "UDP");
    assert_eq!(dns[1]["dns"]["answers"][0]["rdata"], "203.0.113.10");
    assert_eq!(dns[1]["dns"]["answers"][0]["ttl"], 300);
    assert_eq!(
        dns[0]["flow_id"], dns[1]["flow_id"],
        "query and answer share a flow"
    );

    let http = of_type(&events, "http");
    assert_eq!(
        http.len(),
        1,
        "one request, reassembled once despite reordering and a retransmission"
    );
    let h = &http[0]["http"];
    assert_eq!(h["hostname"], "update.example.edu.cn:8080");
    assert_eq!(h["url"], "/pkgs/agent-5.2.cab");
    assert_eq!(h["http_method"], "GET");
    assert_eq!(h["http_user_agent"], "CampusAgent/5.2 (Windows NT 10.0)");
    assert_eq!(h["status"], 200);
    assert_eq!(h["server"], "nginx/1.24.0");
    assert_eq!(http[0]["src_ip"], "10.0.0.50");
    assert_eq!(http[0]["dest_port"], 8080);
    assert_eq!(http[0]["proto"], "TCP");

    let ts = events[0]["timestamp"].as_str().unwrap();
    assert_eq!(ts, "2027-01-15T08:00:00.000000Z");
}

#[test]
fn output_is_identical_across_runs_and_worker_counts() {
    let dir = temp_dir("determinism");
    // Many hosts so that several workers all get a share.
    let mut frames = Vec::new();
    let t = 1_800_000_000_000_000i64;
    for i in 0..200u16 {
        let host = [10, 1, (i / 250) as u8, (i % 250) as u8 + 2];
        let name = format!("h{i}.example.edu.cn");
        let ts = t + i64::from(i) * 1_000;
        frames.push(udp(
            ts,
            (host, 30000 + i),
            (GATEWAY, 53),
            &dns_query(i, &name, 1),
        ));
        frames.push(udp(
            ts + 300,
            (GATEWAY, 53),
            (host, 30000 + i),
            &dns_answer_a(i, &name, [198, 51, 100, (i % 250) as u8], 60),
        ));
        let req = format!("GET /{i} HTTP/1.1\r\nHost: {name}\r\nUser-Agent: t/{i}\r\n\r\n");
        frames.push(tcp(
            ts + 400,
            (host, 40000 + i),
            ([198, 51, 100, 7], 80),
            10,
            0,
            "S",
            b"",
        ));
        frames.push(tcp(
            ts + 500,
            (host, 40000 + i),
            ([198, 51, 100, 7], 80),
            11,
            1,
            "AP",
            req.as_bytes(),
        ));
    }
    // Idle past the UDP timeout so flows end at ticks in the middle of the input too.
    frames.push(udp(
        t + 120_000_000,
        ([10, 9, 9, 9], 5353),
        ([224, 0, 0, 251], 5353),
        &dns_query(0, "printer.local", 1),
    ));
    let pcap = dir.join("many.pcap");
    write_pcap(&pcap, 1, &frames);
    let run = |workers: &str| {
        let out = wiretally(&[
            "analyze",
            "--events",
            "-",
            "--workers",
            workers,
            pcap.to_str().unwrap(),
        ]);
        assert!(out.status.success());
        out.stdout
    };
    let one = run("1");
    let lines = one.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    assert_eq!(
        lines,
        200 * 3 + 1,
        "200 queries, 200 answers, 200 http requests, 1 mdns"
    );
    assert_eq!(one, run("1"), "same input, same bytes");
    assert_eq!(one, run("2"), "2 workers");
    assert_eq!(one, run("4"), "4 workers");
}

#[test]
fn pcapng_and_several_files_in_order() {
    let dir = temp_dir("pcapng");
    let frames = campus_frames();
    let whole = dir.join("whole.pcap");
    write_pcap(&whole, 1, &frames);
    let ng = dir.join("whole.pcapng");
    write_pcapng(&ng, &frames);
    let (first, second) = frames.split_at(4);
    let (a, b) = (dir.join("a.pcap"), dir.join("b.pcapng"));
    write_pcap(&a, 1, first);
    write_pcapng(&b, second);
    let expected = analyze_events(&[&whole], &[]);
    assert_eq!(analyze_events(&[&ng], &[]), expected);
    assert_eq!(
        analyze_events(&[&a, &b], &[]),
        expected,
        "files are one continuous input"
    );
}

#[test]
fn truncated_file_keeps_what_was_read_and_warns() {
    let dir = temp_dir("truncated");
    let pcap = dir.join("cut.pcap");
    write_pcap(&pcap, 1, &campus_frames()[..4]);
    let bytes = std::fs::read(&pcap).unwrap();
    std::fs::write(&pcap, &bytes[..bytes.len() - 10]).unwrap();
    let out = wiretally(&["analyze", "--events", "-", pcap.to_str().unwrap()]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cut.pcap") && stderr.contains("truncated"),
        "{stderr}"
    );
    let n = String::from_utf8_lossy(&out.stdout).lines().count();
    assert_eq!(n, 3, "the three whole packets before the cut give events");
}

#[test]
fn unreadable_and_unsupported_files_are_named() {
    let dir = temp_dir("bad");
    let wifi = dir.join("wifi.pcap");
    write_pcap(&wifi, 105, &campus_frames()[..1]); // DLT_IEEE802_11
    let missing = dir.join("missing.pcap");
    let good = dir.join("good.pcap");
    write_pcap(&good, 1, &campus_frames());
    let out = wiretally(&[
        "analyze",
        "--events",
        "-",
        wifi.to_str().unwrap(),
        missing.to_str().unwrap(),
        good.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a failed file makes the run fail"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("wifi.pcap") && stderr.contains("link type 105"),
        "{stderr}"
    );
    assert!(
        stderr.contains("missing.pcap: cannot open capture"),
        "{stderr}"
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("lab-pc-07"),
        "the good file was still read"
    );
}

#[test]
fn bad_flags_exit_64() {
    let out = wiretally(&[
        "analyze",
        "--workers",
        "0",
        "--home-net",
        "10.0.0.0/33",
        "x.pcap",
    ]);
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--workers 0") && stderr.contains("--home-net \"10.0.0.0/33\""),
        "all errors at once: {stderr}"
    );
}

/// Splits a UDP datagram into IPv4 fragments of `chunk` payload bytes, delivered last first.
fn fragmented_udp(
    ts: i64,
    src: [u8; 4],
    dst: [u8; 4],
    sport: u16,
    dport: u16,
    payload: &[u8],
    chunk: usize,
) -> Vec<Frame> {
    let mut udp_bytes = Vec::new();
    etherparse::UdpHeader::without_ipv4_checksum(sport, dport, payload.len())
        .unwrap()
        .write(&mut udp_bytes)
        .unwrap();
    udp_bytes.extend_from_slice(payload);
    let mut frames = Vec::new();
    for (i, part) in udp_bytes.chunks(chunk).enumerate() {
        let offset = i * chunk;
        let more = offset + part.len() < udp_bytes.len();
        let mut ip =
            etherparse::Ipv4Header::new(part.len() as u16, 64, etherparse::IpNumber::UDP, src, dst)
                .unwrap();
        ip.identification = 0x4242;
        ip.more_fragments = more;
        ip.fragment_offset = etherparse::IpFragOffset::try_new((offset / 8) as u16).unwrap();
        ip.header_checksum = ip.calc_header_checksum();
        let mut data = Vec::new();
        etherparse::Ethernet2Header {
            source: SERVER_MAC,
            destination: CLIENT_MAC,
            ether_type: etherparse::EtherType::IPV4,
        }
        .write(&mut data)
        .unwrap();
        ip.write(&mut data).unwrap();
        data.extend_from_slice(part);
        frames.push(Frame {
            ts_us: ts + i as i64,
            data,
        });
    }
    frames.reverse();
    frames
}

#[test]
fn fragmented_dns_answer_is_reassembled() {
    let dir = temp_dir("fragments");
    let t = 1_800_000_000_000_000i64;
    let answer = dns_answer_a(
        9,
        "a-rather-long-label-to-need-fragments.kms.example.edu.cn",
        [192, 0, 2, 44],
        120,
    );
    let mut frames = vec![udp(
        t,
        (CLIENT, 40001),
        (GATEWAY, 53),
        &dns_query(9, "x.example", 1),
    )];
    frames.extend(fragmented_udp(
        t + 10,
        GATEWAY,
        CLIENT,
        53,
        40001,
        &answer,
        24,
    ));
    assert!(frames.len() >= 4);
    let pcap = dir.join("frag.pcap");
    write_pcap(&pcap, 1, &frames);
    let events = analyze_events(&[&pcap], &[]);
    let answers: Vec<_> = of_type(&events, "dns")
        .into_iter()
        .filter(|e| e["dns"]["type"] == "answer")
        .collect();
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0]["dns"]["answers"][0]["rdata"], "192.0.2.44");
}

#[test]
fn vxlan_sll2_and_raw_ip_are_decoded() {
    let dir = temp_dir("links");
    let t = 1_800_000_000_000_000i64;
    let inner = udp(
        t,
        (CLIENT, 40002),
        (GATEWAY, 53),
        &dns_query(3, "vxlan.example", 1),
    );
    let mut vx = vec![0x08, 0, 0, 0, 0, 0, 0x64, 0];
    vx.extend_from_slice(&inner.data);
    let outer = udp(t, ([192, 0, 2, 1], 50000), ([192, 0, 2, 2], 4789), &vx);
    let p = dir.join("vxlan.pcap");
    write_pcap(&p, 1, &[outer]);
    let ev = analyze_events(&[&p], &[]);
    assert_eq!(ev[0]["dns"]["rrname"], "vxlan.example");
    assert_eq!(
        ev[0]["src_ip"], "10.0.0.50",
        "the inner packet, not the tunnel"
    );
    assert_eq!(ev[0]["src_mac"], "02:11:22:33:44:55");

    let ip = &inner.data[14..];
    let mut sll2 = vec![0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 4, 6];
    sll2.extend_from_slice(&CLIENT_MAC);
    sll2.extend_from_slice(&[0, 0]);
    sll2.extend_from_slice(ip);
    let p = dir.join("sll2.pcap");
    write_pcap(
        &p,
        276,
        &[Frame {
            ts_us: t,
            data: sll2,
        }],
    );
    assert_eq!(
        analyze_events(&[&p], &[])[0]["src_mac"],
        "02:11:22:33:44:55"
    );
    let p = dir.join("raw.pcap");
    write_pcap(
        &p,
        101,
        &[Frame {
            ts_us: t,
            data: ip.to_vec(),
        }],
    );
    assert_eq!(
        analyze_events(&[&p], &[])[0]["dns"]["rrname"],
        "vxlan.example"
    );
}

#[test]
fn summary_lists_hosts_with_names() {
    let dir = temp_dir("summary");
    let pcap = dir.join("campus.pcap");
    write_pcap(&pcap, 1, &campus_frames());
    let out = wiretally(&["analyze", pcap.to_str().unwrap()]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("10.0.0.50 "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("02:11:22:33:44:55") && line.contains("lab-pc-07 (dhcp)"),
        "{line}"
    );
    assert!(text.contains("looked up: update.example.edu.cn"), "{text}");
    assert!(
        !text.contains("203.0.113.10"),
        "outside addresses are not hosts: {text}"
    );
    assert!(Path::new(&pcap).exists());
}
