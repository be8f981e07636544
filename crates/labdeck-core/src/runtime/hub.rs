//! The Hub: the one API every client (console, `serve`, INDI server) uses —
//! snapshots, the event stream, and commands with replies.

use std::sync::Arc;

use tokio::sync::{broadcast, watch};

use super::command::{self, Command};
use super::supervise::ActorStatus;
use crate::bus::{Event, EventBus};
use crate::connection::{ConnCommand, ConnectionHandle};
use crate::device::{DeviceCommand, DeviceHandle};
use crate::link::TrafficTap;
use crate::reply::Reply;
use crate::sim::SimulatorHandle;

#[derive(Debug, Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    connections: Vec<ConnectionHandle>,
    simulators: Vec<SimulatorHandle>,
    devices: Vec<DeviceHandle>,
    taps: Vec<TrafficTap>,
    bus: EventBus,
    actors: watch::Receiver<Vec<ActorStatus>>,
}

impl Hub {
    pub(crate) fn new(
        connections: Vec<ConnectionHandle>,
        simulators: Vec<SimulatorHandle>,
        devices: Vec<DeviceHandle>,
        taps: Vec<TrafficTap>,
        bus: EventBus,
        actors: watch::Receiver<Vec<ActorStatus>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                connections,
                simulators,
                devices,
                taps,
                bus,
                actors,
            }),
        }
    }

    /// A Hub over one simulator running alone (`labdeck sim …`).
    pub fn for_simulator(simulator: SimulatorHandle, tap: TrafficTap, bus: EventBus) -> Self {
        let (_, actors) = watch::channel(Vec::new());
        Self::new(
            Vec::new(),
            vec![simulator],
            Vec::new(),
            vec![tap],
            bus,
            actors,
        )
    }

    /// A Hub over devices alone (no links, simulators or supervisor), for
    /// a program that embeds front ends such as the INDI server.
    pub fn with_devices(devices: Vec<DeviceHandle>, bus: EventBus) -> Self {
        let (_, actors) = watch::channel(Vec::new());
        Self::new(Vec::new(), Vec::new(), devices, Vec::new(), bus, actors)
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.inner.bus.subscribe()
    }

    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
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

    pub fn device(&self, name: &str) -> Option<&DeviceHandle> {
        self.inner.devices.iter().find(|d| &**d.name() == name)
    }

    pub fn taps(&self) -> &[TrafficTap] {
        &self.inner.taps
    }

    pub fn tap(&self, link: &str) -> Option<&TrafficTap> {
        self.inner.taps.iter().find(|t| &**t.link() == link)
    }

    pub fn actors(&self) -> Vec<ActorStatus> {
        self.inner.actors.borrow().clone()
    }

    /// Parse and run one command line.
    pub async fn execute_line(&self, line: &str) -> Option<Reply> {
        match command::parse(line) {
            Ok(None) => None,
            Ok(Some(command)) => Some(self.execute(command).await),
            Err(e) => Some(Reply::fail(e.to_string())),
        }
    }

    /// Run a command. Unknown names fail with the list of known ones.
    pub async fn execute(&self, command: Command) -> Reply {
        match command {
            Command::Help => Reply::ok(format!("commands:\n{}", command::help())),
            Command::Quit => Reply::ok("quit"),
            Command::Status => self.status(),
            Command::Faults { sim } => match self.pick_simulator(sim.as_deref()) {
                Ok(sim) => {
                    let faults = sim.faults();
                    let lines: Vec<String> = faults
                        .iter()
                        .map(|f| format!("  {f}  — {}", f.label))
                        .collect();
                    Reply::ok(format!("faults of {}:\n{}", sim.name(), lines.join("\n")))
                        .with_data(&faults)
                }
                Err(reply) => reply,
            },
            Command::Fault {
                sim,
                fault,
                setting,
            } => match self.pick_simulator(sim.as_deref()) {
                Ok(sim) => match sim.set_fault(&fault, setting).await {
                    Ok(info) => Reply::ok(format!("{}: fault {info}", sim.name())).with_data(&info),
                    Err(e) => Reply::fail(format!("{}: {e}", sim.name())),
                },
                Err(reply) => reply,
            },
            Command::Pump { device, action } => match self.pick_device(&device) {
                Ok(d) if d.snapshot().driver == "turbovac" => d.action(&action, &[]).await,
                Ok(d) => Reply::fail(format!("{} is not a pump", d.name())),
                Err(reply) => reply,
            },
            Command::Connection { target, command } => {
                self.connection_command(&target, command).await
            }
            Command::Set {
                device,
                attr,
                value,
                force,
            } => match self.pick_device(&device) {
                Ok(d) => d.command(DeviceCommand::Set { attr, value, force }).await,
                Err(reply) => reply,
            },
            Command::Task(spec) => self.submit(spec).await,
            Command::Cancel { device, task } => {
                self.on_device(&device, DeviceCommand::Cancel { task })
                    .await
            }
            Command::Tasks { device } => self.task_list(device.as_deref()),
            Command::Load { path } => self.load(std::path::Path::new(&path)).await,
            Command::DeviceStatus { device } => {
                self.on_device(&device, DeviceCommand::Status).await
            }
            Command::Measure { device } => self.on_device(&device, DeviceCommand::Measure).await,
            Command::Safe { device } => self.on_device(&device, DeviceCommand::SafeState).await,
            Command::EmergencyStop { device } => {
                self.on_device(&device, DeviceCommand::EmergencyStop).await
            }
            Command::Get { device, attr } => match self.pick_device(&device) {
                Ok(d) => d.get(&attr),
                Err(reply) => reply,
            },
            Command::Props { device, filter } => match self.pick_device(&device) {
                Ok(d) => d.list(filter.as_deref()),
                Err(reply) => reply,
            },
            Command::Action {
                device,
                action,
                args,
            } => match self.pick_device(&device) {
                Ok(d) => {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    d.action(&action, &args).await
                }
                Err(reply) => reply,
            },
        }
    }

    async fn on_device(&self, device: &str, command: DeviceCommand) -> Reply {
        match self.pick_device(device) {
            Ok(d) => d.command(command).await,
            Err(reply) => reply,
        }
    }

    async fn connection_command(&self, target: &str, command: ConnCommand) -> Reply {
        // A device name stands for its link.
        let link = self
            .device(target)
            .map(|d| d.snapshot().link.to_string())
            .unwrap_or_else(|| target.to_string());
        let Some(connection) = self.connection(&link) else {
            return Reply::fail(format!(
                "unknown connection or device {target:?}; connections: {}",
                names(self.inner.connections.iter().map(|c| c.name()))
            ));
        };
        match connection.command(command).await {
            Ok(state) => Reply::ok(format!("{link}: {state}")),
            Err(e) => Reply::fail(e.to_string()),
        }
    }

    fn pick_simulator(&self, name: Option<&str>) -> Result<&SimulatorHandle, Reply> {
        let all = &self.inner.simulators;
        match name {
            Some(name) => self.simulator(name).ok_or_else(|| {
                Reply::fail(format!(
                    "unknown simulator {name:?}; simulators: {}",
                    names(all.iter().map(|s| s.name()))
                ))
            }),
            None if all.len() == 1 => Ok(&all[0]),
            None => Err(Reply::fail(format!(
                "name the simulator; simulators: {}",
                names(all.iter().map(|s| s.name()))
            ))),
        }
    }

    pub(super) fn pick_device(&self, name: &str) -> Result<&DeviceHandle, Reply> {
        self.device(name).ok_or_else(|| {
            Reply::fail(format!(
                "unknown device {name:?}; devices: {}",
                names(self.inner.devices.iter().map(|d| d.name()))
            ))
        })
    }

    fn status(&self) -> Reply {
        let mut lines = Vec::new();
        for c in &self.inner.connections {
            let s = c.snapshot();
            let error = s.last_error.map_or_else(String::new, |e| format!(" — {e}"));
            lines.push(format!(
                "link    {:<16} {:<12} {} {}{error}",
                s.name, s.state, s.transport, s.endpoint
            ));
        }
        for d in &self.inner.devices {
            let s = d.snapshot();
            lines.push(format!(
                "device  {:<16} {:<12} {}",
                s.name, s.driver, s.summary
            ));
        }
        for sim in &self.inner.simulators {
            let s = sim.snapshot();
            let active: Vec<String> = s
                .faults
                .iter()
                .filter(|f| f.active)
                .map(ToString::to_string)
                .collect();
            let faults = if active.is_empty() {
                "no faults".to_string()
            } else {
                active.join(", ")
            };
            let endpoint = s.endpoint.unwrap_or_else(|| "(port closed)".into());
            lines.push(format!(
                "sim     {:<16} {:<12} {endpoint}; {faults}",
                s.name, s.kind
            ));
        }
        Reply::ok(lines.join("\n"))
    }
}

fn names<'a>(names: impl Iterator<Item = &'a Arc<str>>) -> String {
    let list: Vec<&str> = names.map(|n| &**n).collect();
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}
