//! A TCP server for one client at a time. A second client is accepted and
//! closed at once (with a logged reason), the first is untouched; a client
//! that sends a line longer than the limit, or bytes the encoding rejects,
//! is dropped while the server keeps listening. `close_client` ends the
//! client only; `close` stops listening too.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::BytesMut;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::link::{Direction, TrafficTap};

/// How text is turned into bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Strict: invalid UTF-8 is an error.
    #[default]
    Utf8,
    /// Every byte is one character.
    Latin1,
}

impl Encoding {
    pub fn decode(self, bytes: &[u8]) -> Result<String, ServerError> {
        match self {
            Self::Utf8 => std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|e| ServerError::Decode(e.to_string())),
            Self::Latin1 => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
        }
    }

    pub fn encode(self, text: &str) -> Result<Vec<u8>, ServerError> {
        match self {
            Self::Utf8 => Ok(text.as_bytes().to_vec()),
            Self::Latin1 => text
                .chars()
                .map(|c| u8::try_from(u32::from(c)).map_err(|_| ServerError::Encode(c)))
                .collect(),
        }
    }
}

/// TCP keepalive on the accepted socket (ts_tcpip: 60 s idle, 15 s, 4 probes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keepalive {
    pub idle: Duration,
    pub interval: Duration,
    pub retries: u32,
}

impl Default for Keepalive {
    fn default() -> Self {
        Self {
            idle: Duration::from_secs(60),
            interval: Duration::from_secs(15),
            retries: 4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Loopback unless a configuration says otherwise.
    pub host: String,
    /// 0 = an ephemeral port, reported by `local_addr`.
    pub port: u16,
    /// Ends outgoing lines, and incoming ones unless `any_line_end`.
    pub terminator: Vec<u8>,
    /// Accept CR, LF or CRLF at the end of an incoming line (empty lines
    /// are skipped), as instruments do.
    pub any_line_end: bool,
    pub encoding: Encoding,
    /// A longer line drops the client.
    pub max_line: usize,
    pub keepalive: Option<Keepalive>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 0,
            terminator: b"\r\n".to_vec(),
            any_line_end: false,
            encoding: Encoding::Utf8,
            max_line: 64 * 1024,
            keepalive: Some(Keepalive::default()),
        }
    }
}

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("not connected")]
    NotConnected,
    #[error("cannot listen on {address}: {source}")]
    Bind { address: String, source: io::Error },
    #[error("line of more than {0} bytes without a terminator")]
    LineTooLong(usize),
    #[error("cannot decode the line: {0}")]
    Decode(String),
    #[error("cannot encode {0:?}")]
    Encode(char),
    #[error("bad JSON: {0}")]
    Json(String),
    #[error("connection: {0}")]
    Io(#[from] io::Error),
}

/// What `next_event` found.
#[derive(Debug)]
pub enum ServerEvent {
    /// A client connected.
    Connected(SocketAddr),
    /// A second client was accepted and closed at once.
    Rejected(SocketAddr),
    /// A terminated line (terminator stripped), raw bytes.
    Line(Vec<u8>),
    /// The client went away or was dropped, and why.
    Disconnected(String),
}

/// What observers see of the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerState {
    pub listening: Option<SocketAddr>,
    pub client: Option<SocketAddr>,
    pub should_be_connected: bool,
    pub connections: u64,
    pub rejected: u64,
}

pub struct OneClientServer {
    config: ServerConfig,
    listener: Option<TcpListener>,
    address: SocketAddr,
    client: Option<(TcpStream, SocketAddr)>,
    buf: BytesMut,
    should_be_connected: bool,
    state: watch::Sender<ServerState>,
    connections: u64,
    rejected: u64,
    tap: Option<TrafficTap>,
}

impl OneClientServer {
    /// Bind and start listening.
    pub async fn bind(config: ServerConfig) -> Result<Self, ServerError> {
        let address = format!("{}:{}", config.host, config.port);
        let listener = TcpListener::bind(&address)
            .await
            .map_err(|source| ServerError::Bind { address, source })?;
        let local = listener.local_addr()?;
        let (state, _) = watch::channel(ServerState {
            listening: Some(local),
            client: None,
            should_be_connected: false,
            connections: 0,
            rejected: 0,
        });
        Ok(Self {
            config,
            listener: Some(listener),
            address: local,
            client: None,
            buf: BytesMut::new(),
            should_be_connected: false,
            state,
            connections: 0,
            rejected: 0,
            tap: None,
        })
    }

    /// Record every chunk read and written (the epoch is the connection
    /// number).
    pub fn set_tap(&mut self, tap: TrafficTap) {
        self.tap = Some(tap);
    }

    fn record(&self, dir: Direction, bytes: &[u8]) {
        if let Some(tap) = &self.tap {
            tap.record(self.connections, dir, bytes::Bytes::copy_from_slice(bytes));
        }
    }

    /// Where the server listens (or listened, while down): the bound port
    /// when the configuration asked for port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    pub fn watch(&self) -> watch::Receiver<ServerState> {
        self.state.subscribe()
    }

    /// A client is attached.
    pub fn connected(&self) -> bool {
        self.client.is_some()
    }

    /// A client connected and nobody closed it on purpose since: with
    /// `connected() == false` this means the client was lost.
    pub fn should_be_connected(&self) -> bool {
        self.should_be_connected
    }

    pub fn listening(&self) -> bool {
        self.listener.is_some()
    }

    fn publish(&self) {
        self.state.send_replace(ServerState {
            listening: self.listener.as_ref().map(|_| self.address),
            client: self.client.as_ref().map(|(_, peer)| *peer),
            should_be_connected: self.should_be_connected,
            connections: self.connections,
            rejected: self.rejected,
        });
    }

    /// Wait for the next connection, line or disconnection. Cancel safe:
    /// bytes already read stay buffered.
    pub async fn next_event(&mut self) -> ServerEvent {
        loop {
            if let Some(event) = self.buffered_line() {
                return event;
            }
            let listener = self.listener.as_ref();
            let client = self.client.as_mut().map(|(s, _)| s);
            tokio::select! {
                // Reads first: a client that left is noticed before the
                // next one is judged a second client.
                biased;
                read = read_some(client, &mut self.buf) => match read {
                    Ok(0) => return self.lost("the client closed the connection".into()),
                    Ok(n) => {
                        let start = self.buf.len() - n;
                        self.record(Direction::Rx, &self.buf[start..]);
                    }
                    Err(e) => return self.lost(format!("read failed: {e}")),
                },
                accepted = accept(listener) => match accepted {
                    Ok((stream, peer)) => {
                        if self.client.is_some() && !self.client_is_gone() {
                            tracing::error!("rejecting connection from {peer}; a client is already connected");
                            self.rejected += 1;
                            drop(stream);
                            self.publish();
                            return ServerEvent::Rejected(peer);
                        }
                        self.attach(stream, peer);
                        return ServerEvent::Connected(peer);
                    }
                    Err(e) => {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
    }

    /// The attached client hung up without us noticing yet (a stale
    /// client): it is let go so the newcomer can be served.
    fn client_is_gone(&mut self) -> bool {
        let Some((stream, _)) = &self.client else {
            return true;
        };
        // Ask the socket itself, not the reactor's readiness: a client that
        // closes and reconnects at once has its close queued before the new
        // connection, but the reactor may not have reported it yet.
        let mut probe = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        let gone = match socket2::SockRef::from(stream).peek(&mut probe) {
            Ok(0) => true,
            // Bytes waiting: it is still talking.
            Ok(_) => false,
            Err(e) => e.kind() != io::ErrorKind::WouldBlock,
        };
        if gone {
            tracing::info!("the previous client hung up unnoticed; serving the new one");
            self.client = None;
            self.buf.clear();
        }
        gone
    }

    fn attach(&mut self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        if let Some(k) = self.config.keepalive {
            let sock = socket2::SockRef::from(&stream);
            let params = socket2::TcpKeepalive::new()
                .with_time(k.idle)
                .with_interval(k.interval)
                .with_retries(k.retries);
            if let Err(e) = sock.set_tcp_keepalive(&params) {
                tracing::debug!("cannot set TCP keepalive: {e}");
            }
        }
        self.buf.clear();
        self.client = Some((stream, peer));
        self.should_be_connected = true;
        self.connections += 1;
        self.publish();
    }

    /// A complete line from the buffer, or a drop when the limit is passed.
    fn buffered_line(&mut self) -> Option<ServerEvent> {
        self.client.as_ref()?;
        match self.line_end() {
            Some((at, len)) => {
                let line = self.buf.split_to(at + len);
                Some(ServerEvent::Line(line[..at].to_vec()))
            }
            None if self.buf.len() > self.config.max_line => {
                let reason = format!(
                    "dropping the client: {}",
                    ServerError::LineTooLong(self.config.max_line)
                );
                tracing::warn!("{reason}");
                self.close_client_now();
                Some(ServerEvent::Disconnected(reason))
            }
            None => None,
        }
    }

    /// Where the first complete line ends: (offset, terminator length).
    fn line_end(&mut self) -> Option<(usize, usize)> {
        if !self.config.any_line_end {
            let term = &self.config.terminator;
            return find(&self.buf, term).map(|at| (at, term.len()));
        }
        loop {
            let at = self.buf.iter().position(|b| *b == b'\r' || *b == b'\n')?;
            if at > 0 {
                return Some((at, 1));
            }
            // The LF of a CRLF, or an empty line.
            let _ = self.buf.split_to(1);
        }
    }

    fn lost(&mut self, mut reason: String) -> ServerEvent {
        if !self.buf.is_empty() {
            reason = format!(
                "{reason} ({} bytes of an unterminated line discarded)",
                self.buf.len()
            );
        }
        self.client = None;
        self.buf.clear();
        self.publish();
        ServerEvent::Disconnected(reason)
    }

    /// Read one terminated line and decode it (terminator stripped).
    pub async fn read_str(&mut self) -> Result<String, ServerError> {
        loop {
            if !self.connected() {
                return Err(ServerError::NotConnected);
            }
            match self.next_event().await {
                ServerEvent::Line(bytes) => return self.config.encoding.decode(&bytes),
                ServerEvent::Disconnected(_) => return Err(ServerError::NotConnected),
                ServerEvent::Connected(_) | ServerEvent::Rejected(_) => {}
            }
        }
    }

    /// Encode, terminate and send a line.
    pub async fn write_str(&mut self, line: &str) -> Result<(), ServerError> {
        let mut bytes = self.config.encoding.encode(line)?;
        bytes.extend_from_slice(&self.config.terminator);
        self.write(&bytes).await
    }

    /// Send raw bytes.
    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), ServerError> {
        let Some((stream, _)) = self.client.as_mut() else {
            return Err(ServerError::NotConnected);
        };
        if let Err(e) = stream.write_all(bytes).await {
            let reason = format!("write failed: {e}");
            self.lost(reason);
            return Err(e.into());
        }
        self.record(Direction::Tx, bytes);
        Ok(())
    }

    pub async fn read_json<T: DeserializeOwned>(&mut self) -> Result<T, ServerError> {
        let line = self.read_str().await?;
        serde_json::from_str(&line).map_err(|e| ServerError::Json(format!("{e} in {line:?}")))
    }

    pub async fn write_json<T: Serialize>(&mut self, value: &T) -> Result<(), ServerError> {
        let text = serde_json::to_string(value).map_err(|e| ServerError::Json(e.to_string()))?;
        self.write_str(&text).await
    }

    /// Read exactly `n` bytes (buffered bytes first).
    pub async fn readexactly(&mut self, n: usize) -> Result<Vec<u8>, ServerError> {
        while self.buf.len() < n {
            let Some((stream, _)) = self.client.as_mut() else {
                return Err(ServerError::NotConnected);
            };
            match stream.read_buf(&mut self.buf).await {
                Ok(0) => {
                    self.lost("the client closed the connection".into());
                    return Err(ServerError::Io(io::ErrorKind::UnexpectedEof.into()));
                }
                Ok(read) => {
                    let start = self.buf.len() - read;
                    self.record(Direction::Rx, &self.buf[start..]);
                }
                Err(e) => {
                    self.lost(format!("read failed: {e}"));
                    return Err(e.into());
                }
            }
        }
        Ok(self.buf.split_to(n).to_vec())
    }

    fn close_client_now(&mut self) {
        self.should_be_connected = false;
        self.client = None;
        self.buf.clear();
        self.publish();
    }

    /// Close the client on purpose; the server keeps listening.
    pub async fn close_client(&mut self) {
        if let Some((mut stream, _)) = self.client.take() {
            let _ = stream.shutdown().await;
        }
        self.close_client_now();
    }

    /// Stop listening and close the client; new connections are refused.
    pub async fn close(&mut self) {
        self.close_client().await;
        self.listener = None;
        self.publish();
    }

    /// Listen again on the same address after `close`.
    pub async fn reopen(&mut self) -> Result<(), ServerError> {
        if self.listener.is_some() {
            return Ok(());
        }
        let address = self.address.to_string();
        let listener = TcpListener::bind(self.address)
            .await
            .map_err(|source| ServerError::Bind { address, source })?;
        self.listener = Some(listener);
        self.publish();
        Ok(())
    }
}

async fn accept(listener: Option<&TcpListener>) -> io::Result<(TcpStream, SocketAddr)> {
    match listener {
        Some(listener) => listener.accept().await,
        None => std::future::pending().await,
    }
}

async fn read_some(client: Option<&mut TcpStream>, buf: &mut BytesMut) -> io::Result<usize> {
    match client {
        Some(stream) => {
            buf.reserve(4096);
            stream.read_buf(buf).await
        }
        None => std::future::pending().await,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[path = "one_client_tests.rs"]
mod tests;
