//! IPv4 and IPv6 fragment reassembly within bounded memory and time.
//!
//! Fragments are keyed by (source, destination, protocol, identification) as RFC 791 and RFC 8200
//! §4.5 prescribe, and assembled with etherparse's `IpDefragBuf`, which checks alignment,
//! conflicting ends and the 65,535-byte limit. What etherparse's pool leaves open — how many
//! datagrams and bytes may be pending and for how long — is bounded here; everything dropped is
//! counted.

use crate::event::Timestamp;
use etherparse::defrag::IpDefragBuf;
use etherparse::{IpFragOffset, IpNumber};
use std::collections::HashMap;

/// Identifies the fragments of one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FragKey {
    /// Source address (IPv4 mapped into 16 bytes).
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// IPv4 identification or IPv6 fragment-header identification.
    pub id: u32,
    /// Protocol of the payload.
    pub proto: u8,
}

/// Limits for reassembly.
#[derive(Debug, Clone, Copy)]
pub struct FragLimits {
    /// Datagrams being assembled at once.
    pub max_datagrams: usize,
    /// Bytes held across all of them.
    pub max_bytes: usize,
    /// Seconds after the first fragment before a datagram is given up (RFC 8200 §4.5 uses 60 s;
    /// Linux's ipfrag_time is 30 s).
    pub timeout_secs: u64,
}

impl Default for FragLimits {
    fn default() -> Self {
        FragLimits {
            max_datagrams: 4096,
            max_bytes: 64 << 20,
            timeout_secs: 30,
        }
    }
}

/// Counters of what reassembly did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FragCounters {
    /// Datagrams completed.
    pub reassembled: u64,
    /// Datagrams given up after the timeout.
    pub timed_out: u64,
    /// Fragments refused because a limit was reached.
    pub over_limit: u64,
    /// Fragments that contradicted earlier ones (bad alignment, conflicting ends, oversize).
    pub invalid: u64,
}

struct Pending {
    buf: IpDefragBuf,
    first: Timestamp,
    bytes: usize,
}

/// Reassembles fragmented datagrams.
pub struct Defragmenter {
    limits: FragLimits,
    pending: HashMap<FragKey, Pending>,
    bytes: usize,
    /// What has happened so far.
    pub counters: FragCounters,
}

impl Defragmenter {
    /// Creates an empty reassembler.
    pub fn new(limits: FragLimits) -> Self {
        Defragmenter {
            limits,
            pending: HashMap::new(),
            bytes: 0,
            counters: FragCounters::default(),
        }
    }

    /// Bytes currently held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds a fragment (`offset` in 8-byte units, as on the wire); returns the whole payload once
    /// complete.
    pub fn add(
        &mut self,
        key: FragKey,
        offset: IpFragOffset,
        more: bool,
        payload: &[u8],
        now: Timestamp,
    ) -> Option<(IpNumber, Vec<u8>)> {
        if !self.pending.contains_key(&key) && self.pending.len() >= self.limits.max_datagrams {
            self.expire(now);
            if self.pending.len() >= self.limits.max_datagrams {
                self.counters.over_limit += 1;
                return None;
            }
        }
        // etherparse's buffer grows to the highest end offset seen, so that is what a datagram
        // costs: an 8-byte fragment at offset 65,520 holds 64 KiB.
        let end = usize::from(offset.byte_offset()) + payload.len();
        let charged = self.pending.get(&key).map_or(0, |p| p.bytes);
        let delta = end.saturating_sub(charged);
        if self.bytes + delta > self.limits.max_bytes {
            self.counters.over_limit += 1;
            return None;
        }
        let entry = self.pending.entry(key).or_insert_with(|| Pending {
            buf: IpDefragBuf::new(IpNumber(key.proto), Vec::new(), Vec::new()),
            first: now,
            bytes: 0,
        });
        if entry.buf.add(offset, more, payload).is_err() {
            self.counters.invalid += 1;
            self.remove(&key);
            return None;
        }
        entry.bytes += delta;
        self.bytes += delta;
        if !entry.buf.is_complete() {
            return None;
        }
        let done = self.remove(&key)?;
        self.counters.reassembled += 1;
        let (data, _) = done.buf.take_bufs();
        Some((IpNumber(key.proto), data))
    }

    fn remove(&mut self, key: &FragKey) -> Option<Pending> {
        let p = self.pending.remove(key)?;
        self.bytes -= p.bytes;
        Some(p)
    }

    /// Gives up datagrams older than the timeout.
    pub fn expire(&mut self, now: Timestamp) {
        let timeout = self.limits.timeout_secs;
        let before = self.pending.len();
        let mut freed = 0;
        self.pending.retain(|_, p| {
            let keep = p.first.plus_secs(timeout) > now;
            if !keep {
                freed += p.bytes;
            }
            keep
        });
        self.bytes -= freed;
        self.counters.timed_out += (before - self.pending.len()) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off(bytes: u16) -> IpFragOffset {
        IpFragOffset::try_new(bytes / 8).unwrap()
    }

    fn key(id: u32) -> FragKey {
        FragKey {
            src: [1; 16],
            dst: [2; 16],
            id,
            proto: 17,
        }
    }

    #[test]
    fn reassembles_out_of_order() {
        let mut d = Defragmenter::new(FragLimits::default());
        let data: Vec<u8> = (0..40u8).collect();
        let t = Timestamp(0);
        assert!(d.add(key(1), off(16), true, &data[16..32], t).is_none());
        assert!(d.add(key(1), off(32), false, &data[32..], t).is_none());
        let (proto, whole) = d.add(key(1), off(0), true, &data[..16], t).unwrap();
        assert_eq!((proto, whole), (IpNumber::UDP, data));
        assert_eq!(d.bytes(), 0);
        assert_eq!(d.counters.reassembled, 1);
    }

    #[test]
    fn limits_and_timeouts_are_counted() {
        let limits = FragLimits {
            max_datagrams: 2,
            max_bytes: 64,
            timeout_secs: 30,
        };
        let mut d = Defragmenter::new(limits);
        let t = Timestamp(0);
        d.add(key(1), off(0), true, &[0; 16], t);
        d.add(key(2), off(0), true, &[0; 16], t);
        assert!(d.add(key(3), off(0), true, &[0; 16], t).is_none());
        assert_eq!(d.counters.over_limit, 1);
        assert!(
            d.add(key(1), off(16), true, &[0; 40], t).is_none(),
            "byte cap"
        );
        assert_eq!(d.counters.over_limit, 2);
        d.add(key(3), off(0), true, &[0; 16], t.plus_secs(31));
        assert_eq!(d.counters.timed_out, 2);
        assert_eq!(d.bytes(), 16);
    }

    #[test]
    fn conflicting_fragments_are_invalid() {
        let mut d = Defragmenter::new(FragLimits::default());
        let t = Timestamp(0);
        d.add(key(1), off(0), false, &[0; 16], t);
        assert!(d.add(key(1), off(0), true, &[0; 3], t).is_none()); // unaligned middle fragment
        assert_eq!(d.counters.invalid, 1);
        assert_eq!(d.bytes(), 0);
    }
}
