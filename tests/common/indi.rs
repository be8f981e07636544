//! An INDI peer over a real socket: sends raw XML, reads typed messages
//! with labdeck's own reader (the tests check the other side).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use labdeck_protocol::indi::{Incoming, Limits, Message, MessageReader, Op, Vector};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::LIMIT;
use labdeck_core::runtime::Runtime;

/// A runtime with the pump on a pty and the INDI server on a free port,
/// `server` added to `[indi.server]`; once the pump is online.
pub async fn serve_pump(server: &str) -> (Runtime, SocketAddr) {
    let extra = format!("\n[indi.server]\nport = 0\n{server}\n");
    let (runtime, address) = super::start_serving(&super::pump_config("realistic", &extra)).await;
    super::wait_responding(runtime.hub(), "pump", "pump online").await;
    (runtime, address)
}

/// A client that asked for everything and has the definitions.
pub async fn client(address: SocketAddr) -> IndiPeer {
    let mut peer = IndiPeer::connect(address).await;
    peer.send("<getProperties version='1.7'/>").await;
    peer.wait_for("the SETPOINT definition", |m| {
        is_vector(m, Op::Def, "pump", "SETPOINT").is_some()
    })
    .await;
    peer
}

pub struct IndiPeer {
    pub stream: TcpStream,
    reader: MessageReader,
    pending: VecDeque<Message>,
    /// Everything read so far, for failure messages.
    pub seen: Vec<String>,
}

impl IndiPeer {
    pub async fn connect(address: SocketAddr) -> Self {
        Self::over(TcpStream::connect(address).await.expect("connect"))
    }

    pub fn over(stream: TcpStream) -> Self {
        stream.set_nodelay(true).unwrap();
        Self {
            stream,
            reader: MessageReader::new(Limits::default()),
            pending: VecDeque::new(),
            seen: Vec::new(),
        }
    }

    pub async fn send(&mut self, xml: &str) {
        self.stream.write_all(xml.as_bytes()).await.expect("send");
    }

    /// The next message; `None` at end of stream (or a reset).
    pub async fn next(&mut self) -> Option<Message> {
        tokio::time::timeout(LIMIT, self.next_now())
            .await
            .unwrap_or_else(|_| panic!("no message within {LIMIT:?}; seen:\n{}", self.seen()))
    }

    async fn next_now(&mut self) -> Option<Message> {
        loop {
            if let Some(m) = self.pending.pop_front() {
                return Some(m);
            }
            while let Some(next) = self.reader.next_message() {
                if let Ok(Incoming::Message(m)) = next {
                    self.seen.push(m.to_xml().chars().take(200).collect());
                    self.pending.push_back(m);
                }
            }
            if !self.pending.is_empty() {
                continue;
            }
            let mut buf = vec![0u8; 64 * 1024];
            match self.stream.read(&mut buf).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.reader.push(&buf[..n]),
            }
        }
    }

    /// Read until a message matches; panics at end of stream or timeout.
    pub async fn wait_for(&mut self, what: &str, check: impl Fn(&Message) -> bool) -> Message {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.next_now()).await {
                Ok(Some(m)) if check(&m) => return m,
                Ok(Some(_)) => {}
                Ok(None) => panic!("stream ended waiting for {what}; seen:\n{}", self.seen()),
                Err(elapsed) => panic!("{elapsed} waiting for {what}; seen:\n{}", self.seen()),
            }
        }
    }

    /// Read (and discard) until the server closes the connection.
    pub async fn wait_closed(&mut self) {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match tokio::time::timeout(left, self.next_now()).await {
                Ok(Some(_)) => {}
                Ok(None) => return,
                Err(elapsed) => panic!(
                    "{elapsed}: the server kept the connection open; seen:\n{}",
                    self.seen()
                ),
            }
        }
    }

    /// Nothing arrives for `quiet`.
    pub async fn silent_for(&mut self, quiet: Duration) -> Option<Message> {
        tokio::time::timeout(quiet, self.next_now())
            .await
            .ok()
            .flatten()
    }

    fn seen(&self) -> String {
        let start = self.seen.len().saturating_sub(20);
        self.seen[start..].join("\n")
    }
}

/// `op` vector of `device`.`name`.
pub fn is_vector(m: &Message, op: Op, device: &str, name: &str) -> Option<Vector> {
    match m {
        Message::Vector(o, v) if *o == op && v.head.device == device && v.head.name == name => {
            Some(v.clone())
        }
        _ => None,
    }
}
