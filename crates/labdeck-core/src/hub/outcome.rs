//! What the lab did, typed: front ends render it in their own words.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::connection::{ConnectionSnapshot, StateKind};
use crate::device::{DeviceOutcome, DeviceSnapshot, Property, TaskSnapshot};
use crate::link::{TapCounters, TransportKind};
use crate::sim::{FaultInfo, SimKind, SimSnapshot};

/// A request's result. On the wire: an object with an `outcome` field
/// naming the variant beside its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    Status(LabStatus),
    Faults {
        simulator: Arc<str>,
        faults: Vec<FaultInfo>,
    },
    Fault {
        simulator: Arc<str>,
        fault: FaultInfo,
    },
    /// The state a connection command led to.
    Connection {
        link: Arc<str>,
        state: StateKind,
    },
    Property {
        device: Arc<str>,
        property: Property,
    },
    Properties {
        device: Arc<str>,
        properties: Vec<Property>,
    },
    Tasks {
        tasks: Vec<TaskSnapshot>,
    },
    /// A method's tasks, queued in order, and its jobs.
    MethodQueued {
        path: PathBuf,
        tasks: Vec<QueuedTask>,
        #[serde(default)]
        jobs: Vec<QueuedJob>,
    },
    Jobs {
        jobs: Vec<crate::jobs::JobSnapshot>,
    },
    /// What a queue control did.
    Queue(QueueOutcome),
    /// What a device did.
    Device {
        device: Arc<str>,
        #[serde(rename = "result")]
        outcome: DeviceOutcome,
    },
    Macro {
        name: String,
        #[serde(rename = "result")]
        outcome: super::MacroOutcome,
    },
    Macros {
        macros: Vec<super::MacroInfo>,
    },
    /// The continuous traffic log.
    Recording(super::RecordingStatus),
    /// A link's pcapng capture started, or stopped.
    Capture(super::CaptureStatus),
}

/// A job a method queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedJob {
    pub id: u64,
    pub name: String,
    pub tasks: usize,
}

/// What a pause, resume, stop or abort did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueOutcome {
    pub control: crate::device::QueueControl,
    /// Each device's queue after it.
    pub devices: Vec<DeviceQueue>,
    /// Jobs cancelled before they started.
    pub jobs_cancelled: usize,
    /// A resume: jobs of a crashed run queued again with the tasks they
    /// had not started.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed_jobs: Vec<QueuedJob>,
    /// A resume: waiting tasks of a crashed run queued again.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resumed_tasks: Vec<QueuedTask>,
}

/// One device's queue after a queue control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceQueue {
    pub device: Arc<str>,
    /// Its mode after it, when it took the control.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<crate::device::QueueMode>,
    /// Why it did not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    pub cancelled: usize,
    /// What the safe state did (an abort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safe: Option<String>,
}

/// A task a method queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedTask {
    pub device: String,
    pub id: u64,
}

/// Connections, devices and simulators at a glance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabStatus {
    pub links: Vec<LinkStatus>,
    pub devices: Vec<DeviceStatus>,
    pub simulators: Vec<SimStatus>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkStatus {
    pub name: Arc<str>,
    pub state: StateKind,
    pub transport: TransportKind,
    pub endpoint: String,
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceStatus {
    pub name: Arc<str>,
    pub kind: crate::device::DeviceKind,
    pub liveness: crate::device::Liveness,
    pub summary: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimStatus {
    pub name: Arc<str>,
    pub kind: SimKind,
    /// `None` while its port is closed.
    pub endpoint: Option<String>,
    /// The faults that are on.
    pub active: Vec<FaultInfo>,
}

/// Everything the Hub publishes, at one moment: what a front end starts
/// from, and resynchronises from after it fell behind the event stream.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LabSnapshot {
    pub connections: Vec<ConnectionSnapshot>,
    pub devices: Vec<DeviceSnapshot>,
    pub simulators: Vec<SimSnapshot>,
    /// Byte and chunk counters of every traffic tap, by link.
    pub taps: Vec<(Arc<str>, TapCounters)>,
    pub actors: Vec<ActorStatus>,
    /// The continuous traffic log, when one is written.
    #[serde(default)]
    pub recording: Option<super::RecordingStatus>,
    #[serde(default)]
    pub macros: Vec<super::MacroInfo>,
    /// How the taps that say so frame their bytes (sniff links); a
    /// link's traffic frames as its device does.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub framing: Vec<(Arc<str>, crate::link::Framing)>,
    /// Ended (recent), running and waiting jobs.
    #[serde(default)]
    pub jobs: Vec<crate::jobs::JobSnapshot>,
}

/// Whether a supervised actor runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActorState {
    Running,
    Stopped,
    Faulted,
}

/// One supervised actor of the runtime.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActorStatus {
    pub name: Arc<str>,
    pub kind: Cow<'static, str>,
    pub state: ActorState,
    pub reason: Option<String>,
}
