//! Answers from a recording instead of the instrument model: each query
//! line gets the reply line recorded for the same query text ([`Replay`]
//! says in what order); commands get no reply, as from the instrument.

use crate::link::{Chunk, Direction};
use crate::sim::replay::{Replay, requester_frames};
use crate::sniff::{Decode, FrameKind};

/// The recorded query/reply lines of one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineBook(Replay<String, String>);

/// A line without its terminator.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .trim_end_matches(['\r', '\n'])
        .to_string()
}

impl LineBook {
    /// Pair the query lines of one link's recorded traffic with their
    /// replies; `None` when there is no pair.
    pub fn from_chunks(chunks: &[Chunk]) -> Option<Self> {
        let mut queries = std::collections::HashMap::new();
        let mut pairs = Vec::new();
        for frame in requester_frames(chunks, Decode::Scpi) {
            if frame.kind != FrameKind::Line {
                continue;
            }
            match (frame.dir, frame.reply_to) {
                (Direction::Tx, _) => {
                    queries.insert(frame.seq, text(&frame.bytes));
                }
                (Direction::Rx, Some(query)) => {
                    if let Some(query) = queries.remove(&query) {
                        pairs.push((query, text(&frame.bytes)));
                    }
                }
                (Direction::Rx, None) => {}
            }
        }
        (!pairs.is_empty()).then(|| Self(Replay::new(pairs)))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded reply to a line (terminator ignored), if any.
    pub fn answer(&mut self, line: &[u8]) -> Option<String> {
        self.0.answer(&text(line))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::time::Timestamp;

    fn chunk(dir: Direction, text: &str) -> Chunk {
        Chunk {
            link: Arc::from("meter"),
            epoch: 1,
            dir,
            t: Timestamp::now(),
            bytes: Bytes::copy_from_slice(text.as_bytes()),
        }
    }

    #[test]
    fn queries_get_their_recorded_lines_in_order() {
        let chunks = vec![
            chunk(Direction::Tx, "*RST\n*IDN?\n"),
            chunk(Direction::Rx, "KEITHLEY INSTRUMENTS,MODEL 6517B\n"),
            chunk(Direction::Tx, "READ?\n"),
            chunk(Direction::Rx, "+1.0E-12\n"),
            chunk(Direction::Tx, "READ?\r\n"),
            chunk(Direction::Rx, "+2.0E-12\r\n"),
        ];
        let mut book = LineBook::from_chunks(&chunks).unwrap();
        assert_eq!(book.len(), 3);
        assert_eq!(book.answer(b"READ?\n").as_deref(), Some("+1.0E-12"));
        assert_eq!(book.answer(b"READ?").as_deref(), Some("+2.0E-12"));
        assert!(book.answer(b"*IDN?\n").unwrap().starts_with("KEITHLEY"));
        assert_eq!(book.answer(b"*RST\n"), None);
        assert!(LineBook::from_chunks(&chunks[..1]).is_none());
    }
}
