//! The Keithley 6517B driver over a TCP (or serial) link: identifies the
//! instrument, polls its configuration, a reading and the error queue in
//! one line, and runs buffered scans. Timeouts and garbage are link
//! alarms (the connection manager recovers); SCPI errors, overflow and a
//! reading that stops changing are device alarms.

mod commands;
mod exchange;
mod poll;
mod props;
mod tasks;

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

pub use exchange::{Answer, QueryError};

use self::exchange::LineExchanger;
use super::actor::drive;
use super::core::{DeviceCore, Driver, Verdict};
use super::{
    ActionOutcome, ActionSpec, Capabilities, Column, DeviceHandle, DeviceKind, DeviceOutcome,
    DriverParts, Liveness, PropState, PropertySheet, Recorder, TaskSpec, TaskState, Value,
};
use crate::alarm::Condition;
use crate::error::HubError;
use crate::link::Framing;
use crate::protocol::keithley::Function;

/// How the driver talks to the instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct ElectrometerDriverConfig {
    pub poll_interval: Duration,
    /// Reply timeout of one query.
    pub reply_timeout: Duration,
    /// Reply timeout of a buffer dump (`:TRAC:DATA?`).
    pub fetch_timeout: Duration,
    /// Failed queries in a row before the link is reported in trouble.
    pub alarm_after: u32,
    /// Ends every line both ways.
    pub terminator: Vec<u8>,
}

impl Default for ElectrometerDriverConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            reply_timeout: Duration::from_secs(3),
            fetch_timeout: Duration::from_secs(30),
            alarm_after: 1,
            terminator: b"\n".to_vec(),
        }
    }
}

/// Polls that show the same value before the reading is called stuck.
const STUCK_AFTER: u32 = 10;

/// A buffered scan as the driver sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Scan {
    Idle,
    Running { points: usize },
    Complete { points: usize },
    Stopped { stored: usize },
}

pub struct ElectrometerDriver {
    core: DeviceCore,
    cfg: ElectrometerDriverConfig,
    exchanger: LineExchanger,
    function: Function,
    scan: Scan,
    buffer_count: usize,
    /// The latest SCPI error, kept until `clear`.
    error: Option<(i32, String)>,
    errors_seen: u64,
    /// The last reading overflowed.
    overflow: bool,
    /// The reading has not changed for STUCK_AFTER polls.
    stuck: bool,
    last_value: Option<f64>,
    same_polls: u32,
    /// What the running task's readings were like.
    task_readings: tasks::Readings,
    reading_ok: bool,
    failures: u32,
    queries: u64,
    failed: u64,
}

impl Driver for ElectrometerDriver {
    fn core(&mut self) -> &mut DeviceCore {
        &mut self.core
    }

    fn poll_interval(&self) -> Duration {
        self.cfg.poll_interval
    }

    async fn attached(&mut self) {
        self.exchanger.reset();
        self.failures = 0;
        self.reading_ok = false;
        if self.identify().await.is_ok() {
            self.poll_now().await;
        }
    }

    fn detached(&mut self) {
        self.reading_ok = false;
        self.core.mark_idle();
        self.publish_snapshot();
    }

    async fn poll(&mut self) {
        self.poll_now().await;
    }

    async fn set_attr(&mut self, attr: &str, value: Value) -> Result<DeviceOutcome, HubError> {
        self.write_attr(attr, value).await
    }

    async fn action(&mut self, name: &str, args: &[String]) -> Result<ActionOutcome, HubError> {
        self.run_action(name, args).await
    }

    fn columns(&self, task: &TaskSpec) -> Vec<Column> {
        self.task_columns(task)
    }

    async fn prepare_task(
        &mut self,
        task: &TaskSpec,
        params: &BTreeMap<String, Value>,
    ) -> Result<(), String> {
        self.prepare(task, params).await
    }

    async fn do_task(
        &mut self,
        task: &TaskSpec,
        _elapsed: f64,
    ) -> Result<Vec<Option<Value>>, String> {
        self.sample(task).await
    }

    fn verdict(&self, _task: &TaskSpec) -> Verdict {
        self.task_readings.verdict()
    }

    async fn end_task(
        &mut self,
        task: &TaskSpec,
        _state: TaskState,
        recorder: Option<&mut Recorder>,
    ) -> Result<(), String> {
        self.finish(task, recorder).await
    }

    async fn safe_state(&mut self) -> Result<String, String> {
        self.make_safe().await?;
        Ok(SAFE_STATE.into())
    }

    fn publish(&self) {
        self.publish_snapshot();
    }
}

/// What the electrometer's safe state does.
const SAFE_STATE: &str = "acquisition aborted, buffer feed off, zero check on";

/// What the electrometer can do.
fn capabilities() -> Capabilities {
    Capabilities {
        power: None,
        framing: Framing::TextLines,
        techniques: tasks::techniques(),
        safe_state: Some(SAFE_STATE.into()),
        remote: false,
        actions: commands::ACTIONS
            .iter()
            .map(|(usage, summary)| ActionSpec::new(usage, summary))
            .collect(),
    }
}

impl ElectrometerDriver {
    pub fn new(parts: DriverParts, cfg: ElectrometerDriverConfig) -> (Self, DeviceHandle) {
        let sheet = PropertySheet::new(props::sheet());
        let (core, handle) =
            DeviceCore::new(parts, DeviceKind::Electrometer, sheet, capabilities());
        let driver = Self {
            core,
            exchanger: LineExchanger::new(&cfg.terminator),
            cfg,
            function: Function::Current,
            scan: Scan::Idle,
            buffer_count: 0,
            error: None,
            errors_seen: 0,
            overflow: false,
            stuck: false,
            last_value: None,
            same_polls: 0,
            task_readings: tasks::Readings::default(),
            reading_ok: false,
            failures: 0,
            queries: 0,
            failed: 0,
        };
        (driver, handle)
    }

    pub async fn run(self) -> Result<(), Infallible> {
        drive(self).await
    }

    /// `*IDN?`: who is on the other end.
    async fn identify(&mut self) -> Result<(), QueryError> {
        let answer = self.query("*IDN?").await?;
        let identity = answer.text.trim().to_string();
        if !identity.to_ascii_uppercase().contains("KEITHLEY") {
            self.core
                .report
                .notice(format!("unexpected instrument {identity:?}; carrying on"));
        }
        tracing::info!("{}: {identity}", self.core.name);
        self.core
            .set(props::IDENTITY, Value::Text(identity), PropState::Ok);
        Ok(())
    }

    /// One query with bookkeeping: counters, round trip, link alarms.
    async fn query(&mut self, line: &str) -> Result<Answer, QueryError> {
        let timeout = self.cfg.reply_timeout;
        self.query_within(line, timeout).await
    }

    async fn query_within(&mut self, line: &str, timeout: Duration) -> Result<Answer, QueryError> {
        let Some(session) = self.core.session.as_mut() else {
            return Err(QueryError::NotConnected);
        };
        self.queries += 1;
        let result = self.exchanger.query(session, line, timeout).await;
        self.settle(result.as_ref().map(|a| a.round_trip))?;
        result
    }

    /// Count the outcome; a link fault raises the link alarm and lets go
    /// of the session (the manager recovers it).
    fn settle(&mut self, outcome: Result<Duration, &QueryError>) -> Result<(), QueryError> {
        let closed = self
            .core
            .session
            .as_ref()
            .is_none_or(|s| s.closed.is_cancelled());
        match outcome {
            Ok(round_trip) => {
                self.failures = 0;
                if !round_trip.is_zero() {
                    let ms = round_trip.as_secs_f64() * 1e3;
                    self.core
                        .set(props::ROUND_TRIP, Value::Number(ms), PropState::Ok);
                }
            }
            Err(_) if closed => {
                // The manager closed the link under us; not a new failure.
                self.detach();
                return Err(QueryError::NotConnected);
            }
            Err(error) if error.is_link_fault() => {
                self.failed += 1;
                self.failures += 1;
                tracing::warn!("{}: query failed: {error}", self.core.name);
                if self.failures >= self.cfg.alarm_after
                    && let Some(session) = &self.core.session
                {
                    session.raise_alarm(error.to_string());
                    self.detach();
                }
            }
            Err(_) => {}
        }
        self.update_counters();
        Ok(())
    }

    fn detach(&mut self) {
        if self.core.take_session() {
            self.detached();
        }
    }

    fn update_counters(&mut self) {
        self.core.set(
            props::QUERIES,
            Value::from(self.queries as i64),
            PropState::Ok,
        );
        let state = if self.failures > 0 {
            PropState::Alert
        } else {
            PropState::Ok
        };
        self.core
            .set(props::TIMEOUTS, Value::from(self.failed as i64), state);
    }

    /// The latest reading in the instrument's terms (`1.4994 nA`, `overflow`).
    fn reading_text(&self) -> String {
        match self.core.sheet.value(props::READING) {
            Some(Value::Number(v)) => super::si_format(*v, 4, self.function.unit()),
            Some(Value::Text(t)) => t.clone(),
            _ => "-".into(),
        }
    }

    fn publish_snapshot(&self) {
        let liveness = Liveness::of(
            self.core.session.is_some(),
            self.failures == 0 && self.reading_ok,
        );
        let summary = if liveness.is_responding() {
            let reading = self.reading_text();
            match self.scan {
                Scan::Running { points } => {
                    format!("{reading}, scan {}/{points}", self.buffer_count)
                }
                _ => format!("{} {reading}", self.function.mnemonic()),
            }
        } else {
            liveness.to_string()
        };
        let mut conditions = Vec::new();
        if let Some((code, text)) = &self.error {
            conditions.push(Condition::alarm(
                format!("scpi-error-{code}"),
                format!("SCPI error {code}: {text}"),
            ));
        }
        if self.overflow {
            conditions.push(Condition::warning("overflow", "reading overflow"));
        }
        if self.stuck {
            conditions.push(Condition::warning(
                "stuck",
                format!("reading unchanged for {STUCK_AFTER} polls"),
            ));
        }
        self.core.publish(liveness, summary, &conditions);
    }
}
