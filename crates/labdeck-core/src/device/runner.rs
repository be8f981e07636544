//! The per-device task queue and runner. Tasks wait in a FIFO queue; the
//! running one samples on a fixed grid (first sample one interval after
//! the start, late ticks catch up in a burst, `floor(duration / interval)`
//! samples) and ends at `max_duration`. A cancel aborts a sample in flight,
//! so it takes effect at once; a lost link or a driver error fails the task
//! with the reason.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::Local;
use tokio::time::Instant;

use super::core::Driver;
use super::record::Recorder;
use super::task::{CHART_POINTS, TaskEvent, TaskSnapshot, TaskSpec, TaskState, Technique};
use super::{AttrError, PropertySheet, Value};
use crate::bus::{Event, EventBus, Timestamp};

/// Finished tasks kept per device for the console.
const FINISHED_KEPT: usize = 20;

/// Where tasks record and how many may wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSettings {
    pub data_dir: PathBuf,
    pub queue_limit: usize,
}

impl Default for TaskSettings {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            queue_limit: 32,
        }
    }
}

/// `$XDG_DATA_HOME/labdeck/data`, else `./labdeck-data`.
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "labdeck")
        .map(|d| d.data_dir().join("data"))
        .unwrap_or_else(|| PathBuf::from("labdeck-data"))
}

/// The task in progress.
pub(crate) struct Running {
    pub snap: TaskSnapshot,
    /// Validated parameters.
    pub params: BTreeMap<String, Value>,
    start: Instant,
    start_unix: f64,
    next_sample: Instant,
    deadline: Instant,
    recorder: Option<Recorder>,
}

impl Running {
    /// When the runner next has something to do.
    fn due(&self) -> Instant {
        if self.snap.samples < self.snap.expected {
            self.next_sample
        } else {
            self.deadline
        }
    }
}

/// A device's tasks: waiting, running and recently finished.
pub(crate) struct TaskBook {
    pub settings: TaskSettings,
    pub techniques: Vec<Technique>,
    queue: VecDeque<(TaskSnapshot, BTreeMap<String, Value>)>,
    pub running: Option<Running>,
    finished: VecDeque<TaskSnapshot>,
    next_id: u64,
}

impl TaskBook {
    pub fn new(settings: TaskSettings, techniques: Vec<Technique>) -> Self {
        Self {
            settings,
            techniques,
            queue: VecDeque::new(),
            running: None,
            finished: VecDeque::new(),
            next_id: 1,
        }
    }

    /// Check a task against the device and queue it; its id.
    pub fn submit(
        &mut self,
        spec: TaskSpec,
        sheet: &PropertySheet,
        device: &str,
        columns: Vec<super::task::Column>,
    ) -> Result<(u64, usize), String> {
        let Some(technique) = self.techniques.iter().find(|t| t.name == spec.technique) else {
            return Err(format!(
                "unknown technique '{}' for {device}; techniques: {}",
                spec.technique,
                self.techniques
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        };
        if spec.sampling_interval.is_zero() || spec.max_duration.is_zero() {
            return Err("sampling interval and duration must be more than zero".into());
        }
        let mut params = BTreeMap::new();
        for (name, text) in &spec.params {
            let Some((_, attr)) = technique.params.iter().find(|(p, _)| p == name) else {
                return Err(format!(
                    "unknown parameter '{name}' for technique '{}'; parameters: {}",
                    technique.name,
                    if technique.params.is_empty() {
                        "none".to_string()
                    } else {
                        technique
                            .params
                            .iter()
                            .map(|(p, _)| p.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                ));
            };
            let prop = sheet
                .get(attr)
                .ok_or_else(|| format!("attribute '{attr}' is missing"))?;
            let value = prop
                .validate(text)
                .map_err(|e| format!("parameter '{name}': {e}"))?;
            params.insert(name.clone(), value);
        }
        if self.queue.len() >= self.settings.queue_limit {
            return Err(format!(
                "the task queue of {device} is full ({} tasks)",
                self.settings.queue_limit
            ));
        }
        let id = self.next_id;
        self.next_id += 1;
        let snap = TaskSnapshot {
            id,
            expected: spec.expected_samples(),
            spec,
            state: TaskState::Queued,
            reason: None,
            submitted: Timestamp::now(),
            started: None,
            ended: None,
            samples: 0,
            columns,
            file: None,
            recent: Vec::new(),
        };
        self.queue.push_back((snap, params));
        Ok((id, self.queue.len() + usize::from(self.running.is_some())))
    }

    pub fn snapshots(&self) -> Vec<TaskSnapshot> {
        let mut all: Vec<TaskSnapshot> = self.finished.iter().cloned().collect();
        all.extend(self.running.as_ref().map(|r| r.snap.clone()));
        all.extend(self.queue.iter().map(|(s, _)| s.clone()));
        all
    }

    pub fn due(&self) -> Option<Instant> {
        self.running.as_ref().map(Running::due)
    }

    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// The running task, if it controls `attr`.
    pub fn controller_of(&self, attr: &str) -> Option<&str> {
        let running = self.running.as_ref()?;
        let technique = self
            .techniques
            .iter()
            .find(|t| t.name == running.snap.spec.technique)?;
        technique
            .controls
            .iter()
            .any(|c| c == attr)
            .then_some(running.snap.spec.name.as_str())
    }

    /// The refusal for a direct write of an attribute a task controls.
    pub fn busy(&self, attr: &str) -> Option<AttrError> {
        self.controller_of(attr).map(|task| AttrError::Busy {
            attr: attr.to_string(),
            task: task.to_string(),
        })
    }

    /// Whether `key` (`#id` or a name) names the running task; `None` for
    /// "the running one".
    pub fn names_running(&self, key: Option<&str>) -> bool {
        let Some(running) = &self.running else {
            return false;
        };
        match key {
            None => true,
            Some(key) => matches_task(&running.snap, key),
        }
    }

    /// Take a queued task out of the queue, cancelled.
    pub fn cancel_queued(
        &mut self,
        key: &str,
        bus: &EventBus,
        device: &Arc<str>,
    ) -> Option<TaskSnapshot> {
        let at = self.queue.iter().position(|(s, _)| matches_task(s, key))?;
        let (mut snap, _) = self.queue.remove(at)?;
        snap.state = TaskState::Queued
            .on(TaskEvent::Cancel)
            .unwrap_or(TaskState::Cancelled);
        snap.reason = Some("cancelled while queued".into());
        snap.ended = Some(Timestamp::now());
        announce(bus, device, &snap);
        self.retire(snap.clone());
        Some(snap)
    }

    /// Cancel everything still waiting.
    pub fn cancel_all_queued(&mut self, bus: &EventBus, device: &Arc<str>, reason: &str) -> usize {
        let waiting: Vec<_> = self.queue.drain(..).collect();
        let n = waiting.len();
        for (mut snap, _) in waiting {
            snap.state = TaskState::Cancelled;
            snap.reason = Some(reason.to_string());
            snap.ended = Some(Timestamp::now());
            announce(bus, device, &snap);
            self.retire(snap);
        }
        n
    }

    /// The driver is gone (a crash): nothing here can run any more. Fail
    /// what was running or waiting, closing its recording; whether there
    /// was anything.
    pub fn abandon(&mut self, reason: &str, bus: &EventBus, device: &Arc<str>) -> bool {
        let mut any = false;
        if let Some(mut running) = self.running.take() {
            running.snap.state = TaskState::Failed;
            running.snap.reason = Some(reason.to_string());
            running.snap.ended = Some(Timestamp::now());
            if let Some(recorder) = running.recorder.take() {
                let _ = recorder.finish(TaskState::Failed, Some(reason));
            }
            announce(bus, device, &running.snap);
            self.retire(running.snap);
            any = true;
        }
        for (mut snap, _) in std::mem::take(&mut self.queue) {
            snap.state = TaskState::Failed;
            snap.reason = Some(reason.to_string());
            snap.ended = Some(Timestamp::now());
            announce(bus, device, &snap);
            self.retire(snap);
            any = true;
        }
        any
    }

    fn retire(&mut self, snap: TaskSnapshot) {
        if self.finished.len() == FINISHED_KEPT {
            self.finished.pop_front();
        }
        self.finished.push_back(snap);
    }
}

fn matches_task(snap: &TaskSnapshot, key: &str) -> bool {
    match key.strip_prefix('#') {
        Some(id) => id.parse() == Ok(snap.id),
        None => snap.spec.name == key,
    }
}

fn announce(bus: &EventBus, device: &Arc<str>, snap: &TaskSnapshot) {
    bus.publish(Event::Task {
        t: Timestamp::now(),
        device: device.clone(),
        id: snap.id,
        name: snap.spec.name.clone(),
        state: snap.state,
        reason: snap.reason.clone(),
        file: snap.file.clone(),
    });
}

/// Start the next queued task: open its recording, prepare the device.
pub(crate) async fn start_next<D: Driver>(driver: &mut D) {
    let core = driver.core();
    let Some((mut snap, params)) = core.tasks.queue.pop_front() else {
        return;
    };
    let now = Timestamp::now();
    snap.state = TaskState::Queued
        .on(TaskEvent::Start)
        .unwrap_or(TaskState::Running);
    snap.started = Some(now);
    let recorder = Recorder::create(
        &core.tasks.settings.data_dir,
        core.driver,
        snap.id,
        &snap.spec,
        &snap.columns,
        Local::now(),
    );
    let start = now.mono;
    let interval = snap.spec.sampling_interval;
    let running = Running {
        params,
        start,
        start_unix: now.unix(),
        next_sample: start + interval,
        deadline: start + snap.spec.max_duration,
        recorder: None,
        snap,
    };
    core.tasks.running = Some(running);
    let recorder = match recorder {
        Ok(recorder) => recorder,
        Err(e) => {
            let dir = core.tasks.settings.data_dir.display().to_string();
            end_running(
                driver,
                TaskEvent::Fail,
                Some(format!("cannot record in {dir}: {e}")),
            )
            .await;
            return;
        }
    };
    let core = driver.core();
    if let Some(running) = core.tasks.running.as_mut() {
        running.snap.file = Some(recorder.path().to_path_buf());
        running.recorder = Some(recorder);
        announce(&core.bus, &core.name, &running.snap);
        tracing::info!("{}: task '{}' started", core.name, running.snap.spec.name);
    }
    let (spec, params) = {
        let running = driver.core().tasks.running.as_ref().expect("just started");
        (running.snap.spec.clone(), running.params.clone())
    };
    // Limits can have been learned since the task was queued (a device
    // reports them when it connects): check the parameters again.
    if let Err(reason) = recheck(driver.core(), &spec) {
        end_running(driver, TaskEvent::Fail, Some(reason)).await;
        return;
    }
    if let Err(reason) = driver.prepare_task(&spec, &params).await {
        end_running(driver, TaskEvent::Fail, Some(format!("prepare: {reason}"))).await;
        return;
    }
    driver.publish();
}

fn recheck(core: &super::core::DeviceCore, spec: &TaskSpec) -> Result<(), String> {
    let technique = core
        .tasks
        .techniques
        .iter()
        .find(|t| t.name == spec.technique)
        .ok_or_else(|| format!("unknown technique '{}'", spec.technique))?;
    for (name, text) in &spec.params {
        if let Some((_, attr)) = technique.params.iter().find(|(p, _)| p == name)
            && let Some(prop) = core.sheet.get(attr)
        {
            prop.validate(text)
                .map_err(|e| format!("parameter '{name}': {e}"))?;
        }
    }
    Ok(())
}

/// What the runner should do now.
pub(crate) enum Step {
    Sample(TaskSpec, f64),
    End,
    Nothing,
}

pub(crate) fn next_step(book: &TaskBook, now: Instant) -> Step {
    let Some(running) = &book.running else {
        return Step::Nothing;
    };
    if now < running.due() {
        return Step::Nothing;
    }
    if running.snap.samples < running.snap.expected {
        let elapsed = (running.next_sample - running.start).as_secs_f64();
        Step::Sample(running.snap.spec.clone(), elapsed)
    } else {
        Step::End
    }
}

/// Record one sample of the running task and move on the grid.
pub(crate) fn record_sample<D: Driver>(
    driver: &mut D,
    elapsed: f64,
    values: Vec<Option<Value>>,
) -> Result<(), String> {
    let core = driver.core();
    let Some(running) = core.tasks.running.as_mut() else {
        return Ok(());
    };
    let uts = running.start_unix + elapsed;
    if let Some(recorder) = running.recorder.as_mut() {
        recorder
            .row(uts, &values)
            .map_err(|e| format!("cannot write {}: {e}", recorder.path().display()))?;
    }
    running.snap.samples += 1;
    running.next_sample += running.snap.spec.sampling_interval;
    let numbers = values
        .iter()
        .map(|v| v.as_ref().and_then(chart_number))
        .collect();
    if running.snap.recent.len() == CHART_POINTS {
        running.snap.recent.remove(0);
    }
    running.snap.recent.push((elapsed, numbers));
    Ok(())
}

fn chart_number(value: &Value) -> Option<f64> {
    match value {
        Value::Bool(_) | Value::Text(_) => None,
        other => other.as_f64(),
    }
}

/// End the running task. The task stops at once (state, event, snapshot);
/// then the technique's own end and, for a cancel or a failure with the
/// link still up, the safe state; then the recording is closed.
pub(crate) async fn end_running<D: Driver>(
    driver: &mut D,
    event: TaskEvent,
    reason: Option<String>,
) {
    let Some(mut running) = driver.core().tasks.running.take() else {
        return;
    };
    let state = running.snap.state.on(event).unwrap_or(running.snap.state);
    running.snap.state = state;
    running.snap.reason = reason.clone();
    running.snap.ended = Some(Timestamp::now());
    let core = driver.core();
    match state {
        TaskState::Completed => {
            tracing::info!("{}: task '{}' completed", core.name, running.snap.spec.name)
        }
        _ => tracing::warn!(
            "{}: task '{}' {}: {}",
            core.name,
            running.snap.spec.name,
            state.as_str(),
            reason.as_deref().unwrap_or("")
        ),
    }
    announce(&core.bus, &core.name, &running.snap);
    core.tasks.retire(running.snap.clone());
    driver.publish();

    let mut reason = reason;
    if driver.core().session.is_some() {
        if let Err(e) = driver
            .end_task(&running.snap.spec, state, running.recorder.as_mut())
            .await
        {
            tracing::warn!(
                "{}: ending task '{}': {e}",
                driver.core().name,
                running.snap.spec.name
            );
            reason = Some(match reason {
                Some(r) => format!("{r}; ending the technique: {e}"),
                None => format!("ending the technique: {e}"),
            });
        }
        if state != TaskState::Completed
            && let Err(e) = driver.safe_state().await
        {
            tracing::warn!("{}: safe state after a task: {e}", driver.core().name);
        }
    }
    if let Some(recorder) = running.recorder.take()
        && let Err(e) = recorder.finish(state, reason.as_deref())
    {
        tracing::error!(
            "{}: cannot finish the task's sidecar: {e}",
            driver.core().name
        );
    }
}
