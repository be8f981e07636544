//! The event bus: events that must not be lost silently (traffic,
//! transitions, alarms, faults) go out on one bounded broadcast channel.
//! A consumer that falls behind gets `RecvError::Lagged(n)` and shows it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};
use tokio::sync::broadcast;
use tokio::time::Instant;

use crate::connection::TransitionRecord;
use crate::device::{PropertyUpdate, TaskState};
use crate::link::Chunk;
use crate::sim::FaultInfo;

/// A moment, kept both as wall-clock time (for display and files) and as a
/// monotonic instant (for deltas and ordering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp {
    pub wall: SystemTime,
    pub mono: Instant,
}

impl Timestamp {
    pub fn now() -> Self {
        Self {
            wall: SystemTime::now(),
            mono: Instant::now(),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> f64 {
        self.wall
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_secs_f64()
    }

    /// The timestamp of another monotonic instant, placed relative to this one.
    pub fn at(&self, mono: Instant) -> Timestamp {
        let wall = match mono.checked_duration_since(self.mono) {
            Some(ahead) => self.wall + ahead,
            None => self.wall - self.mono.duration_since(mono),
        };
        Timestamp { wall, mono }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64((self.unix() * 1000.0).round() / 1000.0)
    }
}

/// Where an alarm comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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

/// Something happened in the runtime.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// A connection manager changed state.
    Transition {
        connection: Arc<str>,
        #[serde(flatten)]
        record: TransitionRecord,
    },
    /// A device property changed value or state.
    Property {
        device: Arc<str>,
        #[serde(flatten)]
        update: PropertyUpdate,
    },
    /// Bytes went over a link.
    Traffic(Chunk),
    /// An alarm was raised or cleared.
    Alarm {
        t: Timestamp,
        source: Arc<str>,
        kind: AlarmKind,
        active: bool,
        reason: String,
    },
    /// A simulator fault was switched.
    Fault {
        t: Timestamp,
        simulator: Arc<str>,
        fault: FaultInfo,
    },
    /// A notable simulator or device occurrence (port reopened, pump
    /// switched on, error raised).
    Notice {
        t: Timestamp,
        source: Arc<str>,
        message: String,
    },
    /// A task changed state.
    Task {
        t: Timestamp,
        device: Arc<str>,
        id: u64,
        name: String,
        state: TaskState,
        reason: Option<String>,
        file: Option<std::path::PathBuf>,
    },
    /// A runtime actor stopped.
    Actor {
        t: Timestamp,
        actor: Arc<str>,
        faulted: bool,
        reason: String,
    },
}

/// Bounded broadcast of [`Event`]s. Cloning shares the channel.
#[derive(Debug, Clone)]
pub struct EventBus {
    tx: broadcast::Sender<Event>,
}

impl EventBus {
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(16));
        Self { tx }
    }

    /// Publish; nobody listening is not an error.
    pub fn publish(&self, event: Event) {
        let _ = self.tx.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    pub fn notice(&self, source: &Arc<str>, message: impl Into<String>) {
        self.publish(Event::Notice {
            t: Timestamp::now(),
            source: source.clone(),
            message: message.into(),
        });
    }

    pub fn alarm(
        &self,
        source: &Arc<str>,
        kind: AlarmKind,
        active: bool,
        reason: impl Into<String>,
    ) {
        self.publish(Event::Alarm {
            t: Timestamp::now(),
            source: source.clone(),
            kind,
            active,
            reason: reason.into(),
        });
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(4096)
    }
}
