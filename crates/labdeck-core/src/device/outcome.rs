//! What a device did, typed: front ends render it in their own words.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Property;
use crate::protocol::turbovac::ParamValue;

/// A driver's answer to a command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "done", rename_all = "kebab-case")]
pub enum DeviceOutcome {
    /// An attribute was written; the property as the device has it now.
    Set {
        property: Property,
    },
    /// A write went out to a remote device, which has not answered yet.
    Pending {
        attr: String,
        /// What was sent, as sent.
        sent: String,
        /// Seconds within which the answer is due.
        within_s: u64,
        /// The step the value is not a multiple of (sent as typed anyway).
        off_step: Option<f64>,
    },
    /// Switched on or off.
    Power {
        on: bool,
    },
    Action(ActionOutcome),
    Status(StatusReport),
    /// Live values read just now.
    Measured {
        properties: Vec<Property>,
    },
    TaskQueued {
        id: u64,
        name: String,
        /// 1 = next to run.
        position: usize,
        /// The link is down; the task starts when it is back.
        waits_for_link: bool,
    },
    TaskCancelled {
        id: u64,
        name: String,
        /// It was running (and the safe state followed), not waiting.
        was_running: bool,
    },
    /// In the safe state; what that did.
    SafeState {
        what: String,
    },
    /// Emergency stop: queued tasks cancelled, then the safe state.
    Stopped {
        cancelled: usize,
        safe: String,
    },
    /// Its queue after a pause, resume, stop or abort.
    Queue {
        mode: super::QueueMode,
        /// Tasks cancelled by it (a stop with nothing running, an abort).
        cancelled: usize,
        /// What the safe state did (an abort), or why it could not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        safe: Option<String>,
    },
    Mirrored,
    /// Bytes sent by hand, and what answered (hex), unless the driver
    /// follows the link's stream and reads the answer itself.
    Sent {
        sent: String,
        reply: Option<String>,
        /// Until the first answering bytes.
        round_trip_ms: Option<f64>,
        following: bool,
    },
}

/// The status report: the attributes marked for it and the running task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub running: Option<String>,
    pub properties: Vec<Property>,
}

/// What a driver action did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
pub enum ActionOutcome {
    /// A status exchange: the status the device reported and how long the
    /// round trip took.
    Polled {
        status: String,
        round_trip_us: u64,
    },
    /// A fresh reading.
    Reading {
        property: Property,
    },
    /// A parameter read or written.
    Parameter {
        pnu: u16,
        index: u8,
        value: ParamValue,
    },
    /// An error reset was sent, with the control word.
    ResetSent {
        control_word: String,
    },
    /// The instrument's error queue was cleared.
    ErrorsCleared,
    /// The instrument is back at its defaults.
    ResetToDefaults,
    ScanStarted {
        points: usize,
        interval_s: f64,
    },
    ScanStopped,
    /// The instrument's buffer, summarised (and written to a file).
    Fetched {
        summary: FetchSummary,
        file: Option<PathBuf>,
    },
    /// A raw command went out and was accepted.
    Sent {
        text: String,
    },
    /// The answer to a raw query.
    Answer {
        text: String,
    },
    /// A remote server was asked for every property again.
    AskedForProperties,
    /// The devices a remote server defines.
    RemoteDevices {
        devices: Vec<String>,
    },
}

/// What a buffer fetch found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FetchSummary {
    pub count: usize,
    pub mean: f64,
    pub std_dev: f64,
    pub min: f64,
    pub max: f64,
    /// The unit of the readings.
    pub unit: String,
    pub bytes: usize,
    pub millis: f64,
}
