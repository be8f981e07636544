//! Byte transports: serial ports, virtual serial ports (ptys) and TCP
//! sockets, all behind one interface, plus the traffic tap that records
//! every chunk that crosses a link.

mod error;
pub mod line;
mod payload;
pub mod pty;
mod ring;
mod serial;
mod tap;
mod tcp;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};

pub use error::{ConnectError, LinkError};
pub use payload::{LineEnding, text_payload};
pub(crate) use serial::open_stream as open_serial;
pub use serial::{DataBits, FlowControl, Parity, PortPath, SerialOpener, SerialSettings, StopBits};
pub use tap::{
    Chunk, Direction, RingLimits, TapCounters, TrafficTap, hex_string, parse_hex, serde_hex,
};
pub use tcp::TcpOpener;

/// Anything a link can carry bytes over.
pub trait ByteStream: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> ByteStream for T {}

impl std::fmt::Debug for dyn ByteStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ByteStream")
    }
}

/// An open link.
pub struct Transport {
    pub stream: Box<dyn ByteStream>,
    /// What was actually opened, e.g. `/dev/pts/3` or `127.0.0.1:5025`.
    pub endpoint: String,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

/// Opens a transport; one per link, called by its connection manager for
/// every attempt.
pub trait Opener: Send + Sync + 'static {
    fn kind(&self) -> TransportKind;
    /// Where the next attempt will go, for display.
    fn endpoint(&self) -> String;
    /// One open attempt. The future must not block the runtime.
    fn open(&self) -> BoxFuture<'static, Result<Transport, ConnectError>>;
}

/// What carries a link's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransportKind {
    /// A serial device (`/dev/ttyUSB0`).
    Serial,
    /// The client side of a simulator's pty.
    Virtual,
    Tcp,
    /// A remote serial port over RFC 2217 (telnet COM-PORT-OPTION).
    Rfc2217,
}

impl TransportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Serial => "serial",
            Self::Virtual => "virtual",
            Self::Tcp => "tcp",
            Self::Rfc2217 => "rfc2217",
        }
    }
}

impl std::fmt::Display for TransportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the bytes on a link come in frames, for views that decode them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Framing {
    /// 24-byte TURBOVAC USS telegrams.
    UssTelegrams,
    /// Terminated text lines (SCPI).
    TextLines,
    /// The INDI XML element stream.
    IndiXml,
    /// Nothing known: raw chunks.
    #[default]
    Raw,
}
