//! The hosts of the home networks: address, MAC, names, first and last seen.
//!
//! A host record is keyed by its current address. DHCP is the authority on which MAC holds an
//! address: when an ACK hands an address to a different MAC, the old record ends (it is kept in a
//! bounded list of ended records) and a new one begins. Names learnt from DHCP follow the MAC, so
//! a laptop that moves to another address keeps its name. MACs seen only in frame headers are
//! weaker evidence: at a routed gateway they are the router's, so a MAC seen in front of many
//! addresses is not attributed to any of them.

use crate::event::{Mac, Timestamp};
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Where a host's name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NameSource {
    /// DHCP host name (option 12) or client FQDN (81 / DHCPv6 39).
    Dhcp,
    /// NetBIOS name registration.
    Netbios,
    /// Multicast DNS answer for the host's own address.
    Mdns,
    /// LLMNR answer for the host's own address.
    Llmnr,
    /// The workstation name of a KMS activation request.
    Kms,
    /// The host name a FlexLM client gave in its hello.
    Flexlm,
}

impl NameSource {
    /// The lowercase name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            NameSource::Dhcp => "dhcp",
            NameSource::Netbios => "netbios",
            NameSource::Mdns => "mdns",
            NameSource::Llmnr => "llmnr",
            NameSource::Kms => "kms",
            NameSource::Flexlm => "flexlm",
        }
    }
}

/// A name and its source.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HostName {
    /// The name as the host gave it.
    pub name: String,
    /// Which protocol said so.
    pub source: NameSource,
}

/// Names kept per host: a host has a DHCP name, a NetBIOS name and an mDNS name or two.
pub const MAX_NAMES_PER_HOST: usize = 6;
/// Longest name kept, in characters.
pub const MAX_NAME_CHARS: usize = 128;
/// Distinct queried names (and HTTP clients) remembered per host for the summary; the event log
/// has them all.
pub const MAX_REMEMBERED_PER_HOST: usize = 8;
/// Longest remembered value, in characters.
pub const MAX_REMEMBERED_CHARS: usize = 96;
/// A MAC seen in front of more distinct addresses than this is a router's, not a host's (a
/// dual-stack host shows two or three).
pub const ROUTER_MAC_ADDRESSES: usize = 4;

/// The distinct addresses a frame-header MAC stood in front of, up to the router threshold.
#[derive(Debug, Default)]
struct LinkMac {
    ips: [Option<IpAddr>; ROUTER_MAC_ADDRESSES],
    router: bool,
}

/// One host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Host {
    /// Address.
    pub ip: IpAddr,
    /// MAC, from DHCP or from frame headers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<Mac>,
    /// Whether `mac` came from DHCP (authoritative) rather than a frame header.
    #[serde(default)]
    pub mac_from_dhcp: bool,
    /// Names, at most [`MAX_NAMES_PER_HOST`].
    pub names: Vec<HostName>,
    /// First activity.
    pub first_seen: Timestamp,
    /// Last activity.
    pub last_seen: Timestamp,
    /// When the record ended because DHCP gave the address to another MAC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended: Option<Timestamp>,
    /// Events that named this host as sender, by event type.
    pub events: EventCounts,
    /// Some names this host looked up, at most [`MAX_REMEMBERED_PER_HOST`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queried: Vec<String>,
    /// Server names this host sent in TLS and QUIC hellos, at most [`MAX_REMEMBERED_PER_HOST`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls: Vec<String>,
    /// Software products found on this host.
    #[serde(default)]
    pub software: crate::inventory::software::HostSoftware,
    /// HTTP hosts and user agents this host used, at most [`MAX_REMEMBERED_PER_HOST`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub http: Vec<String>,
}

impl Host {
    fn new(ip: IpAddr, ts: Timestamp) -> Self {
        Host {
            ip,
            mac: None,
            mac_from_dhcp: false,
            names: Vec::new(),
            first_seen: ts,
            last_seen: ts,
            ended: None,
            events: Default::default(),
            queried: Vec::new(),
            tls: Vec::new(),
            software: Default::default(),
            http: Vec::new(),
        }
    }

    /// Adds a name (shortened to [`MAX_NAME_CHARS`]) unless known or the list is full.
    pub fn add_name(&mut self, name: &str, source: NameSource) {
        let name = truncated(name.trim_end_matches('.'), MAX_NAME_CHARS);
        if name.is_empty() || self.names.len() >= MAX_NAMES_PER_HOST {
            return;
        }
        if !self
            .names
            .iter()
            .any(|n| n.name.eq_ignore_ascii_case(name) && n.source == source)
        {
            self.names.push(HostName {
                name: name.to_string(),
                source,
            });
        }
    }

    fn touch(&mut self, ts: Timestamp) {
        self.first_seen = self.first_seen.min(ts);
        self.last_seen = self.last_seen.max(ts);
    }
}

/// Counts of the events a host sent, by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EventCounts {
    /// `dns` events.
    #[serde(skip_serializing_if = "is_zero")]
    pub dns: u32,
    /// `mdns` events.
    #[serde(skip_serializing_if = "is_zero")]
    pub mdns: u32,
    /// `llmnr` events.
    #[serde(skip_serializing_if = "is_zero")]
    pub llmnr: u32,
    /// `netbios` events.
    #[serde(skip_serializing_if = "is_zero")]
    pub netbios: u32,
    /// `dhcp` events.
    #[serde(skip_serializing_if = "is_zero")]
    pub dhcp: u32,
    /// `http` events.
    #[serde(skip_serializing_if = "is_zero")]
    pub http: u32,
    /// `tls` events.
    #[serde(skip_serializing_if = "is_zero")]
    pub tls: u32,
    /// `quic` events.
    #[serde(skip_serializing_if = "is_zero")]
    pub quic: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl EventCounts {
    /// Counts one event of this `event_type`.
    pub fn count(&mut self, event_type: &str) {
        let slot = match event_type {
            "dns" => &mut self.dns,
            "mdns" => &mut self.mdns,
            "llmnr" => &mut self.llmnr,
            "netbios" => &mut self.netbios,
            "dhcp" => &mut self.dhcp,
            "http" => &mut self.http,
            "tls" => &mut self.tls,
            "quic" => &mut self.quic,
            _ => return,
        };
        *slot = slot.saturating_add(1);
    }

    /// Non-zero counts with their event types.
    pub fn nonzero(&self) -> Vec<(&'static str, u32)> {
        [
            ("dhcp", self.dhcp),
            ("dns", self.dns),
            ("http", self.http),
            ("llmnr", self.llmnr),
            ("mdns", self.mdns),
            ("netbios", self.netbios),
            ("quic", self.quic),
            ("tls", self.tls),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
    }
}

/// The longest prefix of `s` of at most `max` characters.
pub(crate) fn truncated(s: &str, max: usize) -> &str {
    s.char_indices().nth(max).map_or(s, |(i, _)| &s[..i])
}

/// Adds `value` (shortened to [`MAX_REMEMBERED_CHARS`]) to a bounded list of distinct strings.
pub fn remember(list: &mut Vec<String>, value: &str) {
    let value = truncated(value, MAX_REMEMBERED_CHARS);
    if list.len() < MAX_REMEMBERED_PER_HOST && !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

/// The home networks: which addresses are hosts to inventory.
#[derive(Debug, Clone)]
pub struct HomeNets(Vec<IpNet>);

impl HomeNets {
    /// RFC 1918 private space, RFC 6598 shared address space (campus CGNAT) and RFC 4193 unique
    /// local IPv6 addresses.
    pub fn defaults() -> Self {
        let nets = [
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
            "100.64.0.0/10",
            "fc00::/7",
        ];
        HomeNets(nets.iter().filter_map(|n| n.parse().ok()).collect())
    }

    /// Exactly these networks.
    pub fn new(nets: Vec<IpNet>) -> Self {
        HomeNets(nets)
    }

    /// Whether `ip` belongs to a home network.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        self.0.iter().any(|n| n.contains(ip))
    }
}

/// Ended records kept for the report; older ones are dropped (and counted).
pub const MAX_ENDED_RECORDS: usize = 4096;

/// The bounded table.
#[derive(Debug)]
pub struct HostTable {
    home: HomeNets,
    capacity: usize,
    hosts: HashMap<IpAddr, Host>,
    ended: VecDeque<Host>,
    /// For each frame-header MAC: the last address it stood in front of and how often that changed.
    link_macs: HashMap<Mac, LinkMac>,
    /// DHCP names by MAC, so names follow a host to its next address.
    dhcp_names: HashMap<Mac, Vec<HostName>>,
    /// Current address of each MAC that DHCP assigned one to.
    by_mac: HashMap<Mac, IpAddr>,
    /// Records removed to make room.
    pub evicted: u64,
    /// Ended records dropped from the bounded list.
    pub ended_dropped: u64,
    /// Software matches dropped (see `HostSoftware::dropped`) by records no longer held.
    pub software_dropped_gone: u64,
    /// Entries dropped when a full side table (MAC sightings, DHCP names, MAC → address) was
    /// cleared to start over.
    pub aux_cleared: u64,
}

impl HostTable {
    /// An empty table of at most `capacity` hosts.
    pub fn new(home: HomeNets, capacity: usize) -> Self {
        HostTable {
            home,
            capacity: capacity.max(1),
            hosts: HashMap::new(),
            ended: VecDeque::new(),
            link_macs: HashMap::new(),
            dhcp_names: HashMap::new(),
            by_mac: HashMap::new(),
            evicted: 0,
            ended_dropped: 0,
            software_dropped_gone: 0,
            aux_cleared: 0,
        }
    }

    /// Current hosts.
    pub fn len(&self) -> usize {
        self.hosts.len()
    }

    /// True when no host is known.
    pub fn is_empty(&self) -> bool {
        self.hosts.is_empty()
    }

    /// Whether `ip` is in a home network.
    pub fn is_home(&self, ip: &IpAddr) -> bool {
        self.home.contains(ip)
    }

    /// The record for `ip`, created if `ip` is a home address; `None` otherwise.
    pub fn host_mut(&mut self, ip: IpAddr, ts: Timestamp) -> Option<&mut Host> {
        if !self.home.contains(&ip) {
            return None;
        }
        if !self.hosts.contains_key(&ip) && self.hosts.len() >= self.capacity {
            self.make_room();
        }
        let host = self.hosts.entry(ip).or_insert_with(|| Host::new(ip, ts));
        host.touch(ts);
        Some(host)
    }

    /// A host was active at `ts`, with this MAC in the frame header if any.
    pub fn activity(&mut self, ip: IpAddr, link_mac: Option<Mac>, ts: Timestamp) {
        if !self.home.contains(&ip) {
            return;
        }
        let (router, just_found) = match link_mac {
            Some(m) => self.note_link_mac(m, ip),
            None => (None, false),
        };
        if let Some(earlier) = router.filter(|_| just_found) {
            // Only the addresses the MAC stood in front of can hold it (unless the side table
            // was cleared since): no scan over every host, which forged MACs could force.
            for ip in earlier.iter().flatten() {
                if let Some(h) = self.hosts.get_mut(ip)
                    && h.mac == link_mac
                    && !h.mac_from_dhcp
                {
                    h.mac = None;
                }
            }
        }
        let router = router.is_some();
        let Some(host) = self.host_mut(ip, ts) else {
            return;
        };
        match link_mac {
            Some(_) if router && !host.mac_from_dhcp => host.mac = None,
            Some(m) if host.mac.is_none() => host.mac = Some(m),
            _ => {}
        }
    }

    /// Records a MAC in front of an address. Returns, when the MAC looks like a router's, the
    /// addresses it was seen in front of before, and whether it just started to look so.
    fn note_link_mac(
        &mut self,
        mac: Mac,
        ip: IpAddr,
    ) -> (Option<[Option<IpAddr>; ROUTER_MAC_ADDRESSES]>, bool) {
        if !self.link_macs.contains_key(&mac) && self.link_macs.len() >= self.capacity {
            self.aux_cleared += self.link_macs.len() as u64;
            self.link_macs.clear();
        }
        let e = self.link_macs.entry(mac).or_default();
        let router = e.router.then_some(e.ips);
        if e.router || e.ips.contains(&Some(ip)) {
            return (router, false);
        }
        match e.ips.iter_mut().find(|slot| slot.is_none()) {
            Some(slot) => {
                *slot = Some(ip);
                (None, false)
            }
            None => {
                e.router = true;
                (Some(e.ips), true)
            }
        }
    }

    /// The address DHCP last assigned to `mac`, if its record is current.
    pub fn ip_of_mac(&self, mac: Mac) -> Option<IpAddr> {
        self.by_mac
            .get(&mac)
            .copied()
            .filter(|ip| self.hosts.get(ip).is_some_and(|h| h.mac == Some(mac)))
    }

    /// A DHCP client with this MAC announced a name.
    pub fn dhcp_name(&mut self, mac: Mac, name: &str) {
        if !self.dhcp_names.contains_key(&mac) && self.dhcp_names.len() >= self.capacity {
            self.aux_cleared += self.dhcp_names.len() as u64;
            self.dhcp_names.clear();
        }
        let names = self.dhcp_names.entry(mac).or_default();
        let name = truncated(name, MAX_NAME_CHARS);
        // A client renames itself rarely; two names per MAC cover a rename within one capture.
        if names.len() < 2 && !names.iter().any(|n| n.name == name) {
            names.push(HostName {
                name: name.to_string(),
                source: NameSource::Dhcp,
            });
        }
        let host = self.by_mac.get(&mac).and_then(|ip| self.hosts.get_mut(ip));
        if let Some(host) = host.filter(|h| h.mac == Some(mac) && h.mac_from_dhcp) {
            host.add_name(name, NameSource::Dhcp);
        }
    }

    /// A DHCP server acknowledged `ip` for `mac`: a record for `ip` held by another MAC ends, and
    /// so does the record of `mac`'s previous address.
    pub fn dhcp_assigned(&mut self, ip: IpAddr, mac: Mac, ts: Timestamp) {
        if !self.home.contains(&ip) {
            return;
        }
        if self
            .hosts
            .get(&ip)
            .is_some_and(|h| h.mac_from_dhcp && h.mac != Some(mac))
        {
            self.end_record(ip, ts);
        }
        if let Some(previous) = self.by_mac.get(&mac).copied().filter(|p| *p != ip)
            && self
                .hosts
                .get(&previous)
                .is_some_and(|h| h.mac_from_dhcp && h.mac == Some(mac))
        {
            self.end_record(previous, ts);
        }
        let names = self.dhcp_names.get(&mac).cloned().unwrap_or_default();
        if !self.by_mac.contains_key(&mac) && self.by_mac.len() >= self.capacity {
            self.aux_cleared += self.by_mac.len() as u64;
            self.by_mac.clear();
        }
        self.by_mac.insert(mac, ip);
        if let Some(host) = self.host_mut(ip, ts) {
            host.mac = Some(mac);
            host.mac_from_dhcp = true;
            for n in names {
                host.add_name(&n.name, n.source);
            }
        }
    }

    /// Ends the current record of `ip`, keeping it in the bounded list of ended records.
    fn end_record(&mut self, ip: IpAddr, ts: Timestamp) {
        if let Some(mut old) = self.hosts.remove(&ip) {
            old.ended = Some(ts);
            self.push_ended(old);
        }
    }

    fn push_ended(&mut self, host: Host) {
        if self.ended.len() >= MAX_ENDED_RECORDS {
            if let Some(gone) = self.ended.pop_front() {
                self.software_dropped_gone += u64::from(gone.software.dropped);
            }
            self.ended_dropped += 1;
        }
        self.ended.push_back(host);
    }

    fn make_room(&mut self) {
        // Drop the least recently seen sixteenth at once, so this sort is paid rarely.
        let mut by_age: Vec<(Timestamp, IpAddr)> =
            self.hosts.values().map(|h| (h.last_seen, h.ip)).collect();
        by_age.sort_unstable();
        for (_, ip) in by_age.into_iter().take((self.capacity / 16).max(1)) {
            if let Some(gone) = self.hosts.remove(&ip) {
                self.software_dropped_gone += u64::from(gone.software.dropped);
            }
            self.evicted += 1;
        }
    }

    /// Software matches dropped because a cap was reached, over every record ever held.
    pub fn software_dropped(&self) -> u64 {
        self.hosts
            .values()
            .chain(self.ended.iter())
            .map(|h| u64::from(h.software.dropped))
            .sum::<u64>()
            + self.software_dropped_gone
    }

    /// Takes back records saved earlier: current ones (the newest, up to the capacity, when
    /// the saved ones outnumber it) and ended ones (up to their bound); DHCP's MAC → address
    /// and name tables are rebuilt from them. Returns how many records did not fit.
    pub fn restore(&mut self, mut saved: Vec<Host>) -> usize {
        let mut refused = 0;
        saved.sort_by_key(|h| std::cmp::Reverse(h.last_seen));
        for h in saved {
            match h.ended {
                Some(_) if self.ended.len() < MAX_ENDED_RECORDS => self.ended.push_back(h),
                None if !self.hosts.contains_key(&h.ip) && self.hosts.len() < self.capacity => {
                    if let (Some(mac), true) = (h.mac, h.mac_from_dhcp) {
                        self.by_mac.insert(mac, h.ip);
                        let names: Vec<HostName> = h
                            .names
                            .iter()
                            .filter(|n| n.source == NameSource::Dhcp)
                            .cloned()
                            .collect();
                        if !names.is_empty() {
                            self.dhcp_names.insert(mac, names);
                        }
                    }
                    self.hosts.insert(h.ip, h);
                }
                _ => refused += 1,
            }
        }
        self.ended.make_contiguous().sort_by_key(|h| h.ended);
        refused
    }

    /// Decides again, for every record, which products reach `min_confidence` (after the packs
    /// or the minimum changed).
    pub fn recheck_reported(&mut self, sigs: &crate::signature::Signatures, min_confidence: f64) {
        for h in self.hosts.values_mut().chain(self.ended.iter_mut()) {
            h.software.recheck(sigs, min_confidence);
        }
    }

    /// Moves every record's software to another signature set; returns the product records
    /// dropped because theirs left it.
    pub fn remap_software(&mut self, map: &crate::inventory::software::IndexMap) -> u64 {
        self.hosts
            .values_mut()
            .chain(self.ended.iter_mut())
            .map(|h| u64::from(h.software.remap(map)))
            .sum()
    }

    /// Current hosts followed by ended records, ordered by address then first seen.
    pub fn all(&self) -> Vec<&Host> {
        let mut v: Vec<&Host> = self.hosts.values().chain(self.ended.iter()).collect();
        v.sort_by_key(|h| (h.ip, h.first_seen));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    const M1: Mac = Mac([2, 0, 0, 0, 0, 1]);
    const M2: Mac = Mac([2, 0, 0, 0, 0, 2]);

    #[test]
    fn only_home_addresses_become_hosts() {
        let mut t = HostTable::new(HomeNets::defaults(), 16);
        t.activity(ip("10.1.2.3"), None, Timestamp(5));
        t.activity(ip("8.8.8.8"), None, Timestamp(5));
        t.activity(ip("10.1.2.3"), None, Timestamp(2));
        assert_eq!(t.len(), 1);
        let h = t.all()[0];
        assert_eq!((h.first_seen, h.last_seen), (Timestamp(2), Timestamp(5)));
    }

    #[test]
    fn dhcp_reassignment_ends_the_old_record_and_names_follow_the_mac() {
        let mut t = HostTable::new(HomeNets::defaults(), 16);
        t.dhcp_name(M1, "lab-pc-01");
        t.dhcp_assigned(ip("10.0.0.10"), M1, Timestamp(1));
        t.dhcp_name(M2, "lab-pc-02");
        t.dhcp_assigned(ip("10.0.0.10"), M2, Timestamp(9));
        t.dhcp_assigned(ip("10.0.0.11"), M1, Timestamp(10));
        let all = t.all();
        assert_eq!(all.len(), 3);
        let old = all.iter().find(|h| h.ended.is_some()).unwrap();
        assert_eq!(
            (old.mac, old.names[0].name.as_str()),
            (Some(M1), "lab-pc-01")
        );
        let now10 = all
            .iter()
            .find(|h| h.ip == ip("10.0.0.10") && h.ended.is_none())
            .unwrap();
        assert_eq!(
            (now10.mac, now10.names[0].name.as_str()),
            (Some(M2), "lab-pc-02")
        );
        let moved = all.iter().find(|h| h.ip == ip("10.0.0.11")).unwrap();
        assert_eq!(
            moved.names[0].name, "lab-pc-01",
            "the name followed the MAC"
        );
    }

    #[test]
    fn router_macs_are_not_attributed() {
        let mut t = HostTable::new(HomeNets::defaults(), 64);
        for i in 1..=6u8 {
            t.activity(IpAddr::from([10, 0, 0, i]), Some(M1), Timestamp(1));
        }
        assert!(
            t.all().iter().all(|h| h.mac.is_none()),
            "a router's MAC names no host"
        );
        t.dhcp_assigned(ip("10.0.0.2"), M1, Timestamp(2));
        let h2 = t
            .all()
            .into_iter()
            .find(|h| h.ip == ip("10.0.0.2"))
            .unwrap();
        assert_eq!(h2.mac, Some(M1), "DHCP is authoritative");
    }

    #[test]
    fn software_drops_outlive_evicted_records() {
        let mut t = HostTable::new(HomeNets::defaults(), 16);
        t.host_mut(ip("10.0.2.1"), Timestamp(0))
            .unwrap()
            .software
            .dropped = 5;
        for i in 2..60u8 {
            t.activity(IpAddr::from([10, 0, 2, i]), None, Timestamp(i64::from(i)));
        }
        assert!(t.all().iter().all(|h| h.ip != ip("10.0.2.1")), "evicted");
        assert_eq!(t.software_dropped(), 5);
    }

    #[test]
    fn table_is_bounded() {
        let mut t = HostTable::new(HomeNets::defaults(), 32);
        for i in 0..100u8 {
            t.activity(IpAddr::from([10, 0, 1, i]), None, Timestamp(i64::from(i)));
        }
        assert!(t.len() <= 32);
        assert!(t.evicted >= 68);
        assert!(t.all().iter().any(|h| h.ip == ip("10.0.1.99")));
    }

    #[test]
    fn names_are_bounded_and_deduplicated() {
        let mut t = HostTable::new(HomeNets::defaults(), 4);
        let h = t.host_mut(ip("10.0.0.1"), Timestamp(0)).unwrap();
        h.add_name("PC.", NameSource::Netbios);
        h.add_name("pc", NameSource::Netbios);
        for i in 0..20 {
            h.add_name(&format!("n{i}"), NameSource::Mdns);
        }
        assert_eq!(h.names.len(), MAX_NAMES_PER_HOST);
        assert_eq!(h.names[0].name, "PC");
        let long = "é".repeat(1000);
        let h = t.host_mut(ip("10.0.0.2"), Timestamp(0)).unwrap();
        h.add_name(&long, NameSource::Mdns);
        assert_eq!(h.names[0].name.chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn remembered_values_are_bounded() {
        let mut list = Vec::new();
        for i in 0..20 {
            remember(&mut list, &format!("{i}{}", "é".repeat(300)));
        }
        assert_eq!(list.len(), MAX_REMEMBERED_PER_HOST);
        assert!(
            list.iter()
                .all(|v| v.chars().count() == MAX_REMEMBERED_CHARS)
        );
    }
}
