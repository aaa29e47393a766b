//! systemd integration: the unit passes `systemd-analyze verify` and its offline security
//! review, sysusers and tmpfiles create the account and folders in a scratch root, and `run`
//! tells systemd it is ready, pings the watchdog and says when it stops (sd_notify).

mod common;

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::Duration;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The unit with the test's own binary in place of /usr/bin/wiretally, in a scratch folder.
fn unit() -> std::path::PathBuf {
    let dir = common::temp_dir("systemd-unit");
    let text = std::fs::read_to_string(format!("{ROOT}/systemd/wiretally.service"))
        .unwrap()
        .replace("/usr/bin/wiretally", env!("CARGO_BIN_EXE_wiretally"));
    let path = dir.join("wiretally.service");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_unit_verifies_and_its_exposure_is_low() {
    let unit = unit();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze is missing (Debian package systemd)");
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && text.trim().is_empty(), "{text}");
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes"])
        .arg(&unit)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let exposure: f64 = text
        .lines()
        .find_map(|l| l.split("exposure level for wiretally.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in {text}"));
    // README: "1.8 OK"; more than 2.5 means a hardening line was lost.
    assert!(exposure <= 2.5, "exposure {exposure}: {text}");
}

#[test]
fn sysusers_and_tmpfiles_make_the_account_and_folders() {
    let root = common::temp_dir("systemd-root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    let status = Command::new("systemd-sysusers")
        .arg(format!("--root={}", root.display()))
        .arg(format!("{ROOT}/systemd/wiretally.sysusers"))
        .status()
        .unwrap();
    assert!(status.success());
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).unwrap();
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with("wiretally:")
                && l.ends_with(":/var/lib/wiretally:/usr/sbin/nologin")),
        "{passwd}"
    );
    let status = Command::new("systemd-tmpfiles")
        .arg(format!("--root={}", root.display()))
        .arg("--create")
        .arg(format!("{ROOT}/systemd/wiretally.tmpfiles"))
        .status()
        .unwrap();
    assert!(status.success());
    use std::os::unix::fs::PermissionsExt;
    for dir in ["etc/wiretally", "var/lib/wiretally", "var/log/wiretally"] {
        let mode = std::fs::metadata(root.join(dir))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o750, "{dir}");
    }
}

#[test]
fn run_notifies_readiness_watchdog_and_stopping() {
    if let Some(why) = common::lab_missing(&[]) {
        eprintln!("SKIPPED run_notifies_readiness_watchdog_and_stopping: {why}");
        return;
    }
    let dir = common::temp_dir("sd-notify");
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // Capture on loopback, which carries nothing the test needs.
    let mut sensor = Command::new(env!("CARGO_BIN_EXE_wiretally"))
        .args([
            "run",
            "--interface",
            "lo",
            "--signatures",
            &format!("{ROOT}/signatures"),
        ])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "200000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let mut next = || loop {
        match socket.recv(&mut buf) {
            Ok(n) => return String::from_utf8_lossy(&buf[..n]).to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => panic!("no notification within 20 s: {e}"),
        }
    };
    let ready = next();
    assert!(
        ready.starts_with("READY=1\nSTATUS=capturing on lo"),
        "{ready}"
    );
    assert_eq!(next(), "WATCHDOG=1");
    assert_eq!(
        next(),
        "WATCHDOG=1",
        "pinged again within half the interval"
    );
    let _ = Command::new("kill")
        .args(["-TERM", &sensor.id().to_string()])
        .status();
    let mut seen = Vec::new();
    loop {
        let m = next();
        if m == "STOPPING=1" {
            break;
        }
        seen.push(m);
        assert!(seen.len() < 50, "no STOPPING=1: {seen:?}");
    }
    assert!(sensor.wait().unwrap().success());
}

#[test]
fn the_watchdog_keeps_pinging_while_clients_flood_the_listeners() {
    if let Some(why) = common::lab_missing(&[]) {
        eprintln!("SKIPPED the_watchdog_keeps_pinging_while_clients_flood_the_listeners: {why}");
        return;
    }
    let dir = common::temp_dir("sd-flood");
    let socket_path = dir.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut sensor = Command::new(env!("CARGO_BIN_EXE_wiretally"))
        .args(["run", "--interface", "lo", "--bpf", "tcp port 9"])
        .args(["--metrics-listen", &format!("127.0.0.1:{port}")])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "2000000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 256];
    let n = socket.recv(&mut buf).expect("READY=1");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("READY=1"));

    // 48 clients ask for /metrics and /readyz as fast as they can for 6 s: more than the
    // listener's connection and in-flight limits.
    let until = std::time::Instant::now() + Duration::from_secs(6);
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let clients: Vec<_> = (0..48)
        .map(|i| {
            let answered = std::sync::Arc::clone(&answered);
            std::thread::spawn(move || {
                use std::io::{Read, Write};
                let path = if i % 2 == 0 { "/metrics" } else { "/readyz" };
                while std::time::Instant::now() < until {
                    let Ok(mut c) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
                        continue;
                    };
                    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                    let _ = write!(c, "GET {path} HTTP/1.0\r\n\r\n");
                    let mut reply = Vec::new();
                    let _ = c.read_to_end(&mut reply);
                    if reply.starts_with(b"HTTP/1.0 200") {
                        answered.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let mut pings = 0;
    while std::time::Instant::now() < until {
        if let Ok(n) = socket.recv(&mut buf)
            && &buf[..n] == b"WATCHDOG=1"
        {
            pings += 1;
        }
    }
    for c in clients {
        c.join().unwrap();
    }
    // One ping a second is due; the flood must not stop them (nor every answer).
    assert!(pings >= 4, "{pings} watchdog pings in 6 s under the flood");
    assert!(answered.load(std::sync::atomic::Ordering::Relaxed) > 100);
    let _ = Command::new("kill")
        .args(["-TERM", &sensor.id().to_string()])
        .status();
    assert!(sensor.wait().unwrap().success());
}

#[test]
fn cap_net_raw_alone_captures_in_promiscuous_mode() {
    if let Some(why) = common::lab_missing(&["ip", "setpriv"]) {
        eprintln!("SKIPPED cap_net_raw_alone_captures_in_promiscuous_mode: {why}");
        return;
    }
    // What the unit grants: an unprivileged account whose only capability is CAP_NET_RAW.
    let name = format!("wtcap{}", std::process::id() % 100_000);
    let ip = |args: &[&str]| {
        assert!(
            Command::new("ip").args(args).status().unwrap().success(),
            "ip {args:?}"
        );
    };
    ip(&[
        "link",
        "add",
        &name,
        "type",
        "veth",
        "peer",
        "name",
        &format!("{name}p"),
    ]);
    ip(&["link", "set", &name, "up"]);
    let promiscuity = || -> String {
        let out = Command::new("ip")
            .args(["-d", "link", "show", &name])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        text.split_whitespace()
            .skip_while(|w| *w != "promiscuity")
            .nth(1)
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(promiscuity(), "0");
    let mut sensor = Command::new("setpriv")
        .args(["--reuid=nobody", "--regid=nogroup", "--clear-groups"])
        .args([
            "--inh-caps=+net_raw",
            "--ambient-caps=+net_raw",
            "--bounding-set=-all,+net_raw",
        ])
        .args([env!("CARGO_BIN_EXE_wiretally"), "run", "--interface", &name])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = common::StderrLines::of(&mut sensor);
    stderr.wait_for("capturing on", Duration::from_secs(20));
    let while_running = promiscuity();
    let _ = Command::new("kill")
        .args(["-TERM", &sensor.id().to_string()])
        .status();
    let status = sensor.wait().unwrap();
    let _ = Command::new("ip").args(["link", "del", &name]).status();
    assert!(status.success(), "{}", stderr.rest());
    assert_eq!(
        while_running, "1",
        "the interface was put in promiscuous mode"
    );
}
