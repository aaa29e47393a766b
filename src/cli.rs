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
        /// Interface to capture on (promiscuous, immediate mode).
        #[arg(long, short = 'i')]
        interface: String,
        /// BPF filter expression.
        #[arg(long)]
        bpf: Option<String>,
        /// Bytes kept of each packet.
        #[arg(long, default_value_t = 65_535)]
        snaplen: i32,
        /// Kernel capture buffer, MiB.
        #[arg(long, default_value_t = 64)]
        buffer_mib: i32,
        /// Settings shared with `analyze`.
        #[command(flatten)]
        common: Common,
    },
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

/// Settings of both commands.
#[derive(Debug, Args)]
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
    /// a rule resting only on domain ownership may weigh.
    #[arg(long, default_value_t = 0.35)]
    pub min_confidence: f64,
    /// Worker threads.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// A home network (CIDR); repeatable. Default: 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7.
    #[arg(long = "home-net", value_name = "CIDR")]
    pub home_nets: Vec<String>,
    /// Bytes of each TCP direction's start given to parsers.
    #[arg(long, default_value_t = 16 * 1024)]
    pub stream_depth: usize,
    /// Heap all TCP stream-start buffers may hold together, MiB.
    #[arg(long, default_value_t = 256)]
    pub stream_memory_mib: usize,
    /// Most flows tracked at once.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_flows: usize,
    /// Most hosts tracked at once.
    #[arg(long, default_value_t = 65_536)]
    pub max_hosts: usize,
}
