//! Alerts: what the security team and the compliance officers must look at.
//!
//! An alert is kept once per (host, kind, server, product), the server known by its address
//! (or, when no address is known, its name); a repeat raises its count and last seen time instead
//! of making a new alert, and fills in the server's name if the first occurrence lacked it. An alert whose product was not known yet (a bare
//! connection to a licence server) is the same alert as a later one that names the product: the
//! later one fills the product in, and one that again names none counts towards it. The table is bounded; alerts that do not fit are
//! counted, never silently lost.

use crate::event::{Mac, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::net::IpAddr;

/// Most alerts kept.
pub const MAX_ALERTS: usize = 65_536;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Activation against a KMS host or licence service that is not the campus's own.
    UnauthorizedActivationServer,
    /// A licence-manager connection to a server that is not the campus's own.
    UnauthorizedLicenseServer,
    /// A product that needs a licence, with no ledger entry.
    UnlicensedProduct,
    /// More hosts use a product than the ledger has seats for.
    LicenseOveruse,
}

impl AlertKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::UnauthorizedActivationServer => "unauthorized_activation_server",
            AlertKind::UnauthorizedLicenseServer => "unauthorized_license_server",
            AlertKind::UnlicensedProduct => "unlicensed_product",
            AlertKind::LicenseOveruse => "license_overuse",
        }
    }

    /// Every kind, for counters.
    pub const ALL: [AlertKind; 4] = [
        AlertKind::UnauthorizedActivationServer,
        AlertKind::UnauthorizedLicenseServer,
        AlertKind::UnlicensedProduct,
        AlertKind::LicenseOveruse,
    ];
}

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look in the half-yearly check.
    Low,
    /// A compliance gap.
    Medium,
    /// Software activated or licensed outside the campus's control.
    High,
}

/// The server an alert is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Server {
    /// Its name, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its address, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<IpAddr>,
    /// Its port, when the alert comes from a connection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// The host an alert is about.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertHost {
    /// Address.
    pub ip: Option<IpAddr>,
    /// MAC, when known when the alert was raised.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mac: Option<Mac>,
    /// Names, when known when the alert was raised.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub names: Vec<String>,
}

impl AlertHost {
    /// A host known by its address; MAC and names are added when the alert is raised.
    pub fn at(ip: IpAddr) -> Self {
        AlertHost {
            ip: Some(ip),
            ..AlertHost::default()
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// What it is about.
    pub kind: AlertKind,
    /// How urgent.
    pub severity: Severity,
    /// The host (absent for alerts about a product as a whole, such as overuse).
    pub host: AlertHost,
    /// The server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server: Option<Server>,
    /// The product id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    /// What was seen (the latest occurrence).
    pub evidence: String,
    /// Why it is an alert.
    pub reason: String,
    /// First occurrence.
    pub first_seen: Timestamp,
    /// Latest occurrence.
    pub last_seen: Timestamp,
    /// Occurrences.
    pub count: u64,
}

/// An alert waiting to be raised.
pub struct Raise {
    /// What it is about.
    pub kind: AlertKind,
    /// How urgent.
    pub severity: Severity,
    /// The host.
    pub host: AlertHost,
    /// The server.
    pub server: Option<Server>,
    /// The product id.
    pub product: Option<String>,
    /// What was seen.
    pub evidence: String,
    /// Why it is an alert.
    pub reason: String,
    /// When.
    pub ts: Timestamp,
}

/// How an alert's server is told apart: by address, or by name when no address is known. The
/// port is not part of it: FlexNet clients try lmgrd on ten ports and vendor daemons move.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ServerKey {
    Address(IpAddr),
    Name(String),
}

fn server_key(server: &Option<Server>) -> Option<ServerKey> {
    let s = server.as_ref()?;
    s.address
        .map(ServerKey::Address)
        .or_else(|| s.name.clone().map(ServerKey::Name))
}

type Key = (AlertKind, Option<IpAddr>, Option<ServerKey>, Option<String>);
type Base = (AlertKind, Option<IpAddr>, Option<ServerKey>);

/// The alerts raised so far.
#[derive(Debug, Default)]
pub struct Alerts {
    list: Vec<Alert>,
    index: HashMap<Key, usize>,
    /// The first alert of each (kind, host, server), whatever its product.
    by_base: HashMap<Base, usize>,
    /// Alerts by host address.
    by_host: HashMap<IpAddr, Vec<usize>>,
    /// Alerts not kept because the table was full.
    pub dropped: u64,
    /// New alerts raised by this process, per kind (restored ones not counted), for counters
    /// that must not go back when a restart restores fewer alerts than were raised.
    raised_here: [u64; 4],
}

impl Alerts {
    /// Raises an alert, or counts a repeat of one; returns the alert when it is new.
    pub fn raise(&mut self, r: Raise) -> Option<&Alert> {
        let server = server_key(&r.server);
        let key = (r.kind, r.host.ip, server.clone(), r.product.clone());
        let base = (r.kind, r.host.ip, server.clone());
        let existing = match (self.index.get(&key), &r.product) {
            (Some(&i), _) => Some(i),
            (None, None) => self.by_base.get(&base).copied(),
            (None, Some(_)) => {
                let unnamed = (r.kind, r.host.ip, server, None);
                let i = self.index.remove(&unnamed);
                if let Some(i) = i {
                    self.list[i].product.clone_from(&r.product);
                    self.index.insert(key.clone(), i);
                }
                i
            }
        };
        if let Some(i) = existing {
            let a = &mut self.list[i];
            if let (Some(known), Some(new)) = (a.server.as_mut(), r.server)
                && known.name.is_none()
            {
                known.name = new.name;
            }
            a.count += 1;
            a.last_seen = a.last_seen.max(r.ts);
            a.evidence = r.evidence;
            return None;
        }
        if self.list.len() >= MAX_ALERTS {
            self.dropped += 1;
            return None;
        }
        if let Some(i) = AlertKind::ALL.iter().position(|k| *k == r.kind) {
            self.raised_here[i] += 1;
        }
        self.index.insert(key, self.list.len());
        self.by_base.entry(base).or_insert(self.list.len());
        if let Some(ip) = r.host.ip {
            self.by_host.entry(ip).or_default().push(self.list.len());
        }
        self.list.push(Alert {
            kind: r.kind,
            severity: r.severity,
            host: r.host,
            server: r.server,
            product: r.product,
            evidence: r.evidence,
            reason: r.reason,
            first_seen: r.ts,
            last_seen: r.ts,
            count: 1,
        });
        self.list.last()
    }

    /// Takes back alerts saved earlier (they keep their counts and times), up to the table's
    /// bound; returns how many did not fit.
    pub fn restore(&mut self, saved: Vec<Alert>) -> usize {
        let mut refused = 0;
        for a in saved {
            if self.list.len() >= MAX_ALERTS {
                refused += 1;
                continue;
            }
            let server = server_key(&a.server);
            let i = self.list.len();
            self.index
                .insert((a.kind, a.host.ip, server.clone(), a.product.clone()), i);
            self.by_base.entry((a.kind, a.host.ip, server)).or_insert(i);
            if let Some(ip) = a.host.ip {
                self.by_host.entry(ip).or_default().push(i);
            }
            self.list.push(a);
        }
        refused
    }

    /// Every alert, in the order they were first raised.
    pub fn all(&self) -> &[Alert] {
        &self.list
    }

    /// Alerts about one host.
    pub fn of_host(&self, ip: IpAddr) -> impl Iterator<Item = &Alert> {
        self.by_host
            .get(&ip)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.list.get(i))
    }

    /// New alerts of each kind this process raised (restored alerts not counted).
    pub fn raised_here(&self) -> [(AlertKind, u64); 4] {
        std::array::from_fn(|i| (AlertKind::ALL[i], self.raised_here[i]))
    }

    /// Alerts of each kind.
    pub fn counts(&self) -> [(AlertKind, usize); 4] {
        AlertKind::ALL.map(|k| (k, self.list.iter().filter(|a| a.kind == k).count()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raise(host: &str, server: &str, ts: i64) -> Raise {
        Raise {
            kind: AlertKind::UnauthorizedActivationServer,
            severity: Severity::High,
            host: AlertHost {
                ip: host.parse().ok(),
                ..AlertHost::default()
            },
            server: Some(Server {
                name: Some(server.into()),
                ..Server::default()
            }),
            product: Some("microsoft.windows".into()),
            evidence: format!("at {ts}"),
            reason: "test".into(),
            ts: Timestamp(ts),
        }
    }

    #[test]
    fn repeats_count_instead_of_adding() {
        let mut a = Alerts::default();
        assert!(a.raise(raise("10.0.0.1", "kms8.msguides.com", 5)).is_some());
        assert!(a.raise(raise("10.0.0.1", "kms8.msguides.com", 9)).is_none());
        assert!(a.raise(raise("10.0.0.1", "kms9.msguides.com", 7)).is_some());
        assert!(a.raise(raise("10.0.0.2", "kms8.msguides.com", 7)).is_some());
        assert_eq!(a.all().len(), 3);
        let first = &a.all()[0];
        assert_eq!(
            (first.count, first.first_seen, first.last_seen),
            (2, Timestamp(5), Timestamp(9))
        );
        assert_eq!(first.evidence, "at 9");
        assert_eq!(a.of_host("10.0.0.1".parse().unwrap()).count(), 2);
        assert_eq!(a.counts()[0], (AlertKind::UnauthorizedActivationServer, 3));
    }

    #[test]
    fn a_product_named_later_fills_in_the_unnamed_alert() {
        let mut a = Alerts::default();
        let mut r = raise("10.0.0.1", "lic", 1);
        r.product = None;
        assert!(a.raise(r).is_some());
        assert!(a.raise(raise("10.0.0.1", "lic", 2)).is_none());
        let mut again = raise("10.0.0.1", "lic", 3);
        again.product = None;
        assert!(a.raise(again).is_none());
        assert_eq!(a.all().len(), 1);
        assert_eq!(a.all()[0].product.as_deref(), Some("microsoft.windows"));
        assert_eq!(a.all()[0].count, 3);
        // Another product on the same server is another alert.
        let mut other = raise("10.0.0.1", "lic", 4);
        other.product = Some("microsoft.office".into());
        assert!(a.raise(other).is_some());
    }

    #[test]
    fn one_server_is_one_alert_whatever_its_port_and_whether_its_name_was_known() {
        let mut a = Alerts::default();
        let at = |port: u16, name: Option<&str>| {
            let mut r = raise("10.0.0.1", "x", i64::from(port));
            r.server = Some(Server {
                name: name.map(String::from),
                address: "203.0.113.10".parse().ok(),
                port: Some(port),
            });
            r
        };
        assert!(a.raise(at(27000, None)).is_some());
        assert!(a.raise(at(27001, Some("lic.example.org"))).is_none());
        assert!(a.raise(at(27011, None)).is_none());
        assert_eq!(a.all().len(), 1);
        let server = a.all()[0].server.as_ref().unwrap();
        assert_eq!(server.name.as_deref(), Some("lic.example.org"));
        assert_eq!(server.port, Some(27000), "the first port seen");
    }

    #[test]
    fn the_table_is_bounded() {
        let mut a = Alerts::default();
        for i in 0..MAX_ALERTS as u32 + 10 {
            let host = std::net::Ipv4Addr::from(0x0a00_0000 + i).to_string();
            a.raise(raise(&host, "x", 1));
        }
        assert_eq!(a.all().len(), MAX_ALERTS);
        assert_eq!(a.dropped, 10);
    }
}
