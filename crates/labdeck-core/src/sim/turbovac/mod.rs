//! TURBOVAC pump simulator: the pump model behind a virtual serial port,
//! with event-driven I/O and a fault catalogue (`specs/turbovac.md` §9–§11).

pub mod faults;
mod model;
mod replay;

use std::collections::VecDeque;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use thiserror::Error;
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior, sleep_until};
use tokio_util::sync::CancellationToken;

pub use model::{ModelFaults, Profile, PumpConfig, PumpModel, PumpState, param_error, pump_error};
pub use replay::{Access, ReplayBook, ReplayError};

use super::{
    FaultBoard, FaultInfo, FaultSetting, SimDetail, SimEvent, SimKind, SimReporter, SimRequest,
    SimSnapshot, SimulatorHandle,
};
use crate::error::HubError;
use crate::link::pty::{PtyError, VirtualPort};
use crate::link::{Direction, Framing, TrafficTap};
use crate::protocol::turbovac::{FrameEvent, Telegram, TelegramFramer, error_name};
use crate::publish::Publisher;

/// How the simulator is set up.
#[derive(Debug, Clone, PartialEq)]
pub struct TurbovacSimSpec {
    pub pump: PumpConfig,
    /// Stable symlink to the pty slave.
    pub link: Option<PathBuf>,
    /// Answer from a recording instead of the model.
    pub replay: Option<ReplayBook>,
}

#[derive(Debug, Error)]
pub enum SimRunError {
    #[error("virtual port: {0}")]
    Pty(#[from] PtyError),
    #[error("virtual port I/O: {0}")]
    Io(#[from] io::Error),
}

/// A reply waiting for its delay to pass.
struct Pending {
    due: Instant,
    bytes: Vec<u8>,
}

enum Wake {
    Stop,
    Request(Option<SimRequest>),
    Read(io::Result<usize>),
    Due,
    Tick,
}

/// The simulator actor.
pub struct PumpSimulator {
    name: Arc<str>,
    model: PumpModel,
    faults: FaultBoard,
    port: Option<VirtualPort>,
    link: Option<PathBuf>,
    framer: TelegramFramer,
    pending: VecDeque<Pending>,
    requests: mpsc::Receiver<SimRequest>,
    state: watch::Sender<SimSnapshot>,
    port_path: watch::Sender<Option<PathBuf>>,
    report: SimReporter,
    tap: TrafficTap,
    cancel: CancellationToken,
    noise: u64,
    last: PumpState,
    replay: Option<ReplayBook>,
    /// Requests the recording had no answer for, said once each.
    unanswered: Vec<Access>,
}

impl PumpSimulator {
    /// Open the virtual port and build the actor. Returns the handle and a
    /// watch of the path clients should open (`None` while hung up).
    pub fn create(
        name: Arc<str>,
        spec: TurbovacSimSpec,
        out: Publisher<SimEvent>,
        tap: TrafficTap,
        cancel: CancellationToken,
    ) -> Result<(Self, SimulatorHandle, watch::Receiver<Option<PathBuf>>), PtyError> {
        let port = VirtualPort::open(spec.link.as_deref())?;
        let model = PumpModel::new(spec.pump, Instant::now());
        let faults = FaultBoard::new(name.clone(), faults::CATALOGUE);
        let (port_path, path_rx) = watch::channel(Some(port.client_path().to_path_buf()));
        let last = model.state();
        let snapshot = SimSnapshot {
            name: name.clone(),
            kind: SimKind::Turbovac,
            framing: Framing::UssTelegrams,
            endpoint: Some(port.client_path().display().to_string()),
            faults: faults.list(),
            detail: SimDetail::Turbovac(last.clone()),
        };
        let (state, state_rx) = watch::channel(snapshot);
        let (tx, requests) = mpsc::channel(16);
        let handle = SimulatorHandle::new(name.clone(), tx, state_rx);
        let report = SimReporter::new(name.clone(), out);
        let sim = Self {
            name,
            model,
            faults,
            port: Some(port),
            link: spec.link,
            framer: TelegramFramer::new(),
            pending: VecDeque::new(),
            requests,
            state,
            port_path,
            report,
            tap,
            cancel,
            noise: 0x2545_f491_4f6c_dd1d,
            last,
            replay: spec.replay,
            unanswered: Vec::new(),
        };
        Ok((sim, handle, path_rx))
    }

    /// The path clients open right now.
    pub fn client_path(&self) -> Option<PathBuf> {
        self.port.as_ref().map(|p| p.client_path().to_path_buf())
    }

    pub async fn run(mut self) -> Result<(), SimRunError> {
        let mut buf = vec![0u8; 4096];
        let mut tick = tokio::time::interval(self.model.config().tick);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let due = self.pending.front().map(|p| p.due);
            let wake = {
                let port = self.port.as_ref();
                tokio::select! {
                    biased;
                    () = self.cancel.cancelled() => Wake::Stop,
                    request = self.requests.recv() => Wake::Request(request),
                    read = read_from(port, &mut buf) => Wake::Read(read),
                    () = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => Wake::Due,
                    _ = tick.tick() => Wake::Tick,
                }
            };
            match wake {
                Wake::Stop | Wake::Request(None) => break,
                Wake::Request(Some(request)) => self.request(request),
                Wake::Read(Ok(n)) => self.received(&buf[..n]).await?,
                Wake::Read(Err(e)) if e.raw_os_error() == Some(nix::errno::Errno::EIO as i32) => {
                    // Only possible without a held slave fd; never spin on it.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Wake::Read(Err(e)) => return Err(e.into()),
                Wake::Due => self.send_due().await?,
                Wake::Tick => self.tick(),
            }
        }
        // Dropping the port closes both fds and removes the symlink.
        self.port = None;
        Ok(())
    }

    fn request(&mut self, request: SimRequest) {
        match request {
            SimRequest::SetFault { id, setting, reply } => {
                let result = self.set_fault(&id, setting);
                let _ = reply.send(result);
            }
        }
    }

    fn set_fault(&mut self, id: &str, setting: FaultSetting) -> Result<FaultInfo, HubError> {
        let was_hung_up = self.faults.is_on(faults::HANG_UP);
        let info = self.faults.set(id, setting)?;
        let now = Instant::now();
        self.model.set_faults(
            ModelFaults {
                overtemp: self.faults.is_on(faults::OVERTEMP),
                overload: self.faults.is_on(faults::OVERLOAD),
                warning_bit: self.faults.value(faults::WARNING).map(|b| b as u8),
            },
            now,
        );
        let hung_up = self.faults.is_on(faults::HANG_UP);
        if hung_up && !was_hung_up {
            self.hang_up();
        } else if !hung_up && was_hung_up {
            self.reopen();
        }
        tracing::info!("{}: fault {info}", self.name);
        self.report.fault(info.clone());
        self.observe();
        self.publish();
        Ok(info)
    }

    fn hang_up(&mut self) {
        self.port = None;
        self.framer.clear();
        self.pending.clear();
        self.port_path.send_replace(None);
        self.report.notice("port closed (hang-up)");
    }

    fn reopen(&mut self) {
        match VirtualPort::open(self.link.as_deref()) {
            Ok(port) => {
                let path = port.client_path().to_path_buf();
                self.report
                    .notice(format!("port reopened at {}", port.path().display()));
                self.port = Some(port);
                self.port_path.send_replace(Some(path));
            }
            Err(e) => {
                tracing::error!("{}: cannot reopen the virtual port: {e}", self.name);
                self.report.notice(format!("cannot reopen the port: {e}"));
            }
        }
    }

    async fn received(&mut self, bytes: &[u8]) -> Result<(), SimRunError> {
        self.tap
            .record(0, Direction::Rx, Bytes::copy_from_slice(bytes));
        self.framer.push(bytes);
        while let Some(event) = self.framer.next_event() {
            match event {
                FrameEvent::Frame(query) => {
                    let now = Instant::now();
                    let Some(reply) = self.answer(&query, now) else {
                        continue;
                    };
                    if let Some(bytes) = self.on_the_wire(reply) {
                        self.schedule(bytes, now).await?;
                    }
                }
                // Invalid telegrams get no reply, as on the real bus.
                FrameEvent::Discarded { bytes, reason } => {
                    tracing::debug!(
                        "{}: dropped {bytes} bytes: {}",
                        self.name,
                        reason.describe()
                    );
                }
            }
        }
        self.observe();
        Ok(())
    }

    /// The model's reply, or the recording's when replaying (`None`: the
    /// recording has none for this request).
    fn answer(&mut self, query: &Telegram, now: Instant) -> Option<[u8; 24]> {
        let Some(book) = &mut self.replay else {
            return Some(self.model.handle(query, now).encode());
        };
        let reply = book.answer(query);
        let access = Access::of(query);
        if reply.is_none() && !self.unanswered.contains(&access) {
            self.unanswered.push(access);
            self.report.notice(format!(
                "replay: {access} is not in the recording; no reply"
            ));
        }
        reply
    }

    /// Apply the wire faults to a reply; `None` drops it.
    fn on_the_wire(&mut self, reply: [u8; 24]) -> Option<Vec<u8>> {
        if self.faults.is_on(faults::NO_REPLY) {
            return None;
        }
        let mut bytes = reply.to_vec();
        if self.faults.is_on(faults::BAD_BCC) {
            bytes[23] ^= 0xa5;
        }
        if let Some(keep) = self.faults.value(faults::TRUNCATED) {
            bytes.truncate(keep as usize);
        }
        if self.faults.is_on(faults::ESCAPES) {
            let mut hostile = faults::ESCAPE_PAYLOAD.to_vec();
            hostile.append(&mut bytes);
            bytes = hostile;
        }
        if let Some(count) = self.faults.value(faults::GARBAGE) {
            let mut garbage: Vec<u8> = (0..count).map(|_| self.next_noise()).collect();
            garbage.append(&mut bytes);
            bytes = garbage;
        }
        Some(bytes)
    }

    fn next_noise(&mut self) -> u8 {
        self.noise ^= self.noise << 13;
        self.noise ^= self.noise >> 7;
        self.noise ^= self.noise << 17;
        (self.noise >> 24) as u8
    }

    async fn schedule(&mut self, bytes: Vec<u8>, now: Instant) -> Result<(), SimRunError> {
        let delay = self
            .faults
            .value(faults::DELAY)
            .map(Duration::from_millis)
            .unwrap_or_default()
            + self.model.wire_delay().unwrap_or_default();
        if delay.is_zero() && self.pending.is_empty() {
            return self.send(&bytes).await;
        }
        // Replies leave in order, each no earlier than its own delay.
        let due = self
            .pending
            .back()
            .map_or(now + delay, |last| last.due.max(now + delay));
        self.pending.push_back(Pending { due, bytes });
        Ok(())
    }

    async fn send_due(&mut self) -> Result<(), SimRunError> {
        let now = Instant::now();
        while self.pending.front().is_some_and(|p| p.due <= now) {
            if let Some(reply) = self.pending.pop_front() {
                self.send(&reply.bytes).await?;
            }
        }
        Ok(())
    }

    async fn send(&mut self, bytes: &[u8]) -> Result<(), SimRunError> {
        let Some(port) = &self.port else {
            return Ok(());
        };
        port.write_all(bytes).await?;
        self.tap
            .record(0, Direction::Tx, Bytes::copy_from_slice(bytes));
        self.restore_speed();
        Ok(())
    }

    /// Keep the second-open workaround in force (§11 item 1), and say
    /// which rate the client had set: what a sniffer or RFC 2217 server in
    /// front of the port passed on.
    fn restore_speed(&self) {
        let Some(port) = &self.port else { return };
        match port.restore_idle_speed() {
            Ok(None) => {}
            Ok(Some(rate)) => self.report.notice(format!("client set the port to {rate}")),
            Err(e) => tracing::debug!("{}: cannot reset the pty speed: {e}", self.name),
        }
    }

    fn tick(&mut self) {
        self.model.advance(Instant::now());
        // A client that opened the port and left without a telegram would
        // otherwise leave the slave at its speed.
        self.restore_speed();
        self.observe();
        self.publish();
    }

    /// Announce on/off and error changes.
    fn observe(&mut self) {
        let now = self.model.state();
        if now.on != self.last.on {
            let word = if now.on {
                "switched on"
            } else {
                "switched off"
            };
            self.report.notice(format!("pump {word}"));
        }
        if now.error != self.last.error {
            let message = match now.error {
                Some(code) => format!(
                    "error {code} raised: {}",
                    error_name(code).unwrap_or("unknown error")
                ),
                None => "error reset".to_string(),
            };
            self.report.notice(message);
        }
        self.last = now;
    }

    fn publish(&self) {
        let faults = self.faults.list();
        let detail = SimDetail::Turbovac(self.last.clone());
        let endpoint = self.client_path().map(|p| p.display().to_string());
        self.state.send_if_modified(|snapshot| {
            let changed = snapshot.endpoint != endpoint
                || snapshot.faults != faults
                || !matches!(&snapshot.detail, SimDetail::Turbovac(s) if *s == self.last);
            if changed {
                snapshot.endpoint.clone_from(&endpoint);
                snapshot.faults.clone_from(&faults);
                snapshot.detail = detail.clone();
            }
            changed
        });
    }
}

async fn read_from(port: Option<&VirtualPort>, buf: &mut [u8]) -> io::Result<usize> {
    match port {
        Some(port) => port.read(buf).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod vectors_test;

#[cfg(test)]
mod model_tests;
