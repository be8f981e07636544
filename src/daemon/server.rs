//! The daemon's side of the control socket: each client says hello, gets
//! the lab as it is, then the event stream and the lab's state as it
//! changes, and sends requests and command lines. While one client holds
//! the control lock, the others may only read (and send an emergency
//! stop). A client that reads too slowly has events dropped and
//! is resynchronised from a snapshot, and is cut off if it stays behind:
//! what is queued for it is bounded in bytes, so it cannot make the
//! daemon's memory grow.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, broadcast, mpsc};
use tokio_util::sync::CancellationToken;

use super::changes::Changes;
use super::clients::{Clients, Stats, describe_clients};
use super::socket::{Accepted, Listener};
use super::wire::{FromDaemon, Peer, Reader, ToDaemon, VERSION, WireError, Writer, encode};
use crate::headless::command::{self, Line, Reply};
use labdeck_core::bus::Event;
use labdeck_core::hub::{Hub, LabSnapshot, Origin, Request};

/// How long a client has to say hello.
const HELLO_WITHIN: Duration = Duration::from_secs(5);
/// How often a client's view of the lab's state is brought up to date.
const STATE_EVERY: Duration = Duration::from_millis(200);

/// What every session shares.
struct Shared {
    hub: Hub,
    lab: String,
    clients: Arc<Clients>,
    /// What clients must present (a TCP listener's token).
    token: Option<Arc<str>>,
}

/// Accept clients on `listener` until `stop`.
pub async fn serve(
    listener: Listener,
    hub: Hub,
    lab: String,
    clients: Arc<Clients>,
    stop: CancellationToken,
) {
    let shared = Arc::new(Shared {
        hub,
        lab,
        clients,
        token: listener.token.clone(),
    });
    tracing::info!("control socket {}", listener.endpoint());
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(stream) => {
                    let shared = shared.clone();
                    let stop = stop.clone();
                    tokio::spawn(async move { session(stream, shared, stop).await });
                }
                Err(e) => {
                    tracing::warn!("control socket: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
    // The socket file goes with `listener`.
}

/// What waits for one client, counted in bytes as frames go in and out.
struct Outbox {
    tx: mpsc::UnboundedSender<Bytes>,
    stats: Arc<Stats>,
    limit: usize,
}

impl Outbox {
    /// Queue a frame that must arrive (replies, control); false once the
    /// client is gone.
    fn push(&self, bytes: Bytes) -> bool {
        let now = self.stats.queued.fetch_add(bytes.len(), Ordering::Relaxed) + bytes.len();
        self.stats.peak.fetch_max(now, Ordering::Relaxed);
        self.tx.send(bytes).is_ok()
    }

    /// Queue a frame that may be dropped when the client is behind.
    fn offer(&self, bytes: Bytes) -> bool {
        if self.queued() + bytes.len() > self.limit {
            return false;
        }
        self.push(bytes)
    }

    fn queued(&self) -> usize {
        self.stats.queued.load(Ordering::Relaxed)
    }

    fn behind(&self) -> bool {
        self.queued() > self.limit / 2
    }
}

async fn session(accepted: Accepted, shared: Arc<Shared>, stop: CancellationToken) {
    let Accepted { stream, cred, from } = accepted;
    let (read, write) = tokio::io::split(stream);
    let mut reader: Reader<_, ToDaemon> = Reader::new(read);
    let mut writer = Writer::new(write);
    let hello = tokio::time::timeout(HELLO_WITHIN, reader.next()).await;
    let (mut peer, control, events, token) = match hello {
        Ok(Ok(ToDaemon::Hello {
            version,
            peer,
            control,
            events,
            token,
        })) if version == VERSION => (peer, control, events, token),
        Ok(Ok(ToDaemon::Hello { version, .. })) => {
            return refuse(
                &mut writer,
                format!("protocol version {version}; this daemon speaks version {VERSION}"),
            )
            .await;
        }
        Ok(Ok(_)) => return refuse(&mut writer, "the first frame must be hello".into()).await,
        Ok(Err(WireError::Closed)) => return,
        Ok(Err(e)) => return refuse(&mut writer, e.to_string()).await,
        Err(_) => {
            return refuse(
                &mut writer,
                format!("no hello within {} s", HELLO_WITHIN.as_secs()),
            )
            .await;
        }
    };
    if let Some(wanted) = &shared.token
        && !same_token(wanted, token.as_deref().unwrap_or_default())
    {
        return refuse(
            &mut writer,
            "this daemon needs its token (--token-file FILE)".into(),
        )
        .await;
    }
    // Who the kernel says is on the other end, not what the client claims.
    if let Some(cred) = cred {
        if let Some(pid) = cred.pid() {
            peer.pid = pid.cast_unsigned();
        }
        peer.user = user_name(cred.uid());
    }
    peer.from = from;
    let clients = shared.clients.clone();
    let Some((id, stats)) = clients.join(&peer, control) else {
        let most = clients.limits.max_clients;
        return refuse(
            &mut writer,
            format!("the daemon has {most} clients already"),
        )
        .await;
    };
    tracing::info!("attached: client {id}, {peer}");
    let hub = &shared.hub;
    // Subscribed before the snapshot is taken: nothing falls between.
    let bus = hub.subscribe();
    let welcome_state = hub.snapshot();
    let welcome = FromDaemon::Welcome {
        version: VERSION,
        client: id,
        lab: shared.lab.clone(),
        pid: std::process::id(),
        snapshot: Box::new(welcome_state.clone()),
        history: hub.history(),
    };
    // A client that says hello and never reads must not hold its welcome
    // (a whole traffic history) forever.
    let sent = tokio::time::timeout(clients.limits.cut_off_after, writer.send(&welcome)).await;
    if !matches!(sent, Ok(Ok(()))) {
        tracing::warn!("client {id} ({peer}) did not take its welcome; dropped");
        clients.leave(id);
        return;
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    let outbox = Outbox {
        tx,
        stats: stats.clone(),
        limit: clients.limits.queue_bytes,
    };
    let gone = CancellationToken::new();
    let writing = {
        let gone = gone.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                // What queued up meanwhile goes in the same write.
                let mut burst = vec![first];
                while burst.len() < 256
                    && let Ok(more) = rx.try_recv()
                {
                    burst.push(more);
                }
                let len: usize = burst.iter().map(Bytes::len).sum();
                let sent = writer.send_all(burst).await;
                stats.queued.fetch_sub(len, Ordering::Relaxed);
                if sent.is_err() {
                    break;
                }
            }
            gone.cancel();
        })
    };
    let origin = Origin::Attached {
        client: format!("#{id} {peer}"),
    };
    let outbox = Arc::new(outbox);
    let mut control_changes = clients.control.subscribe();
    // Every client learns who holds control now, then at each change.
    control_changes.mark_changed();
    let in_flight = Arc::new(Semaphore::new(clients.limits.requests_in_flight));
    let mut follow = Follow::new(events, bus, clients.limits.cut_off_after, welcome_state);
    let mut tick = tokio::time::interval(STATE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let reason = loop {
        tokio::select! {
            () = stop.cancelled() => {
                let reason = "the daemon is stopping".to_string();
                outbox.push(encode(&FromDaemon::Refused { reason: reason.clone() }));
                break reason;
            }
            () = gone.cancelled() => break "the connection closed".to_string(),
            frame = reader.next() => match frame {
                Ok(frame) => {
                    // A client that floods requests waits for its own.
                    let permit = match &frame {
                        ToDaemon::Request { .. } | ToDaemon::Line { .. } => {
                            in_flight.clone().acquire_owned().await.ok()
                        }
                        _ => None,
                    };
                    handle(frame, id, &peer, &origin, &shared, &outbox, permit);
                }
                Err(WireError::Closed) => break "detached".to_string(),
                Err(e) => {
                    outbox.push(encode(&FromDaemon::Refused { reason: e.to_string() }));
                    break format!("closed: {e}");
                }
            },
            Ok(()) = control_changes.changed() => {
                let holder = control_changes.borrow_and_update().clone();
                let yours = holder.as_ref().is_some_and(|(h, _)| *h == id);
                outbox.push(encode(&FromDaemon::Control {
                    holder: holder.map(|(_, p)| p),
                    yours,
                }));
            }
            event = follow.next() => {
                if !follow.forward(event, &outbox) {
                    break "events closed".to_string();
                }
            }
            _ = tick.tick(), if follow.enabled => {
                if let Err(reason) = follow.keep_up(hub, &outbox) {
                    tracing::warn!("client {id} ({peer}) cut off: {reason}");
                    break format!("cut off: {reason}");
                }
            }
        }
    };
    clients.leave(id);
    drop(outbox);
    // What is queued (a last reply, `refused`) may still go out.
    let _ = tokio::time::timeout(Duration::from_secs(1), writing).await;
    tracing::info!("client {id} ({peer}) {reason}");
}

/// Send `refused` and end the connection.
async fn refuse<W: tokio::io::AsyncWrite + Unpin>(writer: &mut Writer<W>, reason: String) {
    tracing::warn!("control socket: refused a client: {reason}");
    let _ = writer.send(&FromDaemon::Refused { reason }).await;
}

/// The token, compared without stopping at the first difference.
fn same_token(wanted: &str, given: &str) -> bool {
    wanted.len() == given.len()
        && wanted
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn user_name(uid: u32) -> String {
    nix::unistd::User::from_uid(uid.into())
        .ok()
        .flatten()
        .map_or_else(|| format!("uid {uid}"), |u| u.name)
}

/// Carry out one frame from client `id`; the answer is queued.
fn handle(
    frame: ToDaemon,
    id: u64,
    peer: &Peer,
    origin: &Origin,
    shared: &Arc<Shared>,
    outbox: &Arc<Outbox>,
    permit: Option<OwnedSemaphorePermit>,
) {
    let answer = |id_of_request: u64, reply: Reply| FromDaemon::Reply {
        id: id_of_request,
        ok: reply.ok,
        text: reply.text,
    };
    match frame {
        ToDaemon::Hello { .. } => {
            outbox.push(encode(&FromDaemon::Refused {
                reason: "hello is sent once".into(),
            }));
        }
        ToDaemon::TakeControl => {
            tracing::info!("client {id} ({peer}) took control");
            shared.clients.take_control(id, peer);
        }
        ToDaemon::History { id: request, link } => {
            let chunks = shared
                .hub
                .tap(&link)
                .map(labdeck_core::link::TrafficTap::history);
            let chunks = chunks.ok_or_else(|| format!("unknown link {link:?}"));
            outbox.push(encode(&FromDaemon::History {
                id: request,
                chunks,
            }));
        }
        ToDaemon::Request {
            id: request_id,
            request,
        } => {
            if let Err(refusal) = guard(&shared.clients, id, &request) {
                outbox.push(encode(&answer(request_id, Reply::fail(refusal))));
                return;
            }
            let (shared, outbox, origin) = (shared.clone(), outbox.clone(), origin.clone());
            tokio::spawn(async move {
                let _permit = permit;
                let reply = Reply::from_result(shared.hub.request_as(origin, request).await);
                outbox.push(encode(&answer(request_id, reply)));
            });
        }
        ToDaemon::Line {
            id: request_id,
            line,
        } if line.trim() == "clients" => {
            let text = describe_clients(&shared.clients, id);
            outbox.push(encode(&answer(request_id, Reply::ok(text))));
        }
        ToDaemon::Line {
            id: request_id,
            line,
        } => {
            if let Ok(Some(Line::Request(request))) = command::parse(&line)
                && let Err(refusal) = guard(&shared.clients, id, &request)
            {
                outbox.push(encode(&answer(request_id, Reply::fail(refusal))));
                return;
            }
            let (shared, outbox, origin) = (shared.clone(), outbox.clone(), origin.clone());
            tokio::spawn(async move {
                let _permit = permit;
                let reply = command::execute(&shared.hub, origin, &line)
                    .await
                    .unwrap_or_else(|| Reply::ok(""));
                outbox.push(encode(&answer(request_id, reply)));
            });
        }
    }
}

/// Refuse what changes the lab unless `id` may write (an emergency stop
/// always goes through).
fn guard(clients: &Clients, id: u64, request: &Request) -> Result<(), String> {
    if request.allowed_read_only() {
        return Ok(());
    }
    clients.may_write(id)
}

/// The event stream and state updates of one client, and how far behind
/// it is.
struct Follow {
    enabled: bool,
    bus: broadcast::Receiver<Event>,
    cut_off_after: Duration,
    dropped: u64,
    behind_since: Option<tokio::time::Instant>,
    /// The state this client has, as it was last sent; `None` after a lag.
    sent: Option<LabSnapshot>,
}

impl Follow {
    fn new(
        enabled: bool,
        bus: broadcast::Receiver<Event>,
        cut_off_after: Duration,
        welcome: LabSnapshot,
    ) -> Self {
        Self {
            enabled,
            bus,
            cut_off_after,
            dropped: 0,
            behind_since: None,
            sent: Some(welcome),
        }
    }

    async fn next(&mut self) -> Result<Event, broadcast::error::RecvError> {
        if !self.enabled {
            return std::future::pending().await;
        }
        self.bus.recv().await
    }

    /// Queue an event, or count it dropped; false when the bus closed.
    fn forward(
        &mut self,
        event: Result<Event, broadcast::error::RecvError>,
        outbox: &Outbox,
    ) -> bool {
        match event {
            Ok(event) => {
                let frame = encode(&FromDaemon::Event {
                    event: Box::new(event),
                });
                if self.dropped > 0 || !outbox.offer(frame) {
                    self.drop_events(1, outbox);
                }
                true
            }
            // The bus itself went on without us: the same as dropping.
            Err(broadcast::error::RecvError::Lagged(n)) => {
                self.drop_events(n, outbox);
                true
            }
            Err(broadcast::error::RecvError::Closed) => false,
        }
    }

    fn drop_events(&mut self, n: u64, outbox: &Outbox) {
        self.dropped += n;
        outbox.stats.dropped.fetch_add(n, Ordering::Relaxed);
    }

    /// Send the lab's state when it changed, resynchronise a client that
    /// dropped events once it has room, and cut it off if it stays behind.
    fn keep_up(&mut self, hub: &Hub, outbox: &Outbox) -> Result<(), String> {
        let now = tokio::time::Instant::now();
        if outbox.behind() || self.dropped > 0 && outbox.queued() > 0 {
            let since = *self.behind_since.get_or_insert(now);
            if now - since >= self.cut_off_after {
                return Err(format!(
                    "{} event(s) dropped, {} bytes still queued after {:.1} s behind",
                    self.dropped,
                    outbox.queued(),
                    self.cut_off_after.as_secs_f64()
                ));
            }
            return Ok(());
        }
        self.behind_since = None;
        if self.dropped > 0 {
            outbox.push(encode(&FromDaemon::Lagged {
                dropped: self.dropped,
            }));
            self.dropped = 0;
            self.sent = None;
        }
        let now = hub.snapshot();
        let changes = self
            .sent
            .as_ref()
            .and_then(|before| Changes::between(before, &now));
        match changes {
            Some(changes) if changes.is_empty() => {}
            Some(changes) => {
                outbox.push(encode(&FromDaemon::Changes {
                    changes: Box::new(changes),
                }));
            }
            None => {
                outbox.push(encode(&FromDaemon::State {
                    snapshot: Box::new(now.clone()),
                }));
            }
        }
        self.sent = Some(now);
        Ok(())
    }
}
