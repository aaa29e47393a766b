//! The daemon's service side: the inventory on the output thread answering the HTTP API and
//! `/metrics`, taking reloads, and keeping the metrics file fresh while capturing.
//!
//! Everything the inventory holds stays on the output thread. Other threads send a [`Query`]
//! down a bounded channel; [`Served`] answers queued queries after each worker report, which
//! while capturing comes at least every [`crate::pipeline::engine::LIVE_FLUSH`]. A query that
//! waits longer than its asker's patience means the pipeline is stuck, and `/readyz` and the
//! systemd watchdog say so.

pub mod http;
pub mod routes;
pub mod tls;

use crate::capture::CaptureStats;
use crate::inventory::Inventory;
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
use std::sync::mpsc::{Receiver, SyncSender};
use std::time::{Duration, Instant};

/// Queries waiting for the output thread, at most; a full queue answers 503 at once.
pub const QUERY_QUEUE: usize = 64;
/// How often buffered events are pushed to the event log while capturing.
const EVENTS_FLUSH_EVERY: Duration = Duration::from_secs(1);
/// How often the metrics file is rewritten while capturing.
const METRICS_FILE_EVERY: Duration = Duration::from_secs(15);

/// What a reload brings: the new packs, policy and event log, checked whole before they are sent.
pub struct Reload {
    /// The new signature packs.
    pub signatures: Arc<Signatures>,
    /// The new activation policy and ledger.
    pub policy: Policy,
    /// Lowest confidence reported.
    pub min_confidence: f64,
    /// The event log, reopened (or `None` for none).
    pub events: Option<Box<dyn Write + Send>>,
    /// When the new set was loaded, seconds since the epoch.
    pub loaded_at: f64,
}

/// A message to the output thread.
pub enum Query {
    /// An API or metrics request and where its answer goes.
    Ask(Request, tokio::sync::oneshot::Sender<Answer>),
    /// Proof of life for the watchdog: answered as soon as the output thread gets to it.
    Ping(std::sync::mpsc::Sender<()>),
    /// Replace packs, policy and event log between two items.
    Reload(Box<Reload>),
    /// A reload failed (the running set stays); the event log is reopened all the same, so a
    /// rotated log is let go of.
    ReloadFailed(Option<Box<dyn Write + Send>>),
}

/// The inventory with what it needs to answer queries while the pipeline runs.
pub struct Served {
    /// The inventory.
    pub inventory: Inventory,
    metrics: Metrics,
    queries: Receiver<Query>,
    interface: Option<String>,
    capture: Option<CaptureStats>,
    counters: Counters,
    queued: Vec<usize>,
    metrics_file: Option<PathBuf>,
    metrics_written: Option<Instant>,
    events_flushed: Instant,
    state: Option<(PathBuf, Duration, Instant)>,
}

impl Served {
    /// Serves `inventory`, taking queries from `queries`; `interface` names the live capture and
    /// `metrics_file`, if given, is rewritten every 15 s.
    pub fn new(
        inventory: Inventory,
        metrics: Metrics,
        queries: Receiver<Query>,
        interface: Option<String>,
        metrics_file: Option<PathBuf>,
    ) -> Self {
        metrics.set_capture_up(interface.is_some());
        Served {
            inventory,
            metrics,
            queries,
            interface,
            capture: None,
            counters: Counters::default(),
            queued: Vec::new(),
            metrics_file,
            metrics_written: None,
            events_flushed: Instant::now(),
            state: None,
        }
    }

    /// Saves the inventory into `dir` every `every` while the pipeline runs (the caller saves it
    /// once more at the end).
    pub fn save_state_every(&mut self, dir: PathBuf, every: Duration) {
        self.state = Some((dir, every, Instant::now()));
    }

    /// The metrics as of the latest report, in the text exposition format.
    pub fn render_metrics(&self) -> String {
        let live: Vec<(String, CaptureStats)> = self
            .interface
            .iter()
            .zip(self.capture)
            .map(|(i, s)| (i.clone(), s))
            .collect();
        self.metrics.update(&self.counters, &self.inventory, &live);
        self.metrics.set_queued_batches(&self.queued);
        self.metrics.encode()
    }

    /// libpcap's statistics when the capture stopped, for the final metrics.
    pub fn final_capture_stats(&mut self, stats: Option<CaptureStats>) {
        self.capture = stats.or(self.capture);
    }

    /// Marks the capture stopped and returns the inventory and the metrics.
    pub fn into_parts(self) -> (Inventory, Metrics) {
        self.metrics.set_capture_up(false);
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

    fn handle(&mut self, query: Query) {
        match query {
            Query::Ask(request, reply) => {
                let answer = routes::answer(
                    &self.inventory,
                    &request,
                    &|| self.render_metrics(),
                    self.interface.is_some(),
                );
                // The asker may have given up waiting; nothing to do then.
                let _ = reply.send(answer);
            }
            Query::Ping(reply) => {
                let _ = reply.send(());
            }
            Query::Reload(r) => {
                let r = *r;
                let dropped = self
                    .inventory
                    .reload(r.signatures, r.policy, r.min_confidence);
                if let Err(e) = self.inventory.replace_events(r.events) {
                    eprintln!("wiretally: the old event log failed when closed: {e}");
                }
                self.metrics.reload_succeeded(r.loaded_at);
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
            Query::ReloadFailed(events) => {
                self.metrics.reload_failed();
                if let Err(e) = self.inventory.replace_events(events) {
                    eprintln!("wiretally: the old event log failed when closed: {e}");
                }
            }
        }
    }
}

impl Observer for Served {
    fn item(&mut self, item: Item) {
        self.inventory.item(item);
    }

    fn pipeline_state(&mut self, state: &PipelineState) {
        self.inventory.pipeline_state(state);
        self.counters = state.counters.clone();
        self.capture = state.capture.or(self.capture);
        self.queued.clone_from(&state.queued_batches);
        while let Ok(q) = self.queries.try_recv() {
            self.handle(q);
        }
        if let Some((dir, every, last)) = &mut self.state
            && last.elapsed() >= *every
        {
            if let Err(e) = crate::inventory::state::save(dir, &self.inventory) {
                eprintln!(
                    "wiretally: {}: cannot save the inventory: {e}",
                    dir.display()
                );
            }
            *last = Instant::now();
        }
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

/// The sending side of the query channel, shared by the HTTP server, the watchdog and the
/// signal thread.
pub type Queries = SyncSender<Query>;
