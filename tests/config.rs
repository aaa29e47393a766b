//! The configuration file as the daemon and `analyze` read it: `config check` on the shipped
//! example and on a broken file, flags overriding keys, file settings taking effect, and `run`
//! refusing a bad file before it opens any capture.

mod common;

use common::*;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let dir = temp_dir(&format!("config-{name}"));
    let path = dir.join("wiretally.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_shipped_example_passes_the_check() {
    let out = wiretally(&["config", "check", &format!("{ROOT}/config/wiretally.toml")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("OK (180 products"), "{stdout}");
    assert!(stdout.contains("2 ledger entries"), "{stdout}");
}

#[test]
fn check_reports_every_problem_with_file_and_line() {
    let path = write(
        "broken",
        &format!(
            "signatures = \"{ROOT}/signatures\"\n[capture]\ninterfaces = [\"eth1\", \"eth2\"]\nworkers = 0\nsnaplen = 999999\n[limits]\nmin_confidence = 2.0\n[network]\nhome = [\"10.0.0.0/33\"]\n[activation]\nauthorized_kms = [\"a b\"]\n[[licenses]]\nproduct = \"no.such\"\nseats = 1\n"
        ),
    );
    let out = wiretally(&["config", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = path.display().to_string();
    for expected in [
        format!("{file}:3: capture.interfaces: one interface per sensor process"),
        format!("{file}:4: capture.workers 0: must be 1 to 256"),
        format!("{file}:5: capture.snaplen 999999: must be 1 to 262144"),
        format!("{file}:7: limits.min_confidence 2: must be between 0 and 1"),
        format!("{file}:9: network.home \"10.0.0.0/33\""),
        format!("{file}:11: activation.authorized_kms"),
        format!("{file}:13: licence for \"no.such\""),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in {stderr}"
        );
    }
    assert!(stderr.contains("7 problem(s)"), "{stderr}");
}

#[test]
fn flags_win_over_keys_and_keys_over_defaults() {
    // The file sets the home network and an out-of-range confidence; the flag fixes the latter.
    let path = write(
        "precedence",
        &format!(
            "signatures = \"{ROOT}/signatures\"\n[network]\nhome = [\"198.18.0.0/15\"]\n[limits]\nmin_confidence = 2.0\n"
        ),
    );
    let lab = format!("{ROOT}/tests/data/lab.pcap");
    let conf = path.to_str().unwrap();
    let out = wiretally(&["analyze", "--config", conf, "--json", &lab]);
    assert_eq!(
        out.status.code(),
        Some(64),
        "the file's bad value stops the run"
    );
    let out = wiretally(&[
        "analyze",
        "--config",
        conf,
        "--min-confidence",
        "0.35",
        "--json",
        &lab,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // 198.18.0.0/15 came from the file: without it the lab's hosts are outside the default
    // home networks.
    assert_eq!(doc["stats"]["hosts"], 2, "{doc}");
}

#[test]
fn output_keys_take_effect_relative_to_the_file() {
    let path = write(
        "outputs",
        &format!(
            "sensor_name = \"lab-sensor\"\nsignatures = \"{ROOT}/signatures\"\n[network]\nhome = [\"198.18.0.0/15\"]\n[output]\nevents = \"events.ndjson\"\nmetrics_file = \"wiretally.prom\"\n"
        ),
    );
    let dir = path.parent().unwrap();
    let out = wiretally(&[
        "analyze",
        "--config",
        path.to_str().unwrap(),
        &format!("{ROOT}/tests/data/lab.pcap"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = std::fs::read_to_string(dir.join("events.ndjson")).unwrap();
    assert!(events.lines().count() > 10, "{events}");
    for line in events.lines() {
        let ev: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(ev["sensor"], "lab-sensor", "{line}");
    }
    let metrics = std::fs::read_to_string(dir.join("wiretally.prom")).unwrap();
    assert!(
        metrics.contains("wiretally_hosts_active{sensor=\"lab-sensor\"} 2"),
        "{metrics}"
    );
}

#[test]
fn run_refuses_a_bad_file_before_opening_a_capture() {
    let path = write(
        "run",
        "[capture]\ninterfaces = [\"no-such-interface0\"]\nworkers = 999\n",
    );
    let out = wiretally(&["run", "--config", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(64));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(":3: capture.workers 999"), "{stderr}");
    assert!(
        !stderr.contains("no-such-interface0"),
        "no capture was opened: {stderr}"
    );
    // Without a file or flag naming an interface, `run` says so.
    let out = wiretally(&["run"]);
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no interface"));
}

#[test]
fn api_state_and_account_settings_are_checked_with_file_and_line() {
    let path = write(
        "api",
        "user = \"no-such-account-wt\"\n[api]\nlisten = \"127.0.0.1\"\ntls_cert = \"missing.pem\"\ntoken_file = \"no-token\"\n[state]\nsave_every = \"2s\"\n",
    );
    let out = wiretally(&["config", "check", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = path.display().to_string();
    for expected in [
        format!("{file}:1: user \"no-such-account-wt\": no such account"),
        format!("{file}:3: api.listen \"127.0.0.1\": invalid socket address"),
        format!("{file}:4: api.tls_cert: api.tls_cert and api.tls_key go together"),
        format!("{file}:5: api.token_file"),
        format!("{file}:7: state.save_every \"2s\": must be 10s to 1day"),
    ] {
        assert!(
            stderr.contains(&expected),
            "missing {expected:?} in {stderr}"
        );
    }

    // Agent inventories: a format of the three, paths that exist.
    let path = write(
        "coverage",
        "[coverage]\ninventories = [\"missing.csv\"]\nformat = \"xls\"\n",
    );
    let out = wiretally(&["config", "check", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let file = path.display().to_string();
    assert!(
        stderr.contains(&format!(
            "{file}:3: coverage.format \"xls\": one of csv, glpi, osquery"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{file}:2: coverage.inventories"))
            && stderr.contains("missing.csv: no such file or folder"),
        "{stderr}"
    );

    // TLS is the default: an API without certificates must say plain_http = true.
    let path = write("api-plain", "[api]\nlisten = \"127.0.0.1:9620\"\n");
    let out = wiretally(&["config", "check", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            ":2: api.listen: the API needs api.tls_cert and api.tls_key, or api.plain_http = true"
        ),
        "{stderr}"
    );

    // A certificate file that holds no certificate is named.
    let dir = path.parent().unwrap();
    std::fs::write(dir.join("cert.pem"), "not a certificate\n").unwrap();
    std::fs::write(dir.join("key.pem"), "not a key\n").unwrap();
    let path = write(
        "api-pem",
        &format!(
            "[api]\ntls_cert = \"{0}/cert.pem\"\ntls_key = \"{0}/key.pem\"\n",
            dir.display()
        ),
    );
    let out = wiretally(&["config", "check", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{}/cert.pem: no CERTIFICATE block", dir.display())),
        "{stderr}"
    );

    // A token file with nothing in it is refused rather than accepting an empty token.
    std::fs::write(dir.join("empty-token"), "\n").unwrap();
    let path = write(
        "api-token",
        &format!(
            "[api]\nplain_http = true\ntoken_file = \"{}/empty-token\"\n",
            dir.display()
        ),
    );
    let out = wiretally(&["config", "check", path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the file is empty or not ASCII"),
        "{stderr}"
    );
}
