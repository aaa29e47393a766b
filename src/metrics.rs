//! Prometheus metrics: what the sensor did and what it found, in the text exposition format.
//!
//! [`Metrics::update`] copies the pipeline's counters, libpcap's per-interface statistics and the
//! inventory's totals into a `prometheus` registry; [`Metrics::encode`] renders it. Every series
//! carries the constant label `sensor`; no label ever holds a host or an address (the number of
//! series stays bounded by products, categories, alert kinds and interfaces). Counters mirror
//! totals the pipeline already keeps, so an update adds the difference.

use crate::capture::CaptureTotals;
use crate::inventory::Inventory;
use crate::inventory::alerts::AlertKind;
use crate::pipeline::stats::Counters;
use crate::signature::schema::Category;
use prometheus::{
    Encoder, Gauge, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};
use std::collections::{BTreeMap, BTreeSet};

/// The registry and its metrics.
pub struct Metrics {
    registry: Registry,
    packets: IntCounter,
    bytes: IntCounter,
    capture_packets: IntCounterVec,
    kernel_drops: IntCounterVec,
    interface_drops: IntCounterVec,
    decode_errors: IntCounterVec,
    flows_active: IntGauge,
    flows_created: IntCounter,
    flows_evicted: IntCounter,
    flows_timed_out: IntCounter,
    hosts_active: IntGauge,
    hosts_evicted: IntCounter,
    buffer_bytes: IntGauge,
    events: IntCounterVec,
    alerts_raised: IntCounterVec,
    alerts_dropped: IntCounter,
    product_hosts: IntGaugeVec,
    category_hosts: IntGaugeVec,
    kms_activations: IntCounterVec,
    license_seats: IntGaugeVec,
    license_seats_used: IntGaugeVec,
    reloads: IntCounterVec,
    last_reload_successful: IntGauge,
    last_reload_time: Gauge,
    queued_batches: IntGaugeVec,
    coverage_ratio: prometheus::GaugeVec,
    unmanaged_hosts: IntGauge,
    stale_inventory_hosts: IntGauge,
    capture_up: IntGauge,
}

/// Adds to a counter what `total` has beyond it (the pipeline keeps totals, Prometheus counters
/// only go up).
fn catch_up(counter: &IntCounter, total: u64) {
    let now = counter.get();
    if total > now {
        counter.inc_by(total - now);
    }
}

impl Metrics {
    /// A registry whose series all carry `sensor="<sensor>"`, with the configuration loaded at
    /// `loaded_at` (seconds since the epoch) as the last good load.
    pub fn new(sensor: &str, loaded_at: f64) -> Result<Metrics, prometheus::Error> {
        let labels = [("sensor".to_string(), sensor.to_string())].into();
        let registry = Registry::new_custom(Some("wiretally".into()), Some(labels))?;
        let counter = |name: &str, help: &str| -> Result<IntCounter, prometheus::Error> {
            let c = IntCounter::new(name, help)?;
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        };
        let gauge = |name: &str, help: &str| -> Result<IntGauge, prometheus::Error> {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok(g)
        };
        let counters =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntCounterVec, prometheus::Error> {
                let c = IntCounterVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(c.clone()))?;
                Ok(c)
            };
        let gauges =
            |name: &str, help: &str, labels: &[&str]| -> Result<IntGaugeVec, prometheus::Error> {
                let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
                registry.register(Box::new(g.clone()))?;
                Ok(g)
            };
        let build = gauges(
            "build_info",
            "Always 1; the version of the running sensor.",
            &["version"],
        )?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        let last_reload_time = Gauge::new(
            "config_last_reload_success_timestamp_seconds",
            "When the configuration and signature packs were last loaded successfully.",
        )?;
        registry.register(Box::new(last_reload_time.clone()))?;
        last_reload_time.set(loaded_at);
        let m = Metrics {
            packets: counter("packets_total", "Packets read from the capture sources.")?,
            bytes: counter("bytes_total", "Bytes on the wire of the packets read.")?,
            capture_packets: counters(
                "capture_packets_total",
                "Packets libpcap received on an interface.",
                &["interface"],
            )?,
            kernel_drops: counters(
                "capture_kernel_drops_total",
                "Packets the kernel dropped because the capture buffer was full.",
                &["interface"],
            )?,
            interface_drops: counters(
                "capture_interface_drops_total",
                "Packets the interface or its driver dropped.",
                &["interface"],
            )?,
            decode_errors: counters(
                "decode_errors_total",
                "Frames that failed to decode, by reason.",
                &["reason"],
            )?,
            flows_active: gauge("flows_active", "Flows tracked now.")?,
            flows_created: counter("flows_created_total", "Flows created.")?,
            flows_evicted: counter(
                "flows_evicted_total",
                "Flows evicted because the flow table was full.",
            )?,
            flows_timed_out: counter(
                "flows_timed_out_total",
                "Flows ended by their idle timeout.",
            )?,
            hosts_active: gauge("hosts_active", "Hosts of the home networks tracked now.")?,
            hosts_evicted: counter(
                "hosts_evicted_total",
                "Hosts evicted because the host table was full.",
            )?,
            buffer_bytes: gauge(
                "reassembly_buffer_bytes",
                "Bytes held in TCP stream-start and IP fragment reassembly buffers.",
            )?,
            events: counters("events_total", "Events written, by type.", &["type"])?,
            alerts_raised: counters(
                "alerts_raised_total",
                "Distinct alerts raised (repeats of an alert raise its count, not this), by kind.",
                &["kind"],
            )?,
            alerts_dropped: counter(
                "alerts_dropped_total",
                "Alerts not kept because the alert table was full.",
            )?,
            product_hosts: gauges(
                "product_hosts",
                "Hosts on which a product is reported.",
                &["product", "category"],
            )?,
            category_hosts: gauges(
                "category_hosts",
                "Hosts with at least one product of a category reported.",
                &["category"],
            )?,
            kms_activations: counters(
                "kms_activations_total",
                "KMS activation requests, by whether their server is an authorized campus host \
                 (authorized), not (unauthorized), or could not be judged because no policy lists \
                 KMS hosts (unchecked).",
                &["server_class"],
            )?,
            license_seats: gauges(
                "license_seats",
                "Seats the licence ledger holds for a product.",
                &["product"],
            )?,
            license_seats_used: gauges(
                "license_seats_used",
                "Machines that used a ledger product within the overuse period.",
                &["product"],
            )?,
            reloads: counters(
                "config_reloads_total",
                "Configuration reloads (SIGHUP), by result.",
                &["result"],
            )?,
            last_reload_successful: gauge(
                "config_last_reload_successful",
                "1 if the last configuration load or reload succeeded, else 0.",
            )?,
            queued_batches: gauges(
                "worker_queue_batches",
                "Batches of packets waiting in a worker's queue (16 fill it, and then capture waits).",
                &["worker"],
            )?,
            coverage_ratio: {
                let g = prometheus::GaugeVec::new(
                    Opts::new(
                        "coverage_ratio",
                        "Share covered by the agent inventories: of the network's hosts (scope \
                         \"hosts\"), or of the products of a category seen on hosts (scope = the \
                         category). Absent without [coverage] inventories.",
                    ),
                    &["scope"],
                )?;
                registry.register(Box::new(g.clone()))?;
                g
            },
            unmanaged_hosts: gauge(
                "coverage_unmanaged_hosts",
                "Network hosts no agent inventory covers (0 without [coverage] inventories).",
            )?,
            stale_inventory_hosts: gauge(
                "coverage_stale_inventory_hosts",
                "Agent inventory hosts the network never saw (0 without [coverage] inventories).",
            )?,
            capture_up: gauge("capture_up", "1 while the capture is running.")?,
            last_reload_time,
            registry,
        };
        m.last_reload_successful.set(1);
        for result in ["ok", "failed"] {
            m.reloads.with_label_values(&[result]);
        }
        Ok(m)
    }

    /// A reload succeeded: counts it and records when.
    pub fn reload_succeeded(&self, at: f64) {
        self.reloads.with_label_values(&["ok"]).inc();
        self.last_reload_successful.set(1);
        self.last_reload_time.set(at);
    }

    /// A reload failed: counts it; the running set stays.
    pub fn reload_failed(&self) {
        self.reloads.with_label_values(&["failed"]).inc();
        self.last_reload_successful.set(0);
    }

    /// The coverage cross-check's ratios and host counts.
    pub fn set_coverage(&self, report: &crate::coverage::Report) {
        self.coverage_ratio.reset();
        let scopes = std::iter::once(("hosts", &report.coverage.overall))
            .chain(report.coverage.by_category.iter().map(|(c, r)| (*c, r)));
        for (scope, ratio) in scopes {
            if let Some(r) = ratio.ratio {
                self.coverage_ratio.with_label_values(&[scope]).set(r);
            }
        }
        self.unmanaged_hosts
            .set(report.unmanaged_hosts.len() as i64);
        self.stale_inventory_hosts
            .set(report.stale_hosts.len() as i64);
    }

    /// Takes the coverage series away (no agent inventories are configured any more).
    pub fn clear_coverage(&self) {
        self.coverage_ratio.reset();
        self.unmanaged_hosts.set(0);
        self.stale_inventory_hosts.set(0);
    }

    /// Batches waiting in each worker's queue.
    pub fn set_queued_batches(&self, queued: &[usize]) {
        for (worker, n) in queued.iter().enumerate() {
            self.queued_batches
                .with_label_values(&[worker.to_string().as_str()])
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
    }

    /// Whether the capture is running.
    pub fn set_capture_up(&self, up: bool) {
        self.capture_up.set(i64::from(up));
    }

    /// Copies the pipeline's counters, libpcap's statistics per interface and the inventory's
    /// totals into the metrics.
    pub fn update(&self, c: &Counters, inv: &Inventory, live: &[(String, CaptureTotals)]) {
        catch_up(&self.packets, c.packets);
        catch_up(&self.bytes, c.bytes);
        for (interface, stats) in live {
            let i = [interface.as_str()];
            catch_up(&self.capture_packets.with_label_values(&i), stats.received);
            catch_up(
                &self.kernel_drops.with_label_values(&i),
                stats.dropped_by_kernel,
            );
            catch_up(
                &self.interface_drops.with_label_values(&i),
                stats.dropped_by_interface,
            );
        }
        for (reason, n) in c.decode_errors_by_reason() {
            catch_up(&self.decode_errors.with_label_values(&[reason]), n);
        }
        self.flows_active.set(inv.flows as i64);
        catch_up(&self.flows_created, c.flows_created);
        catch_up(&self.flows_evicted, c.flows_evicted);
        catch_up(&self.flows_timed_out, c.flows_timed_out);
        self.hosts_active.set(inv.hosts.len() as i64);
        catch_up(&self.hosts_evicted, inv.hosts.evicted);
        self.buffer_bytes.set(inv.buffer_bytes as i64);
        for (kind, n) in inv.event_counts() {
            catch_up(&self.events.with_label_values(&[kind]), n);
        }
        for (kind, n) in inv.alerts.raised_here() {
            catch_up(&self.alerts_raised.with_label_values(&[kind.as_str()]), n);
        }
        for kind in AlertKind::ALL {
            self.alerts_raised.with_label_values(&[kind.as_str()]);
        }
        catch_up(&self.alerts_dropped, inv.alerts.dropped);
        for (class, n) in inv.kms_activations() {
            catch_up(&self.kms_activations.with_label_values(&[class]), n);
        }
        self.update_products(inv);
        self.license_seats.reset();
        self.license_seats_used.reset();
        for (product, seats, used) in inv.seats() {
            self.license_seats
                .with_label_values(&[product])
                .set(i64::try_from(seats).unwrap_or(i64::MAX));
            self.license_seats_used
                .with_label_values(&[product])
                .set(used as i64);
        }
    }

    /// Hosts per product and per category, over the current (not ended) host records.
    fn update_products(&self, inv: &Inventory) {
        let sigs = &inv.signatures;
        let mut per_product: BTreeMap<usize, i64> = BTreeMap::new();
        let mut per_category: BTreeMap<Category, i64> = BTreeMap::new();
        for h in inv.hosts.all().into_iter().filter(|h| h.ended.is_none()) {
            let mut categories = BTreeSet::new();
            for (p, _) in h.software.reported(sigs) {
                *per_product.entry(p.product as usize).or_default() += 1;
                if let Some(product) = sigs.products.get(p.product as usize) {
                    categories.insert(product.category);
                }
            }
            for c in categories {
                *per_category.entry(c).or_default() += 1;
            }
        }
        self.product_hosts.reset();
        for (index, n) in per_product {
            if let Some(p) = sigs.products.get(index) {
                self.product_hosts
                    .with_label_values(&[p.id.as_str(), p.category.as_str()])
                    .set(n);
            }
        }
        for category in Category::ALL {
            self.category_hosts
                .with_label_values(&[category.as_str()])
                .set(per_category.get(&category).copied().unwrap_or(0));
        }
    }

    /// The metrics in the Prometheus text exposition format.
    pub fn encode(&self) -> String {
        let mut out = Vec::new();
        // Encoding into memory fails only on invalid metric data, which registration rules out.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
