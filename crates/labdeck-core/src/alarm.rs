//! What is wrong and what happened: alarms that hold until their condition
//! clears, and notices. Both are raised by every layer and carried by the
//! event bus, so they sit at the bottom.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// Where an alarm comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AlarmKind {
    /// Link trouble reported to a connection manager (timeouts, bad
    /// frames, I/O errors); drives recovery.
    Link,
    /// A device condition (pump error, warning); the link stays up.
    Device,
    /// An actor of the runtime stopped unexpectedly.
    Actor,
}

impl AlarmKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Link => "link",
            Self::Device => "device",
            Self::Actor => "actor",
        }
    }
}

/// How bad a condition is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth knowing; the device still does its job (a pump warning).
    Warning,
    /// The device or link cannot do its job (a pump error, a lost link).
    Alarm,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Alarm => "alarm",
        }
    }
}

/// A condition a device reports as holding now: its key names the
/// condition (`error-5`, `warning-bit-3`), so the same one reported
/// twice is one alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub key: Arc<str>,
    pub severity: Severity,
    pub text: String,
}

impl Condition {
    pub fn alarm(key: impl Into<Arc<str>>, text: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            severity: Severity::Alarm,
            text: text.into(),
        }
    }

    pub fn warning(key: impl Into<Arc<str>>, text: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            severity: Severity::Warning,
            text: text.into(),
        }
    }
}

/// An alarm raised (`active`) or cleared. One alarm per `source` and
/// `condition`; `t` is when this happened (for an active alarm in a
/// snapshot, when it was raised), so a front end can tell one occurrence
/// from the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    pub t: Timestamp,
    pub source: Arc<str>,
    pub kind: AlarmKind,
    pub condition: Arc<str>,
    pub severity: Severity,
    pub active: bool,
    pub reason: String,
}

impl Alarm {
    /// The one condition of its kind a source has (a link's trouble, an
    /// actor's end): the kind is the condition.
    pub fn new(
        source: &Arc<str>,
        kind: AlarmKind,
        active: bool,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            t: Timestamp::now(),
            source: source.clone(),
            kind,
            condition: Arc::from(kind.as_str()),
            severity: Severity::Alarm,
            active,
            reason: reason.into(),
        }
    }

    /// A device condition raised (or cleared, `active` false).
    pub fn of_condition(source: &Arc<str>, condition: &Condition, active: bool) -> Self {
        Self {
            t: Timestamp::now(),
            source: source.clone(),
            kind: AlarmKind::Device,
            condition: condition.key.clone(),
            severity: condition.severity,
            active,
            reason: condition.text.clone(),
        }
    }
}

/// A notable occurrence: a port reopened, a pump switched on, an error
/// raised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub t: Timestamp,
    pub source: Arc<str>,
    pub message: String,
}

impl Notice {
    pub fn new(source: &Arc<str>, message: impl Into<String>) -> Self {
        Self {
            t: Timestamp::now(),
            source: source.clone(),
            message: message.into(),
        }
    }
}
