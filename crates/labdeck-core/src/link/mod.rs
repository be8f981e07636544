//! Byte transports: serial ports, virtual serial ports (ptys) and TCP
//! sockets, all behind one interface, plus the traffic tap that records
//! every chunk that crosses a link.

mod error;
pub mod pty;
mod serial;
mod tap;
mod tcp;

use futures::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite};

pub use error::{ConnectError, LinkError};
pub use serial::{DataBits, FlowControl, Parity, PortPath, SerialOpener, SerialSettings, StopBits};
pub use tap::{Chunk, Direction, TapCounters, TrafficTap, hex_string};
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
    /// Transport kind for display: `serial`, `virtual` or `tcp`.
    fn kind(&self) -> &'static str;
    /// Where the next attempt will go, for display.
    fn endpoint(&self) -> String;
    /// One open attempt. The future must not block the runtime.
    fn open(&self) -> BoxFuture<'static, Result<Transport, ConnectError>>;
}
