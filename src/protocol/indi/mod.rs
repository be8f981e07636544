//! INDI 1.7: the root-less XML element stream, its typed messages and
//! number formats. Pure: bytes in, messages out, and back.

mod element;
mod framer;
mod message;
mod number;

pub use element::{Element, MAX_ATTRIBUTES, XmlError};
pub use framer::{ElementFramer, FrameError, Limits};
pub use message::{
    BlobMode, IndiState, Member, Message, MessageError, Op, Perm, Rule, Vector, VectorHead,
    VectorKind, escape,
};
pub use number::{format_number, parse_number};

/// Why a peer's stream had to stop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Xml(#[from] XmlError),
}

/// A peer's byte stream as messages: framing, parsing, typing.
#[derive(Debug, Clone)]
pub struct MessageReader {
    framer: ElementFramer,
}

/// What the next element was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    Message(Message),
    /// Well-formed but not a message we understand (or invalid values):
    /// reported and skipped, the stream goes on.
    Ignored(MessageError),
}

impl MessageReader {
    pub fn new(limits: Limits) -> Self {
        Self {
            framer: ElementFramer::new(limits),
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.framer.push(bytes);
    }

    /// The next message; an error means the stream is unusable.
    pub fn next_message(&mut self) -> Option<Result<Incoming, StreamError>> {
        let bytes = match self.framer.next_element()? {
            Ok(bytes) => bytes,
            Err(e) => return Some(Err(e.into())),
        };
        let element = match Element::parse(&bytes) {
            Ok(element) => element,
            Err(e) => return Some(Err(e.into())),
        };
        Some(Ok(match Message::from_element(&element) {
            Ok(message) => Incoming::Message(message),
            Err(e) => Incoming::Ignored(e),
        }))
    }
}

/// Now, as INDI writes it: UTC without a zone, whole microseconds.
pub fn timestamp_now() -> String {
    timestamp(std::time::SystemTime::now())
}

/// A wall-clock time as INDI writes it. Formatted from integers: the
/// server stamps every vector it sends, and strftime parsing its pattern
/// each time showed in profiles.
pub fn timestamp(wall: std::time::SystemTime) -> String {
    use chrono::{Datelike, Timelike};
    let t = chrono::DateTime::<chrono::Utc>::from(wall);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        // A leap second's nanoseconds run past 10^9.
        t.nanosecond() / 1000 % 1_000_000
    )
}

#[cfg(test)]
mod timestamp_tests {
    use std::time::{Duration, SystemTime};

    #[test]
    fn timestamps_match_strftime() {
        for secs in [0u64, 951_782_400, 1_795_000_000, 4_102_444_799] {
            for micros in [0u64, 7, 123_456, 999_999] {
                let wall =
                    SystemTime::UNIX_EPOCH + Duration::from_micros(secs * 1_000_000 + micros);
                let expected = chrono::DateTime::<chrono::Utc>::from(wall)
                    .format("%Y-%m-%dT%H:%M:%S%.6f")
                    .to_string();
                assert_eq!(super::timestamp(wall), expected);
            }
        }
    }
}
