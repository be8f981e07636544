//! Devices: the property model, device handles and drivers.

mod actor;
mod attr;
mod book;
mod core;
pub mod electrometer;
mod embedded;
pub mod indi;
mod journal;
mod liveness;
#[cfg(feature = "netcdf")]
pub mod netcdf;
mod outcome;
mod property;
mod queue;
mod raw;
mod record;
mod report;
pub mod task;
pub mod turbovac;
mod units;

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

pub use attr::{AttrKind, Level, Thresholds, parse_bool, parse_number};
pub use book::{TaskSettings, default_data_dir};
pub use core::DriverParts;
pub use embedded::{EmbeddedDevice, EmbeddedRequest};
pub use journal::TaskJournal;
pub use liveness::Liveness;
pub use outcome::{ActionOutcome, DeviceOutcome, FetchSummary, StatusReport};
pub use property::{
    PropState, Property, PropertyDef, PropertySheet, SheetChange, Value, ValueUpdate,
};
pub use queue::{QueueControl, QueueMode};
pub use record::{Recorder, file_safe, mark_interrupted};
pub use report::{DeviceEvent, DeviceReporter, TaskChange};
pub use task::{
    Column, DEFAULT_LINK_TIMEOUT, JobTag, TaskRef, TaskSnapshot, TaskSpec, TaskState, Technique,
};
pub use units::si_format;

use crate::error::HubError;
use crate::link::Framing;

/// What instrument (or source) a device is. For display and file names
/// only: behaviour follows [`Capabilities`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceKind {
    /// A Leybold TURBOVAC turbo pump.
    Turbovac,
    /// A Keithley 6517B electrometer.
    Electrometer,
    /// The devices of a remote INDI server.
    Indi,
    /// A device fed by the program that embeds labdeck.
    Embedded,
}

impl DeviceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Turbovac => "turbovac",
            Self::Electrometer => "electrometer",
            Self::Indi => "indi",
            Self::Embedded => "embedded",
        }
    }
}

impl std::fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A driver action, with how to call it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionSpec {
    pub name: String,
    /// `read PNU [INDEX]`.
    pub usage: String,
    pub summary: String,
}

impl ActionSpec {
    pub fn new(usage: &str, summary: &str) -> Self {
        Self {
            name: usage.split_whitespace().next().unwrap_or(usage).to_string(),
            usage: usage.into(),
            summary: summary.into(),
        }
    }
}

/// What a device can do, as front ends need to know it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Capabilities {
    /// The attribute that says whether it is on; present when it can be
    /// switched on and off.
    pub power: Option<String>,
    /// How the bytes on its link frame.
    pub framing: Framing,
    /// Techniques it runs as tasks.
    pub techniques: Vec<Technique>,
    /// What its documented safe state does, when it has one.
    pub safe_state: Option<String>,
    /// Mirrors the devices of a remote server (INDI): not served again.
    pub remote: bool,
    pub actions: Vec<ActionSpec>,
}

/// What the console shows of a device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceSnapshot {
    pub name: Arc<str>,
    pub kind: DeviceKind,
    pub link: Arc<str>,
    pub capabilities: Arc<Capabilities>,
    /// Whether the device answers over its link.
    pub liveness: Liveness,
    /// One line for lists, e.g. "accelerating 420 Hz".
    pub summary: String,
    pub properties: Vec<Property>,
    /// Active device alarms (errors, warnings), each as it was raised.
    pub alarms: Vec<crate::alarm::Alarm>,
    /// Finished (recent), running and queued tasks, in that order.
    pub tasks: Vec<TaskSnapshot>,
    /// Whether its queue starts tasks.
    #[serde(default)]
    pub queue: QueueMode,
}

impl DeviceSnapshot {
    /// Its last request was answered.
    pub fn responding(&self) -> bool {
        self.liveness.is_responding()
    }

    pub fn running_task(&self) -> Option<&TaskSnapshot> {
        self.tasks.iter().find(|t| t.state.is_current())
    }

    pub fn property(&self, name: &str) -> Option<&Property> {
        self.properties.iter().find(|p| &*p.def.name == name)
    }

    /// Whether it is switched on, when it can be switched (the value of
    /// its power attribute); `None` when unknown or not switchable.
    pub fn powered(&self) -> Option<bool> {
        let attr = self.capabilities.power.as_deref()?;
        self.property(attr)?.value.as_ref()?.as_bool()
    }

    /// The technique named `name`.
    pub fn technique(&self, name: &str) -> Option<&Technique> {
        self.capabilities.techniques.iter().find(|t| t.name == name)
    }
}

/// A request to a driver.
#[derive(Debug, Clone, PartialEq)]
pub enum DeviceCommand {
    /// Write an attribute: checked against its definition (and refused
    /// while a task controls it, unless forced).
    Set {
        attr: String,
        value: Value,
        force: bool,
    },
    /// Switch it on or off (refused while a task controls its power
    /// attribute, unless forced).
    Power { on: bool, force: bool },
    /// A driver action such as `reset`, `read 24`.
    Action { name: String, args: Vec<String> },
    /// The status report (attributes marked for it, running task).
    Status,
    /// Refresh the live values now and return them.
    Measure,
    /// Queue a task.
    Submit(TaskSpec),
    /// Cancel a task, or the running one.
    Cancel { task: Option<TaskRef> },
    /// Cancel the running task and put the device in its safe state.
    SafeState,
    /// Emergency stop: cancel everything, safe state.
    EmergencyStop,
    /// Pause, resume, stop or abort its queue.
    Queue(QueueControl),
    /// Show these properties of another device (snooped INDI vectors)
    /// in place of the ones named with `prefix`.
    Mirror {
        prefix: String,
        properties: Vec<Property>,
    },
    /// Write bytes as they are on the link; gather the answer for up to
    /// `wait`.
    Send {
        bytes: Vec<u8>,
        wait: std::time::Duration,
    },
}

/// A driver's answer.
pub type DeviceResult = Result<DeviceOutcome, HubError>;

#[derive(Debug)]
pub(crate) struct DeviceRequest {
    pub command: DeviceCommand,
    pub reply: oneshot::Sender<DeviceResult>,
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

    /// Device-level changes (online, summary, alarms, tasks, the set of
    /// properties) wake a watcher; value changes go out as events and
    /// update the snapshot without waking anyone.
    pub fn watch(&self) -> watch::Receiver<DeviceSnapshot> {
        self.state.clone()
    }

    /// One property as it is now.
    pub fn property(&self, name: &str) -> Option<Property> {
        self.state.borrow().property(name).cloned()
    }

    pub fn capabilities(&self) -> Arc<Capabilities> {
        self.state.borrow().capabilities.clone()
    }

    /// Send a command and wait for the driver's answer.
    pub async fn command(&self, command: DeviceCommand) -> DeviceResult {
        let (reply, rx) = oneshot::channel();
        let gone = |what: &str| HubError::Gone {
            actor: format!("device {}{what}", self.name),
        };
        if self
            .tx
            .send(DeviceRequest { command, reply })
            .await
            .is_err()
        {
            return Err(gone(""));
        }
        rx.await
            .unwrap_or_else(|_| Err(gone(" (it stopped before answering)")))
    }

    pub async fn set(&self, attr: &str, value: impl Into<Value>) -> DeviceResult {
        self.command(DeviceCommand::Set {
            attr: attr.into(),
            value: value.into(),
            force: false,
        })
        .await
    }

    pub async fn action(&self, name: &str, args: &[&str]) -> DeviceResult {
        self.command(DeviceCommand::Action {
            name: name.into(),
            args: args.iter().map(ToString::to_string).collect(),
        })
        .await
    }
}
