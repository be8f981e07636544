//! What a front end can ask of the lab.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::connection::ConnCommand;
use crate::device::{QueueControl, TaskRef, TaskSpec, Value};
use crate::sim::FaultSetting;

/// A request to the Hub. On the wire: an object with a `request` field
/// naming the variant beside its fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "kebab-case")]
pub enum Request {
    /// Connections, devices and simulators at a glance.
    Status,
    /// A simulator's faults (the only simulator's when `simulator` is `None`).
    Faults { simulator: Option<String> },
    /// Switch a simulator fault.
    Fault {
        simulator: Option<String>,
        fault: String,
        setting: FaultSetting,
    },
    /// Switch a device that can be switched on or off (refused while a
    /// running task controls its power, unless forced).
    Power {
        device: String,
        on: bool,
        #[serde(default)]
        force: bool,
    },
    /// Drive a link's connection manager; a device name stands for its
    /// link.
    Connection {
        target: String,
        command: ConnCommand,
    },
    /// Write an attribute. Text is read as the attribute's kind says
    /// (`on`, `20n`, `800 Hz`).
    Set {
        device: String,
        attr: String,
        value: Value,
        /// Also while a running task controls the attribute.
        force: bool,
    },
    /// One property as it is now.
    Get { device: String, attr: String },
    /// A device's properties, optionally those whose name, label or
    /// group contains `filter` (ignoring case).
    Properties {
        device: String,
        filter: Option<String>,
    },
    /// A driver action (`read 171 0`, `scan 100 0.1`, `clear`).
    Action {
        device: String,
        action: String,
        args: Vec<String>,
    },
    /// Queue a task.
    Task(TaskSpec),
    /// Cancel a device's task, or its running one.
    Cancel {
        device: String,
        task: Option<TaskRef>,
    },
    /// Queued, running and recent tasks (of one device).
    Tasks { device: Option<String> },
    /// Queue the tasks and jobs of a method file, all or none.
    Load { path: PathBuf },
    /// Waiting, running and recent jobs.
    Jobs,
    /// Pause, resume, stop or abort every queue (the jobs' too).
    Queue { control: QueueControl },
    /// A device's status report.
    DeviceStatus { device: String },
    /// Read a device's live values now.
    Measure { device: String },
    /// Cancel the running task, then the documented safe state.
    Safe { device: String },
    /// Cancel every task of a device, then the safe state.
    EmergencyStop { device: String },
    /// Bytes as they are on a link (or a device's link), between the
    /// driver's own exchanges; the answer is gathered for up to `wait_ms`.
    Send {
        target: String,
        /// Space-separated hex on the wire.
        #[serde(
            serialize_with = "crate::link::serde_hex::serialize",
            deserialize_with = "crate::link::serde_hex::deserialize"
        )]
        bytes: Vec<u8>,
        #[serde(default)]
        wait_ms: Option<u64>,
    },
    /// Run a configured macro once, or start or stop a periodic one.
    Macro { name: String, command: MacroCommand },
    /// The configured macros and which periodic ones run.
    Macros,
    /// Log every frame of every link to a file from now on, or stop.
    Record { command: RecordCommand },
    /// Capture one link's traffic to a pcapng file from now on, or stop.
    Capture {
        link: String,
        /// `None`: stop.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        path: Option<PathBuf>,
    },
}

/// What to do with a macro.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MacroCommand {
    /// Send once (a periodic macro: start it).
    Run,
    /// Stop a periodic macro.
    Stop,
}

/// The continuous traffic log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "kebab-case")]
pub enum RecordCommand {
    /// Append to `path`, or to a new file named with the date and time.
    Start {
        path: Option<PathBuf>,
    },
    Stop,
}
