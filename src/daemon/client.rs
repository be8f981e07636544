//! A client of a daemon's control socket: says hello, then sends requests
//! and lines with ids and hands their replies back, and everything else
//! the daemon sends (events, state, control) to whoever follows it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use thiserror::Error;
use tokio::net::{TcpStream, UnixStream};
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use super::socket::{Endpoint, Io};
use super::wire::{FromDaemon, Peer, Reader, ToDaemon, VERSION, WireError, Writer, encode};
use labdeck_core::bus::Event;
use labdeck_core::hub::LabSnapshot;
use labdeck_core::link::Chunk;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("no labdeck daemon at {endpoint}: {source} (start one with labdeck serve --listen)")]
    Connect {
        endpoint: Endpoint,
        source: std::io::Error,
    },
    #[error("the daemon refused: {0}")]
    Refused(String),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("the daemon answered hello with something else")]
    NoWelcome,
    #[error("the daemon closed the connection")]
    Gone,
}

/// What the daemon said when it let us in.
#[derive(Debug, Clone)]
pub struct Welcome {
    pub client: u64,
    pub lab: String,
    pub pid: u32,
    pub snapshot: LabSnapshot,
    pub history: Vec<Chunk>,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<FromDaemon>>>>;

/// A connection to a daemon; cheap to clone.
#[derive(Debug, Clone)]
pub struct Client {
    out: mpsc::UnboundedSender<ToDaemon>,
    pending: Pending,
    next: Arc<AtomicU64>,
    pub endpoint: Endpoint,
}

/// Who this process is, as the daemon will name it.
pub fn this_peer(kind: &str) -> Peer {
    use std::io::IsTerminal;
    let tty = std::io::stdin()
        .is_terminal()
        .then(|| std::fs::read_link("/proc/self/fd/0").ok())
        .flatten()
        .map(|p| p.display().to_string());
    Peer {
        kind: kind.into(),
        user: std::env::var("USER").unwrap_or_default(),
        pid: std::process::id(),
        tty,
        from: None,
    }
}

/// What `connect` gives: the client, the welcome, and the frames that
/// are not replies (nothing, unless `events`).
pub type Connection = (Client, Welcome, mpsc::UnboundedReceiver<FromDaemon>);

/// Connect to the daemon on the Unix socket at `path` and say hello.
pub async fn connect(
    path: &Path,
    peer: Peer,
    control: bool,
    events: bool,
) -> Result<Connection, ClientError> {
    let endpoint = Endpoint::Unix(path.to_path_buf());
    connect_to(&endpoint, None, peer, control, events).await
}

/// Connect to the daemon at `endpoint` (with its token, over TCP) and say
/// hello.
pub async fn connect_to(
    endpoint: &Endpoint,
    token: Option<String>,
    peer: Peer,
    control: bool,
    events: bool,
) -> Result<Connection, ClientError> {
    let failed = |source| ClientError::Connect {
        endpoint: endpoint.clone(),
        source,
    };
    let stream: Box<dyn Io> = match endpoint {
        Endpoint::Unix(path) => Box::new(UnixStream::connect(path).await.map_err(failed)?),
        Endpoint::Tcp(address) => {
            let stream = TcpStream::connect(address.as_str()).await.map_err(failed)?;
            let _ = stream.set_nodelay(true);
            Box::new(stream)
        }
    };
    let (read, write) = tokio::io::split(stream);
    let mut reader: Reader<_, FromDaemon> = Reader::new(read);
    let mut writer = Writer::new(write);
    writer
        .send(&ToDaemon::Hello {
            version: VERSION,
            peer,
            control,
            events,
            token,
        })
        .await?;
    let welcome = match reader.next().await? {
        FromDaemon::Welcome {
            client,
            lab,
            pid,
            snapshot,
            history,
            ..
        } => Welcome {
            client,
            lab,
            pid,
            snapshot: *snapshot,
            history,
        },
        FromDaemon::Refused { reason } => return Err(ClientError::Refused(reason)),
        _ => return Err(ClientError::NoWelcome),
    };
    let (out, mut to_send) = mpsc::unbounded_channel::<ToDaemon>();
    tokio::spawn(async move {
        while let Some(frame) = to_send.recv().await {
            if writer.send_bytes(encode(&frame)).await.is_err() {
                break;
            }
        }
        // The client was dropped: the daemon sees it detach.
        let _ = writer.shutdown().await;
    });
    let pending: Pending = Arc::default();
    let (incoming, frames) = mpsc::unbounded_channel();
    let replies = pending.clone();
    tokio::spawn(async move {
        loop {
            let frame = match reader.next().await {
                Ok(frame) => frame,
                Err(e) => {
                    if !matches!(e, WireError::Closed) {
                        let _ = incoming.send(FromDaemon::Refused {
                            reason: e.to_string(),
                        });
                    }
                    break;
                }
            };
            let id = match &frame {
                FromDaemon::Reply { id, .. } | FromDaemon::History { id, .. } => Some(*id),
                _ => None,
            };
            let waiting = id.and_then(|id| {
                replies
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&id)
            });
            match waiting {
                Some(waiting) => {
                    let _ = waiting.send(frame);
                }
                // Nobody may follow the stream (`ctl`); replies still come.
                None => {
                    let _ = incoming.send(frame);
                }
            }
        }
        // Whoever waits for a reply learns the daemon is gone.
        replies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    });
    let client = Client {
        out,
        pending,
        next: Arc::default(),
        endpoint: endpoint.clone(),
    };
    Ok((client, welcome, frames))
}

impl Client {
    async fn ask(&self, frame: impl FnOnce(u64) -> ToDaemon) -> Result<FromDaemon, ClientError> {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, tx);
        self.out.send(frame(id)).map_err(|_| ClientError::Gone)?;
        rx.await.map_err(|_| ClientError::Gone)
    }

    /// Run a line of the command language in the daemon: (ok, text).
    pub async fn line(&self, line: &str) -> Result<(bool, String), ClientError> {
        let line = line.to_string();
        match self.ask(|id| ToDaemon::Line { id, line }).await? {
            FromDaemon::Reply { ok, text, .. } => Ok((ok, text)),
            _ => Err(ClientError::NoWelcome),
        }
    }

    /// A typed Hub request, answered in words: (ok, text).
    pub async fn request(
        &self,
        request: labdeck_core::hub::Request,
    ) -> Result<(bool, String), ClientError> {
        match self.ask(|id| ToDaemon::Request { id, request }).await? {
            FromDaemon::Reply { ok, text, .. } => Ok((ok, text)),
            _ => Err(ClientError::NoWelcome),
        }
    }

    /// A link's traffic history.
    pub async fn history(&self, link: &str) -> Result<Result<Vec<Chunk>, String>, ClientError> {
        let link = link.to_string();
        match self.ask(|id| ToDaemon::History { id, link }).await? {
            FromDaemon::History { chunks, .. } => Ok(chunks),
            _ => Err(ClientError::NoWelcome),
        }
    }

    pub fn take_control(&self) -> Result<(), ClientError> {
        self.out
            .send(ToDaemon::TakeControl)
            .map_err(|_| ClientError::Gone)
    }
}

/// A daemon's lab as it comes over the socket: its events on a local bus,
/// its state and the control lock in watches. When the connection ends,
/// the bus closes.
#[derive(Debug)]
pub struct Remote {
    /// Only a receiver is kept (others come from `subscribe`), so the bus
    /// closes when the connection does.
    events: broadcast::Receiver<Event>,
    pub state: watch::Receiver<LabSnapshot>,
    /// Who holds control (in words), and whether it is this client.
    pub control: watch::Receiver<(Option<String>, bool)>,
    /// Why the daemon ended the connection, when it said.
    ended: watch::Receiver<Option<String>>,
}

impl Remote {
    pub fn follow(
        mut frames: mpsc::UnboundedReceiver<FromDaemon>,
        snapshot: LabSnapshot,
        capacity: usize,
    ) -> Self {
        let (bus, events) = broadcast::channel(capacity.max(16));
        let (state_tx, state) = watch::channel(snapshot.clone());
        let mut current = snapshot;
        let (control_tx, control) = watch::channel((None, false));
        let (ended_tx, ended) = watch::channel(None);
        tokio::spawn(async move {
            while let Some(frame) = frames.recv().await {
                match frame {
                    FromDaemon::Event { event } => {
                        let _ = bus.send(*event);
                    }
                    FromDaemon::State { snapshot } => {
                        current = *snapshot;
                        let _ = state_tx.send(current.clone());
                    }
                    FromDaemon::Changes { changes } => {
                        if changes.apply(&mut current) {
                            let _ = state_tx.send(current.clone());
                        } else {
                            tracing::warn!(
                                "state changes for another lab; waiting for a whole state"
                            );
                        }
                    }
                    FromDaemon::Control { holder, yours } => {
                        let _ = control_tx.send((holder.map(|p| p.to_string()), yours));
                    }
                    FromDaemon::Refused { reason } => {
                        tracing::warn!("the daemon ended the connection: {reason}");
                        ended_tx.send_replace(Some(reason));
                        break;
                    }
                    // A fresh state follows a lag.
                    FromDaemon::Lagged { dropped } => {
                        tracing::warn!("the daemon dropped {dropped} event(s) for this client");
                    }
                    FromDaemon::Welcome { .. }
                    | FromDaemon::Reply { .. }
                    | FromDaemon::History { .. } => {}
                }
            }
            // Dropping the only sender tells the followers the daemon is gone.
            drop(bus);
        });
        Self {
            events,
            state,
            control,
            ended,
        }
    }

    /// Why the daemon ended the connection, if it said (`cut off: …`).
    pub fn ended(&self) -> Option<String> {
        self.ended.borrow().clone()
    }

    /// The daemon's events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.resubscribe()
    }
}
