//! The INDI server: labdeck's devices for any INDI client (KStars, the
//! `indi_*` tools, indipyclient). One actor owns the catalog and the
//! clients; each client has a reader task (EOF ends it at once) and a
//! writer fed from a byte-bounded outbox. Traffic goes only to the
//! clients that asked for the device (`getProperties`); `enableBLOB` is
//! kept per client; `pingRequest` is answered here.

mod catalog;
mod outbox;

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

pub use catalog::{Catalog, Changed, indi_name, vectors};
pub use labdeck_core::config::{IndiServerSpec, OutboxLimits};
pub use outbox::{Outbox, Pushed};

use labdeck_core::bus::Event;
use labdeck_core::reply::Reply;
use labdeck_core::runtime::{Hub, Runtime};
use labdeck_protocol::indi::{
    BlobMode, Incoming, IndiState, Limits, Message, MessageReader, Op, Vector, VectorKind,
};

/// The driver of remote INDI devices: not served again.
const REMOTE_DRIVER: &str = "indi";

#[derive(Debug, Error)]
pub enum IndiServerError {
    #[error("INDI server: cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
}

/// What a client asked to hear about.
#[derive(Debug, Clone, Default)]
struct Interest {
    all: bool,
    devices: BTreeSet<String>,
    vectors: BTreeSet<(String, String)>,
}

impl Interest {
    fn wants(&self, device: &str, vector: &str) -> bool {
        self.all
            || self.devices.contains(device)
            || self
                .vectors
                .contains(&(device.to_string(), vector.to_string()))
    }

    fn wants_device(&self, device: &str) -> bool {
        self.all || self.devices.contains(device) || self.vectors.iter().any(|(d, _)| d == device)
    }
}

struct Client {
    peer: SocketAddr,
    outbox: Arc<Outbox>,
    interest: Interest,
    /// `enableBLOB` per device (and vector); Never by default.
    blobs: HashMap<(String, Option<String>), BlobMode>,
    reader: tokio::task::JoinHandle<()>,
    writer: tokio::task::JoinHandle<()>,
}

/// How long a leaving client's last words (the reason it is closed) may
/// take to go out before its socket is closed regardless.
const PARTING: std::time::Duration = std::time::Duration::from_secs(2);

impl Client {
    fn blob_mode(&self, device: &str, vector: &str) -> BlobMode {
        self.blobs
            .get(&(device.to_string(), Some(vector.to_string())))
            .or_else(|| self.blobs.get(&(device.to_string(), None)))
            .copied()
            .unwrap_or(BlobMode::Never)
    }
}

enum Inbound {
    Message(u64, Message),
    Ignored(u64, String),
    /// The stream is unusable: say why, then drop the client.
    Broken(u64, String),
    Closed(u64),
    /// A `new*` was carried out (or refused).
    Done {
        client: u64,
        device: String,
        vector: String,
        reply: Reply,
    },
}

/// Counters for the console and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndiServerStats {
    pub clients: usize,
    pub dropped_slow: u64,
}

/// Start the INDI server the configuration asks for, under the runtime's
/// supervision; where it listens. A port in use is reported, not fatal:
/// the rest is still useful without it.
pub async fn start(runtime: &Runtime, spec: Option<&IndiServerSpec>) -> Option<SocketAddr> {
    let spec = spec?;
    let hub = runtime.hub();
    let source: Arc<str> = "indi-server".into();
    match IndiServer::bind(hub.clone(), spec.clone(), CancellationToken::new()).await {
        Ok(mut server) => {
            let address = server.local_addr().ok();
            if let Some(address) = address {
                tracing::info!("INDI server listening on {address}");
                hub.bus()
                    .notice(&source, format!("INDI server listening on {address}"));
            }
            runtime.supervise(source, "server", move |cancel| {
                server.cancel = cancel;
                server.run()
            });
            address
        }
        Err(e) => {
            tracing::error!("{e}");
            hub.bus()
                .notice(&source, format!("{e}; running without it"));
            None
        }
    }
}

pub struct IndiServer {
    hub: Hub,
    spec: IndiServerSpec,
    listener: TcpListener,
    clients: HashMap<u64, Client>,
    next_id: u64,
    catalog: Catalog,
    inbound_tx: mpsc::Sender<Inbound>,
    inbound: mpsc::Receiver<Inbound>,
    cancel: CancellationToken,
    stats: IndiServerStats,
    /// Served devices by device and link name (whose notices become
    /// messages). Remote INDI devices are served by their own server.
    served: HashMap<String, String>,
}

enum Wake {
    Stop,
    Accept(std::io::Result<(TcpStream, SocketAddr)>),
    Inbound(Inbound),
    Device(usize),
    Event(Result<Event, broadcast::error::RecvError>),
}

impl IndiServer {
    pub async fn bind(
        hub: Hub,
        spec: IndiServerSpec,
        cancel: CancellationToken,
    ) -> Result<Self, IndiServerError> {
        let address = format!("{}:{}", spec.host, spec.port);
        let listener = TcpListener::bind(&address)
            .await
            .map_err(|source| IndiServerError::Bind { address, source })?;
        let (inbound_tx, inbound) = mpsc::channel(1024);
        Ok(Self {
            hub,
            spec,
            listener,
            clients: HashMap::new(),
            next_id: 1,
            catalog: Catalog::default(),
            inbound_tx,
            inbound,
            cancel,
            stats: IndiServerStats::default(),
            served: HashMap::new(),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub async fn run(mut self) -> Result<(), std::convert::Infallible> {
        // Device and link changes wake the actor with the device's index.
        let (changed_tx, mut changed) = mpsc::channel::<usize>(256);
        for (i, device) in self.hub.devices().iter().enumerate() {
            let snapshot = device.snapshot();
            if snapshot.driver == REMOTE_DRIVER {
                continue;
            }
            let name = snapshot.name.to_string();
            self.served.insert(snapshot.link.to_string(), name.clone());
            self.served.insert(name.clone(), name);
            let mut watch = device.watch();
            let link = self
                .hub
                .connection(&device.snapshot().link)
                .map(|c| c.watch());
            let tx = changed_tx.clone();
            tokio::spawn(async move {
                let mut link = link;
                loop {
                    let link_changed = async {
                        match link.as_mut() {
                            Some(l) => l.changed().await.is_ok(),
                            None => std::future::pending().await,
                        }
                    };
                    let alive = tokio::select! {
                        r = watch.changed() => r.is_ok(),
                        ok = link_changed => ok,
                    };
                    if !alive || tx.send(i).await.is_err() {
                        return;
                    }
                }
            });
        }
        for i in 0..self.hub.devices().len() {
            self.refresh(i, false);
        }
        let mut events = self.hub.subscribe();
        loop {
            let wake = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => Wake::Stop,
                inbound = self.inbound.recv() => match inbound {
                    Some(i) => Wake::Inbound(i),
                    None => Wake::Stop,
                },
                accepted = self.listener.accept() => Wake::Accept(accepted),
                Some(i) = changed.recv() => Wake::Device(i),
                event = events.recv() => Wake::Event(event),
            };
            match wake {
                Wake::Stop => break,
                Wake::Accept(Ok((stream, peer))) => self.accept(stream, peer),
                Wake::Accept(Err(e)) => {
                    tracing::warn!("INDI server: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Wake::Inbound(inbound) => self.inbound(inbound),
                Wake::Device(i) => self.refresh(i, true),
                Wake::Event(Ok(event)) => self.event(event),
                Wake::Event(Err(_)) => {}
            }
        }
        for (_, client) in self.clients.drain() {
            client.reader.abort();
            client.writer.abort();
        }
        Ok(())
    }

    fn accept(&mut self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        if self.clients.len() >= self.spec.max_clients {
            tracing::warn!(
                "INDI server: refusing {peer}: {} clients already",
                self.spec.max_clients
            );
            let text = Message::Message {
                device: None,
                timestamp: Some(timestamp_now()),
                message: Some(format!(
                    "labdeck: too many clients ({}); closing",
                    self.spec.max_clients
                )),
            }
            .to_xml();
            tokio::spawn(async move {
                let mut stream = stream;
                let _ = stream.write_all(text.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
            return;
        }
        let id = self.next_id;
        self.next_id += 1;
        let (read, write) = stream.into_split();
        let outbox = Arc::new(Outbox::new(self.spec.outbox));
        let writer = tokio::spawn(write_loop(write, outbox.clone()));
        let reader = tokio::spawn(read_loop(read, id, self.inbound_tx.clone()));
        tracing::info!("INDI server: client {peer} connected");
        self.clients.insert(
            id,
            Client {
                peer,
                outbox,
                interest: Interest::default(),
                blobs: HashMap::new(),
                reader,
                writer,
            },
        );
        self.stats.clients = self.clients.len();
    }

    /// Forget a client: what is queued still goes out (within
    /// [`PARTING`]), then its socket closes. Its slot is free at once.
    fn drop_client(&mut self, id: u64, why: &str) {
        let Some(client) = self.clients.remove(&id) else {
            return;
        };
        tracing::info!("INDI server: client {} gone: {why}", client.peer);
        client.outbox.close();
        client.reader.abort();
        let mut writer = client.writer;
        tokio::spawn(async move {
            if tokio::time::timeout(PARTING, &mut writer).await.is_err() {
                writer.abort();
            }
        });
        self.stats.clients = self.clients.len();
    }

    /// Queue a message for one client; a client too far behind is cut off.
    fn send(&mut self, id: u64, message: &Message) {
        let blob = is_blob(message);
        self.push(id, Bytes::from(message.to_xml()), blob);
    }

    fn push(&mut self, id: u64, xml: Bytes, blob: bool) {
        let Some(client) = self.clients.get(&id) else {
            return;
        };
        match client.outbox.push(xml, blob) {
            Pushed::Queued | Pushed::BlobSkipped => {}
            Pushed::Overflow => {
                self.stats.dropped_slow += 1;
                // Nothing more can reach it: close at once.
                if let Some(client) = self.clients.remove(&id) {
                    tracing::warn!(
                        "INDI server: client {} dropped: too far behind",
                        client.peer
                    );
                    client.reader.abort();
                    client.writer.abort();
                }
                self.stats.clients = self.clients.len();
            }
            Pushed::Closed => self.drop_client(id, "closed"),
        }
    }

    /// Send to every client interested in a device's vector; the XML is
    /// written once and shared.
    fn broadcast(&mut self, device: &str, vector: &str, message: &Message) {
        let ids: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, c)| c.interest.wants(device, vector))
            .filter(|(_, c)| c.blob_mode(device, vector) != BlobMode::Only)
            .map(|(id, _)| *id)
            .collect();
        if ids.is_empty() {
            return;
        }
        let blob = is_blob(message);
        let xml = Bytes::from(message.to_xml());
        for id in ids {
            self.push(id, xml.clone(), blob);
        }
    }

    fn snapshot(
        &self,
        i: usize,
    ) -> Option<(
        labdeck_core::device::DeviceSnapshot,
        Option<labdeck_core::connection::ConnectionSnapshot>,
    )> {
        let device = self.hub.devices().get(i)?.snapshot();
        let link = self.hub.connection(&device.link).map(|c| c.snapshot());
        Some((device, link))
    }

    /// Rebuild a device's vectors; tell interested clients what changed.
    fn refresh(&mut self, i: usize, announce: bool) {
        let Some((device, link)) = self.snapshot(i) else {
            return;
        };
        if device.driver == REMOTE_DRIVER {
            return;
        }
        let name = device.name.to_string();
        let (changed, gone) = self.catalog.update(&name, vectors(&device, link.as_ref()));
        if !announce {
            return;
        }
        for change in changed {
            let (op, v) = match change {
                Changed::Defined(v) => (Op::Def, v),
                Changed::Values(v) => (Op::Set, v),
            };
            let vector = v.head.name.clone();
            self.broadcast(&name, &vector, &Message::Vector(op, v));
        }
        for vector in gone {
            let message = Message::DelProperty {
                device: name.clone(),
                name: Some(vector.clone()),
                timestamp: Some(timestamp_now()),
                message: None,
            };
            self.broadcast(&name, &vector, &message);
        }
    }

    /// Device notices and alarms become INDI messages.
    fn event(&mut self, event: Event) {
        let (source, text) = match event {
            Event::Notice {
                source, message, ..
            } => (source, message),
            Event::Alarm {
                source,
                active,
                reason,
                ..
            } => (
                source,
                format!("{} {reason}", if active { "[ALARM]" } else { "[cleared]" }),
            ),
            _ => return,
        };
        let Some(name) = self.served.get(&*source).cloned() else {
            return;
        };
        let message = Message::Message {
            device: Some(name.clone()),
            timestamp: Some(timestamp_now()),
            message: Some(text),
        };
        let ids: Vec<u64> = self
            .clients
            .iter()
            .filter(|(_, c)| c.interest.wants_device(&name))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.send(id, &message);
        }
    }

    fn inbound(&mut self, inbound: Inbound) {
        match inbound {
            Inbound::Closed(id) => self.drop_client(id, "end of stream"),
            Inbound::Broken(id, why) => {
                let message = Message::Message {
                    device: None,
                    timestamp: Some(timestamp_now()),
                    message: Some(format!("labdeck: {why}; closing the connection")),
                };
                self.send(id, &message);
                self.drop_client(id, &why);
            }
            Inbound::Ignored(id, why) => {
                tracing::debug!("INDI server: client {id}: ignored: {why}");
                let message = Message::Message {
                    device: None,
                    timestamp: Some(timestamp_now()),
                    message: Some(format!("labdeck: ignored: {why}")),
                };
                self.send(id, &message);
            }
            Inbound::Message(id, message) => self.message(id, message),
            Inbound::Done {
                client,
                device,
                vector,
                reply,
            } => self.done(client, &device, &vector, reply),
        }
    }

    fn message(&mut self, id: u64, message: Message) {
        match message {
            Message::GetProperties { device, name, .. } => self.get_properties(id, device, name),
            Message::EnableBlob { device, name, mode } => {
                if let Some(client) = self.clients.get_mut(&id) {
                    client.blobs.insert((device, name), mode);
                }
            }
            Message::PingRequest { uid } => self.send(id, &Message::PingReply { uid }),
            Message::Vector(Op::New, new) => self.new_vector(id, new),
            // Clients have no business sending def/set/message: ignored.
            _ => {}
        }
    }

    fn get_properties(&mut self, id: u64, device: Option<String>, name: Option<String>) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        match (&device, &name) {
            (None, _) => client.interest.all = true,
            (Some(d), None) => {
                client.interest.devices.insert(d.clone());
            }
            (Some(d), Some(n)) => {
                client.interest.vectors.insert((d.clone(), n.clone()));
            }
        }
        let defs: Vec<Message> = self
            .catalog
            .devices
            .iter()
            .filter(|(d, _)| device.as_ref().is_none_or(|want| want == *d))
            .flat_map(|(_, vs)| vs.iter())
            .filter(|v| name.as_ref().is_none_or(|want| *want == v.head.name))
            .map(|v| Message::Vector(Op::Def, v.clone()))
            .collect();
        for def in defs {
            self.send(id, &def);
        }
    }

    fn new_vector(&mut self, id: u64, new: Vector) {
        let refuse = |this: &mut Self, why: String, known: Option<Vector>| {
            tracing::info!(
                "INDI server: refused {}.{}: {why}",
                new.head.device,
                new.head.name
            );
            if let Some(mut v) = known {
                v.head.state = Some(IndiState::Alert);
                v.head.message = Some(why.clone());
                v.head.timestamp = Some(timestamp_now());
                this.send(id, &Message::Vector(Op::Set, v));
            } else {
                this.send(
                    id,
                    &Message::Message {
                        device: Some(new.head.device.clone()),
                        timestamp: Some(timestamp_now()),
                        message: Some(why),
                    },
                );
            }
        };
        let Some(known) = self
            .catalog
            .vector(&new.head.device, &new.head.name)
            .cloned()
        else {
            let why = format!("no vector {}.{}", new.head.device, new.head.name);
            return refuse(self, why, None);
        };
        let Some(device) = self.hub.device(&new.head.device).map(|d| d.snapshot()) else {
            return refuse(self, format!("no device {}", new.head.device), None);
        };
        let command = match catalog::command_for(&device, &new, &known) {
            Ok(command) => command,
            Err(why) => return refuse(self, why, Some(known)),
        };
        // The driver may take a while (an exchange with the instrument):
        // carry the command out beside the actor.
        let hub = self.hub.clone();
        let tx = self.inbound_tx.clone();
        let (device, vector) = (new.head.device.clone(), new.head.name.clone());
        tokio::spawn(async move {
            let reply = hub.execute(command).await;
            let _ = tx
                .send(Inbound::Done {
                    client: id,
                    device,
                    vector,
                    reply,
                })
                .await;
        });
    }

    /// Acknowledge a `new*`: Ok with the values as they are now, or Alert
    /// with the refusal.
    fn done(&mut self, id: u64, device: &str, vector: &str, reply: Reply) {
        if let Some(i) = self
            .hub
            .devices()
            .iter()
            .position(|d| &**d.name() == device)
        {
            self.refresh(i, true);
        }
        let Some(mut v) = self.catalog.vector(device, vector).cloned() else {
            return;
        };
        v.head.timestamp = Some(timestamp_now());
        if reply.success {
            v.head.state = Some(IndiState::Ok);
            self.broadcast(device, vector, &Message::Vector(Op::Set, v));
        } else {
            v.head.state = Some(IndiState::Alert);
            v.head.message = Some(reply.msg);
            self.send(id, &Message::Vector(Op::Set, v));
        }
    }
}

/// Now, as INDI writes it.
fn timestamp_now() -> String {
    labdeck_protocol::indi::timestamp(std::time::SystemTime::now())
}

fn is_blob(message: &Message) -> bool {
    matches!(message, Message::Vector(Op::Set, v) if v.kind == VectorKind::Blob)
}

async fn read_loop(mut read: tokio::net::tcp::OwnedReadHalf, id: u64, tx: mpsc::Sender<Inbound>) {
    let mut reader = MessageReader::new(Limits::default());
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match read.read(&mut buf).await {
            // End of stream: the client is gone, now.
            Ok(0) | Err(_) => {
                let _ = tx.send(Inbound::Closed(id)).await;
                return;
            }
            Ok(n) => n,
        };
        reader.push(&buf[..n]);
        while let Some(next) = reader.next_message() {
            let inbound = match next {
                Ok(Incoming::Message(m)) => Inbound::Message(id, m),
                Ok(Incoming::Ignored(e)) => Inbound::Ignored(id, e.to_string()),
                Err(e) => {
                    let _ = tx.send(Inbound::Broken(id, e.to_string())).await;
                    return;
                }
            };
            if tx.send(inbound).await.is_err() {
                return;
            }
        }
    }
}

async fn write_loop(mut write: tokio::net::tcp::OwnedWriteHalf, outbox: Arc<Outbox>) {
    while let Some(batch) = outbox.take().await {
        let total: usize = batch.iter().map(Bytes::len).sum();
        let mut joined = Vec::with_capacity(total);
        for b in &batch {
            joined.extend_from_slice(b);
        }
        if write.write_all(&joined).await.is_err() {
            outbox.close();
            return;
        }
    }
    let _ = write.shutdown().await;
}
