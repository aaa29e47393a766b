//! Prometheus integration: the alert rules pass `promtool check rules` and their unit tests
//! (`promtool test rules`, Debian's prometheus package), the example scrape configuration passes
//! `promtool check config`, and the metrics a run writes pass `promtool check metrics`, carry the
//! series the rules use, and never label a series with a host or an address.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Runs promtool; a missing promtool is an error that says how to get it.
fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new("promtool");
    cmd.args(args)
        .current_dir(Path::new(ROOT).join("config/prometheus"));
    let out = match stdin {
        None => cmd.output(),
        Some(text) => {
            use std::io::Write;
            let mut child = cmd
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect(
                    "promtool is missing: run scripts/deps.sh test (Debian package prometheus)",
                );
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            child.wait_with_output()
        }
    }
    .expect("promtool is missing: run scripts/deps.sh test (Debian package prometheus)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn alert_rules_are_valid_and_their_unit_tests_pass() {
    let (ok, out) = promtool(&["check", "rules", "alerts.yml"], None);
    assert!(ok && out.contains("SUCCESS: 8 rules found"), "{out}");
    let (ok, out) = promtool(&["test", "rules", "alerts_test.yml"], None);
    assert!(ok && out.contains("SUCCESS"), "{out}");
    let (ok, out) = promtool(&["check", "config", "scrape.yml"], None);
    assert!(ok, "{out}");
}

/// The metrics of the Quick start capture and a KMS capture, judged by the example policy.
fn metrics() -> String {
    let dir = temp_dir("prometheus");
    let file = dir.join("wiretally.prom");
    let config = format!("{ROOT}/config/wiretally.toml");
    let packs = format!("{ROOT}/signatures");
    let lab = format!("{ROOT}/tests/data/lab.pcap");
    let kms = format!("{ROOT}/tests/data/kms/kms_v6_win10_pro_vlmcsd.pcap");
    let out = wiretally(&[
        "analyze",
        "--config",
        &config,
        "--signatures",
        &packs,
        "--home-net",
        "198.18.0.0/15",
        "--home-net",
        "127.0.0.0/8",
        "--sensor-name",
        "campus-a",
        "--metrics-file",
        file.to_str().unwrap(),
        &lab,
        &kms,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&file).unwrap()
}

/// The value of the series `name{labels}` (labels as written, sensor last).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no series {series}"))
        .parse()
        .unwrap()
}

#[test]
fn metrics_pass_promtool_and_say_what_the_run_saw() {
    let text = metrics();
    let (ok, out) = promtool(&["check", "metrics"], Some(&text));
    assert!(ok && out.trim().is_empty(), "promtool check metrics: {out}");
    assert_eq!(
        value(&text, r#"wiretally_packets_total{sensor="campus-a"}"#),
        62.0
    );
    assert_eq!(
        value(
            &text,
            r#"wiretally_product_hosts{category="os",product="microsoft.windows",sensor="campus-a"}"#
        ),
        2.0,
        "the lab PC and the KMS client"
    );
    assert_eq!(
        value(
            &text,
            r#"wiretally_category_hosts{category="office",sensor="campus-a"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            r#"wiretally_kms_activations_total{server_class="unauthorized",sensor="campus-a"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            r#"wiretally_alerts_raised_total{kind="unauthorized_activation_server",sensor="campus-a"}"#
        ),
        2.0,
        "the lab's SRV answer and the KMS request to 127.0.0.1"
    );
    assert_eq!(
        value(
            &text,
            r#"wiretally_license_seats{product="microsoft.office",sensor="campus-a"}"#
        ),
        500.0
    );
    assert_eq!(
        value(
            &text,
            r#"wiretally_events_total{type="kms",sensor="campus-a"}"#
        ),
        1.0
    );
}

#[test]
fn the_rules_use_only_series_the_sensor_exports_and_no_label_names_a_host() {
    let text = metrics();
    let exported: BTreeSet<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let rules = std::fs::read_to_string(format!("{ROOT}/config/prometheus/alerts.yml")).unwrap();
    let used: BTreeSet<&str> = rules
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("wiretally_"))
        .collect();
    assert!(!used.is_empty());
    // Per-interface capture counters exist only for live captures (an offline run has no
    // interface); the other series must all be there.
    let live_only = [
        "wiretally_capture_packets_total",
        "wiretally_capture_kernel_drops_total",
        "wiretally_capture_interface_drops_total",
    ];
    for name in used.iter().filter(|n| !live_only.contains(n)) {
        assert!(
            exported.contains(name),
            "alerts.yml uses {name}, which is not exported"
        );
    }
    let allowed: BTreeSet<&str> = [
        "sensor",
        "kind",
        "type",
        "reason",
        "interface",
        "product",
        "category",
        "server_class",
        "version",
        "result",
    ]
    .into();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((_, labels)) = line.split_once('{') else {
            continue;
        };
        let labels = labels.split('}').next().unwrap();
        for pair in labels.split(',') {
            let (name, value) = pair.split_once('=').unwrap();
            assert!(allowed.contains(name), "label {name} in {line}");
            let value = value.trim_matches('"');
            assert!(
                value.parse::<std::net::IpAddr>().is_err(),
                "an address as a label value: {line}"
            );
        }
    }
}

#[test]
fn the_grafana_dashboard_queries_are_valid_promql_over_exported_series() {
    let text = std::fs::read_to_string(format!("{ROOT}/config/grafana/wiretally.json")).unwrap();
    let dash: serde_json::Value = serde_json::from_str(&text).unwrap();
    let exprs: Vec<String> = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().unwrap().iter())
        .map(|t| t["expr"].as_str().unwrap().replace("$sensor", ".*"))
        .collect();
    assert!(exprs.len() >= 10);
    // Each query as a recording rule: `promtool check rules` parses it as PromQL.
    let mut rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        rules.push_str(&format!(
            "      - record: dashboard:q{i}\n        expr: '{e}'\n"
        ));
    }
    let dir = temp_dir("grafana");
    let file = dir.join("dashboard_rules.yml");
    std::fs::write(&file, rules).unwrap();
    let (ok, out) = promtool(&["check", "rules", file.to_str().unwrap()], None);
    assert!(ok, "{out}");
    let exported = metrics();
    let live_only = [
        "wiretally_capture_kernel_drops_total",
        "wiretally_capture_interface_drops_total",
    ];
    for e in &exprs {
        for name in e
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("wiretally_") && !live_only.contains(w))
        {
            assert!(
                exported.lines().any(|l| l.starts_with(name)),
                "the dashboard uses {name}, which is not exported"
            );
        }
    }
}
