//! Command-line definitions (clap); validation into settings happens in `main`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Passive network sensor: which software runs on which hosts, seen from the network.
#[derive(Debug, Parser)]
#[command(name = "wiretally", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read pcap/pcapng files (in the order given) and report what they show.
    Analyze {
        /// Capture files.
        #[arg(required = true)]
        captures: Vec<PathBuf>,
        /// Settings shared with `run`.
        #[command(flatten)]
        common: Common,
    },
    /// Work with signature packs.
    Signatures {
        /// What to do with them.
        #[command(subcommand)]
        action: SignaturesAction,
    },
    /// Capture live from an interface until SIGINT or SIGTERM.
    Run {
        /// Capture settings.
        #[command(flatten)]
        live: LiveFlags,
        /// Settings shared with `analyze`.
        #[command(flatten)]
        common: Common,
    },
    /// Cross-check the network's inventory against agent inventories (CSV, GLPI Agent JSON,
    /// osquery results): hosts no agent covers, inventory hosts never seen, and per host the
    /// products one side shows and the other does not.
    Coverage {
        /// An agent inventory: a CSV file, a GLPI JSON file or folder, osquery results;
        /// repeatable.
        #[arg(long = "inventory", value_name = "FILE", required = true)]
        inventories: Vec<PathBuf>,
        /// The inventories' format [default: detected from each file's content].
        #[arg(long, value_enum)]
        format: Option<wiretally::coverage::agents::Format>,
        /// The agents' UTC offset: GLPI writes the inventory time in local time.
        #[arg(long, value_name = "±HH:MM", default_value = "+08:00", value_parser = wiretally::coverage::agents::parse_utc_offset)]
        inventory_utc_offset: i64,
        /// Take the network's inventory from a state folder (`run`'s, or `analyze --state-dir`).
        #[arg(long, value_name = "DIR", required_unless_present = "captures")]
        state: Option<PathBuf>,
        /// Capture files to take the network's inventory from (after the state, if both).
        captures: Vec<PathBuf>,
        /// Also write the report as CSV (one row per finding) to this file.
        #[arg(long, value_name = "PATH")]
        csv: Option<PathBuf>,
        /// Also write the report as an XLSX workbook (one sheet per section) to this file.
        #[arg(long, value_name = "PATH")]
        xlsx: Option<PathBuf>,
        /// Also write the report as one self-contained HTML page with charts to this file.
        #[arg(long, value_name = "PATH")]
        html: Option<PathBuf>,
        /// Language of the labels [default: en for CSV, zh for XLSX and HTML].
        #[arg(long, value_enum)]
        lang: Option<wiretally::coverage::labels::Lang>,
        /// Settings shared with `analyze` (`--json` prints the report as JSON).
        #[command(flatten)]
        common: Common,
    },
    /// The half-yearly software legalization report of one period (XLSX and/or HTML): products
    /// per category, how Microsoft products were activated, activation and licence alerts,
    /// ledger seats, and coverage against agent inventories when given.
    Report {
        /// The half year: 2026H1 (January–June) or 2026H2 (July–December).
        #[arg(long)]
        period: wiretally::compliance::Period,
        /// Take the network's inventory from a state folder (`run`'s, or `analyze --state-dir`).
        #[arg(long, value_name = "DIR", required_unless_present = "captures")]
        state: Option<PathBuf>,
        /// Capture files to take the network's inventory from (after the state, if both).
        captures: Vec<PathBuf>,
        /// Agent inventories to cross-check against (as for `coverage`); repeatable.
        #[arg(long = "inventory", value_name = "FILE")]
        inventories: Vec<PathBuf>,
        /// The inventories' format [default: detected from each file's content].
        #[arg(long, value_enum)]
        format: Option<wiretally::coverage::agents::Format>,
        /// The agents' UTC offset: GLPI writes the inventory time in local time.
        #[arg(long, value_name = "±HH:MM", default_value = "+08:00", value_parser = wiretally::coverage::agents::parse_utc_offset)]
        inventory_utc_offset: i64,
        /// Write the report as an XLSX workbook to this file.
        #[arg(long, value_name = "PATH", required_unless_present = "html")]
        xlsx: Option<PathBuf>,
        /// Write the report as one self-contained HTML page to this file.
        #[arg(long, value_name = "PATH")]
        html: Option<PathBuf>,
        /// Language of the labels [default: zh].
        #[arg(long, value_enum)]
        lang: Option<wiretally::coverage::labels::Lang>,
        /// Settings shared with `analyze` (`--config` gives the policy and ledger judged).
        #[command(flatten)]
        common: Common,
    },
    /// Work with configuration files.
    Config {
        /// What to do with one.
        #[command(subcommand)]
        action: ConfigAction,
    },
}

/// `config` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Check a configuration file: every key and value, the signature packs it names and the
    /// licence ledger; print each problem as file:line and exit non-zero if there is any.
    Check {
        /// The file.
        file: PathBuf,
    },
}

/// Flags of `run` (each overrides the configuration file's `[capture]` key).
#[derive(Debug, Args, Default, Clone)]
pub struct LiveFlags {
    /// Interface to capture on (promiscuous) [config: capture.interfaces].
    #[arg(long, short = 'i')]
    pub interface: Option<String>,
    /// BPF filter expression [config: capture.bpf].
    #[arg(long)]
    pub bpf: Option<String>,
    /// Bytes kept of each packet [default: 65535].
    #[arg(long)]
    pub snaplen: Option<i32>,
    /// Kernel capture buffer, MiB [default: 64].
    #[arg(long)]
    pub buffer_mib: Option<i32>,
    /// Serve `/metrics` over plain HTTP on this address [config: api.metrics_listen].
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics_listen: Option<String>,
}

/// `signatures` subcommands.
#[derive(Debug, Subcommand)]
pub enum SignaturesAction {
    /// Check every pack in DIR: schema, unknown keys, ids, regexes, conflicting claims and every
    /// rule's examples; print each problem as file:line and exit non-zero if there is any.
    Check {
        /// Folder of `*.toml` packs.
        #[arg(default_value = "signatures")]
        dir: PathBuf,
    },
}

/// Settings of both commands. A flag overrides the configuration file's key for the same
/// setting; defaults apply to what neither gives.
#[derive(Debug, Args, Default, Clone)]
pub struct Common {
    /// Write NDJSON events to this file, or `-` for stdout; without it, print a per-host summary.
    #[arg(long, value_name = "PATH|-")]
    pub events: Option<String>,
    /// Print the inventory document (JSON) instead of the per-host summary.
    #[arg(long)]
    pub json: bool,
    /// Write Prometheus metrics (text exposition format) to this file when the run ends, for
    /// node_exporter's textfile collector or `promtool check metrics`.
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// The sensor's name, the `sensor` label of every metric [default: the host name].
    #[arg(long, value_name = "NAME")]
    pub sensor_name: Option<String>,
    /// Configuration file with the activation policy and the licence ledger
    /// (config/wiretally.toml documents every key).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Folder of signature packs [default: ./signatures when it exists].
    #[arg(long, value_name = "DIR")]
    pub signatures: Option<PathBuf>,
    /// Lowest confidence (0 to 1) at which a product is reported; the default is above the 0.3
    /// a rule resting only on domain ownership may weigh [default: 0.35].
    #[arg(long)]
    pub min_confidence: Option<f64>,
    /// Worker threads [default: 1].
    #[arg(long)]
    pub workers: Option<usize>,
    /// A home network (CIDR); repeatable. Default: 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7.
    #[arg(long = "home-net", value_name = "CIDR")]
    pub home_nets: Vec<String>,
    /// Bytes of each TCP direction's start given to parsers [default: 16384].
    #[arg(long)]
    pub stream_depth: Option<usize>,
    /// Heap all TCP stream-start buffers may hold together, MiB [default: 256].
    #[arg(long)]
    pub stream_memory_mib: Option<usize>,
    /// Most flows tracked at once [default: 1000000].
    #[arg(long)]
    pub max_flows: Option<usize>,
    /// Most hosts tracked at once [default: 65536].
    #[arg(long)]
    pub max_hosts: Option<usize>,
    /// Keep the inventory in this folder: restored when the run starts, written when it ends
    /// [config: state.dir].
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}
