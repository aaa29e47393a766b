//! The Debian package: `scripts/deb.sh` builds it with cargo-deb, `dpkg -i` installs it for
//! real, and the installed sensor, account, folders, configuration and unit are checked before
//! `dpkg --purge` removes it all again.
//!
//! Needs root, dpkg and cargo-deb (the README's test command installs cargo-deb); otherwise the
//! test says why and returns without checking anything. It changes the machine it runs on only
//! between the install and the purge, and refuses to run where wiretally is installed already.

use std::path::Path;
use std::process::Command;

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn missing() -> Option<String> {
    if run("id", &["-u"]).1.trim() != "0" {
        return Some("not root".into());
    }
    for tool in ["dpkg", "cargo-deb", "systemd-analyze", "logrotate"] {
        if !run("sh", &["-c", &format!("command -v {tool}")]).0 {
            return Some(format!("{tool} is not installed"));
        }
    }
    if run("dpkg-query", &["-W", "wiretally"]).0 || Path::new("/usr/bin/wiretally").exists() {
        return Some("wiretally is installed on this machine already".into());
    }
    None
}

#[test]
fn the_deb_installs_a_working_sensor_and_purges_cleanly() {
    if let Some(why) = missing() {
        eprintln!("SKIPPED the_deb_installs_a_working_sensor_and_purges_cleanly: {why}");
        return;
    }
    let root = env!("CARGO_MANIFEST_DIR");
    let (ok, out) = run(&format!("{root}/scripts/deb.sh"), &[]);
    assert!(ok, "{out}");
    let deb = format!(
        "{root}/target/debian/wiretally_{}-1_{}.deb",
        env!("CARGO_PKG_VERSION"),
        run("dpkg", &["--print-architecture"]).1.trim()
    );
    let (ok, info) = run("dpkg-deb", &["-I", &deb]);
    assert!(ok && info.contains("libpcap0.8"), "{info}");

    let (ok, out) = run("dpkg", &["-i", &deb]);
    let installed = std::panic::catch_unwind(|| {
        assert!(ok, "{out}");
        let (ok, version) = run("/usr/bin/wiretally", &["--version"]);
        assert!(
            ok && version.contains(env!("CARGO_PKG_VERSION")),
            "{version}"
        );
        // The account, and folders it may use while others may not.
        assert!(run("id", &["wiretally"]).0, "no wiretally account");
        let (_, stat) = run(
            "stat",
            &[
                "-c",
                "%a %U %G",
                "/etc/wiretally",
                "/etc/wiretally/wiretally.toml",
                "/var/lib/wiretally",
            ],
        );
        assert_eq!(
            stat.lines().collect::<Vec<_>>(),
            [
                "750 root wiretally",
                "640 root wiretally",
                "750 wiretally wiretally"
            ],
            "{stat}"
        );
        // The packaged configuration finds the packaged packs.
        let (ok, check) = run(
            "/usr/bin/wiretally",
            &["config", "check", "/etc/wiretally/wiretally.toml"],
        );
        assert!(ok && check.contains("OK (180 products"), "{check}");
        let (ok, sigs) = run(
            "/usr/bin/wiretally",
            &["signatures", "check", "/usr/share/wiretally/signatures"],
        );
        assert!(ok, "{sigs}");
        let (ok, verify) = run(
            "systemd-analyze",
            &["verify", "/usr/lib/systemd/system/wiretally.service"],
        );
        assert!(ok, "{verify}");
        assert!(Path::new("/usr/share/wiretally/prometheus/alerts.yml").is_file());
        let (ok, rotate) = run("logrotate", &["--debug", "/etc/logrotate.d/wiretally"]);
        assert!(ok && !rotate.contains("error"), "{rotate}");
    });
    let (purged, out) = run("dpkg", &["--purge", "wiretally"]);
    if let Err(e) = installed {
        std::panic::resume_unwind(e);
    }
    assert!(purged, "{out}");
    for gone in ["/usr/bin/wiretally", "/etc/wiretally", "/var/lib/wiretally"] {
        assert!(!Path::new(gone).exists(), "{gone} left after purge");
    }
}
