//! The inventory kept in a state folder (`--state-dir`, `[state] dir`): a later run restores it
//! exactly, keeps what changed packs still know (matched by id), and moves an unreadable file
//! aside instead of failing or deleting it. tests/daemon.rs covers the daemon's SIGTERM save.

mod common;

use common::*;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `analyze --json` of `capture` on the Quick start's home network with this state folder and
/// packs; returns the document and stderr.
fn analyze(capture: &Path, state: &Path, signatures: &Path) -> (serde_json::Value, String) {
    let out = wiretally(&[
        "analyze",
        "--json",
        "--home-net",
        "198.18.0.0/15",
        "--signatures",
        signatures.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        capture.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
}

fn product_ids(doc: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = doc["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|h| h["products"].as_array().unwrap().clone())
        .map(|p| p["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn the_inventory_survives_a_restart_and_changed_packs() {
    let dir = temp_dir("state");
    let state = dir.join("state");
    let empty = dir.join("empty.pcap");
    write_pcap(&empty, 1, &[]);
    let packs = Path::new(ROOT).join("signatures");
    let lab = Path::new(ROOT).join("tests/data/lab.pcap");

    let (first, _) = analyze(&lab, &state, &packs);
    let products = product_ids(&first);
    assert!(
        products.contains(&"adobe.creative-cloud".to_string()),
        "{products:?}"
    );
    assert!(state.join("inventory.json").is_file());

    // A run with nothing new shows exactly what the first one ended with.
    let (again, stderr) = analyze(&empty, &state, &packs);
    assert!(stderr.contains("restored 2 host record(s)"), "{stderr}");
    assert_eq!(again["hosts"], first["hosts"]);
    assert_eq!(again["alerts"], first["alerts"]);

    // Packs without Adobe's: its product records go (and the run says so), the rest stay.
    let fewer = dir.join("packs");
    std::fs::create_dir_all(&fewer).unwrap();
    for entry in std::fs::read_dir(&packs).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name != "adobe.toml" && entry.path().is_file() {
            std::fs::copy(entry.path(), fewer.join(&name)).unwrap();
        }
    }
    for sub in ["kms", "flags"] {
        std::fs::create_dir_all(fewer.join(sub)).unwrap();
        for entry in std::fs::read_dir(packs.join(sub)).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), fewer.join(sub).join(entry.file_name())).unwrap();
        }
    }
    let (changed, stderr) = analyze(&empty, &state, &fewer);
    assert!(
        stderr.contains("product record(s) whose product or rules left the packs were dropped"),
        "{stderr}"
    );
    let mut expected = products.clone();
    expected.retain(|p| p != "adobe.creative-cloud");
    assert_eq!(product_ids(&changed), expected);

    // An unreadable file is moved aside, and the run starts empty instead of failing.
    std::fs::write(
        state.join("inventory.json"),
        "{\"format\": \"something else\"",
    )
    .unwrap();
    let (fresh, stderr) = analyze(&empty, &state, &packs);
    assert!(stderr.contains("was unreadable"), "{stderr}");
    assert!(fresh["hosts"].as_array().unwrap().is_empty());
    let aside: Vec<String> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with("inventory.json.unreadable-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert_eq!(
        std::fs::read_to_string(state.join(&aside[0])).unwrap(),
        "{\"format\": \"something else\""
    );
}

#[test]
fn a_failing_event_log_does_not_cost_the_inventory() {
    let dir = temp_dir("state-full");
    let state = dir.join("state");
    let lab = Path::new(ROOT).join("tests/data/lab.pcap");
    let out = wiretally(&[
        "analyze",
        "--home-net",
        "198.18.0.0/15",
        "--events",
        "/dev/full",
        "--state-dir",
        state.to_str().unwrap(),
        lab.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a full disk is an error: {stderr}");
    assert!(stderr.contains("writing events"), "{stderr}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("inventory.json")).unwrap())
            .unwrap();
    assert_eq!(saved["hosts"].as_array().unwrap().len(), 2);
}
