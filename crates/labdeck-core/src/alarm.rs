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

/// An alarm raised (`active`) or cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alarm {
    pub t: Timestamp,
    pub source: Arc<str>,
    pub kind: AlarmKind,
    pub active: bool,
    pub reason: String,
}

impl Alarm {
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
            active,
            reason: reason.into(),
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
