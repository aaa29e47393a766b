//! KMS activation: the 36 real captures of tests/data/kms (vlmcsd, vlmcs and py-kms on loopback;
//! provenance in tests/data/README.md) decode to the values their makers recorded in
//! expected.json, call by call; each activation becomes evidence for its product; and hostile
//! RPC conversations built here neither crash the sensor nor produce events.

mod common;

use common::kms::{ndr64_stubs, pdu};
use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/kms")
        .join(name)
}

fn expected() -> Vec<Value> {
    let text = std::fs::read_to_string(data("expected.json")).unwrap();
    serde_json::from_str::<Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn packs() -> &'static str {
    concat!(env!("CARGO_MANIFEST_DIR"), "/signatures")
}

/// A FILETIME as the RFC 3339 text events use, computed here independently of the sensor.
fn filetime_text(filetime: u64) -> String {
    let micros = (filetime / 10) as i64 - 11_644_473_600 * 1_000_000;
    let out = std::process::Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("@{}", micros / 1_000_000),
            "+%Y-%m-%dT%H:%M:%S",
        ])
        .output()
        .unwrap();
    format!(
        "{}.{:06}Z",
        String::from_utf8(out.stdout).unwrap().trim(),
        micros % 1_000_000
    )
}

#[test]
fn every_shared_capture_decodes_to_its_expected_values() {
    let cases = expected();
    assert_eq!(cases.len(), 36);
    let mut calls_checked = 0;
    for case in &cases {
        let pcap = case["pcap"].as_str().unwrap();
        let bytes = std::fs::read(data(pcap)).unwrap();
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            digest,
            case["sha256"].as_str().unwrap(),
            "{pcap} was altered"
        );
        let events = analyze_events(&[&data(pcap)], &["--signatures", packs()]);
        let kms = of_type(&events, "kms");
        let calls = case["calls"].as_array().unwrap();
        assert_eq!(kms.len(), calls.len(), "{pcap}: calls");
        for (event, want) in kms.iter().zip(calls) {
            let k = &event["kms"];
            let r = &k["response"];
            let same = |got: &Value, key: &str| {
                assert_eq!(got, &want[key], "{pcap}: {key}");
            };
            same(&k["ndr"], "ndr");
            same(&k["protocol"], "kms_protocol");
            same(&k["application_id"], "app_id");
            same(&k["application"], "app_name");
            same(&k["sku_id"], "sku_id");
            same(&k["edition"], "sku_name");
            same(&k["kms_counted_id"], "kms_counted_id");
            same(&k["kms_group"], "kms_name");
            same(&k["machine_name"], "machine_name");
            same(&k["client_machine_id"], "cmid");
            same(&k["license_status"], "license_status");
            same(&k["grace_minutes"], "grace_minutes");
            same(&k["required_client_count"], "required_client_count");
            same(&k["request_filetime"], "request_filetime");
            same(&k["request_len"], "kms_request_len");
            assert_eq!(k["vm"], want["is_client_vm"] == 1, "{pcap}: vm");
            let previous = match want["previous_cmid"].as_str().unwrap() {
                "00000000-0000-0000-0000-000000000000" => Value::Null,
                other => Value::from(other),
            };
            assert_eq!(k["previous_client_machine_id"], previous, "{pcap}");
            assert_eq!(
                k["request_time"],
                filetime_text(want["request_filetime"].as_u64().unwrap()),
                "{pcap}: request time"
            );
            // The response.
            let hresult = u32::from_str_radix(
                want["hresult"].as_str().unwrap().trim_start_matches("0x"),
                16,
            )
            .unwrap();
            assert_eq!(r["hresult"], format!("0x{hresult:08x}"), "{pcap}");
            same(&r["epid"], "epid");
            same(&r["hwid"], "hwid");
            same(&r["current_count"], "current_count");
            same(&r["activation_interval"], "vl_activation_interval");
            same(&r["renewal_interval"], "vl_renewal_interval");
            same(&r["response_len"], "kms_response_len");
            calls_checked += 1;
        }
    }
    assert_eq!(
        calls_checked, 36,
        "35 captures with one call, one with two, two DNS only"
    );
}

#[test]
fn the_epid_says_what_the_host_is() {
    let events = analyze_events(
        &[&data("kms_v6_win10_pro_vlmcs_to_pykms.pcap")],
        &["--signatures", packs()],
    );
    let info = &of_type(&events, "kms")[0]["kms"]["response"]["epid_info"];
    // py-kms was started with ePID 06401-00206-271-999999-03-1033-17763.0000-0012026.
    assert_eq!(info["platform_id"], 6401);
    assert_eq!(info["group_id"], 206);
    assert_eq!(info["lcid"], 1033);
    assert_eq!(info["host_build"], 17763);
    assert_eq!(info["host_os"], "Windows 10 1809 / Server 2019");
    assert_eq!(info["activation_date"], "2026-01-01");
}

#[test]
fn a_refused_activation_names_the_refusal() {
    let events = analyze_events(
        &[&data("kms_err_refused_unknown_kmsid_vlmcsd.pcap")],
        &["--signatures", packs()],
    );
    let r = &of_type(&events, "kms")[0]["kms"]["response"];
    assert_eq!(r["hresult"], "0xc004f042");
    assert!(
        r["result"]
            .as_str()
            .unwrap()
            .contains("KEY_MANAGEMENT_SERVICE_ID_MISMATCH")
    );
    assert!(r.get("epid").is_none());
}

fn inventory(pcap: &str) -> Value {
    let path = data(pcap);
    let out = wiretally(&[
        "analyze",
        "--json",
        "--signatures",
        packs(),
        "--home-net",
        "127.0.0.0/8",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

fn products(doc: &Value) -> Vec<(String, Vec<String>, Vec<String>)> {
    doc["hosts"][0]["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let list = |key: &str, field: &str| {
                p[key]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| {
                        v[field]
                            .as_str()
                            .unwrap_or_else(|| v.as_str().unwrap())
                            .to_string()
                    })
                    .collect()
            };
            (
                p["id"].as_str().unwrap().to_string(),
                list("versions", ""),
                list("evidence", "rule"),
            )
        })
        .collect()
}

#[test]
fn each_activation_is_evidence_for_its_product() {
    for (pcap, product, edition, machine) in [
        (
            "kms_v6_win11_se_vlmcsd.pcap",
            "microsoft.windows",
            "Windows 11 SE",
            "WIN11-SE-KIOSK",
        ),
        (
            "kms_v6_winserver2022_dc_vlmcsd.pcap",
            "microsoft.windows-server",
            "Windows Server 2022 Datacenter",
            "SRV-DC-01.campus.example",
        ),
        (
            "kms_v6_office2024_ltsc_proplus_vlmcsd.pcap",
            "microsoft.office",
            "Office LTSC Professional Plus 2024",
            "OFFICE24-PC.campus.example",
        ),
        (
            "pykms_v4_office2010_pykms.pcap",
            "microsoft.office",
            "Office Professional Plus 2010",
            "PYKMS-O14",
        ),
    ] {
        let doc = inventory(pcap);
        let found = products(&doc);
        let (_, versions, rules) = found
            .iter()
            .find(|(id, ..)| id == product)
            .unwrap_or_else(|| panic!("{pcap}: no {product} in {found:?}"));
        assert_eq!(versions, &[edition.to_string()], "{pcap}");
        assert!(
            rules.contains(&format!("{product}.kms-edition")),
            "{pcap}: {rules:?}"
        );
        // The KMS request's workstation name names the host.
        assert_eq!(
            doc["hosts"][0]["hostnames"],
            serde_json::json!([machine]),
            "{pcap}"
        );
    }
}

#[test]
fn kms_discovery_by_dns_is_evidence_too() {
    let doc = inventory("dns_srv_vlmcs_query_dig.pcap");
    let found = products(&doc);
    let (_, _, rules) = found
        .iter()
        .find(|(id, ..)| id == "microsoft.windows")
        .unwrap_or_else(|| panic!("{found:?}"));
    assert_eq!(rules, &["microsoft.windows.kms-srv-lookup".to_string()]);
}

/// A KMS conversation from 10.9.0.5 to 10.9.0.1 on `port`.
fn conversation(request_pdus: &[Vec<u8>], response: &[u8], port: u16) -> Vec<Frame> {
    common::kms::conversation(
        ([10, 9, 0, 5], 50123),
        ([10, 9, 0, 1], port),
        0,
        CLIENT_MAC,
        request_pdus,
        response,
    )
}

#[test]
fn fragmented_rpc_on_another_port_still_decodes() {
    let (req, resp) = ndr64_stubs();
    let (a, b) = req.split_at(100);
    let fragments = [pdu(0, 0x01, a), pdu(0, 0x02, b)];
    let frames = conversation(&fragments, &pdu(2, 0x03, &resp), 40_000);
    let (events, _) = run_capture(&frames, &["--signatures", packs()]);
    let kms = of_type(&events, "kms");
    assert_eq!(kms.len(), 1, "{events:?}");
    let k = &kms[0]["kms"];
    assert_eq!(k["ndr"], "NDR64");
    assert_eq!(k["machine_name"], "TWO-REQ-PC.campus.example");
    assert_eq!(k["edition"], "Windows 10/11 Pro");
    assert_eq!(
        k["response"]["epid"],
        "06401-00206-471-111111-03-1033-17763.0000-2822018"
    );
    assert_eq!(kms[0]["dest_port"], 40_000);
}

#[test]
fn hostile_conversations_produce_no_kms_events() {
    let (req, resp) = ndr64_stubs();
    let response = pdu(2, 0x03, &resp);
    let mut cases: Vec<(&str, Vec<Vec<u8>>)> = Vec::new();
    // A middle fragment with no first one.
    cases.push(("orphan fragment", vec![pdu(0, 0x02, &req)]));
    // Fragments that add up past the reassembly bound.
    let big = vec![0u8; 1000];
    cases.push((
        "oversized stub",
        vec![pdu(0, 0x01, &big), pdu(0, 0x00, &big), pdu(0, 0x02, &req)],
    ));
    // The NDR size claims more than the stub holds.
    let mut lying = req.clone();
    lying[..8].copy_from_slice(&4000u64.to_le_bytes());
    cases.push(("lying NDR size", vec![pdu(0, 0x03, &lying)]));
    // The KMS message cut short.
    let mut cut = req[..16].to_vec();
    cut[..8].copy_from_slice(&100u64.to_le_bytes());
    cut[8..16].copy_from_slice(&100u64.to_le_bytes());
    cut.extend_from_slice(&req[16..116]);
    cases.push(("truncated message", vec![pdu(0, 0x03, &cut)]));
    // A frag_length shorter than the header.
    let mut short = pdu(0, 0x03, &req);
    short[8..10].copy_from_slice(&8u16.to_le_bytes());
    cases.push(("bad frag_length", vec![short]));
    for (name, pdus) in cases {
        let frames = conversation(&pdus, &response, 1688);
        let (events, stderr) = run_capture(&frames, &["--signatures", packs()]);
        assert!(of_type(&events, "kms").is_empty(), "{name}: {events:?}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

/// An NDR64 stub around a KMS message: a request's (size, count) or a response's (size,
/// pointer, count, message, padding, HRESULT 0).
fn ndr64(message: &[u8], response: bool) -> Vec<u8> {
    let n = (message.len() as u64).to_le_bytes();
    let mut stub = n.to_vec();
    if response {
        stub.extend_from_slice(&0x20000u64.to_le_bytes());
    }
    stub.extend_from_slice(&n);
    stub.extend_from_slice(message);
    if response {
        // Padding to a 4-byte boundary, then the HRESULT.
        stub.resize(stub.len().next_multiple_of(4) + 4, 0);
    }
    stub
}

/// A plaintext v4 request from FUTURE-PC whose clock claims the largest FILETIME.
fn v4_request_from_the_far_future() -> Vec<u8> {
    let mut m = vec![0u8; 252];
    m[2] = 4; // version 4.0
    m[8] = 2; // licence status: OOB grace
    // Windows application id, Windows 10/11 Pro SKU, its product group (wire byte order).
    for (at, guid) in [
        (16, "55c92734-d682-4d71-983e-d6ec3f16059f"),
        (32, "2de67392-b7a7-462a-b1ca-108dd189f588"),
        (48, "58e2134f-8e11-4d17-9cb2-91069c151148"),
    ] {
        let u = wiretally::wire::dcerpc::Uuid::parse(guid).unwrap();
        m[at..at + 16].copy_from_slice(&u.0);
    }
    m[80] = 25;
    m[84..92].copy_from_slice(&u64::MAX.to_le_bytes());
    for (i, unit) in "FUTURE-PC".encode_utf16().enumerate() {
        m[108 + 2 * i..110 + 2 * i].copy_from_slice(&unit.to_le_bytes());
    }
    m
}

/// A plaintext v4 response whose ePID's date field is seven bytes but not seven digits.
fn v4_response_with_an_odd_epid() -> Vec<u8> {
    let epid: Vec<u8> = "06401-00206-471-111111-03-1033-17763.0000-aaéxxx\0"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let mut m = vec![0, 0, 4, 0];
    m.extend_from_slice(&(epid.len() as u32).to_le_bytes());
    m.extend_from_slice(&epid);
    m.extend_from_slice(&[0; 16 + 8]); // CMID and request time echoes
    m.extend_from_slice(&50u32.to_le_bytes());
    m.extend_from_slice(&120u32.to_le_bytes());
    m.extend_from_slice(&10080u32.to_le_bytes());
    m.extend_from_slice(&[0; 16]); // MAC
    m
}

#[test]
fn hostile_values_are_reported_within_bounds() {
    let request = ndr64(&v4_request_from_the_far_future(), false);
    let response = ndr64(&v4_response_with_an_odd_epid(), true);
    let frames = conversation(&[pdu(0, 0x03, &request)], &pdu(2, 0x03, &response), 1688);
    let (events, stderr) = run_capture(&frames, &["--signatures", packs()]);
    assert!(!stderr.contains("panicked"), "{stderr}");
    let kms = of_type(&events, "kms");
    assert_eq!(kms.len(), 1, "{events:?}");
    let k = &kms[0]["kms"];
    assert_eq!(k["machine_name"], "FUTURE-PC");
    assert_eq!(k["request_time"], "9999-12-31T23:59:59.999999Z");
    assert_eq!(k["request_filetime"], u64::MAX);
    let r = &k["response"];
    assert_eq!(r["response_len"], 158, "{k}");
    assert_eq!(
        r["epid"],
        "06401-00206-471-111111-03-1033-17763.0000-aaéxxx"
    );
    assert!(r["epid_info"]["activation_date"].is_null());
}
