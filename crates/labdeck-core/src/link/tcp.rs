//! Raw TCP links (ser2net-style serial over TCP, SCPI sockets).

use futures::future::BoxFuture;
use tokio::net::TcpStream;

use super::{ConnectError, Opener, Transport, TransportKind};

/// Opens a TCP connection to a fixed address.
#[derive(Debug, Clone)]
pub struct TcpOpener {
    address: String,
}

impl TcpOpener {
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
        }
    }
}

impl Opener for TcpOpener {
    fn kind(&self) -> TransportKind {
        TransportKind::Tcp
    }

    fn endpoint(&self) -> String {
        self.address.clone()
    }

    fn open(&self) -> BoxFuture<'static, Result<Transport, ConnectError>> {
        let address = self.address.clone();
        Box::pin(async move {
            let stream = TcpStream::connect(&address)
                .await
                .map_err(|e| ConnectError::from_io(&address, &e))?;
            // Request/reply protocols: never hold a small write back.
            let _ = stream.set_nodelay(true);
            let endpoint = stream
                .peer_addr()
                .map_or_else(|_| address.clone(), |a| a.to_string());
            Ok(Transport {
                stream: Box::new(stream),
                endpoint,
            })
        })
    }
}
