//! The server's clients: what each asked to hear about, its BLOB modes,
//! its byte-bounded outbox, and the reader and writer tasks on its socket.
//! A reader has a few turns in the server's inbox at a time ([`TURNS`]):
//! a client that floods requests waits for its own to be served, and its
//! socket fills, while the others are served in between.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use labdeck_core::config::OutboxLimits;
use labdeck_protocol::indi::{BlobMode, Incoming, Limits, Message, MessageReader, Op, VectorKind};

use super::outbox::{Outbox, Pushed};

/// How long a leaving client's last words (the reason it is closed) may
/// take to go out before its socket is closed regardless.
const PARTING: Duration = Duration::from_secs(2);

/// What a client asked to hear about.
#[derive(Debug, Clone, Default)]
pub struct Interest {
    pub all: bool,
    pub devices: BTreeSet<String>,
    pub vectors: BTreeSet<(String, String)>,
}

impl Interest {
    pub fn wants(&self, device: &str, vector: &str) -> bool {
        self.all
            || self.devices.contains(device)
            || self
                .vectors
                .contains(&(device.to_string(), vector.to_string()))
    }

    pub fn wants_device(&self, device: &str) -> bool {
        self.all || self.devices.contains(device) || self.vectors.iter().any(|(d, _)| d == device)
    }
}

/// Messages of one client waiting in the server's inbox at most.
pub const TURNS: usize = 4;

/// A message from a client with its turn, given back when it is dropped.
pub struct Inbound {
    pub from: FromClient,
    _turn: OwnedSemaphorePermit,
}

/// What a client's reader hands the server.
pub enum FromClient {
    Message(u64, Message),
    Ignored(u64, String),
    /// The stream is unusable: say why, then drop the client.
    Broken(u64, String),
    Closed(u64),
}

pub struct Client {
    pub peer: SocketAddr,
    pub connected_at: Instant,
    /// It has sent a complete element: it speaks INDI. Set by the reader
    /// as soon as it frames one, before the server takes the message.
    spoke: Arc<AtomicBool>,
    outbox: Arc<Outbox>,
    pub interest: Interest,
    /// `enableBLOB` per device (and vector); Never by default.
    pub blobs: HashMap<(String, Option<String>), BlobMode>,
    reader: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
}

impl Client {
    /// Start the reader and writer of a new client's socket.
    pub fn start(
        stream: TcpStream,
        peer: SocketAddr,
        id: u64,
        limits: OutboxLimits,
        inbound: mpsc::Sender<Inbound>,
    ) -> Self {
        let (read, write) = stream.into_split();
        let outbox = Arc::new(Outbox::new(limits));
        let spoke = Arc::new(AtomicBool::new(false));
        Self {
            peer,
            connected_at: Instant::now(),
            spoke: spoke.clone(),
            writer: tokio::spawn(write_loop(write, outbox.clone())),
            reader: tokio::spawn(read_loop(read, id, inbound, spoke)),
            outbox,
            interest: Interest::default(),
            blobs: HashMap::new(),
        }
    }

    pub fn spoke(&self) -> bool {
        self.spoke.load(Ordering::Relaxed)
    }

    pub fn blob_mode(&self, device: &str, vector: &str) -> BlobMode {
        self.blobs
            .get(&(device.to_string(), Some(vector.to_string())))
            .or_else(|| self.blobs.get(&(device.to_string(), None)))
            .copied()
            .unwrap_or(BlobMode::Never)
    }

    pub fn push(&self, xml: Bytes, blob: bool) -> Pushed {
        self.outbox.push(xml, blob)
    }

    /// Let go: what is queued still goes out (within [`PARTING`]), then
    /// the socket closes.
    pub fn part(self) {
        self.outbox.close();
        self.reader.abort();
        let mut writer = self.writer;
        tokio::spawn(async move {
            if tokio::time::timeout(PARTING, &mut writer).await.is_err() {
                writer.abort();
            }
        });
    }

    /// Close at once: nothing more can reach it.
    pub fn cut(self) {
        self.reader.abort();
        self.writer.abort();
    }
}

/// Whether a message is a BLOB update (skipped for clients behind).
pub fn is_blob(message: &Message) -> bool {
    matches!(message, Message::Vector(Op::Set, v) if v.kind == VectorKind::Blob)
}

/// Tell a client beyond the limit why, and close.
pub fn refuse(stream: TcpStream, text: String) {
    tokio::spawn(async move {
        let mut stream = stream;
        let _ = stream.write_all(text.as_bytes()).await;
        let _ = stream.shutdown().await;
    });
}

async fn read_loop(
    mut read: OwnedReadHalf,
    id: u64,
    tx: mpsc::Sender<Inbound>,
    spoke: Arc<AtomicBool>,
) {
    let turns = Arc::new(Semaphore::new(TURNS));
    let send = async |from: FromClient| {
        let Ok(turn) = turns.clone().acquire_owned().await else {
            return false;
        };
        let inbound = Inbound { from, _turn: turn };
        tx.send(inbound).await.is_ok()
    };
    let mut reader = MessageReader::new(Limits::default());
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match read.read(&mut buf).await {
            // End of stream: the client is gone, now.
            Ok(0) | Err(_) => {
                send(FromClient::Closed(id)).await;
                return;
            }
            Ok(n) => n,
        };
        reader.push(&buf[..n]);
        while let Some(next) = reader.next_message() {
            if next.is_ok() {
                spoke.store(true, Ordering::Relaxed);
            }
            let inbound = match next {
                Ok(Incoming::Message(m)) => FromClient::Message(id, m),
                Ok(Incoming::Ignored(e)) => FromClient::Ignored(id, e.to_string()),
                Err(e) => {
                    send(FromClient::Broken(id, e.to_string())).await;
                    return;
                }
            };
            if !send(inbound).await {
                return;
            }
        }
    }
}

/// Bytes joined into one write at most: small messages go out together,
/// and a backlog of megabytes is never copied into one buffer.
const JOIN: usize = 64 * 1024;

async fn write_loop(mut write: OwnedWriteHalf, outbox: Arc<Outbox>) {
    let mut joined = Vec::with_capacity(JOIN);
    while let Some(batch) = outbox.take().await {
        for piece in &batch {
            if joined.len() + piece.len() > JOIN && !joined.is_empty() {
                if write.write_all(&joined).await.is_err() {
                    outbox.close();
                    return;
                }
                joined.clear();
            }
            if piece.len() >= JOIN {
                // A BLOB: straight from its buffer.
                if write.write_all(piece).await.is_err() {
                    outbox.close();
                    return;
                }
            } else {
                joined.extend_from_slice(piece);
            }
        }
        if !joined.is_empty() && write.write_all(&joined).await.is_err() {
            outbox.close();
            return;
        }
        joined.clear();
    }
    let _ = write.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// However much a client sends, it holds at most [`TURNS`] places in
    /// the server's inbox; the next waits until one is served.
    #[tokio::test]
    async fn a_flooding_client_waits_for_its_turns() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let (tx, mut rx) = mpsc::channel(1024);
        let (read, _write) = stream.into_split();
        let reader = tokio::spawn(read_loop(read, 7, tx, Arc::default()));
        peer.write_all("<pingRequest uid='x'/>".repeat(100).as_bytes())
            .await
            .unwrap();
        let mut held = Vec::new();
        while let Ok(Some(inbound)) =
            tokio::time::timeout(Duration::from_millis(200), rx.recv()).await
        {
            held.push(inbound);
        }
        assert_eq!(held.len(), TURNS);
        // One served: one more comes in.
        held.pop();
        let next = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await;
        assert!(matches!(
            next,
            Ok(Some(Inbound {
                from: FromClient::Message(7, _),
                ..
            }))
        ));
        reader.abort();
    }
}
