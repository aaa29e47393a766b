//! Threads: the capture loop feeding sharded workers, and the output thread merging their reports
//! back into input order.
//!
//! The capture thread (the caller's) reads a source, locates each frame's inner IP header and
//! copies the frame into the batch of the worker its address pair hashes to. Batches are flushed
//! together, each carrying the sequence number below which everything has been dispatched; a worker
//! reports back after each batch with that number as its watermark. The output thread holds items
//! in a heap and releases them, in [`OrderKey`] order, once every worker's watermark has passed
//! them. Buffers travel back to the capture thread for reuse, so steady state allocates nothing.

use crate::capture::{CaptureError, CaptureStats, Read, Source};
use crate::event::Timestamp;
use crate::pipeline::batch::{Batch, Control, Item, OrderKey, PacketMeta, Report};
use crate::pipeline::decode::{self, Frame};
use crate::pipeline::stats::Counters;
use crate::pipeline::worker::{VIRTUAL_SHARDS, Worker, WorkerConfig};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The pipeline as the output thread sees it after a worker's report.
#[derive(Debug)]
pub struct PipelineState<'a> {
    /// Flows tracked now, all workers.
    pub flows: usize,
    /// Stream and fragment buffer bytes held now, all workers.
    pub buffer_bytes: usize,
    /// Totals so far, the capture thread's included.
    pub counters: &'a Counters,
    /// libpcap's latest statistics, for a live capture.
    pub capture: Option<CaptureStats>,
    /// Batches waiting in each worker's queue now.
    pub queued_batches: Vec<usize>,
}

/// Consumes the merged, ordered items: the inventory and the event writer.
pub trait Observer: Send + 'static {
    /// One item, in input order.
    fn item(&mut self, item: Item);
    /// After each worker report: the state of the pipeline. While capturing live this is called
    /// at least every [`LIVE_FLUSH`], so an observer can answer requests here.
    fn pipeline_state(&mut self, _state: &PipelineState) {}
}

/// While capturing live, the longest a packet waits in a batch before it is sent on, and so the
/// longest between two reports reaching the observer.
pub const LIVE_FLUSH: Duration = Duration::from_millis(200);
/// Packets between two looks at the clock while capturing live.
const UPKEEP_EVERY: usize = 64;
/// How often the capture thread reads libpcap's statistics while capturing live.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// Settings of the whole pipeline.
#[derive(Debug, Clone, Copy)]
pub struct EngineConfig {
    /// Worker threads.
    pub workers: usize,
    /// Settings of the workers; limits are totals, divided between the virtual shards.
    pub worker: WorkerConfig,
    /// Seconds of packet time between flow-timeout sweeps.
    pub tick_secs: u64,
}

/// Packets per batch: large enough to amortise channel costs, small enough to keep latency low.
const BATCH_PACKETS: usize = 256;
/// Bytes per batch buffer (a batch is flushed before it would grow past this).
const BATCH_BYTES: usize = 512 * 1024;
/// Batches queued per worker before the capture thread waits (back-pressure, bounded memory).
const QUEUE_BATCHES: usize = 16;

/// How a source ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// All packets read.
    Complete,
    /// The file ended inside a record; packets before it were processed.
    Truncated(String),
    /// A stop was requested (signal).
    Stopped,
    /// A worker thread is gone (it panicked): its flows are lost and the input order can no
    /// longer be kept, so reading stops.
    WorkerLost,
}

/// A running pipeline.
pub struct Engine<O: Observer> {
    senders: Vec<SyncSender<Batch>>,
    batches: Vec<Batch>,
    pool: Receiver<Batch>,
    workers: Vec<JoinHandle<()>>,
    output: JoinHandle<(O, Counters)>,
    seq: u64,
    next_tick: Option<Timestamp>,
    last_ts: Timestamp,
    tick_secs: u64,
    counters: Counters,
    /// Batches sent to each worker and not yet taken.
    queued: Arc<[AtomicUsize]>,
    last_flush: Instant,
    last_stats: Option<Instant>,
    capture_stats: Option<CaptureStats>,
    worker_lost: bool,
}

impl<O: Observer> Engine<O> {
    /// Starts the worker and output threads.
    pub fn start(config: EngineConfig, observer: O) -> Self {
        let n = config.workers.max(1);
        let (report_tx, report_rx) = mpsc::sync_channel::<Report>(n * QUEUE_BATCHES);
        let (pool_tx, pool_rx) = mpsc::channel::<Batch>();
        let mut senders = Vec::with_capacity(n);
        let mut workers = Vec::with_capacity(n);
        let wc = config.worker;
        let queued: Arc<[AtomicUsize]> = (0..n).map(|_| AtomicUsize::new(0)).collect();
        for id in 0..n {
            let (tx, rx) = mpsc::sync_channel::<Batch>(QUEUE_BATCHES);
            senders.push(tx);
            let reports = report_tx.clone();
            let pool = pool_tx.clone();
            let queue = Arc::clone(&queued);
            workers.push(
                std::thread::Builder::new()
                    .name(format!("wiretally-worker-{id}"))
                    .spawn(move || work(Worker::new(id, n, wc), rx, reports, pool, &queue[id]))
                    .expect("spawning a worker thread"),
            );
        }
        drop(report_tx);
        let queue = Arc::clone(&queued);
        let output = std::thread::Builder::new()
            .name("wiretally-output".into())
            .spawn(move || merge(n, report_rx, observer, &queue))
            .expect("spawning the output thread");
        Engine {
            senders,
            batches: (0..n).map(|_| new_batch()).collect(),
            pool: pool_rx,
            workers,
            output,
            seq: 0,
            next_tick: None,
            last_ts: Timestamp::default(),
            tick_secs: config.tick_secs.max(1),
            counters: Counters::default(),
            queued,
            last_flush: Instant::now(),
            last_stats: None,
            capture_stats: None,
            worker_lost: false,
        }
    }

    /// Reads a source to its end (or until `stop` is set), feeding the workers.
    pub fn feed(&mut self, source: &mut Source, stop: &AtomicBool) -> Result<Ended, CaptureError> {
        let link = source.link_type();
        let live = source.is_live();
        // Packets since the last upkeep: the clock is read once per [`UPKEEP_EVERY`] packets
        // while they stream, and at every turn while the ring is empty.
        let mut since_upkeep = 0usize;
        loop {
            if live {
                since_upkeep += 1;
                if since_upkeep >= UPKEEP_EVERY {
                    since_upkeep = 0;
                    self.live_upkeep(source);
                }
            }
            if stop.load(Ordering::Relaxed) {
                self.flush(Control::None);
                return Ok(Ended::Stopped);
            }
            if self.worker_lost {
                return Ok(Ended::WorkerLost);
            }
            let packet = match source.read()? {
                Read::Packet(p) => p,
                Read::Empty => {
                    since_upkeep = UPKEEP_EVERY;
                    continue;
                }
                Read::Idle => {
                    let now = Timestamp(
                        std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX)),
                    );
                    self.flush(Control::Tick(now.max(self.last_ts)));
                    continue;
                }
                Read::End => {
                    self.flush(Control::None);
                    return Ok(Ended::Complete);
                }
                Read::Truncated(why) => {
                    self.flush(Control::None);
                    return Ok(Ended::Truncated(why));
                }
            };
            // A due tick goes out before this packet, under this packet's sequence number, so
            // flows that end at the tick come before anything the packet does.
            match self.next_tick {
                None => self.next_tick = Some(packet.ts.plus_secs(self.tick_secs)),
                Some(t) if packet.ts >= t => {
                    self.flush(Control::Tick(packet.ts));
                    self.next_tick = Some(packet.ts.plus_secs(self.tick_secs));
                }
                Some(_) => {}
            }
            self.seq += 1;
            self.counters.packets += 1;
            self.counters.bytes += u64::from(packet.wire_len);
            if packet.ts > self.last_ts {
                self.last_ts = packet.ts;
            }
            let located = match decode::locate(link, packet.data) {
                Ok(Frame::Ip(l)) => l,
                Ok(Frame::NotIp) => {
                    self.counters.non_ip += 1;
                    continue;
                }
                Err(e) => {
                    self.counters.decode_error(e);
                    continue;
                }
            };
            let shard = (located.shard % VIRTUAL_SHARDS as u64) as usize;
            let batch = &mut self.batches[Worker::owner(shard, self.senders.len())];
            let start = batch.data.len();
            batch.data.extend_from_slice(packet.data);
            batch.packets.push(PacketMeta {
                seq: self.seq,
                ts: packet.ts,
                start,
                len: packet.data.len(),
                wire_len: packet.wire_len,
                ip_offset: located.ip_offset,
                shard: shard as u16,
                src_mac: located.src_mac,
                dst_mac: located.dst_mac,
            });
            if batch.packets.len() >= BATCH_PACKETS || batch.data.len() + 65_536 > BATCH_BYTES {
                self.flush(Control::None);
            }
        }
    }

    /// While capturing live: reads libpcap's statistics now and then, and sends batches on
    /// once their oldest packet has waited [`LIVE_FLUSH`].
    fn live_upkeep(&mut self, source: &mut Source) {
        if self.last_stats.is_none_or(|t| t.elapsed() >= STATS_EVERY) {
            self.capture_stats = source.stats();
            self.last_stats = Some(Instant::now());
        }
        if self.last_flush.elapsed() >= LIVE_FLUSH {
            self.flush(Control::None);
        }
    }

    /// Sends every worker its batch (empty ones too, so every watermark advances). The first
    /// worker's batch carries the capture thread's counts since the previous flush.
    fn flush(&mut self, control: Control) {
        let upto = self.seq + 1;
        self.last_flush = Instant::now();
        for (w, tx) in self.senders.iter().enumerate() {
            let fresh = self.pool.try_recv().unwrap_or_else(|_| new_batch());
            let mut batch = std::mem::replace(&mut self.batches[w], fresh);
            batch.upto = upto;
            batch.control = control;
            if w == 0 {
                batch.capture_counters = std::mem::take(&mut self.counters);
                batch.capture_stats = self.capture_stats;
            }
            self.queued[w].fetch_add(1, Ordering::Relaxed);
            // A worker only stops receiving when it panicked; its join reports that. The capture
            // thread's counts it carried are taken back.
            if let Err(std::sync::mpsc::SendError(lost)) = tx.send(batch) {
                self.queued[w].fetch_sub(1, Ordering::Relaxed);
                self.counters.add(&lost.capture_counters);
                self.worker_lost = true;
            }
        }
    }

    /// Ends all flows, waits for the threads and returns the observer with the totals.
    pub fn finish(mut self) -> (O, Counters) {
        self.flush(Control::Finish);
        self.senders.clear();
        let mut panics = 0;
        for w in self.workers {
            if w.join().is_err() {
                eprintln!("wiretally: a worker thread panicked; its flows were lost.");
                panics += 1;
            }
        }
        let (observer, mut counters) = self.output.join().expect("the output thread panicked");
        // What the capture thread counted and no worker took (none took the final flush's
        // counts when worker 0 had died).
        counters.add(&self.counters);
        counters.worker_panics += panics;
        (observer, counters)
    }
}

fn new_batch() -> Batch {
    Batch {
        data: Vec::with_capacity(BATCH_BYTES),
        packets: Vec::with_capacity(BATCH_PACKETS),
        ..Batch::default()
    }
}

fn work(
    mut worker: Worker,
    batches: Receiver<Batch>,
    reports: SyncSender<Report>,
    pool: Sender<Batch>,
    queued: &AtomicUsize,
) {
    for mut batch in batches {
        queued.fetch_sub(1, Ordering::Relaxed);
        let mut report = worker.process(&batch);
        report.counters.add(&batch.capture_counters);
        report.capture_stats = batch.capture_stats;
        let finished = report.finished;
        if reports.send(report).is_err() || finished {
            return;
        }
        batch.clear();
        let _ = pool.send(batch);
    }
}

/// A heap entry ordered by key only.
struct Pending(OrderKey, Item);

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

fn merge<O: Observer>(
    workers: usize,
    reports: Receiver<Report>,
    mut observer: O,
    queued: &[AtomicUsize],
) -> (O, Counters) {
    let mut heap: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
    let mut upto = vec![0u64; workers];
    let mut finished = vec![false; workers];
    let mut flows = vec![0usize; workers];
    let mut buffers = vec![0usize; workers];
    let mut counters = Counters::default();
    let mut capture = None;
    for report in reports {
        let w = report.worker;
        counters.add(&report.counters);
        capture = report.capture_stats.or(capture);
        upto[w] = report.upto;
        finished[w] = report.finished;
        flows[w] = report.flows;
        buffers[w] = report.buffer_bytes;
        heap.extend(
            report
                .items
                .into_iter()
                .map(|(k, i)| Reverse(Pending(k, i))),
        );
        let all_done = finished.iter().all(|f| *f);
        let watermark = upto.iter().copied().min().unwrap_or(0);
        while let Some(Reverse(top)) = heap.peek() {
            if !all_done && top.0.seq >= watermark {
                break;
            }
            if let Some(Reverse(Pending(_, item))) = heap.pop() {
                observer.item(item);
            }
        }
        observer.pipeline_state(&PipelineState {
            flows: flows.iter().sum(),
            buffer_bytes: buffers.iter().sum(),
            counters: &counters,
            capture,
            queued_batches: queued.iter().map(|q| q.load(Ordering::Relaxed)).collect(),
        });
        if all_done {
            break;
        }
    }
    // A worker that died never reports finished: what the others produced is still delivered,
    // in order.
    while let Some(Reverse(Pending(_, item))) = heap.pop() {
        observer.item(item);
    }
    (observer, counters)
}
