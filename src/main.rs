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
use wiretally::compliance::{self, Period};
use wiretally::coverage::agents::{Agents, Format};
use wiretally::coverage::labels::{self, Lang};
use wiretally::inventory::Inventory;
use wiretally::inventory::state;
use wiretally::metrics::Metrics;
use wiretally::pipeline::engine::{Ended, Engine};
use wiretally::pipeline::stats::Counters;
use wiretally::report;
use wiretally::sd_notify;
use wiretally::serve::http::Endpoint;
use wiretally::serve::{self, Heartbeat, QUERY_QUEUE, Queries, Query, Reload, Served};
use wiretally::signature;

/// Exit status for bad flags or configuration (BSD sysexits EX_USAGE).
const EXIT_USAGE: u8 = 64;

/// Opens the event log: stdout for `-`, else the file, emptied first by `analyze` and
/// appended to by `run` (a restarted daemon keeps what it wrote before).
fn event_writer(dest: &Option<String>, append: bool) -> Result<Option<Box<dyn Write + Send>>> {
    serve::open_event_log(dest.as_deref(), append).with_context(|| {
        format!(
            "{}: cannot open the event log",
            dest.as_deref().unwrap_or_default()
        )
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
    let (mut inventory, counters, all_ok) = network_inventory(captures, &mut s)?;
    // The inventory and metrics are kept even when the event log failed.
    let events = inventory.close().context("writing events");
    save_state(&s.state_dir, &inventory)?;
    write_metrics(&s.metrics, &counters, &inventory)?;
    events?;
    if s.json {
        println!("{}", report::inventory_document(&inventory, &counters));
    } else if s.events.is_none() {
        print!("{}", report::host_summary(&inventory));
    }
    eprintln!("{}", report::statistics(&counters, &inventory, None));
    Ok(all_ok && counters.worker_panics == 0)
}

/// Where a report goes besides stdout.
struct ReportFiles {
    csv: Option<std::path::PathBuf>,
    xlsx: Option<std::path::PathBuf>,
    html: Option<std::path::PathBuf>,
    lang: Option<Lang>,
}

impl ReportFiles {
    /// Writes the XLSX and HTML forms of a document, where asked.
    fn write(&self, doc: &wiretally::output::Document, lang: Lang) -> Result<()> {
        if let Some(path) = &self.xlsx {
            let bytes = wiretally::output::xlsx::workbook(doc).context("building the workbook")?;
            std::fs::write(path, bytes)
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
        if let Some(path) = &self.html {
            let code = match lang {
                Lang::En => "en",
                Lang::Zh => "zh-CN",
            };
            std::fs::write(path, wiretally::output::html::page(doc, code))
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
        Ok(())
    }
}

/// Now, as RFC 3339 UTC to the second.
fn now_text() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// The inventory of `analyze`, `coverage` and `report`: restored from the state folder, if any,
/// with the captures read on top, in order. A file that cannot be opened or read is reported
/// and skipped (the returned flag is then false); nothing is saved here.
fn network_inventory(
    captures: &[std::path::PathBuf],
    s: &mut Settings,
) -> Result<(Inventory, Counters, bool)> {
    let stop = on_signals(None)?;
    let inventory = inventory_for(s, false)?;
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
            Ok(Ended::Truncated(why)) => eprintln!(
                "wiretally: {}: warning: file is truncated, kept the packets before the cut ({why})",
                path.display()
            ),
            Ok(Ended::Stopped | Ended::WorkerLost) => break,
            Err(e) => {
                eprintln!("wiretally: {e}");
                all_ok = false;
            }
        }
    }
    let (inventory, counters) = engine.finish();
    Ok((inventory, counters, all_ok))
}

/// Reads the agent inventories, saying what was skipped.
fn read_agents(
    inventories: &[std::path::PathBuf],
    format: Option<Format>,
    utc_offset_secs: i64,
) -> Agents {
    let mut agents = Agents {
        utc_offset_secs,
        ..Agents::default()
    };
    for path in inventories {
        agents.read(path, format);
    }
    for note in &agents.notes {
        eprintln!("wiretally: {note}");
    }
    for p in &agents.problems {
        eprintln!("wiretally: {p}");
    }
    if agents.more_problems > 0 {
        eprintln!("wiretally: … and {} more.", agents.more_problems);
    }
    if agents.hosts_left_out > 0 {
        eprintln!(
            "wiretally: {} host(s) left out: at most {} are read.",
            agents.hosts_left_out,
            wiretally::coverage::agents::MAX_AGENT_HOSTS
        );
    }
    if agents.problem_count() > 0 {
        eprintln!(
            "wiretally: {} inventory row(s) or entries skipped; {} host(s) read.",
            agents.problem_count(),
            agents.hosts.len()
        );
    }
    agents
}

/// The cover lines every report starts with: sensor and generation time.
fn cover_lines(s: &Settings, lang: Lang) -> Vec<(String, String)> {
    let (sensor, generated) = match lang {
        Lang::En => ("sensor", "generated"),
        Lang::Zh => ("传感器", "生成时间"),
    };
    vec![
        (sensor.to_string(), s.metrics.sensor_name.clone()),
        (generated.to_string(), now_text()),
    ]
}

/// Runs `coverage`: the network's inventory from a state folder and/or captures, against the
/// agent inventories.
fn coverage(
    inventories: &[std::path::PathBuf],
    (format, utc_offset): (Option<Format>, i64),
    captures: &[std::path::PathBuf],
    mut s: Settings,
    out: &ReportFiles,
) -> Result<bool> {
    let (inventory, counters, all_ok) = network_inventory(captures, &mut s)?;
    let agents = read_agents(inventories, format, utc_offset);
    let report = wiretally::coverage::build(&inventory, &agents);
    if let Some(path) = &out.csv {
        let text = labels::csv(&report, out.lang.unwrap_or(Lang::En)).context("writing the CSV")?;
        std::fs::write(path, text).with_context(|| format!("{}: cannot write", path.display()))?;
    }
    let lang = out.lang.unwrap_or(Lang::Zh);
    let mut cover = cover_lines(&s, lang);
    cover.push((
        match lang {
            Lang::En => "agent inventories",
            Lang::Zh => "终端台账文件",
        }
        .to_string(),
        inventories
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    ));
    if s.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).context("encoding the report")?
        );
    } else {
        print!("{}", labels::summary(&report));
    }
    out.write(&labels::document(&report, lang, cover), lang)?;
    Ok(all_ok && counters.worker_panics == 0)
}

/// Runs `report`: the half-yearly legalization report of one period.
fn half_year_report(
    period: Period,
    inventories: &[std::path::PathBuf],
    (format, utc_offset): (Option<Format>, i64),
    captures: &[std::path::PathBuf],
    mut s: Settings,
    out: &ReportFiles,
) -> Result<bool> {
    let (inventory, counters, all_ok) = network_inventory(captures, &mut s)?;
    let cross = (!inventories.is_empty()).then(|| {
        let agents = read_agents(inventories, format, utc_offset);
        wiretally::coverage::build(&inventory, &agents)
    });
    let lang = out.lang.unwrap_or(Lang::Zh);
    let doc = compliance::document(
        &inventory,
        period,
        lang,
        cover_lines(&s, lang),
        cross.as_ref(),
    );
    out.write(&doc, lang)?;
    for table in &doc.tables {
        println!("{}: {} row(s)", table.title, table.rows.len());
    }
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

/// How long the signal thread tries to hand a reload to the output thread before it gives up.
const RELOAD_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Hands a query to the output thread, retrying while the queue is full for up to
/// [`RELOAD_WAIT`]; says so when it cannot.
fn hand_over(queries: &Queries, mut query: Query) {
    let deadline = std::time::Instant::now() + RELOAD_WAIT;
    loop {
        match queries.try_send(query) {
            Ok(()) => return,
            Err(std::sync::mpsc::TrySendError::Full(q)) if std::time::Instant::now() < deadline => {
                query = q;
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(_) => {
                eprintln!("wiretally: the pipeline did not take the reload; nothing changed.");
                return;
            }
        }
    }
}

/// The SIGHUP handler: loads flags, file and packs again (not the API's certificates and token,
/// which take effect at the next start) and hands them to the output thread, or counts a
/// failure there and keeps the running set. The event log is reopened either way (after
/// logrotate moved it).
fn reloader(
    common: Common,
    live: LiveFlags,
    queries: Queries,
    agents: AgentInputs,
) -> Box<dyn Fn() + Send> {
    Box::new(move || match settings::resolve_reload(&common, &live) {
        Ok(new) => {
            if let Ok(mut wanted) = agents.lock() {
                wanted.clone_from(&new.coverage);
            }
            hand_over(
                &queries,
                Query::Reload(Box::new(Reload {
                    signatures: new.signatures,
                    policy: new.policy,
                    min_confidence: new.limits.min_confidence,
                    events: new.events,
                    loaded_at: new.metrics.loaded_at,
                })),
            )
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("wiretally: {e}");
            }
            eprintln!(
                "wiretally: reload failed ({} problem(s)), keeping the running configuration.",
                errors.len()
            );
            hand_over(&queries, Query::ReloadFailed);
        }
    })
}

/// Switches to `user` (its own group only) when running as root; the capture and the
/// listeners are already open.
fn drop_privileges(user: &Option<nix::unistd::User>) -> Result<()> {
    let Some(user) = user else {
        return Ok(());
    };
    if !nix::unistd::geteuid().is_root() {
        if nix::unistd::geteuid() != user.uid {
            eprintln!(
                "wiretally: warning: not started as root, so staying uid {} instead of switching to {}.",
                nix::unistd::geteuid(),
                user.name
            );
        }
        return Ok(());
    }
    nix::unistd::setgroups(&[user.gid]).context("setgroups")?;
    nix::unistd::setgid(user.gid).context("setgid")?;
    nix::unistd::setuid(user.uid).context("setuid")?;
    eprintln!("wiretally: running as {} (uid {}).", user.name, user.uid);
    Ok(())
}

/// How often the daemon looks whether the agent inventories changed.
const AGENTS_POLL: std::time::Duration = std::time::Duration::from_secs(5);

/// What identifies a version of the agent inventories: every file's path, time and size.
fn agents_stamp(
    inputs: &[std::path::PathBuf],
) -> Vec<(std::path::PathBuf, Option<std::time::SystemTime>, u64)> {
    let mut out = Vec::new();
    for input in inputs {
        let files: Vec<std::path::PathBuf> = match std::fs::read_dir(input) {
            Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
            Err(_) => vec![input.clone()],
        };
        for f in files {
            let meta = std::fs::metadata(&f).ok();
            let modified = meta.as_ref().and_then(|m| m.modified().ok());
            out.push((f, modified, meta.map_or(0, |m| m.len())));
        }
    }
    out.sort();
    out
}

/// What the agent inventory thread reads: the inputs, their format and the agents' UTC offset,
/// as the latest good configuration says (a reload replaces it).
type AgentInputs = Arc<std::sync::Mutex<Option<(Vec<std::path::PathBuf>, Option<Format>, i64)>>>;

/// Reads the agent inventories at start, whenever one changes and whenever a reload changes
/// which they are, on a thread of its own, and hands each reading (or, once none are
/// configured, their absence) to the output thread for `/api/v1/coverage` and the metrics.
fn watch_agents(inputs: AgentInputs, queries: Queries, stop: Arc<AtomicBool>) -> Result<()> {
    std::thread::Builder::new()
        .name("wiretally-agents".into())
        .spawn(move || {
            let mut last = None;
            while !stop.load(Ordering::Relaxed) {
                let wanted = inputs.lock().map(|w| w.clone()).unwrap_or_default();
                let stamp = wanted
                    .as_ref()
                    .map(|(files, format, offset)| (agents_stamp(files), *format, *offset));
                if last.as_ref() != Some(&stamp) {
                    let agents = wanted.map(|(files, format, offset)| {
                        let agents = read_agents(&files, format, offset);
                        eprintln!(
                            "wiretally: read {} host(s) from the agent inventories.",
                            agents.hosts.len()
                        );
                        Box::new(agents)
                    });
                    hand_over(&queries, Query::Agents(agents));
                    last = Some(stamp);
                }
                std::thread::sleep(AGENTS_POLL);
            }
        })
        .context("starting the agent inventory thread")?;
    Ok(())
}

/// Pings systemd's watchdog while the output thread keeps reporting: a stuck pipeline stops
/// the pings and systemd restarts the service.
fn watchdog(
    notifier: Arc<sd_notify::Notifier>,
    every: std::time::Duration,
    heartbeat: Arc<Heartbeat>,
    stop: Arc<AtomicBool>,
) -> Result<()> {
    std::thread::Builder::new()
        .name("wiretally-watchdog".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if heartbeat.age() < every.max(serve::READY_WITHIN) {
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
    let (queries, requests) = std::sync::mpsc::sync_channel(QUERY_QUEUE);
    let agent_inputs: AgentInputs = Arc::new(std::sync::Mutex::new(s.coverage.take()));
    let stop = on_signals(Some(reloader(
        common,
        flags,
        queries.clone(),
        Arc::clone(&agent_inputs),
    )))?;
    let listeners = endpoints(&mut s.api)?;
    let mut source = Source::open_live(&opts)?;
    drop_privileges(&s.user)?;
    let inventory = inventory_for(&mut s, true)?;
    let metrics = Metrics::new(&s.metrics.sensor_name, s.metrics.loaded_at)
        .context("building the metrics")?;
    let heartbeat = Heartbeat::new();
    let mut served = Served::new(
        inventory,
        metrics,
        requests,
        Arc::clone(&heartbeat),
        Some(opts.interface.clone()),
        s.events.clone(),
        s.metrics.file.clone(),
    );
    if let Some(dir) = &s.state_dir {
        served.save_state_every(dir.clone(), s.save_every);
    }
    let mut engine = Engine::start(s.engine, served);
    watch_agents(agent_inputs, queries.clone(), Arc::clone(&stop))?;
    serve::http::spawn(listeners, queries, Arc::clone(&heartbeat))
        .context("starting the HTTP server")?;
    eprintln!("wiretally: capturing on {}.", source.name());
    let notifier = sd_notify::Notifier::from_env().map(Arc::new);
    if let Some(n) = &notifier {
        n.send(&format!("READY=1\nSTATUS=capturing on {}", source.name()));
        if let Some(every) = sd_notify::watchdog_interval() {
            watchdog(
                Arc::clone(n),
                every,
                Arc::clone(&heartbeat),
                Arc::clone(&stop),
            )?;
        }
    }
    let result = engine.feed(&mut source, &stop);
    heartbeat.set_capturing(false);
    if let Some(n) = &notifier {
        n.send("STOPPING=1");
    }
    let (mut served, counters) = engine.finish();
    served.final_capture_stats(source.stats());
    let live = served.capture_totals();
    // The inventory and metrics are kept even when the event log failed.
    let events = served.inventory.close().context("writing events");
    served.mark_stopped();
    if let Err(e) = served.write_metrics_file() {
        eprintln!("wiretally: cannot write the metrics file: {e}");
    }
    let (inventory, _) = served.into_parts();
    save_state(&s.state_dir, &inventory)?;
    events?;
    if s.json {
        println!("{}", report::inventory_document(&inventory, &counters));
    } else if s.events.is_none() {
        print!("{}", report::host_summary(&inventory));
    }
    eprintln!("{}", report::statistics(&counters, &inventory, live));
    match result? {
        Ended::WorkerLost => anyhow::bail!("a worker thread stopped; the sensor stops with it"),
        _ if counters.worker_panics > 0 => {
            anyhow::bail!("{} worker thread(s) panicked", counters.worker_panics)
        }
        _ => Ok(()),
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
        Command::Coverage {
            inventories,
            format,
            inventory_utc_offset,
            state,
            captures,
            csv,
            xlsx,
            html,
            lang,
            common,
        } => match settings_or_exit(&common, None) {
            Ok(mut settings) => {
                settings.state_dir = state;
                let files = ReportFiles {
                    csv,
                    xlsx,
                    html,
                    lang,
                };
                exit_status(coverage(
                    &inventories,
                    (format, inventory_utc_offset),
                    &captures,
                    settings,
                    &files,
                ))
            }
            Err(code) => code,
        },
        Command::Report {
            period,
            state,
            captures,
            inventories,
            format,
            inventory_utc_offset,
            xlsx,
            html,
            lang,
            common,
        } => match settings_or_exit(&common, None) {
            Ok(mut settings) => {
                settings.state_dir = state;
                let files = ReportFiles {
                    csv: None,
                    xlsx,
                    html,
                    lang,
                };
                exit_status(half_year_report(
                    period,
                    &inventories,
                    (format, inventory_utc_offset),
                    &captures,
                    settings,
                    &files,
                ))
            }
            Err(code) => code,
        },
        Command::Run { live, common } => match settings_or_exit(&common, Some(&live)) {
            Ok(settings) => exit_status(run_live(settings, common, live).map(|()| true)),
            Err(code) => code,
        },
    }
}
