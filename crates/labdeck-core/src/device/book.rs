//! A device's task book: the FIFO queue, the running task with its
//! sampling grid (first sample one interval after the start, late ticks
//! catch up in a burst, `floor(duration / interval)` samples, the end at
//! `max_duration`), and the recently finished. Pure bookkeeping: it knows
//! no driver; the device actor asks it what is due and tells it what
//! happened.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;

use tokio::time::Instant;

use super::queue::{QueueControl, QueueMode};
use super::record::Recorder;
use super::report::DeviceReporter;
use super::task::{
    CHART_POINTS, Column, TaskEvent, TaskRef, TaskSnapshot, TaskSpec, TaskState, Technique,
};
use super::{PropertySheet, Value};
use crate::error::HubError;
use crate::time::Timestamp;

/// Finished tasks kept per device for the console.
const FINISHED_KEPT: usize = 20;

/// Why waiting tasks end on a stop after the current task.
const STOPPED: &str = "the queue was stopped after the current task";

/// Where tasks record and how many may wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSettings {
    pub data_dir: PathBuf,
    pub queue_limit: usize,
    /// Also write each task's samples as NetCDF (feature `netcdf`).
    pub netcdf: bool,
}

impl Default for TaskSettings {
    fn default() -> Self {
        Self {
            data_dir: default_data_dir(),
            queue_limit: 32,
            netcdf: false,
        }
    }
}

/// `$XDG_DATA_HOME/labdeck/data`, else `./labdeck-data`.
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "labdeck").map_or_else(
        || PathBuf::from("labdeck-data"),
        |d| d.data_dir().join("data"),
    )
}

/// The task in progress.
pub(crate) struct Running {
    pub snap: TaskSnapshot,
    pub start: Instant,
    pub start_unix: f64,
    pub next_sample: Instant,
    pub deadline: Instant,
    pub recorder: Option<Recorder>,
    /// Since when sampling is paused.
    paused_at: Option<Instant>,
}

impl Running {
    /// When the runner next has something to do; nothing while paused.
    fn due(&self) -> Option<Instant> {
        if self.paused_at.is_some() {
            None
        } else if self.snap.samples < self.snap.expected {
            Some(self.next_sample)
        } else {
            Some(self.deadline)
        }
    }

    fn pause(&mut self, now: Instant) {
        if self.paused_at.is_none()
            && let Some(state) = self.snap.state.on(TaskEvent::Pause)
        {
            self.paused_at = Some(now);
            self.snap.state = state;
            self.snap.paused_since = Some(Timestamp::now());
        }
    }

    /// The grid and the end move by the time spent paused: the samples
    /// stay one interval apart in run time.
    fn resume(&mut self, now: Instant) {
        let Some(since) = self.paused_at.take() else {
            return;
        };
        let paused = now.saturating_duration_since(since);
        self.next_sample += paused;
        self.deadline += paused;
        self.snap.paused_s += paused.as_secs_f64();
        self.snap.paused_since = None;
        self.snap.state = self
            .snap
            .state
            .on(TaskEvent::Resume)
            .unwrap_or(self.snap.state);
    }
}

/// A device's tasks: waiting, running and recently finished.
pub(crate) struct TaskBook {
    pub settings: TaskSettings,
    pub techniques: Vec<Technique>,
    queue: VecDeque<TaskSnapshot>,
    pub running: Option<Running>,
    finished: VecDeque<TaskSnapshot>,
    next_id: u64,
    pub mode: QueueMode,
    /// The first waiting task and when it fails if the link stays down.
    link_wait: Option<(u64, Instant)>,
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
            mode: QueueMode::Active,
            link_wait: None,
        }
    }

    /// Check a task against the device and queue it; its id and place.
    pub fn submit(
        &mut self,
        spec: TaskSpec,
        sheet: &PropertySheet,
        device: &str,
        columns: Vec<Column>,
    ) -> Result<(u64, usize), HubError> {
        self.check(&spec, sheet, device)?;
        if spec.sampling_interval.is_zero() || spec.max_duration.is_zero() {
            return Err(HubError::TaskTiming {
                device: device.into(),
            });
        }
        if self.queue.len() >= self.settings.queue_limit {
            return Err(HubError::QueueFull {
                device: device.into(),
                limit: self.settings.queue_limit,
            });
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
            paused_since: None,
            paused_s: 0.0,
            samples: 0,
            columns,
            file: None,
            recent: Vec::new(),
        };
        self.queue.push_back(snap);
        Ok((id, self.queue.len() + usize::from(self.running.is_some())))
    }

    /// The technique's parameters checked as the attributes they name
    /// (again when the task starts: limits can be learned meanwhile).
    pub fn check(
        &self,
        spec: &TaskSpec,
        sheet: &PropertySheet,
        device: &str,
    ) -> Result<BTreeMap<String, Value>, HubError> {
        let Some(technique) = self.techniques.iter().find(|t| t.name == spec.technique) else {
            return Err(HubError::UnknownTechnique {
                device: device.into(),
                technique: spec.technique.clone(),
                known: self.techniques.iter().map(|t| t.name.clone()).collect(),
            });
        };
        let mut params = BTreeMap::new();
        for (name, value) in &spec.params {
            let Some((_, attr)) = technique.params.iter().find(|(p, _)| p == name) else {
                return Err(HubError::UnknownTaskParameter {
                    device: device.into(),
                    technique: technique.name.clone(),
                    param: name.clone(),
                    known: technique.params.iter().map(|(p, _)| p.clone()).collect(),
                });
            };
            let Some(prop) = sheet.get(attr) else {
                return Err(HubError::UnknownAttr {
                    device: device.into(),
                    attr: attr.clone(),
                    known: sheet.names().map(String::from).collect(),
                });
            };
            let value =
                prop.def
                    .accept(device, value)
                    .map_err(|refusal| HubError::TaskParameter {
                        device: device.into(),
                        param: name.clone(),
                        refusal: Box::new(refusal),
                    })?;
            params.insert(name.clone(), value);
        }
        Ok(params)
    }

    pub fn snapshots(&self) -> Vec<TaskSnapshot> {
        let mut all: Vec<TaskSnapshot> = self.finished.iter().cloned().collect();
        all.extend(self.running.as_ref().map(|r| r.snap.clone()));
        all.extend(self.queue.iter().cloned());
        all
    }

    pub fn due(&self) -> Option<Instant> {
        self.running.as_ref().and_then(Running::due)
    }

    /// A waiting task.
    pub fn queued(&self, id: u64) -> Option<&TaskSnapshot> {
        self.queue.iter().find(|t| t.id == id)
    }

    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Whether the next waiting task may start (the link aside).
    pub fn may_start(&self) -> bool {
        self.running.is_none() && self.mode.starts_tasks() && self.has_queued()
    }

    /// The operator's word (all but abort, which needs the driver): the
    /// new mode, and the running task paused or resumed to match. What
    /// waits is cancelled by a stop with nothing running.
    pub fn control(
        &mut self,
        control: QueueControl,
        now: Instant,
        report: &DeviceReporter,
    ) -> usize {
        self.mode = self.mode.after(control, self.running.is_some());
        if let Some(running) = self.running.as_mut() {
            match self.mode {
                QueueMode::Paused => running.pause(now),
                _ => running.resume(now),
            }
        }
        if control == QueueControl::StopAfterCurrent && self.running.is_none() {
            return self.cancel_all_queued(report, STOPPED);
        }
        0
    }

    /// The running task has ended (and is retired): a deferred pause or
    /// stop takes effect.
    pub fn running_ended(&mut self, report: &DeviceReporter) {
        let stopping = self.mode == QueueMode::StoppingAfterCurrent;
        self.mode = self.mode.task_ended();
        if stopping {
            self.cancel_all_queued(report, STOPPED);
        }
    }

    /// When the first waiting task gives up on a link that is down; the
    /// clock starts when it is first asked (the link down, the task
    /// next, the queue not paused).
    pub fn link_deadline(&mut self, link_down: bool, now: Instant) -> Option<Instant> {
        let waiting = self
            .queue
            .front()
            .filter(|_| link_down && self.running.is_none() && self.mode.starts_tasks());
        let Some(head) = waiting else {
            self.link_wait = None;
            return None;
        };
        match self.link_wait {
            Some((id, deadline)) if id == head.id => Some(deadline),
            _ => {
                let deadline = now + head.spec.link_timeout;
                self.link_wait = Some((head.id, deadline));
                Some(deadline)
            }
        }
    }

    /// The first waiting task waited too long for `link`: it fails.
    pub fn fail_waiting(&mut self, link: &str, report: &DeviceReporter) {
        self.link_wait = None;
        let Some(mut snap) = self.queue.pop_front() else {
            return;
        };
        snap.state = TaskState::Failed;
        snap.reason = Some(format!(
            "link {link} was down for {} s (the task's link timeout)",
            snap.spec.link_timeout.as_secs_f64()
        ));
        snap.ended = Some(Timestamp::now());
        report.task(&snap);
        self.retire(snap);
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
    pub fn busy(&self, device: &str, attr: &str) -> Option<HubError> {
        self.controller_of(attr).map(|task| HubError::Busy {
            device: device.to_string(),
            attr: attr.to_string(),
            controlled_by_task: task.to_string(),
        })
    }

    /// Whether `task` names the running task; `None` for "the running one".
    pub fn names_running(&self, task: Option<&TaskRef>) -> bool {
        let Some(running) = &self.running else {
            return false;
        };
        task.is_none_or(|t| t.names(&running.snap))
    }

    /// Take a queued task out of the queue, cancelled.
    pub fn cancel_queued(
        &mut self,
        task: &TaskRef,
        report: &DeviceReporter,
    ) -> Option<TaskSnapshot> {
        let at = self.queue.iter().position(|s| task.names(s))?;
        let mut snap = self.queue.remove(at)?;
        snap.state = TaskState::Queued
            .on(TaskEvent::Cancel)
            .unwrap_or(TaskState::Cancelled);
        snap.reason = Some("cancelled while queued".into());
        snap.ended = Some(Timestamp::now());
        report.task(&snap);
        self.retire(snap.clone());
        Some(snap)
    }

    /// Cancel everything still waiting.
    pub fn cancel_all_queued(&mut self, report: &DeviceReporter, reason: &str) -> usize {
        let waiting: Vec<_> = self.queue.drain(..).collect();
        let n = waiting.len();
        for mut snap in waiting {
            snap.state = TaskState::Cancelled;
            snap.reason = Some(reason.to_string());
            snap.ended = Some(Timestamp::now());
            report.task(&snap);
            self.retire(snap);
        }
        n
    }

    /// The driver is gone (a crash): nothing here can run any more. Fail
    /// what was running or waiting, closing its recording; whether there
    /// was anything.
    pub fn abandon(&mut self, reason: &str, report: &DeviceReporter) -> bool {
        let mut any = false;
        if let Some(mut running) = self.running.take() {
            running.snap.state = TaskState::Failed;
            running.snap.reason = Some(reason.to_string());
            running.snap.ended = Some(Timestamp::now());
            if let Some(recorder) = running.recorder.take() {
                let _ = recorder.finish(TaskState::Failed, Some(reason));
            }
            report.task(&running.snap);
            self.retire(running.snap);
            any = true;
        }
        for mut snap in std::mem::take(&mut self.queue) {
            snap.state = TaskState::Failed;
            snap.reason = Some(reason.to_string());
            snap.ended = Some(Timestamp::now());
            report.task(&snap);
            self.retire(snap);
            any = true;
        }
        any
    }

    pub fn retire(&mut self, snap: TaskSnapshot) {
        if self.finished.len() == FINISHED_KEPT {
            self.finished.pop_front();
        }
        self.finished.push_back(snap);
    }
}

impl TaskBook {
    /// Take the next queued task and start it now (its recording is the
    /// actor's job).
    pub fn start_next(&mut self) -> Option<&mut Running> {
        let mut snap = self.queue.pop_front()?;
        let now = Timestamp::now();
        snap.state = TaskState::Queued
            .on(TaskEvent::Start)
            .unwrap_or(TaskState::Running);
        snap.started = Some(now);
        let start = now.mono;
        self.running = Some(Running {
            start,
            start_unix: now.unix(),
            next_sample: start + snap.spec.sampling_interval,
            deadline: start + snap.spec.max_duration,
            recorder: None,
            paused_at: None,
            snap,
        });
        self.running.as_mut()
    }

    /// What is due now.
    pub fn next_step(&self, now: Instant) -> Step {
        let Some(running) = &self.running else {
            return Step::Nothing;
        };
        if running.due().is_none_or(|due| now < due) {
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
    pub fn record_sample(&mut self, elapsed: f64, values: &[Option<Value>]) -> Result<(), String> {
        let Some(running) = self.running.as_mut() else {
            return Ok(());
        };
        let uts = running.start_unix + elapsed;
        if let Some(recorder) = running.recorder.as_mut() {
            recorder
                .row(uts, values)
                .map_err(|e| format!("cannot write {}: {e}", recorder.path().display()))?;
        }
        running.snap.samples += 1;
        running.next_sample += running.snap.spec.sampling_interval;
        let numbers = values
            .iter()
            .map(|v| v.as_ref().and_then(Value::as_f64))
            .collect();
        if running.snap.recent.len() == CHART_POINTS {
            running.snap.recent.remove(0);
        }
        running.snap.recent.push((elapsed, numbers));
        Ok(())
    }
}

/// What the runner should do now.
pub(crate) enum Step {
    Sample(TaskSpec, f64),
    End,
    Nothing,
}
