//! Keithley 6517B electrometer simulator behind a one-client TCP server,
//! in two dialects: `scpi` (the real instrument) and `lsst` (the LSST
//! mock, byte for byte). The actor schedules replies (delays keep them in
//! order) and applies the faults.

pub mod dialect;
pub mod faults;
pub mod lsst;
pub mod model;
mod replay;
pub mod scpi;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, sleep_until};
use tokio_util::sync::CancellationToken;

use self::dialect::{Dialect, Outcome};
use self::model::ReadingModel;
use crate::error::HubError;
use crate::link::{Framing, TrafficTap};
use crate::protocol::scpi::ScpiError;
use crate::publish::Publisher;
use crate::server::{OneClientServer, ServerConfig, ServerError, ServerEvent, ServerState};
use crate::sim::{
    FaultBoard, FaultInfo, FaultSetting, SimDetail, SimEvent, SimKind, SimReporter, SimRequest,
    SimSnapshot, SimulatorHandle,
};

pub use dialect::{DialectSpec, DialectState};
pub use lsst::Brand;
pub use model::Signal;
pub use replay::LineBook;

/// How the simulator is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct ElectrometerSimSpec {
    pub dialect: DialectSpec,
    /// Loopback unless configured otherwise.
    pub host: String,
    /// 0 = an ephemeral port.
    pub port: u16,
    /// What ends the `scpi` dialect's replies (its input accepts CR, LF or
    /// CRLF). The `lsst` dialect uses its brand's terminator.
    pub terminator: Vec<u8>,
    /// A longer line without a terminator drops the client.
    pub max_line: usize,
    /// Start with the `unstable` fault on (random 0–2 s per reply).
    pub unstable: bool,
    /// Simulated seconds per real second (buffer filling, drift).
    pub speed: f64,
    /// Mains frequency: one PLC lasts 1/line_frequency seconds.
    pub line_frequency: f64,
    pub signal: Signal,
    /// Seed of the noise generator.
    pub seed: u64,
    /// A client that does not read its replies for this long is dropped.
    pub write_timeout: Duration,
    /// Answer from a recording instead of the model.
    pub replay: Option<LineBook>,
}

impl Default for ElectrometerSimSpec {
    fn default() -> Self {
        Self {
            dialect: DialectSpec::Scpi,
            host: "127.0.0.1".into(),
            port: 0,
            terminator: b"\n".to_vec(),
            max_line: 64 * 1024,
            unstable: false,
            speed: 1.0,
            line_frequency: 50.0,
            signal: Signal::default(),
            seed: 0x6517_b00d,
            write_timeout: Duration::from_secs(5),
            replay: None,
        }
    }
}

/// What the console shows of the simulator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ElectrometerState {
    pub dialect: String,
    pub server: ServerState,
    pub instrument: DialectState,
}

/// Bytes waiting for their delay, then perhaps the end of the client.
struct Pending {
    due: Instant,
    bytes: Vec<u8>,
    close: Option<String>,
}

enum Wake {
    Stop,
    Request(Option<SimRequest>),
    Due,
    Server(ServerEvent),
    Tick,
}

pub struct ElectrometerSimulator {
    name: Arc<str>,
    spec: ElectrometerSimSpec,
    server: OneClientServer,
    dialect: Dialect,
    faults: FaultBoard,
    pending: VecDeque<Pending>,
    /// The client is being dropped: later lines are lost, as in the mock.
    closing: bool,
    requests: mpsc::Receiver<SimRequest>,
    state: watch::Sender<SimSnapshot>,
    report: SimReporter,
    cancel: CancellationToken,
    started: Instant,
    rng: u64,
    /// The fault list changed since it was last published.
    faults_changed: bool,
}

impl ElectrometerSimulator {
    /// Bind the server and build the actor; the bound address is known
    /// from here on (`local_addr`).
    pub async fn create(
        name: Arc<str>,
        spec: ElectrometerSimSpec,
        out: Publisher<SimEvent>,
        tap: Option<TrafficTap>,
        cancel: CancellationToken,
    ) -> Result<(Self, SimulatorHandle), ServerError> {
        let mut server = OneClientServer::bind(ServerConfig {
            host: spec.host.clone(),
            port: spec.port,
            terminator: spec.dialect.terminator(&spec.terminator),
            any_line_end: spec.dialect == DialectSpec::Scpi,
            encoding: spec.dialect.encoding(),
            max_line: spec.max_line,
            ..ServerConfig::default()
        })
        .await?;
        if let Some(tap) = tap {
            server.set_tap(tap);
        }
        let model = ReadingModel::new(spec.signal, spec.line_frequency, spec.seed);
        let dialect = Dialect::new(spec.dialect, model);
        let catalogue = match spec.dialect {
            DialectSpec::Scpi => faults::SCPI_CATALOGUE,
            DialectSpec::Lsst { .. } => faults::LSST_CATALOGUE,
        };
        let mut faults = FaultBoard::new(name.clone(), catalogue);
        if spec.unstable {
            let _ = faults.set(faults::UNSTABLE, FaultSetting::On);
        }
        let snapshot = SimSnapshot {
            name: name.clone(),
            kind: SimKind::Electrometer,
            framing: Framing::TextLines,
            endpoint: Some(server.local_addr().to_string()),
            faults: faults.list(),
            detail: SimDetail::Electrometer(Box::new(ElectrometerState {
                dialect: spec.dialect.describe(),
                server: server.watch().borrow().clone(),
                instrument: dialect.state(),
            })),
        };
        let (state, state_rx) = watch::channel(snapshot);
        let (tx, requests) = mpsc::channel(16);
        let handle = SimulatorHandle::new(name.clone(), tx, state_rx);
        let report = SimReporter::new(name.clone(), out);
        let sim = Self {
            name,
            rng: spec.seed ^ 0x9e37_79b9_7f4a_7c15,
            spec,
            server,
            dialect,
            faults,
            pending: VecDeque::new(),
            closing: false,
            requests,
            state,
            report,
            cancel,
            started: Instant::now(),
            faults_changed: false,
        };
        Ok((sim, handle))
    }

    /// Where clients connect.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.server.local_addr()
    }

    pub async fn run(mut self) -> Result<(), ServerError> {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        // Registered once, not on every turn of the loop.
        let cancel = self.cancel.clone();
        let cancelled = cancel.cancelled();
        tokio::pin!(cancelled);
        loop {
            let due = self.pending.front().map(|p| p.due);
            let wake = tokio::select! {
                biased;
                () = &mut cancelled => Wake::Stop,
                request = self.requests.recv() => Wake::Request(request),
                () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => Wake::Due,
                event = self.server.next_event() => Wake::Server(event),
                // Only an acquisition changes the instrument by itself. A
                // timer that is always pending costs every wait for the
                // next query a kernel timer (5-10 % of a round trip here).
                _ = tick.tick(), if self.dialect.acquiring() => Wake::Tick,
            };
            match wake {
                Wake::Stop | Wake::Request(None) => break,
                Wake::Request(Some(request)) => self.request(request).await,
                Wake::Due => self.send_due().await,
                Wake::Server(event) => self.server_event(event).await,
                Wake::Tick => {
                    let now = self.sim_time(Instant::now());
                    self.dialect.advance(now);
                    self.publish();
                }
            }
        }
        self.server.close().await;
        Ok(())
    }

    /// Seconds of simulated time since start.
    fn sim_time(&self, now: Instant) -> f64 {
        (now - self.started).as_secs_f64() * self.spec.speed
    }

    async fn server_event(&mut self, event: ServerEvent) {
        match event {
            ServerEvent::Connected(peer) => {
                // A stale client may have been let go without an event.
                self.forget_client();
                tracing::info!("{}: client {peer} connected", self.name);
                self.report.notice(format!("client {peer} connected"));
                if self.faults.is_on(faults::DROP) {
                    self.drop_client("the drop fault is on".into()).await;
                } else if let Some(greeting) = self.dialect.greeting() {
                    let bytes = self.encode(greeting);
                    self.send(bytes, None).await;
                }
            }
            ServerEvent::Rejected(peer) => {
                self.report
                    .notice(format!("rejected {peer}: a client is already connected"));
            }
            ServerEvent::Line(bytes) => self.line(&bytes).await,
            ServerEvent::Disconnected(reason) => {
                tracing::info!("{}: client gone: {reason}", self.name);
                self.report.notice(format!("client gone: {reason}"));
                self.forget_client();
            }
        }
        self.publish();
    }

    async fn line(&mut self, bytes: &[u8]) {
        if self.closing {
            return;
        }
        let now = Instant::now();
        let sim_time = self.sim_time(now);
        let Outcome { mut replies, close } = match &mut self.spec.replay {
            Some(book) => Outcome {
                replies: book.answer(bytes).into_iter().collect(),
                close: None,
            },
            None => self.dialect.handle(bytes, sim_time),
        };
        if self.faults.is_on(faults::NO_REPLY) {
            replies.clear();
        }
        if close.is_some() {
            self.closing = true;
        }
        let delayed = self.faults.is_on(faults::DELAY) || self.faults.is_on(faults::UNSTABLE);
        if !delayed && self.pending.is_empty() {
            // One write for the whole answer.
            let mut out = Vec::new();
            for reply in &replies {
                out.extend(self.encode(reply));
            }
            self.send(out, close).await;
            return;
        }
        for reply in &replies {
            let bytes = self.encode(reply);
            let due = self.due(now, true);
            self.pending.push_back(Pending {
                due,
                bytes,
                close: None,
            });
        }
        if close.is_some() {
            let due = self.due(now, false);
            self.pending.push_back(Pending {
                due,
                bytes: Vec::new(),
                close,
            });
        }
    }

    /// When the next reply may leave: after the ones before it, after the
    /// fixed delay, plus the `unstable` jitter.
    fn due(&mut self, now: Instant, jitter: bool) -> Instant {
        let fixed = self
            .faults
            .value(faults::DELAY)
            .map(Duration::from_millis)
            .unwrap_or_default();
        let mut due = self
            .pending
            .back()
            .map_or(now + fixed, |last| last.due.max(now + fixed));
        if jitter && self.faults.is_on(faults::UNSTABLE) {
            due += Duration::from_secs_f64(self.uniform() * faults::UNSTABLE_MAX);
        }
        due
    }

    fn uniform(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }

    /// A reply line on the wire, or garbage when that fault is on.
    fn encode(&self, reply: &str) -> Vec<u8> {
        let config = self.server.config();
        let mut bytes = match self.faults.value(faults::GARBAGE) {
            Some(count) => faults::garbage(count as usize),
            None => config
                .encoding
                .encode(reply)
                .unwrap_or_else(|_| reply.as_bytes().to_vec()),
        };
        bytes.extend_from_slice(&config.terminator);
        bytes
    }

    async fn send_due(&mut self) {
        let now = Instant::now();
        while self.pending.front().is_some_and(|p| p.due <= now) {
            if let Some(p) = self.pending.pop_front() {
                self.send(p.bytes, p.close).await;
            }
        }
    }

    async fn send(&mut self, bytes: Vec<u8>, close: Option<String>) {
        if !bytes.is_empty() {
            let limit = self.spec.write_timeout;
            match tokio::time::timeout(limit, self.server.write(&bytes)).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::debug!("{}: reply not sent: {e}", self.name);
                    self.forget_client();
                }
                Err(_) => {
                    let reason = format!(
                        "the client has not read its replies for {:.1} s",
                        limit.as_secs_f64()
                    );
                    self.drop_client(reason).await;
                }
            }
        }
        if let Some(reason) = close {
            self.drop_client(reason).await;
        }
    }

    async fn drop_client(&mut self, reason: String) {
        if !self.server.connected() {
            self.forget_client();
            return;
        }
        tracing::warn!("{}: dropping the client: {reason}", self.name);
        self.report.notice(format!("dropped the client: {reason}"));
        self.server.close_client().await;
        self.forget_client();
    }

    fn forget_client(&mut self) {
        self.pending.clear();
        self.closing = false;
    }

    async fn request(&mut self, request: SimRequest) {
        match request {
            SimRequest::SetFault { id, setting, reply } => {
                let result = self.set_fault(&id, setting).await;
                let _ = reply.send(result);
            }
        }
    }

    async fn set_fault(&mut self, id: &str, setting: FaultSetting) -> Result<FaultInfo, HubError> {
        let info = self.faults.set(id, setting)?;
        match id {
            faults::DROP if info.active => self.drop_client("the drop fault is on".into()).await,
            faults::LISTENER_DOWN if info.active => {
                self.server.close().await;
                self.forget_client();
                self.report.notice("listener down: connections refused");
            }
            faults::LISTENER_DOWN => match self.server.reopen().await {
                Ok(()) => self
                    .report
                    .notice(format!("listening again on {}", self.server.local_addr())),
                Err(e) => {
                    tracing::error!("{}: {e}", self.name);
                    self.report.notice(e.to_string());
                    let _ = self.faults.set(id, FaultSetting::On);
                }
            },
            faults::INJECT_ERROR if info.active => {
                let code = info.value.unwrap_or(222) as i32;
                if let Some(instrument) = self.dialect.instrument_mut() {
                    instrument.push_error(ScpiError::from_code(-code));
                }
                // A one-shot: the fault is off again once the error is queued.
                let _ = self.faults.set(id, FaultSetting::Off);
            }
            _ => {}
        }
        if let Some(instrument) = self.dialect.instrument_mut() {
            let model = instrument.model_mut();
            model.force_overflow = self.faults.is_on(faults::OVERFLOW);
            model.stuck = self.faults.is_on(faults::STUCK);
        }
        tracing::info!("{}: fault {info}", self.name);
        self.report.fault(info.clone());
        self.faults_changed = true;
        self.publish();
        Ok(info)
    }

    /// Publish what changed. Runs after every event, so the unchanged
    /// case (most queries) costs a few comparisons and no allocation.
    fn publish(&mut self) {
        let server = self.server.watch().borrow().clone();
        let instrument = self.dialect.state();
        let faults = std::mem::take(&mut self.faults_changed).then(|| self.faults.list());
        self.state.send_if_modified(|snapshot| {
            let SimDetail::Electrometer(detail) = &mut snapshot.detail else {
                return false;
            };
            let mut changed = false;
            if detail.server != server {
                snapshot.endpoint = server.listening.map(|a| a.to_string());
                detail.server = server;
                changed = true;
            }
            if detail.instrument != instrument {
                detail.instrument = instrument;
                changed = true;
            }
            if let Some(faults) = faults
                && snapshot.faults != faults
            {
                snapshot.faults = faults;
                changed = true;
            }
            changed
        });
    }
}
