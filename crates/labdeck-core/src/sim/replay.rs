//! What a replaying simulator answers with: recorded request/reply pairs
//! in recorded order. A request is answered by the next recorded pair
//! with the same key at or after the last one used; once none is left,
//! by the last recorded reply for that key; a key never recorded gets
//! nothing. Each simulator says what its key is.

use crate::link::{Chunk, Direction};
use crate::sniff::{Decode, Decoder, Frame};

/// One link's recorded traffic cut into frames as its requester saw them
/// (requests TX): the direction of the first chunk is the requests'.
pub fn requester_frames(chunks: &[Chunk], decode: Decode) -> Vec<Frame> {
    let mut decoder = Decoder::new(decode);
    let mut frames = Vec::new();
    let requests_go = chunks.first().map(|c| c.dir);
    for chunk in chunks {
        let mut seen = chunk.clone();
        seen.dir = if Some(chunk.dir) == requests_go {
            Direction::Tx
        } else {
            Direction::Rx
        };
        frames.extend(decoder.push(&seen));
    }
    frames
}

/// Recorded pairs and where the replay is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replay<K, R> {
    pairs: Vec<(K, R)>,
    cursor: usize,
}

impl<K: PartialEq, R: Clone> Replay<K, R> {
    pub fn new(pairs: Vec<(K, R)>) -> Self {
        Self { pairs, cursor: 0 }
    }

    /// Recorded request/reply pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Pairs passed so far (where the replay is).
    pub fn position(&self) -> usize {
        self.cursor
    }

    /// The recorded reply to a request with `key`, if there is one.
    pub fn answer(&mut self, key: &K) -> Option<R> {
        if let Some(at) = self.pairs[self.cursor..].iter().position(|(k, _)| k == key) {
            let at = self.cursor + at;
            self.cursor = at + 1;
            return Some(self.pairs[at].1.clone());
        }
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, reply)| reply.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_then_the_last_repeats_and_passed_keys_still_answer() {
        let mut replay = Replay::new(vec![("a", 1), ("b", 2), ("a", 3)]);
        assert_eq!(replay.answer(&"a"), Some(1));
        assert_eq!(replay.answer(&"a"), Some(3));
        assert_eq!(replay.answer(&"a"), Some(3));
        assert_eq!(replay.answer(&"b"), Some(2));
        assert_eq!(replay.answer(&"c"), None);
        assert_eq!((replay.len(), replay.position()), (3, 3));
    }
}
