//! The `wiretally` command: parse flags, validate them, run a command, map errors to exit codes.

mod cli;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cli::{Cli, Command, Common, SignaturesAction};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wiretally::capture::{LiveOptions, Source, Waker};
use wiretally::inventory::hosts::HomeNets;
use wiretally::inventory::{Inventory, InventoryLimits};
use wiretally::metrics::Metrics;
use wiretally::pipeline::engine::{Ended, Engine, EngineConfig};
use wiretally::pipeline::flow::FlowLimits;
use wiretally::pipeline::fragment::FragLimits;
use wiretally::pipeline::worker::WorkerConfig;
use wiretally::policy::{self, Policy};
use wiretally::report;
use wiretally::signature;

/// Exit status for bad flags or configuration (BSD sysexits EX_USAGE).
const EXIT_USAGE: u8 = 64;
/// Largest stream depth accepted: a megabyte per direction is already far past any handshake.
const MAX_STREAM_DEPTH: usize = 1 << 20;
/// Largest memory setting accepted, MiB (64 GiB): more is a typo.
const MAX_MEMORY_MIB: usize = 64 << 10;
/// libpcap's own ceiling for the snap length (MAXIMUM_SNAPLEN).
const MAX_SNAPLEN: i32 = 262_144;
/// Largest kernel capture buffer accepted, MiB (libpcap takes the size as a C int of bytes).
const MAX_BUFFER_MIB: i32 = 2047;
/// More workers than this is a typo, not a machine.
const MAX_WORKERS: usize = 256;

/// Validated settings.
struct Settings {
    engine: EngineConfig,
    home: HomeNets,
    limits: InventoryLimits,
    events: Option<String>,
    signatures: Arc<signature::Signatures>,
    policy: Policy,
    json: bool,
    metrics: MetricsOut,
}

/// Where the metrics go at the end of a run, and what they say about the sensor.
struct MetricsOut {
    file: Option<std::path::PathBuf>,
    sensor_name: String,
    /// When the configuration and packs were loaded, seconds since the epoch.
    loaded_at: f64,
}

/// Where packs are looked for when `--signatures` is not given.
const DEFAULT_SIGNATURES: &str = "signatures";

/// Loads the packs; every problem is added to `errors`.
fn load_signatures(
    dir: Option<&std::path::Path>,
    errors: &mut Vec<String>,
) -> signature::Signatures {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None if std::path::Path::new(DEFAULT_SIGNATURES).is_dir() => DEFAULT_SIGNATURES.into(),
        None => {
            eprintln!(
                "wiretally: no ./{DEFAULT_SIGNATURES} folder and no --signatures: products will not be inferred."
            );
            return signature::Signatures::default();
        }
    };
    signature::load_dir(&dir).unwrap_or_else(|problems| {
        errors.extend(problems.iter().map(|p| p.to_string()));
        signature::Signatures::default()
    })
}

fn validate(c: &Common, mut errors: Vec<String>) -> Result<Settings> {
    if c.workers == 0 || c.workers > MAX_WORKERS {
        errors.push(format!(
            "--workers {}: must be 1 to {MAX_WORKERS}",
            c.workers
        ));
    }
    if c.stream_depth == 0 || c.stream_depth > MAX_STREAM_DEPTH {
        errors.push(format!(
            "--stream-depth {}: must be 1 to {MAX_STREAM_DEPTH}",
            c.stream_depth
        ));
    }
    if c.stream_memory_mib == 0 || c.stream_memory_mib > MAX_MEMORY_MIB {
        errors.push(format!(
            "--stream-memory-mib {}: must be 1 to {MAX_MEMORY_MIB}",
            c.stream_memory_mib
        ));
    }
    if c.max_flows == 0 {
        errors.push("--max-flows must be at least 1".into());
    }
    if c.max_hosts == 0 {
        errors.push("--max-hosts must be at least 1".into());
    }
    if c.json && c.events.as_deref() == Some("-") {
        errors.push("--json and --events - both write to stdout: send the events to a file".into());
    }
    if !(0.0..=1.0).contains(&c.min_confidence) {
        errors.push(format!(
            "--min-confidence {}: must be between 0 and 1",
            c.min_confidence
        ));
    }
    let signatures = Arc::new(load_signatures(c.signatures.as_deref(), &mut errors));
    let policy = match &c.config {
        Some(path) => policy::config::load(path, &signatures).unwrap_or_else(|problems| {
            errors.extend(problems.iter().map(|p| p.to_string()));
            Policy::default()
        }),
        None => Policy::default(),
    };
    let mut nets = Vec::new();
    for n in &c.home_nets {
        match n.parse() {
            Ok(net) => nets.push(net),
            Err(e) => errors.push(format!("--home-net {n}: {e}")),
        }
    }
    if !errors.is_empty() {
        bail!(errors.join("\n"));
    }
    Ok(Settings {
        engine: EngineConfig {
            workers: c.workers,
            worker: WorkerConfig {
                flows: FlowLimits {
                    max_flows: c.max_flows,
                    ..FlowLimits::default()
                },
                stream_depth: c.stream_depth,
                stream_memory: c.stream_memory_mib.saturating_mul(1 << 20),
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
            max_hosts: c.max_hosts,
            min_confidence: c.min_confidence,
            ..InventoryLimits::default()
        },
        events: c.events.clone(),
        signatures,
        policy,
        json: c.json,
        metrics: MetricsOut {
            file: c.metrics_file.clone(),
            sensor_name: c.sensor_name.clone().unwrap_or_else(host_name),
            loaded_at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64()),
        },
    })
}

fn event_writer(dest: &Option<String>) -> Result<Option<Box<dyn Write + Send>>> {
    Ok(match dest.as_deref() {
        None => None,
        Some("-") => Some(Box::new(std::io::BufWriter::new(std::io::stdout()))),
        Some(path) => {
            let f = std::fs::File::create(path)
                .with_context(|| format!("{path}: cannot create event log"))?;
            Some(Box::new(std::io::BufWriter::new(f)))
        }
    })
}

/// The machine's host name, the default sensor name.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "wiretally".to_string())
}

/// Writes the metrics file atomically (a temporary file beside it, then a rename), so a textfile
/// collector never reads half of it.
fn write_metrics(
    out: &MetricsOut,
    counters: &wiretally::pipeline::stats::Counters,
    inventory: &Inventory,
    live: &[(String, wiretally::capture::CaptureStats)],
    capture_up: bool,
) -> Result<()> {
    let Some(path) = &out.file else {
        return Ok(());
    };
    let metrics = Metrics::new(&out.sensor_name, out.loaded_at).context("building the metrics")?;
    metrics.update(counters, inventory, live);
    metrics.set_capture_up(capture_up);
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    std::fs::write(&tmp, metrics.encode())
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("{}: cannot write metrics", path.display()))
}

/// Stops the capture loop on SIGINT or SIGTERM: a thread waits for the signal, sets the flag the
/// loop checks and wakes a live capture blocked in libpcap.
fn stop_on_signal(waker: Option<Waker>) -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut signals = Signals::new([SIGINT, SIGTERM]).context("installing a signal handler")?;
    let flag = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("wiretally-signals".into())
        .spawn(move || {
            if signals.forever().next().is_some() {
                flag.store(true, Ordering::Relaxed);
                if let Some(w) = &waker {
                    w.wake();
                }
            }
        })
        .context("starting the signal thread")?;
    Ok(stop)
}

/// Runs `analyze`; returns whether every file was read whole.
fn analyze(captures: &[std::path::PathBuf], s: Settings) -> Result<bool> {
    let stop = stop_on_signal(None)?;
    let mut inventory = Inventory::new(
        s.home,
        s.limits,
        Arc::clone(&s.signatures),
        event_writer(&s.events)?,
    );
    inventory.policy = s.policy;
    let mut engine = Engine::start(s.engine, inventory);
    let mut all_ok = true;
    for path in captures {
        let mut source = match Source::open_file(path) {
            Ok(src) => src,
            Err(e) => {
                eprintln!("wiretally: {e}");
                all_ok = false;
                continue;
            }
        };
        match engine.feed(&mut source, &stop) {
            Ok(Ended::Complete) => {}
            Ok(Ended::Truncated(why)) => {
                eprintln!(
                    "wiretally: {}: warning: file is truncated, kept the packets before the cut ({why})",
                    path.display()
                );
            }
            Ok(Ended::Stopped) => break,
            Err(e) => {
                eprintln!("wiretally: {e}");
                all_ok = false;
            }
        }
    }
    let (mut inventory, counters) = engine.finish();
    inventory.close().context("writing events")?;
    if s.json {
        println!("{}", report::inventory_document(&inventory, &counters));
    } else if s.events.is_none() {
        print!("{}", report::host_summary(&inventory));
    }
    eprintln!("{}", report::statistics(&counters, &inventory, None));
    write_metrics(&s.metrics, &counters, &inventory, &[], false)?;
    Ok(all_ok && counters.worker_panics == 0)
}

fn run_live(opts: LiveOptions, s: Settings) -> Result<()> {
    let mut source = Source::open_live(&opts)?;
    let stop = stop_on_signal(source.waker())?;
    eprintln!("wiretally: capturing on {}.", source.name());
    let mut inventory = Inventory::new(
        s.home,
        s.limits,
        Arc::clone(&s.signatures),
        event_writer(&s.events)?,
    );
    inventory.policy = s.policy;
    let mut engine = Engine::start(s.engine, inventory);
    let result = engine.feed(&mut source, &stop);
    let live = source.stats();
    let (mut inventory, counters) = engine.finish();
    inventory.close().context("writing events")?;
    if s.json {
        println!("{}", report::inventory_document(&inventory, &counters));
    } else if s.events.is_none() {
        print!("{}", report::host_summary(&inventory));
    }
    eprintln!("{}", report::statistics(&counters, &inventory, live));
    let interface = live.map(|l| (opts.interface.clone(), l));
    write_metrics(
        &s.metrics,
        &counters,
        &inventory,
        interface.as_slice(),
        false,
    )?;
    result?;
    if counters.worker_panics > 0 {
        anyhow::bail!("{} worker thread(s) panicked", counters.worker_panics);
    }
    Ok(())
}

/// Checks the live-capture flags; errors are added to `errors`.
fn validate_live(snaplen: i32, buffer_mib: i32, errors: &mut Vec<String>) {
    if !(1..=MAX_SNAPLEN).contains(&snaplen) {
        errors.push(format!("--snaplen {snaplen}: must be 1 to {MAX_SNAPLEN}"));
    }
    if !(1..=MAX_BUFFER_MIB).contains(&buffer_mib) {
        errors.push(format!(
            "--buffer-mib {buffer_mib}: must be 1 to {MAX_BUFFER_MIB}"
        ));
    }
}

/// Runs `signatures check`.
fn check_signatures(dir: &std::path::Path) -> ExitCode {
    match signature::load_dir(dir) {
        Ok(sigs) => {
            println!(
                "{}: {} products, {} rules, all examples pass; KMS table: {} editions; flag list: {} services.",
                dir.display(),
                sigs.products.len(),
                sigs.rules.len(),
                sigs.kms.editions(),
                sigs.flags.len()
            );
            ExitCode::SUCCESS
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "wiretally: {} problem(s) in {}",
                errors.len(),
                dir.display()
            );
            ExitCode::FAILURE
        }
    }
}

/// Maps a command's outcome to the exit status.
fn exit_status(result: Result<bool>) -> ExitCode {
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("wiretally: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Validated settings, or the usage exit status after printing every problem.
fn settings_or_exit(common: &Common, errors: Vec<String>) -> Result<Settings, ExitCode> {
    validate(common, errors).map_err(|e| {
        eprintln!("wiretally: {e:#}");
        ExitCode::from(EXIT_USAGE)
    })
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Signatures {
            action: SignaturesAction::Check { dir },
        } => check_signatures(&dir),
        Command::Analyze { captures, common } => match settings_or_exit(&common, Vec::new()) {
            Ok(settings) => exit_status(analyze(&captures, settings)),
            Err(code) => code,
        },
        Command::Run {
            interface,
            bpf,
            snaplen,
            buffer_mib,
            common,
        } => {
            let mut errors = Vec::new();
            validate_live(snaplen, buffer_mib, &mut errors);
            match settings_or_exit(&common, errors) {
                Ok(settings) => exit_status(
                    run_live(
                        LiveOptions {
                            interface,
                            bpf,
                            snaplen,
                            buffer_mib,
                        },
                        settings,
                    )
                    .map(|()| true),
                ),
                Err(code) => code,
            }
        }
    }
}
