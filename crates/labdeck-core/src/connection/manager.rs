//! The connection manager actor: owns one link's lifecycle. It loops on its
//! command channel, results of open attempts, link losses, and the retry and
//! stability timers; every transition is published with a timestamp and a
//! reason (`specs/connection-manager.md` §2).

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;
use std::time::Duration;
use thiserror::Error;
use tokio::sync::{mpsc, oneshot, watch};

use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::backoff::{Jitter, RetryPolicy};
use super::machine::{Action, Effect, Input, Machine, State, StateKind, Step};
use super::session::{self, LinkWriter, Session};
use crate::bus::{AlarmKind, Event, EventBus, Timestamp};
use crate::link::{ConnectError, LinkError, Opener, TrafficTap, Transport};

/// Transitions kept for the UI timeline.
pub const HISTORY: usize = 50;

/// A user command to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnCommand {
    Connect,
    Disconnect,
    Teardown,
    RetryNow,
}

impl ConnCommand {
    fn input(self) -> Input {
        match self {
            Self::Connect => Input::Connect,
            Self::Disconnect => Input::Disconnect,
            Self::Teardown => Input::Teardown,
            Self::RetryNow => Input::RetryNow,
        }
    }
}

#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum ConnectionError {
    #[error("connection {0} is torn down")]
    TornDown(Arc<str>),
    #[error("connection {0} is not running")]
    Gone(Arc<str>),
}

/// One recorded transition.
#[derive(Debug, Clone, Serialize)]
pub struct TransitionRecord {
    pub t: Timestamp,
    pub from: StateKind,
    pub to: StateKind,
    pub input: &'static str,
    pub reason: String,
}

/// Counters over the connection's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counters {
    pub attempts: u64,
    pub successes: u64,
    pub failures: u64,
    pub losses: u64,
    pub alarms: u64,
}

/// What the UI shows of a connection.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionSnapshot {
    pub name: Arc<str>,
    pub transport: &'static str,
    pub endpoint: String,
    pub state: StateKind,
    pub attempt: u32,
    /// When the next retry happens, while recovering.
    pub retry_at: Option<Timestamp>,
    /// Since when the state holds.
    pub since: Timestamp,
    pub last_error: Option<String>,
    /// Active alarm: why the link went down, until it is stable again.
    pub alarm: Option<String>,
    pub counters: Counters,
    /// The last transitions, oldest first.
    pub transitions: Vec<TransitionRecord>,
}

/// Results of actions, fed back into the actor.
#[derive(Debug)]
pub(crate) enum Internal {
    OpenResult {
        epoch: u64,
        result: Result<Transport, ConnectError>,
    },
    Lost {
        epoch: u64,
        error: LinkError,
    },
}

struct Request {
    command: ConnCommand,
    reply: Option<oneshot::Sender<Result<StateKind, ConnectionError>>>,
}

/// Cloneable handle to a connection manager.
#[derive(Debug, Clone)]
pub struct ConnectionHandle {
    name: Arc<str>,
    tx: mpsc::Sender<Request>,
    state: watch::Receiver<ConnectionSnapshot>,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.command)
    }
}

impl ConnectionHandle {
    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    /// Send a command and wait for the state it led to.
    pub async fn command(&self, command: ConnCommand) -> Result<StateKind, ConnectionError> {
        let (reply, rx) = oneshot::channel();
        let request = Request {
            command,
            reply: Some(reply),
        };
        self.tx
            .send(request)
            .await
            .map_err(|_| ConnectionError::Gone(self.name.clone()))?;
        rx.await
            .map_err(|_| ConnectionError::Gone(self.name.clone()))?
    }

    /// Send a command without waiting (for UIs that must never block).
    pub fn post(&self, command: ConnCommand) -> Result<(), ConnectionError> {
        self.tx
            .try_send(Request {
                command,
                reply: None,
            })
            .map_err(|_| ConnectionError::Gone(self.name.clone()))
    }

    pub fn snapshot(&self) -> ConnectionSnapshot {
        self.state.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<ConnectionSnapshot> {
        self.state.clone()
    }
}

/// The open link's parts the manager must close.
struct Live {
    closed: CancellationToken,
    writer: LinkWriter,
    reader: JoinHandle<()>,
}

/// The actor. Build with [`ConnectionManager::new`], then `run` it.
pub struct ConnectionManager {
    name: Arc<str>,
    machine: Machine,
    opener: Arc<dyn Opener>,
    tap: TrafficTap,
    bus: EventBus,
    requests: mpsc::Receiver<Request>,
    events_tx: mpsc::Sender<Internal>,
    events: mpsc::Receiver<Internal>,
    sessions: Option<mpsc::Sender<Session>>,
    state: watch::Sender<ConnectionSnapshot>,
    open_task: Option<AbortHandle>,
    pending: Option<Transport>,
    live: Option<Live>,
    cancel: CancellationToken,
    history: VecDeque<TransitionRecord>,
    counters: Counters,
    since: Timestamp,
    endpoint: String,
    alarm: Option<String>,
}

impl ConnectionManager {
    /// Create the actor and its handle. `sessions` receives every session
    /// the link opens (the driver on top); without it the link only feeds
    /// its traffic tap.
    pub fn new(
        name: Arc<str>,
        opener: Arc<dyn Opener>,
        policy: RetryPolicy,
        tap: TrafficTap,
        bus: EventBus,
        sessions: Option<mpsc::Sender<Session>>,
        cancel: CancellationToken,
    ) -> (Self, ConnectionHandle) {
        let (tx, requests) = mpsc::channel(32);
        let (events_tx, events) = mpsc::channel(64);
        let since = Timestamp::now();
        let endpoint = opener.endpoint();
        let snapshot = ConnectionSnapshot {
            name: name.clone(),
            transport: opener.kind(),
            endpoint: endpoint.clone(),
            state: StateKind::Ready,
            attempt: 0,
            retry_at: None,
            since,
            last_error: None,
            alarm: None,
            counters: Counters::default(),
            transitions: Vec::new(),
        };
        let (state, state_rx) = watch::channel(snapshot);
        let handle = ConnectionHandle {
            name: name.clone(),
            tx,
            state: state_rx,
        };
        let manager = Self {
            machine: Machine::new(policy, Jitter::from_entropy(&name)),
            name,
            opener,
            tap,
            bus,
            requests,
            events_tx,
            events,
            sessions,
            state,
            open_task: None,
            pending: None,
            live: None,
            cancel,
            history: VecDeque::with_capacity(HISTORY),
            counters: Counters::default(),
            since,
            endpoint,
            alarm: None,
        };
        (manager, handle)
    }

    pub async fn run(mut self) -> Result<(), ConnectionError> {
        loop {
            let retry = self.machine.retry_due();
            let stable = self.machine.stable_due();
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => {
                    self.feed(Input::Teardown).await;
                    return Ok(());
                }
                request = self.requests.recv() => {
                    let Some(request) = request else {
                        self.feed(Input::Teardown).await;
                        return Ok(());
                    };
                    let step = self.feed(request.command.input()).await;
                    if let Some(reply) = request.reply {
                        let result = match step.effect {
                            Effect::Rejected => Err(ConnectionError::TornDown(self.name.clone())),
                            _ => Ok(step.to),
                        };
                        let _ = reply.send(result);
                    }
                }
                Some(event) = self.events.recv() => self.internal(event).await,
                _ = sleep_until(retry.map_or_else(Instant::now, |(_, at)| at)), if retry.is_some() => {
                    if let Some((epoch, _)) = retry {
                        self.feed(Input::RetryDue { epoch }).await;
                    }
                }
                _ = sleep_until(stable.map_or_else(Instant::now, |(_, at)| at)), if stable.is_some() => {
                    if let Some((epoch, _)) = stable {
                        self.feed(Input::Stable { epoch }).await;
                    }
                }
            }
        }
    }

    async fn internal(&mut self, event: Internal) {
        match event {
            Internal::OpenResult { epoch, result } => {
                self.open_task = None;
                match result {
                    Ok(transport) => {
                        let endpoint = transport.endpoint.clone();
                        self.pending = Some(transport);
                        self.feed(Input::Opened { epoch, endpoint }).await;
                        // An open that completed after a disconnect is closed here.
                        self.pending = None;
                    }
                    Err(error) => {
                        self.feed(Input::OpenFailed { epoch, error }).await;
                    }
                }
            }
            Internal::Lost { epoch, error } => {
                let raised_by_driver = matches!(error, LinkError::Alarm(_));
                let reason = error.to_string();
                let step = self.feed(Input::LinkLost { epoch, error }).await;
                if step.effect == Effect::Changed {
                    if raised_by_driver {
                        self.counters.alarms += 1;
                    }
                    self.set_alarm(Some(reason));
                }
            }
        }
    }

    /// Run one input through the machine and carry out its actions.
    async fn feed(&mut self, input: Input) -> Step {
        let name = input.name();
        let step = self.machine.handle(input, Instant::now());
        if step.effect == Effect::Changed {
            match name {
                "open-failed" => self.counters.failures += 1,
                "link-lost" => self.counters.losses += 1,
                _ => {}
            }
        }
        for action in step.actions.clone() {
            self.act(action).await;
        }
        match step.effect {
            Effect::Changed => {
                self.record(name, &step);
                // An operator who disconnects has dealt with the alarm.
                if matches!(name, "disconnect" | "teardown") {
                    self.set_alarm(None);
                }
                self.publish();
            }
            // The link stayed up long enough: whatever took it down is over.
            Effect::Updated => {
                self.set_alarm(None);
                self.publish();
            }
            Effect::Stale => tracing::debug!("{}: {}", self.name, step.reason),
            Effect::NoOp | Effect::Rejected => {}
        }
        step
    }

    async fn act(&mut self, action: Action) {
        match action {
            Action::StartOpen { epoch } => {
                self.counters.attempts += 1;
                self.endpoint = self.opener.endpoint();
                let open = self.opener.open();
                let limit = self.machine.policy().open_timeout;
                let endpoint = self.endpoint.clone();
                let events = self.events_tx.clone();
                let task = tokio::spawn(async move {
                    let result = match tokio::time::timeout(limit, open).await {
                        Ok(result) => result,
                        Err(_) => Err(ConnectError::Timeout { endpoint }),
                    };
                    let _ = events.send(Internal::OpenResult { epoch, result }).await;
                });
                self.open_task = Some(task.abort_handle());
            }
            Action::AbortOpen => {
                if let Some(task) = self.open_task.take() {
                    task.abort();
                }
            }
            Action::StartSession { epoch } => {
                let Some(transport) = self.pending.take() else {
                    return;
                };
                self.counters.successes += 1;
                self.endpoint = transport.endpoint.clone();
                let closed = self.cancel.child_token();
                let (session, reader) = session::start(
                    transport.stream,
                    transport.endpoint,
                    epoch,
                    self.tap.clone(),
                    self.events_tx.clone(),
                    closed.clone(),
                );
                self.live = Some(Live {
                    closed,
                    writer: session.writer.clone(),
                    reader,
                });
                if let Some(sessions) = &self.sessions
                    && sessions.try_send(session).is_err()
                {
                    tracing::warn!("{}: the driver did not take the new session", self.name);
                }
            }
            Action::CloseSession => {
                if let Some(live) = self.live.take() {
                    live.closed.cancel();
                    live.writer.close().await;
                    // The read half closes when the reader task ends.
                    let _ = tokio::time::timeout(Duration::from_secs(1), live.reader).await;
                }
            }
        }
    }

    /// Raise or clear the connection's alarm, announcing changes.
    fn set_alarm(&mut self, alarm: Option<String>) {
        if self.alarm == alarm {
            return;
        }
        match (&self.alarm, &alarm) {
            (_, Some(reason)) => self
                .bus
                .alarm(&self.name, AlarmKind::Link, true, reason.clone()),
            (Some(old), None) => self
                .bus
                .alarm(&self.name, AlarmKind::Link, false, old.clone()),
            (None, None) => {}
        }
        self.alarm = alarm;
        self.publish();
    }

    fn record(&mut self, input: &'static str, step: &Step) {
        let t = Timestamp::now();
        self.since = t;
        let record = TransitionRecord {
            t,
            from: step.from,
            to: step.to,
            input,
            reason: step.reason.clone(),
        };
        tracing::info!(
            "{}: {} -> {} ({})",
            self.name,
            step.from,
            step.to,
            step.reason
        );
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(record.clone());
        self.bus.publish(Event::Transition {
            connection: self.name.clone(),
            record,
        });
    }

    fn publish(&self) {
        let now = Timestamp::now();
        let (attempt, retry_at, last_error) = match self.machine.state() {
            State::Connecting { attempt, .. } => (*attempt, None, None),
            State::Connected { attempt, .. } => (*attempt, None, None),
            State::Recovering {
                attempt,
                retry_at,
                last_error,
                ..
            } => (*attempt, Some(now.at(*retry_at)), Some(last_error.clone())),
            State::Disconnected { last_error } => (0, None, last_error.clone()),
            State::Ready | State::TornDown => (0, None, None),
        };
        self.state.send_replace(ConnectionSnapshot {
            name: self.name.clone(),
            transport: self.opener.kind(),
            endpoint: self.endpoint.clone(),
            state: self.machine.state().kind(),
            attempt,
            retry_at,
            since: self.since,
            last_error,
            alarm: self.alarm.clone(),
            counters: self.counters,
            transitions: self.history.iter().cloned().collect(),
        });
    }
}
