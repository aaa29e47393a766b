//! The `wiretally` command: parse flags, validate them, run a command, map errors to exit codes.

mod cli;
mod settings;

use anyhow::{Context, Result};
use clap::Parser;
use cli::{Cli, Command, Common, ConfigAction, LiveFlags, SignaturesAction};
use settings::{ApiSettings, MetricsOut, Settings};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wiretally::capture::Source;
use wiretally::inventory::Inventory;
use wiretally::inventory::state;
use wiretally::metrics::Metrics;
use wiretally::pipeline::engine::{Ended, Engine};
use wiretally::pipeline::stats::Counters;
use wiretally::report;
use wiretally::sd_notify;
use wiretally::serve::http::Endpoint;
use wiretally::serve::{self, QUERY_QUEUE, Queries, Query, Reload, Served};
use wiretally::signature;

/// Exit status for bad flags or configuration (BSD sysexits EX_USAGE).
const EXIT_USAGE: u8 = 64;

/// Opens the event log: stdout for `-`, else the file, emptied first by `analyze` and
/// appended to by `run` (a restarted daemon keeps what it wrote before).
fn event_writer(dest: &Option<String>, append: bool) -> Result<Option<Box<dyn Write + Send>>> {
    Ok(match dest.as_deref() {
        None => None,
        Some("-") => Some(Box::new(std::io::BufWriter::new(std::io::stdout()))),
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .open(path)
                .with_context(|| format!("{path}: cannot open the event log"))?;
            Some(Box::new(std::io::BufWriter::new(f)))
        }
    })
}

/// Writes the metrics file of a finished run atomically (a temporary file beside it, then a
/// rename), so a textfile collector never reads half of it.
fn write_metrics(out: &MetricsOut, counters: &Counters, inventory: &Inventory) -> Result<()> {
    let Some(path) = &out.file else {
        return Ok(());
    };
    let metrics = Metrics::new(&out.sensor_name, out.loaded_at).context("building the metrics")?;
    metrics.update(counters, inventory, &[]);
    metrics.set_capture_up(false);
    let mut tmp = path.clone().into_os_string();
    tmp.push(".tmp");
    std::fs::write(&tmp, metrics.encode())
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("{}: cannot write metrics", path.display()))
}

/// Stops the capture loop on SIGINT or SIGTERM: a thread waits for the signal and sets the flag
/// the loop checks (a live read waits 100 ms at most). With `reload`, SIGHUP calls it.
fn on_signals(reload: Option<Box<dyn Fn() + Send>>) -> Result<Arc<AtomicBool>> {
    let stop = Arc::new(AtomicBool::new(false));
    let mut signals =
        Signals::new([SIGINT, SIGTERM, SIGHUP]).context("installing a signal handler")?;
    let flag = Arc::clone(&stop);
    std::thread::Builder::new()
        .name("wiretally-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                match (signal, &reload) {
                    (SIGHUP, Some(reload)) => reload(),
                    (SIGHUP, None) => {}
                    _ => {
                        flag.store(true, Ordering::Relaxed);
                        return;
                    }
                }
            }
        })
        .context("starting the signal thread")?;
    Ok(stop)
}

/// A new inventory for the settings, with the state folder's inventory restored into it.
fn inventory_for(s: &mut Settings, append: bool) -> Result<Inventory> {
    let mut inventory = Inventory::new(
        s.home.clone(),
        s.limits,
        Arc::clone(&s.signatures),
        event_writer(&s.events, append)?,
    );
    inventory.policy = std::mem::take(&mut s.policy);
    inventory.sensor = Some(s.metrics.sensor_name.clone());
    if let Some(dir) = &s.state_dir {
        match state::restore(dir, &mut inventory) {
            Ok(Some(r)) => eprintln!("wiretally: {}", r),
            Ok(None) => {}
            Err(e) => anyhow::bail!("{e}"),
        }
    }
    Ok(inventory)
}

/// Writes the inventory to the state folder, if there is one.
fn save_state(s_dir: &Option<std::path::PathBuf>, inventory: &Inventory) -> Result<()> {
    if let Some(dir) = s_dir {
        state::save(dir, inventory)
            .with_context(|| format!("{}: cannot save the inventory", dir.display()))?;
    }
    Ok(())
}

/// Runs `analyze`; returns whether every file was read whole.
fn analyze(captures: &[std::path::PathBuf], mut s: Settings) -> Result<bool> {
    let stop = on_signals(None)?;
    let inventory = inventory_for(&mut s, false)?;
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
    write_metrics(&s.metrics, &counters, &inventory)?;
    save_state(&s.state_dir, &inventory)?;
    Ok(all_ok && counters.worker_panics == 0)
}

/// Binds the API's and the metrics listener's sockets.
fn endpoints(api: &mut ApiSettings) -> Result<Vec<Endpoint>> {
    let mut out = Vec::new();
    if let Some(addr) = api.listen {
        out.push(Endpoint {
            listener: std::net::TcpListener::bind(addr)
                .with_context(|| format!("api.listen {addr}: cannot listen"))?,
            tls: api.tls.take(),
            token: api.token.take(),
            metrics_only: false,
        });
    }
    if let Some(addr) = api.metrics_listen {
        out.push(Endpoint {
            listener: std::net::TcpListener::bind(addr)
                .with_context(|| format!("metrics listener {addr}: cannot listen"))?,
            tls: None,
            token: None,
            metrics_only: true,
        });
    }
    Ok(out)
}

/// The SIGHUP handler: loads flags, file and packs again and hands them to the output thread,
/// or counts a failure there and keeps the running set. The event log is reopened either way
/// (after logrotate moved it).
fn reloader(
    common: Common,
    live: LiveFlags,
    old_events: Option<String>,
    queries: Queries,
) -> Box<dyn Fn() + Send> {
    Box::new(move || match settings::resolve(&common, Some(&live)) {
        Ok(new) => match event_writer(&new.events, true) {
            Ok(events) => {
                let reload = Reload {
                    signatures: new.signatures,
                    policy: new.policy,
                    min_confidence: new.limits.min_confidence,
                    events,
                    loaded_at: new.metrics.loaded_at,
                };
                let _ = queries.send(Query::Reload(Box::new(reload)));
            }
            Err(e) => {
                eprintln!("wiretally: reload failed, keeping the running configuration: {e:#}");
                let _ = queries.send(Query::ReloadFailed(
                    event_writer(&old_events, true).ok().flatten(),
                ));
            }
        },
        Err(errors) => {
            for e in &errors {
                eprintln!("wiretally: {e}");
            }
            eprintln!(
                "wiretally: reload failed ({} problem(s)), keeping the running configuration.",
                errors.len()
            );
            let _ = queries.send(Query::ReloadFailed(
                event_writer(&old_events, true).ok().flatten(),
            ));
        }
    })
}

/// Switches to `user` (its group, no supplementary groups) when running as root; the capture
/// and the listeners are already open.
fn drop_privileges(user: &Option<nix::unistd::User>) -> Result<()> {
    let Some(user) = user else {
        return Ok(());
    };
    if !nix::unistd::geteuid().is_root() {
        return Ok(());
    }
    nix::unistd::setgroups(&[user.gid]).context("setgroups")?;
    nix::unistd::setgid(user.gid).context("setgid")?;
    nix::unistd::setuid(user.uid).context("setuid")?;
    eprintln!("wiretally: running as {} (uid {}).", user.name, user.uid);
    Ok(())
}

/// Pings systemd's watchdog while the output thread answers: a stuck pipeline stops the pings
/// and systemd restarts the service.
fn watchdog(
    notifier: Arc<sd_notify::Notifier>,
    every: std::time::Duration,
    queries: Queries,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    std::thread::Builder::new()
        .name("wiretally-watchdog".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let (tx, rx) = std::sync::mpsc::channel();
                if queries.try_send(Query::Ping(tx)).is_ok() && rx.recv_timeout(every).is_ok() {
                    notifier.send("WATCHDOG=1");
                }
                std::thread::sleep(every);
            }
        })
        .context("starting the watchdog thread")?;
    Ok(())
}

fn run_live(mut s: Settings, common: Common, flags: LiveFlags) -> Result<()> {
    let opts = s.live.take().context("no capture settings")?;
    let listeners = endpoints(&mut s.api)?;
    let mut source = Source::open_live(&opts)?;
    drop_privileges(&s.user)?;
    let (queries, requests) = std::sync::mpsc::sync_channel(QUERY_QUEUE);
    let reload = reloader(common, flags, s.events.clone(), queries.clone());
    let stop = on_signals(Some(reload))?;
    let inventory = inventory_for(&mut s, true)?;
    let metrics = Metrics::new(&s.metrics.sensor_name, s.metrics.loaded_at)
        .context("building the metrics")?;
    let mut served = Served::new(
        inventory,
        metrics,
        requests,
        Some(opts.interface.clone()),
        s.metrics.file.clone(),
    );
    if let Some(dir) = &s.state_dir {
        served.save_state_every(dir.clone(), s.save_every);
    }
    let mut engine = Engine::start(s.engine, served);
    serve::http::spawn(listeners, queries.clone()).context("starting the HTTP server")?;
    eprintln!("wiretally: capturing on {}.", source.name());
    let notifier = sd_notify::Notifier::from_env().map(Arc::new);
    if let Some(n) = &notifier {
        n.send(&format!("READY=1\nSTATUS=capturing on {}", source.name()));
        if let Some(every) = sd_notify::watchdog_interval() {
            watchdog(Arc::clone(n), every, queries.clone(), Arc::clone(&stop))?;
        }
    }
    let result = engine.feed(&mut source, &stop);
    if let Some(n) = &notifier {
        n.send("STOPPING=1");
    }
    let live = source.stats();
    let (mut served, counters) = engine.finish();
    served.final_capture_stats(live);
    served.inventory.close().context("writing events")?;
    if let Err(e) = served.write_metrics_file() {
        eprintln!("wiretally: cannot write the metrics file: {e}");
    }
    let (inventory, _) = served.into_parts();
    save_state(&s.state_dir, &inventory)?;
    if s.json {
        println!("{}", report::inventory_document(&inventory, &counters));
    } else if s.events.is_none() {
        print!("{}", report::host_summary(&inventory));
    }
    eprintln!("{}", report::statistics(&counters, &inventory, live));
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
            Ok(settings) => exit_status(run_live(settings, common, live).map(|()| true)),
            Err(code) => code,
        },
    }
}
