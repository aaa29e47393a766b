//! What the sensor knows: hosts and their names, names of addresses, and the event log.
//!
//! The [`Inventory`] consumes the pipeline's merged items in input order on the output thread, so
//! everything here is single-threaded and deterministic.

pub mod dns_names;
pub mod hosts;

use crate::event::{Event, EventBody};
use crate::pipeline::batch::Item;
use crate::pipeline::engine::Observer;
use dns_names::DnsNames;
use hosts::{HomeNets, HostTable, NameSource, remember};
use std::io::Write;
use std::net::IpAddr;

/// Table sizes of the inventory.
#[derive(Debug, Clone, Copy)]
pub struct InventoryLimits {
    /// Most hosts tracked.
    pub max_hosts: usize,
    /// Most addresses in the DNS name map.
    pub max_dns_names: usize,
}

impl Default for InventoryLimits {
    fn default() -> Self {
        InventoryLimits {
            max_hosts: 65_536,
            max_dns_names: 262_144,
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
}

impl Inventory {
    /// An empty inventory writing events to `events`, if given.
    pub fn new(
        home: HomeNets,
        limits: InventoryLimits,
        events: Option<Box<dyn Write + Send>>,
    ) -> Self {
        Inventory {
            hosts: HostTable::new(home, limits.max_hosts),
            dns_names: DnsNames::new(limits.max_dns_names),
            events,
            write_error: None,
            flows: 0,
            buffer_bytes: 0,
            peak_flows: 0,
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

    fn write(&mut self, ev: &Event) {
        let Some(w) = self.events.as_mut() else {
            return;
        };
        if self.write_error.is_some() {
            return;
        }
        let result = serde_json::to_writer(&mut *w, ev)
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
                        self.dns_names.insert(addr, &d.rrname, a.ttl, ts);
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
        }
    }
}

impl Observer for Inventory {
    fn item(&mut self, item: Item) {
        match item {
            Item::Event(ev) => {
                self.learn(&ev);
                self.write(&ev);
            }
            Item::Activity(a) => {
                self.hosts.activity(a.client.0, a.client.1, a.ts);
                self.hosts.activity(a.server.0, a.server.1, a.ts);
            }
        }
    }

    fn pipeline_state(&mut self, flows: usize, buffer_bytes: usize) {
        self.flows = flows;
        self.buffer_bytes = buffer_bytes;
        self.peak_flows = self.peak_flows.max(flows);
    }
}
