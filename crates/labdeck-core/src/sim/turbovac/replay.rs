//! Answers from a recording instead of the model, so an incident on a
//! real pump becomes a regression test against the driver ([`Replay`]
//! says in what order).
//!
//! A request is matched on its parameter access (access code, parameter,
//! index, and the value of a write), not on its control word, so a
//! driver that polls with other command bits still gets the recorded
//! answers. A request the recording never saw gets no reply (and a
//! notice).

use labdeck_protocol::turbovac::{AccessCode, TELEGRAM_LEN, Telegram};
use thiserror::Error;

use crate::link::{Chunk, Direction};
use crate::sim::replay::{Replay, requester_frames};
use crate::sniff::{Decode, FrameKind};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ReplayError {
    #[error("no request with a reply among {chunks} chunks of traffic")]
    NoPairs { chunks: usize },
}

/// What a request asks, for matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    ak: u8,
    pnu: u16,
    index: u8,
    /// Only for writes.
    value: Option<u32>,
}

impl Access {
    pub fn of(t: &Telegram) -> Self {
        let code = t.access_code();
        Self {
            ak: t.ak,
            pnu: if code == AccessCode::None { 0 } else { t.pnu },
            index: if code == AccessCode::None { 0 } else { t.index },
            value: code.is_write().then_some(t.pwe),
        }
    }
}

impl std::fmt::Display for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (AccessCode::from_bits(self.ak), self.value) {
            (AccessCode::None, _) => f.write_str("a status query"),
            (_, Some(value)) => write!(f, "write P{}[{}] = {value}", self.pnu, self.index),
            (_, None) => write!(f, "read P{}[{}]", self.pnu, self.index),
        }
    }
}

/// The recorded telegram pairs of one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayBook(Replay<Access, [u8; TELEGRAM_LEN]>);

impl ReplayBook {
    /// Pair the telegrams of one link's recorded traffic (see
    /// [`requester_frames`] for which side asks).
    pub fn from_chunks(chunks: &[Chunk]) -> Result<Self, ReplayError> {
        let mut pairs = Vec::new();
        let mut requests = std::collections::HashMap::new();
        for frame in requester_frames(chunks, Decode::Uss) {
            if frame.kind != FrameKind::Telegram {
                continue;
            }
            let Ok(telegram) = Telegram::decode(&frame.bytes) else {
                continue;
            };
            match (frame.dir, frame.reply_to) {
                (Direction::Tx, _) => {
                    requests.insert(frame.seq, Access::of(&telegram));
                }
                (Direction::Rx, Some(request)) => {
                    if let Some(access) = requests.remove(&request) {
                        pairs.push((access, telegram.encode()));
                    }
                }
                (Direction::Rx, None) => {}
            }
        }
        if pairs.is_empty() {
            return Err(ReplayError::NoPairs {
                chunks: chunks.len(),
            });
        }
        Ok(Self(Replay::new(pairs)))
    }

    /// Recorded request/reply pairs.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded reply to `query`, if the recording has one.
    pub fn answer(&mut self, query: &Telegram) -> Option<[u8; TELEGRAM_LEN]> {
        self.0.answer(&Access::of(query))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;

    use super::*;
    use crate::time::Timestamp;

    fn chunk(dir: Direction, t: &Telegram) -> Chunk {
        Chunk {
            link: Arc::from("port"),
            epoch: 1,
            dir,
            t: Timestamp::now(),
            bytes: Bytes::copy_from_slice(&t.encode()),
        }
    }

    fn reply(frequency: u16) -> Telegram {
        let mut t = Telegram::query(0, AccessCode::None, 0, 0, 0);
        t.pzd[1] = frequency;
        t
    }

    #[test]
    fn replies_come_in_recorded_order_whatever_the_control_word_then_the_last_repeats() {
        let off = Telegram::query(0x0400, AccessCode::None, 0, 0, 0);
        let on = Telegram::query(0x0401, AccessCode::None, 0, 0, 0);
        let read = Telegram::query(0x0400, AccessCode::Read, 3, 0, 0);
        let chunks = vec![
            chunk(Direction::Tx, &on),
            chunk(Direction::Rx, &reply(100)),
            chunk(Direction::Tx, &read),
            chunk(Direction::Rx, &reply(7)),
            chunk(Direction::Tx, &on),
            chunk(Direction::Rx, &reply(200)),
        ];
        let mut book = ReplayBook::from_chunks(&chunks).unwrap();
        assert_eq!(book.len(), 3);
        let frequency = |r: Option<[u8; 24]>| Telegram::decode(&r.unwrap()).unwrap().frequency();
        // A poll without the ON bit gets the recorded answers to polls.
        assert_eq!(frequency(book.answer(&off)), 100);
        assert_eq!(frequency(book.answer(&off)), 200);
        assert_eq!(frequency(book.answer(&off)), 200);
        // The read was passed; its last recorded answer still serves.
        assert_eq!(frequency(book.answer(&read)), 7);
        let never = Telegram::query(0x0400, AccessCode::Read, 999, 0, 0);
        assert_eq!(book.answer(&never), None);
    }

    #[test]
    fn a_simulators_side_is_read_the_other_way_round() {
        let poll = Telegram::query(0x0400, AccessCode::None, 0, 0, 0);
        let chunks = vec![
            chunk(Direction::Rx, &poll),
            chunk(Direction::Tx, &reply(42)),
        ];
        let mut book = ReplayBook::from_chunks(&chunks).unwrap();
        let answer = book.answer(&poll).unwrap();
        assert_eq!(Telegram::decode(&answer).unwrap().frequency(), 42);
        assert_eq!(
            ReplayBook::from_chunks(&chunks[..1]),
            Err(ReplayError::NoPairs { chunks: 1 })
        );
    }
}
