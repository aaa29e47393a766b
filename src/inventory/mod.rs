//! What the sensor knows: hosts and their names, names of addresses, and the event log.
//!
//! The [`Inventory`] consumes the pipeline's merged items in input order on the output thread, so
//! everything here is single-threaded and deterministic.

pub mod alerts;
mod checks;
pub mod dns_names;
pub mod hosts;
pub mod software;
pub mod state;

use crate::event::Mac;
use crate::event::Proto;
use crate::event::{
    Endpoints, Event, EventBody, KmsEvent, LicenseEvent, SensorEvent, SoftwareEvent, Timestamp,
};
use crate::pipeline::batch::{Activity, Item};
use crate::pipeline::engine::{Observer, PipelineState};
use crate::policy::Policy;
use crate::signature::kms_table::KmsTable;
use crate::signature::{Hit, Observable, Signatures};
use crate::wire::flexlm;
use alerts::Alerts;
use dns_names::DnsNames;
use hosts::{HomeNets, HostTable, NameSource, remember};
use software::Change;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::sync::Arc;

/// Table sizes of the inventory.
#[derive(Debug, Clone, Copy)]
pub struct InventoryLimits {
    /// Most hosts tracked.
    pub max_hosts: usize,
    /// Most addresses in the DNS name map.
    pub max_dns_names: usize,
    /// Lowest confidence at which a product is reported.
    pub min_confidence: f64,
}

impl Default for InventoryLimits {
    fn default() -> Self {
        InventoryLimits {
            max_hosts: 65_536,
            max_dns_names: 262_144,
            // Above the 0.3 the packs allow a rule that rests only on domain ownership, so such
            // a rule alone never reports a product.
            min_confidence: 0.35,
        }
    }
}

/// Hosts, names and the event log.
pub struct Inventory {
    /// Hosts of the home networks.
    pub hosts: HostTable,
    /// Address → name from DNS answers.
    pub dns_names: DnsNames,
    events: Option<Box<dyn Write + Send>>,
    write_error: Option<std::io::Error>,
    /// Flows tracked by the pipeline at the last report.
    pub flows: usize,
    /// Stream and fragment buffer bytes at the last report.
    pub buffer_bytes: usize,
    /// Peak of `flows`.
    pub peak_flows: usize,
    /// The compiled signature packs; empty when none were loaded.
    pub signatures: Arc<Signatures>,
    min_confidence: f64,
    /// Reused for signature lookups.
    hits: Vec<Hit>,
    /// What DHCP clients that had no address yet showed (vendor class, parameter list), by MAC,
    /// until the ACK that gives them one.
    pending_dhcp: HashMap<Mac, Vec<Seen<'static>>>,
    max_pending: usize,
    /// Waiting DHCP clients dropped because the table of them was full.
    pub pending_dhcp_dropped: u64,
    /// The activation policy and ledger.
    pub policy: Policy,
    /// Alerts raised.
    pub alerts: Alerts,
    /// Hosts that used each ledger product, with when they last did, for the overuse count.
    usage: HashMap<String, HashMap<checks::Seat, Timestamp>>,
    /// Hosts not counted towards a ledger product because its table was full.
    pub usage_dropped: u64,
    /// Vendor-daemon ports licence servers sent clients to, by (client, port): the vendor
    /// daemon and when, so that the client's next connection there is known as licence traffic.
    vendor_ports: HashMap<(IpAddr, u16), (Option<String>, Timestamp)>,
    /// Flows that followed a redirect, with the vendor daemon the redirect was for, so that the
    /// messages on them are credited to it.
    vendor_flows: HashMap<u64, String>,
    /// Redirects and followed flows forgotten because their tables were full.
    pub vendor_ports_cleared: u64,
    /// Addresses DNS gave for names on the authorized lists, with the list (`true` for licence
    /// servers) and the entry's port: kept beyond the answer's TTL, since a KMS client renews
    /// days after its lookup.
    /// The name each was learnt for, so a reload keeps those the new lists still hold.
    authorized_addresses: HashMap<AuthorizedAddress, Box<str>>,
    /// Learnt authorized addresses forgotten because their table was full.
    pub authorized_addresses_cleared: u64,
    /// Events written, by type.
    event_counts: std::collections::BTreeMap<&'static str, u64>,
    /// KMS requests by server class: authorized, unauthorized, unchecked.
    kms_classes: [u64; 3],
    /// The sensor's name, written into every event when set.
    pub sensor: Option<String>,
}

/// An address DNS gave for a name on an authorized list: which list (`true` for licence
/// servers), the address, and the entry's port.
type AuthorizedAddress = (bool, IpAddr, Option<u16>);

/// How long after a redirect the client's connection to the vendor daemon is expected.
const VENDOR_CONNECT_SECS: u64 = 120;

impl Inventory {
    /// An empty inventory writing events to `events`, if given.
    pub fn new(
        home: HomeNets,
        limits: InventoryLimits,
        signatures: Arc<Signatures>,
        events: Option<Box<dyn Write + Send>>,
    ) -> Self {
        Inventory {
            signatures,
            min_confidence: limits.min_confidence,
            hits: Vec::new(),
            pending_dhcp: HashMap::new(),
            pending_dhcp_dropped: 0,
            policy: Policy::default(),
            alerts: Alerts::default(),
            usage: HashMap::new(),
            usage_dropped: 0,
            vendor_ports: HashMap::new(),
            vendor_flows: HashMap::new(),
            authorized_addresses: Default::default(),
            authorized_addresses_cleared: 0,
            event_counts: Default::default(),
            kms_classes: [0; 3],
            sensor: None,

            vendor_ports_cleared: 0,
            max_pending: limits.max_hosts,
            hosts: HostTable::new(home, limits.max_hosts),
            dns_names: DnsNames::new(limits.max_dns_names),
            events,
            write_error: None,
            flows: 0,
            buffer_bytes: 0,
            peak_flows: 0,
        }
    }

    /// Takes a reloaded signature set, policy and reporting minimum. Host records keep their
    /// products and evidence where the new packs still have the product and rule (matched by
    /// id); returns how many product records went because theirs left.
    pub fn reload(
        &mut self,
        signatures: Arc<Signatures>,
        policy: Policy,
        min_confidence: f64,
    ) -> u64 {
        let map = software::IndexMap::between(&self.signatures, &signatures);
        let dropped = self.hosts.remap_software(&map);
        self.signatures = signatures;
        self.policy = policy;
        self.min_confidence = min_confidence;
        self.hosts
            .recheck_reported(&self.signatures, self.min_confidence);
        self.seed_usage();
        // Addresses learnt for names the new lists no longer hold go; names newly on them are
        // learnt from the DNS answers kept.
        let kept: HashMap<_, _> = std::mem::take(&mut self.authorized_addresses)
            .into_iter()
            .filter(|((license, _, port), name)| self.still_authorized(*license, name, *port))
            .collect();
        self.authorized_addresses = kept;
        let answers: Vec<(IpAddr, String)> = self
            .dns_names
            .pairs()
            .map(|(addr, name)| (addr, name.to_string()))
            .collect();
        for (addr, name) in answers {
            self.learn_authorized(&[&name], addr);
        }
        dropped
    }

    /// Flushes and closes the event log and writes to `events` from now on (a reopened log
    /// after rotation, or a new path); returns the old log's first write error, if any.
    pub fn replace_events(
        &mut self,
        events: Option<Box<dyn Write + Send>>,
    ) -> Result<(), std::io::Error> {
        let closed = self.close();
        self.events = events;
        closed
    }

    /// Pushes buffered events to the log, so a reader following it sees them while capturing;
    /// a failure is kept and reported by [`Inventory::close`].
    pub fn flush_events(&mut self) {
        if let (Some(w), None) = (self.events.as_mut(), &self.write_error)
            && let Err(e) = w.flush()
        {
            self.write_error = Some(e);
        }
    }

    /// Flushes the event log; returns the first write error met, if any.
    pub fn close(&mut self) -> Result<(), std::io::Error> {
        if let Some(e) = self.write_error.take() {
            return Err(e);
        }
        match self.events.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }

    /// Events written so far, by type.
    pub fn event_counts(&self) -> impl Iterator<Item = (&'static str, u64)> + '_ {
        self.event_counts.iter().map(|(k, v)| (*k, *v))
    }

    /// KMS requests so far by server class (`authorized`, `unauthorized`, `unchecked`).
    pub fn kms_activations(&self) -> [(&'static str, u64); 3] {
        let [a, u, c] = self.kms_classes;
        [("authorized", a), ("unauthorized", u), ("unchecked", c)]
    }

    /// For each ledger product: its id, its seats, and the machines that used it within the
    /// overuse period before the latest use.
    pub fn seats(&self) -> Vec<(&str, u64, usize)> {
        let period = (self.policy.overuse_period_secs as i64).saturating_mul(1_000_000);
        let mut out: Vec<(&str, u64, usize)> = self
            .policy
            .ledger
            .iter()
            .map(|(id, licence)| {
                let used = self.usage.get(id).map_or(0, |users| {
                    let latest = users.values().max().copied().unwrap_or_default();
                    let since = latest.0.saturating_sub(period);
                    users.values().filter(|t| t.0 >= since).count()
                });
                (id.as_str(), licence.seats, used)
            })
            .collect();
        out.sort();
        out
    }

    fn write(&mut self, ev: &Event) {
        *self.event_counts.entry(ev.body.event_type()).or_default() += 1;
        let Some(w) = self.events.as_mut() else {
            return;
        };
        if self.write_error.is_some() {
            return;
        }
        let written = match &self.sensor {
            Some(sensor) => serde_json::to_writer(&mut *w, &SensorEvent { sensor, event: ev }),
            None => serde_json::to_writer(&mut *w, ev),
        };
        let result = written
            .map_err(std::io::Error::from)
            .and_then(|()| w.write_all(b"\n"));
        if let Err(e) = result {
            self.write_error = Some(e);
        }
    }

    fn learn(&mut self, ev: &Event) {
        let ts = ev.timestamp;
        let src = ev.endpoints.src_ip;
        if let Some(h) = self.hosts.host_mut(src, ts) {
            h.events.count(ev.body.event_type());
        }
        match &ev.body {
            EventBody::Dhcp(d) => {
                if let (Some(mac), Some(name)) =
                    (d.client_mac, d.hostname.as_deref().or(d.fqdn.as_deref()))
                {
                    self.hosts.dhcp_name(mac, name);
                }
                if let (Some(mac), Some(ip), "ack") = (d.client_mac, d.assigned_ip, d.dhcp_type) {
                    self.hosts.dhcp_assigned(ip, mac, ts);
                }
            }
            EventBody::Dns(d) => {
                if d.kind == "query"
                    && let Some(h) = self.hosts.host_mut(src, ts)
                {
                    remember(&mut h.queried, &d.rrname);
                }
                for a in &d.answers {
                    if let Some(addr) = a.rdata.as_deref().and_then(|r| r.parse::<IpAddr>().ok()) {
                        // The name the client asked for, not the CDN alias the chain ended in.
                        self.dns_names
                            .insert(ev.endpoints.dest_ip, addr, &d.rrname, a.ttl, ts);
                        self.learn_authorized(&[&d.rrname, &a.rrname], addr);
                    }
                }
            }
            EventBody::Mdns(d) | EventBody::Llmnr(d) => {
                let source = match ev.body {
                    EventBody::Mdns(_) => NameSource::Mdns,
                    _ => NameSource::Llmnr,
                };
                // A responder claiming a name for its own address names itself.
                for a in &d.answers {
                    if a.rdata.as_deref().and_then(|r| r.parse::<IpAddr>().ok()) == Some(src)
                        && let Some(h) = self.hosts.host_mut(src, ts)
                    {
                        h.add_name(&a.rrname, source);
                    }
                }
            }
            EventBody::Netbios(n) => {
                // Windows registers COMPUTERNAME<20> (its server service) as a unique name;
                // <00> is shared with the workgroup's group name, so it alone proves nothing.
                if matches!(n.opcode, "registration" | "refresh") && n.kind == "request" {
                    for name in n.names.iter().filter(|x| x.suffix == 0x20) {
                        if let Some(h) = self.hosts.host_mut(src, ts) {
                            h.add_name(&name.name, NameSource::Netbios);
                        }
                    }
                }
            }
            EventBody::Tls(t) => {
                if let (Some(h), Some(sni)) = (self.hosts.host_mut(src, ts), t.sni.as_deref()) {
                    remember(&mut h.tls, sni);
                }
            }
            EventBody::Quic(q) => {
                if let (Some(h), Some(sni)) = (self.hosts.host_mut(src, ts), q.sni.as_deref()) {
                    remember(&mut h.tls, sni);
                }
            }
            EventBody::Http(http) => {
                if let Some(h) = self.hosts.host_mut(src, ts) {
                    let host = http.hostname.as_deref().unwrap_or("-");
                    let ua = http.http_user_agent.as_deref().unwrap_or("-");
                    remember(&mut h.http, &format!("{host} \"{ua}\""));
                }
            }
            EventBody::Kms(k) => {
                if let Some(h) = self.hosts.host_mut(src, ts) {
                    h.add_name(&k.machine_name, NameSource::Kms);
                }
            }
            EventBody::License(l) => {
                if let (Some(h), Some(name)) =
                    (self.hosts.host_mut(src, ts), l.client_host.as_deref())
                {
                    h.add_name(name, NameSource::Flexlm);
                }
                if let Some(port) = l.redirect_port {
                    let client = ev.endpoints.dest_ip;
                    if self.vendor_ports.len() >= self.max_pending {
                        self.vendor_ports_cleared += self.vendor_ports.len() as u64;
                        self.vendor_ports.clear();
                    }
                    self.vendor_ports
                        .insert((client, port), (l.vendor_daemon.clone(), ts));
                }
            }
            EventBody::Software(_) | EventBody::Alert(_) => {}
        }
    }
}

/// What kind of observable a [`Seen`] holds.
#[derive(Clone, Copy)]
enum SeenKind {
    Name,
    UserAgent,
    Url,
    Ja3,
    Ja4,
    DhcpVendorClass,
    DhcpParams,
    TcpSyn,
    KmsEdition,
    LicenseDaemon,
    Server(IpAddr, u16),
}

/// One observable of a host; its text is also what the evidence shows. It borrows from the
/// event it came from, so matching a name that no rule wants costs no allocation.
struct Seen<'a> {
    kind: SeenKind,
    text: Cow<'a, str>,
}

impl<'a> Seen<'a> {
    fn new(kind: SeenKind, text: &'a str) -> Self {
        Seen {
            kind,
            text: Cow::Borrowed(text),
        }
    }

    /// A copy that outlives its event, for observables that wait for a DHCP ACK.
    fn into_owned(self) -> Seen<'static> {
        Seen {
            kind: self.kind,
            text: Cow::Owned(self.text.into_owned()),
        }
    }

    /// What the evidence shows: the text, or `address:port` for a server (formatted only on a hit).
    fn shown(&self) -> Cow<'_, str> {
        match self.kind {
            SeenKind::Server(ip, port) => Cow::Owned(format!("{ip}:{port}")),
            _ => Cow::Borrowed(&self.text),
        }
    }

    fn observable(&self) -> Observable<'_> {
        let t = &*self.text;
        match self.kind {
            SeenKind::Name => Observable::Name(t),
            SeenKind::UserAgent => Observable::UserAgent(t),
            SeenKind::Url => Observable::Url(t),
            SeenKind::Ja3 => Observable::Ja3(t),
            SeenKind::Ja4 => Observable::Ja4(t),
            SeenKind::DhcpVendorClass => Observable::DhcpVendorClass(t),
            SeenKind::DhcpParams => Observable::DhcpParams(t),
            SeenKind::TcpSyn => Observable::TcpSyn(t),
            SeenKind::KmsEdition => Observable::KmsEdition(t),
            SeenKind::LicenseDaemon => Observable::LicenseDaemon(t),
            SeenKind::Server(ip, port) => Observable::Server(ip, port),
        }
    }
}

/// The common name of a certificate subject (`C=US, O=Example, CN=*.example.com`), without a
/// leading wildcard label.
fn certificate_name(subject: &str) -> Option<&str> {
    let cn = subject
        .split(", ")
        .find_map(|rdn| rdn.strip_prefix("CN="))?;
    Some(cn.strip_prefix("*.").unwrap_or(cn)).filter(|n| !n.is_empty())
}

/// The `_service._proto` labels that start a DNS-SD or SRV name, if it has them.
fn service_labels(name: &str) -> Option<&str> {
    let mut dots = name.match_indices('.').map(|(i, _)| i);
    let first = dots.next()?;
    let end = dots.next().unwrap_or(name.len());
    let labels = &name[..end];
    (labels.starts_with('_') && name[first + 1..].starts_with('_') && end > first + 2)
        .then_some(labels)
}

/// Names from the KMS table for the ids of a `kms` event.
fn name_kms_ids(k: &mut KmsEvent, table: &KmsTable) {
    k.application = table.application(&k.application_id).map(str::to_string);
    k.edition = table.edition(&k.sku_id).map(str::to_string);
    k.kms_group = table.group(&k.kms_counted_id).map(str::to_string);
    if let Some(info) = k.response.as_mut().and_then(|r| r.epid_info.as_mut()) {
        info.host_os = table.build(info.host_build).map(str::to_string);
    }
}

/// The name in an HTTP Host header, without its port.
fn host_name(host: &str) -> &str {
    match host.rsplit_once(':') {
        Some((name, port)) if !name.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) => {
            name
        }
        _ => host,
    }
}

impl Inventory {
    /// The observables an event shows about its sender.
    fn observables(ev: &Event) -> Vec<Seen<'_>> {
        let mut v = Vec::new();
        match &ev.body {
            EventBody::Dns(d) if d.kind == "query" => {
                v.push(Seen::new(SeenKind::Name, &d.rrname));
                // A service lookup (`_vlmcs._tcp.campus.example`) also shows its service
                // labels alone, whatever the domain.
                if let Some(service) = service_labels(&d.rrname) {
                    v.push(Seen::new(SeenKind::Name, service));
                }
            }
            EventBody::License(l) => {
                if let Some(d) = l.vendor_daemon.as_deref() {
                    v.push(Seen::new(SeenKind::LicenseDaemon, d));
                }
            }
            // An answer to a service lookup shows the asker the same service labels, for captures
            // that see only the resolver's side.
            EventBody::Dns(d) if d.kind == "answer" => {
                if let Some(service) = service_labels(&d.rrname) {
                    v.push(Seen::new(SeenKind::Name, service));
                }
            }
            EventBody::Kms(k) => {
                let edition = k
                    .edition
                    .as_deref()
                    .or(k.kms_group.as_deref())
                    .or(k.application.as_deref());
                if let Some(e) = edition {
                    v.push(Seen::new(SeenKind::KmsEdition, e));
                }
            }
            EventBody::Tls(t) => {
                v.extend(t.sni.as_deref().map(|n| Seen::new(SeenKind::Name, n)));
                // Without SNI (old clients), the certificate's common name names the server.
                if t.sni.is_none() {
                    v.extend(
                        t.subject
                            .as_deref()
                            .and_then(certificate_name)
                            .map(|n| Seen::new(SeenKind::Name, n)),
                    );
                }
                v.push(Seen::new(SeenKind::Ja3, &t.ja3.hash));
                v.push(Seen::new(SeenKind::Ja4, &t.ja4));
            }
            EventBody::Quic(q) => {
                v.extend(q.sni.as_deref().map(|n| Seen::new(SeenKind::Name, n)));
                v.push(Seen::new(SeenKind::Ja3, &q.ja3.hash));
                v.push(Seen::new(SeenKind::Ja4, &q.ja4));
            }
            EventBody::Http(h) if !h.http_method.is_empty() => {
                if let Some(host) = h.hostname.as_deref() {
                    let name = host_name(host);
                    v.push(Seen::new(SeenKind::Name, name));
                    v.push(Seen {
                        kind: SeenKind::Url,
                        text: Cow::Owned(format!("{name}{}", h.url)),
                    });
                }
                if let Some(ua) = h.http_user_agent.as_deref() {
                    v.push(Seen::new(SeenKind::UserAgent, ua));
                }
            }
            EventBody::Dhcp(d) if d.kind == "request" => {
                if let Some(vc) = d.vendor_class_identifier.as_deref() {
                    v.push(Seen::new(SeenKind::DhcpVendorClass, vc));
                }
                if d.version == 4 && !d.params.is_empty() {
                    let list: Vec<String> = d.params.iter().map(u16::to_string).collect();
                    v.push(Seen {
                        kind: SeenKind::DhcpParams,
                        text: Cow::Owned(list.join(",")),
                    });
                }
            }
            _ => {}
        }
        v
    }

    /// Matches observables of `host` against the packs; returns `software` events for what changed.
    fn infer(
        &mut self,
        host: IpAddr,
        seen: &[Seen],
        ts: Timestamp,
        endpoints: &Endpoints,
    ) -> Vec<Event> {
        let mut out = Vec::new();
        if self.signatures.rules.is_empty() {
            return out;
        }
        let sigs = Arc::clone(&self.signatures);
        // A software event reads from the host's side: the host is its source (for a DHCP
        // client still at 0.0.0.0, the address it asked for or was given).
        let endpoints = &if endpoints.src_ip == host {
            endpoints.clone()
        } else if endpoints.dest_ip != host {
            Endpoints {
                src_ip: host,
                ..endpoints.clone()
            }
        } else {
            Endpoints {
                src_ip: endpoints.dest_ip,
                src_port: endpoints.dest_port,
                dest_ip: endpoints.src_ip,
                dest_port: endpoints.src_port,
                src_mac: endpoints.dest_mac,
                dest_mac: endpoints.src_mac,
                ..endpoints.clone()
            }
        };
        for s in seen {
            self.hits.clear();
            sigs.lookup(s.observable(), &mut self.hits);
            let hits = std::mem::take(&mut self.hits);
            let shown = if hits.is_empty() {
                Cow::Borrowed("")
            } else {
                s.shown()
            };
            for hit in &hits {
                let Some(h) = self.hosts.host_mut(host, ts) else {
                    return out;
                };
                let change = h
                    .software
                    .record(&sigs, hit, &shown, ts, self.min_confidence);
                let (Some(rule), Some(product)) =
                    (sigs.rules.get(hit.rule), sigs.product_of(hit.rule))
                else {
                    continue;
                };
                let reported = h
                    .software
                    .products
                    .iter()
                    .any(|p| p.product as usize == rule.product && p.reported);
                let newly = matches!(change, Some(Change::NewProduct(_)));
                let Some(change) = change else {
                    if reported {
                        self.check_ledger(host, rule.product, false, ts, endpoints, &mut out);
                    }
                    continue;
                };
                let Some(h) = self.hosts.host_mut(host, ts) else {
                    return out;
                };
                let confidence = h
                    .software
                    .products
                    .iter()
                    .find(|p| p.product as usize == rule.product)
                    .map_or(0.0, |p| p.confidence(&sigs));
                out.push(Event {
                    timestamp: ts,
                    endpoints: endpoints.clone(),
                    body: EventBody::Software(SoftwareEvent {
                        product: product.id.clone(),
                        name: product.name.clone(),
                        name_zh: product.name_zh.clone(),
                        vendor: product.vendor.clone(),
                        category: product.category.as_str(),
                        version: match change {
                            Change::NewVersion(v) => Some(v),
                            Change::NewProduct(v) => v,
                        },
                        confidence: (confidence * 1000.0).round() / 1000.0,
                        kind: rule.kind.as_str(),
                        rule: rule.id.clone(),
                        observable: shown.to_string(),
                    }),
                });
                self.check_ledger(host, rule.product, newly, ts, endpoints, &mut out);
            }
            self.hits = hits;
        }
        out
    }

    /// A `license` event for a TCP connection to a licence manager: when it opens, to the
    /// vendor-daemon port a licence server just sent this client to (the redirect is followed to
    /// the connection it announced); when it ends, to a port licence managers listen on, if the
    /// server answered and nothing in the flow was recognised (a SYN nobody answers is no
    /// licence server, and a recognised handshake gave its own events).
    fn licence_connection(&mut self, a: &Activity) -> Option<Event> {
        let client = a.client.0;
        let (opened, message, vendor) = match (&a.opened, &a.unnamed) {
            (Some(opened), _) => {
                let (vendor, _) = self
                    .vendor_ports
                    .remove(&(client, opened.port))
                    .filter(|(_, at)| a.ts <= at.plus_secs(VENDOR_CONNECT_SECS))?;
                (opened, "vendor-daemon", vendor)
            }
            (None, Some(ended)) if a.answered && flexlm::is_license_port(ended.port) => {
                (ended, "connection", None)
            }
            _ => return None,
        };
        if opened.proto != Proto::Tcp {
            return None;
        }
        if let Some(v) = &vendor {
            if self.vendor_flows.len() >= self.max_pending {
                self.vendor_ports_cleared += self.vendor_flows.len() as u64;
                self.vendor_flows.clear();
            }
            self.vendor_flows.insert(opened.flow_id, v.clone());
        }
        Some(Event {
            timestamp: a.ts,
            endpoints: Endpoints {
                flow_id: opened.flow_id,
                src_ip: client,
                src_port: 0,
                dest_ip: a.server.0,
                dest_port: opened.port,
                proto: opened.proto,
                src_mac: a.client.1,
                dest_mac: a.server.1,
            },
            body: EventBody::License(LicenseEvent {
                protocol: "flexlm",
                server: a.server.0,
                server_port: opened.port,
                message,
                message_type: None,
                vendor_daemon: vendor,
                client_host: None,
                platform: None,
                version: None,
                redirect_host: None,
                redirect_port: None,
                product: None,
            }),
        })
    }

    /// The home host an event's observables belong to. A DHCP client may have no address yet:
    /// its own (ciaddr) or its MAC's known address finds its record, or else what it showed
    /// waits for the ACK that gives it one (the address it asks for may be refused).
    fn software_host(&mut self, ev: &Event) -> Option<IpAddr> {
        let host = match &ev.body {
            EventBody::Dhcp(d) if d.kind == "request" => {
                let host = d
                    .client_ip
                    .or_else(|| d.client_mac.and_then(|m| self.hosts.ip_of_mac(m)));
                if let (None, Some(mac)) = (host, d.client_mac) {
                    if self.pending_dhcp.len() >= self.max_pending {
                        self.pending_dhcp_dropped += self.pending_dhcp.len() as u64;
                        self.pending_dhcp.clear();
                    }
                    let seen = Self::observables(ev).into_iter().map(Seen::into_owned);
                    self.pending_dhcp.insert(mac, seen.collect());
                }
                host
            }
            EventBody::Dhcp(d) if d.dhcp_type == "ack" => {
                if let (Some(mac), Some(ip)) = (d.client_mac, d.assigned_ip)
                    && let Some(seen) = self.pending_dhcp.remove(&mac)
                {
                    // From the client's side, whether the ACK went to it or to broadcast.
                    let e = &ev.endpoints;
                    let endpoints = Endpoints {
                        src_ip: ip,
                        src_port: e.dest_port,
                        src_mac: Some(mac),
                        dest_ip: e.src_ip,
                        dest_port: e.src_port,
                        dest_mac: e.src_mac,
                        ..e.clone()
                    };
                    for sw in self.infer(ip, &seen, ev.timestamp, &endpoints) {
                        self.write(&sw);
                    }
                }
                None
            }
            // What a licence server says is about the client it answers; so is a DNS answer.
            EventBody::License(l) if l.from_server() => Some(ev.endpoints.dest_ip),
            EventBody::Dns(d) if d.kind == "answer" => Some(ev.endpoints.dest_ip),
            _ => Some(ev.endpoints.src_ip),
        };
        host.filter(|h| self.hosts.is_home(h))
    }

    /// Observables of a flow of a home host. At its start: the server's address and port, and
    /// the SYN's shape. At the end of a flow that named nothing itself (no SNI, Host or query):
    /// the name its client's own DNS lookup gave that address when the flow began.
    fn infer_flow(&mut self, a: &Activity) -> Vec<Event> {
        let (client, server) = (a.client.0, a.server.0);
        if !self.hosts.is_home(&client) || self.signatures.rules.is_empty() {
            return Vec::new();
        }
        let mut seen = Vec::new();
        let flow = match (&a.opened, &a.unnamed) {
            (Some(opened), _) => {
                seen.push(Seen {
                    kind: SeenKind::Server(server, opened.port),
                    text: Cow::Borrowed(""),
                });
                if let Some(shape) = &opened.syn_shape {
                    seen.push(Seen::new(SeenKind::TcpSyn, shape));
                }
                opened
            }
            (None, Some(unnamed)) => {
                let Some(name) = self.dns_names.lookup(client, server, unnamed.at) else {
                    return Vec::new();
                };
                seen.push(Seen {
                    kind: SeenKind::Name,
                    text: Cow::Owned(name.to_owned()),
                });
                unnamed
            }
            (None, None) => return Vec::new(),
        };
        let endpoints = Endpoints {
            flow_id: flow.flow_id,
            src_ip: client,
            src_port: 0,
            dest_ip: server,
            dest_port: flow.port,
            proto: flow.proto,
            src_mac: a.client.1,
            dest_mac: a.server.1,
        };
        self.infer(client, &seen, a.ts, &endpoints)
    }
}

impl Observer for Inventory {
    fn item(&mut self, item: Item) {
        match item {
            Item::Event(mut ev) => {
                match &mut ev.body {
                    EventBody::Kms(k) => name_kms_ids(k, &self.signatures.kms),
                    EventBody::License(l) => {
                        if l.vendor_daemon.is_none() {
                            l.vendor_daemon = self.vendor_flows.get(&ev.endpoints.flow_id).cloned();
                        }
                        l.product = match l.vendor_daemon.as_deref() {
                            Some(d) => self.license_product(d),
                            None => self.port_product(l.server, l.server_port),
                        };
                    }
                    _ => {}
                }
                self.learn(&ev);
                self.write(&ev);
                for alert in self.check_event(&ev) {
                    self.write(&alert);
                }
                if let Some(host) = self.software_host(&ev) {
                    let seen = Self::observables(&ev);
                    for sw in self.infer(host, &seen, ev.timestamp, &ev.endpoints) {
                        self.write(&sw);
                    }
                }
            }
            Item::Activity(a) => {
                if let Some(ev) = self.licence_connection(&a) {
                    self.item(Item::Event(Box::new(ev)));
                }
                self.hosts.activity(a.client.0, a.client.1, a.ts);
                self.hosts.activity(a.server.0, a.server.1, a.ts);
                for sw in self.infer_flow(&a) {
                    self.write(&sw);
                }
                for alert in self.check_flow(&a) {
                    self.write(&alert);
                }
            }
        }
    }

    fn pipeline_state(&mut self, state: &PipelineState) {
        self.flows = state.flows;
        self.buffer_bytes = state.buffer_bytes;
        self.peak_flows = self.peak_flows.max(state.flows);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificate_and_host_names() {
        assert_eq!(
            certificate_name("C=US, O=Example Org, CN=*.lic.example.com"),
            Some("lic.example.com")
        );
        assert_eq!(
            certificate_name("CN=update.example.com, O=X"),
            Some("update.example.com")
        );
        assert_eq!(certificate_name("C=US, O=No Name"), None);
        assert_eq!(host_name("update.example.com:8080"), "update.example.com");
        assert_eq!(host_name("[2001:db8::1]:443"), "[2001:db8::1]:443");
        assert_eq!(
            service_labels("_vlmcs._tcp.campus.example"),
            Some("_vlmcs._tcp")
        );
        assert_eq!(service_labels("_vlmcs._tcp"), Some("_vlmcs._tcp"));
        assert_eq!(service_labels("_dmarc.example.com"), None);
        assert_eq!(service_labels("www.example.com"), None);
        assert_eq!(service_labels("_a._"), None);
    }
}
