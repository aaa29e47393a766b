//! The daemon's service side: the inventory on the output thread answering the HTTP API and
//! `/metrics`, taking reloads, and keeping the metrics file, event log and state file fresh
//! while capturing.
//!
//! Everything the inventory holds stays on the output thread. Other threads send a [`Query`]
//! down a bounded channel; [`Served`] answers queued queries after each worker report, which
//! while capturing comes at least every [`crate::pipeline::engine::LIVE_FLUSH`]. Each report
//! also beats the [`Heartbeat`], which `/readyz` and the systemd watchdog read without queuing:
//! a pipeline that stops reporting stops both, whatever clients do.

pub mod http;
pub mod routes;
pub mod tls;

use crate::capture::{CaptureStats, CaptureTotals};
use crate::coverage::agents::Agents;
use crate::inventory::Inventory;
use crate::inventory::state::Snapshot;
use crate::metrics::Metrics;
use crate::pipeline::batch::Item;
use crate::pipeline::engine::{Observer, PipelineState};
use crate::pipeline::stats::Counters;
use crate::policy::Policy;
use crate::signature::Signatures;
use routes::{Answer, Request};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Queries waiting for the output thread, at most. The HTTP side keeps its listeners well
/// under this, so a reload always finds room.
pub const QUERY_QUEUE: usize = 64;
/// How often buffered events are pushed to the event log while capturing.
const EVENTS_FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How often the metrics file is rewritten while capturing.
const METRICS_FILE_EVERY: Duration = Duration::from_secs(15);
/// How long a rendering of the metrics is served again: a flood of scrapes costs one rendering
/// a second, not one per request.
const METRICS_FRESH: Duration = Duration::from_secs(1);
/// How long a cross-check against the agent inventories is served again.
const COVERAGE_FRESH: Duration = Duration::from_secs(30);
/// A pipeline that has not reported for this long is not ready.
pub const READY_WITHIN: Duration = Duration::from_secs(5);

/// Proof that the output thread is making progress: the time of its latest report, and whether
/// the capture runs.
#[derive(Debug)]
pub struct Heartbeat {
    start: Instant,
    last_ms: AtomicU64,
    capturing: AtomicBool,
}

impl Heartbeat {
    /// A heartbeat that beats now, with the capture not running yet.
    pub fn new() -> Arc<Heartbeat> {
        Arc::new(Heartbeat {
            start: Instant::now(),
            last_ms: AtomicU64::new(0),
            capturing: AtomicBool::new(false),
        })
    }

    fn beat(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// Time since the output thread last reported.
    pub fn age(&self) -> Duration {
        self.start
            .elapsed()
            .saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }

    /// Says whether the capture runs.
    pub fn set_capturing(&self, on: bool) {
        self.capturing.store(on, Ordering::Relaxed);
    }

    /// The capture runs and the pipeline reported within [`READY_WITHIN`].
    pub fn ready(&self) -> bool {
        self.capturing.load(Ordering::Relaxed) && self.age() < READY_WITHIN
    }
}

/// What a reload brings: the new packs and policy, checked whole before they are sent.
pub struct Reload {
    /// The new signature packs.
    pub signatures: Arc<Signatures>,
    /// The new activation policy and ledger.
    pub policy: Policy,
    /// Lowest confidence reported.
    pub min_confidence: f64,
    /// The event log: a path, `-` for stdout, or none.
    pub events: Option<String>,
    /// When the new set was loaded, seconds since the epoch.
    pub loaded_at: f64,
}

/// A message to the output thread.
pub enum Query {
    /// An API or metrics request and where its answer goes.
    Ask(Request, tokio::sync::oneshot::Sender<Answer>),
    /// Replace packs, policy and event log between two items.
    Reload(Box<Reload>),
    /// A reload failed (the running set stays); the event log is reopened all the same, so a
    /// rotated log is let go of.
    ReloadFailed,
    /// The agent inventories, read again after they (or which they are) changed; `None` once a
    /// reload configures none.
    Agents(Option<Box<Agents>>),
}

/// The sending side of the query channel, shared by the HTTP server and the signal thread.
pub type Queries = SyncSender<Query>;

/// Opens the event log: stdout for `-`, else the file, appended to or emptied first.
pub fn open_event_log(
    dest: Option<&str>,
    append: bool,
) -> std::io::Result<Option<Box<dyn Write + Send>>> {
    Ok(match dest {
        None => None,
        Some("-") => Some(Box::new(std::io::BufWriter::new(std::io::stdout()))),
        Some(path) => {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .append(append)
                .truncate(!append)
                .open(path)?;
            Some(Box::new(std::io::BufWriter::new(f)))
        }
    })
}

/// Where and how often the inventory is saved while running.
struct Saving {
    dir: PathBuf,
    every: Duration,
    last: Instant,
    writer: Option<JoinHandle<()>>,
}

/// The inventory with what it needs to answer queries while the pipeline runs.
pub struct Served {
    /// The inventory.
    pub inventory: Inventory,
    metrics: Metrics,
    queries: Receiver<Query>,
    heartbeat: Arc<Heartbeat>,
    interface: Option<String>,
    capture: CaptureTotals,
    counters: Counters,
    queued: Vec<usize>,
    metrics_file: Option<PathBuf>,
    metrics_written: Option<Instant>,
    metrics_rendered: Option<(Instant, String)>,
    events: Option<String>,
    events_flushed: Instant,
    saving: Option<Saving>,
    agents: Option<Agents>,
    /// The latest cross-check against `agents`, and when it was built.
    coverage: std::cell::RefCell<Option<(Instant, Arc<crate::coverage::Report>)>>,
}

impl Served {
    /// Serves `inventory`, taking queries from `queries` and beating `heartbeat`; `interface`
    /// names the live capture, `events` is the event log the inventory writes to (reopened on
    /// reload), and `metrics_file`, if given, is rewritten every 15 s.
    pub fn new(
        inventory: Inventory,
        metrics: Metrics,
        queries: Receiver<Query>,
        heartbeat: Arc<Heartbeat>,
        interface: Option<String>,
        events: Option<String>,
        metrics_file: Option<PathBuf>,
    ) -> Self {
        metrics.set_capture_up(interface.is_some());
        heartbeat.set_capturing(interface.is_some());
        heartbeat.beat();
        Served {
            inventory,
            metrics,
            queries,
            heartbeat,
            interface,
            capture: CaptureTotals::default(),
            counters: Counters::default(),
            queued: Vec::new(),
            metrics_file,
            metrics_written: None,
            metrics_rendered: None,
            events,
            events_flushed: Instant::now(),
            saving: None,
            agents: None,
            coverage: std::cell::RefCell::new(None),
        }
    }

    /// Saves the inventory into `dir` every `every` while the pipeline runs: a copy is taken
    /// between two packets and written by a thread of its own (the caller saves it once more at
    /// the end).
    pub fn save_state_every(&mut self, dir: PathBuf, every: Duration) {
        self.saving = Some(Saving {
            dir,
            every,
            last: Instant::now(),
            writer: None,
        });
    }

    /// The metrics as of the latest report, in the text exposition format.
    pub fn render_metrics(&self) -> String {
        let live: Vec<(String, CaptureTotals)> = self
            .interface
            .iter()
            .map(|i| (i.clone(), self.capture))
            .collect();
        self.metrics.update(&self.counters, &self.inventory, &live);
        self.metrics.set_queued_batches(&self.queued);
        match self.coverage_report() {
            Some(report) => self.metrics.set_coverage(&report),
            None => self.metrics.clear_coverage(),
        }
        self.metrics.encode()
    }

    /// The cross-check against the agent inventories, built again when the last one is older
    /// than [`COVERAGE_FRESH`] or the inventories changed: it walks every host, so a flood of
    /// requests must not rebuild it each time.
    fn coverage_report(&self) -> Option<Arc<crate::coverage::Report>> {
        let agents = self.agents.as_ref()?;
        let mut cache = self.coverage.borrow_mut();
        if let Some((at, report)) = cache.as_ref()
            && at.elapsed() < COVERAGE_FRESH
        {
            return Some(Arc::clone(report));
        }
        let report = Arc::new(crate::coverage::build(&self.inventory, agents));
        *cache = Some((Instant::now(), Arc::clone(&report)));
        Some(report)
    }

    /// The metrics, rendered again only when the last rendering is older than a second.
    fn metrics_text(&mut self) -> String {
        match &self.metrics_rendered {
            Some((at, text)) if at.elapsed() < METRICS_FRESH => text.clone(),
            _ => {
                let text = self.render_metrics();
                self.metrics_rendered = Some((Instant::now(), text.clone()));
                text
            }
        }
    }

    /// libpcap's statistics when the capture stopped, for the final metrics.
    pub fn final_capture_stats(&mut self, stats: Option<CaptureStats>) {
        if let Some(s) = stats {
            self.capture.advance(s);
        }
    }

    /// libpcap's counts so far, for a live capture.
    pub fn capture_totals(&self) -> Option<CaptureTotals> {
        self.interface.as_ref().map(|_| self.capture)
    }

    /// Marks the capture stopped, in the metrics and for `/readyz`.
    pub fn mark_stopped(&self) {
        self.metrics.set_capture_up(false);
        self.heartbeat.set_capturing(false);
    }

    /// Marks the capture stopped, waits for a state save in progress, and returns the
    /// inventory and the metrics.
    pub fn into_parts(mut self) -> (Inventory, Metrics) {
        self.mark_stopped();
        if let Some(writer) = self.saving.as_mut().and_then(|s| s.writer.take()) {
            let _ = writer.join();
        }
        (self.inventory, self.metrics)
    }

    /// Writes the metrics file atomically (a temporary file beside it, then a rename), so a
    /// textfile collector never reads half of it.
    pub fn write_metrics_file(&self) -> std::io::Result<()> {
        let Some(path) = &self.metrics_file else {
            return Ok(());
        };
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        std::fs::write(&tmp, self.render_metrics()).and_then(|()| std::fs::rename(&tmp, path))
    }

    /// Opens the event log at `path` and makes it the inventory's; on failure the current log
    /// stays (a rotated file keeps receiving events rather than losing them).
    fn reopen_events(&mut self, path: Option<String>) {
        match open_event_log(path.as_deref(), true) {
            Ok(writer) => {
                if let Err(e) = self.inventory.replace_events(writer) {
                    eprintln!("wiretally: the old event log failed when closed: {e}");
                }
                self.events = path;
            }
            Err(e) => eprintln!(
                "wiretally: {}: cannot open the event log, still writing to the old one: {e}",
                path.unwrap_or_default()
            ),
        }
    }

    fn handle(&mut self, query: Query) {
        match query {
            Query::Ask(request, reply) => {
                let answer = match &request {
                    Request::Metrics => Answer {
                        status: 200,
                        content_type: "text/plain; version=0.0.4; charset=utf-8",
                        body: self.metrics_text(),
                    },
                    Request::Api(routes::ApiRequest::Coverage) => match self.coverage_report() {
                        Some(report) => match serde_json::to_value(&*report) {
                            Ok(v) => Answer::json(200, &v),
                            Err(e) => Answer::error(500, &e.to_string()),
                        },
                        None => Answer::error(
                            404,
                            "no agent inventories are configured ([coverage] inventories)",
                        ),
                    },
                    Request::Api(api) => routes::answer(&self.inventory, api),
                };
                // The asker may have given up waiting; nothing to do then.
                let _ = reply.send(answer);
            }
            Query::Reload(r) => {
                let r = *r;
                let dropped = self
                    .inventory
                    .reload(r.signatures, r.policy, r.min_confidence);
                self.reopen_events(r.events);
                self.metrics.reload_succeeded(r.loaded_at);
                self.metrics_rendered = None;
                eprintln!(
                    "wiretally: reloaded the configuration and signature packs{}.",
                    if dropped > 0 {
                        format!(
                            "; {dropped} product record(s) whose product or rules left the packs were dropped"
                        )
                    } else {
                        String::new()
                    }
                );
            }
            Query::Agents(agents) => {
                self.agents = agents.map(|a| *a);
                self.coverage.replace(None);
                self.metrics_rendered = None;
            }
            Query::ReloadFailed => {
                self.metrics.reload_failed();
                self.metrics_rendered = None;
                self.reopen_events(self.events.clone());
            }
        }
    }

    /// Starts writing a copy of the inventory when a save is due and the last one is done.
    fn save_if_due(&mut self) {
        let Some(s) = &mut self.saving else {
            return;
        };
        if s.last.elapsed() < s.every || s.writer.as_ref().is_some_and(|w| !w.is_finished()) {
            return;
        }
        s.last = Instant::now();
        let snapshot = Snapshot::of(&self.inventory);
        let dir = s.dir.clone();
        let writer = std::thread::Builder::new()
            .name("wiretally-state".into())
            .spawn(move || {
                if let Err(e) = snapshot.write(&dir) {
                    eprintln!(
                        "wiretally: {}: cannot save the inventory: {e}",
                        dir.display()
                    );
                }
            });
        match writer {
            Ok(w) => s.writer = Some(w),
            Err(e) => eprintln!("wiretally: cannot start saving the inventory: {e}"),
        }
    }
}

impl Observer for Served {
    fn item(&mut self, item: Item) {
        self.inventory.item(item);
    }

    fn pipeline_state(&mut self, state: &PipelineState) {
        self.heartbeat.beat();
        self.inventory.pipeline_state(state);
        self.counters.clone_from(state.counters);
        if let Some(stats) = state.capture {
            self.capture.advance(stats);
        }
        self.queued.clone_from(&state.queued_batches);
        while let Ok(q) = self.queries.try_recv() {
            self.handle(q);
        }
        self.save_if_due();
        if self.events_flushed.elapsed() >= EVENTS_FLUSH_EVERY {
            self.inventory.flush_events();
            self.events_flushed = Instant::now();
        }
        if self.metrics_file.is_some()
            && self
                .metrics_written
                .is_none_or(|t| t.elapsed() >= METRICS_FILE_EVERY)
        {
            if let Err(e) = self.write_metrics_file() {
                eprintln!("wiretally: cannot write the metrics file: {e}");
            }
            self.metrics_written = Some(Instant::now());
        }
    }
}
