//! Pipeline benchmark: throughput on a campus-uplink-like capture, allocation-free fast path,
//! memory per flow and per host.
//!
//! `cargo bench --bench pipeline [-- --packets N --runs N --regen]`
//!
//! 1. Generates `bench-data/campus.pcap` (see `campus/mod.rs`) unless it is already there.
//! 2. Times, in this process, a bare libpcap read loop over the file (the physical limit: no
//!    sensor can read the file faster) and the whole `analyze` pipeline (engine, workers, inventory,
//!    NDJSON event log) with 1 and 2 workers; best of `--runs` runs each.
//! 3. Counts heap allocations while a worker processes 100,000 mid-flow packets of established
//!    flows that no parser wants; the claim is that this count is zero.
//! 4. Prints the flow-table entry size, measured heap per tracked flow, heap per inventoried host
//!    and peak RSS.
//!
//! 5. Hello-heavy mixes (see `mixes/mod.rs`): generates `bench-data/tls-heavy.pcap` and
//!    `bench-data/quic-heavy.pcap` unless they are there, checks that every connection produced
//!    exactly one `tls`/`quic` event with its SNI, times the 1-worker pipeline on each, times
//!    ClientHello parsing with and without JA3/JA4 over every hello of the mix, and counts the
//!    allocations `ja3_string` + `ja3_hash` + `ja4` make per hello.
//!
//! Results also go to `bench-data/bench-inprocess.tsv` and `bench-data/bench-mixes.tsv` for
//! `scripts/bench.sh`, which adds ndpiReader and the real CLI to the same tables.
//!
//! Options: `--packets N` (campus file size), `--runs N` (best of N; the hello timings take the
//! best of max(N, 5) passes), `--regen` (rebuild every capture), `--skip-campus` (mixes only),
//! `--skip-mixes` (campus only).

mod campus;
mod mixes;

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::time::Instant;
use wiretally::capture::{LinkType, Source};
use wiretally::event::Timestamp;
use wiretally::inventory::hosts::{HomeNets, Host};
use wiretally::inventory::{Inventory, InventoryLimits};
use wiretally::pipeline::batch::{Batch, PacketMeta};
use wiretally::pipeline::decode::{self, Frame};
use wiretally::pipeline::engine::{Ended, Engine, EngineConfig};
use wiretally::pipeline::flow::{Flow, FlowKey, FlowLimits, TcpStart};
use wiretally::pipeline::fragment::FragLimits;
use wiretally::pipeline::stats::Counters;
use wiretally::pipeline::worker::{VIRTUAL_SHARDS, Worker, WorkerConfig};

/// Counts every heap operation of the process; `LIVE` tracks bytes currently allocated.
struct CountingAlloc;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static REALLOCS: AtomicU64 = AtomicU64::new(0);
static DEALLOCS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged; the counters
// are atomics and never allocate.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        REALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        DEALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE.fetch_add(-(layout.size() as i64), Ordering::Relaxed);
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// A snapshot of the allocation counters.
#[derive(Debug, Clone, Copy)]
struct Heap {
    allocs: u64,
    reallocs: u64,
    deallocs: u64,
    live: i64,
}

impl Heap {
    fn now() -> Self {
        Heap {
            allocs: ALLOCS.load(Ordering::SeqCst),
            reallocs: REALLOCS.load(Ordering::SeqCst),
            deallocs: DEALLOCS.load(Ordering::SeqCst),
            live: LIVE.load(Ordering::SeqCst),
        }
    }

    /// Operations since `earlier` that obtained memory (allocations and reallocations).
    fn obtained_since(&self, earlier: &Heap) -> u64 {
        (self.allocs - earlier.allocs) + (self.reallocs - earlier.reallocs)
    }
}

/// Packets in the generated file, unless `--packets` says otherwise.
const DEFAULT_PACKETS: u64 = 1_200_000;
/// Generator seed; changing it changes every byte of the file.
const SEED: u64 = 0x7769_7265_7461_6c6c;
/// Mid-flow packets processed while counting allocations.
const STEADY_PACKETS: usize = 100_000;
/// Flows set up before the allocation count.
const STEADY_FLOWS: usize = 20_000;
/// Packets per batch, as the engine sends them.
const BATCH_PACKETS: usize = 256;

struct Args {
    packets: u64,
    runs: usize,
    regen: bool,
    skip_campus: bool,
    skip_mixes: bool,
}

fn args() -> Args {
    let mut a = Args {
        packets: DEFAULT_PACKETS,
        runs: 3,
        regen: false,
        skip_campus: false,
        skip_mixes: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--packets" => a.packets = it.next().and_then(|v| v.parse().ok()).unwrap_or(a.packets),
            "--runs" => {
                a.runs = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(a.runs)
                    .max(1)
            }
            "--regen" => a.regen = true,
            "--skip-campus" => a.skip_campus = true,
            "--skip-mixes" => a.skip_mixes = true,
            // `cargo bench` passes `--bench`; anything else is a libtest-style filter we ignore.
            _ => {}
        }
    }
    a
}

fn data_dir() -> PathBuf {
    std::env::var_os("WIRETALLY_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("bench-data"))
}

/// Generates the capture unless it is there already.
fn ensure_capture(path: &Path, a: &Args) -> std::io::Result<()> {
    if path.exists() && !a.regen {
        println!(
            "Using existing {} (pass --regen to rebuild it).",
            path.display()
        );
        return Ok(());
    }
    let t = Instant::now();
    let tmp = path.with_extension("pcap.part");
    let out = BufWriter::with_capacity(1 << 20, File::create(&tmp)?);
    let tally = campus::generate(out, a.packets, SEED)?;
    std::fs::rename(&tmp, path)?;
    println!(
        "Generated {} in {:.1} s: {} packets, {:.2} GB on the wire; handshake/close {}, first data {}, bulk data {}, bulk ACKs {}, DNS {}, DHCP {}.",
        path.display(),
        t.elapsed().as_secs_f64(),
        tally.packets,
        tally.wire_bytes as f64 / 1e9,
        tally.handshake,
        tally.app_first,
        tally.bulk_data,
        tally.bulk_acks,
        tally.dns,
        tally.dhcp,
    );
    Ok(())
}

/// Resets the kernel's peak-RSS mark of this process (Linux ≥ 4.0), so each run's peak is its own.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// VmHWM (peak resident set) in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// One timed run.
struct Run {
    secs: f64,
    packets: u64,
    wire_bytes: u64,
    peak_rss_kib: u64,
    /// Allocations and reallocations during the run.
    heap_ops: u64,
    detail: String,
}

/// The physical limit: libpcap reading every record, touching nothing but the header.
fn bare_read(path: &Path) -> Run {
    reset_peak_rss();
    let before = Heap::now();
    let t = Instant::now();
    let mut cap = pcap::Capture::from_file(path).expect("opening the capture");
    let (mut packets, mut wire, mut captured) = (0u64, 0u64, 0u64);
    while let Ok(p) = cap.next_packet() {
        packets += 1;
        wire += u64::from(p.header.len);
        captured += u64::from(p.header.caplen);
        std::hint::black_box(p.data);
    }
    let secs = t.elapsed().as_secs_f64();
    Run {
        secs,
        packets,
        wire_bytes: wire,
        peak_rss_kib: peak_rss_kib(),
        heap_ops: Heap::now().obtained_since(&before),
        detail: format!("captured bytes {captured}"),
    }
}

/// What the engine's capture thread does per packet, without the threads: libpcap read, locate
/// the IP header, copy the frame into a batch buffer (src/pipeline/engine.rs `feed`). A diagnostic:
/// the pipeline can never be faster than this on one capture thread.
fn capture_thread_work(path: &Path) -> Run {
    reset_peak_rss();
    let before = Heap::now();
    let t = Instant::now();
    let mut source = Source::open_file(path).expect("opening the capture");
    let link = source.link_type();
    let mut batch = Vec::<u8>::with_capacity(512 * 1024);
    let (mut packets, mut wire, mut located) = (0u64, 0u64, 0usize);
    while let Ok(wiretally::capture::Read::Packet(p)) = source.read() {
        packets += 1;
        wire += u64::from(p.wire_len);
        if let Ok(Frame::Ip(l)) = decode::locate(link, p.data) {
            located = located.wrapping_add(l.ip_offset);
            if batch.len() + 65_536 > batch.capacity() {
                std::hint::black_box(&batch);
                batch.clear();
            }
            batch.extend_from_slice(p.data);
        }
    }
    std::hint::black_box(located);
    Run {
        secs: t.elapsed().as_secs_f64(),
        packets,
        wire_bytes: wire,
        peak_rss_kib: peak_rss_kib(),
        heap_ops: Heap::now().obtained_since(&before),
        detail: "read + locate + copy into a batch buffer, no threads (diagnostic)".into(),
    }
}

fn engine_config(workers: usize) -> EngineConfig {
    // The CLI's defaults (src/main.rs `validate`, src/cli.rs).
    EngineConfig {
        workers,
        worker: WorkerConfig {
            flows: FlowLimits {
                max_flows: 1_000_000,
                ..FlowLimits::default()
            },
            stream_depth: 16 * 1024,
            stream_memory: 256 << 20,
            fragments: FragLimits::default(),
        },
        tick_secs: 5,
    }
}

/// Inventory memory after a run, measured by dropping it.
struct InventoryMemory {
    hosts: usize,
    dns_names: usize,
    heap_bytes: i64,
    host_records_bytes: usize,
    host_record_max: usize,
}

/// The whole `analyze` path, as `src/main.rs` runs it, writing events to `events`.
fn pipeline(path: &Path, workers: usize, events: &Path) -> (Run, InventoryMemory) {
    // The shipped signature packs, as `analyze` loads them from the repository root; loaded
    // before the clock and the heap count start, and kept alive here, so neither the packs'
    // loading time nor their compiled matchers count as pipeline or inventory figures.
    let signatures = wiretally::signature::load_dir(Path::new("signatures"))
        .map(std::sync::Arc::new)
        .expect("the shipped signature packs load");
    let packs = std::sync::Arc::clone(&signatures);
    reset_peak_rss();
    let before = Heap::now();
    let t = Instant::now();
    let writer: Box<dyn Write + Send> = Box::new(BufWriter::new(
        File::create(events).expect("creating the event log"),
    ));
    let inventory = Inventory::new(
        HomeNets::defaults(),
        InventoryLimits::default(),
        signatures,
        Some(writer),
    );
    let mut engine = Engine::start(engine_config(workers), inventory);
    let mut source = Source::open_file(path).expect("opening the capture");
    let stop = AtomicBool::new(false);
    let ended = engine
        .feed(&mut source, &stop)
        .expect("reading the capture");
    assert_eq!(ended, Ended::Complete);
    drop(source);
    let (mut inventory, counters): (Inventory, Counters) = engine.finish();
    inventory.close().expect("writing events");
    let secs = t.elapsed().as_secs_f64();
    let heap_ops = Heap::now().obtained_since(&before);
    let peak = peak_rss_kib();
    let events_bytes = std::fs::metadata(events).map(|m| m.len()).unwrap_or(0);
    let detail = format!(
        "flows {} (peak tracked {}), events {} ({:.1} MB NDJSON), hosts {}, dns names {}, non-IP {}, decode errors {}",
        counters.flows_created,
        inventory.peak_flows,
        counters.events,
        events_bytes as f64 / 1e6,
        inventory.hosts.len(),
        inventory.dns_names.len(),
        counters.non_ip,
        counters.decode_errors.iter().sum::<u64>(),
    );
    let host_records_bytes = inventory.hosts.all().iter().map(|h| host_heap(h)).sum();
    let host_record_max = inventory
        .hosts
        .all()
        .iter()
        .map(|h| host_heap(h))
        .max()
        .unwrap_or(0);
    let mem_before_drop = Heap::now();
    let (hosts, dns_names) = (inventory.hosts.len(), inventory.dns_names.len());
    drop(inventory);
    let freed = mem_before_drop.live - Heap::now().live;
    drop(packs);
    let inv = InventoryMemory {
        hosts,
        dns_names,
        heap_bytes: freed,
        host_records_bytes,
        host_record_max,
    };
    (
        Run {
            secs,
            packets: counters.packets,
            wire_bytes: counters.bytes,
            peak_rss_kib: peak,
            heap_ops,
            detail,
        },
        inv,
    )
}

/// Bytes of one host record: its own size plus the heap it points to.
fn host_heap(h: &Host) -> usize {
    use std::mem::size_of;
    let strings = |v: &Vec<String>| {
        v.capacity() * size_of::<String>() + v.iter().map(String::capacity).sum::<usize>()
    };
    size_of::<Host>()
        + h.names.capacity() * size_of::<wiretally::inventory::hosts::HostName>()
        + h.names.iter().map(|n| n.name.capacity()).sum::<usize>()
        + strings(&h.queried)
        + strings(&h.tls)
        + strings(&h.http)
        + software_heap(&h.software)
}

/// Heap of a host's software evidence.
fn software_heap(sw: &wiretally::inventory::software::HostSoftware) -> usize {
    use std::mem::size_of;
    use wiretally::inventory::software::{Evidence, HostProduct};
    sw.products.capacity() * size_of::<HostProduct>()
        + sw.products
            .iter()
            .map(|p| {
                p.evidence.capacity() * size_of::<Evidence>()
                    + p.evidence.iter().map(|e| e.observable.len()).sum::<usize>()
                    + p.versions.capacity() * size_of::<String>()
                    + p.versions.iter().map(String::capacity).sum::<usize>()
            })
            .sum::<usize>()
}

/// Turns frames into batches exactly as the engine's capture thread does.
struct Batcher {
    seq: u64,
    ts: i64,
    batches: Vec<Batch>,
}

impl Batcher {
    fn new() -> Self {
        Batcher {
            seq: 0,
            ts: 1_733_011_200_000_000,
            batches: Vec::new(),
        }
    }

    fn push(&mut self, frame: &[u8]) {
        self.seq += 1;
        self.ts += 10;
        let Ok(Frame::Ip(l)) = decode::locate(LinkType::Ethernet, frame) else {
            panic!("generated frame does not decode");
        };
        if self
            .batches
            .last()
            .is_none_or(|b| b.packets.len() >= BATCH_PACKETS)
        {
            self.batches.push(Batch {
                data: Vec::with_capacity(BATCH_PACKETS * 1600),
                packets: Vec::with_capacity(BATCH_PACKETS),
                ..Batch::default()
            });
        }
        let b = self.batches.last_mut().expect("just pushed");
        let start = b.data.len();
        b.data.extend_from_slice(frame);
        b.packets.push(PacketMeta {
            seq: self.seq,
            ts: Timestamp(self.ts),
            start,
            len: frame.len(),
            wire_len: frame.len() as u32,
            ip_offset: l.ip_offset,
            shard: (l.shard % VIRTUAL_SHARDS as u64) as u16,
            src_mac: l.src_mac,
            dst_mac: l.dst_mac,
        });
    }

    /// Closes the current batches, marking everything dispatched.
    fn take(&mut self) -> Vec<Batch> {
        let upto = self.seq + 1;
        let mut out = std::mem::take(&mut self.batches);
        for b in &mut out {
            b.upto = upto;
        }
        out
    }
}

/// What the steady-state allocation test found.
struct Steady {
    flows: usize,
    tracked_after_warmup: usize,
    heap_per_flow: f64,
    warm_heap_ops: u64,
    packets: usize,
    allocs: u64,
    reallocs: u64,
    deallocs: u64,
    items: usize,
    secs: f64,
}

/// Sets up `STEADY_FLOWS` flows (handshake and first data both ways, so every parser has decided),
/// then counts allocations while one worker processes `STEADY_PACKETS` mid-flow packets of them.
fn steady_state() -> Steady {
    let mut rng = campus::Rng::new(SEED ^ 0x5354_4541_4459);
    let filler = campus::filler(&mut rng);
    let mut flows: Vec<campus::TcpFlow> = (0..STEADY_FLOWS)
        .map(|i| {
            let client = i % campus::CLIENTS;
            let server = (i / campus::CLIENTS) % campus::SERVERS;
            campus::TcpFlow::new(
                client,
                server,
                40_000 + (i % 20_000) as u16,
                1_000_000,
                &mut rng,
            )
        })
        .collect();
    let mut batcher = Batcher::new();
    let mut frame = Vec::with_capacity(2048);
    for f in &mut flows {
        while f.stage != campus::Stage::Bulk {
            frame.clear();
            f.step(&mut frame, &mut rng, &filler);
            batcher.push(&frame);
        }
    }
    let warmup = batcher.take();
    let mut steady_frames = 0;
    while steady_frames < STEADY_PACKETS {
        let k = rng.below(flows.len() as u64) as usize;
        frame.clear();
        let kind = flows[k].step(&mut frame, &mut rng, &filler);
        assert!(matches!(
            kind,
            campus::Kind::BulkData | campus::Kind::BulkAck
        ));
        batcher.push(&frame);
        steady_frames += 1;
    }
    let steady = batcher.take();

    let config = engine_config(1).worker;
    let base = Heap::now();
    let mut worker = Worker::new(0, 1, config);
    let mut tracked = 0;
    let mut warm_reports = Vec::new();
    for b in &warmup {
        let r = worker.process(b);
        tracked = r.flows;
        warm_reports.push(r);
    }
    let warm_heap_ops = Heap::now().obtained_since(&base);
    // The reports' items are the output thread's business, not the worker's: drop them first.
    drop(warm_reports);
    let heap_per_flow = (Heap::now().live - base.live) as f64 / tracked.max(1) as f64;
    drop(warmup);

    let mut items = 0;
    let before = Heap::now();
    let t = Instant::now();
    for b in &steady {
        let r = worker.process(b);
        items += r.items.len();
        std::hint::black_box(&r);
    }
    let secs = t.elapsed().as_secs_f64();
    let after = Heap::now();
    drop(worker);
    Steady {
        flows: STEADY_FLOWS,
        tracked_after_warmup: tracked,
        heap_per_flow,
        warm_heap_ops,
        packets: steady.iter().map(|b| b.packets.len()).sum(),
        allocs: after.allocs - before.allocs,
        reallocs: after.reallocs - before.reallocs,
        deallocs: after.deallocs - before.deallocs,
        items,
        secs,
    }
}

fn best(runs: usize, mut f: impl FnMut() -> Run) -> (Run, Vec<f64>) {
    let mut all = Vec::new();
    let mut best: Option<Run> = None;
    for _ in 0..runs {
        let r = f();
        all.push(r.secs);
        if best.as_ref().is_none_or(|b| r.secs < b.secs) {
            best = Some(r);
        }
    }
    (best.expect("at least one run"), all)
}

fn main() {
    let a = args();
    let dir = data_dir();
    std::fs::create_dir_all(&dir).expect("creating bench-data");
    if !a.skip_campus {
        campus_bench(&a, &dir);
    }
    if !a.skip_mixes {
        mix_bench(&a, &dir);
    }
    signature_bench();
}

/// Signature lookups with the shipped packs: names that match and names that do not (most of a
/// campus's lookups), User-Agents, and server addresses; lookups/s and heap operations.
fn signature_bench() {
    let sigs =
        wiretally::signature::load_dir(Path::new("signatures")).expect("the shipped packs load");
    let names: Vec<String> = (0..10_000)
        .map(|i| match i % 4 {
            0 => "activation-v2.sls.microsoft.com".to_string(),
            1 => format!("cdn{i}.static.example-{}.com", i % 97),
            2 => "mirrors.tuna.tsinghua.edu.cn".to_string(),
            _ => format!("www{}.baidu.com", i % 13),
        })
        .collect();
    let uas = [
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
        "Debian APT-HTTP/1.3 (2.4.11)",
        "curl/8.5.0",
    ];
    let mut hits = Vec::with_capacity(64);
    let rounds = 50;
    let count_hits = |hits: &mut Vec<wiretally::signature::Hit>, obs| {
        hits.clear();
        sigs.lookup(obs, hits);
        hits.len()
    };
    let before = Heap::now();
    let t = Instant::now();
    let mut matched = 0usize;
    for _ in 0..rounds {
        for n in &names {
            matched += count_hits(&mut hits, wiretally::signature::Observable::Name(n));
        }
    }
    let name_time = t.elapsed().as_secs_f64();
    let name_heap = Heap::now().obtained_since(&before);
    let t = Instant::now();
    let ua_rounds = 20_000;
    for i in 0..ua_rounds {
        matched += count_hits(
            &mut hits,
            wiretally::signature::Observable::UserAgent(uas[i % uas.len()]),
        );
    }
    let ua_time = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let server_rounds = 200_000u32;
    for i in 0..server_rounds {
        let ip = std::net::IpAddr::from((0x0a00_0000u32 + i).to_be_bytes());
        matched += count_hits(
            &mut hits,
            wiretally::signature::Observable::Server(ip, if i % 2 == 0 { 443 } else { 27000 }),
        );
    }
    let server_time = t.elapsed().as_secs_f64();
    let name_lookups = (names.len() * rounds) as f64;
    println!(
        "\nSignature lookups with the shipped packs ({} products, {} rules; {matched} hits in all):",
        sigs.products.len(),
        sigs.rules.len()
    );
    println!(
        "  names: {:.0} lookups/s ({:.0} ns each), heap operations {} over {} lookups",
        name_lookups / name_time,
        name_time / name_lookups * 1e9,
        name_heap,
        name_lookups as u64
    );
    println!(
        "  User-Agents: {:.0} lookups/s (regex set; a version capture allocates its string)",
        ua_rounds as f64 / ua_time
    );
    println!(
        "  server address and port: {:.0} lookups/s",
        f64::from(server_rounds) / server_time
    );
}

/// Steps 1–4 on `campus.pcap`.
fn campus_bench(a: &Args, dir: &Path) {
    let path = dir.join("campus.pcap");
    ensure_capture(&path, a).expect("generating the capture");

    // Warm the page cache so the first timed run does not pay for the disk.
    let _ = bare_read(&path);

    let (bare, bare_all) = best(a.runs, || bare_read(&path));
    let mut runs = vec![("bare libpcap read loop".to_string(), bare, bare_all)];
    let (cap, cap_all) = best(a.runs, || capture_thread_work(&path));
    runs.push(("capture-thread work only".to_string(), cap, cap_all));
    let mut inventory_mem = None;
    for workers in [1usize, 2] {
        let events = dir.join(format!("events-bench-w{workers}.ndjson"));
        let mut mem = None;
        let (r, all) = best(a.runs, || {
            let (r, m) = pipeline(&path, workers, &events);
            mem = Some(m);
            r
        });
        if workers == 1 {
            inventory_mem = mem;
        }
        let label = format!(
            "wiretally pipeline, {workers} worker{}",
            if workers == 1 { "" } else { "s" }
        );
        runs.push((label, r, all));
    }
    let bare_secs = runs[0].1.secs;

    println!();
    println!(
        "{} — {} packets, {:.3} GB on the wire; best of {} runs each (all runs in brackets)",
        path.display(),
        runs[0].1.packets,
        runs[0].1.wire_bytes as f64 / 1e9,
        a.runs
    );
    println!(
        "{:<34} {:>8} {:>12} {:>8} {:>9} {:>11} {:>10}",
        "run", "time s", "packets/s", "Gbit/s", "vs bare", "peak RSS", "heap ops"
    );
    let mut tsv = String::new();
    for (label, r, all) in &runs {
        let pps = r.packets as f64 / r.secs;
        let gbps = r.wire_bytes as f64 * 8.0 / r.secs / 1e9;
        println!(
            "{:<34} {:>8.3} {:>12.0} {:>8.2} {:>8.2}x {:>7.1} MiB {:>10}  [{}]",
            label,
            r.secs,
            pps,
            gbps,
            r.secs / bare_secs,
            r.peak_rss_kib as f64 / 1024.0,
            r.heap_ops,
            all.iter()
                .map(|s| format!("{s:.3}"))
                .collect::<Vec<_>>()
                .join(" "),
        );
        tsv.push_str(&format!(
            "{label} (in-process)\t{:.3}\t{}\t{}\t{:.1}\n",
            r.secs,
            r.packets,
            r.wire_bytes,
            r.peak_rss_kib as f64 / 1024.0
        ));
    }
    for (label, r, _) in &runs {
        println!("  {label}: {}", r.detail);
    }
    let w1 = runs[2].1.secs;
    let w2 = runs[3].1.secs;
    println!(
        "Targets: 1 worker within 1.5x of bare read: {:.2}x ({}); 2 workers faster than 1: {:.3} s vs {:.3} s ({}).",
        w1 / bare_secs,
        if w1 / bare_secs <= 1.5 {
            "met"
        } else {
            "MISSED"
        },
        w2,
        w1,
        if w2 < w1 { "met" } else { "MISSED" },
    );

    println!();
    let s = steady_state();
    println!(
        "Allocation-free fast path: one worker, {} flows set up (handshake + first data both ways; {} heap ops while warming), then {} mid-flow bulk packets no parser wants:",
        s.flows, s.warm_heap_ops, s.packets
    );
    println!(
        "  allocations {}, reallocations {}, deallocations {}, items produced {}  ({:.0} packets/s in the worker alone) — {}",
        s.allocs,
        s.reallocs,
        s.deallocs,
        s.items,
        s.packets as f64 / s.secs,
        if s.allocs + s.reallocs == 0 {
            "claim holds"
        } else {
            "CLAIM FAILS"
        }
    );

    println!();
    let entry = std::mem::size_of::<(FlowKey, Flow)>();
    println!("Memory:");
    println!(
        "  flow table entry size_of::<(FlowKey, Flow)>() = {entry} B (+1 control byte); hashbrown keeps load between 7/16 and 7/8, so {:.0}..{:.0} B per flow in the table",
        (entry + 1) as f64 / 0.875,
        (entry + 1) as f64 / 0.4375
    );
    println!(
        "  measured: {} flows tracked after warm-up hold {:.0} B of heap each (table plus any per-flow state left)",
        s.tracked_after_warmup, s.heap_per_flow
    );
    println!(
        "  while a parser still wants a TCP flow's start: + size_of::<TcpStart>() = {} B boxed, plus its stream buffers (up to --stream-depth per direction)",
        std::mem::size_of::<TcpStart>()
    );
    if let Some(m) = inventory_mem {
        println!(
            "  inventory after the 1-worker run: {} hosts, {} DNS names; all inventory heap {} B = {:.0} B per host; host records alone {:.0} B per host, largest {} B (size_of::<Host>() = {} B)",
            m.hosts,
            m.dns_names,
            m.heap_bytes,
            m.heap_bytes as f64 / m.hosts.max(1) as f64,
            m.host_records_bytes as f64 / m.hosts.max(1) as f64,
            m.host_record_max,
            std::mem::size_of::<Host>()
        );
        tsv.push_str(&format!(
            "#memory\tflow_entry={entry}\theap_per_flow={:.0}\tinventory_per_host={:.0}\thost_record={:.0}\tsteady_allocs={}\n",
            s.heap_per_flow,
            m.heap_bytes as f64 / m.hosts.max(1) as f64,
            m.host_records_bytes as f64 / m.hosts.max(1) as f64,
            s.allocs + s.reallocs
        ));
    }
    std::fs::write(dir.join("bench-inprocess.tsv"), tsv).expect("writing results");
}

/// Seeds of the hello-heavy mixes.
const TLS_SEED: u64 = SEED ^ 0x746c_732d_6865_6176;
const QUIC_SEED: u64 = SEED ^ 0x7175_6963_2d68_6561;

/// A writer that only counts bytes, to regenerate a mix's hellos without writing the file again.
struct CountingSink(u64);

impl Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum MixKind {
    Tls,
    Quic,
}

impl MixKind {
    fn file(self) -> &'static str {
        match self {
            MixKind::Tls => "tls-heavy.pcap",
            MixKind::Quic => "quic-heavy.pcap",
        }
    }
    fn event_type(self) -> &'static str {
        match self {
            MixKind::Tls => "tls",
            MixKind::Quic => "quic",
        }
    }
    fn transport(self) -> Transport {
        match self {
            MixKind::Tls => Transport::Tcp,
            MixKind::Quic => Transport::Quic,
        }
    }
    fn generate<W: Write>(self, out: W) -> std::io::Result<mixes::Mix> {
        match self {
            MixKind::Tls => mixes::generate_tls(out, mixes::TLS_CONNECTIONS, TLS_SEED),
            MixKind::Quic => mixes::generate_quic(out, mixes::QUIC_CONNECTIONS, QUIC_SEED),
        }
    }
}

use wiretally::wire::ja::{self, Transport};
use wiretally::wire::tls::{ClientHello, parse_client_hello};

/// Generates a mix's capture unless it is there already; either way returns its hellos and the
/// connections' expected SNIs (regenerated in memory, and checked against the file's size).
fn ensure_mix(kind: MixKind, path: &Path, a: &Args) -> mixes::Mix {
    let t = Instant::now();
    if path.exists() && !a.regen {
        let mut sink = CountingSink(0);
        let mix = kind.generate(&mut sink).expect("regenerating in memory");
        let on_disk = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        if on_disk == sink.0 {
            println!(
                "Using existing {} (pass --regen to rebuild it); hellos regenerated in memory in {:.1} s.",
                path.display(),
                t.elapsed().as_secs_f64()
            );
            return mix;
        }
        println!(
            "{} has {on_disk} bytes, the generator makes {}: rebuilding it.",
            path.display(),
            sink.0
        );
    }
    let tmp = path.with_extension("pcap.part");
    let out = BufWriter::with_capacity(1 << 20, File::create(&tmp).expect("creating the capture"));
    let mix = kind.generate(out).expect("generating the capture");
    std::fs::rename(&tmp, path).expect("renaming the capture");
    println!(
        "Generated {} in {:.1} s: {} packets, {:.3} GB on the wire, {} connections.",
        path.display(),
        t.elapsed().as_secs_f64(),
        mix.tally.packets,
        mix.tally.wire_bytes as f64 / 1e9,
        mix.expected.len()
    );
    mix
}

/// How the event log of a mix compares with its connections.
#[derive(Default)]
struct EventCheck {
    events_of_type: usize,
    other_events: usize,
    /// Connections with exactly one event of the mix's type, with the right SNI.
    exact: usize,
    /// Connections with no event of the mix's type.
    missing: usize,
    /// Connections with more than one.
    duplicated: usize,
    /// Connections whose one event has another SNI.
    wrong_sni: usize,
    /// Events matching no connection.
    stray: usize,
    /// A few missing connections, for the report.
    missing_examples: Vec<String>,
}

/// Reads an NDJSON event log and checks it against the mix's connections.
fn check_events(kind: MixKind, events: &Path, expected: &[mixes::Expected]) -> EventCheck {
    use std::collections::HashMap;
    let text = std::fs::read_to_string(events).expect("reading the event log");
    let mut by_conn: HashMap<(String, u16), Vec<Option<String>>> = HashMap::new();
    let mut c = EventCheck::default();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("event log line is JSON");
        if v["event_type"] != kind.event_type() {
            c.other_events += 1;
            continue;
        }
        c.events_of_type += 1;
        let ip = v["src_ip"].as_str().unwrap_or_default().to_string();
        let port = v["src_port"].as_u64().unwrap_or(0) as u16;
        let sni = v[kind.event_type()]["sni"].as_str().map(str::to_string);
        by_conn.entry((ip, port)).or_default().push(sni);
    }
    let mut matched = 0;
    for e in expected {
        let ip = std::net::Ipv4Addr::from(e.client).to_string();
        match by_conn.get(&(ip.clone(), e.port)).map(Vec::as_slice) {
            None | Some([]) => {
                c.missing += 1;
                if c.missing_examples.len() < 5 {
                    c.missing_examples
                        .push(format!("{ip}:{} ({})", e.port, e.sni));
                }
            }
            Some([sni]) => {
                matched += 1;
                if sni.as_deref() == Some(e.sni.as_str()) {
                    c.exact += 1;
                } else {
                    c.wrong_sni += 1;
                }
            }
            Some(many) => {
                matched += many.len();
                c.duplicated += 1;
            }
        }
    }
    c.stray = c.events_of_type.saturating_sub(matched);
    c
}

/// Hello handling in isolation, over every hello of a mix.
struct HelloTimes {
    hellos: usize,
    /// Best pass of `parse_client_hello` alone, seconds.
    parse: f64,
    /// Best pass of parse + ja3_string + ja3_hash + ja4, seconds.
    parse_fp: f64,
    /// Best pass of ja3_string + ja3_hash + ja4 on already parsed hellos, seconds.
    fp_only: f64,
    passes: usize,
}

fn time_hellos(hellos: &[Vec<u8>], transport: Transport, passes: usize) -> HelloTimes {
    use std::hint::black_box;
    let parsed: Vec<ClientHello> = hellos
        .iter()
        .map(|h| parse_client_hello(h).expect("generated hello parses"))
        .collect();
    let flagged = parsed
        .iter()
        .filter(|ch| ch.flags != Default::default())
        .count();
    assert_eq!(
        flagged, 0,
        "generated hellos must parse without oddity flags"
    );
    let (mut parse, mut parse_fp, mut fp_only) = (f64::MAX, f64::MAX, f64::MAX);
    // The three measurements alternate, so drift and neighbours' load hit them alike.
    for _ in 0..passes {
        let t = Instant::now();
        for h in hellos {
            black_box(parse_client_hello(black_box(h)).expect("parses"));
        }
        parse = parse.min(t.elapsed().as_secs_f64());

        let t = Instant::now();
        for h in hellos {
            let ch = parse_client_hello(black_box(h)).expect("parses");
            let s = ja::ja3_string(&ch);
            let hash = ja::ja3_hash(&s);
            let j4 = ja::ja4(&ch, transport);
            black_box((ch, s, hash, j4));
        }
        parse_fp = parse_fp.min(t.elapsed().as_secs_f64());

        let t = Instant::now();
        for ch in &parsed {
            let ch = black_box(ch);
            let s = ja::ja3_string(ch);
            let hash = ja::ja3_hash(&s);
            let j4 = ja::ja4(ch, transport);
            black_box((s, hash, j4));
        }
        fp_only = fp_only.min(t.elapsed().as_secs_f64());
    }
    HelloTimes {
        hellos: hellos.len(),
        parse,
        parse_fp,
        fp_only,
        passes,
    }
}

/// Heap operations that obtained memory, per function, over every hello of a mix.
struct FpAllocs {
    hellos: usize,
    /// parse_client_hello (not part of the claim; for context).
    parse: u64,
    ja3_string: u64,
    ja3_hash: u64,
    ja4: u64,
    /// ja3_string + ja3_hash + ja4 in one pass, as `app::tls::fingerprints` calls them.
    together: u64,
    /// Reallocations within `together` (already counted in it).
    together_reallocs: u64,
}

fn count_fp_allocs(hellos: &[Vec<u8>], transport: Transport) -> FpAllocs {
    use std::hint::black_box;
    let before = Heap::now();
    let parsed: Vec<ClientHello> = hellos
        .iter()
        .map(|h| parse_client_hello(h).expect("generated hello parses"))
        .collect();
    // The Vec of results itself: one allocation, plus its growth (none, the size is known).
    let parse = Heap::now().obtained_since(&before) - 1;
    let strings: Vec<String> = parsed.iter().map(ja::ja3_string).collect();

    let before = Heap::now();
    for ch in &parsed {
        black_box(ja::ja3_string(black_box(ch)));
    }
    let ja3_string = Heap::now().obtained_since(&before);
    let before = Heap::now();
    for s in &strings {
        black_box(ja::ja3_hash(black_box(s)));
    }
    let ja3_hash = Heap::now().obtained_since(&before);
    let before = Heap::now();
    for ch in &parsed {
        black_box(ja::ja4(black_box(ch), transport));
    }
    let ja4 = Heap::now().obtained_since(&before);
    let before = Heap::now();
    for ch in &parsed {
        let ch = black_box(ch);
        let s = ja::ja3_string(ch);
        let hash = ja::ja3_hash(&s);
        black_box((s, hash, ja::ja4(ch, transport)));
    }
    let after = Heap::now();
    FpAllocs {
        hellos: hellos.len(),
        parse,
        ja3_string,
        ja3_hash,
        ja4,
        together: after.obtained_since(&before),
        together_reallocs: after.reallocs - before.reallocs,
    }
}

/// Step 5: the TLS-heavy and QUIC-heavy mixes.
fn mix_bench(a: &Args, dir: &Path) {
    let passes = a.runs.max(5);
    let mut tsv = String::from(
        "#mix\tpackets\twire_bytes\tconnections\thello_packets\tclient_hello_packets\tevents\tevents_exact\tpipeline_s\tpackets_per_s\tpackets_per_s_without_fp\tparse_ns\tparse_fp_ns\tfp_ns\tfp_only_ns\tfp_share_of_pipeline\tallocs_per_hello\tparse_allocs_per_hello\n",
    );
    let mut failures = Vec::new();
    for kind in [MixKind::Tls, MixKind::Quic] {
        let path = dir.join(kind.file());
        let mix = ensure_mix(kind, &path, a);
        let _ = bare_read(&path); // warm the page cache
        let events = dir.join(format!("events-{}-w1.ndjson", kind.event_type()));
        let (run, all) = best(a.runs, || pipeline(&path, 1, &events).0);
        let check = check_events(kind, &events, &mix.expected);
        let times = time_hellos(&mix.hellos, kind.transport(), passes);
        let allocs = count_fp_allocs(&mix.hellos, kind.transport());

        let n = times.hellos as f64;
        let fp_cost = (times.parse_fp - times.parse) / n;
        let without_secs = run.secs - n * fp_cost;
        let pps = run.packets as f64 / run.secs;
        let pps_without = run.packets as f64 / without_secs;
        let sizes: Vec<usize> = mix.hellos.iter().map(|h| h.len() + 4).collect();
        let (min, max) = (
            sizes.iter().min().copied().unwrap_or(0),
            sizes.iter().max().copied().unwrap_or(0),
        );
        let mean = sizes.iter().sum::<usize>() as f64 / n;

        println!();
        println!(
            "{} — {} packets, {:.3} GB on the wire, {} connections{}; ClientHellos {}–{} B (mean {:.0} B) in {} packets; packets carrying hello bytes (client and server) {} = {:.0} %",
            path.display(),
            run.packets,
            run.wire_bytes as f64 / 1e9,
            mix.expected.len(),
            if kind == MixKind::Tls {
                format!(" ({} answered with TLS 1.2 + certificate)", mix.tls12)
            } else {
                String::new()
            },
            min,
            max,
            mean,
            mix.client_hello_packets,
            mix.tally.app_first,
            100.0 * mix.tally.app_first as f64 / mix.tally.packets as f64,
        );
        println!(
            "  events: {} `{}` events (+{} others) for {} connections: {} exactly one with the right SNI, {} missing, {} duplicated, {} wrong SNI, {} stray — {}",
            check.events_of_type,
            kind.event_type(),
            check.other_events,
            mix.expected.len(),
            check.exact,
            check.missing,
            check.duplicated,
            check.wrong_sni,
            check.stray,
            if check.exact == mix.expected.len() && check.stray == 0 {
                "OK"
            } else {
                "MISMATCH"
            }
        );
        if !check.missing_examples.is_empty() {
            println!(
                "  first connections without an event: {}",
                check.missing_examples.join(", ")
            );
        }
        if check.exact != mix.expected.len() || check.stray != 0 {
            failures.push(kind.file());
        }
        println!(
            "  pipeline, 1 worker: {:.3} s = {:.0} packets/s, {:.2} Gbit/s, peak RSS {:.1} MiB  [{}]; {}",
            run.secs,
            pps,
            run.wire_bytes as f64 * 8.0 / run.secs / 1e9,
            run.peak_rss_kib as f64 / 1024.0,
            all.iter()
                .map(|s| format!("{s:.3}"))
                .collect::<Vec<_>>()
                .join(" "),
            run.detail
        );
        println!(
            "  hellos in isolation ({} hellos, best of {} passes): parse_client_hello {:.3} ms = {:.0} hellos/s ({:.0} ns each); parse + ja3_string + ja3_hash + ja4 {:.3} ms = {:.0} hellos/s ({:.0} ns each)",
            times.hellos,
            times.passes,
            times.parse * 1e3,
            n / times.parse,
            times.parse / n * 1e9,
            times.parse_fp * 1e3,
            n / times.parse_fp,
            times.parse_fp / n * 1e9,
        );
        println!(
            "  fingerprinting: {:.0} ns per hello (difference of the two; fingerprints of already parsed hellos timed alone: {:.0} ns) = {:.2} % of the pipeline's time",
            fp_cost * 1e9,
            times.fp_only / n * 1e9,
            100.0 * n * fp_cost / run.secs,
        );
        println!(
            "  pipeline packets/s with fingerprinting {:.0}; without (pipeline time − hellos × fingerprint cost = {:.3} s) {:.0}",
            pps, without_secs, pps_without
        );
        let per = |x: u64| x as f64 / allocs.hellos as f64;
        println!(
            "  allocations per hello (allocations + reallocations, counted over all {} hellos): ja3_string {:.2}, ja3_hash {:.2}, ja4 {:.2}; all three in one pass {:.2} ({} reallocations) — {}; parse_client_hello (not part of the claim) {:.2}",
            allocs.hellos,
            per(allocs.ja3_string),
            per(allocs.ja3_hash),
            per(allocs.ja4),
            per(allocs.together),
            allocs.together_reallocs,
            if allocs.together <= 3 * allocs.hellos as u64 {
                "claim holds (at most the 3 strings emitted)"
            } else {
                "CLAIM FAILS"
            },
            per(allocs.parse),
        );
        tsv.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:.3}\t{:.0}\t{:.0}\t{:.0}\t{:.0}\t{:.0}\t{:.0}\t{:.4}\t{:.2}\t{:.2}\n",
            kind.file(),
            run.packets,
            run.wire_bytes,
            mix.expected.len(),
            mix.tally.app_first,
            mix.client_hello_packets,
            check.events_of_type,
            check.exact,
            run.secs,
            pps,
            pps_without,
            times.parse / n * 1e9,
            times.parse_fp / n * 1e9,
            fp_cost * 1e9,
            times.fp_only / n * 1e9,
            n * fp_cost / run.secs,
            per(allocs.together),
            per(allocs.parse),
        ));
    }
    std::fs::write(dir.join("bench-mixes.tsv"), tsv).expect("writing results");
    if !failures.is_empty() {
        println!(
            "Event check FAILED for: {} (see above).",
            failures.join(", ")
        );
    }
}
