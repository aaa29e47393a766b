//! The start of one direction of a TCP stream, delivered in order.
//!
//! Keeps the first `depth` bytes of a direction contiguous despite segmentation, retransmission
//! and reordering: in-order data is appended, early data waits in a short, bounded list until the
//! gap before it fills, and bytes past `depth` are ignored. When data overlaps what is already
//! held, the first copy wins (what most end hosts do, and what cannot be rewritten afterwards by
//! an attacker's later overlapping segment). Sequence numbers are compared relative to the first
//! byte, so wrap-around at 2^32 is harmless.

/// Early segments waiting for a gap to fill. A ClientHello split over a handful of segments
/// needs a few; more than this in one stream start is loss or an attack, not reordering.
pub const MAX_PENDING_SEGMENTS: usize = 16;

/// What adding a segment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// The contiguous prefix grew: parsers should look again.
    Grew,
    /// Nothing new in order (retransmission, early segment kept, or data past the depth).
    Unchanged,
    /// An early segment was dropped because the pending list was full.
    Overflow,
}

/// One direction's stream-start buffer.
#[derive(Debug, Clone)]
pub struct StreamStart {
    /// Sequence number of the first data byte (ISN + 1).
    base: u32,
    /// In-order bytes from the first data byte.
    data: Vec<u8>,
    /// Early segments as (offset from base, bytes), unordered.
    pending: Vec<(u32, Vec<u8>)>,
    /// Bytes held in `pending`; never more than the depth.
    pending_bytes: usize,
}

impl StreamStart {
    /// Starts a stream whose first data byte has sequence number `base`.
    pub fn new(base: u32) -> Self {
        StreamStart {
            base,
            data: Vec::new(),
            pending: Vec::new(),
            pending_bytes: 0,
        }
    }

    /// The contiguous bytes held so far.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Bytes of heap this buffer holds.
    pub fn heap_bytes(&self) -> usize {
        self.data.capacity()
            + self
                .pending
                .iter()
                .map(|(_, d)| d.capacity())
                .sum::<usize>()
    }

    /// Adds a segment with sequence number `seq`, keeping at most `depth` bytes.
    pub fn add(&mut self, seq: u32, payload: &[u8], depth: usize) -> Added {
        if payload.is_empty() {
            return Added::Unchanged;
        }
        // Offsets as signed distances from base: a segment that starts before base (a
        // retransmitted SYN with data, say) has a negative offset and is trimmed.
        let rel = seq.wrapping_sub(self.base) as i32 as i64;
        let (start, payload) = if rel < 0 {
            let skip = usize::try_from(-rel).unwrap_or(usize::MAX);
            match payload.get(skip..) {
                Some(rest) if !rest.is_empty() => (0usize, rest),
                _ => return Added::Unchanged,
            }
        } else {
            (rel as usize, payload)
        };
        if start >= depth {
            return Added::Unchanged;
        }
        let end = (start + payload.len()).min(depth);
        let payload = &payload[..end - start];
        let have = self.data.len();
        if start > have {
            // Early segments all lie below the depth, but overlapping ones could still add up to
            // many times it: their total is held to the depth too.
            if self.pending.len() >= MAX_PENDING_SEGMENTS
                || self.pending_bytes + payload.len() > depth
            {
                return Added::Overflow;
            }
            self.pending_bytes += payload.len();
            self.pending.push((start as u32, payload.to_vec()));
            return Added::Unchanged;
        }
        if end <= have {
            return Added::Unchanged;
        }
        self.data.extend_from_slice(&payload[have - start..]);
        self.drain_pending();
        Added::Grew
    }

    /// Moves pending segments that now touch the contiguous prefix into it.
    fn drain_pending(&mut self) {
        loop {
            let have = self.data.len();
            let Some(i) = self
                .pending
                .iter()
                .position(|(off, _)| *off as usize <= have)
            else {
                return;
            };
            let (off, seg) = self.pending.swap_remove(i);
            self.pending_bytes -= seg.len();
            let end = off as usize + seg.len();
            if end > have {
                self.data.extend_from_slice(&seg[have - off as usize..]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MSG: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

    #[test]
    fn in_order_segments_concatenate() {
        let mut s = StreamStart::new(1000);
        assert_eq!(s.add(1000, &MSG[..10], 64), Added::Grew);
        assert_eq!(s.add(1010, &MSG[10..], 64), Added::Grew);
        assert_eq!(s.data(), MSG);
    }

    #[test]
    fn reordered_and_retransmitted_segments() {
        let mut s = StreamStart::new(u32::MAX - 4); // wraps inside the message
        let base = u32::MAX - 4;
        assert_eq!(
            s.add(base.wrapping_add(20), &MSG[20..], 64),
            Added::Unchanged
        );
        assert_eq!(
            s.add(base.wrapping_add(10), &MSG[10..20], 64),
            Added::Unchanged
        );
        assert_eq!(s.add(base, &MSG[..12], 64), Added::Grew);
        assert_eq!(s.data(), MSG);
        assert_eq!(
            s.add(base.wrapping_add(5), &MSG[5..15], 64),
            Added::Unchanged
        );
        assert_eq!(s.data(), MSG);
    }

    #[test]
    fn overlap_keeps_first_copy() {
        let mut s = StreamStart::new(0);
        s.add(0, b"abcd", 64);
        s.add(2, b"XXYY", 64);
        assert_eq!(s.data(), b"abcdYY");
    }

    #[test]
    fn depth_bounds_the_buffer() {
        let mut s = StreamStart::new(0);
        s.add(0, MSG, 8);
        assert_eq!(s.data(), &MSG[..8]);
        assert_eq!(s.add(8, b"more", 8), Added::Unchanged);
        assert_eq!(s.add(100, b"far", 8), Added::Unchanged);
        assert!(s.pending.is_empty());
    }

    #[test]
    fn data_before_base_is_trimmed() {
        let mut s = StreamStart::new(100);
        assert_eq!(s.add(98, b"xxab", 64), Added::Grew);
        assert_eq!(s.data(), b"ab");
        assert_eq!(s.add(90, b"short", 64), Added::Unchanged);
    }

    #[test]
    fn pending_list_is_bounded() {
        let mut s = StreamStart::new(0);
        for i in 0..MAX_PENDING_SEGMENTS as u32 {
            assert_eq!(s.add(10 + i * 2, b"x", 1 << 16), Added::Unchanged);
        }
        assert_eq!(s.add(1000, b"x", 1 << 16), Added::Overflow);
        assert_eq!(s.pending.len(), MAX_PENDING_SEGMENTS);
    }

    #[test]
    fn pending_bytes_are_bounded_by_the_depth() {
        let mut s = StreamStart::new(0);
        let seg = [0u8; 900];
        assert_eq!(s.add(10, &seg, 1000), Added::Unchanged);
        assert_eq!(
            s.add(20, &seg, 1000),
            Added::Overflow,
            "overlapping early data past the depth"
        );
        assert!(s.heap_bytes() <= 2 * 1000);
        assert_eq!(s.add(0, &[1; 10], 1000), Added::Grew);
        assert_eq!(s.data().len(), 910);
        assert_eq!(s.pending_bytes, 0);
    }

    #[test]
    fn every_split_and_order_reassembles() {
        // All two-cut splits of the message, delivered in each of the 6 orders.
        let orders = [
            [0, 1, 2],
            [0, 2, 1],
            [1, 0, 2],
            [1, 2, 0],
            [2, 0, 1],
            [2, 1, 0],
        ];
        for a in 1..MSG.len() - 1 {
            for b in a + 1..MSG.len() {
                let parts = [(0, &MSG[..a]), (a, &MSG[a..b]), (b, &MSG[b..])];
                for order in orders {
                    let mut s = StreamStart::new(7);
                    for &i in &order {
                        let (off, p) = parts[i];
                        s.add(7 + off as u32, p, 64);
                    }
                    assert_eq!(s.data(), MSG, "split {a},{b} order {order:?}");
                }
            }
        }
    }
}
