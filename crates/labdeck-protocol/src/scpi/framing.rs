//! Lines out of a byte stream: split at a terminator, bounded in length.

use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FrameError {
    #[error("line longer than {0} bytes")]
    TooLong(usize),
}

/// Incremental line framer. A line longer than `max` is an error; the
/// bytes are dropped so the stream can continue at the next terminator.
#[derive(Debug, Clone)]
pub struct LineFramer {
    buf: Vec<u8>,
    terminator: Vec<u8>,
    max: usize,
    /// Discarding the rest of an over-long line.
    skipping: bool,
    /// Bytes already searched for a terminator (large replies arrive in
    /// many chunks; each is searched once).
    searched: usize,
}

impl LineFramer {
    pub fn new(terminator: &[u8], max: usize) -> Self {
        Self {
            buf: Vec::new(),
            terminator: terminator.to_vec(),
            max: max.max(1),
            skipping: false,
            searched: 0,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    pub fn clear(&mut self) -> usize {
        let n = self.buf.len();
        self.buf.clear();
        self.skipping = false;
        self.searched = 0;
        n
    }

    /// The next complete line without its terminator.
    pub fn next_line(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        let term = self.terminator.len();
        loop {
            let from = self.searched.saturating_sub(term - 1).min(self.buf.len());
            let at = self.buf[from..]
                .windows(term)
                .position(|w| w == self.terminator.as_slice())
                .map(|i| i + from);
            self.searched = if at.is_some() { 0 } else { self.buf.len() };
            match at {
                Some(at) if self.skipping => {
                    self.buf.drain(..at + term);
                    self.skipping = false;
                }
                Some(at) if at > self.max => {
                    self.buf.drain(..at + term);
                    return Some(Err(FrameError::TooLong(self.max)));
                }
                Some(at) => {
                    let line = self.buf[..at].to_vec();
                    self.buf.drain(..at + term);
                    return Some(Ok(line));
                }
                None if self.buf.len() > self.max + term => {
                    // Keep only what could still be part of a terminator.
                    let keep = term - 1;
                    let cut = self.buf.len() - keep;
                    self.buf.drain(..cut);
                    self.searched = 0;
                    let first = !self.skipping;
                    self.skipping = true;
                    if first {
                        return Some(Err(FrameError::TooLong(self.max)));
                    }
                    return None;
                }
                None => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lines_split_and_join_across_pushes() {
        let mut f = LineFramer::new(b"\r\n", 100);
        f.push(b"*IDN?\r");
        assert_eq!(f.next_line(), None);
        f.push(b"\nA\r\nB");
        assert_eq!(f.next_line(), Some(Ok(b"*IDN?".to_vec())));
        assert_eq!(f.next_line(), Some(Ok(b"A".to_vec())));
        assert_eq!(f.next_line(), None);
        assert_eq!(f.pending(), 1);
    }

    #[test]
    fn an_overlong_line_is_reported_once_and_skipped() {
        let mut f = LineFramer::new(b"\n", 8);
        f.push(&[b'x'; 30]);
        assert_eq!(f.next_line(), Some(Err(FrameError::TooLong(8))));
        f.push(&[b'y'; 30]);
        assert_eq!(f.next_line(), None);
        f.push(b"tail\nok\n");
        assert_eq!(f.next_line(), Some(Ok(b"ok".to_vec())));
    }

    proptest! {
        #[test]
        fn never_panics_and_stays_bounded(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..40)) {
            let mut f = LineFramer::new(b"\r\n", 32);
            for chunk in chunks {
                f.push(&chunk);
                while f.next_line().is_some() {}
                prop_assert!(f.pending() <= 32 + 2 + 64);
            }
        }
    }
}
