//! Tasks: a technique run on one device for a fixed time, sampled on a
//! fixed grid. The state machine is a table; finished states absorb every
//! event, so a cancelled task can never be marked completed later.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::Value;
use crate::time::Timestamp;

/// A task as submitted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSpec {
    pub name: String,
    pub device: String,
    pub technique: String,
    /// Technique parameters, typed or as written (`setpoint = 800`,
    /// `range = "20n"`); each is checked as the attribute it names before
    /// the task is queued.
    pub params: BTreeMap<String, Value>,
    /// Seconds on the wire.
    #[serde(serialize_with = "seconds", deserialize_with = "from_seconds")]
    pub sampling_interval: Duration,
    #[serde(serialize_with = "seconds", deserialize_with = "from_seconds")]
    pub max_duration: Duration,
    /// How long it may wait for its link when the link is down before it
    /// fails with the reason.
    #[serde(
        default = "default_link_timeout",
        serialize_with = "seconds",
        deserialize_with = "from_seconds"
    )]
    pub link_timeout: Duration,
    /// The job it runs in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<JobTag>,
}

/// How long a task waits for a link that is down, unless it says.
pub const DEFAULT_LINK_TIMEOUT: Duration = Duration::from_secs(60);

fn default_link_timeout() -> Duration {
    DEFAULT_LINK_TIMEOUT
}

/// The job a task belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobTag {
    pub id: u64,
    pub name: String,
}

fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

fn from_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
}

/// A task named by its id (`#3`) or its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskRef {
    Id(u64),
    Name(String),
}

impl TaskRef {
    /// `#3` is an id, anything else a name.
    pub fn parse(text: &str) -> Self {
        match text.strip_prefix('#').and_then(|n| n.parse().ok()) {
            Some(id) => Self::Id(id),
            None => Self::Name(text.to_string()),
        }
    }

    pub fn names(&self, task: &TaskSnapshot) -> bool {
        match self {
            Self::Id(id) => task.id == *id,
            Self::Name(name) => task.spec.name == *name,
        }
    }
}

impl std::fmt::Display for TaskRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Id(id) => write!(f, "#{id}"),
            Self::Name(name) => f.write_str(name),
        }
    }
}

impl TaskSpec {
    /// Samples a task takes: `floor(max_duration / sampling_interval)`, the
    /// first one interval after the start.
    pub fn expected_samples(&self) -> u64 {
        let interval = self.sampling_interval.as_nanos().max(1);
        (self.max_duration.as_nanos() / interval) as u64
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TaskState {
    Queued,
    Running,
    /// Sampling stopped by the operator; the device stays as it is.
    Paused,
    Completed,
    Failed,
    Cancelled,
    /// labdeck stopped (a crash, `kill -9`) while it ran: found so at the
    /// next start.
    Interrupted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskEvent {
    Start,
    Pause,
    Resume,
    Finish,
    Fail,
    Cancel,
    Interrupt,
}

impl TaskState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    /// Read back from [`TaskState::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::Queued,
            Self::Running,
            Self::Paused,
            Self::Completed,
            Self::Failed,
            Self::Cancelled,
            Self::Interrupted,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Failed | Self::Cancelled | Self::Interrupted
        )
    }

    /// Started and not ended: running or paused.
    pub fn is_current(self) -> bool {
        matches!(self, Self::Running | Self::Paused)
    }

    /// How bad an ending is, for "the worst of its tasks": completed,
    /// cancelled, interrupted, failed. `None` while not ended.
    pub fn badness(self) -> Option<u8> {
        match self {
            Self::Completed => Some(0),
            Self::Cancelled => Some(1),
            Self::Interrupted => Some(2),
            Self::Failed => Some(3),
            Self::Queued | Self::Running | Self::Paused => None,
        }
    }

    /// The transition table; `None` where an event does not apply.
    pub fn on(self, event: TaskEvent) -> Option<Self> {
        use TaskEvent::*;
        use TaskState::*;
        match (self, event) {
            (Queued, Start) | (Paused, Resume) => Some(Running),
            (Running, Pause) => Some(Paused),
            (Queued | Running | Paused, Cancel) => Some(Cancelled),
            (Running, Finish) => Some(Completed),
            (Queued | Running | Paused, Fail) => Some(Failed),
            (Running | Paused, Interrupt) => Some(Interrupted),
            _ => None,
        }
    }
}

/// A recorded column: name and unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub unit: Option<String>,
}

impl Column {
    pub fn new(name: &str, unit: Option<&str>) -> Self {
        Self {
            name: name.into(),
            unit: unit.map(str::to_string),
        }
    }

    /// `frequency [Hz]`, or the bare name.
    pub fn header(&self) -> String {
        match &self.unit {
            Some(unit) => format!("{} [{unit}]", self.name),
            None => self.name.clone(),
        }
    }
}

/// A technique a driver can run: its parameters (each checked as the
/// attribute it names), the attributes it controls while running, and
/// the columns of its samples.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Technique {
    pub name: String,
    pub summary: String,
    /// Parameter name → the attribute whose type and limits apply.
    pub params: Vec<(String, String)>,
    /// Attributes a direct `set` may not touch while it runs.
    pub controls: Vec<String>,
}

impl Technique {
    pub fn new(name: &str, summary: &str) -> Self {
        Self {
            name: name.into(),
            summary: summary.into(),
            params: Vec::new(),
            controls: Vec::new(),
        }
    }

    /// A parameter checked as `attr`.
    #[must_use]
    pub fn param(mut self, name: &str, attr: &str) -> Self {
        self.params.push((name.into(), attr.into()));
        self
    }

    /// Attributes the task drives itself: writes to them are refused while it runs.
    #[must_use]
    pub fn controls(mut self, attrs: &[&str]) -> Self {
        self.controls
            .extend(attrs.iter().map(std::string::ToString::to_string));
        self
    }
}

/// Points of the running task kept for the live chart.
pub const CHART_POINTS: usize = 240;

/// What the console and scripts see of a task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskSnapshot {
    pub id: u64,
    pub spec: TaskSpec,
    pub state: TaskState,
    pub reason: Option<String>,
    pub submitted: Timestamp,
    pub started: Option<Timestamp>,
    pub ended: Option<Timestamp>,
    /// Since when it is paused, while it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused_since: Option<Timestamp>,
    /// Seconds spent paused before that.
    #[serde(default)]
    pub paused_s: f64,
    pub samples: u64,
    pub expected: u64,
    pub columns: Vec<Column>,
    pub file: Option<PathBuf>,
    /// Recent samples, oldest first: seconds since the start, then one
    /// value per column (`None` where a column has no number).
    #[serde(default)]
    pub recent: Vec<(f64, Vec<Option<f64>>)>,
}

impl TaskSnapshot {
    /// Seconds run so far (or in all, once ended), pauses left out.
    pub fn elapsed(&self, now: Timestamp) -> f64 {
        let Some(started) = self.started else {
            return 0.0;
        };
        let end = self.ended.or(self.paused_since).unwrap_or(now);
        let run = end
            .mono
            .saturating_duration_since(started.mono)
            .as_secs_f64();
        (run - self.paused_s).max(0.0)
    }

    /// 0..=1 of the planned duration.
    pub fn progress(&self, now: Timestamp) -> f64 {
        if self.state == TaskState::Completed {
            return 1.0;
        }
        let total = self.spec.max_duration.as_secs_f64();
        if total <= 0.0 {
            return 0.0;
        }
        (self.elapsed(now) / total).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(interval: f64, duration: f64) -> TaskSpec {
        TaskSpec {
            name: "t".into(),
            device: "d".into(),
            technique: "monitor".into(),
            params: BTreeMap::new(),
            sampling_interval: Duration::from_secs_f64(interval),
            max_duration: Duration::from_secs_f64(duration),
            link_timeout: DEFAULT_LINK_TIMEOUT,
            job: None,
        }
    }

    #[test]
    fn the_sample_count_rule() {
        for (interval, duration, samples) in [
            (0.2, 1.0, 5),
            (0.5, 3.0, 6),
            (0.5, 2.0, 4),
            (0.5, 20.0, 40),
            (0.3, 1.0, 3),
            (1.0, 0.5, 0),
            (0.1, 0.3, 3),
        ] {
            assert_eq!(
                spec(interval, duration).expected_samples(),
                samples,
                "{duration} s @ {interval} s"
            );
        }
    }

    #[test]
    fn the_state_table_and_absorbing_ends() {
        use TaskEvent::*;
        use TaskState::*;
        let events = [Start, Pause, Resume, Finish, Fail, Cancel, Interrupt];
        let table = [
            (
                Queued,
                [
                    Some(Running),
                    None,
                    None,
                    None,
                    Some(Failed),
                    Some(Cancelled),
                    None,
                ],
            ),
            (
                Running,
                [
                    None,
                    Some(Paused),
                    None,
                    Some(Completed),
                    Some(Failed),
                    Some(Cancelled),
                    Some(Interrupted),
                ],
            ),
            (
                Paused,
                [
                    None,
                    None,
                    Some(Running),
                    None,
                    Some(Failed),
                    Some(Cancelled),
                    Some(Interrupted),
                ],
            ),
            (Completed, [None; 7]),
            (Failed, [None; 7]),
            (Cancelled, [None; 7]),
            (Interrupted, [None; 7]),
        ];
        for (state, outcomes) in table {
            for (event, outcome) in events.into_iter().zip(outcomes) {
                assert_eq!(state.on(event), outcome, "{state:?} + {event:?}");
            }
            assert_eq!(state.is_terminal(), outcomes.iter().all(Option::is_none));
            assert_eq!(state.is_terminal(), state.badness().is_some());
            assert_eq!(TaskState::parse(state.as_str()), Some(state));
        }
    }

    #[test]
    fn pauses_do_not_count_as_run_time() {
        let start = Timestamp::now();
        let at = |s: u64| Timestamp {
            mono: start.mono + Duration::from_secs(s),
            ..start
        };
        let mut task = TaskSnapshot {
            id: 1,
            spec: spec(1.0, 10.0),
            state: TaskState::Paused,
            reason: None,
            submitted: start,
            started: Some(start),
            ended: None,
            paused_since: Some(at(4)),
            paused_s: 1.0,
            samples: 3,
            expected: 10,
            columns: Vec::new(),
            file: None,
            recent: Vec::new(),
        };
        assert!((task.elapsed(at(9)) - 3.0).abs() < 1e-9);
        task.paused_since = None;
        task.paused_s = 6.0;
        assert!((task.elapsed(at(12)) - 6.0).abs() < 1e-9);
    }
}
