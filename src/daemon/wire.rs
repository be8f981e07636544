//! The control socket's frames: length-delimited (a 4-byte big-endian
//! length, then the frame) JSON objects, one per frame, tagged by
//! `frame`. JSON because every type that crosses the Hub already has its
//! documented JSON form (docs/wire.md) and a person can read a capture;
//! the length prefix because a frame may hold newlines and the reader must
//! know where one ends without scanning. A client says `hello` first with
//! the protocol version; anything else, or another version, is answered
//! with `refused` and the connection is closed.

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

use labdeck_core::bus::Event;
use labdeck_core::hub::{LabSnapshot, Request};
use labdeck_core::link::Chunk;

/// Bumped whenever a frame changes in a way an older peer cannot read.
pub const VERSION: u32 = 1;

/// The largest frame either side accepts: a snapshot of a big lab, or a
/// link's traffic history, with room to spare.
pub const MAX_FRAME: usize = 64 << 20;

/// Who a client is, as the daemon's audit trail and `status` name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// `console`, `ctl`, `json`.
    pub kind: String,
    pub user: String,
    pub pid: u32,
    /// The client's terminal, if it has one.
    pub tty: Option<String>,
    /// Over TCP: the address it came from (set by the daemon).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {} (pid {}", self.kind, self.user, self.pid)?;
        if let Some(tty) = &self.tty {
            write!(f, ", {tty}")?;
        }
        f.write_str(")")?;
        if let Some(from) = &self.from {
            write!(f, " from {from}")?;
        }
        Ok(())
    }
}

/// From a client to the daemon.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "frame", rename_all = "kebab-case")]
pub enum ToDaemon {
    /// First and once: the client's protocol version and who it is;
    /// `control` asks for the control lock.
    Hello {
        version: u32,
        peer: Peer,
        control: bool,
        /// Whether to send the event stream (`ctl` does not need it).
        events: bool,
        /// What a daemon listening on TCP with a token asks for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// A typed Hub request; answered by `reply` with the same id.
    Request { id: u64, request: Request },
    /// A line of the command language, run by the daemon.
    Line { id: u64, line: String },
    /// A link's traffic history (captures); answered by `history`.
    History { id: u64, link: String },
    /// Take the control lock from whoever holds it.
    TakeControl,
}

/// From the daemon to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "frame", rename_all = "kebab-case")]
pub enum FromDaemon {
    /// The answer to `hello`: the lab as it is, the traffic so far.
    Welcome {
        version: u32,
        /// This client's number, for as long as it stays.
        client: u64,
        /// What the daemon serves (its configuration) and its pid.
        lab: String,
        pid: u32,
        snapshot: Box<LabSnapshot>,
        history: Vec<Chunk>,
    },
    /// The connection is refused or ended, and why.
    Refused {
        reason: String,
    },
    /// The whole lab's state, to resynchronise after events were dropped.
    State {
        snapshot: Box<LabSnapshot>,
    },
    /// What changed in the lab's state since the last `state` or
    /// `changes` (at most a few a second).
    Changes {
        changes: Box<super::changes::Changes>,
    },
    Event {
        event: Box<Event>,
    },
    /// Events the daemon dropped because this client read too slowly; a
    /// `state` follows.
    Lagged {
        dropped: u64,
    },
    Reply {
        id: u64,
        ok: bool,
        text: String,
    },
    History {
        id: u64,
        chunks: Result<Vec<Chunk>, String>,
    },
    /// Who holds the control lock now, and whether it is this client.
    Control {
        holder: Option<Peer>,
        yours: bool,
    },
}

#[derive(Debug, Error)]
pub enum WireError {
    #[error("connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a labdeck frame: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the other side closed the connection")]
    Closed,
}

pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(MAX_FRAME)
        .new_codec()
}

pub fn encode<T: Serialize>(frame: &T) -> Bytes {
    // Every frame is plain data: serialising cannot fail.
    Bytes::from(serde_json::to_vec(frame).unwrap_or_default())
}

pub fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, WireError> {
    Ok(serde_json::from_slice(bytes)?)
}

/// Frames of type `T` read from `io`.
pub struct Reader<R, T> {
    inner: FramedRead<R, LengthDelimitedCodec>,
    _frame: std::marker::PhantomData<T>,
}

impl<R: AsyncRead + Unpin, T: for<'de> Deserialize<'de>> Reader<R, T> {
    pub fn new(io: R) -> Self {
        Self {
            inner: FramedRead::new(io, codec()),
            _frame: std::marker::PhantomData,
        }
    }

    /// The next frame; `Closed` at the end of the stream.
    pub async fn next(&mut self) -> Result<T, WireError> {
        match self.inner.next().await {
            Some(Ok(bytes)) => decode(&bytes),
            Some(Err(e)) => Err(e.into()),
            None => Err(WireError::Closed),
        }
    }
}

/// Frames written to `io`.
pub struct Writer<W> {
    inner: FramedWrite<W, LengthDelimitedCodec>,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    pub fn new(io: W) -> Self {
        Self {
            inner: FramedWrite::new(io, codec()),
        }
    }

    pub async fn send<T: Serialize>(&mut self, frame: &T) -> Result<(), WireError> {
        self.send_bytes(encode(frame)).await
    }

    /// A frame already encoded (one serialisation shared by every client).
    pub async fn send_bytes(&mut self, bytes: Bytes) -> Result<(), WireError> {
        Ok(self.inner.send(bytes).await?)
    }

    /// Say that nothing more will come (the other side reads the end).
    pub async fn shutdown(&mut self) -> Result<(), WireError> {
        Ok(tokio::io::AsyncWriteExt::shutdown(self.inner.get_mut()).await?)
    }

    /// Frames written together, with one flush: a burst of events (a
    /// poll's telegrams and the properties they changed) in one write.
    pub async fn send_all(&mut self, frames: Vec<Bytes>) -> Result<(), WireError> {
        for bytes in frames {
            self.inner.feed(bytes).await?;
        }
        Ok(SinkExt::<Bytes>::flush(&mut self.inner).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use labdeck_core::hub::Request;

    fn peer() -> Peer {
        Peer {
            kind: "console".into(),
            user: "ops".into(),
            pid: 42,
            tty: Some("/dev/pts/3".into()),
            from: None,
        }
    }

    #[tokio::test]
    async fn frames_round_trip_over_a_stream() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let mut writer = Writer::new(a);
        let mut reader: Reader<_, ToDaemon> = Reader::new(b);
        let frames = [
            ToDaemon::Hello {
                version: VERSION,
                peer: peer(),
                control: true,
                events: true,
                token: None,
            },
            ToDaemon::Request {
                id: 7,
                request: Request::Status,
            },
            ToDaemon::Line {
                id: 8,
                line: "set pump1.setpoint 800\nwith a newline".into(),
            },
            ToDaemon::TakeControl,
        ];
        for frame in &frames {
            writer.send(frame).await.unwrap();
        }
        drop(writer);
        for frame in frames {
            assert_eq!(reader.next().await.unwrap(), frame);
        }
        assert!(matches!(reader.next().await, Err(WireError::Closed)));
    }

    #[tokio::test]
    async fn garbage_and_oversized_frames_are_errors_not_panics() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let mut raw = FramedWrite::new(a, codec());
        raw.send(Bytes::from_static(b"\xff\x00 not json"))
            .await
            .unwrap();
        let mut reader: Reader<_, ToDaemon> = Reader::new(b);
        let error = reader.next().await.unwrap_err();
        assert!(
            error.to_string().starts_with("not a labdeck frame"),
            "{error}"
        );

        // A length past MAX_FRAME is refused before anything is buffered.
        let (mut a, b) = tokio::io::duplex(64);
        tokio::io::AsyncWriteExt::write_all(&mut a, &u32::MAX.to_be_bytes())
            .await
            .unwrap();
        let mut reader: Reader<_, ToDaemon> = Reader::new(b);
        assert!(matches!(reader.next().await, Err(WireError::Io(_))));
    }

    #[test]
    fn frames_have_a_readable_json_form() {
        let bytes = encode(&FromDaemon::Reply {
            id: 3,
            ok: true,
            text: "pump1.setpoint = 800 Hz".into(),
        });
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert_eq!(
            text,
            r#"{"frame":"reply","id":3,"ok":true,"text":"pump1.setpoint = 800 Hz"}"#
        );
        assert_eq!(peer().to_string(), "console of ops (pid 42, /dev/pts/3)");
    }
}
