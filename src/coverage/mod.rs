//! The coverage cross-check: the network's picture of hosts and products against agent
//! inventories ([`agents`]), to find hosts no agent covers and software agents never recorded.
//!
//! Network records are first grouped into machines: records of one MAC (a PC that DHCP moved
//! between addresses) are one machine, a record without a MAC is a machine of its own. Agent
//! hosts are then paired with machines in three passes over all of them: by MAC, then by host
//! name (case-insensitive, domain suffix stripped; only a name one machine and one agent host
//! carry), then by address (a record of that address whose time on the network covers the
//! moment the agent took its inventory, or the current record of the address when the agent says
//! no time). A name or address never pairs two sides whose MACs are known and differ; each
//! machine and each agent host is paired at most once.

pub mod agents;
pub mod labels;
pub mod names;

use crate::event::Mac;
use crate::inventory::Inventory;
use crate::inventory::alerts::Alert;
use crate::inventory::hosts::Host;
use crate::signature::Signatures;
use crate::signature::schema::Category;
use agents::{AgentHost, Agents};
use names::NameIndex;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;

/// A product as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductRef {
    /// Product id of the packs.
    pub id: String,
    /// English name.
    pub name: String,
    /// Chinese name.
    pub name_zh: String,
    /// Vendor.
    pub vendor: String,
    /// Category.
    pub category: &'static str,
}

/// A network host no agent inventory covers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnmanagedHost {
    /// Its latest address.
    pub ip: IpAddr,
    /// Its MAC, when seen.
    pub mac: Option<Mac>,
    /// Names it gave.
    pub hostnames: Vec<String>,
    /// Products the network shows on it.
    pub products: Vec<ProductRef>,
    /// The activation and licence alerts about it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<Alert>,
}

/// An agent host paired with no machine: the network never saw it, or not in a way that could
/// be told apart (a name several hosts share, an address whose time does not fit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleHost {
    /// Its name.
    pub hostname: Option<String>,
    /// Its first MAC.
    pub mac: Option<Mac>,
    /// Its first address.
    pub ip: Option<IpAddr>,
    /// The inventory file it came from.
    pub source: String,
}

/// A host both sides know.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MatchedHost {
    /// Its latest address on the network.
    pub ip: IpAddr,
    /// Its MAC.
    pub mac: Option<Mac>,
    /// Its name (the agent's, else the first the network saw).
    pub hostname: Option<String>,
    /// How it was matched: `mac`, `hostname` or `ip`.
    pub matched_by: &'static str,
    /// The inventory file.
    pub source: String,
    /// Products the network shows that the agent did not record.
    pub missing_from_inventory: Vec<ProductRef>,
    /// Products the agent recorded that showed no traffic (informational).
    pub not_seen_on_network: Vec<ProductRef>,
    /// The activation and licence alerts about it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<Alert>,
}

/// A share: how many of how many.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Ratio {
    /// Covered.
    pub covered: usize,
    /// All.
    pub total: usize,
    /// `covered / total`, absent when there is nothing to count.
    pub ratio: Option<f64>,
}

impl Ratio {
    fn of(covered: usize, total: usize) -> Ratio {
        Ratio {
            covered,
            total,
            ratio: (total > 0).then(|| (covered as f64 / total as f64 * 1000.0).round() / 1000.0),
        }
    }
}

/// Coverage overall and per category.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Network hosts with an agent inventory.
    pub overall: Ratio,
    /// Per category: the products the network shows on hosts, and how many of those
    /// (host, product) pairs an agent recorded.
    pub by_category: BTreeMap<&'static str, Ratio>,
}

/// A software name no pack knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnmatchedSoftware {
    /// The name as recorded.
    pub name: String,
    /// Its publisher, when recorded.
    pub publisher: Option<String>,
    /// Agent hosts that recorded it (each counted once).
    pub hosts: usize,
}

/// The whole cross-check.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Network hosts with no inventory record.
    pub unmanaged_hosts: Vec<UnmanagedHost>,
    /// Inventory hosts the network never saw (stale or offline).
    pub stale_hosts: Vec<StaleHost>,
    /// Hosts both know, with what one side shows and the other does not.
    pub hosts: Vec<MatchedHost>,
    /// Coverage ratios.
    pub coverage: Coverage,
    /// Software names no signature pack knows, most common first.
    pub unmatched_software: Vec<UnmatchedSoftware>,
    /// All the activation and licence alerts of the same inventory (each host's are also with
    /// the host).
    pub alerts: Vec<Alert>,
    /// Inventory rows and entries skipped, as `file:line: why`.
    pub problems: Vec<String>,
}

/// Network records of one machine.
struct Machine<'a> {
    records: Vec<&'a Host>,
    mac: Option<Mac>,
}

impl Machine<'_> {
    /// The alerts about the machine's records, each raised while the record was its.
    fn alerts(&self, inv: &Inventory) -> Vec<Alert> {
        self.records
            .iter()
            .flat_map(|h| crate::report::host_alerts(inv, h))
            .cloned()
            .collect()
    }

    fn latest(&self) -> &Host {
        self.records
            .iter()
            .max_by_key(|h| (h.ended.is_none(), h.last_seen))
            .copied()
            .unwrap_or(self.records[0])
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for h in &self.records {
            for n in &h.names {
                if !names.contains(&n.name) {
                    names.push(n.name.clone());
                }
            }
        }
        names
    }
}

/// A host name's first label, lower case: `PC-01.campus.edu.cn` and `pc-01` are one name.
fn short_name(name: &str) -> String {
    name.trim()
        .trim_end_matches('.')
        .split('.')
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

fn machines(inv: &Inventory) -> Vec<Machine<'_>> {
    let mut out: Vec<Machine> = Vec::new();
    let mut by_mac: HashMap<Mac, usize> = HashMap::new();
    for h in inv.hosts.all() {
        match h.mac {
            Some(mac) => match by_mac.get(&mac) {
                Some(&i) => out[i].records.push(h),
                None => {
                    by_mac.insert(mac, out.len());
                    out.push(Machine {
                        records: vec![h],
                        mac: Some(mac),
                    });
                }
            },
            None => out.push(Machine {
                records: vec![h],
                mac: None,
            }),
        }
    }
    out
}

/// Pairs agent hosts with machines, in three passes over all of them: every MAC match first,
/// then host names, then addresses. A name pairs only when exactly one free machine and one
/// unpaired agent host carry it; a name or address never pairs two sides whose MACs are both
/// known and differ. Returns, per agent host, its machine and how it was found.
fn pair(machines: &[Machine], agents: &[AgentHost]) -> Vec<Option<(usize, &'static str)>> {
    let mut by_mac: HashMap<Mac, usize> = HashMap::new();
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_ip: HashMap<IpAddr, Vec<usize>> = HashMap::new();
    for (i, m) in machines.iter().enumerate() {
        if let Some(mac) = m.mac {
            by_mac.insert(mac, i);
        }
        for n in m.names() {
            let v = by_name.entry(short_name(&n)).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        }
        for h in &m.records {
            let v = by_ip.entry(h.ip).or_default();
            if v.last() != Some(&i) {
                v.push(i);
            }
        }
    }
    let mut taken = vec![false; machines.len()];
    let mut out: Vec<Option<(usize, &'static str)>> = vec![None; agents.len()];
    // Sides whose MACs are both known and differ are different machines.
    let compatible = |m: &Machine, a: &AgentHost| {
        m.mac.is_none() || a.macs.is_empty() || a.macs.contains(&m.mac.unwrap_or_default())
    };
    for (a, agent) in agents.iter().enumerate() {
        if let Some(&i) = agent
            .macs
            .iter()
            .filter_map(|m| by_mac.get(m))
            .find(|&&i| !taken[i])
        {
            taken[i] = true;
            out[a] = Some((i, "mac"));
        }
    }
    let mut agent_names: HashMap<String, usize> = HashMap::new();
    for (a, agent) in agents.iter().enumerate() {
        if out[a].is_none()
            && let Some(n) = agent.hostname.as_deref().map(short_name)
        {
            *agent_names.entry(n).or_default() += 1;
        }
    }
    for (a, agent) in agents.iter().enumerate() {
        if out[a].is_some() {
            continue;
        }
        let Some(name) = agent
            .hostname
            .as_deref()
            .map(short_name)
            .filter(|n| !n.is_empty())
        else {
            continue;
        };
        let free: Vec<usize> = by_name
            .get(&name)
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| !taken[i] && compatible(&machines[i], agent))
            .collect();
        if let ([i], Some(1)) = (free.as_slice(), agent_names.get(&name)) {
            taken[*i] = true;
            out[a] = Some((*i, "hostname"));
        }
    }
    for (a, agent) in agents.iter().enumerate() {
        if out[a].is_some() {
            continue;
        }
        let found = agent.ips.iter().find_map(|ip| {
            by_ip.get(ip)?.iter().copied().find(|&i| {
                !taken[i]
                    && compatible(&machines[i], agent)
                    && machines[i].records.iter().any(|h| {
                        h.ip == *ip
                            && match agent.taken {
                                Some(t) => h.first_seen <= t && t <= h.ended.unwrap_or(h.last_seen),
                                None => h.ended.is_none(),
                            }
                    })
            })
        });
        if let Some(i) = found {
            taken[i] = true;
            out[a] = Some((i, "ip"));
        }
    }
    out
}

/// Products by index, as the report shows them, sorted by id.
fn product_refs(sigs: &Signatures, products: impl Iterator<Item = usize>) -> Vec<ProductRef> {
    let mut out: Vec<ProductRef> = products
        .filter_map(|i| sigs.products.get(i))
        .map(|p| ProductRef {
            id: p.id.clone(),
            name: p.name.clone(),
            name_zh: p.name_zh.clone(),
            vendor: p.vendor.clone(),
            category: p.category.as_str(),
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Builds the cross-check of an inventory and agent inventories.
pub fn build(inv: &Inventory, agents: &Agents) -> Report {
    let sigs = &inv.signatures;
    let index = NameIndex::new(sigs);
    let machines = machines(inv);
    let seen: Vec<BTreeSet<usize>> = machines
        .iter()
        .map(|m| {
            m.records
                .iter()
                .flat_map(|h| h.software.reported(sigs))
                .map(|(p, _)| p.product as usize)
                .collect()
        })
        .collect();
    let pairs = pair(&machines, &agents.hosts);
    let mut matched: Vec<Option<(usize, BTreeSet<usize>)>> = vec![None; machines.len()];
    let mut hosts = Vec::new();
    let mut stale_hosts = Vec::new();
    let mut unmatched: BTreeMap<(String, Option<String>), usize> = BTreeMap::new();
    for (a, agent) in agents.hosts.iter().enumerate() {
        let mut recorded = BTreeSet::new();
        let mut unknown = BTreeSet::new();
        for sw in &agent.software {
            match index.product_of(&sw.name, sw.publisher.as_deref()) {
                Some(p) => {
                    recorded.insert(p);
                }
                None => {
                    unknown.insert((sw.name.clone(), sw.publisher.clone()));
                }
            }
        }
        for name in unknown {
            *unmatched.entry(name).or_default() += 1;
        }
        let source = agent.source.display().to_string();
        let Some((m, how)) = pairs[a] else {
            stale_hosts.push(StaleHost {
                hostname: agent.hostname.clone(),
                mac: agent.macs.first().copied(),
                ip: agent.ips.first().copied(),
                source,
            });
            continue;
        };
        let machine = &machines[m];
        let latest = machine.latest();
        hosts.push(MatchedHost {
            ip: latest.ip,
            mac: machine.mac,
            hostname: agent
                .hostname
                .clone()
                .or_else(|| machine.names().into_iter().next()),
            matched_by: how,
            source,
            missing_from_inventory: product_refs(sigs, seen[m].difference(&recorded).copied()),
            not_seen_on_network: product_refs(sigs, recorded.difference(&seen[m]).copied()),
            alerts: machine.alerts(inv),
        });
        matched[m] = Some((a, recorded));
    }
    let unmanaged_hosts = machines
        .iter()
        .enumerate()
        .filter(|(i, _)| matched[*i].is_none())
        .map(|(i, m)| UnmanagedHost {
            ip: m.latest().ip,
            mac: m.mac,
            hostnames: m.names(),
            products: product_refs(sigs, seen[i].iter().copied()),
            alerts: m.alerts(inv),
        })
        .collect();
    let mut by_category = BTreeMap::new();
    for c in Category::ALL {
        let (mut covered, mut total) = (0, 0);
        for (i, products) in seen.iter().enumerate() {
            for &p in products {
                if sigs.products.get(p).is_some_and(|x| x.category == c) {
                    total += 1;
                    if matched[i].as_ref().is_some_and(|(_, rec)| rec.contains(&p)) {
                        covered += 1;
                    }
                }
            }
        }
        by_category.insert(c.as_str(), Ratio::of(covered, total));
    }
    let mut unmatched_software: Vec<UnmatchedSoftware> = unmatched
        .into_iter()
        .map(|((name, publisher), hosts)| UnmatchedSoftware {
            name,
            publisher,
            hosts,
        })
        .collect();
    unmatched_software.sort_by(|a, b| b.hosts.cmp(&a.hosts).then(a.name.cmp(&b.name)));
    Report {
        unmanaged_hosts,
        stale_hosts,
        coverage: Coverage {
            overall: Ratio::of(hosts.len(), machines.len()),
            by_category,
        },
        hosts,
        unmatched_software,
        alerts: inv.alerts.all().to_vec(),
        problems: agents.problems.iter().map(|p| p.to_string()).collect(),
    }
}
