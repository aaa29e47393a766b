//! Live TLS and QUIC: `wiretally run` on the lab's veth while curl (OpenSSL), Python's ssl module
//! and headless Chromium (over TCP, then forced onto QUIC) connect to an HTTPS server in the other
//! namespace (tests/lab.sh). tcpdump records the same traffic; SNI, ALPN and JA3 must equal what
//! tshark reads from that recording, and JA4 what FoxIO's reference implementation (ja4plus 1.4.0
//! from PyPI, installed by scripts/deps.sh) computes. Chromium's QUIC ClientHello spans two
//! Initial packets in two datagrams, which wiretally must put back together.
//!
//! Needs root, the lab's packages, chromium, tshark and tcpdump; otherwise it says what is
//! missing and is skipped. All addresses are in 198.18.0.0/15 inside namespaces the test made.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn ja4plus() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ja4plus-venv/bin/ja4plus");
    p.exists().then_some(p)
}

fn missing_prerequisite() -> Option<String> {
    let tools = [
        "ip", "dnsmasq", "udhcpc", "dig", "curl", "python3", "openssl", "chromium", "tshark",
        "tcpdump",
    ];
    common::lab_missing(&tools).or_else(|| {
        ja4plus()
            .is_none()
            .then(|| "target/ja4plus-venv is missing (scripts/deps.sh test makes it)".into())
    })
}

/// tshark's ClientHello fields (sni, alpn, ja3) by client port.
type Hellos = BTreeMap<u16, (String, String, String)>;

/// Per ClientHello, tshark's fields: (sni, alpn, ja3) keyed by client port.
fn tshark_hellos(pcap: &Path) -> Hellos {
    let out = Command::new("tshark")
        .args([
            "-r",
            pcap.to_str().unwrap(),
            "-Y",
            "tcp && tls.handshake.type == 1",
            "-T",
            "fields",
        ])
        .args([
            "-e",
            "tcp.srcport",
            "-e",
            "tls.handshake.extensions_server_name",
            "-e",
            "tls.handshake.extensions_alpn_str",
            "-e",
            "tls.handshake.ja3",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].parse().unwrap(),
                (f[1].to_string(), f[2].to_string(), f[3].to_string()),
            )
        })
        .collect()
}

/// tshark's QUIC ClientHello fields: (sni, alpn, ja3) keyed by client port, and the times of
/// each port's client Initial datagrams.
fn tshark_quic(pcap: &Path) -> (Hellos, BTreeMap<u16, Vec<f64>>) {
    // Decode UDP 443 as QUIC whatever the client's port: tshark would otherwise dissect a
    // datagram from an ephemeral port that is some protocol's registered port (34980 is
    // EtherCAT's) as that protocol, and miss the hello.
    let hellos = Command::new("tshark")
        .args([
            "-r",
            pcap.to_str().unwrap(),
            "-d",
            "udp.port==443,quic",
            "-Y",
            "quic && tls.handshake.type == 1",
            "-T",
            "fields",
        ])
        .args([
            "-e",
            "udp.srcport",
            "-e",
            "tls.handshake.extensions_server_name",
            "-e",
            "tls.handshake.extensions_alpn_str",
            "-e",
            "tls.handshake.ja3",
        ])
        .output()
        .unwrap();
    let hellos = String::from_utf8_lossy(&hellos.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].parse().unwrap(),
                (f[1].to_string(), f[2].to_string(), f[3].to_string()),
            )
        })
        .collect();
    let initials = Command::new("tshark")
        .args([
            "-r",
            pcap.to_str().unwrap(),
            "-d",
            "udp.port==443,quic",
            "-Y",
            "udp.dstport == 443 && quic.long.packet_type == 0",
            "-T",
            "fields",
        ])
        .args(["-e", "udp.srcport", "-e", "frame.time_epoch"])
        .output()
        .unwrap();
    let mut times: BTreeMap<u16, Vec<f64>> = BTreeMap::new();
    for l in String::from_utf8_lossy(&initials.stdout).lines() {
        if let Some((port, t)) = l.split_once('\t') {
            times
                .entry(port.parse().unwrap())
                .or_default()
                .push(t.parse().unwrap());
        }
    }
    (hellos, times)
}

/// ja4plus's JA4 per (client port, transport letter).
fn reference_ja4(pcap: &Path) -> BTreeMap<(u16, char), String> {
    let out = Command::new(ja4plus().unwrap())
        .args([
            "--format",
            "json",
            "--types",
            "ja4",
            "analyze",
            pcap.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ja4plus: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| {
            let fp = v["fingerprint"].as_str().unwrap().to_string();
            (
                (
                    v["src_port"].as_u64().unwrap() as u16,
                    fp.chars().next().unwrap(),
                ),
                fp,
            )
        })
        .collect()
}

#[test]
fn live_tls_and_quic_hellos_match_the_reference_tools() {
    if let Some(why) = missing_prerequisite() {
        eprintln!("SKIPPED live_tls_and_quic_hellos_match_the_reference_tools: {why}");
        return;
    }
    let id = format!("s{}", std::process::id() % 100_000);
    let mut lab = common::Lab::up(&id);
    let vars = lab.vars.clone();
    let (ns, iface) = (&vars["LAB_SRV_NS"], &vars["LAB_SRV_IF"]);
    let dir = std::env::temp_dir().join(format!("wiretally-live-tls-{id}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (events, pcap) = (dir.join("events.ndjson"), dir.join("lab.pcap"));

    let mut recorder = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "tcpdump",
            "-i",
            iface,
            "-U",
            "--immediate-mode",
            "-Z",
            "root",
            "-w",
        ])
        .arg(&pcap)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let recorder_lines = common::StderrLines::of(&mut recorder);
    recorder_lines.wait_for("listening on", Duration::from_secs(20));
    let mut sensor = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            env!("CARGO_BIN_EXE_wiretally"),
            "run",
            "--interface",
            iface,
        ])
        .args(["--home-net", "198.18.0.0/15", "--events"])
        .arg(&events)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let sensor_lines = common::StderrLines::of(&mut sensor);
    sensor_lines.wait_for("capturing on", Duration::from_secs(20));
    let sensor_pid = sensor.id();
    lab.children.push(recorder);

    for step in ["clients", "tls-clients"] {
        lab.run(step);
    }
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-TERM", &sensor_pid.to_string()])
        .status();
    assert!(sensor.wait().unwrap().success());
    let rest = sensor_lines.rest();
    let recorder_pid = lab.children[0].id();
    let _ = Command::new("kill")
        .args(["-INT", &recorder_pid.to_string()])
        .status();
    let _ = lab.children[0].wait();
    drop(lab);

    let evs: Vec<serde_json::Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let tls: Vec<_> = evs.iter().filter(|e| e["event_type"] == "tls").collect();
    let quic: Vec<_> = evs.iter().filter(|e| e["event_type"] == "quic").collect();

    // Every TCP ClientHello tshark sees, wiretally reports with the same SNI, ALPN and JA3.
    let hellos = tshark_hellos(&pcap);
    assert!(
        hellos.len() >= 4,
        "curl, python and chromium hellos: {hellos:?}"
    );
    let snis: Vec<&str> = hellos.values().map(|h| h.0.as_str()).collect();
    for name in ["curl.lab.test", "python.lab.test", "chrome.lab.test"] {
        assert!(snis.contains(&name), "{name} missing from {snis:?}");
    }
    let reference = reference_ja4(&pcap);
    for (port, (sni, alpn, ja3)) in &hellos {
        let ev = tls
            .iter()
            .find(|e| e["src_port"] == *port)
            .unwrap_or_else(|| panic!("no tls event for port {port}"));
        let t = &ev["tls"];
        assert_eq!(t["sni"], sni.as_str());
        let ours: Vec<&str> = t["alpn"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(ours.join(","), *alpn, "ALPN of {sni}");
        assert_eq!(t["ja3"]["hash"], ja3.as_str(), "JA3 of {sni}");
        assert_eq!(t["ja4"], reference[&(*port, 't')].as_str(), "JA4 of {sni}");
        assert_eq!(t["version"], "TLS 1.3", "the server's choice");
    }

    // Chromium's QUIC hello: read whole across two datagrams, with tshark's SNI, ALPN and JA3
    // and ja4plus's JA4.
    assert!(!quic.is_empty(), "no quic event; stderr: {rest}");
    let (quic_hellos, initials) = tshark_quic(&pcap);
    for q in &quic {
        let port = q["src_port"].as_u64().unwrap() as u16;
        assert_eq!(q["quic"]["sni"], "quic.lab.test");
        assert_eq!(q["quic"]["version"], "1");
        let (sni, alpn, ja3) = &quic_hellos[&port];
        assert_eq!(q["quic"]["sni"], sni.as_str());
        let ours: Vec<&str> = q["quic"]["alpn"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(ours.join(","), *alpn);
        assert_eq!(q["quic"]["ja3"]["hash"], ja3.as_str());
        assert_eq!(q["quic"]["ja4"], reference[&(port, 'q')].as_str());
        // The event came with a later datagram than the connection's first Initial: the hello
        // did not fit in one.
        let sent = &initials[&port];
        let at = humantime::parse_rfc3339(q["timestamp"].as_str().unwrap()).unwrap();
        let at = at
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        assert!(
            sent.len() >= 2 && at > sent[0] + 1e-7,
            "hello in one datagram? {sent:?} event at {at}"
        );
    }
}
