//! The daemon: `wiretally run --config FILE` serving its HTTP API over TLS (certificates made
//! here with rcgen) to real curl clients, reloading on SIGHUP, and keeping its inventory across
//! a restart, while capturing live traffic of the namespace lab (tests/lab.sh).
//!
//! Needs root (live capture, namespaces) and curl; otherwise each test says why and returns
//! without checking anything. All traffic stays on loopback or inside the lab's namespaces.

mod common;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nobody listens on now (the kernel's pick for a socket closed at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A status and body from curl; `None` when curl could not get a response at all (refused,
/// TLS handshake failed).
fn curl(netns: Option<&str>, args: &[&str]) -> Option<(u16, String)> {
    let mut cmd = match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns, "curl"]);
            c
        }
        None => Command::new("curl"),
    };
    let out = cmd
        .args([
            "-s",
            "--noproxy",
            "*",
            "--max-time",
            "10",
            "-w",
            "\n%{http_code}",
        ])
        .args(args)
        .output()
        .unwrap();
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n')?;
    Some((code.trim().parse().ok()?, body.to_string()))
}

/// Retries `f` until it gives `Some`, for up to `timeout`.
fn eventually<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The sensor process, killed when dropped.
struct Sensor {
    child: Child,
    stderr: Option<common::StderrLines>,
    stdout: Option<std::thread::JoinHandle<String>>,
}

impl Sensor {
    /// Starts `wiretally run --json --config config`, in `netns` if given, and waits until it
    /// captures.
    fn start(netns: Option<&str>, config: &Path) -> Sensor {
        let bin = env!("CARGO_BIN_EXE_wiretally");
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, bin]);
                c
            }
            None => Command::new(bin),
        };
        let mut child = cmd
            .args(["run", "--json", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = common::StderrLines::of(&mut child);
        let mut out = child.stdout.take().unwrap();
        let stdout = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut out, &mut text);
            text
        });
        stderr.wait_for("capturing on", Duration::from_secs(20));
        Sensor {
            child,
            stderr: Some(stderr),
            stdout: Some(stdout),
        }
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait_for(&self, needle: &str) {
        self.stderr
            .as_ref()
            .unwrap()
            .wait_for(needle, Duration::from_secs(20));
    }

    /// Stops the sensor; returns the inventory document it printed and its remaining stderr,
    /// after checking it exited well.
    fn stop(mut self) -> (serde_json::Value, String) {
        self.signal("TERM");
        let status = self.child.wait().unwrap();
        let rest = self.stderr.take().unwrap().rest();
        assert!(status.success(), "sensor exit {status:?}: {rest}");
        let out = self.stdout.take().unwrap().join().unwrap();
        (serde_json::from_str(&out).unwrap(), rest)
    }
}

impl Drop for Sensor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Certificates for the test: a CA, the server's certificate for 127.0.0.1, a client
/// certificate from the CA and one from a stranger CA; written as PEM files into `dir`.
fn certificates(dir: &Path) {
    let write = |name: &str, text: String| std::fs::write(dir.join(name), text).unwrap();
    let ca = |cn: &str| {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, cn);
        CertifiedIssuer::self_signed(p, KeyPair::generate().unwrap()).unwrap()
    };
    let campus = ca("wiretally test CA");
    let stranger = ca("somebody else's CA");
    write("ca.pem", campus.pem());
    let leaf = |names: Vec<String>, cn: &str, issuer: &CertifiedIssuer<KeyPair>| {
        let key = KeyPair::generate().unwrap();
        let mut p = CertificateParams::new(names).unwrap();
        p.distinguished_name.push(DnType::CommonName, cn);
        let cert = p.signed_by(&key, issuer).unwrap();
        (cert.pem(), key.serialize_pem())
    };
    let (cert, key) = leaf(
        vec!["127.0.0.1".into(), "localhost".into()],
        "sensor",
        &campus,
    );
    write("server.pem", cert);
    write("server.key", key);
    let (cert, key) = leaf(vec![], "grafana", &campus);
    write("client.pem", cert);
    write("client.key", key);
    let (cert, key) = leaf(vec![], "intruder", &stranger);
    write("stranger.pem", cert);
    write("stranger.key", key);
}

#[test]
fn api_over_tls_needs_the_token_and_a_client_certificate() {
    if let Some(why) = common::lab_missing(&["curl"]) {
        eprintln!("SKIPPED api_over_tls_needs_the_token_and_a_client_certificate: {why}");
        return;
    }
    let dir = common::temp_dir("daemon-tls");
    certificates(&dir);
    std::fs::write(dir.join("token"), "s3cret-token\n").unwrap();
    let (api, metrics) = (free_port(), free_port());
    let config = dir.join("wiretally.toml");
    std::fs::write(
        &config,
        format!(
            "sensor_name = \"tls-test\"\nsignatures = \"{sigs}\"\n[capture]\ninterfaces = [\"lo\"]\nbpf = \"tcp port 9\"\n\
             [api]\nlisten = \"127.0.0.1:{api}\"\ntls_cert = \"server.pem\"\ntls_key = \"server.key\"\n\
             client_ca = \"ca.pem\"\ntoken_file = \"token\"\nmetrics_listen = \"127.0.0.1:{metrics}\"\n",
            sigs = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures").display()
        ),
    )
    .unwrap();
    let sensor = Sensor::start(None, &config);
    let d = |name: &str| dir.join(name).display().to_string();
    let url = |path: &str| format!("https://127.0.0.1:{api}{path}");
    let (ca, cert, key) = (d("ca.pem"), d("client.pem"), d("client.key"));
    let tls = ["--cacert", &ca, "--cert", &cert, "--key", &key];
    let token = ["-H", "Authorization: Bearer s3cret-token"];
    let get = |extra: &[&str], path: &str| {
        let mut args: Vec<&str> = extra.to_vec();
        let u = url(path);
        args.push(&u);
        curl(None, &args)
    };
    let with = |path: &str| get(&[&tls[..], &token[..]].concat(), path);

    let (code, body) = with("/api/v1/hosts").expect("a full client gets an answer");
    assert_eq!(code, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(doc["hosts"].is_array(), "{doc}");
    let (code, body) = with("/metrics").unwrap();
    assert_eq!(code, 200);
    assert!(
        body.contains("wiretally_capture_up{sensor=\"tls-test\"} 1"),
        "{body}"
    );

    // Unauthenticated or wrongly authenticated: 401, and the health check needs no token.
    assert_eq!(get(&tls, "/api/v1/hosts").unwrap().0, 401);
    let wrong = ["-H", "Authorization: Bearer s3cret-tokem"];
    assert_eq!(
        get(&[&tls[..], &wrong[..]].concat(), "/api/v1/alerts")
            .unwrap()
            .0,
        401
    );
    assert_eq!(get(&tls, "/healthz").unwrap().0, 200);
    assert_eq!(get(&tls, "/readyz").unwrap().0, 200);

    // Bad paths and parameters: 4xx, never 5xx.
    assert_eq!(with("/api/v1/nothing").unwrap().0, 404);
    assert_eq!(with("/api/v1/hosts?category=games").unwrap().0, 400);
    assert_eq!(
        with("/api/v1/hosts?product=no.such.product").unwrap().0,
        400
    );
    assert_eq!(with("/api/v1/hosts/300.1.1.1").unwrap().0, 400);
    assert_eq!(with("/api/v1/hosts/198.18.9.9").unwrap().0, 404);
    assert_eq!(with("/api/v1/alerts?kind=everything").unwrap().0, 400);
    let post = ["-X", "POST"];
    assert_eq!(
        get(&[&tls[..], &token[..], &post[..]].concat(), "/api/v1/hosts")
            .unwrap()
            .0,
        405
    );

    // No client certificate, or one from another CA: the handshake fails.
    assert_eq!(
        get(&["--cacert", &ca, token[0], token[1]], "/healthz"),
        None
    );
    let (scert, skey) = (d("stranger.pem"), d("stranger.key"));
    let stranger = ["--cacert", &ca, "--cert", &scert, "--key", &skey];
    assert_eq!(get(&stranger, "/healthz"), None);
    // Plain HTTP to the TLS port gets no HTTP answer.
    assert_eq!(
        curl(None, &[&format!("http://127.0.0.1:{api}/healthz")]),
        None
    );

    // The metrics listener: plain HTTP, /metrics only.
    let (code, body) = curl(None, &[&format!("http://127.0.0.1:{metrics}/metrics")]).unwrap();
    assert_eq!(code, 200);
    assert!(body.contains("wiretally_build_info{"), "{body}");
    let (code, _) = curl(None, &[&format!("http://127.0.0.1:{metrics}/api/v1/hosts")]).unwrap();
    assert_eq!(code, 404);
    sensor.stop();
}

/// The config of the lab sensor: captures the server side of the lab, serves plain HTTP on the
/// namespace's loopback, keeps state and events in `dir`; `api_extra` goes into `[api]` and
/// `extra` at the end.
fn lab_config(dir: &Path, iface: &str, api: u16, api_extra: &str, extra: &str) -> PathBuf {
    let path = dir.join("wiretally.toml");
    std::fs::write(
        &path,
        format!(
            "sensor_name = \"lab\"\nsignatures = \"{sigs}\"\n[capture]\ninterfaces = [\"{iface}\"]\nworkers = 2\n\
             [network]\nhome = [\"198.18.0.0/15\"]\n[api]\nlisten = \"127.0.0.1:{api}\"\nplain_http = true\n{api_extra}\
             [state]\ndir = \"state\"\n[output]\nevents = \"events.ndjson\"\n{extra}",
            sigs = Path::new(env!("CARGO_MANIFEST_DIR")).join("signatures").display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn reload_reopen_and_restart_keep_the_inventory() {
    if let Some(why) = common::lab_missing(&["ip", "dnsmasq", "udhcpc", "dig", "curl", "python3"]) {
        eprintln!("SKIPPED reload_reopen_and_restart_keep_the_inventory: {why}");
        return;
    }
    let id = format!("d{}", std::process::id() % 100_000);
    let lab = common::Lab::up(&id);
    let (ns, iface) = (
        lab.vars["LAB_SRV_NS"].clone(),
        lab.vars["LAB_SRV_IF"].clone(),
    );
    let dir = common::temp_dir(&format!("daemon-{id}"));
    let api = 19_620;
    let config = lab_config(&dir, &iface, api, "", "");
    let get = |path: &str| curl(Some(&ns), &[&format!("http://127.0.0.1:{api}{path}")]);
    let json = |path: &str| -> serde_json::Value {
        let (code, body) = get(path).unwrap();
        assert_eq!(code, 200, "{path}: {body}");
        serde_json::from_str(&body).unwrap()
    };
    let metric = |name: &str| -> Option<f64> {
        let (_, body) = get("/metrics")?;
        body.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
    };

    let sensor = Sensor::start(Some(&ns), &config);
    lab.run("clients");
    // The lab PC's Office lookups make it an Office host, seen through the API while capturing.
    let office = eventually(Duration::from_secs(15), || {
        let doc = json("/api/v1/hosts?category=office");
        let hosts = doc["hosts"].as_array()?.clone();
        (!hosts.is_empty()).then_some(hosts)
    })
    .expect("an office host through the API");
    let ip = office[0]["ip"].as_str().unwrap().to_string();
    assert!(ip.starts_with("198.18.0."), "{ip}");
    let host = json(&format!("/api/v1/hosts/{ip}"));
    assert_eq!(host["ip"], ip.as_str());
    assert!(
        host["hostnames"].to_string().contains("lab-pc-01"),
        "{host}"
    );
    let mac = host["mac"].as_str().unwrap().to_string();
    assert_eq!(json(&format!("/api/v1/hosts/{mac}"))["ip"], ip.as_str());
    // Paging over the one office host: the first page holds it, the next is empty.
    let page = json("/api/v1/hosts?category=office&limit=1");
    assert_eq!(
        (page["total"].as_u64(), page["limit"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(page["hosts"][0]["ip"], ip.as_str());
    let next = json("/api/v1/hosts?category=office&limit=1&offset=1");
    assert_eq!(next["total"].as_u64(), Some(1));
    assert!(next["hosts"].as_array().unwrap().is_empty(), "{next}");
    let products = json("/api/v1/products");
    assert!(
        products["products"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == "microsoft.office" && p["hosts"] == 1),
        "{products}"
    );

    // A good reload: a ledger entry appears in the metrics, counted as a good reload.
    let seats = "wiretally_license_seats{product=\"microsoft.office\",sensor=\"lab\"}";
    assert_eq!(metric(seats), None);
    lab_config(
        &dir,
        &iface,
        api,
        "",
        "[[licenses]]\nproduct = \"microsoft.office\"\nseats = 300\n",
    );
    sensor.signal("HUP");
    sensor.wait_for("reloaded the configuration");
    assert_eq!(metric(seats), Some(300.0));
    assert_eq!(
        metric("wiretally_config_reloads_total{result=\"ok\",sensor=\"lab\"}"),
        Some(1.0)
    );

    // A bad reload: the error names file and line, the running set stays, the failure counts.
    std::fs::write(&config, "[capture\ninterfaces = 3\n").unwrap();
    sensor.signal("HUP");
    sensor.wait_for("wiretally.toml:");
    sensor.wait_for("keeping the running configuration");
    let failed = "wiretally_config_reloads_total{result=\"failed\",sensor=\"lab\"}";
    assert_eq!(
        eventually(Duration::from_secs(5), || metric(failed)
            .filter(|v| *v == 1.0)),
        Some(1.0)
    );
    assert_eq!(
        metric("wiretally_config_last_reload_successful{sensor=\"lab\"}"),
        Some(0.0)
    );
    assert_eq!(metric(seats), Some(300.0));

    // logrotate: the log is moved away, SIGHUP, and new events go to a new file of that name.
    let events = dir.join("events.ndjson");
    std::fs::rename(&events, dir.join("events.ndjson.1")).unwrap();
    sensor.signal("HUP");
    sensor.wait_for("keeping the running configuration");
    lab.run("public-kms");
    let fresh = eventually(Duration::from_secs(10), || {
        let text = std::fs::read_to_string(&events).ok()?;
        text.contains("kms.03k.org").then_some(text)
    });
    assert!(
        fresh.is_some(),
        "events after the rotation reach the reopened log"
    );
    assert!(
        std::fs::read_to_string(dir.join("events.ndjson.1"))
            .unwrap()
            .contains("officecdn.microsoft.com")
    );

    // Restart: SIGTERM ends the flows, saves the inventory as it then is (the document printed
    // at the stop), and the next start restores it exactly, seat use included.
    let used = "wiretally_license_seats_used{product=\"microsoft.office\",sensor=\"lab\"}";
    assert_eq!(metric(used), Some(1.0));
    let (before, _) = sensor.stop();
    assert!(!before["alerts"].as_array().unwrap().is_empty(), "{before}");
    lab_config(
        &dir,
        &iface,
        api,
        "",
        "[[licenses]]\nproduct = \"microsoft.office\"\nseats = 300\n",
    );
    let sensor = Sensor::start(Some(&ns), &config);
    assert_eq!(json("/api/v1/hosts")["hosts"], before["hosts"]);
    assert_eq!(metric(used), Some(1.0));
    assert_eq!(json("/api/v1/alerts")["alerts"], before["alerts"]);
    let (_, rest) = sensor.stop();
    assert!(!rest.contains("unreadable"), "{rest}");
    drop(lab);
}

#[test]
fn prometheus_sees_unauthorized_activation_server_firing() {
    let tools = [
        "ip",
        "dnsmasq",
        "udhcpc",
        "dig",
        "curl",
        "python3",
        "prometheus",
    ];
    if let Some(why) = common::lab_missing(&tools) {
        eprintln!("SKIPPED prometheus_sees_unauthorized_activation_server_firing: {why}");
        return;
    }
    let id = format!("p{}", std::process::id() % 100_000);
    let mut lab = common::Lab::up(&id);
    let (ns, iface) = (
        lab.vars["LAB_SRV_NS"].clone(),
        lab.vars["LAB_SRV_IF"].clone(),
    );
    let dir = common::temp_dir(&format!("prometheus-{id}"));
    let (metrics, prom) = (19_630, 19_631);
    let config = lab_config(
        &dir,
        &iface,
        19_632,
        &format!("metrics_listen = \"127.0.0.1:{metrics}\"\n"),
        "",
    );
    let sensor = Sensor::start(Some(&ns), &config);

    // A real Prometheus server in the same namespace scrapes the sensor every second and
    // evaluates the shipped rules every second.
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/prometheus/alerts.yml");
    let prometheus_yml = dir.join("prometheus.yml");
    std::fs::write(
        &prometheus_yml,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: wiretally\n    static_configs:\n      - targets: ['127.0.0.1:{metrics}']\n",
            rules.display()
        ),
    )
    .unwrap();
    lab.children.push(
        Command::new("ip")
            .args(["netns", "exec", &ns, "prometheus"])
            .arg(format!("--config.file={}", prometheus_yml.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("tsdb").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let query = |path: &str| -> Option<serde_json::Value> {
        let (code, body) = curl(Some(&ns), &[&format!("http://127.0.0.1:{prom}{path}")])?;
        (code == 200).then(|| serde_json::from_str(&body).ok())?
    };
    // Prometheus has seen the sensor up, with no alert counted yet.
    let scraped = eventually(Duration::from_secs(30), || {
        let v = query(
            "/api/v1/query?query=wiretally_alerts_raised_total%7Bkind%3D%22unauthorized_activation_server%22%7D",
        )?;
        let value = v["data"]["result"][0]["value"][1].as_str()?.to_string();
        Some(value)
    });
    assert_eq!(
        scraped.as_deref(),
        Some("0"),
        "Prometheus scraped the sensor"
    );

    lab.run("clients");
    lab.run("public-kms");
    let firing = eventually(Duration::from_secs(30), || {
        let v = query("/api/v1/alerts")?;
        v["data"]["alerts"]
            .as_array()?
            .iter()
            .find(|a| {
                a["labels"]["alertname"] == "UnauthorizedActivationServer" && a["state"] == "firing"
            })
            .cloned()
    })
    .expect("UnauthorizedActivationServer fires in Prometheus");
    assert_eq!(firing["labels"]["sensor"], "lab");
    sensor.stop();
}

#[test]
fn started_as_root_it_drops_to_the_configured_account_and_keeps_capturing() {
    if let Some(why) = common::lab_missing(&["curl"]) {
        eprintln!("SKIPPED started_as_root_it_drops_to_the_configured_account: {why}");
        return;
    }
    let dir = common::temp_dir("daemon-user");
    let api = free_port();
    // The token only root may read, as an administrator would leave it; the folder for the
    // event log and the state is the account's, as the package's tmpfiles entry makes it.
    std::fs::write(dir.join("token"), "root-only-token\n").unwrap();
    let chmod = Command::new("chmod")
        .arg("600")
        .arg(dir.join("token"))
        .status()
        .unwrap();
    assert!(chmod.success());
    let var = dir.join("var");
    std::fs::create_dir_all(&var).unwrap();
    let chown = Command::new("chown")
        .arg("nobody")
        .arg(&var)
        .status()
        .unwrap();
    assert!(chown.success());
    let config = dir.join("wiretally.toml");
    std::fs::write(
        &config,
        format!(
            "user = \"nobody\"\n[capture]\ninterfaces = [\"lo\"]\n[api]\nlisten = \"127.0.0.1:{api}\"\nplain_http = true\n\
             token_file = \"token\"\n[state]\ndir = \"var/state\"\n[output]\nevents = \"var/events.ndjson\"\n"
        ),
    )
    .unwrap();
    let sensor = Sensor::start(None, &config);
    let status = std::fs::read_to_string(format!("/proc/{}/status", sensor.child.id())).unwrap();
    let ids = |key: &str| -> Vec<String> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap()
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    let nobody = String::from_utf8(
        Command::new("id")
            .args(["-u", "nobody"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    // Real, effective, saved and filesystem ids are all the account's, and no capability is left.
    assert_eq!(ids("Uid:"), vec![nobody.clone(); 4], "{status}");
    assert_eq!(ids("CapEff:"), vec!["0000000000000000"], "{status}");
    // The capture opened as root keeps delivering packets: the API's own traffic on lo.
    let auth = "Authorization: Bearer root-only-token";
    let packets = || -> f64 {
        let (_, body) = curl(
            None,
            &["-H", auth, &format!("http://127.0.0.1:{api}/metrics")],
        )
        .unwrap();
        body.lines()
            .find_map(|l| l.strip_prefix("wiretally_packets_total{"))
            .and_then(|l| l.split_whitespace().last())
            .unwrap()
            .parse()
            .unwrap()
    };
    let first = packets();
    assert!(
        eventually(Duration::from_secs(10), || (packets() > first)
            .then_some(()))
        .is_some(),
        "packets keep arriving after the switch"
    );
    // A reload as the account works, though it could not read the token again (it does not
    // need to: certificates and token change at the next start).
    sensor.signal("HUP");
    sensor.wait_for("reloaded the configuration");
    let (_, stderr) = sensor.stop();
    assert!(!stderr.contains("cannot"), "{stderr}");
    // The account wrote the event log and the inventory.
    for file in ["var/events.ndjson", "var/state/inventory.json"] {
        let owner = Command::new("stat")
            .args(["-c", "%U"])
            .arg(dir.join(file))
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&owner.stdout).trim(),
            "nobody",
            "{file}"
        );
    }
}

#[test]
fn the_daemon_cross_checks_its_agent_inventories_and_rereads_them_when_they_change() {
    if let Some(why) = common::lab_missing(&["curl"]) {
        eprintln!("SKIPPED the_daemon_cross_checks_its_agent_inventories: {why}");
        return;
    }
    let dir = common::temp_dir("daemon-coverage");
    let api = free_port();
    let assets = dir.join("assets.csv");
    std::fs::write(
        &assets,
        "ip,hostname,software\n127.0.0.1,,Microsoft Windows 11 Pro\n",
    )
    .unwrap();
    let config = dir.join("wiretally.toml");
    std::fs::write(
        &config,
        format!(
            "signatures = \"{ROOT}/signatures\"\n[capture]\ninterfaces = [\"lo\"]\n[network]\nhome = [\"127.0.0.0/8\"]\n\
             [api]\nlisten = \"127.0.0.1:{api}\"\nplain_http = true\n[coverage]\ninventories = [\"assets.csv\"]\n",
            ROOT = env!("CARGO_MANIFEST_DIR")
        ),
    )
    .unwrap();
    let sensor = Sensor::start(None, &config);
    let get = |path: &str| curl(None, &[&format!("http://127.0.0.1:{api}{path}")]);
    // The API's own traffic on lo makes 127.0.0.1 a network host; the agent's row names it by
    // address.
    let doc = eventually(Duration::from_secs(15), || {
        let (code, body) = get("/api/v1/coverage")?;
        let doc: serde_json::Value = serde_json::from_str(&body).ok()?;
        (code == 200 && doc["hosts"].as_array()?.len() == 1).then_some(doc)
    })
    .expect("the loopback host matched");
    assert_eq!(doc["hosts"][0]["matched_by"], "ip");
    assert!(doc["stale_hosts"].as_array().unwrap().is_empty());
    let metric = |name: &str| -> Option<String> {
        let (_, body) = get("/metrics")?;
        body.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    assert_eq!(
        metric("wiretally_coverage_ratio{scope=\"hosts\",sensor=\"").map(|l| l.ends_with(" 1")),
        Some(true)
    );
    // A host added to the inventory file shows up as never seen, without a restart.
    std::fs::write(
        &assets,
        "ip,hostname,software\n127.0.0.1,,Microsoft Windows 11 Pro\n10.8.8.8,LOST-PC,WinRAR\n",
    )
    .unwrap();
    let stale = eventually(Duration::from_secs(20), || {
        let (_, body) = get("/api/v1/coverage")?;
        let doc: serde_json::Value = serde_json::from_str(&body).ok()?;
        let stale = doc["stale_hosts"].as_array()?.clone();
        (!stale.is_empty()).then_some(stale)
    })
    .expect("the re-read inventory");
    assert_eq!(stale[0]["hostname"], "LOST-PC");
    assert_eq!(
        metric("wiretally_coverage_stale_inventory_hosts{").map(|l| l.ends_with(" 1")),
        Some(true)
    );
    // A reload that takes the inventories out of the configuration ends the cross-check.
    let text = std::fs::read_to_string(&config).unwrap();
    let without = text.split("[coverage]").next().unwrap().to_string();
    std::fs::write(&config, without).unwrap();
    sensor.signal("HUP");
    sensor.wait_for("reloaded the configuration");
    let gone = eventually(Duration::from_secs(15), || {
        (get("/api/v1/coverage")?.0 == 404).then_some(())
    });
    assert!(
        gone.is_some(),
        "no cross-check once no inventories are configured"
    );
    assert_eq!(metric("wiretally_coverage_ratio{"), None);
    sensor.stop();
}
