//! The activation policy and the ledger applied to what the inventory sees: which events raise
//! alerts.
//!
//! - `unauthorized_activation_server`: a KMS request to a host not in `authorized_kms` (when that
//!   list is set); any lookup of, TLS/HTTP request to, or connection to a service on the shipped
//!   flag list; a `_vlmcs._tcp` answer naming a flagged host, or (when `authorized_kms` names
//!   hosts) one not on it.
//! - `unauthorized_license_server`: a licence-manager connection to a server not in
//!   `authorized_license_servers`; outside the home networks always, inside them when the list
//!   is set.
//! - `unlicensed_product`: a product whose licence model needs a licence, reported on a host,
//!   with no ledger entry (only when a ledger is configured).
//! - `license_overuse`: more hosts used a ledger product within the overuse period than it has
//!   seats.
//!
//! Activation against an authorized host, online activation and updates raise nothing.

use super::Inventory;
use super::alerts::{AlertHost, AlertKind, Raise, Server, Severity};
use crate::event::{Endpoints, Event, EventBody, KmsEvent, LicenseEvent, Timestamp};
use crate::pipeline::batch::Activity;
use crate::signature::flags::FlaggedService;
use crate::signature::schema::{EvidenceKind, License};
use crate::signature::{Hit, Observable};
use std::net::IpAddr;

/// Most hosts remembered per ledger product for the overuse count.
const MAX_USERS_PER_PRODUCT: usize = 1 << 20;

/// Most addresses learnt for authorized names.
const MAX_AUTHORIZED_ADDRESSES: usize = 4096;

/// What occupies a seat: a machine, known by its MAC when the host table has one (an address
/// changes with DHCP over a month), else by its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum Seat {
    Mac(crate::event::Mac),
    Address(IpAddr),
}

impl Seat {
    /// A machine's seat: its MAC when known, else its address.
    fn of(mac: Option<crate::event::Mac>, ip: IpAddr) -> Seat {
        mac.map_or(Seat::Address(ip), Seat::Mac)
    }
}

/// Records that `seat` used a product at `seen` (keeping its latest use); false when the
/// product's table of users is full and the seat is not in it.
fn occupy(
    users: &mut std::collections::HashMap<Seat, Timestamp>,
    seat: Seat,
    seen: Timestamp,
) -> bool {
    if users.len() >= MAX_USERS_PER_PRODUCT && !users.contains_key(&seat) {
        return false;
    }
    let last = users.entry(seat).or_insert(seen);
    *last = (*last).max(seen);
    true
}

impl Inventory {
    /// Alert events for an event seen on the network.
    pub(super) fn check_event(&mut self, ev: &Event) -> Vec<Event> {
        let mut out = Vec::new();
        let e = &ev.endpoints;
        match &ev.body {
            EventBody::Kms(k) => self.check_kms(ev, k, &mut out),
            EventBody::License(l) => self.check_license(ev, l, &mut out),
            EventBody::Dns(d) if d.kind == "query" => {
                self.check_name(e.src_ip, &d.rrname, ev, &mut out);
            }
            EventBody::Dns(d) if d.rrname.to_ascii_lowercase().starts_with("_vlmcs._tcp.") => {
                for srv in d.answers.iter().filter_map(|a| a.srv.as_ref()) {
                    self.check_srv_target(e.dest_ip, &srv.name, srv.port, ev, &mut out);
                }
            }
            EventBody::Tls(t) => {
                if let Some(sni) = t.sni.as_deref() {
                    self.check_name(e.src_ip, sni, ev, &mut out);
                }
            }
            EventBody::Quic(q) => {
                if let Some(sni) = q.sni.as_deref() {
                    self.check_name(e.src_ip, sni, ev, &mut out);
                }
            }
            EventBody::Http(h) => {
                if let Some(host) = h.hostname.as_deref() {
                    self.check_name(e.src_ip, super::host_name(host), ev, &mut out);
                }
            }
            _ => {}
        }
        out
    }

    /// Remembers `addr` when one of `names` is a name on an authorized list.
    pub(super) fn learn_authorized(&mut self, names: &[&str], addr: IpAddr) {
        let lists = [
            (false, &self.policy.authorized_kms),
            (true, &self.policy.authorized_license_servers),
        ];
        let learnt: Vec<(super::AuthorizedAddress, Box<str>)> = lists
            .into_iter()
            .flat_map(|(license, list)| {
                names.iter().flat_map(move |n| {
                    list.ports_of_name(n)
                        .map(move |port| ((license, addr, port), Box::from(*n)))
                })
            })
            .collect();
        for (item, name) in learnt {
            if self.authorized_addresses.len() >= MAX_AUTHORIZED_ADDRESSES
                && !self.authorized_addresses.contains_key(&item)
            {
                self.authorized_addresses_cleared += self.authorized_addresses.len() as u64;
                self.authorized_addresses.clear();
            }
            self.authorized_addresses.insert(item, name);
        }
    }

    /// Whether the lists still authorize an address learnt for `name` (with `port`): kept
    /// across a reload or restart only then.
    pub(super) fn still_authorized(&self, license: bool, name: &str, port: Option<u16>) -> bool {
        let list = if license {
            &self.policy.authorized_license_servers
        } else {
            &self.policy.authorized_kms
        };
        list.ports_of_name(name).any(|p| p == port)
    }

    /// Whether a server is authorized: on the list itself, or at an address DNS gave for a name
    /// on it.
    fn authorized(&self, license: bool, server: IpAddr, port: u16, names: &[&str]) -> bool {
        let list = if license {
            &self.policy.authorized_license_servers
        } else {
            &self.policy.authorized_kms
        };
        list.allows(server, port, names)
            || self
                .authorized_addresses
                .contains_key(&(license, server, None))
            || self
                .authorized_addresses
                .contains_key(&(license, server, Some(port)))
    }

    /// Whether either authorized list holds a server's address (a campus may run what the flag
    /// list names, and its own word wins).
    fn authorized_address_anywhere(&self, server: IpAddr, port: u16) -> bool {
        self.authorized(false, server, port, &[]) || self.authorized(true, server, port, &[])
    }

    /// Whether either authorized list names a host.
    fn authorized_name_anywhere(&self, name: &str) -> bool {
        let p = &self.policy;
        [&p.authorized_kms, &p.authorized_license_servers]
            .into_iter()
            .any(|list| list.ports_of_name(name).next().is_some())
    }

    /// Alert events for a flow a home host opened: a connection to a flagged address.
    pub(super) fn check_flow(&mut self, a: &Activity) -> Vec<Event> {
        let mut out = Vec::new();
        let (Some(opened), (client, _), (server, _)) = (&a.opened, a.client, a.server) else {
            return out;
        };
        if let Some(flag) = self.signatures.flags.by_address(server).cloned()
            && !self.authorized_address_anywhere(server, opened.port)
        {
            let endpoints = Endpoints {
                flow_id: opened.flow_id,
                src_ip: client,
                src_port: 0,
                dest_ip: server,
                dest_port: opened.port,
                proto: opened.proto,
                src_mac: a.client.1,
                dest_mac: a.server.1,
            };
            let server = Server {
                name: None,
                address: Some(server),
                port: Some(opened.port),
            };
            let evidence = format!("connection to {}:{}", flag.indicator, opened.port);
            self.flagged(client, server, &flag, evidence, a.ts, &endpoints, &mut out);
        }
        out
    }

    fn check_name(&mut self, client: IpAddr, name: &str, ev: &Event, out: &mut Vec<Event>) {
        let Some(flag) = self.signatures.flags.by_name(name).cloned() else {
            return;
        };
        if self.authorized_name_anywhere(name) {
            return;
        }
        let server = Server {
            name: Some(name.trim_end_matches('.').to_ascii_lowercase()),
            ..Server::default()
        };
        let evidence = format!("{} {name}", ev.body.event_type());
        self.flagged(
            client,
            server,
            &flag,
            evidence,
            ev.timestamp,
            &ev.endpoints,
            out,
        );
    }

    #[allow(clippy::too_many_arguments)]
    fn flagged(
        &mut self,
        client: IpAddr,
        server: Server,
        flag: &FlaggedService,
        evidence: String,
        ts: Timestamp,
        endpoints: &Endpoints,
        out: &mut Vec<Event>,
    ) {
        let kind = match flag.kind {
            crate::signature::flags::ServiceKind::Kms => "public KMS host",
            crate::signature::flags::ServiceKind::LicenseServer => "unlicensed licence server",
        };
        let reason = format!(
            "{} is on the list of unlicensed activation services ({kind}; {})",
            flag.indicator, flag.source
        );
        self.alert(
            Raise {
                kind: AlertKind::UnauthorizedActivationServer,
                severity: Severity::High,
                host: AlertHost::at(client),
                server: Some(server),
                product: flag.product.clone(),
                evidence,
                reason,
                ts,
            },
            endpoints,
            out,
        );
    }

    fn check_kms(&mut self, ev: &Event, k: &KmsEvent, out: &mut Vec<Event>) {
        let e = &ev.endpoints;
        let (client, server, port) = (e.src_ip, e.dest_ip, e.dest_port);
        let name = self
            .dns_names
            .lookup(client, server, ev.timestamp)
            .map(str::to_string);
        let names: Vec<&str> = name.iter().map(String::as_str).collect();
        let flag = self
            .signatures
            .flags
            .by_address(server)
            .or_else(|| names.first().and_then(|n| self.signatures.flags.by_name(n)))
            .cloned();
        let authorized = self.authorized(false, server, port, &names);
        let list_empty = self.policy.authorized_kms.is_empty();
        let edition = k
            .edition
            .as_deref()
            .or(k.kms_group.as_deref())
            .unwrap_or(&k.sku_id);
        let answer = k
            .response
            .as_ref()
            .map_or("no answer seen".to_string(), |r| {
                format!("answer {}", r.hresult)
            });
        let evidence = format!(
            "KMS {} request for {edition} from {} ({answer})",
            k.protocol, k.machine_name
        );
        let class = match (authorized, list_empty && flag.is_none()) {
            (true, _) => 0,
            (false, false) => 1,
            (false, true) => 2,
        };
        self.kms_classes[class] += 1;
        let reason = match (&flag, authorized, list_empty) {
            (_, true, _) => return,
            (Some(f), ..) => format!(
                "{} is on the list of unlicensed activation services ({})",
                f.indicator, f.source
            ),
            (None, false, false) => "KMS host not in activation.authorized_kms".to_string(),
            (None, false, true) => return,
        };
        let product = self.kms_product(edition);
        self.alert(
            Raise {
                kind: AlertKind::UnauthorizedActivationServer,
                severity: Severity::High,
                host: AlertHost::at(client),
                server: Some(Server {
                    name,
                    address: Some(server),
                    port: Some(port),
                }),
                product,
                evidence,
                reason,
                ts: ev.timestamp,
            },
            e,
            out,
        );
    }

    /// The product of the first rule an observable matches.
    fn first_product(&self, obs: Observable<'_>) -> Option<String> {
        let mut hits: Vec<Hit> = Vec::new();
        self.signatures.lookup(obs, &mut hits);
        hits.first()
            .and_then(|h| self.signatures.product_of(h.rule))
            .map(|p| p.id.clone())
    }

    /// The product a KMS edition is evidence for, by the packs' `kms_edition` rules.
    fn kms_product(&self, edition: &str) -> Option<String> {
        self.first_product(Observable::KmsEdition(edition))
    }

    /// The product a licence vendor daemon serves, by the packs' `flexlm_daemon` rules.
    pub(super) fn license_product(&self, daemon: &str) -> Option<String> {
        self.first_product(Observable::LicenseDaemon(daemon))
    }

    /// The one product whose `license-check` rules claim a server port, if only one does
    /// (27000 is every FlexNet vendor's; 1055 only Ansys's).
    pub(super) fn port_product(&self, server: IpAddr, port: u16) -> Option<String> {
        let mut hits: Vec<Hit> = Vec::new();
        self.signatures
            .lookup(Observable::Server(server, port), &mut hits);
        let mut products = hits.iter().filter_map(|h| {
            let rule = self.signatures.rules.get(h.rule)?;
            (rule.kind == EvidenceKind::LicenseCheck).then_some(rule.product)
        });
        let first = products.next()?;
        if products.any(|p| p != first) {
            return None;
        }
        self.signatures.products.get(first).map(|p| p.id.clone())
    }

    fn check_srv_target(
        &mut self,
        client: IpAddr,
        target: &str,
        port: u16,
        ev: &Event,
        out: &mut Vec<Event>,
    ) {
        let target = target.trim_end_matches('.').to_ascii_lowercase();
        let flag = self.signatures.flags.by_name(&target).cloned();
        let list = &self.policy.authorized_kms;
        // An SRV answer carries a name only: it can be judged against names on the list.
        let names_listed = list.has_names();
        let authorized = list
            .ports_of_name(&target)
            .any(|p| p.is_none_or(|p| p == port));
        let reason = match (&flag, authorized, names_listed) {
            (_, true, _) => return,
            (Some(f), ..) => format!(
                "the KMS host {target} published in DNS is on the list of unlicensed activation services ({})",
                f.source
            ),
            (None, false, true) => {
                format!(
                    "DNS names {target} as KMS host, and it is not in activation.authorized_kms"
                )
            }
            (None, false, false) => return,
        };
        let endpoints = ev.endpoints.reversed();
        self.alert(
            Raise {
                kind: AlertKind::UnauthorizedActivationServer,
                severity: Severity::High,
                host: AlertHost::at(client),
                server: Some(Server {
                    name: Some(target.clone()),
                    address: None,
                    port: Some(port),
                }),
                product: None,
                evidence: format!("SRV answer for _vlmcs._tcp: {target}:{port}"),
                reason,
                ts: ev.timestamp,
            },
            &endpoints,
            out,
        );
    }

    fn check_license(&mut self, ev: &Event, l: &LicenseEvent, out: &mut Vec<Event>) {
        let reversed;
        let e = if l.from_server() {
            reversed = ev.endpoints.reversed();
            &reversed
        } else {
            &ev.endpoints
        };
        let (client, server, port) = (e.src_ip, e.dest_ip, e.dest_port);
        let name = self
            .dns_names
            .lookup(client, server, ev.timestamp)
            .map(str::to_string);
        let names: Vec<&str> = name.iter().map(String::as_str).collect();
        if self.authorized(true, server, port, &names) {
            return;
        }
        let outside = !self.hosts.is_home(&server);
        let list_empty = self.policy.authorized_license_servers.is_empty();
        let (severity, reason) = match (outside, list_empty) {
            (true, _) => (
                Severity::High,
                "licence server outside the home networks and not in activation.authorized_license_servers",
            ),
            (false, false) => (
                Severity::Medium,
                "licence server not in activation.authorized_license_servers",
            ),
            (false, true) => return,
        };
        let daemon = l
            .vendor_daemon
            .as_deref()
            .unwrap_or("vendor daemon not named");
        let product = l.product.clone();
        self.alert(
            Raise {
                kind: AlertKind::UnauthorizedLicenseServer,
                severity,
                host: AlertHost::at(client),
                server: Some(Server {
                    name,
                    address: Some(server),
                    port: Some(port),
                }),
                product,
                evidence: format!("{} {} ({daemon})", l.protocol, l.message),
                reason: reason.to_string(),
                ts: ev.timestamp,
            },
            e,
            out,
        );
    }

    /// Counts, for every ledger product, the hosts the inventory already reports it on (with
    /// the latest time its evidence was seen), so a ledger entry added by a reload, or a state
    /// restored under a changed ledger, starts from what the sensor knows.
    pub(super) fn seed_usage(&mut self) {
        if !self.policy.has_ledger {
            return;
        }
        let sigs = std::sync::Arc::clone(&self.signatures);
        for h in self.hosts.all().into_iter().filter(|h| h.ended.is_none()) {
            let seat = Seat::of(h.mac, h.ip);
            for (p, _) in h.software.reported(&sigs) {
                let Some(product) = sigs.products.get(p.product as usize) else {
                    continue;
                };
                if !self.policy.ledger.contains_key(&product.id) {
                    continue;
                }
                let seen = p
                    .evidence
                    .iter()
                    .map(|e| e.last_seen)
                    .max()
                    .unwrap_or_default();
                let users = self.usage.entry(product.id.clone()).or_default();
                if !occupy(users, seat, seen) {
                    self.usage_dropped += 1;
                }
            }
        }
    }

    /// Ledger checks for a product a host matched: records the host as a user of a ledger
    /// product, and alerts on a newly reported product without licence or on seats exceeded.
    pub(super) fn check_ledger(
        &mut self,
        host: IpAddr,
        product: usize,
        newly_reported: bool,
        ts: Timestamp,
        endpoints: &Endpoints,
        out: &mut Vec<Event>,
    ) {
        if !self.policy.has_ledger {
            return;
        }
        let Some(p) = self.signatures.products.get(product) else {
            return;
        };
        let id = p.id.clone();
        let needs_licence = matches!(p.license, License::Commercial | License::Subscription);
        let Some(licence) = self.policy.ledger.get(&id) else {
            if newly_reported && needs_licence {
                let raise = Raise {
                    kind: AlertKind::UnlicensedProduct,
                    severity: Severity::Medium,
                    host: AlertHost::at(host),
                    server: None,
                    product: Some(id.clone()),
                    evidence: format!("{} ({}) seen on {host}", p.name, p.license.as_str()),
                    reason: format!("{id} needs a licence and the ledger has none"),
                    ts,
                };
                self.alert(raise, endpoints, out);
            }
            return;
        };
        let seats = licence.seats;
        let period = self.policy.overuse_period_secs;
        let seat = Seat::of(self.hosts.host_mut(host, ts).and_then(|h| h.mac), host);
        let users = self.usage.entry(id.clone()).or_default();
        if !occupy(users, seat, ts) {
            self.usage_dropped += 1;
            return;
        }
        if users.len() as u64 <= seats {
            return;
        }
        let since = Timestamp(ts.0.saturating_sub((period as i64).saturating_mul(1_000_000)));
        users.retain(|_, seen| *seen >= since);
        let count = users.len() as u64;
        if count <= seats {
            return;
        }
        let raise = Raise {
            kind: AlertKind::LicenseOveruse,
            severity: Severity::Medium,
            host: AlertHost::default(),
            server: None,
            product: Some(id.clone()),
            evidence: format!(
                "{count} hosts used {id} within {} days; the ledger has {seats} seats",
                period / 86_400
            ),
            reason: format!(
                "more hosts than seats ({})",
                licence_note(&self.policy, &id)
            ),
            ts,
        };
        self.alert(raise, endpoints, out);
    }

    /// Raises an alert; a new one becomes an `alert` event from the host's side.
    fn alert(&mut self, mut r: Raise, endpoints: &Endpoints, out: &mut Vec<Event>) {
        if let Some(ip) = r.host.ip {
            if !self.hosts.is_home(&ip) {
                return;
            }
            if let Some(h) = self.hosts.host_mut(ip, r.ts) {
                r.host.mac = h.mac;
                r.host.names = h.names.iter().map(|n| n.name.clone()).collect();
            }
        }
        let ts = r.ts;
        if let Some(alert) = self.alerts.raise(r) {
            out.push(Event {
                timestamp: ts,
                endpoints: endpoints.clone(),
                body: EventBody::Alert(Box::new(alert.clone())),
            });
        }
    }
}

fn licence_note(policy: &crate::policy::Policy, id: &str) -> String {
    policy
        .ledger
        .get(id)
        .map(|l| l.note.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "ledger".to_string())
}
