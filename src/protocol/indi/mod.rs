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
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6f")
        .to_string()
}
