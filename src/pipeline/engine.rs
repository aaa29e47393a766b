//! Threads: the capture loop feeding sharded workers, and the output thread merging their reports
//! back into input order.
//!
//! The capture thread (the caller's) reads a source, locates each frame's inner IP header and
//! copies the frame into the batch of the worker its address pair hashes to. Batches are flushed
//! together, each carrying the sequence number below which everything has been dispatched; a worker
//! reports back after each batch with that number as its watermark. The output thread holds items
//! in a heap and releases them, in [`OrderKey`] order, once every worker's watermark has passed
//! them. Buffers travel back to the capture thread for reuse, so steady state allocates nothing.

use crate::capture::{CaptureError, Read, Source};
use crate::event::Timestamp;
use crate::pipeline::batch::{Batch, Control, Item, OrderKey, PacketMeta, Report};
use crate::pipeline::decode::{self, Frame};
use crate::pipeline::stats::Counters;
use crate::pipeline::worker::{VIRTUAL_SHARDS, Worker, WorkerConfig};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

/// Consumes the merged, ordered items: the inventory and the event writer.
pub trait Observer: Send + 'static {
    /// One item, in input order.
    fn item(&mut self, item: Item);
    /// After each worker report: the state gauges of the pipeline.
    fn pipeline_state(&mut self, _flows: usize, _buffer_bytes: usize) {}
}

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
        for id in 0..n {
            let (tx, rx) = mpsc::sync_channel::<Batch>(QUEUE_BATCHES);
            senders.push(tx);
            let reports = report_tx.clone();
            let pool = pool_tx.clone();
            workers.push(
                std::thread::Builder::new()
                    .name(format!("wiretally-worker-{id}"))
                    .spawn(move || work(Worker::new(id, n, wc), rx, reports, pool))
                    .expect("spawning a worker thread"),
            );
        }
        drop(report_tx);
        let output = std::thread::Builder::new()
            .name("wiretally-output".into())
            .spawn(move || merge(n, report_rx, observer))
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
        }
    }

    /// Reads a source to its end (or until `stop` is set), feeding the workers.
    pub fn feed(&mut self, source: &mut Source, stop: &AtomicBool) -> Result<Ended, CaptureError> {
        let link = source.link_type();
        loop {
            if stop.load(Ordering::Relaxed) {
                self.flush(Control::None);
                return Ok(Ended::Stopped);
            }
            let packet = match source.read()? {
                Read::Packet(p) => p,
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

    /// Sends every worker its batch (empty ones too, so every watermark advances).
    fn flush(&mut self, control: Control) {
        let upto = self.seq + 1;
        for (w, tx) in self.senders.iter().enumerate() {
            let fresh = self.pool.try_recv().unwrap_or_else(|_| new_batch());
            let mut batch = std::mem::replace(&mut self.batches[w], fresh);
            batch.upto = upto;
            batch.control = control;
            // A worker only stops receiving when it panicked; its join reports that.
            let _ = tx.send(batch);
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
) {
    for mut batch in batches {
        let report = worker.process(&batch);
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

fn merge<O: Observer>(workers: usize, reports: Receiver<Report>, mut observer: O) -> (O, Counters) {
    let mut heap: BinaryHeap<Reverse<Pending>> = BinaryHeap::new();
    let mut upto = vec![0u64; workers];
    let mut finished = vec![false; workers];
    let mut flows = vec![0usize; workers];
    let mut buffers = vec![0usize; workers];
    let mut counters = Counters::default();
    for report in reports {
        let w = report.worker;
        counters.add(&report.counters);
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
        observer.pipeline_state(flows.iter().sum(), buffers.iter().sum());
        if all_done {
            break;
        }
    }
    (observer, counters)
}
