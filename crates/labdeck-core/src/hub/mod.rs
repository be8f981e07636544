//! The Hub: the one door every front end (console, `serve`, the INDI
//! server, an attached client) uses — typed requests with typed outcomes
//! or refusals, the event stream, and snapshots to start and to
//! resynchronise from. Everything that crosses it is `serde`.

mod capture;
mod method;
mod outcome;
mod record;
mod send;
mod tasks;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, watch};

pub use crate::audit::{AuditRecord, Origin};
pub use crate::error::HubError;
pub use crate::request::{MacroCommand, RecordCommand, Request};
pub use capture::CaptureStatus;
pub use method::{load_method, parse_method};
pub use outcome::{
    ActorState, ActorStatus, DeviceQueue, DeviceStatus, LabSnapshot, LabStatus, LinkStatus,
    Outcome, QueueOutcome, QueuedJob, QueuedTask, SimStatus,
};
pub use record::{RecordingStatus, default_log_name, log_line};
pub use send::{DEFAULT_WAIT, MacroInfo, MacroOutcome};

use crate::bus::{Event, EventBus};
use crate::connection::{ConnCommand, ConnectionHandle};
use crate::device::indi::Relay;
use crate::device::{DeviceCommand, DeviceHandle, Property};
use crate::jobs::JobQueue;
use crate::link::TrafficTap;
use crate::sim::SimulatorHandle;

/// A request's result.
pub type HubResult = Result<Outcome, HubError>;

#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    connections: Vec<ConnectionHandle>,
    simulators: Vec<SimulatorHandle>,
    devices: Vec<DeviceHandle>,
    relays: Vec<Relay>,
    /// This labdeck among chained ones (INDI routes).
    labdeck: Arc<str>,
    taps: Vec<TrafficTap>,
    bus: EventBus,
    actors: watch::Receiver<Vec<ActorStatus>>,
    macros: send::Macros,
    recording: record::Recording,
    captures: capture::Captures,
    jobs: JobQueue,
    store: Option<crate::store::Store>,
}

/// What a Hub is made of.
pub(crate) struct HubParts {
    pub connections: Vec<ConnectionHandle>,
    pub simulators: Vec<SimulatorHandle>,
    pub devices: Vec<DeviceHandle>,
    pub relays: Vec<Relay>,
    pub labdeck: Arc<str>,
    pub taps: Vec<TrafficTap>,
    pub bus: EventBus,
    pub actors: watch::Receiver<Vec<ActorStatus>>,
    pub macros: Vec<crate::config::MacroSpec>,
    pub store: Option<crate::store::Store>,
}

impl Hub {
    pub(crate) fn new(parts: HubParts) -> Self {
        let HubParts {
            connections,
            simulators,
            devices,
            relays,
            labdeck,
            taps,
            bus,
            actors,
            macros,
            store,
        } = parts;
        let journal = store
            .clone()
            .map(|s| Arc::new(s) as Arc<dyn crate::jobs::JobJournal>);
        let jobs = JobQueue::new(devices.clone(), journal);
        Self {
            inner: Arc::new(Inner {
                jobs,
                store,
                connections,
                simulators,
                devices,
                relays,
                labdeck,
                taps,
                bus,
                actors,
                macros: send::Macros::new(macros),
                recording: record::Recording::default(),
                captures: capture::Captures::default(),
            }),
        }
    }

    /// A Hub over one simulator running alone (`labdeck sim …`).
    pub fn for_simulator(simulator: SimulatorHandle, tap: TrafficTap, bus: EventBus) -> Self {
        Self::new(HubParts {
            connections: Vec::new(),
            simulators: vec![simulator],
            devices: Vec::new(),
            relays: Vec::new(),
            labdeck: crate::device::indi::new_labdeck_id(),
            taps: vec![tap],
            bus,
            actors: watch::channel(Vec::new()).1,
            macros: Vec::new(),
            store: None,
        })
    }

    /// A Hub over devices alone (no links, simulators or supervisor), for
    /// a program that embeds front ends such as the INDI server.
    pub fn with_devices(devices: Vec<DeviceHandle>, bus: EventBus) -> Self {
        Self::new(HubParts {
            connections: Vec::new(),
            simulators: Vec::new(),
            devices,
            relays: Vec::new(),
            labdeck: crate::device::indi::new_labdeck_id(),
            taps: Vec::new(),
            bus,
            actors: watch::channel(Vec::new()).1,
            macros: Vec::new(),
            store: None,
        })
    }

    /// The event stream, from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.bus.subscribe()
    }

    /// The bus, for an embedding program's own devices to publish on.
    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    /// A notice of a front end's own (a server listening, a client gone).
    pub fn notice(&self, source: &Arc<str>, message: impl Into<String>) {
        self.inner.bus.notice(source, message);
    }

    /// Everything as it is now.
    pub fn snapshot(&self) -> LabSnapshot {
        LabSnapshot {
            connections: self
                .connections()
                .iter()
                .map(ConnectionHandle::snapshot)
                .collect(),
            devices: self.devices().iter().map(DeviceHandle::snapshot).collect(),
            simulators: self
                .simulators()
                .iter()
                .map(SimulatorHandle::snapshot)
                .collect(),
            taps: self
                .taps()
                .iter()
                .map(|t| (t.link().clone(), t.counters()))
                .collect(),
            actors: self.actors(),
            recording: self.recording(),
            macros: self.macros(),
            framing: self.framing(),
            jobs: self.jobs().snapshots(),
        }
    }

    /// The job queue.
    pub fn jobs(&self) -> &JobQueue {
        &self.inner.jobs
    }

    /// The task store, when it could be opened.
    pub fn store(&self) -> Option<&crate::store::Store> {
        self.inner.store.as_ref()
    }

    pub fn connections(&self) -> &[ConnectionHandle] {
        &self.inner.connections
    }

    pub fn connection(&self, name: &str) -> Option<&ConnectionHandle> {
        self.inner.connections.iter().find(|c| &**c.name() == name)
    }

    pub fn simulators(&self) -> &[SimulatorHandle] {
        &self.inner.simulators
    }

    pub fn simulator(&self, name: &str) -> Option<&SimulatorHandle> {
        self.inner.simulators.iter().find(|s| &**s.name() == name)
    }

    pub fn devices(&self) -> &[DeviceHandle] {
        &self.inner.devices
    }

    /// This labdeck's name among chained labdecks.
    pub fn labdeck(&self) -> &str {
        &self.inner.labdeck
    }

    /// The devices of remote INDI servers, to serve again.
    pub fn relays(&self) -> &[Relay] {
        &self.inner.relays
    }

    pub fn device(&self, name: &str) -> Option<&DeviceHandle> {
        self.inner.devices.iter().find(|d| &**d.name() == name)
    }

    /// How the taps that say so frame their bytes (sniff links).
    pub fn framing(&self) -> Vec<(Arc<str>, crate::link::Framing)> {
        self.taps()
            .iter()
            .filter_map(|t| t.framing().map(|f| (t.link().clone(), f)))
            .collect()
    }

    pub fn taps(&self) -> &[TrafficTap] {
        &self.inner.taps
    }

    pub fn tap(&self, link: &str) -> Option<&TrafficTap> {
        self.inner.taps.iter().find(|t| &**t.link() == link)
    }

    /// Every link's traffic so far, oldest first: what a front end that
    /// starts late shows first.
    pub fn history(&self) -> Vec<crate::link::Chunk> {
        let mut chunks: Vec<_> = self
            .inner
            .taps
            .iter()
            .flat_map(TrafficTap::history)
            .collect();
        chunks.sort_by_key(|c| c.t.mono);
        chunks
    }

    pub fn actors(&self) -> Vec<ActorStatus> {
        self.inner.actors.borrow().clone()
    }

    /// Carry out a request a front end made: one that changes the lab goes
    /// into the audit trail (the log and an `audit` event) with its
    /// outcome.
    pub async fn request_as(&self, origin: Origin, request: Request) -> HubResult {
        if !request.changes_the_lab() {
            return self.request(request).await;
        }
        let result = self.request(request.clone()).await;
        let record = AuditRecord::new(origin, request, result.as_ref().err().cloned());
        tracing::info!(target: "labdeck::audit", "{record}");
        self.inner.bus.send(Event::Audit(record));
        result
    }

    /// Carry out a request. Unknown names are refused with the known ones.
    pub async fn request(&self, request: Request) -> HubResult {
        match request {
            Request::Status => Ok(Outcome::Status(self.status())),
            Request::Faults { simulator } => {
                let sim = self.pick_simulator(simulator.as_deref())?;
                Ok(Outcome::Faults {
                    simulator: sim.name().clone(),
                    faults: sim.faults(),
                })
            }
            Request::Fault {
                simulator,
                fault,
                setting,
            } => {
                let sim = self.pick_simulator(simulator.as_deref())?;
                let fault = sim.set_fault(&fault, setting).await?;
                Ok(Outcome::Fault {
                    simulator: sim.name().clone(),
                    fault,
                })
            }
            Request::Power { device, on, force } => {
                let d = self.pick_device(&device)?;
                if d.capabilities().power.is_none() {
                    return Err(HubError::NotSwitchable { device });
                }
                on_device(d, DeviceCommand::Power { on, force }).await
            }
            Request::Connection { target, command } => {
                self.connection_command(&target, command).await
            }
            Request::Set {
                device,
                attr,
                value,
                force,
            } => {
                let d = self.pick_device(&device)?;
                on_device(d, DeviceCommand::Set { attr, value, force }).await
            }
            Request::Get { device, attr } => {
                let d = self.pick_device(&device)?;
                let snapshot = d.snapshot();
                let property =
                    snapshot
                        .property(&attr)
                        .cloned()
                        .ok_or_else(|| HubError::UnknownAttr {
                            device: device.clone(),
                            attr: attr.clone(),
                            known: names_of(&snapshot.properties),
                        })?;
                Ok(Outcome::Property {
                    device: d.name().clone(),
                    property,
                })
            }
            Request::Properties { device, filter } => {
                let d = self.pick_device(&device)?;
                let wanted = filter.map(|f| f.to_lowercase());
                let properties = d
                    .snapshot()
                    .properties
                    .into_iter()
                    .filter(|p| {
                        wanted.as_deref().is_none_or(|w| {
                            [&*p.def.name, &p.def.label, &p.def.group]
                                .iter()
                                .any(|t| t.to_lowercase().contains(w))
                        })
                    })
                    .collect();
                Ok(Outcome::Properties {
                    device: d.name().clone(),
                    properties,
                })
            }
            Request::Action {
                device,
                action,
                args,
            } => {
                let d = self.pick_device(&device)?;
                on_device(d, DeviceCommand::Action { name: action, args }).await
            }
            Request::Task(spec) => self.submit(spec).await,
            Request::Cancel { device, task } => {
                on_device(self.pick_device(&device)?, DeviceCommand::Cancel { task }).await
            }
            Request::Tasks { device } => self.task_list(device.as_deref()),
            Request::Load { path } => self.load(&path).await,
            Request::Jobs => Ok(Outcome::Jobs {
                jobs: self.jobs().snapshots(),
            }),
            Request::Queue { control } => Ok(Outcome::Queue(self.queue_control(control).await)),
            Request::DeviceStatus { device } => {
                on_device(self.pick_device(&device)?, DeviceCommand::Status).await
            }
            Request::Measure { device } => {
                on_device(self.pick_device(&device)?, DeviceCommand::Measure).await
            }
            Request::Safe { device } => {
                on_device(self.pick_device(&device)?, DeviceCommand::SafeState).await
            }
            Request::EmergencyStop { device } => {
                on_device(self.pick_device(&device)?, DeviceCommand::EmergencyStop).await
            }
            Request::Send {
                target,
                bytes,
                wait_ms,
            } => {
                self.send_bytes(&target, bytes, wait_ms.map(Duration::from_millis))
                    .await
            }
            Request::Macro { name, command } => self.macro_command(&name, command).await,
            Request::Macros => Ok(Outcome::Macros {
                macros: self.macros(),
            }),
            Request::Record { command } => self.record(command).await,
            Request::Capture { link, path } => self.capture(&link, path).await,
        }
    }

    async fn connection_command(&self, target: &str, command: ConnCommand) -> HubResult {
        // A device name stands for its link.
        let link = self
            .device(target)
            .map_or_else(|| target.to_string(), |d| d.snapshot().link.to_string());
        let Some(connection) = self.connection(&link) else {
            return Err(HubError::UnknownConnection {
                name: target.to_string(),
                known: self
                    .inner
                    .connections
                    .iter()
                    .map(|c| c.name().to_string())
                    .collect(),
            });
        };
        let state = connection.command(command).await?;
        Ok(Outcome::Connection {
            link: connection.name().clone(),
            state,
        })
    }

    fn pick_simulator(&self, name: Option<&str>) -> Result<&SimulatorHandle, HubError> {
        let all = &self.inner.simulators;
        let known = || all.iter().map(|s| s.name().to_string()).collect();
        match name {
            Some(name) => self
                .simulator(name)
                .ok_or_else(|| HubError::UnknownSimulator {
                    name: name.to_string(),
                    known: known(),
                }),
            None if all.len() == 1 => Ok(&all[0]),
            None => Err(HubError::SimulatorNotNamed { known: known() }),
        }
    }

    pub(crate) fn pick_device(&self, name: &str) -> Result<&DeviceHandle, HubError> {
        self.device(name).ok_or_else(|| HubError::UnknownDevice {
            name: name.to_string(),
            known: self
                .inner
                .devices
                .iter()
                .map(|d| d.name().to_string())
                .collect(),
        })
    }

    fn status(&self) -> LabStatus {
        LabStatus {
            links: self
                .connections()
                .iter()
                .map(|c| {
                    let s = c.snapshot();
                    LinkStatus {
                        name: s.name,
                        state: s.state,
                        transport: s.transport,
                        endpoint: s.endpoint,
                        last_error: s.last_error,
                    }
                })
                .collect(),
            devices: self
                .devices()
                .iter()
                .map(|d| {
                    let s = d.snapshot();
                    DeviceStatus {
                        name: s.name,
                        kind: s.kind,
                        liveness: s.liveness,
                        summary: s.summary,
                    }
                })
                .collect(),
            simulators: self
                .simulators()
                .iter()
                .map(|sim| {
                    let s = sim.snapshot();
                    SimStatus {
                        name: s.name,
                        kind: s.kind,
                        endpoint: s.endpoint,
                        active: s.faults.into_iter().filter(|f| f.active).collect(),
                    }
                })
                .collect(),
        }
    }
}

async fn on_device(device: &DeviceHandle, command: DeviceCommand) -> HubResult {
    let outcome = device.command(command).await?;
    Ok(Outcome::Device {
        device: device.name().clone(),
        outcome,
    })
}

fn names_of(properties: &[Property]) -> Vec<String> {
    properties.iter().map(|p| p.name().to_string()).collect()
}

#[cfg(test)]
mod wire_tests;
