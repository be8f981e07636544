//! The TURBOVAC driver: polls the pump at a fixed period that doubles as the
//! keep-alive, publishes its properties, and turns operator commands into
//! telegrams (`specs/turbovac.md` §5, §8, §12).

mod commands;
mod exchange;
mod params;
mod props;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

pub use exchange::{Exchange, ExchangeError};

use self::exchange::Exchanger;
use super::{DeviceHandle, DeviceRequest, DeviceSnapshot, PropState, PropertySheet, Value};
use crate::bus::{AlarmKind, Event, EventBus};
use crate::connection::Session;
use crate::link::{DataBits, FlowControl, Parity, SerialSettings, StopBits};
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

enum Wake {
    Stop,
    Session(Option<Session>),
    Closed,
    Request(Option<DeviceRequest>),
    Poll,
}

/// The driver actor.
pub struct PumpDriver {
    name: Arc<str>,
    link: Arc<str>,
    cfg: PumpDriverConfig,
    sessions: mpsc::Receiver<Session>,
    sessions_open: bool,
    session: Option<Session>,
    exchanger: Exchanger,
    requests: mpsc::Receiver<DeviceRequest>,
    state: watch::Sender<DeviceSnapshot>,
    sheet: PropertySheet,
    bus: EventBus,
    cancel: CancellationToken,
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
}

impl PumpDriver {
    pub fn new(
        name: Arc<str>,
        link: Arc<str>,
        cfg: PumpDriverConfig,
        sessions: mpsc::Receiver<Session>,
        bus: EventBus,
        cancel: CancellationToken,
    ) -> (Self, DeviceHandle) {
        let sheet = PropertySheet::new(props::sheet());
        let snapshot = DeviceSnapshot {
            name: name.clone(),
            driver: "turbovac",
            link: link.clone(),
            online: false,
            summary: "offline".into(),
            properties: sheet.all().to_vec(),
            alarms: Vec::new(),
        };
        let (state, state_rx) = watch::channel(snapshot);
        let (tx, requests) = mpsc::channel(32);
        let handle = DeviceHandle::new(name.clone(), tx, state_rx);
        let driver = Self {
            name,
            link,
            exchanger: Exchanger::new(cfg.reply_timeout),
            cfg,
            sessions,
            sessions_open: true,
            session: None,
            requests,
            state,
            sheet,
            bus,
            cancel,
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
        };
        (driver, handle)
    }

    pub async fn run(mut self) -> Result<(), Infallible> {
        let mut poll = tokio::time::interval(self.cfg.poll_interval);
        poll.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let closed = self.session.as_ref().map(|s| s.closed.clone());
            let connected = self.session.is_some();
            let wake = tokio::select! {
                biased;
                _ = self.cancel.cancelled() => Wake::Stop,
                session = self.sessions.recv(), if self.sessions_open => Wake::Session(session),
                _ = cancelled(closed.as_ref()) => Wake::Closed,
                request = self.requests.recv() => Wake::Request(request),
                _ = poll.tick(), if connected => Wake::Poll,
            };
            match wake {
                Wake::Stop | Wake::Request(None) => break,
                Wake::Session(Some(session)) => {
                    self.attach(session).await;
                    poll.reset();
                }
                Wake::Session(None) => self.sessions_open = false,
                Wake::Closed => self.detach(),
                Wake::Request(Some(request)) => {
                    let reply = self.command(request.command).await;
                    let _ = request.reply.send(reply);
                }
                Wake::Poll => {
                    let _ = self.poll().await;
                }
            }
        }
        self.session = None;
        Ok(())
    }

    async fn attach(&mut self, session: Session) {
        tracing::info!("{}: link up on {}", self.name, session.endpoint);
        self.session = Some(session);
        self.exchanger.reset();
        self.failures = 0;
        self.off_polls = 0;
        if self.poll().await.is_err() {
            return;
        }
        self.read_setpoint().await;
    }

    fn detach(&mut self) {
        if self.session.take().is_none() {
            return;
        }
        tracing::info!("{}: link down", self.name);
        self.status = None;
        for update in self.sheet.mark_all(PropState::Idle) {
            self.announce(update);
        }
        self.publish();
    }

    /// Status poll; the keep-alive while the pump should run.
    async fn poll(&mut self) -> Result<Exchange, ExchangeError> {
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
        self.publish();
        Ok(exchange)
    }

    /// One exchange with bookkeeping: counters, alarms to the connection.
    async fn exchange(&mut self, query: &Telegram) -> Result<Exchange, ExchangeError> {
        let Some(session) = self.session.as_mut() else {
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
                self.set(props::ROUND_TRIP, Value::Float(rtt), PropState::Ok);
            }
            Err(error) if error.is_link_fault() => {
                self.failed += 1;
                self.failures += 1;
                tracing::warn!("{}: exchange failed: {error}", self.name);
                if self.failures >= self.cfg.alarm_after
                    && let Some(session) = &self.session
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
        self.set(props::ON, Value::Bool(running), PropState::Ok);
        self.set(props::FREQUENCY, Value::Int(frequency), PropState::Ok);
        self.set(
            props::TEMPERATURE,
            Value::Int(i64::from(reply.temperature())),
            temp_state(zsw),
        );
        self.set(
            props::CURRENT,
            Value::Float(f64::from(reply.current()) / 10.0),
            PropState::Ok,
        );
        self.set(
            props::VOLTAGE,
            Value::Int(i64::from(reply.voltage())),
            PropState::Ok,
        );
        self.set(props::STATUS, Value::Text(zsw.to_string()), PropState::Ok);
        self.set(
            props::MOTION,
            Value::Text(motion(zsw, frequency).into()),
            PropState::Ok,
        );
        self.set(
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
                self.bus
                    .notice(&self.name, "pump is off although it should run");
            }
        } else {
            self.off_polls = 0;
        }

        if !zsw.has(StatusWord::ERROR) {
            if self.error.take().is_some() {
                self.bus
                    .alarm(&self.name, AlarmKind::Device, false, "pump error cleared");
            }
            self.set(props::ERROR, Value::Text("none".into()), PropState::Ok);
        }
        if !zsw.has(StatusWord::WARNING) {
            if self.warnings_known {
                self.bus.alarm(
                    &self.name,
                    AlarmKind::Device,
                    false,
                    "pump warnings cleared",
                );
            }
            self.warnings = 0;
            self.warnings_known = false;
            self.set(props::WARNINGS, Value::Text("none".into()), PropState::Ok);
        }
    }

    async fn fetch_error(&mut self) {
        if let Ok((_, code)) = self.read_param(171, 0).await {
            let code = code.as_i64() as u16;
            self.error = Some(code);
            let text = format!("{code}: {}", error_name(code).unwrap_or("unknown error"));
            self.set(props::ERROR, Value::Text(text.clone()), PropState::Alert);
            self.bus.alarm(
                &self.name,
                AlarmKind::Device,
                true,
                format!("pump error {text}"),
            );
        }
    }

    async fn fetch_warnings(&mut self) {
        if let Ok((_, bits)) = self.read_param(227, 0).await {
            self.warnings = bits.as_i64() as u16;
            self.warnings_known = true;
            let text = self.warning_text();
            self.set(props::WARNINGS, Value::Text(text.clone()), PropState::Busy);
            self.bus.alarm(
                &self.name,
                AlarmKind::Device,
                true,
                format!("pump warning: {text}"),
            );
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

    fn set(&mut self, name: &str, value: Value, state: PropState) {
        if let Some(update) = self.sheet.set(name, value, state) {
            self.announce(update);
        }
    }

    fn set_state(&mut self, name: &str, state: PropState) {
        if let Some(update) = self.sheet.set_state(name, state) {
            self.announce(update);
        }
    }

    fn announce(&self, update: super::PropertyUpdate) {
        self.bus.publish(Event::Property {
            device: self.name.clone(),
            update,
        });
    }

    fn update_counters(&mut self) {
        self.set(
            props::TELEGRAMS,
            Value::Int(self.telegrams as i64),
            PropState::Ok,
        );
        let failed_state = if self.failures > 0 {
            PropState::Alert
        } else {
            PropState::Ok
        };
        self.set(
            props::TIMEOUTS,
            Value::Int(self.failed as i64),
            failed_state,
        );
        self.set(
            props::DISCARDED,
            Value::Int(self.discarded as i64),
            PropState::Ok,
        );
    }

    fn publish(&self) {
        let online = self.session.is_some() && self.failures == 0 && self.status.is_some();
        let summary = if !online {
            "offline".to_string()
        } else {
            let motion = self
                .sheet
                .get(props::MOTION)
                .and_then(|p| p.value.as_ref())
                .map_or_else(String::new, |v| v.render(0));
            let frequency = self
                .sheet
                .get(props::FREQUENCY)
                .map_or_else(String::new, |p| p.display());
            match self.error {
                Some(code) => format!("ERROR {code}, {motion} {frequency}"),
                None => format!("{motion} {frequency}"),
            }
        };
        let mut alarms = Vec::new();
        if let Some(code) = self.error {
            alarms.push(format!(
                "error {code}: {}",
                error_name(code).unwrap_or("unknown error")
            ));
        }
        for (bit, name) in warnings_in(self.warnings) {
            alarms.push(format!("warning bit {bit}: {name}"));
        }
        if self.warnings_known && self.warnings == 0 {
            alarms.push(format!("warning: {}", self.warning_text()));
        }
        self.state.send_replace(DeviceSnapshot {
            name: self.name.clone(),
            driver: "turbovac",
            link: self.link.clone(),
            online,
            summary,
            properties: self.sheet.all().to_vec(),
            alarms,
        });
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

async fn cancelled(token: Option<&CancellationToken>) {
    match token {
        Some(token) => token.cancelled().await,
        None => std::future::pending().await,
    }
}
