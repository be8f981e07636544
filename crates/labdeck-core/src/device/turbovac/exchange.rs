//! One USS exchange over a session: write one telegram in one write, then
//! reassemble the reply from whatever chunks arrive, within the timeout.

use std::time::Duration;

use thiserror::Error;
use tokio::time::{Instant, sleep_until};

use crate::connection::Session;
use crate::link::LinkError;
use crate::protocol::turbovac::{
    AccessCode, DiscardReason, FrameEvent, TELEGRAM_LEN, Telegram, TelegramFramer,
};

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ExchangeError {
    #[error("not connected")]
    NotConnected,
    #[error("link: {0}")]
    Link(LinkError),
    #[error("no reply within {:.1} s", .0.as_secs_f64())]
    NoReply(Duration),
    #[error("bad reply: BCC mismatch")]
    BadBcc,
    #[error("truncated reply ({0} of 24 bytes)")]
    Truncated(usize),
    #[error("reply for P{got} to a query for P{expected}")]
    WrongParameter { expected: u16, got: u16 },
}

impl ExchangeError {
    /// Whether the link itself is in trouble (as opposed to an answer we
    /// did not like).
    pub fn is_link_fault(&self) -> bool {
        !matches!(self, Self::NotConnected)
    }
}

/// A completed exchange.
#[derive(Debug, Clone, Copy)]
pub struct Exchange {
    pub reply: Telegram,
    pub round_trip: Duration,
    /// Bytes thrown away on the way (garbage, stale bytes).
    pub discarded: usize,
}

/// Reassembles replies for one session at a time.
#[derive(Debug)]
pub struct Exchanger {
    framer: TelegramFramer,
    timeout: Duration,
}

impl Exchanger {
    pub fn new(timeout: Duration) -> Self {
        Self {
            framer: TelegramFramer::new(),
            timeout,
        }
    }

    /// Forget partial bytes (new session).
    pub fn reset(&mut self) {
        self.framer.clear();
    }

    pub async fn exchange(
        &mut self,
        session: &mut Session,
        query: &Telegram,
    ) -> Result<Exchange, ExchangeError> {
        // Master/slave: anything still buffered belongs to an earlier,
        // already settled exchange.
        let mut discarded = self.framer.clear();
        while let Ok(stale) = session.rx.try_recv() {
            discarded += stale.bytes.len();
        }
        let started = Instant::now();
        session
            .writer
            .write(&query.encode())
            .await
            .map_err(ExchangeError::Link)?;
        let deadline = started + self.timeout;
        let mut bad_bcc = false;
        loop {
            while let Some(event) = self.framer.next_event() {
                match event {
                    FrameEvent::Frame(reply) => {
                        let parameter_access = !matches!(
                            query.access_code(),
                            AccessCode::None | AccessCode::Unknown(_)
                        );
                        if parameter_access && reply.pnu != query.pnu {
                            return Err(ExchangeError::WrongParameter {
                                expected: query.pnu,
                                got: reply.pnu,
                            });
                        }
                        return Ok(Exchange {
                            reply,
                            round_trip: started.elapsed(),
                            discarded,
                        });
                    }
                    FrameEvent::Discarded { bytes, reason } => {
                        discarded += bytes;
                        bad_bcc |= reason == DiscardReason::BadBcc;
                    }
                }
            }
            tokio::select! {
                chunk = session.rx.recv() => match chunk {
                    Some(chunk) => self.framer.push(&chunk.bytes),
                    None => return Err(ExchangeError::Link(LinkError::Eof)),
                },
                () = sleep_until(deadline) => {
                    let pending = self.framer.pending();
                    return Err(if bad_bcc {
                        ExchangeError::BadBcc
                    } else if pending > 0 && pending < TELEGRAM_LEN {
                        ExchangeError::Truncated(pending)
                    } else {
                        ExchangeError::NoReply(self.timeout)
                    });
                }
            }
        }
    }
}
