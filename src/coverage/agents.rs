//! Agent inventories read into one shape: hosts with their MACs, addresses, name and software.
//!
//! Three inputs: a CSV (one row per software, host columns repeated; UTF-8, or GBK/GB18030 as
//! Chinese spreadsheets export), GLPI Agent inventory JSON (`content.hardware`,
//! `content.networks`, `content.softwares`; a file or a folder of them), and osquery results
//! (`osqueryi --json` arrays or osqueryd's NDJSON result log) over `programs`, `deb_packages`,
//! `rpm_packages`, `apps`, `os_version`, `interface_details`, `interface_addresses` and
//! `system_info`. A bad row or entry is reported with its file and line (or JSON path) and
//! skipped; the rest is read.

use crate::event::{Mac, Timestamp};
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// Most hosts read from all inputs together, and most software entries per host: an input that
/// claims more is cut, and the cut is reported.
pub const MAX_AGENT_HOSTS: usize = 200_000;
/// Most software entries kept per host.
pub const MAX_SOFTWARE_PER_HOST: usize = 4096;
/// Largest input file read, bytes.
pub const MAX_FILE_BYTES: u64 = 512 << 20;

/// One piece of software an agent recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentSoftware {
    /// Its name as recorded.
    pub name: String,
    /// Version, when recorded.
    pub version: Option<String>,
    /// Publisher, when recorded.
    pub publisher: Option<String>,
}

/// One host an agent inventory knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentHost {
    /// The file it came from.
    pub source: PathBuf,
    /// Its name.
    pub hostname: Option<String>,
    /// Its MACs.
    pub macs: Vec<Mac>,
    /// Its addresses.
    pub ips: Vec<IpAddr>,
    /// When the agent took the inventory, when it says.
    pub taken: Option<Timestamp>,
    /// Its software.
    pub software: Vec<AgentSoftware>,
}

impl AgentHost {
    /// Adds a software entry unless the same name and version is there; returns false when the
    /// host already holds [`MAX_SOFTWARE_PER_HOST`] entries (the entry is then dropped).
    pub fn record(&mut self, sw: AgentSoftware) -> bool {
        if self
            .software
            .iter()
            .any(|s| s.name == sw.name && s.version == sw.version)
        {
            return true;
        }
        if self.software.len() >= MAX_SOFTWARE_PER_HOST {
            return false;
        }
        self.software.push(sw);
        true
    }
}

/// A row or entry that was skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: PathBuf,
    /// Line (1-based) or, for JSON, 0 with the path in `message`.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// CSV with ip, mac, hostname, software, version, publisher columns.
    Csv,
    /// GLPI Agent inventory JSON.
    Glpi,
    /// osquery results (JSON array or NDJSON result log).
    Osquery,
}

/// Problems kept with their text; beyond this they are only counted.
pub const MAX_PROBLEMS: usize = 1000;

/// What the inputs gave.
#[derive(Debug, Default)]
pub struct Agents {
    /// Hosts, in input order.
    pub hosts: Vec<AgentHost>,
    /// Rows and entries skipped (the first [`MAX_PROBLEMS`]).
    pub problems: Vec<Problem>,
    /// Problems beyond those kept.
    pub more_problems: usize,
    /// Things worth knowing that are not problems: a file read as GB18030.
    pub notes: Vec<String>,
    /// Hosts left out because [`MAX_AGENT_HOSTS`] were read.
    pub hosts_left_out: usize,
    /// The agents' offset from UTC, seconds east: GLPI writes its inventory time in local
    /// time without saying which.
    pub utc_offset_secs: i64,
}

impl Agents {
    fn problem(&mut self, file: &Path, line: usize, message: impl Into<String>) {
        if self.problems.len() >= MAX_PROBLEMS {
            self.more_problems += 1;
            return;
        }
        self.problems.push(Problem {
            file: file.to_path_buf(),
            line,
            message: message.into(),
        });
    }

    /// Says that a host's software list was full and an entry was left out.
    fn cut(&mut self, file: &Path, line: usize) {
        self.problem(
            file,
            line,
            format!(
                "the host already has {MAX_SOFTWARE_PER_HOST} software entries; this one left out"
            ),
        );
    }

    /// All problems, the uncounted ones included.
    pub fn problem_count(&self) -> usize {
        self.problems.len() + self.more_problems
    }

    fn add(&mut self, host: AgentHost) {
        if self.hosts.len() >= MAX_AGENT_HOSTS {
            self.hosts_left_out += 1;
            return;
        }
        self.hosts.push(host);
    }

    /// Reads `path` (a file, or for GLPI a folder of `.json` files) in `format`, or the format
    /// its content shows.
    pub fn read(&mut self, path: &Path, format: Option<Format>) {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = match std::fs::read_dir(path) {
                Ok(d) => d
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|x| x == "json"))
                    .collect(),
                Err(e) => {
                    self.problem(path, 0, format!("cannot read the folder: {e}"));
                    return;
                }
            };
            files.sort();
            for f in files {
                self.read(&f, format);
            }
            return;
        }
        let bytes = match std::fs::metadata(path) {
            Ok(m) if m.len() > MAX_FILE_BYTES => {
                self.problem(
                    path,
                    0,
                    format!("larger than {MAX_FILE_BYTES} bytes; not read"),
                );
                return;
            }
            Ok(_) => match std::fs::read(path) {
                Ok(b) => b,
                Err(e) => {
                    self.problem(path, 0, format!("cannot read: {e}"));
                    return;
                }
            },
            Err(e) => {
                self.problem(path, 0, format!("cannot read: {e}"));
                return;
            }
        };
        self.read_bytes(path, &bytes, format);
    }

    /// Reads one file's bytes (named `path` in problems) in `format`, or the format its content
    /// shows.
    pub fn read_bytes(&mut self, path: &Path, bytes: &[u8], format: Option<Format>) {
        let text = decode(bytes);
        if std::str::from_utf8(bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes)).is_err() {
            self.notes.push(format!(
                "{}: not UTF-8, read as GBK/GB18030",
                path.display()
            ));
        }
        match format.unwrap_or_else(|| detect(&text)) {
            Format::Csv => self.read_csv(path, &text),
            Format::Glpi => self.read_glpi(path, &text),
            Format::Osquery => self.read_osquery(path, &text),
        }
    }
}

/// UTF-8 (a byte-order mark dropped), or else GB18030, the superset of GBK that Chinese
/// spreadsheets export.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(t) => t.to_string(),
        Err(_) => encoding_rs::GB18030.decode(bytes).0.into_owned(),
    }
}

/// The format a text looks like: JSON with `content` is GLPI's, other JSON is osquery's, the
/// rest is CSV.
pub fn detect(text: &str) -> Format {
    let t = text.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        let first = t.lines().next().unwrap_or_default();
        if t.starts_with('{')
            && (t.contains("\"content\"") && !first.contains("\"hostIdentifier\""))
        {
            Format::Glpi
        } else {
            Format::Osquery
        }
    } else {
        Format::Csv
    }
}

/// A MAC as agents write it (`:` or `-`), all-zero and group addresses refused.
fn mac_of(text: &str) -> Option<Mac> {
    let mac: Mac = text.trim().parse().ok()?;
    (!mac.is_zero() && !mac.is_group()).then_some(mac)
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.chars().take(256).collect())
}

/// What identifies a host in a CSV row: its MAC, else its name (first label, lower case),
/// else its address; rows of one host share it even when some leave a column empty.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum HostKey {
    Mac(Mac),
    Name(String),
    Ip(IpAddr),
}

/// An osquery row: the host it belongs to, its line, when it was taken, whether it says the
/// row was removed (osqueryd's differential `removed`), and its columns.
type OsqueryRow = (
    String,
    usize,
    Option<Timestamp>,
    bool,
    serde_json::Map<String, Value>,
);

/// Column names a CSV header may use for each field, English and Chinese.
const CSV_COLUMNS: [(&str, &[&str]); 7] = [
    (
        "date",
        &[
            "date",
            "inventory date",
            "seen",
            "last seen",
            "采集时间",
            "盘点时间",
            "日期",
        ],
    ),
    ("ip", &["ip", "ip address", "ip地址", "ip 地址", "地址"]),
    (
        "mac",
        &["mac", "mac address", "mac地址", "mac 地址", "物理地址"],
    ),
    (
        "hostname",
        &[
            "hostname",
            "host name",
            "computer name",
            "计算机名",
            "主机名",
            "计算机名称",
        ],
    ),
    (
        "software",
        &[
            "software",
            "software name",
            "name",
            "软件",
            "软件名称",
            "名称",
        ],
    ),
    ("version", &["version", "版本", "软件版本"]),
    (
        "publisher",
        &["publisher", "vendor", "发行商", "厂商", "发布者"],
    ),
];

impl Agents {
    fn read_csv(&mut self, path: &Path, text: &str) {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header: Vec<String> = match reader.headers() {
            Ok(h) => h.iter().map(|c| c.to_lowercase()).collect(),
            Err(e) => {
                self.problem(path, 1, format!("no header row: {e}"));
                return;
            }
        };
        let column = |field: &str| -> Option<usize> {
            let names = CSV_COLUMNS.iter().find(|(f, _)| *f == field)?.1;
            header.iter().position(|h| names.contains(&h.as_str()))
        };
        let (ip, mac, name, software, version, publisher) = (
            column("ip"),
            column("mac"),
            column("hostname"),
            column("software"),
            column("version"),
            column("publisher"),
        );
        let date = column("date");
        if ip.is_none() && mac.is_none() && name.is_none() {
            self.problem(path, 1, "the header names no ip, mac or hostname column");
            return;
        }
        // Rows of one host share its identifiers; hosts keep the order they first appear in.
        let mut hosts: BTreeMap<HostKey, usize> = BTreeMap::new();
        let short = |n: &str| n.split('.').next().unwrap_or_default().to_lowercase();
        let mut out: Vec<AgentHost> = Vec::new();
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| p.line() as usize);
                    self.problem(path, line, format!("unreadable row: {e}"));
                    continue;
                }
            };
            // The line the row starts on, quoted line breaks counted.
            let line = record.position().map_or(0, |p| p.line() as usize);
            let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).and_then(non_empty);
            let row_mac = match cell(mac) {
                None => None,
                Some(m) => match mac_of(&m) {
                    Some(m) => Some(m),
                    None => {
                        self.problem(path, line, format!("mac {m:?} is not a host's MAC address"));
                        continue;
                    }
                },
            };
            let row_ip = match cell(ip) {
                None => None,
                Some(a) => match a.parse::<IpAddr>() {
                    Ok(a) => Some(a),
                    Err(_) => {
                        self.problem(path, line, format!("ip {a:?} is not an IP address"));
                        continue;
                    }
                },
            };
            let row_name = cell(name);
            let row_date = match cell(date) {
                None => None,
                Some(d) if day_only(&d) => None,
                Some(d) => {
                    match local_time(&d, self.utc_offset_secs) {
                        Some(t) => Some(t),
                        None => {
                            self.problem(
                            path,
                            line,
                            format!("date {d:?}: not a date and time (2026-11-30 08:15:02 or RFC 3339)"),
                        );
                            continue;
                        }
                    }
                }
            };
            if row_mac.is_none() && row_ip.is_none() && row_name.is_none() {
                self.problem(path, line, "no ip, mac or hostname: the row names no host");
                continue;
            }
            // A row joins the host of its MAC, else of its name, else of its address; it adds
            // what it knows to that host.
            let keys: Vec<HostKey> = [
                row_mac.map(HostKey::Mac),
                row_name.as_deref().map(|n| HostKey::Name(short(n))),
                row_ip.map(HostKey::Ip),
            ]
            .into_iter()
            .flatten()
            .collect();
            let index = match keys.iter().find_map(|k| hosts.get(k)) {
                Some(&i) => i,
                None => {
                    out.push(AgentHost {
                        source: path.to_path_buf(),
                        ..AgentHost::default()
                    });
                    out.len() - 1
                }
            };
            for k in keys {
                hosts.entry(k).or_insert(index);
            }
            let host = &mut out[index];
            host.taken = host.taken.max(row_date);
            if host.hostname.is_none() {
                host.hostname = row_name;
            }
            if let Some(m) = row_mac
                && !host.macs.contains(&m)
            {
                host.macs.push(m);
            }
            if let Some(ip) = row_ip
                && !host.ips.contains(&ip)
            {
                host.ips.push(ip);
            }
            match cell(software) {
                Some(sw) => {
                    let entry = AgentSoftware {
                        name: sw,
                        version: cell(version),
                        publisher: cell(publisher),
                    };
                    if !out[index].record(entry) {
                        self.cut(path, line);
                    }
                }
                None if software.is_some() => {
                    self.problem(path, line, "no software name");
                }
                None => {}
            }
        }
        for h in out {
            self.add(h);
        }
    }

    fn read_glpi(&mut self, path: &Path, text: &str) {
        let doc: Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                self.problem(path, e.line(), format!("not JSON: {e}"));
                return;
            }
        };
        let Some(content) = doc.get("content").filter(|c| c.is_object()) else {
            self.problem(path, 1, "no content object: not a GLPI inventory");
            return;
        };
        let text_at = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).and_then(non_empty);
        let mut host = AgentHost {
            source: path.to_path_buf(),
            hostname: content.get("hardware").and_then(|h| text_at(h, "name")),
            taken: content
                .get("accesslog")
                .and_then(|a| text_at(a, "logdate"))
                .and_then(|d| glpi_date(&d, self.utc_offset_secs)),
            ..AgentHost::default()
        };
        for (i, net) in content
            .get("networks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(m) = text_at(net, "macaddr") {
                match mac_of(&m) {
                    Some(mac) if !host.macs.contains(&mac) => host.macs.push(mac),
                    Some(_) => {}
                    // Loopback and virtual adapters report zero MACs; not a problem.
                    None if m.trim_matches(['0', ':', '-']).is_empty() => {}
                    None => self.problem(
                        path,
                        0,
                        format!("content.networks[{i}].macaddr {m:?}: not a MAC address"),
                    ),
                }
            }
            if let Some(a) = text_at(net, "ipaddress") {
                match a.parse::<IpAddr>() {
                    Ok(ip) if !ip.is_loopback() && !host.ips.contains(&ip) => host.ips.push(ip),
                    Ok(_) => {}
                    Err(_) => self.problem(
                        path,
                        0,
                        format!("content.networks[{i}].ipaddress {a:?}: not an IP address"),
                    ),
                }
            }
        }
        if let Some(os) = content.get("operatingsystem")
            && let Some(name) = text_at(os, "full_name").or_else(|| text_at(os, "name"))
        {
            host.record(AgentSoftware {
                name,
                version: text_at(os, "version"),
                publisher: None,
            });
        }
        for (i, sw) in content
            .get("softwares")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            match text_at(sw, "name") {
                Some(name) => {
                    let sw = AgentSoftware {
                        name,
                        version: text_at(sw, "version"),
                        publisher: text_at(sw, "publisher"),
                    };
                    if !host.record(sw) {
                        self.cut(path, 0);
                    }
                }
                None => self.problem(path, 0, format!("content.softwares[{i}]: no name")),
            }
        }
        if host.hostname.is_none() && host.macs.is_empty() && host.ips.is_empty() {
            self.problem(
                path,
                0,
                "content.hardware.name and content.networks name no host",
            );
            return;
        }
        self.add(host);
    }

    fn read_osquery(&mut self, path: &Path, text: &str) {
        // Rows with the host they belong to (osqueryd's hostIdentifier; one host for an
        // osqueryi array) and their line.
        let mut rows: Vec<OsqueryRow> = Vec::new();
        if text.trim_start().starts_with('[') {
            match serde_json::from_str::<Vec<Value>>(text) {
                Ok(array) => {
                    for (i, row) in array.into_iter().enumerate() {
                        match row {
                            Value::Object(m) => rows.push((String::new(), 0, None, false, m)),
                            _ => self.problem(path, 0, format!("[{i}]: not an object")),
                        }
                    }
                }
                Err(e) => {
                    self.problem(path, e.line(), format!("not JSON: {e}"));
                    return;
                }
            }
        } else {
            for (n, line) in text.lines().enumerate() {
                let line_no = n + 1;
                if line.trim().is_empty() {
                    continue;
                }
                let v: Value = match serde_json::from_str(line) {
                    Ok(v) => v,
                    Err(e) => {
                        self.problem(path, line_no, format!("not a JSON result line: {e}"));
                        continue;
                    }
                };
                let host = v
                    .get("hostIdentifier")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let taken = v
                    .get("unixTime")
                    .and_then(Value::as_i64)
                    .map(|s| Timestamp::from_parts(s, 0));
                let mut columns = Vec::new();
                if let Some(Value::Object(c)) = v.get("columns") {
                    columns.push(c.clone());
                }
                if let Some(Value::Array(snapshot)) = v.get("snapshot") {
                    columns.extend(snapshot.iter().filter_map(|r| r.as_object().cloned()));
                }
                if columns.is_empty() {
                    self.problem(path, line_no, "no columns or snapshot");
                }
                let removed = v.get("action").and_then(Value::as_str) == Some("removed");
                rows.extend(
                    columns
                        .into_iter()
                        .map(|c| (host.clone(), line_no, taken, removed, c)),
                );
            }
        }
        let mut by_host: BTreeMap<String, AgentHost> = BTreeMap::new();
        for (id, line, taken, removed, row) in rows {
            let host = by_host.entry(id.clone()).or_insert_with(|| AgentHost {
                source: path.to_path_buf(),
                hostname: non_empty(&id),
                ..AgentHost::default()
            });
            host.taken = host.taken.max(taken);
            let get = |k: &str| row.get(k).and_then(Value::as_str).and_then(non_empty);
            if let Some(name) = get("computer_name").or_else(|| get("hostname"))
                && (row.contains_key("cpu_brand")
                    || row.contains_key("hardware_vendor")
                    || row.contains_key("computer_name"))
            {
                host.hostname = Some(name);
            } else if row.contains_key("platform") && row.contains_key("major") {
                if let Some(name) = get("name") {
                    let version = get("version");
                    host.record(AgentSoftware {
                        name,
                        version,
                        publisher: None,
                    });
                }
            } else if row.contains_key("interface")
                && (row.contains_key("mac") || row.contains_key("address"))
            {
                if let Some(m) = get("mac") {
                    match mac_of(&m) {
                        Some(mac) if !host.macs.contains(&mac) => host.macs.push(mac),
                        Some(_) => {}
                        None if m.trim_matches(['0', ':', '-']).is_empty() => {}
                        None => self.problem(path, line, format!("mac {m:?}: not a MAC address")),
                    }
                }
                if let Some(a) = get("address") {
                    match a.split('%').next().unwrap_or_default().parse::<IpAddr>() {
                        Ok(ip) if !ip.is_loopback() && !host.ips.contains(&ip) => host.ips.push(ip),
                        Ok(_) => {}
                        Err(_) => {
                            self.problem(path, line, format!("address {a:?}: not an IP address"))
                        }
                    }
                }
            } else if let Some(name) = get("name")
                .or_else(|| get("bundle_name"))
                .or_else(|| get("display_name"))
            {
                let sw = AgentSoftware {
                    name,
                    version: get("version").or_else(|| get("bundle_short_version")),
                    publisher: get("publisher")
                        .or_else(|| get("vendor"))
                        .or_else(|| get("maintainer")),
                };
                if removed {
                    host.software
                        .retain(|s| s.name != sw.name || s.version != sw.version);
                } else if !host.record(sw) {
                    self.cut(path, line);
                }
            } else {
                self.problem(path, line, "a row of no table this reader knows");
            }
        }
        for (_, host) in by_host {
            if host.hostname.is_none() && host.macs.is_empty() && host.ips.is_empty() {
                self.problem(
                    path,
                    0,
                    "rows of a host that no name, MAC or address identifies",
                );
                continue;
            }
            self.add(host);
        }
    }
}

/// GLPI's `accesslog.logdate` (`2026-11-30 08:15:02`, the agent's local time) as a
/// timestamp, the agents' offset from UTC taken away.
fn glpi_date(text: &str, utc_offset_secs: i64) -> Option<Timestamp> {
    let local: Timestamp = format!("{}Z", text.trim().replace(' ', "T")).parse().ok()?;
    Some(Timestamp(
        local
            .0
            .saturating_sub(utc_offset_secs.saturating_mul(1_000_000)),
    ))
}

/// A CSV date and time: RFC 3339 with its zone, or local `2026-11-30 08:15:02`.
fn local_time(text: &str, utc_offset_secs: i64) -> Option<Timestamp> {
    let t = text.trim();
    t.parse::<Timestamp>()
        .ok()
        .or_else(|| glpi_date(t, utc_offset_secs))
}

/// Whether a CSV date is a day alone (`2026-11-30`): too coarse to place an address in time,
/// so the row is read as if it had none.
fn day_only(text: &str) -> bool {
    let t = text.trim();
    t.len() == 10 && t.as_bytes()[4] == b'-' && t.as_bytes()[7] == b'-'
}

/// Reads a UTC offset written `+08:00`, `-05:30` or `Z`; seconds east of UTC.
pub fn parse_utc_offset(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?}: a UTC offset is written +08:00, -05:30 or Z");
    let t = text.trim();
    if t == "Z" {
        return Ok(0);
    }
    let (sign, rest) = match t.split_at_checked(1) {
        Some(("+", r)) => (1, r),
        Some(("-", r)) => (-1, r),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let (h, m): (i64, i64) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 14 || m > 59 || h < 0 || m < 0 {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}
