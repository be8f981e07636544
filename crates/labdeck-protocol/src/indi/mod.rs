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

/// A wall-clock time as INDI writes it: UTC without a zone, whole
/// microseconds. Formatted from integers (the server stamps every vector
/// it sends; strftime showed in profiles); the caller reads the clock.
pub fn timestamp(wall: std::time::SystemTime) -> String {
    let since = wall
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days(secs / 86_400);
    let of_day = secs % 86_400;
    let mut text = *b"0000-00-00T00:00:00.000000";
    let fields = [
        (0..4, year),
        (5..7, month),
        (8..10, day),
        (11..13, of_day / 3600),
        (14..16, of_day / 60 % 60),
        (17..19, of_day % 60),
        (20..26, u64::from(since.subsec_micros())),
    ];
    for (at, mut value) in fields {
        for digit in text[at].iter_mut().rev() {
            *digit = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    text.iter().map(|&b| char::from(b)).collect()
}

/// Days since 1970-01-01 as a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod timestamp_tests {
    use std::time::{Duration, SystemTime};

    #[test]
    fn timestamps_match_strftime() {
        // Leap days, century years and every 61st day over two centuries.
        let days = (0..73_000u64).step_by(61).map(|d| d * 86_400 + 45_296);
        for secs in [0u64, 951_782_400, 1_795_000_000, 4_102_444_799]
            .into_iter()
            .chain(days)
        {
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
