//! Reassembles telegrams from a byte stream: split writes, merged writes and
//! garbage are all handled by scanning for STX, LGE, 24 bytes and a valid BCC,
//! dropping one byte and rescanning on any mismatch (§9.3 item 3).

use super::telegram::{LGE, STX, TELEGRAM_LEN, Telegram, bcc};

/// Why bytes were dropped while looking for a telegram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscardReason {
    /// Bytes before the next STX.
    NoStart,
    /// An STX not followed by LGE = 0x16.
    BadLength,
    /// 24 bytes with STX and LGE whose BCC does not match.
    BadBcc,
}

impl DiscardReason {
    pub fn describe(self) -> &'static str {
        match self {
            Self::NoStart => "bytes before STX",
            Self::BadLength => "STX without LGE",
            Self::BadBcc => "BCC mismatch",
        }
    }
}

/// What the framer found in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameEvent {
    Frame(Telegram),
    Discarded { bytes: usize, reason: DiscardReason },
}

/// Incremental telegram framer. At most 23 bytes are ever held while waiting
/// for the rest of a telegram, so memory stays bounded whatever arrives.
#[derive(Debug, Default)]
pub struct TelegramFramer {
    buf: Vec<u8>,
    pos: usize,
}

impl TelegramFramer {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append received bytes.
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos >= self.buf.len() / 2 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes held that do not form a telegram yet.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Drop everything held; returns how many bytes were dropped.
    pub fn clear(&mut self) -> usize {
        let dropped = self.pending();
        self.buf.clear();
        self.pos = 0;
        dropped
    }

    /// The next frame or discard, or `None` when more bytes are needed.
    pub fn next_event(&mut self) -> Option<FrameEvent> {
        let rest = &self.buf[self.pos..];
        if rest.is_empty() {
            return None;
        }
        if rest[0] != STX {
            let skip = rest.iter().position(|&b| b == STX).unwrap_or(rest.len());
            return Some(self.discard(skip, DiscardReason::NoStart));
        }
        if rest.len() < 2 {
            return None;
        }
        if rest[1] != LGE {
            return Some(self.discard(1, DiscardReason::BadLength));
        }
        if rest.len() < TELEGRAM_LEN {
            return None;
        }
        let frame = &rest[..TELEGRAM_LEN];
        if bcc(&frame[..TELEGRAM_LEN - 1]) != frame[TELEGRAM_LEN - 1] {
            return Some(self.discard(1, DiscardReason::BadBcc));
        }
        let telegram = Telegram::decode(frame).ok()?;
        self.pos += TELEGRAM_LEN;
        Some(FrameEvent::Frame(telegram))
    }

    fn discard(&mut self, bytes: usize, reason: DiscardReason) -> FrameEvent {
        self.pos += bytes;
        FrameEvent::Discarded { bytes, reason }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::turbovac::AccessCode;
    use proptest::prelude::*;

    fn frames(framer: &mut TelegramFramer) -> (Vec<Telegram>, usize) {
        let mut found = Vec::new();
        let mut dropped = 0;
        while let Some(ev) = framer.next_event() {
            match ev {
                FrameEvent::Frame(t) => found.push(t),
                FrameEvent::Discarded { bytes, .. } => dropped += bytes,
            }
        }
        (found, dropped)
    }

    fn sample(pnu: u16) -> Telegram {
        Telegram::query(0x0401, AccessCode::Read, pnu, 0, 0)
    }

    #[test]
    fn split_and_merged_writes() {
        let a = sample(24).encode();
        let b = sample(3).encode();
        let mut framer = TelegramFramer::new();
        framer.push(&a[..12]);
        assert_eq!(frames(&mut framer).0.len(), 0);
        framer.push(&a[12..]);
        framer.push(&b);
        let (found, dropped) = frames(&mut framer);
        assert_eq!(found, vec![sample(24), sample(3)]);
        assert_eq!(dropped, 0);
        assert_eq!(framer.pending(), 0);
    }

    #[test]
    fn garbage_and_bad_bcc_are_skipped() {
        let good = sample(24).encode();
        let mut bad = sample(25).encode();
        bad[23] ^= 0xff;
        let mut framer = TelegramFramer::new();
        framer.push(&[0xff, 0x00, 0x02, 0x99]);
        framer.push(&bad);
        framer.push(&good);
        let (found, dropped) = frames(&mut framer);
        assert_eq!(found, vec![sample(24)]);
        assert_eq!(dropped, 4 + 24);
    }

    #[test]
    fn bad_bcc_is_reported_as_such() {
        let mut bad = sample(25).encode();
        bad[23] ^= 0x01;
        let mut framer = TelegramFramer::new();
        framer.push(&bad);
        assert_eq!(
            framer.next_event(),
            Some(FrameEvent::Discarded {
                bytes: 1,
                reason: DiscardReason::BadBcc
            })
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic_and_resynchronise(
            noise in proptest::collection::vec(any::<u8>(), 0..300),
            split in 1usize..24,
        ) {
            let mut framer = TelegramFramer::new();
            framer.push(&noise);
            let _ = frames(&mut framer);
            prop_assert!(framer.pending() < TELEGRAM_LEN);
            // Whatever the noise left behind, two good telegrams in a row are
            // always found again: the first may absorb a partial header.
            let good = sample(24).encode();
            framer.push(&good[..split]);
            framer.push(&good[split..]);
            framer.push(&good);
            framer.push(&good);
            let (found, _) = frames(&mut framer);
            prop_assert!(found.len() >= 2);
            prop_assert!(found.iter().rev().take(2).all(|t| *t == sample(24)));
        }
    }
}
