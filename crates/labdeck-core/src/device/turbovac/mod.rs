//! The TURBOVAC driver: polls the pump at a fixed period that doubles as the
//! keep-alive, publishes its properties, and turns operator commands into
//! telegrams (`specs/turbovac.md` §5, §8, §12).

mod commands;
mod exchange;
mod params;
mod props;
mod tasks;

use std::convert::Infallible;
use std::time::Duration;

use std::collections::BTreeMap;

pub use exchange::{Exchange, ExchangeError};
pub use tasks::techniques;

use self::exchange::Exchanger;
use super::actor::drive;
use super::core::{DeviceCore, Driver, Verdict};
use super::{
    ActionOutcome, ActionSpec, Capabilities, Column, DeviceHandle, DeviceKind, DeviceOutcome,
    DriverParts, Liveness, PropState, PropertySheet, Recorder, TaskSpec, TaskState, Value,
};
use crate::alarm::Condition;
use crate::error::HubError;
use crate::link::{DataBits, FlowControl, Framing, Parity, SerialSettings, StopBits};
use crate::protocol::turbovac::{
    AccessCode, ControlWord, StatusWord, Telegram, error_name, warnings_in,
};

/// Serial settings of the pump (§1).
pub const SERIAL: SerialSettings = SerialSettings {
    baud: 19200,
    data_bits: DataBits(8),
    parity: Parity::Even,
    stop_bits: StopBits(1),
    flow_control: FlowControl::None,
    exclusive: true,
};

/// How the driver talks to the pump.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PumpDriverConfig {
    /// Status poll period; doubles as the keep-alive while the pump runs.
    pub poll_interval: Duration,
    /// Reply timeout of one exchange (turboctl: 1 s).
    pub reply_timeout: Duration,
    /// Failed exchanges in a row before the link is reported in trouble.
    pub alarm_after: u32,
}

impl Default for PumpDriverConfig {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_millis(500),
            reply_timeout: Duration::from_secs(1),
            alarm_after: 1,
        }
    }
}

/// The driver actor.
pub struct PumpDriver {
    core: DeviceCore,
    cfg: PumpDriverConfig,
    exchanger: Exchanger,
    /// What the operator wants; `None` until the first status tells.
    wanted_on: Option<bool>,
    status: Option<StatusWord>,
    /// Polls in a row that showed the pump off while it should run.
    off_polls: u32,
    failures: u32,
    error: Option<u16>,
    warnings: u16,
    warnings_known: bool,
    telegrams: u64,
    failed: u64,
    discarded: u64,
    /// The software ramp of a running `ramp` task.
    ramp: Option<tasks::Ramp>,
}

impl Driver for PumpDriver {
    fn core(&mut self) -> &mut DeviceCore {
        &mut self.core
    }

    fn poll_interval(&self) -> Duration {
        self.cfg.poll_interval
    }

    async fn attached(&mut self) {
        self.exchanger.reset();
        self.failures = 0;
        self.off_polls = 0;
        if self.poll_status().await.is_err() {
            return;
        }
        self.read_setpoint().await;
    }

    fn detached(&mut self) {
        self.status = None;
        self.ramp = None;
        self.core.mark_idle();
        self.publish_snapshot();
    }

    async fn poll(&mut self) {
        let _ = self.poll_status().await;
    }

    async fn set_attr(&mut self, attr: &str, value: Value) -> Result<DeviceOutcome, HubError> {
        self.write_attr(attr, value).await
    }

    async fn action(&mut self, name: &str, args: &[String]) -> Result<ActionOutcome, HubError> {
        self.run_action(name, args).await
    }

    async fn power(&mut self, on: bool) -> Result<DeviceOutcome, HubError> {
        self.switch(on).await?;
        Ok(DeviceOutcome::Power { on })
    }

    fn columns(&self, task: &TaskSpec) -> Vec<Column> {
        tasks::columns(&task.technique)
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

    fn verdict(&self, task: &TaskSpec) -> Verdict {
        self.judge(task)
    }

    async fn end_task(
        &mut self,
        _task: &TaskSpec,
        _state: TaskState,
        _recorder: Option<&mut Recorder>,
    ) -> Result<(), String> {
        // The pump keeps the last commanded setpoint; a cancel's safe
        // state switches it off.
        self.ramp = None;
        Ok(())
    }

    async fn safe_state(&mut self) -> Result<String, String> {
        self.switch(false).await.map_err(|e| e.detail())?;
        Ok(SAFE_STATE.into())
    }

    fn publish(&self) {
        self.publish_snapshot();
    }
}

/// What the pump's safe state does.
const SAFE_STATE: &str = "pump switched off (STOP); the rotor runs down";

/// What the pump can do.
pub fn capabilities() -> Capabilities {
    Capabilities {
        power: Some(props::ON.into()),
        framing: Framing::UssTelegrams,
        techniques: tasks::techniques(),
        safe_state: Some(SAFE_STATE.into()),
        remote: false,
        actions: vec![
            ActionSpec::new(
                "reset",
                "clear a pump error (with ON when it should keep running)",
            ),
            ActionSpec::new("poll", "one status exchange, timed"),
            ActionSpec::new("read PNU [INDEX]", "read a parameter"),
            ActionSpec::new("write PNU VALUE [INDEX]", "write a parameter"),
        ],
    }
}

impl PumpDriver {
    pub fn new(parts: DriverParts, cfg: PumpDriverConfig) -> (Self, DeviceHandle) {
        let mut sheet = PropertySheet::new(props::sheet());
        sheet.set(
            props::RAMP_RATE,
            Value::Number(tasks::DEFAULT_RAMP_RATE),
            PropState::Ok,
        );
        let (core, handle) = DeviceCore::new(parts, DeviceKind::Turbovac, sheet, capabilities());
        let driver = Self {
            core,
            exchanger: Exchanger::new(cfg.reply_timeout),
            cfg,
            wanted_on: None,
            status: None,
            off_polls: 0,
            failures: 0,
            error: None,
            warnings: 0,
            warnings_known: false,
            telegrams: 0,
            failed: 0,
            discarded: 0,
            ramp: None,
        };
        (driver, handle)
    }

    pub async fn run(self) -> Result<(), Infallible> {
        drive(self).await
    }

    /// The session died under an exchange.
    fn detach(&mut self) {
        if self.core.take_session() {
            self.detached();
        }
    }

    /// Status poll; the keep-alive while the pump should run.
    async fn poll_status(&mut self) -> Result<Exchange, ExchangeError> {
        let stw = if self.wanted_on == Some(true) {
            ControlWord::RUN
        } else {
            ControlWord::POLL
        };
        self.control(stw).await
    }

    async fn control(&mut self, stw: ControlWord) -> Result<Exchange, ExchangeError> {
        let query = Telegram::query(stw.0, AccessCode::None, 0, 0, 0);
        let exchange = self.exchange(&query).await?;
        self.apply_status(&exchange.reply);
        // Details the status word only flags are read right away.
        if self.status.is_some_and(|z| z.has(StatusWord::ERROR)) && self.error.is_none() {
            self.fetch_error().await;
        }
        if self.status.is_some_and(|z| z.has(StatusWord::WARNING)) && !self.warnings_known {
            self.fetch_warnings().await;
        }
        self.publish_snapshot();
        Ok(exchange)
    }

    /// One exchange with bookkeeping: counters, alarms to the connection.
    async fn exchange(&mut self, query: &Telegram) -> Result<Exchange, ExchangeError> {
        let Some(session) = self.core.session.as_mut() else {
            return Err(ExchangeError::NotConnected);
        };
        self.telegrams += 1;
        let result = self.exchanger.exchange(session, query).await;
        if result.is_err() && session.closed.is_cancelled() {
            // The manager closed the link under us; not a new failure.
            self.detach();
            return Err(ExchangeError::NotConnected);
        }
        match &result {
            Ok(exchange) => {
                self.failures = 0;
                self.discarded += exchange.discarded as u64;
                let rtt = exchange.round_trip.as_secs_f64() * 1e3;
                self.core
                    .set(props::ROUND_TRIP, Value::Number(rtt), PropState::Ok);
            }
            Err(error) if error.is_link_fault() => {
                self.failed += 1;
                self.failures += 1;
                tracing::warn!("{}: exchange failed: {error}", self.core.name);
                if self.failures >= self.cfg.alarm_after
                    && let Some(session) = &self.core.session
                {
                    session.raise_alarm(error.to_string());
                    // The manager closes this link now; stop using it.
                    self.detach();
                }
            }
            Err(_) => {}
        }
        self.update_counters();
        result
    }

    /// Update properties from a reply's status word and process data.
    fn apply_status(&mut self, reply: &Telegram) {
        let zsw = reply.status_word();
        self.status = Some(zsw);
        let running = zsw.has(StatusWord::OPERATION);
        if self.wanted_on.is_none() {
            // Keep the pump in the state it is in (like turboctl 1.1).
            self.wanted_on = Some(running);
        }
        let frequency = i64::from(reply.frequency());
        self.core
            .set(props::ON, Value::Bool(running), PropState::Ok);
        self.core
            .set(props::FREQUENCY, Value::from(frequency), PropState::Ok);
        self.core.set(
            props::TEMPERATURE,
            Value::from(i64::from(reply.temperature())),
            temp_state(zsw),
        );
        self.core.set(
            props::CURRENT,
            Value::Number(f64::from(reply.current()) / 10.0),
            PropState::Ok,
        );
        self.core.set(
            props::VOLTAGE,
            Value::from(i64::from(reply.voltage())),
            PropState::Ok,
        );
        self.core
            .set(props::STATUS, Value::Text(zsw.to_string()), PropState::Ok);
        self.core.set(
            props::MOTION,
            Value::Text(motion(zsw, frequency).into()),
            PropState::Ok,
        );
        self.core.set(
            props::KEEP_ALIVE,
            Value::Bool(self.wanted_on == Some(true)),
            PropState::Ok,
        );

        // A pump that should run but reports off twice in a row stopped by
        // itself (keep-alive lost, error); the first reply to ON may still
        // show READY on a real pump.
        if self.wanted_on == Some(true) && !running && !zsw.has(StatusWord::ERROR) {
            self.off_polls += 1;
            if self.off_polls == 2 {
                self.core
                    .report
                    .notice("pump is off although it should run");
            }
        } else {
            self.off_polls = 0;
        }

        if !zsw.has(StatusWord::ERROR) {
            self.error = None;
            self.core
                .set(props::ERROR, Value::Text("none".into()), PropState::Ok);
        }
        if !zsw.has(StatusWord::WARNING) {
            self.warnings = 0;
            self.warnings_known = false;
            self.core
                .set(props::WARNINGS, Value::Text("none".into()), PropState::Ok);
        }
    }

    async fn fetch_error(&mut self) {
        if let Ok((_, code)) = self.read_param(171, 0).await {
            let code = code.as_i64() as u16;
            self.error = Some(code);
            let text = format!("{code}: {}", error_name(code).unwrap_or("unknown error"));
            self.core
                .set(props::ERROR, Value::Text(text), PropState::Alert);
        }
    }

    async fn fetch_warnings(&mut self) {
        if let Ok((_, bits)) = self.read_param(227, 0).await {
            self.warnings = bits.as_i64() as u16;
            self.warnings_known = true;
            let text = self.warning_text();
            self.core
                .set(props::WARNINGS, Value::Text(text), PropState::Busy);
        }
    }

    /// Active warnings: P227 bits by name, plus what only the status word
    /// says (the converter temperature warning has no P227 bit).
    fn warning_text(&self) -> String {
        let mut parts: Vec<String> = warnings_in(self.warnings)
            .into_iter()
            .map(|(bit, name)| format!("bit {bit}: {name}"))
            .collect();
        let zsw = self.status.unwrap_or_default();
        if parts.is_empty() && zsw.has(StatusWord::TEMP_WARNING) {
            parts.push("temperature warning (status word)".into());
        }
        if parts.is_empty() {
            parts.push("collective warning (status word)".into());
        }
        parts.join("; ")
    }

    fn update_counters(&mut self) {
        self.core.set(
            props::TELEGRAMS,
            Value::from(self.telegrams as i64),
            PropState::Ok,
        );
        let failed_state = if self.failures > 0 {
            PropState::Alert
        } else {
            PropState::Ok
        };
        self.core.set(
            props::TIMEOUTS,
            Value::from(self.failed as i64),
            failed_state,
        );
        self.core.set(
            props::DISCARDED,
            Value::from(self.discarded as i64),
            PropState::Ok,
        );
    }

    fn publish_snapshot(&self) {
        let liveness = Liveness::of(
            self.core.session.is_some(),
            self.failures == 0 && self.status.is_some(),
        );
        let summary = if liveness.is_responding() {
            let motion = self
                .core
                .sheet
                .value(props::MOTION)
                .and_then(Value::as_text)
                .unwrap_or_default();
            let frequency = self
                .core
                .sheet
                .value(props::FREQUENCY)
                .and_then(Value::as_f64)
                .map_or_else(String::new, |hz| format!("{hz} Hz"));
            match self.error {
                Some(code) => format!("ERROR {code}, {motion} {frequency}"),
                None => format!("{motion} {frequency}"),
            }
        } else {
            liveness.to_string()
        };
        self.core.publish(liveness, summary, &self.conditions());
    }

    /// The pump's error and warnings, each its own condition.
    fn conditions(&self) -> Vec<Condition> {
        let mut conditions = Vec::new();
        if let Some(code) = self.error {
            conditions.push(Condition::alarm(
                format!("error-{code}"),
                format!(
                    "error {code}: {}",
                    error_name(code).unwrap_or("unknown error")
                ),
            ));
        }
        for (bit, name) in warnings_in(self.warnings) {
            conditions.push(Condition::warning(
                format!("warning-bit-{bit}"),
                format!("warning bit {bit}: {name}"),
            ));
        }
        if self.warnings_known && self.warnings == 0 {
            conditions.push(Condition::warning(
                "warning-status",
                format!("warning: {}", self.warning_text()),
            ));
        }
        conditions
    }
}

fn temp_state(zsw: StatusWord) -> PropState {
    if zsw.has(StatusWord::TEMP_WARNING) {
        PropState::Busy
    } else {
        PropState::Ok
    }
}

fn motion(zsw: StatusWord, frequency: i64) -> &'static str {
    if zsw.has(StatusWord::OVERLOAD) {
        "overloaded"
    } else if zsw.has(StatusWord::ACCELERATION) {
        "accelerating"
    } else if zsw.has(StatusWord::DECELERATION) {
        "decelerating"
    } else if frequency == 0 {
        "stopped"
    } else if zsw.has(StatusWord::OPERATION) {
        "at speed"
    } else {
        "turning"
    }
}
