//! What every driver shares: the session it is handed by its connection
//! manager, the property sheet, the task book, the reporter and the
//! published snapshot — and the [`Driver`] trait the device actor runs.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::book::{TaskBook, TaskSettings};
use super::outcome::{ActionOutcome, DeviceOutcome};
use super::property::{PropState, PropertySheet, SheetChange, Value};
use super::record::Recorder;
use super::report::{DeviceEvent, DeviceReporter};
use super::task::{Column, TaskSpec, TaskState};
use super::{Capabilities, DeviceHandle, DeviceKind, DeviceRequest, DeviceSnapshot, Liveness};
use crate::alarm::{Alarm, Condition};
use crate::connection::Session;
use crate::error::HubError;
use crate::link::Chunk;
use crate::publish::Publisher;

/// Quiet properties publish a change at most this often.
const QUIET_PERIOD: Duration = Duration::from_secs(1);

/// What a driver is built from besides its own settings.
pub struct DriverParts {
    pub name: Arc<str>,
    pub link: Arc<str>,
    pub sessions: mpsc::Receiver<Session>,
    pub out: Publisher<DeviceEvent>,
    pub tasks: TaskSettings,
    /// Where task states are kept beyond the process, if anywhere.
    pub journal: Option<Arc<dyn super::TaskJournal>>,
    pub cancel: CancellationToken,
}

pub(crate) struct DeviceCore {
    pub name: Arc<str>,
    pub link: Arc<str>,
    pub kind: DeviceKind,
    pub(super) sessions: mpsc::Receiver<Session>,
    pub(super) sessions_open: bool,
    pub session: Option<Session>,
    pub(super) requests: Option<mpsc::Receiver<DeviceRequest>>,
    state: watch::Sender<DeviceSnapshot>,
    pub sheet: PropertySheet,
    pub report: DeviceReporter,
    pub tasks: TaskBook,
    pub(super) cancel: CancellationToken,
    /// When each quiet property last went out.
    quiet_sent: BTreeMap<Arc<str>, Instant>,
}

impl DeviceCore {
    pub fn new(
        parts: DriverParts,
        kind: DeviceKind,
        sheet: PropertySheet,
        capabilities: Capabilities,
    ) -> (Self, DeviceHandle) {
        let techniques = capabilities.techniques.clone();
        let snapshot = DeviceSnapshot {
            name: parts.name.clone(),
            kind,
            link: parts.link.clone(),
            capabilities: Arc::new(capabilities),
            liveness: super::Liveness::LinkDown,
            summary: "link down".into(),
            properties: sheet.all().to_vec(),
            alarms: Vec::new(),
            tasks: Vec::new(),
            queue: super::QueueMode::Active,
        };
        let (state, state_rx) = watch::channel(snapshot);
        let (tx, requests) = mpsc::channel(32);
        let handle = DeviceHandle::new(parts.name.clone(), tx, state_rx);
        let core = Self {
            report: DeviceReporter::new(parts.name.clone(), parts.out).with_journal(parts.journal),
            name: parts.name,
            link: parts.link,
            kind,
            sessions: parts.sessions,
            sessions_open: true,
            session: None,
            requests: Some(requests),
            state,
            sheet,
            tasks: TaskBook::new(parts.tasks, techniques),
            cancel: parts.cancel,
            quiet_sent: BTreeMap::new(),
        };
        (core, handle)
    }

    pub fn set(&mut self, name: &str, value: impl Into<Value>, state: PropState) {
        if let Some(change) = self.sheet.set(name, value.into(), state) {
            self.changed(&change);
        }
    }

    pub fn set_state(&mut self, name: &str, state: PropState) {
        if let Some(change) = self.sheet.set_state(name, state) {
            self.changed(&change);
        }
    }

    /// Apply sheet changes: the snapshot follows, listeners hear of them.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = SheetChange>) {
        for change in changes {
            self.changed(&change);
        }
    }

    fn changed(&mut self, change: &SheetChange) {
        match change {
            // A value: the snapshot follows silently; the event tells.
            SheetChange::Value(i, update) => {
                let (i, update) = (*i, update.clone());
                self.state.send_if_modified(|s| {
                    if let Some(p) = s.properties.get_mut(i) {
                        p.value.clone_from(&update.value);
                        p.state = update.state;
                        p.updated = Some(update.t);
                    }
                    false
                });
                let def = &self.sheet.all()[i].def;
                if def.quiet {
                    let now = Instant::now();
                    let last = self.quiet_sent.get(&def.name);
                    if last.is_some_and(|t| now.duration_since(*t) < QUIET_PERIOD) {
                        return;
                    }
                    self.quiet_sent.insert(def.name.clone(), now);
                }
            }
            // The set of properties changed: every watcher must look.
            SheetChange::Defined(_) | SheetChange::Removed(_) => {
                let all = self.sheet.all().to_vec();
                self.state.send_modify(|s| s.properties = all);
            }
        }
        self.report.change(change);
    }

    /// The link went down: every value is stale.
    pub fn mark_idle(&mut self) {
        let changes = self.sheet.mark_all(PropState::Idle);
        self.apply(changes);
    }

    /// Drop the session; whether there was one.
    pub fn take_session(&mut self) -> bool {
        let had = self.session.take().is_some();
        if had {
            tracing::info!("{}: link down", self.name);
        }
        had
    }

    /// The refusal for a request that needs the link.
    pub fn link_down(&self) -> HubError {
        HubError::LinkDown {
            device: self.name.to_string(),
            link: self.link.to_string(),
        }
    }

    /// The refusal for a driver's own complaint about a request.
    pub fn bad_argument(&self, message: impl Into<String>) -> HubError {
        HubError::BadArgument {
            device: self.name.to_string(),
            message: message.into(),
        }
    }

    /// The instrument's own refusal.
    pub fn refused(&self, message: impl Into<String>) -> HubError {
        HubError::DeviceError {
            device: self.name.to_string(),
            message: message.into(),
        }
    }

    /// An exchange that failed.
    pub fn exchange_failed(&self, reason: impl std::fmt::Display) -> HubError {
        HubError::Exchange {
            device: self.name.to_string(),
            reason: reason.to_string(),
        }
    }

    /// The attribute that says whether it is on, when it can be switched.
    pub fn power_attr(&self) -> Option<String> {
        self.state.borrow().capabilities.power.clone()
    }

    /// Device-level state: watchers are woken only when something changed.
    /// `conditions` are those that hold now: one that is new is raised,
    /// one no longer there is cleared, one still there stays as it was
    /// raised (its text may change).
    pub fn publish(&self, liveness: Liveness, summary: String, conditions: &[Condition]) {
        let tasks = self.tasks.snapshots();
        let queue = self.tasks.mode;
        let mut news = Vec::new();
        let mut answer_changed = false;
        self.state.send_if_modified(|s| {
            let alarms = follow(&self.name, &s.alarms, conditions, &mut news);
            answer_changed = s.liveness != liveness;
            let changed = answer_changed
                || s.summary != summary
                || s.alarms != alarms
                || s.tasks != tasks
                || s.queue != queue;
            if changed {
                s.liveness = liveness;
                s.summary = summary;
                s.alarms = alarms;
                s.tasks = tasks;
                s.queue = queue;
            }
            changed
        });
        if answer_changed {
            self.report.liveness(liveness);
        }
        for alarm in news {
            self.report.raised(alarm);
        }
    }

    /// The task list changed (a sample, a state): watchers look again.
    pub fn publish_tasks(&self) {
        let tasks = self.tasks.snapshots();
        let queue = self.tasks.mode;
        self.state.send_if_modified(|s| {
            let changed = s.tasks != tasks || s.queue != queue;
            s.tasks = tasks;
            s.queue = queue;
            changed
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
        if self.tasks.abandon(why, &self.report) {
            let tasks = self.tasks.snapshots();
            self.state.send_modify(|s| {
                s.tasks = tasks;
                s.liveness = Liveness::LinkDown;
                s.summary = why.to_string();
            });
        }
    }
}

/// What a technique's samples came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Its goal was met: the task completes.
    Met,
    /// Met, with something the operator must know (readings that
    /// overflowed): the task completes and says it.
    Flagged(String),
    /// Not met: the task fails with the reason.
    NotMet(String),
}

/// The active alarms after `conditions`: those still holding keep their
/// raise time, new ones are raised now; `news` gets every raise and clear.
fn follow(
    source: &Arc<str>,
    active: &[Alarm],
    conditions: &[Condition],
    news: &mut Vec<Alarm>,
) -> Vec<Alarm> {
    let mut next = Vec::with_capacity(conditions.len());
    for condition in conditions {
        if next.iter().any(|a: &Alarm| a.condition == condition.key) {
            continue;
        }
        if let Some(held) = active.iter().find(|a| a.condition == condition.key) {
            next.push(Alarm {
                reason: condition.text.clone(),
                severity: condition.severity,
                ..held.clone()
            });
        } else {
            let raised = Alarm::of_condition(source, condition, true);
            news.push(raised.clone());
            next.push(raised);
        }
    }
    for gone in active
        .iter()
        .filter(|a| !conditions.iter().any(|c| c.key == a.condition))
    {
        news.push(Alarm {
            t: crate::time::Timestamp::now(),
            active: false,
            ..gone.clone()
        });
    }
    next
}

/// What a driver does; the device actor runs the loop around it. The
/// task methods are optional: a driver that runs no techniques keeps the
/// defaults.
pub(crate) trait Driver {
    fn core(&mut self) -> &mut DeviceCore;
    fn poll_interval(&self) -> Duration;
    /// A new session is in `core().session`.
    async fn attached(&mut self);
    /// The session is gone (already taken from the core).
    fn detached(&mut self);
    /// Refresh the live values (also the one-shot `measure`).
    async fn poll(&mut self);
    /// Write a checked value; what the device has now.
    async fn set_attr(&mut self, attr: &str, value: Value) -> Result<DeviceOutcome, HubError>;
    async fn action(&mut self, name: &str, args: &[String]) -> Result<ActionOutcome, HubError>;
    /// Publish device-level state (online, summary, alarms).
    fn publish(&self);

    /// Switch the device on or off.
    async fn power(&mut self, _on: bool) -> Result<DeviceOutcome, HubError> {
        let device = self.core().name.to_string();
        Err(HubError::NotSwitchable { device })
    }

    /// The documented safe state; what it did.
    async fn safe_state(&mut self) -> Result<String, String> {
        Ok("nothing to do: the device has no safe state of its own".into())
    }

    /// Whether the link's bytes come unasked (a stream to follow rather
    /// than replies to queries); then `received` gets every chunk.
    fn streaming(&self) -> bool {
        false
    }

    async fn received(&mut self, _chunk: Chunk) {}

    /// The columns a technique records.
    fn columns(&self, _task: &TaskSpec) -> Vec<Column> {
        Vec::new()
    }

    /// Bring the device into the task's starting state.
    async fn prepare_task(
        &mut self,
        _task: &TaskSpec,
        _params: &BTreeMap<String, Value>,
    ) -> Result<(), String> {
        Err("this device runs no techniques".into())
    }

    /// One sample, a value per column.
    async fn do_task(
        &mut self,
        _task: &TaskSpec,
        _elapsed: f64,
    ) -> Result<Vec<Option<Value>>, String> {
        Err("this device runs no techniques".into())
    }

    /// Whether the technique met its goal, asked once its samples are
    /// taken (a ramp: the rotor at the setpoint). Only a met goal is
    /// "completed".
    fn verdict(&self, _task: &TaskSpec) -> Verdict {
        Verdict::Met
    }

    /// The technique is over (completed, cancelled or failed): stop what
    /// it started; may add files to the recording.
    async fn end_task(
        &mut self,
        _task: &TaskSpec,
        _state: TaskState,
        _recorder: Option<&mut Recorder>,
    ) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(alarms: &[Alarm]) -> Vec<(&str, bool)> {
        alarms.iter().map(|a| (&*a.condition, a.active)).collect()
    }

    #[test]
    fn a_condition_is_one_alarm_from_raise_to_clear() {
        let source: Arc<str> = "pump".into();
        let error = Condition::alarm("error-5", "error 5: converter");
        let warning = Condition::warning("warning-bit-3", "warning bit 3");
        let mut news = Vec::new();

        let active = follow(&source, &[], &[error.clone(), error.clone()], &mut news);
        assert_eq!(
            keys(&active),
            [("error-5", true)],
            "reported twice, one alarm"
        );
        assert_eq!(keys(&news), [("error-5", true)]);
        let raised_at = active[0].t;

        // Still there: not raised again, its time kept; a new one raised.
        news.clear();
        let active = follow(
            &source,
            &active,
            &[warning.clone(), error.clone()],
            &mut news,
        );
        assert_eq!(keys(&news), [("warning-bit-3", true)]);
        let held = active.iter().find(|a| &*a.condition == "error-5").unwrap();
        assert_eq!(held.t, raised_at);
        assert_eq!(held.severity, crate::alarm::Severity::Alarm);

        // Gone: cleared once, and only it.
        news.clear();
        let active = follow(&source, &active, &[warning], &mut news);
        assert_eq!(keys(&active), [("warning-bit-3", true)]);
        assert_eq!(keys(&news), [("error-5", false)]);
        news.clear();
        let active = follow(&source, &active, &[], &mut news);
        assert!(active.is_empty());
        assert_eq!(keys(&news), [("warning-bit-3", false)]);

        // Back after clearing: a new occurrence.
        news.clear();
        let active = follow(&source, &active, &[error], &mut news);
        assert_eq!(keys(&news), [("error-5", true)]);
        assert!(active[0].t.mono >= raised_at.mono);
    }
}
