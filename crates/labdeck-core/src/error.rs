//! Why a request to the lab was refused: the Hub's one error type. Every
//! layer that can refuse a request speaks it (a device refusing a value, a
//! simulator an unknown fault), so it sits at the bottom, and a front end
//! matches its variants instead of reading sentences. The sentences are
//! the `Display` of each variant, the same words in every front end.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A refused request.
#[derive(Debug, Clone, PartialEq, Error, Serialize, Deserialize)]
#[serde(tag = "error", rename_all = "kebab-case")]
pub enum HubError {
    #[error("unknown device {name:?}; devices: {}", list(known))]
    UnknownDevice { name: String, known: Vec<String> },
    #[error("unknown simulator {name:?}; simulators: {}", list(known))]
    UnknownSimulator { name: String, known: Vec<String> },
    #[error("name the simulator; simulators: {}", list(known))]
    SimulatorNotNamed { known: Vec<String> },
    #[error("unknown connection or device {name:?}; connections: {}", list(known))]
    UnknownConnection { name: String, known: Vec<String> },
    #[error("unknown attribute '{attr}' of {device}; known: {}", list(known))]
    UnknownAttr {
        device: String,
        attr: String,
        known: Vec<String>,
    },
    #[error("{device}: no value given for attribute '{attr}'")]
    NoValue { device: String, attr: String },
    #[error("{device}: attribute '{attr}' is read-only")]
    ReadOnly { device: String, attr: String },
    #[error("{device}: value '{value}' for attribute '{attr}' is not {expected}")]
    WrongType {
        device: String,
        attr: String,
        value: String,
        expected: String,
    },
    #[error("{device}: value '{value}' for attribute '{attr}' is not one of {}", options.join(", "))]
    NotOption {
        device: String,
        attr: String,
        value: String,
        options: Vec<String>,
    },
    #[error("{device}: {}", out_of_range(*value, *min, *max, unit.as_deref()))]
    OutOfRange {
        device: String,
        attr: String,
        value: f64,
        min: Option<f64>,
        max: Option<f64>,
        unit: Option<String>,
    },
    #[error(
        "{device}: attribute '{attr}' is controlled by the running task '{controlled_by_task}'; set --force to override"
    )]
    Busy {
        device: String,
        attr: String,
        controlled_by_task: String,
    },
    #[error("{device} is not connected (link {link})")]
    LinkDown { device: String, link: String },
    #[error("{device} cannot be switched on and off")]
    NotSwitchable { device: String },
    #[error(
        "unknown action {action:?} with {args} argument(s) for {device}; actions: {}",
        known.join(", ")
    )]
    UnknownAction {
        device: String,
        action: String,
        args: usize,
        known: Vec<String>,
    },
    /// The request's arguments do not fit (a usage, a number that is not one).
    #[error("{device}: {message}")]
    BadArgument { device: String, message: String },
    /// The instrument refused, in its own words.
    #[error("{device}: {message}")]
    DeviceError { device: String, message: String },
    /// The exchange with the instrument failed (no reply, a bad frame).
    #[error("{device}: {reason}")]
    Exchange { device: String, reason: String },
    #[error("{device}: safe state failed: {reason}")]
    SafeStateFailed { device: String, reason: String },
    #[error(
        "{device}: unknown technique '{technique}'; techniques: {}",
        list(known)
    )]
    UnknownTechnique {
        device: String,
        technique: String,
        known: Vec<String>,
    },
    #[error(
        "{device}: unknown parameter '{param}' for technique '{technique}'; parameters: {}",
        list(known)
    )]
    UnknownTaskParameter {
        device: String,
        technique: String,
        param: String,
        known: Vec<String>,
    },
    #[error("{device}: parameter '{param}': {}", refusal.detail())]
    TaskParameter {
        device: String,
        param: String,
        refusal: Box<HubError>,
    },
    #[error("{device}: sampling interval and duration must be more than zero")]
    TaskTiming { device: String },
    #[error("{device}: the task queue is full ({limit} tasks)")]
    QueueFull { device: String, limit: usize },
    #[error("{device}: no task is running")]
    NoRunningTask { device: String },
    #[error("{device}: no running or queued task '{task}'")]
    NoSuchTask { device: String, task: String },
    #[error("{simulator}: unknown fault {fault:?}; known faults: {}", known.join(", "))]
    UnknownFault {
        simulator: String,
        fault: String,
        known: Vec<String>,
    },
    #[error("{simulator}: fault {fault:?} takes no value")]
    FaultTakesNoValue { simulator: String, fault: String },
    #[error("{simulator}: {fault}: {value} {unit} is outside {min}..={max}")]
    FaultValueOutOfRange {
        simulator: String,
        fault: String,
        value: u64,
        unit: String,
        min: u64,
        max: u64,
    },
    #[error("connection {link} is torn down")]
    TornDown { link: String },
    /// A method file that cannot be read or does not parse; the message
    /// names the file, line and column.
    #[error("{message}")]
    Method { path: PathBuf, message: String },
    #[error("{}: task '{task}' refused, nothing queued: {refusal}", path.display())]
    MethodRefused {
        path: PathBuf,
        task: String,
        refusal: Box<HubError>,
    },
    #[error("cannot write {}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("nothing drives link {link:?}: bytes are sent through its device")]
    NoDeviceOnLink { link: String },
    #[error("unknown macro {name:?}; macros: {}", list(known))]
    UnknownMacro { name: String, known: Vec<String> },
    #[error("macro {name:?} is not periodic: it sends once when run")]
    NotPeriodic { name: String },
    #[error("traffic is not being recorded")]
    NotRecording,
    #[error("{link}'s traffic is not being captured")]
    NotCapturing { link: String },
    /// An actor that stopped (or never started).
    #[error("{actor} is not running")]
    Gone { actor: String },
}

impl HubError {
    /// The sentence without the device it is about, for messages that name
    /// the device once already.
    pub fn detail(&self) -> String {
        let text = self.to_string();
        match self.device() {
            Some(device) => text
                .strip_prefix(device)
                .and_then(|rest| rest.strip_prefix(": "))
                .map_or_else(|| text.clone(), str::to_string),
            None => text,
        }
    }

    /// The device a refusal is about, when it is about one.
    pub fn device(&self) -> Option<&str> {
        use HubError as E;
        match self {
            E::UnknownAttr { device, .. }
            | E::NoValue { device, .. }
            | E::ReadOnly { device, .. }
            | E::WrongType { device, .. }
            | E::NotOption { device, .. }
            | E::OutOfRange { device, .. }
            | E::Busy { device, .. }
            | E::LinkDown { device, .. }
            | E::NotSwitchable { device }
            | E::UnknownAction { device, .. }
            | E::BadArgument { device, .. }
            | E::DeviceError { device, .. }
            | E::Exchange { device, .. }
            | E::SafeStateFailed { device, .. }
            | E::UnknownTechnique { device, .. }
            | E::UnknownTaskParameter { device, .. }
            | E::TaskParameter { device, .. }
            | E::TaskTiming { device }
            | E::QueueFull { device, .. }
            | E::NoRunningTask { device }
            | E::NoSuchTask { device, .. } => Some(device),
            _ => None,
        }
    }
}

/// `a, b, c`, or `none`.
fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

/// A number with its unit, for messages: `2500 Hz`.
pub fn quantity(value: f64, unit: Option<&str>) -> String {
    let mut text = value.to_string();
    if let Some(unit) = unit.filter(|u| !u.is_empty()) {
        let _ = write!(text, " {unit}");
    }
    text
}

fn out_of_range(value: f64, min: Option<f64>, max: Option<f64>, unit: Option<&str>) -> String {
    let shown = quantity(value, unit);
    match (min, max) {
        (Some(min), _) if value < min => {
            format!("value {shown} is below minimum {}", quantity(min, unit))
        }
        (_, Some(max)) => format!("value {shown} is above maximum {}", quantity(max, unit)),
        _ => format!("value {shown} is out of range"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nested_refusal_names_the_device_once() {
        let inner = HubError::OutOfRange {
            device: "pump1".into(),
            attr: "setpoint".into(),
            value: 2500.0,
            min: Some(750.0),
            max: Some(1200.0),
            unit: Some("Hz".into()),
        };
        assert_eq!(
            inner.to_string(),
            "pump1: value 2500 Hz is above maximum 1200 Hz"
        );
        let outer = HubError::TaskParameter {
            device: "pump1".into(),
            param: "setpoint".into(),
            refusal: Box::new(inner),
        };
        assert_eq!(
            outer.to_string(),
            "pump1: parameter 'setpoint': value 2500 Hz is above maximum 1200 Hz"
        );
    }
}
