//! A link's recorded traffic, stored compactly: the bytes of every chunk
//! back to back in one buffer, and per chunk only its stamp and length, so
//! a 24-byte telegram costs about 24 + 56 bytes, not an allocation of its
//! own. Bounded in chunks and in bytes (payload plus the per-chunk record).

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;

use super::tap::{Chunk, Direction};
use crate::time::Timestamp;

/// What is kept of a chunk besides its bytes.
#[derive(Debug, Clone, Copy)]
struct Entry {
    epoch: u64,
    dir: Direction,
    t: Timestamp,
    len: usize,
}

/// Bytes a chunk costs on top of its payload.
pub const ENTRY_COST: usize = std::mem::size_of::<Entry>();

#[derive(Debug)]
pub struct ChunkRing {
    bytes: VecDeque<u8>,
    entries: VecDeque<Entry>,
    max_chunks: usize,
    max_bytes: usize,
    used: usize,
}

impl ChunkRing {
    pub fn new(max_chunks: usize, max_bytes: usize) -> Self {
        Self {
            bytes: VecDeque::new(),
            entries: VecDeque::new(),
            max_chunks: max_chunks.max(1),
            max_bytes,
            used: 0,
        }
    }

    /// Keep a chunk, pushing out the oldest ones to make room; how many
    /// were pushed out. A chunk larger than the whole ring keeps its tail.
    pub fn push(&mut self, chunk: &Chunk) -> u64 {
        let room = self.max_bytes.saturating_sub(ENTRY_COST);
        let payload = &chunk.bytes[chunk.bytes.len().saturating_sub(room)..];
        let cost = payload.len() + ENTRY_COST;
        let mut evicted = 0;
        while !self.entries.is_empty()
            && (self.entries.len() >= self.max_chunks || self.used + cost > self.max_bytes)
        {
            self.pop();
            evicted += 1;
        }
        self.bytes.extend(payload);
        self.entries.push_back(Entry {
            epoch: chunk.epoch,
            dir: chunk.dir,
            t: chunk.t,
            len: payload.len(),
        });
        self.used += cost;
        evicted
    }

    fn pop(&mut self) {
        if let Some(entry) = self.entries.pop_front() {
            self.bytes.drain(..entry.len);
            self.used -= entry.len + ENTRY_COST;
        }
    }

    /// The kept chunks, oldest first.
    pub fn chunks(&self, link: &Arc<str>) -> Vec<Chunk> {
        let mut at = 0;
        self.entries
            .iter()
            .map(|entry| {
                let bytes: Vec<u8> = self.bytes.range(at..at + entry.len).copied().collect();
                at += entry.len;
                Chunk {
                    link: link.clone(),
                    epoch: entry.epoch,
                    dir: entry.dir,
                    t: entry.t,
                    bytes: Bytes::from(bytes),
                }
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Bytes accounted against the limit: payload plus per-chunk records.
    pub fn used(&self) -> usize {
        self.used
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chunk(n: u8, len: usize) -> Chunk {
        Chunk {
            link: "l".into(),
            epoch: u64::from(n),
            dir: if n.is_multiple_of(2) {
                Direction::Tx
            } else {
                Direction::Rx
            },
            t: Timestamp::now(),
            bytes: Bytes::from(vec![n; len]),
        }
    }

    #[test]
    fn bounded_in_bytes_and_chunks() {
        let mut ring = ChunkRing::new(100, 3 * (10 + ENTRY_COST));
        let evicted: u64 = (0..5).map(|n| ring.push(&chunk(n, 10))).sum();
        assert_eq!((ring.len(), evicted), (3, 2));
        let kept = ring.chunks(&"l".into());
        assert_eq!(kept.iter().map(|c| c.epoch).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(kept[0].bytes, vec![2u8; 10]);
        assert_eq!(kept[1].dir, Direction::Rx);
        let mut ring = ChunkRing::new(2, 1 << 20);
        (0..5).for_each(|n| {
            ring.push(&chunk(n, 1));
        });
        assert_eq!(ring.len(), 2);
    }

    #[test]
    fn a_chunk_larger_than_the_ring_keeps_its_tail() {
        let mut ring = ChunkRing::new(10, ENTRY_COST + 4);
        ring.push(&chunk(1, 3));
        let mut big = chunk(2, 10);
        big.bytes = Bytes::from_static(b"0123456789");
        assert_eq!(ring.push(&big), 1);
        assert_eq!(ring.chunks(&"l".into())[0].bytes, &b"6789"[..]);
        assert_eq!(ring.used(), ENTRY_COST + 4);
    }

    proptest! {
        /// Whatever is pushed, the newest chunks come back as they went
        /// in, and the limits hold.
        #[test]
        fn keeps_the_newest_within_limits(
            lens in proptest::collection::vec(0usize..200, 1..80),
            max_chunks in 1usize..20,
            max_bytes in 300usize..2000,
        ) {
            let mut ring = ChunkRing::new(max_chunks, max_bytes);
            let pushed: Vec<Chunk> = lens.iter().enumerate()
                .map(|(i, len)| chunk(u8::try_from(i).unwrap(), *len))
                .collect();
            for c in &pushed {
                ring.push(c);
                prop_assert!(ring.len() <= max_chunks && ring.used() <= max_bytes);
            }
            let kept = ring.chunks(&"l".into());
            let newest = &pushed[pushed.len() - kept.len()..];
            for (k, p) in kept.iter().zip(newest) {
                prop_assert_eq!(k.epoch, p.epoch);
                prop_assert!(p.bytes.ends_with(&k.bytes));
            }
            prop_assert_eq!(kept.last().map(|c| c.epoch), pushed.last().map(|c| c.epoch));
        }
    }
}
