//! Settings of a run: flags, the configuration file and defaults merged, then checked once.
//!
//! A flag wins over the file's key for the same setting, and defaults fill what neither gives.
//! Every value is checked wherever it came from, and a problem names its origin: `--workers 0`
//! or `/etc/wiretally/wiretally.toml:7: capture.workers 0`. All problems are collected before
//! anything is opened, so one run shows them all.

use crate::cli::{Common, LiveFlags};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_rustls::rustls::ServerConfig;
use wiretally::capture::LiveOptions;
use wiretally::config::{self, Located};
use wiretally::coverage::agents::Format;
use wiretally::inventory::InventoryLimits;
use wiretally::inventory::hosts::HomeNets;
use wiretally::pipeline::engine::EngineConfig;
use wiretally::pipeline::flow::FlowLimits;
use wiretally::pipeline::fragment::FragLimits;
use wiretally::pipeline::worker::WorkerConfig;
use wiretally::policy::{self, Policy};
use wiretally::signature;

/// Largest stream depth accepted: a megabyte per direction is already far past any handshake.
const MAX_STREAM_DEPTH: i64 = 1 << 20;
/// Largest memory setting accepted, MiB (64 GiB): more is a typo.
const MAX_MEMORY_MIB: i64 = 64 << 10;
/// More workers than this is a typo, not a machine.
const MAX_WORKERS: i64 = 256;
/// libpcap's own ceiling for the snap length (MAXIMUM_SNAPLEN).
const MAX_SNAPLEN: i64 = 262_144;
/// Largest kernel capture buffer accepted, MiB (libpcap takes the size as a C int of bytes).
const MAX_BUFFER_MIB: i64 = 2047;
/// Where packs are looked for when neither a flag nor the file names a folder.
const DEFAULT_SIGNATURES: &str = "signatures";

/// Validated settings.
pub struct Settings {
    /// The pipeline.
    pub engine: EngineConfig,
    /// Home networks.
    pub home: HomeNets,
    /// Inventory limits.
    pub limits: InventoryLimits,
    /// Event log: a path or `-`.
    pub events: Option<String>,
    /// The packs.
    pub signatures: Arc<signature::Signatures>,
    /// Activation policy and ledger.
    pub policy: Policy,
    /// Print the inventory document.
    pub json: bool,
    /// Where metrics go.
    pub metrics: MetricsOut,
    /// What to capture, for `run`.
    pub live: Option<LiveOptions>,
    /// The HTTP API and metrics listeners, for `run`.
    pub api: ApiSettings,
    /// Folder the inventory is kept in across restarts.
    pub state_dir: Option<PathBuf>,
    /// How often the inventory is saved while running.
    pub save_every: Duration,
    /// Agent inventories the daemon cross-checks against, their format and the agents' UTC
    /// offset in seconds.
    pub coverage: Option<(Vec<PathBuf>, Option<Format>, i64)>,
    /// The account to switch to after opening the capture, when started as root.
    pub user: Option<nix::unistd::User>,
}

/// What the HTTP side serves, checked and loaded (certificates, token) before anything binds.
#[derive(Default)]
pub struct ApiSettings {
    /// Where the API listens, when it is on.
    pub listen: Option<SocketAddr>,
    /// TLS, unless plain HTTP was asked for.
    pub tls: Option<Arc<ServerConfig>>,
    /// The bearer token clients must send.
    pub token: Option<String>,
    /// A plain-HTTP listener for `/metrics` only.
    pub metrics_listen: Option<SocketAddr>,
}

/// Shortest and longest accepted saving period: more often would cost the pipeline more than it
/// saves; less often than daily is a typo.
const SAVE_EVERY: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(10)..=Duration::from_secs(86_400);

/// Where the API listens when it is on and no address is given.
const DEFAULT_API_LISTEN: &str = "127.0.0.1:9620";

/// Where the metrics go at the end of a run, and what they say about the sensor.
pub struct MetricsOut {
    /// The metrics file.
    pub file: Option<PathBuf>,
    /// The `sensor` label.
    pub sensor_name: String,
    /// When the configuration and packs were loaded, seconds since the epoch.
    pub loaded_at: f64,
}

/// A setting's value and where it came from.
struct Chosen<T> {
    value: T,
    origin: String,
}

/// The flag's value if given, else the file's, else the default.
fn choose<T: Clone>(
    flag: Option<T>,
    flag_name: &str,
    file: &Option<Located<T>>,
    default: T,
) -> Chosen<T> {
    match (flag, file) {
        (Some(value), _) => Chosen {
            value,
            origin: flag_name.to_string(),
        },
        (None, Some(l)) => Chosen {
            value: l.value.clone(),
            origin: l.origin.clone(),
        },
        (None, None) => Chosen {
            value: default,
            origin: format!("{flag_name} (default)"),
        },
    }
}

/// Checks that a whole-number setting lies in `range`; returns it as usize.
fn in_range(
    c: Chosen<i64>,
    range: std::ops::RangeInclusive<i64>,
    errors: &mut Vec<String>,
) -> usize {
    if !range.contains(&c.value) {
        errors.push(format!(
            "{} {}: must be {} to {}",
            c.origin,
            c.value,
            range.start(),
            range.end()
        ));
        return 1;
    }
    usize::try_from(c.value).unwrap_or(1)
}

fn as_i64(v: Option<usize>) -> Option<i64> {
    v.map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

/// The machine's host name, the default sensor name.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "wiretally".to_string())
}

/// Loads the packs; every problem is added to `errors`.
fn load_signatures(dir: Option<PathBuf>, errors: &mut Vec<String>) -> signature::Signatures {
    let dir = match dir {
        Some(d) => d,
        None if Path::new(DEFAULT_SIGNATURES).is_dir() => DEFAULT_SIGNATURES.into(),
        None => {
            eprintln!(
                "wiretally: no ./{DEFAULT_SIGNATURES} folder and no signatures setting: products will not be inferred."
            );
            return signature::Signatures::default();
        }
    };
    signature::load_dir(&dir).unwrap_or_else(|problems| {
        errors.extend(problems.iter().map(|p| p.to_string()));
        signature::Signatures::default()
    })
}

/// Merges flags, the configuration file `c.config` names and defaults, and checks the result.
/// `live` is given for `run`.
pub fn resolve(c: &Common, live: Option<&LiveFlags>) -> Result<Settings, Vec<String>> {
    resolve_with(c, live, false)
}

/// Like [`resolve`] for `run`, for a SIGHUP reload: the API's certificates, key, CA and token and
/// the account are not read again (they take effect at the next start, and the files may be
/// unreadable once privileges are dropped).
pub fn resolve_reload(c: &Common, live: &LiveFlags) -> Result<Settings, Vec<String>> {
    resolve_with(c, Some(live), true)
}

fn resolve_with(
    c: &Common,
    live: Option<&LiveFlags>,
    reload: bool,
) -> Result<Settings, Vec<String>> {
    let mut errors = Vec::new();
    let metrics_flag = live.and_then(|l| l.metrics_listen.clone());
    let (file, file_read) = match &c.config {
        Some(path) => match config::read(path) {
            Ok(f) => (f, true),
            Err(problems) => {
                errors.extend(problems.iter().map(|p| p.to_string()));
                (config::Settings::default(), false)
            }
        },
        None => (config::Settings::default(), false),
    };
    let workers = in_range(
        choose(as_i64(c.workers), "--workers", &file.workers, 1),
        1..=MAX_WORKERS,
        &mut errors,
    );
    let stream_depth = in_range(
        choose(
            as_i64(c.stream_depth),
            "--stream-depth",
            &file.stream_depth,
            16 * 1024,
        ),
        1..=MAX_STREAM_DEPTH,
        &mut errors,
    );
    let stream_memory_mib = in_range(
        choose(
            as_i64(c.stream_memory_mib),
            "--stream-memory-mib",
            &file.stream_memory_mib,
            256,
        ),
        1..=MAX_MEMORY_MIB,
        &mut errors,
    );
    let max_flows = in_range(
        choose(
            as_i64(c.max_flows),
            "--max-flows",
            &file.max_flows,
            1_000_000,
        ),
        1..=i64::from(u32::MAX),
        &mut errors,
    );
    let max_hosts = in_range(
        choose(as_i64(c.max_hosts), "--max-hosts", &file.max_hosts, 65_536),
        1..=i64::from(u32::MAX),
        &mut errors,
    );
    let min_confidence = choose(
        c.min_confidence,
        "--min-confidence",
        &file.min_confidence,
        0.35,
    );
    if !(0.0..=1.0).contains(&min_confidence.value) {
        errors.push(format!(
            "{} {}: must be between 0 and 1",
            min_confidence.origin, min_confidence.value
        ));
    }
    let events = c
        .events
        .clone()
        .or_else(|| file.events.as_ref().map(|l| l.value.clone()));
    if c.json && events.as_deref() == Some("-") {
        errors.push(
            "--json and an event log on stdout (-) both write to stdout: send the events to a file"
                .into(),
        );
    }
    let home_flags = (!c.home_nets.is_empty()).then(|| c.home_nets.clone());
    let home = choose(home_flags, "--home-net", &file.home, Vec::new());
    let mut nets = Vec::new();
    for n in &home.value {
        match n.parse() {
            Ok(net) => nets.push(net),
            Err(e) => errors.push(format!("{} {n:?}: {e}", home.origin)),
        }
    }
    // The file's capture settings are checked even when nothing is captured (`analyze`,
    // `config check`), so a daemon's file is judged whole before it is deployed.
    let capture_keys = file.interfaces.is_some()
        || file.bpf.is_some()
        || file.snaplen.is_some()
        || file.buffer_mib.is_some();
    let live = match live {
        Some(l) => Some(live_options(l, &file, &mut errors)),
        None if capture_keys => {
            live_options(&LiveFlags::default(), &file, &mut errors);
            None
        }
        None => None,
    };
    let signatures = c
        .signatures
        .clone()
        .or_else(|| file.signatures.as_ref().map(|l| l.value.clone()));
    let signatures = Arc::new(load_signatures(signatures, &mut errors));
    let policy = match &c.config {
        Some(path) if file_read => policy::config::parse(path, &file.text, &signatures)
            .unwrap_or_else(|problems| {
                errors.extend(problems.iter().map(|p| p.to_string()));
                Policy::default()
            }),
        _ => Policy::default(),
    };
    let api = if reload {
        ApiSettings::default()
    } else {
        api_settings(metrics_flag.as_deref(), &file, &mut errors)
    };
    let state_dir = c
        .state_dir
        .clone()
        .or_else(|| file.state_dir.as_ref().map(|l| l.value.clone()));
    let save_every = match &file.save_every {
        None => Duration::from_secs(300),
        Some(l) => match humantime::parse_duration(&l.value) {
            Ok(d) if SAVE_EVERY.contains(&d) => d,
            Ok(_) => {
                errors.push(format!("{} {:?}: must be 10s to 1day", l.origin, l.value));
                Duration::from_secs(300)
            }
            Err(e) => {
                errors.push(format!("{} {:?}: {e}", l.origin, l.value));
                Duration::from_secs(300)
            }
        },
    };
    let coverage_format = file
        .coverage_format
        .as_ref()
        .and_then(|l| match l.value.as_str() {
            "csv" => Some(Format::Csv),
            "glpi" => Some(Format::Glpi),
            "osquery" => Some(Format::Osquery),
            other => {
                errors.push(format!("{} {other:?}: one of csv, glpi, osquery", l.origin));
                None
            }
        });
    let coverage = file.coverage_inventories.as_ref().map(|l| {
        for p in &l.value {
            if !p.exists() {
                errors.push(format!(
                    "{} {}: no such file or folder",
                    l.origin,
                    p.display()
                ));
            }
        }
        let offset = match &file.coverage_utc_offset {
            None => 8 * 3600,
            Some(o) => {
                wiretally::coverage::agents::parse_utc_offset(&o.value).unwrap_or_else(|e| {
                    errors.push(format!("{} {e}", o.origin));
                    0
                })
            }
        };
        (l.value.clone(), coverage_format, offset)
    });
    let user = file.user.as_ref().filter(|_| !reload).and_then(|u| {
        match nix::unistd::User::from_name(&u.value) {
            Ok(Some(user)) => Some(user),
            Ok(None) => {
                errors.push(format!("{} {:?}: no such account", u.origin, u.value));
                None
            }
            Err(e) => {
                errors.push(format!("{} {:?}: {e}", u.origin, u.value));
                None
            }
        }
    });
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Settings {
        engine: EngineConfig {
            workers,
            worker: WorkerConfig {
                flows: FlowLimits {
                    max_flows,
                    ..FlowLimits::default()
                },
                stream_depth,
                stream_memory: stream_memory_mib.saturating_mul(1 << 20),
                fragments: FragLimits::default(),
            },
            tick_secs: 5,
        },
        home: if nets.is_empty() {
            HomeNets::defaults()
        } else {
            HomeNets::new(nets)
        },
        limits: InventoryLimits {
            max_hosts,
            min_confidence: min_confidence.value,
            ..InventoryLimits::default()
        },
        events,
        signatures,
        policy,
        json: c.json,
        metrics: MetricsOut {
            file: c
                .metrics_file
                .clone()
                .or_else(|| file.metrics_file.as_ref().map(|l| l.value.clone())),
            sensor_name: c
                .sensor_name
                .clone()
                .or_else(|| file.sensor_name.as_ref().map(|l| l.value.clone()))
                .unwrap_or_else(host_name),
            loaded_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        },
        live,
        api,
        state_dir,
        save_every,
        coverage,
        user,
    })
}

/// An address setting: `host:port` with a literal address.
fn address(value: &str, origin: &str, errors: &mut Vec<String>) -> Option<SocketAddr> {
    match value.parse() {
        Ok(a) => Some(a),
        Err(e) => {
            errors.push(format!(
                "{origin} {value:?}: {e} (give an address and port, such as 127.0.0.1:9620)"
            ));
            None
        }
    }
}

/// The API's settings: on when the file gives `api.listen`, a certificate or `plain_http`;
/// TLS unless `plain_http = true`; certificates, CA and token read now, so a bad one stops
/// the start (and `config check`) rather than the first client.
fn api_settings(
    metrics_flag: Option<&str>,
    file: &config::Settings,
    errors: &mut Vec<String>,
) -> ApiSettings {
    let metrics_listen = match (metrics_flag, &file.metrics_listen) {
        (Some(a), _) => address(a, "--metrics-listen", errors),
        (None, Some(l)) => address(&l.value, &l.origin, errors),
        (None, None) => None,
    };
    let plain = file.plain_http.as_ref().is_some_and(|p| p.value);
    let on = file.api_listen.is_some() || file.tls_cert.is_some() || plain;
    if !on {
        for (set, key) in [
            (file.tls_key.as_ref().map(|l| &l.origin), "api.tls_key"),
            (file.client_ca.as_ref().map(|l| &l.origin), "api.client_ca"),
            (
                file.token_file.as_ref().map(|l| &l.origin),
                "api.token_file",
            ),
        ] {
            if let Some(origin) = set {
                errors.push(format!(
                    "{origin}: {key} without api.listen, api.tls_cert or api.plain_http: the API is off"
                ));
            }
        }
        return ApiSettings {
            metrics_listen,
            ..ApiSettings::default()
        };
    }
    let listen = match &file.api_listen {
        Some(l) => address(&l.value, &l.origin, errors),
        None => DEFAULT_API_LISTEN.parse().ok(),
    };
    let tls = match (&file.tls_cert, &file.tls_key) {
        (Some(cert), Some(key)) if !plain => wiretally::serve::tls::server_config(
            &cert.value,
            &key.value,
            file.client_ca.as_ref().map(|c| c.value.as_path()),
        )
        .map_err(|e| errors.push(format!("{}: {e}", cert.origin)))
        .ok(),
        (Some(l), _) | (_, Some(l)) if plain => {
            errors.push(format!(
                "{}: a certificate or key with api.plain_http = true: choose one",
                l.origin
            ));
            None
        }
        (Some(l), None) | (None, Some(l)) => {
            errors.push(format!(
                "{}: api.tls_cert and api.tls_key go together",
                l.origin
            ));
            None
        }
        _ if plain => {
            if let Some(ca) = &file.client_ca {
                errors.push(format!(
                    "{}: client certificates need TLS, and api.plain_http is true",
                    ca.origin
                ));
            }
            None
        }
        _ => {
            errors.push(format!(
                "{}: the API needs api.tls_cert and api.tls_key, or api.plain_http = true to serve without TLS",
                file.api_listen.as_ref().map_or("api", |l| l.origin.as_str())
            ));
            None
        }
    };
    let token = file
        .token_file
        .as_ref()
        .and_then(|t| match std::fs::read_to_string(&t.value) {
            Ok(text) if !text.trim().is_empty() && text.trim().is_ascii() => {
                Some(text.trim().to_string())
            }
            Ok(_) => {
                errors.push(format!(
                    "{} {}: the file is empty or not ASCII",
                    t.origin,
                    t.value.display()
                ));
                None
            }
            Err(e) => {
                errors.push(format!("{} {}: {e}", t.origin, t.value.display()));
                None
            }
        });
    ApiSettings {
        listen,
        tls,
        token,
        metrics_listen,
    }
}

/// What `run` captures: the interface, filter, snap length and buffer.
fn live_options(l: &LiveFlags, file: &config::Settings, errors: &mut Vec<String>) -> LiveOptions {
    let interface = match (&l.interface, &file.interfaces) {
        (Some(i), _) => i.clone(),
        (None, Some(list)) if list.value.len() == 1 => list.value[0].clone(),
        (None, Some(list)) => {
            errors.push(format!(
                "{}: one interface per sensor process (found {}); run one sensor per mirror port",
                list.origin,
                list.value.len()
            ));
            String::new()
        }
        (None, None) => {
            errors.push("no interface: give --interface or capture.interfaces".into());
            String::new()
        }
    };
    let snaplen = in_range(
        choose(l.snaplen.map(i64::from), "--snaplen", &file.snaplen, 65_535),
        1..=MAX_SNAPLEN,
        errors,
    );
    let buffer_mib = in_range(
        choose(
            l.buffer_mib.map(i64::from),
            "--buffer-mib",
            &file.buffer_mib,
            64,
        ),
        1..=MAX_BUFFER_MIB,
        errors,
    );
    LiveOptions {
        interface,
        bpf: l
            .bpf
            .clone()
            .or_else(|| file.bpf.as_ref().map(|b| b.value.clone())),
        snaplen: i32::try_from(snaplen).unwrap_or(65_535),
        buffer_mib: i32::try_from(buffer_mib).unwrap_or(64),
    }
}
