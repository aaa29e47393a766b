//! The `wiretally` command: parse flags, validate them, run a command, map errors to exit codes.

mod cli;
mod settings;

use anyhow::{Context, Result};
use clap::Parser;
use cli::{Cli, Command, Common, ConfigAction, LiveFlags, SignaturesAction};
use settings::{MetricsOut, Settings};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wiretally::capture::{Source, Waker};
use wiretally::inventory::Inventory;
use wiretally::metrics::Metrics;
use wiretally::pipeline::engine::{Ended, Engine};
use wiretally::report;
use wiretally::sd_notify;
use wiretally::signature;

/// Exit status for bad flags or configuration (BSD sysexits EX_USAGE).
const EXIT_USAGE: u8 = 64;

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
    inventory.sensor = Some(s.metrics.sensor_name.clone());
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

fn run_live(mut s: Settings) -> Result<()> {
    let opts = s.live.take().context("no capture settings")?;
    let mut source = Source::open_live(&opts)?;
    let stop = stop_on_signal(source.waker())?;
    eprintln!("wiretally: capturing on {}.", source.name());
    let notifier = sd_notify::Notifier::from_env().map(Arc::new);
    if let Some(n) = &notifier {
        n.send(&format!("READY=1\nSTATUS=capturing on {}", source.name()));
        if let Some(every) = sd_notify::watchdog_interval() {
            let (n, stop) = (Arc::clone(n), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("wiretally-watchdog".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        n.send("WATCHDOG=1");
                        std::thread::sleep(every);
                    }
                })
                .context("starting the watchdog thread")?;
        }
    }
    let mut inventory = Inventory::new(
        s.home,
        s.limits,
        Arc::clone(&s.signatures),
        event_writer(&s.events)?,
    );
    inventory.policy = s.policy;
    inventory.sensor = Some(s.metrics.sensor_name.clone());
    let mut engine = Engine::start(s.engine, inventory);
    let result = engine.feed(&mut source, &stop);
    if let Some(n) = &notifier {
        n.send("STOPPING=1");
    }
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
/// Validated settings, or the usage exit status after printing every problem.
fn settings_or_exit(common: &Common, live: Option<&LiveFlags>) -> Result<Settings, ExitCode> {
    settings::resolve(common, live).map_err(|errors| {
        for e in &errors {
            eprintln!("wiretally: {e}");
        }
        ExitCode::from(EXIT_USAGE)
    })
}

/// Runs `config check`: the whole file, the packs it names and its ledger.
fn check_config(file: std::path::PathBuf) -> ExitCode {
    let common = Common {
        config: Some(file.clone()),
        ..Common::default()
    };
    match settings::resolve(&common, None) {
        Ok(s) => {
            println!(
                "{}: OK ({} products in the signature packs, {} ledger entries, {} authorized KMS hosts, {} authorized licence servers).",
                file.display(),
                s.signatures.products.len(),
                s.policy.ledger.len(),
                s.policy.authorized_kms.0.len(),
                s.policy.authorized_license_servers.0.len()
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
                file.display()
            );
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Signatures {
            action: SignaturesAction::Check { dir },
        } => check_signatures(&dir),
        Command::Config {
            action: ConfigAction::Check { file },
        } => check_config(file),
        Command::Analyze { captures, common } => match settings_or_exit(&common, None) {
            Ok(settings) => exit_status(analyze(&captures, settings)),
            Err(code) => code,
        },
        Command::Run { live, common } => match settings_or_exit(&common, Some(&live)) {
            Ok(settings) => exit_status(run_live(settings).map(|()| true)),
            Err(code) => code,
        },
    }
}
