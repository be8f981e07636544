//! Line exchanges over a session: write one terminated line in one write;
//! for a query, reassemble the reply line from whatever chunks arrive,
//! within the timeout. Large replies (a buffer dump) carry the terminator
//! only at the end.

use std::time::Duration;

use thiserror::Error;
use tokio::time::{Instant, sleep_until};

use crate::connection::Session;
use crate::link::LinkError;
use crate::protocol::scpi::{FrameError, LineFramer};

/// The longest reply accepted: a full 50 000-reading buffer with
/// timestamps and reading numbers is about 2 MB.
const MAX_REPLY: usize = 16 * 1024 * 1024;

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum QueryError {
    #[error("not connected")]
    NotConnected,
    #[error("link: {0}")]
    Link(LinkError),
    #[error("no reply within {:.1} s", .0.as_secs_f64())]
    NoReply(Duration),
    #[error("reply is not text ({0} bytes of garbage)")]
    NotText(usize),
    #[error("reply longer than {0} bytes")]
    TooLong(usize),
}

impl QueryError {
    /// Whether the link itself is in trouble.
    pub fn is_link_fault(&self) -> bool {
        !matches!(self, Self::NotConnected)
    }
}

/// A reply line and how long it took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub text: String,
    pub round_trip: Duration,
    /// Bytes thrown away first (late replies of earlier queries).
    pub discarded: usize,
}

#[derive(Debug)]
pub struct LineExchanger {
    framer: LineFramer,
    terminator: Vec<u8>,
}

impl LineExchanger {
    pub fn new(terminator: &[u8]) -> Self {
        Self {
            framer: LineFramer::new(terminator, MAX_REPLY),
            terminator: terminator.to_vec(),
        }
    }

    /// Forget partial bytes (new session).
    pub fn reset(&mut self) {
        self.framer.clear();
    }

    /// Anything buffered belongs to an earlier, settled exchange.
    fn drain_stale(&mut self, session: &mut Session) -> usize {
        let mut discarded = self.framer.clear();
        while let Ok(stale) = session.rx.try_recv() {
            discarded += stale.bytes.len();
        }
        discarded
    }

    async fn send(&self, session: &Session, line: &str) -> Result<(), QueryError> {
        let mut bytes = Vec::with_capacity(line.len() + self.terminator.len());
        bytes.extend_from_slice(line.as_bytes());
        bytes.extend_from_slice(&self.terminator);
        session.writer.write(&bytes).await.map_err(QueryError::Link)
    }

    /// Send a line and wait for its reply line.
    pub async fn query(
        &mut self,
        session: &mut Session,
        line: &str,
        timeout: Duration,
    ) -> Result<Answer, QueryError> {
        let discarded = self.drain_stale(session);
        let started = Instant::now();
        self.send(session, line).await?;
        let deadline = started + timeout;
        loop {
            match self.framer.next_line() {
                Some(Ok(bytes)) => {
                    let text = String::from_utf8(bytes)
                        .map_err(|e| QueryError::NotText(e.into_bytes().len()))?;
                    return Ok(Answer {
                        text,
                        round_trip: started.elapsed(),
                        discarded,
                    });
                }
                Some(Err(FrameError::TooLong(max))) => return Err(QueryError::TooLong(max)),
                None => {}
            }
            tokio::select! {
                chunk = session.rx.recv() => match chunk {
                    Some(chunk) => self.framer.push(&chunk.bytes),
                    None => return Err(QueryError::Link(LinkError::Eof)),
                },
                () = sleep_until(deadline) => return Err(QueryError::NoReply(timeout)),
            }
        }
    }
}
