//! (client, address) → name map learnt from DNS answers, bounded and TTL-aware.
//!
//! Flows that carry no name of their own (a TLS connection without SNI, a KMS connection by
//! address) are named by the name the same client looked up just before: keyed by client, so one
//! host's lookups never name another host's connections. Entries live as long as
//! the answer's TTL allows, clamped to [`MIN_TTL_SECS`, `MAX_TTL_SECS`]; when the map is full the
//! entries that expire soonest go first, and each eviction is counted.

use crate::event::Timestamp;
use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::Arc;

/// Clients keep using an address a little past a tiny TTL; a floor keeps the name with it.
pub const MIN_TTL_SECS: u64 = 60;
/// A day: long TTLs on CDN names would otherwise pin stale names for weeks.
pub const MAX_TTL_SECS: u64 = 86_400;

#[derive(Debug, Clone)]
struct Entry {
    /// Shared with every other client's entry for the same name.
    name: Arc<str>,
    expires: Timestamp,
}

/// The map.
#[derive(Debug)]
pub struct DnsNames {
    entries: HashMap<(IpAddr, IpAddr), Entry>,
    /// One copy of each name: keyed by client, the same names recur for every host.
    names: HashSet<Arc<str>>,
    capacity: usize,
    /// Live entries removed to make room (expired ones are simply dropped).
    pub evicted: u64,
}

impl DnsNames {
    /// An empty map holding at most `capacity` addresses.
    pub fn new(capacity: usize) -> Self {
        DnsNames {
            entries: HashMap::new(),
            names: HashSet::new(),
            capacity: capacity.max(1),
            evicted: 0,
        }
    }

    /// Addresses held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Records that `client` learnt at `now` that `name` resolves to `addr`, for this TTL.
    pub fn insert(&mut self, client: IpAddr, addr: IpAddr, name: &str, ttl: u32, now: Timestamp) {
        let addr = (client, addr);
        let ttl = u64::from(ttl).clamp(MIN_TTL_SECS, MAX_TTL_SECS);
        let expires = now.plus_secs(ttl);
        if !self.entries.contains_key(&addr) && self.entries.len() >= self.capacity {
            self.make_room(now);
        }
        let name = match self.names.get(name) {
            Some(shared) => Arc::clone(shared),
            None => {
                // Entries keep their own references, so starting the set over frees nothing
                // they use; it only stops sharing with names seen before.
                if self.names.len() >= self.capacity {
                    self.names.clear();
                }
                let shared: Arc<str> = name.into();
                self.names.insert(Arc::clone(&shared));
                shared
            }
        };
        self.entries.insert(addr, Entry { name, expires });
    }

    /// Every address with a name answers gave it, expired or not.
    pub fn pairs(&self) -> impl Iterator<Item = (IpAddr, &str)> {
        self.entries
            .iter()
            .map(|((_, addr), e)| (*addr, e.name.as_ref()))
    }

    /// The name `addr` had for `client` at `now`, if an unexpired answer said so.
    pub fn lookup(&self, client: IpAddr, addr: IpAddr, now: Timestamp) -> Option<&str> {
        self.entries
            .get(&(client, addr))
            .filter(|e| e.expires >= now)
            .map(|e| e.name.as_ref())
    }

    /// Brings the map down to 7/8 of its capacity, so the scan below is paid once per
    /// capacity/8 inserts: expired entries go first, then the soonest-expiring live ones
    /// (counted as evicted).
    fn make_room(&mut self, now: Timestamp) {
        self.entries.retain(|_, e| e.expires >= now);
        let target = self.capacity - (self.capacity / 8).max(1);
        if self.entries.len() <= target {
            return;
        }
        let mut by_expiry: Vec<(Timestamp, (IpAddr, IpAddr))> =
            self.entries.iter().map(|(a, e)| (e.expires, *a)).collect();
        by_expiry.sort_unstable();
        let excess = self.entries.len() - target;
        for (_, a) in by_expiry.into_iter().take(excess) {
            self.entries.remove(&a);
        }
        self.evicted += excess as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn names_expire_with_their_ttl() {
        let mut m = DnsNames::new(16);
        let c = ip("10.0.0.1");
        m.insert(c, ip("192.0.2.1"), "kms.example", 300, Timestamp(0));
        assert_eq!(
            m.lookup(c, ip("192.0.2.1"), Timestamp(0).plus_secs(299)),
            Some("kms.example")
        );
        assert_eq!(
            m.lookup(c, ip("192.0.2.1"), Timestamp(0).plus_secs(301)),
            None
        );
        assert_eq!(
            m.lookup(ip("10.0.0.2"), ip("192.0.2.1"), Timestamp(0)),
            None,
            "another client's lookup"
        );
        m.insert(c, ip("192.0.2.2"), "short.example", 1, Timestamp(0));
        assert_eq!(
            m.lookup(c, ip("192.0.2.2"), Timestamp(0).plus_secs(59)),
            Some("short.example")
        );
    }

    #[test]
    fn capacity_is_enforced_and_counted() {
        let mut m = DnsNames::new(8);
        let c = ip("10.0.0.1");
        for i in 0..20u8 {
            m.insert(
                c,
                IpAddr::from([192, 0, 2, i]),
                "x.example",
                600 + u32::from(i),
                Timestamp(0),
            );
        }
        assert!(m.len() <= 8);
        assert_eq!(m.evicted, 12);
        assert_eq!(
            m.lookup(c, ip("192.0.2.19"), Timestamp(0)),
            Some("x.example"),
            "latest kept"
        );
        assert_eq!(
            m.lookup(c, ip("192.0.2.0"), Timestamp(0)),
            None,
            "soonest-expiring evicted"
        );
    }
}
