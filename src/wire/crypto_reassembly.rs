//! Reassembly of one connection's Initial-level CRYPTO stream (RFC 9000 §19.6) from frames that
//! arrive in any order, overlapping or repeated, until the TLS ClientHello is whole.
//!
//! RFC 9000 §19.6: "The stream does not have an explicit end, so CRYPTO frames do not have a FIN
//! bit." Each frame carries its offset, clients split the ClientHello across frames and packets
//! (Chrome deliberately shuffles them), and retransmissions repeat data. Where copies of a byte
//! disagree, the first one received wins, as RFC 9000 §2.2 lets a receiver keep the data it has
//! ("The data at a given offset MUST NOT change if it is sent multiple times").
//!
//! No-panic promise: [`CryptoStream::add`] and [`client_hello_body`] never panic whatever offsets
//! and bytes they are given. Memory per stream is bounded by [`MAX_CRYPTO_BYTES`] of data plus
//! [`MAX_FRAGMENTS`] pending pieces; a frame that would exceed either is refused with
//! [`Overflow`] and leaves the stream unchanged.

use std::collections::BTreeMap;
use std::fmt;

/// Most stream bytes kept, counted from offset 0. TLS lets a ClientHello be up to 2^24 bytes, but
/// browsers' hellos are 0.3–2 KB: a post-quantum key share (X25519MLKEM768, 1216 bytes) brings
/// one to about 1.8 KB, and a large session ticket adds a few hundred bytes more. 16 KiB (the
/// TLS maximum plaintext record, RFC 8446 §5.1) is eight times that; a bigger hello is not worth
/// buffering per connection in a passive sensor, and the cap bounds memory per stream.
pub const MAX_CRYPTO_BYTES: usize = 16 * 1024;

/// Most separate runs of bytes held beyond the contiguous prefix, waiting for the gaps before
/// them to fill. Frames that touch each other merge into one run, so a shuffled ClientHello
/// leaves at most a few dozen; 128 bounds the per-frame bookkeeping against a flood of one-byte
/// frames at scattered offsets. Data that extends the prefix is always accepted, so the stream
/// can still complete when the cap is reached.
pub const MAX_FRAGMENTS: usize = 128;

/// Why a CRYPTO frame was refused; the stream is unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Overflow {
    /// The frame's data would end beyond [`MAX_CRYPTO_BYTES`] (or beyond `u64`).
    TooFar {
        /// The frame's offset.
        offset: u64,
        /// The frame's length.
        length: usize,
    },
    /// Keeping the frame would leave more than [`MAX_FRAGMENTS`] pieces pending.
    TooManyFragments,
}

impl fmt::Display for Overflow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooFar { offset, length } => write!(
                f,
                "CRYPTO data at offset {offset} length {length} ends beyond {MAX_CRYPTO_BYTES} bytes"
            ),
            Self::TooManyFragments => {
                write!(
                    f,
                    "CRYPTO stream has more than {MAX_FRAGMENTS} pending fragments"
                )
            }
        }
    }
}

impl std::error::Error for Overflow {}

/// Collects CRYPTO data by offset for one connection; bounded by [`MAX_CRYPTO_BYTES`] and
/// [`MAX_FRAGMENTS`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CryptoStream {
    /// Bytes `0..contiguous.len()` of the stream.
    contiguous: Vec<u8>,
    /// Runs of bytes beyond the contiguous prefix, keyed by offset. Invariant: every key is
    /// greater than `contiguous.len()`, and runs neither overlap nor touch each other.
    pending: BTreeMap<usize, Vec<u8>>,
}

impl CryptoStream {
    /// An empty stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one CRYPTO frame's data; bytes already held are kept (first copy wins).
    pub fn add(&mut self, offset: u64, data: &[u8]) -> Result<(), Overflow> {
        let too_far = Overflow::TooFar {
            offset,
            length: data.len(),
        };
        let start = usize::try_from(offset).map_err(|_| too_far)?;
        let end = start.checked_add(data.len()).ok_or(too_far)?;
        if end > MAX_CRYPTO_BYTES {
            return Err(too_far);
        }

        // The parts of start..end not yet held: gaps between the prefix and pending pieces.
        // Bounded: pending holds at most MAX_FRAGMENTS pieces, so at most MAX_FRAGMENTS + 1 gaps.
        let mut gaps = Vec::new();
        let mut cursor = start.max(self.contiguous.len());
        for (&piece_start, piece) in self.pending.range(..end) {
            if cursor >= end {
                break;
            }
            let piece_end = piece_start + piece.len();
            if piece_start > cursor {
                gaps.push(cursor..piece_start.min(end));
            }
            cursor = cursor.max(piece_end);
        }
        if cursor < end {
            gaps.push(cursor..end);
        }

        // Pending pieces are kept as maximal runs (a gap that touches a neighbour joins it), so
        // the fragment count is the number of runs. A gap touching nothing adds a run; one
        // touching runs (or the prefix) on both sides joins them and removes one.
        let touches_left = |at: usize| {
            at == self.contiguous.len()
                || self
                    .pending
                    .range(..at)
                    .next_back()
                    .is_some_and(|(&s, piece)| s + piece.len() == at)
        };
        let touches_right = |at: usize| self.pending.contains_key(&at);
        let (mut added, mut removed) = (0usize, 0usize);
        for gap in &gaps {
            match (touches_left(gap.start), touches_right(gap.end)) {
                (false, false) => added += 1,
                (true, true) => removed += 1,
                _ => {}
            }
        }
        if self.pending.len() + added - removed > MAX_FRAGMENTS {
            return Err(Overflow::TooManyFragments);
        }

        for gap in gaps {
            // Gaps lie within start..end, so this slice is in bounds.
            let bytes = data
                .get(gap.start - start..gap.end - start)
                .unwrap_or_default();
            let right = self.pending.remove(&gap.end);
            let run = if gap.start == self.contiguous.len() {
                &mut self.contiguous
            } else {
                match self.pending.range_mut(..gap.start).next_back() {
                    Some((&s, piece)) if s + piece.len() == gap.start => piece,
                    _ => self.pending.entry(gap.start).or_default(),
                }
            };
            run.extend_from_slice(bytes);
            if let Some(right) = right {
                run.extend_from_slice(&right);
            }
        }
        Ok(())
    }

    /// The contiguous bytes from offset 0.
    pub fn contiguous(&self) -> &[u8] {
        &self.contiguous
    }

    /// Heap bytes held (buffers plus an estimate of the map's per-entry overhead).
    pub fn heap_bytes(&self) -> usize {
        self.contiguous.capacity()
            + self
                .pending
                .values()
                .map(|v| v.capacity() + 48)
                .sum::<usize>()
    }

    /// Number of separate runs waiting beyond the contiguous prefix.
    pub fn pending_fragments(&self) -> usize {
        self.pending.len()
    }
}

/// TLS handshake message type of a ClientHello (RFC 8446 §4).
const CLIENT_HELLO: u8 = 1;

/// Returns the ClientHello's body once `contiguous` holds the whole handshake message
/// (RFC 8446 §4: `HandshakeType msg_type; uint24 length; body`), `None` while more bytes are
/// needed or when the stream does not start with a ClientHello (then more bytes will not help).
pub fn client_hello_body(contiguous: &[u8]) -> Option<&[u8]> {
    let [msg_type, l0, l1, l2, rest @ ..] = contiguous else {
        return None;
    };
    if *msg_type != CLIENT_HELLO {
        return None;
    }
    let length = usize::try_from(u32::from_be_bytes([0, *l0, *l1, *l2])).ok()?;
    rest.get(..length)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello-shaped message: type 1, 3-byte length, `body_len` bytes counting up.
    fn hello(body_len: usize) -> Vec<u8> {
        let len = u32::try_from(body_len).expect("small").to_be_bytes();
        let mut message = vec![CLIENT_HELLO, len[1], len[2], len[3]];
        message.extend((0..body_len).map(|i| (i % 251) as u8));
        message
    }

    #[test]
    fn parse_in_order_and_reversed() {
        let message = hello(300);
        for reverse in [false, true] {
            let mut pieces: Vec<_> = message.chunks(37).enumerate().collect();
            if reverse {
                pieces.reverse();
            }
            let mut stream = CryptoStream::new();
            for (i, piece) in pieces {
                assert_eq!(client_hello_body(stream.contiguous()), None);
                stream.add((i * 37) as u64, piece).expect("fits");
            }
            assert_eq!(stream.contiguous(), message);
            assert_eq!(stream.pending_fragments(), 0);
            assert_eq!(client_hello_body(stream.contiguous()), Some(&message[4..]));
        }
    }

    #[test]
    fn parse_overlaps_first_copy_wins() {
        let mut stream = CryptoStream::new();
        stream.add(10, b"AAAAA").expect("fits"); // 10..15
        stream.add(12, b"bbbbbbbb").expect("fits"); // 12..20: only 15..20 is new
        stream.add(18, b"cc").expect("fits"); // duplicate range, different bytes
        stream.add(10, b"AAAAA").expect("fits"); // exact duplicate
        assert_eq!(stream.pending_fragments(), 1); // 10..20 is one run
        assert_eq!(stream.contiguous(), b"");
        stream.add(0, b"0123456789xxxx").expect("fits"); // 0..14: 10..14 already held
        assert_eq!(stream.contiguous(), b"0123456789AAAAAbbbbb");
        assert_eq!(stream.pending_fragments(), 0);
        // Data wholly inside the prefix changes nothing; empty data is harmless anywhere.
        stream.add(3, b"zzz").expect("fits");
        stream.add(500, b"").expect("fits");
        assert_eq!(stream.contiguous(), b"0123456789AAAAAbbbbb");
        assert_eq!(stream.pending_fragments(), 0);
        // A frame spanning a pending piece fills the gaps on both sides only.
        stream.add(25, b"PP").expect("fits");
        stream.add(20, b"qqqqqqqqqq").expect("fits");
        assert_eq!(stream.contiguous(), b"0123456789AAAAAbbbbbqqqqqPPqqq");
    }

    #[test]
    fn parse_truncated_at_every_length() {
        let message = hello(200);
        for len in 0..message.len() {
            assert_eq!(client_hello_body(&message[..len]), None, "prefix {len}");
        }
        assert_eq!(client_hello_body(&message), Some(&message[4..]));
        // Bytes after the message (the next handshake message, or padding) are not part of it.
        let mut longer = message.clone();
        longer.extend_from_slice(b"extra");
        assert_eq!(client_hello_body(&longer), Some(&message[4..]));
    }

    #[test]
    fn parse_not_client_hello() {
        // ServerHello type, and a ClientHello with a length past any stream.
        assert_eq!(client_hello_body(&[2, 0, 0, 1, 0]), None);
        assert_eq!(client_hello_body(&[1, 0xff, 0xff, 0xff, 0]), None);
        assert_eq!(client_hello_body(&[1, 0, 0, 0]), Some(&[][..]));
    }

    #[test]
    fn parse_hostile_offsets() {
        let mut stream = CryptoStream::new();
        let cases: &[(u64, &[u8])] = &[
            ((1 << 62) - 1, b"x"),                // QUIC's largest offset
            (u64::MAX, b"x"),                     // offset + len overflows u64
            (u64::MAX, b""),                      // even empty, the offset is out of range
            (MAX_CRYPTO_BYTES as u64, b"x"),      // first byte past the cap
            (MAX_CRYPTO_BYTES as u64 - 1, b"xy"), // straddles the cap
        ];
        for &(offset, data) in cases {
            assert_eq!(
                stream.add(offset, data),
                Err(Overflow::TooFar {
                    offset,
                    length: data.len()
                }),
                "offset {offset}"
            );
        }
        assert_eq!(stream, CryptoStream::new());
        // Exactly up to the cap is fine.
        stream
            .add(MAX_CRYPTO_BYTES as u64 - 1, b"x")
            .expect("last byte");
        assert_eq!(stream.pending_fragments(), 1);
    }

    #[test]
    fn parse_too_many_fragments() {
        let mut stream = CryptoStream::new();
        // One-byte runs at every other offset, never reaching offset 0.
        for i in 0..MAX_FRAGMENTS {
            stream.add(2 * i as u64 + 1, b"x").expect("within cap");
        }
        assert_eq!(stream.pending_fragments(), MAX_FRAGMENTS);
        let before = stream.clone();
        // A new isolated run is refused, and the stream is unchanged.
        let far = 2 * MAX_FRAGMENTS as u64 + 10;
        assert_eq!(stream.add(far, b"x"), Err(Overflow::TooManyFragments));
        assert_eq!(stream, before);
        // Bytes that touch an existing run are accepted at the cap: they add no run.
        stream
            .add(2 * MAX_FRAGMENTS as u64, b"z")
            .expect("extends the last run");
        assert_eq!(stream.pending_fragments(), MAX_FRAGMENTS);
        // Bridging runs 1 and 3 and 5 merges them.
        stream.add(2, b"yyy").expect("bridges");
        assert_eq!(stream.pending_fragments(), MAX_FRAGMENTS - 2);
        // Filling from 0 drains everything it reaches.
        let filler = vec![b'.'; 2 * MAX_FRAGMENTS];
        stream.add(0, &filler).expect("fills the gaps");
        assert_eq!(stream.pending_fragments(), 0);
        let held = stream.contiguous();
        assert_eq!(held.len(), 2 * MAX_FRAGMENTS + 1);
        assert_eq!(&held[..10], b".xyxyx.x.x");
        assert_eq!(held.last(), Some(&b'z'));
    }

    #[test]
    fn parse_random_fragments() {
        /// xorshift64 (Marsaglia 2003): deterministic, no crates.
        fn next(state: &mut u64) -> u64 {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            *state
        }
        let message = hello(1800);
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..500 {
            let mut stream = CryptoStream::new();
            // Random overlapping pieces of the true message until it is whole; the bound is
            // generous, and every round reaches completion well before it.
            for _ in 0..10_000 {
                let roll = next(&mut state);
                // Starts below 0 clamp to 0, so the first bytes come often enough to finish.
                let start = (roll % (message.len() as u64 + 50)).saturating_sub(50) as usize;
                let len = 1 + ((roll >> 32) % 200) as usize;
                let end = (start + len).min(message.len());
                match stream.add(start as u64, &message[start..end]) {
                    Ok(()) | Err(Overflow::TooManyFragments) => {}
                    Err(other) => panic!("{other}"),
                }
                assert!(stream.pending_fragments() <= MAX_FRAGMENTS);
                assert_eq!(stream.contiguous(), &message[..stream.contiguous().len()]);
                if client_hello_body(stream.contiguous()).is_some() {
                    break;
                }
            }
            assert_eq!(client_hello_body(stream.contiguous()), Some(&message[4..]));
        }
    }
}
