//! The event bus: what must not be lost silently (traffic, transitions,
//! property changes, alarms, faults, tasks) goes out on one bounded
//! broadcast channel. A consumer that falls behind gets
//! `RecvError::Lagged(n)`, says so, and starts again from snapshots.
//!
//! Each layer publishes its own event type; the bus turns them into
//! [`Event`]s, so nothing below it knows the bus.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::alarm::{Alarm, AlarmKind, Notice};
use crate::connection::{ConnectionEvent, TransitionRecord};
use crate::device::{DeviceEvent, PropertyDef, TaskChange, ValueUpdate};
use crate::link::Chunk;
use crate::publish::Publish;
use crate::sim::{FaultInfo, SimEvent};
use crate::time::Timestamp;

/// Something happened in the lab. On the wire: an object with an `event`
/// field naming the variant (`transition`, `property`, …) beside the
/// variant's own fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// A connection manager changed state.
    Transition {
        connection: Arc<str>,
        #[serde(flatten)]
        record: TransitionRecord,
    },
    /// A device property appeared or its definition changed.
    Definition {
        device: Arc<str>,
        property: Arc<PropertyDef>,
    },
    /// A device property went away.
    Removed { device: Arc<str>, name: Arc<str> },
    /// A device property changed value or state.
    Property {
        device: Arc<str>,
        #[serde(flatten)]
        update: ValueUpdate,
    },
    /// Bytes went over a link.
    Traffic(Chunk),
    /// An alarm was raised or cleared.
    Alarm(Alarm),
    /// A simulator fault was switched.
    Fault {
        t: Timestamp,
        simulator: Arc<str>,
        fault: FaultInfo,
    },
    /// A notable simulator or device occurrence (port reopened, pump
    /// switched on, error raised).
    Notice(Notice),
    /// A task changed state.
    Task(TaskChange),
    /// An operator action and how it ended.
    Audit(crate::audit::AuditRecord),
    /// A device started or stopped answering (its link's state is a
    /// `Transition`).
    Liveness {
        t: Timestamp,
        device: Arc<str>,
        liveness: crate::device::Liveness,
    },
    /// A runtime actor stopped.
    Actor {
        t: Timestamp,
        actor: Arc<str>,
        faulted: bool,
        reason: String,
    },
}

impl From<Chunk> for Event {
    fn from(chunk: Chunk) -> Self {
        Self::Traffic(chunk)
    }
}

impl From<ConnectionEvent> for Event {
    fn from(event: ConnectionEvent) -> Self {
        match event {
            ConnectionEvent::Transition { connection, record } => {
                Self::Transition { connection, record }
            }
            ConnectionEvent::Alarm(alarm) => Self::Alarm(alarm),
        }
    }
}

impl From<SimEvent> for Event {
    fn from(event: SimEvent) -> Self {
        match event {
            SimEvent::Fault {
                t,
                simulator,
                fault,
            } => Self::Fault {
                t,
                simulator,
                fault,
            },
            SimEvent::Notice(notice) => Self::Notice(notice),
        }
    }
}

impl From<DeviceEvent> for Event {
    fn from(event: DeviceEvent) -> Self {
        match event {
            DeviceEvent::Defined { device, property } => Self::Definition { device, property },
            DeviceEvent::Removed { device, name } => Self::Removed { device, name },
            DeviceEvent::Value { device, update } => Self::Property { device, update },
            DeviceEvent::Task(task) => Self::Task(task),
            DeviceEvent::Alarm(alarm) => Self::Alarm(alarm),
            DeviceEvent::Notice(notice) => Self::Notice(notice),
            DeviceEvent::Liveness {
                t,
                device,
                liveness,
            } => Self::Liveness {
                t,
                device,
                liveness,
            },
        }
    }
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

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Publish; nobody listening is not an error.
    pub fn send(&self, event: Event) {
        let _ = self.tx.send(event);
    }

    pub fn notice(&self, source: &Arc<str>, message: impl Into<String>) {
        self.send(Event::Notice(Notice::new(source, message)));
    }

    pub fn alarm(
        &self,
        source: &Arc<str>,
        kind: AlarmKind,
        active: bool,
        reason: impl Into<String>,
    ) {
        self.send(Event::Alarm(Alarm::new(source, kind, active, reason)));
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(4096)
    }
}

/// Every layer's events go out on the bus.
impl<T: Into<Event>> Publish<T> for EventBus {
    fn publish(&self, event: T) {
        self.send(event.into());
    }
}
