//! Activation compliance end to end: the configuration file (policy and ledger, TOML and CSV),
//! FlexLM licence traffic, and the alerts they raise or must not raise, on the shared KMS captures
//! (tests/data/kms) and on licence-manager conversations built here.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use wiretally::wire::flexlm::{build, msg};

const PACKS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/signatures");

fn kms(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/kms")
        .join(name)
}

/// Writes a configuration file (and any extra files beside it) into a fresh folder.
fn config(name: &str, text: &str, extra: &[(&str, &str)]) -> PathBuf {
    let dir = temp_dir(&format!("alerts-{name}"));
    for (file, content) in extra {
        std::fs::write(dir.join(file), content).unwrap();
    }
    let path = dir.join("wiretally.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `analyze --json` over captures with a configuration; the document.
fn document(captures: &[&Path], config: Option<&Path>, home: &str) -> Value {
    let mut args = vec![
        "analyze",
        "--json",
        "--signatures",
        PACKS,
        "--home-net",
        home,
    ];
    let conf = config.map(|c| c.display().to_string());
    if let Some(c) = &conf {
        args.extend(["--config", c.as_str()]);
    }
    let names: Vec<String> = captures.iter().map(|p| p.display().to_string()).collect();
    args.extend(names.iter().map(String::as_str));
    let out = wiretally(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn alerts<'a>(doc: &'a Value, kind: &str) -> Vec<&'a Value> {
    doc["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == kind)
        .collect()
}

#[test]
fn kms_to_a_host_outside_the_policy_alerts_and_to_the_campus_host_does_not() {
    let capture = kms("kms_v6_win10_pro_2req_ndr32_ndr64_vlmcsd.pcap");
    let outside = config(
        "kms-outside",
        "[activation]\nauthorized_kms = [\"kms.campus.example\", \"10.0.0.5\"]\n",
        &[],
    );
    let doc = document(&[&capture], Some(&outside), "127.0.0.0/8");
    let found = alerts(&doc, "unauthorized_activation_server");
    assert_eq!(
        found.len(),
        1,
        "two calls on one connection are one alert: {doc}"
    );
    let a = found[0];
    assert_eq!(a["count"], 2);
    assert_eq!(a["severity"], "high");
    assert_eq!(a["product"], "microsoft.windows");
    assert_eq!(a["server"]["address"], "127.0.0.1");
    assert_eq!(a["server"]["port"], 1688);
    assert_eq!(
        a["host"]["names"],
        serde_json::json!(["TWO-REQ-PC.campus.example"])
    );
    assert!(
        a["evidence"]
            .as_str()
            .unwrap()
            .contains("Windows 10/11 Pro")
    );
    // The host's own list carries it too.
    assert_eq!(doc["hosts"][0]["alerts"].as_array().unwrap().len(), 1);

    let campus = config(
        "kms-campus",
        "[activation]\nauthorized_kms = [\"127.0.0.0/30\"]\n",
        &[],
    );
    let doc = document(&[&capture], Some(&campus), "127.0.0.0/8");
    assert!(doc["alerts"].as_array().unwrap().is_empty(), "{doc}");

    // No policy: only the shipped flag list applies, and 127.0.0.1 is not on it.
    let doc = document(&[&capture], None, "127.0.0.0/8");
    assert!(doc["alerts"].as_array().unwrap().is_empty(), "{doc}");
}

#[test]
fn an_srv_answer_naming_another_kms_host_alerts() {
    let capture = kms("dns_srv_vlmcs_query_dig.pcap");
    let other = config(
        "srv-other",
        "[activation]\nauthorized_kms = [\"kms.campus.example\"]\n",
        &[],
    );
    let doc = document(&[&capture], Some(&other), "127.0.0.0/8");
    let found = alerts(&doc, "unauthorized_activation_server");
    assert_eq!(found.len(), 1, "{doc}");
    assert_eq!(found[0]["server"]["name"], "kms1.campus.example");
    assert_eq!(found[0]["server"]["port"], 1688);
    let same = config(
        "srv-same",
        "[activation]\nauthorized_kms = [\"KMS1.campus.example\"]\n",
        &[],
    );
    let doc = document(&[&capture], Some(&same), "127.0.0.0/8");
    assert!(doc["alerts"].as_array().unwrap().is_empty(), "{doc}");
}

const PC: [u8; 4] = [10, 9, 0, 5];
const RESOLVER: [u8; 4] = [10, 9, 0, 1];
const LICENSE_SERVER: [u8; 4] = [203, 0, 113, 10];
const CAMPUS_SERVER: [u8; 4] = [10, 9, 0, 200];

#[test]
fn a_lookup_of_a_public_kms_host_alerts_without_any_policy() {
    let frames = [
        udp(
            0,
            (PC, 53000),
            (RESOLVER, 53),
            &dns_query(7, "kms8.msguides.com", 1),
        ),
        udp(
            10,
            (PC, 53001),
            (RESOLVER, 53),
            &dns_query(8, "kms8.msguides.com", 1),
        ),
        udp(
            20,
            (PC, 53002),
            (RESOLVER, 53),
            &dns_query(9, "www.msguides.com", 1),
        ),
    ];
    let (events, _) = run_capture(&frames, &["--signatures", PACKS]);
    let raised = of_type(&events, "alert");
    assert_eq!(raised.len(), 1, "a repeat is counted, not raised again");
    let a = &raised[0]["alert"];
    assert_eq!(a["kind"], "unauthorized_activation_server");
    assert_eq!(a["server"]["name"], "kms8.msguides.com");
    assert!(
        a["reason"]
            .as_str()
            .unwrap()
            .contains("github.com/fxhxyz4/kms")
    );
}

/// A client's licence checkout: lmgrd on `server:27000` redirects it to the MLM vendor daemon on
/// 27011, and it connects there.
fn checkout(server: [u8; 4]) -> Vec<Frame> {
    let (c1, s1) = ((PC, 50100), (server, 27000));
    let (c2, s2) = ((PC, 50101), (server, 27011));
    let hello = build::hello("student", "LAB-PC-07", "MLM", "x64_w6");
    let hello_response = build::hello_response("licsrv", "lmgrd");
    let redirect = build::redirect("licsrv.example.edu.cn", 27011);
    let request = build::frame(msg::FEATURES_REQUEST, b"\x01\x04MATLAB");
    let s_seq = 9001 + hello_response.len() as u32;
    let mut frames = vec![
        tcp(0, c1, s1, 1000, 0, "S", &[]),
        tcp(10, s1, c1, 9000, 1001, "SA", &[]),
        tcp(20, c1, s1, 1001, 9001, "PA", &hello),
        tcp(
            30,
            s1,
            c1,
            9001,
            1001 + hello.len() as u32,
            "PA",
            &hello_response,
        ),
    ];
    frames.push(tcp(
        40,
        s1,
        c1,
        s_seq,
        1001 + hello.len() as u32,
        "PA",
        &redirect,
    ));
    frames.extend([
        tcp(1_000, c2, s2, 5000, 0, "S", &[]),
        tcp(1_010, s2, c2, 7000, 5001, "SA", &[]),
        tcp(1_020, c2, s2, 5001, 7001, "PA", &request),
    ]);
    frames
}

#[test]
fn a_flexlm_checkout_is_licence_evidence_and_followed_to_the_vendor_daemon() {
    let (events, _) = run_capture(&checkout(CAMPUS_SERVER), &["--signatures", PACKS]);
    let messages: Vec<(&str, &str)> = of_type(&events, "license")
        .iter()
        .map(|e| {
            (
                e["license"]["message"].as_str().unwrap(),
                e["license"]["vendor_daemon"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        messages,
        [
            ("hello", "MLM"),
            ("hello-response", "MLM"),
            ("redirect", "MLM"),
            ("vendor-daemon", "MLM"),
            ("request", "MLM"),
        ]
    );
    // Whichever side sent it, each message names the licence server and its port.
    let servers: Vec<String> = of_type(&events, "license")
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["license"]["server"].as_str().unwrap(),
                e["license"]["server_port"]
            )
        })
        .collect();
    assert_eq!(
        servers,
        [
            "10.9.0.200:27000",
            "10.9.0.200:27000",
            "10.9.0.200:27000",
            "10.9.0.200:27011",
            "10.9.0.200:27011"
        ]
    );
    // The vendor daemon names the product.
    let products: Vec<&str> = of_type(&events, "license")
        .iter()
        .map(|e| e["license"]["product"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(
        products,
        [
            "mathworks.matlab",
            "mathworks.matlab",
            "mathworks.matlab",
            "mathworks.matlab",
            "mathworks.matlab"
        ]
    );
    let software = of_type(&events, "software");
    assert!(
        software
            .iter()
            .any(|s| s["software"]["product"] == "mathworks.matlab"
                && s["software"]["kind"] == "license-check"),
        "{software:?}"
    );
    // A campus licence server with no policy configured raises nothing.
    assert!(of_type(&events, "alert").is_empty());
}

#[test]
fn a_licence_server_outside_the_campus_alerts_unless_authorized() {
    let (events, _) = run_capture(&checkout(LICENSE_SERVER), &["--signatures", PACKS]);
    let raised = of_type(&events, "alert");
    let servers: Vec<(u64, &str)> = raised
        .iter()
        .map(|a| {
            (
                a["alert"]["server"]["port"].as_u64().unwrap(),
                a["alert"]["severity"].as_str().unwrap(),
            )
        })
        .collect();
    // One server, one alert, whatever port (lmgrd on 27000, the vendor daemon on 27011).
    assert_eq!(servers, [(27000, "high")], "{raised:?}");
    assert_eq!(raised[0]["alert"]["kind"], "unauthorized_license_server");
    assert_eq!(raised[0]["alert"]["product"], "mathworks.matlab");
    let dir = temp_dir("lic-outside");
    let pcap = dir.join("checkout.pcap");
    write_pcap(&pcap, 1, &checkout(LICENSE_SERVER));
    let doc = document(&[&pcap], None, "10.0.0.0/8");
    let kept = alerts(&doc, "unauthorized_license_server");
    assert_eq!(kept.len(), 1);
    assert_eq!(
        kept[0]["count"], 5,
        "hello, hello response and redirect on 27000; vendor connection and request on 27011"
    );

    let allowed = config(
        "lic-allowed",
        "[activation]\nauthorized_license_servers = [\"203.0.113.10\"]\n",
        &[],
    );
    let conf = allowed.display().to_string();
    let (events, _) = run_capture(
        &checkout(LICENSE_SERVER),
        &["--signatures", PACKS, "--config", &conf],
    );
    assert!(of_type(&events, "alert").is_empty());

    // With a list, a campus server not on it is an alert too, of medium severity.
    let other = config(
        "lic-other",
        "[activation]\nauthorized_license_servers = [\"lic.example.edu.cn:27000\"]\n",
        &[],
    );
    let conf = other.display().to_string();
    let (events, _) = run_capture(
        &checkout(CAMPUS_SERVER),
        &["--signatures", PACKS, "--config", &conf],
    );
    let raised = of_type(&events, "alert");
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0]["alert"]["severity"], "medium");
}

/// A TCP connection from PC to `server:port`; answered (SYN-ACK and a reply) or not.
fn bare_connection(server: [u8; 4], port: u16, answered: bool, t0: i64) -> Vec<Frame> {
    let (c, s) = ((PC, 40000 + port % 1000), (server, port));
    let mut frames = vec![tcp(t0, c, s, 100, 0, "S", &[])];
    if answered {
        frames.extend([
            tcp(t0 + 10, s, c, 700, 101, "SA", &[]),
            tcp(t0 + 20, c, s, 101, 701, "PA", b"\x00\x01opaque"),
            tcp(t0 + 30, s, c, 701, 109, "PA", b"\x00\x02opaque"),
        ]);
    }
    frames
}

#[test]
fn an_answered_connection_to_a_licence_port_counts_and_unanswered_syns_do_not() {
    // FlexNet clients try 27000-27009 in turn: ten SYNs nobody answers are no licence server.
    let mut frames: Vec<Frame> = (27000..27010)
        .map(|port| bare_connection(LICENSE_SERVER, port, false, i64::from(port)))
        .flat_map(|f| f.into_iter())
        .collect();
    // Then Ansys's port answers with something no parser knows.
    frames.extend(bare_connection(LICENSE_SERVER, 1055, true, 100_000));
    let (events, _) = run_capture(&frames, &["--signatures", PACKS]);
    let licence: Vec<(&str, u64, &str)> = of_type(&events, "license")
        .iter()
        .map(|e| {
            (
                e["license"]["message"].as_str().unwrap(),
                e["dest_port"].as_u64().unwrap(),
                e["license"]["product"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(licence, [("connection", 1055, "ansys.suite")], "{events:?}");
    let raised = of_type(&events, "alert");
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0]["alert"]["product"], "ansys.suite");
}

#[test]
fn the_ledger_from_toml_and_csv_raises_unlicensed_and_overuse_alerts() {
    let captures = [
        kms("kms_v6_win10_pro_vlmcsd.pcap"),
        kms("kms_v6_office2019_proplus_vlmcsd.pcap"),
    ];
    let refs: Vec<&Path> = captures.iter().map(PathBuf::as_path).collect();
    // Office is in the TOML ledger, Windows nowhere: Windows is unlicensed.
    let toml_only = config(
        "ledger-toml",
        "[[licenses]]\nproduct = \"microsoft.office\"\nseats = 500\nnote = \"campus agreement\"\n",
        &[],
    );
    let doc = document(&refs, Some(&toml_only), "127.0.0.0/8");
    let unlicensed = alerts(&doc, "unlicensed_product");
    assert_eq!(unlicensed.len(), 1, "{doc}");
    assert_eq!(unlicensed[0]["product"], "microsoft.windows");
    assert!(alerts(&doc, "license_overuse").is_empty());

    // Windows from the CSV with no seats left: the one host using it overuses it.
    let with_csv = config(
        "ledger-csv",
        "licenses_csv = \"ledger.csv\"\nlicense_overuse_period = \"180days\"\n\n[[licenses]]\nproduct = \"microsoft.office\"\nseats = 500\n",
        &[(
            "ledger.csv",
            "product,seats,note\nmicrosoft.windows,0,\"retired, see 2027 plan\"\n",
        )],
    );
    let doc = document(&refs, Some(&with_csv), "127.0.0.0/8");
    assert!(alerts(&doc, "unlicensed_product").is_empty(), "{doc}");
    let overuse = alerts(&doc, "license_overuse");
    assert_eq!(overuse.len(), 1, "{doc}");
    assert_eq!(overuse[0]["product"], "microsoft.windows");
    assert!(overuse[0]["evidence"].as_str().unwrap().contains("1 hosts"));
    assert!(overuse[0]["host"]["ip"].is_null());

    // No ledger configured: no ledger alerts at all.
    let doc = document(&refs, None, "127.0.0.0/8");
    assert!(doc["alerts"].as_array().unwrap().is_empty());
}

#[test]
fn configuration_errors_name_file_and_line_and_stop_the_run() {
    let bad = config(
        "bad",
        "licenses_csv = \"ledger.csv\"\n\n[activation]\nauthorized_kms = [\"kms host\"]\n\n[[licenses]]\nproduct = \"no.such-product\"\nseats = 3\n",
        &[("ledger.csv", "product,seats,note\nmicrosoft.office,many,\n")],
    );
    let capture = kms("kms_v6_win10_pro_vlmcsd.pcap");
    let out = wiretally(&[
        "analyze",
        "--signatures",
        PACKS,
        "--config",
        bad.to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let toml = bad.display().to_string();
    let csv = bad.with_file_name("ledger.csv").display().to_string();
    assert!(
        stderr.contains(&format!("{toml}:4: activation.authorized_kms")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{toml}:7: licence for \"no.such-product\"")),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("{csv}:2: row")), "{stderr}");
    let missing = config(
        "missing-csv",
        "# the ledger\nlicenses_csv = \"nope.csv\"\n",
        &[],
    );
    let out = wiretally(&[
        "analyze",
        "--config",
        missing.to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains(":2: licenses_csv"));
}

#[test]
fn the_example_configuration_loads_and_judges_the_quick_start_capture() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/wiretally.toml");
    let lab = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/lab.pcap");
    let doc = document(&[&lab], Some(&example), "198.18.0.0/15");
    let found: Vec<(&str, &str)> = doc["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["kind"].as_str().unwrap(),
                a["product"]
                    .as_str()
                    .or(a["server"]["name"].as_str())
                    .unwrap(),
            )
        })
        .collect();
    // The lab's DNS publishes kms.lab.test as KMS host, which the example does not list; Creative
    // Cloud is a subscription the example ledger lacks. Windows and Office are in the ledger.
    assert_eq!(
        found,
        [
            ("unauthorized_activation_server", "kms.lab.test"),
            ("unlicensed_product", "adobe.creative-cloud"),
        ]
    );
}

const DAY_US: i64 = 86_400 * 1_000_000;

/// A MAC for lab PC number `n`.
fn mac(n: u8) -> [u8; 6] {
    [0x02, 0x10, 0, 0, 0, n]
}

#[test]
fn kms_alerts_name_the_client_not_the_server() {
    // 10.9.0.5 activates against 10.9.0.77 (not the campus host) and against 54.223.212.31, a
    // public KMS host on the shipped flag list.
    let mut frames = common::kms::activation((PC, 50200), ([10, 9, 0, 77], 1688), 0, mac(5));
    frames.extend(common::kms::activation(
        (PC, 50201),
        ([54, 223, 212, 31], 1688),
        1_000_000,
        mac(5),
    ));
    let dir = temp_dir("kms-direction");
    let pcap = dir.join("kms.pcap");
    write_pcap(&pcap, 1, &frames);
    // No policy: only the flagged host raises an alert.
    let doc = document(&[&pcap], None, "10.0.0.0/8");
    let found = alerts(&doc, "unauthorized_activation_server");
    assert_eq!(found.len(), 1, "{doc}");
    assert_eq!(found[0]["host"]["ip"], "10.9.0.5");
    assert_eq!(found[0]["server"]["address"], "54.223.212.31");
    assert!(
        found[0]["reason"]
            .as_str()
            .unwrap()
            .contains("github.com/fxhxyz4/kms")
    );
    // A policy naming only the campus host: both are alerts, each about the client.
    let campus = config(
        "kms-direction",
        "[activation]\nauthorized_kms = [\"10.9.0.200\"]\n",
        &[],
    );
    let doc = document(&[&pcap], Some(&campus), "10.0.0.0/8");
    let found = alerts(&doc, "unauthorized_activation_server");
    let servers: Vec<(&str, &str)> = found
        .iter()
        .map(|a| {
            (
                a["host"]["ip"].as_str().unwrap(),
                a["server"]["address"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        servers,
        [("10.9.0.5", "10.9.0.77"), ("10.9.0.5", "54.223.212.31")]
    );
    // The server is no host of any alert, and gets no product from the client's request.
    let server = doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["ip"] == "10.9.0.77")
        .unwrap();
    assert!(server["alerts"].as_array().unwrap().is_empty());
    assert!(server["products"].as_array().unwrap().is_empty());
}

#[test]
fn an_authorized_name_keeps_authorizing_its_address_after_the_answer_expires() {
    // The client looks kms.campus.example up (TTL 60 s), activates, and renews two hours later.
    let kms_host = [10, 9, 0, 200];
    let mut frames = vec![
        udp(
            0,
            (PC, 53000),
            (RESOLVER, 53),
            &dns_query(1, "kms.campus.example", 1),
        ),
        udp(
            10,
            (RESOLVER, 53),
            (PC, 53000),
            &dns_answer_a(1, "kms.campus.example", kms_host, 60),
        ),
    ];
    frames.extend(common::kms::activation(
        (PC, 50300),
        (kms_host, 1688),
        1_000,
        mac(5),
    ));
    frames.extend(common::kms::activation(
        (PC, 50301),
        (kms_host, 1688),
        2 * 3600 * 1_000_000,
        mac(5),
    ));
    let dir = temp_dir("kms-by-name");
    let pcap = dir.join("kms.pcap");
    write_pcap(&pcap, 1, &frames);
    let campus = config(
        "kms-by-name",
        "[activation]\nauthorized_kms = [\"kms.campus.example\"]\n",
        &[],
    );
    let doc = document(&[&pcap], Some(&campus), "10.0.0.0/8");
    assert!(doc["alerts"].as_array().unwrap().is_empty(), "{doc}");
}

#[test]
fn overuse_counts_machines_within_the_period() {
    // Three PCs (three MACs) activate Windows: on day 0, day 40 and day 41. One seat, a 30-day
    // period: on day 40 only one machine used it within the period; on day 41, two did.
    let server = ([10, 9, 0, 200], 1688);
    let mut frames = Vec::new();
    for (n, day) in [(5u8, 0i64), (6, 40), (7, 41)] {
        frames.extend(common::kms::activation(
            ([10, 9, 0, n], 50400),
            server,
            day * DAY_US,
            mac(n),
        ));
    }
    let dir = temp_dir("overuse");
    let pcap = dir.join("kms.pcap");
    write_pcap(&pcap, 1, &frames);
    let ledger = config(
        "overuse",
        "license_overuse_period = \"30days\"\n[[licenses]]\nproduct = \"microsoft.windows\"\nseats = 1\n",
        &[],
    );
    let doc = document(&[&pcap], Some(&ledger), "10.0.0.0/8");
    let overuse = alerts(&doc, "license_overuse");
    assert_eq!(overuse.len(), 1, "{doc}");
    assert!(
        overuse[0]["evidence"]
            .as_str()
            .unwrap()
            .starts_with("2 hosts used microsoft.windows within 30 days"),
        "{}",
        overuse[0]
    );
    assert_eq!(
        overuse[0]["first_seen"].as_str().unwrap()[..10],
        *"1970-02-11"
    );
    // Two seats: no overuse.
    let two = config(
        "overuse-two",
        "license_overuse_period = \"30days\"\n[[licenses]]\nproduct = \"microsoft.windows\"\nseats = 2\n",
        &[],
    );
    let doc = document(&[&pcap], Some(&two), "10.0.0.0/8");
    assert!(alerts(&doc, "license_overuse").is_empty(), "{doc}");
}

#[test]
fn an_srv_answer_is_judged_by_name_only() {
    // An address-only list cannot judge the name an SRV answer gives: no alert (the KMS request
    // that follows is judged by address).
    let capture = kms("dns_srv_vlmcs_query_dig.pcap");
    let addresses = config(
        "srv-addresses",
        "[activation]\nauthorized_kms = [\"10.9.0.200\"]\n",
        &[],
    );
    let doc = document(&[&capture], Some(&addresses), "127.0.0.0/8");
    assert!(doc["alerts"].as_array().unwrap().is_empty(), "{doc}");
}

#[test]
fn an_address_learnt_for_an_authorized_name_survives_a_restart_while_the_name_stays_listed() {
    // Monday the client looks kms.campus.example up; Wednesday, after a restart of the sensor,
    // it renews its activation at the address it was given.
    let kms_host = [10, 9, 0, 201];
    let dir = temp_dir("kms-restart");
    let lookup = dir.join("monday.pcap");
    write_pcap(
        &lookup,
        1,
        &[
            udp(
                0,
                (PC, 53001),
                (RESOLVER, 53),
                &dns_query(2, "kms.campus.example", 1),
            ),
            udp(
                10,
                (RESOLVER, 53),
                (PC, 53001),
                &dns_answer_a(2, "kms.campus.example", kms_host, 60),
            ),
        ],
    );
    let renewal = dir.join("wednesday.pcap");
    write_pcap(
        &renewal,
        1,
        &common::kms::activation(
            (PC, 50302),
            (kms_host, 1688),
            2 * 86_400 * 1_000_000,
            mac(6),
        ),
    );
    let run = |capture: &Path, state: &Path, authorized: &str| -> Value {
        let conf = config(
            &format!("kms-restart-{authorized}"),
            &format!("[activation]\nauthorized_kms = [\"{authorized}\"]\n"),
            &[],
        );
        let out = wiretally(&[
            "analyze",
            "--json",
            "--signatures",
            PACKS,
            "--home-net",
            "10.0.0.0/8",
            "--config",
            conf.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            capture.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let kms_alerts = |doc: &Value| alerts(doc, "unauthorized_activation_server").len();

    // Without what Monday's run learnt, Wednesday's renewal looks unauthorized.
    assert_eq!(
        kms_alerts(&run(&renewal, &dir.join("fresh"), "kms.campus.example")),
        1
    );
    // With Monday's state restored, the address is still the campus host's.
    let kept = dir.join("kept");
    run(&lookup, &kept, "kms.campus.example");
    assert_eq!(kms_alerts(&run(&renewal, &kept, "kms.campus.example")), 0);
    // Once the name is off the list, its learnt address no longer authorizes anything.
    let dropped = dir.join("dropped");
    run(&lookup, &dropped, "kms.campus.example");
    assert_eq!(
        kms_alerts(&run(&renewal, &dropped, "kms2.campus.example")),
        1
    );
}
