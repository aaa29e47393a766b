//! Live capture: `wiretally run` on a veth inside network namespaces while real clients (udhcpc,
//! dig, curl) talk to real servers (dnsmasq, python's http.server), all built by tests/lab.sh.
//!
//! Needs root and the lab's packages (the README's test command installs them); otherwise the
//! test says why and returns without checking anything. All addresses are in 198.18.0.0/15 and
//! nothing is routed out of the namespaces.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn run_captures_real_clients_on_a_veth() {
    if let Some(why) = common::lab_missing(&["ip", "dnsmasq", "udhcpc", "dig", "curl", "python3"]) {
        eprintln!("SKIPPED run_captures_real_clients_on_a_veth: {why}");
        return;
    }
    let id = format!("t{}", std::process::id() % 100_000);
    let lab = common::Lab::up(&id);
    let vars = &lab.vars;
    let (ns, iface) = (&vars["LAB_SRV_NS"], &vars["LAB_SRV_IF"]);
    let interface = iface.clone();

    let events = std::env::temp_dir().join(format!("wiretally-live-{id}.ndjson"));
    let metrics = std::env::temp_dir().join(format!("wiretally-live-{id}.prom"));
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
        .args(["--home-net", "198.18.0.0/15", "--workers", "2", "--events"])
        .arg(&events)
        .args(["--sensor-name", "lab", "--metrics-file"])
        .arg(&metrics)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The sensor announces itself once libpcap has the interface open.
    let stderr = common::StderrLines::of(&mut sensor);
    stderr.wait_for("capturing on", Duration::from_secs(20));

    lab.run("clients");
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill")
        .args(["-TERM", &sensor.id().to_string()])
        .status();
    let status = sensor.wait().unwrap();
    let rest = stderr.rest();
    assert!(status.success(), "sensor exit {status:?}: {rest}");
    assert!(
        rest.contains("libpcap: received"),
        "stop prints libpcap's counts: {rest}"
    );
    drop(lab);

    // The metrics file of a live run has libpcap's counts for the interface, and the packets
    // the sensor read are no more than libpcap received.
    let prom = std::fs::read_to_string(&metrics).unwrap();
    let series = |name: &str| -> f64 {
        let prefix = format!("{name}{{interface=\"{interface}\",sensor=\"lab\"}} ");
        prom.lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()))
            .unwrap_or_else(|| panic!("no {prefix} in {prom}"))
            .parse()
            .unwrap()
    };
    let received = series("wiretally_capture_packets_total");
    assert!(received > 0.0);
    assert_eq!(series("wiretally_capture_kernel_drops_total"), 0.0);
    let read: f64 = prom
        .lines()
        .find_map(|l| l.strip_prefix("wiretally_packets_total{sensor=\"lab\"} "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        read > 0.0 && read <= received,
        "read {read}, received {received}"
    );

    let text = std::fs::read_to_string(&events).unwrap();
    let evs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |t: &str| {
        evs.iter()
            .filter(|e| e["event_type"] == t)
            .collect::<Vec<_>>()
    };

    let acks: Vec<_> = of("dhcp")
        .into_iter()
        .filter(|e| e["dhcp"]["dhcp_type"] == "ack")
        .collect();
    assert_eq!(acks.len(), 1, "{text}");
    let client_ip = acks[0]["dhcp"]["assigned_ip"].as_str().unwrap().to_string();
    let client_mac = acks[0]["dhcp"]["client_mac"].as_str().unwrap().to_string();
    let requests: Vec<_> = of("dhcp")
        .into_iter()
        .filter(|e| e["dhcp"]["type"] == "request")
        .collect();
    assert!(
        requests
            .iter()
            .all(|e| e["dhcp"]["hostname"] == "lab-pc-01"),
        "{text}"
    );
    assert!(
        requests
            .iter()
            .all(|e| e["dhcp"]["client_mac"] == client_mac.as_str())
    );

    let queries: Vec<(String, String)> = of("dns")
        .iter()
        .filter(|e| e["dns"]["type"] == "query")
        .map(|e| {
            (
                e["dns"]["rrname"].as_str().unwrap().into(),
                e["dns"]["rrtype"].as_str().unwrap().into(),
            )
        })
        .collect();
    for (name, t) in [
        ("kms.lab.test", "A"),
        ("_vlmcs._tcp.lab.test", "SRV"),
        ("www.lab.test", "A"),
    ] {
        assert!(
            queries.contains(&(name.into(), t.into())),
            "query {name} {t} missing: {queries:?}"
        );
    }
    let srv = of("dns")
        .into_iter()
        .find(|e| e["dns"]["rrtype"] == "SRV" && e["dns"]["type"] == "answer")
        .unwrap();
    assert_eq!(srv["dns"]["answers"][0]["srv"]["port"], 1688);
    assert_eq!(srv["dns"]["answers"][0]["srv"]["name"], "kms.lab.test");

    let http = of("http");
    assert_eq!(http.len(), 2, "{text}");
    assert_eq!(http[1]["http"]["hostname"], "www.msftconnecttest.com");
    assert_eq!(http[0]["src_ip"], client_ip.as_str());
    assert_eq!(http[0]["src_mac"], client_mac.as_str());
    assert_eq!(http[0]["http"]["hostname"], "update.lab.test");
    assert_eq!(http[0]["http"]["http_user_agent"], "wiretally-lab/1.0");
    assert_eq!(http[0]["http"]["status"], 200);
    assert!(
        http[0]["http"]["server"]
            .as_str()
            .unwrap()
            .starts_with("SimpleHTTP/")
    );
}
