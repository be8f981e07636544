//! The connection manager actor: owns one link's lifecycle. It loops on its
//! command channel, results of open attempts, link losses, and the retry and
//! stability timers; every transition is published with a timestamp and a
//! reason (`specs/connection-manager.md` §2).

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use tokio::task::{AbortHandle, JoinHandle};
use tokio::time::{Instant, sleep_until};
use tokio_util::sync::CancellationToken;

use super::backoff::{Jitter, RetryPolicy};
use super::machine::{Action, Effect, Input, Machine, State, StateKind, Step};
use super::session::{self, LinkLost, LinkWriter, Session};
use crate::alarm::{Alarm, AlarmKind};
use crate::error::HubError;
use crate::link::{ConnectError, LinkError, Opener, TrafficTap, Transport, TransportKind};
use crate::publish::Publisher;
use crate::time::Timestamp;

/// Transitions kept for the UI timeline.
pub const HISTORY: usize = 50;

/// A user command to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
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

/// What a connection manager reports.
#[derive(Debug, Clone)]
pub enum ConnectionEvent {
    /// It changed state.
    Transition {
        connection: Arc<str>,
        record: TransitionRecord,
    },
    /// The link's alarm was raised or cleared.
    Alarm(Alarm),
}

/// One recorded transition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TransitionRecord {
    pub t: Timestamp,
    pub from: StateKind,
    pub to: StateKind,
    /// What caused it (`connect`, `link-lost`, `retry-due`, …).
    pub input: Cow<'static, str>,
    pub reason: String,
}

/// Counters over the connection's life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub attempts: u64,
    pub successes: u64,
    pub failures: u64,
    pub losses: u64,
    pub alarms: u64,
}

/// What the UI shows of a connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionSnapshot {
    pub name: Arc<str>,
    pub transport: TransportKind,
    pub endpoint: String,
    /// The simulator at the other end, when it is one of labdeck's.
    pub simulator: Option<Arc<str>>,
    pub state: StateKind,
    pub attempt: u32,
    /// When the next retry happens, while recovering.
    pub retry_at: Option<Timestamp>,
    /// Since when the state holds.
    pub since: Timestamp,
    pub last_error: Option<String>,
    /// Active alarm: why the link went down, until it is stable again.
    pub alarm: Option<Alarm>,
    pub counters: Counters,
    /// The last transitions, oldest first.
    pub transitions: Vec<TransitionRecord>,
}

/// The result of an open attempt, fed back into the actor.
#[derive(Debug)]
struct OpenResult {
    epoch: u64,
    result: Result<Transport, ConnectError>,
}

struct Request {
    command: ConnCommand,
    reply: Option<oneshot::Sender<Result<StateKind, HubError>>>,
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

    fn gone(&self) -> HubError {
        HubError::Gone {
            actor: format!("connection {}", self.name),
        }
    }

    /// Send a command and wait for the state it led to.
    pub async fn command(&self, command: ConnCommand) -> Result<StateKind, HubError> {
        let (reply, rx) = oneshot::channel();
        let request = Request {
            command,
            reply: Some(reply),
        };
        self.tx.send(request).await.map_err(|_| self.gone())?;
        rx.await.map_err(|_| self.gone())?
    }

    /// Send a command without waiting (for UIs that must never block).
    pub fn post(&self, command: ConnCommand) -> Result<(), HubError> {
        self.tx
            .try_send(Request {
                command,
                reply: None,
            })
            .map_err(|_| self.gone())
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

/// What a connection manager is built from.
pub struct LinkParts {
    pub name: Arc<str>,
    pub opener: Arc<dyn Opener>,
    pub policy: RetryPolicy,
    pub tap: TrafficTap,
    pub out: Publisher<ConnectionEvent>,
    /// Receives every session the link opens (the driver on top); without
    /// it the link only feeds its traffic tap.
    pub sessions: Option<mpsc::Sender<Session>>,
    /// The simulator at the other end, for display.
    pub simulator: Option<Arc<str>>,
    pub cancel: CancellationToken,
}

/// The actor. Build with [`ConnectionManager::new`], then `run` it.
pub struct ConnectionManager {
    name: Arc<str>,
    machine: Machine,
    opener: Arc<dyn Opener>,
    tap: TrafficTap,
    out: Publisher<ConnectionEvent>,
    requests: mpsc::Receiver<Request>,
    opened_tx: mpsc::Sender<OpenResult>,
    opened: mpsc::Receiver<OpenResult>,
    losses_tx: mpsc::Sender<LinkLost>,
    losses: mpsc::Receiver<LinkLost>,
    sessions: Option<mpsc::Sender<Session>>,
    simulator: Option<Arc<str>>,
    state: watch::Sender<ConnectionSnapshot>,
    open_task: Option<AbortHandle>,
    pending: Option<Transport>,
    live: Option<Live>,
    cancel: CancellationToken,
    history: VecDeque<TransitionRecord>,
    counters: Counters,
    since: Timestamp,
    endpoint: String,
    alarm: Option<Alarm>,
}

impl ConnectionManager {
    /// Create the actor and its handle.
    pub fn new(parts: LinkParts) -> (Self, ConnectionHandle) {
        let LinkParts {
            name,
            opener,
            policy,
            tap,
            out,
            sessions,
            simulator,
            cancel,
        } = parts;
        let (tx, requests) = mpsc::channel(32);
        let (opened_tx, opened) = mpsc::channel(8);
        let (losses_tx, losses) = mpsc::channel(64);
        let since = Timestamp::now();
        let endpoint = opener.endpoint();
        let snapshot = ConnectionSnapshot {
            name: name.clone(),
            transport: opener.kind(),
            endpoint: endpoint.clone(),
            simulator: simulator.clone(),
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
            out,
            requests,
            opened_tx,
            opened,
            losses_tx,
            losses,
            sessions,
            simulator,
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

    pub async fn run(mut self) -> Result<(), std::convert::Infallible> {
        loop {
            let retry = self.machine.retry_due();
            let stable = self.machine.stable_due();
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => {
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
                            Effect::Rejected => Err(HubError::TornDown {
                                link: self.name.to_string(),
                            }),
                            _ => Ok(step.to),
                        };
                        let _ = reply.send(result);
                    }
                }
                Some(opened) = self.opened.recv() => self.opened(opened).await,
                Some(lost) = self.losses.recv() => self.lost(lost).await,
                () = sleep_until(retry.map_or_else(Instant::now, |(_, at)| at)), if retry.is_some() => {
                    if let Some((epoch, _)) = retry {
                        self.feed(Input::RetryDue { epoch }).await;
                    }
                }
                () = sleep_until(stable.map_or_else(Instant::now, |(_, at)| at)), if stable.is_some() => {
                    if let Some((epoch, _)) = stable {
                        self.feed(Input::Stable { epoch }).await;
                    }
                }
            }
        }
    }

    async fn opened(&mut self, OpenResult { epoch, result }: OpenResult) {
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

    async fn lost(&mut self, LinkLost { epoch, error }: LinkLost) {
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
                let opened = self.opened_tx.clone();
                let task = tokio::spawn(async move {
                    let result = match tokio::time::timeout(limit, open).await {
                        Ok(result) => result,
                        Err(_) => Err(ConnectError::Timeout { endpoint }),
                    };
                    let _ = opened.send(OpenResult { epoch, result }).await;
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
                self.endpoint.clone_from(&transport.endpoint);
                let closed = self.cancel.child_token();
                let (session, reader) = session::start(
                    transport.stream,
                    transport.endpoint,
                    epoch,
                    self.tap.clone(),
                    self.losses_tx.clone(),
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
    /// A new reason while raised is the same alarm, raised again.
    fn set_alarm(&mut self, reason: Option<String>) {
        if self.alarm.as_ref().map(|a| &a.reason) == reason.as_ref() {
            return;
        }
        let change = match (self.alarm.take(), reason) {
            (_, Some(reason)) => {
                let raised = Alarm::new(&self.name, AlarmKind::Link, true, reason);
                self.alarm = Some(raised.clone());
                Some(raised)
            }
            (Some(old), None) => Some(Alarm {
                t: Timestamp::now(),
                active: false,
                ..old
            }),
            (None, None) => None,
        };
        if let Some(alarm) = change {
            self.out.publish(ConnectionEvent::Alarm(alarm));
        }
        self.publish();
    }

    fn record(&mut self, input: &'static str, step: &Step) {
        let input = Cow::Borrowed(input);
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
        self.out.publish(ConnectionEvent::Transition {
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
            simulator: self.simulator.clone(),
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
