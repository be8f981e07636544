//! Devices: the property model, device handles and drivers.

mod attr;
mod core;
pub mod electrometer;
mod embedded;
pub mod indi;
mod property;
mod record;
mod runner;
pub mod task;
pub mod turbovac;

use std::sync::Arc;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch};

pub use attr::{AttrError, AttrKind, Level, Thresholds, parse_bool, parse_number};
pub use core::DriverParts;
pub use embedded::{EmbeddedDevice, EmbeddedRequest};
pub use property::{PropState, Property, PropertySheet, PropertyUpdate, Value, si_format};
pub use record::Recorder;
pub use runner::{TaskSettings, default_data_dir};
pub use task::{Column, TaskSnapshot, TaskSpec, TaskState, Technique};

use crate::reply::Reply;

/// What the console shows of a device.
#[derive(Debug, Clone, Serialize)]
pub struct DeviceSnapshot {
    pub name: Arc<str>,
    pub driver: &'static str,
    pub link: Arc<str>,
    /// The device answers over its link.
    pub online: bool,
    /// One line for lists, e.g. "accelerating 420 Hz".
    pub summary: String,
    pub properties: Vec<Property>,
    /// Active device alarms (errors, warnings).
    pub alarms: Vec<String>,
    /// What tasks it can run.
    pub techniques: Vec<Technique>,
    /// Finished (recent), running and queued tasks, in that order.
    pub tasks: Vec<TaskSnapshot>,
}

impl DeviceSnapshot {
    pub fn running_task(&self) -> Option<&TaskSnapshot> {
        self.tasks.iter().find(|t| t.state == TaskState::Running)
    }
}

/// A request to a driver.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceCommand {
    /// Write an attribute, value as text: validated against the attribute
    /// (and refused while a task controls it, unless forced).
    Set {
        attr: String,
        value: String,
        force: bool,
    },
    /// A driver action such as `on`, `off`, `reset`, `read 24`.
    Action { name: String, args: Vec<String> },
    /// The status report (attributes marked for it, running task).
    Status,
    /// Refresh the live values now and return them.
    Measure,
    /// Queue a task.
    Submit(TaskSpec),
    /// Cancel a task (`#id` or name), or the running one.
    Cancel { task: Option<String> },
    /// Cancel the running task and put the device in its safe state.
    SafeState,
    /// Emergency stop: cancel everything, safe state.
    EmergencyStop,
    /// Show these properties of another device (snooped INDI vectors)
    /// in place of the ones named with `prefix`.
    Mirror {
        prefix: String,
        properties: Vec<Property>,
    },
}

#[derive(Debug)]
pub(crate) struct DeviceRequest {
    pub command: DeviceCommand,
    pub reply: oneshot::Sender<Reply>,
}

/// Cloneable handle to a running driver.
#[derive(Debug, Clone)]
pub struct DeviceHandle {
    name: Arc<str>,
    tx: mpsc::Sender<DeviceRequest>,
    state: watch::Receiver<DeviceSnapshot>,
}

impl DeviceHandle {
    pub(crate) fn new(
        name: Arc<str>,
        tx: mpsc::Sender<DeviceRequest>,
        state: watch::Receiver<DeviceSnapshot>,
    ) -> Self {
        Self { name, tx, state }
    }

    pub fn name(&self) -> &Arc<str> {
        &self.name
    }

    pub fn snapshot(&self) -> DeviceSnapshot {
        self.state.borrow().clone()
    }

    pub fn watch(&self) -> watch::Receiver<DeviceSnapshot> {
        self.state.clone()
    }

    /// Send a command and wait for the driver's reply.
    pub async fn command(&self, command: DeviceCommand) -> Reply {
        let (reply, rx) = oneshot::channel();
        if self
            .tx
            .send(DeviceRequest { command, reply })
            .await
            .is_err()
        {
            return Reply::fail(format!("device {} is not running", self.name));
        }
        rx.await.unwrap_or_else(|_| {
            Reply::fail(format!("device {} stopped before answering", self.name))
        })
    }

    pub async fn action(&self, name: &str, args: &[&str]) -> Reply {
        self.command(DeviceCommand::Action {
            name: name.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        })
        .await
    }

    pub async fn set(&self, attr: &str, value: &str) -> Reply {
        self.command(DeviceCommand::Set {
            attr: attr.into(),
            value: value.into(),
            force: false,
        })
        .await
    }

    /// The properties (those matching `filter` in name, label or group,
    /// ignoring case), one line each: name = value [state] (group).
    pub fn list(&self, filter: Option<&str>) -> Reply {
        let snapshot = self.state.borrow();
        let wanted = filter.map(str::to_lowercase);
        let matches = |p: &&Property| {
            wanted.as_deref().is_none_or(|w| {
                [&p.name, &p.label, &p.group]
                    .iter()
                    .any(|t| t.to_lowercase().contains(w))
            })
        };
        let props: Vec<&Property> = snapshot.properties.iter().filter(matches).collect();
        let lines: Vec<String> = props
            .iter()
            .map(|p| {
                let w = if p.writable { " w" } else { "" };
                format!(
                    "  {} = {} [{}]{w} ({})",
                    p.name,
                    p.display(),
                    p.state.as_str(),
                    p.group
                )
            })
            .collect();
        Reply::ok(format!(
            "{}: {} properties\n{}",
            self.name,
            props.len(),
            lines.join("\n")
        ))
        .with_data(&props)
    }

    /// Read a property from the latest snapshot.
    pub fn get(&self, attr: &str) -> Reply {
        let snapshot = self.state.borrow();
        match snapshot.properties.iter().find(|p| p.name == attr) {
            Some(p) => Reply::ok(format!(
                "{}.{} = {} [{}]",
                self.name,
                p.name,
                p.display(),
                p.state.as_str()
            ))
            .with_data(p),
            None => Reply::fail(format!(
                "unknown attribute {attr:?} of {}; known: {}",
                self.name,
                snapshot
                    .properties
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
}
