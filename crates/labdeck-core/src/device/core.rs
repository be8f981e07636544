//! What every driver shares: the session it is handed by its connection
//! manager, the request queue, the property sheet with validation, the
//! task book, the published snapshot — and the actor loop that polls,
//! serves requests and runs tasks while connected.

use std::collections::{BTreeMap, VecDeque};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, sleep_until};
use tokio_util::sync::CancellationToken;

use super::record::Recorder;
use super::runner::{self, Step, TaskBook, TaskSettings};
use super::task::{Column, TaskEvent, TaskSpec, TaskState, Technique};
use super::{
    AttrError, DeviceCommand, DeviceHandle, DeviceRequest, DeviceSnapshot, PropState,
    PropertySheet, PropertyUpdate, Value,
};
use crate::bus::{Event, EventBus};
use crate::connection::Session;
use crate::reply::Reply;

pub(crate) struct DeviceCore {
    pub name: Arc<str>,
    pub link: Arc<str>,
    pub driver: &'static str,
    sessions: mpsc::Receiver<Session>,
    sessions_open: bool,
    pub session: Option<Session>,
    requests: Option<mpsc::Receiver<DeviceRequest>>,
    state: watch::Sender<DeviceSnapshot>,
    pub sheet: PropertySheet,
    pub bus: EventBus,
    pub tasks: TaskBook,
    cancel: CancellationToken,
}

/// What a driver is built from besides its own settings.
pub struct DriverParts {
    pub name: Arc<str>,
    pub link: Arc<str>,
    pub sessions: mpsc::Receiver<Session>,
    pub bus: EventBus,
    pub tasks: TaskSettings,
    pub cancel: CancellationToken,
}

impl DeviceCore {
    pub fn new(
        parts: DriverParts,
        driver: &'static str,
        sheet: PropertySheet,
        techniques: Vec<Technique>,
    ) -> (Self, DeviceHandle) {
        let snapshot = DeviceSnapshot {
            name: parts.name.clone(),
            driver,
            link: parts.link.clone(),
            online: false,
            summary: "offline".into(),
            properties: sheet.all().to_vec(),
            alarms: Vec::new(),
            techniques: techniques.clone(),
            tasks: Vec::new(),
        };
        let (state, state_rx) = watch::channel(snapshot);
        let (tx, requests) = mpsc::channel(32);
        let handle = DeviceHandle::new(parts.name.clone(), tx, state_rx);
        let core = Self {
            name: parts.name,
            link: parts.link,
            driver,
            sessions: parts.sessions,
            sessions_open: true,
            session: None,
            requests: Some(requests),
            state,
            sheet,
            bus: parts.bus,
            tasks: TaskBook::new(parts.tasks, techniques),
            cancel: parts.cancel,
        };
        (core, handle)
    }

    pub fn set(&mut self, name: &str, value: Value, state: PropState) {
        if let Some(update) = self.sheet.set(name, value, state) {
            self.announce(update);
        }
    }

    pub fn set_state(&mut self, name: &str, state: PropState) {
        if let Some(update) = self.sheet.set_state(name, state) {
            self.announce(update);
        }
    }

    fn announce(&self, update: PropertyUpdate) {
        self.bus.publish(Event::Property {
            device: self.name.clone(),
            update,
        });
    }

    /// The link went down: every value is stale.
    pub fn mark_idle(&mut self) {
        for update in self.sheet.mark_all(PropState::Idle) {
            self.announce(update);
        }
    }

    /// Drop the session; whether there was one.
    pub fn take_session(&mut self) -> bool {
        let had = self.session.take().is_some();
        if had {
            tracing::info!("{}: link down", self.name);
        }
        had
    }

    fn offline_reply(&self) -> Reply {
        Reply::fail(format!(
            "{} is not connected (link {})",
            self.name, self.link
        ))
    }

    /// Check a write before the driver sees it.
    fn check_write(&self, attr: &str, text: &str, force: bool) -> Result<Value, AttrError> {
        let Some(prop) = self.sheet.get(attr) else {
            return Err(AttrError::Unknown {
                device: self.name.to_string(),
                attr: attr.to_string(),
                known: self.sheet.names().collect::<Vec<_>>().join(", "),
            });
        };
        let value = prop.validate(text)?;
        if !force && let Some(busy) = self.tasks.busy(attr) {
            return Err(busy);
        }
        Ok(value)
    }

    /// The status report: every property marked for it.
    fn status(&self) -> Reply {
        let running = self
            .tasks
            .running
            .as_ref()
            .map(|r| r.snap.spec.name.clone());
        let mut data = serde_json::Map::new();
        for p in self.sheet.all().iter().filter(|p| p.status) {
            data.insert(
                p.name.clone(),
                serde_json::to_value(&p.value).unwrap_or_default(),
            );
        }
        data.insert(
            "running".into(),
            serde_json::to_value(&running).unwrap_or_default(),
        );
        let line = self
            .sheet
            .all()
            .iter()
            .filter(|p| p.status)
            .map(|p| format!("{} {}", p.name, p.display()))
            .collect::<Vec<_>>()
            .join(", ");
        let task = running.map_or_else(|| "idle".to_string(), |t| format!("running '{t}'"));
        Reply::ok(format!("{}: {task}; {line}", self.name)).with_data(data)
    }

    pub fn publish(&self, online: bool, summary: String, alarms: Vec<String>) {
        self.state.send_replace(DeviceSnapshot {
            name: self.name.clone(),
            driver: self.driver,
            link: self.link.clone(),
            online,
            summary,
            properties: self.sheet.all().to_vec(),
            alarms,
            techniques: self.tasks.techniques.clone(),
            tasks: self.tasks.snapshots(),
        });
    }
}

impl Drop for DeviceCore {
    /// A driver that dies (a panic the supervisor caught) must not leave
    /// tasks "running" forever: they fail, their files are closed, and the
    /// last snapshot says so.
    fn drop(&mut self) {
        let why = if std::thread::panicking() {
            "the driver crashed"
        } else {
            "the driver stopped"
        };
        if self.tasks.abandon(why, &self.bus, &self.name) {
            let tasks = self.tasks.snapshots();
            self.state.send_modify(|s| {
                s.tasks = tasks;
                s.online = false;
                s.summary = why.to_string();
            });
        }
    }
}

/// What a driver does; `drive` runs the loop around it.
pub(crate) trait Driver {
    fn core(&mut self) -> &mut DeviceCore;
    fn poll_interval(&self) -> Duration;
    /// A new session is in `core().session`.
    async fn attached(&mut self);
    /// The session is gone (already taken from the core).
    fn detached(&mut self);
    /// Refresh the live values (also the one-shot `measure`).
    async fn poll(&mut self);
    /// Write a validated value.
    async fn set_attr(&mut self, attr: &str, value: Value) -> Reply;
    async fn action(&mut self, name: &str, args: &[String]) -> Reply;
    /// The columns a technique records.
    fn columns(&self, task: &TaskSpec) -> Vec<Column>;
    /// Bring the device into the task's starting state.
    async fn prepare_task(
        &mut self,
        task: &TaskSpec,
        params: &BTreeMap<String, Value>,
    ) -> Result<(), String>;
    /// One sample, a value per column.
    async fn do_task(
        &mut self,
        task: &TaskSpec,
        elapsed: f64,
    ) -> Result<Vec<Option<Value>>, String>;
    /// The technique is over (completed, cancelled or failed): stop what
    /// it started; may add files to the recording.
    async fn end_task(
        &mut self,
        task: &TaskSpec,
        state: TaskState,
        recorder: Option<&mut Recorder>,
    ) -> Result<(), String>;
    /// The documented safe state; what it did.
    async fn safe_state(&mut self) -> Result<String, String>;
    fn publish(&self);
    /// Whether the link's bytes come unasked (a stream to follow rather
    /// than replies to queries); then `received` gets every chunk.
    fn streaming(&self) -> bool {
        false
    }
    async fn received(&mut self, _chunk: crate::link::Chunk) {}
}

enum Wake {
    Stop,
    Session(Option<Session>),
    Closed,
    Request(Option<DeviceRequest>),
    Task,
    Poll,
    Chunk(crate::link::Chunk),
}

/// The driver actor: sessions from the connection manager, requests from
/// the hub, polls at the driver's period and tasks while connected.
pub(crate) async fn drive<D: Driver>(mut driver: D) -> Result<(), Infallible> {
    let mut requests = driver
        .core()
        .requests
        .take()
        .expect("a driver is driven once");
    let mut stash: VecDeque<DeviceRequest> = VecDeque::new();
    let mut poll = tokio::time::interval(driver.poll_interval());
    poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        let core = driver.core();
        if core.session.is_some() && core.tasks.running.is_none() && core.tasks.has_queued() {
            runner::start_next(&mut driver).await;
            continue;
        }
        if let Some(request) = stash.pop_front() {
            serve(&mut driver, request).await;
            continue;
        }
        let streaming = driver.streaming();
        let core = driver.core();
        let closed = core.session.as_ref().map(|s| s.closed.clone());
        let connected = core.session.is_some();
        let due = core.tasks.due();
        let rx = core
            .session
            .as_mut()
            .filter(|_| streaming)
            .map(|s| &mut s.rx);
        let wake = tokio::select! {
            biased;
            _ = core.cancel.cancelled() => Wake::Stop,
            session = core.sessions.recv(), if core.sessions_open => Wake::Session(session),
            _ = cancelled(closed.as_ref()) => Wake::Closed,
            request = requests.recv() => Wake::Request(request),
            _ = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => Wake::Task,
            Some(chunk) = next_chunk(rx) => Wake::Chunk(chunk),
            _ = poll.tick(), if connected => Wake::Poll,
        };
        match wake {
            Wake::Stop | Wake::Request(None) => break,
            Wake::Session(Some(session)) => {
                tracing::info!("{}: link up on {}", core.name, session.endpoint);
                core.session = Some(session);
                driver.attached().await;
                poll.reset();
            }
            Wake::Session(None) => core.sessions_open = false,
            Wake::Closed => {
                if core.take_session() {
                    driver.detached();
                }
            }
            Wake::Request(Some(request)) => serve(&mut driver, request).await,
            Wake::Task => step(&mut driver, &mut requests, &mut stash).await,
            Wake::Poll => driver.poll().await,
            Wake::Chunk(chunk) => driver.received(chunk).await,
        }
        // A link lost under a running task fails it, with the reason.
        if driver.core().session.is_none() && driver.core().tasks.running.is_some() {
            runner::end_running(
                &mut driver,
                TaskEvent::Fail,
                Some("the link was lost".into()),
            )
            .await;
        }
    }
    let shutting_down = "labdeck is shutting down";
    if driver.core().tasks.running.is_some() {
        runner::end_running(&mut driver, TaskEvent::Cancel, Some(shutting_down.into())).await;
    }
    let core = driver.core();
    let bus = core.bus.clone();
    let name = core.name.clone();
    core.tasks.cancel_all_queued(&bus, &name, shutting_down);
    driver.core().session = None;
    Ok(())
}

/// Run what the task runner has due: a sample (raced against requests, so a
/// cancel aborts it at once) or the end of the task.
async fn step<D: Driver>(
    driver: &mut D,
    requests: &mut mpsc::Receiver<DeviceRequest>,
    stash: &mut VecDeque<DeviceRequest>,
) {
    match runner::next_step(&driver.core().tasks, Instant::now()) {
        Step::Nothing => {}
        Step::End => runner::end_running(driver, TaskEvent::Finish, None).await,
        Step::Sample(spec, elapsed) => {
            let running_name = spec.name.clone();
            let running_id = driver.core().tasks.running.as_ref().map(|r| r.snap.id);
            let outcome = {
                let sample = driver.do_task(&spec, elapsed);
                tokio::pin!(sample);
                loop {
                    tokio::select! {
                        biased;
                        request = requests.recv() => match request {
                            Some(r) if cancels(&r, &running_name, running_id) => break Err(Some(r)),
                            Some(r) => stash.push_back(r),
                            None => break Err(None),
                        },
                        result = &mut sample => break Ok(result),
                    }
                }
            };
            match outcome {
                Ok(Ok(values)) => {
                    if let Err(reason) = runner::record_sample(driver, elapsed, values) {
                        runner::end_running(driver, TaskEvent::Fail, Some(reason)).await;
                    } else {
                        driver.publish();
                    }
                }
                Ok(Err(reason)) => {
                    runner::end_running(driver, TaskEvent::Fail, Some(reason)).await;
                }
                // A cancel arrived mid-sample: the sample is dropped.
                Err(Some(request)) => serve(driver, request).await,
                Err(None) => {}
            }
        }
    }
}

fn cancels(request: &DeviceRequest, name: &str, id: Option<u64>) -> bool {
    match &request.command {
        DeviceCommand::Cancel { task: None } | DeviceCommand::EmergencyStop => true,
        DeviceCommand::Cancel { task: Some(key) } => match key.strip_prefix('#') {
            Some(n) => n.parse().ok() == id,
            None => key == name,
        },
        _ => false,
    }
}

async fn serve<D: Driver>(driver: &mut D, request: DeviceRequest) {
    let reply = command(driver, request.command).await;
    let _ = request.reply.send(reply);
}

async fn command<D: Driver>(driver: &mut D, command: DeviceCommand) -> Reply {
    let core = driver.core();
    let name = core.name.clone();
    match command {
        DeviceCommand::Status => core.status(),
        DeviceCommand::Submit(spec) => {
            let columns = driver.columns(&spec);
            let core = driver.core();
            let task = spec.name.clone();
            match core.tasks.submit(spec, &core.sheet, &name, columns) {
                Ok((id, position)) => {
                    let waiting = if core.session.is_none() {
                        " (waits for the link)"
                    } else {
                        ""
                    };
                    driver.publish();
                    Reply::ok(format!(
                        "{name}: task #{id} '{task}' queued, position {position}{waiting}"
                    ))
                    .with_data(serde_json::json!({ "id": id }))
                }
                Err(reason) => Reply::fail(format!("{name}: {reason}")),
            }
        }
        DeviceCommand::Cancel { task } => {
            if core.tasks.names_running(task.as_deref()) {
                let what = core
                    .tasks
                    .running
                    .as_ref()
                    .map(|r| r.snap.spec.name.clone())
                    .unwrap_or_default();
                runner::end_running(
                    driver,
                    TaskEvent::Cancel,
                    Some("cancelled by the operator".into()),
                )
                .await;
                return Reply::ok(format!(
                    "{name}: task '{what}' cancelled; device in its safe state"
                ));
            }
            let Some(key) = task else {
                return Reply::fail(format!("{name}: no task is running"));
            };
            let bus = core.bus.clone();
            match core.tasks.cancel_queued(&key, &bus, &name) {
                Some(snap) => {
                    driver.publish();
                    Reply::ok(format!(
                        "{name}: queued task #{} '{}' cancelled",
                        snap.id, snap.spec.name
                    ))
                }
                None => Reply::fail(format!("{name}: no running or queued task '{key}'")),
            }
        }
        DeviceCommand::Mirror { prefix, properties } => {
            core.sheet.remove_prefix(&prefix);
            for mut p in properties {
                p.writable = false;
                p.mirror = true;
                if let Some(update) = core.sheet.upsert(p) {
                    core.announce(update);
                }
            }
            driver.publish();
            Reply::ok(format!("{name}: mirrored properties updated"))
        }
        DeviceCommand::SafeState | DeviceCommand::EmergencyStop if core.session.is_none() => {
            core.offline_reply()
        }
        DeviceCommand::SafeState => {
            if core.tasks.running.is_some() {
                runner::end_running(driver, TaskEvent::Cancel, Some("device reset".into())).await;
            }
            match driver.safe_state().await {
                Ok(what) => Reply::ok(format!("{name}: safe state: {what}")),
                Err(e) => Reply::fail(format!("{name}: safe state failed: {e}")),
            }
        }
        DeviceCommand::EmergencyStop => {
            let bus = core.bus.clone();
            let dropped = core.tasks.cancel_all_queued(&bus, &name, "emergency stop");
            if driver.core().tasks.running.is_some() {
                runner::end_running(driver, TaskEvent::Cancel, Some("emergency stop".into())).await;
            }
            let outcome = driver.safe_state().await;
            driver.publish();
            match outcome {
                Ok(what) => Reply::ok(format!(
                    "{name}: stopped ({dropped} queued task(s) cancelled); safe state: {what}"
                )),
                Err(e) => Reply::fail(format!("{name}: emergency stop: safe state failed: {e}")),
            }
        }
        _ if core.session.is_none() => core.offline_reply(),
        DeviceCommand::Set { attr, value, force } => match core.check_write(&attr, &value, force) {
            Ok(value) => driver.set_attr(&attr, value).await,
            Err(e) => Reply::fail(format!("{name}: {e}")),
        },
        DeviceCommand::Measure => {
            driver.poll().await;
            let data: serde_json::Map<String, serde_json::Value> = driver
                .core()
                .sheet
                .all()
                .iter()
                .filter_map(|p| {
                    Some((
                        p.name.clone(),
                        serde_json::to_value(p.value.as_ref()?).ok()?,
                    ))
                })
                .collect();
            Reply::ok(format!("{name}: measured")).with_data(data)
        }
        DeviceCommand::Action { name: action, args } => driver.action(&action, &args).await,
    }
}

/// The next chunk of a followed stream; pending when not following.
async fn next_chunk(
    rx: Option<&mut mpsc::Receiver<crate::link::Chunk>>,
) -> Option<crate::link::Chunk> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn cancelled(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}
