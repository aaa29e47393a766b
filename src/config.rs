//! The configuration file (config/wiretally.toml documents every key): the sensor's settings —
//! capture, home networks, limits, signatures, outputs — and the activation policy and
//! licence ledger, which [`crate::policy::config`] builds from the same file.
//!
//! [`read`] parses the file and keeps, with every setting, the line it was written on, so the
//! command line can check values once, whether they came from a flag or from the file, and say
//! `file:line: key` when the file is wrong. Relative paths are taken from the file's folder.

use crate::policy::config::{ActivationDef, LicenseDef};
use crate::signature::SigError;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A value from the file, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Located<T> {
    /// The value.
    pub value: T,
    /// `file:line: key`, to start an error message with.
    pub origin: String,
}

/// The whole file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigFile {
    pub(crate) sensor_name: Option<Spanned<String>>,
    pub(crate) signatures: Option<Spanned<String>>,
    pub(crate) licenses_csv: Option<Spanned<String>>,
    pub(crate) license_overuse_period: Option<Spanned<String>>,
    pub(crate) user: Option<Spanned<String>>,
    #[serde(default)]
    pub(crate) capture: CaptureDef,
    #[serde(default)]
    pub(crate) api: ApiDef,
    #[serde(default)]
    pub(crate) state: StateDef,
    #[serde(default)]
    pub(crate) coverage: CoverageDef,
    #[serde(default)]
    pub(crate) network: NetworkDef,
    #[serde(default)]
    pub(crate) limits: LimitsDef,
    #[serde(default)]
    pub(crate) output: OutputDef,
    #[serde(default)]
    pub(crate) activation: ActivationDef,
    #[serde(default)]
    pub(crate) licenses: Vec<LicenseDef>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CaptureDef {
    interfaces: Option<Spanned<Vec<String>>>,
    bpf: Option<Spanned<String>>,
    snaplen: Option<Spanned<i64>>,
    buffer_mib: Option<Spanned<i64>>,
    workers: Option<Spanned<i64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ApiDef {
    listen: Option<Spanned<String>>,
    tls_cert: Option<Spanned<String>>,
    tls_key: Option<Spanned<String>>,
    client_ca: Option<Spanned<String>>,
    token_file: Option<Spanned<String>>,
    plain_http: Option<Spanned<bool>>,
    metrics_listen: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CoverageDef {
    inventories: Option<Spanned<Vec<String>>>,
    format: Option<Spanned<String>>,
    utc_offset: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StateDef {
    dir: Option<Spanned<String>>,
    save_every: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NetworkDef {
    home: Option<Spanned<Vec<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsDef {
    max_flows: Option<Spanned<i64>>,
    max_hosts: Option<Spanned<i64>>,
    stream_depth: Option<Spanned<i64>>,
    stream_memory_mib: Option<Spanned<i64>>,
    min_confidence: Option<Spanned<f64>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OutputDef {
    events: Option<Spanned<String>>,
    metrics_file: Option<Spanned<String>>,
}

/// The sensor's settings from the file; `None` where the file says nothing.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    /// The `sensor` label of metrics.
    pub sensor_name: Option<Located<String>>,
    /// Folder of signature packs.
    pub signatures: Option<Located<PathBuf>>,
    /// Interfaces to capture on.
    pub interfaces: Option<Located<Vec<String>>>,
    /// BPF filter.
    pub bpf: Option<Located<String>>,
    /// Bytes kept of each packet.
    pub snaplen: Option<Located<i64>>,
    /// Kernel capture buffer, MiB.
    pub buffer_mib: Option<Located<i64>>,
    /// Worker threads.
    pub workers: Option<Located<i64>>,
    /// Home networks, as written.
    pub home: Option<Located<Vec<String>>>,
    /// Most flows.
    pub max_flows: Option<Located<i64>>,
    /// Most hosts.
    pub max_hosts: Option<Located<i64>>,
    /// Bytes of each TCP direction given to parsers.
    pub stream_depth: Option<Located<i64>>,
    /// Heap of all stream buffers, MiB.
    pub stream_memory_mib: Option<Located<i64>>,
    /// Lowest confidence reported.
    pub min_confidence: Option<Located<f64>>,
    /// Event log: a path or `-`.
    pub events: Option<Located<String>>,
    /// Metrics file.
    pub metrics_file: Option<Located<PathBuf>>,
    /// The account to run as after opening the capture, when started as root.
    pub user: Option<Located<String>>,
    /// Address the HTTP API listens on.
    pub api_listen: Option<Located<String>>,
    /// The API's certificate chain (PEM).
    pub tls_cert: Option<Located<PathBuf>>,
    /// The API's private key (PEM).
    pub tls_key: Option<Located<PathBuf>>,
    /// CA that signs client certificates (PEM); clients must present one when set.
    pub client_ca: Option<Located<PathBuf>>,
    /// File holding the bearer token clients must send.
    pub token_file: Option<Located<PathBuf>>,
    /// Serve the API without TLS (must be said explicitly).
    pub plain_http: Option<Located<bool>>,
    /// Address of a plain-HTTP listener serving `/metrics` only.
    pub metrics_listen: Option<Located<String>>,
    /// Folder the inventory is kept in across restarts.
    pub state_dir: Option<Located<PathBuf>>,
    /// How often the inventory is saved while running, as written (a duration).
    pub save_every: Option<Located<String>>,
    /// Agent inventories the daemon cross-checks against (files or folders).
    pub coverage_inventories: Option<Located<Vec<PathBuf>>>,
    /// Their format, as written.
    pub coverage_format: Option<Located<String>>,
    /// The agents' UTC offset, as written.
    pub coverage_utc_offset: Option<Located<String>>,
    /// The file's text, read once: the policy is built from the same text
    /// ([`crate::policy::config::parse`]), so both see one version of the file.
    pub text: String,
}

/// Line (1-based) of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(0, |t| t.matches('\n').count() + 1)
}

/// Parses the whole file; a TOML syntax error, an unknown key or a value of the wrong type is
/// reported with its line.
pub(crate) fn parse_file(path: &Path, text: &str) -> Result<ConfigFile, Vec<SigError>> {
    toml::from_str(text).map_err(|e| {
        vec![SigError {
            file: path.to_path_buf(),
            line: e.span().map_or(0, |s| line_of(text, s.start)),
            message: e.message().to_string(),
        }]
    })
}

/// Reads the sensor's settings from the file at `path`.
pub fn read(path: &Path) -> Result<Settings, Vec<SigError>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![SigError {
            file: path.to_path_buf(),
            line: 0,
            message: format!("cannot read: {e}"),
        }]
    })?;
    let file = parse_file(path, &text)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let at = |span: std::ops::Range<usize>, key: &str| {
        format!("{}:{}: {key}", path.display(), line_of(&text, span.start))
    };
    fn located<T: Clone>(
        v: &Option<Spanned<T>>,
        key: &str,
        at: &dyn Fn(std::ops::Range<usize>, &str) -> String,
    ) -> Option<Located<T>> {
        v.as_ref().map(|s| Located {
            value: s.get_ref().clone(),
            origin: at(s.span(), key),
        })
    }
    let path_of = |v: &Option<Spanned<String>>, key: &str| {
        located(v, key, &at).map(|l| Located {
            value: dir.join(&l.value),
            origin: l.origin,
        })
    };
    let events = located(&file.output.events, "output.events", &at).map(|l| Located {
        value: if l.value == "-" {
            l.value
        } else {
            dir.join(&l.value).display().to_string()
        },
        origin: l.origin,
    });
    Ok(Settings {
        sensor_name: located(&file.sensor_name, "sensor_name", &at),
        signatures: path_of(&file.signatures, "signatures"),
        interfaces: located(&file.capture.interfaces, "capture.interfaces", &at),
        bpf: located(&file.capture.bpf, "capture.bpf", &at),
        snaplen: located(&file.capture.snaplen, "capture.snaplen", &at),
        buffer_mib: located(&file.capture.buffer_mib, "capture.buffer_mib", &at),
        workers: located(&file.capture.workers, "capture.workers", &at),
        home: located(&file.network.home, "network.home", &at),
        max_flows: located(&file.limits.max_flows, "limits.max_flows", &at),
        max_hosts: located(&file.limits.max_hosts, "limits.max_hosts", &at),
        stream_depth: located(&file.limits.stream_depth, "limits.stream_depth", &at),
        stream_memory_mib: located(
            &file.limits.stream_memory_mib,
            "limits.stream_memory_mib",
            &at,
        ),
        min_confidence: located(&file.limits.min_confidence, "limits.min_confidence", &at),
        events,
        metrics_file: path_of(&file.output.metrics_file, "output.metrics_file"),
        user: located(&file.user, "user", &at),
        api_listen: located(&file.api.listen, "api.listen", &at),
        tls_cert: path_of(&file.api.tls_cert, "api.tls_cert"),
        tls_key: path_of(&file.api.tls_key, "api.tls_key"),
        client_ca: path_of(&file.api.client_ca, "api.client_ca"),
        token_file: path_of(&file.api.token_file, "api.token_file"),
        plain_http: located(&file.api.plain_http, "api.plain_http", &at),
        metrics_listen: located(&file.api.metrics_listen, "api.metrics_listen", &at),
        state_dir: path_of(&file.state.dir, "state.dir"),
        save_every: located(&file.state.save_every, "state.save_every", &at),
        coverage_inventories: located(&file.coverage.inventories, "coverage.inventories", &at).map(
            |l| Located {
                value: l.value.iter().map(|p| dir.join(p)).collect(),
                origin: l.origin,
            },
        ),
        coverage_format: located(&file.coverage.format, "coverage.format", &at),
        coverage_utc_offset: located(&file.coverage.utc_offset, "coverage.utc_offset", &at),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads `text` as the file `name` in this process's temporary folder.
    fn settings(name: &str, text: &str) -> Result<Settings, Vec<SigError>> {
        let dir = std::env::temp_dir().join(format!("wiretally-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        read(&path)
    }

    #[test]
    fn values_keep_their_line_and_paths_their_folder() {
        let s = settings(
            "w.toml",
            "sensor_name = \"campus-a\"\nsignatures = \"packs\"\n[capture]\ninterfaces = [\"eth1\"]\nworkers = 2\n[output]\nevents = \"-\"\n",
        )
        .unwrap();
        let workers = s.workers.unwrap();
        assert_eq!(workers.value, 2);
        assert!(
            workers.origin.ends_with("w.toml:5: capture.workers"),
            "{}",
            workers.origin
        );
        let dir = std::env::temp_dir().join(format!("wiretally-config-{}", std::process::id()));
        assert_eq!(s.signatures.unwrap().value, dir.join("packs"));
        assert_eq!(s.events.unwrap().value, "-");
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_their_line() {
        let e = settings("types.toml", "[capture]\nworkers = \"two\"\n").unwrap_err();
        assert_eq!(e[0].line, 2);
        let e = settings("keys.toml", "[limits]\nmax_flow = 3\n").unwrap_err();
        assert_eq!(e[0].line, 2);
        assert!(e[0].message.contains("max_flow"));
    }
}
