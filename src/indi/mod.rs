//! The INDI server: labdeck's devices and simulators for any INDI client
//! (KStars, the `indi_*` tools, indipyclient), a front end over the Hub
//! like the console. One actor owns the catalogue and the clients; each
//! client has a reader task (EOF ends it at once) and a writer fed from a
//! byte-bounded outbox. A property event becomes one `set*Vector` for the
//! clients that asked for its device (`getProperties`); device-level
//! changes (link, status, tasks, faults) rebuild that device's vectors
//! and send what differs. `enableBLOB` is kept per client; `pingRequest`
//! is answered here. The devices of remote INDI servers are served again
//! as they come (`relays`).

mod admission;
mod catalog;
mod clients;
mod defs;
mod outbox;
mod relays;
mod requests;
mod writes;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

pub use catalog::{Binding, Changed, Served, Shape, indi_name};
pub use labdeck_core::config::{IndiServerSpec, OutboxLimits};
pub use outbox::{Outbox, Pushed};

use self::admission::sleep_until;
use self::clients::{Client, FromClient, Inbound, is_blob};
use self::writes::Done;
use labdeck_core::bus::Event;
use labdeck_core::hub::Hub;
use labdeck_core::runtime::Runtime;
use labdeck_protocol::indi::{BlobMode, Message, Op};

#[derive(Debug, Error)]
pub enum IndiServerError {
    #[error("INDI server: cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
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
                hub.notice(&source, format!("INDI server listening on {address}"));
            }
            runtime.supervise(source, "server", move |cancel| {
                server.cancel = cancel;
                server.run()
            });
            address
        }
        Err(e) => {
            // A faulted actor: an alarm every front end sees, not only a
            // log line.
            hub.notice(&source, format!("{e}; running without it"));
            let why = format!("{e}; running without it");
            runtime.supervise(source, "server", move |_| async move { Err::<(), _>(why) });
            None
        }
    }
}

/// Now, as INDI writes it.
fn timestamp_now() -> String {
    labdeck_protocol::indi::timestamp(std::time::SystemTime::now())
}

/// Where a served device comes from in the Hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Device(usize),
    Simulator(usize),
}

/// Counters for the console and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndiServerStats {
    pub clients: usize,
    pub dropped_slow: u64,
}

pub struct IndiServer {
    hub: Hub,
    spec: IndiServerSpec,
    listener: TcpListener,
    clients: HashMap<u64, Client>,
    next_id: u64,
    /// What clients were last told, by INDI device name.
    served: BTreeMap<String, Served>,
    sources: Vec<(String, Source)>,
    /// Device, link and simulator names whose notices and alarms become
    /// messages of a served device.
    speakers: HashMap<String, String>,
    /// `def*Vector`s as clients are sent them, by INDI device name;
    /// built on the first `getProperties` after a change and shared.
    defs: HashMap<String, defs::Defs>,
    /// Remote servers' devices, served again.
    relays: relays::Relays,
    inbound_tx: mpsc::Sender<Inbound>,
    inbound: mpsc::Receiver<Inbound>,
    done_tx: mpsc::Sender<Done>,
    done: mpsc::Receiver<Done>,
    cancel: CancellationToken,
    stats: IndiServerStats,
}

enum Wake {
    Stop,
    Accept(std::io::Result<(TcpStream, SocketAddr)>),
    Client(Inbound),
    /// A silent connection's time is up.
    Deadline,
    Done(Done),
    Changed(usize),
    Relayed(usize, relays::FromRelay),
    Event(Result<Event, broadcast::error::RecvError>),
}

/// Events taken in one turn before the actor looks at its clients again.
const EVENT_BATCH: usize = 256;

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
        let (done_tx, done) = mpsc::channel(64);
        Ok(Self {
            hub,
            spec,
            listener,
            clients: HashMap::new(),
            next_id: 1,
            served: BTreeMap::new(),
            defs: HashMap::new(),
            sources: Vec::new(),
            speakers: HashMap::new(),
            relays: relays::Relays::default(),
            inbound_tx,
            inbound,
            done_tx,
            done,
            cancel,
            stats: IndiServerStats::default(),
        })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    pub async fn run(mut self) -> Result<(), std::convert::Infallible> {
        // Subscribed before the first look: no change falls between.
        let mut events = self.hub.subscribe();
        let mut changed = self.watch_sources();
        let mut relayed = self.watch_relays();
        for i in 0..self.sources.len() {
            self.refresh(i, false);
        }
        loop {
            // With nobody to tell, the lab's changes are not followed (no
            // wake-up per event); the first client gets everything afresh.
            let followed = !self.clients.is_empty();
            let deadline = self.next_deadline();
            let wake = tokio::select! {
                biased;
                () = self.cancel.cancelled() => Wake::Stop,
                inbound = self.inbound.recv() => inbound.map_or(Wake::Stop, Wake::Client),
                Some(done) = self.done.recv() => Wake::Done(done),
                accepted = self.listener.accept() => Wake::Accept(accepted),
                Some(i) = changed.recv(), if followed => Wake::Changed(i),
                // Followed always: which remote serves a name is decided
                // in the order they define it.
                Some((r, from)) = relayed.recv() => Wake::Relayed(r, from),
                event = events.recv(), if followed => Wake::Event(event),
                () = sleep_until(deadline), if deadline.is_some() => Wake::Deadline,
            };
            match wake {
                Wake::Stop => break,
                Wake::Accept(Ok((stream, peer))) => {
                    if self.clients.is_empty() {
                        events = events.resubscribe();
                        while changed.try_recv().is_ok() {}
                        for i in 0..self.sources.len() {
                            self.refresh(i, false);
                        }
                    }
                    self.accept(stream, peer);
                }
                Wake::Accept(Err(e)) => {
                    tracing::warn!("INDI server: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                Wake::Client(inbound) => self.inbound(inbound),
                Wake::Deadline => self.close_silent(),
                Wake::Done(done) => self.done(done),
                Wake::Changed(i) => self.refresh(i, true),
                Wake::Relayed(r, from) => self.relayed(r, from),
                Wake::Event(first) => {
                    // The burst already queued, in one turn.
                    let mut next = Some(first);
                    let mut taken = 0;
                    while let Some(event) = next.take() {
                        self.event(event);
                        taken += 1;
                        if taken < EVENT_BATCH {
                            next = match events.try_recv() {
                                Ok(event) => Some(Ok(event)),
                                Err(broadcast::error::TryRecvError::Lagged(n)) => {
                                    Some(Err(broadcast::error::RecvError::Lagged(n)))
                                }
                                Err(_) => None,
                            };
                        }
                    }
                }
            }
        }
        for (_, client) in self.clients.drain() {
            client.cut();
        }
        Ok(())
    }

    /// Which devices and simulators are served, and a task per source
    /// that says when its snapshot (or its link's) changed.
    fn watch_sources(&mut self) -> mpsc::Receiver<usize> {
        let (tx, rx) = mpsc::channel::<usize>(256);
        for (i, device) in self.hub.devices().iter().enumerate() {
            let snapshot = device.snapshot();
            // Remote devices are served by their own server.
            if snapshot.capabilities.remote {
                continue;
            }
            let name = snapshot.name.to_string();
            self.speakers
                .insert(snapshot.link.to_string(), name.clone());
            self.speakers.insert(name.clone(), name.clone());
            let index = self.sources.len();
            self.sources.push((name, Source::Device(i)));
            let mut watch = device.watch();
            let mut link = self
                .hub
                .connection(&snapshot.link)
                .map(labdeck_core::connection::ConnectionHandle::watch);
            let tx = tx.clone();
            tokio::spawn(async move {
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
                    if !alive || tx.send(index).await.is_err() {
                        return;
                    }
                }
            });
        }
        for (i, sim) in self.hub.simulators().iter().enumerate() {
            let name = sim.name().to_string();
            if self.sources.iter().any(|(n, _)| *n == name) {
                tracing::warn!("INDI server: simulator {name} not served: a device has its name");
                continue;
            }
            self.speakers.insert(name.clone(), name.clone());
            let index = self.sources.len();
            self.sources.push((name, Source::Simulator(i)));
            let mut watch = sim.watch();
            let tx = tx.clone();
            tokio::spawn(async move {
                while watch.changed().await.is_ok() {
                    if tx.send(index).await.is_err() {
                        return;
                    }
                }
            });
        }
        rx
    }

    /// Build a source's vectors from its snapshot; with `announce`, tell
    /// interested clients what changed.
    fn refresh(&mut self, i: usize, announce: bool) {
        let Some((name, source)) = self.sources.get(i).cloned() else {
            return;
        };
        let fresh = match source {
            Source::Device(d) => {
                let Some(device) = self
                    .hub
                    .devices()
                    .get(d)
                    .map(labdeck_core::device::DeviceHandle::snapshot)
                else {
                    return;
                };
                let link = self
                    .hub
                    .connection(&device.link)
                    .map(labdeck_core::connection::ConnectionHandle::snapshot);
                Served::device(&device, link.as_ref(), self.hub.labdeck())
            }
            Source::Simulator(s) => {
                let Some(sim) = self
                    .hub
                    .simulators()
                    .get(s)
                    .map(labdeck_core::sim::SimulatorHandle::snapshot)
                else {
                    return;
                };
                Served::simulator(&sim, self.hub.labdeck())
            }
        };
        let (changed, gone) = self.served.entry(name.clone()).or_default().refresh(fresh);
        if !changed.is_empty() || !gone.is_empty() {
            self.defs.remove(&name);
        }
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

    fn source_of(&self, device: &str) -> Option<usize> {
        self.sources.iter().position(|(n, _)| n == device)
    }

    fn event(&mut self, event: Result<Event, broadcast::error::RecvError>) {
        let event = match event {
            Ok(event) => event,
            // Fell behind: everything as it is now.
            Err(broadcast::error::RecvError::Lagged(n)) => {
                tracing::warn!("INDI server: {n} events behind; sending every vector as it is now");
                for i in 0..self.sources.len() {
                    self.refresh(i, true);
                }
                return;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let (source, text) = match event {
            Event::Property { device, update } => {
                let Some(served) = self.served.get_mut(&*device) else {
                    return;
                };
                let Some(vector) = served.value(&update) else {
                    return;
                };
                self.defs.remove(&*device);
                let message = Message::Vector(Op::Set, vector.clone());
                let name = vector.head.name.clone();
                self.broadcast(&device, &name, &message);
                return;
            }
            Event::Definition { device, .. } | Event::Removed { device, .. } => {
                if let Some(i) = self.source_of(&device) {
                    self.refresh(i, true);
                }
                return;
            }
            Event::Notice(notice) => (notice.source, notice.message),
            Event::Alarm(alarm) => (
                alarm.source,
                format!(
                    "{} {}",
                    if alarm.active { "[ALARM]" } else { "[cleared]" },
                    alarm.reason
                ),
            ),
            _ => return,
        };
        let Some(name) = self.speakers.get(&*source).cloned() else {
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

    /// Forget a client; its slot is free at once.
    fn drop_client(&mut self, id: u64, why: &str) {
        if let Some(client) = self.clients.remove(&id) {
            tracing::info!("INDI server: client {} gone: {why}", client.peer);
            client.part();
        }
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
        match client.push(xml, blob) {
            Pushed::Queued | Pushed::BlobSkipped => {}
            Pushed::Overflow => {
                self.stats.dropped_slow += 1;
                if let Some(client) = self.clients.remove(&id) {
                    tracing::warn!(
                        "INDI server: client {} dropped: too far behind",
                        client.peer
                    );
                    client.cut();
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

    fn inbound(&mut self, inbound: Inbound) {
        // The client's turn is given back when this returns.
        let Inbound { from: inbound, .. } = inbound;
        let tell = |text: String| Message::Message {
            device: None,
            timestamp: Some(timestamp_now()),
            message: Some(text),
        };
        match inbound {
            FromClient::Closed(id) => self.drop_client(id, "end of stream"),
            FromClient::Broken(id, why) => {
                self.send(id, &tell(format!("labdeck: {why}; closing the connection")));
                self.drop_client(id, &why);
            }
            FromClient::Ignored(id, why) => {
                tracing::debug!("INDI server: client {id}: ignored: {why}");
                self.send(id, &tell(format!("labdeck: ignored: {why}")));
            }
            FromClient::Message(id, message) => self.message(id, message),
        }
    }

    fn message(&mut self, id: u64, message: Message) {
        match message {
            Message::GetProperties { device, name, .. } => {
                self.get_properties(id, device.as_deref(), name.as_deref());
            }
            Message::EnableBlob { device, name, mode } => {
                if mode != BlobMode::Never {
                    self.want_relayed_blobs(id, &device);
                }
                if let Some(client) = self.clients.get_mut(&id) {
                    client.blobs.insert((device, name), mode);
                }
            }
            Message::PingRequest { uid } => self.send(id, &Message::PingReply { uid }),
            Message::Vector(Op::New, new) => self.new_vector(id, &new),
            // Clients have no business sending def/set/message: ignored.
            _ => {}
        }
    }
}
