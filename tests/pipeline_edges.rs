//! Pipeline behaviour at its edges, through `wiretally analyze`: TCP handshakes seen in part,
//! reused ports, limits under pressure, IPv6, other link types, and the counters that report them.

mod common;

use common::*;
use etherparse::PacketBuilder;

const C: [u8; 4] = [10, 0, 0, 7];
const S: [u8; 4] = [192, 0, 2, 80];
const T0: i64 = 1_800_000_000_000_000;

fn request(host: &str) -> Vec<u8> {
    format!("GET /x HTTP/1.1\r\nHost: {host}\r\nUser-Agent: edge-test\r\n\r\n").into_bytes()
}

fn hosts(events: &[serde_json::Value]) -> Vec<String> {
    of_type(events, "http")
        .iter()
        .map(|e| e["http"]["hostname"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn data_in_the_syn_is_not_cut() {
    // TCP Fast Open: the request rides on the SYN; its first byte is at ISN + 1.
    let req = request("tfo.example");
    let frames = vec![
        tcp(T0, (C, 40000), (S, 80), 100, 0, "S", &req),
        tcp(
            T0 + 10,
            (S, 80),
            (C, 40000),
            900,
            101 + req.len() as u32,
            "SA",
            b"",
        ),
    ];
    assert_eq!(hosts(&run_capture(&frames, &[]).0), ["tfo.example"]);
}

#[test]
fn a_new_connection_on_reused_ports_is_a_new_flow() {
    let (a, b) = (request("first.example"), request("second.example"));
    let frames = vec![
        tcp(T0, (C, 40001), (S, 80), 100, 0, "S", b""),
        tcp(T0 + 10, (S, 80), (C, 40001), 900, 101, "SA", b""),
        tcp(T0 + 20, (C, 40001), (S, 80), 101, 901, "AP", &a),
        tcp(
            T0 + 30,
            (C, 40001),
            (S, 80),
            101 + a.len() as u32,
            901,
            "AF",
            b"",
        ),
        // Two seconds later, well inside every timeout, the same ports open again.
        tcp(T0 + 2_000_000, (C, 40001), (S, 80), 5000, 0, "S", b""),
        tcp(T0 + 2_000_010, (S, 80), (C, 40001), 7000, 5001, "SA", b""),
        tcp(T0 + 2_000_020, (C, 40001), (S, 80), 5001, 7001, "AP", &b),
    ];
    let (events, stderr) = run_capture(&frames, &[]);
    assert_eq!(hosts(&events), ["first.example", "second.example"]);
    assert!(stderr.contains("TCP ports reused 1"), "{stderr}");
    let ids: Vec<_> = of_type(&events, "http")
        .iter()
        .map(|e| e["flow_id"].clone())
        .collect();
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn a_capture_that_misses_the_syn_still_reads_the_client() {
    let req = request("asym.example");
    let frames = vec![
        tcp(T0, (S, 80), (C, 40002), 900, 101, "SA", b""),
        tcp(T0 + 10, (C, 40002), (S, 80), 101, 901, "AP", &req),
    ];
    let events = run_capture(&frames, &[]).0;
    assert_eq!(hosts(&events), ["asym.example"]);
    assert_eq!(
        of_type(&events, "http")[0]["src_ip"],
        "10.0.0.7",
        "the client is the SYN-ACK's receiver"
    );
}

#[test]
fn connections_open_before_the_capture_are_picked_up() {
    let req = request("midstream.example");
    let frames = vec![
        tcp(T0, (C, 40003), (S, 80), 5555, 777, "AP", &req),
        tcp(
            T0 + 10,
            (S, 80),
            (C, 40003),
            777,
            5555 + req.len() as u32,
            "AP",
            b"HTTP/1.1 204 No Content\r\nServer: mid\r\n\r\n",
        ),
    ];
    let (events, stderr) = run_capture(&frames, &[]);
    assert_eq!(of_type(&events, "http")[0]["http"]["server"], "mid");
    assert!(stderr.contains("picked up mid-stream 2"), "{stderr}");
}

#[test]
fn dns_over_tcp_yields_both_messages() {
    let q = dns_query(77, "tcp.example.edu.cn", 1);
    let a = dns_answer_a(77, "tcp.example.edu.cn", [192, 0, 2, 5], 60);
    let frame = |m: &[u8]| {
        let mut v = (m.len() as u16).to_be_bytes().to_vec();
        v.extend_from_slice(m);
        v
    };
    let (fq, fa) = (frame(&q), frame(&a));
    let frames = vec![
        tcp(T0, (C, 40004), (S, 53), 10, 0, "S", b""),
        tcp(T0 + 1, (S, 53), (C, 40004), 20, 11, "SA", b""),
        // The query arrives in two segments.
        tcp(T0 + 2, (C, 40004), (S, 53), 11, 21, "A", &fq[..5]),
        tcp(T0 + 3, (C, 40004), (S, 53), 16, 21, "AP", &fq[5..]),
        tcp(
            T0 + 4,
            (S, 53),
            (C, 40004),
            21,
            11 + fq.len() as u32,
            "AP",
            &fa,
        ),
    ];
    let events = run_capture(&frames, &[]).0;
    let dns = of_type(&events, "dns");
    assert_eq!(dns.len(), 2);
    assert_eq!(
        (dns[0]["dns"]["type"].as_str(), dns[0]["proto"].as_str()),
        (Some("query"), Some("TCP"))
    );
    assert_eq!(dns[1]["dns"]["answers"][0]["rdata"], "192.0.2.5");
}

#[test]
fn event_macs_are_the_packets_own() {
    // Two DHCP clients share one flow (0.0.0.0:68 -> 255.255.255.255:67).
    let mac_b = [0x02, 0xbb, 0, 0, 0, 2];
    let mut second = udp(
        T0 + 10,
        ([0, 0, 0, 0], 68),
        ([255, 255, 255, 255], 67),
        &dhcp(1, 1, 2, mac_b, [0; 4], Some("pc-b")),
    );
    second.data[6..12].copy_from_slice(&mac_b);
    let frames = vec![
        udp(
            T0,
            ([0, 0, 0, 0], 68),
            ([255, 255, 255, 255], 67),
            &dhcp(1, 1, 1, CLIENT_MAC, [0; 4], Some("pc-a")),
        ),
        second,
    ];
    let events = run_capture(&frames, &[]).0;
    assert_eq!(events[1]["src_mac"], "02:bb:00:00:00:02");
    assert_eq!(events[1]["dhcp"]["client_mac"], "02:bb:00:00:00:02");
    assert_eq!(events[0]["flow_id"], events[1]["flow_id"]);
}

/// A SYN flood from many sources plus 100 complete HTTP exchanges.
fn flood() -> Vec<Frame> {
    let mut frames = Vec::new();
    for i in 0..20_000u32 {
        let src = [10, 2, (i >> 8) as u8, i as u8];
        frames.push(tcp(
            T0 + i64::from(i),
            (src, 20000 + (i % 1000) as u16),
            (S, 443),
            i,
            0,
            "S",
            b"",
        ));
        if i % 200 == 0 {
            let host = [10, 3, 0, (i / 200) as u8];
            let req = request(&format!("h{i}.example"));
            let t = T0 + i64::from(i);
            frames.push(tcp(t, (host, 50000), (S, 80), 1, 0, "S", b""));
            frames.push(tcp(t, (S, 80), (host, 50000), 5, 2, "SA", b""));
            frames.push(tcp(t, (host, 50000), (S, 80), 2, 6, "AP", &req));
            frames.push(tcp(
                t + 500,
                (S, 80),
                (host, 50000),
                6,
                2 + req.len() as u32,
                "AP",
                b"HTTP/1.1 200 OK\r\nServer: s\r\n\r\n",
            ));
        }
    }
    frames
}

#[test]
fn output_is_identical_across_worker_counts_when_tables_are_full() {
    let dir = temp_dir("flood");
    let pcap = dir.join("flood.pcap");
    write_pcap(&pcap, 1, &flood());
    let with_workers = |w: &str| {
        let out = wiretally(&[
            "analyze",
            "--events",
            "-",
            "--max-flows",
            "2000",
            "--workers",
            w,
            pcap.to_str().unwrap(),
        ]);
        assert!(out.status.success());
        (out.stdout, String::from_utf8(out.stderr).unwrap())
    };
    let (one, stderr) = with_workers("1");
    assert!(stderr.contains("evicted"), "{stderr}");
    let evicted: u64 = stderr
        .split("evicted ")
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(evicted > 10_000, "the flood overflowed the table: {stderr}");
    assert_eq!(one, with_workers("2").0);
    assert_eq!(one, with_workers("3").0);
    let lines = String::from_utf8(one).unwrap().lines().count();
    assert_eq!(lines, 100, "every exchange is still reported");
}

#[test]
fn stream_buffers_are_bounded_by_their_budget() {
    // 3000 connections each hold an early segment that never gets its gap filled.
    let frames = stalled_streams(4, S, T0, 3000);
    let (_, stderr) = run_capture(&frames, &["--stream-memory-mib", "1"]);
    let exhausted: u64 = stderr
        .split("budget exhausted ")
        .nth(1)
        .unwrap()
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(exhausted > 1000, "{stderr}");
}

#[test]
fn idle_flows_time_out_and_are_counted() {
    let frames = vec![
        udp(T0, (C, 40010), (S, 53), &dns_query(1, "a.example", 1)),
        // 61 s later the same ports are a new flow: UDP flows time out after 60 s idle.
        udp(
            T0 + 61_000_000,
            (C, 40010),
            (S, 53),
            &dns_query(2, "b.example", 1),
        ),
    ];
    let (events, stderr) = run_capture(&frames, &[]);
    assert_ne!(events[0]["flow_id"], events[1]["flow_id"]);
    assert!(
        stderr.contains("flows 2 (timed out 1, evicted 0,"),
        "{stderr}"
    );
}

#[test]
fn ipv6_with_extension_headers_and_fragments() {
    let src = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
    let dst = [
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
    ];
    let query = dns_query(9, "v6.example", 28);
    // Hop-by-hop options header, then UDP.
    let mut udp_bytes = Vec::new();
    etherparse::UdpHeader::without_ipv4_checksum(40020, 53, query.len())
        .unwrap()
        .write(&mut udp_bytes)
        .unwrap();
    udp_bytes.extend_from_slice(&query);
    let hop = [17u8, 0, 1, 4, 0, 0, 0, 0]; // next header UDP, length 0, PadN
    let mut payload = hop.to_vec();
    payload.extend_from_slice(&udp_bytes);
    let ip = etherparse::Ipv6Header {
        payload_length: payload.len() as u16,
        next_header: etherparse::IpNumber::IPV6_HEADER_HOP_BY_HOP,
        hop_limit: 64,
        source: src,
        destination: dst,
        ..Default::default()
    };
    let eth = |body: &[u8]| {
        let mut d = Vec::new();
        etherparse::Ethernet2Header {
            source: CLIENT_MAC,
            destination: SERVER_MAC,
            ether_type: etherparse::EtherType::IPV6,
        }
        .write(&mut d)
        .unwrap();
        d.extend_from_slice(body);
        d
    };
    let mut first = Vec::new();
    ip.write(&mut first).unwrap();
    first.extend_from_slice(&payload);
    // The answer comes back in two IPv6 fragments (fragment header, next header UDP).
    let answer = dns_answer_a(9, "v6.example", [192, 0, 2, 66], 30);
    let mut ans_udp = Vec::new();
    etherparse::UdpHeader::without_ipv4_checksum(53, 40020, answer.len())
        .unwrap()
        .write(&mut ans_udp)
        .unwrap();
    ans_udp.extend_from_slice(&answer);
    let cut = 16;
    let frag = |offset: usize, more: bool, part: &[u8]| {
        let h = etherparse::Ipv6Header {
            payload_length: (8 + part.len()) as u16,
            next_header: etherparse::IpNumber::IPV6_FRAGMENTATION_HEADER,
            hop_limit: 64,
            source: dst,
            destination: src,
            ..Default::default()
        };
        let mut b = Vec::new();
        h.write(&mut b).unwrap();
        let off = ((offset / 8) as u16) << 3 | u16::from(more);
        b.extend_from_slice(&[17, 0]);
        b.extend_from_slice(&off.to_be_bytes());
        b.extend_from_slice(&0x0bad_cafe_u32.to_be_bytes());
        b.extend_from_slice(part);
        b
    };
    let frames = vec![
        Frame {
            ts_us: T0,
            data: eth(&first),
        },
        Frame {
            ts_us: T0 + 5,
            data: eth(&frag(cut, false, &ans_udp[cut..])),
        },
        Frame {
            ts_us: T0 + 6,
            data: eth(&frag(0, true, &ans_udp[..cut])),
        },
    ];
    let (events, stderr) = run_capture(&frames, &[]);
    assert_eq!(events.len(), 2, "{stderr}");
    assert_eq!(events[0]["src_ip"], "fd00::7");
    assert_eq!(events[0]["dns"]["rrtype"], "AAAA");
    assert_eq!(events[1]["dns"]["answers"][0]["rdata"], "192.0.2.66");
    assert!(stderr.contains("reassembled 1"), "{stderr}");
}

#[test]
fn qinq_gre_cooked_and_loopback_frames() {
    let inner = udp(T0, (C, 40030), (S, 53), &dns_query(5, "wrapped.example", 1));
    let mut qinq = inner.data[..12].to_vec();
    qinq.extend_from_slice(&[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0x0a]);
    qinq.extend_from_slice(&inner.data[12..]);
    let mut gre_payload = vec![0x00, 0x00, 0x65, 0x58];
    gre_payload.extend_from_slice(&inner.data);
    let mut gre = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 9], [2, 0, 0, 0, 0, 8])
        .ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64)
        .write(&mut gre, etherparse::IpNumber::GRE, &gre_payload)
        .unwrap();
    for (link, data) in [(1u32, qinq), (1, gre)] {
        let dir = temp_dir(&format!("wrap-{}", data.len()));
        let p = dir.join("w.pcap");
        write_pcap(&p, link, &[Frame { ts_us: T0, data }]);
        let ev = analyze_events(&[&p], &[]);
        assert_eq!(ev[0]["dns"]["rrname"], "wrapped.example");
        assert_eq!(ev[0]["src_ip"], "10.0.0.7");
    }
    let ip = &inner.data[14..];
    let mut sll = vec![0, 0, 0, 1, 0, 6];
    sll.extend_from_slice(&CLIENT_MAC);
    sll.extend_from_slice(&[0, 0, 0x08, 0x00]);
    sll.extend_from_slice(ip);
    let mut null = 2u32.to_le_bytes().to_vec();
    null.extend_from_slice(ip);
    for (link, data) in [(113u32, sll), (0, null)] {
        let dir = temp_dir(&format!("link-{link}"));
        let p = dir.join("l.pcap");
        write_pcap(&p, link, &[Frame { ts_us: T0, data }]);
        assert_eq!(
            analyze_events(&[&p], &[])[0]["dns"]["rrname"],
            "wrapped.example",
            "DLT {link}"
        );
    }
}

#[test]
fn hosts_are_named_by_netbios_mdns_and_llmnr() {
    // NetBIOS registration of LAB-PC-09<20> with its address.
    let mut nb = vec![0x12, 0x34, 0x29, 0x10, 0, 1, 0, 0, 0, 0, 0, 1];
    let encode = |name: &str, suffix: u8| {
        let mut raw = format!("{name:<15}").into_bytes();
        raw.push(suffix);
        let mut v = vec![32u8];
        for b in raw {
            v.push(b'A' + (b >> 4));
            v.push(b'A' + (b & 0x0f));
        }
        v.push(0);
        v
    };
    nb.extend_from_slice(&encode("LAB-PC-09", 0x20));
    nb.extend_from_slice(&[0, 0x20, 0, 1]);
    nb.extend_from_slice(&[
        0xc0, 12, 0, 0x20, 0, 1, 0, 0, 0x0e, 0x10, 0, 6, 0, 0, 10, 0, 0, 9,
    ]);
    // mDNS announcement: studio.local A 10.0.0.10 from 10.0.0.10.
    let mut mdns = vec![0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0];
    mdns.extend_from_slice(b"\x06studio\x05local\x00");
    mdns.extend_from_slice(&[0, 1, 0x80, 1, 0, 0, 0, 120, 0, 4, 10, 0, 0, 10]);
    // LLMNR answer from 10.0.0.11 for its own name.
    let mut llmnr = vec![0x55, 0x66, 0x80, 0, 0, 1, 0, 1, 0, 0, 0, 0];
    llmnr.extend_from_slice(b"\x07printer\x00");
    llmnr.extend_from_slice(&[0, 1, 0, 1]);
    llmnr.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, 11]);
    let frames = vec![
        udp(T0, ([10, 0, 0, 9], 137), ([10, 0, 0, 255], 137), &nb),
        udp(
            T0 + 1,
            ([10, 0, 0, 10], 5353),
            ([224, 0, 0, 251], 5353),
            &mdns,
        ),
        udp(
            T0 + 2,
            ([10, 0, 0, 11], 5355),
            ([10, 0, 0, 7], 50000),
            &llmnr,
        ),
    ];
    let dir = temp_dir("names");
    let p = dir.join("names.pcap");
    write_pcap(&p, 1, &frames);
    let out = wiretally(&["analyze", p.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("10.0.0.9 ") && text.contains("LAB-PC-09 (netbios)"),
        "{text}"
    );
    assert!(text.contains("studio.local (mdns)"), "{text}");
    assert!(text.contains("printer (llmnr)"), "{text}");
}
